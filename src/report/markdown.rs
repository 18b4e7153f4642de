//! `summary.md`: the run in a few tables, for CI step summaries and pull-request comments
//! (GitHub-flavoured Markdown, no emoji: verdicts are words, `INVALID` in bold).

use std::fmt::Write as _;

use super::model::ALL_QUERIES;
use super::{
    seconds_or_never, since_start, span, utc, verdict_word, Matrix, RunReport, RunStatus, Section,
};
use crate::check::model::{CheckResult, Verdict};

/// The summary.
pub fn render(report: &RunReport) -> String {
    let mut out = String::new();
    let sc = &report.scenario;
    let _ = writeln!(
        out,
        "## Chaos run {}: {}\n",
        cell(&sc.name),
        verdict_marker(report.verdict)
    );
    if !sc.description.is_empty() {
        let _ = writeln!(out, "{}\n", cell(&sc.description));
    }
    let _ = writeln!(
        out,
        "Spark {} · {} · lasted {} · started {} · `{}`\n",
        cell(&report.versions().join(", ")),
        report.status.as_str(),
        span(report.duration_ms()),
        utc(report.started_ms),
        sc.file.replace('`', "'")
    );
    match &report.status {
        RunStatus::Completed => {}
        RunStatus::Interrupted => out.push_str(
            "> **Interrupted**: the verdicts cover only what ran; checks that needed the rest are unknown.\n\n",
        ),
        RunStatus::Failed { error } => {
            let _ = writeln!(out, "> **The run failed**: {}\n", cell(error));
        }
    }

    for warning in super::unsteady(report) {
        let _ = writeln!(out, "> **Steady state did not hold**: {}\n", cell(&warning));
    }
    verdicts(&mut out, report);
    faults(&mut out, report);
    recoveries(&mut out, report);
    queries(&mut out, report);

    if !report.notes.is_empty() {
        out.push_str("### Findings\n\n");
        for note in &report.notes {
            let _ = writeln!(out, "- {}", cell(note));
        }
        out.push('\n');
    }
    for s in &report.sections {
        let markdown = match s {
            Section::Compat(r) => super::compat::render_markdown(r),
            Section::Upgrade(u) => super::upgrade::render_markdown(u),
            Section::Bench(b) => super::bench::render_markdown(b),
            Section::Legacy(l) => l.markdown.clone(),
        };
        let _ = writeln!(out, "### {}\n\n{}\n", cell(&s.title()), markdown.trim_end());
    }
    let _ = writeln!(
        out,
        "Full report: `{}`",
        std::path::Path::new(&report.report_dir)
            .join("report.html")
            .display()
            .to_string()
            .replace('`', "'")
    );
    out
}

fn verdicts(out: &mut String, report: &RunReport) {
    out.push_str("### Verdicts\n\n");
    if report.checks.is_empty() {
        out.push_str("No check ran.\n\n");
        return;
    }
    let matrix = Matrix::of(report);
    let headings: Vec<&str> = matrix.columns.iter().map(Matrix::heading).collect();
    table_head(
        out,
        &[&["check"], headings.as_slice(), &["expected"]].concat(),
    );
    for (check, results) in &matrix.rows {
        let _ = write!(out, "| `{}` |", check.replace('`', "'"));
        for r in results {
            let _ = write!(out, " {} |", r.map_or_else(|| "–".to_string(), result_cell));
        }
        let expected = results
            .iter()
            .flatten()
            .next()
            .map_or("", |r| r.expected.as_str());
        let _ = writeln!(out, " {} |", cell(expected));
    }
    let explained: Vec<&CheckResult> = report
        .checks
        .iter()
        .filter(|c| c.verdict != Verdict::Valid)
        .collect();
    if !explained.is_empty() {
        out.push('\n');
        for c in explained {
            let _ = writeln!(
                out,
                "- `{}` on {} is {}: {}",
                c.check.replace('`', "'"),
                cell(c.version.as_deref().unwrap_or("the run")),
                verdict_marker(c.verdict),
                cell(&c.reason)
            );
        }
    }
    out.push('\n');
}

fn faults(out: &mut String, report: &RunReport) {
    if report.faults.is_empty() {
        return;
    }
    out.push_str("### Faults\n\n");
    table_head(
        out,
        &[
            "fault", "kind", "target", "Spark", "injected", "healed", "lasted", "detail",
        ],
    );
    for f in &report.faults {
        let (healed, lasted) = match f.healed_ms {
            Some(h) => (
                since_start(report, h),
                span(h.saturating_sub(f.injected_ms)),
            ),
            None => ("**never**".to_string(), "–".to_string()),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {healed} | {lasted} | {} |",
            cell(&f.id),
            cell(&f.kind),
            cell(&f.target),
            cell(&f.versions.join(", ")),
            since_start(report, f.injected_ms),
            cell(&f.detail)
        );
    }
    out.push('\n');
}

fn recoveries(out: &mut String, report: &RunReport) {
    if report.recoveries.is_empty() {
        return;
    }
    out.push_str("### Recovery\n\n");
    table_head(
        out,
        &[
            "fault",
            "Spark",
            "healed",
            "first ok after",
            "p99 back after",
            "verdict",
        ],
    );
    for r in &report.recoveries {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            cell(&r.fault_id),
            cell(&r.version),
            since_start(report, r.heal_ms),
            seconds_or_never(r.first_ok_s),
            seconds_or_never(r.p99_back_s),
            verdict_marker(r.verdict)
        );
    }
    out.push('\n');
}

/// One row per version, from its `all queries` total.
fn queries(out: &mut String, report: &RunReport) {
    let totals: Vec<_> = report
        .queries
        .iter()
        .filter(|q| q.name == ALL_QUERIES)
        .collect();
    if totals.is_empty() {
        return;
    }
    out.push_str("### Queries\n\nWarm-up excluded; latency from the intended start.\n\n");
    table_head(out, &["Spark", "ops", "ok %", "p50 ms", "p99 ms", "wrong"]);
    for q in totals {
        let ok = if q.count == 0 {
            "–".to_string()
        } else {
            format!("{:.1}", q.ok as f64 * 100.0 / q.count as f64)
        };
        let wrong = if q.wrong > 0 {
            format!("**{}**", q.wrong)
        } else {
            "0".to_string()
        };
        let _ = writeln!(
            out,
            "| {} | {} | {ok} | {:.0} | {:.0} | {wrong} |",
            cell(&q.version),
            q.count,
            q.p50_ms,
            q.p99_ms
        );
    }
    out.push('\n');
}

fn table_head(out: &mut String, headings: &[&str]) {
    let _ = writeln!(out, "| {} |", headings.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(headings.len()));
}

/// `valid`, `unknown` or `**INVALID**`.
fn verdict_marker(v: Verdict) -> String {
    match v {
        Verdict::Invalid => format!("**{}**", verdict_word(v)),
        _ => verdict_word(v).to_string(),
    }
}

/// A check's cell: its verdict and what was observed.
fn result_cell(r: &CheckResult) -> String {
    if r.observed.is_empty() {
        verdict_marker(r.verdict)
    } else {
        format!("{} {}", verdict_marker(r.verdict), cell(&r.observed))
    }
}

/// Text made safe for one table cell or one line: no line break, no column separator, no HTML,
/// no Markdown emphasis or code spans.
fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' | '*' | '_' | '`' | '[' | ']' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn cells_cannot_break_tables_or_inject_html() {
        assert_eq!(
            super::cell("a|b\n<script>*x*_y_ `z`"),
            r"a\|b &lt;script&gt;\*x\*\_y\_ \`z\`"
        );
    }
}
