//! The platform seam: where an environment runs is one value chosen once ([`open`]) and handed
//! to everything downstream — the runner, faults, compat, upgrades and the CLI talk to a
//! [`Platform`] and its [`FaultDriver`], never to processes, pods or files of one platform.
//!
//! - [`topology`]: the shared vocabulary (roles, component / link / edge ids), pure.
//! - [`settings`]: what a user chooses about an environment, and its generated credentials.
//! - [`endpoints`]: where a running environment's parts are reached, pure data.
//! - [`local`]: the embedded platform, every component a supervised process on 127.0.0.1.
//!
//! A new platform is one folder implementing these two traits plus one line in [`open`].

pub mod action;
pub mod endpoints;
pub mod kubernetes;
pub mod local;
#[cfg(test)]
pub mod memory;
pub mod settings;
pub mod topology;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use action::PlatformAction;
pub use endpoints::{Endpoints, LineEndpoints};
pub use settings::{EnvSettings, Secrets};
pub use topology::Role;

use crate::fault::catalog::FaultSpec;
use crate::paths::{Cache, EnvHome};
use crate::versions::SparkLine;

/// Where an environment runs.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum PlatformKind {
    /// Real processes on this machine, supervised like Kubernetes Deployments.
    #[default]
    Local,
    /// A Kubernetes cluster (the current kubectl context).
    Kubernetes,
}

impl PlatformKind {
    /// The platform's name, as in scenario files and `--platform`.
    pub fn name(self) -> &'static str {
        match self {
            PlatformKind::Local => "local",
            PlatformKind::Kubernetes => "kubernetes",
        }
    }
}

/// A platform operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// There is no running environment where one is needed.
    #[error("no running environment at {0} (run `chaos env up`)")]
    NotRunning(String),
    /// The request names something the environment does not have (a user mistake).
    #[error("{0}")]
    Input(String),
    /// The platform cannot do this at all.
    #[error("the {platform} platform cannot {what}")]
    Unsupported {
        /// The platform.
        platform: &'static str,
        /// What was asked.
        what: String,
    },
    /// Installing, starting, reaching or stopping something failed.
    #[error("{0}")]
    Env(String),
    /// Waiting for the platform to apply something took too long.
    #[error("{0}")]
    Timeout(String),
}

/// What [`Platform::up`] is asked for.
#[derive(Debug, Clone)]
pub struct UpRequest {
    /// The environment's settings.
    pub settings: EnvSettings,
    /// Spark settings applied to every line.
    pub spark_overrides: Vec<(String, String)>,
    /// Keep a failed start-up running for inspection instead of stopping it.
    pub keep_failed: bool,
    /// Kubernetes: the namespace to install into (None: `CHAOS_K8S_NAMESPACE`, else
    /// `spark-chaos`, made and labelled by the harness).
    pub namespace: Option<String>,
    /// Kubernetes: namespaces faults may act in although the harness did not create them.
    pub allowed_namespaces: Vec<String>,
}

/// What [`Platform::up`] did.
#[derive(Debug, Clone)]
pub struct UpReport {
    /// From starting the components to every one ready.
    pub ready_after: Duration,
    /// Spent installing (near zero with a warm cache).
    pub setup_took: Duration,
    /// Whether the environment was already running (nothing was started).
    pub already_running: bool,
}

/// What [`Platform::down`] did.
#[derive(Debug, Clone, Default)]
pub struct DownReport {
    /// The components stopped.
    pub stopped: Vec<String>,
    /// Leftovers found and removed after the stop (processes, pods), for people.
    pub stragglers: Vec<String>,
    /// Whether data was kept.
    pub kept_data: bool,
}

/// How far `up` got, for progress lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpProgress {
    /// Components ready.
    pub ready: usize,
    /// Components planned.
    pub total: usize,
}

/// One component as the platform sees it now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentStatus {
    /// Its id (`connect-41-0`).
    pub id: String,
    /// Its role.
    pub role: Role,
    /// Its Spark line, if it belongs to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<SparkLine>,
    /// Its own version (`3.1.3` for a metastore).
    pub version: String,
    /// How clients reach it.
    pub endpoint: String,
    /// What the platform is doing with it: `pending`, `running`, `backoff`, `stopped`,
    /// `paused`.
    pub state: String,
    /// Whether its readiness probe passes.
    pub ready: bool,
    /// Restarts after it died, since the environment started.
    pub restarts: u32,
    /// How the previous instance ended (`signal 9 (SIGKILL)`, `OOMKilled`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_exit: Option<String>,
    /// Where it runs, for people (`pid 4242`, `pod connect-41-0-7f9c`).
    pub detail: String,
}

/// One fault-proxy link as `chaos env status` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkStatus {
    /// The link id.
    pub id: String,
    /// Who talks to whom.
    pub description: String,
    /// The port clients use.
    pub listen: u16,
    /// The port it forwards to.
    pub upstream: u16,
    /// The toxics in force.
    pub toxics: Vec<crate::fault::proxy::ToxicSpec>,
    /// Its counters.
    pub stats: crate::fault::proxy::ProxyStats,
}

/// The whole environment as `chaos env status` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Overview {
    /// Where it is in its life (`running`, `stopped`, or why it is neither).
    pub phase: String,
    /// One line about what keeps it running (`supervisor pid 4242`, `namespace chaos-1a2b`).
    pub keeper: String,
    /// Why start-up failed, when it did.
    pub error: Option<String>,
    /// Whether it runs (its keeper is alive and it was not stopped).
    pub running: bool,
    /// Every component.
    pub components: Vec<ComponentStatus>,
    /// The fault-proxy links, while it runs.
    pub links: Vec<LinkStatus>,
    /// The platform's own state as JSON, for `chaos env status --json`.
    pub json: serde_json::Value,
}

/// What a Connect server of a line must satisfy in [`Platform::wait_connect`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectCondition {
    /// Ready (answers its readiness probe).
    Ready,
    /// Stopped (not running, not restarting).
    Stopped,
}

/// A platform: brings an environment up and down, tells what runs and where it is reached,
/// restarts and routes, and hands out its fault driver.
///
/// Every method is synchronous: platforms do their I/O on the calling thread (the runner calls
/// the slow ones from `spawn_blocking`).
pub trait Platform: Send + Sync {
    /// Which platform this is.
    fn kind(&self) -> PlatformKind;

    /// The environment's home: the fault ledger, reports' inputs and the platform's own files.
    fn home(&self) -> &EnvHome;

    /// The settings of the running environment, or None when none runs.
    fn running(&self) -> Result<Option<EnvSettings>, PlatformError>;

    /// Brings the environment up (installing what is missing) and waits until every component
    /// is ready; returns at once (`already_running`) when it already runs with these settings
    /// and what this binary installs has not changed (the Kubernetes platform upgrades its
    /// releases in place when the charts or the harness binary did).
    fn up(&self, req: &UpRequest, progress: &dyn Fn(UpProgress))
        -> Result<UpReport, PlatformError>;

    /// Stops everything of the environment and checks nothing is left behind.
    fn down(&self, keep_data: bool) -> Result<DownReport, PlatformError>;

    /// Every component with its readiness, restarts and last exit.
    fn status(&self) -> Result<Vec<ComponentStatus>, PlatformError>;

    /// The environment as a whole, for `chaos env status`.
    fn overview(&self) -> Result<Overview, PlatformError>;

    /// Where the running environment's parts are reached (with credentials).
    fn endpoints(&self) -> Result<Endpoints, PlatformError>;

    /// Restarts one component gracefully and waits until it is ready again.
    fn restart(&self, component: &str, timeout: Duration) -> Result<Duration, PlatformError>;

    /// Points cut-over edges at route targets (edge id → Connect component id) and waits
    /// until the platform applied it; open client connections to the old side are reset, as a
    /// load balancer does.
    fn route(&self, routes: &BTreeMap<String, String>) -> Result<(), PlatformError>;

    /// Waits until every Connect server of `line` satisfies `condition`.
    fn wait_connect(
        &self,
        line: SparkLine,
        condition: ConnectCondition,
        timeout: Duration,
    ) -> Result<Duration, PlatformError>;

    /// Copies the tail of every component's log into `dir`.
    fn collect_logs(&self, dir: &Path) -> Result<(), PlatformError>;

    /// The fault driver of this platform.
    fn faults(&self) -> &dyn FaultDriver;
}

/// A platform handle shared by the runner's tasks.
pub type PlatformRef = Arc<dyn Platform>;

/// A fault spec resolved against the running environment.
#[derive(Debug, Clone, Default)]
pub struct Resolution {
    /// What the heal must undo (written to the ledger before anything acts).
    pub undo: Vec<PlatformAction>,
    /// What to do once the ledger holds `undo` (signals, rules, scale-downs).
    pub act: Vec<PlatformAction>,
    /// The Spark versions the fault touches.
    pub versions: Vec<String>,
    /// What it does, for people and the timeline.
    pub detail: String,
}

/// Why a fault could not be resolved or applied.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// The target matches nothing running, or the platform cannot do this fault there.
    #[error("target `{target}`: {message}")]
    Target {
        /// The target.
        target: String,
        /// Why.
        message: String,
    },
    /// There is no running environment.
    #[error("no running environment at {0} (run `chaos env up`)")]
    NoEnv(String),
    /// Acting failed.
    #[error("{0}")]
    Act(String),
}

/// A platform's faults: resolve a spec into actions, act, undo idempotently, sweep orphans.
/// The fault ledger (`crate::fault::inject`) calls these in an order that leaves nothing
/// unhealable: resolve → write the ledger → act; heal = mark healing → undo → mark healed.
pub trait FaultDriver: Send + Sync {
    /// Resolves a fault (with its reserved ledger id) against the running environment.
    fn resolve(&self, spec: &FaultSpec, id: &str) -> Result<Resolution, DriverError>;

    /// Acts once the ledger (at `generation`) holds the resolution's undo actions.
    fn act(&self, r: &Resolution, generation: u64) -> Result<(), DriverError>;

    /// Undoes a fault's actions once the ledger (at `generation`) marks it healing; healing
    /// twice is harmless. Returns what could not be undone (the fault then stays `healing`
    /// and the next heal retries).
    fn undo(&self, undo: &[PlatformAction], generation: u64) -> Vec<String>;

    /// Removes what faults of this environment left that the ledger does not know (`known`:
    /// every unhealed action); returns what could not be removed.
    fn sweep(&self, known: &[PlatformAction]) -> Vec<String>;
}

/// The registry: the platform of `kind` for the environment at `home`.
pub fn open(
    kind: PlatformKind,
    home: &EnvHome,
    cache: &Cache,
) -> Result<PlatformRef, PlatformError> {
    match kind {
        PlatformKind::Local => Ok(Arc::new(local::LocalPlatform::new(home, cache))),
        PlatformKind::Kubernetes => Ok(Arc::new(kubernetes::platform::KubePlatform::new(
            home, cache,
        ))),
    }
}

/// The tracing target of the local platform's supervisor daemon (its log keeps its own lines
/// whatever `RUST_LOG` it inherits).
pub const DAEMON_LOG_TARGET: &str = concat!(module_path!(), "::local::supervisor");

/// Runs the local platform's supervisor daemon for the environment at `home` (the hidden
/// `chaos supervise` command that `env up` starts).
pub fn supervise(home: &EnvHome) -> Result<(), String> {
    local::supervisor::run(home.root())
}

/// The file in an environment's home naming its platform (absent: local, as every home from
/// before there were platforms).
pub fn kind_file(home: &EnvHome) -> std::path::PathBuf {
    home.root().join("platform.json")
}

/// The platform of the environment at `home` (recorded when it was brought up; local when
/// nothing is recorded).
pub fn at(home: &EnvHome, cache: &Cache) -> Result<PlatformRef, PlatformError> {
    let kind = crate::jsonfile::read::<PlatformKind>(&kind_file(home)).unwrap_or_default();
    open(kind, home, cache)
}
