//! `report.json`: the [`RunReport`] itself, pretty-printed (layout in [`super::model`]).

use super::RunReport;

/// The report as pretty JSON, ending with a newline.
pub fn render(report: &RunReport) -> String {
    // Strings, numbers, maps with string keys and JSON values only: serialising cannot fail
    // (non-finite floats become `null`).
    let mut out = serde_json::to_string_pretty(report).expect("a RunReport always serialises");
    out.push('\n');
    out
}
