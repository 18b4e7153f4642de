//! What the oracle says about a result: [`Verdict`] and the readable [`Diff`] (pure).

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// The oracle's judgement of one result against the expected answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Verdict {
    /// The result is a correct answer.
    Correct,
    /// The result is a wrong answer; the diff says where.
    Wrong {
        /// What differs.
        diff: Diff,
    },
    /// The result can be neither confirmed nor refuted (e.g. which tied rows survive a
    /// `LIMIT` is not determined by the query).
    Undetermined {
        /// Why, in a sentence.
        reason: String,
    },
}

impl Verdict {
    /// `correct`, `wrong` or `undetermined` (the serialised tag).
    pub fn kind(&self) -> &'static str {
        match self {
            Verdict::Correct => "correct",
            Verdict::Wrong { .. } => "wrong",
            Verdict::Undetermined { .. } => "undetermined",
        }
    }

    /// Whether this is [`Verdict::Correct`].
    pub fn is_correct(&self) -> bool {
        matches!(self, Verdict::Correct)
    }

    /// Whether this is [`Verdict::Wrong`].
    pub fn is_wrong(&self) -> bool {
        matches!(self, Verdict::Wrong { .. })
    }

    /// The diff of a wrong answer.
    pub fn diff(&self) -> Option<&Diff> {
        match self {
            Verdict::Wrong { diff } => Some(diff),
            _ => None,
        }
    }
}

/// How a wrong result differs from the expected one.
///
/// Row indexes are 0-based positions in the result as received (across batches);
/// [`Diff::render`] shows them 1-based.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Diff {
    /// One line saying what is wrong.
    pub summary: String,
    /// Rows in the expected result.
    pub expected_rows: usize,
    /// Rows in the actual result.
    pub actual_rows: usize,
    /// Expected rows with no equal row in the actual result.
    pub missing: usize,
    /// Actual rows with no equal row in the expected result.
    pub extra: usize,
    /// The first few differing rows, column by column.
    pub rows: Vec<RowDiff>,
    /// Differing rows not shown in [`Diff::rows`].
    pub rows_not_shown: usize,
    /// Things worth knowing that are not differences (e.g. column names that differ).
    pub notes: Vec<String>,
}

/// What kind of row difference a [`RowDiff`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowDiffKind {
    /// An expected row is missing and a similar unexpected row is present (paired by the most
    /// equal cells).
    Changed,
    /// An expected row is missing.
    Missing,
    /// An unexpected row is present.
    Extra,
    /// Both results hold the same rows, but at this position the order differs.
    Misplaced,
}

/// One differing row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowDiff {
    /// What kind of difference.
    pub kind: RowDiffKind,
    /// Position of the row in the expected result.
    pub expected_index: Option<usize>,
    /// Position of the row in the actual result.
    pub actual_index: Option<usize>,
    /// Every column of the row.
    pub cells: Vec<CellDiff>,
}

/// One column of a differing row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CellDiff {
    /// Column name (the expected result's).
    pub column: String,
    /// The expected value as text (`None` for an extra row).
    pub expected: Option<String>,
    /// The actual value as text (`None` for a missing row).
    pub actual: Option<String>,
    /// Whether the two values differ (under the comparison's normalisation and tolerance).
    pub differs: bool,
}

impl Diff {
    /// The diff as text for people: the summary, then each row column by column, differing
    /// cells marked `!`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{}", self.summary);
        let _ = writeln!(
            out,
            "expected {} rows, actual {} rows; {} missing, {} extra",
            self.expected_rows, self.actual_rows, self.missing, self.extra
        );
        for row in &self.rows {
            let position =
                |label: &str, index: Option<usize>| index.map(|i| format!("{label} row {}", i + 1));
            let at: Vec<String> = [
                position("expected", row.expected_index),
                position("actual", row.actual_index),
            ]
            .into_iter()
            .flatten()
            .collect();
            let kind = match row.kind {
                RowDiffKind::Changed => "changed",
                RowDiffKind::Missing => "missing",
                RowDiffKind::Extra => "extra",
                RowDiffKind::Misplaced => "misplaced",
            };
            let _ = writeln!(out, "{kind} ({}):", at.join(", "));
            let width = row
                .cells
                .iter()
                .map(|c| c.column.chars().count())
                .max()
                .unwrap_or(0);
            for cell in &row.cells {
                let mark = if cell.differs { '!' } else { ' ' };
                let value = match (&cell.expected, &cell.actual) {
                    (Some(e), Some(a)) if cell.differs => format!("expected {e} | actual {a}"),
                    (Some(e), _) => e.clone(),
                    (None, Some(a)) => a.clone(),
                    (None, None) => String::new(),
                };
                let _ = writeln!(out, "  {mark} {:<width$}  {value}", cell.column);
            }
        }
        if self.rows_not_shown > 0 {
            let _ = writeln!(
                out,
                "({} more differing rows not shown)",
                self.rows_not_shown
            );
        }
        for note in &self.notes {
            let _ = writeln!(out, "note: {note}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_serde_shape() {
        assert_eq!(Verdict::Correct.kind(), "correct");
        let u = Verdict::Undetermined { reason: "r".into() };
        assert_eq!(u.kind(), "undetermined");
        assert_eq!(
            serde_json::to_string(&u).expect("serialises"),
            r#"{"kind":"undetermined","reason":"r"}"#
        );
        assert_eq!(
            serde_json::to_string(&Verdict::Correct).expect("serialises"),
            r#"{"kind":"correct"}"#
        );
        let w = Verdict::Wrong {
            diff: Diff {
                summary: "s".into(),
                expected_rows: 1,
                actual_rows: 1,
                missing: 1,
                extra: 1,
                rows: vec![],
                rows_not_shown: 0,
                notes: vec![],
            },
        };
        assert_eq!(w.kind(), "wrong");
        let json = serde_json::to_string(&w).expect("serialises");
        assert!(json.starts_with(r#"{"kind":"wrong","diff":{"#), "{json}");
        let back: Verdict = serde_json::from_str(&json).expect("deserialises");
        assert_eq!(back, w);
    }
}
