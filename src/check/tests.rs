//! Checkers on literal histories: every rule, planted violations, clean runs.

use std::collections::BTreeMap;

use super::windows::{fault_interval, VersionWindows, Window};
use super::*;
use crate::units::HumanDuration;
use crate::versions::SparkLine;
use crate::workload::history::{Op, OpKind, OpRecord, OpVerdict};

/// The run's time origin, Unix ms.
const T0: u64 = 1_700_000_000_000;
const V35: &str = "3.5.7";
const V41: &str = "4.1.0";

fn line(v: &str) -> SparkLine {
    if v == V41 {
        SparkLine::V4_1
    } else {
        SparkLine::V3_5
    }
}

/// Unix ms of `s` seconds into the run.
fn at(s: f64) -> u64 {
    T0 + (s * 1000.0).round() as u64
}

/// A query intended (and started) at `s` seconds, taking `latency_ms`.
fn op(v: &str, s: f64, latency_ms: u64, outcome: &str) -> OpRecord {
    let intended_us = at(s) * 1000;
    OpRecord {
        endpoint: "127.0.0.1:15002".into(),
        start_us: intended_us,
        end_us: intended_us + latency_ms * 1000,
        outcome: outcome.parse().expect("an outcome"),
        error_class: (outcome == "fail").then(|| "CONNECT_ERROR".to_string()),
        rows: (outcome == "ok").then_some(10),
        verdict: (outcome == "ok").then_some(OpVerdict::Correct),
        ..OpRecord::planned(0, OpKind::Query, line(v), "q3", intended_us)
    }
}

trait Tweak {
    fn warm(self) -> Self;
    fn wrong(self, detail: &str) -> Self;
    fn kind(self, k: OpKind) -> Self;
}

impl Tweak for OpRecord {
    fn warm(mut self) -> Self {
        self.warmup = true;
        self
    }
    fn wrong(mut self, detail: &str) -> Self {
        self.verdict = Some(OpVerdict::Wrong);
        self.verdict_detail = Some(detail.into());
        self
    }
    fn kind(mut self, k: OpKind) -> Self {
        self.kind = k;
        self
    }
}

/// One op per second from 0 to `end_s` (exclusive): warm-up for the first 30 s, then whatever
/// `shape(second)` says: (latency ms, outcome).
fn timeline(v: &str, end_s: u64, shape: impl Fn(u64) -> (u64, &'static str)) -> Vec<OpRecord> {
    (0..end_s)
        .map(|s| {
            let (lat, outcome) = shape(s);
            let o = op(v, s as f64, lat, outcome);
            if s < 30 {
                o.warm()
            } else {
                o
            }
        })
        .collect()
}

/// Fault-free shape: ok in 200 ms.
fn healthy(_: u64) -> (u64, &'static str) {
    (200, "ok")
}

/// Fails inside `[from, to)`, healthy elsewhere.
fn failing(from: u64, to: u64) -> impl Fn(u64) -> (u64, &'static str) {
    move |s| {
        if (from..to).contains(&s) {
            (50, "fail")
        } else {
            (200, "ok")
        }
    }
}

fn fault(id: &str, versions: &[&str], inj_s: f64, healed_s: Option<f64>) -> FaultRecord {
    FaultRecord {
        id: id.into(),
        kind: "kill".into(),
        target: "connect".into(),
        versions: versions.iter().map(|v| v.to_string()).collect(),
        params: BTreeMap::new(),
        injected_ms: at(inj_s),
        healed_ms: healed_s.map(at),
        detail: "test".into(),
        healed_by: None,
    }
}

fn clean_writes() -> WriteCheck {
    WriteCheck {
        acknowledged: 100,
        read: 100,
        ..WriteCheck::default()
    }
}

struct Run {
    history: Vec<OpRecord>,
    faults: Vec<FaultRecord>,
    writes: BTreeMap<String, WriteCheck>,
    versions: Vec<String>,
    end_s: f64,
    interrupted: bool,
}

impl Run {
    fn new(versions: &[&str], end_s: f64) -> Run {
        Run {
            history: Vec::new(),
            faults: Vec::new(),
            writes: versions
                .iter()
                .map(|v| (v.to_string(), clean_writes()))
                .collect(),
            versions: versions.iter().map(|v| v.to_string()).collect(),
            end_s,
            interrupted: false,
        }
    }

    fn ops(mut self, ops: Vec<OpRecord>) -> Run {
        self.history.extend(ops);
        for (i, o) in self.history.iter_mut().enumerate() {
            o.op = i as u64;
        }
        self
    }

    fn fault(mut self, f: FaultRecord) -> Run {
        self.faults.push(f);
        self
    }

    fn check(&self, t: &Thresholds) -> CheckReport {
        let history = Op::all(&self.history);
        let input = CheckInput {
            history: &history,
            faults: &self.faults,
            writes: &self.writes,
            versions: &self.versions,
            workload_start_ms: T0,
            workload_end_ms: at(self.end_s),
            interrupted: self.interrupted,
        };
        run_checks(&input, t)
    }
}

fn hd(s: &str) -> HumanDuration {
    HumanDuration::parse(s).expect("test duration")
}

/// Every check, with a lenient `during` bound and a 60 s recovery bound.
fn full() -> Thresholds {
    Thresholds {
        availability_before: Some(0.99),
        availability_during: Some(0.0),
        availability_after: Some(0.99),
        latency_p99: Some(hd("5s")),
        recovery_within: Some(hd("60s")),
        baseline_band: None,
        wrong_answers: Some(0),
        lost_writes: Some(0),
        duplicated_writes: Some(0),
    }
}

fn only_recovery() -> Thresholds {
    Thresholds {
        recovery_within: Some(hd("60s")),
        ..Thresholds::default()
    }
}

fn result<'a>(r: &'a CheckReport, check: &str, v: &str) -> &'a CheckResult {
    r.results
        .iter()
        .find(|x| x.check == check && x.version.as_deref() == Some(v))
        .unwrap_or_else(|| panic!("no {check} for {v} in {:#?}", r.results))
}

/// Both versions, 600 s, a fault on both from 200 s to 260 s during which operations fail.
fn clean_fault_run() -> Run {
    Run::new(&[V35, V41], 600.0)
        .ops(timeline(V35, 600, failing(200, 260)))
        .ops(timeline(V41, 600, failing(200, 260)))
        .fault(fault("f1", &[V35, V41], 200.0, Some(260.0)))
}

// ---- clean, empty, ordering -------------------------------------------------------------

#[test]
fn clean_run_with_a_fault_is_valid() {
    let r = clean_fault_run().check(&full());
    assert!(
        r.results.iter().all(|x| x.verdict == Verdict::Valid),
        "{:#?}",
        r.results
    );
    assert_eq!(r.verdict, Verdict::Valid);
    assert_eq!(r.results.len(), 9 * 2);
    let during = result(&r, "availability_during", V35);
    assert_eq!(during.observed, "0.0 (0/60 ok)");
    assert_eq!(r.recoveries.len(), 2);
    assert_eq!(r.recoveries[0].first_ok_ms, Some(200));
    assert_eq!(r.recoveries[0].back_in_band_ms, Some(0));
}

#[test]
fn results_are_ordered_by_check_then_version() {
    let r = clean_fault_run().check(&full());
    let order: Vec<(String, String)> = r
        .results
        .iter()
        .map(|x| (x.check.clone(), x.version.clone().unwrap_or_default()))
        .collect();
    let checks = [
        "wrong_answers",
        "steady_state",
        "availability_before",
        "availability_during",
        "availability_after",
        "latency_p99",
        "recovery_within",
        "lost_writes",
        "duplicated_writes",
    ];
    let expected: Vec<(String, String)> = checks
        .iter()
        .flat_map(|c| [V35, V41].map(|v| (c.to_string(), v.to_string())))
        .collect();
    assert_eq!(order, expected);
    // Versions given out of order and twice still come out sorted once.
    let mut run = clean_fault_run();
    run.versions = vec![V41.into(), V35.into(), V41.into()];
    assert_eq!(run.check(&full()).results, r.results);
}

#[test]
fn empty_history_is_unknown() {
    let r = Run::new(&[V35, V41], 600.0).check(&full());
    assert_eq!(r.verdict, Verdict::Unknown);
    let not_writes = r.results.iter().filter(|x| !x.check.contains("writes"));
    assert!(not_writes.clone().all(|x| x.verdict == Verdict::Unknown));
    assert_eq!(not_writes.count(), 6 * 2);
    let none = Run::new(&[], 600.0).check(&full());
    assert!(none.results.is_empty());
    assert_eq!(none.verdict, Verdict::Unknown);
}

#[test]
fn without_faults_before_is_the_whole_run_and_fault_checks_are_unknown() {
    let run = Run::new(&[V35], 600.0).ops(timeline(V35, 600, healthy));
    let r = run.check(&full());
    let before = result(&r, "availability_before", V35);
    assert_eq!(
        (before.verdict, before.observed.as_str()),
        (Verdict::Valid, "1.0 (570/570 ok)")
    );
    for check in [
        "availability_during",
        "availability_after",
        "recovery_within",
    ] {
        let x = result(&r, check, V35);
        assert_eq!(x.verdict, Verdict::Unknown, "{check}");
        assert_eq!(x.reason, "no fault affected this version", "{check}");
    }
    let steady = Thresholds {
        availability_before: Some(0.99),
        latency_p99: Some(hd("1s")),
        ..Thresholds::default()
    };
    assert_eq!(run.check(&steady).verdict, Verdict::Valid);
}

#[test]
fn a_fault_on_one_version_leaves_the_other_without_fault_windows() {
    let run = Run::new(&[V35, V41], 600.0)
        .ops(timeline(V35, 600, failing(200, 260)))
        .ops(timeline(V41, 600, healthy))
        .fault(fault("f1", &[V35], 200.0, Some(260.0)));
    let r = run.check(&full());
    assert_eq!(
        result(&r, "availability_during", V35).verdict,
        Verdict::Valid
    );
    // 4.1.0 is the control: its fault checks do not apply and are not reported.
    for check in [
        "availability_during",
        "availability_after",
        "recovery_within",
    ] {
        assert!(
            !r.results
                .iter()
                .any(|x| x.check == check && x.version.as_deref() == Some(V41)),
            "{check} reported for the control version"
        );
    }
    assert_eq!(
        result(&r, "availability_before", V41).verdict,
        Verdict::Valid
    );
    assert_eq!(r.verdict, Verdict::Valid);
}

// ---- windows --------------------------------------------------------------------------

#[test]
fn ops_belong_to_the_window_of_their_intended_start() {
    let ops = [op(V35, 30.0, 200, "ok")];
    let compact = Op::all(&ops);
    let refs: Vec<&Op> = compact.iter().collect();
    let f = fault("f1", &[V35], 200.0, Some(260.0));
    let us = |s: f64| at(s) * 1000;
    let no_rw = VersionWindows::build(V35, &refs, &[&f], None, T0);
    assert_eq!(no_rw.window_of(us(30.0)), Some(Window::Before));
    assert_eq!(no_rw.window_of(us(199.999)), Some(Window::Before));
    assert_eq!(no_rw.window_of(us(200.0)), Some(Window::During));
    assert_eq!(no_rw.window_of(us(260.0)), Some(Window::After));
    assert_eq!(no_rw.window_of(us(10.0)), None, "before the warm-up's end");
    let rw = VersionWindows::build(V35, &refs, &[&f], Some(60_000), T0);
    assert_eq!(rw.window_of(us(290.0)), None, "inside the recovery margin");
    assert_eq!(rw.window_of(us(320.0)), Some(Window::After));
}

#[test]
fn an_op_in_flight_when_a_fault_begins_counts_as_during() {
    // Started 0.1 s before the injection and failed 2 s later: exposed to the fault.
    let ops = [op(V35, 30.0, 200, "ok"), op(V35, 199.9, 2_000, "fail")];
    let compact = Op::all(&ops);
    let refs: Vec<&Op> = compact.iter().collect();
    let f = fault("f1", &[V35], 200.0, Some(260.0));
    let w = VersionWindows::build(V35, &refs, &[&f], None, T0);
    assert_eq!(w.window_of_op(&compact[0]), Some(Window::Before));
    assert_eq!(w.window_of_op(&compact[1]), Some(Window::During));
    let r = Run::new(&[V35], 600.0)
        .ops(ops.to_vec())
        .fault(f.clone())
        .check(&Thresholds {
            availability_before: Some(1.0),
            ..Thresholds::default()
        });
    let before = result(&r, "availability_before", V35);
    assert_eq!(before.verdict, Verdict::Valid, "{before:?}");
}

#[test]
fn instantaneous_faults_last_the_recovery_bound_or_30s() {
    let kill = fault("k1", &[V35], 300.0, Some(300.0));
    let i = fault_interval(&kill, None);
    assert_eq!((i.start_us, i.end_us), (at(300.0) * 1000, at(330.0) * 1000));
    let i = fault_interval(&kill, Some(60_000));
    assert_eq!(i.end_us, at(360.0) * 1000);
    let active = fault("a1", &[V35], 300.0, None);
    assert_eq!(fault_interval(&active, None).end_us, u64::MAX);
    // Without a recovery bound the after window starts when the kill's window ends.
    let w = VersionWindows::build(V35, &[], &[&kill], None, T0);
    assert_eq!(w.after.map(|a| a.start_us), Some(at(330.0) * 1000));
}

#[test]
fn warmup_and_read_back_are_excluded_from_availability() {
    let mut ops = timeline(
        V35,
        600,
        |s| if s < 30 { (50, "fail") } else { (200, "ok") },
    );
    ops.push(op(V35, 599.0, 50, "fail").kind(OpKind::ReadBack));
    let r = Run::new(&[V35], 600.0).ops(ops).check(&full());
    let before = result(&r, "availability_before", V35);
    assert_eq!(
        (before.verdict, before.observed.as_str()),
        (Verdict::Valid, "1.0 (570/570 ok)")
    );
}

#[test]
fn an_empty_window_is_unknown_not_valid() {
    // Healed 10 s before the end with a 60 s recovery bound: no operation is in `after`.
    let run = Run::new(&[V35], 600.0)
        .ops(timeline(V35, 600, failing(500, 590)))
        .fault(fault("f1", &[V35], 500.0, Some(590.0)));
    let after = result(&run.check(&full()), "availability_after", V35).clone();
    assert_eq!(after.verdict, Verdict::Unknown);
    assert_eq!(after.reason, "no operation in the after window");
}

// ---- availability ----------------------------------------------------------------------

#[test]
fn planted_availability_dip_before_faults_is_invalid() {
    let run = Run::new(&[V35], 600.0)
        .ops(timeline(V35, 600, |s| {
            if (100..110).contains(&s) || (200..260).contains(&s) {
                (50, "fail")
            } else {
                (200, "ok")
            }
        }))
        .fault(fault("f1", &[V35], 200.0, Some(260.0)));
    let r = run.check(&full());
    let before = result(&r, "availability_before", V35);
    assert_eq!(before.verdict, Verdict::Invalid);
    assert_eq!(before.observed, "0.9411 (160/170 ok)");
    assert_eq!(before.expected, ">= 0.99");
    assert_eq!(r.verdict, Verdict::Invalid);
}

#[test]
fn availability_during_faults_is_checked() {
    let t = Thresholds {
        availability_during: Some(0.5),
        ..Thresholds::default()
    };
    let r = clean_fault_run().check(&t);
    let during = result(&r, "availability_during", V35);
    assert_eq!(during.verdict, Verdict::Invalid);
    assert!(during.reason.contains("60 of 60"), "{}", during.reason);
}

#[test]
fn info_outcomes_count_against_availability() {
    let run = Run::new(&[V35], 600.0).ops(timeline(V35, 600, |s| {
        if s == 100 {
            (30_000, "info")
        } else {
            (200, "ok")
        }
    }));
    let t = Thresholds {
        availability_before: Some(1.0),
        ..Thresholds::default()
    };
    let before = result(&run.check(&t), "availability_before", V35).clone();
    assert_eq!(before.verdict, Verdict::Invalid);
    assert_eq!(before.expected, ">= 1.0");
}

// ---- latency ---------------------------------------------------------------------------

#[test]
fn latency_p99_ignores_fault_windows_and_catches_slow_steady_state() {
    let t = Thresholds {
        latency_p99: Some(hd("1s")),
        ..Thresholds::default()
    };
    // 30 s stalls while the fault is active do not count.
    let run = Run::new(&[V35], 600.0)
        .ops(timeline(V35, 600, |s| {
            if (200..260).contains(&s) {
                (30_000, "ok")
            } else {
                (200, "ok")
            }
        }))
        .fault(fault("f1", &[V35], 200.0, Some(260.0)));
    assert_eq!(
        result(&run.check(&t), "latency_p99", V35).verdict,
        Verdict::Valid
    );
    // 2 % of steady-state operations at 3 s do.
    let slow = Run::new(&[V35], 600.0).ops(timeline(V35, 600, |s| {
        if s % 50 == 0 {
            (3_000, "ok")
        } else {
            (200, "ok")
        }
    }));
    let x = result(&slow.check(&t), "latency_p99", V35).clone();
    assert_eq!(x.verdict, Verdict::Invalid);
    assert_eq!(x.observed, "p99 3.0s over 570 ok ops");
}

// ---- recovery --------------------------------------------------------------------------

#[test]
fn planted_slow_recovery_is_invalid() {
    // Healed at 260 s, but the first ok operation comes 90 s later.
    let run = Run::new(&[V35], 600.0)
        .ops(timeline(V35, 600, failing(200, 350)))
        .fault(fault("f1", &[V35], 200.0, Some(260.0)));
    let r = run.check(&only_recovery());
    let x = result(&r, "recovery_within", V35);
    assert_eq!(x.verdict, Verdict::Invalid);
    assert!(
        x.reason.contains("first ok operation 90.2s"),
        "{}",
        x.reason
    );
    assert_eq!(r.recoveries[0].first_ok_ms, Some(90_200));
    assert_eq!(r.verdict, Verdict::Invalid);
}

#[test]
fn planted_never_recovered_is_invalid() {
    let run = Run::new(&[V35], 600.0)
        .ops(timeline(V35, 600, failing(200, 600)))
        .fault(fault("f1", &[V35], 200.0, Some(260.0)));
    let r = run.check(&only_recovery());
    let x = result(&r, "recovery_within", V35);
    assert_eq!(x.verdict, Verdict::Invalid);
    assert!(x.reason.contains("never recovered"), "{}", x.reason);
    assert_eq!(r.recoveries[0].first_ok_ms, None);
}

#[test]
fn an_interrupt_right_after_its_heal_leaves_recovery_unknown_not_never_recovered() {
    // S3 down from 200 s; Ctrl-C at 262 s heals it at 262 s and stops the workload, so no
    // operation starts after the heal. Judged to the planned end (600 s), that read as
    // "never recovered"; judged to the interrupt, as the run now does, it is unknown.
    let planned = std::time::Duration::from_secs(600);
    let interrupted_at = at(262.5);
    let (_, end) = crate::run::workload_span(T0, planned, Some(interrupted_at));
    assert_eq!(end, interrupted_at);
    assert_eq!(crate::run::workload_span(T0, planned, None).1, at(600.0));
    let mut run = Run::new(&[V35], (end - T0) as f64 / 1000.0)
        .ops(timeline(V35, 262, failing(200, 263)))
        .fault(fault("f1", &[V35], 200.0, Some(262.0)));
    run.interrupted = true;
    let x = result(&run.check(&only_recovery()), "recovery_within", V35).clone();
    assert_eq!(x.verdict, Verdict::Unknown, "{}", x.reason);
    run.end_s = 600.0;
    let x = result(&run.check(&only_recovery()), "recovery_within", V35).clone();
    assert_eq!(x.verdict, Verdict::Invalid, "the old span: {}", x.reason);
}

#[test]
fn no_ok_after_a_heal_near_the_end_is_unknown() {
    let run = Run::new(&[V35], 600.0)
        .ops(timeline(V35, 600, failing(500, 600)))
        .fault(fault("f1", &[V35], 500.0, Some(570.0)));
    let x = result(&run.check(&only_recovery()), "recovery_within", V35).clone();
    assert_eq!(x.verdict, Verdict::Unknown, "{}", x.reason);
}

#[test]
fn planted_latency_not_back_in_band_is_invalid() {
    // Answers come back at once after the heal, but at 5 s instead of 200 ms for two minutes.
    let run = Run::new(&[V35], 600.0)
        .ops(timeline(V35, 600, |s| match s {
            200..=259 => (50, "fail"),
            260..=379 => (5_000, "ok"),
            _ => (200, "ok"),
        }))
        .fault(fault("f1", &[V35], 200.0, Some(260.0)));
    let r = run.check(&only_recovery());
    let x = result(&r, "recovery_within", V35);
    assert_eq!(x.verdict, Verdict::Invalid, "{}", x.reason);
    assert!(x.reason.contains("latency back within 2x"), "{}", x.reason);
    assert_eq!(r.recoveries[0].first_ok_ms, Some(5_000));
    assert_eq!(r.recoveries[0].back_in_band_ms, Some(120_000));
}

#[test]
fn recovery_is_the_later_of_first_ok_and_latency_back_in_band() {
    let run = Run::new(&[V35], 600.0)
        .ops(timeline(V35, 600, |s| match s {
            200..=269 => (50, "fail"),
            270..=299 => (1_000, "ok"),
            _ => (200, "ok"),
        }))
        .fault(fault("f1", &[V35], 200.0, Some(260.0)));
    let r = run.check(&only_recovery());
    let rec = &r.recoveries[0];
    assert_eq!(rec.first_ok_ms, Some(11_000));
    assert_eq!(rec.back_in_band_ms, Some(40_000));
    assert_eq!(rec.recovery_ms, Some(40_000));
    assert_eq!(rec.baseline_p99_ms, Some(200.0));
    assert_eq!(result(&r, "recovery_within", V35).verdict, Verdict::Valid);
    // A wider band accepts the 1 s answers: latency is back as soon as answers are.
    let wide = Thresholds {
        baseline_band: Some(10.0),
        ..only_recovery()
    };
    assert_eq!(run.check(&wide).recoveries[0].back_in_band_ms, Some(10_000));
}

#[test]
fn a_fault_still_active_at_the_end_is_unknown() {
    let run = Run::new(&[V35], 600.0)
        .ops(timeline(V35, 600, failing(500, 600)))
        .fault(fault("f1", &[V35], 500.0, None));
    let r = run.check(&full());
    let rec = result(&r, "recovery_within", V35);
    assert_eq!(rec.verdict, Verdict::Unknown);
    assert!(rec.reason.contains("still active"), "{}", rec.reason);
    let after = result(&r, "availability_after", V35);
    assert_eq!(after.verdict, Verdict::Unknown);
    assert_eq!(
        after.reason,
        "fault f1 was still active at the end of the run"
    );
}

#[test]
fn an_instantaneous_kill_recovers_from_its_injection() {
    let run = Run::new(&[V35], 600.0)
        .ops(timeline(V35, 600, failing(300, 305)))
        .fault(fault("k1", &[V35], 300.0, Some(300.0)));
    let r = run.check(&full());
    assert_eq!(r.recoveries[0].recovery_ms, Some(5_200));
    assert_eq!(r.verdict, Verdict::Valid, "{:#?}", r.results);
}

#[test]
fn overlapping_faults_measure_recovery_from_the_last_heal() {
    // f1 heals at 230 s while f2 (200–300 s) still acts: f1's recovery starts at 300 s.
    let run = Run::new(&[V35], 600.0)
        .ops(timeline(V35, 600, failing(200, 305)))
        .fault(fault("f1", &[V35], 200.0, Some(230.0)))
        .fault(fault("f2", &[V35], 210.0, Some(300.0)));
    let r = run.check(&only_recovery());
    assert_eq!(r.recoveries[0].measured_from_ms, Some(at(300.0)));
    assert_eq!(r.recoveries[0].first_ok_ms, Some(5_200));
    assert_eq!(result(&r, "recovery_within", V35).verdict, Verdict::Valid);
}

#[test]
fn a_next_fault_cuts_the_recovery_measure_short() {
    // f1 heals at 260 s, f2 strikes at 280 s before anything succeeded: f1 cannot be judged.
    let run = Run::new(&[V35], 600.0)
        .ops(timeline(V35, 600, failing(200, 320)))
        .fault(fault("f1", &[V35], 200.0, Some(260.0)))
        .fault(fault("f2", &[V35], 280.0, Some(310.0)));
    let r = run.check(&only_recovery());
    assert_eq!(r.recoveries[0].horizon_ms, Some(at(280.0)));
    assert_eq!(r.recoveries[0].verdict, Some(Verdict::Unknown));
    assert_eq!(r.recoveries[1].verdict, Some(Verdict::Valid));
}

// ---- oracle ----------------------------------------------------------------------------

#[test]
fn planted_wrong_answer_is_invalid_even_without_the_threshold() {
    let mut ops = timeline(V35, 600, healthy);
    ops[100] = ops[100].clone().wrong("row 3: expected 42, got 41");
    let r = Run::new(&[V35], 600.0)
        .ops(ops)
        .check(&Thresholds::default());
    let x = result(&r, "wrong_answers", V35);
    assert_eq!(x.verdict, Verdict::Invalid);
    assert_eq!(
        x.observed, "1 wrong of 600 judged",
        "warm-up answers are judged too"
    );
    let w = &x.details["wrong_ops"][0];
    assert_eq!(w["op"], 100);
    assert_eq!(w["name"], "q3");
    assert_eq!(w["version"], V35);
    assert_eq!(w["verdict_detail"], "row 3: expected 42, got 41");
    assert_eq!(r.verdict, Verdict::Invalid);
    // A generous threshold does not excuse it.
    let lenient = Thresholds {
        wrong_answers: Some(10),
        ..Thresholds::default()
    };
    assert_eq!(r.results.len(), 1, "the oracle runs without any threshold");
    let mut ops = timeline(V35, 600, healthy);
    ops[100] = ops[100].clone().wrong("x");
    let run = Run::new(&[V35], 600.0).ops(ops);
    assert_eq!(run.check(&lenient).verdict, Verdict::Invalid);
}

#[test]
fn wrong_answers_in_warmup_count_and_details_are_truncated() {
    let mut ops = timeline(V35, 600, healthy);
    ops[3] = ops[3].clone().wrong(&"é".repeat(5000));
    let r = Run::new(&[V35], 600.0)
        .ops(ops)
        .check(&Thresholds::default());
    let x = result(&r, "wrong_answers", V35);
    assert_eq!(x.verdict, Verdict::Invalid);
    let detail = x.details["wrong_ops"][0]["verdict_detail"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(
        detail.chars().count(),
        2001,
        "2000 characters and an ellipsis"
    );
}

#[test]
fn the_oracle_is_unknown_when_nothing_was_judged() {
    let ops: Vec<OpRecord> = timeline(V35, 600, healthy)
        .into_iter()
        .map(|mut o| {
            o.verdict = Some(OpVerdict::Undetermined);
            o
        })
        .collect();
    let r = Run::new(&[V35], 600.0)
        .ops(ops)
        .check(&Thresholds::default());
    let x = result(&r, "wrong_answers", V35);
    assert_eq!(x.verdict, Verdict::Unknown);
    assert_eq!(x.reason, "no answer was judged (600 undetermined)");
}

// ---- writes ----------------------------------------------------------------------------

#[test]
fn planted_lost_write_is_invalid() {
    let mut run = Run::new(&[V35], 600.0).ops(timeline(V35, 600, healthy));
    let w = WriteCheck {
        lost: vec![17],
        lost_count: 1,
        read: 99,
        ..clean_writes()
    };
    run.writes.insert(V35.into(), w);
    let r = run.check(&full());
    let x = result(&r, "lost_writes", V35);
    assert_eq!((x.verdict, x.expected.as_str()), (Verdict::Invalid, "= 0"));
    assert_eq!(x.details["lost"][0], 17);
    assert_eq!(r.verdict, Verdict::Invalid);
}

#[test]
fn planted_duplicated_write_is_invalid() {
    let mut run = Run::new(&[V35], 600.0).ops(timeline(V35, 600, healthy));
    let w = WriteCheck {
        duplicated: vec![5],
        read: 101,
        ..clean_writes()
    };
    run.writes.insert(V35.into(), w);
    let r = run.check(&full());
    assert_eq!(
        result(&r, "duplicated_writes", V35).verdict,
        Verdict::Invalid
    );
    assert_eq!(result(&r, "lost_writes", V35).verdict, Verdict::Valid);
}

#[test]
fn writes_are_unknown_without_a_usable_read_back() {
    let mut run = Run::new(&[V35, V41], 600.0);
    run.writes.remove(V41);
    let failed = WriteCheck {
        error: Some("read-back timed out".into()),
        ..clean_writes()
    };
    run.writes.insert(V35.into(), failed);
    let r = run.check(&full());
    let x = result(&r, "lost_writes", V35);
    assert_eq!(x.verdict, Verdict::Unknown);
    assert_eq!(x.reason, "the read-back failed: read-back timed out");
    let y = result(&r, "duplicated_writes", V41);
    assert_eq!(y.verdict, Verdict::Unknown);
    assert_eq!(y.reason, "no write read-back for this version");
}

#[test]
fn write_thresholds_allow_what_they_state_and_capped_lists_are_unknown() {
    let mut run = Run::new(&[V35], 600.0);
    let w = WriteCheck {
        lost_count: 2,
        lost: vec![1, 2],
        duplicated: (0..20).collect(),
        ..clean_writes()
    };
    run.writes.insert(V35.into(), w);
    let t = Thresholds {
        lost_writes: Some(5),
        duplicated_writes: Some(25),
        ..Thresholds::default()
    };
    let r = run.check(&t);
    assert_eq!(result(&r, "lost_writes", V35).verdict, Verdict::Valid);
    assert_eq!(result(&r, "lost_writes", V35).expected, "<= 5");
    assert_eq!(
        result(&r, "duplicated_writes", V35).verdict,
        Verdict::Unknown
    );
}

// ---- run-wide rules --------------------------------------------------------------------

#[test]
fn interrupted_turns_valid_into_unknown_and_keeps_invalid() {
    let mut run = clean_fault_run();
    run.interrupted = true;
    let r = run.check(&full());
    assert!(r.results.iter().all(|x| x.verdict == Verdict::Unknown));
    assert!(r.results[0].reason.starts_with("run interrupted"));
    assert_eq!(r.verdict, Verdict::Unknown);
    run.writes.insert(
        V35.into(),
        WriteCheck {
            lost_count: 1,
            ..clean_writes()
        },
    );
    let r = run.check(&full());
    assert_eq!(result(&r, "lost_writes", V35).verdict, Verdict::Invalid);
    assert_eq!(r.verdict, Verdict::Invalid);
}

#[test]
fn a_panicking_or_failing_checker_is_unknown() {
    let panicked = guarded("latency_p99", V35, "<= 1s", || panic!("boom"));
    assert_eq!(panicked.verdict, Verdict::Unknown);
    assert_eq!(panicked.reason, "checker failed: boom");
    let failed = guarded("latency_p99", V35, "<= 1s", || Err("bad input".into()));
    assert_eq!(failed.verdict, Verdict::Unknown);
    assert_eq!(failed.expected, "<= 1s");
    // A threshold that is not a fraction is a checker error, not a pass.
    let t = Thresholds {
        availability_before: Some(f64::NAN),
        ..Thresholds::default()
    };
    let r = clean_fault_run().check(&t);
    let x = result(&r, "availability_before", V35);
    assert_eq!(x.verdict, Verdict::Unknown);
    assert!(x.reason.starts_with("checker error"), "{}", x.reason);
}

#[test]
fn error_classes_are_summarised_per_version() {
    let mut info = op(V35, 100.0, 30_000, "info");
    info.message = Some(format!("deadline exceeded {}", "x".repeat(100)));
    let r = clean_fault_run()
        .ops(vec![info])
        .check(&Thresholds::default());
    let e = &r.error_classes;
    assert_eq!(e.len(), 3, "{e:#?}");
    assert_eq!(
        (e[0].version.as_str(), e[0].class.as_str()),
        (V35, "CONNECT_ERROR")
    );
    assert_eq!(e[0].count, 60);
    assert_eq!(e[0].first_ms, at(200.05));
    assert_eq!(e[0].last_ms, at(259.05));
    assert!(e[1].class.starts_with("info: deadline exceeded"));
    assert_eq!(e[1].class.chars().count(), "info: ".len() + 60);
    assert_eq!(e[2].version, V41);
}

#[test]
fn the_report_has_window_stats_and_serialises() {
    let r = clean_fault_run().check(&full());
    assert_eq!(r.windows.len(), 3 * 2);
    let before = &r.windows[0];
    assert_eq!(
        (before.window, before.ops, before.p99_ms),
        (Window::Before, 170, Some(200.0))
    );
    assert_eq!(before.spans[0].start_ms, at(30.0));
    assert_eq!(before.spans[0].end_ms, at(200.0));
    let after = &r.windows[2];
    assert_eq!(
        (after.spans[0].start_ms, after.spans[0].end_ms),
        (at(320.0), at(600.0))
    );
    assert_eq!(after.ops, 280);
    let text = serde_json::to_string(&r).expect("serialises");
    let back: CheckReport = serde_json::from_str(&text).expect("parses back");
    assert_eq!(back, r);
}

#[test]
fn helpers_round_down_and_cut_on_character_boundaries() {
    use super::util::{fmt_ratio, p99, percentile, truncate_chars};
    assert_eq!(fmt_ratio(0.949_99), "0.9499");
    assert_eq!(fmt_ratio(1.0), "1.0");
    assert_eq!(p99(&[]), None);
    assert_eq!(p99(&[3, 1, 2]), Some(3));
    assert_eq!(percentile(&(1..=100).collect::<Vec<_>>(), 0.99), Some(99));
    assert_eq!(percentile(&(1..=100).collect::<Vec<_>>(), 0.5), Some(50));
    assert_eq!(truncate_chars("ééé", 2), "éé…");
    assert_eq!(truncate_chars("ab", 2), "ab");
}

// ---- steady state ------------------------------------------------------------------------

/// `op` with its actual start `lag_ms` after the intended one (queued behind a session).
fn lagged(v: &str, s: f64, lag_ms: u64, service_ms: u64) -> OpRecord {
    let mut o = op(v, s, service_ms, "ok");
    o.start_us += lag_ms * 1000;
    o.end_us = o.start_us + service_ms * 1000;
    o
}

fn with_fault_at_200(ops: Vec<OpRecord>) -> Run {
    Run::new(&[V35], 400.0)
        .ops(ops)
        .fault(fault("f1", &[V35], 200.0, Some(230.0)))
}

#[test]
fn steady_state_holds_on_a_flat_baseline_and_gates_nothing() {
    let r = clean_fault_run().check(&full());
    let s = result(&r, "steady_state", V35);
    assert_eq!(s.verdict, Verdict::Valid, "{s:?}");
    assert_eq!(s.details["held"], serde_json::json!(true));
    assert_eq!(s.details["ops"], serde_json::json!(170));
    assert_eq!(s.observed, "100% started, lag 0ms, latency 200ms → 200ms");
}

#[test]
fn a_growing_backlog_breaks_the_steady_state_and_the_fault_checks_become_unknown() {
    // Every op waits 2 s longer than the one before: by 200 s they start minutes late.
    let ops = (30..400u64)
        .map(|s| lagged(V35, s as f64, (s - 30) * 2000, 500))
        .collect();
    let r = with_fault_at_200(ops).check(&full());
    let s = result(&r, "steady_state", V35);
    assert_eq!(s.verdict, Verdict::Unknown);
    assert_eq!(s.details["held"], serde_json::json!(false));
    assert!(s.reason.contains("backlog"), "{}", s.reason);
    assert!(s.reason.contains("achieved rate"), "{}", s.reason);
    for check in [
        "availability_during",
        "availability_after",
        "recovery_within",
    ] {
        let c = result(&r, check, V35);
        assert_eq!(c.verdict, Verdict::Unknown, "{check}: {c:?}");
        assert!(
            c.reason.starts_with("not judged (the steady state"),
            "{}",
            c.reason
        );
    }
    // Checks that do not judge the fault keep their verdicts.
    assert_eq!(result(&r, "wrong_answers", V35).verdict, Verdict::Valid);
    assert_ne!(r.verdict, Verdict::Valid);
}

#[test]
fn rising_latency_without_queueing_breaks_the_steady_state() {
    // Service time grows from 0.2 s to ~17 s over the baseline; starts stay on time.
    let ops = (30..400u64)
        .map(|s| lagged(V35, s as f64, 0, 200 + s.saturating_sub(30) * 100))
        .collect();
    let r = with_fault_at_200(ops).check(&full());
    let s = result(&r, "steady_state", V35);
    assert_eq!(s.details["held"], serde_json::json!(false), "{s:?}");
    assert!(s.reason.contains("rose from"), "{}", s.reason);
    assert!(!s.reason.contains("backlog"), "{}", s.reason);
}

#[test]
fn short_queueing_behind_a_session_is_not_a_backlog() {
    // Each op waits one service time (3 s) for a session: ordinary, steady.
    let ops = (30..400u64)
        .map(|s| lagged(V35, s as f64, 3000, 3000))
        .collect();
    let r = with_fault_at_200(ops).check(&full());
    assert_eq!(result(&r, "steady_state", V35).verdict, Verdict::Valid);
}

#[test]
fn too_few_baseline_operations_leave_the_steady_state_undecided_but_gate_nothing() {
    // Three ops before the fault; then a clean run.
    let ops = [40u64, 80, 120]
        .into_iter()
        .chain(230..400)
        .map(|s| lagged(V35, s as f64, 0, 200))
        .collect();
    let r = with_fault_at_200(ops).check(&full());
    let s = result(&r, "steady_state", V35);
    assert_eq!(s.verdict, Verdict::Unknown);
    assert_eq!(s.details["held"], serde_json::Value::Null);
    assert!(s.reason.contains("lengthen the baseline"), "{}", s.reason);
    assert_eq!(result(&r, "recovery_within", V35).verdict, Verdict::Valid);
}

#[test]
fn no_steady_state_check_without_a_fault_for_the_version() {
    let r = Run::new(&[V35, V41], 300.0)
        .ops(timeline(V35, 300, |_| (200, "ok")))
        .ops(timeline(V41, 300, |_| (200, "ok")))
        .fault(fault("f1", &[V41], 100.0, Some(130.0)))
        .check(&full());
    let steady: Vec<_> = r
        .results
        .iter()
        .filter(|c| c.check == "steady_state")
        .map(|c| c.version.clone().unwrap())
        .collect();
    assert_eq!(steady, [V41]);
}
