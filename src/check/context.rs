//! What every checker reads: the input plus, per version, its operations, faults, windows and
//! per-window tallies, computed once.

use std::collections::BTreeMap;

use super::model::Thresholds;
use super::util::duration_ms;
use super::windows::{counts, Tally, VersionWindows, Window};
use super::CheckInput;
use crate::fault::FaultRecord;
use crate::workload::history::Op;

/// One version's view of the run.
#[derive(Debug, Clone)]
pub struct VersionView<'a> {
    /// Every operation of the version (warm-up and read-back included), in history order.
    pub all_ops: Vec<&'a Op>,
    /// The operations that count (non-warm-up queries and writes), by intended start.
    pub ops: Vec<&'a Op>,
    /// The faults affecting the version, by injection time.
    pub faults: Vec<&'a FaultRecord>,
    /// Its windows.
    pub windows: VersionWindows,
    /// Tallies of `before`, `during`, `after` (indexed like [`Window::ALL`]).
    pub tallies: [Tally; 3],
}

impl VersionView<'_> {
    /// The tally of one window.
    pub fn tally(&self, w: Window) -> &Tally {
        &self.tallies[w as usize]
    }
}

/// The shared context of one checking pass.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// The input.
    pub input: &'a CheckInput<'a>,
    /// The scenario's thresholds.
    pub thresholds: &'a Thresholds,
    /// `recovery_within` in milliseconds.
    pub recovery_within_ms: Option<u64>,
    /// Per version (sorted, deduplicated).
    pub versions: BTreeMap<String, VersionView<'a>>,
}

impl<'a> Ctx<'a> {
    /// Computes the views of every version in `input.versions`.
    pub fn new(input: &'a CheckInput<'a>, thresholds: &'a Thresholds) -> Ctx<'a> {
        let recovery_within_ms = thresholds.recovery_within.map(|d| duration_ms(d.get()));
        let versions = input
            .versions
            .iter()
            .map(|v| (v.clone(), view(input, v, recovery_within_ms)))
            .collect();
        Ctx {
            input,
            thresholds,
            recovery_within_ms,
            versions,
        }
    }

    /// The view of `version`; every version of the input has one.
    pub fn view(&self, version: &str) -> Result<&VersionView<'a>, String> {
        self.versions
            .get(version)
            .ok_or_else(|| format!("version {version} is not in the run"))
    }
}

fn view<'a>(
    input: &'a CheckInput<'a>,
    version: &str,
    recovery_within_ms: Option<u64>,
) -> VersionView<'a> {
    let all_ops: Vec<&Op> = input
        .history
        .iter()
        .filter(|o| o.version.version() == version)
        .collect();
    let mut ops: Vec<&Op> = all_ops.iter().copied().filter(|o| counts(o)).collect();
    ops.sort_by_key(|o| (o.intended_us, o.op));
    let mut faults: Vec<&FaultRecord> =
        input.faults.iter().filter(|f| f.affects(version)).collect();
    faults.sort_by(|a, b| (a.injected_ms, &a.id).cmp(&(b.injected_ms, &b.id)));
    let windows = VersionWindows::build(
        version,
        &ops,
        &faults,
        recovery_within_ms,
        input.workload_start_ms,
    );
    let mut tallies: [Tally; 3] = Default::default();
    for op in &ops {
        if let Some(w) = windows.window_of_op(op) {
            tallies[w as usize].add(op);
        }
    }
    VersionView {
        all_ops,
        ops,
        faults,
        windows,
        tallies,
    }
}
