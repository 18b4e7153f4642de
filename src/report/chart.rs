//! The two charts of each version in the HTML report, as inline SVG: latency of the timeline's
//! operations over time (every failure and every operation in a fault window, the rest
//! thinned: see [`super::timeline_from`]), and throughput (every operation, exactly) with error rate per 10-second bucket. Both share the x axis
//! (seconds since the run's start), the shaded windows of the faults that affect the version
//! and the dashed phase boundaries.

use std::fmt::Write as _;

use super::svg::{n, nice_step, Frame, Linear, Log10};
use super::{esc, since_start, RunReport, TimelinePoint};
use crate::workload::history::OpOutcome;

/// Width of both charts (they scale to the page).
const WIDTH: f64 = 960.0;
/// Throughput bucket, seconds.
const BUCKET_S: f64 = 10.0;

/// Presentation of `ok` dots (a path of zero-length round-capped segments).
const OK_STYLE: &str = r##"stroke="#0969da" stroke-opacity=".6" stroke-width="4.5" stroke-linecap="round" fill="none""##;
/// Presentation of `fail` crosses.
const FAIL_STYLE: &str = r##"stroke="#cf222e" stroke-width="1.8" fill="none""##;
/// Presentation of `info` triangles.
const INFO_STYLE: &str = r##"fill="#bf8700" fill-opacity=".85""##;
/// Presentation of throughput bars.
const BAR_STYLE: &str = r##"fill="#2da44e" fill-opacity=".8""##;
/// Presentation of the error-rate line.
const RATE_STYLE: &str = r##"stroke="#cf222e" stroke-width="2" fill="none" stroke-linejoin="round" stroke-linecap="round""##;
/// Colour of fault windows.
const FAULT: &str = "#cf222e";

/// Latency (log scale) of every operation of `version` against its intended start: `ok` as blue
/// dots, `fail` as red crosses, `info` as amber triangles; a phase strip above the plot.
pub(crate) fn latency(report: &RunReport, version: &str) -> String {
    let frame = Frame {
        width: WIDTH,
        height: 340.0,
        left: 72.0,
        right: 24.0,
        top: 46.0,
        bottom: 44.0,
    };
    let points = points_of(report, version);
    let (min, max) = points.iter().fold((f64::MAX, 0f64), |(lo, hi), p| {
        (lo.min(p.latency_ms), hi.max(p.latency_ms))
    });
    let (min, max) = if points.is_empty() {
        (1.0, 1000.0)
    } else {
        (min, max)
    };
    let ys = Log10::covering(min, max, 0.1, (frame.y1(), frame.y0()));
    let xs = x_scale(report, &frame);

    let mut out = String::new();
    frame.open(
        &mut out,
        &format!("Latency of each operation on Spark {version} over time"),
    );
    legend(
        &mut out,
        &frame,
        &[
            (marker_ok(0.0, 0.0), OK_STYLE, "ok"),
            (marker_fail(0.0, 0.0), FAIL_STYLE, "fail"),
            (marker_info(0.0, 0.0), INFO_STYLE, "info (outcome unknown)"),
        ],
    );
    phase_strip(&mut out, report, &frame, &xs);
    fault_windows(&mut out, report, version, &frame, &xs, true);
    let y_ticks: Vec<(f64, String)> = ys
        .ticks()
        .into_iter()
        .map(|v| (ys.map(v), ms_label(v)))
        .collect();
    frame.y_axis(&mut out, &y_ticks, "latency from intended start", false);
    frame.x_axis(&mut out, &x_ticks(&xs), "seconds since start");
    phase_lines(&mut out, report, &frame, &xs);

    let (mut ok, mut fail, mut info) = (String::new(), String::new(), String::new());
    for p in &points {
        let (x, y) = (xs.map(p.t_ms as f64 / 1000.0), ys.map(p.latency_ms));
        match p.outcome {
            OpOutcome::Ok => ok.push_str(&marker_ok(x, y)),
            OpOutcome::Fail => fail.push_str(&marker_fail(x, y)),
            OpOutcome::Info => info.push_str(&marker_info(x, y)),
        }
    }
    draw_markers(&mut out, &ok, &fail, &info);
    if points.is_empty() {
        no_data(&mut out, &frame, version);
    }
    out.push_str("</svg>");
    out
}

/// `ok` operations per 10-second bucket (green bars, left axis) and the share of `fail` and
/// `info` outcomes per bucket (red line, right axis) for `version`, by intended start.
pub(crate) fn throughput(report: &RunReport, version: &str) -> String {
    let frame = Frame {
        width: WIDTH,
        height: 240.0,
        left: 72.0,
        right: 64.0,
        top: 26.0,
        bottom: 44.0,
    };
    let xs = x_scale(report, &frame);
    let duration_s = duration_s(report);
    let buckets = (duration_s / BUCKET_S).ceil().max(1.0) as usize;
    let (ok, total) = counts(report, version, buckets);
    let points = points_of(report, version);
    let max_ok = ok.iter().copied().max().unwrap_or(0).max(1) as f64;
    let step = nice_step(max_ok / 4.0).max(1.0);
    let top = (max_ok / step).ceil() * step;
    let ys = Linear::new((0.0, top), (frame.y1(), frame.y0()));
    let rate = Linear::new((0.0, 1.0), (frame.y1(), frame.y0()));

    let mut out = String::new();
    frame.open(
        &mut out,
        &format!("Throughput and error rate on Spark {version} per 10 s"),
    );
    legend(
        &mut out,
        &frame,
        &[
            ("M-4 -4h8v8h-8z".to_string(), BAR_STYLE, "ok ops per 10 s"),
            (
                "M-6 0h12".to_string(),
                RATE_STYLE,
                "error rate (fail + info)",
            ),
        ],
    );
    fault_windows(&mut out, report, version, &frame, &xs, false);
    let y_ticks: Vec<(f64, String)> = ys.ticks(4).into_iter().map(|v| (ys.map(v), n(v))).collect();
    frame.y_axis(&mut out, &y_ticks, "ok ops / 10 s", false);
    let r_ticks: Vec<(f64, String)> = [0.0, 0.25, 0.5, 0.75, 1.0]
        .iter()
        .map(|v| (rate.map(*v), format!("{}%", v * 100.0)))
        .collect();
    frame.y_axis(&mut out, &r_ticks, "error rate", true);
    frame.x_axis(&mut out, &x_ticks(&xs), "seconds since start");
    phase_lines(&mut out, report, &frame, &xs);

    let _ = write!(out, "<g {BAR_STYLE}>");
    for b in 0..buckets {
        let (from, to) = (
            b as f64 * BUCKET_S,
            ((b + 1) as f64 * BUCKET_S).min(duration_s),
        );
        let (x0, x1) = (xs.map(from), xs.map(to));
        let y = ys.map(ok[b] as f64);
        let _ = write!(
            out,
            r#"<rect x="{}" y="{}" width="{}" height="{}"><title>{}–{} s: {} ok of {}</title></rect>"#,
            n(x0 + 0.5),
            n(y),
            n((x1 - x0 - 1.0).max(0.5)),
            n(frame.y1() - y),
            n(from),
            n(to),
            ok[b],
            total[b]
        );
    }
    out.push_str("</g>");

    // The error-rate line, broken where a bucket has no operation; a lone bucket is a dot.
    let mut line = String::new();
    let mut drawing = false;
    for b in 0..buckets {
        if total[b] == 0 {
            drawing = false;
            continue;
        }
        let x = xs.map(((b as f64 + 0.5) * BUCKET_S).min(duration_s));
        let y = rate.map((total[b] - ok[b]) as f64 / total[b] as f64);
        if drawing {
            let _ = write!(line, "L{} {}", n(x), n(y));
        } else {
            let _ = write!(line, "M{} {}h0", n(x), n(y));
            drawing = true;
        }
    }
    let _ = write!(out, r#"<path class="error-rate" d="{line}" {RATE_STYLE}/>"#);
    if points.is_empty() {
        no_data(&mut out, &frame, version);
    }
    out.push_str("</svg>");
    out
}

/// `ok` and all operations of `version` per bucket, from the exact `throughput` rows (or, for
/// a report written before they existed, from the timeline, which then held every operation).
fn counts(report: &RunReport, version: &str, buckets: usize) -> (Vec<u64>, Vec<u64>) {
    let mut ok = vec![0u64; buckets];
    let mut total = vec![0u64; buckets];
    if report.throughput.is_empty() {
        for p in points_of(report, version) {
            let b = ((p.t_ms as f64 / 1000.0 / BUCKET_S) as usize).min(buckets - 1);
            total[b] += 1;
            if p.outcome == OpOutcome::Ok {
                ok[b] += 1;
            }
        }
    } else {
        for row in report.throughput.iter().filter(|r| r.version == version) {
            let b = ((row.t_s as f64 / BUCKET_S) as usize).min(buckets - 1);
            total[b] += row.total;
            ok[b] += row.ok;
        }
    }
    (ok, total)
}

fn points_of<'a>(report: &'a RunReport, version: &str) -> Vec<&'a TimelinePoint> {
    report
        .timeline
        .iter()
        .filter(|p| p.version == version)
        .collect()
}

/// The run's length in seconds (at least one, and long enough for every point).
fn duration_s(report: &RunReport) -> f64 {
    let last = report.timeline.iter().map(|p| p.t_ms).max().unwrap_or(0);
    (report.duration_ms().max(last) as f64 / 1000.0).max(1.0)
}

fn x_scale(report: &RunReport, frame: &Frame) -> Linear {
    Linear::new((0.0, duration_s(report)), (frame.x0(), frame.x1()))
}

fn x_ticks(xs: &Linear) -> Vec<(f64, String)> {
    xs.ticks(10)
        .into_iter()
        .map(|s| (xs.map(s), n(s)))
        .collect()
}

/// A latency tick label: `0.1 ms`, `100 ms`, `1 s`, `100 s`.
fn ms_label(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{} s", n(ms / 1000.0))
    } else {
        format!("{} ms", n(ms))
    }
}

/// Seconds since start of a Unix millisecond time.
fn secs(report: &RunReport, ms: u64) -> f64 {
    (ms as f64 - report.started_ms as f64) / 1000.0
}

/// The faults affecting `version`, shaded from inject to heal (to the end if never healed), at
/// least 2 px wide so that instantaneous faults show; labelled with id and kind if `labels`.
fn fault_windows(
    out: &mut String,
    report: &RunReport,
    version: &str,
    frame: &Frame,
    xs: &Linear,
    labels: bool,
) {
    out.push_str(r#"<g class="faults">"#);
    for f in report.faults.iter().filter(|f| f.affects(version)) {
        let healed = f.healed_ms.unwrap_or(report.ended_ms.max(f.injected_ms));
        let x0 = xs
            .map(secs(report, f.injected_ms))
            .clamp(frame.x0(), frame.x1());
        let x1 = xs.map(secs(report, healed)).clamp(frame.x0(), frame.x1());
        let until = match f.healed_ms {
            Some(h) => since_start(report, h),
            None => "never healed".to_string(),
        };
        let _ = write!(
            out,
            r#"<rect class="fault" x="{}" y="{}" width="{}" height="{}" fill="{FAULT}" fill-opacity=".1" stroke="{FAULT}" stroke-opacity=".35"><title>{} {} on {}: {} to {}</title></rect>"#,
            n(x0),
            n(frame.y0()),
            n((x1 - x0).max(2.0)),
            n(frame.y1() - frame.y0()),
            esc(&f.id),
            esc(&f.kind),
            esc(&f.target),
            since_start(report, f.injected_ms),
            until
        );
        if labels {
            let _ = write!(
                out,
                r#"<text x="{}" y="{}" class="fault-label">{} {}</text>"#,
                n(x0 + 4.0),
                n(frame.y0() + 13.0),
                esc(&f.id),
                esc(&f.kind)
            );
        }
    }
    out.push_str("</g>");
}

/// Dashed vertical lines where phases begin (except at the very start).
fn phase_lines(out: &mut String, report: &RunReport, frame: &Frame, xs: &Linear) {
    out.push_str(r##"<g stroke="#6e7781" stroke-dasharray="4 3">"##);
    for p in &report.phases {
        let s = secs(report, p.start_ms);
        if s <= 0.0 {
            continue;
        }
        let x = n(xs.map(s).min(frame.x1()));
        let _ = write!(
            out,
            r#"<line x1="{x}" y1="{}" x2="{x}" y2="{}"><title>{} starts at {}</title></line>"#,
            n(frame.y0()),
            n(frame.y1()),
            esc(&p.name),
            since_start(report, p.start_ms)
        );
    }
    out.push_str("</g>");
}

/// The phases as a strip of segments above the plot, named where the name fits.
fn phase_strip(out: &mut String, report: &RunReport, frame: &Frame, xs: &Linear) {
    let (y, h) = (frame.y0() - 20.0, 15.0);
    out.push_str(r#"<g class="phases">"#);
    for (i, p) in report.phases.iter().enumerate() {
        let x0 = xs
            .map(secs(report, p.start_ms))
            .clamp(frame.x0(), frame.x1());
        let x1 = xs.map(secs(report, p.end_ms)).clamp(frame.x0(), frame.x1());
        let fill = if i % 2 == 0 { "#eaeef2" } else { "#d8dee4" };
        let _ = write!(
            out,
            r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{fill}"><title>{}: {} to {}</title></rect>"#,
            n(x0),
            n(y),
            n((x1 - x0).max(0.0)),
            n(h),
            esc(&p.name),
            since_start(report, p.start_ms),
            since_start(report, p.end_ms)
        );
        if x1 - x0 >= p.name.chars().count() as f64 * 6.0 + 6.0 {
            let _ = write!(
                out,
                r#"<text x="{}" y="{}" text-anchor="middle" class="phase">{}</text>"#,
                n((x0 + x1) / 2.0),
                n(y + 11.0),
                esc(&p.name)
            );
        }
    }
    out.push_str("</g>");
}

/// A legend at the top right: each entry is a marker path drawn around (0, 0) and its text.
fn legend(out: &mut String, frame: &Frame, entries: &[(String, &str, &str)]) {
    // Right-aligned: estimate each entry's width from its text.
    let widths: Vec<f64> = entries
        .iter()
        .map(|(_, _, text)| 22.0 + text.chars().count() as f64 * 6.2)
        .collect();
    let mut x = frame.x1() - widths.iter().sum::<f64>();
    out.push_str(r#"<g class="legend">"#);
    for ((marker, style, text), w) in entries.iter().zip(&widths) {
        let _ = write!(
            out,
            r#"<g transform="translate({},12)"><path d="{marker}" {style}/><text x="10" y="4">{}</text></g>"#,
            n(x + 6.0),
            esc(text)
        );
        x += w;
    }
    out.push_str("</g>");
}

fn marker_ok(x: f64, y: f64) -> String {
    format!("M{} {}h0", n(x), n(y))
}

fn marker_fail(x: f64, y: f64) -> String {
    format!("M{} {}l6 6m0-6l-6 6", n(x - 3.0), n(y - 3.0))
}

fn marker_info(x: f64, y: f64) -> String {
    format!("M{} {}l4 7h-8z", n(x), n(y - 4.0))
}

/// Each outcome's markers as one path (compact however many operations there are).
fn draw_markers(out: &mut String, ok: &str, fail: &str, info: &str) {
    let _ = write!(
        out,
        r#"<path class="ok" d="{ok}" {OK_STYLE}/><path class="info" d="{info}" {INFO_STYLE}/><path class="fail" d="{fail}" {FAIL_STYLE}/>"#
    );
}

fn no_data(out: &mut String, frame: &Frame, version: &str) {
    let _ = write!(
        out,
        r#"<text x="{}" y="{}" text-anchor="middle">no operations recorded for Spark {}</text>"#,
        n((frame.x0() + frame.x1()) / 2.0),
        n((frame.y0() + frame.y1()) / 2.0),
        esc(version)
    );
}
