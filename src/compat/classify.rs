//! Comparing what two versions did with one statement, and classifying the difference (pure:
//! no I/O, never panics on any input).

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::{Array, RecordBatch};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::SchemaRef;
use serde::{Deserialize, Serialize};

use crate::client::checksum::{checksum_batches, ResultChecksum};
use crate::client::{ExecutionInfo, Outcome, QueryResult};
use crate::oracle::{self, OrderSpec, Tolerance, Verdict};

/// Longest error message kept.
const MESSAGE_CHARS: usize = 400;
/// Result rows kept as text for the report.
const SAMPLE_ROWS: usize = 5;

/// What one version did with one statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Observed {
    /// `ok`, `fail` or `info` (see [`crate::client::Outcome`]).
    pub outcome: String,
    /// Spark's error class of a failure, when the server gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_class: Option<String>,
    /// The SQLSTATE of a failure, when the server gave one (3.5.7 never does).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sql_state: Option<String>,
    /// The start of the error message (or why the outcome is unknown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Result column names.
    pub columns: Vec<String>,
    /// Result column types (Arrow's names).
    pub types: Vec<String>,
    /// Result rows, when the statement succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<usize>,
    /// Result checksum, when the statement succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checksum: Option<ResultChecksum>,
    /// The first rows as text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sample: Vec<Vec<String>>,
    /// Wall time of the whole statement group (session, setup, statement), in milliseconds.
    pub millis: u64,
    /// The result batches (kept only while comparing).
    #[serde(skip)]
    pub batches: Vec<RecordBatch>,
}

impl Observed {
    /// A statement that did not succeed. `context` prefixes the message (e.g. which setup
    /// statement failed).
    pub fn from_outcome(outcome: &Outcome, context: Option<&str>, millis: u64) -> Self {
        let prefix = |m: &str| match context {
            Some(c) => clip(&format!("{c}: {m}")),
            None => clip(m),
        };
        let (kind, error_class, sql_state, message) = match outcome {
            Outcome::Ok => ("ok", None, None, context.map(clip)),
            Outcome::Fail {
                error_class,
                sql_state,
                message,
            } => (
                "fail",
                error_class.clone(),
                sql_state.clone(),
                Some(prefix(message)),
            ),
            Outcome::Info { reason } => ("info", None, None, Some(prefix(reason))),
        };
        Self {
            outcome: kind.into(),
            error_class,
            sql_state,
            message,
            columns: Vec::new(),
            types: Vec::new(),
            rows: None,
            checksum: None,
            sample: Vec::new(),
            millis,
            batches: Vec::new(),
        }
    }

    /// A statement that succeeded with this result.
    pub fn from_batches(schema: SchemaRef, batches: Vec<RecordBatch>, millis: u64) -> Self {
        let rows = batches.iter().map(RecordBatch::num_rows).sum();
        let checksum = checksum_batches(&batches, Default::default());
        let result = QueryResult {
            schema: schema.clone(),
            batches,
            info: ExecutionInfo {
                operation_id: String::new(),
                reattaches: 0,
                server_side_session_id: String::new(),
            },
        };
        let sample = result
            .rows_as_strings()
            .map(|rows| {
                rows.into_iter()
                    .take(SAMPLE_ROWS)
                    .map(|r| r.into_iter().map(|c| clip(&c)).collect())
                    .collect()
            })
            .unwrap_or_default();
        Self {
            outcome: "ok".into(),
            error_class: None,
            sql_state: None,
            message: None,
            columns: schema.fields().iter().map(|f| f.name().clone()).collect(),
            types: schema
                .fields()
                .iter()
                .map(|f| f.data_type().to_string())
                .collect(),
            rows: Some(rows),
            checksum: Some(checksum),
            sample,
            millis,
            batches: result.batches,
        }
    }

    /// One line for people: `ok (3 rows)`, `fail [DIVIDE_BY_ZERO]`, `info: …`.
    pub fn brief(&self) -> String {
        match self.outcome.as_str() {
            "ok" => match self.rows {
                Some(1) if self.sample.len() == 1 => format!("ok: {}", self.sample[0].join(" | ")),
                Some(n) => format!("ok ({n} rows)"),
                None => "ok".into(),
            },
            "fail" => match (&self.error_class, &self.sql_state) {
                (Some(c), Some(s)) => format!("fail [{c}] ({s})"),
                (Some(c), None) => format!("fail [{c}]"),
                (None, _) => format!(
                    "fail (no error class): {}",
                    self.message
                        .as_deref()
                        .unwrap_or("")
                        .chars()
                        .take(80)
                        .collect::<String>()
                ),
            },
            _ => format!("info: {}", self.message.as_deref().unwrap_or("")),
        }
    }
}

fn clip(s: &str) -> String {
    let s = s.trim();
    if s.chars().count() <= MESSAGE_CHARS {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(MESSAGE_CHARS).collect();
        out.push('…');
        out
    }
}

/// Keeps the rows whose first column's text (trimmed) is one of `keep` (all rows when `keep`
/// is empty). Used to compare only the meaningful lines of `DESCRIBE` output.
pub fn filter_rows(batches: Vec<RecordBatch>, keep: &[String]) -> Vec<RecordBatch> {
    if keep.is_empty() {
        return batches;
    }
    let options = FormatOptions::default().with_null("NULL");
    let mut out = Vec::new();
    for batch in batches {
        if batch.num_columns() == 0 {
            continue;
        }
        let column = batch.column(0);
        let Ok(formatter) = ArrayFormatter::try_new(column.as_ref(), &options) else {
            continue;
        };
        for row in 0..batch.num_rows() {
            let text = if column.is_null(row) {
                String::new()
            } else {
                formatter.value(row).to_string()
            };
            if keep.iter().any(|k| k.trim() == text.trim()) {
                out.push(batch.slice(row, 1));
            }
        }
    }
    out
}

/// How the target version's behaviour differs from the baseline's for one statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Difference {
    /// One succeeded and the other failed.
    Outcome {
        /// The baseline's outcome, briefly.
        baseline: String,
        /// The target's outcome, briefly.
        target: String,
    },
    /// Both failed, with different error classes.
    ErrorClass {
        /// The baseline's error class.
        baseline: Option<String>,
        /// The target's error class.
        target: Option<String>,
    },
    /// Both failed with the same error class but different SQLSTATEs (both given).
    SqlState {
        /// The baseline's SQLSTATE.
        baseline: String,
        /// The target's SQLSTATE.
        target: String,
    },
    /// Both succeeded with different results (the oracle's verdict `wrong`).
    Result {
        /// The oracle's one-line summary.
        summary: String,
        /// The oracle's rendered diff.
        detail: String,
    },
    /// Whether the behaviour differs is unknown: an outcome was `info`, or the oracle could
    /// not decide (e.g. which tied rows a LIMIT keeps).
    Unknown {
        /// Why.
        reason: String,
    },
}

impl Difference {
    /// Whether this is [`Difference::Unknown`].
    pub fn is_unknown(&self) -> bool {
        matches!(self, Difference::Unknown { .. })
    }

    /// One line for people.
    pub fn describe(&self) -> String {
        let class = |c: &Option<String>| c.clone().unwrap_or_else(|| "no error class".into());
        match self {
            Difference::Outcome { baseline, target } => {
                format!("outcome: {baseline} → {target}")
            }
            Difference::ErrorClass { baseline, target } => {
                format!("error class: {} → {}", class(baseline), class(target))
            }
            Difference::SqlState { baseline, target } => {
                format!("SQLSTATE: {baseline} → {target}")
            }
            Difference::Result { summary, .. } => format!("result: {summary}"),
            Difference::Unknown { reason } => format!("unknown: {reason}"),
        }
    }
}

/// Compares the target's behaviour with the baseline's (the expected one) for statement `sql`:
/// `None` when they agree. Results are judged by the oracle under the order `sql` demands.
pub fn compare(baseline: &Observed, target: &Observed, sql: &str) -> Option<Difference> {
    match (baseline.outcome.as_str(), target.outcome.as_str()) {
        ("info", _) | (_, "info") => {
            let side = if baseline.outcome == "info" {
                ("baseline", baseline)
            } else {
                ("target", target)
            };
            Some(Difference::Unknown {
                reason: format!(
                    "the {} outcome is unknown: {}",
                    side.0,
                    side.1.message.as_deref().unwrap_or("")
                ),
            })
        }
        ("ok", "ok") => {
            let columns: Vec<&str> = baseline.columns.iter().map(String::as_str).collect();
            let order = OrderSpec::from_sql(sql, &columns);
            let expected = with_schema(baseline);
            let actual = with_schema(target);
            match oracle::compare(&expected, &actual, &order, &Tolerance::default()) {
                Verdict::Correct => None,
                Verdict::Wrong { diff } => Some(Difference::Result {
                    summary: diff.summary.clone(),
                    detail: diff.render(),
                }),
                Verdict::Undetermined { reason } => Some(Difference::Unknown {
                    reason: format!("the oracle cannot decide: {reason}"),
                }),
            }
        }
        ("fail", "fail") => {
            if baseline.error_class != target.error_class {
                Some(Difference::ErrorClass {
                    baseline: baseline.error_class.clone(),
                    target: target.error_class.clone(),
                })
            } else {
                match (&baseline.sql_state, &target.sql_state) {
                    (Some(a), Some(b)) if a != b => Some(Difference::SqlState {
                        baseline: a.clone(),
                        target: b.clone(),
                    }),
                    _ => None,
                }
            }
        }
        _ => Some(Difference::Outcome {
            baseline: baseline.brief(),
            target: target.brief(),
        }),
    }
}

/// The batches of an observation; an empty result keeps its columns as an empty batch so that
/// the oracle still compares column counts.
fn with_schema(o: &Observed) -> Vec<RecordBatch> {
    if !o.batches.is_empty() || o.columns.is_empty() {
        return o.batches.clone();
    }
    let fields: Vec<arrow_schema::Field> = o
        .columns
        .iter()
        .map(|c| arrow_schema::Field::new(c, arrow_schema::DataType::Utf8, true))
        .collect();
    let schema = Arc::new(arrow_schema::Schema::new(fields));
    vec![RecordBatch::new_empty(schema)]
}

/// Notes about differences that do not count as behaviour differences: column names and types.
pub fn schema_notes(baseline: &Observed, target: &Observed) -> Vec<String> {
    let mut notes = Vec::new();
    if baseline.outcome != "ok" || target.outcome != "ok" {
        return notes;
    }
    if baseline.columns != target.columns && baseline.columns.len() == target.columns.len() {
        notes.push(format!(
            "column names differ: {} → {}",
            baseline.columns.join(", "),
            target.columns.join(", ")
        ));
    }
    let differing: Vec<String> = baseline
        .types
        .iter()
        .zip(&target.types)
        .enumerate()
        .filter(|(_, (a, b))| a != b)
        .map(|(i, (a, b))| {
            let name = baseline.columns.get(i).map_or("?", String::as_str);
            format!("{name}: {a} → {b}")
        })
        .collect();
    if !differing.is_empty() {
        notes.push(format!("column types differ: {}", differing.join("; ")));
    }
    notes
}

/// A re-run of a differing statement on the target version under a rule's legacy settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Confirmation {
    /// The rule ids whose settings were applied together.
    pub rules: Vec<String>,
    /// The settings applied.
    pub settings: BTreeMap<String, String>,
    /// What the target version did under them.
    pub observed: Observed,
    /// How that still differs from the baseline (`None`: the difference vanished).
    pub difference: Option<Difference>,
}

impl Confirmation {
    /// Whether the difference vanished under the settings (a known, definite agreement).
    pub fn vanished(&self) -> bool {
        self.difference.is_none()
    }
}

/// How a statement is classified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "class", rename_all = "snake_case")]
pub enum Class {
    /// Same outcome and equal results.
    Identical,
    /// Different, and a re-run under these rules' legacy settings made the difference vanish.
    Expected {
        /// The rules (one, or a rule combined with a general one such as ANSI).
        rules: Vec<String>,
    },
    /// Different, and no rule made the difference vanish.
    Unexplained,
    /// Whether it differs is unknown.
    Undetermined {
        /// Why.
        reason: String,
    },
}

impl Class {
    /// `identical`, `expected`, `unexplained` or `undetermined`.
    pub fn kind(&self) -> &'static str {
        match self {
            Class::Identical => "identical",
            Class::Expected { .. } => "expected",
            Class::Unexplained => "unexplained",
            Class::Undetermined { .. } => "undetermined",
        }
    }

    /// `expected (rule a + b)` and the other kinds as they are.
    pub fn label(&self) -> String {
        match self {
            Class::Expected { rules } => format!("expected (rule {})", rules.join(" + ")),
            other => other.kind().to_string(),
        }
    }
}

/// Classifies a statement from its difference and the confirmations tried (in order): the
/// first confirmation under which the difference vanished names the rules. A rule is never
/// assumed: without a vanishing re-run a definite difference is `unexplained`.
pub fn classify(difference: Option<&Difference>, confirmations: &[Confirmation]) -> Class {
    match difference {
        None => Class::Identical,
        Some(Difference::Unknown { reason }) => Class::Undetermined {
            reason: reason.clone(),
        },
        Some(_) => match confirmations.iter().find(|c| c.vanished()) {
            Some(c) => Class::Expected {
                rules: c.rules.clone(),
            },
            None => Class::Unexplained,
        },
    }
}
