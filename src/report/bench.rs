//! The bench section of the reports (pure): the parity verdict first, a forest plot of the
//! per-query ratios with their intervals (sorted), the per-query table (medians with
//! intervals, noise, Spark's shuffle and peak memory side by side), the throughput run, the
//! baseline comparison and the History Server cross-check; as HTML, Markdown and JUnit cases.

use std::fmt::Write as _;

use crate::bench::analyse::{parity, ratio_text};
use crate::bench::model::{BenchReport, QueryStats, SparkMetrics, VersionStats};
use crate::bench::stats::{Change, Estimate};
use crate::check::model::Verdict;
use crate::text::xml_escape as e;

/// The section's title: `Benchmark: Spark 4.1.0 vs 3.5.7 (TPC-DS, 6 queries × 3)`.
pub fn title(r: &BenchReport) -> String {
    let vs = if r.versions.len() >= 2 {
        format!(
            "Spark {} vs {}",
            r.versions.last().map(String::as_str).unwrap_or(""),
            r.versions[0]
        )
    } else {
        format!("Spark {}", r.versions.join(", "))
    };
    format!(
        "Benchmark: {vs} (TPC-DS scale {}, {} quer{} × {})",
        r.settings.scale,
        r.settings.queries.len(),
        if r.settings.queries.len() == 1 {
            "y"
        } else {
            "ies"
        },
        r.settings.iterations
    )
}

fn change_word(c: Option<Change>) -> &'static str {
    match c {
        Some(Change::Faster) => "faster",
        Some(Change::Slower) => "slower",
        Some(Change::NoDetectableDifference) => "no detectable difference",
        None => "–",
    }
}

fn secs(e: &Option<Estimate>) -> String {
    match e {
        Some(e) if e.low == e.high => format!("{:.2}s", e.value),
        Some(e) => format!("{:.2}s [{:.2}, {:.2}]", e.value, e.low, e.high),
        None => "–".into(),
    }
}

/// Bytes as people read them (`1.2 MB`).
pub fn bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn metric(s: &VersionStats, f: fn(&SparkMetrics) -> u64, show: fn(u64) -> String) -> String {
    s.metrics.as_ref().map(|m| show(f(m))).unwrap_or("–".into())
}

/// A version's shuffle (read + write) and summed peak execution memory, as the tables show them.
fn shuffle_and_peak(s: &VersionStats) -> (String, String) {
    (
        metric(s, |m| m.shuffle_read_bytes + m.shuffle_write_bytes, bytes),
        metric(s, |m| m.peak_execution_memory_bytes, bytes),
    )
}

fn noise(s: &VersionStats) -> String {
    match (s.cv, s.iterations_needed) {
        (Some(cv), Some(k)) if s.noisy() => format!("{:.0} % (noisy: needs {k})", cv * 100.0),
        (Some(cv), _) => format!("{:.0} %", cv * 100.0),
        _ => "–".into(),
    }
}

fn verdict_line(r: &BenchReport) -> (Verdict, String) {
    let v = if r.versions.len() >= 2 {
        parity(r.geomean, r.settings.threshold)
    } else {
        Verdict::Unknown
    };
    (v, r.parity.clone())
}

/// The forest plot: one row per query with a ratio, sorted by it, and the geometric mean last;
/// a log-scale x axis with 1 and the ±threshold band marked.
pub fn forest_svg(r: &BenchReport) -> String {
    let mut rows: Vec<(&str, Estimate, Option<Change>)> = r
        .queries
        .iter()
        .filter_map(|q| q.ratio.map(|x| (q.query.as_str(), x, q.change)))
        .collect();
    rows.sort_by(|a, b| a.1.value.total_cmp(&b.1.value));
    if let Some(g) = r.geomean {
        let c = crate::bench::stats::change(&g, r.settings.threshold);
        rows.push(("geomean", g, Some(c)));
    }
    if rows.is_empty() {
        return String::new();
    }
    let t = r.settings.threshold;
    let lo = rows
        .iter()
        .map(|x| x.1.low)
        .fold(1.0 - t, f64::min)
        .max(1e-3);
    let hi = rows.iter().map(|x| x.1.high).fold(1.0 + t, f64::max);
    let (lo, hi) = ((lo / 1.1).ln(), (hi * 1.1).ln());
    let (left, width, row_h, top) = (70.0, 520.0, 16.0, 20.0);
    let x = |v: f64| left + (v.max(1e-3).ln() - lo) / (hi - lo) * width;
    let height = top + row_h * rows.len() as f64 + 30.0;
    let mut s = format!(
        r#"<svg class="forest" viewBox="0 0 {w} {height}" width="{w}" height="{height}" style="max-width:{w}px" role="img" aria-label="ratio per query with 95 % intervals">"#,
        w = left + width + 20.0
    );
    let _ = write!(
        s,
        r##"<rect x="{:.1}" y="{top}" width="{:.1}" height="{:.1}" fill="#eee"/>"##,
        x(1.0 - t),
        x(1.0 + t) - x(1.0 - t),
        row_h * rows.len() as f64
    );
    let _ = write!(
        s,
        r##"<line x1="{0:.1}" x2="{0:.1}" y1="{top}" y2="{1:.1}" stroke="#888"/>"##,
        x(1.0),
        top + row_h * rows.len() as f64
    );
    for (i, (name, est, change)) in rows.iter().enumerate() {
        let y = top + row_h * i as f64 + row_h / 2.0;
        let color = match change {
            Some(Change::Slower) => "#c0392b",
            Some(Change::Faster) => "#27ae60",
            _ => "#555",
        };
        let weight = if *name == "geomean" { "bold" } else { "normal" };
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end" font-weight="{weight}">{}</text><line x1="{:.1}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="{color}" stroke-width="2"/><circle cx="{:.1}" cy="{y:.1}" r="3.5" fill="{color}"><title>{} {}</title></circle>"#,
            left - 6.0,
            y + 4.0,
            e(name),
            x(est.low),
            x(est.high),
            x(est.value),
            e(name),
            e(&ratio_text(est))
        );
    }
    let axis_y = top + row_h * rows.len() as f64 + 14.0;
    for tick in [0.25, 0.5, 0.8, 1.0, 1.25, 2.0, 4.0] {
        let tx = x(tick);
        if tx >= left - 1.0 && tx <= left + width + 1.0 {
            let _ = write!(
                s,
                r#"<text x="{tx:.1}" y="{axis_y:.1}" font-size="10" text-anchor="middle">{tick}</text>"#
            );
        }
    }
    let _ = write!(
        s,
        r#"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle">{} / {} median time (log scale; band: ±{:.0} %)</text></svg>"#,
        left + width / 2.0,
        axis_y + 13.0,
        e(r.versions.last().map(String::as_str).unwrap_or("")),
        e(r.versions.first().map(String::as_str).unwrap_or("")),
        t * 100.0
    );
    s
}

fn query_row_html(out: &mut String, q: &QueryStats) {
    let _ = write!(out, "<tr><td>{}</td>", e(&q.query));
    for s in &q.versions {
        let _ = write!(
            out,
            "<td>{}</td><td>{}</td>",
            e(&secs(&s.median)),
            e(&noise(s))
        );
    }
    let _ = write!(
        out,
        "<td>{}</td><td class=\"{}\">{}</td>",
        q.ratio.map(|r| ratio_text(&r)).unwrap_or("–".into()),
        change_word(q.change).replace(' ', "-"),
        change_word(q.change)
    );
    for s in &q.versions {
        let (shuffle, peak) = shuffle_and_peak(s);
        let _ = write!(out, "<td>{shuffle}</td><td>{peak}</td>");
    }
    let bad: u32 = q.versions.iter().map(|s| s.failed + s.wrong).sum();
    let _ = writeln!(
        out,
        "<td>{}</td></tr>",
        if bad > 0 {
            bad.to_string()
        } else {
            String::new()
        }
    );
}

/// The section as an HTML fragment.
pub fn render_html(r: &BenchReport) -> String {
    let mut out = String::new();
    let (v, text) = verdict_line(r);
    let _ = writeln!(
        out,
        "<p class=\"verdict {}\"><b>{}</b></p>",
        v.as_str(),
        e(&text)
    );
    let _ = writeln!(
        out,
        "<p>{} quer{}, {} warm-up and {} timed run(s) per version, {} order (seed {}); took {:.0} s. A verdict (faster / slower) only when the whole 95 % bootstrap interval of the ratio lies beyond ±{:.0} %; a version's runs are <i>noisy</i> when their coefficient of variation would need more runs than it had for an interval that narrow.</p>",
        r.settings.queries.len(),
        if r.settings.queries.len() == 1 { "y" } else { "ies" },
        r.settings.warmup,
        r.settings.iterations,
        e(&r.settings.order),
        r.settings.seed,
        r.ended_ms.saturating_sub(r.started_ms) as f64 / 1000.0,
        r.settings.threshold * 100.0
    );
    out.push_str(&forest_svg(r));
    out.push_str("<table class=\"bench\"><thead><tr><th>query</th>");
    for v in &r.versions {
        let _ = write!(out, "<th>{0} median [95 % CI]</th><th>{0} CV</th>", e(v));
    }
    out.push_str("<th>ratio [95 % CI]</th><th>verdict</th>");
    for v in &r.versions {
        let _ = write!(
            out,
            "<th>{0} shuffle r+w</th><th>{0} peak exec. memory (Σ tasks)</th>",
            e(v)
        );
    }
    out.push_str("<th>failed / wrong runs</th></tr></thead><tbody>\n");
    for q in &r.queries {
        query_row_html(&mut out, q);
    }
    out.push_str("</tbody></table>\n");
    spark_totals_html(&mut out, r);
    if !r.throughput.is_empty() {
        out.push_str("<h3>Throughput run</h3><table><thead><tr><th>version</th><th>streams</th><th>completed</th><th>failed</th><th>elapsed</th><th>queries / hour</th><th>median query</th></tr></thead><tbody>\n");
        for t in &r.throughput {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.0} s</td><td>{:.0}</td><td>{:.2} s</td></tr>",
                e(&t.version),
                t.streams,
                t.completed,
                t.failed,
                t.elapsed_s,
                t.queries_per_hour,
                t.median_query_s
            );
        }
        out.push_str("</tbody></table>\n");
    }
    if let Some(b) = &r.baseline {
        let _ = writeln!(
            out,
            "<h3>Against the baseline</h3><p>Baseline: <code>{}</code> (run {}). Ratio: now / baseline median time.</p><table><thead><tr><th>query</th><th>version</th><th>ratio [95 % CI]</th><th>verdict</th></tr></thead><tbody>",
            e(&b.source),
            e(&super::utc(b.started_ms))
        );
        for row in &b.rows {
            let verdict = match row.change {
                Some(Change::Slower) => "regression".to_string(),
                c => row.note.clone().unwrap_or(change_word(c).to_string()),
            };
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td></tr>",
                e(&row.query),
                e(&row.version),
                row.ratio.map(|x| ratio_text(&x)).unwrap_or("–".into()),
                change_word(row.change).replace(' ', "-"),
                e(&verdict)
            );
        }
        out.push_str("</tbody></table>\n");
    }
    if !r.history_check.is_empty() {
        out.push_str("<h3>History Server cross-check</h3><ul>\n");
        for h in &r.history_check {
            let _ = writeln!(
                out,
                "<li>{} {} (application {}): {}{}</li>",
                e(&h.version),
                e(&h.query),
                e(&h.app_id),
                if h.agreed {
                    "the History Server's figures agree with the live ones"
                } else {
                    "differs"
                },
                if h.notes.is_empty() {
                    String::new()
                } else {
                    format!(" — {}", e(&h.notes.join("; ")))
                }
            );
        }
        out.push_str("</ul>\n");
    }
    if !r.notes.is_empty() {
        out.push_str("<h3>Notes</h3><ul>\n");
        for n in &r.notes {
            let _ = writeln!(out, "<li>{}</li>", e(n));
        }
        out.push_str("</ul>\n");
    }
    out
}

/// Totals of Spark's metrics per version over the queries' medians.
fn totals(r: &BenchReport) -> Vec<(String, SparkMetrics, usize)> {
    r.versions
        .iter()
        .map(|v| {
            let mut t = SparkMetrics::default();
            let mut n = 0;
            for q in &r.queries {
                if let Some(m) = q
                    .versions
                    .iter()
                    .find(|s| &s.version == v)
                    .and_then(|s| s.metrics.as_ref())
                {
                    n += 1;
                    t.jobs += m.jobs;
                    t.stages += m.stages;
                    t.stage_retries += m.stage_retries;
                    t.tasks += m.tasks;
                    t.failed_tasks += m.failed_tasks;
                    t.executor_run_ms += m.executor_run_ms;
                    t.executor_cpu_ms += m.executor_cpu_ms;
                    t.gc_ms += m.gc_ms;
                    t.input_bytes += m.input_bytes;
                    t.shuffle_read_bytes += m.shuffle_read_bytes;
                    t.shuffle_write_bytes += m.shuffle_write_bytes;
                    t.memory_spilled_bytes += m.memory_spilled_bytes;
                    t.disk_spilled_bytes += m.disk_spilled_bytes;
                    t.peak_execution_memory_bytes = t
                        .peak_execution_memory_bytes
                        .max(m.peak_execution_memory_bytes);
                }
            }
            (v.clone(), t, n)
        })
        .collect()
}

/// A named figure of Spark's metrics.
pub type Figure<T> = (&'static str, fn(&SparkMetrics) -> T);

const TOTAL_ROWS: [Figure<String>; 12] = [
    ("jobs", |m| m.jobs.to_string()),
    ("stages (retries)", |m| {
        format!("{} ({})", m.stages, m.stage_retries)
    }),
    ("tasks (failed)", |m| {
        format!("{} ({})", m.tasks, m.failed_tasks)
    }),
    ("executor run time", |m| {
        format!("{:.1} s", m.executor_run_ms as f64 / 1000.0)
    }),
    ("executor CPU time", |m| {
        format!("{:.1} s", m.executor_cpu_ms as f64 / 1000.0)
    }),
    ("GC time", |m| format!("{:.1} s", m.gc_ms as f64 / 1000.0)),
    ("input", |m| bytes(m.input_bytes)),
    ("shuffle read", |m| bytes(m.shuffle_read_bytes)),
    ("shuffle write", |m| bytes(m.shuffle_write_bytes)),
    ("spill (memory)", |m| bytes(m.memory_spilled_bytes)),
    ("spill (disk)", |m| bytes(m.disk_spilled_bytes)),
    (
        "largest stage peak execution memory (Σ over its tasks)",
        |m| bytes(m.peak_execution_memory_bytes),
    ),
];

fn spark_totals_html(out: &mut String, r: &BenchReport) {
    let t = totals(r);
    if t.iter().all(|(_, _, n)| *n == 0) {
        return;
    }
    out.push_str("<h3>Spark's own metrics (sum over the queries of each query's median)</h3><table><thead><tr><th>metric</th>");
    for (v, _, n) in &t {
        let _ = write!(out, "<th>{} ({n} queries)</th>", e(v));
    }
    out.push_str("</tr></thead><tbody>\n");
    for (name, f) in TOTAL_ROWS {
        let _ = write!(out, "<tr><td>{name}</td>");
        for (_, m, _) in &t {
            let _ = write!(out, "<td>{}</td>", e(&f(m)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");
}

/// The section as Markdown.
pub fn render_markdown(r: &BenchReport) -> String {
    let mut out = String::new();
    let (v, text) = verdict_line(r);
    let _ = writeln!(out, "**{}** — {}\n", v.as_str().to_uppercase(), text);
    let _ = writeln!(
        out,
        "{} queries, {} warm-up + {} timed run(s) per version, {} order (seed {}), threshold ±{:.0} %, {:.0} s.\n",
        r.settings.queries.len(),
        r.settings.warmup,
        r.settings.iterations,
        r.settings.order,
        r.settings.seed,
        r.settings.threshold * 100.0,
        r.ended_ms.saturating_sub(r.started_ms) as f64 / 1000.0
    );
    out.push_str("| query |");
    for v in &r.versions {
        let _ = write!(out, " {v} median [95 % CI] | {v} CV |");
    }
    out.push_str(" ratio [95 % CI] | verdict |");
    for v in &r.versions {
        let _ = write!(out, " {v} shuffle r+w | {v} peak mem (Σ tasks) |");
    }
    out.push_str("\n|---|");
    for _ in &r.versions {
        out.push_str("---|---|---|---|");
    }
    out.push_str("---|---|\n");
    for q in &r.queries {
        let _ = write!(out, "| {} |", q.query);
        for s in &q.versions {
            let _ = write!(out, " {} | {} |", secs(&s.median), noise(s));
        }
        let _ = write!(
            out,
            " {} | {} |",
            q.ratio.map(|x| ratio_text(&x)).unwrap_or("–".into()),
            change_word(q.change)
        );
        for s in &q.versions {
            let (shuffle, peak) = shuffle_and_peak(s);
            let _ = write!(out, " {shuffle} | {peak} |");
        }
        out.push('\n');
    }
    if let Some(g) = r.geomean {
        let _ = writeln!(out, "\nGeometric mean of the ratios: {}", ratio_text(&g));
    }
    let t = totals(r);
    if t.iter().any(|(_, _, n)| *n > 0) {
        out.push_str("\n| Spark metric (sum of medians) |");
        for (v, _, _) in &t {
            let _ = write!(out, " {v} |");
        }
        out.push_str("\n|---|");
        for _ in &t {
            out.push_str("---|");
        }
        out.push('\n');
        for (name, f) in TOTAL_ROWS {
            let _ = write!(out, "| {name} |");
            for (_, m, _) in &t {
                let _ = write!(out, " {} |", f(m));
            }
            out.push('\n');
        }
    }
    if !r.throughput.is_empty() {
        out.push_str("\n| throughput | streams | completed | failed | elapsed | queries/h | median query |\n|---|---|---|---|---|---|---|\n");
        for t in &r.throughput {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {:.0} s | {:.0} | {:.2} s |",
                t.version,
                t.streams,
                t.completed,
                t.failed,
                t.elapsed_s,
                t.queries_per_hour,
                t.median_query_s
            );
        }
    }
    if let Some(b) = &r.baseline {
        let regressions: Vec<String> = b
            .rows
            .iter()
            .filter(|x| x.change == Some(Change::Slower))
            .map(|x| {
                format!(
                    "{}@{} {}",
                    x.query,
                    x.version,
                    x.ratio.map(|r| ratio_text(&r)).unwrap_or_default()
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "\nAgainst the baseline `{}`: {}",
            b.source,
            if regressions.is_empty() {
                "no regression".to_string()
            } else {
                format!("regressions: {}", regressions.join(", "))
            }
        );
        for g in b.rows.iter().filter(|x| x.query == "geomean") {
            let _ = writeln!(
                out,
                "- {} geometric mean now / baseline: {}",
                g.version,
                g.ratio.map(|r| ratio_text(&r)).unwrap_or("–".into())
            );
        }
    }
    for h in &r.history_check {
        let _ = writeln!(
            out,
            "\nHistory Server cross-check, {} {}: {}{}",
            h.version,
            h.query,
            if h.agreed { "agrees" } else { "differs" },
            if h.notes.is_empty() {
                String::new()
            } else {
                format!(" ({})", h.notes.join("; "))
            }
        );
    }
    for n in &r.notes {
        let _ = writeln!(out, "\n> {n}");
    }
    out
}

/// JUnit test cases: one per query comparison (`<query>` in `chaos.<scenario>.bench`: a
/// failure when slower, skipped without a ratio) and one per baseline comparison
/// (`<query>@<version>` in `chaos.<scenario>.baseline`: a failure on a regression). Returns
/// (suite name, tests, failures, skipped, the cases' XML).
pub fn junit_suites(r: &BenchReport, scenario: &str) -> Vec<(String, usize, usize, usize, String)> {
    let mut suites = Vec::new();
    let case = |class: &str,
                name: &str,
                ratio: Option<Estimate>,
                change: Option<Change>,
                note: &str| {
        let open = format!(
            r#"    <testcase name="{}" classname="{}" time="0""#,
            super::esc(name),
            super::esc(class)
        );
        match (ratio, change) {
            (Some(r), Some(Change::Slower)) => (
                1,
                0,
                format!(
                    "{open}>\n      <failure message=\"slower: ratio {}\" type=\"slower\">{}</failure>\n    </testcase>\n",
                    super::esc(&ratio_text(&r)),
                    super::esc(note)
                ),
            ),
            (Some(_), _) => (0, 0, format!("{open}/>\n")),
            (None, _) => (
                0,
                1,
                format!(
                    "{open}>\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                    super::esc(if note.is_empty() { "no ratio" } else { note })
                ),
            ),
        }
    };
    if r.versions.len() >= 2 {
        let class = format!("chaos.{scenario}.bench");
        let (mut f, mut s, mut xml) = (0, 0, String::new());
        for q in &r.queries {
            let (a, b, x) = case(
                &class,
                &q.query,
                q.ratio,
                q.change,
                &format!(
                    "{} / {} median time",
                    r.versions.last().map(String::as_str).unwrap_or(""),
                    r.versions[0]
                ),
            );
            f += a;
            s += b;
            xml.push_str(&x);
        }
        suites.push((class, r.queries.len(), f, s, xml));
    }
    if let Some(b) = &r.baseline {
        let class = format!("chaos.{scenario}.baseline");
        let (mut f, mut s, mut xml) = (0, 0, String::new());
        for row in &b.rows {
            let (a, k, x) = case(
                &class,
                &format!("{}@{}", row.query, row.version),
                row.ratio,
                row.change,
                row.note.as_deref().unwrap_or("now / baseline median time"),
            );
            f += a;
            s += k;
            xml.push_str(&x);
        }
        suites.push((class, b.rows.len(), f, s, xml));
    }
    suites
}
