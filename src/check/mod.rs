//! Checkers: pure functions from a run's history and fault records to verdicts.
//!
//! [`run_checks`] is the entry point: a [`CheckInput`] (operations, faults, write read-backs)
//! and the scenario's [`Thresholds`] give a [`CheckReport`]: one [`CheckResult`] per check and
//! version, the merged verdict, and data for reports (per-window statistics, per-fault
//! recoveries, error classes).
//!
//! Rules, each documented in its module:
//!
//! - [`windows`]: `before` / `during` / `after` per version; an operation belongs to the window
//!   of its intended start; warm-up and read-back operations count in none.
//! - [`oracle`] (`wrong_answers`): always run; any wrong answer → `Invalid`.
//! - [`steady`] (`steady_state`): always run for a version some fault affected: did the
//!   baseline keep up with its load? When it measurably did not, that version's fault checks
//!   are `Unknown` with the reason ([`steady::gate`]): a fault cannot be judged on a system
//!   already saturated before it.
//! - [`availability`] (`availability_before|during|after`), [`latency`] (`latency_p99`),
//!   [`recovery`] (`recovery_within`, with `baseline_band`), [`writes`] (`lost_writes`,
//!   `duplicated_writes`): run when the threshold is present.
//! - [`errors`]: the error-class summary (data, not a check).
//!
//! Run-wide rules applied here:
//!
//! - Results are ordered by check — `wrong_answers`, `steady_state`, then the [`Thresholds`] field order
//!   (`availability_before`, `availability_during`, `availability_after`, `latency_p99`,
//!   `recovery_within`, `lost_writes`, `duplicated_writes`) — then by version (sorted).
//! - A checker that panics or returns an error yields `Unknown` (reason says why), never `Valid`.
//! - `interrupted`: every `Valid` result becomes `Unknown` ("run interrupted"); `Invalid` and
//!   `Unknown` stay.
//! - The run's verdict is [`Verdict::merge_all`] of the results: no result at all is `Unknown`.

pub mod availability;
pub mod compat;
pub mod context;
pub mod errors;
pub mod latency;
pub mod model;
pub mod oracle;
pub mod recovery;
pub mod steady;
pub mod upgrade;
pub mod util;
pub mod windows;
pub mod writes;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use serde::{Deserialize, Serialize};

pub use errors::ErrorClassCount;
pub use model::{CheckResult, Thresholds, Verdict};
pub use recovery::Recovery;
pub use windows::{Window, WindowStats};

use context::Ctx;
use util::panic_message;

use crate::fault::FaultRecord;
use crate::workload::history::Op;
use crate::workload::load::WriteCheck;

/// Everything the checkers read about one run.
#[derive(Debug, Clone, Copy)]
pub struct CheckInput<'a> {
    /// Every operation record of the run (warm-up and read-back included).
    pub history: &'a [Op],
    /// Every fault injected during the run.
    pub faults: &'a [FaultRecord],
    /// The write read-back per version (`3.5.7`), when writes ran.
    pub writes: &'a BTreeMap<String, WriteCheck>,
    /// The versions that ran (`3.5.7`, `4.1.0`); checks run for each of them.
    pub versions: &'a [String],
    /// When the workload started, Unix ms.
    pub workload_start_ms: u64,
    /// When the workload ended, Unix ms.
    pub workload_end_ms: u64,
    /// Whether the run was stopped early.
    pub interrupted: bool,
}

/// The outcome of checking one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckReport {
    /// The merge of every result's verdict (`Unknown` without results).
    pub verdict: Verdict,
    /// Whether the run was interrupted (every would-be `Valid` is then `Unknown`).
    pub interrupted: bool,
    /// One result per check and version, in the documented order.
    pub results: Vec<CheckResult>,
    /// Per version, the `before`, `during` and `after` windows' statistics.
    pub windows: Vec<WindowStats>,
    /// Per version and fault affecting it, the recovery measured (whether or not checked).
    pub recoveries: Vec<Recovery>,
    /// Per version, the non-`ok` operations by error class.
    pub error_classes: Vec<ErrorClassCount>,
}

/// A checker of one version.
type CheckFn<'t> = Box<dyn Fn(&Ctx, &str) -> Result<CheckResult, String> + 't>;

/// The checks the thresholds ask for, in result order: (name, expected, checker).
fn checkers(t: &Thresholds) -> Vec<(String, String, CheckFn<'_>)> {
    let mut list: Vec<(String, String, CheckFn)> = vec![(
        oracle::NAME.into(),
        oracle::expected(),
        Box::new(oracle::check),
    )];
    list.push((
        steady::NAME.into(),
        steady::expected(),
        Box::new(steady::check),
    ));
    let windows = [
        (Window::Before, t.availability_before),
        (Window::During, t.availability_during),
        (Window::After, t.availability_after),
    ];
    for (w, threshold) in windows {
        if let Some(a) = threshold {
            let run = move |c: &Ctx, v: &str| availability::check(c, v, w, a);
            list.push((
                availability::check_name(w),
                availability::expected(a),
                Box::new(run),
            ));
        }
    }
    if let Some(d) = t.latency_p99 {
        let run = move |c: &Ctx, v: &str| latency::check(c, v, d);
        list.push((latency::NAME.into(), latency::expected(d), Box::new(run)));
    }
    if let Some(d) = t.recovery_within {
        let run = move |c: &Ctx, v: &str| recovery::check(c, v, d);
        list.push((recovery::NAME.into(), recovery::expected(d), Box::new(run)));
    }
    if let Some(n) = t.lost_writes {
        let run = move |c: &Ctx, v: &str| writes::check_lost(c, v, n);
        list.push((writes::LOST.into(), writes::expected(n), Box::new(run)));
    }
    if let Some(n) = t.duplicated_writes {
        let run = move |c: &Ctx, v: &str| writes::check_duplicated(c, v, n);
        list.push((
            writes::DUPLICATED.into(),
            writes::expected(n),
            Box::new(run),
        ));
    }
    list
}

/// Whether `name` is a check of [`run_checks`] (the others a report holds come from elsewhere:
/// the fault schedule, compat and upgrade runs).
pub fn is_checker(name: &str) -> bool {
    let windows = Window::ALL.map(availability::check_name);
    [
        oracle::NAME,
        steady::NAME,
        latency::NAME,
        recovery::NAME,
        writes::LOST,
        writes::DUPLICATED,
    ]
    .contains(&name)
        || windows.iter().any(|w| w == name)
}

/// The checks that only mean something for a version some fault affected.
const FAULT_CHECKS: [&str; 3] = [
    "availability_during",
    "availability_after",
    "recovery_within",
];

/// Whether `version` is a control: the run injected faults, none of them into this version.
/// A control's fault checks are not run (they do not apply), rather than reported unknown,
/// which would make every scenario with a control version unknown.
fn is_control(input: &CheckInput, version: &str) -> bool {
    !input.faults.is_empty() && !input.faults.iter().any(|f| f.affects(version))
}

/// Runs every check on one run (see the module doc for the rules). Never panics on any input.
pub fn run_checks(input: &CheckInput, thresholds: &Thresholds) -> CheckReport {
    let mut versions: Vec<String> = input.versions.to_vec();
    versions.sort();
    versions.dedup();
    let input = CheckInput {
        versions: &versions,
        ..*input
    };
    let ctx = catch_unwind(AssertUnwindSafe(|| Ctx::new(&input, thresholds)))
        .map_err(|p| format!("checker failed: {}", panic_message(p.as_ref())));
    let mut results = Vec::new();
    for (name, expected, run) in checkers(thresholds) {
        for v in &versions {
            if is_control(&input, v) && FAULT_CHECKS.contains(&name.as_str()) {
                continue;
            }
            if name == steady::NAME && !input.faults.iter().any(|f| f.affects(v)) {
                continue;
            }
            let result = match &ctx {
                Ok(ctx) => guarded(&name, v, &expected, || run(ctx, v)),
                Err(e) => unknown(&name, v, &expected, e.clone()),
            };
            results.push(result);
        }
    }
    results = steady::gate(results, &FAULT_CHECKS);
    if input.interrupted {
        results = results.into_iter().map(interrupt).collect();
    }
    let data = ctx.as_ref().ok().map(|c| report_data(c, &versions));
    let (windows, recoveries) = data.unwrap_or_default();
    CheckReport {
        verdict: Verdict::merge_all(results.iter().map(|r| r.verdict)),
        interrupted: input.interrupted,
        results,
        windows,
        recoveries,
        error_classes: catch_unwind(AssertUnwindSafe(|| errors::summarize(input.history)))
            .unwrap_or_default(),
    }
}

/// Window statistics and recoveries of every version (empty on a panic: data, not verdicts).
fn report_data(ctx: &Ctx, versions: &[String]) -> (Vec<WindowStats>, Vec<Recovery>) {
    catch_unwind(AssertUnwindSafe(|| {
        let mut windows = Vec::new();
        let mut recoveries = Vec::new();
        for (v, view) in versions.iter().filter_map(|v| Some((v, ctx.view(v).ok()?))) {
            for w in Window::ALL {
                let t = view.tally(w);
                windows.push(WindowStats::of(
                    &view.windows,
                    w,
                    t,
                    ctx.input.workload_end_ms,
                ));
            }
            recoveries.extend(recovery::recoveries(ctx, v).unwrap_or_default());
        }
        (windows, recoveries)
    }))
    .unwrap_or_default()
}

/// Runs one checker; a panic or an error becomes `Unknown`, never `Valid`.
pub fn guarded(
    check: &str,
    version: &str,
    expected: &str,
    run: impl FnOnce() -> Result<CheckResult, String>,
) -> CheckResult {
    match catch_unwind(AssertUnwindSafe(run)) {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => unknown(check, version, expected, format!("checker error: {e}")),
        Err(p) => {
            let reason = format!("checker failed: {}", panic_message(p.as_ref()));
            unknown(check, version, expected, reason)
        }
    }
}

fn unknown(check: &str, version: &str, expected: &str, reason: String) -> CheckResult {
    CheckResult {
        check: check.to_string(),
        version: Some(version.to_string()),
        verdict: Verdict::Unknown,
        expected: expected.to_string(),
        observed: "not checked".to_string(),
        reason,
        details: serde_json::Value::Null,
    }
}

/// `Valid` → `Unknown` ("run interrupted"); other verdicts unchanged.
fn interrupt(r: CheckResult) -> CheckResult {
    if r.verdict != Verdict::Valid {
        return r;
    }
    CheckResult {
        verdict: Verdict::Unknown,
        reason: format!("run interrupted (would have been valid: {})", r.reason),
        ..r
    }
}
