//! The comparison: materialise, group by sort key, match rows as multisets, explain (pure).
//!
//! Rows are matched by hash, not pairwise: every row gets a hash of its *exact* columns
//! (everything but floating-point columns, after normalisation), both sides' row indexes are
//! sorted by (hash, floating-point columns), and a merge walk pairs rows within each hash
//! bucket — a bucket almost always holds one row per side; larger buckets are matched greedily
//! inside a window of the first floating-point column. Cost is O(n log n) for the sort and
//! O(n) for the rest; nothing is quadratic unless one bucket holds many rows that differ only
//! within the tolerance.

use std::cmp::Ordering;
use std::ops::Range;

use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::DataType;

use super::order::{NullOrder, OrderSpec, SortKey};
use super::value::{
    finish_hash, hash_cell, push_cells, resolve_array, value_type, Cell, ColumnPlan, Tol,
};
use super::verdict::{CellDiff, Diff, RowDiff, RowDiffKind, Verdict};
use super::{Comparison, Tolerance};

/// Differing rows shown in a diff.
const SHOWN_ROWS: usize = 5;
/// Unexpected rows scanned for a partner of each missing row when pairing them for display.
const PAIRING_SCAN: usize = 2_000;
/// Rows scanned for misplaced rows after the first order difference.
const MISPLACED_SCAN: usize = 1_000;
/// Longest value text shown in a diff.
const MAX_VALUE_CHARS: usize = 120;

/// Names and types of a side's columns; `None` when the side has no batches at all.
type Shape = Option<(Vec<String>, Vec<DataType>)>;

fn shape(batches: &[RecordBatch]) -> Result<Shape, String> {
    let Some(first) = batches.first() else {
        return Ok(None);
    };
    let width = first.num_columns();
    if let Some(other) = batches.iter().find(|b| b.num_columns() != width) {
        return Err(format!(
            "its batches disagree on the number of columns ({width} vs {})",
            other.num_columns()
        ));
    }
    let schema = first.schema();
    Ok(Some((
        schema.fields().iter().map(|f| f.name().clone()).collect(),
        schema
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect(),
    )))
}

/// One side's result, materialised into normalised cells (column-major).
struct Side<'a> {
    batches: &'a [RecordBatch],
    /// First row of each batch.
    starts: Vec<usize>,
    rows: usize,
    names: Vec<String>,
    cols: Vec<Vec<Cell<'a>>>,
    /// Hash of each row's exact columns.
    hashes: Vec<u64>,
}

/// Each column's arrays (dictionary-decoded), per batch.
fn resolve_columns(batches: &[RecordBatch], width: usize) -> Vec<Vec<ArrayRef>> {
    (0..width)
        .map(|c| {
            batches
                .iter()
                .filter_map(|b| b.columns().get(c))
                .map(resolve_array)
                .collect()
        })
        .collect()
}

impl<'a> Side<'a> {
    fn new(
        batches: &'a [RecordBatch],
        arrays: &'a [Vec<ArrayRef>],
        names: Vec<String>,
        plans: &[ColumnPlan],
    ) -> Self {
        let mut starts = Vec::with_capacity(batches.len());
        let mut rows = 0;
        for b in batches {
            starts.push(rows);
            rows += b.num_rows();
        }
        let cols: Vec<Vec<Cell<'a>>> = plans
            .iter()
            .enumerate()
            .map(|(c, plan)| {
                let mut cells = Vec::with_capacity(rows);
                for array in arrays.get(c).map(Vec::as_slice).unwrap_or_default() {
                    push_cells(array.as_ref(), plan.round_to, &mut cells);
                }
                cells.resize(rows, Cell::Null);
                cells
            })
            .collect();
        let mut hashes = vec![0u64; rows];
        for (cells, plan) in cols.iter().zip(plans) {
            if !plan.tolerant {
                for (h, cell) in hashes.iter_mut().zip(cells) {
                    *h = hash_cell(*h, cell);
                }
            }
        }
        for h in &mut hashes {
            *h = finish_hash(*h);
        }
        Self {
            batches,
            starts,
            rows,
            names,
            cols,
            hashes,
        }
    }

    fn cell(&self, column: usize, row: usize) -> &Cell<'a> {
        &self.cols[column][row]
    }

    fn has_null(&self, column: usize) -> bool {
        self.cols
            .get(column)
            .is_some_and(|c| c.iter().any(Cell::is_null))
    }

    /// A value as text for a diff (from the original Arrow array).
    fn display(&self, column: usize, row: usize) -> String {
        let batch = self.starts.partition_point(|&s| s <= row).saturating_sub(1);
        let Some(b) = self.batches.get(batch) else {
            return "?".into();
        };
        let local = row - self.starts[batch];
        let Some(array) = b.columns().get(column) else {
            return "?".into();
        };
        if local >= array.len() {
            return "?".into();
        }
        if array.is_null(local) {
            return "NULL".into();
        }
        let text = ArrayFormatter::try_new(array.as_ref(), &FormatOptions::default())
            .map(|f| f.value(local).to_string())
            .unwrap_or_else(|e| format!("<unformattable: {e}>"));
        let text = match value_type(array.data_type()) {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => format!("{text:?}"),
            _ => text,
        };
        if text.chars().count() > MAX_VALUE_CHARS {
            let cut: String = text.chars().take(MAX_VALUE_CHARS).collect();
            format!("{cut}…")
        } else {
            text
        }
    }
}

/// How one tie group of the order check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GroupFailure {
    /// One side has fewer groups.
    Count,
    /// The groups' sort keys differ.
    Key,
    /// Same key, different number of rows.
    Size,
    /// Same key and size; this many rows differ.
    Rows(usize),
}

struct Ctx<'s, 'a> {
    exp: &'s Side<'a>,
    act: &'s Side<'a>,
    plans: &'s [ColumnPlan],
    tol: Tol,
    tolerant_cols: Vec<usize>,
    /// Whether rows below the tolerance window may be skipped for good (the window's lower
    /// bound grows with the value when the relative tolerance is below 1/2).
    skip_below: bool,
}

impl<'a> Ctx<'_, 'a> {
    fn width(&self) -> usize {
        self.plans.len()
    }

    fn cell_eq(&self, column: usize, e: usize, a: usize) -> bool {
        self.plans[column].eq(
            &self.tol,
            self.exp.cell(column, e),
            self.act.cell(column, a),
        )
    }

    fn row_eq(&self, e: usize, a: usize) -> bool {
        (0..self.width()).all(|c| self.cell_eq(c, e, a))
    }

    fn tolerant_cmp(&self, side: &Side<'a>, x: usize, y: usize) -> Ordering {
        for &c in &self.tolerant_cols {
            let (rx, vx) = side.cell(c, x).tolerant_key();
            let (ry, vy) = side.cell(c, y).tolerant_key();
            let o = rx.cmp(&ry).then(vx.total_cmp(&vy));
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    }

    /// Sorts `rows` by (hash, tolerant columns). Sorting `(hash, row)` pairs keeps the
    /// common comparison free of indirect loads; only runs of equal hashes are then sorted
    /// by the tolerant columns.
    fn sort_rows(&self, side: &Side<'a>, rows: &mut [usize]) {
        let mut keyed: Vec<(u64, usize)> = rows.iter().map(|&r| (side.hashes[r], r)).collect();
        keyed.sort_unstable();
        for (slot, (_, r)) in rows.iter_mut().zip(&keyed) {
            *slot = *r;
        }
        if self.tolerant_cols.is_empty() {
            return;
        }
        let mut start = 0;
        while start < keyed.len() {
            let h = keyed[start].0;
            let end = start + keyed[start..].iter().take_while(|(k, _)| *k == h).count();
            if end - start > 1 {
                rows[start..end].sort_unstable_by(|&x, &y| self.tolerant_cmp(side, x, y));
            }
            start = end;
        }
    }

    /// Matches expected rows `e` with actual rows `a` as multisets; returns the unmatched
    /// rows of each side (in no particular order).
    fn match_rows(&self, e: &mut [usize], a: &mut [usize]) -> (Vec<usize>, Vec<usize>) {
        let (mut missing, mut extra) = (Vec::new(), Vec::new());
        if let ([x], [y]) = (&*e, &*a) {
            if !self.row_eq(*x, *y) {
                missing.push(*x);
                extra.push(*y);
            }
            return (missing, extra);
        }
        self.sort_rows(self.exp, e);
        self.sort_rows(self.act, a);
        let (he, ha) = (&self.exp.hashes, &self.act.hashes);
        let (mut i, mut j) = (0, 0);
        while i < e.len() || j < a.len() {
            if j == a.len() || (i < e.len() && he[e[i]] < ha[a[j]]) {
                missing.push(e[i]);
                i += 1;
            } else if i == e.len() || ha[a[j]] < he[e[i]] {
                extra.push(a[j]);
                j += 1;
            } else {
                let h = he[e[i]];
                let ie = i + e[i..].iter().take_while(|&&r| he[r] == h).count();
                let ja = j + a[j..].iter().take_while(|&&r| ha[r] == h).count();
                self.match_bucket(&e[i..ie], &a[j..ja], &mut missing, &mut extra);
                i = ie;
                j = ja;
            }
        }
        (missing, extra)
    }

    /// Greedy matching inside one hash bucket (both sides sorted by the tolerant columns).
    fn match_bucket(
        &self,
        e: &[usize],
        a: &[usize],
        missing: &mut Vec<usize>,
        extra: &mut Vec<usize>,
    ) {
        if let ([x], [y]) = (e, a) {
            if !self.row_eq(*x, *y) {
                missing.push(*x);
                extra.push(*y);
            }
            return;
        }
        let mut matched = vec![false; a.len()];
        let first = self.tolerant_cols.first().copied();
        let mut lo = 0;
        for &er in e {
            // The window of actual rows whose first tolerant value can equal this row's.
            let window = first.map(|c| {
                let (rank, v) = self.exp.cell(c, er).tolerant_key();
                let reach = if rank == 1 && v.is_finite() {
                    self.tol.reach(v, self.plans[c].slack)
                } else {
                    0.0
                };
                (c, rank, v - reach, v + reach)
            });
            let position = |k: usize| -> Ordering {
                let Some((c, rank, low, high)) = window else {
                    return Ordering::Equal;
                };
                let (r, v) = self.act.cell(c, a[k]).tolerant_key();
                match r.cmp(&rank) {
                    Ordering::Equal if rank == 1 && v < low => Ordering::Less,
                    Ordering::Equal if rank == 1 && v > high => Ordering::Greater,
                    other => other,
                }
            };
            while lo < a.len()
                && (matched[lo] || (self.skip_below && position(lo) == Ordering::Less))
            {
                lo += 1;
            }
            let mut found = None;
            for k in lo..a.len() {
                if position(k) == Ordering::Greater {
                    break;
                }
                if !matched[k] && self.row_eq(er, a[k]) {
                    found = Some(k);
                    break;
                }
            }
            match found {
                Some(k) => matched[k] = true,
                None => missing.push(er),
            }
        }
        extra.extend(
            a.iter()
                .zip(&matched)
                .filter(|(_, m)| !**m)
                .map(|(r, _)| *r),
        );
    }

    fn same_key(&self, side: &Side<'a>, keys: &[SortKey], x: usize, y: usize) -> bool {
        keys.iter().all(|k| {
            self.plans[k.column].same_side_eq(
                &self.tol,
                side.cell(k.column, x),
                side.cell(k.column, y),
            )
        })
    }

    /// Consecutive runs of rows tied on `keys` (one run of everything when there are none),
    /// with nulls of keys without `NULLS FIRST/LAST` moved to the end of their run.
    fn groups(&self, side: &Side<'a>, keys: &[SortKey]) -> Vec<Range<usize>> {
        if side.rows == 0 {
            return Vec::new();
        }
        let mut groups = Vec::new();
        let mut start = 0;
        for r in 1..side.rows {
            if !self.same_key(side, keys, r - 1, r) {
                groups.push(start..r);
                start = r;
            }
        }
        groups.push(start..side.rows);
        for (level, key) in keys.iter().enumerate() {
            if key.nulls != NullOrder::Unspecified || !side.has_null(key.column) {
                continue;
            }
            let mut run = 0;
            while run < groups.len() {
                let head = groups[run].start;
                let end = run
                    + groups[run..]
                        .iter()
                        .take_while(|g| self.same_key(side, &keys[..level], head, g.start))
                        .count();
                let (mut present, nulls): (Vec<_>, Vec<_>) = groups[run..end]
                    .iter()
                    .cloned()
                    .partition(|g| !side.cell(key.column, g.start).is_null());
                present.extend(nulls);
                groups.splice(run..end, present);
                run = end.max(run + 1);
            }
        }
        groups
    }

    fn check_group(
        &self,
        keys: &[SortKey],
        e: Option<&Range<usize>>,
        a: Option<&Range<usize>>,
    ) -> Option<GroupFailure> {
        let (Some(e), Some(a)) = (e, a) else {
            return Some(GroupFailure::Count);
        };
        if !keys
            .iter()
            .all(|k| self.cell_eq(k.column, e.start, a.start))
        {
            return Some(GroupFailure::Key);
        }
        if e.len() != a.len() {
            return Some(GroupFailure::Size);
        }
        if e.len() == 1 {
            return (!self.row_eq(e.start, a.start)).then_some(GroupFailure::Rows(1));
        }
        let mut e_rows: Vec<usize> = e.clone().collect();
        let mut a_rows: Vec<usize> = a.clone().collect();
        let (missing, _) = self.match_rows(&mut e_rows, &mut a_rows);
        (!missing.is_empty()).then_some(GroupFailure::Rows(missing.len()))
    }

    fn row_cells(&self, e: Option<usize>, a: Option<usize>) -> Vec<CellDiff> {
        (0..self.width())
            .map(|c| CellDiff {
                column: self
                    .exp
                    .names
                    .get(c)
                    .or(self.act.names.get(c))
                    .cloned()
                    .unwrap_or_default(),
                expected: e.map(|r| self.exp.display(c, r)),
                actual: a.map(|r| self.act.display(c, r)),
                differs: match (e, a) {
                    (Some(e), Some(a)) => !self.cell_eq(c, e, a),
                    _ => true,
                },
            })
            .collect()
    }

    fn key_text(&self, keys: &[SortKey], row: usize) -> String {
        keys.iter()
            .map(|k| {
                format!(
                    "{} = {}",
                    self.exp.names.get(k.column).map_or("?", String::as_str),
                    self.exp.display(k.column, row)
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The diff of a wrong result whose order check failed at group `at`.
    fn wrong(&self, keys: &[SortKey], at: usize, ge: &[Range<usize>], notes: &[String]) -> Diff {
        let mut all_e: Vec<usize> = (0..self.exp.rows).collect();
        let mut all_a: Vec<usize> = (0..self.act.rows).collect();
        let (mut missing, mut extra) = self.match_rows(&mut all_e, &mut all_a);
        missing.sort_unstable();
        extra.sort_unstable();
        let mut diff = Diff {
            summary: String::new(),
            expected_rows: self.exp.rows,
            actual_rows: self.act.rows,
            missing: missing.len(),
            extra: extra.len(),
            rows: Vec::new(),
            rows_not_shown: 0,
            notes: notes.to_vec(),
        };
        if missing.is_empty() && extra.is_empty() {
            let start = ge.get(at).map_or(self.exp.rows, |g| g.start);
            let names: Vec<&str> = keys
                .iter()
                .map(|k| self.exp.names.get(k.column).map_or("?", String::as_str))
                .collect();
            diff.summary = format!(
                "same rows in a different order: from row {} on, the order differs from the \
                 expected ORDER BY {}",
                start + 1,
                names.join(", ")
            );
            let end = self.exp.rows.min(start.saturating_add(MISPLACED_SCAN));
            for r in start..end {
                if diff.rows.len() == SHOWN_ROWS {
                    break;
                }
                if !self.row_eq(r, r) {
                    diff.rows.push(RowDiff {
                        kind: RowDiffKind::Misplaced,
                        expected_index: Some(r),
                        actual_index: Some(r),
                        cells: self.row_cells(Some(r), Some(r)),
                    });
                }
            }
            return diff;
        }
        diff.summary = match (missing.len(), extra.len()) {
            (m, 0) => format!("{m} expected rows are missing"),
            (0, x) => format!("{x} unexpected rows"),
            (m, x) => format!("{m} expected rows are missing and {x} unexpected rows are present"),
        };
        // Pair missing rows with the most similar unexpected rows, for a column-by-column view.
        let mut used = vec![false; extra.len()];
        let mut pairs = Vec::new();
        let mut lone_missing = Vec::new();
        for &e in missing.iter().take(SHOWN_ROWS) {
            let mut best: Option<(usize, usize)> = None;
            for (j, &a) in extra.iter().enumerate().take(PAIRING_SCAN) {
                if used[j] {
                    continue;
                }
                let score = (0..self.width()).filter(|&c| self.cell_eq(c, e, a)).count();
                if best.is_none_or(|(s, _)| score > s) {
                    best = Some((score, j));
                }
            }
            match best {
                Some((score, j)) if score > 0 || self.width() == 1 => {
                    used[j] = true;
                    pairs.push((e, extra[j]));
                }
                _ => lone_missing.push(e),
            }
        }
        for &(e, a) in &pairs {
            diff.rows.push(RowDiff {
                kind: RowDiffKind::Changed,
                expected_index: Some(e),
                actual_index: Some(a),
                cells: self.row_cells(Some(e), Some(a)),
            });
        }
        for &e in &lone_missing {
            if diff.rows.len() < SHOWN_ROWS {
                diff.rows.push(RowDiff {
                    kind: RowDiffKind::Missing,
                    expected_index: Some(e),
                    actual_index: None,
                    cells: self.row_cells(Some(e), None),
                });
            }
        }
        for (j, &a) in extra.iter().enumerate() {
            if diff.rows.len() >= SHOWN_ROWS {
                break;
            }
            if !used[j] {
                used[j] = true;
                diff.rows.push(RowDiff {
                    kind: RowDiffKind::Extra,
                    expected_index: None,
                    actual_index: Some(a),
                    cells: self.row_cells(None, Some(a)),
                });
            }
        }
        let shown: usize = diff
            .rows
            .iter()
            .map(|r| {
                usize::from(r.expected_index.is_some()) + usize::from(r.actual_index.is_some())
            })
            .sum();
        diff.rows_not_shown = (missing.len() + extra.len()).saturating_sub(shown);
        diff
    }
}

fn normalise_name(name: &str) -> String {
    let t = name.trim();
    let t = ['"', '`']
        .iter()
        .find_map(|q| t.strip_prefix(*q).and_then(|s| s.strip_suffix(*q)))
        .unwrap_or(t);
    t.to_lowercase()
}

fn name_notes(expected: &[String], actual: &[String]) -> Vec<String> {
    expected
        .iter()
        .zip(actual)
        .enumerate()
        .filter(|(_, (e, a))| normalise_name(e) != normalise_name(a))
        .map(|(i, (e, a))| {
            format!(
                "column {} is named `{e}` in the expected result and `{a}` in the actual one \
                 (columns are compared by position)",
                i + 1
            )
        })
        .collect()
}

/// See [`super::compare_detailed`].
pub(crate) fn run(
    expected: &[RecordBatch],
    actual: &[RecordBatch],
    order: &OrderSpec,
    tolerance: &Tolerance,
) -> Comparison {
    let undetermined = |reason: String| Comparison {
        verdict: Verdict::Undetermined { reason },
        notes: Vec::new(),
    };
    let exp_shape = match shape(expected) {
        Ok(s) => s,
        Err(e) => return undetermined(format!("the expected result is malformed: {e}")),
    };
    let act_shape = match shape(actual) {
        Ok(s) => s,
        Err(e) => return undetermined(format!("the actual result is malformed: {e}")),
    };
    let rows = |b: &[RecordBatch]| b.iter().map(RecordBatch::num_rows).sum::<usize>();
    let (exp_names, exp_types) = exp_shape.unwrap_or_default();
    let (act_names, act_types) = act_shape.unwrap_or_default();
    let width = exp_types.len().max(act_types.len());
    let both_have_schema = !expected.is_empty() && !actual.is_empty();
    if both_have_schema && exp_types.len() != act_types.len() {
        return Comparison {
            verdict: Verdict::Wrong {
                diff: Diff {
                    summary: format!(
                        "different number of columns: expected {} ({}), actual {} ({})",
                        exp_types.len(),
                        exp_names.join(", "),
                        act_types.len(),
                        act_names.join(", ")
                    ),
                    expected_rows: rows(expected),
                    actual_rows: rows(actual),
                    missing: 0,
                    extra: 0,
                    rows: Vec::new(),
                    rows_not_shown: 0,
                    notes: Vec::new(),
                },
            },
            notes: Vec::new(),
        };
    }
    let mut notes = name_notes(&exp_names, &act_names);
    let plans: Vec<ColumnPlan> = (0..width)
        .map(|c| ColumnPlan::new(exp_types.get(c), act_types.get(c)))
        .collect();
    let exp_arrays = resolve_columns(expected, width);
    let act_arrays = resolve_columns(actual, width);
    let exp = Side::new(expected, &exp_arrays, exp_names, &plans);
    let act = Side::new(actual, &act_arrays, act_names, &plans);
    let tol = Tol::new(tolerance);
    let ctx = Ctx {
        exp: &exp,
        act: &act,
        plans: &plans,
        tol,
        tolerant_cols: (0..width).filter(|&c| plans[c].tolerant).collect(),
        skip_below: tol.relative < 0.5,
    };

    let keys: Vec<SortKey> = if order.ordered {
        order
            .keys
            .iter()
            .copied()
            .take_while(|k| k.column < width)
            .collect()
    } else {
        Vec::new()
    };
    if order.ordered && keys.len() < order.keys.len() + usize::from(order.unresolved.is_some()) {
        let known: Vec<&str> = keys
            .iter()
            .map(|k| exp.names.get(k.column).map_or("?", String::as_str))
            .collect();
        notes.push(format!(
            "the ORDER BY is known only by its first {} item(s) ({}); rows tied on them were \
             compared as a multiset",
            keys.len(),
            known.join(", ")
        ));
    }
    let limit = order
        .limit
        .filter(|&n| exp.rows as u64 == n && act.rows as u64 == n);
    let offset = order.offset.is_some_and(|o| o > 0);

    let ge = ctx.groups(&exp, &keys);
    let ga = ctx.groups(&act, &keys);
    let mut tolerated = Vec::new();
    let mut fatal = None;
    for i in 0..ge.len().max(ga.len()) {
        let Some(failure) = ctx.check_group(&keys, ge.get(i), ga.get(i)) else {
            continue;
        };
        let last = i + 1 == ge.len() && ge.len() == ga.len();
        match failure {
            GroupFailure::Rows(n) if (limit.is_some() && last) || (offset && i == 0) => {
                tolerated.push((i, n));
            }
            _ => {
                fatal = Some(i);
                break;
            }
        }
    }

    let verdict = match fatal {
        None if tolerated.is_empty() => Verdict::Correct,
        None => Verdict::Undetermined {
            reason: tied_reason(&ctx, order, &keys, &ge, &tolerated, limit),
        },
        Some(at) => {
            let null_key = keys.iter().find(|k| {
                k.nulls == NullOrder::Unspecified
                    && (exp.has_null(k.column) || act.has_null(k.column))
            });
            match (limit, null_key) {
                (Some(n), Some(k)) => Verdict::Undetermined {
                    reason: format!(
                        "LIMIT {n} with ORDER BY key `{}` holding NULLs and no NULLS FIRST/LAST: \
                         the engines place nulls differently, so which rows are returned is \
                         undetermined",
                        exp.names.get(k.column).map_or("?", String::as_str)
                    ),
                },
                _ => Verdict::Wrong {
                    diff: ctx.wrong(&keys, at, &ge, &notes),
                },
            }
        }
    };
    Comparison { verdict, notes }
}

/// Why a result whose only differences are in tie groups cut by LIMIT/OFFSET is undetermined.
fn tied_reason(
    ctx: &Ctx<'_, '_>,
    order: &OrderSpec,
    keys: &[SortKey],
    ge: &[Range<usize>],
    tolerated: &[(usize, usize)],
    limit: Option<u64>,
) -> String {
    let differing: usize = tolerated.iter().map(|(_, n)| n).sum();
    let cut = match (limit, order.offset) {
        (Some(n), Some(o)) if o > 0 => format!("LIMIT {n} OFFSET {o}"),
        (Some(n), _) => format!("LIMIT {n}"),
        (None, Some(o)) => format!("OFFSET {o}"),
        (None, None) => "the row limit".to_string(),
    };
    if keys.is_empty() {
        let why = if order.ordered {
            format!(
                "the ORDER BY cannot be related to output columns (`{}`)",
                order.unresolved.as_deref().unwrap_or("?")
            )
        } else {
            "there is no ORDER BY".to_string()
        };
        return format!(
            "{cut} and {why}: which rows are returned is not determined by the query \
             ({differing} rows differ)"
        );
    }
    let group = tolerated.first().and_then(|(i, _)| ge.get(*i));
    let size = group.map_or(0, Range::len);
    let key = group.map_or_else(String::new, |g| ctx.key_text(keys, g.start));
    let partial = if order.is_complete() && keys.len() == order.keys.len() {
        String::new()
    } else {
        " (only these ORDER BY items are known)".to_string()
    };
    format!(
        "{cut} cuts through rows tied on the ORDER BY key ({key}){partial}: which of the tied \
         rows are returned is undetermined ({differing} of {size} tied rows differ; all other \
         rows match)"
    )
}
