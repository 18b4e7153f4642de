//! The compatibility section of the reports: a compat run's findings as an HTML fragment and
//! as Markdown (pure).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::compat::model::{CompatReport, StatementReport};
use crate::compat::{Class, RpcRow};
use crate::text::xml_escape;

/// The section's title: `Compatibility: Spark 3.5.7 vs 4.1.0`.
pub fn title(r: &CompatReport) -> String {
    format!("Compatibility: Spark {} vs {}", r.baseline, r.target)
}

fn e(s: &str) -> String {
    xml_escape(s)
}

/// Statements grouped as the report shows them: unexplained, expected by rule label,
/// undetermined, identical.
struct Groups<'a> {
    unexplained: Vec<&'a StatementReport>,
    expected: BTreeMap<String, Vec<&'a StatementReport>>,
    undetermined: Vec<&'a StatementReport>,
    identical: Vec<&'a StatementReport>,
}

fn groups(r: &CompatReport) -> Groups<'_> {
    let mut g = Groups {
        unexplained: Vec::new(),
        expected: BTreeMap::new(),
        undetermined: Vec::new(),
        identical: Vec::new(),
    };
    for s in &r.statements {
        match &s.class {
            Class::Identical => g.identical.push(s),
            Class::Expected { rules } => g.expected.entry(rules.join(" + ")).or_default().push(s),
            Class::Unexplained => g.unexplained.push(s),
            Class::Undetermined { .. } => g.undetermined.push(s),
        }
    }
    g
}

fn tried(s: &StatementReport) -> String {
    if s.confirmations.is_empty() {
        return "none".into();
    }
    let labels: Vec<String> = s
        .confirmations
        .iter()
        .map(|c| c.rules.join(" + "))
        .collect();
    match s.confirmations.iter().find(|c| c.vanished()) {
        Some(c) => format!("{} (vanished under {})", labels.len(), c.rules.join(" + ")),
        None => format!(
            "{} re-runs, none made the difference vanish: {}",
            labels.len(),
            labels.join(", ")
        ),
    }
}

fn difference_text(s: &StatementReport) -> String {
    s.difference
        .as_ref()
        .map(|d| d.describe())
        .unwrap_or_default()
}

/// The summary sentence of both formats: `code` and `bold` are the markup's opening and
/// closing tags, `esc` escapes text, `expected_note` follows the expected count.
fn summary_sentence(
    r: &CompatReport,
    esc: fn(&str) -> String,
    (c0, c1): (&str, &str),
    (b0, b1): (&str, &str),
    expected_note: &str,
) -> String {
    let s = &r.summary;
    format!(
        "Run {c0}{}{c1} started {}, took {:.0}s. {} statements: {b0}{} identical{b1}, \
         {b0}{} expected{b1}{expected_note}, {b0}{} unexplained{b1}, {} undetermined; plans \
         differ for {}.",
        esc(&r.run_id),
        esc(&r.started_at),
        r.took_secs,
        s.statements,
        s.identical,
        s.expected,
        s.unexplained,
        s.undetermined,
        s.plan_differences
    )
}

/// A count, `?` when unknown.
fn count(n: Option<usize>) -> String {
    n.map(|n| n.to_string()).unwrap_or_else(|| "?".into())
}

/// One version's cell of a client matrix row.
fn rpc_cell(row: &RpcRow, version: &str) -> String {
    row.results
        .get(version)
        .map(|x| format!("{}: {}", if x.ok { "ok" } else { "FAILED" }, x.detail))
        .unwrap_or_default()
}

/// Writes `start`, then each item between `before` and `after`, then `end`.
fn line<T: std::fmt::Display>(
    out: &mut String,
    start: &str,
    items: impl IntoIterator<Item = T>,
    before: &str,
    after: &str,
    end: &str,
) {
    out.push_str(start);
    for x in items {
        let _ = write!(out, "{before}{x}{after}");
    }
    out.push_str(end);
}

/// Opens an HTML table of `class` with its header row.
fn html_head(h: &mut String, class: &str, headers: &[&str]) {
    let start = format!("<table class=\"{class}\"><tr>");
    line(h, &start, headers, "<th>", "</th>", "</tr>\n");
}

/// One HTML table row of cells already in HTML.
fn html_row(h: &mut String, cells: &[String]) {
    line(h, "<tr>", cells, "<td>", "</td>", "</tr>\n");
}

/// A statement's id and title, as an HTML cell.
fn html_statement(st: &StatementReport) -> String {
    format!("<code>{}</code> <small>{}</small>", e(&st.id), e(&st.title))
}

/// The report as an HTML fragment (no `<html>`): summary, statements grouped unexplained /
/// expected by rule / undetermined / identical, the rule table, and the other parts.
pub fn render_html(r: &CompatReport) -> String {
    let mut h = String::new();
    let g = groups(r);
    let s = &r.summary;
    let _ = writeln!(
        h,
        "<section class=\"compat\">\n<h2>Compatibility: Spark {} → {}</h2>",
        e(&r.baseline),
        e(&r.target)
    );
    let _ = writeln!(
        h,
        "<p>{}</p>",
        summary_sentence(
            r,
            e,
            ("<code>", "</code>"),
            ("<b>", "</b>"),
            " (a legacy setting makes the difference vanish)"
        )
    );

    let _ = writeln!(h, "<h3>Unexplained ({})</h3>", g.unexplained.len());
    if g.unexplained.is_empty() {
        h.push_str("<p>None.</p>\n");
    } else {
        html_head(
            &mut h,
            "unexplained",
            &["statement", "3.5.7", "4.1.0", "difference", "rules tried"],
        );
        for st in &g.unexplained {
            html_row(
                &mut h,
                &[
                    format!(
                        "{}<br><code>{}</code>",
                        html_statement(st),
                        e(&clip(&st.sql, 200))
                    ),
                    e(&st.baseline.brief()),
                    e(&st.target.brief()),
                    e(&difference_text(st)),
                    e(&tried(st)),
                ],
            );
        }
        h.push_str("</table>\n");
    }

    let _ = writeln!(h, "<h3>Expected by rule ({})</h3>", s.expected);
    if g.expected.is_empty() {
        h.push_str("<p>None.</p>\n");
    }
    for (label, sts) in &g.expected {
        let titles: Vec<String> = label
            .split(" + ")
            .map(|id| match r.rules.iter().find(|x| x.rule.id == id) {
                Some(x) => format!("{id}: {} ({})", x.rule.title, x.rule.source),
                None => id.to_string(),
            })
            .collect();
        let _ = writeln!(h, "<h4>{}</h4>", e(&titles.join(" + ")));
        html_head(
            &mut h,
            "expected",
            &[
                "statement",
                "3.5.7",
                "4.1.0",
                "4.1.0 with the legacy settings",
                "difference",
            ],
        );
        for st in sts {
            let legacy = st
                .confirmations
                .iter()
                .find(|c| c.vanished())
                .map(|c| {
                    let settings: Vec<String> =
                        c.settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    format!("{} [{}]", c.observed.brief(), settings.join(", "))
                })
                .unwrap_or_default();
            html_row(
                &mut h,
                &[
                    html_statement(st),
                    e(&st.baseline.brief()),
                    e(&st.target.brief()),
                    e(&legacy),
                    e(&difference_text(st)),
                ],
            );
        }
        h.push_str("</table>\n");
    }

    if !g.undetermined.is_empty() {
        let _ = writeln!(h, "<h3>Undetermined ({})</h3>", g.undetermined.len());
        html_head(&mut h, "undetermined", &["statement", "why"]);
        for st in &g.undetermined {
            html_row(
                &mut h,
                &[
                    format!("<code>{}</code>", e(&st.id)),
                    e(&difference_text(st)),
                ],
            );
        }
        h.push_str("</table>\n");
    }

    let _ = writeln!(h, "<h3>Identical ({})</h3>", g.identical.len());
    if !g.identical.is_empty() {
        html_head(&mut h, "identical", &["statement", "outcome", "notes"]);
        for st in &g.identical {
            html_row(
                &mut h,
                &[
                    html_statement(st),
                    e(&st.baseline.brief()),
                    e(&st.notes.join("; ")),
                ],
            );
        }
        h.push_str("</table>\n");
    }

    h.push_str("<h3>Rule table</h3>\n");
    html_head(
        &mut h,
        "rules",
        &[
            "rule",
            "source",
            "legacy settings (4.1.0 default / 3.5.7 value)",
            "key defined on 4.1.0",
            "confirmed for",
        ],
    );
    for x in &r.rules {
        let settings: Vec<String> = x
            .keys
            .iter()
            .map(|k| {
                format!(
                    "{}={} ({} / {})",
                    k.key,
                    k.legacy_value,
                    k.target_value.as_deref().unwrap_or("undefined"),
                    k.baseline_value.as_deref().unwrap_or("undefined")
                )
            })
            .collect();
        html_row(
            &mut h,
            &[
                format!("<code>{}</code> {}", e(&x.rule.id), e(&x.rule.title)),
                e(&x.rule.source),
                e(&settings.join("; ")),
                (if x.verified { "yes" } else { "NO" }).to_string(),
                e(&x.confirmed_for.join(", ")),
            ],
        );
    }
    h.push_str("</table>\n");

    if let Some(c) = &r.coexistence {
        let _ = writeln!(
            h,
            "<h3>Data compatibility</h3>\n<p>Scratch prefix <code>{}</code>.</p>",
            e(&c.scratch_prefix)
        );
        html_head(
            &mut h,
            "data",
            &[
                "table",
                "written by",
                "read by",
                "status",
                "written",
                "read",
                "error",
            ],
        );
        for d in &c.data {
            html_row(
                &mut h,
                &[
                    e(&d.kind),
                    e(&d.writer),
                    e(&d.reader),
                    e(&d.status),
                    e(&d.written
                        .as_ref()
                        .map(|w| w.to_string())
                        .unwrap_or_default()),
                    e(&d.read.as_ref().map(|w| w.to_string()).unwrap_or_default()),
                    e(d.error.as_deref().unwrap_or("")),
                ],
            );
        }
        h.push_str("</table>\n<h3>Metastore isolation</h3>\n");
        html_head(
            &mut h,
            "isolation",
            &["metastore", "table", "created by", "should hold", "holds"],
        );
        for i in &c.isolation {
            html_row(
                &mut h,
                &[
                    e(&i.metastore),
                    format!("<code>{}</code>", e(&i.table)),
                    e(&i.created_by),
                    i.expected_present.to_string(),
                    e(&match (i.present, &i.error) {
                        (Some(p), _) => p.to_string(),
                        (None, Some(err)) => format!("unknown: {err}"),
                        (None, None) => "unknown".into(),
                    }),
                ],
            );
        }
        h.push_str("</table>\n<h3>Event log prefixes</h3>\n");
        html_head(
            &mut h,
            "eventlogs",
            &[
                "version",
                "prefix",
                "objects",
                "listed by its History Server",
                "written by another version",
            ],
        );
        for l in &c.event_logs {
            html_row(
                &mut h,
                &[
                    e(&l.version),
                    format!("<code>{}</code>", e(&l.prefix)),
                    count(l.objects),
                    count(l.listed),
                    e(&if l.foreign.is_empty() {
                        l.error.clone().unwrap_or_else(|| "none".into())
                    } else {
                        l.foreign.join(", ")
                    }),
                ],
            );
        }
        h.push_str("</table>\n");
    }

    if let Some(hs) = &r.history {
        h.push_str("<h3>History Server matrix</h3>\n");
        html_head(
            &mut h,
            "history",
            &["History Server", "event log written by", "result"],
        );
        for c in &hs.matrix {
            let result = if c.ok {
                format!(
                    "ok: listed after {:.1}s as Spark {}, {} job(s), environment loaded{}",
                    c.listed_after_secs.unwrap_or_default(),
                    c.reported_version.as_deref().unwrap_or("?"),
                    c.jobs.unwrap_or_default(),
                    if c.copied_to.is_some() {
                        " (copied into its prefix)"
                    } else {
                        ""
                    }
                )
            } else {
                format!("FAILED: {}", c.error.as_deref().unwrap_or("?"))
            };
            html_row(&mut h, &[e(&c.server), e(&c.log), e(&result)]);
        }
        h.push_str("</table>\n");
        for a in &hs.apps {
            let _ = writeln!(
                h,
                "<p>Event log of {}: <code>{}</code> {}</p>",
                e(&a.version),
                e(a.key.as_deref().unwrap_or("none")),
                e(a.error.as_deref().unwrap_or(&a.detail))
            );
        }
    }

    if let Some(cm) = &r.clients {
        h.push_str("<h3>Client matrix</h3>\n");
        let versions: Vec<String> = cm.versions.iter().map(|v| e(v)).collect();
        let mut headers = vec!["RPC", "what"];
        headers.extend(versions.iter().map(String::as_str));
        headers.push("note");
        html_head(&mut h, "clients", &headers);
        for row in &cm.rows {
            let mut cells = vec![e(&row.rpc), e(&row.what)];
            cells.extend(cm.versions.iter().map(|v| e(&rpc_cell(row, v))));
            cells.push(e(row.documented.as_deref().unwrap_or("")));
            html_row(&mut h, &cells);
        }
        h.push_str("</table>\n");
    }

    if !r.notes.is_empty() {
        h.push_str("<h3>Notes</h3>\n<ul>\n");
        for n in &r.notes {
            let _ = writeln!(h, "<li>{}</li>", e(n));
        }
        h.push_str("</ul>\n");
    }
    h.push_str("</section>\n");
    h
}

fn clip(s: &str, n: usize) -> String {
    let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > n {
        format!("{}…", one_line.chars().take(n).collect::<String>())
    } else {
        one_line
    }
}

/// A Markdown table cell: one line, pipes escaped.
fn md(s: &str) -> String {
    clip(s, 300).replace('|', "\\|")
}

/// A Markdown table's header row and delimiter row.
fn md_head(m: &mut String, headers: &[&str]) {
    line(m, "|", headers, " ", " |", "\n");
    line(m, "|", headers.iter().map(|_| "---"), "", "|", "\n");
}

/// One Markdown table row of cells already in Markdown.
fn md_row(m: &mut String, cells: &[String]) {
    line(m, "|", cells, " ", " |", "\n");
}

/// A statement's id, both outcomes and their difference, as Markdown cells.
fn md_outcomes(st: &StatementReport) -> Vec<String> {
    vec![
        format!("`{}`", st.id),
        md(&st.baseline.brief()),
        md(&st.target.brief()),
        md(&difference_text(st)),
    ]
}

/// The report as Markdown (same sections as [`render_html`]).
pub fn render_markdown(r: &CompatReport) -> String {
    let mut m = String::new();
    let g = groups(r);
    let s = &r.summary;
    let _ = writeln!(m, "## Compatibility: Spark {} → {}\n", r.baseline, r.target);
    let _ = writeln!(
        m,
        "{}\n",
        summary_sentence(r, str::to_string, ("`", "`"), ("**", "**"), "")
    );
    let _ = writeln!(m, "### Unexplained ({})\n", g.unexplained.len());
    if g.unexplained.is_empty() {
        m.push_str("None.\n\n");
    } else {
        md_head(
            &mut m,
            &["statement", "3.5.7", "4.1.0", "difference", "rules tried"],
        );
        for st in &g.unexplained {
            let mut cells = md_outcomes(st);
            cells.push(md(&tried(st)));
            md_row(&mut m, &cells);
        }
        m.push('\n');
    }
    let _ = writeln!(m, "### Expected by rule ({})\n", s.expected);
    for (label, sts) in &g.expected {
        let _ = writeln!(m, "#### {label}\n");
        md_head(&mut m, &["statement", "3.5.7", "4.1.0", "difference"]);
        for st in sts {
            md_row(&mut m, &md_outcomes(st));
        }
        m.push('\n');
    }
    if !g.undetermined.is_empty() {
        let _ = writeln!(m, "### Undetermined ({})\n", g.undetermined.len());
        for st in &g.undetermined {
            let _ = writeln!(m, "- `{}`: {}", st.id, md(&difference_text(st)));
        }
        m.push('\n');
    }
    let _ = writeln!(m, "### Identical ({})\n", g.identical.len());
    for st in &g.identical {
        let notes = if st.notes.is_empty() {
            String::new()
        } else {
            format!(" — {}", md(&st.notes.join("; ")))
        };
        let _ = writeln!(m, "- `{}`: {}{}", st.id, md(&st.baseline.brief()), notes);
    }
    m.push_str("\n### Rule table\n\n");
    md_head(
        &mut m,
        &[
            "rule",
            "source",
            "legacy settings",
            "defined on 4.1.0",
            "confirmed for",
        ],
    );
    for x in &r.rules {
        let settings: Vec<String> = x
            .keys
            .iter()
            .map(|k| format!("`{}={}`", k.key, k.legacy_value))
            .collect();
        md_row(
            &mut m,
            &[
                format!("`{}`", x.rule.id),
                md(&x.rule.source),
                settings.join(", "),
                (if x.verified { "yes" } else { "**no**" }).to_string(),
                md(&x.confirmed_for.join(", ")),
            ],
        );
    }
    if let Some(c) = &r.coexistence {
        m.push_str("\n### Data compatibility\n\n");
        md_head(
            &mut m,
            &["table", "written by", "read by", "status", "error"],
        );
        for d in &c.data {
            md_row(
                &mut m,
                &[
                    d.kind.clone(),
                    d.writer.clone(),
                    d.reader.clone(),
                    d.status.clone(),
                    md(d.error.as_deref().unwrap_or("")),
                ],
            );
        }
        let held = c.isolation.iter().filter(|i| i.ok()).count();
        let _ = writeln!(
            m,
            "\nMetastore isolation: {held} of {} checks hold.",
            c.isolation.len()
        );
        for l in &c.event_logs {
            let _ = writeln!(
                m,
                "Event logs of {} under `{}`: {} objects, {} listed, foreign: {}.",
                l.version,
                l.prefix,
                count(l.objects),
                count(l.listed),
                if l.foreign.is_empty() {
                    "none".to_string()
                } else {
                    l.foreign.join(", ")
                }
            );
        }
    }
    if let Some(hs) = &r.history {
        m.push_str("\n### History Server matrix\n\n");
        md_head(&mut m, &["History Server", "log written by", "result"]);
        for c in &hs.matrix {
            let result = if c.ok {
                format!(
                    "ok ({} job(s), listed after {:.1}s)",
                    c.jobs.unwrap_or_default(),
                    c.listed_after_secs.unwrap_or_default()
                )
            } else {
                format!("FAILED: {}", c.error.as_deref().unwrap_or("?"))
            };
            md_row(&mut m, &[c.server.clone(), c.log.clone(), md(&result)]);
        }
    }
    if let Some(cm) = &r.clients {
        m.push_str("\n### Client matrix\n\n");
        let mut headers = vec!["RPC", "what"];
        headers.extend(cm.versions.iter().map(String::as_str));
        headers.push("note");
        md_head(&mut m, &headers);
        for row in &cm.rows {
            let mut cells = vec![row.rpc.clone(), md(&row.what)];
            cells.extend(cm.versions.iter().map(|v| md(&rpc_cell(row, v))));
            cells.push(md(row.documented.as_deref().unwrap_or("")));
            md_row(&mut m, &cells);
        }
    }
    if !r.notes.is_empty() {
        m.push_str("\n### Notes\n\n");
        for n in &r.notes {
            let _ = writeln!(m, "- {}", md(n));
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compat::tests::{report, statement};

    #[test]
    fn html_and_markdown_group_statements_and_escape_text() {
        let r = report(vec![
            statement("same", Class::Identical, None),
            statement(
                "ansi",
                Class::Expected {
                    rules: vec!["ansi_default".into()],
                },
                None,
            ),
            statement("odd", Class::Unexplained, None),
        ]);
        let html = render_html(&r);
        assert!(!html.contains("<html"));
        assert!(html.contains("<h3>Unexplained (1)</h3>"));
        assert!(html.contains("<h3>Expected by rule (1)</h3>"));
        assert!(html.contains("<h3>Identical (1)</h3>"));
        assert!(html.contains("ansi_default: ANSI SQL mode is on by default"));
        assert!(html.contains("&lt;x&gt;"), "SQL is escaped");
        assert!(html.contains("a &lt;b&gt; &amp; c"));
        assert!(html.contains("&lt;angle&gt;"));
        assert!(!html.contains("<x>") && !html.contains("<angle>") && !html.contains("<b> &"));
        let unexplained_at = html.find("Unexplained (1)").expect("section");
        let expected_at = html.find("Expected by rule").expect("section");
        let identical_at = html.find("Identical (1)").expect("section");
        assert!(unexplained_at < expected_at && expected_at < identical_at);

        let md = render_markdown(&r);
        assert!(md.contains("### Unexplained (1)"));
        assert!(md.contains("#### ansi_default"));
        assert!(md.contains("| `odd` | ok: NULL | fail [CAST_INVALID_INPUT] (22018) |"));
        assert!(!md.contains("<html"));
    }
}
