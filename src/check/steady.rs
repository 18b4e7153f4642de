//! `steady_state`: did the baseline hold before the first fault? A fault can only be judged
//! against a system that was keeping up with its load: when operations already queued for
//! minutes before the fault, "first ok after the heal" and the availability windows measure the
//! backlog, not the fault.
//!
//! Over the operations meant to start in the version's `before` window (see [`super::windows`];
//! warm-up excluded), three signs:
//!
//! - **Achieved vs intended rate**: of the operations meant to start in the window, the fraction
//!   that did start in it. An open-model driver that cannot keep up starts them later and later.
//!   It must be at least [`MIN_STARTED`].
//! - **Backlog**: the median start lag (actual start − intended start) of the window's second
//!   half must not exceed the larger of [`LAG_FLOOR_US`] and the median service time (a lag
//!   shorter than one operation is ordinary queueing behind a session).
//! - **Latency trend**: the median latency from the intended start in the second half must not
//!   exceed [`TREND_FACTOR`] × that of the first half plus [`TREND_SLACK_US`].
//!
//! `Valid` when all three hold; `Unknown` with the reasons when any does not (the load, not the
//! system under test, is then at fault: the scenario asked more than the machine serves), or
//! when fewer than [`MIN_OPS`] operations fall in the window. The details carry `held`
//! (true / false / null when undecidable), which [`gate`] uses: when the steady state did not
//! hold, the fault checks (`availability_during`, `availability_after`, `recovery_within`) of
//! that version become `Unknown` with that reason, whatever they measured.
//!
//! The check runs only for versions a fault affected: without a fault there is nothing it
//! guards.

use serde_json::json;

use super::context::{Ctx, VersionView};
use super::model::{CheckResult, Verdict};
use super::util::{fmt_us, percentile};
use super::windows::Window;
use crate::workload::history::Op;

/// The check's name.
pub const NAME: &str = "steady_state";
/// Fewest operations in the before window to judge the steady state.
pub const MIN_OPS: usize = 4;
/// Least fraction of the window's intended operations that must have started in it.
pub const MIN_STARTED: f64 = 0.9;
/// A median start lag below this is never a backlog, µs.
pub const LAG_FLOOR_US: u64 = 5_000_000;
/// How much the second half's median latency may exceed the first half's (factor)…
pub const TREND_FACTOR: f64 = 2.0;
/// …plus this, µs.
pub const TREND_SLACK_US: u64 = 2_000_000;

/// What the check states.
pub fn expected() -> String {
    format!(
        "baseline kept up: >= {MIN_STARTED} of intended operations started, no backlog, latency not rising"
    )
}

/// What was measured over one version's before window.
#[derive(Debug, Clone, PartialEq)]
pub struct Steady {
    /// Operations in the window.
    pub ops: usize,
    /// Of those, the fraction that started before the window ended.
    pub started: f64,
    /// Median start lag of the second half, µs.
    pub lag_us: u64,
    /// Median service time (end − actual start), µs.
    pub service_us: u64,
    /// Median latency from the intended start, first and second half, µs.
    pub first_half_us: u64,
    /// See `first_half_us`.
    pub second_half_us: u64,
    /// Why it did not hold (empty when it held).
    pub broken: Vec<String>,
}

/// Measures the steady state of one version; None when the window holds fewer than
/// [`MIN_OPS`] operations.
pub fn measure(view: &VersionView) -> Option<Steady> {
    let before = view.windows.before;
    let ops: Vec<&Op> = view
        .ops
        .iter()
        .copied()
        // By intended start only: an operation still queued when the fault began is exposed
        // to it (and counts as `during` elsewhere), but it is exactly the backlog this measures.
        .filter(|o| before.contains(o.intended_us))
        .collect();
    if ops.len() < MIN_OPS {
        return None;
    }
    // An operation that never ran has no start (0).
    let began = |o: &&&Op| o.start_us != 0;
    let started = ops
        .iter()
        .filter(|o| began(o) && o.start_us < before.end_us)
        .count() as f64
        / ops.len() as f64;
    let median = |v: Vec<u64>| percentile(&v, 0.5).unwrap_or(0);
    let half = ops.len() / 2;
    let (first, second) = ops.split_at(half);
    let lag_us = median(
        second
            .iter()
            .filter(began)
            .map(|o| o.start_us.saturating_sub(o.intended_us))
            .collect(),
    );
    let service_us = median(
        ops.iter()
            .filter(began)
            .map(|o| o.end_us.saturating_sub(o.start_us))
            .collect(),
    );
    let first_half_us = median(first.iter().filter(began).map(|o| o.latency_us()).collect());
    let second_half_us = median(
        second
            .iter()
            .filter(began)
            .map(|o| o.latency_us())
            .collect(),
    );
    let mut broken = Vec::new();
    if started < MIN_STARTED {
        broken.push(format!(
            "only {:.0}% of the operations meant to start in the baseline did (achieved rate below the intended one)",
            started * 100.0
        ));
    }
    let lag_limit = LAG_FLOOR_US.max(service_us);
    if lag_us > lag_limit {
        broken.push(format!(
            "operations started a median {} late in the baseline's second half (a backlog; limit {})",
            fmt_us(lag_us),
            fmt_us(lag_limit)
        ));
    }
    let trend_limit = (first_half_us as f64 * TREND_FACTOR) as u64 + TREND_SLACK_US;
    if second_half_us > trend_limit {
        broken.push(format!(
            "latency from the intended start rose from a median {} to {} over the baseline",
            fmt_us(first_half_us),
            fmt_us(second_half_us)
        ));
    }
    Some(Steady {
        ops: ops.len(),
        started,
        lag_us,
        service_us,
        first_half_us,
        second_half_us,
        broken,
    })
}

/// Checks one version's steady state.
pub fn check(ctx: &Ctx, version: &str) -> Result<CheckResult, String> {
    let view = ctx.view(version)?;
    let base = CheckResult {
        check: NAME.to_string(),
        version: Some(version.to_string()),
        verdict: Verdict::Unknown,
        expected: expected(),
        observed: "too few operations".to_string(),
        reason: String::new(),
        details: json!({ "held": null }),
    };
    if let Some(reason) = view.windows.unavailable_reason(Window::Before) {
        return Ok(CheckResult { reason, ..base });
    }
    let Some(s) = measure(view) else {
        let reason = format!(
            "fewer than {MIN_OPS} operations in the before window: lengthen the baseline (the first fault's `at`) so operations finish before it"
        );
        return Ok(CheckResult { reason, ..base });
    };
    let observed = format!(
        "{:.0}% started, lag {}, latency {} → {}",
        s.started * 100.0,
        fmt_us(s.lag_us),
        fmt_us(s.first_half_us),
        fmt_us(s.second_half_us)
    );
    let held = s.broken.is_empty();
    let details = json!({
        "held": held,
        "ops": s.ops,
        "started_fraction": s.started,
        "lag_us": s.lag_us,
        "service_us": s.service_us,
        "first_half_latency_us": s.first_half_us,
        "second_half_latency_us": s.second_half_us,
    });
    let (verdict, reason) = if held {
        (
            Verdict::Valid,
            format!(
                "the baseline kept up with its load over {} operations",
                s.ops
            ),
        )
    } else {
        (
            Verdict::Unknown,
            format!(
                "the steady state did not hold before the fault: {}",
                s.broken.join("; ")
            ),
        )
    };
    Ok(CheckResult {
        verdict,
        observed,
        reason,
        details,
        ..base
    })
}

/// Whether a `steady_state` result says the steady state did not hold (measured, not merely
/// undecidable).
pub fn broken(r: &CheckResult) -> bool {
    r.check == NAME && r.details.get("held") == Some(&serde_json::Value::Bool(false))
}

/// Makes the fault checks of versions whose steady state did not hold `Unknown`, with why.
pub fn gate(results: Vec<CheckResult>, fault_checks: &[&str]) -> Vec<CheckResult> {
    let broken: Vec<(String, String)> = results
        .iter()
        .filter(|r| broken(r))
        .map(|r| (r.version.clone().unwrap_or_default(), r.reason.clone()))
        .collect();
    results
        .into_iter()
        .map(|r| {
            let why = broken
                .iter()
                .find(|(v, _)| r.version.as_deref() == Some(v.as_str()));
            match why {
                Some((_, reason)) if fault_checks.contains(&r.check.as_str()) => CheckResult {
                    verdict: Verdict::Unknown,
                    reason: format!(
                        "not judged ({reason}); measured: {} ({})",
                        r.observed,
                        r.verdict.as_str()
                    ),
                    ..r
                },
                _ => r,
            }
        })
        .collect()
}
