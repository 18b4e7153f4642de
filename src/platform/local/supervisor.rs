//! The supervisor: a detached daemon (`chaos supervise`) that runs an environment's plan.
//!
//! It starts components wave by wave (each wave ready before the next starts), then keeps
//! them running like a Kubernetes Deployment: a process that dies is restarted after an
//! exponential back-off (1 s doubling to 30 s, reset after 60 s of healthy running), and every
//! restart is recorded in the state file. Readiness is probed continually, so the state file
//! shows when a component stops answering. A component with a hold file
//! (`holds/<id>`, written by faults with `restart = false`) is not restarted.
//! SIGTERM or SIGINT stops everything in reverse start order, each process group first with
//! SIGTERM and, after a grace period, SIGKILL.

use std::collections::HashMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::sync::mpsc;

use super::init;
use super::links::Links;
use super::plan::{plan_file, secrets_file, ComponentPlan, Plan, Secrets};
use super::ready;
use super::spec::ProcessSpec;
use super::state::{now_ms, ComponentState, EnvState, Phase, Status, STATE_SCHEMA};
use super::user::apply_run_as;

/// How long a wave may take to become ready before start-up fails.
pub const WAVE_TIMEOUT: Duration = Duration::from_secs(600);
/// How long a stopped process group gets between SIGTERM and SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(20);
const BACKOFF_START: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
const BACKOFF_RESET_AFTER: Duration = Duration::from_secs(60);
const PROBE_READY_EVERY: Duration = Duration::from_secs(5);
const PROBE_UNREADY_EVERY: Duration = Duration::from_millis(700);
const TICK: Duration = Duration::from_millis(200);
/// How often the fault ledger is checked for link faults to apply or withdraw.
const LEDGER_POLL: Duration = Duration::from_millis(25);

/// The hold file that keeps the supervisor from restarting a component.
pub fn hold_file(home: &Path, id: &str) -> PathBuf {
    home.join("holds").join(id)
}

/// Spawns a component's process in its own process group (so executors and other children
/// can be signalled with it), output appended to its log.
pub fn spawn(spec: &ProcessSpec) -> Result<Child, String> {
    if let Some(parent) = spec.log.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("create {}: {e}", parent.display()))?;
    }
    std::fs::create_dir_all(&spec.cwd)
        .map_err(|e| format!("create {}: {e}", spec.cwd.display()))?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&spec.log)
        .map_err(|e| format!("open log {}: {e}", spec.log.display()))?;
    let log2 = log
        .try_clone()
        .map_err(|e| format!("open log {}: {e}", spec.log.display()))?;
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args)
        .env_clear()
        .envs(inherited_env())
        .envs(&spec.env)
        .current_dir(&spec.cwd)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        .process_group(0);
    apply_run_as(&mut cmd, spec.run_as.as_deref())?;
    cmd.spawn()
        .map_err(|e| format!("start {}: {e}", spec.program.display()))
}

/// The few variables of the harness's environment that components inherit.
fn inherited_env() -> Vec<(String, String)> {
    ["PATH", "HOME", "LANG", "TZ", "USER"]
        .iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| ((*k).to_string(), v)))
        .collect()
}

/// Describes how a process ended.
pub fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(sig)) => match Signal::try_from(sig) {
            Ok(s) => format!("signal {sig} ({})", s.as_str()),
            Err(_) => format!("signal {sig}"),
        },
        _ => "unknown".into(),
    }
}

/// Sends `sig` to a process group, ignoring groups that are already gone.
pub fn signal_group(pgid: u32, sig: Signal) -> bool {
    killpg(Pid::from_raw(pgid as i32), sig).is_ok()
}

/// Whether any process of the group is alive.
pub fn group_alive(pgid: u32) -> bool {
    killpg(Pid::from_raw(pgid as i32), None).is_ok()
}

/// Stops a process group: SIGTERM (and SIGCONT, in case a fault paused it), wait up to
/// `grace`, then SIGKILL. Returns once the group is gone or after SIGKILL.
pub fn stop_group(pgid: u32, grace: Duration) {
    if !group_alive(pgid) {
        return;
    }
    signal_group(pgid, Signal::SIGCONT);
    signal_group(pgid, Signal::SIGTERM);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        reap_any();
        if !group_alive(pgid) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    tracing::warn!(
        pgid,
        "process group {pgid} still running {}s after SIGTERM: SIGKILL",
        grace.as_secs()
    );
    signal_group(pgid, Signal::SIGKILL);
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && group_alive(pgid) {
        reap_any();
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Reaps any exited child without blocking (zombies still count as group members).
fn reap_any() {
    use nix::sys::wait::{waitpid, WaitPidFlag};
    while let Ok(status) = waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
        if matches!(status, nix::sys::wait::WaitStatus::StillAlive) {
            break;
        }
    }
}

struct Running {
    child: Option<Child>,
    backoff: Duration,
    next_start: Option<Instant>,
    last_probe: Option<Instant>,
    probing: bool,
    generation: u64,
    ready_hook_done: bool,
}

/// Runs the supervisor for the environment at `home` until it is told to stop.
pub fn run(home: &Path) -> Result<(), String> {
    let plan: Plan = read_json(&plan_file(home))?;
    let secrets: Secrets = read_json(&secrets_file(home))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("start async runtime: {e}"))?;
    rt.block_on(Supervisor::new(plan, secrets).main())
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("parse {}: {e}", path.display()))
}

struct Supervisor {
    plan: Plan,
    secrets: Secrets,
    state: EnvState,
    procs: HashMap<String, Running>,
    state_path: PathBuf,
    dirty: bool,
}

type ProbeResult = (String, u64, Result<(), String>);

impl Supervisor {
    fn new(plan: Plan, secrets: Secrets) -> Supervisor {
        let components = plan
            .components
            .iter()
            .map(|c| ComponentState {
                id: c.id.clone(),
                role: c.role,
                line: c.line,
                version: c.version.clone(),
                endpoint: c.endpoint.clone(),
                ports: c.ports.clone(),
                pid: None,
                log: c.spec.log.display().to_string(),
                status: Status::Pending,
                ready: false,
                restarts: 0,
                restart_times_ms: vec![],
                last_exit: None,
                started_at_ms: None,
                ready_at_ms: None,
            })
            .collect();
        let state = EnvState {
            schema: STATE_SCHEMA,
            supervisor_pid: std::process::id(),
            phase: Phase::Starting,
            error: None,
            started_at_ms: now_ms(),
            ready_at_ms: None,
            components,
        };
        let state_path = plan.home.join("state.json");
        Supervisor {
            plan,
            secrets,
            state,
            procs: HashMap::new(),
            state_path,
            dirty: true,
        }
    }

    fn cs(&mut self, id: &str) -> &mut ComponentState {
        self.dirty = true;
        let i = self
            .state
            .components
            .iter()
            .position(|c| c.id == id)
            .expect("component in state");
        &mut self.state.components[i]
    }

    fn flush(&mut self) {
        if self.dirty {
            if let Err(e) = self.state.write(&self.state_path) {
                tracing::warn!(path = %self.state_path.display(), "supervisor: {e}");
            }
            self.dirty = false;
        }
    }

    fn start(&mut self, c: &ComponentPlan) {
        if let Err(e) = init::before_start(&self.plan, c, &self.secrets) {
            tracing::warn!(component = %c.id, "{}: set-up failed: {e}", c.id);
            self.schedule_restart(&c.id, format!("set-up failed: {e}"));
            return;
        }
        match spawn(&c.spec) {
            Ok(child) => {
                let pid = child.id();
                tracing::info!(component = %c.id, pid, "{}: started, pid {pid}", c.id);
                let r = self.procs.get_mut(&c.id).expect("registered");
                r.child = Some(child);
                r.next_start = None;
                r.last_probe = None;
                r.ready_hook_done = false;
                r.generation += 1;
                let cs = self.cs(&c.id);
                cs.pid = Some(pid);
                cs.status = Status::Running;
                cs.ready = false;
                cs.started_at_ms = Some(now_ms());
            }
            Err(e) => {
                tracing::warn!(component = %c.id, "{}: {e}", c.id);
                self.schedule_restart(&c.id, e);
            }
        }
    }

    fn schedule_restart(&mut self, id: &str, why: String) {
        let r = self.procs.get_mut(id).expect("registered");
        let delay = r.backoff;
        r.backoff = (r.backoff * 2).min(BACKOFF_MAX);
        r.next_start = Some(Instant::now() + delay);
        r.generation += 1;
        let cs = self.cs(id);
        cs.status = Status::Backoff;
        cs.ready = false;
        cs.pid = None;
        cs.last_exit = Some(why);
    }

    /// Notices dead processes and restarts those whose back-off has passed.
    fn reap_and_restart(&mut self) {
        let ids: Vec<String> = self.procs.keys().cloned().collect();
        for id in ids {
            let exited = {
                let r = self.procs.get_mut(&id).expect("registered");
                match r.child.as_mut().map(|c| c.try_wait()) {
                    Some(Ok(Some(status))) => {
                        let pgid = r.child.as_ref().map(|c| c.id());
                        r.child = None;
                        Some((status, pgid))
                    }
                    _ => None,
                }
            };
            if let Some((status, pgid)) = exited {
                // Take the rest of its process group with it (e.g. a worker's executors),
                // as a pod's containers go with the pod.
                if let Some(pgid) = pgid {
                    if group_alive(pgid) {
                        signal_group(pgid, Signal::SIGKILL);
                    }
                }
                let how = describe_exit(status);
                let ran_for = self
                    .state
                    .component(&id)
                    .and_then(|c| c.started_at_ms)
                    .map(|t| Duration::from_millis(now_ms().saturating_sub(t)))
                    .unwrap_or_default();
                if ran_for >= BACKOFF_RESET_AFTER {
                    self.procs.get_mut(&id).expect("registered").backoff = BACKOFF_START;
                }
                if hold_file(&self.plan.home, &id).exists() {
                    tracing::info!(component = %id, exit = %how, "{id}: exited ({how}); held, not restarting");
                    let cs = self.cs(&id);
                    cs.status = Status::Stopped;
                    cs.ready = false;
                    cs.pid = None;
                    cs.last_exit = Some(how);
                    self.procs.get_mut(&id).expect("registered").generation += 1;
                } else {
                    tracing::warn!(component = %id, exit = %how, "{id}: exited ({how}); restarting after back-off");
                    self.schedule_restart(&id, how);
                }
            }
            let due = self.procs[&id]
                .next_start
                .is_some_and(|t| Instant::now() >= t);
            if due && !hold_file(&self.plan.home, &id).exists() {
                let c = self.plan.component(&id).expect("planned").clone();
                let cs = self.cs(&id);
                cs.restarts += 1;
                cs.restart_times_ms.push(now_ms());
                if cs.restart_times_ms.len() > 50 {
                    cs.restart_times_ms.remove(0);
                }
                self.start(&c);
            }
            // A held component whose hold was lifted while it was stopped starts again.
            let stopped = self
                .state
                .component(&id)
                .is_some_and(|c| c.status == Status::Stopped);
            if stopped
                && self.procs[&id].child.is_none()
                && !hold_file(&self.plan.home, &id).exists()
            {
                let c = self.plan.component(&id).expect("planned").clone();
                self.start(&c);
            }
        }
    }

    fn launch_probes(&mut self, tx: &mpsc::UnboundedSender<ProbeResult>) {
        let now = Instant::now();
        let ids: Vec<String> = self.procs.keys().cloned().collect();
        for id in ids {
            let ready = self.state.component(&id).is_some_and(|c| c.ready);
            let r = self.procs.get_mut(&id).expect("registered");
            if r.child.is_none() || r.probing {
                continue;
            }
            let every = if ready {
                PROBE_READY_EVERY
            } else {
                PROBE_UNREADY_EVERY
            };
            if r.last_probe.is_some_and(|t| now.duration_since(t) < every) {
                continue;
            }
            r.probing = true;
            r.last_probe = Some(now);
            let generation = r.generation;
            let readiness = self.plan.component(&id).expect("planned").readiness.clone();
            let secrets = self.secrets.clone();
            let pg_bin = self.plan.pg_bin.clone();
            let tx = tx.clone();
            let session = format!(
                "00000000-0000-4000-8000-{:012x}",
                fxhash(&id) & 0xffff_ffff_ffff
            );
            tokio::spawn(async move {
                let res = ready::check(&readiness, &secrets, &pg_bin, &session).await;
                let _ = tx.send((id, generation, res));
            });
        }
    }

    async fn apply_probe(&mut self, (id, generation, res): ProbeResult) {
        let Some(r) = self.procs.get_mut(&id) else {
            return;
        };
        r.probing = false;
        if r.generation != generation || r.child.is_none() {
            return;
        }
        let was_ready = self.state.component(&id).is_some_and(|c| c.ready);
        match res {
            Ok(()) => {
                let hook_done = self.procs[&id].ready_hook_done;
                if !hook_done {
                    let c = self.plan.component(&id).expect("planned").clone();
                    if let Err(e) = init::after_ready(&self.plan, &c, &self.secrets).await {
                        tracing::warn!(component = %id, "{id}: post-start set-up failed (will retry): {e}");
                        return;
                    }
                    self.procs.get_mut(&id).expect("registered").ready_hook_done = true;
                }
                if !was_ready {
                    tracing::info!(component = %id, "{id}: ready");
                    let cs = self.cs(&id);
                    cs.ready = true;
                    cs.ready_at_ms = Some(now_ms());
                }
            }
            Err(e) => {
                if was_ready {
                    tracing::warn!(component = %id, "{id}: not ready: {e}");
                    self.cs(&id).ready = false;
                }
            }
        }
    }

    async fn main(mut self) -> Result<(), String> {
        tracing::info!(
            "supervising {} components from {}",
            self.plan.components.len(),
            self.plan.home.display()
        );
        for c in &self.plan.components {
            self.procs.insert(
                c.id.clone(),
                Running {
                    child: None,
                    backoff: BACKOFF_START,
                    next_start: None,
                    last_probe: None,
                    probing: false,
                    generation: 0,
                    ready_hook_done: false,
                },
            );
        }
        // The links come first: every component is configured to reach its dependencies
        // through them.
        let mut links = match Links::start(&self.plan).await {
            Ok(l) => l,
            Err(e) => {
                tracing::error!("{e}");
                self.state.phase = Phase::Failed;
                self.state.error = Some(e.clone());
                self.dirty = true;
                self.flush();
                return Err(e);
            }
        };
        tracing::info!("{} fault-proxy links listening", self.plan.links.len());
        for line in links.reconcile().await {
            tracing::info!("{line}");
        }
        let mut reconcile_every = tokio::time::interval(LEDGER_POLL);
        let mut last_link_status = Instant::now() - Duration::from_secs(2);
        self.flush();
        let (tx, mut rx) = mpsc::unbounded_channel::<ProbeResult>();
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|e| format!("install SIGTERM handler: {e}"))?;
        let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
            .map_err(|e| format!("install SIGINT handler: {e}"))?;
        let mut wave: u32 = 0;
        let mut wave_started: Option<Instant> = None;
        let last_wave = self.plan.last_wave();
        loop {
            // Start-up: launch the current wave once the previous one is ready.
            if self.state.phase == Phase::Starting {
                let started = wave_started.is_some();
                if !started {
                    let comps: Vec<ComponentPlan> = self
                        .plan
                        .components
                        .iter()
                        .filter(|c| c.wave == wave)
                        .cloned()
                        .collect();
                    tracing::info!(
                        wave,
                        "wave {wave}: starting {}",
                        comps
                            .iter()
                            .map(|c| c.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                    for c in &comps {
                        self.start(c);
                    }
                    wave_started = Some(Instant::now());
                }
                let wave_ready = self
                    .plan
                    .components
                    .iter()
                    .filter(|c| c.wave == wave)
                    .all(|c| self.state.component(&c.id).is_some_and(|s| s.ready));
                if wave_ready {
                    if wave >= last_wave {
                        self.state.phase = Phase::Running;
                        self.state.ready_at_ms = Some(now_ms());
                        self.dirty = true;
                        tracing::info!("every component is ready");
                    } else {
                        wave += 1;
                        wave_started = None;
                    }
                } else if wave_started.is_some_and(|t| t.elapsed() > WAVE_TIMEOUT) {
                    let waiting: Vec<String> = self
                        .plan
                        .components
                        .iter()
                        .filter(|c| {
                            c.wave == wave && !self.state.component(&c.id).is_some_and(|s| s.ready)
                        })
                        .map(|c| format!("{} (log: {})", c.id, c.spec.log.display()))
                        .collect();
                    let msg = format!(
                        "not ready after {}s: {}",
                        WAVE_TIMEOUT.as_secs(),
                        waiting.join(", ")
                    );
                    tracing::error!(wave, "{msg}");
                    self.state.phase = Phase::Failed;
                    self.state.error = Some(msg);
                    self.dirty = true;
                }
            }
            self.reap_and_restart();
            self.launch_probes(&tx);
            self.flush();
            tokio::select! {
                _ = term.recv() => break,
                _ = int.recv() => break,
                Some(res) = rx.recv() => {
                    self.apply_probe(res).await;
                    while let Ok(more) = rx.try_recv() {
                        self.apply_probe(more).await;
                    }
                }
                _ = reconcile_every.tick() => {
                    for line in links.reconcile().await {
                        tracing::info!("{line}");
                    }
                    if last_link_status.elapsed() >= Duration::from_secs(1) {
                        last_link_status = Instant::now();
                        if let Err(e) = links.write_status(&self.plan.home) {
                            tracing::warn!("write link status: {e}");
                        }
                    }
                }
                _ = tokio::time::sleep(TICK) => {}
            }
        }
        // Faults are withdrawn first so that components can stop cleanly; the links close last.
        links.clear().await;
        self.shutdown();
        links.shutdown().await;
        Ok(())
    }

    fn shutdown(&mut self) {
        tracing::info!("stopping every component in reverse start order");
        self.state.phase = Phase::Stopping;
        self.dirty = true;
        self.flush();
        let mut order: Vec<ComponentPlan> = self.plan.components.clone();
        order.reverse();
        // Waves stop one at a time, in parallel within a wave.
        let last = self.plan.last_wave();
        for wave in (0..=last).rev() {
            let mut handles = Vec::new();
            for c in order.iter().filter(|c| c.wave == wave) {
                let r = self.procs.get_mut(&c.id).expect("registered");
                r.next_start = None;
                if let Some(child) = r.child.take() {
                    let pgid = child.id();
                    handles.push(std::thread::spawn(move || {
                        let mut child = child;
                        stop_group(pgid, STOP_GRACE);
                        let _ = child.wait();
                    }));
                }
            }
            let t = Instant::now();
            let n = handles.len();
            for h in handles {
                let _ = h.join();
            }
            if n > 0 {
                tracing::info!(
                    wave,
                    "wave {wave}: {n} stopped in {:.1}s",
                    t.elapsed().as_secs_f64()
                );
            }
            for c in order.iter().filter(|c| c.wave == wave) {
                let cs = self.cs(&c.id);
                cs.status = Status::Stopped;
                cs.ready = false;
                cs.pid = None;
            }
            self.flush();
        }
        self.state.phase = Phase::Stopped;
        self.dirty = true;
        self.flush();
        tracing::info!("stopped");
    }
}

/// A small stable hash (FNV-1a), for deriving per-component probe session ids.
fn fxhash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_killed_process_is_described_by_its_signal() {
        let mut child = Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .unwrap();
        let pgid = child.id();
        assert!(group_alive(pgid));
        signal_group(pgid, Signal::SIGKILL);
        let status = child.wait().unwrap();
        assert_eq!(describe_exit(status), "signal 9 (SIGKILL)");
        assert!(!group_alive(pgid));
    }

    #[test]
    fn stop_group_takes_grandchildren_too() {
        // A shell that ignores nothing, with a grandchild in the same group.
        let mut child = Command::new("sh")
            .args(["-c", "sleep 30 & wait"])
            .process_group(0)
            .spawn()
            .unwrap();
        let pgid = child.id();
        std::thread::sleep(Duration::from_millis(100));
        stop_group(pgid, Duration::from_secs(2));
        let _ = child.wait();
        assert!(!group_alive(pgid));
    }

    #[test]
    fn probe_session_ids_are_stable_uuids() {
        let a = format!(
            "00000000-0000-4000-8000-{:012x}",
            fxhash("connect-35-0") & 0xffff_ffff_ffff
        );
        assert_eq!(a.len(), 36);
        assert_eq!(fxhash("x"), fxhash("x"));
        assert_ne!(fxhash("connect-35-0"), fxhash("connect-41-0"));
    }
}
