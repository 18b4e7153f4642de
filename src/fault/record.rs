//! A fault as recorded for reports and checkers (one line of `faults.jsonl`).

use serde::{Deserialize, Serialize};

/// One injected fault, from inject to heal. Times are Unix milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FaultRecord {
    /// Unique in the environment's ledger, e.g. `f7`.
    pub id: String,
    /// The fault kind or preset as asked for: `s3-outage`, `kill`, `latency`, `network-partition`…
    pub kind: String,
    /// The target as asked for: `s3`, `executor@3.5.7`, `connect@4.1.0`, `metastore@3.5.7`…
    pub target: String,
    /// The Spark versions this fault affects (`3.5.7`, `4.1.0`); both for shared components.
    pub versions: Vec<String>,
    /// The parameters as given (`mode=blackhole`, `latency=200ms`…), for people.
    #[serde(default)]
    pub params: std::collections::BTreeMap<String, String>,
    /// When it took effect.
    pub injected_ms: u64,
    /// When it was healed; None while active. Instantaneous faults (a kill the supervisor
    /// recovers from by itself) are healed at the moment they act.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healed_ms: Option<u64>,
    /// What was done, for people: `SIGKILL pid 4242 (executor 1 of app-2026…)`.
    pub detail: String,
    /// Why it was healed: `scheduled`, `interrupted`, `error`, `recovered after harness crash`…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healed_by: Option<String>,
}

impl FaultRecord {
    /// Whether the fault affects `version` (`3.5.7`).
    pub fn affects(&self, version: &str) -> bool {
        self.versions.iter().any(|v| v == version)
    }
}
