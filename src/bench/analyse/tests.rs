//! The bench's statistics and checks on literal samples, and what a person reads through the
//! path a run takes: samples → analyse → checks → the run report → every renderer.

use std::path::Path;

use super::*;
use crate::report::{self, Format, RunStatus, Section};

const T0: u64 = 1_700_000_000_000;

fn sample(query: &str, version: &str, run: u32, seconds: f64) -> Sample {
    Sample {
        query: query.into(),
        version: version.into(),
        run,
        warmup: false,
        stream: None,
        started_ms: T0 + u64::from(run) * 10_000,
        seconds,
        outcome: "ok".into(),
        answer: "correct".into(),
        error: None,
        operation_id: format!("op-{query}-{version}-{run}"),
        metrics: Some(SparkMetrics {
            jobs: 2,
            stages: 4,
            tasks: 10,
            shuffle_read_bytes: 1_500_000,
            shuffle_write_bytes: 500_000,
            peak_execution_memory_bytes: if version == "4.1.0" {
                2_000_000
            } else {
                3_000_000
            },
            ..SparkMetrics::default()
        }),
    }
}

fn runs(query: &str, version: &str, times: &[f64]) -> Vec<Sample> {
    let mut out = vec![Sample {
        warmup: true,
        seconds: 99.0,
        ..sample(query, version, 0, 99.0)
    }];
    out.extend(
        times
            .iter()
            .enumerate()
            .map(|(i, &t)| sample(query, version, i as u32 + 1, t)),
    );
    out
}

fn settings(queries: &[&str], threshold: f64) -> BenchSettings {
    BenchSettings {
        queries: queries.iter().map(|q| q.to_string()).collect(),
        iterations: 3,
        warmup: 1,
        order: "alternate".into(),
        seed: 1,
        threshold,
        streams: 0,
        scale: 0.1,
    }
}

fn versions() -> Vec<String> {
    vec!["3.5.7".into(), "4.1.0".into()]
}

/// q3: 4.1.0 twice as fast (noisy-free enough); q7: 4.1.0 exactly twice as slow.
fn two_queries() -> Vec<Sample> {
    let mut s = runs("q3", "3.5.7", &[2.0, 2.1, 1.9]);
    s.extend(runs("q3", "4.1.0", &[1.0, 1.05, 0.95]));
    s.extend(runs("q7", "3.5.7", &[3.0, 3.0, 3.0]));
    s.extend(runs("q7", "4.1.0", &[6.0, 6.0, 6.0]));
    s
}

fn find<'a>(checks: &'a [CheckResult], name: &str, v: Option<&str>) -> &'a CheckResult {
    checks
        .iter()
        .find(|c| c.check == name && c.version.as_deref() == v)
        .unwrap_or_else(|| panic!("no {name} {v:?} in {checks:#?}"))
}

#[test]
fn ratios_verdicts_and_the_geometric_mean_from_literal_samples() {
    let r = analyse(
        settings(&["q3", "q7"], 0.10),
        versions(),
        two_queries(),
        T0,
        T0 + 60_000,
    );
    let q3 = &r.queries[0];
    assert_eq!(q3.versions[0].n, 3, "the warm-up is not counted");
    let m = q3.versions[0].median.unwrap();
    assert_eq!((m.value, m.low, m.high), (2.0, 1.9, 2.1));
    let ratio = q3.ratio.unwrap();
    assert!((ratio.value - 0.5).abs() < 1e-12);
    assert!(ratio.low >= 0.95 / 2.1 - 1e-12 && ratio.high <= 1.05 / 1.9 + 1e-12);
    assert_eq!(q3.change, Some(Change::Faster));
    let q7 = &r.queries[1];
    assert_eq!(q7.ratio, Some(Estimate::exact(2.0)));
    assert_eq!(q7.change, Some(Change::Slower));
    assert_eq!(q7.versions[1].cv, Some(0.0));
    let g = r.geomean.unwrap();
    assert!((g.value - 1.0).abs() < 1e-12, "sqrt(0.5 × 2) = 1");
    assert!(g.low > 0.9 && g.high < 1.1, "{g:?}");
    assert_eq!(parity(r.geomean, 0.10), Verdict::Valid);
    assert!(
        r.parity
            .starts_with("4.1.0 shows parity with 3.5.7 or better"),
        "{}",
        r.parity
    );
    assert!(
        r.parity.contains("1 query faster, 1 slower, 0 without"),
        "{}",
        r.parity
    );
    let checks = checks(&r);
    assert_eq!(find(&checks, "bench_parity", None).verdict, Verdict::Valid);
    assert_eq!(
        find(&checks, "bench_answers", Some("4.1.0")).verdict,
        Verdict::Valid
    );
    assert!(
        checks.iter().all(|c| c.check != "bench_regression"),
        "no baseline"
    );
}

#[test]
fn a_wrong_answer_invalidates_and_a_query_without_runs_is_unknown() {
    let mut s = two_queries();
    s.iter_mut()
        .find(|x| x.query == "q7" && x.version == "4.1.0" && x.run == 2)
        .unwrap()
        .answer = "wrong".into();
    for x in s
        .iter_mut()
        .filter(|x| x.query == "q3" && x.version == "3.5.7")
    {
        x.outcome = "fail".into();
        x.answer = "none".into();
        x.error = Some("[TABLE_OR_VIEW_NOT_FOUND]".into());
    }
    let r = analyse(settings(&["q3", "q7"], 0.05), versions(), s, T0, T0);
    let c = checks(&r);
    let wrong = find(&c, "bench_answers", Some("4.1.0"));
    assert_eq!(wrong.verdict, Verdict::Invalid);
    assert!(wrong.reason.contains("q7"), "{}", wrong.reason);
    let failed = find(&c, "bench_answers", Some("3.5.7"));
    assert_eq!(failed.verdict, Verdict::Unknown);
    assert_eq!(r.queries[0].ratio, None, "no 3.5.7 time for q3: no ratio");
    assert_eq!(
        r.queries[1].versions[1].n, 2,
        "the wrong run does not count"
    );
}

#[test]
fn a_slowdown_beyond_the_threshold_fails_parity_and_a_wide_interval_is_unknown() {
    let mut s = runs("q3", "3.5.7", &[1.0, 1.0, 1.0]);
    s.extend(runs("q3", "4.1.0", &[1.5, 1.5, 1.5]));
    let r = analyse(settings(&["q3"], 0.05), versions(), s, T0, T0);
    assert_eq!(parity(r.geomean, 0.05), Verdict::Invalid);
    assert!(
        r.parity.starts_with("4.1.0 is slower than 3.5.7"),
        "{}",
        r.parity
    );
    let mut s = runs("q3", "3.5.7", &[1.0, 1.0, 1.0]);
    s.extend(runs("q3", "4.1.0", &[0.5, 1.0, 2.0]));
    let r = analyse(settings(&["q3"], 0.05), versions(), s, T0, T0);
    assert_eq!(parity(r.geomean, 0.05), Verdict::Unknown, "{:?}", r.geomean);
    let noisy = &r.queries[0].versions[1];
    assert!(noisy.noisy(), "{noisy:?}");
    assert!(noisy.iterations_needed.unwrap() > 3);
}

#[test]
fn one_version_and_a_single_run_give_no_ratio_and_zero_width_intervals() {
    let s = vec![sample("q3", "4.1.0", 0, 1.25)];
    let mut set = settings(&["q3"], 0.05);
    set.iterations = 1;
    set.warmup = 0;
    let r = analyse(set, vec!["4.1.0".into()], s, T0, T0);
    assert_eq!(r.queries[0].versions[0].median, Some(Estimate::exact(1.25)));
    assert_eq!(r.queries[0].versions[0].cv, None);
    assert_eq!(r.geomean, None);
    assert_eq!(r.parity, "only 4.1.0 ran: no comparison");
    assert!(checks(&r).iter().all(|c| c.check != "bench_parity"));
}

/// A planted slowdown (4.1.0's q3 1.5× slower than in the baseline) is a regression; a rerun
/// without it is not.
#[test]
fn a_planted_slowdown_is_a_regression_against_the_baseline_and_a_clean_rerun_is_not() {
    let base = analyse(
        settings(&["q3", "q7"], 0.10),
        versions(),
        two_queries(),
        T0,
        T0,
    );
    let mut slowed = two_queries();
    for x in slowed
        .iter_mut()
        .filter(|x| x.query == "q3" && x.version == "4.1.0")
    {
        x.seconds *= 1.5;
    }
    let mut now = analyse(settings(&["q3", "q7"], 0.10), versions(), slowed, T0, T0);
    now.baseline = Some(compare_baseline(
        &now,
        &base,
        "reports/bench-base/bench.json",
    ));
    let c = checks(&now);
    let reg = find(&c, "bench_regression", Some("4.1.0"));
    assert_eq!(reg.verdict, Verdict::Invalid);
    assert!(reg.reason.contains("q3 (+50.0 %)"), "{}", reg.reason);
    assert_eq!(
        find(&c, "bench_regression", Some("3.5.7")).verdict,
        Verdict::Valid
    );

    let mut clean = two_queries();
    for (i, x) in clean.iter_mut().enumerate() {
        x.seconds *= [1.02, 0.98, 1.0][i % 3];
    }
    let mut rerun = analyse(settings(&["q3", "q7"], 0.10), versions(), clean, T0, T0);
    rerun.baseline = Some(compare_baseline(&rerun, &base, "b"));
    let c = checks(&rerun);
    for v in ["3.5.7", "4.1.0"] {
        let r = find(&c, "bench_regression", Some(v));
        assert_eq!(r.verdict, Verdict::Valid, "{r:?}");
    }
    // A query the baseline lacks is undecidable, not passed.
    let only_q3 = analyse(
        settings(&["q3"], 0.10),
        versions(),
        two_queries()
            .into_iter()
            .filter(|s| s.query == "q3")
            .collect(),
        T0,
        T0,
    );
    rerun.baseline = Some(compare_baseline(&rerun, &only_q3, "b"));
    let r = checks(&rerun);
    let r = find(&r, "bench_regression", Some("4.1.0"));
    assert_eq!(r.verdict, Verdict::Unknown);
    assert!(r.reason.contains("q7"), "{}", r.reason);
}

#[test]
fn throughput_counts_completed_queries_per_hour() {
    let mut s: Vec<Sample> = (0..4)
        .map(|i| Sample {
            stream: Some(i % 2),
            started_ms: T0 + u64::from(i) * 1000,
            ..sample("q3", "4.1.0", i, 2.0)
        })
        .collect();
    s[3].outcome = "fail".into();
    let t = throughput(&s, "4.1.0", 2).unwrap();
    assert_eq!((t.completed, t.failed), (3, 1));
    assert_eq!(t.elapsed_s, 5.0, "first start at 0 s, last end at 3 + 2 s");
    assert!((t.queries_per_hour - 3.0 * 3600.0 / 5.0).abs() < 1e-9);
    assert_eq!(throughput(&s, "3.5.7", 2), None);
}

const BENCH_SCENARIO: &str = r#"name = "bench-literal"
description = "literal"
kind = "bench"

[bench]
queries = ["q3", "q7"]
threshold = 0.10
"#;

/// Samples → analyse → checks → the run's assembly → every file, asserting what people read.
#[test]
fn the_figures_people_read_come_from_the_samples() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = crate::scenario::parse(BENCH_SCENARIO, "bench.toml").expect("scenario");
    let mut r = analyse(
        settings(&["q3", "q7"], 0.10),
        versions(),
        two_queries(),
        T0,
        T0 + 90_000,
    );
    r.baseline = Some(compare_baseline(&r, &r.clone(), "itself"));
    let report = crate::run::assemble::build(crate::run::assemble::Inputs {
        scenario: &scenario,
        file: Path::new("bench.toml"),
        text: BENCH_SCENARIO,
        started_ms: T0,
        ended_ms: T0 + 95_000,
        status: RunStatus::Completed,
        phases: Vec::new(),
        history: &[],
        faults: &[],
        writes: &Default::default(),
        workload: None,
        extra_checks: checks(&r),
        sections: vec![Section::Bench(Box::new(r))],
        notes: Vec::new(),
        components: Vec::new(),
        report_dir: dir.path(),
    });
    report::write_all(&report, dir.path(), &Format::ALL).unwrap();
    let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).unwrap();
    let md = read("summary.md");
    assert!(
        md.contains("| q7 | 3.00s | 0 % | 6.00s | 0 % | 2.00 [2.00, 2.00] | slower | 2.0 MB | 3.0 MB | 2.0 MB | 2.0 MB |"),
        "{md}"
    );
    assert!(
        md.contains("| q3 | 2.00s [1.90, 2.10] | 5 % | 1.00s [0.95, 1.05] | 5 % | 0.50 ["),
        "{md}"
    );
    assert!(
        md.contains("**VALID** — 4.1.0 shows parity with 3.5.7 or better"),
        "{md}"
    );
    assert!(
        md.contains("| largest stage peak execution memory (Σ over its tasks) | 3.0 MB | 2.0 MB |"),
        "{md}"
    );
    let html = read("report.html");
    assert!(html.contains("<svg class=\"forest\""), "forest plot");
    assert!(
        html.contains("<td>2.00 [2.00, 2.00]</td><td class=\"slower\">slower</td>"),
        "{html}"
    );
    let json: serde_json::Value = serde_json::from_str(&read("report.json")).unwrap();
    let bench = json["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "bench")
        .expect("bench section");
    assert_eq!(bench["queries"][1]["ratio"]["value"], 2.0);
    assert_eq!(bench["queries"][1]["change"], "slower");
    let junit = read("junit.xml");
    assert!(
        junit.contains(r#"<testsuite name="chaos.bench-literal.bench" tests="2" failures="1""#),
        "{junit}"
    );
    assert!(
        junit.contains(r#"<testcase name="q7" classname="chaos.bench-literal.bench" time="0">"#),
        "{junit}"
    );
    assert!(
        junit.contains(r#"<testsuite name="chaos.bench-literal.baseline" tests="6" failures="0""#),
        "{junit}"
    );
    // The report a run writes is a baseline a later bench reads.
    let back = crate::bench::read_baseline(&dir.path().join("report.json")).unwrap();
    assert_eq!(back.queries.len(), 2);
    assert_eq!(back.samples.len(), 16);
}
