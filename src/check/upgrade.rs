//! The measurements and checks of an upgrade under load (`kind = "upgrade"`, see
//! `run/upgrade`): what the clients saw at each switch, from the history (pure).
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

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::check::{CheckResult, Verdict};
use crate::scenario::model::UpgradeStyle;
use crate::versions::SparkLine;
use crate::workload::history::{Op, OpKind, OpOutcome, OpVerdict};

/// How long after a switch failed and unknown operations are counted.
pub const SWITCH_WINDOW: Duration = Duration::from_secs(60);
/// The unavailability allowed per switch when the scenario states no `recovery_within`.
pub const DEFAULT_MAX_UNAVAILABILITY: Duration = Duration::from_secs(60);
/// How many ids a list of missing ones keeps.
pub const LIST_CAP: usize = 20;

/// One switch as it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Switch {
    /// `cut-over` or `roll-back`.
    pub label: String,
    /// The version clients left.
    #[schemars(with = "String")]
    pub from: SparkLine,
    /// The version clients moved to.
    #[schemars(with = "String")]
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

/// The read-back after a switch of the writes acknowledged before it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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
    /// Every query and write, as the timeline plots them ([`timeline_ops`]).
    #[serde(default)]
    pub ops: Vec<TimelineOp>,
    /// The end of the last operation of the history (Unix ms), when there was one: the
    /// timeline runs to it when it is after the workload's nominal end.
    #[serde(default)]
    pub last_end_ms: Option<u64>,
}

/// One query or write as the upgrade timeline plots it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TimelineOp {
    /// The version it was routed to.
    pub version: String,
    /// Its actual start (Unix ms).
    pub start_ms: u64,
    /// How it ended.
    pub outcome: OpOutcome,
}

/// The queries and writes of the history as the timeline plots them (in order of their actual
/// start), and the end of its last operation (Unix ms).
pub fn timeline_ops(history: &[Op]) -> (Vec<TimelineOp>, Option<u64>) {
    let ops = client_ops(history)
        .into_iter()
        .map(|r| TimelineOp {
            version: r.version.to_string(),
            start_ms: r.start_us / 1000,
            outcome: r.outcome,
        })
        .collect();
    (ops, history.iter().map(|r| r.end_us / 1000).max())
}

/// Queries and writes that started, in order of their actual start.
pub fn client_ops(history: &[Op]) -> Vec<&Op> {
    let mut ops: Vec<&Op> = history
        .iter()
        .filter(|r| matches!(r.kind, OpKind::Query | OpKind::Write) && r.start_us > 0)
        .collect();
    ops.sort_by_key(|r| (r.start_us, r.op));
    ops
}

/// The earliest end of an `ok` op routed to `to` that started at or after `at_us`.
pub fn first_answer(ops: &[&Op], at_us: u64, to: SparkLine) -> Option<u64> {
    ops.iter()
        .filter(|r| r.start_us >= at_us && r.outcome == OpOutcome::Ok && r.version == to)
        .map(|r| r.end_us)
        .min()
}

/// (start of the first `ok` op routed to `to` started at or after `at_us`, start of the last
/// non-`ok` op started in between — `at_us` when none).
pub fn unavailability(ops: &[&Op], at_us: u64, to: SparkLine) -> (Option<u64>, u64) {
    let after = ops.iter().filter(|r| r.start_us >= at_us);
    let first_ok = after
        .clone()
        .find(|r| r.outcome == OpOutcome::Ok && r.version == to)
        .map(|r| r.start_us);
    let last_bad = after
        .filter(|r| r.outcome != OpOutcome::Ok && first_ok.is_none_or(|ok| r.start_us < ok))
        .map(|r| r.start_us)
        .max()
        .unwrap_or(at_us);
    (first_ok, last_bad)
}

/// The streak of consecutive non-`ok` ops around `at_us` (in flight at it and ended non-`ok`,
/// then started after it): (how many, the start of its first op).
pub fn streak(ops: &[&Op], at_us: u64) -> (u64, Option<u64>) {
    let split = ops.partition_point(|r| r.start_us < at_us);
    let before = ops[..split]
        .iter()
        .rev()
        .take_while(|r| r.outcome != OpOutcome::Ok && r.end_us >= at_us);
    let after = ops[split..]
        .iter()
        .take_while(|r| r.outcome != OpOutcome::Ok);
    let first = before
        .clone()
        .last()
        .or_else(|| after.clone().next())
        .map(|r| r.start_us);
    ((before.count() + after.count()) as u64, first)
}

/// Whether an operation's failure says the server no longer had its session or operation (see
/// the module documentation for the rule).
pub fn session_lost(r: &Op) -> bool {
    const NAMED: [&str; 5] = [
        "INVALID_HANDLE",
        "SESSION_CHANGED",
        "SESSION_NOT_FOUND",
        "SESSION_CLOSED",
        "OPERATION_NOT_FOUND",
    ];
    let class = r.error_class().unwrap_or("");
    let message = r.message().unwrap_or("");
    r.outcome != OpOutcome::Ok
        && NAMED
            .iter()
            .any(|n| class.contains(n) || message.contains(n))
}

/// (failed, unknown, sessions lost) among ops in flight at some point of `[at_us, until_us)`.
pub fn window_failures(ops: &[&Op], at_us: u64, until_us: u64) -> (u64, u64, u64) {
    let hit: Vec<&&Op> = ops
        .iter()
        .filter(|r| r.start_us < until_us && r.end_us >= at_us && r.outcome != OpOutcome::Ok)
        .collect();
    let count = |o: OpOutcome| hit.iter().filter(|r| r.outcome == o).count() as u64;
    let lost = hit.iter().filter(|r| session_lost(r)).count() as u64;
    (count(OpOutcome::Fail), count(OpOutcome::Info), lost)
}

/// (judged, wrong) among ops started in `[from_us, until_us)`.
pub fn verdicts_between(ops: &[&Op], from_us: u64, until_us: u64) -> (u64, u64) {
    let judged: Vec<&&Op> = ops
        .iter()
        .filter(|r| r.start_us >= from_us && r.start_us < until_us)
        .filter(|r| matches!(r.verdict, Some(OpVerdict::Correct | OpVerdict::Wrong)))
        .collect();
    let wrong = judged
        .iter()
        .filter(|r| r.verdict == Some(OpVerdict::Wrong))
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

/// Microseconds as seconds.
fn secs(us: u64) -> f64 {
    us as f64 / 1e6
}

/// What the clients saw at each switch, from the history. `end_ms` is the workload's end.
pub fn measure(history: &[Op], switches: &[Switch], end_ms: u64) -> Vec<SwitchMeasure> {
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::workload::history::OpRecord;

    pub(crate) const T: u64 = 1_000_000_000; // the switch, in µs

    pub(crate) fn op(
        n: u64,
        start_s: f64,
        dur_s: f64,
        outcome: &str,
        version: SparkLine,
    ) -> OpRecord {
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
            outcome: outcome.parse().expect("an outcome"),
            error_class: None,
            sql_state: None,
            message: None,
            rows: None,
            checksum: None,
            verdict: (outcome == "ok").then_some(OpVerdict::Correct),
            verdict_detail: None,
            ids: None,
        }
    }

    pub(crate) use SparkLine::{V3_5 as OLD, V4_1 as NEW};

    /// One record's compact form.
    pub(crate) fn one(r: OpRecord) -> Op {
        Op::all(&[r]).remove(0)
    }

    pub(crate) fn switch_at(label: &str, at_us: u64, to: SparkLine) -> Switch {
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
    pub(crate) fn cutover_history() -> Vec<Op> {
        Op::all(&cutover_records())
    }

    /// [`cutover_history`] as records.
    pub(crate) fn cutover_records() -> Vec<OpRecord> {
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
        h2.push(one(op(7, 0.1, 0.2, "ok", OLD)));
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
        let clean = Op::all(&clean);
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
        assert!(!session_lost(&one(deadline)));
        let mut not_found = op(10, 0.0, 1.0, "info", NEW);
        not_found.message =
            Some("server lost the operation: [INVALID_HANDLE.OPERATION_NOT_FOUND]".into());
        assert!(session_lost(&one(not_found)));
    }

    #[test]
    fn window_failures_count_ops_in_flight_during_the_window() {
        let h = cutover_history();
        let ops = client_ops(&h);
        assert_eq!(window_failures(&ops, T, T + 60_000_000), (2, 1, 1));
        // A failure that ended before the switch is not the switch's.
        let early = [op(1, -5.0, 1.0, "fail", OLD)];
        assert_eq!(
            window_failures(&client_ops(&Op::all(&early)), T, T + 60_000_000),
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
        wrong.verdict = Some(OpVerdict::Wrong);
        h.push(one(wrong));
        h.push(one(op(11, 100.5, 1.0, "ok", OLD)));
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
}
