//! `lost_writes` and `duplicated_writes`: the write workload's final read-back per version.
//!
//! Against [`WriteCheck`]: lost = `lost_count` (acknowledged ids missing), duplicated = ids read
//! back more than once. `Unknown` when the version has no read-back in `writes`, when the
//! read-back itself failed (`error`), when no write was acknowledged (nothing to lose), or —
//! duplicates only — when the recorded list is full ([`LIST_CAP`] ids, so the count is "at
//! least") and that is not already over the threshold. Ids read back that were never attempted
//! or definitely failed (`unexpected`) are shown in the details of both checks.

use serde_json::json;

use super::context::Ctx;
use super::model::{CheckResult, Verdict};
use crate::workload::load::WriteCheck;

/// The lost-writes check's name.
pub const LOST: &str = "lost_writes";
/// The duplicated-writes check's name.
pub const DUPLICATED: &str = "duplicated_writes";
/// How many ids `WriteCheck` keeps in its lists.
pub const LIST_CAP: usize = 20;

/// `= 0`, or `<= N`.
pub fn expected(threshold: u64) -> String {
    if threshold == 0 {
        "= 0".to_string()
    } else {
        format!("<= {threshold}")
    }
}

/// Checks lost writes of one version.
pub fn check_lost(ctx: &Ctx, version: &str, threshold: u64) -> Result<CheckResult, String> {
    check(ctx, version, LOST, threshold, |w| {
        let count = w.lost_count;
        (
            count,
            false,
            format!("{count} acknowledged id(s) missing from the read-back"),
        )
    })
}

/// Checks duplicated writes of one version.
pub fn check_duplicated(ctx: &Ctx, version: &str, threshold: u64) -> Result<CheckResult, String> {
    check(ctx, version, DUPLICATED, threshold, |w| {
        let count = w.duplicated.len() as u64;
        let at_least = w.duplicated.len() >= LIST_CAP;
        let more = if at_least { " (at least)" } else { "" };
        (
            count,
            at_least,
            format!("{count}{more} id(s) read back more than once"),
        )
    })
}

/// The shared shape: `measure` gives (count, count-is-a-lower-bound, observed text).
fn check(
    ctx: &Ctx,
    version: &str,
    name: &str,
    threshold: u64,
    measure: impl Fn(&WriteCheck) -> (u64, bool, String),
) -> Result<CheckResult, String> {
    let base = CheckResult {
        check: name.to_string(),
        version: Some(version.to_string()),
        verdict: Verdict::Unknown,
        expected: expected(threshold),
        observed: "no read-back".to_string(),
        reason: "no write read-back for this version".to_string(),
        details: serde_json::Value::Null,
    };
    let Some(w) = ctx.input.writes.get(version) else {
        return Ok(base);
    };
    let details = details(w);
    if let Some(e) = &w.error {
        let reason = format!("the read-back failed: {e}");
        return Ok(CheckResult {
            reason,
            details,
            ..base
        });
    }
    if w.acknowledged == 0 {
        let reason = "no write was acknowledged".to_string();
        let observed = format!("0 acknowledged, {} read", w.read);
        return Ok(CheckResult {
            reason,
            observed,
            details,
            ..base
        });
    }
    let (count, at_least, observed) = measure(w);
    let (verdict, reason) = if count > threshold {
        (
            Verdict::Invalid,
            format!("{observed}, over {}", expected(threshold)),
        )
    } else if at_least {
        let reason = format!("{observed}: the list is capped, the count may exceed the bound");
        (Verdict::Unknown, reason)
    } else {
        (
            Verdict::Valid,
            format!("{observed} of {} acknowledged", w.acknowledged),
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

fn details(w: &WriteCheck) -> serde_json::Value {
    json!({
        "acknowledged": w.acknowledged,
        "uncertain": w.uncertain,
        "read": w.read,
        "lost_count": w.lost_count,
        "lost": w.lost,
        "duplicated": w.duplicated,
        "unexpected": w.unexpected,
        "error": w.error,
    })
}
