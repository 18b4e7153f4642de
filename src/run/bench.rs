//! The bench part of a run (`kind = "bench"`, and `chaos bench`): the power run, the
//! throughput run, the statistics, the baseline comparison and the History Server cross-check,
//! then the bench section, its checks and `bench.json` (what a later bench reads as baseline).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Ctx, Parts, Phases, RunError};
use crate::bench::metrics::{self, Api};
use crate::bench::model::{BenchReport, BenchSettings, HistoryCheck, Sample, SparkMetrics};
use crate::bench::runner::{self, Bench, VersionTarget};
use crate::bench::{analyse, read_baseline};
use crate::platform::topology;
use crate::units::now_ms;
use crate::workload::assemble as wl;

/// Runs the bench of `ctx`'s scenario.
pub(super) fn run_bench(ctx: &Ctx, phases: &mut Phases, parts: &mut Parts) -> Result<(), RunError> {
    let Ctx {
        s,
        o,
        dir,
        endpoints,
        rt,
        ..
    } = *ctx;
    let spec = s
        .bench
        .clone()
        .ok_or_else(|| RunError::Input("a bench scenario needs a [bench] table".into()))?;
    // The baseline is read first: a bad path fails before an hour of queries.
    let baseline = match &spec.baseline {
        Some(p) => {
            let path = resolve(&o.file, p);
            Some((
                read_baseline(&path).map_err(RunError::Input)?,
                path.display().to_string(),
            ))
        }
        None => None,
    };
    let (queries, judge) = wl::queries(&o.cache, &spec.query_selection(), s.data.scale)
        .map_err(|e| RunError::Env(e.to_string()))?;
    let targets: Vec<VersionTarget> = s
        .spark
        .iter()
        .map(|&line| {
            let ep = endpoints.version(line).ok_or_else(|| {
                RunError::Input(format!("Spark {line} is not part of this environment"))
            })?;
            Ok(VersionTarget {
                line,
                connect: ep
                    .connect_url()
                    .ok_or_else(|| RunError::Env(format!("Spark {line} has no Connect endpoint")))?
                    .to_string(),
                api: spec.spark_metrics.then(|| ep.ui.first().cloned()).flatten(),
                session_conf: spec.session_conf.for_line(line).into_iter().collect(),
            })
        })
        .collect::<Result<_, RunError>>()?;
    let settings = BenchSettings {
        queries: queries.iter().map(|q| q.name.clone()).collect(),
        iterations: spec.iterations,
        warmup: spec.warmup,
        order: match spec.order {
            crate::scenario::BenchOrder::Alternate => "alternate",
            crate::scenario::BenchOrder::Random => "random",
        }
        .into(),
        seed: spec.seed,
        threshold: spec.threshold,
        streams: spec.streams,
        scale: s.data.scale,
    };
    let say_fn = o.say;
    let say = move |l: &str| say_fn(l);
    let bench = Bench {
        targets: targets.clone(),
        queries,
        judge,
        timeout: spec.timeout.get(),
        interrupted: o.interrupted,
        say: &say,
    };
    let started = now_ms();
    phases.begin(
        "power",
        &format!(
            "{} queries × ({} warm-up + {} timed) on {}",
            bench.queries.len(),
            spec.warmup,
            spec.iterations,
            targets
                .iter()
                .map(|t| t.line.version())
                .collect::<Vec<_>>()
                .join(" and ")
        ),
    );
    let (mut samples, mut notes) = rt.block_on(runner::power(
        &bench,
        spec.warmup,
        spec.iterations,
        spec.order,
        spec.seed,
        spec.spark_metrics,
    ));
    if spec.streams > 0 && !(o.interrupted)() {
        phases.begin(
            "throughput",
            &format!("{} concurrent streams per version", spec.streams),
        );
        let (more, n) = rt.block_on(runner::throughput(&bench, spec.streams, spec.seed));
        samples.extend(more);
        notes.extend(n);
    }
    let versions: Vec<String> = targets
        .iter()
        .map(|t| t.line.version().to_string())
        .collect();
    let mut report = analyse::analyse(settings, versions.clone(), samples, started, now_ms());
    report.notes = notes;
    if spec.streams > 0 {
        report.throughput = versions
            .iter()
            .filter_map(|v| analyse::throughput(&report.samples, v, spec.streams))
            .collect();
    }
    if let Some((b, source)) = &baseline {
        report.baseline = Some(analyse::compare_baseline(&report, b, source));
    }
    if spec.history_check && !(o.interrupted)() {
        phases.begin(
            "history-check",
            "restart each first Connect server, compare one query with the History Server",
        );
        report.history_check = history_check(ctx, &report, &targets);
    }
    report.ended_ms = now_ms();
    write_bench_json(dir, &report)?;
    parts.extra_checks.extend(analyse::checks(&report));
    parts
        .sections
        .push(crate::report::Section::Bench(Box::new(report)));
    Ok(())
}

/// A path in a scenario file, relative to the file's directory.
fn resolve(file: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        return p.to_path_buf();
    }
    file.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map_or_else(|| p.to_path_buf(), |d| d.join(p))
}

fn write_bench_json(dir: &Path, r: &BenchReport) -> Result<(), RunError> {
    let path = dir.join("bench.json");
    let mut text = serde_json::to_vec_pretty(r).map_err(RunError::env)?;
    text.push(b'\n');
    std::fs::write(&path, text).map_err(|source| RunError::Output { path, source })
}

/// Per version: the last timed run with metrics is looked up again in the History Server
/// after its Connect server is restarted (which completes the application's event log).
fn history_check(ctx: &Ctx, r: &BenchReport, targets: &[VersionTarget]) -> Vec<HistoryCheck> {
    let Ctx {
        o, endpoints, rt, ..
    } = *ctx;
    let mut out = Vec::new();
    for t in targets {
        let v = t.line.version().to_string();
        let Some(sample) = r
            .samples
            .iter()
            .rev()
            .find(|x| x.version == v && x.counts() && x.metrics.is_some())
        else {
            continue;
        };
        let mut check = HistoryCheck {
            version: v.clone(),
            query: sample.query.clone(),
            app_id: String::new(),
            agreed: false,
            notes: Vec::new(),
            live: sample.metrics.clone(),
            history: None,
        };
        let history = endpoints.version(t.line).and_then(|e| e.history.clone());
        let (Some(ui), Some(history)) = (t.api.clone(), history) else {
            check
                .notes
                .push("no REST API or History Server endpoint on this platform".into());
            out.push(check);
            continue;
        };
        match rt.block_on(Api::new(&ui).apps("")) {
            Ok(apps) if !apps.is_empty() => check.app_id = apps[0].id.clone(),
            Ok(_) => check.notes.push(format!("{ui} lists no application")),
            Err(e) => check.notes.push(e),
        }
        if check.app_id.is_empty() {
            out.push(check);
            continue;
        }
        let component = topology::connect(t.line, 0);
        (o.say)(&format!(
            "    restarting {component} so that its event log is complete"
        ));
        if let Err(e) = o.platform.restart(&component, Duration::from_secs(300)) {
            check.notes.push(format!("restart {component}: {e}"));
            out.push(check);
            continue;
        }
        match rt.block_on(from_history(&history, &check.app_id, sample)) {
            Ok(m) => {
                check.notes = differences(sample.metrics.as_ref().expect("filtered"), &m);
                check.agreed = check.notes.is_empty();
                check.history = Some(m);
            }
            Err(e) => check.notes.push(e),
        }
        out.push(check);
    }
    out
}

async fn from_history(history: &str, app: &str, sample: &Sample) -> Result<SparkMetrics, String> {
    let api = Api::new(history);
    let until = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let listed = api.apps("?status=completed").await.unwrap_or_default();
        if listed.iter().any(|a| a.id == app) {
            let jobs = api.jobs(app).await?;
            let stages = api.stages(app).await?;
            return metrics::attribute(&jobs, &stages, &sample.operation_id).ok_or_else(|| {
                format!(
                    "the History Server's {app} has no job tagged with operation {}",
                    sample.operation_id
                )
            });
        }
        if tokio::time::Instant::now() >= until {
            return Err(format!(
                "the History Server did not list {app} as completed within 120 s"
            ));
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// The figures that must agree between the live API and the event log's replay.
fn differences(live: &SparkMetrics, history: &SparkMetrics) -> Vec<String> {
    let fields: [crate::report::bench::Figure<u64>; 9] = [
        ("jobs", |m| m.jobs),
        ("stages", |m| m.stages),
        ("tasks", |m| m.tasks),
        ("executor run time (ms)", |m| m.executor_run_ms),
        ("input bytes", |m| m.input_bytes),
        ("shuffle read bytes", |m| m.shuffle_read_bytes),
        ("shuffle write bytes", |m| m.shuffle_write_bytes),
        ("shuffle write records", |m| m.shuffle_write_records),
        ("peak execution memory", |m| m.peak_execution_memory_bytes),
    ];
    fields
        .iter()
        .filter(|(_, f)| f(live) != f(history))
        .map(|(name, f)| format!("{name}: live {} vs history {}", f(live), f(history)))
        .collect()
}
