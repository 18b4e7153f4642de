//! What a bench records and reports (pure data): every timed run as a [`Sample`], Spark's own
//! metrics of it ([`SparkMetrics`]), and the analysed [`BenchReport`] the report's bench
//! section renders and a later bench reads as its baseline.

use serde::{Deserialize, Serialize};

use super::stats::{Change, Estimate};

/// Spark's own account of one query: the jobs its operation ran (attributed through the
/// operation's job tag) and their stages, summed over stage attempts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SparkMetrics {
    /// Jobs the operation ran.
    pub jobs: u64,
    /// Stage attempts that ran (skipped stages not counted).
    pub stages: u64,
    /// Stage attempts after the first of a stage (retries after fetch failures, lost executors).
    pub stage_retries: u64,
    /// Tasks that ran.
    pub tasks: u64,
    /// Tasks that failed.
    pub failed_tasks: u64,
    /// From the first job's submission to the last one's completion, ms.
    pub job_wall_ms: u64,
    /// Executors' run time of its tasks, ms.
    pub executor_run_ms: u64,
    /// Executors' CPU time of its tasks, ms.
    pub executor_cpu_ms: u64,
    /// JVM garbage collection time in its tasks, ms.
    pub gc_ms: u64,
    /// Bytes read from storage.
    pub input_bytes: u64,
    /// Shuffle bytes read.
    pub shuffle_read_bytes: u64,
    /// Shuffle records read.
    pub shuffle_read_records: u64,
    /// Shuffle bytes written.
    pub shuffle_write_bytes: u64,
    /// Shuffle records written.
    pub shuffle_write_records: u64,
    /// Bytes spilled, in memory.
    pub memory_spilled_bytes: u64,
    /// Bytes spilled, on disk.
    pub disk_spilled_bytes: u64,
    /// Peak execution memory: the largest of its stages' (each the sum over the stage's tasks
    /// of a task's peak), bytes.
    pub peak_execution_memory_bytes: u64,
}

/// One run of one query on one version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Sample {
    /// The query (`q3`).
    pub query: String,
    /// The Spark version (`4.1.0`).
    pub version: String,
    /// Its run number for this query and version, warm-up runs included (0 is the first).
    pub run: u32,
    /// A warm-up run: not timed in the statistics.
    pub warmup: bool,
    /// The throughput run's stream that ran it; None in the power run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<u32>,
    /// When it started, Unix ms.
    pub started_ms: u64,
    /// Wall time as the client saw it (request sent to last row received), seconds.
    pub seconds: f64,
    /// `ok`, `fail` (Spark answered with an error) or `info` (outcome unknown: a deadline or
    /// a broken connection).
    pub outcome: String,
    /// The oracle's verdict on the answer: `correct`, `wrong`, `undetermined`, or `none` when
    /// there was no answer.
    pub answer: String,
    /// Why it failed, or how the answer was wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The Spark Connect operation id (its jobs carry it in their tag).
    pub operation_id: String,
    /// Spark's metrics of the operation, when collected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<SparkMetrics>,
}

impl Sample {
    /// A timed power-run sample with a correct (or undetermined) answer: what the statistics use.
    pub fn counts(&self) -> bool {
        !self.warmup && self.stream.is_none() && self.outcome == "ok" && self.answer != "wrong"
    }
}

/// The settings a bench ran with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BenchSettings {
    /// The queries, in order.
    pub queries: Vec<String>,
    /// Timed runs per query and version.
    pub iterations: u32,
    /// Warm-up runs per query and version.
    pub warmup: u32,
    /// `alternate` or `random`.
    pub order: String,
    /// Seed of the order and the bootstrap.
    pub seed: u64,
    /// The change a verdict must exceed (0.05 = 5 %).
    pub threshold: f64,
    /// Streams of the throughput run (0: none).
    pub streams: u32,
    /// The TPC-DS scale factor.
    pub scale: f64,
}

/// One version's figures for one query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct VersionStats {
    /// The Spark version.
    pub version: String,
    /// Timed runs that count (ok, answer not wrong).
    pub n: u32,
    /// Timed runs that failed or gave no answer.
    pub failed: u32,
    /// Timed runs whose answer was wrong.
    pub wrong: u32,
    /// Median wall time with its bootstrap 95 % interval, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median: Option<Estimate>,
    /// Coefficient of variation of the wall times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cv: Option<f64>,
    /// Iterations a sample this noisy needs for an interval about ±threshold wide.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iterations_needed: Option<u32>,
    /// Spark's metrics: per field, the median over the timed runs that have them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<SparkMetrics>,
}

impl VersionStats {
    /// Too noisy to judge: it would need more iterations than it had.
    pub fn noisy(&self) -> bool {
        self.iterations_needed.is_some_and(|k| k > self.n)
    }
}

/// One query across versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct QueryStats {
    /// The query.
    pub query: String,
    /// Per version, in the bench's version order.
    pub versions: Vec<VersionStats>,
    /// Newer over older median wall time (below 1: the newer is faster), with its interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio: Option<Estimate>,
    /// What the ratio's interval says at the threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<Change>,
}

/// The throughput run of one version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Throughput {
    /// The Spark version.
    pub version: String,
    /// Concurrent streams.
    pub streams: u32,
    /// Queries that completed ok.
    pub completed: u32,
    /// Queries that failed or gave a wrong answer.
    pub failed: u32,
    /// From the first stream's start to the last one's end, seconds.
    pub elapsed_s: f64,
    /// Completed queries per hour.
    pub queries_per_hour: f64,
    /// Median wall time of a query under concurrency, seconds.
    pub median_query_s: f64,
}

/// A query (or the geometric mean) compared with a baseline bench, for one version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BaselineRow {
    /// The query, or `geomean`.
    pub query: String,
    /// The Spark version.
    pub version: String,
    /// Now over baseline median wall time, with its interval; None when either lacks data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio: Option<Estimate>,
    /// What the interval says at the threshold (`slower` is a regression).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<Change>,
    /// Why there is no ratio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The comparison with a baseline bench.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BaselineComparison {
    /// Where the baseline was read from.
    pub source: String,
    /// When the baseline ran, Unix ms (0 when unknown).
    pub started_ms: u64,
    /// Per query and version, then the geometric mean per version.
    pub rows: Vec<BaselineRow>,
}

/// One query's metrics as the Connect server reported them live and as the History Server
/// reports them from the completed event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HistoryCheck {
    /// The Spark version.
    pub version: String,
    /// The query.
    pub query: String,
    /// The application id.
    pub app_id: String,
    /// Whether every compared figure agreed.
    pub agreed: bool,
    /// What differed, or why the check could not be made.
    pub notes: Vec<String>,
    /// Live figures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<SparkMetrics>,
    /// The History Server's figures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<SparkMetrics>,
}

/// What a bench found: the report's bench section, and what a later bench reads as its
/// baseline (`bench.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BenchReport {
    /// The settings.
    pub settings: BenchSettings,
    /// The versions, older first; ratios are the last over the first.
    pub versions: Vec<String>,
    /// When the bench started and ended, Unix ms.
    pub started_ms: u64,
    /// See `started_ms`.
    pub ended_ms: u64,
    /// Per query, in the settings' order.
    pub queries: Vec<QueryStats>,
    /// The geometric mean of the per-query ratios with its interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geomean: Option<Estimate>,
    /// The parity verdict in words (the `bench_parity` check says the same).
    pub parity: String,
    /// The throughput run, per version.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub throughput: Vec<Throughput>,
    /// The comparison with a baseline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineComparison>,
    /// The History Server cross-check.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history_check: Vec<HistoryCheck>,
    /// Problems met on the way (metrics that could not be read, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Every run, warm-ups and streams included.
    pub samples: Vec<Sample>,
}
