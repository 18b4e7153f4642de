//! The acceptance report of a suite (pure): the verdict first — accept, reject or undecided, and
//! why — then a matrix of scenarios × versions × checks, links to each scenario's own report,
//! the compat and upgrade sections' titles, the environment and the time it took. Rendered as
//! HTML, Markdown (short enough for a CI step summary), JSON and one merged JUnit file.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::model::Acceptance;
use crate::check::{CheckResult, Verdict};
use crate::report::{esc, span, utc, RunReport, RunStatus};

/// The suite's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Every scenario completed and every check held (or was unknown but tolerated).
    Accept,
    /// Some check found the system misbehaving.
    Reject,
    /// Neither: some verdict could not be reached, a scenario did not complete, or the suite
    /// was interrupted.
    Undecided,
}

impl Decision {
    /// `accept`, `reject`, `undecided`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Accept => "accept",
            Decision::Reject => "reject",
            Decision::Undecided => "undecided",
        }
    }

    /// The documented exit code: 0 accept, 1 reject, 3 undecided.
    pub fn exit_code(self) -> u8 {
        match self {
            Decision::Accept => crate::exit::OK,
            Decision::Reject => crate::exit::CHECK_INVALID,
            Decision::Undecided => crate::exit::CHECK_UNKNOWN,
        }
    }
}

/// What became of one scenario of the suite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioResult {
    /// The scenario's name.
    pub name: String,
    /// Its file.
    pub file: String,
    /// `chaos`, `compat`, `upgrade`.
    pub kind: String,
    /// `done` (it ran; see `report`), `failed` (it could not run: `error`), `pending` (not
    /// reached: interrupted before it), `skipped` (left out by `--only`).
    pub state: String,
    /// Why it failed to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Its report directory (relative to the suite's directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<String>,
    /// Its run's status, verdict and checks, when it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<ScenarioDigest>,
}

/// What the acceptance report keeps of a scenario's own report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioDigest {
    /// `completed`, `interrupted`, `failed`.
    pub status: String,
    /// The run's error, when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The run's verdict.
    pub verdict: Verdict,
    /// Versions it ran.
    pub versions: Vec<String>,
    /// Every check.
    pub checks: Vec<CheckResult>,
    /// Titles of its compat / upgrade / bench sections.
    pub sections: Vec<String>,
    /// Each section's finding in one line (compat differences, upgrade measurements, the
    /// bench's parity verdict).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub highlights: Vec<String>,
    /// Run start and end, Unix ms.
    pub started_ms: u64,
    /// See `started_ms`.
    pub ended_ms: u64,
    /// Time spent bringing the environment up and loading data (the fixed cost), ms.
    pub setup_ms: u64,
}

impl ScenarioDigest {
    /// The digest of a scenario's report.
    pub fn of(r: &RunReport) -> ScenarioDigest {
        let setup_ms = r
            .phases
            .iter()
            .filter(|p| p.name == "provision" || p.name == "data")
            .map(|p| p.end_ms.saturating_sub(p.start_ms))
            .sum();
        ScenarioDigest {
            status: r.status.as_str().to_string(),
            error: match &r.status {
                RunStatus::Failed { error } => Some(error.clone()),
                _ => None,
            },
            verdict: r.verdict,
            versions: r.versions(),
            checks: r.checks.clone(),
            sections: r.sections.iter().map(|s| s.title()).collect(),
            highlights: r.sections.iter().filter_map(|s| s.highlight()).collect(),
            started_ms: r.started_ms,
            ended_ms: r.ended_ms,
            setup_ms,
        }
    }
}

/// The environment the suite ran on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// `local`, `kubernetes`.
    pub platform: String,
    /// CPUs the harness saw.
    pub cpus: usize,
    /// Memory, GiB (from /proc/meminfo; 0 when unknown).
    pub memory_gib: f64,
    /// The OS (`uname -sr`-like, from /proc).
    pub os: String,
    /// spark-chaos's version.
    pub tool_version: String,
}

impl Machine {
    /// This machine.
    pub fn here(platform: &str) -> Machine {
        let mem_kib = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|t| {
                t.lines()
                    .find(|l| l.starts_with("MemTotal:"))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            })
            .unwrap_or(0.0);
        let os = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|r| format!("{} {}", std::env::consts::OS, r.trim()))
            .unwrap_or_else(|_| std::env::consts::OS.to_string());
        Machine {
            platform: platform.to_string(),
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            memory_gib: (mem_kib / 1024.0 / 1024.0 * 10.0).round() / 10.0,
            os,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

/// The acceptance report (`acceptance.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AcceptanceReport {
    /// The suite's name.
    pub suite: String,
    /// Its description.
    pub description: String,
    /// The suite file.
    pub file: String,
    /// The answer.
    pub decision: Decision,
    /// Why, one sentence each (the first is the headline).
    pub reasons: Vec<String>,
    /// Whether the suite was interrupted.
    pub interrupted: bool,
    /// Each scenario, in suite order.
    pub scenarios: Vec<ScenarioResult>,
    /// The criteria applied.
    pub acceptance: Acceptance,
    /// Where it ran.
    pub machine: Machine,
    /// Suite start and end, Unix ms.
    pub started_ms: u64,
    /// See `started_ms`.
    pub ended_ms: u64,
    /// Wall time spent running, ms, when it differs from `ended_ms - started_ms` (a resumed
    /// suite: the time between the interruption and `--resume` is not counted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub took_ms: Option<u64>,
    /// How many times the suite brought an environment up (1 when every scenario shared one).
    pub environment_starts: u32,
}

/// Decides: reject on any invalid check; accept when every scenario ran to completion and
/// every check is valid or a tolerated unknown; undecided otherwise. Returns the reasons.
pub fn decide(
    scenarios: &[ScenarioResult],
    acceptance: &Acceptance,
    interrupted: bool,
) -> (Decision, Vec<String>) {
    let mut invalid = Vec::new();
    let mut unknown = Vec::new();
    let mut not_run = Vec::new();
    let mut tolerated = Vec::new();
    for s in scenarios {
        match (&s.state[..], &s.report) {
            ("skipped", _) => {}
            (_, Some(d)) => {
                if d.status != "completed" {
                    not_run.push(format!("{} {}", s.name, d.status));
                }
                for c in &d.checks {
                    let at = c
                        .version
                        .as_deref()
                        .map(|v| format!("@{v}"))
                        .unwrap_or_default();
                    match c.verdict {
                        Verdict::Invalid => invalid.push(format!("{} {}{at}", s.name, c.check)),
                        Verdict::Unknown if !acceptance.tolerate_unknown.contains(&c.check) => {
                            unknown.push(format!("{} {}{at}", s.name, c.check))
                        }
                        Verdict::Unknown => tolerated.push(format!("{} {}{at}", s.name, c.check)),
                        Verdict::Valid => {}
                    }
                }
            }
            (state, None) => not_run.push(format!("{} {state}", s.name)),
        }
    }
    let list = |v: &[String]| {
        let shown: Vec<&str> = v.iter().take(6).map(String::as_str).collect();
        let more = v.len().saturating_sub(shown.len());
        let mut text = shown.join(", ");
        if more > 0 {
            let _ = write!(text, " and {more} more");
        }
        text
    };
    let mut reasons = Vec::new();
    if !invalid.is_empty() {
        reasons.push(format!(
            "{} check(s) invalid: {}",
            invalid.len(),
            list(&invalid)
        ));
    }
    if interrupted {
        reasons.push("the suite was interrupted".to_string());
    }
    if !not_run.is_empty() {
        reasons.push(format!("did not complete: {}", list(&not_run)));
    }
    if !unknown.is_empty() {
        reasons.push(format!(
            "{} check(s) unknown: {}",
            unknown.len(),
            list(&unknown)
        ));
    }
    let ran = scenarios.iter().filter(|s| s.report.is_some()).count();
    let decision = if !invalid.is_empty() {
        Decision::Reject
    } else if reasons.is_empty() && ran > 0 {
        let checks: usize = scenarios
            .iter()
            .filter_map(|s| s.report.as_ref())
            .map(|d| d.checks.len())
            .sum();
        reasons.push(if tolerated.is_empty() {
            format!("{ran} scenario(s) completed and all {checks} checks held")
        } else {
            format!(
                "{ran} scenario(s) completed; {} of {checks} checks held and {} unknown one(s) were tolerated by the suite: {}",
                checks - tolerated.len(),
                tolerated.len(),
                list(&tolerated)
            )
        });
        Decision::Accept
    } else {
        if ran == 0 && reasons.is_empty() {
            reasons.push("no scenario ran".to_string());
        }
        Decision::Undecided
    };
    (decision, reasons)
}

impl AcceptanceReport {
    fn versions(&self) -> Vec<String> {
        let set: BTreeSet<String> = self
            .scenarios
            .iter()
            .filter_map(|s| s.report.as_ref())
            .flat_map(|d| d.versions.iter().cloned())
            .collect();
        set.into_iter().collect()
    }

    fn setup_ms(&self) -> u64 {
        self.scenarios
            .iter()
            .filter_map(|s| s.report.as_ref())
            .map(|d| d.setup_ms)
            .sum()
    }
}

/// One cell: the scenario's verdict for a version (merged over its checks), `–` when none.
fn version_verdict(d: &ScenarioDigest, v: &str) -> Option<Verdict> {
    let of_v: Vec<Verdict> = d
        .checks
        .iter()
        .filter(|c| c.version.as_deref() == Some(v))
        .map(|c| c.verdict)
        .collect();
    (!of_v.is_empty()).then(|| Verdict::merge_all(of_v))
}

/// The verdict of the checks a scenario makes about the run as a whole (compat's, a bench's
/// parity), not about one version; `None` when it has none.
fn run_verdict(d: &ScenarioDigest) -> Option<Verdict> {
    let of_run: Vec<Verdict> = d
        .checks
        .iter()
        .filter(|c| c.version.is_none())
        .map(|c| c.verdict)
        .collect();
    (!of_run.is_empty()).then(|| Verdict::merge_all(of_run))
}

fn word(v: Verdict) -> &'static str {
    match v {
        Verdict::Valid => "valid",
        Verdict::Unknown => "unknown",
        Verdict::Invalid => "INVALID",
    }
}

fn md(s: &str) -> String {
    esc(s).replace('|', "\\|").replace('\n', " ")
}

/// Where and when the suite ran and how long it took, one line, each text through `escape`.
fn environment(r: &AcceptanceReport, escape: fn(&str) -> String) -> String {
    let m = &r.machine;
    format!(
        "Platform {} · {} CPUs · {} GiB · {} · spark-chaos {} · started {} · took {} (set-up {}, {} environment start(s))",
        escape(&m.platform),
        m.cpus,
        m.memory_gib,
        escape(&m.os),
        escape(&m.tool_version),
        utc(r.started_ms),
        span(r.took_ms.unwrap_or(r.ended_ms.saturating_sub(r.started_ms))),
        span(r.setup_ms()),
        r.environment_starts
    )
}

/// `acceptance.md`: the decision, the reasons, one row per scenario.
pub fn render_markdown(r: &AcceptanceReport) -> String {
    let mut out = String::new();
    let decision = match r.decision {
        Decision::Accept => "ACCEPT".to_string(),
        other => format!("**{}**", other.as_str().to_uppercase()),
    };
    let _ = writeln!(out, "## Suite {}: {decision}\n", md(&r.suite));
    for reason in &r.reasons {
        let _ = writeln!(out, "- {}", md(reason));
    }
    out.push('\n');
    if !r.description.is_empty() {
        let _ = writeln!(out, "{}\n", md(&r.description));
    }
    let versions = r.versions();
    let _ = write!(out, "| scenario | kind |");
    for v in &versions {
        let _ = write!(out, " {v} |");
    }
    out.push_str(" whole run | report |\n|---|---|");
    for _ in &versions {
        out.push_str("---|");
    }
    out.push_str("---|---|\n");
    for s in &r.scenarios {
        let _ = write!(out, "| {} | {} |", md(&s.name), md(&s.kind));
        for v in &versions {
            let cell = match &s.report {
                Some(d) => version_verdict(d, v).map_or("–", word).to_string(),
                None => s.state.clone(),
            };
            let _ = write!(out, " {cell} |");
        }
        let run = s.report.as_ref().and_then(run_verdict).map_or("–", word);
        let _ = write!(out, " {run} |");
        let link = s
            .dir
            .as_deref()
            .map_or("–".to_string(), |d| format!("[report]({d}/summary.md)"));
        let _ = writeln!(out, " {link} |");
    }
    let findings: Vec<(&str, &String)> = r
        .scenarios
        .iter()
        .filter_map(|s| Some((s.name.as_str(), s.report.as_ref()?)))
        .flat_map(|(n, d)| d.highlights.iter().map(move |h| (n, h)))
        .collect();
    if !findings.is_empty() {
        out.push('\n');
        for (name, h) in findings {
            let _ = writeln!(out, "- **{}**: {}", md(name), md(h));
        }
    }
    let not_valid: Vec<(&str, &CheckResult)> = r
        .scenarios
        .iter()
        .filter_map(|s| Some((s.name.as_str(), s.report.as_ref()?)))
        .flat_map(|(n, d)| d.checks.iter().map(move |c| (n, c)))
        .filter(|(_, c)| c.verdict != Verdict::Valid)
        .collect();
    if !not_valid.is_empty() {
        out.push_str("\n| scenario | check | Spark | verdict | why |\n|---|---|---|---|---|\n");
        for (name, c) in not_valid.iter().take(20) {
            let _ = writeln!(
                out,
                "| {} | `{}` | {} | {} | {} |",
                md(name),
                c.check.replace('`', "'"),
                md(c.version.as_deref().unwrap_or("run")),
                word(c.verdict),
                md(&c.reason)
            );
        }
        if not_valid.len() > 20 {
            let _ = writeln!(out, "\n… {} more in acceptance.html", not_valid.len() - 20);
        }
    }
    let _ = writeln!(out, "\n{}", environment(r, md));
    out
}

const CSS: &str = "body{font:15px/1.45 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d232b}main{max-width:1100px;margin:0 auto;padding:24px}h1{margin:.2em 0}.decision{display:inline-block;padding:.3em .9em;border-radius:6px;font-weight:700;font-size:1.3em;color:#fff}.accept{background:#1f7a3a}.reject{background:#b3261e}.undecided{background:#a86b00}table{border-collapse:collapse;width:100%;background:#fff;margin:12px 0}th,td{border:1px solid #dde1e6;padding:6px 8px;text-align:left;vertical-align:top}th{background:#eef1f4}td.valid{color:#1f7a3a}td.invalid{color:#b3261e;font-weight:700}td.unknown{color:#a86b00}.muted{color:#5b6570}ul.reasons{font-size:1.05em}";

fn cell_class(v: Option<Verdict>) -> &'static str {
    match v {
        Some(Verdict::Valid) => "valid",
        Some(Verdict::Invalid) => "invalid",
        Some(Verdict::Unknown) => "unknown",
        None => "muted",
    }
}

/// `acceptance.html`: one self-contained page.
pub fn render_html(r: &AcceptanceReport) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"/><title>{} · {}</title><style>{CSS}</style></head><body><main>"#,
        esc(&r.suite),
        r.decision.as_str()
    );
    let _ = write!(
        out,
        r#"<p class="muted">spark-chaos acceptance report · suite <code>{}</code></p><h1>{}</h1><p>{}</p><p><span class="decision {}">{}</span></p><ul class="reasons">"#,
        esc(&r.file),
        esc(&r.suite),
        esc(&r.description),
        r.decision.as_str(),
        r.decision.as_str().to_uppercase()
    );
    for reason in &r.reasons {
        let _ = write!(out, "<li>{}</li>", esc(reason));
    }
    out.push_str("</ul><h2>Scenarios</h2><table><thead><tr><th>scenario</th><th>kind</th>");
    let versions = r.versions();
    for v in &versions {
        let _ = write!(out, "<th>Spark {}</th>", esc(v));
    }
    out.push_str(
        "<th>whole run</th><th>set-up</th><th>took</th><th>report</th></tr></thead><tbody>",
    );
    for s in &r.scenarios {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td>",
            esc(&s.name),
            esc(&s.kind)
        );
        for v in &versions {
            match &s.report {
                Some(d) => {
                    let verdict = version_verdict(d, v);
                    let _ = write!(
                        out,
                        r#"<td class="{}">{}</td>"#,
                        cell_class(verdict),
                        verdict.map_or("–", word)
                    );
                }
                None => {
                    let _ = write!(out, r#"<td class="muted">{}</td>"#, esc(&s.state));
                }
            }
        }
        match &s.report {
            Some(d) => {
                let run = run_verdict(d);
                let _ = write!(
                    out,
                    r#"<td class="{}">{}</td><td>{}</td><td>{}</td>"#,
                    cell_class(run),
                    run.map_or("–", word),
                    span(d.setup_ms),
                    span(d.ended_ms.saturating_sub(d.started_ms))
                );
            }
            None => out.push_str("<td>–</td><td>–</td><td>–</td>"),
        }
        match &s.dir {
            Some(d) => {
                let _ = write!(
                    out,
                    r#"<td><a href="{}/report.html">report</a></td></tr>"#,
                    esc(d)
                );
            }
            None => {
                let why = s.error.as_deref().unwrap_or("");
                let _ = write!(out, r#"<td class="muted">{}</td></tr>"#, esc(why));
            }
        }
    }
    out.push_str("</tbody></table><h2>Checks</h2>");
    for s in &r.scenarios {
        let Some(d) = &s.report else { continue };
        let _ = write!(out, "<h3>{}</h3>", esc(&s.name));
        for title in &d.sections {
            let _ = write!(out, r#"<p class="muted">{}</p>"#, esc(title));
        }
        for h in &d.highlights {
            let _ = write!(out, r#"<p class="finding"><b>{}</b></p>"#, esc(h));
        }
        out.push_str("<table><thead><tr><th>check</th>");
        for v in &d.versions {
            let _ = write!(out, "<th>{}</th>", esc(v));
        }
        out.push_str("<th>expected</th></tr></thead><tbody>");
        let mut names: Vec<&str> = Vec::new();
        for c in &d.checks {
            if !names.contains(&c.check.as_str()) {
                names.push(&c.check);
            }
        }
        for name in names {
            let _ = write!(out, "<tr><td><code>{}</code></td>", esc(name));
            // A check about the whole run (compat's, a bench's parity) spans the versions.
            if let Some(c) = d
                .checks
                .iter()
                .find(|c| c.check == name && c.version.is_none())
            {
                let _ = write!(
                    out,
                    r#"<td colspan="{}" class="{}" title="{}">{} · {}</td><td>{}</td></tr>"#,
                    d.versions.len().max(1),
                    cell_class(Some(c.verdict)),
                    esc(&c.reason),
                    word(c.verdict),
                    esc(&c.observed),
                    esc(&c.expected)
                );
                continue;
            }
            let mut expected = "";
            for v in &d.versions {
                match d
                    .checks
                    .iter()
                    .find(|c| c.check == name && c.version.as_deref() == Some(v.as_str()))
                {
                    Some(c) => {
                        expected = &c.expected;
                        let _ = write!(
                            out,
                            r#"<td class="{}" title="{}">{} · {}</td>"#,
                            cell_class(Some(c.verdict)),
                            esc(&c.reason),
                            word(c.verdict),
                            esc(&c.observed)
                        );
                    }
                    None => out.push_str(r#"<td class="muted">–</td>"#),
                }
            }
            let _ = write!(out, "<td>{}</td></tr>", esc(expected));
        }
        out.push_str("</tbody></table>");
    }
    let _ = writeln!(
        out,
        "<h2>Environment</h2><p>{}.</p></main></body></html>",
        environment(r, esc)
    );
    out
}

/// `junit.xml`: one test suite per scenario and version, one test case per check; a scenario
/// that did not run is one errored test case.
pub fn render_junit(r: &AcceptanceReport) -> String {
    let mut suites = String::new();
    let (mut tests, mut failures, mut errors, mut skipped) = (0, 0, 0, 0);
    for s in &r.scenarios {
        let Some(d) = &s.report else {
            if s.state == "skipped" {
                continue;
            }
            tests += 1;
            errors += 1;
            let _ = writeln!(
                suites,
                r#"  <testsuite name="chaos.{n}" tests="1" failures="0" errors="1" skipped="0"><testcase name="run" classname="chaos.{n}"><error message="{m}"/></testcase></testsuite>"#,
                n = esc(&s.name),
                m = esc(s.error.as_deref().unwrap_or(&s.state))
            );
            continue;
        };
        // One test suite per version, and one for the checks about the whole run (compat's,
        // a bench's parity) when there are any.
        let mut scopes: Vec<Option<&str>> = d.versions.iter().map(|v| Some(v.as_str())).collect();
        if d.checks.iter().any(|c| c.version.is_none()) {
            scopes.push(None);
        }
        for scope in scopes {
            let checks: Vec<&CheckResult> = d
                .checks
                .iter()
                .filter(|c| c.version.as_deref() == scope)
                .collect();
            let v = scope.unwrap_or("run");
            let f = checks
                .iter()
                .filter(|c| c.verdict == Verdict::Invalid)
                .count();
            let k = checks
                .iter()
                .filter(|c| c.verdict == Verdict::Unknown)
                .count();
            tests += checks.len();
            failures += f;
            skipped += k;
            let class = format!("chaos.{}.{}", s.name, v);
            let _ = writeln!(
                suites,
                r#"  <testsuite name="{}" tests="{}" failures="{f}" errors="0" skipped="{k}">"#,
                esc(&class),
                checks.len()
            );
            for c in checks {
                let _ = write!(
                    suites,
                    r#"    <testcase name="{}" classname="{}">"#,
                    esc(&c.check),
                    esc(&class)
                );
                match c.verdict {
                    Verdict::Valid => {}
                    Verdict::Invalid => {
                        let _ = write!(
                            suites,
                            r#"<failure message="{}">{}</failure>"#,
                            esc(&c.reason),
                            esc(&c.observed)
                        );
                    }
                    Verdict::Unknown => {
                        let _ = write!(suites, r#"<skipped message="{}"/>"#, esc(&c.reason));
                    }
                }
                suites.push_str("</testcase>\n");
            }
            suites.push_str("  </testsuite>\n");
        }
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"suite.{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\">\n{suites}</testsuites>\n",
        esc(&r.suite)
    )
}
