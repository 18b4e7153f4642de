//! From a bench's samples to what it found (pure): per query and version the median with its
//! interval, the coefficient of variation and the iterations a noisy query needs; the newer /
//! older ratio per query and its geometric mean; the throughput run; the comparison with a
//! baseline; and the checks (`bench_answers`, `bench_parity`, `bench_regression`).

use std::collections::BTreeMap;

use serde_json::json;

use super::model::{
    BaselineComparison, BaselineRow, BenchReport, BenchSettings, QueryStats, Sample, SparkMetrics,
    Throughput, VersionStats,
};
use super::stats::{self, Change, Estimate};
use crate::check::model::{CheckResult, Verdict};

/// A seed per purpose and query, so that each interval is reproducible on its own.
fn seed_for(seed: u64, index: usize, purpose: u64) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add((index as u64) << 8)
        .wrapping_add(purpose)
}

/// The timed wall times of `query` on `version` that count.
pub fn times(samples: &[Sample], query: &str, version: &str) -> Vec<f64> {
    samples
        .iter()
        .filter(|s| s.query == query && s.version == version && s.counts())
        .map(|s| s.seconds)
        .collect()
}

/// Per field, the median over `all` (the upper middle value for an even count, so that every
/// figure is one that was observed); None when empty.
pub fn median_metrics(all: &[&SparkMetrics]) -> Option<SparkMetrics> {
    if all.is_empty() {
        return None;
    }
    let med = |f: &dyn Fn(&SparkMetrics) -> u64| {
        let mut v: Vec<u64> = all.iter().map(|m| f(m)).collect();
        v.sort_unstable();
        v[v.len() / 2]
    };
    Some(SparkMetrics {
        jobs: med(&|m| m.jobs),
        stages: med(&|m| m.stages),
        stage_retries: med(&|m| m.stage_retries),
        tasks: med(&|m| m.tasks),
        failed_tasks: med(&|m| m.failed_tasks),
        job_wall_ms: med(&|m| m.job_wall_ms),
        executor_run_ms: med(&|m| m.executor_run_ms),
        executor_cpu_ms: med(&|m| m.executor_cpu_ms),
        gc_ms: med(&|m| m.gc_ms),
        input_bytes: med(&|m| m.input_bytes),
        shuffle_read_bytes: med(&|m| m.shuffle_read_bytes),
        shuffle_read_records: med(&|m| m.shuffle_read_records),
        shuffle_write_bytes: med(&|m| m.shuffle_write_bytes),
        shuffle_write_records: med(&|m| m.shuffle_write_records),
        memory_spilled_bytes: med(&|m| m.memory_spilled_bytes),
        disk_spilled_bytes: med(&|m| m.disk_spilled_bytes),
        peak_execution_memory_bytes: med(&|m| m.peak_execution_memory_bytes),
    })
}

fn version_stats(settings: &BenchSettings, samples: &[Sample], q: usize, v: &str) -> VersionStats {
    let query = &settings.queries[q];
    let timed: Vec<&Sample> = samples
        .iter()
        .filter(|s| &s.query == query && s.version == v && !s.warmup && s.stream.is_none())
        .collect();
    let xs = times(samples, query, v);
    let cv = stats::cv(&xs);
    let metrics: Vec<&SparkMetrics> = timed
        .iter()
        .filter(|s| s.counts())
        .filter_map(|s| s.metrics.as_ref())
        .collect();
    VersionStats {
        version: v.to_string(),
        n: xs.len() as u32,
        failed: timed.iter().filter(|s| s.outcome != "ok").count() as u32,
        wrong: timed.iter().filter(|s| s.answer == "wrong").count() as u32,
        median: stats::median_ci(&xs, seed_for(settings.seed, q, 1)),
        cv,
        iterations_needed: cv.map(|c| stats::iterations_needed(c, settings.threshold)),
        metrics: median_metrics(&metrics),
    }
}

/// The statistics of a bench's samples. `versions` are older first: ratios are the last over
/// the first (none with one version). The throughput, baseline and History Server parts are
/// left empty for the caller.
pub fn analyse(
    settings: BenchSettings,
    versions: Vec<String>,
    samples: Vec<Sample>,
    started_ms: u64,
    ended_ms: u64,
) -> BenchReport {
    let pair = (versions.len() >= 2).then(|| {
        (
            versions.first().cloned().unwrap_or_default(),
            versions.last().cloned().unwrap_or_default(),
        )
    });
    let mut pairs = Vec::new();
    let queries: Vec<QueryStats> = (0..settings.queries.len())
        .map(|q| {
            let name = &settings.queries[q];
            let per: Vec<VersionStats> = versions
                .iter()
                .map(|v| version_stats(&settings, &samples, q, v))
                .collect();
            let ratio = pair.as_ref().and_then(|(old, new)| {
                let (a, b) = (times(&samples, name, old), times(&samples, name, new));
                let r = stats::ratio_ci(&a, &b, seed_for(settings.seed, q, 2));
                if r.is_some() {
                    pairs.push((a, b));
                }
                r
            });
            QueryStats {
                query: name.clone(),
                versions: per,
                change: ratio.map(|r| stats::change(&r, settings.threshold)),
                ratio,
            }
        })
        .collect();
    let geomean = stats::geomean_ratio_ci(&pairs, seed_for(settings.seed, 0, 3));
    let parity = parity_text(&versions, geomean, settings.threshold, &queries);
    BenchReport {
        settings,
        versions,
        started_ms,
        ended_ms,
        queries,
        geomean,
        parity,
        throughput: Vec::new(),
        baseline: None,
        history_check: Vec::new(),
        notes: Vec::new(),
        samples,
    }
}

/// The parity verdict: `Valid` when the whole interval of the geometric mean lies at or below
/// 1 + threshold (parity or improvement shown), `Invalid` when it lies above (a slowdown
/// shown), `Unknown` when it straddles the line or there is no ratio.
pub fn parity(geomean: Option<Estimate>, threshold: f64) -> Verdict {
    match geomean {
        Some(g) if g.high <= 1.0 + threshold => Verdict::Valid,
        Some(g) if g.low > 1.0 + threshold => Verdict::Invalid,
        _ => Verdict::Unknown,
    }
}

fn pct(r: f64) -> String {
    format!("{:+.1} %", (r - 1.0) * 100.0)
}

/// An estimate as people read it: `0.93 [0.88, 0.99]`.
pub fn ratio_text(e: &Estimate) -> String {
    format!("{:.2} [{:.2}, {:.2}]", e.value, e.low, e.high)
}

fn parity_text(
    versions: &[String],
    geomean: Option<Estimate>,
    threshold: f64,
    queries: &[QueryStats],
) -> String {
    let (Some(old), Some(new)) = (versions.first(), versions.last()) else {
        return "no versions ran".into();
    };
    if versions.len() < 2 {
        return format!("only {old} ran: no comparison");
    }
    let Some(g) = geomean else {
        return format!("no query ran correctly on both {old} and {new}: no comparison");
    };
    let slower = queries
        .iter()
        .filter(|q| q.change == Some(Change::Slower))
        .count();
    let faster = queries
        .iter()
        .filter(|q| q.change == Some(Change::Faster))
        .count();
    let head = match parity(Some(g), threshold) {
        Verdict::Valid if g.high < 1.0 - threshold => {
            format!("{new} is faster than {old}")
        }
        Verdict::Valid => format!("{new} shows parity with {old} or better"),
        Verdict::Invalid => format!("{new} is slower than {old}"),
        Verdict::Unknown => format!(
            "not decided: the interval reaches beyond the {:.0} % threshold",
            threshold * 100.0
        ),
    };
    format!(
        "{head}: geometric mean of {new} / {old} = {} ({}, 95 % CI); {faster} quer{} faster, {slower} slower, {} without a detectable difference beyond ±{:.0} %",
        ratio_text(&g),
        pct(g.value),
        if faster == 1 { "y" } else { "ies" },
        queries.iter().filter(|q| q.ratio.is_some()).count() - slower - faster,
        threshold * 100.0
    )
}

/// The throughput run of `version` from its stream samples.
pub fn throughput(samples: &[Sample], version: &str, streams: u32) -> Option<Throughput> {
    let runs: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.version == version && s.stream.is_some())
        .collect();
    let first = runs.iter().map(|s| s.started_ms).min()?;
    let last = runs
        .iter()
        .map(|s| s.started_ms + (s.seconds * 1000.0).round() as u64)
        .max()?;
    let ok: Vec<f64> = runs
        .iter()
        .filter(|s| s.outcome == "ok" && s.answer != "wrong")
        .map(|s| s.seconds)
        .collect();
    let elapsed_s = last.saturating_sub(first) as f64 / 1000.0;
    Some(Throughput {
        version: version.to_string(),
        streams,
        completed: ok.len() as u32,
        failed: (runs.len() - ok.len()) as u32,
        elapsed_s,
        queries_per_hour: if elapsed_s > 0.0 {
            ok.len() as f64 * 3600.0 / elapsed_s
        } else {
            0.0
        },
        median_query_s: stats::median(&ok).unwrap_or(0.0),
    })
}

/// This bench against `baseline`: per query and version the ratio now / then with its
/// interval, and the geometric mean per version.
pub fn compare_baseline(
    now: &BenchReport,
    baseline: &BenchReport,
    source: &str,
) -> BaselineComparison {
    let t = now.settings.threshold;
    let mut rows = Vec::new();
    for v in &now.versions {
        let mut pairs = Vec::new();
        for (q, name) in now.settings.queries.iter().enumerate() {
            let (then, cur) = (
                times(&baseline.samples, name, v),
                times(&now.samples, name, v),
            );
            let note = if !baseline.versions.contains(v) {
                Some(format!("the baseline did not run {v}"))
            } else if then.is_empty() {
                Some("no correct timed run in the baseline".to_string())
            } else if cur.is_empty() {
                Some("no correct timed run now".to_string())
            } else {
                None
            };
            let ratio = note
                .is_none()
                .then(|| stats::ratio_ci(&then, &cur, seed_for(now.settings.seed, q, 4)))
                .flatten();
            if ratio.is_some() {
                pairs.push((then, cur));
            }
            rows.push(BaselineRow {
                query: name.clone(),
                version: v.clone(),
                change: ratio.map(|r| stats::change(&r, t)),
                ratio,
                note,
            });
        }
        let g = stats::geomean_ratio_ci(&pairs, seed_for(now.settings.seed, 0, 5));
        rows.push(BaselineRow {
            query: "geomean".into(),
            version: v.clone(),
            change: g.map(|r| stats::change(&r, t)),
            ratio: g,
            note: g.is_none().then(|| "no query to compare".to_string()),
        });
    }
    BaselineComparison {
        source: source.to_string(),
        started_ms: baseline.started_ms,
        rows,
    }
}

fn check(
    name: &str,
    version: Option<&str>,
    verdict: Verdict,
    expected: &str,
    observed: String,
    reason: String,
    details: serde_json::Value,
) -> CheckResult {
    CheckResult {
        check: name.into(),
        version: version.map(str::to_string),
        verdict,
        expected: expected.into(),
        observed,
        reason,
        details,
    }
}

/// The checks of a bench: `bench_answers` per version (every timed answer right; failures
/// make it unknown), `bench_parity` (with two versions) and `bench_regression` per version
/// (with a baseline).
pub fn checks(r: &BenchReport) -> Vec<CheckResult> {
    let t = r.settings.threshold;
    let mut out = Vec::new();
    for v in &r.versions {
        let mut wrong = Vec::new();
        let mut failed = Vec::new();
        let mut ok = 0u32;
        for q in &r.queries {
            if let Some(s) = q.versions.iter().find(|s| &s.version == v) {
                if s.wrong > 0 {
                    wrong.push(q.query.clone());
                } else if s.n == 0 {
                    failed.push(q.query.clone());
                }
                ok += s.n;
            }
        }
        let errors: BTreeMap<String, String> = r
            .samples
            .iter()
            .filter(|s| &s.version == v && (s.answer == "wrong" || s.outcome != "ok"))
            .filter_map(|s| s.error.clone().map(|e| (s.query.clone(), e)))
            .collect();
        let (verdict, reason) = if !wrong.is_empty() {
            (
                Verdict::Invalid,
                format!("wrong answers from {}", wrong.join(", ")),
            )
        } else if !failed.is_empty() {
            (
                Verdict::Unknown,
                format!("no correct timed run of {}", failed.join(", ")),
            )
        } else {
            (
                Verdict::Valid,
                "every timed run answered correctly".to_string(),
            )
        };
        out.push(check(
            "bench_answers",
            Some(v),
            verdict,
            "every query answered correctly",
            format!(
                "{ok} correct run(s); {} quer{} wrong, {} without a correct run",
                wrong.len(),
                if wrong.len() == 1 { "y" } else { "ies" },
                failed.len()
            ),
            reason,
            json!({ "wrong": wrong, "failed": failed, "errors": errors }),
        ));
    }
    if r.versions.len() >= 2 {
        let verdict = parity(r.geomean, t);
        let slower: Vec<&str> = r
            .queries
            .iter()
            .filter(|q| q.change == Some(Change::Slower))
            .map(|q| q.query.as_str())
            .collect();
        out.push(check(
            "bench_parity",
            None,
            verdict,
            &format!(
                "geometric mean {} / {} ≤ {:.2} (95 % CI)",
                r.versions.last().map(String::as_str).unwrap_or(""),
                r.versions[0],
                1.0 + t
            ),
            r.geomean
                .map(|g| ratio_text(&g))
                .unwrap_or_else(|| "no ratio".into()),
            r.parity.clone(),
            json!({ "geomean": r.geomean, "slower_queries": slower, "threshold": t }),
        ));
    }
    if let Some(b) = &r.baseline {
        for v in &r.versions {
            let rows: Vec<&BaselineRow> = b.rows.iter().filter(|x| &x.version == v).collect();
            let regressed: Vec<String> = rows
                .iter()
                .filter(|x| x.change == Some(Change::Slower))
                .map(|x| match &x.ratio {
                    Some(e) => format!("{} ({})", x.query, pct(e.value)),
                    None => x.query.clone(),
                })
                .collect();
            let undecided: Vec<&str> = rows
                .iter()
                .filter(|x| x.ratio.is_none())
                .map(|x| x.query.as_str())
                .collect();
            let compared = rows.iter().filter(|x| x.ratio.is_some()).count();
            let (verdict, reason) = if !regressed.is_empty() {
                (
                    Verdict::Invalid,
                    format!(
                        "slower than the baseline beyond {:.0} % with 95 % confidence: {}",
                        t * 100.0,
                        regressed.join(", ")
                    ),
                )
            } else if !undecided.is_empty() {
                (
                    Verdict::Unknown,
                    format!("not comparable with the baseline: {}", undecided.join(", ")),
                )
            } else {
                (
                    Verdict::Valid,
                    format!(
                        "no query slower than the baseline beyond {:.0} %",
                        t * 100.0
                    ),
                )
            };
            out.push(check(
                "bench_regression",
                Some(v),
                verdict,
                &format!("no query slower than the baseline by > {:.0} %", t * 100.0),
                format!(
                    "{} regression(s) in {compared} comparison(s)",
                    regressed.len()
                ),
                reason,
                json!({ "regressed": regressed, "undecided": undecided, "baseline": b.source }),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests;
