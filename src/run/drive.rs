//! The one driving harness: a workload future runs with the fault schedule, a progress ticker
//! and the Ctrl-C watcher beside it. Chaos runs, upgrades and `chaos load` all drive their
//! load through [`drive`]; the schedule injects and heals through the platform's fault driver
//! (every fault owned by this process, so the callers' heal guards cover it).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::schedule::Occurrence;
use crate::fault::inject;
use crate::fault::ledger::Owner;
use crate::platform::PlatformRef;
use crate::workload::history::{OpOutcome, OpRecord};
use crate::workload::load;

/// Operations finished so far, per version: ok, fail, info.
pub type Tally = Arc<Mutex<BTreeMap<&'static str, [u64; 3]>>>;

/// A record sink that counts outcomes per version into `tally`.
pub fn counting(tally: Tally) -> load::RecordSink {
    Arc::new(move |r: &OpRecord| count_record(&tally, r))
}

fn count_record(tally: &Tally, r: &OpRecord) {
    let mut t = tally.lock().expect("not poisoned");
    let c = t.entry(r.version.version()).or_default();
    match r.outcome {
        OpOutcome::Ok => c[0] += 1,
        OpOutcome::Fail => c[1] += 1,
        OpOutcome::Info => c[2] += 1,
    }
}

/// What runs beside the workload.
pub struct Harness {
    /// Where faults are injected (None: no schedule runs).
    pub platform: Option<PlatformRef>,
    /// The fault schedule, relative to the start of [`drive`].
    pub occurrences: Vec<Occurrence>,
    /// Polled for Ctrl-C.
    pub interrupted: fn() -> bool,
    /// Progress lines for people.
    pub say: fn(&str),
    /// Counts finished operations for a progress line every 10 s (None: no ticker).
    pub tally: Option<Tally>,
}

impl Harness {
    /// The harness of a scenario run: its schedule on the run's platform, and a progress line
    /// every 10 s from the returned tally (feed it with [`counting`]).
    pub fn for_run(o: &super::RunOptions, occurrences: &[Occurrence]) -> (Harness, Tally) {
        let tally = Tally::default();
        let h = Harness {
            platform: Some(o.platform.clone()),
            occurrences: occurrences.to_vec(),
            interrupted: o.interrupted,
            say: o.say,
            tally: Some(tally.clone()),
        };
        (h, tally)
    }
}

/// What [`drive`] gives back beside the workload's own output.
pub struct Driven<T> {
    /// The workload future's output.
    pub output: T,
    /// The ids of the faults the schedule injected, in order.
    pub injected: Vec<String>,
    /// What went wrong on the way (faults that could not be injected or healed).
    pub notes: Vec<String>,
    /// When an interrupt stopped the workload (Unix ms): no operation started after it.
    pub interrupted_ms: Option<u64>,
}

/// Runs `workload` to its end with the schedule, the ticker and the watcher beside it. Ctrl-C
/// sets `stop` (the workload must watch it); when the workload ends `stop` is set, the
/// schedule finishes its step and the rest is stopped.
pub async fn drive<T>(
    h: Harness,
    stop: Arc<AtomicBool>,
    workload: impl Future<Output = T>,
) -> Driven<T> {
    let t0 = Instant::now();
    let injected: Arc<Mutex<Vec<String>>> = Arc::default();
    let notes: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop_w = stop.clone();
    let interrupted = h.interrupted;
    let interrupted_at: Arc<Mutex<Option<u64>>> = Arc::default();
    let interrupted_w = interrupted_at.clone();
    let heal_on = h.platform.clone();
    let say = h.say;
    let notes_w = notes.clone();
    let watcher = tokio::spawn(async move {
        while !interrupted() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        stop_w.store(true, Ordering::SeqCst);
        *interrupted_w.lock().expect("not poisoned") = Some(crate::units::now_ms());
        // Heal at once: operations in flight may be waiting on the faulted component, and the
        // workload ends only when they do (a blackholed S3 holds them until their deadline).
        if let Some(p) = heal_on {
            let healed = tokio::task::spawn_blocking(move || {
                inject::heal_where(p.as_ref(), inject::Scope::Mine, "interrupted")
            })
            .await;
            if let Ok((healed, failed)) = healed {
                for r in &healed {
                    say(&format!("    interrupted: healed {} ({})", r.id, r.kind));
                }
                notes_w.lock().expect("not poisoned").extend(
                    failed
                        .into_iter()
                        .map(|f| format!("could not heal on interrupt: {f}")),
                );
            }
        }
    });
    let sched = h.platform.clone().map(|p| {
        tokio::spawn(run_schedule(
            h.occurrences.clone(),
            p,
            t0,
            stop.clone(),
            injected.clone(),
            notes.clone(),
            h.say,
        ))
    });
    let ticker = h
        .tally
        .clone()
        .map(|tally| tokio::spawn(progress(tally, t0, h.say)));
    let output = workload.await;
    stop.store(true, Ordering::SeqCst);
    if let Some(s) = sched {
        let _ = s.await;
    }
    watcher.abort();
    if let Some(t) = ticker {
        t.abort();
    }
    let injected = injected.lock().expect("not poisoned").clone();
    let notes = notes.lock().expect("not poisoned").clone();
    let interrupted_ms = *interrupted_at.lock().expect("not poisoned");
    Driven {
        output,
        injected,
        notes,
        interrupted_ms,
    }
}

/// Every 10 s, one line: operations finished so far per version and outcome.
async fn progress(tally: Tally, t0: Instant, say: fn(&str)) {
    loop {
        tokio::time::sleep(Duration::from_secs(10)).await;
        let parts: Vec<String> = tally
            .lock()
            .expect("not poisoned")
            .iter()
            .map(|(v, [ok, fail, info])| format!("{v}: {ok} ok, {fail} fail, {info} info"))
            .collect();
        say(&format!(
            "    {:>6.1}s {}",
            t0.elapsed().as_secs_f64(),
            if parts.is_empty() {
                "no operation finished yet".to_string()
            } else {
                parts.join(" | ")
            }
        ));
    }
}

/// Injects and heals on schedule, relative to `t0`.
async fn run_schedule(
    occurrences: Vec<Occurrence>,
    platform: PlatformRef,
    t0: Instant,
    stop: Arc<AtomicBool>,
    injected: Arc<Mutex<Vec<String>>>,
    notes: Arc<Mutex<Vec<String>>>,
    say: fn(&str),
) {
    let note = |m: String| notes.lock().expect("not poisoned").push(m);
    let mut pending_heals: Vec<(Duration, String)> = Vec::new();
    let mut next = 0usize;
    loop {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let now = t0.elapsed();
        pending_heals.sort_by_key(|(t, _)| *t);
        if let Some(pos) = pending_heals.iter().position(|(t, _)| *t <= now) {
            let (_, id) = pending_heals.remove(pos);
            let p = platform.clone();
            let r = tokio::task::spawn_blocking(move || inject::heal(p.as_ref(), &id, "scheduled"))
                .await;
            match r {
                Ok(Ok(rec)) => say(&format!(
                    "    {:>6.1}s heal   {} {} {}",
                    t0.elapsed().as_secs_f64(),
                    rec.id,
                    rec.kind,
                    rec.target
                )),
                Ok(Err(e)) => note(format!("heal failed: {e}")),
                Err(e) => note(format!("heal task: {e}")),
            }
            continue;
        }
        if let Some(oc) = occurrences.get(next).filter(|oc| oc.inject_at <= now) {
            next += 1;
            let p = platform.clone();
            let spec = oc.spec.clone();
            let dur = oc.heal_at.map(|h| h.saturating_sub(oc.inject_at));
            let r = tokio::task::spawn_blocking(move || {
                inject::inject(p.as_ref(), &spec, Some(Owner::me()), dur)
            })
            .await;
            match r {
                Ok(Ok(rec)) => {
                    say(&format!(
                        "    {:>6.1}s inject {} {} {}: {}",
                        t0.elapsed().as_secs_f64(),
                        rec.id,
                        rec.kind,
                        rec.target,
                        rec.detail
                    ));
                    injected.lock().expect("not poisoned").push(rec.id.clone());
                    if rec.healed_ms.is_none() {
                        if let Some(at) = oc.heal_at {
                            // Healed on the planned timeline, so the window after the heal is
                            // the one the scenario planned for recovery; an act that takes
                            // seconds (a NetworkPolicy and a conntrack flush on each kind
                            // node) shortens the outage instead, and the report's `lasted`
                            // says by how much.
                            pending_heals.push((at, rec.id));
                        }
                    }
                }
                Ok(Err(e)) => {
                    let msg = format!(
                        "fault[{}] {} at {:.0}s could not be injected: {e}",
                        oc.fault + 1,
                        oc.spec.kind,
                        oc.inject_at.as_secs_f64()
                    );
                    say(&format!("    {msg}"));
                    note(msg);
                }
                Err(e) => note(format!("inject task: {e}")),
            }
            continue;
        }
        if next >= occurrences.len() && pending_heals.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
