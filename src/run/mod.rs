//! `chaos run`: one scenario end to end — provision → data → warm-up → baseline → the fault
//! schedule → recovery → final heal → final reads → checks → reports → teardown.
//!
//! Every fault the run injects is owned by this process: a normal end, an error, Ctrl-C and a
//! panic all heal it ([`crate::fault::inject::HealGuard`]); a SIGKILL leaves it to the next
//! `chaos` command, which heals it from the ledger.

pub mod assemble;
mod bench;
pub mod drive;
#[cfg(test)]
mod path_tests;
pub mod rerender;
pub mod schedule;
#[cfg(test)]
mod seam_tests;
pub mod upgrade;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use crate::check::{self, CheckInput, CheckResult, Verdict};
use crate::exit;
use crate::fault::inject::{self, HealGuard, Scope};
use crate::fault::FaultRecord;
use crate::paths::{Cache, EnvHome};
use crate::platform::{Endpoints, EnvSettings, PlatformError, PlatformRef, UpProgress, UpRequest};
use crate::report::{self, Format, PhaseSpan, RunReport, RunStatus};
use crate::scenario::model::{Kind, ReportFormat, Scenario, WorkloadSpec};
use crate::units::now_ms;
use crate::workload::history::{Op, OpNames, OpRecord};
use crate::workload::load::{LoadQuery, Target};
use crate::workload::{assemble as wl, load, tpcds};

use self::drive::{drive, Harness};

/// Why a run could not start or could not finish writing its results.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The scenario cannot be run as written.
    #[error("{0}")]
    Input(String),
    /// The platform failed.
    #[error(transparent)]
    Platform(#[from] PlatformError),
    /// The environment, the data or the workload failed.
    #[error("{0}")]
    Env(String),
    /// A run's results could not be written.
    #[error("write {path}: {source}")]
    Output {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl RunError {
    /// The documented exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            RunError::Input(_) | RunError::Platform(PlatformError::Input(_)) => exit::INVALID_INPUT,
            RunError::Platform(PlatformError::Unsupported { .. }) => exit::INVALID_INPUT,
            RunError::Platform(_) | RunError::Env(_) => exit::ENVIRONMENT,
            RunError::Output { .. } => exit::OUTPUT,
        }
    }

    fn env(e: impl std::fmt::Display) -> RunError {
        RunError::Env(e.to_string())
    }
}

/// How to run.
pub struct RunOptions {
    /// Where the environment runs (its home holds the ledger).
    pub platform: PlatformRef,
    /// The cache.
    pub cache: Cache,
    /// The scenario file (for the report).
    pub file: PathBuf,
    /// Keep the environment up afterwards.
    pub keep_env: bool,
    /// Override the scenario's report directory.
    pub reports_dir: Option<PathBuf>,
    /// The environment's first port.
    pub base_port: u16,
    /// Polled for Ctrl-C.
    pub interrupted: fn() -> bool,
    /// Progress lines for people.
    pub say: fn(&str),
}

/// What a run produced.
pub struct RunOutcome {
    /// The report as written.
    pub report: RunReport,
    /// Where.
    pub dir: PathBuf,
    /// The documented exit code.
    pub exit_code: u8,
}

/// The exit code of a finished run.
pub fn exit_code(status: &RunStatus, verdict: Verdict) -> u8 {
    match status {
        RunStatus::Interrupted => exit::INTERRUPTED,
        RunStatus::Failed { .. } => exit::ENVIRONMENT,
        RunStatus::Completed => match verdict {
            Verdict::Valid => exit::OK,
            Verdict::Invalid => exit::CHECK_INVALID,
            Verdict::Unknown => exit::CHECK_UNKNOWN,
        },
    }
}

struct Phases {
    spans: Vec<PhaseSpan>,
    say: fn(&str),
}

impl Phases {
    fn begin(&mut self, name: &str, what: &str) {
        let now = now_ms();
        if let Some(last) = self.spans.last_mut() {
            if last.end_ms == 0 {
                last.end_ms = now;
            }
        }
        self.spans.push(PhaseSpan {
            name: name.into(),
            start_ms: now,
            end_ms: 0,
        });
        (self.say)(&format!("==> {name}: {what}"));
    }

    fn add(&mut self, name: &str, start_ms: u64, end_ms: u64) {
        if end_ms > start_ms {
            self.spans.push(PhaseSpan {
                name: name.into(),
                start_ms,
                end_ms,
            });
        }
    }

    fn finish(mut self) -> Vec<PhaseSpan> {
        let now = now_ms();
        for s in &mut self.spans {
            if s.end_ms == 0 {
                s.end_ms = now;
            }
        }
        self.spans.sort_by_key(|s| s.start_ms);
        self.spans
    }
}

/// The environment settings a scenario asks for.
pub fn settings_for(s: &Scenario) -> EnvSettings {
    let mut spark_conf = BTreeMap::new();
    for &line in &s.spark {
        let conf: Vec<(String, String)> = s.env.spark_conf.for_line(line).into_iter().collect();
        if !conf.is_empty() {
            spark_conf.insert(line, conf);
        }
    }
    EnvSettings {
        lines: s.spark.clone(),
        replicas: s.env.replicas,
        workers: s.env.workers,
        executor_memory: s.env.executor_memory.clone(),
        driver_memory: s.env.driver_memory.clone(),
        spark_conf,
        ..EnvSettings::default()
    }
}

/// The report formats a scenario asks for.
pub fn formats(s: &Scenario) -> Vec<Format> {
    s.report
        .formats
        .iter()
        .map(|f| match f {
            ReportFormat::Html => Format::Html,
            ReportFormat::Md => Format::Markdown,
            ReportFormat::Json => Format::Json,
            ReportFormat::Junit => Format::Junit,
        })
        .collect()
}

/// Brings up the environment the scenario needs; reuses a running one with the same settings.
/// Returns whether this run started it.
fn provision(s: &Scenario, o: &RunOptions) -> Result<bool, RunError> {
    let want = EnvSettings {
        base_port: o.base_port,
        ..settings_for(s)
    };
    let mut reused = false;
    if let Some(running) = o.platform.running()? {
        if running == want {
            reused = true;
        } else {
            (o.say)("    the running environment has other settings: stopping it");
            o.platform.down(true)?;
        }
    }
    let req = UpRequest {
        settings: want,
        spark_overrides: vec![],
        keep_failed: false,
        namespace: s.env.namespace.clone(),
        allowed_namespaces: s.env.allow_namespaces.clone(),
    };
    let last = Mutex::new(usize::MAX);
    let say = o.say;
    let progress = |p: UpProgress| {
        let mut l = last.lock().expect("not poisoned");
        if *l != p.ready {
            *l = p.ready;
            say(&format!("    {}/{} components ready", p.ready, p.total));
        }
    };
    // With the same settings `up` returns at once, unless what this binary installs changed
    // (the platform brings the environment up to date then).
    let r = o.platform.up(&req, &progress)?;
    if r.already_running {
        (o.say)("    reusing the running environment (same settings)");
    } else {
        (o.say)(&format!(
            "    environment ready after {:.0}s",
            r.ready_after.as_secs_f64()
        ));
    }
    Ok(!reused)
}

/// Runs a scenario. Errors before the run starts (an invalid fault schedule) are returned;
/// failures during the run are reported in the outcome with status `failed`.
pub fn run(s: &Scenario, text: &str, o: &RunOptions) -> Result<RunOutcome, RunError> {
    let occurrences = schedule::schedule(s)
        .map_err(|(i, e)| RunError::Input(format!("fault[{i}].{}: {}", e.field, e.message)))?;
    let home = o.platform.home();
    let started_ms = now_ms();
    let dir = o
        .reports_dir
        .clone()
        .unwrap_or_else(|| s.report.dir.clone())
        .join(report::report_dir_name(&s.name, started_ms));
    std::fs::create_dir_all(&dir).map_err(|source| RunError::Output {
        path: dir.clone(),
        source,
    })?;
    let mut phases = Phases {
        spans: vec![],
        say: o.say,
    };
    let guard = HealGuard::new(o.platform.clone());
    let mut parts = Parts::default();
    let result = run_phases(s, o, &occurrences, &dir, &mut phases, &mut parts);
    // Final heal: whatever this run still holds (an error or Ctrl-C mid-schedule).
    let (healed, failed) = inject::heal_where(o.platform.as_ref(), Scope::Mine, "final heal");
    for r in &healed {
        (o.say)(&format!("    healed {} ({})", r.id, r.kind));
    }
    guard.disarm();
    let status = match (&result, (o.interrupted)()) {
        (_, true) => RunStatus::Interrupted,
        (Ok(()), false) if failed.is_empty() => RunStatus::Completed,
        (Ok(()), false) => RunStatus::Failed {
            error: format!("could not heal: {}", failed.join("; ")),
        },
        (Err(e), false) => RunStatus::Failed {
            error: e.to_string(),
        },
    };
    if parts.started_env && !o.keep_env {
        phases.begin("teardown", "stopping the environment (--keep-env keeps it)");
        if let Err(e) = o.platform.down(false) {
            parts.notes.push(format!("teardown failed: {e}"));
        }
    }
    let faults = fault_records(home, started_ms, &parts.fault_ids);
    let report = assemble::build(assemble::Inputs {
        scenario: s,
        file: &o.file,
        text,
        started_ms,
        ended_ms: now_ms(),
        status,
        phases: phases.finish(),
        history: &parts.history,
        faults: &faults,
        writes: &parts.writes,
        workload: parts.workload_span,
        extra_checks: parts.extra_checks.clone(),
        sections: parts.sections.clone(),
        notes: parts.notes.clone(),
        components: parts.components.clone(),
        report_dir: &dir,
    });
    write_outputs(&report, &dir, &faults, &formats(s)).map_err(|source| RunError::Output {
        path: dir.clone(),
        source,
    })?;
    if let Err(e) = o.platform.collect_logs(&dir) {
        (o.say)(&format!("    could not collect the logs: {e}"));
    }
    let code = exit_code(&report.status, report.verdict);
    Ok(RunOutcome {
        report,
        dir,
        exit_code: code,
    })
}

/// Writes what a run leaves beside its `history.jsonl`: `faults.jsonl` and the report in each
/// format. `chaos report` re-renders from exactly these files ([`rerender`]).
pub fn write_outputs(
    report: &RunReport,
    dir: &Path,
    faults: &[FaultRecord],
    formats: &[Format],
) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    write_jsonl(&dir.join("faults.jsonl"), faults);
    report::write_all(report, dir, formats)
}

/// What the phases collect for the report.
#[derive(Default)]
struct Parts {
    started_env: bool,
    history: Vec<Op>,
    writes: BTreeMap<String, load::WriteCheck>,
    workload_span: Option<(u64, u64)>,
    fault_ids: Vec<String>,
    extra_checks: Vec<CheckResult>,
    sections: Vec<report::Section>,
    notes: Vec<String>,
    components: Vec<report::ComponentRow>,
}

/// The compatibility part: every statement on both versions, classified by the rule table;
/// coexistence, data compatibility, the History Server and client matrices.
fn run_compat(ctx: &Ctx, phases: &mut Phases, parts: &mut Parts) -> Result<(), RunError> {
    use crate::compat;
    let Ctx {
        s,
        o,
        dir,
        endpoints,
        rt,
        ..
    } = *ctx;
    use crate::scenario::model::StatementSet;
    let spec = s
        .compat
        .clone()
        .ok_or_else(|| RunError::Input("a compat scenario needs a [compat] table".into()))?;
    let mut cfg = compat::CompatConfig::new(Cache::at(o.cache.root()));
    cfg.statements = spec
        .statements
        .iter()
        .map(|st| match st {
            StatementSet::Tpcds => compat::StatementSet::Tpcds {
                queries: "all".into(),
            },
            StatementSet::Probes => compat::StatementSet::Probes,
        })
        .collect();
    cfg.confirm_rules = spec.confirm_rules;
    cfg.explain = spec.explain;
    cfg.timeout = spec.timeout.get();
    cfg.scale_db = tpcds::Scale::new(s.data.scale)
        .map_err(|e| RunError::Input(e.to_string()))?
        .database();
    phases.begin(
        "compat",
        "the same statements on both versions, classified by the rule table",
    );
    let say = o.say;
    let progress = |line: &str| say(&format!("    {line}"));
    let t0 = now_ms();
    let report = rt
        .block_on(compat::run(endpoints, &cfg, &progress))
        .map_err(RunError::env)?;
    parts.workload_span = None;
    let json = serde_json::to_value(&report).map_err(RunError::env)?;
    let _ = std::fs::write(
        dir.join("compat.json"),
        serde_json::to_vec_pretty(&json).unwrap_or_default(),
    );
    parts.extra_checks.extend(compat::checks(&report));
    parts
        .sections
        .push(report::Section::Compat(Box::new(report)));
    phases.add("differential", t0, now_ms());
    Ok(())
}

fn run_phases(
    s: &Scenario,
    o: &RunOptions,
    occurrences: &[schedule::Occurrence],
    dir: &Path,
    phases: &mut Phases,
    parts: &mut Parts,
) -> Result<(), RunError> {
    phases.begin(
        "provision",
        &format!(
            "Spark {} on the {} platform",
            s.spark
                .iter()
                .map(|l| l.version())
                .collect::<Vec<_>>()
                .join(" and "),
            o.platform.kind().name()
        ),
    );
    parts.started_env = provision(s, o)?;
    if (o.interrupted)() {
        return Ok(());
    }
    let endpoints = o.platform.endpoints()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| RunError::Env(format!("start async runtime: {e}")))?;

    phases.begin("data", &format!("TPC-DS at scale {}", s.data.scale));
    rt.block_on(tpcds::datagen(&o.cache, &endpoints, s.data.scale))
        .map_err(|e| RunError::Env(format!("{e:#}")))?;
    tpcds::answers(&o.cache, s.data.scale).map_err(|e| RunError::Env(format!("{e:#}")))?;
    if (o.interrupted)() {
        return Ok(());
    }

    let restarts_before = component_restarts(o);
    let ctx = Ctx {
        s,
        o,
        occurrences,
        dir,
        endpoints: &endpoints,
        rt: &rt,
    };
    let result = match s.kind {
        Kind::Chaos => run_workload(&ctx, phases, parts),
        Kind::Compat => run_compat(&ctx, phases, parts),
        Kind::Upgrade => upgrade::run_upgrade(&ctx, phases, parts),
        Kind::Bench => bench::run_bench(&ctx, phases, parts),
    };
    parts.components = component_rows(o, &restarts_before);
    result
}

/// The load of a scenario's workload against `targets`: shared by chaos and upgrade runs.
pub fn load_config(
    s: &Scenario,
    w: &WorkloadSpec,
    targets: Vec<Target>,
    queries: Vec<LoadQuery>,
    history: PathBuf,
    write_table: Option<String>,
) -> load::LoadConfig {
    load::LoadConfig {
        targets,
        queries,
        model: w.load_model(),
        duration: w.duration.get(),
        warmup: w.warmup.get(),
        op_timeout: w.timeout.get(),
        sessions: w.sessions as usize,
        writes: w.writes.then(|| load::WriteConfig {
            table: write_table.unwrap_or_else(|| {
                format!(
                    "default.chaos_writes_{}_{}",
                    s.name.replace('-', "_"),
                    now_ms()
                )
            }),
            every: w.write_every(),
            batch: w.write_batch().max(1),
        }),
        seed: w.seed,
        history,
        max_queries: None,
    }
}

/// What the workload phase of every kind of run works with.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    s: &'a Scenario,
    o: &'a RunOptions,
    occurrences: &'a [schedule::Occurrence],
    dir: &'a Path,
    endpoints: &'a Endpoints,
    rt: &'a tokio::runtime::Runtime,
}

fn run_workload(ctx: &Ctx, phases: &mut Phases, parts: &mut Parts) -> Result<(), RunError> {
    let Ctx {
        s,
        o,
        occurrences,
        dir,
        endpoints,
        rt,
    } = *ctx;
    let w = s
        .workload
        .as_ref()
        .ok_or_else(|| RunError::Input("a chaos scenario needs a [workload]".into()))?;
    let (queries, judge) = wl::queries(&o.cache, &w.query_selection(), s.data.scale)
        .map_err(|e| RunError::Env(e.to_string()))?;
    let targets = wl::targets(endpoints, &s.spark).map_err(|e| RunError::Input(e.to_string()))?;
    let history_path = dir.join("history.jsonl");
    let cfg = load_config(s, w, targets, queries, history_path.clone(), None);
    phases.begin(
        "warm-up",
        &format!(
            "{} then {} measured, {} fault occurrence(s)",
            w.warmup,
            crate::units::HumanDuration(w.measured()),
            occurrences.len()
        ),
    );
    let t0_ms = now_ms();
    let warmup_end = t0_ms + w.warmup.get().as_millis() as u64;
    let first_fault = occurrences
        .first()
        .map(|oc| t0_ms + oc.inject_at.as_millis() as u64);
    phases.add(
        "baseline",
        warmup_end,
        first_fault.unwrap_or(t0_ms + w.duration.get().as_millis() as u64),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let (harness, tally) = Harness::for_run(o, occurrences);
    let opts = load::LoadOptions {
        on_record: Some(drive::counting(tally)),
        concurrent_writes: w.concurrent_writes,
        // The reading session may hold a file listing from before other sessions' writes.
        refresh_before_read_back: true,
        ..load::LoadOptions::default()
    };
    let driven = rt.block_on(drive(
        harness,
        stop.clone(),
        load::run_with(cfg, judge, stop.clone(), opts),
    ));
    let t_end = now_ms();
    parts.fault_ids = driven.injected;
    parts.notes.extend(driven.notes);
    let driven_interrupted_ms = driven.interrupted_ms;
    let report = driven.output;
    if let (Some(first), Some(last)) = (
        first_fault,
        occurrences
            .iter()
            .filter_map(|oc| oc.heal_at.or(Some(oc.inject_at)))
            .max(),
    ) {
        let last_ms = t0_ms + last.as_millis() as u64;
        phases.add("faults", first, last_ms);
        phases.add(
            "recovery",
            last_ms,
            t0_ms + w.duration.get().as_millis() as u64,
        );
    }
    phases.add(
        "final-reads",
        t0_ms + w.duration.get().as_millis() as u64,
        t_end,
    );
    let report = report.map_err(|e| RunError::Env(format!("load: {e}")))?;
    parts.workload_span = Some(workload_span(
        t0_ms,
        w.duration.get(),
        driven_interrupted_ms,
    ));
    parts.history = read_history(&history_path)?;
    parts.writes = report
        .writes
        .into_iter()
        .map(|(v, c)| (v.version().to_string(), c))
        .collect();
    if parts.fault_ids.len() < occurrences.len() && !(o.interrupted)() {
        parts.extra_checks.push(CheckResult {
            check: "fault_schedule".into(),
            version: None,
            verdict: Verdict::Unknown,
            expected: format!("{} injected", occurrences.len()),
            observed: format!("{} injected", parts.fault_ids.len()),
            reason: "some scheduled faults could not be injected (see notes); the checks cover only what happened".into(),
            details: serde_json::Value::Null,
        });
    }
    Ok(())
}

/// The span the checks judge, Unix ms: from the workload's start to its planned end, or to the
/// interrupt when one came first — what follows it was never observed (a recovery after the
/// interrupt's heal is then unknown, not "never recovered"). Pure.
pub(crate) fn workload_span(
    t0_ms: u64,
    planned: std::time::Duration,
    interrupted_ms: Option<u64>,
) -> (u64, u64) {
    let planned_end = t0_ms + planned.as_millis() as u64;
    (
        t0_ms,
        interrupted_ms.map_or(planned_end, |i| i.min(planned_end)),
    )
}

fn read_history(path: &Path) -> Result<Vec<Op>, RunError> {
    read_ops(path).map_err(RunError::Env)
}

/// Reads a `history.jsonl` line by line into compact [`Op`]s (no string holds the file; a
/// missing file is an empty history). Errors name the file and the line.
pub fn read_ops(path: &Path) -> Result<Vec<Op>, String> {
    let mut names = OpNames::default();
    let mut ops = Vec::new();
    read_jsonl(path, |r: OpRecord| ops.push(Op::from_record(r, &mut names)))?;
    Ok(ops)
}

/// Calls `each` with every non-blank line of a JSON Lines file, read line by line; a missing
/// file has no lines. Errors name the file and the line.
pub fn read_jsonl<T: serde::de::DeserializeOwned>(
    path: &Path,
    mut each: impl FnMut(T),
) -> Result<(), String> {
    use std::io::BufRead as _;
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("read {}: {e}", path.display())),
    };
    let mut reader = std::io::BufReader::with_capacity(256 * 1024, file);
    let mut line = String::new();
    let mut n = 0;
    loop {
        line.clear();
        n += 1;
        match reader.read_line(&mut line) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) => return Err(format!("read {}:{n}: {e}", path.display())),
        }
        if line.trim().is_empty() {
            continue;
        }
        let item =
            serde_json::from_str(&line).map_err(|e| format!("{}:{n}: {e}", path.display()))?;
        each(item);
    }
}

fn fault_records(home: &EnvHome, since_ms: u64, ids: &[String]) -> Vec<FaultRecord> {
    inject::records_since(home, since_ms)
        .unwrap_or_default()
        .into_iter()
        .filter(|r| ids.contains(&r.id))
        .collect()
}

fn write_jsonl<T: serde::Serialize>(path: &Path, items: &[T]) {
    let text: String = items
        .iter()
        .filter_map(|i| serde_json::to_string(i).ok())
        .map(|l| l + "\n")
        .collect();
    let _ = std::fs::write(path, text);
}

fn component_restarts(o: &RunOptions) -> BTreeMap<String, u32> {
    o.platform
        .status()
        .map(|cs| cs.into_iter().map(|c| (c.id, c.restarts)).collect())
        .unwrap_or_default()
}

fn component_rows(o: &RunOptions, before: &BTreeMap<String, u32>) -> Vec<report::ComponentRow> {
    o.platform
        .status()
        .map(|cs| {
            cs.into_iter()
                .map(|c| report::ComponentRow {
                    restarts: c
                        .restarts
                        .saturating_sub(before.get(&c.id).copied().unwrap_or(0)),
                    version: c.line.map(|l| l.version().to_string()),
                    id: c.id,
                    last_exit: c.last_exit,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Runs the checks of a chaos run (exposed for tests of the assembly).
pub fn checks_for(
    s: &Scenario,
    history: &[Op],
    faults: &[FaultRecord],
    writes: &BTreeMap<String, load::WriteCheck>,
    span: (u64, u64),
    interrupted: bool,
) -> check::CheckReport {
    let versions: Vec<String> = s.spark.iter().map(|l| l.version().to_string()).collect();
    // An upgrade moves one stream of operations between versions: per-version windows and
    // recovery do not describe it (its own checks measure each switch, with
    // `recovery_within` as the unavailability bound).
    let thresholds = if s.kind == Kind::Upgrade {
        check::Thresholds {
            availability_before: None,
            availability_during: None,
            availability_after: None,
            recovery_within: None,
            ..s.checks.clone()
        }
    } else {
        s.checks.clone()
    };
    check::run_checks(
        &CheckInput {
            history,
            faults,
            writes,
            versions: &versions,
            workload_start_ms: span.0,
            workload_end_ms: span.1,
            interrupted,
        },
        &thresholds,
    )
}
