//! The report of one chaos run: [`RunReport`], which is also `report.json`, and the helpers that
//! build its per-operation parts from the history. Pure data and pure functions.
//!
//! `report.json` is [`RunReport`] serialised as is. Times named `*_ms` are Unix milliseconds
//! unless said otherwise; versions are Spark versions as text (`3.5.7`).
//!
//! | field | JSON type | meaning |
//! |---|---|---|
//! | `schema` | integer | [`REPORT_SCHEMA`] (`2`); changed on any incompatible change |
//! | `tool_version` | string | the spark-chaos version that wrote the report |
//! | `scenario` | object | [`ScenarioInfo`]: `name`, `description`, `file`, `kind`, `platform`, `versions`, `text` (the TOML as run) |
//! | `started_ms`, `ended_ms` | integer | when the run started and ended |
//! | `workload` | object | [`WorkloadSpan`]: `start_ms`, `end_ms`, the workload's start and nominal end (absent when no workload ran) |
//! | `status` | object | [`RunStatus`]: `{"state": "completed"}`, `{"state": "interrupted"}` or `{"state": "failed", "error": "…"}` |
//! | `verdict` | string | the overall verdict: `valid`, `unknown` or `invalid` |
//! | `phases` | array | [`PhaseSpan`]: `name`, `start_ms`, `end_ms` |
//! | `checks` | array | `CheckResult`: `check`, `version` (absent for run-wide checks), `verdict`, `expected`, `observed`, `reason`, `details` |
//! | `faults` | array | `FaultRecord`: `id`, `kind`, `target`, `versions`, `params`, `injected_ms`, `healed_ms`, `detail`, `healed_by` |
//! | `recoveries` | array | [`RecoveryRow`]: `fault_id`, `version`, `heal_ms`, `first_ok_s`, `p99_back_s` (seconds after the heal, `null` if never), `verdict` |
//! | `error_classes` | array | [`ErrorClassRow`]: `version`, `class`, `count`, `first_ms`, `last_ms` |
//! | `queries` | array | [`QueryRow`]: per version and operation name, counts, latency percentiles (ms) and oracle verdicts; one `all queries` row per version |
//! | `wrong_answers` | array | [`WrongAnswer`]: `version`, `name`, `op`, `diff` |
//! | `writes` | array | [`WriteRow`]: `version`, `acknowledged`, `uncertain`, `read`, `lost_count`, `duplicated_count`, `error`, and the first 20 ids `lost`, `duplicated`, `unexpected` |
//! | `timeline` | array | [`TimelinePoint`]: `version`, `t_ms` (ms since `started_ms`), `latency_ms`, `outcome`, `kind`, `name`; every operation that did not succeed or started in a fault window, the others thinned to at most [`TIMELINE_POINTS`] per version and kind ([`timeline_from`]) |
//! | `throughput` | array | [`ThroughputRow`]: `version`, `t_s` (start of a 10 s bucket, s since `started_ms`), `ok`, `total`: every operation, counted exactly |
//! | `components` | array | [`ComponentRow`]: `id`, `version` (`null` for shared components), `restarts`, `last_exit` |
//! | `sections` | array | [`Section`], internally tagged by `kind`: `compat` (the compat run's [`CompatReport`] fields), `upgrade` (the [`UpgradeSummary`] fields), or `legacy` (`id`, `title`, `html`, `markdown`, `json`: a section pre-rendered by a schema 1 report) |
//! | `notes` | array of strings | findings in plain sentences |
//! | `report_dir` | string | the directory the report was written to |

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use crate::check::model::{CheckResult, Verdict};
use crate::check::upgrade::UpgradeSummary;
use crate::check::windows::{fault_interval, Interval};
use crate::compat::model::CompatReport;
use crate::fault::FaultRecord;
use crate::versions::SparkLine;
use crate::workload::history::{Op, OpKind, OpOutcome, OpVerdict};

/// The version of `report.json`'s layout. 2: `sections` are data ([`Section`]) rendered by each
/// renderer; in 1 they were pre-rendered fragments (read as [`Section::Legacy`]).
pub const REPORT_SCHEMA: u32 = 2;

/// The name of the per-version row of [`QueryRow`]s that totals every query (writes and the
/// read-back excluded).
pub const ALL_QUERIES: &str = "all queries";

/// Everything known about one chaos run, ready to render.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunReport {
    /// [`REPORT_SCHEMA`].
    pub schema: u32,
    /// The spark-chaos version (`env!("CARGO_PKG_VERSION")`).
    pub tool_version: String,
    /// The scenario as run.
    pub scenario: ScenarioInfo,
    /// Unix milliseconds at which the run started (the origin of every relative time).
    pub started_ms: u64,
    /// Unix milliseconds at which the run ended.
    pub ended_ms: u64,
    /// The workload's start and nominal end; None if no workload ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<WorkloadSpan>,
    /// How the run ended.
    pub status: RunStatus,
    /// The overall verdict.
    pub verdict: Verdict,
    /// The run's phases, in order.
    pub phases: Vec<PhaseSpan>,
    /// Every check's result, per version (or run-wide).
    pub checks: Vec<CheckResult>,
    /// Every fault injected.
    pub faults: Vec<FaultRecord>,
    /// How each version recovered from each fault.
    pub recoveries: Vec<RecoveryRow>,
    /// Error classes seen, per version.
    pub error_classes: Vec<ErrorClassRow>,
    /// Per version and operation name: outcomes, latencies, oracle verdicts ([`query_rows_from`]).
    pub queries: Vec<QueryRow>,
    /// Answers the oracle found wrong ([`wrong_answers_from`]).
    pub wrong_answers: Vec<WrongAnswer>,
    /// The write workload's read-back, per version.
    pub writes: Vec<WriteRow>,
    /// Operations for the charts, thinned ([`timeline_from`]).
    pub timeline: Vec<TimelinePoint>,
    /// Operations per version and 10-second bucket, counted exactly ([`throughput_from`]).
    #[serde(default)]
    pub throughput: Vec<ThroughputRow>,
    /// The environment's components and their restarts.
    pub components: Vec<ComponentRow>,
    /// Sections of other kinds of run (compatibility, upgrade), as data.
    #[serde(deserialize_with = "read_sections")]
    pub sections: Vec<Section>,
    /// Findings in plain sentences.
    pub notes: Vec<String>,
    /// The directory the report is written to (`reports/s3-outage-20261121T031500Z`).
    pub report_dir: String,
}

/// The scenario as run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScenarioInfo {
    /// Its name (`s3-outage`).
    pub name: String,
    /// One or two sentences saying what it does.
    pub description: String,
    /// The file it was read from.
    pub file: String,
    /// Its kind (`chaos`, `upgrade`, `compatibility`…).
    pub kind: String,
    /// The platform it ran on (`local`).
    pub platform: String,
    /// The Spark versions it ran against, in order (`3.5.7`, `4.1.0`).
    pub versions: Vec<String>,
    /// The scenario file's text as run.
    pub text: String,
}

/// The workload's start and nominal end, Unix milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WorkloadSpan {
    /// When the workload started (its warm-up included).
    pub start_ms: u64,
    /// When it was meant to end (final reads come after).
    pub end_ms: u64,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum RunStatus {
    /// Every phase ran.
    Completed,
    /// Stopped early (Ctrl-C, deadline): verdicts cover only what ran.
    Interrupted,
    /// The harness itself failed.
    Failed {
        /// What failed, for people.
        error: String,
    },
}

impl RunStatus {
    /// `completed`, `interrupted` or `failed`.
    pub fn as_str(&self) -> &'static str {
        match self {
            RunStatus::Completed => "completed",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Failed { .. } => "failed",
        }
    }
}

/// One phase of the run (`provision`, `data`, `warm-up`, `baseline`, `faults`, `recovery`,
/// `heal`, `final-reads`, `teardown`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PhaseSpan {
    /// The phase's name.
    pub name: String,
    /// Unix milliseconds at which it started.
    pub start_ms: u64,
    /// Unix milliseconds at which it ended.
    pub end_ms: u64,
}

/// How one version came back after one fault was healed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RecoveryRow {
    /// The fault's id (`f1`).
    pub fault_id: String,
    /// The Spark version.
    pub version: String,
    /// Unix milliseconds of the heal.
    pub heal_ms: u64,
    /// Seconds from the heal to the first `ok` operation started after it; None if none.
    pub first_ok_s: Option<f64>,
    /// Seconds from the heal until the rolling p99 was back within the baseline band; None if
    /// never.
    pub p99_back_s: Option<f64>,
    /// The recovery's verdict against the scenario's bound.
    pub verdict: Verdict,
}

/// One error class seen on one version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ErrorClassRow {
    /// The Spark version.
    pub version: String,
    /// Spark's error class, or `(fail)` / `(info)` when the operation had none.
    pub class: String,
    /// Operations that ended with it.
    pub count: u64,
    /// Unix milliseconds of the first.
    pub first_ms: u64,
    /// Unix milliseconds of the last.
    pub last_ms: u64,
}

/// Outcomes, latencies and oracle verdicts of one operation name on one version, warm-up
/// excluded. Latencies are from the intended start (so a stall is charged in full), over every
/// outcome, in milliseconds; percentiles are exact (nearest rank).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct QueryRow {
    /// The Spark version.
    pub version: String,
    /// The query (`q3`), `write`, `read-back`, or [`ALL_QUERIES`] for the version's total.
    pub name: String,
    /// Operations.
    pub count: u64,
    /// `ok` outcomes.
    pub ok: u64,
    /// `fail` outcomes.
    pub fail: u64,
    /// `info` outcomes (unknown).
    pub info: u64,
    /// Median latency.
    pub p50_ms: f64,
    /// 95th percentile latency.
    pub p95_ms: f64,
    /// 99th percentile latency.
    pub p99_ms: f64,
    /// Maximum latency.
    pub max_ms: f64,
    /// Answers the oracle found correct.
    pub correct: u64,
    /// Answers the oracle found wrong.
    pub wrong: u64,
    /// Answers the oracle could not decide.
    pub undetermined: u64,
}

/// An answer the oracle found wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WrongAnswer {
    /// The Spark version.
    pub version: String,
    /// The query (`q3`).
    pub name: String,
    /// The operation's sequence number in the history.
    pub op: u64,
    /// The oracle's readable diff.
    pub diff: String,
}

/// The write workload's final read-back on one version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WriteRow {
    /// The Spark version.
    pub version: String,
    /// Ids whose insert was acknowledged.
    pub acknowledged: u64,
    /// Ids whose insert outcome is unknown.
    pub uncertain: u64,
    /// Ids read back.
    pub read: u64,
    /// Acknowledged ids missing from the read-back.
    pub lost_count: u64,
    /// Ids read back more than once.
    pub duplicated_count: u64,
    /// Why the read-back failed, if it did.
    pub error: Option<String>,
    /// Acknowledged ids missing from the read-back (the first 20).
    #[serde(default)]
    pub lost: Vec<u64>,
    /// Ids read back more than once (the first 20).
    #[serde(default)]
    pub duplicated: Vec<u64>,
    /// Ids read back that were never attempted or definitely failed (the first 20).
    #[serde(default)]
    pub unexpected: Vec<u64>,
}

/// One operation, compactly, for the charts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TimelinePoint {
    /// The Spark version.
    pub version: String,
    /// Milliseconds from the run's start to the operation's intended start.
    pub t_ms: u64,
    /// Milliseconds from the intended start to the end.
    pub latency_ms: f64,
    /// How it ended.
    pub outcome: OpOutcome,
    /// Query, write or read-back.
    pub kind: OpKind,
    /// The query's name (`q3`), or `write` / `read-back`.
    pub name: String,
}

/// Operations of one version whose intended start fell in one 10-second bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ThroughputRow {
    /// The Spark version.
    pub version: String,
    /// The bucket's start, seconds since the run's start (a multiple of 10).
    pub t_s: u64,
    /// `ok` outcomes.
    pub ok: u64,
    /// Every outcome.
    pub total: u64,
}

/// One component of the environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ComponentRow {
    /// Its id (`connect35`, `minio`).
    pub id: String,
    /// The Spark version it serves; None for shared components (PostgreSQL, MinIO).
    pub version: Option<String>,
    /// Restarts during the run.
    pub restarts: u32,
    /// How it last exited (`signal 9 (SIGKILL)`), if it did.
    pub last_exit: Option<String>,
}

/// A part of the report that only some kinds of run have, as data; every renderer renders it
/// (HTML and Markdown through [`super::compat`] and [`super::upgrade`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Section {
    /// What a compat run found (`kind = "compat"`).
    Compat(Box<CompatReport>),
    /// An upgrade under load: the switches and what the clients saw (`kind = "upgrade"`).
    Upgrade(Box<UpgradeSummary>),
    /// A benchmark: per-query timings, ratios and Spark's metrics (`kind = "bench"`).
    Bench(Box<crate::bench::model::BenchReport>),
    /// A section a schema 1 report carried pre-rendered (`kind = "legacy"`; in schema 1 the
    /// entry had no `kind`).
    Legacy(LegacySection),
}

impl Section {
    /// An identifier (`compat`, `upgrade`), used as the HTML anchor.
    pub fn id(&self) -> &str {
        match self {
            Section::Compat(_) => "compat",
            Section::Upgrade(_) => "upgrade",
            Section::Bench(_) => "bench",
            Section::Legacy(l) => &l.id,
        }
    }

    /// Its finding in one line, for the acceptance report: the compat summary (unexplained
    /// differences), the upgrade measurements, the bench's parity verdict.
    pub fn highlight(&self) -> Option<String> {
        match self {
            Section::Compat(r) => {
                let s = &r.summary;
                Some(format!(
                    "{} statements: {} identical, {} expected differences (documented changes), {} unexplained, {} undetermined",
                    s.statements, s.identical, s.expected, s.unexplained, s.undetermined
                ))
            }
            Section::Upgrade(u) => {
                let parts: Vec<String> = u
                    .measures
                    .iter()
                    .map(|m| {
                        format!(
                            "{} {} → {}: failing {:.1} s, {} failed, {} unknown",
                            m.label, m.from, m.to, m.failing_s, m.failed, m.unknown
                        )
                    })
                    .collect();
                Some(format!(
                    "{} upgrade; {}",
                    u.style.as_str(),
                    parts.join("; ")
                ))
            }
            Section::Bench(b) => Some(b.parity.clone()),
            Section::Legacy(_) => None,
        }
    }

    /// The section's title.
    pub fn title(&self) -> String {
        match self {
            Section::Compat(r) => super::compat::title(r),
            Section::Upgrade(u) => super::upgrade::title(u),
            Section::Bench(b) => super::bench::title(b),
            Section::Legacy(l) => l.title.clone(),
        }
    }
}

/// A section as schema 1 stored it: rendered by its producer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LegacySection {
    /// An identifier, used as the HTML anchor.
    pub id: String,
    /// The section's title.
    pub title: String,
    /// An HTML fragment, inserted as is: its producer escaped every text it contains.
    pub html: String,
    /// The same content as Markdown.
    pub markdown: String,
    /// The same content as data.
    pub json: serde_json::Value,
}

/// Reads `sections`: an entry with a `kind` is a [`Section`]; one without (schema 1) is a
/// [`LegacySection`].
pub(crate) fn read_sections<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Section>, D::Error> {
    use serde::de::Error as _;
    Vec::<serde_json::Value>::deserialize(d)?
        .into_iter()
        .map(|v| match v.get("kind") {
            Some(_) => Section::deserialize(v),
            None => LegacySection::deserialize(v).map(Section::Legacy),
        })
        .collect::<Result<_, _>>()
        .map_err(D::Error::custom)
}

/// The most points [`timeline_from`] keeps per version and operation kind besides those it
/// always keeps.
pub const TIMELINE_POINTS: usize = 2000;

/// Milliseconds from `started_ms` to an operation's intended start (0 if before).
fn t_ms(o: &Op, started_ms: u64) -> u64 {
    (o.intended_us / 1000).saturating_sub(started_ms)
}

/// The points of the charts, sorted by intended start (history order among equals), warm-up
/// included. Always kept: every operation that did not succeed, every one whose intended start
/// falls in the window of a fault affecting its version (drawn as the checks draw it, see
/// [`fault_interval`]) and the last of each series. The other operations of a series (version
/// × kind) are kept as they are up to [`TIMELINE_POINTS`]; beyond, their time span is cut into
/// `TIMELINE_POINTS / 2` slices and each slice keeps its fastest and its slowest operation, so
/// that spikes survive. Memory: one byte per operation besides the points kept.
pub fn timeline_from(
    history: &[Op],
    started_ms: u64,
    faults: &[FaultRecord],
) -> Vec<TimelinePoint> {
    let windows: Vec<(SparkLine, Vec<Interval>)> = SparkLine::ALL
        .iter()
        .map(|l| {
            let w = faults
                .iter()
                .filter(|f| f.affects(l.version()))
                .map(|f| fault_interval(f, None))
                .collect();
            (*l, w)
        })
        .collect();
    let always = |o: &Op| {
        o.outcome != OpOutcome::Ok
            || windows
                .iter()
                .any(|(l, w)| *l == o.version && w.iter().any(|i| i.contains(o.intended_us)))
    };
    // Pass 1: the ordinary operations of each series, their time span and the last one.
    #[derive(Default)]
    struct Series {
        count: usize,
        lo: u64,
        hi: u64,
        last: usize,
        slices: Vec<Option<(usize, usize)>>,
    }
    let mut keep = vec![false; history.len()];
    let mut series: BTreeMap<(SparkLine, OpKind), Series> = BTreeMap::new();
    for (i, o) in history.iter().enumerate() {
        let t = t_ms(o, started_ms);
        let s = series.entry((o.version, o.kind)).or_insert(Series {
            lo: t,
            hi: t,
            ..Series::default()
        });
        if t >= s.hi {
            s.last = i;
        }
        s.hi = s.hi.max(t);
        if always(o) {
            keep[i] = true;
        } else {
            s.count += 1;
            s.lo = s.lo.min(t);
        }
    }
    // Pass 2: thin the series that have too many, keeping each slice's extremes.
    let slices = TIMELINE_POINTS / 2;
    for s in series.values_mut() {
        keep[s.last] = true;
        if s.count > TIMELINE_POINTS {
            s.slices = vec![None; slices];
        }
    }
    for (i, o) in history.iter().enumerate() {
        if keep[i] {
            continue;
        }
        let s = series
            .get_mut(&(o.version, o.kind))
            .expect("every series was seen in pass 1");
        if s.slices.is_empty() {
            keep[i] = true;
            continue;
        }
        let span = (s.hi - s.lo + 1) as u128;
        let slice = ((t_ms(o, started_ms) - s.lo) as u128 * slices as u128 / span) as usize;
        let lat = o.latency_us();
        let entry = &mut s.slices[slice.min(slices - 1)];
        match entry {
            None => *entry = Some((i, i)),
            Some((fast, slow)) => {
                if lat < history[*fast].latency_us() {
                    *fast = i;
                }
                if lat > history[*slow].latency_us() {
                    *slow = i;
                }
            }
        }
    }
    for s in series.values() {
        for (fast, slow) in s.slices.iter().flatten() {
            keep[*fast] = true;
            keep[*slow] = true;
        }
    }
    let mut points: Vec<TimelinePoint> = history
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(o, _)| TimelinePoint {
            version: o.version.to_string(),
            t_ms: t_ms(o, started_ms),
            latency_ms: o.latency_us() as f64 / 1000.0,
            outcome: o.outcome,
            kind: o.kind,
            name: o.name.to_string(),
        })
        .collect();
    points.sort_by_key(|p| p.t_ms);
    points
}

/// Every operation (warm-up included, like the charts) counted per version and 10-second
/// bucket of its intended start; buckets without operations are left out.
pub fn throughput_from(history: &[Op], started_ms: u64) -> Vec<ThroughputRow> {
    let mut buckets: BTreeMap<(SparkLine, u64), (u64, u64)> = BTreeMap::new();
    for o in history {
        let b = buckets
            .entry((o.version, t_ms(o, started_ms) / 10_000))
            .or_default();
        b.1 += 1;
        if o.outcome == OpOutcome::Ok {
            b.0 += 1;
        }
    }
    buckets
        .into_iter()
        .map(|((line, b), (ok, total))| ThroughputRow {
            version: line.to_string(),
            t_s: b * 10,
            ok,
            total,
        })
        .collect()
}

/// Per version: one [`QueryRow`] per query (`q2` before `q10`), the [`ALL_QUERIES`] total if
/// there were queries, then writes and the read-back. Warm-up operations are excluded.
/// Percentiles are exact: each group keeps its latencies (8 bytes per operation).
pub fn query_rows_from(history: &[Op]) -> Vec<QueryRow> {
    let mut groups: BTreeMap<GroupKey, Group> = BTreeMap::new();
    for r in history.iter().filter(|r| !r.warmup) {
        groups
            .entry((r.version, r.kind, natural(&r.name), &r.name))
            .or_default()
            .add(r);
    }
    for g in groups.values_mut() {
        g.latencies_us.sort_unstable();
    }
    let mut rows = Vec::new();
    for line in SparkLine::ALL {
        let (queries, others): (Vec<_>, Vec<_>) = groups
            .iter()
            .filter(|((v, ..), _)| *v == line)
            .partition(|((_, kind, ..), _)| *kind == OpKind::Query);
        for ((.., name), g) in &queries {
            rows.push(g.row(line, name));
        }
        if !queries.is_empty() {
            let mut all = Group::default();
            for (_, g) in &queries {
                all.merge(g);
            }
            all.latencies_us.sort_unstable();
            rows.push(all.row(line, ALL_QUERIES));
        }
        for ((.., name), g) in &others {
            rows.push(g.row(line, name));
        }
    }
    rows
}

/// Groups of [`query_rows_from`]: version, kind, natural sort key, name.
type GroupKey<'a> = (SparkLine, OpKind, (String, u64), &'a str);

/// What one row of [`query_rows_from`] is computed from.
#[derive(Default)]
struct Group {
    latencies_us: Vec<u64>,
    ok: u64,
    fail: u64,
    correct: u64,
    wrong: u64,
    undetermined: u64,
}

impl Group {
    fn add(&mut self, r: &Op) {
        self.latencies_us.push(r.latency_us());
        match r.outcome {
            OpOutcome::Ok => self.ok += 1,
            OpOutcome::Fail => self.fail += 1,
            OpOutcome::Info => {}
        }
        match r.verdict {
            Some(OpVerdict::Correct) => self.correct += 1,
            Some(OpVerdict::Wrong) => self.wrong += 1,
            Some(OpVerdict::Undetermined) => self.undetermined += 1,
            None => {}
        }
    }

    fn merge(&mut self, g: &Group) {
        self.latencies_us.extend_from_slice(&g.latencies_us);
        self.ok += g.ok;
        self.fail += g.fail;
        self.correct += g.correct;
        self.wrong += g.wrong;
        self.undetermined += g.undetermined;
    }

    /// The row; `latencies_us` sorted.
    fn row(&self, line: SparkLine, name: &str) -> QueryRow {
        let latencies = &self.latencies_us;
        let count = latencies.len() as u64;
        QueryRow {
            version: line.to_string(),
            name: name.to_string(),
            count,
            ok: self.ok,
            fail: self.fail,
            info: count - self.ok - self.fail,
            p50_ms: percentile_ms(latencies, 0.50),
            p95_ms: percentile_ms(latencies, 0.95),
            p99_ms: percentile_ms(latencies, 0.99),
            max_ms: latencies.last().copied().unwrap_or(0) as f64 / 1000.0,
            correct: self.correct,
            wrong: self.wrong,
            undetermined: self.undetermined,
        }
    }
}

/// Every answer the oracle found wrong, warm-up excluded (like the verdict counts of
/// [`query_rows_from`], so there are as many as the rows' `wrong` say), in history order.
pub fn wrong_answers_from(history: &[Op]) -> Vec<WrongAnswer> {
    history
        .iter()
        .filter(|r| !r.warmup && r.verdict == Some(OpVerdict::Wrong))
        .map(|r| WrongAnswer {
            version: r.version.to_string(),
            name: r.name.to_string(),
            op: r.op,
            diff: r.verdict_detail().unwrap_or_default().to_string(),
        })
        .collect()
}

/// The nearest-rank percentile of sorted microseconds, in milliseconds (0 when empty).
fn percentile_ms(sorted_us: &[u64], q: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted_us.len() as f64).ceil() as usize;
    sorted_us[rank.clamp(1, sorted_us.len()) - 1] as f64 / 1000.0
}

/// Sort key that puts `q2` before `q10` (and `q14a` after `q14`).
fn natural(name: &str) -> (String, u64) {
    let digits: String = name.chars().filter(|c| c.is_ascii_digit()).collect();
    let rest: String = name.chars().filter(|c| !c.is_ascii_digit()).collect();
    (rest, digits.parse().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::history::OpRecord;

    fn rec(op: u64, v: SparkLine, name: &str, latency_ms: u64, outcome: &str) -> OpRecord {
        let kind = match name {
            "write" => OpKind::Write,
            "read-back" => OpKind::ReadBack,
            _ => OpKind::Query,
        };
        OpRecord {
            op,
            kind,
            version: v,
            endpoint: "sc://127.0.0.1:15002".into(),
            name: name.into(),
            warmup: false,
            intended_us: 1_000_000_000 + op * 1_000_000,
            start_us: 1_000_000_000 + op * 1_000_000,
            end_us: 1_000_000_000 + op * 1_000_000 + latency_ms * 1000,
            outcome: outcome.parse().expect("an outcome"),
            error_class: None,
            sql_state: None,
            message: None,
            rows: None,
            checksum: None,
            verdict: (kind == OpKind::Query && outcome == "ok").then_some(OpVerdict::Correct),
            verdict_detail: None,
            ids: None,
        }
    }

    #[test]
    fn percentiles_are_exact_nearest_rank_over_every_outcome() {
        // q3 on 3.5.7: 1..=100 ms, one of them a failure; warm-up outliers are ignored.
        let mut history: Vec<OpRecord> = (1..=100)
            .map(|i| {
                rec(
                    i,
                    SparkLine::V3_5,
                    "q3",
                    i,
                    if i == 100 { "fail" } else { "ok" },
                )
            })
            .collect();
        let mut warm = rec(101, SparkLine::V3_5, "q3", 90_000, "ok");
        warm.warmup = true;
        history.push(warm);
        let rows = query_rows_from(&Op::all(&history));
        let q3 = &rows[0];
        assert_eq!(
            (q3.name.as_str(), q3.count, q3.ok, q3.fail),
            ("q3", 100, 99, 1)
        );
        assert_eq!(
            (q3.p50_ms, q3.p95_ms, q3.p99_ms, q3.max_ms),
            (50.0, 95.0, 99.0, 100.0)
        );
        assert_eq!((q3.correct, q3.wrong), (99, 0));
        // Four values: the median is the second.
        let small: Vec<OpRecord> = [10, 40, 20, 30]
            .iter()
            .enumerate()
            .map(|(i, ms)| rec(i as u64, SparkLine::V4_1, "q7", *ms, "ok"))
            .collect();
        let q7 = &query_rows_from(&Op::all(&small))[0];
        assert_eq!(
            (q7.p50_ms, q7.p95_ms, q7.p99_ms, q7.max_ms),
            (20.0, 40.0, 40.0, 40.0)
        );
    }

    #[test]
    fn rows_are_ordered_naturally_with_the_total_before_writes() {
        let history = vec![
            rec(1, SparkLine::V4_1, "q10", 30, "ok"),
            rec(2, SparkLine::V3_5, "write", 5, "ok"),
            rec(3, SparkLine::V3_5, "q10", 10, "info"),
            rec(4, SparkLine::V3_5, "q2", 20, "ok"),
            rec(5, SparkLine::V3_5, "read-back", 50, "ok"),
        ];
        let rows = query_rows_from(&Op::all(&history));
        let names: Vec<(&str, &str)> = rows
            .iter()
            .map(|r| (r.version.as_str(), r.name.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("3.5.7", "q2"),
                ("3.5.7", "q10"),
                ("3.5.7", ALL_QUERIES),
                ("3.5.7", "write"),
                ("3.5.7", "read-back"),
                ("4.1.0", "q10"),
                ("4.1.0", ALL_QUERIES),
            ]
        );
        let total = &rows[2];
        assert_eq!((total.count, total.ok, total.info), (2, 1, 1));
        assert_eq!((total.p50_ms, total.max_ms), (10.0, 20.0));
    }

    #[test]
    fn wrong_answers_and_timeline_come_from_the_history() {
        let mut wrong = rec(7, SparkLine::V4_1, "q19", 120, "ok");
        wrong.verdict = Some(OpVerdict::Wrong);
        wrong.verdict_detail = Some("row 1: expected 3, got 4".into());
        let mut warm_wrong = wrong.clone();
        warm_wrong.warmup = true;
        let history = vec![rec(9, SparkLine::V3_5, "q3", 5, "fail"), wrong, warm_wrong];
        assert_eq!(
            wrong_answers_from(&Op::all(&history)),
            [WrongAnswer {
                version: "4.1.0".into(),
                name: "q19".into(),
                op: 7,
                diff: "row 1: expected 3, got 4".into(),
            }]
        );
        let timeline = timeline_from(&Op::all(&history), 1_000_000, &[]);
        assert_eq!(timeline.len(), 3, "warm-up is on the timeline");
        assert_eq!((timeline[0].t_ms, timeline[0].latency_ms), (7_000, 120.0));
        assert_eq!(timeline[2].t_ms, 9_000);
        assert_eq!(timeline[2].outcome, OpOutcome::Fail);
    }

    #[test]
    fn a_long_timeline_is_thinned_but_keeps_failures_fault_windows_and_spikes() {
        // 20 000 queries on 3.5.7, one per 100 ms: every 97th fails, one spike, and a fault
        // from 600 s to 700 s; 10 queries on 4.1.0, kept as they are.
        let mut history: Vec<OpRecord> = (0..20_000u64)
            .map(|i| {
                let mut r = rec(i, SparkLine::V3_5, "q3", 10 + i % 7, "ok");
                r.intended_us = 1_000_000_000 + i * 100_000;
                r.start_us = r.intended_us;
                r.end_us = r.intended_us + (10 + i % 7) * 1000;
                if i % 97 == 0 {
                    r.outcome = OpOutcome::Fail;
                }
                if i == 12_345 {
                    r.end_us += 60_000_000;
                }
                r
            })
            .collect();
        history.extend((0..10).map(|i| rec(30_000 + i, SparkLine::V4_1, "q7", 5, "ok")));
        let fault = FaultRecord {
            id: "f1".into(),
            kind: "s3-outage".into(),
            target: "s3".into(),
            versions: vec!["3.5.7".into()],
            params: Default::default(),
            injected_ms: 1_000_000 + 600_000,
            healed_ms: Some(1_000_000 + 700_000),
            detail: String::new(),
            healed_by: None,
        };
        let ops = Op::all(&history);
        let points = timeline_from(&ops, 1_000_000, std::slice::from_ref(&fault));
        let of = |v: &str| points.iter().filter(|p| p.version == v).count();
        let failures = history
            .iter()
            .filter(|r| r.outcome != OpOutcome::Ok)
            .count();
        let in_fault = (6_000..7_000).filter(|i| i % 97 != 0).count();
        assert!(
            of("3.5.7") <= TIMELINE_POINTS + failures + in_fault + 1,
            "{}",
            of("3.5.7")
        );
        assert!(
            of("3.5.7") > failures + in_fault,
            "ordinary points are kept too"
        );
        assert_eq!(of("4.1.0"), 10, "a short series is kept whole");
        let fails = points
            .iter()
            .filter(|p| p.outcome == OpOutcome::Fail)
            .count();
        assert_eq!(fails, failures, "every failure is kept");
        let window = points
            .iter()
            .filter(|p| p.version == "3.5.7" && (600_000..700_000).contains(&p.t_ms))
            .count();
        assert_eq!(window, 1_000, "every operation in the fault window is kept");
        assert!(
            points.iter().any(|p| p.latency_ms > 60_000.0),
            "the spike survives"
        );
        let last = points
            .iter()
            .filter(|p| p.version == "3.5.7")
            .map(|p| p.t_ms)
            .max();
        assert_eq!(last, Some(1_999_900), "the last operation is kept");
        assert!(points.windows(2).all(|w| w[0].t_ms <= w[1].t_ms), "sorted");
        assert_eq!(
            timeline_from(&ops, 1_000_000, &[fault]),
            points,
            "deterministic"
        );
        // Throughput still counts every operation.
        let rows = throughput_from(&ops, 1_000_000);
        assert_eq!(rows.iter().map(|r| r.total).sum::<u64>(), 20_010);
        let first = &rows[0];
        assert_eq!(
            (first.version.as_str(), first.t_s, first.total),
            ("3.5.7", 0, 100)
        );
        assert_eq!(first.ok, 100 - 2, "ops 0 and 97 failed");
    }
}
