//! The result oracle: is a query's result the right answer? (pure: no I/O, no clock, no
//! randomness; never panics on any input).
//!
//! [`compare`] judges an actual result (Spark's Arrow batches) against the expected one
//! (DuckDB's answer on the same Parquet files) and returns a [`Verdict`]: `correct`, `wrong`
//! with a readable [`Diff`], or `undetermined` with a reason.
//!
//! # What counts as the same answer
//!
//! Columns are compared **by position**; their number must match, their names need not
//! (a differing name is reported as a note, see [`compare_detailed`]). Values are compared by
//! meaning, with what legitimately differs between engines normalised away:
//!
//! | difference | rule |
//! |---|---|
//! | integer widths, decimal vs integer | exact numeric value (`INT 2` = `BIGINT 2` = `DECIMAL 2.00`) |
//! | decimal scale | exact value (`1.50` = `1.5000`); two decimals of different positive scales are both rounded half away from zero to the coarser scale first |
//! | float vs float, float vs decimal or integer | equal within [`Tolerance`]: the difference is at most `absolute`, or at most `relative` times the larger magnitude; against a decimal also within half a unit of its last place (DuckDB's `avg` over decimals is `DOUBLE`, Spark's is `DECIMAL(p+4,s+4)`, already rounded) |
//! | NaN, −0.0, ±∞ | NaN = NaN, −0.0 = 0.0, ∞ = ∞ of the same sign |
//! | NULL | equals NULL only |
//! | `Utf8` / `LargeUtf8` / `Utf8View`, binary kinds, dictionaries | by value |
//! | date / timestamp | by instant: unit (s/ms/µs/ns) and zone annotation ignored; a date equals the timestamp of its midnight |
//! | anything else (lists, structs, maps) | by the canonical encoding of [`crate::client::checksum`] |
//!
//! # Row order
//!
//! The order the query demands comes from [`OrderSpec`] (usually
//! [`OrderSpec::from_sql`]). Rows are cut into runs *tied* on the known sort keys (one run
//! of everything when there are none); the runs of both results must correspond one to one,
//! in order, with equal keys, and each run must hold the same rows **as a multiset** (ties
//! have no order). So: no `ORDER BY` → multiset comparison; full `ORDER BY` → rows with
//! distinct keys must be in the same order; partially known `ORDER BY` → the known prefix is
//! checked the same way. Nulls of a key without `NULLS FIRST/LAST` may sit at either end of
//! their run, since Spark and DuckDB default differently.
//!
//! With `LIMIT n` and both results exactly `n` rows long, the last run is cut by the limit:
//! which of its tied rows made it is not determined by the query, so differing rows there
//! give `undetermined`, never `wrong`, provided every earlier run matches. The same holds for
//! the first run under `OFFSET`, and for the whole result of a `LIMIT` without a usable
//! `ORDER BY`. A limited result whose keys hold nulls without an explicit null order is also
//! `undetermined` when it differs (the engines cut at different rows).
//!
//! # Speed
//!
//! Rows are hashed on their exact columns and matched by a sort and merge walk, so comparing
//! results of 100k rows takes milliseconds (see `benches/hot_paths.rs`).
//!
//! # Layout
//!
//! - [`order`]: [`OrderSpec`] and the `ORDER BY` / `LIMIT` analysis of the query text.
//! - `value`: normalised cells, per-column comparison plans, row hashing.
//! - `compare`: grouping, multiset matching, the verdict and the diff.
//! - [`verdict`]: [`Verdict`], [`Diff`] and its rendering.

mod compare;
pub mod order;
mod value;
pub mod verdict;

#[cfg(test)]
mod tests;

use arrow_array::RecordBatch;
use serde::{Deserialize, Serialize};

pub use order::{NullOrder, OrderSpec, SortKey};
pub use verdict::{CellDiff, Diff, RowDiff, RowDiffKind, Verdict};

/// How far floating-point values may differ and still be equal.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Tolerance {
    /// Largest relative difference, against the larger magnitude (default `1e-6`).
    pub relative: f64,
    /// Largest absolute difference, for values near zero (default `1e-9`).
    pub absolute: f64,
}

impl Default for Tolerance {
    fn default() -> Self {
        Self {
            relative: 1e-6,
            absolute: 1e-9,
        }
    }
}

impl Tolerance {
    /// No tolerance: floats must be equal (NaN, −0.0 and decimal rounding rules still apply).
    /// Negative or non-finite bounds are treated as zero.
    pub fn exact() -> Self {
        Self {
            relative: 0.0,
            absolute: 0.0,
        }
    }
}

/// A verdict together with information that did not affect it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Comparison {
    /// The verdict.
    pub verdict: Verdict,
    /// Notes (column names that differ, an `ORDER BY` known only in part).
    pub notes: Vec<String>,
}

/// Judges `actual` against `expected` under the row order `order` demands (see the module
/// docs for the rules).
pub fn compare(
    expected: &[RecordBatch],
    actual: &[RecordBatch],
    order: &OrderSpec,
    tol: &Tolerance,
) -> Verdict {
    compare_detailed(expected, actual, order, tol).verdict
}

/// [`compare`], also returning notes that are not differences.
pub fn compare_detailed(
    expected: &[RecordBatch],
    actual: &[RecordBatch],
    order: &OrderSpec,
    tol: &Tolerance,
) -> Comparison {
    compare::run(expected, actual, order, tol)
}
