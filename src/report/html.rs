//! `report.html`: one self-contained page (inline CSS and SVG, no script, no external resource).
//!
//! Verdicts come first, then the findings, then one section per version (latency and
//! throughput charts, recoveries, error classes, queries, wrong answers, writes), then the
//! phases and faults, the components, the extra sections and the scenario as run. The markup is
//! also well-formed XML (void elements are self-closed), which the tests check by parsing it.

use std::fmt::Write as _;
use std::io;

use super::model::ALL_QUERIES;
use super::{
    chart, esc, seconds_or_never, since_start, span, utc, verdict_word, Matrix, RunReport,
    RunStatus, Section,
};
use crate::check::model::Verdict;

/// The page's style sheet.
const CSS: &str = r#"
:root{--ok:#1a7f37;--unknown:#9a6700;--bad:#cf222e;--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;font:14px/1.5 -apple-system,BlinkMacSystemFont,"Segoe UI",Helvetica,Arial,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:1120px;margin:0 auto;padding:24px}
header.run{display:flex;justify-content:space-between;align-items:center;gap:24px;background:#fff;border:1px solid var(--line);border-radius:10px;padding:20px 28px}
.kicker{margin:0;color:var(--muted);text-transform:uppercase;font-size:12px;letter-spacing:.08em}
h1{margin:2px 0 4px;font-size:28px}
.desc{margin:0 0 6px}
.meta{margin:0;color:var(--muted)}
.overall{text-align:center}
.overall p{margin:6px 0 0;color:var(--muted);font-size:12px}
.badge{display:inline-block;padding:1px 9px;border-radius:999px;font-weight:600;font-size:12px;color:#fff;letter-spacing:.03em;white-space:nowrap}
.badge.valid{background:var(--ok)}.badge.unknown{background:var(--unknown)}.badge.invalid{background:var(--bad)}
.badge.big{font-size:30px;padding:10px 26px;border-radius:12px}
.status{font-weight:600}.status.interrupted{color:var(--unknown)}.status.failed{color:var(--bad)}
.banner{margin-top:16px;padding:12px 18px;border-radius:8px;border:1px solid}
.banner.interrupted{background:#fff8c5;border-color:#d4a72c}
.banner.failed{background:#ffebe9;border-color:#ff8182}
nav{margin:14px 2px 0;font-size:13px}
nav a{margin-right:14px;color:#0969da;text-decoration:none}
section{background:#fff;border:1px solid var(--line);border-radius:10px;padding:14px 24px 18px;margin-top:16px}
h2{font-size:20px;margin:0 0 12px;padding-bottom:6px;border-bottom:1px solid var(--line)}
h2 .badge{vertical-align:middle;margin-left:8px}
h3{font-size:15px;margin:18px 0 8px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:var(--bg);font-weight:600;white-space:nowrap}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.invalid td{background:#ffebe9}tr.unknown td{background:#fff8c5}tr.total td{font-weight:600}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:10px 12px;overflow:auto;font-size:12px;margin:6px 0}
details{margin:6px 0}summary{cursor:pointer}
figure{margin:6px 0 14px}
figcaption{color:var(--muted);font-size:12px;margin-bottom:2px}
svg{display:block;width:100%;height:auto}
svg text{font-size:11px;fill:#59636e}
svg text.title{font-size:12px;fill:#1f2328}
svg text.fault-label{fill:#a40e26;font-weight:600}
svg text.phase{font-size:10px;fill:#1f2328}
.muted{color:var(--muted)}
footer{color:var(--muted);font-size:12px;margin:18px 2px}
"#;

/// The whole page.
pub fn render(report: &RunReport) -> String {
    let mut out = Vec::new();
    write(report, &mut out).expect("writing into memory cannot fail");
    String::from_utf8(out).expect("the page is built from strings")
}

/// Writes [`render`]'s page into `w` part by part (the head, each section): at most one
/// section is held in memory.
pub fn write(report: &RunReport, w: &mut dyn io::Write) -> io::Result<()> {
    let mut out = String::with_capacity(64 * 1024);
    let title = format!(
        "chaos · {} · {}",
        report.scenario.name,
        verdict_word(report.verdict)
    );
    let _ = write!(
        out,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"/><meta name="viewport" content="width=device-width, initial-scale=1"/><title>{}</title><style>{CSS}</style></head>
<body><main>
"#,
        esc(&title)
    );
    header(&mut out, report);
    nav(&mut out, report);
    verdicts(&mut out, report);
    flush(&mut out, w)?;
    if !report.notes.is_empty() {
        out.push_str(r#"<section id="findings"><h2>Findings</h2><ul>"#);
        for note in &report.notes {
            let _ = write!(out, "<li>{}</li>", esc(note));
        }
        out.push_str("</ul></section>\n");
    }
    flush(&mut out, w)?;
    // A run without a workload (compat, bench) has nothing to draw per version: its sections
    // come first.
    let workload = has_workload(report);
    if !workload {
        sections(&mut out, report, w)?;
    }
    for version in report.versions().iter().filter(|_| workload) {
        version_section(&mut out, report, version);
        flush(&mut out, w)?;
    }
    phases_and_faults(&mut out, report);
    components(&mut out, report);
    flush(&mut out, w)?;
    if workload {
        sections(&mut out, report, w)?;
    }
    let sc = &report.scenario;
    let _ = write!(
        out,
        r#"<section id="scenario"><h2>Scenario</h2><p><code>{}</code> · kind {} · platform {}</p><details><summary>The scenario file as run</summary><pre>{}</pre></details></section>
<footer>spark-chaos {} · report schema {} · every figure on this page is in <code>report.json</code> beside it · {}</footer>
</main></body></html>
"#,
        esc(&sc.file),
        esc(&sc.kind),
        esc(&sc.platform),
        esc(&sc.text),
        esc(&report.tool_version),
        report.schema,
        esc(&report.report_dir)
    );
    flush(&mut out, w)
}

/// Whether the run drove a workload (chaos and upgrade runs): only then are there latency
/// charts and operation tables per version.
fn has_workload(report: &RunReport) -> bool {
    report.workload.is_some() || report.queries.iter().any(|q| q.count > 0)
}

fn sections(out: &mut String, report: &RunReport, w: &mut dyn io::Write) -> io::Result<()> {
    for s in &report.sections {
        let _ = writeln!(
            out,
            r#"<section id="{}" class="extra"><h2>{}</h2>{}</section>"#,
            anchor("x", s.id()),
            esc(&s.title()),
            section_html(s)
        );
        flush(out, w)?;
    }
    Ok(())
}

/// Writes what `out` holds into `w` and empties it.
fn flush(out: &mut String, w: &mut dyn io::Write) -> io::Result<()> {
    w.write_all(out.as_bytes())?;
    out.clear();
    Ok(())
}

/// A section's HTML: rendered from its data (every text escaped), or a schema 1 report's
/// fragment as it was stored.
fn section_html(s: &Section) -> String {
    match s {
        Section::Compat(r) => super::compat::render_html(r),
        Section::Upgrade(u) => super::upgrade::render_html(u),
        Section::Bench(b) => super::bench::render_html(b),
        Section::Legacy(l) => l.html.clone(),
    }
}

fn header(out: &mut String, report: &RunReport) {
    let sc = &report.scenario;
    let versions: Vec<String> = report
        .versions()
        .iter()
        .map(|v| format!("<b>{}</b>", esc(v)))
        .collect();
    let status = report.status.as_str();
    let _ = writeln!(
        out,
        r#"<header class="run"><div><p class="kicker">spark-chaos · {} scenario</p><h1>{}</h1><p class="desc">{}</p><p class="meta">Spark {} · platform {} · started {} · lasted {} · <span class="status {status}">{status}</span></p></div><div class="overall">{}<p>overall verdict</p></div></header>"#,
        esc(&sc.kind),
        esc(&sc.name),
        esc(&sc.description),
        versions.join(" · "),
        esc(&sc.platform),
        utc(report.started_ms),
        span(report.duration_ms()),
        badge(report.verdict, true)
    );
    match &report.status {
        RunStatus::Completed => {}
        RunStatus::Interrupted => out.push_str(
            r#"<div class="banner interrupted"><b>Interrupted.</b> The run was stopped before its end: the verdicts cover only what ran, and checks that needed the rest are unknown.</div>
"#,
        ),
        RunStatus::Failed { error } => {
            let _ = writeln!(
                out,
                r#"<div class="banner failed"><b>The run failed:</b> {}</div>"#,
                esc(error)
            );
        }
    }
    for warning in super::unsteady(report) {
        let _ = writeln!(
            out,
            r#"<div class="banner interrupted"><b>Steady state did not hold.</b> {}</div>"#,
            esc(&warning)
        );
    }
}

fn nav(out: &mut String, report: &RunReport) {
    out.push_str(r##"<nav><a href="#verdicts">Verdicts</a>"##);
    if !report.notes.is_empty() {
        out.push_str(r##"<a href="#findings">Findings</a>"##);
    }
    for v in report
        .versions()
        .into_iter()
        .filter(|_| has_workload(report))
    {
        let _ = write!(
            out,
            r##"<a href="#{}">Spark {}</a>"##,
            anchor("spark", &v),
            esc(&v)
        );
    }
    out.push_str(
        r##"<a href="#faults">Phases and faults</a><a href="#components">Components</a>"##,
    );
    for s in &report.sections {
        let _ = write!(
            out,
            r##"<a href="#{}">{}</a>"##,
            anchor("x", s.id()),
            esc(&s.title())
        );
    }
    out.push_str(r##"<a href="#scenario">Scenario</a></nav>"##);
    out.push('\n');
}

fn verdicts(out: &mut String, report: &RunReport) {
    out.push_str(r#"<section id="verdicts"><h2>Verdicts</h2>"#);
    if report.checks.is_empty() {
        out.push_str(r#"<p class="muted">No check ran.</p></section>"#);
        out.push('\n');
        return;
    }
    let count = |v: Verdict| report.checks.iter().filter(|c| c.verdict == v).count();
    let _ = write!(
        out,
        r#"<p>{} invalid · {} unknown · {} valid</p>"#,
        count(Verdict::Invalid),
        count(Verdict::Unknown),
        count(Verdict::Valid)
    );
    open_table(
        out,
        &[
            "Check", "Spark", "Verdict", "Expected", "Observed", "Reason",
        ],
    );
    let matrix = Matrix::of(report);
    for (_, results) in &matrix.rows {
        for (column, result) in matrix.columns.iter().zip(results) {
            let Some(c) = result else { continue };
            let _ = write!(
                out,
                r#"<tr class="{}"><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
                c.verdict.as_str(),
                esc(&c.check),
                esc(Matrix::heading(column)),
                badge(c.verdict, false),
                esc(&c.expected),
                esc(&c.observed),
                esc(&c.reason)
            );
        }
    }
    out.push_str("</tbody></table></section>\n");
}

/// What the latency chart leaves out when its timeline was thinned (nothing otherwise).
fn thinned(report: &RunReport, version: &str) -> String {
    let drawn = report
        .timeline
        .iter()
        .filter(|p| p.version == version)
        .count() as u64;
    let total: u64 = report
        .throughput
        .iter()
        .filter(|r| r.version == version)
        .map(|r| r.total)
        .sum();
    if drawn >= total {
        return String::new();
    }
    format!(
        " Drawn: {drawn} of {total} operations — every failure and every operation started in a fault window, the others as the fastest and slowest of each time slice."
    )
}

fn version_section(out: &mut String, report: &RunReport, version: &str) {
    let of_version: Vec<Verdict> = report
        .checks
        .iter()
        .filter(|c| c.version.as_deref() == Some(version))
        .map(|c| c.verdict)
        .collect();
    let verdict = if of_version.is_empty() {
        String::new()
    } else {
        badge(Verdict::merge_all(of_version), false)
    };
    let _ = write!(
        out,
        r#"<section id="{}" class="version"><h2>Spark {}{verdict}</h2>
<figure><figcaption>Latency of each operation from its intended start (log scale): shaded, the faults affecting this version; dashed, where phases begin.{}</figcaption>{}</figure>
<figure><figcaption>Operations that succeeded per 10 s (bars) and the share that failed or ended unknown (line).</figcaption>{}</figure>
"#,
        anchor("spark", version),
        esc(version),
        thinned(report, version),
        chart::latency(report, version),
        chart::throughput(report, version)
    );

    out.push_str("<h3>Recovery</h3>");
    let recoveries: Vec<_> = report
        .recoveries
        .iter()
        .filter(|r| r.version == version)
        .collect();
    if recoveries.is_empty() {
        out.push_str(r#"<p class="muted">No fault to recover from.</p>"#);
    } else {
        open_table(
            out,
            &[
                "Fault",
                "Kind",
                "Healed at",
                ">First ok after",
                ">p99 back after",
                "Verdict",
            ],
        );
        for r in recoveries {
            let kind = report
                .faults
                .iter()
                .find(|f| f.id == r.fault_id)
                .map_or("", |f| f.kind.as_str());
            let _ = write!(
                out,
                r#"<tr class="{}"><td>{}</td><td>{}</td><td>{}</td><td class="num">{}</td><td class="num">{}</td><td>{}</td></tr>"#,
                r.verdict.as_str(),
                esc(&r.fault_id),
                esc(kind),
                since_start(report, r.heal_ms),
                seconds_or_never(r.first_ok_s),
                seconds_or_never(r.p99_back_s),
                badge(r.verdict, false)
            );
        }
        out.push_str("</tbody></table>");
    }

    out.push_str("<h3>Error classes</h3>");
    let errors: Vec<_> = report
        .error_classes
        .iter()
        .filter(|e| e.version == version)
        .collect();
    if errors.is_empty() {
        out.push_str(r#"<p class="muted">No operation failed.</p>"#);
    } else {
        open_table(out, &["Error class", ">Count", ">First", ">Last"]);
        for e in errors {
            let _ = write!(
                out,
                r#"<tr><td><code>{}</code></td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td></tr>"#,
                esc(&e.class),
                e.count,
                since_start(report, e.first_ms),
                since_start(report, e.last_ms)
            );
        }
        out.push_str("</tbody></table>");
    }

    out.push_str("<h3>Operations</h3>");
    let queries: Vec<_> = report
        .queries
        .iter()
        .filter(|q| q.version == version)
        .collect();
    if queries.is_empty() {
        out.push_str(r#"<p class="muted">No operation outside the warm-up.</p>"#);
    } else {
        out.push_str(r#"<p class="muted">Warm-up excluded. Latency in milliseconds from the intended start, over every outcome.</p>"#);
        open_table(
            out,
            &[
                "Operation",
                ">Ops",
                ">ok",
                ">fail",
                ">info",
                ">p50",
                ">p95",
                ">p99",
                ">max",
                ">correct",
                ">wrong",
                ">undetermined",
            ],
        );
        for q in queries {
            let class = if q.wrong > 0 {
                "invalid"
            } else if q.name == ALL_QUERIES {
                "total"
            } else {
                ""
            };
            let _ = write!(out, "<tr{}><td>{}</td>", row_class(class), esc(&q.name));
            for v in [q.count, q.ok, q.fail, q.info] {
                let _ = write!(out, r#"<td class="num">{v}</td>"#);
            }
            for v in [q.p50_ms, q.p95_ms, q.p99_ms, q.max_ms] {
                let _ = write!(out, r#"<td class="num">{}</td>"#, ms(v));
            }
            for v in [q.correct, q.wrong, q.undetermined] {
                let _ = write!(out, r#"<td class="num">{v}</td>"#);
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody></table>");
    }

    let wrong: Vec<_> = report
        .wrong_answers
        .iter()
        .filter(|w| w.version == version)
        .collect();
    if !wrong.is_empty() {
        out.push_str("<h3>Wrong answers</h3>");
        for w in wrong {
            let _ = write!(
                out,
                r#"<details open=""><summary><b>{}</b> · operation {}</summary><pre>{}</pre></details>"#,
                esc(&w.name),
                w.op,
                esc(&w.diff)
            );
        }
    }

    if let Some(w) = report.writes.iter().find(|w| w.version == version) {
        out.push_str("<h3>Writes</h3>");
        open_table(
            out,
            &[
                ">Acknowledged",
                ">Uncertain",
                ">Read back",
                ">Lost",
                ">Duplicated",
                "Read-back error",
            ],
        );
        let class = if w.lost_count > 0 || w.duplicated_count > 0 {
            "invalid"
        } else if w.error.is_some() {
            "unknown"
        } else {
            ""
        };
        let _ = write!(out, "<tr{}>", row_class(class));
        for v in [
            w.acknowledged,
            w.uncertain,
            w.read,
            w.lost_count,
            w.duplicated_count,
        ] {
            let _ = write!(out, r#"<td class="num">{v}</td>"#);
        }
        let _ = write!(
            out,
            "<td>{}</td></tr></tbody></table>",
            esc(w.error.as_deref().unwrap_or(""))
        );
    }
    out.push_str("</section>\n");
}

fn phases_and_faults(out: &mut String, report: &RunReport) {
    out.push_str(r#"<section id="faults"><h2>Phases and faults</h2><h3>Phases</h3>"#);
    if report.phases.is_empty() {
        out.push_str(r#"<p class="muted">No phase recorded.</p>"#);
    } else {
        open_table(out, &["Phase", ">Start", ">End", ">Lasted"]);
        for p in &report.phases {
            let _ = write!(
                out,
                r#"<tr><td>{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td></tr>"#,
                esc(&p.name),
                since_start(report, p.start_ms),
                since_start(report, p.end_ms),
                span(p.end_ms.saturating_sub(p.start_ms))
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("<h3>Faults</h3>");
    if report.faults.is_empty() {
        out.push_str(r#"<p class="muted">No fault was injected.</p>"#);
    } else {
        open_table(
            out,
            &[
                "Fault",
                "Kind",
                "Target",
                "Spark",
                ">Injected",
                ">Healed",
                ">Lasted",
                "Parameters",
                "Detail",
                "Healed by",
            ],
        );
        for f in &report.faults {
            let (healed, lasted) = match f.healed_ms {
                Some(h) => (when(report, h), span(h.saturating_sub(f.injected_ms))),
                None => ("never".to_string(), String::new()),
            };
            let params: Vec<String> = f.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let _ = write!(
                out,
                r#"<tr{}><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td class="num">{}</td><td class="num">{healed}</td><td class="num">{lasted}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>"#,
                row_class(if f.healed_ms.is_none() { "invalid" } else { "" }),
                esc(&f.id),
                esc(&f.kind),
                esc(&f.target),
                esc(&f.versions.join(", ")),
                when(report, f.injected_ms),
                esc(&params.join(" ")),
                esc(&f.detail),
                esc(f.healed_by.as_deref().unwrap_or(""))
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</section>\n");
}

fn components(out: &mut String, report: &RunReport) {
    out.push_str(r#"<section id="components"><h2>Components</h2>"#);
    if report.components.is_empty() {
        out.push_str(r#"<p class="muted">No component recorded.</p>"#);
    } else {
        open_table(out, &["Component", "Spark", ">Restarts", "Last exit"]);
        for c in &report.components {
            let _ = write!(
                out,
                r#"<tr{}><td><code>{}</code></td><td>{}</td><td class="num">{}</td><td>{}</td></tr>"#,
                row_class(if c.restarts > 0 { "unknown" } else { "" }),
                esc(&c.id),
                esc(c.version.as_deref().unwrap_or("shared")),
                c.restarts,
                esc(c.last_exit.as_deref().unwrap_or(""))
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</section>\n");
}

/// Opens a table with its header row and body; a heading starting with `>` is a right-aligned
/// (numeric) column.
fn open_table(out: &mut String, headings: &[&str]) {
    out.push_str("<table><thead><tr>");
    for h in headings {
        match h.strip_prefix('>') {
            Some(h) => {
                let _ = write!(out, r#"<th class="num">{}</th>"#, esc(h));
            }
            None => {
                let _ = write!(out, "<th>{}</th>", esc(h));
            }
        }
    }
    out.push_str("</tr></thead><tbody>");
}

/// A row's class attribute (` class="invalid"`), or nothing for an empty class.
fn row_class(class: &str) -> String {
    if class.is_empty() {
        String::new()
    } else {
        format!(r#" class="{class}""#)
    }
}

/// A verdict badge; `big` for the overall verdict.
fn badge(v: Verdict, big: bool) -> String {
    format!(
        r#"<span class="badge{} {}">{}</span>"#,
        if big { " big" } else { "" },
        v.as_str(),
        verdict_word(v)
    )
}

/// A time as seconds since start with the UTC clock time below it.
fn when(report: &RunReport, ms: u64) -> String {
    let clock = utc(ms);
    format!(
        r#"{}<br/><span class="muted">{}</span>"#,
        since_start(report, ms),
        clock.get(11..).unwrap_or(&clock)
    )
}

/// Milliseconds with a precision that suits their size: `3.4`, `812`, `30012`.
fn ms(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

/// An HTML id from free text: `spark-3-5-7`.
fn anchor(prefix: &str, text: &str) -> String {
    let slug: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("{prefix}-{slug}")
}
