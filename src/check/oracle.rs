//! `wrong_answers`: the oracle's verdicts. Always on, whether or not the scenario states it.
//!
//! Every operation of the version counts, warm-up included (a wrong answer is wrong whenever
//! it happens). Any `wrong` verdict → `Invalid`, whatever `wrong_answers` says (the threshold
//! only states intent). No `wrong` and no `correct` verdict at all (nothing judged, or only
//! `undetermined`) → `Unknown`. Otherwise `Valid`. Details list each wrong operation (op number,
//! name, version, the oracle's detail cut to [`DETAIL_CHARS`] characters), at most
//! [`MAX_LISTED`] of them, with the count of those left out.

use serde_json::json;

use super::context::Ctx;
use super::model::{CheckResult, Verdict};
use super::util::truncate_chars;
use crate::workload::history::{Op, OpVerdict};

/// The check's name.
pub const NAME: &str = "wrong_answers";
/// Characters of each wrong answer's detail kept in the details.
pub const DETAIL_CHARS: usize = 2000;
/// Wrong operations listed in the details (the rest are counted).
pub const MAX_LISTED: usize = 200;

/// Always `= 0`.
pub fn expected() -> String {
    "= 0".to_string()
}

/// Checks one version.
pub fn check(ctx: &Ctx, version: &str) -> Result<CheckResult, String> {
    let view = ctx.view(version)?;
    let count = |v: OpVerdict| view.all_ops.iter().filter(|o| o.verdict == Some(v)).count();
    let (correct, undetermined) = (count(OpVerdict::Correct), count(OpVerdict::Undetermined));
    let wrong: Vec<&Op> = view
        .all_ops
        .iter()
        .copied()
        .filter(|o| o.verdict == Some(OpVerdict::Wrong))
        .collect();
    let judged = correct + wrong.len();
    let listed: Vec<serde_json::Value> = wrong.iter().take(MAX_LISTED).map(|o| entry(o)).collect();
    let details = json!({
        "judged": judged, "correct": correct, "wrong": wrong.len(), "undetermined": undetermined,
        "wrong_ops": listed,
        "wrong_ops_omitted": wrong.len().saturating_sub(MAX_LISTED),
    });
    let (verdict, reason) = if let Some(first) = wrong.first() {
        let reason = format!(
            "the oracle found {} wrong answer(s), first {} (op {})",
            wrong.len(),
            first.name,
            first.op
        );
        (Verdict::Invalid, reason)
    } else if judged == 0 {
        let reason = format!("no answer was judged ({undetermined} undetermined)");
        (Verdict::Unknown, reason)
    } else {
        (
            Verdict::Valid,
            format!("all {judged} judged answers were correct"),
        )
    };
    Ok(CheckResult {
        check: NAME.to_string(),
        version: Some(version.to_string()),
        verdict,
        expected: expected(),
        observed: format!("{} wrong of {judged} judged", wrong.len()),
        reason,
        details,
    })
}

fn entry(o: &Op) -> serde_json::Value {
    json!({
        "op": o.op,
        "name": &*o.name,
        "version": o.version.version(),
        "warmup": o.warmup,
        "intended_us": o.intended_us,
        "verdict_detail": o.verdict_detail().map(|d| truncate_chars(d, DETAIL_CHARS)),
    })
}
