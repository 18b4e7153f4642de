//! The load driver: runs queries (and an optional write workload) against one or more Spark
//! versions through Spark Connect, for a duration, and writes the history.
//!
//! - **Open model**: operations arrive at a fixed rate per version (uniform or Poisson gaps,
//!   seeded). Each has an *intended* start; if every session is busy it waits, and its latency
//!   still counts from the intended start, so a stall is charged in full (coordinated omission
//!   corrected). Service time (from the actual start) is recorded too.
//! - **Closed model**: N sessions per version, each running one operation after another with
//!   an optional think time; intended start = actual start.
//! - **Writes**: every `every`, a batch of unique ids is inserted into a table per version;
//!   each acknowledged batch is in the history, and after the run every id is read back.
//!
//! Memory stays flat: records stream to the history file; the summary keeps fixed-size
//! histograms; only acknowledged write ranges are kept for the read-back.
//!
//! [`run_with`] takes [`LoadOptions`] for a load whose endpoint is switched from one version to
//! the other while it runs (an upgrade): each operation records the version serving at its
//! start, and the write table may be shared by both versions.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::{Rng, SeedableRng};
use tokio::sync::{mpsc, Semaphore};

use super::history::{OpKind, OpOutcome, OpRecord, OpVerdict, Summary};
use crate::client::{ChecksumOptions, ClientError, Outcome, QueryResult, Session, SessionOptions};
use crate::versions::SparkLine;

/// A query of the workload.
#[derive(Debug, Clone)]
pub struct LoadQuery {
    /// Its name, e.g. `q3`.
    pub name: String,
    /// The Spark SQL text.
    pub sql: String,
}

/// Where one version is reached.
#[derive(Debug, Clone)]
pub struct Target {
    /// The version.
    pub version: SparkLine,
    /// Its Connect endpoints (replicas), used round-robin by new sessions.
    pub endpoints: Vec<String>,
}

/// The arrival model.
#[derive(Debug, Clone, PartialEq)]
pub enum Model {
    /// A fixed arrival rate per version.
    Open {
        /// Operations per second, per version.
        rate: f64,
        /// Exponential (Poisson process) gaps instead of uniform ones.
        poisson: bool,
    },
    /// N sessions per version, back to back.
    Closed {
        /// Pause between one session's operations.
        think: Duration,
    },
}

/// The write workload.
#[derive(Debug, Clone)]
pub struct WriteConfig {
    /// The table (created if missing) in each version's own metastore.
    pub table: String,
    /// How often a batch is inserted, per version.
    pub every: Duration,
    /// Ids per batch.
    pub batch: u64,
}

/// Everything a load run needs.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// The versions to load.
    pub targets: Vec<Target>,
    /// The queries, used in turn.
    pub queries: Vec<LoadQuery>,
    /// The arrival model.
    pub model: Model,
    /// Measured duration (after the warm-up).
    pub duration: Duration,
    /// Warm-up (its operations are recorded, marked, and left out of the summary).
    pub warmup: Duration,
    /// Per-operation deadline; past it the operation is interrupted and ends `info`.
    pub op_timeout: Duration,
    /// Sessions per version: the concurrency limit (open) or the session count (closed).
    pub sessions: usize,
    /// The write workload, if any.
    pub writes: Option<WriteConfig>,
    /// Seed for arrival gaps and query order.
    pub seed: u64,
    /// Where the history (JSON Lines) goes.
    pub history: PathBuf,
    /// Stop each version after this many query operations (e.g. every query once), even if
    /// the duration has not passed.
    pub max_queries: Option<u64>,
}

/// Which version serves a switched endpoint now; set by whoever switches it.
pub type ServingVersion = Arc<Mutex<SparkLine>>;

/// Receives every record as the history gets it.
pub type RecordSink = Arc<dyn Fn(&OpRecord) + Send + Sync>;

/// How [`run_with`] departs from [`run`].
#[derive(Clone, Default)]
pub struct LoadOptions {
    /// The version serving the targets' endpoints now, read at each operation's start and
    /// recorded as its version (and used by the judge) instead of the target's own; the write
    /// read-back is reported under the version that served it, against every write. For one
    /// target whose endpoint is switched between versions.
    pub serving: Option<ServingVersion>,
    /// The write table exists (the caller created it, e.g. at one location in both versions'
    /// metastores): no `CREATE TABLE`.
    pub table_exists: bool,
    /// `REFRESH TABLE` before the read-back: another Spark wrote files of the table, which
    /// this one's cached file listing would miss.
    pub refresh_before_read_back: bool,
    /// Called with every record, in the order the history gets them.
    pub on_record: Option<RecordSink>,
    /// Let a version's write batches overlap (a new INSERT starts on schedule even while the
    /// previous one still runs). Off by default: Spark's classic FileOutputCommitter stages
    /// every job of a table under the same `_temporary/0/`, so overlapping INSERTs into one
    /// table commit or delete each other's files — acknowledged rows go missing and failed
    /// ones appear (seen on both 3.5.7 and 4.1.0 when S3 slows down). Serial writes make a
    /// lost write a finding about the fault, not about this workload.
    pub concurrent_writes: bool,
}

impl std::fmt::Debug for LoadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadOptions")
            .field("serving", &self.serving)
            .field("table_exists", &self.table_exists)
            .field("refresh_before_read_back", &self.refresh_before_read_back)
            .field("on_record", &self.on_record.is_some())
            .field("concurrent_writes", &self.concurrent_writes)
            .finish()
    }
}

/// The oracle's judgement of a successful query result.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    /// The verdict.
    pub verdict: OpVerdict,
    /// The diff or reason, when not correct.
    pub detail: Option<String>,
}

/// Judges a query's result: (version, query name, result) → judgement, or `None` if there is
/// no expected answer for it.
pub type Judge = Arc<dyn Fn(SparkLine, &str, &QueryResult) -> Option<Judgement> + Send + Sync>;

/// The read-back of the write workload, per version.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct WriteCheck {
    /// Ids whose insert was acknowledged.
    pub acknowledged: u64,
    /// Ids whose insert outcome is unknown (`info`): present or not, both are allowed.
    pub uncertain: u64,
    /// Ids read back.
    pub read: u64,
    /// Acknowledged ids missing on read-back (the first 20).
    pub lost: Vec<u64>,
    /// How many acknowledged ids are missing.
    pub lost_count: u64,
    /// Ids read back more than once (the first 20).
    pub duplicated: Vec<u64>,
    /// Ids read back that were never attempted or definitely failed (the first 20).
    pub unexpected: Vec<u64>,
    /// Why the read-back itself failed, if it did.
    pub error: Option<String>,
}

/// What a load run produced.
#[derive(Debug)]
pub struct LoadReport {
    /// Per version/query statistics.
    pub summary: Summary,
    /// Records written to the history.
    pub records: u64,
    /// The history file.
    pub history: PathBuf,
    /// Per version write read-back, when writes ran.
    pub writes: BTreeMap<SparkLine, WriteCheck>,
    /// Whether the run was stopped early.
    pub interrupted: bool,
}

/// Errors that stop a load run (operation failures are records, not errors).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The history file could not be written.
    #[error("write history {path}")]
    History {
        /// The path.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The configuration cannot run.
    #[error("{0}")]
    Config(String),
}

/// Unix microseconds now.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// The arrival gaps of the open model, seeded: uniform `1/rate`, or exponential with mean
/// `1/rate`. Pure, for tests.
pub fn arrival_offsets(rate: f64, poisson: bool, seed: u64, until: Duration) -> Vec<Duration> {
    let mut out = Vec::new();
    if rate <= 0.0 {
        return out;
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut t = 0.0f64;
    let end = until.as_secs_f64();
    loop {
        let gap = if poisson {
            let u: f64 = rng.gen_range(f64::EPSILON..1.0);
            -u.ln() / rate
        } else {
            1.0 / rate
        };
        if out.is_empty() && !poisson {
            // The first uniform arrival is at zero.
        } else {
            t += gap;
        }
        if t >= end {
            return out;
        }
        out.push(Duration::from_secs_f64(t));
    }
}

/// Parses a rate: `2/s`, `30/m`, `0.5/s`, `100/h`, or a bare number (per second).
pub fn parse_rate(s: &str) -> Result<f64, String> {
    let s = s.trim();
    let (num, unit) = match s.split_once('/') {
        Some((n, u)) => (n.trim(), u.trim()),
        None => (s, "s"),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a rate (accepted: N/s, N/m, N/h, e.g. 1/s)"))?;
    let per = match unit {
        "s" | "sec" | "second" => 1.0,
        "m" | "min" | "minute" => 60.0,
        "h" | "hour" => 3600.0,
        _ => return Err(format!("`{s}`: unknown unit `{unit}` (accepted: s, m, h)")),
    };
    if !(n.is_finite() && n > 0.0) {
        return Err(format!("`{s}`: the rate must be positive"));
    }
    Ok(n / per)
}

struct Shared {
    cfg: LoadConfig,
    opts: LoadOptions,
    judge: Judge,
    tx: mpsc::UnboundedSender<OpRecord>,
    op: AtomicU64,
    stop: Arc<AtomicBool>,
    /// Set when every query schedule has run out (`max_queries`): writes stop then too.
    queries_done: AtomicBool,
    t0_us: u64,
}

struct Pool {
    target: Target,
    idle: Mutex<Vec<Session>>,
    next_endpoint: AtomicUsize,
    next_query: AtomicUsize,
    permits: Semaphore,
}

impl Pool {
    async fn session(&self) -> Result<Session, ClientError> {
        if let Some(s) = self.idle.lock().expect("pool lock").pop() {
            return Ok(s);
        }
        let i = self.next_endpoint.fetch_add(1, Ordering::Relaxed) % self.target.endpoints.len();
        Session::connect(&self.target.endpoints[i], SessionOptions::default()).await
    }

    fn give_back(&self, s: Session) {
        self.idle.lock().expect("pool lock").push(s);
    }
}

fn record_error(r: &mut OpRecord, outcome: &Outcome) {
    match outcome {
        Outcome::Ok => r.outcome = OpOutcome::Ok,
        Outcome::Fail {
            error_class,
            sql_state,
            message,
        } => {
            r.outcome = OpOutcome::Fail;
            r.error_class = error_class.clone();
            r.sql_state = sql_state.clone();
            r.message = Some(message.chars().take(500).collect());
        }
        Outcome::Info { reason } => {
            r.outcome = OpOutcome::Info;
            r.message = Some(reason.chars().take(500).collect());
        }
    }
}

impl Shared {
    fn base(&self, kind: OpKind, version: SparkLine, name: &str, intended_us: u64) -> OpRecord {
        let op = self.op.fetch_add(1, Ordering::Relaxed);
        OpRecord {
            warmup: intended_us < self.t0_us + self.cfg.warmup.as_micros() as u64,
            ..OpRecord::planned(op, kind, version, name, intended_us)
        }
    }

    /// Runs one statement on a pooled session and fills the record's outcome. Sessions whose
    /// outcome is unknown are dropped (their connection may be broken).
    async fn execute(&self, pool: &Pool, r: &mut OpRecord, sql: &str) -> Option<QueryResult> {
        let _permit = pool.permits.acquire().await.ok()?;
        r.start_us = now_us();
        if let Some(serving) = &self.opts.serving {
            r.version = *serving.lock().expect("serving lock");
        }
        let session = match pool.session().await {
            Ok(s) => s,
            Err(e) => {
                r.end_us = now_us();
                record_error(r, &e.outcome());
                tracing::debug!(
                    version = %r.version,
                    op = r.op,
                    query = %r.name,
                    outcome = %r.outcome,
                    error = %e,
                    "no session, the operation was not run"
                );
                return None;
            }
        };
        r.endpoint = session.endpoint().to_string();
        let res = session.sql(sql, self.cfg.op_timeout).await;
        r.end_us = now_us();
        let outcome = Outcome::of(&res);
        record_error(r, &outcome);
        let operation_id = res.as_ref().map_or("", |q| q.info.operation_id.as_str());
        if let Err(e) = &res {
            tracing::debug!(
                version = %r.version,
                endpoint = %r.endpoint,
                session_id = %session.session_id(),
                op = r.op,
                query = %r.name,
                outcome = %r.outcome,
                error_class = r.error_class.as_deref().unwrap_or(""),
                error = %e,
                "operation not ok"
            );
        } else {
            tracing::trace!(
                version = %r.version,
                endpoint = %r.endpoint,
                session_id = %session.session_id(),
                operation_id,
                op = r.op,
                query = %r.name,
                service_ms = r.end_us.saturating_sub(r.start_us) / 1000,
                "operation ok"
            );
        }
        if matches!(outcome, Outcome::Info { .. }) {
            tracing::debug!(
                version = %r.version,
                endpoint = %r.endpoint,
                session_id = %session.session_id(),
                "session dropped from the pool: its connection may be broken"
            );
        } else {
            pool.give_back(session);
        }
        res.ok()
    }

    /// Claims the next query of a version, or `None` once `max_queries` are issued.
    fn next_query(&self, pool: &Pool) -> Option<usize> {
        let n = pool.next_query.fetch_add(1, Ordering::SeqCst);
        match self.cfg.max_queries {
            Some(max) if n as u64 >= max => None,
            _ => Some(n),
        }
    }

    async fn query(self: Arc<Self>, pool: Arc<Pool>, n: usize, intended_us: u64) {
        let q = &self.cfg.queries[n % self.cfg.queries.len()];
        let mut r = self.base(OpKind::Query, pool.target.version, &q.name, intended_us);
        if let Some(result) = self.execute(&pool, &mut r, &q.sql).await {
            r.rows = Some(result.num_rows() as u64);
            let sum = crate::client::checksum::checksum_batches(
                &result.batches,
                ChecksumOptions::default(),
            );
            r.checksum = Some(sum.unordered);
            if let Some(j) = (self.judge)(r.version, &q.name, &result) {
                r.verdict = Some(j.verdict);
                r.verdict_detail = j.detail;
            }
        }
        self.record(r);
    }

    /// Hands a finished record to the history recorder.
    fn record(&self, r: OpRecord) {
        if let Err(lost) = self.tx.send(r) {
            // Only after the recorder failed, whose error ends the run: debug, not one warning
            // per operation still in flight.
            tracing::debug!(
                version = %lost.0.version,
                op = lost.0.op,
                query = %lost.0.name,
                "history recorder gone: operation record dropped"
            );
        }
    }

    async fn write(self: Arc<Self>, pool: Arc<Pool>, w: WriteConfig, first: u64, intended_us: u64) {
        let last = first + w.batch - 1;
        let mut r = self.base(OpKind::Write, pool.target.version, "write", intended_us);
        r.ids = Some([first, last]);
        let sql = format!(
            "INSERT INTO {} SELECT id, CAST({} AS BIGINT) AS batch FROM range({first}, {})",
            w.table,
            r.op,
            last + 1
        );
        self.execute(&pool, &mut r, &sql).await;
        self.record(r);
    }

    fn end_us(&self) -> u64 {
        self.t0_us + (self.cfg.warmup + self.cfg.duration).as_micros() as u64
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
            || self.queries_done.load(Ordering::SeqCst)
            || now_us() >= self.end_us()
    }
}

async fn sleep_until_us(t: u64) {
    let now = now_us();
    if t > now {
        tokio::time::sleep(Duration::from_micros(t - now)).await;
    }
}

/// Runs the load until its duration passes or `stop` is set. Operation failures become
/// records; only an unwritable history stops the run.
pub async fn run(
    cfg: LoadConfig,
    judge: Judge,
    stop: Arc<AtomicBool>,
) -> Result<LoadReport, LoadError> {
    let opts = LoadOptions {
        refresh_before_read_back: true,
        ..LoadOptions::default()
    };
    run_with(cfg, judge, stop, opts).await
}

/// [`run`] with options (see [`LoadOptions`]).
pub async fn run_with(
    cfg: LoadConfig,
    judge: Judge,
    stop: Arc<AtomicBool>,
    opts: LoadOptions,
) -> Result<LoadReport, LoadError> {
    if cfg.queries.is_empty() && cfg.writes.is_none() {
        return Err(LoadError::Config(
            "no queries and no writes: nothing to run".into(),
        ));
    }
    if cfg.targets.iter().any(|t| t.endpoints.is_empty()) {
        return Err(LoadError::Config(
            "a Spark version has no Connect endpoint".into(),
        ));
    }
    let hist_err = |source| LoadError::History {
        path: cfg.history.display().to_string(),
        source,
    };
    if let Some(dir) = cfg.history.parent() {
        std::fs::create_dir_all(dir).map_err(hist_err)?;
    }
    let file = std::fs::File::create(&cfg.history).map_err(hist_err)?;
    let (tx, mut rx) = mpsc::unbounded_channel::<OpRecord>();
    let on_record = opts.on_record.clone();
    let switched = opts.serving.is_some();
    let shared = Arc::new(Shared {
        cfg: cfg.clone(),
        opts,
        judge,
        tx,
        op: AtomicU64::new(0),
        stop,
        queries_done: AtomicBool::new(false),
        t0_us: now_us(),
    });
    let pools: Vec<Arc<Pool>> = cfg
        .targets
        .iter()
        .map(|t| {
            Arc::new(Pool {
                target: t.clone(),
                idle: Mutex::new(Vec::new()),
                next_endpoint: AtomicUsize::new(0),
                next_query: AtomicUsize::new(0),
                permits: Semaphore::new(cfg.sessions.max(1)),
            })
        })
        .collect();

    // The recorder: streams records to the file, folds the summary, keeps write ranges.
    let recorder =
        tokio::task::spawn_blocking(move || -> std::io::Result<(Summary, u64, Vec<OpRecord>)> {
            let mut out = std::io::BufWriter::new(file);
            let mut summary = Summary::default();
            let mut n = 0u64;
            let mut writes = Vec::new();
            while let Some(r) = rx.blocking_recv() {
                if let Some(sink) = &on_record {
                    sink(&r);
                }
                serde_json::to_writer(&mut out, &r)?;
                out.write_all(b"\n")?;
                if n % 32 == 0 {
                    out.flush()?;
                }
                summary.add(&r);
                n += 1;
                if r.kind == OpKind::Write {
                    let mut slim = r.clone();
                    slim.message = None;
                    writes.push(slim);
                }
            }
            out.flush()?;
            Ok((summary, n, writes))
        });

    // Writes: create each version's table first (unless the caller did).
    let mut write_tasks = tokio::task::JoinSet::new();
    if let Some(w) = &cfg.writes {
        for pool in pools.iter().filter(|_| !shared.opts.table_exists) {
            let mut r = shared.base(OpKind::Write, pool.target.version, "create-table", now_us());
            let ddl = format!(
                "CREATE TABLE IF NOT EXISTS {} (id BIGINT, batch BIGINT) USING parquet",
                w.table
            );
            shared.execute(pool, &mut r, &ddl).await;
            if r.outcome != OpOutcome::Ok {
                return Err(LoadError::Config(format!(
                    "create the write table {} on Spark {}: {}",
                    w.table,
                    pool.target.version,
                    r.message.unwrap_or_default()
                )));
            }
        }
        let next_id = Arc::new(AtomicU64::new(1));
        for pool in &pools {
            let (shared, pool, w, next_id) =
                (shared.clone(), pool.clone(), w.clone(), next_id.clone());
            write_tasks.spawn(async move {
                let mut inflight = tokio::task::JoinSet::new();
                let mut k = 0u64;
                loop {
                    let intended = shared.t0_us + (w.every.as_micros() as u64) * k;
                    k += 1;
                    sleep_until_us(intended).await;
                    if shared.stopping() {
                        break;
                    }
                    let first = next_id.fetch_add(w.batch, Ordering::SeqCst);
                    let write = shared
                        .clone()
                        .write(pool.clone(), w.clone(), first, intended);
                    if shared.opts.concurrent_writes {
                        inflight.spawn(write);
                    } else {
                        // One INSERT at a time per version; a late one starts at once and its
                        // latency (from the intended start) shows the wait.
                        write.await;
                    }
                }
                while inflight.join_next().await.is_some() {}
            });
        }
    }

    let mut tasks = tokio::task::JoinSet::new();
    if !cfg.queries.is_empty() {
        for (i, pool) in pools.iter().enumerate() {
            let (shared, pool) = (shared.clone(), pool.clone());
            match cfg.model.clone() {
                Model::Open { rate, poisson } => {
                    let offsets = arrival_offsets(
                        rate,
                        poisson,
                        cfg.seed.wrapping_add(i as u64),
                        cfg.warmup + cfg.duration,
                    );
                    tasks.spawn(async move {
                        let mut inflight = tokio::task::JoinSet::new();
                        for off in offsets {
                            let intended = shared.t0_us + off.as_micros() as u64;
                            sleep_until_us(intended).await;
                            if shared.stopping() {
                                break;
                            }
                            let Some(n) = shared.next_query(&pool) else {
                                break;
                            };
                            inflight.spawn(shared.clone().query(pool.clone(), n, intended));
                            // Reap finished operations so the set stays small.
                            while inflight.try_join_next().is_some() {}
                        }
                        while inflight.join_next().await.is_some() {}
                    });
                }
                Model::Closed { think } => {
                    for _ in 0..cfg.sessions.max(1) {
                        let (shared, pool) = (shared.clone(), pool.clone());
                        tasks.spawn(async move {
                            while !shared.stopping() {
                                let Some(n) = shared.next_query(&pool) else {
                                    break;
                                };
                                shared.clone().query(pool.clone(), n, now_us()).await;
                                if !think.is_zero() {
                                    tokio::time::sleep(think).await;
                                }
                            }
                        });
                    }
                }
            }
        }
    }
    while tasks.join_next().await.is_some() {}
    if cfg.max_queries.is_some() && !cfg.queries.is_empty() {
        shared.queries_done.store(true, Ordering::SeqCst);
    }
    while write_tasks.join_next().await.is_some() {}

    // Read back every written id.
    let mut read_backs: BTreeMap<SparkLine, Vec<u64>> = BTreeMap::new();
    let mut read_errors: BTreeMap<SparkLine, String> = BTreeMap::new();
    if let Some(w) = &cfg.writes {
        for pool in &pools {
            let (r, ids) = shared.read_back(pool, &w.table).await;
            match ids {
                Ok(ids) => {
                    read_backs.insert(r.version, ids);
                }
                Err(e) => {
                    tracing::debug!(version = %r.version, table = %w.table, error = %e, "read-back failed");
                    read_errors.insert(r.version, e);
                }
            }
            shared.record(r);
        }
    }
    let interrupted = shared.stop.load(Ordering::SeqCst);
    drop(pools);
    drop(shared);
    let (summary, records, write_records) = recorder
        .await
        .map_err(|e| LoadError::Config(format!("history recorder panicked: {e}")))?
        .map_err(hist_err)?;
    let writes = if cfg.writes.is_none() {
        BTreeMap::new()
    } else if switched {
        checks_of_switched(&write_records, &read_backs, &read_errors)
    } else {
        checks_per_target(&cfg.targets, &write_records, &read_backs, &read_errors)
    };
    Ok(LoadReport {
        summary,
        records,
        history: cfg.history.clone(),
        writes,
        interrupted,
    })
}

impl Shared {
    /// Reads back every id of the write table through `pool` (after `REFRESH TABLE` when asked
    /// for); returns the read-back's record and the ids or why they could not be read.
    async fn read_back(&self, pool: &Pool, table: &str) -> (OpRecord, Result<Vec<u64>, String>) {
        let mut r = self.base(OpKind::ReadBack, pool.target.version, "read-back", now_us());
        r.warmup = false;
        if self.opts.refresh_before_read_back {
            self.execute(pool, &mut r, &format!("REFRESH TABLE {table}"))
                .await;
            if r.outcome != OpOutcome::Ok {
                let why = format!(
                    "refresh before the read-back failed: {}",
                    r.message.as_deref().unwrap_or(r.outcome.name())
                );
                r.message = Some(why.clone());
                return (r, Err(why));
            }
        }
        let result = self
            .execute(pool, &mut r, &format!("SELECT id FROM {table}"))
            .await;
        let ids = match result.as_ref().map(ids_of) {
            Some(Ok(ids)) => {
                r.rows = Some(ids.len() as u64);
                Ok(ids)
            }
            Some(Err(e)) => Err(e),
            None => Err(r.message.clone().unwrap_or_else(|| r.outcome.to_string())),
        };
        (r, ids)
    }
}

/// The write checks of an ordinary load: each target's writes against its own read-back.
fn checks_per_target(
    targets: &[Target],
    write_records: &[OpRecord],
    read_backs: &BTreeMap<SparkLine, Vec<u64>>,
    read_errors: &BTreeMap<SparkLine, String>,
) -> BTreeMap<SparkLine, WriteCheck> {
    let mut writes = BTreeMap::new();
    for t in targets {
        let v = t.version;
        let mine: Vec<&OpRecord> = write_records
            .iter()
            .filter(|r| r.version == v && r.ids.is_some())
            .collect();
        let mut check = check_writes(&mine, read_backs.get(&v).map(Vec::as_slice).unwrap_or(&[]));
        check.error = read_errors.get(&v).cloned();
        writes.insert(v, check);
    }
    writes
}

/// The write checks of a switched load: every write (whichever version took it) against the
/// read-back, under the version that served the read-back.
fn checks_of_switched(
    write_records: &[OpRecord],
    read_backs: &BTreeMap<SparkLine, Vec<u64>>,
    read_errors: &BTreeMap<SparkLine, String>,
) -> BTreeMap<SparkLine, WriteCheck> {
    let all: Vec<&OpRecord> = write_records.iter().filter(|r| r.ids.is_some()).collect();
    let mut writes = BTreeMap::new();
    for (v, ids) in read_backs {
        writes.insert(*v, check_writes(&all, ids));
    }
    for (v, e) in read_errors {
        let mut check = check_writes(&all, &[]);
        check.error = Some(e.clone());
        writes.insert(*v, check);
    }
    writes
}

/// The `id` column of a read-back as integers.
pub fn ids_of(result: &QueryResult) -> Result<Vec<u64>, String> {
    let rows = result
        .rows_as_strings()
        .map_err(|e| format!("decode read-back: {e}"))?;
    rows.iter()
        .map(|r| {
            r.first()
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or_else(|| format!("read-back row {r:?} has no integer id"))
        })
        .collect()
}

/// Compares the write history with what was read back. Pure.
pub fn check_writes(history: &[&OpRecord], read: &[u64]) -> WriteCheck {
    let ranges: Vec<(OpOutcome, [u64; 2])> = history
        .iter()
        .filter_map(|r| Some((r.outcome, r.ids?)))
        .collect();
    check_write_ranges(&ranges, read)
}

/// [`check_writes`] on each write's outcome and id range `[first, last]`. Pure.
pub fn check_write_ranges(writes: &[(OpOutcome, [u64; 2])], read: &[u64]) -> WriteCheck {
    let mut acked = BTreeSet::new();
    let mut uncertain = BTreeSet::new();
    for &(outcome, [a, b]) in writes {
        let target = match outcome {
            OpOutcome::Ok => &mut acked,
            OpOutcome::Info => &mut uncertain,
            OpOutcome::Fail => continue,
        };
        target.extend(a..=b);
    }
    let mut seen = BTreeMap::<u64, u32>::new();
    for id in read {
        *seen.entry(*id).or_default() += 1;
    }
    let lost: Vec<u64> = acked
        .iter()
        .filter(|id| !seen.contains_key(id))
        .copied()
        .collect();
    let duplicated: Vec<u64> = seen
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, _)| *id)
        .take(20)
        .collect();
    let unexpected: Vec<u64> = seen
        .keys()
        .filter(|id| !acked.contains(id) && !uncertain.contains(id))
        .copied()
        .take(20)
        .collect();
    WriteCheck {
        acknowledged: acked.len() as u64,
        uncertain: uncertain.len() as u64,
        read: read.len() as u64,
        lost_count: lost.len() as u64,
        lost: lost.into_iter().take(20).collect(),
        duplicated,
        unexpected,
        error: None,
    }
}

#[cfg(test)]
mod tests;
