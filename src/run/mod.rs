//! `chaos run`: one scenario end to end — provision → data → warm-up → baseline → the fault
//! schedule → recovery → final heal → final reads → checks → reports → teardown.
//!
//! Every fault the run injects is owned by this process: a normal end, an error, Ctrl-C and a
//! panic all heal it ([`crate::fault::inject::HealGuard`]); a SIGKILL leaves it to the next
//! `chaos` command, which heals it from the ledger.

pub mod assemble;
pub mod schedule;
pub mod upgrade;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::check::{self, CheckInput, CheckResult, Verdict};
use crate::exit;
use crate::fault::inject::{self, HealGuard, Scope};
use crate::fault::ledger::Owner;
use crate::fault::FaultRecord;
use crate::paths::{Cache, EnvHome};
use crate::platform::local::env::{self, UpOptions};
use crate::platform::local::plan::EnvSettings;
use crate::platform::local::state::now_ms;
use crate::report::{self, Format, PhaseSpan, RunReport, RunStatus};
use crate::scenario::model::{Kind, ReportFormat, Scenario};
use crate::workload::history::{OpOutcome, OpRecord};
use crate::workload::{assemble as wl, load, tpcds};

/// How to run.
pub struct RunOptions {
    /// The environment's home.
    pub home: EnvHome,
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

fn formats(s: &Scenario) -> Vec<Format> {
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
fn provision(s: &Scenario, o: &RunOptions) -> Result<bool, String> {
    let want = EnvSettings {
        base_port: o.base_port,
        ..settings_for(s)
    };
    if let Some(_state) = env::running_state(&o.home).map_err(|e| e.to_string())? {
        let plan = env::read_plan(&o.home).map_err(|e| e.to_string())?;
        if plan.settings == want && !plan.links.is_empty() {
            (o.say)("    reusing the running environment (same settings)");
            return Ok(false);
        }
        (o.say)("    the running environment has other settings: stopping it");
        env::down(&o.home, true).map_err(|e| e.to_string())?;
    }
    let opts = UpOptions {
        settings: want,
        spark_overrides: vec![],
        keep_failed: false,
    };
    let last = Mutex::new(usize::MAX);
    let say = o.say;
    let progress = |st: &crate::platform::local::state::EnvState| {
        let ready = st.components.iter().filter(|c| c.ready).count();
        let mut l = last.lock().expect("not poisoned");
        if *l != ready {
            *l = ready;
            say(&format!(
                "    {ready}/{} components ready",
                st.components.len()
            ));
        }
    };
    let r = env::up(&o.home, &o.cache, &opts, &progress).map_err(|e| format!("{e:#}"))?;
    (o.say)(&format!(
        "    environment ready after {:.0}s",
        r.ready_after.as_secs_f64()
    ));
    Ok(!r.already_running)
}

/// Runs a scenario. Errors before the run starts (an invalid fault schedule) are returned;
/// failures during the run are reported in the outcome with status `failed`.
pub fn run(s: &Scenario, text: &str, o: &RunOptions) -> Result<RunOutcome, String> {
    let occurrences =
        schedule::schedule(s).map_err(|(i, e)| format!("fault[{i}].{}: {}", e.field, e.message))?;
    let started_ms = now_ms();
    let dir = o
        .reports_dir
        .clone()
        .unwrap_or_else(|| s.report.dir.clone())
        .join(report::report_dir_name(&s.name, started_ms));
    std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    let mut phases = Phases {
        spans: vec![],
        say: o.say,
    };
    let guard = HealGuard::new(&o.home);
    let mut parts = Parts::default();
    let result = run_phases(s, o, &occurrences, &dir, &mut phases, &mut parts);
    // Final heal: whatever this run still holds (an error or Ctrl-C mid-schedule).
    let (healed, failed) = inject::heal_where(&o.home, Scope::Mine, "final heal");
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
        (Err(e), false) => RunStatus::Failed { error: e.clone() },
    };
    if parts.started_env && !o.keep_env {
        phases.begin("teardown", "stopping the environment (--keep-env keeps it)");
        if let Err(e) = env::down(&o.home, false) {
            parts.notes.push(format!("teardown failed: {e}"));
        }
    }
    let faults = fault_records(&o.home, started_ms, &parts.fault_ids);
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
    write_jsonl(&dir.join("faults.jsonl"), &faults);
    let written = report::write_all(&report, &dir, &formats(s))
        .map_err(|e| format!("write the report in {}: {e}", dir.display()))?;
    let _ = written;
    copy_logs(&o.home, &dir);
    let code = exit_code(&report.status, report.verdict);
    Ok(RunOutcome {
        report,
        dir,
        exit_code: code,
    })
}

/// What the phases collect for the report.
#[derive(Default)]
struct Parts {
    started_env: bool,
    history: Vec<OpRecord>,
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
fn run_compat(
    s: &Scenario,
    o: &RunOptions,
    dir: &Path,
    phases: &mut Phases,
    parts: &mut Parts,
    rt: &tokio::runtime::Runtime,
) -> Result<(), String> {
    use crate::compat;
    use crate::scenario::model::StatementSet;
    let spec = s
        .compat
        .clone()
        .ok_or("a compat scenario needs a [compat] table")?;
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
        .map_err(|e| e.to_string())?
        .database();
    phases.begin(
        "compat",
        "the same statements on both versions, classified by the rule table",
    );
    let endpoints = compat::EnvEndpoints::from_home(o.home.root()).map_err(|e| e.to_string())?;
    let say = o.say;
    let progress = |line: &str| say(&format!("    {line}"));
    let t0 = now_ms();
    let report = rt
        .block_on(compat::run(&endpoints, &cfg, &progress))
        .map_err(|e| e.to_string())?;
    parts.workload_span = None;
    let json = serde_json::to_value(&report).map_err(|e| e.to_string())?;
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
) -> Result<(), String> {
    phases.begin(
        "provision",
        &format!(
            "Spark {} on the {} platform",
            s.spark
                .iter()
                .map(|l| l.version())
                .collect::<Vec<_>>()
                .join(" and "),
            match s.platform {
                crate::scenario::model::Platform::Local => "local",
                crate::scenario::model::Platform::Kubernetes => "kubernetes",
            }
        ),
    );
    if s.platform != crate::scenario::model::Platform::Local {
        return Err("only the local platform can run scenarios here; the Kubernetes platform is not implemented yet".into());
    }
    parts.started_env = provision(s, o)?;
    if (o.interrupted)() {
        return Ok(());
    }
    let plan = env::read_plan(&o.home).map_err(|e| e.to_string())?;
    let secrets = env::read_secrets(&o.home).map_err(|e| e.to_string())?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("start async runtime: {e}"))?;

    phases.begin("data", &format!("TPC-DS at scale {}", s.data.scale));
    rt.block_on(tpcds::datagen(&o.cache, &plan, &secrets, s.data.scale))
        .map_err(|e| format!("{e:#}"))?;
    tpcds::answers(&o.cache, s.data.scale).map_err(|e| format!("{e:#}"))?;
    if (o.interrupted)() {
        return Ok(());
    }

    let restarts_before = component_restarts(&o.home);
    let result = match s.kind {
        Kind::Chaos => run_workload(s, o, occurrences, dir, phases, parts, &plan, &rt),
        Kind::Compat => run_compat(s, o, dir, phases, parts, &rt),
        Kind::Upgrade => upgrade::run_upgrade(s, o, occurrences, dir, phases, parts, &plan, &rt),
    };
    parts.components = component_rows(&o.home, &restarts_before);
    result
}

#[allow(clippy::too_many_arguments)]
fn run_workload(
    s: &Scenario,
    o: &RunOptions,
    occurrences: &[schedule::Occurrence],
    dir: &Path,
    phases: &mut Phases,
    parts: &mut Parts,
    plan: &crate::platform::local::plan::Plan,
    rt: &tokio::runtime::Runtime,
) -> Result<(), String> {
    let w = s
        .workload
        .as_ref()
        .ok_or("a chaos scenario needs a [workload]")?;
    let (queries, judge) =
        wl::queries(&o.cache, &w.query_selection(), s.data.scale).map_err(|e| e.to_string())?;
    let targets = wl::targets(plan, &s.spark).map_err(|e| e.to_string())?;
    let history_path = dir.join("history.jsonl");
    let cfg = load::LoadConfig {
        targets,
        queries,
        model: w.load_model(),
        duration: w.duration.get(),
        warmup: w.warmup.get(),
        op_timeout: w.timeout.get(),
        sessions: w.sessions as usize,
        writes: w.writes.then(|| load::WriteConfig {
            table: format!(
                "default.chaos_writes_{}_{}",
                s.name.replace('-', "_"),
                now_ms()
            ),
            every: w.write_every(),
            batch: w.write_batch().max(1),
        }),
        seed: w.seed,
        history: history_path.clone(),
        max_queries: None,
    };
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
    let injected: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(vec![]));
    let notes: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(vec![]));
    let say = o.say;
    let interrupted = o.interrupted;
    let report = rt.block_on(async {
        let stop_w = stop.clone();
        let watcher = tokio::spawn(async move {
            while !interrupted() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            stop_w.store(true, Ordering::SeqCst);
        });
        let sched = tokio::spawn(run_schedule(
            occurrences.to_vec(),
            EnvHome::at(o.home.root()),
            Instant::now(),
            stop.clone(),
            injected.clone(),
            notes.clone(),
            say,
        ));
        let tally = Tally::default();
        let ticker = tokio::spawn(progress(tally.clone(), Instant::now(), say));
        let opts = load::LoadOptions {
            on_record: Some(counting(tally)),
            concurrent_writes: w.concurrent_writes,
            // The reading session may hold a file listing from before other sessions' writes.
            refresh_before_read_back: true,
            ..load::LoadOptions::default()
        };
        let r = load::run_with(cfg, judge, stop.clone(), opts).await;
        stop.store(true, Ordering::SeqCst);
        let _ = sched.await;
        watcher.abort();
        ticker.abort();
        r
    });
    let t_end = now_ms();
    parts.fault_ids = injected.lock().expect("not poisoned").clone();
    parts
        .notes
        .extend(notes.lock().expect("not poisoned").iter().cloned());
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
    let report = report.map_err(|e| format!("load: {e}"))?;
    parts.workload_span = Some((t0_ms, t0_ms + w.duration.get().as_millis() as u64));
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

/// Operations finished so far, per version: ok, fail, info.
type Tally = Arc<Mutex<BTreeMap<&'static str, [u64; 3]>>>;

/// Counts one record's outcome into `tally`.
fn count_record(tally: &Tally, r: &OpRecord) {
    let mut t = tally.lock().expect("not poisoned");
    let c = t.entry(r.version.version()).or_default();
    match r.outcome {
        OpOutcome::Ok => c[0] += 1,
        OpOutcome::Fail => c[1] += 1,
        OpOutcome::Info => c[2] += 1,
    }
}

/// A record sink that counts outcomes per version into `tally`.
fn counting(tally: Tally) -> load::RecordSink {
    Arc::new(move |r: &OpRecord| count_record(&tally, r))
}

/// Every 10 s, one line: operations finished so far per version and outcome.
async fn progress(tally: Tally, t0: Instant, say: fn(&str)) {
    loop {
        tokio::time::sleep(Duration::from_secs(10)).await;
        let parts: Vec<String> = tally
            .lock()
            .expect("not poisoned")
            .iter()
            .map(|(v, [ok, fail, info])| format!("{v}: {ok} ok, {fail} fail, {info} info"))
            .collect();
        say(&format!(
            "    {:>6.1}s {}",
            t0.elapsed().as_secs_f64(),
            if parts.is_empty() {
                "no operation finished yet".to_string()
            } else {
                parts.join(" | ")
            }
        ));
    }
}

/// Injects and heals on schedule, relative to `t0`.
async fn run_schedule(
    occurrences: Vec<schedule::Occurrence>,
    home: EnvHome,
    t0: Instant,
    stop: Arc<AtomicBool>,
    injected: Arc<Mutex<Vec<String>>>,
    notes: Arc<Mutex<Vec<String>>>,
    say: fn(&str),
) {
    // Events: (at, inject occurrence index) or (at, heal fault id).
    let mut pending_heals: Vec<(Duration, String)> = Vec::new();
    let mut next = 0usize;
    loop {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let now = t0.elapsed();
        pending_heals.sort_by_key(|(t, _)| *t);
        if let Some(pos) = pending_heals.iter().position(|(t, _)| *t <= now) {
            let (_, id) = pending_heals.remove(pos);
            let h = EnvHome::at(home.root());
            let r = tokio::task::spawn_blocking(move || inject::heal(&h, &id, "scheduled")).await;
            match r {
                Ok(Ok(rec)) => say(&format!(
                    "    {:>6.1}s heal   {} {} {}",
                    t0.elapsed().as_secs_f64(),
                    rec.id,
                    rec.kind,
                    rec.target
                )),
                Ok(Err(e)) => notes
                    .lock()
                    .expect("not poisoned")
                    .push(format!("heal failed: {e}")),
                Err(e) => notes
                    .lock()
                    .expect("not poisoned")
                    .push(format!("heal task: {e}")),
            }
            continue;
        }
        if let Some(oc) = occurrences.get(next).filter(|oc| oc.inject_at <= now) {
            next += 1;
            let h = EnvHome::at(home.root());
            let spec = oc.spec.clone();
            let dur = oc.heal_at.map(|h| h.saturating_sub(oc.inject_at));
            let r = tokio::task::spawn_blocking(move || {
                inject::inject(&h, &spec, Some(Owner::me()), dur)
            })
            .await;
            match r {
                Ok(Ok(rec)) => {
                    say(&format!(
                        "    {:>6.1}s inject {} {} {}: {}",
                        t0.elapsed().as_secs_f64(),
                        rec.id,
                        rec.kind,
                        rec.target,
                        rec.detail
                    ));
                    injected.lock().expect("not poisoned").push(rec.id.clone());
                    if rec.healed_ms.is_none() {
                        if let Some(at) = oc.heal_at {
                            pending_heals.push((at, rec.id));
                        }
                    }
                }
                Ok(Err(e)) => {
                    let msg = format!(
                        "fault[{}] {} at {:.0}s could not be injected: {e}",
                        oc.fault + 1,
                        oc.spec.kind,
                        oc.inject_at.as_secs_f64()
                    );
                    say(&format!("    {msg}"));
                    notes.lock().expect("not poisoned").push(msg);
                }
                Err(e) => notes
                    .lock()
                    .expect("not poisoned")
                    .push(format!("inject task: {e}")),
            }
            continue;
        }
        if next >= occurrences.len() && pending_heals.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn read_history(path: &Path) -> Result<Vec<OpRecord>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(format!("read {}: {e}", path.display())),
    };
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))
        })
        .collect()
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

fn component_restarts(home: &EnvHome) -> BTreeMap<String, u32> {
    crate::platform::local::state::EnvState::read(&home.state_file())
        .map(|s| {
            s.components
                .iter()
                .map(|c| (c.id.clone(), c.restarts))
                .collect()
        })
        .unwrap_or_default()
}

fn component_rows(home: &EnvHome, before: &BTreeMap<String, u32>) -> Vec<report::ComponentRow> {
    crate::platform::local::state::EnvState::read(&home.state_file())
        .map(|s| {
            s.components
                .iter()
                .map(|c| report::ComponentRow {
                    id: c.id.clone(),
                    version: c.line.map(|l| l.version().to_string()),
                    restarts: c
                        .restarts
                        .saturating_sub(before.get(&c.id).copied().unwrap_or(0)),
                    last_exit: c.last_exit.clone(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Copies the last 2000 lines of every component log (and the supervisor's) into `logs/`.
fn copy_logs(home: &EnvHome, dir: &Path) {
    let Ok(rd) = std::fs::read_dir(home.logs_dir()) else {
        return;
    };
    let out = dir.join("logs");
    if std::fs::create_dir_all(&out).is_err() {
        return;
    }
    for e in rd.flatten() {
        let p = e.path();
        if !p.is_file() {
            continue;
        }
        if let Ok(text) = std::fs::read_to_string(&p) {
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(2000)..];
            let _ = std::fs::write(out.join(e.file_name()), tail.join("\n") + "\n");
        }
    }
}

/// Runs the checks of a chaos run (exposed for tests of the assembly).
pub fn checks_for(
    s: &Scenario,
    history: &[OpRecord],
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
