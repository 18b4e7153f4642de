//! `compat`: differential testing of Spark 3.5.7 against 4.1.0 on one environment, with every
//! difference classified by a rule table and every rule confirmed by a re-run.
//!
//! [`run`] does, in order (each part can be switched off in [`CompatConfig`]):
//!
//! 1. **Rules.** The rule table (`compat/rules.toml`, embedded) is checked against the live
//!    servers: every legacy key must be defined on 4.1.0 (`SET key` does not answer
//!    `<undefined>`); its defaults on both versions are recorded.
//! 2. **Differential.** Each statement (the probe suite `compat/probes.toml` and/or TPC-DS
//!    queries on the registered data set) runs on both versions, each in a fresh session.
//!    Outcomes (ok / fail, error class, SQLSTATE) and results are compared, 3.5.7's result
//!    taken as the expected one and judged by the oracle ([`crate::oracle`], order from
//!    [`crate::oracle::OrderSpec::from_sql`]). With `explain`, `EXPLAIN FORMATTED` plans are
//!    reduced to features (join strategies, exchanges, adaptive) and their differences noted.
//!    A statement is `identical`, `expected (rule …)` when a re-run on 4.1.0 with the rule's
//!    legacy settings makes the difference vanish, `unexplained` when no rule does, or
//!    `undetermined` when an outcome is unknown (deadline, lost connection).
//! 3. **Coexistence and data compatibility.** Parquet tables (plain and partitioned) written by
//!    each version under a scratch S3 prefix are read by the other version through a table
//!    created in its own metastore at the same location, compared by checksum; each metastore
//!    is asked over Thrift which tables it holds (isolation).
//! 4. **History Server matrix.** Each version runs a short local-mode `spark-sql` application
//!    (so that its prefix holds a finished event log); each History Server is asked to list and
//!    load its own version's log and a copy of the other version's log placed in its prefix.
//! 5. **Client matrix.** The project's Rust client against both servers, RPC by RPC.
//!
//! Layout: [`endpoints`] (finding a running environment), [`rules`] and [`probes`] (the data
//! files), `classify` (pure comparison and classification), `plan` (pure plan features),
//! `differential`, `coexist`, `history`, `clients` (the live parts), [`model`] (pure: the
//! report's data). The report's checks are in [`crate::check::compat`], its HTML and Markdown
//! in [`crate::report::compat`]. S3 goes through [`crate::probe::s3`].
//!
//! Everything the run creates is named after its run id (`compat_<run>` databases,
//! `s3a://<bucket>/compat/<run>/`, copied event logs) and removed at the end; what could not be
//! removed is listed in the report's notes.

pub mod classify;
mod clients;
mod coexist;
mod differential;
pub mod endpoints;
mod history;
pub mod model;
mod plan;
pub mod probes;
pub mod rules;

#[cfg(test)]
pub(crate) mod tests;

use std::time::Duration;

use crate::paths::Cache;

/// The compat checks, kept here for callers of `compat`: they live with the other checkers.
pub use crate::check::compat::checks;
/// The compat renderers, kept here for callers of `compat`: they live with the other renderers.
pub use crate::report::compat::{render_html, render_markdown};
pub use classify::{classify, compare, filter_rows, Class, Confirmation, Difference, Observed};
pub use endpoints::{EnvEndpoints, VersionEndpoints};
pub use model::{
    ClientMatrix, CoexistenceReport, CompatReport, DataCompatCase, EventLogApp,
    EventLogPrefixCheck, HistoryCell, HistoryReport, IsolationCheck, KeyStatus, ReportOptions,
    RpcResult, RpcRow, RuleStatus, StatementReport, StatementSet, Summary,
};
pub use plan::{plan_differences, plan_features, PlanComparison, PlanFeatures};
pub use probes::{Probe, ProbeSuite};
pub use rules::{Rule, RuleTable};

/// What [`run`] does.
#[derive(Debug, Clone)]
pub struct CompatConfig {
    /// Statement sets of the differential part, in order (empty: no differential part).
    pub statements: Vec<StatementSet>,
    /// Re-run differing statements on 4.1.0 under each candidate rule's legacy settings.
    pub confirm_rules: bool,
    /// Compare physical plans (`EXPLAIN FORMATTED`) of queries that succeed on both versions.
    pub explain: bool,
    /// Deadline of each statement (and of each History Server wait).
    pub timeout: Duration,
    /// The database the TPC-DS tables are registered in, e.g. `tpcds_sf0_1`.
    pub scale_db: String,
    /// The cache holding the TPC-DS query texts.
    pub cache: Cache,
    /// Run the coexistence and data compatibility part.
    pub coexistence: bool,
    /// Run the History Server matrix.
    pub history: bool,
    /// Run a short local-mode `spark-sql` application per version first, so that each event
    /// log prefix holds a finished log written by that version (else the newest finished log
    /// already in each prefix is used, if any).
    pub make_event_logs: bool,
    /// Run the client RPC matrix.
    pub clients: bool,
    /// The run id used in scratch names (default: derived from the clock and the pid).
    pub run_id: Option<String>,
}

impl CompatConfig {
    /// Every part on: the probe suite and the quick TPC-DS set, rules confirmed, plans
    /// compared, 120 s per statement, database `tpcds_sf0_1`.
    pub fn new(cache: Cache) -> Self {
        Self {
            statements: vec![
                StatementSet::Probes,
                StatementSet::Tpcds {
                    queries: "quick".into(),
                },
            ],
            confirm_rules: true,
            explain: true,
            timeout: Duration::from_secs(120),
            scale_db: "tpcds_sf0_1".into(),
            cache,
            coexistence: true,
            history: true,
            make_event_logs: true,
            clients: true,
            run_id: None,
        }
    }
}

/// Errors that stop a compat run before it produces a report. Failures of single statements,
/// tables or servers do not: they are recorded in the report.
#[derive(Debug, thiserror::Error)]
pub enum CompatError {
    /// The environment could not be read, or is not running.
    #[error("use the environment at {home}: {message}")]
    Env {
        /// The environment's home.
        home: String,
        /// What is wrong.
        message: String,
    },
    /// A data file (rules or probes) is invalid.
    #[error("read {what}: {message}")]
    Data {
        /// Which file.
        what: String,
        /// What is wrong.
        message: String,
    },
    /// One of the two Spark versions is missing from the environment.
    #[error("Spark {0} is not part of this environment (compat needs 3.5.7 and 4.1.0)")]
    MissingVersion(String),
    /// The TPC-DS queries could not be loaded.
    #[error("load the TPC-DS queries (run `chaos datagen` first)")]
    Tpcds(#[source] crate::workload::tpcds::TpcdsError),
}

/// Runs the compat suite against a running environment (see the module docs). `progress`
/// receives one line per step, for people.
pub async fn run(
    env: &EnvEndpoints,
    cfg: &CompatConfig,
    progress: &dyn Fn(&str),
) -> Result<CompatReport, CompatError> {
    differential::run_all(env, cfg, progress).await
}
