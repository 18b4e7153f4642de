//! `availability_before`, `availability_during`, `availability_after`.
//!
//! Availability in a window = `ok / (ok + fail + info)` over the operations counted in it (see
//! [`super::windows`]). The check is `Valid` when it is at least the threshold, `Invalid` when
//! below, and `Unknown` when the window has no operation (never `Valid` on no data) or does not
//! exist for the version (no fault affected it, or one was still active at the end).

use serde_json::json;

use super::context::Ctx;
use super::model::{CheckResult, Verdict};
use super::util::fmt_ratio;
use super::windows::Window;

/// The check's name for a window: `availability_before` etc.
pub fn check_name(w: Window) -> String {
    format!("availability_{}", w.as_str())
}

/// `>= 0.95`.
pub fn expected(threshold: f64) -> String {
    format!(">= {threshold:?}")
}

/// Checks one window of one version against `threshold`.
pub fn check(ctx: &Ctx, version: &str, w: Window, threshold: f64) -> Result<CheckResult, String> {
    if !(0.0..=1.0).contains(&threshold) {
        return Err(format!("threshold {threshold} is not a fraction in [0, 1]"));
    }
    let view = ctx.view(version)?;
    let tally = view.tally(w);
    let details = json!({
        "window": w.as_str(),
        "spans": view.windows.spans(w, ctx.input.workload_end_ms),
        "ok": tally.ok, "fail": tally.fail, "info": tally.info,
    });
    let base = CheckResult {
        check: check_name(w),
        version: Some(version.to_string()),
        verdict: Verdict::Unknown,
        expected: expected(threshold),
        observed: "no operations".to_string(),
        reason: String::new(),
        details,
    };
    if let Some(reason) = view.windows.unavailable_reason(w) {
        return Ok(CheckResult { reason, ..base });
    }
    let Some(a) = tally.availability() else {
        return Ok(CheckResult {
            reason: format!("no operation in the {} window", w.as_str()),
            ..base
        });
    };
    let observed = format!("{} ({}/{} ok)", fmt_ratio(a), tally.ok, tally.total());
    let (verdict, reason) = if a >= threshold {
        (
            Verdict::Valid,
            format!("availability {} held", expected(threshold)),
        )
    } else {
        let failed = tally.fail + tally.info;
        let reason = format!(
            "{failed} of {} operations in the {} window were not ok ({} fail, {} info)",
            tally.total(),
            w.as_str(),
            tally.fail,
            tally.info
        );
        (Verdict::Invalid, reason)
    };
    Ok(CheckResult {
        verdict,
        observed,
        reason,
        ..base
    })
}
