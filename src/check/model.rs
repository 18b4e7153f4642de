//! The data every checker produces and every report consumes (pure, serde).

use serde::{Deserialize, Serialize};

/// A check's verdict. Merging keeps the strongest: `Invalid` > `Unknown` > `Valid`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The check held.
    Valid,
    /// The check could not decide (too little data, the checker failed, the run was interrupted).
    Unknown,
    /// The check was violated.
    Invalid,
}

impl Verdict {
    /// The stronger of two verdicts.
    pub fn merge(self, other: Verdict) -> Verdict {
        self.max(other)
    }

    /// Merges many verdicts; no verdict at all is `Unknown` (never `Valid` by default).
    pub fn merge_all(verdicts: impl IntoIterator<Item = Verdict>) -> Verdict {
        verdicts
            .into_iter()
            .reduce(Verdict::merge)
            .unwrap_or(Verdict::Unknown)
    }

    /// `valid`, `unknown` or `invalid`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::Unknown => "unknown",
            Verdict::Invalid => "invalid",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of one check for one Spark version (or for the whole run when `version` is None).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CheckResult {
    /// The check's name as written in the scenario's `[checks]` table, e.g. `availability_before`.
    pub check: String,
    /// The Spark version (`3.5.7`), or None for a run-wide check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The verdict.
    pub verdict: Verdict,
    /// The threshold as the scenario states it (`>= 1.0`, `<= 60s`, `= 0`).
    pub expected: String,
    /// What was observed, for people (`0.97 (97/100 ok)`, `12.4s`, `2 wrong`).
    pub observed: String,
    /// One sentence saying why this verdict (shown in reports next to invalid/unknown verdicts).
    pub reason: String,
    /// Machine-readable details (per-window counts, per-fault recovery times, diffs, ids).
    #[serde(default)]
    pub details: serde_json::Value,
}

/// The `[checks]` table of a scenario: each field present is one check, run per Spark version.
/// Absent fields are not checked. Availability is the fraction of operations (queries and
/// writes, warm-up excluded) whose outcome is `ok` in a window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Minimum availability from the end of warm-up to the first fault (the baseline window).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_before: Option<f64>,
    /// Minimum availability while any fault affecting the version is active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_during: Option<f64>,
    /// Minimum availability after the last heal plus `recovery_within` (or after the last heal
    /// when no recovery bound is given) to the end of the workload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_after: Option<f64>,
    /// Maximum p99 latency (from intended start, so coordinated omission is corrected) of `ok`
    /// operations outside fault windows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_p99: Option<crate::units::HumanDuration>,
    /// Maximum time from each heal until the version is back: first `ok` operation started after
    /// the heal, and the rolling p99 back within `baseline_band` × the baseline p99.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_within: Option<crate::units::HumanDuration>,
    /// The factor over the baseline p99 that counts as "back to normal" (default 2.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_band: Option<f64>,
    /// Maximum number of answers the oracle found wrong (any wrong answer makes the run invalid
    /// whatever this says; it exists so the scenario states it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrong_answers: Option<u64>,
    /// Maximum acknowledged write ids missing from the final read-back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost_writes: Option<u64>,
    /// Maximum write ids read back more than once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicated_writes: Option<u64>,
}
