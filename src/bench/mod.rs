//! `chaos bench` and `kind = "bench"` scenarios: TPC-DS timed on 3.5.7 and 4.1.0 with
//! statistics a person can trust on a noisy machine.
//!
//! - [`stats`] (pure): medians and ratios with bootstrap intervals, verdicts past a threshold,
//!   the geometric mean, the coefficient of variation.
//! - [`model`] (pure data): samples, Spark's metrics, the bench report.
//! - [`analyse`] (pure): samples → per-query statistics, throughput, baseline comparison,
//!   checks.
//! - [`metrics`]: Spark's own metrics of an operation from a Spark REST API, by job tag.
//! - [`runner`]: the power and throughput runs against a live environment.
pub mod analyse;
pub mod metrics;
pub mod model;
pub mod runner;
pub mod stats;

use std::path::Path;

use model::BenchReport;

/// Reads a baseline bench: a run directory (its `bench.json`, else its `report.json`), a
/// `bench.json`, or a run's `report.json` (its bench section). The error names the file.
pub fn read_baseline(path: &Path) -> Result<BenchReport, String> {
    let file = if path.is_dir() {
        let bench = path.join("bench.json");
        if bench.exists() {
            bench
        } else {
            path.join("report.json")
        }
    } else {
        path.to_path_buf()
    };
    let text = std::fs::read_to_string(&file)
        .map_err(|e| format!("{}: cannot read the baseline: {e}", file.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", file.display()))?;
    let bench = match value.get("sections").and_then(|s| s.as_array()) {
        Some(sections) => sections
            .iter()
            .find(|s| s.get("kind").and_then(|k| k.as_str()) == Some("bench"))
            .cloned()
            .ok_or_else(|| format!("{}: a report without a bench section", file.display()))?,
        None => value,
    };
    serde_json::from_value(bench)
        .map_err(|e| format!("{}: not a bench report: {e}", file.display()))
}
