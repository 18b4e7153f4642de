//! Rendering a compat report (an HTML fragment, Markdown) and turning it into checks (pure).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::json;

use super::classify::Class;
use super::differential::StatementReport;
use super::CompatReport;
use crate::check::model::{CheckResult, Verdict};
use crate::text::xml_escape;

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
        "<p>Run <code>{}</code> started {}, took {:.0}s. {} statements: <b>{} identical</b>, \
         <b>{} expected</b> (a legacy setting makes the difference vanish), <b>{} unexplained</b>, \
         {} undetermined; plans differ for {}.</p>",
        e(&r.run_id),
        e(&r.started_at),
        r.took_secs,
        s.statements,
        s.identical,
        s.expected,
        s.unexplained,
        s.undetermined,
        s.plan_differences
    );

    let _ = writeln!(h, "<h3>Unexplained ({})</h3>", g.unexplained.len());
    if g.unexplained.is_empty() {
        h.push_str("<p>None.</p>\n");
    } else {
        h.push_str(
            "<table class=\"unexplained\"><tr><th>statement</th><th>3.5.7</th><th>4.1.0</th>\
             <th>difference</th><th>rules tried</th></tr>\n",
        );
        for st in &g.unexplained {
            let _ = writeln!(
                h,
                "<tr><td><code>{}</code> <small>{}</small><br><code>{}</code></td><td>{}</td>\
                 <td>{}</td><td>{}</td><td>{}</td></tr>",
                e(&st.id),
                e(&st.title),
                e(&clip(&st.sql, 200)),
                e(&st.baseline.brief()),
                e(&st.target.brief()),
                e(&difference_text(st)),
                e(&tried(st))
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
        h.push_str(
            "<table class=\"expected\"><tr><th>statement</th><th>3.5.7</th><th>4.1.0</th>\
             <th>4.1.0 with the legacy settings</th><th>difference</th></tr>\n",
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
            let _ = writeln!(
                h,
                "<tr><td><code>{}</code> <small>{}</small></td><td>{}</td><td>{}</td><td>{}</td>\
                 <td>{}</td></tr>",
                e(&st.id),
                e(&st.title),
                e(&st.baseline.brief()),
                e(&st.target.brief()),
                e(&legacy),
                e(&difference_text(st))
            );
        }
        h.push_str("</table>\n");
    }

    if !g.undetermined.is_empty() {
        let _ = writeln!(h, "<h3>Undetermined ({})</h3>", g.undetermined.len());
        h.push_str("<table class=\"undetermined\"><tr><th>statement</th><th>why</th></tr>\n");
        for st in &g.undetermined {
            let _ = writeln!(
                h,
                "<tr><td><code>{}</code></td><td>{}</td></tr>",
                e(&st.id),
                e(&difference_text(st))
            );
        }
        h.push_str("</table>\n");
    }

    let _ = writeln!(h, "<h3>Identical ({})</h3>", g.identical.len());
    if !g.identical.is_empty() {
        h.push_str(
            "<table class=\"identical\"><tr><th>statement</th><th>outcome</th><th>notes</th></tr>\n",
        );
        for st in &g.identical {
            let _ = writeln!(
                h,
                "<tr><td><code>{}</code> <small>{}</small></td><td>{}</td><td>{}</td></tr>",
                e(&st.id),
                e(&st.title),
                e(&st.baseline.brief()),
                e(&st.notes.join("; "))
            );
        }
        h.push_str("</table>\n");
    }

    h.push_str(
        "<h3>Rule table</h3>\n<table class=\"rules\"><tr><th>rule</th><th>source</th>\
                <th>legacy settings (4.1.0 default / 3.5.7 value)</th><th>key defined on 4.1.0</th>\
                <th>confirmed for</th></tr>\n",
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
        let _ = writeln!(
            h,
            "<tr><td><code>{}</code> {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            e(&x.rule.id),
            e(&x.rule.title),
            e(&x.rule.source),
            e(&settings.join("; ")),
            if x.verified { "yes" } else { "NO" },
            e(&x.confirmed_for.join(", "))
        );
    }
    h.push_str("</table>\n");

    if let Some(c) = &r.coexistence {
        let _ = writeln!(
            h,
            "<h3>Data compatibility</h3>\n<p>Scratch prefix <code>{}</code>.</p>\n\
             <table class=\"data\"><tr><th>table</th><th>written by</th><th>read by</th>\
             <th>status</th><th>written</th><th>read</th><th>error</th></tr>",
            e(&c.scratch_prefix)
        );
        for d in &c.data {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                e(&d.kind),
                e(&d.writer),
                e(&d.reader),
                e(&d.status),
                e(&d.written.as_ref().map(|w| w.to_string()).unwrap_or_default()),
                e(&d.read.as_ref().map(|w| w.to_string()).unwrap_or_default()),
                e(d.error.as_deref().unwrap_or(""))
            );
        }
        h.push_str(
            "</table>\n<h3>Metastore isolation</h3>\n<table class=\"isolation\"><tr>\
                    <th>metastore</th><th>table</th><th>created by</th><th>should hold</th>\
                    <th>holds</th></tr>\n",
        );
        for i in &c.isolation {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                e(&i.metastore),
                e(&i.table),
                e(&i.created_by),
                i.expected_present,
                e(&match (i.present, &i.error) {
                    (Some(p), _) => p.to_string(),
                    (None, Some(err)) => format!("unknown: {err}"),
                    (None, None) => "unknown".into(),
                })
            );
        }
        h.push_str("</table>\n<h3>Event log prefixes</h3>\n<table class=\"eventlogs\"><tr>\
                    <th>version</th><th>prefix</th><th>objects</th><th>listed by its History Server</th>\
                    <th>written by another version</th></tr>\n");
        for l in &c.event_logs {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                e(&l.version),
                e(&l.prefix),
                l.objects
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "?".into()),
                l.listed
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "?".into()),
                e(&if l.foreign.is_empty() {
                    l.error.clone().unwrap_or_else(|| "none".into())
                } else {
                    l.foreign.join(", ")
                })
            );
        }
        h.push_str("</table>\n");
    }

    if let Some(hs) = &r.history {
        h.push_str(
            "<h3>History Server matrix</h3>\n<table class=\"history\"><tr>\
                    <th>History Server</th><th>event log written by</th><th>result</th></tr>\n",
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
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                e(&c.server),
                e(&c.log),
                e(&result)
            );
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
        let _ = write!(
            h,
            "<h3>Client matrix</h3>\n<table class=\"clients\"><tr><th>RPC</th><th>what</th>"
        );
        for v in &cm.versions {
            let _ = write!(h, "<th>{}</th>", e(v));
        }
        h.push_str("<th>note</th></tr>\n");
        for row in &cm.rows {
            let _ = write!(h, "<tr><td>{}</td><td>{}</td>", e(&row.rpc), e(&row.what));
            for v in &cm.versions {
                let cell = row
                    .results
                    .get(v)
                    .map(|x| format!("{}: {}", if x.ok { "ok" } else { "FAILED" }, x.detail))
                    .unwrap_or_default();
                let _ = write!(h, "<td>{}</td>", e(&cell));
            }
            let _ = writeln!(
                h,
                "<td>{}</td></tr>",
                e(row.documented.as_deref().unwrap_or(""))
            );
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

/// The report as Markdown (same sections as [`render_html`]).
pub fn render_markdown(r: &CompatReport) -> String {
    let mut m = String::new();
    let g = groups(r);
    let s = &r.summary;
    let _ = writeln!(m, "## Compatibility: Spark {} → {}\n", r.baseline, r.target);
    let _ = writeln!(
        m,
        "Run `{}` started {}, took {:.0}s. {} statements: **{} identical**, **{} expected**, \
         **{} unexplained**, {} undetermined; plans differ for {}.\n",
        r.run_id,
        r.started_at,
        r.took_secs,
        s.statements,
        s.identical,
        s.expected,
        s.unexplained,
        s.undetermined,
        s.plan_differences
    );
    let _ = writeln!(m, "### Unexplained ({})\n", g.unexplained.len());
    if g.unexplained.is_empty() {
        m.push_str("None.\n\n");
    } else {
        m.push_str(
            "| statement | 3.5.7 | 4.1.0 | difference | rules tried |\n|---|---|---|---|---|\n",
        );
        for st in &g.unexplained {
            let _ = writeln!(
                m,
                "| `{}` | {} | {} | {} | {} |",
                st.id,
                md(&st.baseline.brief()),
                md(&st.target.brief()),
                md(&difference_text(st)),
                md(&tried(st))
            );
        }
        m.push('\n');
    }
    let _ = writeln!(m, "### Expected by rule ({})\n", s.expected);
    for (label, sts) in &g.expected {
        let _ = writeln!(m, "#### {label}\n");
        m.push_str("| statement | 3.5.7 | 4.1.0 | difference |\n|---|---|---|---|\n");
        for st in sts {
            let _ = writeln!(
                m,
                "| `{}` | {} | {} | {} |",
                st.id,
                md(&st.baseline.brief()),
                md(&st.target.brief()),
                md(&difference_text(st))
            );
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
    m.push_str("\n### Rule table\n\n| rule | source | legacy settings | defined on 4.1.0 | confirmed for |\n|---|---|---|---|---|\n");
    for x in &r.rules {
        let settings: Vec<String> = x
            .keys
            .iter()
            .map(|k| format!("`{}={}`", k.key, k.legacy_value))
            .collect();
        let _ = writeln!(
            m,
            "| `{}` | {} | {} | {} | {} |",
            x.rule.id,
            md(&x.rule.source),
            settings.join(", "),
            if x.verified { "yes" } else { "**no**" },
            md(&x.confirmed_for.join(", "))
        );
    }
    if let Some(c) = &r.coexistence {
        m.push_str("\n### Data compatibility\n\n| table | written by | read by | status | error |\n|---|---|---|---|---|\n");
        for d in &c.data {
            let _ = writeln!(
                m,
                "| {} | {} | {} | {} | {} |",
                d.kind,
                d.writer,
                d.reader,
                d.status,
                md(d.error.as_deref().unwrap_or(""))
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
                l.objects
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "?".into()),
                l.listed
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "?".into()),
                if l.foreign.is_empty() {
                    "none".to_string()
                } else {
                    l.foreign.join(", ")
                }
            );
        }
    }
    if let Some(hs) = &r.history {
        m.push_str("\n### History Server matrix\n\n| History Server | log written by | result |\n|---|---|---|\n");
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
            let _ = writeln!(m, "| {} | {} | {} |", c.server, c.log, md(&result));
        }
    }
    if let Some(cm) = &r.clients {
        let _ = write!(m, "\n### Client matrix\n\n| RPC | what |");
        for v in &cm.versions {
            let _ = write!(m, " {v} |");
        }
        m.push_str(" note |\n|---|---|");
        for _ in &cm.versions {
            m.push_str("---|");
        }
        m.push_str("---|\n");
        for row in &cm.rows {
            let _ = write!(m, "| {} | {} |", row.rpc, md(&row.what));
            for v in &cm.versions {
                let cell = row
                    .results
                    .get(v)
                    .map(|x| format!("{}: {}", if x.ok { "ok" } else { "FAILED" }, x.detail))
                    .unwrap_or_default();
                let _ = write!(m, " {} |", md(&cell));
            }
            let _ = writeln!(m, " {} |", md(row.documented.as_deref().unwrap_or("")));
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

fn check(
    name: &str,
    verdict: Verdict,
    expected: &str,
    observed: String,
    reason: String,
    details: serde_json::Value,
) -> CheckResult {
    CheckResult {
        check: name.into(),
        version: None,
        verdict,
        expected: expected.into(),
        observed,
        reason,
        details,
    }
}

/// The report's checks (run-wide, `version` = None):
///
/// - `compat_unexplained` (`= 0`): statements whose difference no rule explains, not counting
///   probes acknowledged as unexplained in `probes.toml` (`expect = "unexplained"`: documented
///   changes without any legacy setting); those are listed in the details.
/// - `compat_rules`: every legacy key of the rule table is defined on 4.1.0.
/// - `coexistence`: each metastore holds exactly its own version's tables; each History Server
///   lists only applications of its own version.
/// - `data_compat`: Parquet tables written by either version read back equal by the other.
/// - `history_matrix`: each History Server lists and loads event logs of both versions.
/// - `client_matrix`: no RPC fails on a server unless documented.
pub fn checks(r: &CompatReport) -> Vec<CheckResult> {
    let mut out = Vec::new();

    let s = &r.summary;
    let unexplained: Vec<&StatementReport> = r
        .statements
        .iter()
        .filter(|x| x.class == Class::Unexplained)
        .collect();
    let (known, new): (Vec<&StatementReport>, Vec<&StatementReport>) = unexplained
        .iter()
        .partition(|x| x.expect.as_deref() == Some("unexplained"));
    let verdict = if r.statements.is_empty() {
        Verdict::Unknown
    } else if !new.is_empty() {
        Verdict::Invalid
    } else if s.undetermined > 0 {
        Verdict::Unknown
    } else {
        Verdict::Valid
    };
    let ids = |v: &[&StatementReport]| v.iter().map(|x| x.id.clone()).collect::<Vec<_>>();
    out.push(check(
        "compat_unexplained",
        verdict,
        "= 0",
        format!(
            "{} unexplained ({} acknowledged in probes.toml) of {} statements; {} identical, {} expected, {} undetermined",
            new.len(),
            known.len(),
            s.statements,
            s.identical,
            s.expected,
            s.undetermined
        ),
        match verdict {
            Verdict::Valid => "every difference between the versions vanished under a confirmed legacy setting".into(),
            Verdict::Invalid => format!(
                "differences no rule explains: {}",
                ids(&new).join(", ")
            ),
            Verdict::Unknown if r.statements.is_empty() => "no statement was run".into(),
            Verdict::Unknown => format!("{} statements have an unknown outcome", s.undetermined),
        },
        json!({
            "unexplained": ids(&new),
            "acknowledged_unexplained": ids(&known),
            "undetermined": r.statements.iter().filter(|x| matches!(x.class, Class::Undetermined { .. })).map(|x| x.id.clone()).collect::<Vec<_>>(),
            "by_rule": s.by_rule,
        }),
    ));

    let unverified: Vec<String> = r
        .rules
        .iter()
        .filter(|x| !x.verified)
        .map(|x| x.rule.id.clone())
        .collect();
    let asked = r
        .rules
        .iter()
        .all(|x| x.keys.iter().all(|k| k.defined_on_target.is_some()));
    let verdict = if !asked {
        Verdict::Unknown
    } else if unverified.is_empty() {
        Verdict::Valid
    } else {
        Verdict::Invalid
    };
    out.push(check(
        "compat_rules",
        verdict,
        "every legacy key defined on 4.1.0",
        format!(
            "{} of {} rules verified",
            r.rules.len() - unverified.len(),
            r.rules.len()
        ),
        match verdict {
            Verdict::Valid => "4.1.0 defines every key of the rule table".into(),
            Verdict::Invalid => {
                format!("keys undefined on 4.1.0 in rules {}", unverified.join(", "))
            }
            Verdict::Unknown => "4.1.0 could not be asked about every key".into(),
        },
        json!({ "unverified": unverified }),
    ));

    if let Some(c) = &r.coexistence {
        let violated: Vec<String> = c
            .isolation
            .iter()
            .filter(|i| i.present.is_some() && !i.ok())
            .map(|i| {
                format!(
                    "{} in metastore {} (created by {})",
                    i.table, i.metastore, i.created_by
                )
            })
            .chain(c.event_logs.iter().flat_map(|l| {
                l.foreign
                    .iter()
                    .map(move |f| format!("{f} listed from {}", l.prefix))
            }))
            .collect();
        let unknown = c.isolation.iter().any(|i| i.present.is_none())
            || c.isolation.is_empty()
            || c.event_logs.iter().any(|l| l.listed.is_none());
        let verdict = if !violated.is_empty() {
            Verdict::Invalid
        } else if unknown {
            Verdict::Unknown
        } else {
            Verdict::Valid
        };
        let held = c.isolation.iter().filter(|i| i.ok()).count();
        out.push(check(
            "coexistence",
            verdict,
            "each metastore and event log prefix holds only its own version's objects",
            format!(
                "{held} of {} metastore checks hold; {} foreign event logs",
                c.isolation.len(),
                c.event_logs.iter().map(|l| l.foreign.len()).sum::<usize>()
            ),
            match verdict {
                Verdict::Valid => "the versions share only PostgreSQL and MinIO, each in its own database and prefix".into(),
                Verdict::Invalid => violated.join("; "),
                Verdict::Unknown => "a metastore or History Server could not be asked".into(),
            },
            json!({ "violations": violated }),
        ));

        let bad: Vec<String> = c
            .data
            .iter()
            .filter(|d| d.status == "mismatch" || d.status == "read_failed")
            .map(|d| {
                format!(
                    "{} written by {} read by {}: {}",
                    d.kind, d.writer, d.reader, d.status
                )
            })
            .collect();
        let unwritten = c.data.iter().any(|d| d.status == "write_failed");
        let verdict = if !bad.is_empty() {
            Verdict::Invalid
        } else if unwritten || c.data.is_empty() {
            Verdict::Unknown
        } else {
            Verdict::Valid
        };
        let ok = c.data.iter().filter(|d| d.status == "ok").count();
        out.push(check(
            "data_compat",
            verdict,
            "every table written by one version reads back equal on the other",
            format!("{ok} of {} tables equal", c.data.len()),
            match verdict {
                Verdict::Valid => {
                    "plain and partitioned Parquet tables read back with equal checksums both ways"
                        .into()
                }
                Verdict::Invalid => bad.join("; "),
                Verdict::Unknown => "a table could not be written".into(),
            },
            serde_json::to_value(&c.data).unwrap_or_default(),
        ));
    }

    if let Some(hs) = &r.history {
        let failed: Vec<String> = hs
            .matrix
            .iter()
            .filter(|c| !c.ok && c.app_id.is_some())
            .map(|c| format!("History Server {} × log of {}", c.server, c.log))
            .collect();
        let missing = hs.matrix.iter().any(|c| c.app_id.is_none()) || hs.matrix.is_empty();
        let verdict = if !failed.is_empty() {
            Verdict::Invalid
        } else if missing {
            Verdict::Unknown
        } else {
            Verdict::Valid
        };
        out.push(check(
            "history_matrix",
            verdict,
            "each History Server lists and loads event logs of both versions",
            format!(
                "{} of {} cells ok",
                hs.matrix.iter().filter(|c| c.ok).count(),
                hs.matrix.len()
            ),
            match verdict {
                Verdict::Valid => {
                    "both History Servers list and load logs written by both versions".into()
                }
                Verdict::Invalid => format!("failed: {}", failed.join(", ")),
                Verdict::Unknown => "no finished event log of some version to test with".into(),
            },
            serde_json::to_value(&hs.matrix).unwrap_or_default(),
        ));
    }

    if let Some(cm) = &r.clients {
        let unexpected: Vec<String> = cm
            .rows
            .iter()
            .flat_map(|row| {
                row.unexpected_failures()
                    .into_iter()
                    .map(move |v| format!("{} ({}) on {v}", row.rpc, row.what))
            })
            .collect();
        let verdict = if cm.rows.is_empty() {
            Verdict::Unknown
        } else if unexpected.is_empty() {
            Verdict::Valid
        } else {
            Verdict::Invalid
        };
        let differing: Vec<String> = cm
            .rows
            .iter()
            .filter(|r| !r.same())
            .map(|r| r.rpc.clone())
            .collect();
        out.push(check(
            "client_matrix",
            verdict,
            "every RPC works on both servers unless documented",
            format!(
                "{} rows, {} differ between versions ({}), {} unexpected failures",
                cm.rows.len(),
                differing.len(),
                differing.join(", "),
                unexpected.len()
            ),
            match verdict {
                Verdict::Valid => {
                    "the client works against both servers; differences are the documented ones"
                        .into()
                }
                Verdict::Invalid => unexpected.join("; "),
                Verdict::Unknown => "no RPC was tried".into(),
            },
            serde_json::to_value(&cm.rows).unwrap_or_default(),
        ));
    }
    out
}
