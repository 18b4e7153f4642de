//! The data of a compat run's report (pure): what [`super::run`] found, serialised as
//! `compat.json` and as the compatibility section of `report.json`, and read by the checks
//! ([`crate::check::compat`]) and the renderers ([`crate::report::compat`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::classify::{Class, Confirmation, Difference, Observed};
use super::plan::PlanComparison;
use super::rules::Rule;
use crate::client::checksum::ResultChecksum;

/// Which statements the differential part runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StatementSet {
    /// TPC-DS queries on the registered data set: `all`, `quick`, `q3`, `q3,q7` (see
    /// [`crate::workload::tpcds::select`]). Needs the kit in the cache (`chaos datagen`).
    Tpcds {
        /// The selection.
        queries: String,
    },
    /// The probe suite `compat/probes.toml`.
    Probes,
}

/// Everything a compat run found. Serialises to the JSON the reports are made of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CompatReport {
    /// The run id (scratch names are derived from it).
    pub run_id: String,
    /// When the run started (RFC 3339, UTC).
    pub started_at: String,
    /// How long the run took, in seconds.
    pub took_secs: f64,
    /// The baseline version (its results are the expected ones): `3.5.7`.
    pub baseline: String,
    /// The version under test: `4.1.0`.
    pub target: String,
    /// The options the run used.
    pub options: ReportOptions,
    /// The rule table, each rule checked against the live servers and with the statements it
    /// was confirmed for.
    pub rules: Vec<RuleStatus>,
    /// Every statement of the differential part.
    pub statements: Vec<StatementReport>,
    /// Counts over [`CompatReport::statements`].
    pub summary: Summary,
    /// The coexistence and data compatibility part, when run.
    pub coexistence: Option<CoexistenceReport>,
    /// The History Server matrix, when run.
    pub history: Option<HistoryReport>,
    /// The client RPC matrix, when run.
    pub clients: Option<ClientMatrix>,
    /// Things worth knowing (cleanup failures, parts skipped and why).
    pub notes: Vec<String>,
}

/// The options of a run, as recorded in its report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ReportOptions {
    /// Statement sets run.
    pub statements: Vec<StatementSet>,
    /// Whether differences were re-run under candidate rules.
    pub confirm_rules: bool,
    /// Whether plans were compared.
    pub explain: bool,
    /// The per-statement deadline in seconds.
    pub timeout_secs: f64,
    /// The TPC-DS database.
    pub scale_db: String,
}

/// Everything found about one statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StatementReport {
    /// Probe id or query name.
    pub id: String,
    /// `probe` or `tpcds`.
    pub set: String,
    /// One line (probes) or empty.
    pub title: String,
    /// The statement as run (placeholders of the baseline's execution substituted).
    pub sql: String,
    /// What the probe's author expected (`identical`, `expected`, `unexplained`), if stated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expect: Option<String>,
    /// The classification.
    pub class: Class,
    /// How the target differs from the baseline (`None`: it does not).
    pub difference: Option<Difference>,
    /// What 3.5.7 did.
    pub baseline: Observed,
    /// What 4.1.0 did.
    pub target: Observed,
    /// Re-runs on 4.1.0 under candidate rules, in the order tried.
    pub confirmations: Vec<Confirmation>,
    /// Plan features of both versions, when compared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanComparison>,
    /// Differences that do not count (column names and types, plans) and cleanup trouble.
    pub notes: Vec<String>,
}

/// A rule of the table, checked against the live servers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RuleStatus {
    /// The rule.
    #[serde(flatten)]
    pub rule: Rule,
    /// Each of its keys on both servers.
    pub keys: Vec<KeyStatus>,
    /// Every key is defined on 4.1.0.
    pub verified: bool,
    /// Statements the rule was confirmed for (its re-run made the difference vanish).
    pub confirmed_for: Vec<String>,
}

/// One legacy key on both servers (`SET key`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct KeyStatus {
    /// The key.
    pub key: String,
    /// The value the rule sets on 4.1.0.
    pub legacy_value: String,
    /// Whether 4.1.0 defines the key (`None`: it could not be asked).
    pub defined_on_target: Option<bool>,
    /// 4.1.0's value in a fresh session (its default), when defined.
    pub target_value: Option<String>,
    /// 3.5.7's value in a fresh session, when defined there.
    pub baseline_value: Option<String>,
    /// Why the servers could not be asked, if so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Counts over a run's statements.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Summary {
    /// Statements run.
    pub statements: usize,
    /// Classified identical.
    pub identical: usize,
    /// Classified expected (by some rule).
    pub expected: usize,
    /// Classified unexplained.
    pub unexplained: usize,
    /// Classified undetermined.
    pub undetermined: usize,
    /// Expected statements per rule label (`ansi_default`, `a + b`).
    pub by_rule: BTreeMap<String, usize>,
    /// Statements whose plan features differ.
    pub plan_differences: usize,
    /// Probes whose class is not what their author expected (`id: expected → got`).
    pub expectation_mismatches: Vec<String>,
}

impl Summary {
    /// Counts the statements.
    pub fn of(statements: &[StatementReport]) -> Self {
        let mut s = Summary {
            statements: statements.len(),
            ..Summary::default()
        };
        for st in statements {
            match &st.class {
                Class::Identical => s.identical += 1,
                Class::Expected { rules } => {
                    s.expected += 1;
                    *s.by_rule.entry(rules.join(" + ")).or_default() += 1;
                }
                Class::Unexplained => s.unexplained += 1,
                Class::Undetermined { .. } => s.undetermined += 1,
            }
            if st.plan.as_ref().is_some_and(|p| !p.differences.is_empty()) {
                s.plan_differences += 1;
            }
            if let Some(e) = &st.expect {
                if e != st.class.kind() {
                    s.expectation_mismatches
                        .push(format!("{}: {e} → {}", st.id, st.class.kind()));
                }
            }
        }
        s
    }
}

/// One table written by one version and read by the other.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DataCompatCase {
    /// `plain` or `partitioned`.
    pub kind: String,
    /// The version that wrote the files.
    pub writer: String,
    /// The version that read them.
    pub reader: String,
    /// The shared location.
    pub location: String,
    /// The writer's table (in the writer's metastore).
    pub writer_table: String,
    /// The reader's table over the same location (in the reader's metastore).
    pub reader_table: String,
    /// What the writer reads back from its own table.
    pub written: Option<ResultChecksum>,
    /// What the reader reads.
    pub read: Option<ResultChecksum>,
    /// `ok` (equal rows and checksum), `mismatch`, `read_failed` (the reader could not read
    /// what the writer wrote) or `write_failed` (nothing to compare).
    pub status: String,
    /// The error, when a step failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Whether a metastore holds a table it should (or should not).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct IsolationCheck {
    /// The metastore's Spark version.
    pub metastore: String,
    /// The table (`db.table`).
    pub table: String,
    /// The version that created the table.
    pub created_by: String,
    /// Whether this metastore should hold it.
    pub expected_present: bool,
    /// Whether it does (`None`: the metastore could not be asked).
    pub present: Option<bool>,
    /// The error, when the metastore could not be asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl IsolationCheck {
    /// Whether the metastore holds the table exactly when it should.
    pub fn ok(&self) -> bool {
        self.present == Some(self.expected_present)
    }
}

/// What a version's event log prefix holds, as its History Server lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EventLogPrefixCheck {
    /// The version.
    pub version: String,
    /// The key prefix (`3.5/events/`).
    pub prefix: String,
    /// Objects under the prefix.
    pub objects: Option<usize>,
    /// Applications the version's History Server lists.
    pub listed: Option<usize>,
    /// Listed applications written by another Spark version (`id (version)`).
    pub foreign: Vec<String>,
    /// The error, when the prefix or the History Server could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The coexistence part of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CoexistenceReport {
    /// The scratch prefix the tables were written under.
    pub scratch_prefix: String,
    /// Each table written by one version and read by the other.
    pub data: Vec<DataCompatCase>,
    /// Metastore isolation.
    pub isolation: Vec<IsolationCheck>,
    /// Event log prefixes.
    pub event_logs: Vec<EventLogPrefixCheck>,
}

/// The finished event log used for one version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EventLogApp {
    /// The version that wrote it.
    pub version: String,
    /// The application id (the log's file name without codec extension).
    pub app_id: Option<String>,
    /// The log: a file's key, or a rolling log directory's prefix (`…/eventlog_v2_<app>/`).
    pub key: Option<String>,
    /// Every object of the log.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<String>,
    /// Whether compat ran the application (else an existing log was used).
    pub made: bool,
    /// How making it went, for people.
    pub detail: String,
    /// Why there is no log, if so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One History Server asked about one version's event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HistoryCell {
    /// The History Server's version.
    pub server: String,
    /// The version that wrote the log.
    pub log: String,
    /// The application.
    pub app_id: Option<String>,
    /// Where the log was copied to (cross-version cells).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copied_to: Option<String>,
    /// The objects of the copy (deleted afterwards).
    #[serde(skip)]
    pub copied_objects: Vec<String>,
    /// The application appeared in the listing.
    pub listed: bool,
    /// Seconds until it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listed_after_secs: Option<f64>,
    /// The Spark version the History Server reports for the application.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reported_version: Option<String>,
    /// Jobs the History Server loaded from the log (`/jobs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jobs: Option<usize>,
    /// The application's environment page loaded (`/environment`).
    pub environment: bool,
    /// Listed and loaded.
    pub ok: bool,
    /// What failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The History Server part of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HistoryReport {
    /// The event log used per version.
    pub apps: Vec<EventLogApp>,
    /// Each (History Server version × log version) cell.
    pub matrix: Vec<HistoryCell>,
    /// Cleanup trouble and the like.
    pub notes: Vec<String>,
}

/// What one RPC did on one server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RpcResult {
    /// It worked.
    pub ok: bool,
    /// What it returned or why it failed.
    pub detail: String,
}

/// One RPC on both servers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RpcRow {
    /// The RPC (`ExecutePlan`, `AnalyzePlan.Schema`, …).
    pub rpc: String,
    /// What was asked.
    pub what: String,
    /// Per Spark version.
    pub results: BTreeMap<String, RpcResult>,
    /// A known, documented difference of the servers this row shows (see `client/mod.rs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub documented: Option<String>,
}

impl RpcRow {
    /// Whether every server answered alike (all ok or all failed).
    pub fn same(&self) -> bool {
        let mut oks = self.results.values().map(|r| r.ok);
        let first = oks.next();
        oks.all(|o| Some(o) == first)
    }

    /// Versions where the RPC failed although nothing documents it.
    pub fn unexpected_failures(&self) -> Vec<String> {
        if self.documented.is_some() {
            return Vec::new();
        }
        self.results
            .iter()
            .filter(|(_, r)| !r.ok)
            .map(|(v, _)| v.clone())
            .collect()
    }
}

/// The client part of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ClientMatrix {
    /// The versions, in column order.
    pub versions: Vec<String>,
    /// One row per RPC.
    pub rows: Vec<RpcRow>,
}
