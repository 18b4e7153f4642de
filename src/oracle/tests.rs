//! The oracle on literal results built by hand.

use std::slice::from_ref;
use std::sync::Arc;

use arrow_array::builder::{Int32Builder, ListBuilder};
use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, Date32Array, Decimal128Array, DictionaryArray, Float32Array, Float64Array,
    Int32Array, Int64Array, LargeStringArray, RecordBatch, StringArray, StringViewArray,
    TimestampMicrosecondArray, TimestampSecondArray,
};

use super::*;

fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter(columns).expect("valid batch")
}

fn ints(v: &[i64]) -> ArrayRef {
    Arc::new(Int64Array::from(v.to_vec()))
}

fn ints32(v: &[i32]) -> ArrayRef {
    Arc::new(Int32Array::from(v.to_vec()))
}

fn strs(v: &[&str]) -> ArrayRef {
    Arc::new(StringArray::from(v.to_vec()))
}

fn floats(v: &[f64]) -> ArrayRef {
    Arc::new(Float64Array::from(v.to_vec()))
}

fn decimals(v: &[i128], precision: u8, scale: i8) -> ArrayRef {
    Arc::new(
        Decimal128Array::from(v.to_vec())
            .with_precision_and_scale(precision, scale)
            .expect("valid decimal"),
    )
}

/// A small store result: (id, name, amount).
fn stores(ids: &[i64], names: &[&str], cents: &[i128]) -> RecordBatch {
    batch(vec![
        ("s_store_id", ints(ids)),
        ("s_store_name", strs(names)),
        ("amount", decimals(cents, 7, 2)),
    ])
}

fn unordered() -> OrderSpec {
    OrderSpec::unordered()
}

fn tol() -> Tolerance {
    Tolerance::default()
}

fn wrong(v: &Verdict) -> &Diff {
    match v {
        Verdict::Wrong { diff } => diff,
        other => panic!("expected wrong, got {other:?}"),
    }
}

#[test]
fn identical_results_are_correct() {
    let b = stores(&[1, 2, 3], &["able", "bar", "cally"], &[150, 200, 0]);
    assert_eq!(
        compare(from_ref(&b), from_ref(&b), &unordered(), &tol()),
        Verdict::Correct
    );
    let ordered = OrderSpec::by_columns(&[0]);
    assert_eq!(
        compare(from_ref(&b), from_ref(&b), &ordered, &tol()),
        Verdict::Correct
    );
}

#[test]
fn batching_does_not_matter() {
    let whole = stores(&[1, 2, 3], &["a", "b", "c"], &[1, 2, 3]);
    let parts = [
        stores(&[], &[], &[]),
        stores(&[1], &["a"], &[1]),
        stores(&[2, 3], &["b", "c"], &[2, 3]),
    ];
    let order = OrderSpec::by_columns(&[0]);
    assert_eq!(compare(&[whole], &parts, &order, &tol()), Verdict::Correct);
}

#[test]
fn planted_wrong_value_is_wrong_with_a_diff_naming_row_and_column() {
    let expected = stores(&[1, 2, 3], &["able", "bar", "cally"], &[150, 200, 300]);
    let actual = stores(&[1, 2, 3], &["able", "bar", "cally"], &[150, 201, 300]);
    for order in [unordered(), OrderSpec::by_columns(&[0])] {
        let v = compare(from_ref(&expected), from_ref(&actual), &order, &tol());
        let diff = wrong(&v);
        assert_eq!((diff.missing, diff.extra), (1, 1));
        assert_eq!((diff.expected_rows, diff.actual_rows), (3, 3));
        assert_eq!(diff.rows.len(), 1);
        let row = &diff.rows[0];
        assert_eq!(row.kind, RowDiffKind::Changed);
        assert_eq!((row.expected_index, row.actual_index), (Some(1), Some(1)));
        let differing: Vec<&CellDiff> = row.cells.iter().filter(|c| c.differs).collect();
        assert_eq!(differing.len(), 1);
        assert_eq!(differing[0].column, "amount");
        assert_eq!(differing[0].expected.as_deref(), Some("2.00"));
        assert_eq!(differing[0].actual.as_deref(), Some("2.01"));
    }
}

#[test]
fn reordered_distinct_rows_under_full_order_by_are_wrong() {
    let expected = stores(&[1, 2, 3, 4], &["a", "b", "c", "d"], &[1, 2, 3, 4]);
    let actual = stores(&[1, 3, 2, 4], &["a", "c", "b", "d"], &[1, 3, 2, 4]);
    let v = compare(
        from_ref(&expected),
        from_ref(&actual),
        &OrderSpec::by_columns(&[0]),
        &tol(),
    );
    let diff = wrong(&v);
    assert_eq!((diff.missing, diff.extra), (0, 0));
    assert!(diff.summary.contains("different order"), "{}", diff.summary);
    assert!(diff.summary.contains("from row 2"), "{}", diff.summary);
    assert_eq!(diff.rows.len(), 2);
    assert!(diff.rows.iter().all(|r| r.kind == RowDiffKind::Misplaced));
    assert_eq!(diff.rows[0].expected_index, Some(1));

    // The same rows without an ORDER BY are a correct answer.
    assert_eq!(
        compare(&[expected], &[actual], &unordered(), &tol()),
        Verdict::Correct
    );
}

#[test]
fn ties_may_come_in_any_order() {
    // ORDER BY category: rows within a category are tied.
    let expected = batch(vec![
        (
            "category",
            strs(&["Books", "Books", "Books", "Home", "Home"]),
        ),
        ("item", ints(&[1, 2, 3, 4, 5])),
    ]);
    let actual = batch(vec![
        (
            "category",
            strs(&["Books", "Books", "Books", "Home", "Home"]),
        ),
        ("item", ints(&[3, 1, 2, 5, 4])),
    ]);
    let order = OrderSpec::by_columns(&[0]);
    assert_eq!(
        compare(from_ref(&expected), from_ref(&actual), &order, &tol()),
        Verdict::Correct
    );
    // … but a row cannot move to another tie group.
    let moved = batch(vec![
        (
            "category",
            strs(&["Books", "Books", "Home", "Home", "Home"]),
        ),
        ("item", ints(&[1, 2, 3, 4, 5])),
    ]);
    assert!(compare(from_ref(&expected), &[moved], &order, &tol()).is_wrong());
    // ORDER BY category, item is a full order: the reordering is wrong.
    assert!(compare(
        &[expected],
        &[actual],
        &OrderSpec::by_columns(&[0, 1]),
        &tol()
    )
    .is_wrong());
}

#[test]
fn partially_known_order_checks_the_known_prefix() {
    let sql = "select grp, v from t order by grp desc, case when grp = 1 then v end, v";
    let order = OrderSpec::from_sql(sql, &["grp", "v"]);
    assert_eq!(order.keys.len(), 1);
    let expected = batch(vec![
        ("grp", ints(&[2, 2, 1, 1])),
        ("v", ints(&[1, 2, 3, 4])),
    ]);
    let shuffled = batch(vec![
        ("grp", ints(&[2, 2, 1, 1])),
        ("v", ints(&[2, 1, 4, 3])),
    ]);
    let cmp = compare_detailed(from_ref(&expected), &[shuffled], &order, &tol());
    assert_eq!(cmp.verdict, Verdict::Correct);
    assert!(
        cmp.notes.iter().any(|n| n.contains("known only")),
        "{:?}",
        cmp.notes
    );
    let swapped_groups = batch(vec![
        ("grp", ints(&[1, 1, 2, 2])),
        ("v", ints(&[3, 4, 1, 2])),
    ]);
    assert!(compare(&[expected], &[swapped_groups], &order, &tol()).is_wrong());
}

#[test]
fn float_noise_within_tolerance_is_correct_beyond_is_wrong() {
    let expected = batch(vec![
        ("k", ints(&[1, 2, 3])),
        ("avg", floats(&[0.1 + 0.2, 1e9, 0.0])),
    ]);
    let noisy = batch(vec![
        ("k", ints(&[1, 2, 3])),
        ("avg", floats(&[0.3, 1e9 + 100.0, 1e-12])),
    ]);
    assert_eq!(
        compare(from_ref(&expected), &[noisy], &unordered(), &tol()),
        Verdict::Correct
    );
    let off = batch(vec![
        ("k", ints(&[1, 2, 3])),
        ("avg", floats(&[0.3, 1e9 + 10_000.0, 0.0])),
    ]);
    let v = compare(from_ref(&expected), from_ref(&off), &unordered(), &tol());
    let diff = wrong(&v);
    assert_eq!((diff.missing, diff.extra), (1, 1));
    assert_eq!(diff.rows[0].expected_index, Some(1));
    // A looser tolerance accepts it; an exact one rejects even the rounding noise.
    let loose = Tolerance {
        relative: 1e-4,
        absolute: 0.0,
    };
    assert_eq!(
        compare(from_ref(&expected), &[off], &unordered(), &loose),
        Verdict::Correct
    );
    let rounding = batch(vec![
        ("k", ints(&[1, 2, 3])),
        ("avg", floats(&[0.3, 1e9, 0.0])),
    ]);
    assert!(compare(&[expected], &[rounding], &unordered(), &Tolerance::exact()).is_wrong());
}

#[test]
fn float32_against_float64() {
    let expected = batch(vec![("x", floats(&[0.1, 2.5]))]);
    let actual = batch(vec![(
        "x",
        Arc::new(Float32Array::from(vec![0.1f32, 2.5])) as ArrayRef,
    )]);
    let loose = Tolerance {
        relative: 1e-6,
        absolute: 0.0,
    };
    assert_eq!(
        compare(&[expected], &[actual], &unordered(), &loose),
        Verdict::Correct
    );
}

#[test]
fn decimal_scale_and_decimal_vs_double() {
    // 1.50 vs 1.5000, and an integer against a decimal with a zero fraction.
    let expected = batch(vec![
        ("a", decimals(&[150, -5, 0], 7, 2)),
        ("n", ints(&[2, 3, 4])),
    ]);
    let actual = batch(vec![
        ("a", decimals(&[15000, -500, 0], 12, 4)),
        ("n", decimals(&[200, 300, 400], 10, 2)),
    ]);
    assert_eq!(
        compare(&[expected], &[actual], &unordered(), &tol()),
        Verdict::Correct
    );

    // DuckDB: avg over decimals is DOUBLE; Spark: DECIMAL(p+4, s+4), rounded at scale 6.
    let duck = batch(vec![(
        "avg",
        floats(&[7.0 / 3.0, 0.000_000_4, 1_234.567_891_5]),
    )]);
    let spark = batch(vec![(
        "avg",
        decimals(&[2_333_333, 0, 1_234_567_892], 11, 6),
    )]);
    assert_eq!(
        compare(from_ref(&duck), from_ref(&spark), &unordered(), &tol()),
        Verdict::Correct
    );
    assert_eq!(
        compare(from_ref(&spark), from_ref(&duck), &unordered(), &tol()),
        Verdict::Correct
    );
    let off = batch(vec![(
        "avg",
        decimals(&[2_333_343, 0, 1_234_567_892], 11, 6),
    )]);
    assert!(compare(&[duck], &[off], &unordered(), &tol()).is_wrong());

    // Two decimals of different scales: rounded to the coarser one.
    let coarse = batch(vec![("r", decimals(&[123, 124], 10, 2))]);
    let fine = batch(vec![("r", decimals(&[1_234_999, 1_235_000], 12, 6))]);
    assert_eq!(
        compare(from_ref(&coarse), &[fine], &unordered(), &tol()),
        Verdict::Correct
    );
    let fine_off = batch(vec![("r", decimals(&[1_244_999, 1_235_000], 12, 6))]);
    assert!(compare(&[coarse], &[fine_off], &unordered(), &tol()).is_wrong());

    // Exact decimals get no relative tolerance: one cent on a million is wrong.
    let big = batch(vec![("s", decimals(&[123_456_789], 12, 2))]);
    let big_off = batch(vec![("s", decimals(&[123_456_788], 12, 2))]);
    assert!(compare(&[big], &[big_off], &unordered(), &tol()).is_wrong());
}

#[test]
fn nan_negative_zero_and_nulls() {
    let expected = batch(vec![
        (
            "f",
            Arc::new(Float64Array::from(vec![
                Some(f64::NAN),
                Some(-0.0),
                None,
                Some(f64::INFINITY),
            ])) as ArrayRef,
        ),
        (
            "s",
            Arc::new(StringArray::from(vec![None, Some("x"), None, Some("")])),
        ),
    ]);
    let actual = batch(vec![
        (
            "f",
            Arc::new(Float64Array::from(vec![
                Some(f64::NAN),
                Some(0.0),
                None,
                Some(f64::INFINITY),
            ])) as ArrayRef,
        ),
        (
            "s",
            Arc::new(StringArray::from(vec![None, Some("x"), None, Some("")])),
        ),
    ]);
    assert_eq!(
        compare(from_ref(&expected), &[actual], &unordered(), &tol()),
        Verdict::Correct
    );

    let null_vs_zero = batch(vec![
        (
            "f",
            Arc::new(Float64Array::from(vec![
                Some(f64::NAN),
                Some(0.0),
                Some(0.0),
                Some(f64::INFINITY),
            ])) as ArrayRef,
        ),
        (
            "s",
            Arc::new(StringArray::from(vec![None, Some("x"), None, Some("")])),
        ),
    ]);
    assert!(compare(from_ref(&expected), &[null_vs_zero], &unordered(), &tol()).is_wrong());
    let nan_vs_inf = batch(vec![
        (
            "f",
            Arc::new(Float64Array::from(vec![
                Some(f64::INFINITY),
                Some(0.0),
                None,
                Some(f64::INFINITY),
            ])) as ArrayRef,
        ),
        (
            "s",
            Arc::new(StringArray::from(vec![None, Some("x"), None, Some("")])),
        ),
    ]);
    assert!(compare(from_ref(&expected), &[nan_vs_inf], &unordered(), &tol()).is_wrong());
    let empty_vs_null = batch(vec![
        (
            "f",
            Arc::new(Float64Array::from(vec![
                Some(f64::NAN),
                Some(0.0),
                None,
                Some(f64::INFINITY),
            ])) as ArrayRef,
        ),
        (
            "s",
            Arc::new(StringArray::from(vec![None, Some("x"), None, None])),
        ),
    ]);
    assert!(compare(&[expected], &[empty_vs_null], &unordered(), &tol()).is_wrong());
}

#[test]
fn type_representations_that_legitimately_differ() {
    let dict: DictionaryArray<Int32Type> = vec!["a", "b", "a"].into_iter().collect();
    let expected = batch(vec![
        ("i", ints32(&[1, 2, 3])),
        ("s", strs(&["a", "b", "a"])),
        (
            "d",
            Arc::new(Date32Array::from(vec![0, 1, 10_957])) as ArrayRef,
        ),
        (
            "t",
            Arc::new(TimestampSecondArray::from(vec![1, 2, 3])) as ArrayRef,
        ),
        ("v", strs(&["x", "y", "z"])),
    ]);
    let actual = batch(vec![
        ("i", ints(&[1, 2, 3])),
        ("s", Arc::new(dict) as ArrayRef),
        (
            "d",
            Arc::new(TimestampMicrosecondArray::from(vec![
                0,
                86_400_000_000,
                946_684_800_000_000,
            ])) as ArrayRef,
        ),
        (
            "t",
            Arc::new(
                TimestampMicrosecondArray::from(vec![1_000_000, 2_000_000, 3_000_000])
                    .with_timezone("UTC"),
            ) as ArrayRef,
        ),
        (
            "v",
            Arc::new(LargeStringArray::from(vec!["x", "y", "z"])) as ArrayRef,
        ),
    ]);
    assert_eq!(
        compare(from_ref(&expected), &[actual], &unordered(), &tol()),
        Verdict::Correct
    );
    let view = batch(vec![
        ("i", ints(&[1, 2, 3])),
        (
            "s",
            Arc::new(StringViewArray::from(vec!["a", "b", "a"])) as ArrayRef,
        ),
        (
            "d",
            Arc::new(Date32Array::from(vec![0, 1, 10_957])) as ArrayRef,
        ),
        (
            "t",
            Arc::new(TimestampSecondArray::from(vec![1, 2, 4])) as ArrayRef,
        ),
        ("v", strs(&["x", "y", "z"])),
    ]);
    let diff = wrong(&compare(&[expected], &[view], &unordered(), &tol())).clone();
    assert_eq!(diff.missing, 1);
    let cell = diff.rows[0]
        .cells
        .iter()
        .find(|c| c.differs)
        .expect("a differing cell");
    assert_eq!(cell.column, "t");
}

#[test]
fn nested_values_compare_by_canonical_encoding() {
    let list = |rows: Vec<Option<Vec<Option<i32>>>>| {
        let mut b = ListBuilder::new(Int32Builder::new());
        for row in rows {
            match row {
                Some(values) => {
                    for v in values {
                        b.values().append_option(v);
                    }
                    b.append(true);
                }
                None => b.append(false),
            }
        }
        Arc::new(b.finish()) as ArrayRef
    };
    let expected = batch(vec![("l", list(vec![Some(vec![Some(1), None]), None]))]);
    let same = batch(vec![("l", list(vec![None, Some(vec![Some(1), None])]))]);
    let other = batch(vec![("l", list(vec![None, Some(vec![Some(1)])]))]);
    assert_eq!(
        compare(from_ref(&expected), &[same], &unordered(), &tol()),
        Verdict::Correct
    );
    assert!(compare(&[expected], &[other], &unordered(), &tol()).is_wrong());
}

#[test]
fn missing_and_extra_rows_are_counted() {
    let expected = stores(&[1, 2, 3, 4], &["a", "b", "c", "d"], &[1, 2, 3, 4]);
    let fewer = stores(&[1, 2, 4], &["a", "b", "d"], &[1, 2, 4]);
    let v = compare(from_ref(&expected), &[fewer], &unordered(), &tol());
    let diff = wrong(&v);
    assert_eq!(
        (
            diff.expected_rows,
            diff.actual_rows,
            diff.missing,
            diff.extra
        ),
        (4, 3, 1, 0)
    );
    assert_eq!(diff.rows[0].kind, RowDiffKind::Missing);
    assert_eq!(diff.rows[0].expected_index, Some(2));
    assert!(
        diff.summary.contains("1 expected rows are missing"),
        "{}",
        diff.summary
    );

    let more = stores(
        &[1, 2, 3, 4, 4],
        &["a", "b", "c", "d", "d"],
        &[1, 2, 3, 4, 4],
    );
    let v = compare(
        from_ref(&expected),
        &[more],
        &OrderSpec::by_columns(&[0]),
        &tol(),
    );
    let diff = wrong(&v);
    assert_eq!((diff.missing, diff.extra), (0, 1));
    assert_eq!(diff.rows[0].kind, RowDiffKind::Extra);

    // Duplicates count: {1, 1, 2} is not {1, 2, 2}.
    let a = batch(vec![("x", ints(&[1, 1, 2]))]);
    let b = batch(vec![("x", ints(&[1, 2, 2]))]);
    let diff = wrong(&compare(&[a], &[b], &unordered(), &tol())).clone();
    assert_eq!((diff.missing, diff.extra), (1, 1));

    // Nothing at all against something.
    let v = compare(&[], from_ref(&expected), &unordered(), &tol());
    assert_eq!(wrong(&v).extra, 4);
    let v = compare(&[expected], &[], &unordered(), &tol());
    assert_eq!(wrong(&v).missing, 4);
    assert_eq!(compare(&[], &[], &unordered(), &tol()), Verdict::Correct);
}

#[test]
fn many_differences_are_capped_in_the_diff() {
    let ids: Vec<i64> = (0..50).collect();
    let names: Vec<String> = ids.iter().map(|i| format!("n{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let cents: Vec<i128> = ids.iter().map(|&i| i128::from(i) * 10).collect();
    let off: Vec<i128> = cents.iter().map(|c| c + 1).collect();
    let v = compare(
        &[stores(&ids, &names, &cents)],
        &[stores(&ids, &names, &off)],
        &unordered(),
        &tol(),
    );
    let diff = wrong(&v);
    assert_eq!((diff.missing, diff.extra), (50, 50));
    assert_eq!(diff.rows.len(), 5);
    assert!(diff.rows.iter().all(|r| r.kind == RowDiffKind::Changed));
    assert_eq!(diff.rows_not_shown, 90);
}

#[test]
fn limit_cutting_through_ties_is_undetermined() {
    // ORDER BY k LIMIT 4: the last key (3) is tied; which tied row made the cut is open.
    let order = OrderSpec::by_columns(&[0]).with_limit(4);
    let expected = batch(vec![
        ("k", ints(&[1, 2, 3, 3])),
        ("v", strs(&["a", "b", "c", "d"])),
    ]);
    let actual = batch(vec![
        ("k", ints(&[1, 2, 3, 3])),
        ("v", strs(&["a", "b", "e", "c"])),
    ]);
    let v = compare(from_ref(&expected), from_ref(&actual), &order, &tol());
    match &v {
        Verdict::Undetermined { reason } => {
            assert!(reason.contains("LIMIT 4"), "{reason}");
            assert!(reason.contains("k = 3"), "{reason}");
            assert!(reason.contains("1 of 2 tied rows differ"), "{reason}");
        }
        other => panic!("expected undetermined, got {other:?}"),
    }
    // Not at the limit: the whole result is determined, so the same difference is wrong.
    let order5 = OrderSpec::by_columns(&[0]).with_limit(5);
    assert!(compare(from_ref(&expected), &[actual], &order5, &tol()).is_wrong());
    // A difference before the last tie group stays wrong.
    let early = batch(vec![
        ("k", ints(&[1, 2, 3, 3])),
        ("v", strs(&["a", "x", "c", "d"])),
    ]);
    assert!(compare(from_ref(&expected), &[early], &order, &tol()).is_wrong());
    // A different key in the last group is wrong, too.
    let other_key = batch(vec![
        ("k", ints(&[1, 2, 3, 4])),
        ("v", strs(&["a", "b", "c", "d"])),
    ]);
    assert!(compare(from_ref(&expected), &[other_key], &order, &tol()).is_wrong());
    // A short result at a limit is wrong.
    let short = batch(vec![("k", ints(&[1, 2, 3])), ("v", strs(&["a", "b", "c"]))]);
    assert!(compare(&[expected], &[short], &order, &tol()).is_wrong());
}

#[test]
fn limit_without_usable_order_is_undetermined_when_rows_differ() {
    let expected = batch(vec![("v", ints(&[1, 2, 3]))]);
    let actual = batch(vec![("v", ints(&[4, 2, 1]))]);
    let order = OrderSpec::from_sql("select v from t limit 3", &["v"]);
    let v = compare(from_ref(&expected), from_ref(&actual), &order, &tol());
    assert_eq!(v.kind(), "undetermined");
    let order = OrderSpec::from_sql("select v from t order by v + 1 limit 3", &["v"]);
    let v = compare(from_ref(&expected), &[actual], &order, &tol());
    assert_eq!(v.kind(), "undetermined");
    let same = batch(vec![("v", ints(&[3, 1, 2]))]);
    let order = OrderSpec::from_sql("select v from t limit 3", &["v"]);
    assert_eq!(
        compare(&[expected], &[same], &order, &tol()),
        Verdict::Correct
    );
}

#[test]
fn offset_makes_the_first_tie_group_undetermined() {
    let mut order = OrderSpec::by_columns(&[0]);
    order.offset = Some(1);
    let expected = batch(vec![("k", ints(&[1, 1, 2])), ("v", strs(&["a", "b", "c"]))]);
    let actual = batch(vec![("k", ints(&[1, 1, 2])), ("v", strs(&["a", "z", "c"]))]);
    assert_eq!(
        compare(from_ref(&expected), &[actual], &order, &tol()).kind(),
        "undetermined"
    );
    let later = batch(vec![("k", ints(&[1, 1, 2])), ("v", strs(&["a", "b", "z"]))]);
    assert!(compare(&[expected], &[later], &order, &tol()).is_wrong());
}

#[test]
fn unspecified_null_order_may_differ_between_engines() {
    let with_nulls = |keys: Vec<Option<i64>>, vals: &[&str]| {
        batch(vec![
            ("k", Arc::new(Int64Array::from(keys)) as ArrayRef),
            ("v", strs(vals)),
        ])
    };
    // DuckDB: nulls last; Spark (ascending): nulls first.
    let duck = with_nulls(vec![Some(1), Some(2), None], &["a", "b", "n"]);
    let spark = with_nulls(vec![None, Some(1), Some(2)], &["n", "a", "b"]);
    let sql = "select k, v from t order by k";
    let order = OrderSpec::from_sql(sql, &["k", "v"]);
    assert_eq!(
        compare(from_ref(&duck), from_ref(&spark), &order, &tol()),
        Verdict::Correct
    );
    // Written explicitly, the null order is part of the answer.
    let explicit = OrderSpec::from_sql("select k, v from t order by k nulls last", &["k", "v"]);
    assert!(compare(from_ref(&duck), from_ref(&spark), &explicit, &tol()).is_wrong());
    // Nested: nulls of the second key move within their first-key group only.
    let e2 = batch(vec![
        ("a", ints(&[1, 1, 1, 2])),
        (
            "b",
            Arc::new(Int64Array::from(vec![Some(1), Some(2), None, Some(5)])) as ArrayRef,
        ),
    ]);
    let a2 = batch(vec![
        ("a", ints(&[1, 1, 1, 2])),
        (
            "b",
            Arc::new(Int64Array::from(vec![None, Some(1), Some(2), Some(5)])) as ArrayRef,
        ),
    ]);
    assert_eq!(
        compare(&[e2], &[a2], &OrderSpec::by_columns(&[0, 1]), &tol()),
        Verdict::Correct
    );
    // Under a LIMIT cut the engines keep different rows: undetermined, not wrong.
    let duck_cut = with_nulls(vec![Some(1), Some(2)], &["a", "b"]);
    let spark_cut = with_nulls(vec![None, Some(1)], &["n", "a"]);
    let limited = OrderSpec::from_sql("select k, v from t order by k limit 2", &["k", "v"]);
    let v = compare(&[duck_cut], &[spark_cut], &limited, &tol());
    assert_eq!(v.kind(), "undetermined", "{v:?}");
}

#[test]
fn float_sort_keys_with_noise() {
    // Keys that differ by noise may swap places between engines.
    let expected = batch(vec![
        ("m", floats(&[1.0, 1.0 + 1e-12, 2.0])),
        ("v", strs(&["a", "b", "c"])),
    ]);
    let actual = batch(vec![
        ("m", floats(&[1.0 + 1e-12, 1.0, 2.0])),
        ("v", strs(&["b", "a", "c"])),
    ]);
    assert_eq!(
        compare(&[expected], &[actual], &OrderSpec::by_columns(&[0]), &tol()),
        Verdict::Correct
    );
}

#[test]
fn column_count_and_names() {
    let a = batch(vec![("x", ints(&[1])), ("y", ints(&[2]))]);
    let b = batch(vec![("x", ints(&[1]))]);
    let diff = wrong(&compare(from_ref(&a), &[b], &unordered(), &tol())).clone();
    assert!(
        diff.summary.contains("different number of columns"),
        "{}",
        diff.summary
    );

    let upper = batch(vec![("X", ints(&[1])), ("\"y\"", ints(&[2]))]);
    let cmp = compare_detailed(from_ref(&a), &[upper], &unordered(), &tol());
    assert_eq!(cmp.verdict, Verdict::Correct);
    assert!(cmp.notes.is_empty(), "{:?}", cmp.notes);

    let renamed = batch(vec![("x", ints(&[1])), ("sum(y)", ints(&[2]))]);
    let cmp = compare_detailed(from_ref(&a), from_ref(&renamed), &unordered(), &tol());
    assert_eq!(cmp.verdict, Verdict::Correct);
    assert_eq!(cmp.notes.len(), 1);
    assert!(cmp.notes[0].contains("column 2"), "{:?}", cmp.notes);

    let renamed_wrong = batch(vec![("x", ints(&[1])), ("sum(y)", ints(&[3]))]);
    let diff = wrong(&compare(&[a], &[renamed_wrong], &unordered(), &tol())).clone();
    assert_eq!(diff.notes.len(), 1);
}

#[test]
fn malformed_input_never_panics() {
    let two = batch(vec![("x", ints(&[1])), ("y", ints(&[2]))]);
    let one = batch(vec![("x", ints(&[1]))]);
    let v = compare(&[two.clone(), one], from_ref(&two), &unordered(), &tol());
    assert_eq!(v.kind(), "undetermined");
    // Keys beyond the columns are ignored.
    let order = OrderSpec::by_columns(&[7, 0]);
    assert_eq!(
        compare(from_ref(&two), from_ref(&two), &order, &tol()),
        Verdict::Correct
    );
    // Silly tolerances.
    let silly = Tolerance {
        relative: f64::INFINITY,
        absolute: f64::NAN,
    };
    assert_eq!(
        compare(from_ref(&two), from_ref(&two), &unordered(), &silly),
        Verdict::Correct
    );
    let huge = Tolerance {
        relative: 5.0,
        absolute: 1e300,
    };
    let f = batch(vec![("f", floats(&[1.0, f64::MAX, f64::MIN, f64::NAN]))]);
    let g = batch(vec![("f", floats(&[f64::NAN, f64::MIN, 3.0, f64::MAX]))]);
    let _ = compare(from_ref(&f), from_ref(&g), &unordered(), &huge);
    let _ = compare(
        &[f],
        &[g],
        &OrderSpec::by_columns(&[0]).with_limit(4),
        &tol(),
    );
    // Zero-column results (DDL) compare by row count.
    let empty = RecordBatch::new_empty(Arc::new(arrow_schema::Schema::empty()));
    assert_eq!(
        compare(from_ref(&empty), from_ref(&empty), &unordered(), &tol()),
        Verdict::Correct
    );
}

#[test]
fn large_float_only_results_match_with_duplicates_and_noise() {
    // No exact column: everything lands in one hash bucket and is matched in a window.
    let n = 20_000;
    let values: Vec<f64> = (0..n).map(|i| f64::from(i % 5_000) * 0.37).collect();
    let noisy: Vec<f64> = values.iter().rev().map(|v| v * (1.0 + 1e-9)).collect();
    let e = batch(vec![("f", floats(&values))]);
    let a = batch(vec![("f", floats(&noisy))]);
    assert_eq!(
        compare(from_ref(&e), &[a], &unordered(), &tol()),
        Verdict::Correct
    );
    let mut off = values.clone();
    off[123] += 1.0;
    let a = batch(vec![("f", floats(&off))]);
    let diff = wrong(&compare(&[e], &[a], &unordered(), &tol())).clone();
    assert_eq!((diff.missing, diff.extra), (1, 1));
}

#[test]
fn from_sql_drives_the_comparison() {
    let sql = "select i_item_id, i_item_desc, s_store_id, sum(ss_quantity) qty\n\
               from store_sales group by 1, 2, 3\n\
               order by i_item_id, i_item_desc, s_store_id limit 100";
    let cols = ["i_item_id", "i_item_desc", "s_store_id", "qty"];
    let order = OrderSpec::from_sql(sql, &cols);
    let expected = batch(vec![
        ("i_item_id", strs(&["A", "A", "B"])),
        ("i_item_desc", strs(&["d1", "d2", "d1"])),
        ("s_store_id", strs(&["s1", "s1", "s2"])),
        ("qty", ints(&[10, 20, 30])),
    ]);
    let reordered = batch(vec![
        ("I_ITEM_ID", strs(&["A", "B", "A"])),
        ("I_ITEM_DESC", strs(&["d2", "d1", "d1"])),
        ("S_STORE_ID", strs(&["s1", "s2", "s1"])),
        ("QTY", ints(&[20, 30, 10])),
    ]);
    assert!(compare(from_ref(&expected), from_ref(&reordered), &order, &tol()).is_wrong());
    assert_eq!(
        compare(&[expected], &[reordered], &unordered(), &tol()),
        Verdict::Correct
    );
}

#[test]
fn diff_renders_for_people() {
    let expected = stores(&[1, 2, 3], &["able", "bar", "cally"], &[150, 200, 300]);
    let actual = stores(
        &[1, 2, 3, 9],
        &["able", "bar", "cally", "zed"],
        &[150, 201, 300, 5],
    );
    let mut diff = wrong(&compare(&[expected], &[actual], &unordered(), &tol())).clone();
    diff.notes.push(
        "column 3 is named `amount` in the expected result and `amt` in the actual one".into(),
    );
    let text = diff.render();
    let want = "\
1 expected rows are missing and 2 unexpected rows are present
expected 3 rows, actual 4 rows; 1 missing, 2 extra
changed (expected row 2, actual row 2):
    s_store_id    2
    s_store_name  \"bar\"
  ! amount        expected 2.00 | actual 2.01
extra (actual row 4):
  ! s_store_id    9
  ! s_store_name  \"zed\"
  ! amount        0.05
note: column 3 is named `amount` in the expected result and `amt` in the actual one
";
    assert_eq!(text, want, "\n{text}");
}
