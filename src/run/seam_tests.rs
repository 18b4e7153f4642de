//! The seam proven by a second implementation: the runner, the driving harness and the fault
//! ledger run against the in-memory platform ([`crate::platform::memory`]), which records every
//! call.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use super::drive::{drive, Harness};
use super::schedule::Occurrence;
use super::{run, RunOptions};
use crate::exit;
use crate::fault::catalog;
use crate::fault::inject::{self, HealGuard};
use crate::fault::ledger::{Ledger, Owner, Phase};
use crate::paths::Cache;
use crate::platform::memory::MemoryPlatform;
use crate::platform::{Platform, PlatformRef};
use crate::report::RunStatus;

fn quiet(_: &str) {}
fn never() -> bool {
    false
}

fn options(p: PlatformRef, reports: &std::path::Path) -> RunOptions {
    RunOptions {
        platform: p,
        cache: Cache::at(reports.join("cache")),
        file: "scenarios/ci-smoke.toml".into(),
        keep_env: false,
        reports_dir: Some(reports.to_path_buf()),
        base_port: 17000,
        interrupted: never,
        say: quiet,
    }
}

const SMOKE: &str = include_str!("../../scenarios/ci-smoke.toml");

#[test]
fn a_run_provisions_fails_cleanly_tears_down_and_reports_through_the_platform() {
    let dir = tempfile::tempdir().unwrap();
    let mut mem = MemoryPlatform::new(&dir.path().join("home"));
    mem.endpoints_error = Some("the memory platform runs no services".into());
    let mem = Arc::new(mem);
    let scenario = crate::scenario::parse(SMOKE, "ci-smoke.toml").unwrap();
    let outcome = run(&scenario, SMOKE, &options(mem.clone(), dir.path())).unwrap();
    assert_eq!(
        mem.calls(),
        [
            "running",
            "up 2 line(s)",
            "endpoints",
            "down keep_data=false",
            "collect_logs"
        ]
    );
    assert_eq!(outcome.exit_code, exit::ENVIRONMENT);
    match &outcome.report.status {
        RunStatus::Failed { error } => {
            assert!(
                error.contains("the memory platform runs no services"),
                "{error}"
            )
        }
        other => panic!("status {other:?}"),
    }
    for f in ["report.html", "summary.md", "report.json", "junit.xml"] {
        assert!(outcome.dir.join(f).exists(), "{f} not written");
    }
    assert!(outcome.dir.join("logs").is_dir());
}

#[test]
fn a_running_environment_with_the_same_settings_is_reused_and_left_running() {
    let dir = tempfile::tempdir().unwrap();
    let mut mem = MemoryPlatform::new(&dir.path().join("home"));
    mem.endpoints_error = Some("stop here".into());
    let mem = Arc::new(mem);
    let scenario = crate::scenario::parse(SMOKE, "ci-smoke.toml").unwrap();
    let req = crate::platform::UpRequest {
        settings: crate::platform::EnvSettings {
            base_port: 17000,
            ..super::settings_for(&scenario)
        },
        spark_overrides: vec![],
        keep_failed: false,
        namespace: None,
        allowed_namespaces: vec![],
    };
    mem.up(&req, &|_| {}).unwrap();
    run(&scenario, SMOKE, &options(mem.clone(), dir.path())).unwrap();
    assert_eq!(
        mem.calls(),
        ["up 2 line(s)", "running", "endpoints", "collect_logs"],
        "reused: neither brought up again nor torn down"
    );
}

fn occurrence(kind: &str, target: Option<&str>, at_ms: u64, heal_ms: Option<u64>) -> Occurrence {
    Occurrence {
        fault: 0,
        repeat: 0,
        spec: catalog::parse(kind, target, &BTreeMap::new()).unwrap(),
        inject_at: Duration::from_millis(at_ms),
        heal_at: heal_ms.map(Duration::from_millis),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn the_harness_injects_and_heals_on_schedule_through_the_fault_driver() {
    let dir = tempfile::tempdir().unwrap();
    let mem = Arc::new(MemoryPlatform::new(dir.path()));
    let rt = runtime();
    let harness = Harness {
        platform: Some(mem.clone()),
        occurrences: vec![
            occurrence("s3-outage", Some("s3"), 0, Some(200)),
            occurrence("pause", Some("history@4.1.0"), 50, Some(300)),
        ],
        interrupted: never,
        say: quiet,
        tally: None,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let driven = rt.block_on(drive(harness, stop, async {
        tokio::time::sleep(Duration::from_millis(700)).await
    }));
    assert_eq!(driven.injected, ["f1"]);
    assert_eq!(driven.notes.len(), 1, "{:?}", driven.notes);
    assert!(
        driven.notes[0].contains("fault[1] pause at 0s could not be injected")
            && driven.notes[0].contains("no History Server"),
        "{:?}",
        driven.notes
    );
    let calls = mem.fault_calls();
    assert_eq!(calls[0], "resolve f1 s3-outage s3");
    assert!(
        calls[1].starts_with("act \"f1\" at generation"),
        "{calls:?}"
    );
    assert_eq!(calls[2], "resolve f2 pause history@4.1.0");
    assert_eq!(calls[3], "undo \"f1\"");
    let ledger = Ledger::at(dir.path()).read().unwrap();
    let f1 = &ledger.entries[0];
    assert_eq!(
        (f1.phase, f1.record.healed_by.as_deref()),
        (Phase::Healed, Some("scheduled"))
    );
    let healed_after = f1.record.healed_ms.unwrap() - f1.record.injected_ms;
    assert!(
        healed_after >= 150,
        "healed {healed_after} ms after injection"
    );
    assert_eq!(ledger.unhealed().count(), 0);
}

static INTERRUPT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn interrupt_flag() -> bool {
    INTERRUPT.load(std::sync::atomic::Ordering::SeqCst)
}

/// Ctrl-C heals this process's faults at once, while the workload still waits: operations in
/// flight may be stuck on the faulted component (a blackholed S3) and end only after the heal.
/// Seen on a real suite: the heal waited for the workload, the workload for S3.
#[test]
fn an_interrupt_heals_at_once_while_the_workload_still_runs() {
    let dir = tempfile::tempdir().unwrap();
    let mem = Arc::new(MemoryPlatform::new(dir.path()));
    let rt = runtime();
    let harness = Harness {
        platform: Some(mem.clone()),
        occurrences: vec![occurrence("s3-outage", Some("s3"), 0, Some(60_000))],
        interrupted: interrupt_flag,
        say: quiet,
        tally: None,
    };
    let home = dir.path().to_path_buf();
    let stop = Arc::new(AtomicBool::new(false));
    let driven = rt.block_on(drive(harness, stop, async move {
        // Wait for the injection, press Ctrl-C, then stay "stuck" until the fault is healed
        // (as an operation on a blackholed S3 would), for at most 5 s.
        let active = || Ledger::at(&home).read().unwrap().unhealed().count();
        let t0 = std::time::Instant::now();
        while active() == 0 && t0.elapsed() < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        INTERRUPT.store(true, std::sync::atomic::Ordering::SeqCst);
        while active() > 0 && t0.elapsed() < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        t0.elapsed()
    }));
    INTERRUPT.store(false, std::sync::atomic::Ordering::SeqCst);
    // The moment of the interrupt ends the workload's span (what follows was not observed).
    let at = driven.interrupted_ms.expect("the interrupt's time is kept");
    assert!(at <= crate::units::now_ms());
    assert!(
        driven.output < Duration::from_secs(4),
        "the workload waited {:?} for a heal",
        driven.output
    );
    let ledger = Ledger::at(dir.path()).read().unwrap();
    assert_eq!(ledger.unhealed().count(), 0);
    assert_eq!(
        ledger.entries[0].record.healed_by.as_deref(),
        Some("interrupted")
    );
}

#[test]
fn an_error_path_heals_through_the_guard_and_recovery_sweeps() {
    let dir = tempfile::tempdir().unwrap();
    let mem: Arc<MemoryPlatform> = Arc::new(MemoryPlatform::new(dir.path()));
    let spec = catalog::parse("s3-outage", Some("s3"), &BTreeMap::new()).unwrap();
    {
        let _guard = HealGuard::new(mem.clone());
        let rec = inject::inject(mem.as_ref(), &spec, Some(Owner::me()), None).unwrap();
        assert_eq!(rec.id, "f1");
        assert_eq!(Ledger::at(dir.path()).read().unwrap().unhealed().count(), 1);
        // The guard is dropped here without being disarmed, as on an error or a panic.
    }
    let ledger = Ledger::at(dir.path()).read().unwrap();
    assert_eq!(ledger.entries[0].phase, Phase::Healed);
    assert_eq!(
        ledger.entries[0].record.healed_by.as_deref(),
        Some("error or interrupt")
    );
    let (healed, failed) = inject::recover(mem.as_ref());
    assert!(healed.is_empty() && failed.is_empty());
    assert_eq!(mem.fault_calls().last().unwrap(), "sweep 0 known");
    // Healing twice is harmless.
    assert_eq!(
        inject::heal(mem.as_ref(), "f1", "again")
            .unwrap()
            .healed_by
            .as_deref(),
        Some("error or interrupt")
    );
}
