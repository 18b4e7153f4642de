//! Snapshot and structure tests of the renderers on the fixture report.
//!
//! Snapshots live in `tests/snapshots/report/<name>.snap`. A mismatch or a missing snapshot
//! fails; `UPDATE_SNAPSHOTS=1 cargo test --lib report::` (re)writes them, to be reviewed in the
//! diff.

use std::path::PathBuf;

use quick_xml::events::Event;
use quick_xml::Reader;

use super::fixture::{self, STARTED};
use super::*;

fn assert_snapshot(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots/report")
        .join(format!("{name}.snap"));
    if std::env::var("UPDATE_SNAPSHOTS").as_deref() == Ok("1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = match std::fs::read_to_string(&path) {
        Ok(expected) => expected,
        Err(e) => panic!(
            "snapshot {} cannot be read ({e}): run `UPDATE_SNAPSHOTS=1 cargo test --lib report::`, review the file and re-run",
            path.display()
        ),
    };
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(e, a)| e != a)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "snapshot {} differs from line {}:\n  expected: {:?}\n  actual:   {:?}\n--- actual output ---\n{actual}\nIf the change is intended, run with UPDATE_SNAPSHOTS=1 and review the diff.",
            path.display(),
            first + 1,
            expected.lines().nth(first),
            actual.lines().nth(first)
        );
    }
}

/// An element's name and attributes.
type Element = (String, Vec<(String, String)>);

/// Parses `xml` checking that every element is closed in order and every attribute and text
/// unescapes; returns each element's name and attributes, in document order.
fn parse(xml: &str) -> Vec<Element> {
    let mut reader = Reader::from_str(xml);
    let mut open: Vec<String> = Vec::new();
    let mut elements = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                elements.push((name.clone(), attributes(&e)));
                open.push(name);
            }
            Ok(Event::Empty(e)) => {
                let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                elements.push((name, attributes(&e)));
            }
            Ok(Event::End(e)) => {
                let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                assert_eq!(
                    open.pop().as_deref(),
                    Some(name.as_str()),
                    "mismatched end tag"
                );
            }
            Ok(Event::Text(t)) => {
                t.unescape().expect("text unescapes");
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("not well-formed at {}: {e}", reader.buffer_position()),
        }
    }
    assert!(open.is_empty(), "unclosed elements: {open:?}");
    elements
}

fn attributes(e: &quick_xml::events::BytesStart) -> Vec<(String, String)> {
    e.attributes()
        .map(|a| {
            let a = a.expect("well-formed attribute");
            let key = String::from_utf8(a.key.as_ref().to_vec()).unwrap();
            (
                key,
                a.unescape_value()
                    .expect("attribute unescapes")
                    .into_owned(),
            )
        })
        .collect()
}

fn all<'a>(elements: &'a [Element], name: &str) -> Vec<&'a [(String, String)]> {
    elements
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, a)| a.as_slice())
        .collect()
}

fn attr<'a>(attrs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[test]
fn fixture_has_the_shape_the_tests_rely_on() {
    let r = fixture::report();
    assert_eq!(r.timeline.len(), 200);
    assert_eq!(r.wrong_answers.len(), 1);
    assert_eq!(r.wrong_answers[0].op, 181);
    assert_eq!(r.checks.len(), 11);
    let first_ok = r
        .recoveries
        .iter()
        .map(|x| x.first_ok_s)
        .collect::<Vec<_>>();
    assert_eq!(first_ok, [Some(72.802), Some(9.502)]);
}

#[test]
fn markdown_snapshot() {
    assert_snapshot("summary.md", &markdown::render(&fixture::report()));
}

#[test]
fn junit_snapshot() {
    assert_snapshot("junit.xml", &junit::render(&fixture::report()));
}

#[test]
fn terminal_snapshot() {
    assert_snapshot("terminal.txt", &terminal::render(&fixture::report(), false));
}

#[test]
fn junit_parses_back_with_the_right_counts() {
    let xml = junit::render(&fixture::report());
    let elements = parse(&xml);
    let suites = all(&elements, "testsuite");
    let names: Vec<_> = suites.iter().map(|a| attr(a, "name").unwrap()).collect();
    assert_eq!(
        names,
        [
            "chaos.s3-outage.3.5.7",
            "chaos.s3-outage.4.1.0",
            "chaos.s3-outage.run"
        ]
    );
    let cases = all(&elements, "testcase");
    assert_eq!(cases.len(), 11);
    assert_eq!(all(&elements, "failure").len(), 2);
    assert_eq!(all(&elements, "skipped").len(), 1);
    assert!(all(&elements, "system-out").is_empty());
    let root = &all(&elements, "testsuites")[0];
    assert_eq!(
        (
            attr(root, "tests"),
            attr(root, "failures"),
            attr(root, "skipped")
        ),
        (Some("11"), Some("2"), Some("1"))
    );
    let recovery = cases
        .iter()
        .find(|a| attr(a, "name") == Some("recovery_within"))
        .unwrap();
    assert_eq!(attr(recovery, "classname"), Some("chaos.s3-outage.3.5.7"));
    let failure = &all(&elements, "failure")[0];
    assert!(attr(failure, "message")
        .unwrap()
        .starts_with("Spark 3.5.7 ran its first"));
}

#[test]
fn junit_marks_interrupted_and_failed_runs() {
    let mut r = fixture::report();
    r.status = RunStatus::Interrupted;
    let elements = parse(&junit::render(&r));
    assert_eq!(all(&elements, "system-out").len(), 3, "one note per suite");

    r.status = RunStatus::Failed {
        error: "supervisor gone: <state.json> missing\nsecond line".into(),
    };
    r.checks.retain(|c| c.version.is_some());
    let xml = junit::render(&r);
    let elements = parse(&xml);
    let errors = all(&elements, "error");
    assert_eq!(errors.len(), 1);
    assert_eq!(
        attr(errors[0], "message"),
        Some("supervisor gone: <state.json> missing\nsecond line"),
        "the line break survives in the attribute"
    );
    let run = all(&elements, "testsuite")
        .into_iter()
        .find(|a| attr(a, "name") == Some("chaos.s3-outage.run"))
        .expect("a failed run has a run suite");
    assert_eq!(
        (attr(run, "tests"), attr(run, "errors")),
        (Some("1"), Some("1"))
    );
}

#[test]
fn html_is_well_formed_self_contained_and_complete() {
    let html = html::render(&fixture::report());
    let body = html
        .strip_prefix("<!DOCTYPE html>\n")
        .expect("doctype first");
    let elements = parse(body);
    assert_eq!(all(&elements, "svg").len(), 4, "two charts per version");
    assert_eq!(html.matches("<svg").count(), html.matches("</svg>").count());
    assert!(html.contains(r#"<span class="badge big invalid">INVALID</span>"#));
    let faults: Vec<_> = all(&elements, "rect")
        .into_iter()
        .filter(|a| attr(a, "class") == Some("fault"))
        .collect();
    assert_eq!(
        faults.len(),
        4,
        "the outage shaded in every chart of both versions"
    );
    assert!(
        html.contains(">f1 s3-outage</text>"),
        "fault window labelled"
    );
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external reference"
    );
    assert!(!html.contains("<script") && !html.contains("<link") && !html.contains("<img"));
    assert!(
        html.contains("<pre>q19: 1 of 100 rows differ"),
        "the wrong answer's diff"
    );
    assert!(html.contains(r#"<section id="x-compatibility" class="extra">"#));
    assert!(html.contains("[checks]"), "the scenario as run");
    assert!(
        !html.contains(r#"class="banner"#),
        "a completed run has no banner"
    );
}

#[test]
fn html_escapes_everything_from_the_run() {
    let mut r = fixture::report();
    let planted = "<script>alert(1)</script>";
    r.queries[0].name = planted.into();
    r.timeline[0].name = planted.into();
    r.notes.push(format!("{planted} & \u{1b}[31mred"));
    r.faults[0].detail = planted.into();
    r.status = RunStatus::Interrupted;
    let html = html::render(&r);
    assert!(!html.contains("<script"), "planted markup is escaped");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains(r#"<div class="banner interrupted">"#));
    parse(html.strip_prefix("<!DOCTYPE html>\n").unwrap());
}

#[test]
fn html_of_an_empty_report_still_renders() {
    let mut r = fixture::report();
    r.timeline.clear();
    r.checks.clear();
    r.faults.clear();
    r.phases.clear();
    r.queries.clear();
    r.recoveries.clear();
    r.ended_ms = r.started_ms;
    r.status = RunStatus::Failed {
        error: "could not provision".into(),
    };
    let html = html::render(&r);
    parse(html.strip_prefix("<!DOCTYPE html>\n").unwrap());
    assert!(html.contains("no operations recorded for Spark 3.5.7"));
    assert!(html.contains("could not provision"));
}

#[test]
fn terminal_colours_and_stays_short() {
    let r = fixture::report();
    let text = terminal::render(&r, true);
    assert!(text.contains("\x1b[1;31mINVALID\x1b[0m"));
    assert!(
        text.contains("\x1b[32mvalid  \x1b[0m"),
        "padding inside the colour keeps columns"
    );
    let mut many = r.clone();
    for i in 0..40 {
        many.checks.push(CheckResult {
            check: format!("extra_{i}"),
            ..r.checks[2].clone()
        });
    }
    let lines = terminal::render(&many, false).lines().count();
    assert!(lines <= 25, "{lines} lines");
}

#[test]
fn json_round_trips() {
    let r = fixture::report();
    let text = json::render(&r);
    assert!(text.contains("\"schema\": 2"));
    assert!(text.contains("\"kind\": \"legacy\""));
    assert!(text.contains("\"state\": \"completed\""));
    assert_eq!(serde_json::from_str::<RunReport>(&text).unwrap(), r);
    let failed = serde_json::to_value(RunStatus::Failed { error: "x".into() }).unwrap();
    assert_eq!(failed, serde_json::json!({"state": "failed", "error": "x"}));
}

#[test]
fn write_all_writes_each_format() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join(report_dir_name("s3-outage", STARTED));
    let written = write_all(&fixture::report(), &out, &Format::ALL).unwrap();
    let names: Vec<_> = written
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["report.html", "summary.md", "report.json", "junit.xml"]
    );
    let leftovers = std::fs::read_dir(&out).unwrap().count();
    assert_eq!(leftovers, 4, "no staging file left");
    let json = std::fs::read_to_string(out.join("report.json")).unwrap();
    assert_eq!(json, json::render(&fixture::report()));
}

#[test]
fn names_and_formats() {
    assert_eq!(
        report_dir_name("s3-outage", STARTED),
        "s3-outage-20261121T031500Z"
    );
    assert_eq!("md".parse::<Format>(), Ok(Format::Markdown));
    assert_eq!("junit".parse::<Format>(), Ok(Format::Junit));
    assert!("pdf"
        .parse::<Format>()
        .unwrap_err()
        .contains("html, md, json, junit"));
    assert_eq!(esc("a\u{1b}[0m<b>"), "a[0m&lt;b&gt;");
}

#[test]
fn schema_1_sections_still_read_and_render_as_before() {
    // A schema 1 report: sections without a `kind`, pre-rendered.
    let now = fixture::report();
    let mut old = serde_json::to_value(&now).unwrap();
    old["schema"] = 1.into();
    old["sections"][0]
        .as_object_mut()
        .unwrap()
        .remove("kind")
        .expect("a tagged section");
    let read: RunReport = serde_json::from_value(old).unwrap();
    assert!(matches!(read.sections[0], Section::Legacy(_)));
    assert_eq!(read.sections, now.sections);
    assert_eq!(markdown::render(&read), markdown::render(&now));
}

/// A compat report whose statements were compared and classified by the real functions: one
/// identical, one expected (ANSI mode, confirmed by a re-run), one unexplained.
fn compat_report() -> crate::compat::CompatReport {
    use crate::compat::tests::{confirmation, fail, ok_ints, report, statement};
    use crate::compat::{classify, compare, Class, Confirmation, Observed, StatementReport};
    let sql = "SELECT CAST('x' AS INT) AS v";
    let judged = |id: &str, baseline: Observed, target: Observed, mut tried: Vec<Confirmation>| {
        let difference = compare(&baseline, &target, sql);
        let class = classify(difference.as_ref(), &tried);
        // A run keeps result batches only while comparing.
        let (mut baseline, mut target) = (baseline, target);
        baseline.batches.clear();
        target.batches.clear();
        tried.iter_mut().for_each(|c| c.observed.batches.clear());
        StatementReport {
            difference,
            class,
            baseline,
            target,
            confirmations: tried,
            ..statement(id, Class::Identical, None)
        }
    };
    let null = || ok_ints("v", &[None]);
    let rerun = confirmation(&["ansi_default"], &null(), null(), sql);
    report(vec![
        judged(
            "same",
            ok_ints("v", &[Some(1)]),
            ok_ints("v", &[Some(1)]),
            vec![],
        ),
        judged(
            "cast",
            null(),
            fail("CAST_INVALID_INPUT", Some("22018")),
            vec![rerun],
        ),
        judged(
            "odd",
            ok_ints("v", &[Some(1)]),
            ok_ints("v", &[Some(2)]),
            vec![],
        ),
    ])
}

/// An upgrade measured by the real functions on a literal history: two operations in flight
/// at the cut-over lost, one refused after it, then served by 4.1.0; 40 writes read back.
fn upgrade_summary() -> crate::check::upgrade::UpgradeSummary {
    use crate::check::upgrade::tests::{cutover_history, switch_at, NEW, T};
    use crate::check::upgrade::{measure, timeline_ops, ReadBack, UpgradeSummary};
    let history = cutover_history();
    let mut cutover = switch_at("cut-over", T, NEW);
    cutover.steps = vec!["edges routed to Spark 4.1.0 (open connections reset)".into()];
    cutover.read_back = Some(ReadBack {
        version: "4.1.0".into(),
        acknowledged: 40,
        read: 40,
        missing_count: 0,
        missing: vec![],
        error: None,
    });
    let switches = vec![cutover];
    let (ops, last_end_ms) = timeline_ops(&history);
    UpgradeSummary {
        style: crate::scenario::model::UpgradeStyle::BlueGreen,
        from: "3.5.7".into(),
        to: "4.1.0".into(),
        endpoints: vec!["sc://127.0.0.1:15100".into()],
        table: Some("default.chaos_upgrade".into()),
        location: Some("s3a://chaos/upgrade/r1/writes".into()),
        workload_start_ms: T / 1000 - 60_000,
        workload_end_ms: T / 1000 + 60_000,
        measures: measure(&history, &switches, T / 1000 + 60_000),
        switches,
        ops,
        last_end_ms,
    }
}

#[test]
fn compat_and_upgrade_sections_are_data_every_format_renders() {
    let compat = compat_report();
    let upgrade = upgrade_summary();
    let mut r = fixture::report();
    r.checks.extend(crate::check::compat::checks(&compat));
    r.checks.extend(crate::check::upgrade::checks(
        &upgrade.measures,
        &upgrade.switches,
        std::time::Duration::from_secs(60),
        0,
        true,
    ));
    r.sections = vec![
        Section::Compat(Box::new(compat)),
        Section::Upgrade(Box::new(upgrade)),
    ];

    let html = html::render(&r);
    // The compat fragment breaks lines with HTML's `<br>`, the one void element not closed.
    parse(
        &html
            .strip_prefix("<!DOCTYPE html>\n")
            .unwrap()
            .replace("<br>", "<br/>"),
    );
    for wanted in [
        r##"<a href="#x-compat">Compatibility: Spark 3.5.7 vs 4.1.0</a>"##,
        r#"<section id="x-compat" class="extra"><h2>Compatibility: Spark 3.5.7 vs 4.1.0</h2>"#,
        "3 statements: <b>1 identical</b>, <b>1 expected</b> (a legacy setting makes the difference vanish), <b>1 unexplained</b>, 0 undetermined",
        "<h3>Unexplained (1)</h3>",
        "<h3>Expected by rule (1)</h3>",
        r#"<section id="x-upgrade" class="extra"><h2>Upgrade: Spark 3.5.7 → 4.1.0 (blue-green)</h2>"#,
        "<td>cut-over 3.5.7 → 4.1.0</td><td>+60.0s</td><td>≤ 2.0s (≥ 0.8s)</td><td>2.7s</td><td>0.4s</td><td>2 / 1</td><td>1</td><td>3 ops, 3.0s</td><td>40 verified</td><td>0 of 2</td>",
    ] {
        assert!(html.contains(wanted), "{wanted} not in the HTML");
    }
    assert_eq!(
        html.matches(r#"r="2.5""#).count(),
        6,
        "one dot per query and write on the timeline"
    );

    let md = markdown::render(&r);
    for wanted in [
        "### Compatibility: Spark 3.5.7 vs 4.1.0\n\n## Compatibility: Spark 3.5.7 → 4.1.0",
        "3 statements: **1 identical**, **1 expected**, **1 unexplained**, 0 undetermined",
        "| `odd` | ok: 1 | ok: 2 | result: 1 expected rows are missing and 1 unexpected rows are present | none |",
        "### Upgrade: Spark 3.5.7 → 4.1.0 (blue-green)",
        "| cut-over 3.5.7 → 4.1.0 | +60.0s | ≤ 2.0s (≥ 0.8s) | 2.7s | 0.4s | 2 / 1 | 1 | 3 ops, 3.0s | 40 verified | 0 of 2 |",
    ] {
        assert!(md.contains(wanted), "{wanted} not in:\n{md}");
    }

    let junit = junit::render(&r);
    for case in [
        "compat_unexplained",
        "upgrade_unavailability",
        "upgrade_lost_writes",
    ] {
        assert!(junit.contains(&format!(r#"name="{case}""#)), "{case}");
    }

    let json = json::render(&r);
    assert!(json.contains("\"kind\": \"compat\"") && json.contains("\"kind\": \"upgrade\""));
    assert_eq!(serde_json::from_str::<RunReport>(&json).unwrap(), r);
}

#[test]
fn throughput_from_its_rows_draws_what_the_full_timeline_drew() {
    // Reports written before `throughput` existed draw it from the timeline, which then held
    // every operation: the exact rows must give the same chart.
    let r = fixture::report();
    assert!(!r.throughput.is_empty());
    let mut legacy = r.clone();
    legacy.throughput.clear();
    for v in r.versions() {
        assert_eq!(
            chart::throughput(&r, &v),
            chart::throughput(&legacy, &v),
            "{v}"
        );
    }
    assert_eq!(html::render(&r), html::render(&legacy));
}

#[test]
fn streamed_files_are_the_rendered_texts() {
    let r = fixture::report();
    for f in Format::ALL {
        let mut out = Vec::new();
        f.write(&r, &mut out).expect("written into memory");
        assert!(out == f.render(&r).into_bytes(), "{}", f.file_name());
    }
}
