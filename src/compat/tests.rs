//! Unit tests of the pure parts: data files, comparison, classification, plan features,
//! rendering and checks.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow_schema::{Field, Schema};

use super::classify::{classify, compare, filter_rows, schema_notes};
use super::differential::is_query;
use super::history::log_units;
use super::*;
use crate::client::Outcome;
use crate::probe::s3::Object;

// ---------------------------------------------------------------------------------------------
// Helpers

pub(crate) fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
        .collect();
    RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .expect("valid batch")
}

pub(crate) fn ok_ints(column: &str, values: &[Option<i64>]) -> Observed {
    let b = batch(vec![(column, Arc::new(Int64Array::from(values.to_vec())))]);
    Observed::from_batches(b.schema(), vec![b], 1)
}

pub(crate) fn ok_strings(column: &str, values: &[Option<&str>]) -> Observed {
    let b = batch(vec![(column, Arc::new(StringArray::from(values.to_vec())))]);
    Observed::from_batches(b.schema(), vec![b], 1)
}

pub(crate) fn fail(class: &str, state: Option<&str>) -> Observed {
    Observed::from_outcome(
        &Outcome::Fail {
            error_class: Some(class.into()),
            sql_state: state.map(str::to_string),
            message: format!("[{class}] boom"),
        },
        None,
        1,
    )
}

pub(crate) fn confirmation(
    rules: &[&str],
    baseline: &Observed,
    rerun: Observed,
    sql: &str,
) -> Confirmation {
    Confirmation {
        rules: rules.iter().map(|r| r.to_string()).collect(),
        settings: BTreeMap::new(),
        difference: compare(baseline, &rerun, sql),
        observed: rerun,
    }
}

// ---------------------------------------------------------------------------------------------
// Data files

#[test]
fn rules_and_probes_parse_and_reference_each_other() {
    let rules = RuleTable::builtin().expect("rules.toml parses");
    let probes = ProbeSuite::builtin().expect("probes.toml parses");
    probes.check_against(&rules).expect("consistent");
    assert!(rules.rules.len() >= 10, "{}", rules.rules.len());
    assert!(
        (20..=40).contains(&probes.probes.len()),
        "{}",
        probes.probes.len()
    );
    // The rules the brief names are all there, with the keys verified against 4.1.0.
    for (id, key) in [
        ("ansi_default", "spark.sql.ansi.enabled"),
        ("cte_precedence", "spark.sql.legacy.ctePrecedencePolicy"),
        (
            "create_hive_table_by_default",
            "spark.sql.legacy.createHiveTableByDefault",
        ),
        (
            "map_key_normalization",
            "spark.sql.legacy.disableMapKeyNormalization",
        ),
        ("time_parser_policy", "spark.sql.legacy.timeParserPolicy"),
        ("java_charsets", "spark.sql.legacy.javaCharsets"),
        ("coding_error_action", "spark.sql.legacy.codingErrorAction"),
        (
            "negative_decimal_scale",
            "spark.sql.legacy.allowNegativeScaleOfDecimal",
        ),
        (
            "negative_index_array_insert",
            "spark.sql.legacy.negativeIndexInArrayInsert",
        ),
        (
            "view_schema_binding",
            "spark.sql.legacy.viewSchemaBindingMode",
        ),
    ] {
        let r = rules.get(id).unwrap_or_else(|| panic!("rule {id}"));
        assert!(r.settings.contains_key(key), "{id}: {:?}", r.settings);
    }
    // Only ANSI applies to every statement: it is the one change that touches arbitrary SQL.
    let general: Vec<&str> = rules
        .rules
        .iter()
        .filter(|r| r.applies_to_all)
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(general, ["ansi_default"]);
    // At least one probe is a genuine difference no rule is expected to explain, and some are
    // controls that must be identical.
    assert!(probes.probes.iter().any(|p| p.expect == "unexplained"));
    assert!(probes.probes.iter().any(|p| p.expect == "identical"));
    // Probes that need a table use the scratch database and a per-execution name.
    let ddl = probes
        .probes
        .iter()
        .find(|p| p.id == "create_table_without_using")
        .expect("probe");
    assert!(ddl.setup[0].contains("{db}.{uniq}"));
    assert!(ddl.cleanup[0].starts_with("DROP TABLE IF EXISTS"));
}

#[test]
fn data_file_mistakes_are_refused() {
    let rule = |id: &str, settings: &str, probes: &str| {
        format!(
            "[[rule]]\nid = \"{id}\"\ntitle = \"t\"\nsource = \"s\"\nsettings = {settings}\nprobes = {probes}\n"
        )
    };
    let dup = format!(
        "{}{}",
        rule("a", "{ \"spark.x\" = \"1\" }", "[]"),
        rule("a", "{ \"spark.y\" = \"1\" }", "[]")
    );
    assert!(RuleTable::parse(&dup)
        .unwrap_err()
        .to_string()
        .contains("twice"));
    assert!(RuleTable::parse(&rule("a", "{}", "[]"))
        .unwrap_err()
        .to_string()
        .contains("no settings"));
    assert!(RuleTable::parse(&rule("a", "{ \"hive.x\" = \"1\" }", "[]"))
        .unwrap_err()
        .to_string()
        .contains("not a Spark key"));
    assert!(RuleTable::parse(&rule("Bad-Id", "{ \"spark.x\" = \"1\" }", "[]")).is_err());
    assert!(RuleTable::parse("[[rule]]\nid = \"a\"\nunknown = 1\n").is_err());

    let probe = |id: &str, sql: &str, rules: &str| {
        format!("[[probe]]\nid = \"{id}\"\ntitle = \"t\"\nsql = \"{sql}\"\nrules = {rules}\n")
    };
    assert!(
        ProbeSuite::parse(&probe("p", "SELECT * FROM {tabel}", "[]"))
            .unwrap_err()
            .to_string()
            .contains("{tabel}")
    );
    // Braces that are not placeholders (a JSON literal) are fine.
    ProbeSuite::parse(&probe(
        "p",
        "SELECT from_json('{\\\"a\\\": 1}', 'a INT')",
        "[]",
    ))
    .expect("JSON braces are not placeholders");
    let bad_expect = format!("{}expect = \"maybe\"\n", probe("p", "SELECT 1", "[]"));
    assert!(ProbeSuite::parse(&bad_expect).is_err());

    let rules = RuleTable::parse(&rule("r", "{ \"spark.x\" = \"1\" }", "[\"p\"]")).expect("rules");
    let unknown_rule =
        ProbeSuite::parse(&probe("p", "SELECT 1", "[\"r\", \"nope\"]")).expect("probes");
    assert!(unknown_rule
        .check_against(&rules)
        .unwrap_err()
        .to_string()
        .contains("unknown rule"));
    let not_named_back = ProbeSuite::parse(&probe("p", "SELECT 1", "[]")).expect("probes");
    assert!(not_named_back
        .check_against(&rules)
        .unwrap_err()
        .to_string()
        .contains("does not name it"));
    let missing_probe = ProbeSuite::parse(&probe("q", "SELECT 1", "[]")).expect("probes");
    assert!(missing_probe
        .check_against(&rules)
        .unwrap_err()
        .to_string()
        .contains("unknown probe"));
}

#[test]
fn candidates_put_hints_first_then_general_rules_without_duplicates() {
    let rules = RuleTable::builtin().expect("rules");
    let hinted = rules.candidates(&["java_charsets".into(), "nope".into()], false);
    let ids: Vec<&str> = hinted.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["java_charsets", "ansi_default"]);
    let all = rules.candidates(&["ansi_default".into()], true);
    assert_eq!(all.len(), rules.rules.len());
    assert_eq!(all[0].id, "ansi_default");
    assert_eq!(rules.candidates(&[], false).len(), 1);
}

#[test]
fn placeholders_are_substituted() {
    assert_eq!(
        probes::substitute(
            "CREATE TABLE {db}.{uniq} (a INT); DROP {uniq}",
            "compat_x",
            "c1"
        ),
        "CREATE TABLE compat_x.c1 (a INT); DROP c1"
    );
}

// ---------------------------------------------------------------------------------------------
// Comparison and classification

#[test]
fn same_outcome_and_equal_results_are_identical() {
    let sql = "SELECT 7 div 2 AS v";
    let a = ok_ints("v", &[Some(3)]);
    let b = ok_ints("v", &[Some(3)]);
    let d = compare(&a, &b, sql);
    assert_eq!(d, None);
    assert_eq!(classify(d.as_ref(), &[]), Class::Identical);
    // Without ORDER BY rows are a multiset; with it their order counts.
    let x = ok_ints("v", &[Some(1), Some(2)]);
    let y = ok_ints("v", &[Some(2), Some(1)]);
    assert_eq!(compare(&x, &y, "SELECT v FROM t"), None);
    assert!(matches!(
        compare(&x, &y, "SELECT v FROM t ORDER BY v"),
        Some(Difference::Result { .. })
    ));
    // Both failing with the same class is the same behaviour; 3.5.7 sends no SQLSTATE, so a
    // missing one on one side is not a difference, two different ones are.
    assert_eq!(
        compare(&fail("X", None), &fail("X", Some("22012")), sql),
        None
    );
    assert!(matches!(
        compare(&fail("X", Some("22000")), &fail("X", Some("22012")), sql),
        Some(Difference::SqlState { .. })
    ));
}

#[test]
fn a_difference_that_vanishes_under_its_legacy_setting_is_expected() {
    // CAST('abc' AS INT): NULL on 3.5.7, CAST_INVALID_INPUT on 4.1.0, NULL with ANSI off.
    let sql = "SELECT CAST('abc' AS INT) AS v";
    let baseline = ok_ints("v", &[None]);
    let target = fail("CAST_INVALID_INPUT", Some("22018"));
    let d = compare(&baseline, &target, sql).expect("differs");
    assert!(matches!(d, Difference::Outcome { .. }), "{d:?}");
    assert!(
        d.describe().contains("CAST_INVALID_INPUT"),
        "{}",
        d.describe()
    );
    let tried = vec![confirmation(
        &["ansi_default"],
        &baseline,
        ok_ints("v", &[None]),
        sql,
    )];
    let class = classify(Some(&d), &tried);
    assert_eq!(
        class,
        Class::Expected {
            rules: vec!["ansi_default".into()]
        }
    );
    assert_eq!(class.label(), "expected (rule ansi_default)");

    // Different error classes (time parser policy) vanish under the rule, after a rule that
    // did not help; the first vanishing re-run names the rule.
    let sql = "SELECT to_date('2020-1-1', 'yyyy-MM-dd') AS d";
    let baseline = fail(
        "INCONSISTENT_BEHAVIOR_CROSS_VERSION.PARSE_DATETIME_BY_NEW_PARSER",
        None,
    );
    let target = fail("CANNOT_PARSE_TIMESTAMP", Some("22007"));
    let d = compare(&baseline, &target, sql).expect("differs");
    assert!(matches!(d, Difference::ErrorClass { .. }));
    let tried = vec![
        confirmation(&["ansi_default"], &baseline, ok_ints("d", &[None]), sql),
        confirmation(
            &["time_parser_policy"],
            &baseline,
            fail(
                "INCONSISTENT_BEHAVIOR_CROSS_VERSION.PARSE_DATETIME_BY_NEW_PARSER",
                Some("42K0B"),
            ),
            sql,
        ),
    ];
    assert!(!tried[0].vanished());
    assert!(tried[1].vanished());
    assert_eq!(
        classify(Some(&d), &tried),
        Class::Expected {
            rules: vec!["time_parser_policy".into()]
        }
    );
}

#[test]
fn a_difference_no_rule_makes_vanish_is_unexplained() {
    // CAST(TIMESTAMP '2100-01-01' AS INT): 3.5.7 wraps, 4.1.0 fails (ANSI) or gives NULL.
    let sql = "SELECT CAST(TIMESTAMP '2100-01-01 00:00:00' AS INT) AS v";
    let baseline = ok_ints("v", &[Some(-192_522_496)]);
    let target = fail("CAST_OVERFLOW", Some("22003"));
    let d = compare(&baseline, &target, sql).expect("differs");
    let rerun = ok_ints("v", &[None]);
    let tried = vec![confirmation(&["ansi_default"], &baseline, rerun, sql)];
    assert!(matches!(
        tried[0].difference,
        Some(Difference::Result { .. })
    ));
    assert_eq!(classify(Some(&d), &tried), Class::Unexplained);
    // No re-run at all (confirmation off, or no candidate): never assumed explained.
    assert_eq!(classify(Some(&d), &[]), Class::Unexplained);
    // A re-run whose own outcome is unknown does not confirm anything either.
    let unknown = Observed::from_outcome(
        &Outcome::Info {
            reason: "deadline".into(),
        },
        None,
        1,
    );
    let tried = vec![confirmation(&["ansi_default"], &baseline, unknown, sql)];
    assert_eq!(classify(Some(&d), &tried), Class::Unexplained);
}

#[test]
fn unknown_outcomes_are_undetermined() {
    let info = Observed::from_outcome(
        &Outcome::Info {
            reason: "deadline of 1s passed".into(),
        },
        None,
        1,
    );
    let d = compare(&ok_ints("v", &[Some(1)]), &info, "SELECT 1 AS v").expect("unknown");
    assert!(d.is_unknown());
    let class = classify(Some(&d), &[]);
    assert_eq!(class.kind(), "undetermined");
}

#[test]
fn result_differences_carry_the_oracle_diff_and_schema_notes_do_not_count() {
    let sql = "SELECT 'a''b' AS v";
    let a = ok_strings("v", &[Some("ab")]);
    let b = ok_strings("v", &[Some("a'b")]);
    match compare(&a, &b, sql) {
        Some(Difference::Result { summary, detail }) => {
            assert!(!summary.is_empty());
            assert!(detail.contains("a'b"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    // Same value, different types: equal for the oracle, noted as a schema difference.
    let s = batch(vec![(
        "t",
        Arc::new(StringArray::from(vec!["1"])) as ArrayRef,
    )]);
    let i = ok_ints("t", &[Some(1)]);
    let st = Observed::from_batches(s.schema(), vec![s], 1);
    let notes = schema_notes(&i, &st);
    assert!(
        notes.iter().any(|n| n.contains("Int64 → Utf8")),
        "{notes:?}"
    );
    // A column count change is a result difference.
    let two = batch(vec![
        ("a", Arc::new(Int64Array::from(vec![1])) as ArrayRef),
        ("b", Arc::new(Int64Array::from(vec![2])) as ArrayRef),
    ]);
    let two = Observed::from_batches(two.schema(), vec![two], 1);
    assert!(matches!(
        compare(&i, &two, "SELECT 1"),
        Some(Difference::Result { .. })
    ));
}

#[test]
fn keep_rows_compares_only_the_named_describe_lines() {
    let describe = |provider: &str| {
        batch(vec![
            (
                "col_name",
                Arc::new(StringArray::from(vec!["a", "", "Provider", "Location"])) as ArrayRef,
            ),
            (
                "data_type",
                Arc::new(StringArray::from(vec![
                    "int",
                    "",
                    provider,
                    "s3a://chaos/3.5/warehouse/x",
                ])) as ArrayRef,
            ),
        ])
    };
    let keep = vec!["Provider".to_string()];
    let hive = filter_rows(vec![describe("hive")], &keep);
    assert_eq!(hive.iter().map(RecordBatch::num_rows).sum::<usize>(), 1);
    let parquet = filter_rows(vec![describe("parquet")], &keep);
    let a = Observed::from_batches(hive[0].schema(), hive, 1);
    let b = Observed::from_batches(parquet[0].schema(), parquet, 1);
    assert_eq!(
        a.sample,
        vec![vec!["Provider".to_string(), "hive".to_string()]]
    );
    assert!(compare(&a, &b, "DESCRIBE TABLE EXTENDED t").is_some());
    // Nothing kept on either side (3.5.7 has no "View Schema Mode" row, nor 4.1.0 under its
    // legacy setting): equal.
    let none = filter_rows(vec![describe("hive")], &["View Schema Mode".to_string()]);
    assert!(none.is_empty());
    let schema = describe("hive").schema();
    let x = Observed::from_batches(schema.clone(), Vec::new(), 1);
    let y = Observed::from_batches(schema, Vec::new(), 1);
    assert_eq!(compare(&x, &y, "DESCRIBE TABLE EXTENDED v"), None);
    // Without keep_rows everything is kept.
    assert_eq!(filter_rows(vec![describe("hive")], &[])[0].num_rows(), 4);
}

#[test]
fn briefs_read_well() {
    assert_eq!(ok_ints("v", &[None]).brief(), "ok: NULL");
    assert_eq!(ok_ints("v", &[Some(1), Some(2)]).brief(), "ok (2 rows)");
    assert_eq!(
        fail("DIVIDE_BY_ZERO", Some("22012")).brief(),
        "fail [DIVIDE_BY_ZERO] (22012)"
    );
    let long = "x".repeat(1000);
    let o = Observed::from_outcome(
        &Outcome::Fail {
            error_class: None,
            sql_state: None,
            message: long,
        },
        Some("setup `CREATE`"),
        1,
    );
    assert!(o
        .message
        .as_deref()
        .expect("message")
        .starts_with("setup `CREATE`: xxx"));
    assert!(o.message.expect("message").chars().count() <= 401);
}

// ---------------------------------------------------------------------------------------------
// Plans

/// `EXPLAIN FORMATTED` of a three-way star join with top-N, as Spark 3.5.7 printed it on the
/// local platform (TPC-DS sf0.1; the details sections shortened to their headers plus a line).
const FORMATTED_35: &str = "== Physical Plan ==
AdaptiveSparkPlan (18)
+- TakeOrderedAndProject (17)
   +- HashAggregate (16)
      +- Exchange (15)
         +- HashAggregate (14)
            +- Project (13)
               +- BroadcastHashJoin Inner BuildRight (12)
                  :- Project (8)
                  :  +- BroadcastHashJoin Inner BuildRight (7)
                  :     :- Filter (2)
                  :     :  +- Scan parquet spark_catalog.tpcds_sf0_1.store_sales (1)
                  :     +- BroadcastExchange (6)
                  :        +- Project (5)
                  :           +- Filter (4)
                  :              +- Scan parquet spark_catalog.tpcds_sf0_1.date_dim (3)
                  +- BroadcastExchange (11)
                     +- Filter (10)
                        +- Scan parquet spark_catalog.tpcds_sf0_1.item (9)


(1) Scan parquet spark_catalog.tpcds_sf0_1.store_sales
Output [2]: [ss_sold_date_sk#926L, ss_item_sk#928L]

(2) Filter
Input [2]: [ss_sold_date_sk#926L, ss_item_sk#928L]

(3) Scan parquet spark_catalog.tpcds_sf0_1.date_dim
(4) Filter
(5) Project
(6) BroadcastExchange
Arguments: HashedRelationBroadcastMode(List(input[0, bigint, true]),false), [plan_id=2859]

(7) BroadcastHashJoin [codegen id : 3]
Join type: Inner

(8) Project [codegen id : 3]
(9) Scan parquet spark_catalog.tpcds_sf0_1.item
(10) Filter [codegen id : 2]
(11) BroadcastExchange
(12) BroadcastHashJoin [codegen id : 3]
(13) Project [codegen id : 3]
(14) HashAggregate [codegen id : 3]
(15) Exchange
Arguments: hashpartitioning(i_brand#987, 4), ENSURE_REQUIREMENTS, [plan_id=2870]

(16) HashAggregate [codegen id : 4]
(17) TakeOrderedAndProject
(18) AdaptiveSparkPlan
Output [2]: [i_brand#987, n#922L]
Arguments: isFinalPlan=false
";

/// `EXPLAIN` (simple) of a two-table join as Spark 4.1.0 printed it, the join strategy
/// changed by hand to a sort-merge join to exercise the tree reader on a shuffle join.
const SIMPLE_41_SMJ: &str = "== Physical Plan ==
AdaptiveSparkPlan isFinalPlan=false
+- HashAggregate(keys=[], functions=[count(1)])
   +- Exchange SinglePartition, ENSURE_REQUIREMENTS, [plan_id=3006]
      +- HashAggregate(keys=[], functions=[partial_count(1)])
         +- Project
            +- SortMergeJoin [ss_item_sk#905L], [cs_item_sk#941L], Inner
               :- Sort [ss_item_sk#905L ASC NULLS FIRST], false, 0
               :  +- Exchange hashpartitioning(ss_item_sk#905L, 4), ENSURE_REQUIREMENTS, [plan_id=2990]
               :     +- Filter isnotnull(ss_item_sk#905L)
               :        +- FileScan parquet spark_catalog.tpcds_sf0_1.store_sales[ss_item_sk#905L] Batched: true
               +- Sort [cs_item_sk#941L ASC NULLS FIRST], false, 0
                  +- Exchange hashpartitioning(cs_item_sk#941L, 4), ENSURE_REQUIREMENTS, [plan_id=2991]
                     +- ReusedExchange [cs_item_sk#941L], Exchange hashpartitioning(ss_item_sk#905L, 4)
";

#[test]
fn plan_features_from_formatted_and_simple_explain() {
    let f = plan_features(FORMATTED_35);
    assert!(f.adaptive);
    assert_eq!(f.joins.get("BroadcastHashJoin"), Some(&2));
    assert_eq!(f.joins.len(), 1);
    assert_eq!(f.exchanges, 1);
    assert_eq!(f.broadcast_exchanges, 2);
    // Counted from the details headers only, not again from the tree.
    assert_eq!(f.operators, 18);

    let g = plan_features(SIMPLE_41_SMJ);
    assert!(g.adaptive);
    assert_eq!(g.joins.get("SortMergeJoin"), Some(&1));
    assert_eq!(g.exchanges, 3);
    assert_eq!(g.broadcast_exchanges, 0);
    assert_eq!(g.reused_exchanges, 1);

    let p = PlanComparison::new(f.clone(), g);
    assert!(
        p.differences
            .iter()
            .any(|d| d == "joins: BroadcastHashJoin×2 → SortMergeJoin×1"),
        "{:?}",
        p.differences
    );
    assert!(p
        .differences
        .iter()
        .any(|d| d.starts_with("shuffle exchanges: 1 → 3")));
    assert!(PlanComparison::new(f.clone(), f).differences.is_empty());
    // Nothing recognisable: no features, no panic.
    assert_eq!(
        plan_features("no plan here\n(x) y"),
        PlanFeatures::default()
    );
    assert_eq!(plan_features(""), PlanFeatures::default());
}

#[test]
fn queries_are_told_from_other_statements() {
    assert!(is_query("SELECT 1"));
    assert!(is_query(
        "  -- comment\n with t AS (SELECT 1) SELECT * FROM t"
    ));
    assert!(is_query("/* x */ (SELECT 1) UNION (SELECT 2)"));
    assert!(!is_query("DESCRIBE TABLE EXTENDED t"));
    assert!(!is_query("CREATE TABLE t (a INT)"));
    assert!(!is_query("SELECTED"));
}

#[test]
fn event_logs_are_single_files_or_rolling_directories() {
    let obj = |key: &str, t: &str| Object {
        key: key.into(),
        size: 1,
        last_modified: t.into(),
    };
    let objects = [
        obj(
            "3.5/events/local-1732000000000.zstd",
            "2025-01-01T00:00:01Z",
        ),
        obj(
            "3.5/events/app-2025-0001.inprogress",
            "2025-01-01T00:00:02Z",
        ),
        obj(
            "4.1/events/eventlog_v2_local-17/events_1_local-17.zstd",
            "2025-01-01T00:00:03Z",
        ),
        obj(
            "4.1/events/eventlog_v2_local-17/appstatus_local-17",
            "2025-01-01T00:00:04Z",
        ),
        obj(
            "4.1/events/eventlog_v2_app-9/events_1_app-9.zstd",
            "2025-01-01T00:00:05Z",
        ),
        obj(
            "4.1/events/eventlog_v2_app-9/appstatus_app-9.inprogress",
            "2025-01-01T00:00:06Z",
        ),
    ];
    let v35 = log_units(&objects, "3.5/events/");
    assert_eq!(v35.len(), 2);
    assert!(!v35[0].dir && v35[0].finished);
    assert_eq!(v35[0].app_id(), "local-1732000000000");
    assert_eq!(
        v35[0].path("3.5/events/"),
        "3.5/events/local-1732000000000.zstd"
    );
    assert!(
        !v35[1].finished,
        "an .inprogress file is a running application"
    );
    let v41 = log_units(&objects, "4.1/events/");
    assert_eq!(v41.len(), 2);
    assert!(v41[0].dir && v41[0].finished);
    assert_eq!(v41[0].app_id(), "local-17");
    assert_eq!(v41[0].keys.len(), 2);
    assert_eq!(v41[0].last_modified, "2025-01-01T00:00:04Z");
    assert_eq!(
        v41[0].path("4.1/events/"),
        "4.1/events/eventlog_v2_local-17/"
    );
    assert!(
        !v41[1].finished,
        "an .inprogress status marker is a running application"
    );
}

// ---------------------------------------------------------------------------------------------
// Reports and checks

pub(crate) fn statement(id: &str, class: Class, expect: Option<&str>) -> StatementReport {
    StatementReport {
        id: id.into(),
        set: "probe".into(),
        title: "a <b> & c".into(),
        sql: "SELECT '<x>' AS v | 1".into(),
        expect: expect.map(str::to_string),
        difference: (class != Class::Identical).then(|| Difference::Outcome {
            baseline: "ok: NULL".into(),
            target: "fail [CAST_INVALID_INPUT]".into(),
        }),
        class,
        baseline: ok_ints("v", &[None]),
        target: fail("CAST_INVALID_INPUT", Some("22018")),
        confirmations: Vec::new(),
        plan: None,
        notes: vec!["plan: joins: a → b".into()],
    }
}

pub(crate) fn report(statements: Vec<StatementReport>) -> CompatReport {
    let rules = RuleTable::builtin().expect("rules");
    CompatReport {
        run_id: "r1".into(),
        started_at: "2025-01-01T00:00:00Z".into(),
        took_secs: 1.0,
        baseline: "3.5.7".into(),
        target: "4.1.0".into(),
        options: ReportOptions {
            statements: vec![StatementSet::Probes],
            confirm_rules: true,
            explain: true,
            timeout_secs: 60.0,
            scale_db: "tpcds_sf0_1".into(),
        },
        rules: rules
            .rules
            .iter()
            .map(|r| RuleStatus {
                rule: r.clone(),
                keys: r
                    .settings
                    .iter()
                    .map(|(k, v)| KeyStatus {
                        key: k.clone(),
                        legacy_value: v.clone(),
                        defined_on_target: Some(true),
                        target_value: Some("x".into()),
                        baseline_value: None,
                        error: None,
                    })
                    .collect(),
                verified: true,
                confirmed_for: Vec::new(),
            })
            .collect(),
        summary: Summary::of(&statements),
        statements,
        coexistence: None,
        history: None,
        clients: None,
        notes: vec!["a note with <angle> brackets".into()],
    }
}

#[test]
fn summary_counts_classes_rules_and_expectation_mismatches() {
    let s = Summary::of(&[
        statement("a", Class::Identical, Some("identical")),
        statement(
            "b",
            Class::Expected {
                rules: vec!["ansi_default".into()],
            },
            Some("expected"),
        ),
        statement(
            "c",
            Class::Expected {
                rules: vec!["ansi_default".into()],
            },
            None,
        ),
        statement("d", Class::Unexplained, Some("expected")),
    ]);
    assert_eq!(
        (s.identical, s.expected, s.unexplained, s.undetermined),
        (1, 2, 1, 0)
    );
    assert_eq!(s.by_rule.get("ansi_default"), Some(&2));
    assert_eq!(s.expectation_mismatches, ["d: expected → unexplained"]);
}
