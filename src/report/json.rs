//! `report.json`: the [`RunReport`] itself, pretty-printed (layout in [`super::model`]).

use std::io;

use super::RunReport;

/// The report as pretty JSON, ending with a newline.
pub fn render(report: &RunReport) -> String {
    let mut out = Vec::new();
    write(report, &mut out).expect("writing into memory cannot fail");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// Writes [`render`]'s text into `w` as it is produced (the report is never one string).
pub fn write(report: &RunReport, w: &mut dyn io::Write) -> io::Result<()> {
    // Strings, numbers, maps with string keys and JSON values only: serialising cannot fail but
    // for `w` (non-finite floats become `null`).
    serde_json::to_writer_pretty(&mut *w, report)?;
    w.write_all(b"\n")
}
