//! What a person reads, through the path a run takes: a literal history and fault record →
//! [`super::checks_for`] → [`super::assemble::build`] → the files [`report::write_all`] writes
//! and the terminal summary, asserting the figures shown. (The report module's own tests build
//! report rows by hand, so they cannot catch a figure computed wrongly on the way: every
//! Recovery table once said "0.0 s".)

use std::collections::BTreeMap;
use std::path::Path;

use super::assemble::{self, Inputs};
use crate::fault::FaultRecord;
use crate::report::{self, Format, RunReport, RunStatus};
use crate::versions::SparkLine;
use crate::workload::history::{OpKind, OpOutcome, OpRecord, OpVerdict};
use crate::workload::load::WriteCheck;

const T0: u64 = 1_700_000_000_000;
const SCENARIO: &str = include_str!("../../scenarios/s3-outage.toml");

fn at(s: f64) -> u64 {
    T0 + (s * 1000.0).round() as u64
}

/// A query intended at `s` s, started `lag_s` later, served in `service_s`.
fn query(n: u64, line: SparkLine, s: f64, lag_s: f64, service_s: f64, ok: bool) -> OpRecord {
    let intended_us = at(s) * 1000;
    let start_us = intended_us + (lag_s * 1e6) as u64;
    OpRecord {
        endpoint: "127.0.0.1:15002".into(),
        warmup: s < 30.0,
        start_us,
        end_us: start_us + (service_s * 1e6) as u64,
        outcome: if ok { OpOutcome::Ok } else { OpOutcome::Fail },
        error_class: (!ok).then(|| "S3_UNREACHABLE".to_string()),
        rows: ok.then_some(10),
        verdict: ok.then_some(OpVerdict::Correct),
        ..OpRecord::planned(n, OpKind::Query, line, "q3", intended_us)
    }
}

/// One query every 4 s from 0 to 240 s per version: 2 s each; failing while S3 is out
/// (90–135 s). After the heal, 3.5.7 fails until 148 s and is then normal; 4.1.0 answers at
/// once but slowly (30 s) until 164 s.
fn history() -> Vec<OpRecord> {
    let mut out = Vec::new();
    for (i, t) in (0..60).map(|i| (i, i as f64 * 4.0)) {
        let outage = (90.0..135.0).contains(&t);
        let a = query(
            2 * i,
            SparkLine::V3_5,
            t,
            0.0,
            2.0,
            !outage && !(135.0..148.0).contains(&t),
        );
        let slow = if (135.0..164.0).contains(&t) {
            30.0
        } else {
            2.0
        };
        let b = query(2 * i + 1, SparkLine::V4_1, t, 0.0, slow, !outage);
        out.extend([a, b]);
    }
    out
}

fn outage() -> FaultRecord {
    FaultRecord {
        id: "f1".into(),
        kind: "s3-outage".into(),
        target: "s3".into(),
        versions: vec!["3.5.7".into(), "4.1.0".into()],
        params: BTreeMap::from([("mode".into(), "blackhole".into())]),
        injected_ms: at(90.0),
        healed_ms: Some(at(135.0)),
        detail: "nft drop to MinIO".into(),
        healed_by: Some("scheduled".into()),
    }
}

fn build(history: &[OpRecord], dir: &Path) -> RunReport {
    let scenario = crate::scenario::parse(SCENARIO, "s3-outage.toml").expect("scenario");
    let faults = [outage()];
    let clean = WriteCheck {
        acknowledged: 40,
        read: 40,
        ..WriteCheck::default()
    };
    let writes = BTreeMap::from([
        ("3.5.7".to_string(), clean.clone()),
        ("4.1.0".to_string(), clean),
    ]);
    let history = crate::workload::history::Op::all(history);
    assemble::build(Inputs {
        scenario: &scenario,
        file: Path::new("scenarios/s3-outage.toml"),
        text: SCENARIO,
        started_ms: T0,
        ended_ms: at(245.0),
        status: RunStatus::Completed,
        phases: Vec::new(),
        history: &history,
        faults: &faults,
        writes: &writes,
        workload: Some((T0, at(240.0))),
        extra_checks: Vec::new(),
        sections: Vec::new(),
        notes: Vec::new(),
        components: Vec::new(),
        report_dir: dir,
    })
}

/// Every file a run writes, read back, plus the terminal summary.
fn rendered(report: &RunReport, dir: &Path) -> BTreeMap<&'static str, String> {
    report::write_all(report, dir, &Format::ALL).expect("write reports");
    let mut out: BTreeMap<&str, String> = Format::ALL
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(dir.join(f.file_name())).expect("read report");
            (f.file_name(), text)
        })
        .collect();
    out.insert("terminal", report::terminal::render(report, false));
    out
}

/// The markdown table row of fault `f1` for `version`, as cells.
fn md_recovery_row(md: &str, version: &str) -> Vec<String> {
    md.lines()
        .find(|l| l.starts_with(&format!("| f1 | {version} |")))
        .unwrap_or_else(|| panic!("no recovery row for {version} in\n{md}"))
        .split('|')
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect()
}

#[test]
fn recovery_figures_are_delays_after_the_heal_in_every_report() {
    let dir = tempfile::tempdir().unwrap();
    let report = build(&history(), dir.path());
    let files = rendered(&report, dir.path());

    // 3.5.7: first ok op starts at 148 s and ends at 150 s: 15.0 s after the heal at 135 s;
    // the first in-band rolling group starts at 148 s: 13.0 s.
    // 4.1.0: first ok op (intended 136 s) ends at 166 s: 31.0 s; in band from 164 s: 29.0 s.
    let md = &files["summary.md"];
    assert_eq!(
        md_recovery_row(md, "3.5.7"),
        ["f1", "3.5.7", "+135.0 s", "15.0 s", "13.0 s", "valid"]
    );
    assert_eq!(
        md_recovery_row(md, "4.1.0"),
        ["f1", "4.1.0", "+135.0 s", "31.0 s", "29.0 s", "valid"]
    );

    let html = &files["report.html"];
    for (first, back) in [("15.0 s", "13.0 s"), ("31.0 s", "29.0 s")] {
        let cells = format!(r#"<td class="num">{first}</td><td class="num">{back}</td>"#);
        assert!(html.contains(&cells), "HTML lacks {cells}");
    }

    let json: serde_json::Value = serde_json::from_str(&files["report.json"]).unwrap();
    let rec = json["recoveries"].as_array().expect("recoveries");
    let figures: Vec<(String, f64, f64)> = rec
        .iter()
        .map(|r| {
            (
                r["version"].as_str().unwrap().to_string(),
                r["first_ok_s"].as_f64().unwrap(),
                r["p99_back_s"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        figures,
        [
            ("3.5.7".to_string(), 15.0, 13.0),
            ("4.1.0".to_string(), 31.0, 29.0)
        ]
    );

    // The check in the same report states the same figures.
    let recovery_check = |v: &str| {
        report
            .checks
            .iter()
            .find(|c| c.check == "recovery_within" && c.version.as_deref() == Some(v))
            .expect("recovery check")
            .clone()
    };
    let (c35, c41) = (recovery_check("3.5.7"), recovery_check("4.1.0"));
    assert!(c35.observed.starts_with("worst 15.0s (f1)"), "{c35:?}");
    assert!(c41.observed.starts_with("worst 31.0s (f1)"), "{c41:?}");
    let junit = &files["junit.xml"];
    assert!(
        junit.contains(r#"testcase name="recovery_within""#),
        "{junit}"
    );
    assert_eq!(
        report.verdict,
        crate::check::Verdict::Valid,
        "{}",
        files["terminal"]
    );
}

#[test]
fn availability_fault_times_and_query_counts_match_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let report = build(&history(), dir.path());
    let files = rendered(&report, dir.path());
    let md = &files["summary.md"];
    // The before window holds the non-warm-up queries intended at 32..88 s: 15 per version,
    // all ok.
    let row = md
        .lines()
        .find(|l| l.starts_with("| `availability_before` |"))
        .expect("availability row");
    assert_eq!(row.matches("1.0 (15/15 ok)").count(), 2, "{row}");
    // The fault table shows the injection and heal relative to the run's start.
    assert!(md.contains("+90.0 s"), "{md}");
    assert!(md.contains("+135.0 s"), "{md}");
    // Steady state held for both (no backlog, flat latency): no banner.
    assert!(!md.contains("Steady state did not hold"), "{md}");
    let steady: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.check == "steady_state")
        .map(|c| (c.version.clone().unwrap(), c.verdict))
        .collect();
    assert_eq!(
        steady,
        [
            ("3.5.7".to_string(), crate::check::Verdict::Valid),
            ("4.1.0".to_string(), crate::check::Verdict::Valid)
        ]
    );
}

/// The case the steady-state check exists for: a busy machine where every operation waited
/// ~90 s for a session before the fault. The recovery "0.0 s" and the availability windows
/// then measure the backlog; the fault checks must be unknown and every human report must say
/// why at the top.
#[test]
fn a_saturated_baseline_makes_the_fault_checks_unknown_and_says_so_at_the_top() {
    let dir = tempfile::tempdir().unwrap();
    let history: Vec<OpRecord> = (0..60u64)
        .flat_map(|i| {
            let t = i as f64 * 4.0;
            // The queue grows 3 s per operation: start lag = 3 s × i.
            let lag = 3.0 * i as f64;
            let ok = !(90.0..135.0).contains(&t);
            [
                query(2 * i, SparkLine::V3_5, t, lag, 5.0, ok),
                query(2 * i + 1, SparkLine::V4_1, t, 0.0, 2.0, ok),
            ]
        })
        .collect();
    let report = build(&history, dir.path());
    let files = rendered(&report, dir.path());
    let verdict_of = |check: &str, v: &str| {
        report
            .checks
            .iter()
            .find(|c| c.check == check && c.version.as_deref() == Some(v))
            .unwrap_or_else(|| panic!("{check}@{v}"))
            .clone()
    };
    let s35 = verdict_of("steady_state", "3.5.7");
    assert_eq!(s35.verdict, crate::check::Verdict::Unknown, "{s35:?}");
    assert!(s35.reason.contains("backlog"), "{}", s35.reason);
    assert_eq!(
        verdict_of("steady_state", "4.1.0").verdict,
        crate::check::Verdict::Valid
    );
    let rec35 = verdict_of("recovery_within", "3.5.7");
    assert_eq!(rec35.verdict, crate::check::Verdict::Unknown);
    assert!(
        rec35
            .reason
            .starts_with("not judged (the steady state did not hold"),
        "{}",
        rec35.reason
    );
    assert_eq!(
        verdict_of("recovery_within", "4.1.0").verdict,
        crate::check::Verdict::Valid
    );
    assert_eq!(report.verdict, crate::check::Verdict::Unknown);
    let banner = "Spark 3.5.7 was not in a steady state before the fault";
    let md = &files["summary.md"];
    let top = md
        .find("Steady state did not hold")
        .expect("markdown banner");
    assert!(
        top < md.find("### Verdicts").unwrap(),
        "banner not at the top"
    );
    assert!(md.contains(banner), "{md}");
    assert!(files["report.html"].contains(banner));
    assert!(files["terminal"].contains(banner));
    assert!(!md.contains("Spark 4.1.0 was not in a steady state"));
}

/// The published report schema describes what a run writes: every key of a real report.json
/// (and of each recovery row) is a property of the schema, and every required one is there.
#[test]
fn report_json_has_the_fields_its_schema_names() {
    let dir = tempfile::tempdir().unwrap();
    let report = build(&history(), dir.path());
    let files = rendered(&report, dir.path());
    let json: serde_json::Value = serde_json::from_str(&files["report.json"]).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&report::schema_json()).unwrap();
    let keys_match = |value: &serde_json::Value, schema: &serde_json::Value, what: &str| {
        let props = schema["properties"].as_object().expect("properties");
        for k in value.as_object().expect("object").keys() {
            assert!(props.contains_key(k), "{what}: {k} is not in the schema");
        }
        for r in schema["required"].as_array().into_iter().flatten() {
            let r = r.as_str().unwrap();
            assert!(value.get(r).is_some(), "{what}: required {r} missing");
        }
    };
    keys_match(&json, &schema, "report");
    keys_match(
        &json["recoveries"][0],
        &schema["definitions"]["RecoveryRow"],
        "recovery row",
    );
    keys_match(
        &json["checks"][0],
        &schema["definitions"]["CheckResult"],
        "check",
    );
}
