//! The upgrade section of the reports: a sentence, a timeline of the operations on both
//! versions and a table with one row per switch (pure).

use std::fmt::Write as _;

use crate::check::upgrade::{Switch, SwitchMeasure, UpgradeSummary};
use crate::scenario::model::UpgradeStyle;
use crate::text::xml_escape;
use crate::workload::history::OpOutcome;

/// `blue-green` or `in-place`.
pub fn style_name(style: UpgradeStyle) -> &'static str {
    match style {
        UpgradeStyle::BlueGreen => "blue-green",
        UpgradeStyle::InPlace => "in-place",
    }
}

fn opt_s(v: Option<f64>) -> String {
    v.map_or("—".to_string(), |s| format!("{s:.1}s"))
}

fn writes_cell(m: &SwitchMeasure, s: &Switch) -> String {
    match (&s.read_back, m.writes_verified) {
        (Some(r), _) if r.error.is_some() => format!(
            "read-back failed: {}",
            r.error.as_deref().unwrap_or_default()
        ),
        (Some(r), Some(v)) if r.missing_count > 0 => {
            format!("{v} verified, {} missing {:?}", r.missing_count, r.missing)
        }
        (Some(_), Some(v)) => format!("{v} verified"),
        _ => "not checked".to_string(),
    }
}

/// The rows of the switch table: (header, cell per switch).
fn table_rows(u: &UpgradeSummary) -> Vec<Vec<String>> {
    u.switches
        .iter()
        .zip(&u.measures)
        .map(|(s, m)| {
            vec![
                format!("{} {} → {}", s.label, s.from, s.to),
                format!(
                    "+{:.1}s",
                    s.at_ms.saturating_sub(u.workload_start_ms) as f64 / 1e3
                ),
                format!("≤ {} (≥ {:.1}s)", opt_s(m.unavailable_s), m.failing_s),
                opt_s(m.first_answer_s),
                opt_s(m.answered_s),
                format!("{} / {}", m.failed, m.unknown),
                m.sessions_lost.to_string(),
                format!("{} ops, {}", m.streak_ops, opt_s(m.streak_s)),
                writes_cell(m, s),
                format!("{} of {}", m.wrong_answers, m.judged),
            ]
        })
        .collect()
}

const HEADERS: [&str; 10] = [
    "switch",
    "at",
    "unavailable",
    "first answer",
    "edge answered",
    "failed / unknown (60 s)",
    "sessions lost",
    "non-ok streak",
    "writes acknowledged before",
    "wrong answers after",
];

fn summary_sentence(u: &UpgradeSummary) -> String {
    format!(
        "{} upgrade from Spark {} to {} under load, through the cut-over endpoint(s) {}; writes to {}.",
        style_name(u.style),
        u.from,
        u.to,
        u.endpoints.join(", "),
        match (&u.table, &u.location) {
            (Some(t), Some(l)) => format!("{t} at {l}, shared by both metastores"),
            _ => "none".to_string(),
        }
    )
}

/// The section as HTML (every text escaped).
pub fn render_html(u: &UpgradeSummary) -> String {
    let e = xml_escape;
    let mut h = String::new();
    let _ = writeln!(h, "<p>{}</p>", e(&summary_sentence(u)));
    h.push_str(&timeline_svg(u));
    h.push_str("<table><thead><tr>");
    for head in HEADERS {
        let _ = write!(h, "<th>{}</th>", e(head));
    }
    h.push_str("</tr></thead><tbody>\n");
    for row in table_rows(u) {
        h.push_str("<tr>");
        for cell in row {
            let _ = write!(h, "<td>{}</td>", e(&cell));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody></table>\n");
    for s in &u.switches {
        let _ = write!(h, "<p><b>{}</b>: {}", e(&s.label), e(&s.steps.join("; ")));
        if let Some(err) = &s.error {
            let _ = write!(h, " — <b>did not complete</b>: {}", e(err));
        }
        h.push_str("</p>\n");
    }
    let _ = writeln!(h, "<p class=\"muted\">{}</p>", e(MEASURE_NOTE));
    h
}

const MEASURE_NOTE: &str = "Unavailable: from the switch to the start of the first successful \
    operation on the new version (an upper bound: it includes the wait for the next arrival); the \
    lower bound in brackets is the start of the last operation that did not succeed before it. \
    First answer: the end of the first successful operation on the new version. Edge answered: \
    the runner's own session through the cut-over endpoint. Sessions lost: failed or unknown \
    operations the server answered with an unknown session or operation (INVALID_HANDLE). Spark \
    sessions never move between versions: the new side starts every client session afresh.";

/// The section as Markdown.
pub fn render_markdown(u: &UpgradeSummary) -> String {
    let cell = |s: &str| s.replace('|', "\\|");
    let mut m = String::new();
    let _ = writeln!(m, "{}\n", summary_sentence(u));
    let _ = writeln!(m, "| {} |", HEADERS.join(" | "));
    let _ = writeln!(m, "|{}", "---|".repeat(HEADERS.len()));
    for row in table_rows(u) {
        let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
        let _ = writeln!(m, "| {} |", cells.join(" | "));
    }
    m.push('\n');
    for s in &u.switches {
        let _ = write!(m, "- **{}**: {}", s.label, cell(&s.steps.join("; ")));
        if let Some(err) = &s.error {
            let _ = write!(m, " — **did not complete**: {}", cell(err));
        }
        m.push('\n');
    }
    let _ = writeln!(m, "\n{MEASURE_NOTE}");
    m
}

/// A timeline: one lane per version with each operation at its start (green ok, red fail,
/// orange info), each switch as a line with its unavailability shaded.
fn timeline_svg(u: &UpgradeSummary) -> String {
    const W: f64 = 760.0;
    const LEFT: f64 = 60.0;
    const RIGHT: f64 = 20.0;
    const LANE: f64 = 34.0;
    const TOP: f64 = 18.0;
    let start = u.workload_start_ms as f64;
    let end = u
        .last_end_ms
        .unwrap_or(u.workload_end_ms)
        .max(u.workload_end_ms) as f64;
    let x = |ms: f64| LEFT + (ms - start).max(0.0) / (end - start).max(1.0) * (W - LEFT - RIGHT);
    let lanes = [u.from.as_str(), u.to.as_str()];
    let height = TOP + LANE * lanes.len() as f64 + 24.0;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{height}\" viewBox=\"0 0 {W} {height}\" role=\"img\" aria-label=\"upgrade timeline\">"
    );
    for m in &u.measures {
        let from = x(m.at_ms as f64);
        let to = m
            .unavailable_s
            .map_or(x(end), |sec| x(m.at_ms as f64 + sec * 1e3));
        let _ = write!(
            s,
            "<rect x=\"{from:.1}\" y=\"{TOP}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#c62828\" fill-opacity=\"0.15\"/>\
             <line x1=\"{from:.1}\" x2=\"{from:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#555\" stroke-dasharray=\"4 3\"/>\
             <text x=\"{:.1}\" y=\"12\" font-size=\"11\">{} → {}</text>",
            (to - from).max(1.0),
            LANE * lanes.len() as f64,
            TOP - 4.0,
            TOP + LANE * lanes.len() as f64,
            from + 3.0,
            xml_escape(&m.label),
            xml_escape(&m.to)
        );
    }
    for (i, lane) in lanes.iter().enumerate() {
        let y = TOP + LANE * i as f64 + LANE / 2.0;
        let _ = write!(
            s,
            "<text x=\"4\" y=\"{:.1}\" font-size=\"11\">{}</text>",
            y + 4.0,
            xml_escape(lane)
        );
        for r in u.ops.iter().filter(|r| r.version == *lane) {
            let colour = match r.outcome {
                OpOutcome::Ok => "#2e7d32",
                OpOutcome::Fail => "#c62828",
                OpOutcome::Info => "#ef6c00",
            };
            let _ = write!(
                s,
                "<circle cx=\"{:.1}\" cy=\"{y:.1}\" r=\"2.5\" fill=\"{colour}\"/>",
                x(r.start_ms as f64)
            );
        }
    }
    let axis_y = TOP + LANE * lanes.len() as f64 + 16.0;
    let _ = writeln!(
        s,
        "<text x=\"{LEFT}\" y=\"{axis_y:.1}\" font-size=\"11\">0 s</text>\
         <text x=\"{:.1}\" y=\"{axis_y:.1}\" font-size=\"11\" text-anchor=\"end\">{:.0} s</text></svg>",
        W - RIGHT,
        (end - start) / 1e3
    );
    s
}

/// The section's title: `Upgrade: Spark 3.5.7 → 4.1.0 (blue-green)`.
pub fn title(u: &UpgradeSummary) -> String {
    format!(
        "Upgrade: Spark {} → {} ({})",
        u.from,
        u.to,
        style_name(u.style)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::upgrade::tests::{cutover_history, switch_at, NEW, T};
    use crate::check::upgrade::{measure, timeline_ops};
    use crate::report::Section;

    #[test]
    fn the_section_escapes_and_carries_every_switch() {
        let h = cutover_history();
        let mut sw = switch_at("cut-over", T, NEW);
        sw.steps = vec!["edges routed to <4.1.0>".into()];
        sw.error = Some("a & b".into());
        let switches = vec![sw];
        let measures = measure(&h, &switches, T / 1000 + 60_000);
        let u = UpgradeSummary {
            style: UpgradeStyle::BlueGreen,
            from: "3.5.7".into(),
            to: "4.1.0".into(),
            endpoints: vec!["sc://127.0.0.1:1".into()],
            table: Some("default.t".into()),
            location: Some("s3a://chaos/upgrade/x/writes".into()),
            workload_start_ms: T / 1000 - 60_000,
            workload_end_ms: T / 1000 + 60_000,
            switches,
            measures,
            ops: timeline_ops(&h).0,
            last_end_ms: timeline_ops(&h).1,
        };
        let (html, markdown) = (render_html(&u), render_markdown(&u));
        assert_eq!(title(&u), "Upgrade: Spark 3.5.7 → 4.1.0 (blue-green)");
        assert!(html.contains("&lt;4.1.0&gt;") && html.contains("a &amp; b"));
        assert!(!html.contains("<4.1.0>"));
        assert!(html.contains("<svg") && html.contains("<circle"));
        assert_eq!(
            html.matches("<circle").count(),
            6,
            "one per query and write"
        );
        assert!(
            markdown
                .contains("| cut-over 3.5.7 → 4.1.0 | +60.0s | ≤ 2.0s (≥ 0.8s) | 2.7s | 0.4s |"),
            "{markdown}"
        );
        let section = Section::Upgrade(Box::new(u));
        assert_eq!(section.id(), "upgrade");
        let json = serde_json::to_value(&section).unwrap();
        assert_eq!(json["kind"], "upgrade");
        assert_eq!(json["switches"][0]["label"], "cut-over");
        assert_eq!(json["measures"][0]["unavailable_s"], 2.0);
        assert_eq!(json["ops"].as_array().map(Vec::len), Some(6));
    }
}
