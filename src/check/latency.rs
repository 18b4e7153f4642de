//! `latency_p99`: the p99 latency of `ok` operations outside fault windows.
//!
//! Latency is `end_us - intended_us` (coordinated omission corrected). "Outside fault windows"
//! means the steady-state windows `before` and `after` (see [`super::windows`]): operations in a
//! fault window, between two faults, or in the recovery margin after the last heal are left to
//! `availability_during` and `recovery_within`. The p99 is exact (nearest rank), so with fewer
//! than 100 operations it is the maximum. No `ok` operation → `Unknown`.

use serde_json::json;

use super::context::Ctx;
use super::model::{CheckResult, Verdict};
use super::util::{fmt_us, p99};
use super::windows::Window;
use crate::units::HumanDuration;

/// The check's name.
pub const NAME: &str = "latency_p99";

/// `<= 5s`.
pub fn expected(threshold: HumanDuration) -> String {
    format!("<= {threshold}")
}

/// Checks one version.
pub fn check(ctx: &Ctx, version: &str, threshold: HumanDuration) -> Result<CheckResult, String> {
    let view = ctx.view(version)?;
    let latencies: Vec<u64> = [Window::Before, Window::After]
        .iter()
        .flat_map(|w| view.tally(*w).ok_latencies_us.iter().copied())
        .collect();
    let limit_us = u64::try_from(threshold.get().as_micros()).unwrap_or(u64::MAX);
    let base = CheckResult {
        check: NAME.to_string(),
        version: Some(version.to_string()),
        verdict: Verdict::Unknown,
        expected: expected(threshold),
        observed: "no ok operations".to_string(),
        reason: "no ok operation outside fault windows".to_string(),
        details: json!({ "ok_ops": latencies.len() }),
    };
    let Some(p) = p99(&latencies) else {
        return Ok(base);
    };
    let observed = format!("p99 {} over {} ok ops", fmt_us(p), latencies.len());
    let details = json!({ "ok_ops": latencies.len(), "p99_ms": p as f64 / 1000.0 });
    let (verdict, reason) = if p <= limit_us {
        (
            Verdict::Valid,
            format!("p99 latency {} held", expected(threshold)),
        )
    } else {
        let reason = format!(
            "p99 latency outside fault windows was {}, over {threshold}",
            fmt_us(p)
        );
        (Verdict::Invalid, reason)
    };
    Ok(CheckResult {
        verdict,
        observed,
        reason,
        details,
        ..base
    })
}
