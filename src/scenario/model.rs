//! The scenario file format: what a `scenarios/*.toml` file may say. These types are the single
//! source of truth: the JSON Schema (`chaos schema`) and the structural checks are generated
//! from them, so their doc comments are what editors show.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use schemars::gen::SchemaGenerator;
use schemars::schema::{InstanceType, Schema, SchemaObject};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::check::model::Thresholds;
use crate::units::HumanDuration;
use crate::versions::SparkLine;

/// A scenario: one unit of work for `chaos run` — which Spark versions, what environment,
/// what load, which faults when, and which checks decide the verdict.
///
/// Times of faults, cut-overs and roll-backs are offsets from the end of the workload's
/// warm-up. Run `chaos validate FILE` to check a file and `chaos schema` for this schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "spark-chaos scenario")]
pub struct Scenario {
    /// The scenario's name: lower-case letters, digits, `-` and `.`, starting with a letter or
    /// digit (`s3-outage`, `upgrade-3.5-to-4.1`). Shipped scenarios are named like their file.
    /// Reports are filed under it.
    pub name: String,
    /// One sentence for people: what happens, to what, while what runs. Shown by `chaos list`
    /// and at the top of reports.
    pub description: String,
    /// What the scenario is about: `chaos` (faults under load, the default), `compat`
    /// (the same statements on both versions, differences explained), `upgrade` (moving a
    /// workload from one version to the other while it runs) or `bench` (TPC-DS timed on each
    /// version, compared with confidence intervals).
    #[serde(default)]
    pub kind: Kind,
    /// Where it runs: `local` (real processes on this machine, the default) or `kubernetes`.
    #[serde(default)]
    pub platform: Platform,
    /// The Spark versions that run side by side: `3.5.7` and/or `4.1.0` (default both), no
    /// duplicates. `compat` and `upgrade` scenarios need both.
    #[serde(default = "both_versions")]
    #[schemars(schema_with = "spark_list_schema")]
    pub spark: Vec<SparkLine>,
    /// The environment: Connect replicas, workers, memory and Spark configuration.
    #[serde(default)]
    pub env: EnvSpec,
    /// The TPC-DS data set the queries read.
    #[serde(default)]
    pub data: DataSpec,
    /// The load: which queries, at what rate or concurrency, for how long, and the write
    /// workload. Required for `chaos` and `upgrade` scenarios; not accepted for `compat` ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<WorkloadSpec>,
    /// The faults, each `[[fault]]` table one fault (optionally repeated). None for a baseline.
    #[serde(default, rename = "fault", skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultSpec>,
    /// The checks that decide the verdict, run per Spark version. Each field present is one
    /// check; absent fields are not checked.
    #[serde(default)]
    pub checks: Thresholds,
    /// Settings of a `compat` scenario (required for `kind = "compat"`, an error otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compat: Option<CompatSpec>,
    /// Settings of an `upgrade` scenario (required for `kind = "upgrade"`, an error otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade: Option<UpgradeSpec>,
    /// Settings of a `bench` scenario (required for `kind = "bench"`, an error otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bench: Option<BenchSpec>,
    /// Which reports to write and where.
    #[serde(default)]
    pub report: ReportSpec,
}

fn both_versions() -> Vec<SparkLine> {
    SparkLine::ALL.to_vec()
}

/// What a scenario is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Faults injected while the workload runs on every listed version; checks judge
    /// availability, recovery and correctness.
    #[default]
    Chaos,
    /// The same statements on 3.5.7 and 4.1.0; every difference in result or error is reported
    /// and, where possible, explained by a documented behaviour change.
    Compat,
    /// A running workload moved from one version to the other (`[upgrade]`), with faults
    /// optional; checks judge what the clients saw.
    Upgrade,
    /// The TPC-DS queries timed on each version (`[bench]`): medians with bootstrap
    /// intervals, the 4.1.0 / 3.5.7 ratio per query and its geometric mean, Spark's own
    /// metrics, and regressions against a baseline.
    Bench,
}

impl Kind {
    /// `chaos`, `compat`, `upgrade` or `bench`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Chaos => "chaos",
            Kind::Compat => "compat",
            Kind::Upgrade => "upgrade",
            Kind::Bench => "bench",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a scenario runs.
pub use crate::platform::PlatformKind as Platform;

/// A Spark version (schema only; the model uses [`SparkLine`]).
#[allow(dead_code)]
#[derive(JsonSchema)]
enum SparkVersion {
    /// Apache Spark 3.5.7 (LTS), Hive Metastore 3.1.3.
    #[schemars(rename = "3.5.7")]
    V3_5,
    /// Apache Spark 4.1.0, Hive Metastore 4.0.0.
    #[schemars(rename = "4.1.0")]
    V4_1,
}

fn spark_list_schema(gen: &mut SchemaGenerator) -> Schema {
    let mut s = SchemaObject {
        instance_type: Some(InstanceType::Array.into()),
        ..Default::default()
    };
    s.array().items = Some(gen.subschema_for::<SparkVersion>().into());
    s.array().min_items = Some(1);
    s.array().unique_items = Some(true);
    s.metadata().default = Some(serde_json::json!(["3.5.7", "4.1.0"]));
    s.into()
}

/// The environment the scenario brings up (the same for every listed version).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvSpec {
    /// Spark Connect servers per version (1 to 4, default 1). Sessions are spread over them
    /// round-robin; fault targets may name one (`connect@4.1.0#1`).
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = 4))]
    pub replicas: u32,
    /// Standalone workers per version (1 to 4, default 2); each runs one executor per Connect
    /// server.
    #[serde(default = "two")]
    #[schemars(range(min = 1, max = 4))]
    pub workers: u32,
    /// Heap of each executor, JVM style (`512m`, `1g`; default `1g`).
    #[serde(default = "one_gig")]
    pub executor_memory: String,
    /// Heap of each Connect server (the driver), JVM style (`1g`, default).
    #[serde(default = "one_gig")]
    pub driver_memory: String,
    /// Spark configuration overrides, added to `spark-defaults.conf`: `all` for every version,
    /// or per version (`"4.1.0"`). Keys start with `spark.`; values are strings.
    #[serde(default)]
    pub spark_conf: SparkConf,
    /// Kubernetes only: the namespace to install into (default `spark-chaos`, created and
    /// labelled by the harness; one it did not create must be listed in `allow_namespaces`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Kubernetes only: namespaces faults may act in although the harness did not create them;
    /// the blast-radius guard refuses every other.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_namespaces: Vec<String>,
}

impl Default for EnvSpec {
    fn default() -> Self {
        EnvSpec {
            replicas: 1,
            workers: 2,
            executor_memory: one_gig(),
            driver_memory: one_gig(),
            spark_conf: SparkConf::default(),
            namespace: None,
            allow_namespaces: vec![],
        }
    }
}

fn one() -> u32 {
    1
}

fn two() -> u32 {
    2
}

fn one_gig() -> String {
    "1g".into()
}

/// Spark configuration overrides: `all` applies to every version, a version's own table is
/// applied after it (and wins).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SparkConf {
    /// Settings for every version, e.g. `{ "spark.sql.shuffle.partitions" = "4" }`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub all: BTreeMap<String, String>,
    /// Settings for Spark 3.5.7 only (applied after `all`).
    #[serde(default, rename = "3.5.7", skip_serializing_if = "BTreeMap::is_empty")]
    pub v3_5: BTreeMap<String, String>,
    /// Settings for Spark 4.1.0 only (applied after `all`).
    #[serde(default, rename = "4.1.0", skip_serializing_if = "BTreeMap::is_empty")]
    pub v4_1: BTreeMap<String, String>,
}

impl SparkConf {
    /// No setting at all.
    pub fn is_empty(&self) -> bool {
        self.all.is_empty() && self.v3_5.is_empty() && self.v4_1.is_empty()
    }

    /// The settings for `line`: `all`, then the version's own (which win).
    pub fn for_line(&self, line: SparkLine) -> BTreeMap<String, String> {
        let mut out = self.all.clone();
        let own = match line {
            SparkLine::V3_5 => &self.v3_5,
            SparkLine::V4_1 => &self.v4_1,
        };
        out.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
        out
    }
}

/// The TPC-DS data set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    /// TPC-DS scale factor (greater than 0, at most 100; default 0.1, about 100 MB). The data
    /// is generated once into the cache (`chaos datagen --scale`) and reused.
    #[serde(default = "default_scale")]
    #[schemars(range(min = 0, max = 100))]
    pub scale: f64,
}

impl Default for DataSpec {
    fn default() -> Self {
        DataSpec {
            scale: default_scale(),
        }
    }
}

fn default_scale() -> f64 {
    0.1
}

/// The load driven through Spark Connect on every listed version at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSpec {
    /// The TPC-DS queries, used in turn: `"quick"` (q3, q7, q19, q62, q92, q98; the default),
    /// `"all"` (q1 … q99) or a list of names such as `["q3", "q19"]`.
    #[serde(default)]
    pub queries: QuerySelection,
    /// `open` (the default): operations arrive at `rate` per version whatever the system does,
    /// and latency counts from the intended start, so stalls are charged in full. `closed`:
    /// `sessions` clients per version run one operation after another.
    #[serde(default)]
    pub model: LoadModel,
    /// Arrival rate per version for the open model: `N/s`, `N/m` or `N/h` (`"1/s"`, `"30/m"`).
    /// Required for `model = "open"`, not accepted for `closed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<String>,
    /// Open model only: exponential (Poisson) gaps between arrivals instead of even ones
    /// (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poisson: Option<bool>,
    /// Closed model: clients per version (1 to 64). Open model: Connect sessions per version
    /// that arrivals are spread over (the concurrency limit). Default 2.
    #[serde(default = "two")]
    #[schemars(range(min = 1, max = 64))]
    pub sessions: u32,
    /// Closed model only: pause between one client's operations (default `0s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub think: Option<HumanDuration>,
    /// How long the workload runs in total, warm-up included (`4m`).
    pub duration: HumanDuration,
    /// The first part of `duration` whose operations are recorded but not judged by
    /// availability and latency checks (default `0s`; less than `duration`). Fault, cut-over
    /// and roll-back times count from its end.
    #[serde(default = "zero")]
    pub warmup: HumanDuration,
    /// Deadline of each operation (default `2m`); past it the operation is interrupted and its
    /// outcome is unknown (`info`).
    #[serde(default = "two_minutes")]
    pub timeout: HumanDuration,
    /// Also run the write workload (default false): unique ids inserted in batches into a
    /// table per version, every acknowledged id read back at the end (lost / duplicated
    /// writes).
    #[serde(default)]
    pub writes: bool,
    /// With `writes = true`: how often a batch is inserted, per version (default `5s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_every: Option<HumanDuration>,
    /// With `writes = true`: ids per batch (1 to 10000, default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10000))]
    pub write_batch: Option<u64>,
    /// With `writes = true`: let a version's INSERTs overlap when one runs longer than
    /// `write_every` (default false: one at a time). Overlapping INSERTs into one table are
    /// unsafe with Spark's default committer on S3 — they lose acknowledged rows — so turn this
    /// on only to demonstrate that.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub concurrent_writes: bool,
    /// Seed of arrival gaps and query order (default 1): the same seed gives the same
    /// schedule.
    #[serde(default = "one_u64")]
    pub seed: u64,
}

fn zero() -> HumanDuration {
    HumanDuration(Duration::ZERO)
}

fn two_minutes() -> HumanDuration {
    HumanDuration(Duration::from_secs(120))
}

fn one_u64() -> u64 {
    1
}

/// Default of `workload.write_every`.
pub const DEFAULT_WRITE_EVERY: Duration = Duration::from_secs(5);
/// Default of `workload.write_batch`.
pub const DEFAULT_WRITE_BATCH: u64 = 10;

impl WorkloadSpec {
    /// The measured part: `duration` minus `warmup` (faults happen in it).
    pub fn measured(&self) -> Duration {
        self.duration.get().saturating_sub(self.warmup.get())
    }

    /// The arrival rate in operations per second (open model), if valid.
    pub fn rate_per_second(&self) -> Option<f64> {
        self.rate
            .as_deref()
            .and_then(|r| crate::workload::load::parse_rate(r).ok())
    }

    /// The load driver's model. Call on a validated scenario (an open model without a valid
    /// rate gives rate 1/s).
    pub fn load_model(&self) -> crate::workload::load::Model {
        match self.model {
            LoadModel::Open => crate::workload::load::Model::Open {
                rate: self.rate_per_second().unwrap_or(1.0),
                poisson: self.poisson.unwrap_or(false),
            },
            LoadModel::Closed => crate::workload::load::Model::Closed {
                think: self.think.map_or(Duration::ZERO, HumanDuration::get),
            },
        }
    }

    /// The query selection as `chaos load --queries` and `tpcds::queries::select` take it:
    /// `quick`, `all` or `q3,q19`.
    pub fn query_selection(&self) -> String {
        selection_text(&self.queries)
    }

    /// How often a write batch is inserted.
    pub fn write_every(&self) -> Duration {
        self.write_every
            .map_or(DEFAULT_WRITE_EVERY, HumanDuration::get)
    }

    /// Ids per write batch.
    pub fn write_batch(&self) -> u64 {
        self.write_batch.unwrap_or(DEFAULT_WRITE_BATCH)
    }
}

/// Which queries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum QuerySelection {
    /// A named set.
    Set(QuerySet),
    /// Query names, `q1` … `q99`, used in the order given.
    Names(Vec<String>),
}

impl Default for QuerySelection {
    fn default() -> Self {
        QuerySelection::Set(QuerySet::Quick)
    }
}

/// A named query set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum QuerySet {
    /// q3, q7, q19, q62, q92, q98: short queries (1–20 s each at scale 0.1).
    Quick,
    /// All 99 TPC-DS queries, q1 … q99.
    All,
}

/// The arrival model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LoadModel {
    /// A fixed arrival rate per version (`rate`), latency from the intended start.
    #[default]
    Open,
    /// `sessions` clients per version, back to back (`think` between operations).
    Closed,
}

/// One fault: what, where, when and for how long. `chaos fault list` shows every kind with
/// its targets and parameters (so do the `kind` values of this schema).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// The fault kind or preset, e.g. `s3-outage`, `pod-kill`, `network-partition`, `latency`.
    #[schemars(schema_with = "super::faults::kind_schema")]
    pub kind: String,
    /// What it hits: `s3`, `metastore` (both versions) or `metastore@3.5.7`,
    /// `executor@4.1.0`, `connect@4.1.0#0` (replica 0), `spark@4.1.0`. Optional for presets
    /// with a default target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// When it is injected, from the end of the warm-up (`90s`).
    pub at: HumanDuration,
    /// How long until it is healed (`45s`). Required, except for instantaneous kinds (`kill`,
    /// `pod-kill`), where it is how long the component stays down when `params.restart =
    /// false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<HumanDuration>,
    /// How many times it is injected (1 to 100, default 1).
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = 100))]
    pub repeat: u32,
    /// Time from one injection to the next; required when `repeat > 1`, at least `duration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<HumanDuration>,
    /// Kind-specific parameters (`mode = "blackhole"`, `fraction = 0.2`); values are strings,
    /// numbers or booleans.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, ParamValue>,
}

/// One occurrence of a fault, relative to the end of the warm-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultWindow {
    /// When it is injected.
    pub inject: Duration,
    /// When it is healed; None for an instantaneous fault without a duration (the platform
    /// recovers by itself).
    pub heal: Option<Duration>,
}

impl FaultSpec {
    /// Whether the fault acts at one instant and heals by itself (a kill that is restarted at
    /// once) rather than over a window, as the fault catalogue reads it.
    pub fn is_instantaneous(&self) -> bool {
        super::faults::is_instantaneous(
            &self.kind,
            self.target.as_deref(),
            &self.params_as_strings(),
        )
    }

    /// Every occurrence, in order.
    pub fn schedule(&self) -> Vec<FaultWindow> {
        let every = self.every.map_or(Duration::ZERO, HumanDuration::get);
        (0..self.repeat.max(1))
            .map(|i| {
                let inject = self.at.get() + every * i;
                FaultWindow {
                    inject,
                    heal: self.duration.map(|d| inject + d.get()),
                }
            })
            .collect()
    }

    /// When the last occurrence ends (its heal, or its injection if instantaneous).
    pub fn end(&self) -> Duration {
        self.schedule()
            .last()
            .map_or(self.at.get(), |w| w.heal.unwrap_or(w.inject))
    }

    /// The parameters as strings (numbers and booleans written as TOML writes them), the form
    /// the fault catalogue and fault records take.
    pub fn params_as_strings(&self) -> BTreeMap<String, String> {
        self.params
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect()
    }
}

/// A fault parameter's value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ParamValue {
    /// `true` / `false`.
    Boolean(bool),
    /// A whole number.
    Integer(i64),
    /// A number with a fraction (`0.2`).
    Float(f64),
    /// Text (`"blackhole"`, `"200ms"`).
    String(String),
}

impl std::fmt::Display for ParamValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamValue::Boolean(b) => write!(f, "{b}"),
            ParamValue::Integer(i) => write!(f, "{i}"),
            ParamValue::Float(x) => write!(f, "{x}"),
            ParamValue::String(s) => f.write_str(s),
        }
    }
}

/// Settings of a `compat` scenario: which statements run once on each version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompatSpec {
    /// The statement sets: `tpcds` (the 99 TPC-DS queries, answers compared with each other
    /// and with DuckDB's) and/or `probes` (small statements that exercise documented
    /// behaviour changes between 3.5 and 4.x: ANSI mode, casts, date-time parsing, …).
    /// Default both.
    #[serde(default = "all_statement_sets")]
    #[schemars(with = "std::collections::BTreeSet<StatementSet>", length(min = 1))]
    pub statements: Vec<StatementSet>,
    /// When a statement differs, re-run it on 4.1.0 with the legacy setting the migration
    /// guide names (e.g. `spark.sql.ansi.enabled=false`) to confirm which documented change
    /// explains the difference (default true).
    #[serde(default = "yes")]
    pub confirm_rules: bool,
    /// Also capture `EXPLAIN` on both versions and report plan differences (default true).
    #[serde(default = "yes")]
    pub explain: bool,
    /// Deadline of each statement (default `2m`).
    #[serde(default = "two_minutes")]
    pub timeout: HumanDuration,
}

fn all_statement_sets() -> Vec<StatementSet> {
    vec![StatementSet::Tpcds, StatementSet::Probes]
}

fn yes() -> bool {
    true
}

/// A set of statements for a `compat` scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StatementSet {
    /// The 99 TPC-DS queries.
    Tpcds,
    /// Behaviour-change probes: small statements whose result or error changed between
    /// Spark 3.5 and 4.x.
    Probes,
}

/// Settings of a `bench` scenario: the power run (each query `iterations` times per version
/// after `warmup` untimed runs, versions alternated so that machine drift hits both alike), an
/// optional throughput run (`streams` concurrent query streams), and the comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BenchSpec {
    /// The TPC-DS queries: `"quick"` (the default), `"all"` or a list such as `["q3", "q7"]`.
    #[serde(default)]
    pub queries: QuerySelection,
    /// Timed runs of each query per version (1 to 100, default 3). With fewer than 3 the
    /// intervals are as wide as the data allow, and most comparisons stay undecided.
    #[serde(default = "three")]
    #[schemars(range(min = 1, max = 100))]
    pub iterations: u32,
    /// Untimed runs of each query per version first (0 to 10, default 1): caches, JIT.
    #[serde(default = "one_u32")]
    #[schemars(range(max = 10))]
    pub warmup: u32,
    /// `alternate` (the default): for each query, the versions take turns iteration by
    /// iteration, the first version alternating from query to query; `random`: a seeded
    /// shuffle of every (query, version, iteration) run.
    #[serde(default)]
    pub order: BenchOrder,
    /// Seed of the order, the stream permutations and the bootstrap (default 1).
    #[serde(default = "one_u64")]
    pub seed: u64,
    /// The change a verdict must exceed, as a fraction (default 0.05: "faster" or "slower"
    /// only when the whole 95 % interval of the ratio lies beyond ±5 %).
    #[serde(default = "five_percent")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub threshold: f64,
    /// Concurrent query streams of the throughput run per version (0, the default, runs none):
    /// each stream runs every selected query once in its own seeded permutation.
    #[serde(default)]
    #[schemars(range(max = 16))]
    pub streams: u32,
    /// Deadline of each query (default `10m`).
    #[serde(default = "ten_minutes")]
    pub timeout: HumanDuration,
    /// Collect Spark's own metrics of every timed query (executor time, CPU, GC, shuffle,
    /// spill, peak memory, stages, tasks) from the Connect server's REST API (default true).
    #[serde(default = "yes")]
    pub spark_metrics: bool,
    /// After the runs, restart each version's first Connect server so that its event log is
    /// complete, and check one query's metrics against the History Server's (default false:
    /// the restart costs half a minute per version).
    #[serde(default)]
    pub history_check: bool,
    /// Spark SQL settings each bench session sets before its first query (through Spark
    /// Connect's config call, like `SET key=value`), in the shape of `env.spark_conf` (`all`,
    /// `"3.5.7"`, `"4.1.0"`): what a setting costs, measured on the running environment
    /// without restarting it.
    #[serde(default, skip_serializing_if = "SparkConf::is_empty")]
    pub session_conf: SparkConf,
    /// An earlier bench's `report.json` or `bench.json` (or its run directory) to compare with:
    /// a query whose median got slower by more than `threshold` with 95 % confidence is a
    /// regression (check `bench_regression`). Relative to the scenario file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<PathBuf>,
}

impl BenchSpec {
    /// The query selection as `tpcds::queries::select` takes it.
    pub fn query_selection(&self) -> String {
        selection_text(&self.queries)
    }
}

fn selection_text(q: &QuerySelection) -> String {
    match q {
        QuerySelection::Set(QuerySet::Quick) => "quick".into(),
        QuerySelection::Set(QuerySet::All) => "all".into(),
        QuerySelection::Names(names) => names.join(","),
    }
}

fn three() -> u32 {
    3
}

fn one_u32() -> u32 {
    1
}

fn five_percent() -> f64 {
    0.05
}

fn ten_minutes() -> HumanDuration {
    HumanDuration(Duration::from_secs(600))
}

/// The order of a bench's timed runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BenchOrder {
    /// Query by query, the versions taking turns.
    #[default]
    Alternate,
    /// A seeded shuffle of every run.
    Random,
}

/// Settings of an `upgrade` scenario: the workload moves from `from` to `to` while it runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpgradeSpec {
    /// `blue-green`: clients are switched from the old version's Connect servers to the new
    /// one's (both running); `in-place`: the old version's components are replaced one by
    /// one with the new version on the same metastore and warehouse.
    pub style: UpgradeStyle,
    /// The version the workload starts on.
    #[schemars(with = "SparkVersion")]
    pub from: SparkLine,
    /// The version the workload moves to (not `from`).
    #[schemars(with = "SparkVersion")]
    pub to: SparkLine,
    /// When clients move to `to`, from the end of the warm-up (`60s`).
    pub cutover_at: HumanDuration,
    /// When clients move back to `from`, from the end of the warm-up; after `cutover_at`.
    /// Absent: no roll-back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_at: Option<HumanDuration>,
}

/// How an upgrade is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum UpgradeStyle {
    /// Both versions run; clients are switched from one to the other at once.
    BlueGreen,
    /// The running deployment is replaced component by component (rolling).
    InPlace,
}

impl UpgradeStyle {
    /// `blue-green` or `in-place`.
    pub fn as_str(self) -> &'static str {
        match self {
            UpgradeStyle::BlueGreen => "blue-green",
            UpgradeStyle::InPlace => "in-place",
        }
    }
}

/// Which reports to write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportSpec {
    /// Report formats, no duplicates (default all four): `html` (one self-contained page),
    /// `md` (Markdown), `json` (machine-readable), `junit` (XML for CI systems).
    #[serde(default = "all_formats")]
    #[schemars(with = "std::collections::BTreeSet<ReportFormat>", length(min = 1))]
    pub formats: Vec<ReportFormat>,
    /// Directory the run's report directory is created in (default `reports`, relative to the
    /// current directory).
    #[serde(default = "reports_dir")]
    pub dir: PathBuf,
}

impl Default for ReportSpec {
    fn default() -> Self {
        ReportSpec {
            formats: all_formats(),
            dir: reports_dir(),
        }
    }
}

fn all_formats() -> Vec<ReportFormat> {
    vec![
        ReportFormat::Html,
        ReportFormat::Md,
        ReportFormat::Json,
        ReportFormat::Junit,
    ]
}

fn reports_dir() -> PathBuf {
    PathBuf::from("reports")
}

/// A report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    /// One self-contained HTML page with charts.
    Html,
    /// Markdown.
    Md,
    /// JSON, for machines.
    Json,
    /// JUnit XML, one test case per check and version, for CI systems.
    Junit,
}
