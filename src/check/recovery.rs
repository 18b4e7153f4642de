//! `recovery_within`: how long each fault took to stop mattering, per fault and version.
//!
//! For a fault `f` affecting version `v`:
//!
//! - **Measured from** `f`'s heal (`healed_ms`; for an instantaneous fault its injection). If
//!   another fault affecting `v` is active at that moment (injected at or before it, healed
//!   after it), the measure starts at that fault's heal instead, repeatedly: recovery from a
//!   fault cannot start while an overlapping one still acts.
//! - **Horizon**: operations are considered only if they *started* before the next injection of
//!   a fault affecting `v` after that moment, or before the workload's end, whichever is first.
//! - **(a) first ok**: the earliest completion (`end_us`) of an `ok` query or write (non-warm-up)
//!   that started at or after the heal — the moment the version demonstrably served again.
//! - **(b) back in band**: the `ok` operations started after the heal, in intended-start order,
//!   are read in rolling groups of [`ROLLING_OPS`] (5) consecutive operations (or all of them when
//!   fewer); the first group whose p99 latency (from intended start; with 5 values, the maximum)
//!   is at most `baseline_band` (default [`DEFAULT_BASELINE_BAND`]) × the baseline p99 (p99 of
//!   the `ok` operations in `v`'s `before` window) marks the moment latency is back: the intended
//!   start of the group's first operation (not earlier than the heal).
//! - **Recovery** = max(a, b), both as delays after the heal.
//!
//! Verdict against `recovery_within` (`rw`): a delay over `rw` → `Invalid`; (a) or (b) not found
//! → `Invalid` ("never recovered") if the observed span (heal to horizon) was at least `rw`,
//! else `Unknown`; no baseline p99 → `Unknown` unless (a) alone already exceeds `rw`; a fault
//! (or an overlapping one) still active at the end → `Unknown`. Otherwise `Valid`. Without a
//! `recovery_within` threshold the delays are still measured and reported, with no verdict.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::context::{Ctx, VersionView};
use super::model::{CheckResult, Verdict};
use super::util::{fmt_ms, p99};
use super::windows::{ms_to_us, Window};
use crate::fault::FaultRecord;
use crate::units::HumanDuration;
use crate::workload::history::{Op, OpOutcome};

/// The check's name.
pub const NAME: &str = "recovery_within";
/// How many consecutive `ok` operations the rolling p99 of (b) spans.
pub const ROLLING_OPS: usize = 5;
/// The band over the baseline p99 when the scenario gives none.
pub const DEFAULT_BASELINE_BAND: f64 = 2.0;

/// The recovery of one version from one fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recovery {
    /// The fault's id (`f7`).
    pub fault: String,
    /// The fault's kind (`kill`).
    pub kind: String,
    /// The fault's target (`executor@3.5.7`).
    pub target: String,
    /// The version recovering.
    pub version: String,
    /// When the fault was injected (Unix ms).
    pub injected_ms: u64,
    /// When it was healed (Unix ms); None if still active at the end.
    pub healed_ms: Option<u64>,
    /// When the measure starts (the heal, or the heal of an overlapping fault), Unix ms.
    pub measured_from_ms: Option<u64>,
    /// Until when operations were considered (next injection or workload end), Unix ms.
    pub horizon_ms: Option<u64>,
    /// (a) Delay from the heal to the first `ok` completion, ms.
    pub first_ok_ms: Option<u64>,
    /// (b) Delay from the heal to latency back within the band, ms.
    pub back_in_band_ms: Option<u64>,
    /// max(a, b), ms, when both are known.
    pub recovery_ms: Option<u64>,
    /// The version's baseline p99 (`before` window), ms.
    pub baseline_p99_ms: Option<f64>,
    /// `baseline_band` × the baseline p99, ms.
    pub band_limit_ms: Option<f64>,
    /// The verdict against `recovery_within`; None when no bound is given.
    pub verdict: Option<Verdict>,
    /// Why this verdict (or what was measured).
    pub reason: String,
}

/// `<= 1m`.
pub fn expected(threshold: HumanDuration) -> String {
    format!("<= {threshold}")
}

/// Each fault's recovery for `version`, in injection order.
pub fn recoveries(ctx: &Ctx, version: &str) -> Result<Vec<Recovery>, String> {
    let view = ctx.view(version)?;
    Ok(view
        .faults
        .iter()
        .map(|f| recovery_of(ctx, view, f))
        .collect())
}

/// Checks one version: the merge of its faults' recovery verdicts.
pub fn check(ctx: &Ctx, version: &str, threshold: HumanDuration) -> Result<CheckResult, String> {
    let recs = recoveries(ctx, version)?;
    let base = CheckResult {
        check: NAME.to_string(),
        version: Some(version.to_string()),
        verdict: Verdict::Unknown,
        expected: expected(threshold),
        observed: "no fault".to_string(),
        reason: "no fault affected this version".to_string(),
        details: json!({
            "rolling_ops": ROLLING_OPS,
            "baseline_band": band(ctx),
            "recoveries": &recs,
        }),
    };
    if recs.is_empty() {
        return Ok(base);
    }
    let verdict = Verdict::merge_all(recs.iter().map(|r| r.verdict.unwrap_or(Verdict::Unknown)));
    let reason = match first_with(&recs, verdict) {
        Some(r) if verdict != Verdict::Valid => r.headline(),
        _ => format!("all {} faults recovered within {threshold}", recs.len()),
    };
    Ok(CheckResult {
        verdict,
        observed: observed(&recs),
        reason,
        ..base
    })
}

fn first_with(recs: &[Recovery], v: Verdict) -> Option<&Recovery> {
    recs.iter()
        .find(|r| r.verdict.unwrap_or(Verdict::Unknown) == v)
}

/// `worst 12.3s (f2) over 3 faults`.
fn observed(recs: &[Recovery]) -> String {
    let worst = recs
        .iter()
        .filter_map(|r| r.recovery_ms.map(|ms| (ms, &r.fault)))
        .max();
    let n = recs.len();
    let unmeasured = recs.iter().filter(|r| r.recovery_ms.is_none()).count();
    let mut s = match worst {
        Some((ms, id)) => format!("worst {} ({id}) over {n} faults", fmt_ms(ms)),
        None => format!("not measured over {n} faults"),
    };
    if worst.is_some() && unmeasured > 0 {
        s.push_str(&format!(", {unmeasured} not measured"));
    }
    s
}

impl Recovery {
    fn new(f: &FaultRecord, version: &str) -> Recovery {
        Recovery {
            fault: f.id.clone(),
            kind: f.kind.clone(),
            target: f.target.clone(),
            version: version.to_string(),
            injected_ms: f.injected_ms,
            healed_ms: f.healed_ms,
            measured_from_ms: None,
            horizon_ms: None,
            first_ok_ms: None,
            back_in_band_ms: None,
            recovery_ms: None,
            baseline_p99_ms: None,
            band_limit_ms: None,
            verdict: None,
            reason: String::new(),
        }
    }

    /// `f2 (kill on executor@3.5.7): <reason>`.
    fn headline(&self) -> String {
        format!(
            "{} ({} on {}): {}",
            self.fault, self.kind, self.target, self.reason
        )
    }
}

fn band(ctx: &Ctx) -> f64 {
    ctx.thresholds
        .baseline_band
        .unwrap_or(DEFAULT_BASELINE_BAND)
}

fn recovery_of(ctx: &Ctx, view: &VersionView, f: &FaultRecord) -> Recovery {
    let mut r = Recovery::new(f, &view.windows.version);
    let rw = ctx.recovery_within_ms;
    let unknown = |mut r: Recovery, reason: String| {
        r.verdict = rw.map(|_| Verdict::Unknown);
        r.reason = reason;
        r
    };
    let baseline_us = view.tally(Window::Before).p99_us();
    r.baseline_p99_ms = baseline_us.map(|b| b as f64 / 1000.0);
    let limit_us = baseline_us.map(|b| b as f64 * band(ctx));
    r.band_limit_ms = limit_us.map(|l| l / 1000.0);
    if f.healed_ms.is_none() {
        return unknown(r, "still active at the end of the run".to_string());
    }
    let from_ms = match measure_from(f, &view.faults) {
        Ok(ms) => ms,
        Err(id) => return unknown(r, format!("overlapping fault {id} still active at the end")),
    };
    let horizon_ms = horizon(from_ms, &view.faults, ctx.input.workload_end_ms);
    r.measured_from_ms = Some(from_ms);
    r.horizon_ms = Some(horizon_ms);
    let (from_us, horizon_us) = (ms_to_us(from_ms), ms_to_us(horizon_ms));
    let after: Vec<&Op> = view
        .ops
        .iter()
        .copied()
        .filter(|o| o.outcome == OpOutcome::Ok && o.start_us >= from_us && o.start_us < horizon_us)
        .collect();
    let first_ok_us = after.iter().map(|o| o.end_us.saturating_sub(from_us)).min();
    let back_us = limit_us.and_then(|l| back_in_band_us(&after, l, from_us));
    r.first_ok_ms = first_ok_us.map(us_to_ms_ceil);
    r.back_in_band_ms = back_us.map(us_to_ms_ceil);
    r.recovery_ms = r.first_ok_ms.zip(r.back_in_band_ms).map(|(a, b)| a.max(b));
    let observed_ms = horizon_ms.saturating_sub(from_ms);
    decide(r, rw, observed_ms, band(ctx))
}

fn us_to_ms_ceil(us: u64) -> u64 {
    us.div_ceil(1000)
}

/// The heal of `f`, moved to the heal of any fault active at that moment (repeatedly).
/// Err(id) if such a fault was never healed.
fn measure_from(f: &FaultRecord, faults: &[&FaultRecord]) -> Result<u64, String> {
    let mut h = f.healed_ms.unwrap_or(f.injected_ms);
    loop {
        let mut moved = false;
        for g in faults.iter().filter(|g| g.id != f.id) {
            if g.injected_ms > h {
                continue;
            }
            match g.healed_ms {
                None => return Err(g.id.clone()),
                Some(gh) if gh > h => {
                    h = gh;
                    moved = true;
                }
                Some(_) => {}
            }
        }
        if !moved {
            return Ok(h);
        }
    }
}

/// The next injection after `from_ms` of a fault affecting the version, or the workload end.
fn horizon(from_ms: u64, faults: &[&FaultRecord], workload_end_ms: u64) -> u64 {
    faults
        .iter()
        .map(|g| g.injected_ms)
        .filter(|i| *i > from_ms)
        .min()
        .map_or(workload_end_ms, |i| i.min(workload_end_ms))
}

/// (b): the delay from `from_us` to the first rolling group within `limit_us` (see module doc).
fn back_in_band_us(after: &[&Op], limit_us: f64, from_us: u64) -> Option<u64> {
    if after.is_empty() {
        return None;
    }
    let n = ROLLING_OPS.min(after.len());
    after
        .windows(n)
        .find(|group| {
            let lat: Vec<u64> = group.iter().map(|o| o.latency_us()).collect();
            p99(&lat).is_some_and(|p| p as f64 <= limit_us)
        })
        .and_then(|group| group.first())
        .map(|o| o.intended_us.max(from_us) - from_us)
}

/// The verdict of one recovery against `recovery_within` (see module doc).
fn decide(mut r: Recovery, rw: Option<u64>, observed_ms: u64, band: f64) -> Recovery {
    let Some(rw) = rw else {
        r.reason = "measured only: no recovery_within bound".to_string();
        return r;
    };
    let short = observed_ms < rw;
    let seen = fmt_ms(observed_ms);
    let (bound, in_band) = (fmt_ms(rw), format!("within {band}x the baseline p99"));
    use Verdict::{Invalid, Unknown, Valid};
    let (verdict, reason) = match (r.first_ok_ms, r.back_in_band_ms, r.baseline_p99_ms) {
        (Some(a), _, _) if a > rw => {
            let a = fmt_ms(a);
            (
                Invalid,
                format!("first ok operation {a} after the heal, over {bound}"),
            )
        }
        (None, _, _) if short => (
            Unknown,
            format!("no ok operation in the {seen} observed after the heal (less than {bound})"),
        ),
        (None, _, _) => (
            Invalid,
            format!("never recovered: no ok operation in the {seen} after the heal"),
        ),
        (Some(_), _, None) => (
            Unknown,
            "no baseline p99 (no ok operation before the first fault)".to_string(),
        ),
        (Some(_), Some(b), _) if b > rw => {
            let b = fmt_ms(b);
            (
                Invalid,
                format!("latency back {in_band} only {b} after the heal, over {bound}"),
            )
        }
        (Some(_), None, Some(_)) if short => (
            Unknown,
            format!("latency not yet back {in_band} in the {seen} observed (less than {bound})"),
        ),
        (Some(_), None, Some(_)) => (
            Invalid,
            format!("never recovered: latency not back {in_band} in the {seen} after the heal"),
        ),
        (Some(a), Some(b), Some(_)) => {
            let (total, a, b) = (fmt_ms(a.max(b)), fmt_ms(a), fmt_ms(b));
            (
                Valid,
                format!("recovered in {total} (first ok {a}, latency back {b})"),
            )
        }
    };
    r.verdict = Some(verdict);
    r.reason = reason;
    r
}
