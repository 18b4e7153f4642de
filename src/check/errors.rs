//! The error-class summary of a run (data for reports, not a check).
//!
//! Every operation whose outcome is not `ok` (warm-up and read-back included) is counted under a
//! class: its `error_class` when it has one, otherwise `<outcome>: <first 60 characters of the
//! message>` (`info: deadline exceeded…`), or just `<outcome>` without a message. Rows are per
//! version and class, with the count and the first and last completion times (Unix ms), ordered
//! by version, then count (most first), then class.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::workload::history::{Op, OpOutcome};

/// Characters of the message kept in a class without an error class.
pub const MESSAGE_CHARS: usize = 60;

/// How often one error class was seen on one version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorClassCount {
    /// The version, e.g. `3.5.7`.
    pub version: String,
    /// The error class or `info: <message start>`.
    pub class: String,
    /// Operations.
    pub count: u64,
    /// The first one's end, Unix ms.
    pub first_ms: u64,
    /// The last one's end, Unix ms.
    pub last_ms: u64,
}

/// The class an unsuccessful operation is counted under.
pub fn class_of(op: &Op) -> String {
    if let Some(c) = op.error_class() {
        return c.to_string();
    }
    match op.message().map(str::trim) {
        Some(m) if !m.is_empty() => {
            let start: String = m.chars().take(MESSAGE_CHARS).collect();
            format!("{}: {start}", op.outcome)
        }
        _ => op.outcome.to_string(),
    }
}

/// The summary of every non-`ok` operation in `history`.
pub fn summarize(history: &[Op]) -> Vec<ErrorClassCount> {
    let mut by: BTreeMap<(String, String), ErrorClassCount> = BTreeMap::new();
    for op in history.iter().filter(|o| o.outcome != OpOutcome::Ok) {
        let version = op.version.version().to_string();
        let class = class_of(op);
        let t = op.end_us / 1000;
        let e = by
            .entry((version.clone(), class.clone()))
            .or_insert(ErrorClassCount {
                version,
                class,
                count: 0,
                first_ms: t,
                last_ms: t,
            });
        e.count += 1;
        e.first_ms = e.first_ms.min(t);
        e.last_ms = e.last_ms.max(t);
    }
    let mut rows: Vec<ErrorClassCount> = by.into_values().collect();
    rows.sort_by(|a, b| {
        (&a.version, std::cmp::Reverse(a.count), &a.class).cmp(&(
            &b.version,
            std::cmp::Reverse(b.count),
            &b.class,
        ))
    });
    rows
}
