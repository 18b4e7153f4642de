//! The summary printed at the end of `chaos run`: at most 25 lines — the overall verdict, a
//! check × version table of verdict words, why the non-valid ones are so, and where the HTML
//! report is.

use std::fmt::Write as _;

use super::{span, verdict_word, Matrix, RunReport, RunStatus};
use crate::check::model::Verdict;

/// Check rows shown before the rest are counted.
const MAX_CHECKS: usize = 14;
/// Reasons shown before the rest are counted.
const MAX_REASONS: usize = 5;
/// Characters of a reason shown.
const REASON_CHARS: usize = 110;

/// The summary; `color` adds ANSI colours (green valid, yellow unknown, bold red invalid).
pub fn render(report: &RunReport, color: bool) -> String {
    let paint = |v: Verdict, text: &str| -> String {
        if !color {
            return text.to_string();
        }
        let code = match v {
            Verdict::Valid => "32",
            Verdict::Unknown => "33",
            Verdict::Invalid => "1;31",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    };
    let mut out = String::new();
    let how = match &report.status {
        RunStatus::Completed => "completed in",
        RunStatus::Interrupted => "INTERRUPTED after",
        RunStatus::Failed { .. } => "FAILED after",
    };
    let _ = writeln!(
        out,
        "chaos run {}: {} ({how} {})",
        plain(&report.scenario.name),
        paint(report.verdict, verdict_word(report.verdict)),
        span(report.duration_ms())
    );
    if let RunStatus::Failed { error } = &report.status {
        let _ = writeln!(out, "  error: {}", clip(&plain(error)));
    }
    for warning in super::unsteady(report) {
        let _ = writeln!(
            out,
            "  {}: {}",
            paint(Verdict::Unknown, "steady state did not hold"),
            clip(&plain(&warning))
        );
    }

    let matrix = Matrix::of(report);
    if matrix.rows.is_empty() {
        out.push_str("  no check ran\n");
    } else {
        let name_width = matrix
            .rows
            .iter()
            .map(|(name, _)| name.chars().count())
            .chain(["check".len()])
            .max()
            .unwrap_or(0);
        let widths: Vec<usize> = matrix
            .columns
            .iter()
            .map(|c| Matrix::heading(c).chars().count().max("INVALID".len()))
            .collect();
        let mut header = format!("  {:<name_width$}", "check");
        for (c, w) in matrix.columns.iter().zip(&widths) {
            let _ = write!(header, "  {:<w$}", Matrix::heading(c));
        }
        let _ = writeln!(out, "{}", header.trim_end());
        for (name, results) in matrix.rows.iter().take(MAX_CHECKS) {
            let mut line = format!("  {:<name_width$}", plain(name));
            for (r, w) in results.iter().zip(&widths) {
                let cell = match r {
                    Some(r) => paint(r.verdict, &format!("{:<w$}", verdict_word(r.verdict))),
                    None => format!("{:<w$}", "-"),
                };
                let _ = write!(line, "  {cell}");
            }
            let _ = writeln!(out, "{}", line.trim_end());
        }
        if matrix.rows.len() > MAX_CHECKS {
            let _ = writeln!(
                out,
                "  … {} more checks in the report",
                matrix.rows.len() - MAX_CHECKS
            );
        }
    }

    let mut explained: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.verdict != Verdict::Valid)
        .collect();
    explained.sort_by_key(|c| std::cmp::Reverse(c.verdict));
    for c in explained.iter().take(MAX_REASONS) {
        let at = c
            .version
            .as_deref()
            .map(|v| format!("@{v}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {} {}{}: {}",
            paint(c.verdict, verdict_word(c.verdict)),
            plain(&c.check),
            plain(&at),
            clip(&plain(&c.reason))
        );
    }
    if explained.len() > MAX_REASONS {
        let _ = writeln!(
            out,
            "  … {} more in the report",
            explained.len() - MAX_REASONS
        );
    }
    let _ = writeln!(
        out,
        "report: {}",
        plain(
            &std::path::Path::new(&report.report_dir)
                .join("report.html")
                .display()
                .to_string()
        )
    );
    out
}

/// Text without control characters (a server's message could carry terminal escapes).
fn plain(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// At most [`REASON_CHARS`] characters, with `…` when cut.
fn clip(text: &str) -> String {
    if text.chars().count() <= REASON_CHARS {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(REASON_CHARS - 1).collect();
    cut.push('…');
    cut
}
