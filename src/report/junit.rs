//! `junit.xml`: the checks as JUnit test results, for CI test reports.
//!
//! - One `<testsuite>` per version (`chaos.<scenario>.<version>`), plus `chaos.<scenario>.run`
//!   when there are run-wide checks or the run failed.
//! - One `<testcase name="<check>" classname="chaos.<scenario>.<version>">` per check and
//!   version: `invalid` is a `<failure>` (message: the reason; body: expected, observed,
//!   reason), `unknown` is `<skipped>`, `valid` passes.
//! - A failed run adds a `run` test case with an `<error>` to the `run` suite, so that CI fails
//!   even when no check could run; an interrupted run says so in each suite's `<system-out>`.
//!
//! Timestamps are UTC, written without a zone as the common JUnit schema wants.

use std::fmt::Write as _;

use super::{esc, utc, RunReport, RunStatus};
use crate::check::model::{CheckResult, Verdict};

/// The JUnit XML document.
pub fn render(report: &RunReport) -> String {
    let scenario = &report.scenario.name;
    let mut suites: Vec<(String, Vec<&CheckResult>)> = report
        .versions()
        .into_iter()
        .map(|v| {
            let checks = report
                .checks
                .iter()
                .filter(|c| c.version.as_deref() == Some(v.as_str()))
                .collect();
            (v, checks)
        })
        .collect();
    let run_wide: Vec<&CheckResult> = report
        .checks
        .iter()
        .filter(|c| c.version.is_none())
        .collect();
    let failed = match &report.status {
        RunStatus::Failed { error } => Some(error.as_str()),
        _ => None,
    };
    if !run_wide.is_empty() || failed.is_some() {
        suites.push(("run".to_string(), run_wide));
    }

    let bench: Vec<(String, usize, usize, usize, String)> = report
        .sections
        .iter()
        .filter_map(|s| match s {
            super::Section::Bench(b) => Some(super::bench::junit_suites(b, scenario)),
            _ => None,
        })
        .flatten()
        .collect();
    let extra = |i: usize| -> usize { bench.iter().map(|s| [s.1, s.2, s.3][i]).sum() };
    let count = |v: Verdict| report.checks.iter().filter(|c| c.verdict == v).count();
    let errors = usize::from(failed.is_some());
    let timestamp = utc(report.started_ms);
    let timestamp = timestamp.trim_end_matches('Z');
    let time = format!("{:.3}", report.duration_ms() as f64 / 1000.0);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        r#"<testsuites name="chaos.{}" tests="{}" failures="{}" errors="{errors}" skipped="{}" time="{time}" timestamp="{timestamp}">"#,
        esc(scenario),
        report.checks.len() + errors + extra(0),
        count(Verdict::Invalid) + extra(1),
        count(Verdict::Unknown) + extra(2)
    );
    for (suite, checks) in &suites {
        let class = esc(&format!("chaos.{scenario}.{suite}"));
        let in_suite = |v: Verdict| checks.iter().filter(|c| c.verdict == v).count();
        let suite_errors = if suite == "run" { errors } else { 0 };
        let _ = writeln!(
            out,
            r#"  <testsuite name="{class}" tests="{}" failures="{}" errors="{suite_errors}" skipped="{}" time="{time}" timestamp="{timestamp}">"#,
            checks.len() + suite_errors,
            in_suite(Verdict::Invalid),
            in_suite(Verdict::Unknown)
        );
        for c in checks {
            testcase(&mut out, &class, c);
        }
        if suite == "run" {
            if let Some(error) = failed {
                let _ = writeln!(
                    out,
                    r#"    <testcase name="run" classname="{class}" time="{time}">
      <error message="{}" type="failed">{}</error>
    </testcase>"#,
                    attr(error),
                    esc(error)
                );
            }
        }
        if report.status == RunStatus::Interrupted {
            out.push_str("    <system-out>The run was interrupted before its end: these verdicts cover only what ran, and checks that needed the rest are unknown (skipped).</system-out>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    for (name, tests, failures, skipped, cases) in &bench {
        let _ = writeln!(
            out,
            r#"  <testsuite name="{}" tests="{tests}" failures="{failures}" errors="0" skipped="{skipped}" time="{time}" timestamp="{timestamp}">"#,
            esc(name)
        );
        out.push_str(cases);
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

fn testcase(out: &mut String, class: &str, c: &CheckResult) {
    let open = format!(
        r#"    <testcase name="{}" classname="{class}" time="0""#,
        esc(&c.check)
    );
    let message = if c.reason.is_empty() {
        c.verdict.as_str()
    } else {
        c.reason.as_str()
    };
    let _ = match c.verdict {
        Verdict::Valid => writeln!(out, "{open}/>"),
        Verdict::Unknown => writeln!(
            out,
            "{open}>\n      <skipped message=\"{}\"/>\n    </testcase>",
            attr(message)
        ),
        Verdict::Invalid => writeln!(
            out,
            "{open}>\n      <failure message=\"{}\" type=\"invalid\">expected: {}\nobserved: {}\nreason: {}</failure>\n    </testcase>",
            attr(message),
            esc(&c.expected),
            esc(&c.observed),
            esc(&c.reason)
        ),
    };
}

/// An attribute value: escaped, with line breaks and tabs as character references so that
/// parsers keep them (they would turn them into spaces).
fn attr(text: &str) -> String {
    esc(text)
        .replace('\n', "&#10;")
        .replace('\r', "&#13;")
        .replace('\t', "&#9;")
}
