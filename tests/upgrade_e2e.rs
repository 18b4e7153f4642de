//! `chaos run scenarios/upgrade-3.5-to-4.1.toml` end to end on the `local` platform, for real:
//! both versions come up, TPC-DS queries and writes run through the cut-over endpoint, the
//! clients are moved from 3.5.7 to 4.1.0 and back (blue/green), and the report's upgrade section
//! measures both switches with no lost write and no wrong answer.
//!
//! It takes about ten minutes (environment, data, a four-minute workload), so it runs only with
//! `CHAOS_UPGRADE_E2E=1` and skips loudly otherwise; it is `#[ignore]`d, so the suite reports it
//! as ignored, never as passed (run it with `-- --ignored`).

mod common;

use common::skip_unless_ready;
use spark_chaos::check::Verdict;
use spark_chaos::report::RunReport;

const TEST: &str = "blue_green_upgrade_is_measured_end_to_end_without_lost_writes_or_wrong_answers";

fn verdict_of(report: &RunReport, check: &str, version: Option<&str>) -> Verdict {
    let c = report
        .checks
        .iter()
        .find(|c| c.check == check && c.version.as_deref() == version)
        .unwrap_or_else(|| panic!("no {check} check for {version:?}"));
    eprintln!(
        "{check} {}: {} — {} ({})",
        version.unwrap_or("run"),
        c.verdict,
        c.observed,
        c.reason
    );
    c.verdict
}

#[test]
#[ignore = "opt-in, about ten minutes: CHAOS_UPGRADE_E2E=1 cargo test --release --test upgrade_e2e -- --ignored"]
fn blue_green_upgrade_is_measured_end_to_end_without_lost_writes_or_wrong_answers() {
    if std::env::var("CHAOS_UPGRADE_E2E").as_deref() != Ok("1") {
        eprintln!(
            "\n==================== SKIPPED {TEST}: set CHAOS_UPGRADE_E2E=1 to run it (about ten minutes) ====================\n"
        );
        return;
    }
    if skip_unless_ready(TEST) {
        return;
    }
    let dir = tempfile::Builder::new()
        .prefix("chaos-upgrade-")
        .tempdir()
        .unwrap();
    let home = dir.path().join("env");
    let reports = dir.path().join("reports");
    let _down = common::Down(&home);
    let run = common::run_scenario(&home, "upgrade-3.5-to-4.1.toml", "39500", &reports);
    let report = &run.report;

    // The upgrade section: both switches happened and were measured.
    let upgrade = report
        .sections
        .iter()
        .find_map(|s| match s {
            spark_chaos::report::Section::Upgrade(u) => Some(u),
            _ => None,
        })
        .expect("an upgrade section");
    let (switches, measures) = (&upgrade.switches, &upgrade.measures);
    assert_eq!(switches.len(), 2, "{switches:?}");
    assert_eq!(measures.len(), 2, "{measures:?}");
    for (s, label, to) in [
        (&switches[0], "cut-over", "4.1.0"),
        (&switches[1], "roll-back", "3.5.7"),
    ] {
        assert_eq!(s.label, label);
        assert_eq!(s.to.to_string(), to);
        assert!(s.error.is_none(), "{s:?}");
        assert!(s.answered_ms.is_some(), "{s:?}");
        let read_back = s.read_back.as_ref().expect("a read-back");
        assert_eq!(read_back.version, to, "{s:?}");
        assert_eq!(read_back.missing_count, 0, "{s:?}");
        assert!(read_back.acknowledged > 0, "{s:?}");
    }
    for m in measures {
        assert!(
            m.unavailable_s.is_some(),
            "not served after a switch: {m:?}"
        );
        assert_eq!(m.wrong_answers, 0, "{m:?}");
    }
    // Both versions served operations, each recorded with the version that served it.
    for v in ["3.5.7", "4.1.0"] {
        assert!(
            report.queries.iter().any(|q| q.version == v && q.ok > 0),
            "no successful query on {v}"
        );
        assert_eq!(verdict_of(report, "lost_writes", Some(v)), Verdict::Valid);
        assert_ne!(
            verdict_of(report, "wrong_answers", Some(v)),
            Verdict::Invalid
        );
    }
    assert_eq!(
        verdict_of(report, "upgrade_lost_writes", None),
        Verdict::Valid
    );
    assert_eq!(
        verdict_of(report, "upgrade_wrong_answers", None),
        Verdict::Valid
    );
    verdict_of(report, "upgrade_unavailability", None);
    let html = std::fs::read_to_string(run.dir.join("report.html")).unwrap();
    assert!(html.contains("Upgrade: Spark 3.5.7 → 4.1.0 (blue-green)"));

    // Nothing left behind: the run started the environment and stopped it, no fault is open.
    assert!(spark_chaos::platform::local::env::processes_in(&home.join("work")).is_empty());
    let ledger = spark_chaos::fault::ledger::Ledger::at(&home)
        .read()
        .unwrap();
    assert_eq!(ledger.unhealed().count(), 0);
}
