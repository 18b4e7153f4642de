//! The reports of a chaos run: pure renderers from a [`RunReport`] and the one function that
//! writes them.
//!
//! A run's directory (`reports/<scenario>-<UTC time>/`, see [`report_dir_name`]) gets:
//!
//! | file | renderer | for |
//! |---|---|---|
//! | `report.html` | [`html::render`] | people: one self-contained page (inline CSS and SVG, no script, no external resource) |
//! | `summary.md` | [`markdown::render`] | CI step summaries and pull-request comments |
//! | `report.json` | [`json::render`] | machines: [`RunReport`] itself (schema in [`model`]) |
//! | `junit.xml` | [`junit::render`] | CI test reports: one test case per check and version |
//!
//! and the terminal gets [`terminal::render`]. Every text that comes from the run is escaped
//! for its format; a [`LegacySection`]'s HTML (from a schema 1 report) is the one fragment
//! inserted as is. The [`Section`]s of compat and upgrade runs are rendered by [`compat`] and
//! [`upgrade`].

pub mod bench;
mod chart;
pub mod compat;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod model;
mod svg;
pub mod terminal;
pub mod upgrade;

#[cfg(test)]
mod fixture;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

pub use model::{
    query_rows_from, throughput_from, timeline_from, wrong_answers_from, ComponentRow,
    ErrorClassRow, LegacySection, PhaseSpan, QueryRow, RecoveryRow, RunReport, RunStatus,
    ScenarioInfo, Section, ThroughputRow, TimelinePoint, WorkloadSpan, WriteRow, WrongAnswer,
    ALL_QUERIES, REPORT_SCHEMA, TIMELINE_POINTS,
};

use crate::check::model::{CheckResult, Verdict};

/// A report file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// `report.html`.
    Html,
    /// `summary.md`.
    Markdown,
    /// `report.json`.
    Json,
    /// `junit.xml`.
    Junit,
}

impl Format {
    /// Every format, in the order they are written.
    pub const ALL: [Format; 4] = [Format::Html, Format::Markdown, Format::Json, Format::Junit];

    /// The file the format is written to in the run's directory.
    pub fn file_name(self) -> &'static str {
        match self {
            Format::Html => "report.html",
            Format::Markdown => "summary.md",
            Format::Json => "report.json",
            Format::Junit => "junit.xml",
        }
    }

    /// Renders the report in this format.
    pub fn render(self, report: &RunReport) -> String {
        match self {
            Format::Html => html::render(report),
            Format::Markdown => markdown::render(report),
            Format::Json => json::render(report),
            Format::Junit => junit::render(report),
        }
    }
}

impl Format {
    /// Writes the report in this format into `w`: HTML and JSON as they are produced, the
    /// others (small, bounded by the numbers of checks and queries) rendered first.
    pub fn write(self, report: &RunReport, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        match self {
            Format::Html => html::write(report, w),
            Format::Json => json::write(report, w),
            Format::Markdown | Format::Junit => w.write_all(self.render(report).as_bytes()),
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;

    /// `html`, `md` (or `markdown`), `json`, `junit`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "html" => Ok(Format::Html),
            "md" | "markdown" => Ok(Format::Markdown),
            "json" => Ok(Format::Json),
            "junit" => Ok(Format::Junit),
            _ => Err(format!(
                "unknown report format `{s}` (accepted: html, md, json, junit)"
            )),
        }
    }
}

/// Writes the report in each format into `dir` (created if missing), each file streamed
/// ([`Format::write`]) into a temporary file renamed into place, and returns the paths
/// written, in `formats`' order.
pub fn write_all(
    report: &RunReport,
    dir: &Path,
    formats: &[Format],
) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    formats
        .iter()
        .map(|format| {
            let path = dir.join(format.file_name());
            let staging = dir.join(format!(".{}.tmp", format.file_name()));
            let mut w =
                std::io::BufWriter::with_capacity(256 * 1024, std::fs::File::create(&staging)?);
            format.write(report, &mut w)?;
            std::io::Write::flush(&mut w)?;
            drop(w);
            std::fs::rename(&staging, &path)?;
            Ok(path)
        })
        .collect()
}

/// The directory name of a run: `<scenario>-<UTC start, YYYYMMDDTHHMMSSZ>`, e.g.
/// `s3-outage-20261121T031500Z`.
pub fn report_dir_name(scenario: &str, started_ms: u64) -> String {
    let stamp: String = utc(started_ms)
        .chars()
        .filter(|c| *c != '-' && *c != ':')
        .collect();
    format!("{scenario}-{stamp}")
}

/// Escapes text for HTML and XML, first dropping the characters XML 1.0 forbids (control
/// characters such as the ESC of colour codes in a server's message).
pub(crate) fn esc(s: &str) -> String {
    let allowed: String = s
        .chars()
        .filter(|&c| {
            matches!(c, '\t' | '\n' | '\r')
                || (c >= ' ' && c != '\u{7f}' && c != '\u{fffe}' && c != '\u{ffff}')
        })
        .collect();
    crate::text::xml_escape(&allowed)
}

/// Unix milliseconds as UTC, to the second: `2026-11-21T03:15:00Z`.
pub(crate) fn utc(ms: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}

/// A Unix time relative to the run's start: `+105.0 s`.
pub(crate) fn since_start(report: &RunReport, ms: u64) -> String {
    let delta = ms as f64 - report.started_ms as f64;
    format!(
        "{}{:.1} s",
        if delta < 0.0 { "" } else { "+" },
        delta / 1000.0
    )
}

/// A span of milliseconds to the second, the way people write it: `4m 40s`.
pub(crate) fn span(ms: u64) -> String {
    humantime::format_duration(Duration::from_secs((ms + 500) / 1000)).to_string()
}

/// Seconds with one decimal (`72.8 s`), or `never`.
pub(crate) fn seconds_or_never(s: Option<f64>) -> String {
    s.map_or_else(|| "never".to_string(), |s| format!("{s:.1} s"))
}

/// Per version whose steady state measurably did not hold before its faults: the sentence
/// shown at the top of every human report (the fault checks of that version are unknown).
pub(crate) fn unsteady(report: &RunReport) -> Vec<String> {
    report
        .checks
        .iter()
        .filter(|c| crate::check::steady::broken(c))
        .map(|c| {
            let v = c.version.as_deref().unwrap_or("?");
            let why = c
                .reason
                .strip_prefix("the steady state did not hold before the fault: ")
                .unwrap_or(&c.reason);
            format!(
                "Spark {v} was not in a steady state before the fault ({why}), so its fault checks are unknown: lower the load or lengthen the warm-up."
            )
        })
        .collect()
}

/// The verdict as shown in tables: `valid`, `unknown`, `INVALID`.
pub(crate) fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Valid => "valid",
        Verdict::Unknown => "unknown",
        Verdict::Invalid => "INVALID",
    }
}

impl RunReport {
    /// The versions the report covers: the scenario's, then any other a check or the timeline
    /// names, in order of appearance.
    pub fn versions(&self) -> Vec<String> {
        let mut versions = self.scenario.versions.clone();
        let others = self
            .checks
            .iter()
            .filter_map(|c| c.version.as_ref())
            .chain(self.timeline.iter().map(|p| &p.version));
        for v in others {
            if !versions.contains(v) {
                versions.push(v.clone());
            }
        }
        versions
    }

    /// Milliseconds from start to end (0 if the clock went backwards).
    pub fn duration_ms(&self) -> u64 {
        self.ended_ms.saturating_sub(self.started_ms)
    }
}

/// The checks as a matrix: check names in order of first appearance × one column per version,
/// plus a last `None` column for run-wide checks when there are any.
pub(crate) struct Matrix<'a> {
    /// The columns: a version, or None for run-wide checks.
    pub columns: Vec<Option<String>>,
    /// Per check name, its result in each column.
    pub rows: Vec<(&'a str, Vec<Option<&'a CheckResult>>)>,
}

impl<'a> Matrix<'a> {
    /// Builds the matrix of a report's checks.
    pub fn of(report: &'a RunReport) -> Matrix<'a> {
        let mut columns: Vec<Option<String>> = report.versions().into_iter().map(Some).collect();
        if report.checks.iter().any(|c| c.version.is_none()) {
            columns.push(None);
        }
        let mut rows: Vec<(&str, Vec<Option<&CheckResult>>)> = Vec::new();
        for c in &report.checks {
            let i = match rows.iter().position(|(name, _)| *name == c.check) {
                Some(i) => i,
                None => {
                    rows.push((&c.check, vec![None; columns.len()]));
                    rows.len() - 1
                }
            };
            let column = columns.iter().position(|col| *col == c.version);
            if let Some(j) = column {
                rows[i].1[j] = Some(c);
            }
        }
        Matrix { columns, rows }
    }

    /// A column's heading: the version, or `run`.
    pub fn heading(column: &Option<String>) -> &str {
        column.as_deref().unwrap_or("run")
    }
}

/// The JSON Schema (draft 7) of `report.json`, pretty-printed (published as
/// `schemas/report.schema.json`). Optional fields may be `null`.
pub fn schema_json() -> String {
    schema_of::<RunReport>()
}

/// The JSON Schema of a bench's `bench.json` (`schemas/bench.schema.json`; the same data is
/// the bench section of `report.json`).
pub fn bench_schema_json() -> String {
    schema_of::<crate::bench::model::BenchReport>()
}

fn schema_of<T: schemars::JsonSchema>() -> String {
    let root = schemars::gen::SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<T>();
    let mut text = serde_json::to_string_pretty(&root).expect("a JSON Schema serialises");
    text.push('\n');
    text
}
