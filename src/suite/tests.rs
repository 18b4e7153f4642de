//! Suites: validation with positions, overrides, the decision on literal digests, and the
//! runner against the in-memory platform (environment reuse, resume, the report files).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::accept::{decide, Decision, ScenarioDigest, ScenarioResult};
use super::model::{parse, with_overrides, Acceptance};
use super::*;
use crate::check::{CheckResult, Verdict};
use crate::platform::memory::MemoryPlatform;

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

const TWO: &str = r#"name = "two"
description = "two scenarios"

[[scenario]]
file = "ci-smoke.toml"

[[scenario]]
file = "s3-outage.toml"
set = { workload = { duration = "3m" } }
"#;

#[test]
fn a_suite_loads_its_scenarios_with_overrides() {
    let s = parse(TWO, "two.toml", &scenarios_dir()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.scenarios.len(), 2);
    let outage = &s.scenarios[1].scenario;
    assert_eq!(outage.name, "s3-outage");
    let w = outage.workload.as_ref().unwrap();
    assert_eq!(w.duration.get(), std::time::Duration::from_secs(180));
    // Untouched keys of the overridden table stay.
    assert_eq!(w.warmup.get(), std::time::Duration::from_secs(30));
}

#[test]
fn suite_errors_name_file_line_column_and_field() {
    let bad = r#"name = "bad"
colour = "red"

[[scenario]]
file = "no-such.toml"

[acceptance]
tolerate_unknown = ["latency_p99", "wrong_answers"]
"#;
    let e = parse(bad, "suites/bad.toml", &scenarios_dir())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("suites/bad.toml:2:1: colour: unknown field"),
        "{e}"
    );
    let e = parse(
        &bad.replace("colour = \"red\"\n", ""),
        "suites/bad.toml",
        &scenarios_dir(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("suites/bad.toml:4:8: scenario[0].file: cannot read the scenario file"),
        "{e}"
    );
    assert!(
        e.contains("suites/bad.toml:7:36: acceptance.tolerate_unknown[1]: `wrong_answers` cannot be tolerated"),
        "{e}"
    );
}

#[test]
fn an_override_that_breaks_the_scenario_is_reported_in_the_scenarios_terms() {
    let text = TWO.replace(r#"duration = "3m""#, r#"duration = "soon""#);
    let e = parse(&text, "two.toml", &scenarios_dir())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("s3-outage.toml (with the overrides of two.toml scenario[1].set)"),
        "{e}"
    );
    assert!(e.contains("workload.duration"), "{e}");
}

#[test]
fn the_same_scenario_twice_is_refused() {
    let text = TWO.replace("s3-outage.toml", "ci-smoke.toml");
    let e = parse(&text, "two.toml", &scenarios_dir())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("scenario[1].file: scenario `ci-smoke` is already scenario[0]"),
        "{e}"
    );
}

#[test]
fn overrides_merge_tables_and_replace_values() {
    let base = "name = \"x\"\n[workload]\nrate = \"1/s\"\nduration = \"1m\"\n";
    let set: std::collections::BTreeMap<String, toml::Value> =
        toml::from_str("workload = { duration = \"2m\" }\nname = \"y\"").unwrap();
    let merged: toml::Table = toml::from_str(&with_overrides(base, &set).unwrap()).unwrap();
    assert_eq!(merged["name"].as_str(), Some("y"));
    assert_eq!(merged["workload"]["duration"].as_str(), Some("2m"));
    assert_eq!(merged["workload"]["rate"].as_str(), Some("1/s"));
}

#[test]
fn the_shipped_suites_validate() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("suites");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("suites/") {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "toml") {
            load(&path).unwrap_or_else(|e| panic!("{e}"));
            n += 1;
        }
    }
    assert!(n >= 2, "nightly and release suites expected");
}

fn check(name: &str, v: &str, verdict: Verdict) -> CheckResult {
    CheckResult {
        check: name.into(),
        version: Some(v.into()),
        verdict,
        expected: "= 0".into(),
        observed: "0".into(),
        reason: format!("{name} was {verdict}"),
        details: serde_json::Value::Null,
    }
}

fn done(name: &str, status: &str, checks: Vec<CheckResult>) -> ScenarioResult {
    ScenarioResult {
        name: name.into(),
        file: format!("scenarios/{name}.toml"),
        kind: "chaos".into(),
        state: "done".into(),
        error: None,
        dir: Some(format!("scenarios/{name}-20261203T120000Z")),
        report: Some(ScenarioDigest {
            status: status.into(),
            error: None,
            verdict: Verdict::merge_all(checks.iter().map(|c| c.verdict)),
            versions: vec!["3.5.7".into(), "4.1.0".into()],
            checks,
            sections: vec![],
            highlights: vec![],
            started_ms: 1_000,
            ended_ms: 61_000,
            setup_ms: 20_000,
        }),
    }
}

#[test]
fn the_decision_rejects_on_invalid_accepts_only_on_all_valid() {
    let ok = |n: &str| {
        done(
            n,
            "completed",
            vec![
                check("wrong_answers", "3.5.7", Verdict::Valid),
                check("wrong_answers", "4.1.0", Verdict::Valid),
            ],
        )
    };
    let none = Acceptance::default();
    let (d, why) = decide(&[ok("a"), ok("b")], &none, false);
    assert_eq!(d, Decision::Accept);
    assert_eq!(why, ["2 scenario(s) completed and all 4 checks held"]);

    let unknown = done(
        "c",
        "completed",
        vec![check("latency_p99", "4.1.0", Verdict::Unknown)],
    );
    let (d, why) = decide(&[ok("a"), unknown.clone()], &none, false);
    assert_eq!(d, Decision::Undecided);
    assert_eq!(why, ["1 check(s) unknown: c latency_p99@4.1.0"]);
    let tolerant = Acceptance {
        tolerate_unknown: vec!["latency_p99".into()],
    };
    let (d, why) = decide(&[ok("a"), unknown.clone()], &tolerant, false);
    assert_eq!(d, Decision::Accept);
    assert_eq!(
        why,
        ["2 scenario(s) completed; 2 of 3 checks held and 1 unknown one(s) were tolerated by the suite: c latency_p99@4.1.0"]
    );

    let lost = done(
        "d",
        "completed",
        vec![check("lost_writes", "3.5.7", Verdict::Invalid)],
    );
    let (d, why) = decide(&[ok("a"), unknown, lost], &tolerant, false);
    assert_eq!(d, Decision::Reject);
    assert_eq!(why[0], "1 check(s) invalid: d lost_writes@3.5.7");

    let (d, why) = decide(&[ok("a"), ok("b")], &none, true);
    assert_eq!(d, Decision::Undecided);
    assert_eq!(why, ["the suite was interrupted"]);
    let mut pending = ok("b");
    pending.state = "pending".into();
    pending.report = None;
    assert_eq!(
        decide(&[ok("a"), pending], &none, false).0,
        Decision::Undecided
    );
}

#[test]
fn the_acceptance_report_leads_with_the_decision_in_every_format() {
    let results = vec![
        done(
            "a",
            "completed",
            vec![check("wrong_answers", "3.5.7", Verdict::Valid)],
        ),
        done(
            "b",
            "completed",
            vec![check("lost_writes", "4.1.0", Verdict::Invalid)],
        ),
        done(
            "c",
            "completed",
            vec![
                check("bench_answers", "3.5.7", Verdict::Valid),
                check("bench_answers", "4.1.0", Verdict::Valid),
                CheckResult {
                    version: None,
                    observed: "0.91 [0.80, 1.10]".into(),
                    ..check("bench_parity", "-", Verdict::Unknown)
                },
            ],
        ),
    ];
    let mut results = results;
    if let Some(d) = results[0].report.as_mut() {
        d.highlights = vec!["4.1.0 shows parity with 3.5.7 or better: geometric mean of 4.1.0 / 3.5.7 = 0.93 [0.88, 0.99]".into()];
    }
    let (decision, reasons) = decide(&results, &Acceptance::default(), false);
    let report = AcceptanceReport {
        suite: "nightly".into(),
        description: "every night".into(),
        file: "suites/nightly.toml".into(),
        decision,
        reasons,
        interrupted: false,
        scenarios: results,
        acceptance: Acceptance::default(),
        machine: accept::Machine::here("local"),
        started_ms: 0,
        ended_ms: 125_000,
        took_ms: None,
        environment_starts: 1,
    };
    let md = accept::render_markdown(&report);
    assert!(
        md.starts_with(
            "## Suite nightly: **REJECT**\n\n- 1 check(s) invalid: b lost_writes@4.1.0\n"
        ),
        "{md}"
    );
    assert!(
        md.contains(
            "| b | chaos | – | INVALID | – | [report](scenarios/b-20261203T120000Z/summary.md) |"
        ),
        "{md}"
    );
    // A check about the whole run shows in its own column, not as a version's.
    assert!(
        md.contains(
            "| c | chaos | valid | valid | unknown | [report](scenarios/c-20261203T120000Z/summary.md) |"
        ),
        "{md}"
    );
    assert!(
        md.contains("took 2m 5s (set-up 1m, 1 environment start(s))"),
        "{md}"
    );
    assert!(
        md.contains("- **a**: 4.1.0 shows parity with 3.5.7 or better: geometric mean of 4.1.0 / 3.5.7 = 0.93 [0.88, 0.99]"),
        "{md}"
    );
    let html = accept::render_html(&report);
    assert!(html.contains(r#"<span class="decision reject">REJECT</span>"#));
    assert!(
        html.contains(r#"<td colspan="2" class="unknown" title="bench_parity was unknown">unknown · 0.91 [0.80, 1.10]</td>"#),
        "{html}"
    );
    assert!(
        html.contains("<p class=\"finding\"><b>4.1.0 shows parity"),
        "{html}"
    );
    let junit = accept::render_junit(&report);
    assert!(
        junit.contains(
            r#"<testsuite name="chaos.c.run" tests="1" failures="0" errors="0" skipped="1">"#
        ),
        "{junit}"
    );
    assert!(
        junit.contains(r#"tests="5" failures="1" errors="0" skipped="1""#),
        "{junit}"
    );
}

fn options(p: PlatformRef, dir: &Path) -> SuiteOptions {
    fn quiet(_: &str) {}
    fn never() -> bool {
        false
    }
    SuiteOptions {
        platform: p,
        cache: Cache::at(dir.join("cache")),
        reports_dir: dir.join("reports"),
        resume: None,
        only: vec![],
        base_port: 17000,
        interrupted: never,
        say: quiet,
    }
}

const THREE: &str = r#"name = "three"
[[scenario]]
file = "ci-smoke.toml"
[[scenario]]
file = "s3-outage.toml"
[[scenario]]
file = "connect-replica-kill.toml"
"#;

#[test]
fn one_environment_serves_scenarios_with_the_same_settings_and_the_suite_stops_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut mem = MemoryPlatform::new(&dir.path().join("home"));
    mem.endpoints_error = Some("the memory platform runs no services".into());
    let mem = Arc::new(mem);
    let suite = parse(THREE, "three.toml", &scenarios_dir()).unwrap();
    let out = run_suite(&suite, &options(mem.clone(), dir.path())).unwrap();
    let calls = mem.calls();
    let ups = calls.iter().filter(|c| c.starts_with("up ")).count();
    // ci-smoke and s3-outage share the environment; connect-replica-kill (2 replicas, 1
    // worker) needs another, then the suite stops the one it started.
    assert_eq!(ups, 2, "{calls:?}");
    assert_eq!(out.report.environment_starts, 2);
    assert_eq!(
        calls.last().map(String::as_str),
        Some("down keep_data=false")
    );
    assert_eq!(
        calls.iter().filter(|c| *c == "down keep_data=true").count(),
        1,
        "{calls:?}"
    );
    // Every run failed (no services): the suite is undecided, not accepted.
    assert_eq!(out.report.decision, Decision::Undecided);
    assert_eq!(out.exit_code, crate::exit::CHECK_UNKNOWN);
    for f in FILES.iter().chain(&["suite.json"]) {
        assert!(out.dir.join(f).is_file(), "{f} missing");
    }
    for s in &out.report.scenarios {
        assert_eq!(s.state, "done");
        let d = s.dir.as_deref().expect("report dir");
        assert!(out.dir.join(d).join("report.json").is_file(), "{d}");
    }
}

#[test]
fn resume_runs_only_what_is_left_and_only_filters() {
    let dir = tempfile::tempdir().unwrap();
    let mut mem = MemoryPlatform::new(&dir.path().join("home"));
    mem.endpoints_error = Some("no services".into());
    let mem = Arc::new(mem);
    let suite = parse(THREE, "three.toml", &scenarios_dir()).unwrap();
    let mut o = options(mem.clone(), dir.path());
    o.only = vec!["ci-smoke".into()];
    let first = run_suite(&suite, &o).unwrap();
    let states: Vec<&str> = first
        .report
        .scenarios
        .iter()
        .map(|s| s.state.as_str())
        .collect();
    assert_eq!(states, ["done", "skipped", "skipped"]);

    // Resuming with everything: the done scenario is not run again.
    let mut o = options(mem.clone(), dir.path());
    o.resume = Some(first.dir.clone());
    let ups_before = mem.calls().iter().filter(|c| c.starts_with("up ")).count();
    let second = run_suite(&suite, &o).unwrap();
    assert_eq!(second.dir, first.dir);
    let states: Vec<&str> = second
        .report
        .scenarios
        .iter()
        .map(|s| s.state.as_str())
        .collect();
    assert_eq!(states, ["done", "done", "done"]);
    // The time the suite took counts its sessions, not the pause between them.
    let took = second
        .report
        .took_ms
        .expect("a resumed suite says how long it ran");
    assert!(
        took <= second.report.ended_ms - second.report.started_ms,
        "{took}"
    );
    let ups_after = mem.calls().iter().filter(|c| c.starts_with("up ")).count();
    assert_eq!(
        ups_after - ups_before,
        2,
        "s3-outage and connect-replica-kill only"
    );
    let scenario_dirs = std::fs::read_dir(first.dir.join("scenarios"))
        .unwrap()
        .count();
    assert_eq!(scenario_dirs, 3);

    // Resuming a finished suite runs nothing, starts nothing and so stops nothing.
    let calls_before = mem.calls().len();
    let mut o = options(mem.clone(), dir.path());
    o.resume = Some(first.dir.clone());
    let third = run_suite(&suite, &o).unwrap();
    assert_eq!(third.report.scenarios.len(), 3);
    let new_calls: Vec<String> = mem.calls()[calls_before..].to_vec();
    assert!(
        !new_calls
            .iter()
            .any(|c| c.starts_with("up ") || c.starts_with("down ")),
        "{new_calls:?}"
    );

    let mut o = options(mem, dir.path());
    o.only = vec!["nope".into()];
    let e = run_suite(&suite, &o).err().expect("unknown --only");
    assert_eq!(e.exit_code(), crate::exit::INVALID_INPUT);
    assert!(e.to_string().contains("no scenario `nope`"), "{e}");
}

/// The schemas published in schemas/ are what the code generates (run with CHAOS_BLESS=1 to
/// rewrite them after changing a format).
#[test]
fn the_published_schemas_match_the_code() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
    for (file, text) in [
        ("scenario.schema.json", crate::scenario::schema_json()),
        ("suite.schema.json", schema_json()),
        ("report.schema.json", crate::report::schema_json()),
        ("bench.schema.json", crate::report::bench_schema_json()),
    ] {
        let path = dir.join(file);
        if std::env::var_os("CHAOS_BLESS").is_some() {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &text).unwrap();
            continue;
        }
        let published = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (CHAOS_BLESS=1 writes it)", path.display()));
        assert!(
            published == text,
            "{} drifted from the code: run CHAOS_BLESS=1 cargo test --lib the_published_schemas",
            path.display()
        );
    }
}
