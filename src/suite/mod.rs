//! `chaos suite FILE`: several scenarios on one environment, one acceptance report.
//!
//! - [`model`]: suite files, validated like scenarios (file:line:column: field).
//! - [`accept`]: the acceptance report and its decision (pure).
//! - [`run_suite`] (here): runs the scenarios in order through [`crate::run::run`] with the
//!   environment kept between them — a scenario whose environment settings match the running
//!   environment's reuses it (and the TPC-DS registration is skipped when the metastores
//!   already hold the data set), one with other settings restarts it — checks the
//!   environment's health between scenarios, records each outcome in `suite.json` as it
//!   goes (so that `--resume DIR` continues an interrupted suite), and writes the acceptance
//!   report. On Ctrl-C the running scenario heals and writes its partial report (as `chaos run`
//!   does), the suite writes its partial acceptance report, and the environment the suite
//!   started is stopped.

pub mod accept;
pub mod model;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use accept::{AcceptanceReport, Decision, ScenarioDigest, ScenarioResult};
pub use model::{load, parse, schema_json, Suite};

use crate::paths::Cache;
use crate::platform::PlatformRef;
use crate::run::{self, RunError, RunOptions};
use crate::scenario::Kind;
use crate::units::now_ms;

/// How to run a suite.
pub struct SuiteOptions {
    /// Where every scenario runs.
    pub platform: PlatformRef,
    /// The cache.
    pub cache: Cache,
    /// Where the suite's directory is made (`<dir>/suite-<name>-<UTC time>/`).
    pub reports_dir: PathBuf,
    /// Continue the suite in this directory (its `suite.json`) instead of starting a new one.
    pub resume: Option<PathBuf>,
    /// Run only these scenarios (by name); empty: all.
    pub only: Vec<String>,
    /// The environment's first port.
    pub base_port: u16,
    /// Polled for Ctrl-C.
    pub interrupted: fn() -> bool,
    /// Progress lines for people.
    pub say: fn(&str),
}

/// Why a suite could not run.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    /// `--only` named no scenario of the suite, or `--resume` another suite.
    #[error("{0}")]
    Input(String),
    /// The suite's directory or files could not be written.
    #[error("cannot write {path}: {source}")]
    Output {
        /// What.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The platform failed outside any scenario (stopping the environment).
    #[error("{0}")]
    Env(String),
}

impl SuiteError {
    /// The documented exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            SuiteError::Input(_) => crate::exit::INVALID_INPUT,
            SuiteError::Output { .. } => crate::exit::OUTPUT,
            SuiteError::Env(_) => crate::exit::ENVIRONMENT,
        }
    }
}

/// The suite's progress, `suite.json` in its directory (rewritten after every scenario).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SuiteState {
    /// The suite's name.
    pub suite: String,
    /// When it first started, Unix ms.
    pub started_ms: u64,
    /// Each scenario in suite order.
    pub scenarios: Vec<ScenarioResult>,
    /// Environment starts so far.
    pub environment_starts: u32,
    /// Wall time of the sessions before the latest `--resume`, ms.
    #[serde(default)]
    pub earlier_ms: u64,
    /// When the latest session (the first run or a `--resume`) started, Unix ms (0: the
    /// first run, at `started_ms`).
    #[serde(default)]
    pub session_started_ms: u64,
}

/// What a suite produced.
pub struct SuiteOutcome {
    /// The acceptance report as written.
    pub report: AcceptanceReport,
    /// The suite's directory.
    pub dir: PathBuf,
    /// The documented exit code (0 accept, 1 reject, 3 undecided, 130 interrupted).
    pub exit_code: u8,
}

/// The files the acceptance report is written to.
pub const FILES: [&str; 4] = [
    "acceptance.html",
    "acceptance.md",
    "acceptance.json",
    "junit.xml",
];

/// Runs a suite (see the module doc).
pub fn run_suite(suite: &Suite, o: &SuiteOptions) -> Result<SuiteOutcome, SuiteError> {
    let names: Vec<&str> = suite
        .scenarios
        .iter()
        .map(|s| s.scenario.name.as_str())
        .collect();
    if let Some(bad) = o.only.iter().find(|n| !names.contains(&n.as_str())) {
        return Err(SuiteError::Input(format!(
            "--only: the suite has no scenario `{bad}` (it has: {})",
            names.join(", ")
        )));
    }
    let (dir, mut state) = match &o.resume {
        Some(dir) => {
            let mut state = resumed(suite, dir)?;
            // The earlier session ran from its start to its last scenario's end; the time
            // until this resume is not the suite's.
            let session_start = match state.session_started_ms {
                0 => state.started_ms,
                t => t,
            };
            let last_end = state
                .scenarios
                .iter()
                .filter_map(|s| s.report.as_ref().map(|d| d.ended_ms))
                .max()
                .unwrap_or(session_start);
            state.earlier_ms += last_end.saturating_sub(session_start);
            state.session_started_ms = now_ms();
            (dir.clone(), state)
        }
        None => {
            let started_ms = now_ms();
            let dir = o.reports_dir.join(crate::report::report_dir_name(
                &format!("suite-{}", suite.file.name),
                started_ms,
            ));
            let state = SuiteState {
                suite: suite.file.name.clone(),
                started_ms,
                scenarios: suite
                    .scenarios
                    .iter()
                    .map(|s| ScenarioResult {
                        name: s.scenario.name.clone(),
                        file: s.file.display().to_string(),
                        kind: s.scenario.kind.as_str().to_string(),
                        state: "pending".into(),
                        error: None,
                        dir: None,
                        report: None,
                    })
                    .collect(),
                environment_starts: 0,
                earlier_ms: 0,
                session_started_ms: 0,
            };
            (dir, state)
        }
    };
    std::fs::create_dir_all(&dir).map_err(|source| SuiteError::Output {
        path: dir.clone(),
        source,
    })?;
    let was_running = o
        .platform
        .running()
        .map_err(|e| SuiteError::Env(e.to_string()))?
        .is_some();
    // Stops the environment the suite started on every way out of here, errors included.
    let stopper = (!was_running).then(|| StopOnExit {
        platform: o.platform.clone(),
        say: o.say,
    });
    let selected: Vec<usize> = (0..suite.scenarios.len())
        .filter(|&i| o.only.is_empty() || o.only.contains(&state.scenarios[i].name))
        .collect();
    for (i, s) in state.scenarios.iter_mut().enumerate() {
        if !selected.contains(&i) && s.state == "pending" {
            s.state = "skipped".into();
        }
    }
    let todo: Vec<usize> = selected
        .iter()
        .copied()
        .filter(|&i| state.scenarios[i].state != "done")
        .collect();
    let suite_start = std::time::Instant::now();
    let mut interrupted = false;
    for (n, &i) in todo.iter().enumerate() {
        if (o.interrupted)() {
            interrupted = true;
            break;
        }
        let entry = &suite.scenarios[i];
        let remaining = estimate(suite, &todo[n..], &state);
        (o.say)(&format!(
            "[{}/{}] {} ({}) · suite elapsed {} · about {} left",
            n + 1,
            todo.len(),
            entry.scenario.name,
            entry.scenario.kind.as_str(),
            crate::report::span(suite_start.elapsed().as_millis() as u64),
            crate::report::span(remaining.as_millis() as u64),
        ));
        healthy_or_stopped(o);
        let before = o.platform.running().ok().flatten();
        let opts = RunOptions {
            platform: o.platform.clone(),
            cache: Cache::at(o.cache.root()),
            file: entry.file.clone(),
            keep_env: true,
            reports_dir: Some(dir.join("scenarios")),
            base_port: o.base_port,
            interrupted: o.interrupted,
            say: o.say,
        };
        let mut scenario = entry.scenario.clone();
        if let Some(p) = suite.file.platform {
            scenario.platform = p;
        }
        let result = run::run(&scenario, &entry.text, &opts);
        let after = o.platform.running().ok().flatten();
        if after.is_some() && before != after {
            state.environment_starts += 1;
        }
        let slot = &mut state.scenarios[i];
        match result {
            Ok(outcome) => {
                slot.state = "done".into();
                slot.dir = outcome
                    .dir
                    .strip_prefix(&dir)
                    .ok()
                    .map(|p| p.display().to_string());
                slot.report = Some(ScenarioDigest::of(&outcome.report));
                (o.say)(&format!(
                    "    {}: {} ({})",
                    entry.scenario.name,
                    outcome.report.verdict,
                    outcome.report.status.as_str()
                ));
                if matches!(outcome.report.status, crate::report::RunStatus::Interrupted) {
                    // Interrupted mid-scenario: it runs again on --resume.
                    slot.state = "pending".into();
                    interrupted = true;
                }
            }
            Err(e) => {
                slot.state = "failed".into();
                slot.error = Some(e.to_string());
                (o.say)(&format!("    {}: could not run: {e}", entry.scenario.name));
                if matches!(e, RunError::Output { .. }) {
                    save(&dir, &state)?;
                    return Err(SuiteError::Output {
                        path: dir.clone(),
                        source: std::io::Error::other(e.to_string()),
                    });
                }
            }
        }
        save(&dir, &state)?;
        if interrupted || (o.interrupted)() {
            interrupted = true;
            break;
        }
    }
    drop(stopper);
    let (decision, reasons) = accept::decide(&state.scenarios, &suite.file.acceptance, interrupted);
    let report = AcceptanceReport {
        suite: suite.file.name.clone(),
        description: suite.file.description.clone(),
        file: suite.path.display().to_string(),
        decision,
        reasons,
        interrupted,
        scenarios: state.scenarios.clone(),
        acceptance: suite.file.acceptance.clone(),
        machine: accept::Machine::here(o.platform.kind().name()),
        started_ms: state.started_ms,
        ended_ms: now_ms(),
        took_ms: (state.session_started_ms != 0)
            .then(|| state.earlier_ms + now_ms().saturating_sub(state.session_started_ms)),
        environment_starts: state.environment_starts,
    };
    write_report(&report, &dir)?;
    let exit_code = if interrupted {
        crate::exit::INTERRUPTED
    } else {
        decision.exit_code()
    };
    Ok(SuiteOutcome {
        report,
        dir,
        exit_code,
    })
}

/// Stops the environment when dropped.
struct StopOnExit {
    platform: PlatformRef,
    say: fn(&str),
}

impl Drop for StopOnExit {
    fn drop(&mut self) {
        // Nothing to stop when no scenario brought one up (a resume with nothing left to run).
        if matches!(self.platform.running(), Ok(None)) {
            return;
        }
        (self.say)("stopping the environment the suite started");
        if let Err(e) = self.platform.down(false) {
            (self.say)(&format!("    could not stop it: {e}"));
        }
    }
}

/// Writes the acceptance report's four files into `dir`.
pub fn write_report(report: &AcceptanceReport, dir: &Path) -> Result<(), SuiteError> {
    let out = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|source| SuiteError::Output { path, source })
    };
    out(FILES[0], accept::render_html(report))?;
    out(FILES[1], accept::render_markdown(report))?;
    let json = serde_json::to_string_pretty(report).expect("the report serialises");
    out(FILES[2], json + "\n")?;
    out(FILES[3], accept::render_junit(report))
}

fn save(dir: &Path, state: &SuiteState) -> Result<(), SuiteError> {
    let path = dir.join("suite.json");
    crate::jsonfile::write_atomically(&path, state)
        .map_err(|source| SuiteError::Output { path, source })
}

/// The state of the suite in `dir`, checked to be this suite's.
fn resumed(suite: &Suite, dir: &Path) -> Result<SuiteState, SuiteError> {
    let path = dir.join("suite.json");
    let state: SuiteState = crate::jsonfile::read(&path).ok_or_else(|| {
        SuiteError::Input(format!(
            "--resume: {} is not a suite's directory (no readable suite.json)",
            dir.display()
        ))
    })?;
    let names: Vec<&str> = suite
        .scenarios
        .iter()
        .map(|s| s.scenario.name.as_str())
        .collect();
    let theirs: Vec<&str> = state.scenarios.iter().map(|s| s.name.as_str()).collect();
    if state.suite != suite.file.name || names != theirs {
        return Err(SuiteError::Input(format!(
            "--resume: {} holds suite `{}` ({}), not `{}` ({})",
            path.display(),
            state.suite,
            theirs.join(", "),
            suite.file.name,
            names.join(", ")
        )));
    }
    Ok(state)
}

/// Between scenarios: an environment with a component not ready is stopped, so that the next
/// scenario brings up a fresh one instead of judging a broken one.
fn healthy_or_stopped(o: &SuiteOptions) {
    let Ok(Some(_)) = o.platform.running() else {
        return;
    };
    match o.platform.status() {
        Ok(components) => {
            let sick: Vec<String> = components
                .iter()
                .filter(|c| !c.ready)
                .map(|c| c.id.clone())
                .collect();
            if sick.is_empty() {
                return;
            }
            (o.say)(&format!(
                "    not ready: {}; restarting the environment",
                sick.join(", ")
            ));
        }
        Err(e) => (o.say)(&format!(
            "    status failed ({e}); restarting the environment"
        )),
    }
    if let Err(e) = o.platform.down(true) {
        (o.say)(&format!("    could not stop it: {e}"));
    }
}

/// What is left: each remaining scenario's workload (compat: 3 min) plus the fixed cost seen
/// so far per scenario (2 min before any was seen).
fn estimate(suite: &Suite, remaining: &[usize], state: &SuiteState) -> Duration {
    let seen: Vec<u64> = state
        .scenarios
        .iter()
        .filter_map(|s| s.report.as_ref())
        .map(|d| d.setup_ms)
        .collect();
    let fixed = if seen.is_empty() {
        Duration::from_secs(120)
    } else {
        Duration::from_millis(seen.iter().sum::<u64>() / seen.len() as u64)
    };
    remaining
        .iter()
        .map(|&i| {
            let s = &suite.scenarios[i].scenario;
            let work = match (s.kind, &s.workload) {
                (Kind::Compat, _) | (_, None) => Duration::from_secs(180),
                (_, Some(w)) => w.duration.get(),
            };
            work + fixed
        })
        .sum()
}
