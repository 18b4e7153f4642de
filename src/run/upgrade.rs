//! `kind = "upgrade"`: a workload running against one Spark version is moved to the other and,
//! optionally, back (a rehearsed roll-back), blue/green or in place; what the clients saw at
//! each switch is measured.
//!
//! # How a run goes
//!
//! - **One endpoint.** Clients use the environment's cut-over endpoints (the `edge-R` links,
//!   one per Connect replica, see `plan.rs`): proxies hosted by the supervisor that forward to
//!   one version's Connect servers at a time. A route change is written to
//!   `faults/routes.json`; the supervisor points the edges at the new side, resets their open
//!   connections (clients reconnect to the new side, as behind a load balancer) and
//!   acknowledges; the runner waits for that (see `links.rs`).
//! - **Blue/green**: both versions' Connect servers run throughout; a switch is the route
//!   change.
//! - **In place**: before the load starts, the target version's Connect servers are stopped and
//!   held down. A switch stops (SIGTERM) and holds the old side's servers, routes the edges to
//!   the new side and releases its hold; the runner then waits until the new side answers
//!   through the edge and until the supervisor reports it ready. A roll-back does the reverse. Every hold is a `stop` fault in the ledger owned by this
//!   process, so the normal end, an error, Ctrl-C, a panic (`HealGuard`) or a SIGKILL (the next
//!   command's recovery) releases it.
//! - **Writes** go to one external Parquet table created before the load at one S3 location
//!   (`s3a://<bucket>/upgrade/<run>/writes`) in *both* metastores, each through its own
//!   version, so both versions write and read the same files. After each switch, once the new
//!   side answers through the edge, every id acknowledged before the switch is read back there
//!   (after `REFRESH TABLE`: the other version wrote files this one's cached listing lacks). At
//!   the end every write is read back on both versions (the normal `lost_writes` and
//!   `duplicated_writes` checks use those).
//! - Each operation records the version it was routed to at its start.
//! - Faults (`[[fault]]`) are optional and scheduled as in a chaos run.
//!
//! # Measures, per switch ([`measure`], pure)
//!
//! Only queries and writes count (not read-backs), in order of their actual start.
//!
//! - **Unavailability** (upper bound): from the switch to the start of the first `ok` operation
//!   routed to the new version. It includes the wait for the next arrival, so it is at least the
//!   gap between operations. **Failing** (lower bound): from the switch to the start of the last
//!   operation that did not succeed before that first `ok` one (0 when none failed). **First
//!   answer**: to the end of the first `ok` operation on the new version (a cold server answers
//!   its first queries slowly). **Answered**: when the runner's own session through the edge
//!   first got an answer from the new version (polled every 200 ms).
//! - **Streak**: the consecutive non-`ok` operations around the switch: those in flight at the
//!   switch that ended non-`ok`, then those started after it until the first `ok` one.
//! - **Failed / unknown**: `fail` / `info` operations in flight at some point of
//!   [switch, switch + 60 s].
//! - **Sessions lost**: of those, the ones the server answered with "I do not have this session
//!   or operation": an error class or message naming `INVALID_HANDLE`, `SESSION_CHANGED`,
//!   `SESSION_NOT_FOUND`, `SESSION_CLOSED` or `OPERATION_NOT_FOUND` (e.g. an operation in flight
//!   at the switch that the client reattaches to on the new side). A connection reset alone is
//!   not counted (it says nothing about the session: in place, the new server may not even be
//!   up yet), nor a refused connection or a passed deadline. A session the new side silently
//!   starts afresh (Spark 3.5 does for an id it does not know) cannot be seen from errors: Spark
//!   sessions never survive a switch.
//! - **Lost writes**: ids acknowledged before the switch missing on the new side.
//! - **Wrong answers**: the oracle's `wrong` verdicts from the switch to the next one (or the
//!   end).
//!
//! Checks (run-wide): `upgrade_unavailability` — every switch's upper bound within
//! `recovery_within` when the scenario states it, else within 60 s; a switch never served by the
//! new side is invalid once that long has been observed, unknown before. `upgrade_lost_writes`
//! — at most `lost_writes` (default 0) over the switches' read-backs. `upgrade_wrong_answers` —
//! none after any switch.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{schedule, Parts, Phases, RunOptions};
use crate::check::{CheckResult, Verdict};
use crate::client::{Session, SessionOptions};
use crate::fault::inject;
use crate::fault::ledger::Owner;
use crate::paths::EnvHome;
use crate::platform::local::links;
use crate::platform::local::plan::{Plan, Role};
use crate::platform::local::state::{now_ms, EnvState, Status};
use crate::report::ExtraSection;
use crate::scenario::model::{Scenario, UpgradeSpec, UpgradeStyle};
use crate::text::xml_escape;
use crate::versions::SparkLine;
use crate::workload::assemble as wl;
use crate::workload::history::{OpKind, OpRecord};
use crate::workload::load::{self, LoadOptions, ServingVersion};

/// How long after a switch failed and unknown operations are counted.
pub const SWITCH_WINDOW: Duration = Duration::from_secs(60);
/// The unavailability allowed per switch when the scenario states no `recovery_within`.
pub const DEFAULT_MAX_UNAVAILABILITY: Duration = Duration::from_secs(60);
/// How many ids a list of missing ones keeps.
pub const LIST_CAP: usize = 20;
/// How long the supervisor may take to apply a route.
const ROUTE_ACK_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a held Connect server may take to stop after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(90);
/// How long a released Connect server may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(600);
/// How long the new side may take to answer through the edge once routed (and ready).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);
/// Attempts of a read-back (a fresh side may still be warming up).
const READ_BACK_ATTEMPTS: u32 = 3;

/// One switch to make: `to` at `after_warmup`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Planned {
    label: &'static str,
    from: SparkLine,
    to: SparkLine,
    after_warmup: Duration,
}

/// The switches an `[upgrade]` table asks for, in time order.
fn planned(spec: &UpgradeSpec) -> Vec<Planned> {
    let mut out = vec![Planned {
        label: "cut-over",
        from: spec.from,
        to: spec.to,
        after_warmup: spec.cutover_at.get(),
    }];
    if let Some(rb) = spec.rollback_at {
        out.push(Planned {
            label: "roll-back",
            from: spec.to,
            to: spec.from,
            after_warmup: rb.get(),
        });
    }
    out
}

/// One switch as it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Switch {
    /// `cut-over` or `roll-back`.
    pub label: String,
    /// The version clients left.
    pub from: SparkLine,
    /// The version clients moved to.
    pub to: SparkLine,
    /// When it began (Unix ms): every measure starts here.
    pub at_ms: u64,
    /// When the edges routed to `to` (the supervisor's acknowledgement).
    pub routed_ms: Option<u64>,
    /// When `to` first answered the runner through the edge.
    pub answered_ms: Option<u64>,
    /// What was done, in order, for people.
    pub steps: Vec<String>,
    /// The read-back on `to` of the writes acknowledged before the switch.
    pub read_back: Option<ReadBack>,
    /// Why the switch did not complete.
    pub error: Option<String>,
}

impl Switch {
    /// A switch beginning now.
    fn begin(p: Planned) -> Switch {
        Switch {
            label: p.label.to_string(),
            from: p.from,
            to: p.to,
            at_ms: now_ms(),
            routed_ms: None,
            answered_ms: None,
            steps: vec![],
            read_back: None,
            error: None,
        }
    }
}

/// The read-back after a switch of the writes acknowledged before it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadBack {
    /// The version that answered it.
    pub version: String,
    /// Ids acknowledged before the switch.
    pub acknowledged: u64,
    /// Rows read back (every id in the table at that moment).
    pub read: u64,
    /// How many acknowledged ids are missing.
    pub missing_count: u64,
    /// The first [`LIST_CAP`] missing ids.
    pub missing: Vec<u64>,
    /// Why the read-back failed, if it did.
    pub error: Option<String>,
}

/// What the clients saw at one switch (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SwitchMeasure {
    /// `cut-over` or `roll-back`.
    pub label: String,
    /// The version clients left.
    pub from: String,
    /// The version clients moved to.
    pub to: String,
    /// When the switch began (Unix ms).
    pub at_ms: u64,
    /// Seconds to the start of the first `ok` operation routed to `to`; None when there was
    /// none.
    pub unavailable_s: Option<f64>,
    /// Seconds to the start of the last non-`ok` operation before that one (0: none failed).
    pub failing_s: f64,
    /// Seconds to the end of the first `ok` operation on `to` started after the switch.
    pub first_answer_s: Option<f64>,
    /// Seconds until `to` answered the runner through the edge.
    pub answered_s: Option<f64>,
    /// Seconds the switch was observed for (to the next switch or the end).
    pub observed_s: f64,
    /// Consecutive non-`ok` operations around the switch.
    pub streak_ops: u64,
    /// Seconds from the start of the streak's first operation to the first `ok` one after it.
    pub streak_s: Option<f64>,
    /// `fail` operations in flight during the switch window.
    pub failed: u64,
    /// `info` operations in flight during the switch window.
    pub unknown: u64,
    /// Of those, operations whose session or operation was lost.
    pub sessions_lost: u64,
    /// Results the oracle judged from the switch to the next one (or the end).
    pub judged: u64,
    /// Of those, wrong ones.
    pub wrong_answers: u64,
    /// Ids acknowledged before the switch and found on the new side.
    pub writes_verified: Option<u64>,
    /// Ids acknowledged before the switch and missing on the new side.
    pub writes_missing: Option<u64>,
}

/// The upgrade section's data (`report.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpgradeSummary {
    /// `blue-green` or `in-place`.
    pub style: UpgradeStyle,
    /// The version the workload started on.
    pub from: String,
    /// The version it moved to.
    pub to: String,
    /// The cut-over endpoints the clients used.
    pub endpoints: Vec<String>,
    /// The shared write table and its location.
    pub table: Option<String>,
    /// Where its files are.
    pub location: Option<String>,
    /// The workload's start (Unix ms), the origin of every offset shown.
    pub workload_start_ms: u64,
    /// The workload's nominal end (Unix ms).
    pub workload_end_ms: u64,
    /// Each switch as it happened.
    pub switches: Vec<Switch>,
    /// What the clients saw at each.
    pub measures: Vec<SwitchMeasure>,
}

// ---------------------------------------------------------------------------------------------
// Measures (pure)
// ---------------------------------------------------------------------------------------------

/// Queries and writes that started, in order of their actual start.
fn client_ops(history: &[OpRecord]) -> Vec<&OpRecord> {
    let mut ops: Vec<&OpRecord> = history
        .iter()
        .filter(|r| matches!(r.kind, OpKind::Query | OpKind::Write) && r.start_us > 0)
        .collect();
    ops.sort_by_key(|r| (r.start_us, r.op));
    ops
}

/// The earliest end of an `ok` op routed to `to` that started at or after `at_us`.
pub fn first_answer(ops: &[&OpRecord], at_us: u64, to: SparkLine) -> Option<u64> {
    ops.iter()
        .filter(|r| r.start_us >= at_us && r.outcome == "ok" && r.version == to)
        .map(|r| r.end_us)
        .min()
}

/// (start of the first `ok` op routed to `to` started at or after `at_us`, start of the last
/// non-`ok` op started in between — `at_us` when none).
pub fn unavailability(ops: &[&OpRecord], at_us: u64, to: SparkLine) -> (Option<u64>, u64) {
    let after = ops.iter().filter(|r| r.start_us >= at_us);
    let first_ok = after
        .clone()
        .find(|r| r.outcome == "ok" && r.version == to)
        .map(|r| r.start_us);
    let last_bad = after
        .filter(|r| r.outcome != "ok" && first_ok.is_none_or(|ok| r.start_us < ok))
        .map(|r| r.start_us)
        .max()
        .unwrap_or(at_us);
    (first_ok, last_bad)
}

/// The streak of consecutive non-`ok` ops around `at_us` (in flight at it and ended non-`ok`,
/// then started after it): (how many, the start of its first op).
pub fn streak(ops: &[&OpRecord], at_us: u64) -> (u64, Option<u64>) {
    let split = ops.partition_point(|r| r.start_us < at_us);
    let before = ops[..split]
        .iter()
        .rev()
        .take_while(|r| r.outcome != "ok" && r.end_us >= at_us);
    let after = ops[split..].iter().take_while(|r| r.outcome != "ok");
    let first = before
        .clone()
        .last()
        .or_else(|| after.clone().next())
        .map(|r| r.start_us);
    ((before.count() + after.count()) as u64, first)
}

/// Whether an operation's failure says the server no longer had its session or operation (see
/// the module documentation for the rule).
pub fn session_lost(r: &OpRecord) -> bool {
    const NAMED: [&str; 5] = [
        "INVALID_HANDLE",
        "SESSION_CHANGED",
        "SESSION_NOT_FOUND",
        "SESSION_CLOSED",
        "OPERATION_NOT_FOUND",
    ];
    let class = r.error_class.as_deref().unwrap_or("");
    let message = r.message.as_deref().unwrap_or("");
    r.outcome != "ok"
        && NAMED
            .iter()
            .any(|n| class.contains(n) || message.contains(n))
}

/// (failed, unknown, sessions lost) among ops in flight at some point of `[at_us, until_us)`.
pub fn window_failures(ops: &[&OpRecord], at_us: u64, until_us: u64) -> (u64, u64, u64) {
    let hit: Vec<&&OpRecord> = ops
        .iter()
        .filter(|r| r.start_us < until_us && r.end_us >= at_us && r.outcome != "ok")
        .collect();
    let count = |o: &str| hit.iter().filter(|r| r.outcome == o).count() as u64;
    let lost = hit.iter().filter(|r| session_lost(r)).count() as u64;
    (count("fail"), count("info"), lost)
}

/// (judged, wrong) among ops started in `[from_us, until_us)`.
pub fn verdicts_between(ops: &[&OpRecord], from_us: u64, until_us: u64) -> (u64, u64) {
    let judged: Vec<&&OpRecord> = ops
        .iter()
        .filter(|r| r.start_us >= from_us && r.start_us < until_us)
        .filter(|r| matches!(r.verdict.as_deref(), Some("correct" | "wrong")))
        .collect();
    let wrong = judged
        .iter()
        .filter(|r| r.verdict.as_deref() == Some("wrong"))
        .count();
    (judged.len() as u64, wrong as u64)
}

/// (acknowledged ids, missing count, the first [`LIST_CAP`] missing) of acknowledged id ranges
/// against the ids read back.
pub fn missing_ids(acked: &[[u64; 2]], read: &[u64]) -> (u64, u64, Vec<u64>) {
    let read: std::collections::BTreeSet<u64> = read.iter().copied().collect();
    let ids: std::collections::BTreeSet<u64> = acked.iter().flat_map(|[a, b]| *a..=*b).collect();
    let missing: Vec<u64> = ids
        .iter()
        .filter(|id| !read.contains(id))
        .copied()
        .collect();
    (
        ids.len() as u64,
        missing.len() as u64,
        missing.into_iter().take(LIST_CAP).collect(),
    )
}

fn secs(us: u64) -> f64 {
    us as f64 / 1e6
}

/// What the clients saw at each switch, from the history. `end_ms` is the workload's end.
pub fn measure(history: &[OpRecord], switches: &[Switch], end_ms: u64) -> Vec<SwitchMeasure> {
    let ops = client_ops(history);
    switches
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let at = s.at_ms * 1000;
            let next = switches
                .get(i + 1)
                .map_or(end_ms * 1000, |n| n.at_ms * 1000);
            let (first_ok, last_bad) = unavailability(&ops, at, s.to);
            let (streak_ops, streak_from) = streak(&ops, at);
            let window_end = at + SWITCH_WINDOW.as_micros() as u64;
            let (failed, unknown, sessions_lost) = window_failures(&ops, at, window_end);
            let (judged, wrong_answers) = verdicts_between(&ops, at, next);
            let rb = s.read_back.as_ref().filter(|r| r.error.is_none());
            SwitchMeasure {
                label: s.label.clone(),
                from: s.from.to_string(),
                to: s.to.to_string(),
                at_ms: s.at_ms,
                unavailable_s: first_ok.map(|t| secs(t - at)),
                failing_s: secs(last_bad - at),
                first_answer_s: first_answer(&ops, at, s.to).map(|t| secs(t - at)),
                answered_s: s
                    .answered_ms
                    .map(|t| t.saturating_sub(s.at_ms) as f64 / 1e3),
                observed_s: secs(next.saturating_sub(at)),
                streak_ops,
                streak_s: streak_from
                    .zip(first_ok)
                    .map(|(a, b)| secs(b.saturating_sub(a))),
                failed,
                unknown,
                sessions_lost,
                judged,
                wrong_answers,
                writes_verified: rb.map(|r| r.acknowledged - r.missing_count),
                writes_missing: rb.map(|r| r.missing_count),
            }
        })
        .collect()
}

/// The upgrade's checks: unavailability within `max_unavailable`, at most `max_lost` lost writes
/// (when `writes` ran), no wrong answer after a switch.
pub fn checks(
    measures: &[SwitchMeasure],
    switches: &[Switch],
    max_unavailable: Duration,
    max_lost: u64,
    writes: bool,
) -> Vec<CheckResult> {
    let mut out = vec![unavailability_check(measures, max_unavailable)];
    if writes {
        out.push(lost_writes_check(measures, switches, max_lost));
    }
    out.push(wrong_answers_check(measures));
    out
}

fn check(name: &str, expected: String) -> CheckResult {
    CheckResult {
        check: name.to_string(),
        version: None,
        verdict: Verdict::Unknown,
        expected,
        observed: "no switch".to_string(),
        reason: "no switch happened".to_string(),
        details: serde_json::Value::Null,
    }
}

fn unavailability_check(measures: &[SwitchMeasure], max: Duration) -> CheckResult {
    let limit = max.as_secs_f64();
    let base = check(
        "upgrade_unavailability",
        format!("<= {}", crate::units::HumanDuration(max)),
    );
    if measures.is_empty() {
        return base;
    }
    let verdict_of = |m: &SwitchMeasure| match m.unavailable_s {
        Some(s) if s <= limit => Verdict::Valid,
        Some(_) => Verdict::Invalid,
        None if m.observed_s >= limit => Verdict::Invalid,
        None => Verdict::Unknown,
    };
    let verdict = Verdict::merge_all(measures.iter().map(verdict_of));
    let observed = measures
        .iter()
        .map(|m| match m.unavailable_s {
            Some(s) => format!("{} {s:.1}s", m.label),
            None => format!("{} never served", m.label),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let worst = measures.iter().find(|m| verdict_of(m) == verdict);
    let reason = match (verdict, worst) {
        (Verdict::Valid, _) => format!(
            "clients were served by the new version within {} of every switch",
            crate::units::HumanDuration(max)
        ),
        (_, Some(m)) => match m.unavailable_s {
            Some(s) => format!(
                "after the {} to {}, no operation succeeded on it for {s:.1}s",
                m.label, m.to
            ),
            None => format!(
                "after the {} to {}, no operation succeeded on it in the {:.0}s observed",
                m.label, m.to, m.observed_s
            ),
        },
        (_, None) => String::new(),
    };
    CheckResult {
        verdict,
        observed,
        reason,
        details: json!({ "switches": measures }),
        ..base
    }
}

fn lost_writes_check(measures: &[SwitchMeasure], switches: &[Switch], max: u64) -> CheckResult {
    let base = check("upgrade_lost_writes", crate::check::writes::expected(max));
    if switches.is_empty() {
        return base;
    }
    let failed: Vec<&Switch> = switches
        .iter()
        .filter(|s| s.read_back.as_ref().is_none_or(|r| r.error.is_some()))
        .collect();
    let missing: u64 = measures.iter().filter_map(|m| m.writes_missing).sum();
    let verified: u64 = measures.iter().filter_map(|m| m.writes_verified).sum();
    let details = json!({ "read_backs": switches.iter().map(|s| (&s.label, &s.read_back)).collect::<Vec<_>>() });
    let observed = format!("{missing} missing, {verified} verified");
    let (verdict, reason) = if missing > max {
        (
            Verdict::Invalid,
            format!("{missing} id(s) acknowledged before a switch were missing after it"),
        )
    } else if let Some(s) = failed.first() {
        let why = s
            .read_back
            .as_ref()
            .and_then(|r| r.error.clone())
            .unwrap_or_else(|| "not done".into());
        (
            Verdict::Unknown,
            format!("the read-back after the {} failed: {why}", s.label),
        )
    } else if verified == 0 {
        (
            Verdict::Unknown,
            "no write was acknowledged before a switch".to_string(),
        )
    } else {
        (
            Verdict::Valid,
            "every write acknowledged before a switch was readable after it".to_string(),
        )
    };
    CheckResult {
        verdict,
        observed,
        reason,
        details,
        ..base
    }
}

fn wrong_answers_check(measures: &[SwitchMeasure]) -> CheckResult {
    let base = check("upgrade_wrong_answers", "= 0".to_string());
    if measures.is_empty() {
        return base;
    }
    let wrong: u64 = measures.iter().map(|m| m.wrong_answers).sum();
    let judged: u64 = measures.iter().map(|m| m.judged).sum();
    let (verdict, reason) = match (wrong, judged) {
        (0, 0) => (
            Verdict::Unknown,
            "no answer was judged after a switch".to_string(),
        ),
        (0, _) => (
            Verdict::Valid,
            "every judged answer after the switches was correct".to_string(),
        ),
        _ => (
            Verdict::Invalid,
            format!("{wrong} wrong answer(s) after a switch"),
        ),
    };
    CheckResult {
        verdict,
        observed: format!("{wrong} wrong of {judged} judged"),
        reason,
        details: json!({ "per_switch": measures.iter().map(|m| json!({"switch": m.label, "judged": m.judged, "wrong": m.wrong_answers})).collect::<Vec<_>>() }),
        ..base
    }
}

// ---------------------------------------------------------------------------------------------
// Rendering (pure)
// ---------------------------------------------------------------------------------------------

fn style_name(style: UpgradeStyle) -> &'static str {
    match style {
        UpgradeStyle::BlueGreen => "blue-green",
        UpgradeStyle::InPlace => "in-place",
    }
}

fn opt_s(v: Option<f64>) -> String {
    v.map_or("—".to_string(), |s| format!("{s:.1}s"))
}

fn writes_cell(m: &SwitchMeasure, s: &Switch) -> String {
    match (&s.read_back, m.writes_verified) {
        (Some(r), _) if r.error.is_some() => format!(
            "read-back failed: {}",
            r.error.as_deref().unwrap_or_default()
        ),
        (Some(r), Some(v)) if r.missing_count > 0 => {
            format!("{v} verified, {} missing {:?}", r.missing_count, r.missing)
        }
        (Some(_), Some(v)) => format!("{v} verified"),
        _ => "not checked".to_string(),
    }
}

/// The rows of the switch table: (header, cell per switch).
fn table_rows(u: &UpgradeSummary) -> Vec<Vec<String>> {
    u.switches
        .iter()
        .zip(&u.measures)
        .map(|(s, m)| {
            vec![
                format!("{} {} → {}", s.label, s.from, s.to),
                format!(
                    "+{:.1}s",
                    s.at_ms.saturating_sub(u.workload_start_ms) as f64 / 1e3
                ),
                format!("≤ {} (≥ {:.1}s)", opt_s(m.unavailable_s), m.failing_s),
                opt_s(m.first_answer_s),
                opt_s(m.answered_s),
                format!("{} / {}", m.failed, m.unknown),
                m.sessions_lost.to_string(),
                format!("{} ops, {}", m.streak_ops, opt_s(m.streak_s)),
                writes_cell(m, s),
                format!("{} of {}", m.wrong_answers, m.judged),
            ]
        })
        .collect()
}

const HEADERS: [&str; 10] = [
    "switch",
    "at",
    "unavailable",
    "first answer",
    "edge answered",
    "failed / unknown (60 s)",
    "sessions lost",
    "non-ok streak",
    "writes acknowledged before",
    "wrong answers after",
];

fn summary_sentence(u: &UpgradeSummary) -> String {
    format!(
        "{} upgrade from Spark {} to {} under load, through the cut-over endpoint(s) {}; writes to {}.",
        style_name(u.style),
        u.from,
        u.to,
        u.endpoints.join(", "),
        match (&u.table, &u.location) {
            (Some(t), Some(l)) => format!("{t} at {l}, shared by both metastores"),
            _ => "none".to_string(),
        }
    )
}

/// The section as HTML (every text escaped).
pub fn render_html(u: &UpgradeSummary, history: &[OpRecord]) -> String {
    let e = xml_escape;
    let mut h = String::new();
    let _ = writeln!(h, "<p>{}</p>", e(&summary_sentence(u)));
    h.push_str(&timeline_svg(u, history));
    h.push_str("<table><thead><tr>");
    for head in HEADERS {
        let _ = write!(h, "<th>{}</th>", e(head));
    }
    h.push_str("</tr></thead><tbody>\n");
    for row in table_rows(u) {
        h.push_str("<tr>");
        for cell in row {
            let _ = write!(h, "<td>{}</td>", e(&cell));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody></table>\n");
    for s in &u.switches {
        let _ = write!(h, "<p><b>{}</b>: {}", e(&s.label), e(&s.steps.join("; ")));
        if let Some(err) = &s.error {
            let _ = write!(h, " — <b>did not complete</b>: {}", e(err));
        }
        h.push_str("</p>\n");
    }
    let _ = writeln!(h, "<p class=\"muted\">{}</p>", e(MEASURE_NOTE));
    h
}

const MEASURE_NOTE: &str = "Unavailable: from the switch to the start of the first successful \
    operation on the new version (an upper bound: it includes the wait for the next arrival); the \
    lower bound in brackets is the start of the last operation that did not succeed before it. \
    First answer: the end of the first successful operation on the new version. Edge answered: \
    the runner's own session through the cut-over endpoint. Sessions lost: failed or unknown \
    operations the server answered with an unknown session or operation (INVALID_HANDLE). Spark \
    sessions never move between versions: the new side starts every client session afresh.";

/// The section as Markdown.
pub fn render_markdown(u: &UpgradeSummary) -> String {
    let cell = |s: &str| s.replace('|', "\\|");
    let mut m = String::new();
    let _ = writeln!(m, "{}\n", summary_sentence(u));
    let _ = writeln!(m, "| {} |", HEADERS.join(" | "));
    let _ = writeln!(m, "|{}", "---|".repeat(HEADERS.len()));
    for row in table_rows(u) {
        let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
        let _ = writeln!(m, "| {} |", cells.join(" | "));
    }
    m.push('\n');
    for s in &u.switches {
        let _ = write!(m, "- **{}**: {}", s.label, cell(&s.steps.join("; ")));
        if let Some(err) = &s.error {
            let _ = write!(m, " — **did not complete**: {}", cell(err));
        }
        m.push('\n');
    }
    let _ = writeln!(m, "\n{MEASURE_NOTE}");
    m
}

/// A timeline: one lane per version with each operation at its start (green ok, red fail,
/// orange info), each switch as a line with its unavailability shaded.
fn timeline_svg(u: &UpgradeSummary, history: &[OpRecord]) -> String {
    const W: f64 = 760.0;
    const LEFT: f64 = 60.0;
    const RIGHT: f64 = 20.0;
    const LANE: f64 = 34.0;
    const TOP: f64 = 18.0;
    let start = u.workload_start_ms as f64;
    let end = history
        .iter()
        .map(|r| r.end_us / 1000)
        .max()
        .unwrap_or(u.workload_end_ms)
        .max(u.workload_end_ms) as f64;
    let x = |ms: f64| LEFT + (ms - start).max(0.0) / (end - start).max(1.0) * (W - LEFT - RIGHT);
    let lanes = [u.from.as_str(), u.to.as_str()];
    let height = TOP + LANE * lanes.len() as f64 + 24.0;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{height}\" viewBox=\"0 0 {W} {height}\" role=\"img\" aria-label=\"upgrade timeline\">"
    );
    for m in &u.measures {
        let from = x(m.at_ms as f64);
        let to = m
            .unavailable_s
            .map_or(x(end), |sec| x(m.at_ms as f64 + sec * 1e3));
        let _ = write!(
            s,
            "<rect x=\"{from:.1}\" y=\"{TOP}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#c62828\" fill-opacity=\"0.15\"/>\
             <line x1=\"{from:.1}\" x2=\"{from:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#555\" stroke-dasharray=\"4 3\"/>\
             <text x=\"{:.1}\" y=\"12\" font-size=\"11\">{} → {}</text>",
            (to - from).max(1.0),
            LANE * lanes.len() as f64,
            TOP - 4.0,
            TOP + LANE * lanes.len() as f64,
            from + 3.0,
            xml_escape(&m.label),
            xml_escape(&m.to)
        );
    }
    for (i, lane) in lanes.iter().enumerate() {
        let y = TOP + LANE * i as f64 + LANE / 2.0;
        let _ = write!(
            s,
            "<text x=\"4\" y=\"{:.1}\" font-size=\"11\">{}</text>",
            y + 4.0,
            xml_escape(lane)
        );
        for r in client_ops(history)
            .into_iter()
            .filter(|r| r.version.version() == *lane)
        {
            let colour = match r.outcome.as_str() {
                "ok" => "#2e7d32",
                "fail" => "#c62828",
                _ => "#ef6c00",
            };
            let _ = write!(
                s,
                "<circle cx=\"{:.1}\" cy=\"{y:.1}\" r=\"2.5\" fill=\"{colour}\"/>",
                x((r.start_us / 1000) as f64)
            );
        }
    }
    let axis_y = TOP + LANE * lanes.len() as f64 + 16.0;
    let _ = writeln!(
        s,
        "<text x=\"{LEFT}\" y=\"{axis_y:.1}\" font-size=\"11\">0 s</text>\
         <text x=\"{:.1}\" y=\"{axis_y:.1}\" font-size=\"11\" text-anchor=\"end\">{:.0} s</text></svg>",
        W - RIGHT,
        (end - start) / 1e3
    );
    s
}

/// The report section.
pub fn section(u: &UpgradeSummary, history: &[OpRecord]) -> ExtraSection {
    ExtraSection {
        id: "upgrade".into(),
        title: format!(
            "Upgrade: Spark {} → {} ({})",
            u.from,
            u.to,
            style_name(u.style)
        ),
        html: render_html(u, history),
        markdown: render_markdown(u),
        json: serde_json::to_value(u).unwrap_or_default(),
    }
}

// ---------------------------------------------------------------------------------------------
// Acting on the environment
// ---------------------------------------------------------------------------------------------

/// Points every edge at `line`'s Connect servers and waits for the supervisor to apply it.
fn route_to(home: &Path, plan: &Plan, line: SparkLine) -> Result<(), String> {
    let routes = plan
        .links
        .iter()
        .filter(|l| l.is_edge())
        .enumerate()
        .map(|(r, l)| (l.id.clone(), format!("connect-{}-{r}", line.slug())))
        .collect();
    request_and_wait(home, routes)
}

/// Points every edge back at its planned upstream.
fn route_as_planned(home: &Path, plan: &Plan) -> Result<(), String> {
    let routes = plan
        .links
        .iter()
        .filter(|l| l.is_edge())
        .map(|l| (l.id.clone(), l.upstream_component.clone()))
        .collect();
    request_and_wait(home, routes)
}

fn request_and_wait(home: &Path, routes: BTreeMap<String, String>) -> Result<(), String> {
    let generation = links::request_routes(home, routes)
        .map_err(|e| format!("write {}: {e}", links::routes_file(home).display()))?;
    let t = Instant::now();
    loop {
        if let Some(a) = links::read_routes_applied(home).filter(|a| a.generation >= generation) {
            return match a.errors.is_empty() {
                true => Ok(()),
                false => Err(format!(
                    "the supervisor could not route: {}",
                    a.errors.join("; ")
                )),
            };
        }
        if t.elapsed() > ROUTE_ACK_TIMEOUT {
            return Err(format!(
                "the supervisor did not apply the route within {}s (see {})",
                ROUTE_ACK_TIMEOUT.as_secs(),
                home.join("logs").join("supervisor.log").display()
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Restores the planned routes when dropped (an error or a panic unwinding), unless disarmed.
struct RouteGuard<'a> {
    home: &'a Path,
    plan: &'a Plan,
    armed: bool,
}

impl RouteGuard<'_> {
    /// Restores the planned routes now.
    fn restore(mut self) -> Result<(), String> {
        self.armed = false;
        route_as_planned(self.home, self.plan)
    }
}

impl Drop for RouteGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            if let Err(e) = route_as_planned(self.home, self.plan) {
                eprintln!("error: could not restore the cut-over routes: {e}");
            }
        }
    }
}

/// Whether every Connect server of `line` satisfies `done`, polled until `timeout`.
fn wait_connect(
    home: &EnvHome,
    line: SparkLine,
    timeout: Duration,
    what: &str,
    done: impl Fn(&crate::platform::local::state::ComponentState) -> bool,
) -> Result<Duration, String> {
    let t = Instant::now();
    loop {
        let state = EnvState::read(&home.state_file()).map_err(|e| e.to_string())?;
        let mine: Vec<_> = state
            .components
            .iter()
            .filter(|c| c.role == Role::Connect.name() && c.line == Some(line))
            .collect();
        if !mine.is_empty() && mine.iter().all(|c| done(c)) {
            return Ok(t.elapsed());
        }
        if t.elapsed() > timeout {
            return Err(format!(
                "Spark {line}'s Connect server(s) not {what} after {}s",
                timeout.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// A write the workload had acknowledged: when, and its ids.
#[derive(Debug, Clone, Copy)]
struct Acked {
    end_us: u64,
    ids: [u64; 2],
}

/// Performs the switches (and the in-place holds) of one run.
struct Switcher {
    home: EnvHome,
    plan: Plan,
    style: UpgradeStyle,
    /// The first cut-over endpoint: the runner's own probe and read-backs go through it.
    edge: String,
    table: Option<String>,
    op_timeout: Duration,
    serving: ServingVersion,
    acks: Arc<Mutex<Vec<Acked>>>,
    /// Held lines and their `stop` faults.
    holds: Mutex<BTreeMap<SparkLine, String>>,
}

impl Switcher {
    /// Routes the edges to `line` and records it as serving.
    fn route(&self, line: SparkLine) -> Result<String, String> {
        route_to(self.home.root(), &self.plan, line)?;
        *self.serving.lock().expect("serving lock") = line;
        Ok(format!(
            "edges routed to Spark {line} (open connections reset)"
        ))
    }

    /// Stops `line`'s Connect servers and holds them down (a `stop` fault owned by this run).
    fn hold_down(&self, line: SparkLine) -> Result<String, String> {
        let target = format!("connect@{}:all", line.version());
        let spec = crate::fault::catalog::parse("stop", Some(&target), &BTreeMap::new())
            .map_err(|e| format!("stop {target}: {}", e.message))?;
        let rec = inject::inject(&self.home, &spec, Some(Owner::me()), None)
            .map_err(|e| format!("stop {target}: {e}"))?;
        self.holds
            .lock()
            .expect("holds lock")
            .insert(line, rec.id.clone());
        let took = wait_connect(&self.home, line, STOP_TIMEOUT, "stopped", |c| {
            c.status == Status::Stopped && c.pid.is_none()
        })?;
        Ok(format!(
            "stopped and held {target} ({}, down after {:.1}s)",
            rec.id,
            took.as_secs_f64()
        ))
    }

    /// Releases `line`'s hold: the supervisor starts its Connect servers again.
    fn release(&self, line: SparkLine) -> Result<String, String> {
        let id = self.holds.lock().expect("holds lock").remove(&line);
        let Some(id) = id else {
            return Ok(format!("Spark {line} was not held"));
        };
        inject::heal(&self.home, &id, "upgrade: released")
            .map_err(|e| format!("release {id}: {e}"))?;
        Ok(format!("released connect@{line}:all ({id})"))
    }

    /// Waits until the supervisor reports `line`'s Connect servers ready.
    fn wait_ready(&self, line: SparkLine) -> Result<String, String> {
        let took = wait_connect(&self.home, line, READY_TIMEOUT, "ready", |c| c.ready)?;
        Ok(format!(
            "Spark {line}'s Connect server(s) ready for the supervisor after {:.1}s more",
            took.as_secs_f64()
        ))
    }

    /// Releases every hold and waits for the servers; returns what failed.
    fn release_all(&self) -> Vec<String> {
        let held: Vec<SparkLine> = self
            .holds
            .lock()
            .expect("holds lock")
            .keys()
            .copied()
            .collect();
        held.into_iter()
            .filter_map(|line| self.release(line).and_then(|_| self.wait_ready(line)).err())
            .collect()
    }

    /// How long the new side may take to answer once the clients were moved: in place, it
    /// has to start first.
    fn answer_timeout(&self) -> Duration {
        match self.style {
            UpgradeStyle::BlueGreen => ANSWER_TIMEOUT,
            UpgradeStyle::InPlace => READY_TIMEOUT,
        }
    }

    /// The steps of moving clients from `from` to `to` in this run's style.
    fn move_clients(&self, from: SparkLine, to: SparkLine, sw: &mut Switch) -> Result<(), String> {
        match self.style {
            UpgradeStyle::BlueGreen => {
                sw.steps.push(self.route(to)?);
                sw.routed_ms = Some(now_ms());
            }
            UpgradeStyle::InPlace => {
                sw.steps.push(self.hold_down(from)?);
                sw.steps.push(self.route(to)?);
                sw.routed_ms = Some(now_ms());
                sw.steps.push(self.release(to)?);
            }
        }
        Ok(())
    }

    /// Ids acknowledged before `at_us`.
    fn acked_before(&self, at_us: u64) -> Vec<[u64; 2]> {
        self.acks
            .lock()
            .expect("acks lock")
            .iter()
            .filter(|a| a.end_us < at_us)
            .map(|a| a.ids)
            .collect()
    }

    /// One switch, start to end: move the clients, wait for the new side to answer through the
    /// edge, read back what was acknowledged before.
    async fn switch(self: Arc<Self>, p: Planned) -> Switch {
        let mut sw = self.clone().moved(p).await;
        if sw.error.is_none() {
            if let Err(e) = self.confirm(&mut sw).await {
                sw.error = Some(e);
            }
        }
        sw
    }

    /// Moves the clients (blocking steps, off the async workers).
    async fn moved(self: Arc<Self>, p: Planned) -> Switch {
        let mut sw = Switch::begin(p);
        let this = self.clone();
        let moved = tokio::task::spawn_blocking(move || {
            let r = this.move_clients(p.from, p.to, &mut sw);
            (sw, r)
        })
        .await;
        match moved {
            Ok((mut sw, r)) => {
                sw.error = r.err();
                sw
            }
            Err(e) => {
                let mut sw = Switch::begin(p);
                sw.error = Some(format!("switch task: {e}"));
                sw
            }
        }
    }

    /// Waits for the new side to answer through the edge (in place: then for the supervisor
    /// to report it ready), and reads back there what was acknowledged before the switch.
    async fn confirm(self: &Arc<Self>, sw: &mut Switch) -> Result<(), String> {
        let to = sw.to;
        let session = answered_by(&self.edge, to, self.answer_timeout()).await?;
        sw.answered_ms = Some(now_ms());
        if self.style == UpgradeStyle::InPlace {
            let this = self.clone();
            let ready = tokio::task::spawn_blocking(move || this.wait_ready(to))
                .await
                .map_err(|e| format!("wait for readiness: {e}"))?;
            sw.steps.push(ready?);
        }
        if let Some(table) = &self.table {
            let acked = self.acked_before(sw.at_ms * 1000);
            sw.read_back = Some(read_back_acked(&session, table, &acked, self.op_timeout).await);
        }
        Ok(())
    }
}

/// A session through `edge` answered by `to`, opened as soon as `to` answers (polled every
/// 200 ms for up to `timeout`).
async fn answered_by(edge: &str, to: SparkLine, timeout: Duration) -> Result<Session, String> {
    let t = Instant::now();
    let mut last = String::new();
    while t.elapsed() < timeout {
        let opts = SessionOptions {
            connect_timeout: Duration::from_secs(5),
            ..SessionOptions::default()
        };
        match Session::connect(edge, opts).await {
            Ok(s) if s.server_version() == to.version() => return Ok(s),
            Ok(s) => last = format!("answered by Spark {}", s.server_version()),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(format!(
        "Spark {to} did not answer through {edge} within {}s (last: {last})",
        timeout.as_secs()
    ))
}

/// Every id in `table` as `session` sees it after `REFRESH TABLE`, with a few attempts.
async fn read_ids(session: &Session, table: &str, timeout: Duration) -> Result<Vec<u64>, String> {
    let mut last = String::new();
    for attempt in 0..READ_BACK_ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        let refreshed = session
            .sql(&format!("REFRESH TABLE {table}"), timeout)
            .await;
        if let Err(e) = refreshed {
            last = format!("refresh: {e}");
            continue;
        }
        match session
            .sql(&format!("SELECT id FROM {table}"), timeout)
            .await
        {
            Ok(result) => return load::ids_of(&result),
            Err(e) => last = format!("select: {e}"),
        }
    }
    Err(last)
}

async fn read_back_acked(
    session: &Session,
    table: &str,
    acked: &[[u64; 2]],
    timeout: Duration,
) -> ReadBack {
    let version = session.server_version().to_string();
    match read_ids(session, table, timeout).await {
        Ok(ids) => {
            let (acknowledged, missing_count, missing) = missing_ids(acked, &ids);
            ReadBack {
                version,
                acknowledged,
                read: ids.len() as u64,
                missing_count,
                missing,
                error: None,
            }
        }
        Err(e) => ReadBack {
            version,
            acknowledged: missing_ids(acked, &[]).0,
            read: 0,
            missing_count: 0,
            missing: vec![],
            error: Some(e),
        },
    }
}

/// Creates the write table at `location` in each line's metastore, through its own Connect.
async fn create_shared_table(
    plan: &Plan,
    table: &str,
    location: &str,
    lines: &[SparkLine],
) -> Result<(), String> {
    let ddl = format!(
        "CREATE TABLE IF NOT EXISTS {table} (id BIGINT, batch BIGINT) USING parquet LOCATION '{location}'"
    );
    for &line in lines {
        let url = plan
            .connect_urls(line)
            .into_iter()
            .next()
            .ok_or_else(|| format!("Spark {line} has no Connect server in this environment"))?;
        let session = Session::connect(&url, SessionOptions::default())
            .await
            .map_err(|e| format!("connect to Spark {line} at {url}: {e}"))?;
        session
            .sql(&ddl, Duration::from_secs(120))
            .await
            .map_err(|e| format!("create {table} on Spark {line}: {e}"))?;
    }
    Ok(())
}

/// Every write of the history read back on `line` directly (not through the edge).
async fn final_read_back(
    plan: &Plan,
    line: SparkLine,
    table: &str,
    history: &[OpRecord],
    timeout: Duration,
) -> load::WriteCheck {
    let writes: Vec<&OpRecord> = history
        .iter()
        .filter(|r| r.kind == OpKind::Write && r.ids.is_some())
        .collect();
    let url = plan
        .connect_urls(line)
        .into_iter()
        .next()
        .unwrap_or_default();
    let ids = match Session::connect(&url, SessionOptions::default()).await {
        Ok(session) => read_ids(&session, table, timeout).await,
        Err(e) => Err(format!("connect to {url}: {e}")),
    };
    match ids {
        Ok(ids) => load::check_writes(&writes, &ids),
        Err(e) => load::WriteCheck {
            error: Some(e),
            ..load::check_writes(&writes, &[])
        },
    }
}

/// Runs the planned switches on time (offsets from `t0` + warm-up); stops at the first that
/// fails (and stops the load: clients are in an unknown state).
async fn run_switches(
    switcher: Arc<Switcher>,
    plan: Vec<Planned>,
    t0: Instant,
    warmup: Duration,
    stop: Arc<AtomicBool>,
    say: fn(&str),
) -> Vec<Switch> {
    let mut done = Vec::new();
    for p in plan {
        let due = t0 + warmup + p.after_warmup;
        while Instant::now() < due {
            if stop.load(Ordering::SeqCst) {
                return done;
            }
            tokio::time::sleep(
                due.saturating_duration_since(Instant::now())
                    .min(Duration::from_millis(100)),
            )
            .await;
        }
        say(&format!(
            "    {:>6.1}s {} {} → {}",
            t0.elapsed().as_secs_f64(),
            p.label,
            p.from,
            p.to
        ));
        let sw = switcher.clone().switch(p).await;
        say(&format!("    {}", switch_line(&sw)));
        let failed = sw.error.is_some();
        done.push(sw);
        if failed {
            stop.store(true, Ordering::SeqCst);
            break;
        }
    }
    done
}

/// One line for people about a finished switch.
fn switch_line(s: &Switch) -> String {
    if let Some(e) = &s.error {
        return format!("{} did not complete: {e}", s.label);
    }
    let answered = s.answered_ms.map_or("?".to_string(), |t| {
        format!("{:.1}s", t.saturating_sub(s.at_ms) as f64 / 1e3)
    });
    let writes = match &s.read_back {
        Some(r) if r.error.is_some() => format!(
            ", read-back failed: {}",
            r.error.as_deref().unwrap_or_default()
        ),
        Some(r) => format!(
            ", {} acknowledged write id(s) checked on {}: {} missing",
            r.acknowledged, r.version, r.missing_count
        ),
        None => String::new(),
    };
    format!(
        "{}: Spark {} answered through the edge after {answered}{writes}",
        s.label, s.to
    )
}

// ---------------------------------------------------------------------------------------------
// The phase
// ---------------------------------------------------------------------------------------------

/// One upgrade run: what the phases share.
struct UpgradeRun<'a> {
    s: &'a Scenario,
    o: &'a RunOptions,
    plan: &'a Plan,
    rt: &'a tokio::runtime::Runtime,
    spec: UpgradeSpec,
    /// The cut-over endpoints.
    edges: Vec<String>,
    /// The shared write table and its location, when the workload writes.
    table: Option<(String, String)>,
}

impl UpgradeRun<'_> {
    fn workload(&self) -> &crate::scenario::model::WorkloadSpec {
        self.s.workload.as_ref().expect("checked in run_upgrade")
    }

    fn table_name(&self) -> Option<String> {
        self.table.as_ref().map(|(t, _)| t.clone())
    }

    /// Creates the write table at its location in both metastores.
    fn create_table(&self) -> Result<(), String> {
        let Some((table, location)) = &self.table else {
            return Ok(());
        };
        let lines = [self.spec.from, self.spec.to];
        self.rt
            .block_on(create_shared_table(self.plan, table, location, &lines))?;
        (self.o.say)(&format!("    {table} at {location} in both metastores"));
        Ok(())
    }

    fn switcher(&self) -> Switcher {
        Switcher {
            home: self.o.home.clone(),
            plan: self.plan.clone(),
            style: self.spec.style,
            edge: self.edges[0].clone(),
            table: self.table_name(),
            op_timeout: self.workload().timeout.get(),
            serving: Arc::new(Mutex::new(self.spec.from)),
            acks: Arc::new(Mutex::new(vec![])),
            holds: Mutex::new(BTreeMap::new()),
        }
    }

    fn load_config(&self, queries: Vec<load::LoadQuery>, history: &Path) -> load::LoadConfig {
        let w = self.workload();
        load::LoadConfig {
            targets: vec![load::Target {
                version: self.spec.from,
                endpoints: self.edges.clone(),
            }],
            queries,
            model: w.load_model(),
            duration: w.duration.get(),
            warmup: w.warmup.get(),
            op_timeout: w.timeout.get(),
            sessions: w.sessions as usize,
            writes: self.table_name().map(|table| load::WriteConfig {
                table,
                every: w.write_every(),
                batch: w.write_batch().max(1),
            }),
            seed: w.seed,
            history: history.to_path_buf(),
            max_queries: None,
        }
    }

    /// Holds (in place), runs the load with the switches and the fault schedule, and collects
    /// the history; returns the switches as they happened.
    fn drive(
        &self,
        occurrences: &[schedule::Occurrence],
        dir: &Path,
        phases: &mut Phases,
        parts: &mut Parts,
        switcher: &Arc<Switcher>,
    ) -> Result<Vec<Switch>, String> {
        let (o, w) = (self.o, self.workload());
        let (queries, judge) = wl::queries(&o.cache, &w.query_selection(), self.s.data.scale)
            .map_err(|e| e.to_string())?;
        switcher.route(self.spec.from)?;
        if self.spec.style == UpgradeStyle::InPlace {
            (o.say)(&format!("    {}", switcher.hold_down(self.spec.to)?));
        }
        let history_path = dir.join("history.jsonl");
        let cfg = self.load_config(queries, &history_path);
        phases.begin(
            "warm-up",
            &format!(
                "{} then {} measured on the cut-over endpoint, {} switch(es), {} fault occurrence(s)",
                w.warmup,
                crate::units::HumanDuration(w.measured()),
                planned(&self.spec).len(),
                occurrences.len()
            ),
        );
        let t0_ms = now_ms();
        let stop = Arc::new(AtomicBool::new(false));
        let injected: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(vec![]));
        let notes: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(vec![]));
        let (say, interrupted) = (o.say, o.interrupted);
        let (report, switches) = self.rt.block_on(async {
            let t0 = Instant::now();
            let stop_w = stop.clone();
            let watcher = tokio::spawn(async move {
                while !interrupted() {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                stop_w.store(true, Ordering::SeqCst);
            });
            let sched = tokio::spawn(super::run_schedule(
                occurrences.to_vec(),
                EnvHome::at(o.home.root()),
                t0,
                stop.clone(),
                injected.clone(),
                notes.clone(),
                say,
            ));
            let switching = tokio::spawn(run_switches(
                switcher.clone(),
                planned(&self.spec),
                t0,
                w.warmup.get(),
                stop.clone(),
                say,
            ));
            let tally = super::Tally::default();
            let ticker = tokio::spawn(super::progress(tally.clone(), t0, say));
            let opts = load_options(switcher, tally, w.concurrent_writes);
            let r = load::run_with(cfg, judge, stop.clone(), opts).await;
            stop.store(true, Ordering::SeqCst);
            let switches = switching.await.unwrap_or_default();
            let _ = sched.await;
            watcher.abort();
            ticker.abort();
            (r, switches)
        });
        let end_ms = t0_ms + w.duration.get().as_millis() as u64;
        let warmup_end = t0_ms + w.warmup.get().as_millis() as u64;
        add_phases(phases, warmup_end, end_ms, now_ms(), &switches);
        parts.fault_ids = injected.lock().expect("not poisoned").clone();
        parts
            .notes
            .extend(notes.lock().expect("not poisoned").iter().cloned());
        let report = report.map_err(|e| format!("load: {e}"))?;
        parts.workload_span = Some((t0_ms, end_ms));
        parts.history = super::read_history(&history_path)?;
        parts.writes = report
            .writes
            .into_iter()
            .map(|(v, c)| (v.version().to_string(), c))
            .collect();
        Ok(switches)
    }

    /// Reads every write back on each version the load's own read-back did not cover
    /// (directly, not through the edge).
    fn read_back_everywhere(&self, parts: &mut Parts) {
        let Some(table) = self.table_name() else {
            return;
        };
        let timeout = self.workload().timeout.get();
        for line in [self.spec.from, self.spec.to] {
            if parts.writes.contains_key(line.version()) {
                continue;
            }
            let check = self.rt.block_on(final_read_back(
                self.plan,
                line,
                &table,
                &parts.history,
                timeout,
            ));
            (self.o.say)(&format!(
                "    read-back on Spark {line}: {} acknowledged, {} missing{}",
                check.acknowledged,
                check.lost_count,
                check
                    .error
                    .as_deref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default()
            ));
            parts.writes.insert(line.version().to_string(), check);
        }
    }

    /// The measures, the checks and the section. A switch that did not complete fails the run.
    fn finish(&self, parts: &mut Parts, switches: Vec<Switch>) -> Result<(), String> {
        let (start_ms, end_ms) = parts.workload_span.unwrap_or((0, 0));
        // The load runs past the nominal end by its warm-up and last operations.
        let last_ms = parts.history.iter().map(|r| r.end_us / 1000).max();
        let measures = measure(
            &parts.history,
            &switches,
            last_ms.unwrap_or(end_ms).max(end_ms),
        );
        let max = self
            .s
            .checks
            .recovery_within
            .map_or(DEFAULT_MAX_UNAVAILABILITY, |d| d.get());
        let max_lost = self.s.checks.lost_writes.unwrap_or(0);
        let writes = self.table.is_some();
        parts
            .extra_checks
            .extend(checks(&measures, &switches, max, max_lost, writes));
        let summary = UpgradeSummary {
            style: self.spec.style,
            from: self.spec.from.to_string(),
            to: self.spec.to.to_string(),
            endpoints: self.edges.clone(),
            table: self.table_name(),
            location: self.table.as_ref().map(|(_, l)| l.clone()),
            workload_start_ms: start_ms,
            workload_end_ms: end_ms,
            switches,
            measures,
        };
        parts.sections.push(section(&summary, &parts.history));
        if let Some(e) = summary.switches.iter().find_map(|s| s.error.clone()) {
            return Err(format!("the upgrade did not complete: {e}"));
        }
        let expected = planned(&self.spec).len();
        if summary.switches.len() < expected && !(self.o.interrupted)() {
            return Err(format!(
                "{} of {expected} switches happened (the load ended early)",
                summary.switches.len()
            ));
        }
        Ok(())
    }
}

/// The load's options: the serving version, the pre-created shared table, the progress tally
/// and the acknowledged writes collected for the switches' read-backs.
fn load_options(switcher: &Switcher, tally: super::Tally, concurrent_writes: bool) -> LoadOptions {
    let acks = switcher.acks.clone();
    LoadOptions {
        serving: Some(switcher.serving.clone()),
        table_exists: true,
        refresh_before_read_back: true,
        concurrent_writes,
        on_record: Some(Arc::new(move |r: &OpRecord| {
            super::count_record(&tally, r);
            if let (OpKind::Write, "ok", Some(ids)) = (r.kind, r.outcome.as_str(), r.ids) {
                acks.lock().expect("acks lock").push(Acked {
                    end_us: r.end_us,
                    ids,
                });
            }
        })),
    }
}

/// The baseline, each switch (to the new side's first answer) and the final reads.
fn add_phases(phases: &mut Phases, warmup_end: u64, end_ms: u64, t_end: u64, switches: &[Switch]) {
    phases.add(
        "baseline",
        warmup_end,
        switches.first().map_or(end_ms, |s| s.at_ms),
    );
    for s in switches {
        let done = s.answered_ms.or(s.routed_ms).unwrap_or(s.at_ms + 1);
        phases.add(&s.label, s.at_ms, done.max(s.at_ms + 1));
    }
    phases.add("final-reads", end_ms, t_end);
}

/// The shared write table's name and location for this run, when the workload writes.
fn write_table(s: &Scenario, plan: &Plan, dir: &Path) -> Option<(String, String)> {
    if !s.workload.as_ref().is_some_and(|w| w.writes) {
        return None;
    }
    let run = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| format!("{}-{}", s.name, now_ms()));
    let table = format!(
        "default.chaos_upgrade_{}_{}",
        s.name.replace(['-', '.'], "_"),
        now_ms()
    );
    let location = format!("s3a://{}/upgrade/{run}/writes", plan.settings.bucket);
    Some((table, location))
}

/// Runs an upgrade scenario's workload with its switches (provision and data are done by the
/// caller). Every hold is released and the routes restored on every exit path.
#[allow(clippy::too_many_arguments)]
pub(super) fn run_upgrade(
    s: &Scenario,
    o: &RunOptions,
    occurrences: &[schedule::Occurrence],
    dir: &Path,
    phases: &mut Phases,
    parts: &mut Parts,
    plan: &Plan,
    rt: &tokio::runtime::Runtime,
) -> Result<(), String> {
    let spec = s
        .upgrade
        .clone()
        .ok_or("an upgrade scenario needs an [upgrade] table")?;
    if s.workload.is_none() {
        return Err("an upgrade scenario needs a [workload]".into());
    }
    let edges = plan.edge_urls();
    if edges.is_empty() {
        return Err("this environment has no cut-over endpoint (edge links): it predates upgrade support or does not run both versions; run `chaos env down` and run the scenario again".into());
    }
    let run = UpgradeRun {
        s,
        o,
        plan,
        rt,
        table: write_table(s, plan, dir),
        spec,
        edges,
    };
    phases.begin(
        "set-up",
        &format!(
            "{} upgrade {} → {}: shared write table, clients on the cut-over endpoint",
            style_name(run.spec.style),
            run.spec.from,
            run.spec.to
        ),
    );
    run.create_table()?;
    let routes = RouteGuard {
        home: o.home.root(),
        plan,
        armed: true,
    };
    let switcher = Arc::new(run.switcher());
    let driven = run.drive(occurrences, dir, phases, parts, &switcher);
    for e in switcher.release_all() {
        parts
            .notes
            .push(format!("upgrade: could not release a hold: {e}"));
    }
    if let Err(e) = routes.restore() {
        parts
            .notes
            .push(format!("upgrade: could not restore the routes: {e}"));
    }
    let switches = driven?;
    run.read_back_everywhere(parts);
    run.finish(parts, switches)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 1_000_000_000; // the switch, in µs

    fn op(n: u64, start_s: f64, dur_s: f64, outcome: &str, version: SparkLine) -> OpRecord {
        let start = (T as i64 + (start_s * 1e6) as i64) as u64;
        OpRecord {
            op: n,
            kind: OpKind::Query,
            version,
            endpoint: String::new(),
            name: format!("q{n}"),
            warmup: false,
            intended_us: start,
            start_us: start,
            end_us: start + (dur_s * 1e6) as u64,
            outcome: outcome.into(),
            error_class: None,
            sql_state: None,
            message: None,
            rows: None,
            checksum: None,
            verdict: (outcome == "ok").then(|| "correct".to_string()),
            verdict_detail: None,
            ids: None,
        }
    }

    use SparkLine::{V3_5 as OLD, V4_1 as NEW};

    fn switch_at(label: &str, at_us: u64, to: SparkLine) -> Switch {
        Switch {
            label: label.into(),
            from: if to == NEW { OLD } else { NEW },
            to,
            at_ms: at_us / 1000,
            routed_ms: Some(at_us / 1000 + 30),
            answered_ms: Some(at_us / 1000 + 400),
            steps: vec![],
            read_back: None,
            error: None,
        }
    }

    /// ok on the old side, two in flight at the switch lost, one refused after, then ok on new.
    fn cutover_history() -> Vec<OpRecord> {
        let mut lost = op(2, -1.0, 1.5, "info", OLD);
        lost.message = Some("connection failed mid-flight: transport error".into());
        let mut changed = op(3, -0.5, 0.6, "fail", OLD);
        changed.error_class = Some("INVALID_HANDLE.SESSION_CHANGED".into());
        let mut refused = op(4, 0.8, 0.01, "fail", NEW);
        refused.message = Some("connection to 127.0.0.1:1 refused, nothing was sent".into());
        vec![
            op(1, -3.0, 0.5, "ok", OLD),
            lost,
            changed,
            refused,
            op(5, 2.0, 0.7, "ok", NEW),
            op(6, 4.0, 0.7, "ok", NEW),
        ]
    }

    #[test]
    fn unavailability_runs_to_the_first_ok_on_the_new_side_and_failing_to_the_last_failure() {
        let h = cutover_history();
        let ops = client_ops(&h);
        let (first_ok, last_bad) = unavailability(&ops, T, NEW);
        assert_eq!(first_ok, Some(T + 2_000_000));
        assert_eq!(last_bad, T + 800_000);
        // An ok op served by the old side after the switch does not end the outage.
        let mut h2 = h.clone();
        h2.push(op(7, 0.1, 0.2, "ok", OLD));
        let ops2 = client_ops(&h2);
        assert_eq!(unavailability(&ops2, T, NEW).0, Some(T + 2_000_000));
        // Nothing after the switch: no bound, failing from the switch itself.
        assert_eq!(unavailability(&ops[..3], T, NEW), (None, T));
    }

    #[test]
    fn the_streak_takes_in_flight_casualties_and_later_failures() {
        let h = cutover_history();
        let ops = client_ops(&h);
        let (n, first) = streak(&ops, T);
        assert_eq!(n, 3, "two in flight, one after");
        assert_eq!(first, Some(T - 1_000_000));
        // A clean switch has no streak.
        let clean = [op(1, -1.0, 0.5, "ok", OLD), op(2, 0.5, 0.5, "ok", NEW)];
        let ops = client_ops(&clean);
        assert_eq!(streak(&ops, T), (0, None));
    }

    #[test]
    fn sessions_lost_are_handles_the_server_no_longer_has_not_resets_or_deadlines() {
        let h = cutover_history();
        let lost: Vec<u64> = h.iter().filter(|r| session_lost(r)).map(|r| r.op).collect();
        assert_eq!(
            lost,
            vec![3],
            "a reset alone says nothing about the session"
        );
        let mut deadline = op(9, 0.0, 30.0, "info", NEW);
        deadline.message = Some("deadline of 30s passed; interrupt confirmed".into());
        assert!(!session_lost(&deadline));
        let mut not_found = op(10, 0.0, 1.0, "info", NEW);
        not_found.message =
            Some("server lost the operation: [INVALID_HANDLE.OPERATION_NOT_FOUND]".into());
        assert!(session_lost(&not_found));
    }

    #[test]
    fn window_failures_count_ops_in_flight_during_the_window() {
        let h = cutover_history();
        let ops = client_ops(&h);
        assert_eq!(window_failures(&ops, T, T + 60_000_000), (2, 1, 1));
        // A failure that ended before the switch is not the switch's.
        let early = [op(1, -5.0, 1.0, "fail", OLD)];
        assert_eq!(
            window_failures(&client_ops(&early), T, T + 60_000_000),
            (0, 0, 0)
        );
    }

    #[test]
    fn missing_ids_expand_ranges_and_cap_the_list() {
        assert_eq!(
            missing_ids(&[[1, 3], [10, 12]], &[1, 2, 3, 10, 12, 99]),
            (6, 1, vec![11])
        );
        let (n, m, list) = missing_ids(&[[1, 100]], &[]);
        assert_eq!((n, m, list.len()), (100, 100, LIST_CAP));
        assert_eq!(missing_ids(&[], &[5]), (0, 0, vec![]));
    }

    #[test]
    fn measures_per_switch_split_verdicts_at_the_next_switch() {
        let mut h = cutover_history();
        let mut wrong = op(8, 50.0, 1.0, "ok", NEW);
        wrong.verdict = Some("wrong".into());
        h.push(wrong);
        h.push(op(11, 100.5, 1.0, "ok", OLD));
        let mut rb = switch_at("roll-back", T + 100_000_000, OLD);
        rb.read_back = Some(ReadBack {
            version: "3.5.7".into(),
            acknowledged: 40,
            read: 45,
            missing_count: 0,
            missing: vec![],
            error: None,
        });
        let switches = [switch_at("cut-over", T, NEW), rb];
        let m = measure(&h, &switches, T / 1000 + 200_000);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].unavailable_s, Some(2.0));
        assert!((m[0].failing_s - 0.8).abs() < 1e-9);
        assert_eq!(m[0].answered_s, Some(0.4));
        assert_eq!((m[0].failed, m[0].unknown, m[0].sessions_lost), (2, 1, 1));
        assert_eq!(m[0].first_answer_s, Some(2.7));
        assert_eq!((m[0].judged, m[0].wrong_answers), (3, 1));
        assert_eq!(m[0].writes_verified, None);
        assert_eq!(m[0].streak_ops, 3);
        assert_eq!(m[0].streak_s, Some(3.0));
        assert_eq!(m[1].unavailable_s, Some(0.5));
        assert_eq!((m[1].judged, m[1].wrong_answers), (1, 0));
        assert_eq!(
            (m[1].writes_verified, m[1].writes_missing),
            (Some(40), Some(0))
        );
        assert_eq!(m[1].observed_s, 100.0);
    }

    fn measure_with(unavailable: Option<f64>, observed: f64) -> SwitchMeasure {
        SwitchMeasure {
            label: "cut-over".into(),
            from: "3.5.7".into(),
            to: "4.1.0".into(),
            at_ms: 0,
            unavailable_s: unavailable,
            failing_s: 0.0,
            first_answer_s: None,
            answered_s: None,
            observed_s: observed,
            streak_ops: 0,
            streak_s: None,
            failed: 0,
            unknown: 0,
            sessions_lost: 0,
            judged: 10,
            wrong_answers: 0,
            writes_verified: Some(5),
            writes_missing: Some(0),
        }
    }

    #[test]
    fn unavailability_check_against_the_bound() {
        let max = Duration::from_secs(60);
        let verdict = |m: SwitchMeasure| unavailability_check(&[m], max).verdict;
        assert_eq!(verdict(measure_with(Some(1.5), 90.0)), Verdict::Valid);
        assert_eq!(verdict(measure_with(Some(61.0), 90.0)), Verdict::Invalid);
        assert_eq!(verdict(measure_with(None, 90.0)), Verdict::Invalid);
        assert_eq!(verdict(measure_with(None, 20.0)), Verdict::Unknown);
        let c = unavailability_check(&[measure_with(Some(61.0), 90.0)], max);
        assert_eq!(c.expected, "<= 1m");
        assert!(c.reason.contains("61.0s"), "{}", c.reason);
        assert_eq!(unavailability_check(&[], max).verdict, Verdict::Unknown);
    }

    #[test]
    fn lost_writes_and_wrong_answers_checks() {
        let ok = ReadBack {
            version: "4.1.0".into(),
            acknowledged: 5,
            read: 5,
            missing_count: 0,
            missing: vec![],
            error: None,
        };
        let mut sw = switch_at("cut-over", T, NEW);
        sw.read_back = Some(ok.clone());
        let good = measure_with(Some(1.0), 90.0);
        let cs = checks(
            std::slice::from_ref(&good),
            std::slice::from_ref(&sw),
            Duration::from_secs(60),
            0,
            true,
        );
        let names: Vec<&str> = cs.iter().map(|c| c.check.as_str()).collect();
        assert_eq!(
            names,
            [
                "upgrade_unavailability",
                "upgrade_lost_writes",
                "upgrade_wrong_answers"
            ]
        );
        assert!(cs.iter().all(|c| c.verdict == Verdict::Valid), "{cs:?}");

        let mut lost = good.clone();
        lost.writes_missing = Some(2);
        assert_eq!(
            lost_writes_check(&[lost], &[sw.clone()], 0).verdict,
            Verdict::Invalid
        );
        sw.read_back = Some(ReadBack {
            error: Some("timeout".into()),
            ..ok
        });
        let failed = measure(&[], &[sw.clone()], 0);
        assert_eq!(
            lost_writes_check(&failed, &[sw], 0).verdict,
            Verdict::Unknown
        );

        let mut wrong = good.clone();
        wrong.wrong_answers = 1;
        assert_eq!(wrong_answers_check(&[wrong]).verdict, Verdict::Invalid);
        let mut none = good;
        none.judged = 0;
        assert_eq!(wrong_answers_check(&[none]).verdict, Verdict::Unknown);
        // Without writes there is no lost-writes check.
        assert_eq!(checks(&[], &[], Duration::from_secs(1), 0, false).len(), 2);
    }

    #[test]
    fn the_section_escapes_and_carries_every_switch() {
        let h = cutover_history();
        let mut sw = switch_at("cut-over", T, NEW);
        sw.steps = vec!["edges routed to <4.1.0>".into()];
        sw.error = Some("a & b".into());
        let switches = vec![sw];
        let measures = measure(&h, &switches, T / 1000 + 60_000);
        let u = UpgradeSummary {
            style: UpgradeStyle::BlueGreen,
            from: "3.5.7".into(),
            to: "4.1.0".into(),
            endpoints: vec!["sc://127.0.0.1:1".into()],
            table: Some("default.t".into()),
            location: Some("s3a://chaos/upgrade/x/writes".into()),
            workload_start_ms: T / 1000 - 60_000,
            workload_end_ms: T / 1000 + 60_000,
            switches,
            measures,
        };
        let s = section(&u, &h);
        assert_eq!(s.id, "upgrade");
        assert_eq!(s.title, "Upgrade: Spark 3.5.7 → 4.1.0 (blue-green)");
        assert!(s.html.contains("&lt;4.1.0&gt;") && s.html.contains("a &amp; b"));
        assert!(!s.html.contains("<4.1.0>"));
        assert!(s.html.contains("<svg") && s.html.contains("<circle"));
        assert!(
            s.markdown
                .contains("| cut-over 3.5.7 → 4.1.0 | +60.0s | ≤ 2.0s (≥ 0.8s) | 2.7s | 0.4s |"),
            "{}",
            s.markdown
        );
        assert_eq!(s.json["switches"][0]["label"], "cut-over");
        assert_eq!(s.json["measures"][0]["unavailable_s"], 2.0);
    }

    #[test]
    fn planned_switches_follow_the_upgrade_table() {
        let spec = UpgradeSpec {
            style: UpgradeStyle::InPlace,
            from: OLD,
            to: NEW,
            cutover_at: crate::units::HumanDuration(Duration::from_secs(60)),
            rollback_at: Some(crate::units::HumanDuration(Duration::from_secs(150))),
        };
        let p = planned(&spec);
        assert_eq!(p.len(), 2);
        assert_eq!(
            (p[0].from, p[0].to, p[0].after_warmup),
            (OLD, NEW, Duration::from_secs(60))
        );
        assert_eq!((p[1].label, p[1].from, p[1].to), ("roll-back", NEW, OLD));
        let once = UpgradeSpec {
            rollback_at: None,
            ..spec
        };
        assert_eq!(planned(&once).len(), 1);
    }
}
