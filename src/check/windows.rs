//! The time windows of one Spark version's run, and which operations count in them.
//!
//! For a version `v`, with `F` the faults whose `versions` contain `v`:
//!
//! - **before** = `[warm-up end, first injection in F)`, where the warm-up ends at the intended
//!   start of `v`'s first non-warm-up query or write (the workload's start when there is none).
//!   With `F` empty, `before` is open-ended: the whole run after warm-up.
//! - **during** = the union of each fault's interval: `[injected, healed)`; for an instantaneous
//!   fault (`healed_ms == injected_ms`, e.g. a kill the supervisor recovers from by itself)
//!   `[injected, injected + recovery_within)`, or 30 s when no `recovery_within` is given; for a
//!   fault still active at the end (`healed_ms` None) `[injected, ∞)`.
//! - **after** = `[max(last heal + recovery_within (or last heal), end of during), ∞)`; it does
//!   not exist while a fault in `F` is still active at the end.
//!
//! All intervals are half-open and compared in microseconds. An operation belongs to the window
//! containing its **intended** start — except that one still running when a fault began (its
//! intended start before the injection, its end after it) was exposed to the fault and counts as
//! **during** ([`VersionWindows::window_of_op`]). Operations in none of them (between two faults, or in the
//! recovery margin after the last heal) count in no window. "∞" means operations whose intended
//! start lies after the workload's end (there should be none) still count in the last window;
//! reports show such an end as the workload's end. The windows are disjoint by construction.
//!
//! Only non-warm-up queries and writes count: warm-up operations and the final read-back are
//! excluded from availability and latency.

use serde::{Deserialize, Serialize};

use super::util::{p99, percentile};
use crate::fault::FaultRecord;
use crate::workload::history::{Op, OpKind, OpOutcome};

/// The during-window length of an instantaneous fault when no `recovery_within` is given.
pub const INSTANT_FAULT_MARGIN_MS: u64 = 30_000;

/// One of the three windows of a version's run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Window {
    /// From the end of warm-up to the first fault.
    Before,
    /// While a fault is active (plus the margin of instantaneous faults).
    During,
    /// From the last heal plus the recovery margin to the end.
    After,
}

impl Window {
    /// The three windows in time order.
    pub const ALL: [Window; 3] = [Window::Before, Window::During, Window::After];

    /// `before`, `during` or `after`.
    pub fn as_str(self) -> &'static str {
        match self {
            Window::Before => "before",
            Window::During => "during",
            Window::After => "after",
        }
    }
}

/// A half-open interval `[start_us, end_us)` of Unix microseconds; `end_us == u64::MAX` is
/// open-ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Interval {
    /// Inclusive start.
    pub start_us: u64,
    /// Exclusive end.
    pub end_us: u64,
}

impl Interval {
    /// Whether `t_us` lies inside.
    pub fn contains(&self, t_us: u64) -> bool {
        self.start_us <= t_us && t_us < self.end_us
    }
}

/// An interval for reports, in Unix milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// Start (inclusive).
    pub start_ms: u64,
    /// End (exclusive); an open end is shown as the workload's end.
    pub end_ms: u64,
}

/// Whether an operation counts for availability and latency: not warm-up, not the read-back.
pub fn counts(op: &Op) -> bool {
    !op.warmup && op.kind != OpKind::ReadBack
}

/// The interval a fault covers in the during window (see the module doc).
pub fn fault_interval(f: &FaultRecord, recovery_within_ms: Option<u64>) -> Interval {
    let start_us = ms_to_us(f.injected_ms);
    let end_us = match f.healed_ms {
        None => u64::MAX,
        Some(h) if h <= f.injected_ms => {
            let margin = recovery_within_ms.unwrap_or(INSTANT_FAULT_MARGIN_MS);
            ms_to_us(f.injected_ms.saturating_add(margin))
        }
        Some(h) => ms_to_us(h),
    };
    Interval { start_us, end_us }
}

/// Milliseconds to microseconds, saturating.
pub fn ms_to_us(ms: u64) -> u64 {
    ms.saturating_mul(1000)
}

/// Sorts and merges overlapping or touching intervals.
pub fn merge_intervals(mut v: Vec<Interval>) -> Vec<Interval> {
    v.sort();
    let mut out: Vec<Interval> = Vec::with_capacity(v.len());
    for i in v {
        match out.last_mut() {
            Some(last) if i.start_us <= last.end_us => last.end_us = last.end_us.max(i.end_us),
            _ => out.push(i),
        }
    }
    out
}

/// The windows of one version.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionWindows {
    /// The version, e.g. `3.5.7`.
    pub version: String,
    /// The baseline window (possibly empty).
    pub before: Interval,
    /// The fault windows, merged and sorted; empty when no fault affected the version.
    pub during: Vec<Interval>,
    /// The after window; None when no fault affected the version or one was still active.
    pub after: Option<Interval>,
    /// Ids of faults affecting the version that were still active at the end.
    pub active_at_end: Vec<String>,
}

impl VersionWindows {
    /// Builds the windows of `version` from its operations and the faults affecting it.
    pub fn build(
        version: &str,
        ops: &[&Op],
        faults: &[&FaultRecord],
        recovery_within_ms: Option<u64>,
        workload_start_ms: u64,
    ) -> VersionWindows {
        let warmup_end = ops
            .iter()
            .filter(|o| counts(o))
            .map(|o| o.intended_us)
            .min()
            .unwrap_or(ms_to_us(workload_start_ms));
        let first_injection = faults.iter().map(|f| ms_to_us(f.injected_ms)).min();
        let before = Interval {
            start_us: warmup_end,
            end_us: first_injection.map_or(u64::MAX, |i| i.max(warmup_end)),
        };
        let during = merge_intervals(
            faults
                .iter()
                .map(|f| fault_interval(f, recovery_within_ms))
                .collect(),
        );
        let active_at_end: Vec<String> = faults
            .iter()
            .filter(|f| f.healed_ms.is_none())
            .map(|f| f.id.clone())
            .collect();
        let after = after_window(faults, &during, recovery_within_ms, &active_at_end);
        VersionWindows {
            version: version.to_string(),
            before,
            during,
            after,
            active_at_end,
        }
    }

    /// Whether any fault affected the version.
    pub fn has_faults(&self) -> bool {
        !self.during.is_empty()
    }

    /// The window containing `t_us`, if any.
    pub fn window_of(&self, t_us: u64) -> Option<Window> {
        if self.during.iter().any(|i| i.contains(t_us)) {
            Some(Window::During)
        } else if self.before.contains(t_us) {
            Some(Window::Before)
        } else if self.after.is_some_and(|a| a.contains(t_us)) {
            Some(Window::After)
        } else {
            None
        }
    }

    /// The window of an operation: that of its intended start, or `during` when it was still
    /// running as a fault interval began.
    pub fn window_of_op(&self, op: &Op) -> Option<Window> {
        let start = self.window_of(op.intended_us);
        let exposed = self
            .during
            .iter()
            .any(|i| op.intended_us < i.start_us && op.end_us > i.start_us);
        if exposed && start != Some(Window::During) {
            Some(Window::During)
        } else {
            start
        }
    }

    /// The intervals of a window.
    pub fn intervals(&self, w: Window) -> Vec<Interval> {
        match w {
            Window::Before => vec![self.before],
            Window::During => self.during.clone(),
            Window::After => self.after.into_iter().collect(),
        }
    }

    /// The intervals of a window for reports, in milliseconds (open ends shown as `end_ms`).
    pub fn spans(&self, w: Window, workload_end_ms: u64) -> Vec<Span> {
        self.intervals(w)
            .into_iter()
            .map(|i| {
                let start_ms = i.start_us / 1000;
                let end_ms = if i.end_us == u64::MAX {
                    workload_end_ms.max(start_ms)
                } else {
                    i.end_us.div_ceil(1000)
                };
                Span { start_ms, end_ms }
            })
            .collect()
    }

    /// Why a window has no meaning for this version, if it has none.
    pub fn unavailable_reason(&self, w: Window) -> Option<String> {
        match w {
            Window::Before => None,
            _ if !self.has_faults() => Some("no fault affected this version".to_string()),
            Window::After if self.after.is_none() => Some(format!(
                "fault {} was still active at the end of the run",
                self.active_at_end.join(", ")
            )),
            _ => None,
        }
    }
}

/// `[max(last heal + recovery margin, end of during), ∞)`, or None (see the module doc).
fn after_window(
    faults: &[&FaultRecord],
    during: &[Interval],
    recovery_within_ms: Option<u64>,
    active_at_end: &[String],
) -> Option<Interval> {
    if faults.is_empty() || !active_at_end.is_empty() {
        return None;
    }
    let margin = recovery_within_ms.unwrap_or(0);
    let last_heal = faults
        .iter()
        .filter_map(|f| f.healed_ms)
        .map(|h| ms_to_us(h.saturating_add(margin)))
        .max()
        .unwrap_or(0);
    let during_end = during.iter().map(|i| i.end_us).max().unwrap_or(0);
    Some(Interval {
        start_us: last_heal.max(during_end),
        end_us: u64::MAX,
    })
}

/// Outcome counts and `ok` latencies (from intended start, µs) of the operations in one window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    /// `ok` outcomes.
    pub ok: u64,
    /// `fail` outcomes.
    pub fail: u64,
    /// `info` outcomes (and any unrecognised outcome, counted as unknown).
    pub info: u64,
    /// Latencies of the `ok` operations.
    pub ok_latencies_us: Vec<u64>,
}

impl Tally {
    /// Adds one operation.
    pub fn add(&mut self, op: &Op) {
        match op.outcome {
            OpOutcome::Ok => {
                self.ok += 1;
                self.ok_latencies_us.push(op.latency_us());
            }
            OpOutcome::Fail => self.fail += 1,
            OpOutcome::Info => self.info += 1,
        }
    }

    /// All operations counted.
    pub fn total(&self) -> u64 {
        self.ok + self.fail + self.info
    }

    /// `ok / (ok + fail + info)`, None without operations.
    pub fn availability(&self) -> Option<f64> {
        let total = self.total();
        (total > 0).then(|| self.ok as f64 / total as f64)
    }

    /// The p99 of the `ok` latencies, µs.
    pub fn p99_us(&self) -> Option<u64> {
        p99(&self.ok_latencies_us)
    }

    /// The p50 of the `ok` latencies, µs.
    pub fn p50_us(&self) -> Option<u64> {
        percentile(&self.ok_latencies_us, 0.5)
    }
}

/// The statistics of one window of one version, for reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowStats {
    /// The version, e.g. `3.5.7`.
    pub version: String,
    /// Which window.
    pub window: Window,
    /// Its intervals (several for `during`, none when the window does not exist).
    pub spans: Vec<Span>,
    /// Operations counted (non-warm-up queries and writes whose intended start is inside).
    pub ops: u64,
    /// `ok` outcomes.
    pub ok: u64,
    /// `fail` outcomes.
    pub fail: u64,
    /// `info` outcomes.
    pub info: u64,
    /// `ok / ops`, None without operations.
    pub availability: Option<f64>,
    /// Median latency of `ok` operations, milliseconds.
    pub p50_ms: Option<f64>,
    /// p99 latency of `ok` operations, milliseconds (the baseline p99 for `before`).
    pub p99_ms: Option<f64>,
    /// Why the window does not exist for this version, if it does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl WindowStats {
    /// The report row of one window.
    pub fn of(vw: &VersionWindows, w: Window, t: &Tally, workload_end_ms: u64) -> WindowStats {
        let ms = |us: u64| us as f64 / 1000.0;
        WindowStats {
            version: vw.version.clone(),
            window: w,
            spans: vw.spans(w, workload_end_ms),
            ops: t.total(),
            ok: t.ok,
            fail: t.fail,
            info: t.info,
            availability: t.availability(),
            p50_ms: t.p50_us().map(ms),
            p99_ms: t.p99_us().map(ms),
            note: vw.unavailable_reason(w),
        }
    }
}
