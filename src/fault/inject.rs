//! Injecting and healing faults in a running local environment, through the ledger.
//!
//! Order of operations, so that a crash at any point leaves nothing unhealable:
//! inject = resolve → write the entry (phase `active`) → act → (link faults) wait until the
//! supervisor confirms the toxics are in force. heal = mark `healing` → (link faults) wait until
//! the supervisor has withdrawn them → undo holds, pauses, nftables tables → mark `healed`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;
use rand::seq::SliceRandom;

use super::catalog::{Effect, FaultSpec, LinkKind, ProcessAction};
use super::ledger::{Action, Entry, Event, Ledger, LedgerError, Owner, Phase};
use super::record::FaultRecord;
use super::target::{Pick, Role, Target};
use super::{nft, procs};
use crate::paths::EnvHome;
use crate::platform::local::env::{pid_alive, read_plan, running_state};
use crate::platform::local::plan::Plan;
use crate::platform::local::state::{now_ms, EnvState};
use crate::platform::local::supervisor::hold_file;
use crate::versions::SparkLine;

/// How long to wait for the supervisor to apply or withdraw link toxics.
pub const ACK_TIMEOUT: Duration = Duration::from_secs(10);

/// A fault that could not be injected or healed.
#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    /// The ledger failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// There is no running environment.
    #[error("no running environment at {0} (run `chaos env up`)")]
    NoEnv(String),
    /// The target matches nothing running.
    #[error("target `{target}`: {message}")]
    Target {
        /// The target.
        target: String,
        /// Why.
        message: String,
    },
    /// Acting failed.
    #[error("{0}")]
    Act(String),
    /// No such fault.
    #[error("no fault `{0}` in the ledger (see `chaos fault status`)")]
    Unknown(String),
}

/// A running environment, as far as faults are concerned.
pub struct EnvView {
    home: PathBuf,
    plan: Plan,
    state: EnvState,
}

impl EnvView {
    /// Loads the running environment at `home`.
    pub fn load(home: &EnvHome) -> Result<EnvView, FaultError> {
        let state = running_state(home)
            .map_err(|e| FaultError::Act(e.to_string()))?
            .ok_or_else(|| FaultError::NoEnv(home.root().display().to_string()))?;
        let plan = read_plan(home).map_err(|e| FaultError::Act(e.to_string()))?;
        Ok(EnvView {
            home: home.root().to_path_buf(),
            plan,
            state,
        })
    }

    fn pid_of(&self, id: &str) -> Option<u32> {
        self.state.component(id).and_then(|c| c.pid)
    }
}

/// What resolving a fault produced.
struct Resolved {
    actions: Vec<Action>,
    versions: Vec<String>,
    detail: String,
    /// Signals to send after the entry is written: (pid or pgid, signal, whole group).
    signals: Vec<(u32, Signal, bool)>,
    /// nftables tables to create: (table, ports).
    tables: Vec<(String, Vec<u16>)>,
}

fn versions_of(lines: &[SparkLine]) -> Vec<String> {
    lines.iter().map(|l| l.version().to_string()).collect()
}

fn target_err(target: &Target, message: impl Into<String>) -> FaultError {
    FaultError::Target {
        target: target.to_string(),
        message: message.into(),
    }
}

/// The component ids a process target names.
fn components(view: &EnvView, target: &Target) -> Result<Vec<String>, FaultError> {
    let lines = target.lines();
    let base: Vec<String> = match target.role {
        Role::S3 => vec!["s3".into()],
        Role::Postgres => vec!["postgres".into()],
        role => view
            .plan
            .components
            .iter()
            .filter(|c| c.role.name() == role.name() && c.line.is_some_and(|l| lines.contains(&l)))
            .map(|c| c.id.clone())
            .collect(),
    };
    if base.is_empty() {
        return Err(target_err(
            target,
            "matches no component of this environment",
        ));
    }
    // One instance per version unless `:all`.
    let mut picked = Vec::new();
    for line in &lines {
        let mine: Vec<&String> = base
            .iter()
            .filter(|id| target.role.shared() || id.contains(&format!("-{}", line.slug())))
            .collect();
        let chosen: Vec<&String> = match target.pick {
            Pick::All => mine,
            Pick::Default => mine.into_iter().take(1).collect(),
            Pick::Random => mine
                .choose(&mut rand::thread_rng())
                .copied()
                .into_iter()
                .collect(),
            Pick::Index(n) => {
                let suffix = format!("-{n}");
                let hit: Vec<&String> = mine
                    .into_iter()
                    .filter(|id| id.ends_with(&suffix))
                    .collect();
                if hit.is_empty() {
                    return Err(target_err(
                        target,
                        format!("no instance #{n} for {}", line.version()),
                    ));
                }
                hit
            }
        };
        for id in chosen {
            if !picked.contains(id) {
                picked.push(id.clone());
            }
        }
    }
    Ok(picked)
}

fn resolve_process(
    view: &EnvView,
    spec: &FaultSpec,
    action: ProcessAction,
) -> Result<Resolved, FaultError> {
    let target = &spec.target;
    let mut r = Resolved {
        actions: vec![],
        versions: if target.role.shared() {
            versions_of(&view.plan.settings.lines)
        } else {
            versions_of(&target.lines())
        },
        detail: String::new(),
        signals: vec![],
        tables: vec![],
    };
    let mut details = Vec::new();
    if target.role == Role::Executor {
        let work = view.home.join("work");
        let mut pids = Vec::new();
        for line in target.lines() {
            let all = procs::executors(&work, &format!("worker-{}-", line.slug()));
            if all.is_empty() {
                return Err(target_err(
                    target,
                    format!("no executor of {} is running", line.version()),
                ));
            }
            let chosen: Vec<&procs::Executor> = match target.pick {
                Pick::All => all.iter().collect(),
                Pick::Index(n) => all
                    .iter()
                    .filter(|e| e.executor_id == n.to_string())
                    .collect(),
                Pick::Default | Pick::Random => {
                    all.choose(&mut rand::thread_rng()).into_iter().collect()
                }
            };
            if chosen.is_empty() {
                return Err(target_err(
                    target,
                    format!(
                        "no executor with id {:?} for {}",
                        target.pick,
                        line.version()
                    ),
                ));
            }
            for e in chosen {
                pids.push(e.pid);
                details.push(format!(
                    "executor {} of {} (pid {}, {})",
                    e.executor_id, e.app_id, e.pid, e.worker
                ));
            }
        }
        let (act, sig) = match action {
            ProcessAction::Kill { .. } => (Action::Killed { pids: pids.clone() }, Signal::SIGKILL),
            ProcessAction::Pause => (Action::Paused { pids: pids.clone() }, Signal::SIGSTOP),
            ProcessAction::Stop => {
                return Err(target_err(target, "executors cannot be stopped gracefully"))
            }
        };
        r.actions.push(act);
        r.signals = pids.iter().map(|p| (*p, sig, false)).collect();
        r.detail = format!("{} {}", sig.as_str(), details.join("; "));
        return Ok(r);
    }
    for id in components(view, target)? {
        let pid = view
            .pid_of(&id)
            .ok_or_else(|| target_err(target, format!("{id} is not running")))?;
        match action {
            ProcessAction::Kill { restart } => {
                if !restart {
                    r.actions.push(Action::Hold {
                        component: id.clone(),
                    });
                }
                r.actions.push(Action::Killed { pids: vec![pid] });
                r.signals.push((pid, Signal::SIGKILL, true));
                details.push(format!(
                    "SIGKILL {id} (process group {pid}){}",
                    if restart {
                        ""
                    } else {
                        ", held down until healed"
                    }
                ));
            }
            ProcessAction::Pause => {
                let members = procs::group_members(pid);
                details.push(format!(
                    "SIGSTOP {id} ({} processes of group {pid})",
                    members.len()
                ));
                r.signals
                    .extend(members.iter().map(|p| (*p, Signal::SIGSTOP, false)));
                r.actions.push(Action::Paused { pids: members });
            }
            ProcessAction::Stop => {
                r.actions.push(Action::Hold {
                    component: id.clone(),
                });
                r.signals.push((pid, Signal::SIGTERM, true));
                details.push(format!(
                    "SIGTERM {id} (process group {pid}), held down until healed"
                ));
            }
        }
    }
    r.detail = details.join("; ");
    Ok(r)
}

fn resolve_links(
    view: &EnvView,
    spec: &FaultSpec,
    kinds: &[LinkKind],
    toxic: &super::proxy::ToxicSpec,
) -> Result<Resolved, FaultError> {
    let target = &spec.target;
    let lines = target.lines();
    let mut ids = Vec::new();
    for kind in kinds {
        for line in &lines {
            let prefix = format!("{}-{}", kind.prefix(), line.slug());
            let mine: Vec<&str> = view
                .plan
                .links
                .iter()
                .map(|l| l.id.as_str())
                .filter(|id| *id == prefix || id.starts_with(&format!("{prefix}-")))
                .collect();
            let chosen: Vec<&str> = match (kind, target.pick) {
                (LinkKind::Connect, Pick::Index(n)) => mine
                    .into_iter()
                    .filter(|id| id.ends_with(&format!("-{n}")))
                    .collect(),
                (LinkKind::Connect, Pick::Random) => mine
                    .choose(&mut rand::thread_rng())
                    .copied()
                    .into_iter()
                    .collect(),
                _ => mine,
            };
            ids.extend(chosen.into_iter().map(str::to_string));
        }
    }
    if ids.is_empty() {
        return Err(target_err(target, "matches no link of this environment (an environment from before links existed? run `chaos env down` and `chaos env up`)"));
    }
    let mut versions: Vec<SparkLine> = Vec::new();
    for id in &ids {
        if let Some(l) = view.plan.link(id) {
            if !versions.contains(&l.line) {
                versions.push(l.line);
            }
        }
    }
    Ok(Resolved {
        actions: ids
            .iter()
            .map(|id| Action::Link {
                link: id.clone(),
                toxic: toxic.clone(),
            })
            .collect(),
        versions: versions_of(&versions),
        detail: format!(
            "{} on {}",
            serde_json::to_string(toxic).unwrap_or_default(),
            ids.join(", ")
        ),
        signals: vec![],
        tables: vec![],
    })
}

fn resolve_partition(view: &EnvView, spec: &FaultSpec, id: &str) -> Result<Resolved, FaultError> {
    let lines = spec.target.lines();
    let mut r = Resolved {
        actions: vec![],
        versions: versions_of(&lines),
        detail: String::new(),
        signals: vec![],
        tables: vec![],
    };
    let mut details = Vec::new();
    for line in lines {
        let v = line.slug();
        let ports: Vec<u16> = (0..view.plan.settings.replicas)
            .flat_map(|rep| [format!("driver-{v}-{rep}"), format!("driver-bm-{v}-{rep}")])
            .filter_map(|name| view.plan.ports.0.get(&name).copied())
            .collect();
        if ports.is_empty() {
            return Err(target_err(&spec.target, "this environment has no fixed driver ports (started before partitions existed? run `chaos env down` and `chaos env up`)"));
        }
        let table = format!(
            "{}{}_{v}",
            nft::table_prefix(view.plan.settings.base_port),
            id
        );
        details.push(format!(
            "nftables table {table}: drop loopback TCP to/from driver ports {ports:?} of Spark {}",
            line.version()
        ));
        r.actions.push(Action::Nft {
            table: table.clone(),
        });
        r.tables.push((table, ports));
    }
    r.detail = details.join("; ");
    Ok(r)
}

/// Waits until the supervisor has applied ledger generation `generation` (if it runs).
fn await_supervisor(home: &Path, ledger: &Ledger, generation: u64) -> Result<(), FaultError> {
    let t = Instant::now();
    loop {
        if ledger.applied().generation >= generation {
            return Ok(());
        }
        let supervisor_up = running_state(&EnvHome::at(home)).ok().flatten().is_some();
        if !supervisor_up {
            // No supervisor, no proxies: no link fault can be in force.
            return Ok(());
        }
        if t.elapsed() > ACK_TIMEOUT {
            return Err(FaultError::Act(format!(
                "the supervisor did not apply the link faults within {}s (see {})",
                ACK_TIMEOUT.as_secs(),
                home.join("logs").join("supervisor.log").display()
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn event(ledger: &Ledger, what: &str, r: &FaultRecord, detail: &str, at_ms: u64) {
    let _ = ledger.log_event(&Event {
        at_ms,
        event: what.into(),
        id: r.id.clone(),
        kind: r.kind.clone(),
        target: r.target.clone(),
        detail: detail.into(),
    });
}

/// Injects a fault into the environment at `home`. `owner` heals it on exit (None: it stays
/// until `chaos fault heal`); `heal_due` is shown by `chaos fault status`.
pub fn inject(
    home: &EnvHome,
    spec: &FaultSpec,
    owner: Option<Owner>,
    heal_due: Option<Duration>,
) -> Result<FaultRecord, FaultError> {
    let view = EnvView::load(home)?;
    let ledger = Ledger::at(home.root());
    // The id is reserved under the ledger's lock: concurrent injectors never share one.
    let (id, _) = ledger.update(|l| {
        l.next_id += 1;
        format!("f{}", l.next_id)
    })?;
    let resolved = match &spec.effect {
        Effect::Process(a) => resolve_process(&view, spec, *a)?,
        Effect::Link { kinds, toxic } => resolve_links(&view, spec, kinds, toxic)?,
        Effect::Partition => resolve_partition(&view, spec, &id)?,
    };
    let now = now_ms();
    let record = FaultRecord {
        id: id.clone(),
        kind: spec.kind.clone(),
        target: spec.target.to_string(),
        versions: resolved.versions.clone(),
        params: spec.params.clone(),
        injected_ms: now,
        healed_ms: None,
        detail: resolved.detail.clone(),
        healed_by: None,
    };
    // Written before it acts.
    let (_, generation) = ledger.update(|l| {
        l.entries.push(Entry {
            record: record.clone(),
            phase: Phase::Active,
            actions: resolved.actions.clone(),
            owner: owner.clone(),
            heal_due_ms: heal_due.map(|d| now + d.as_millis() as u64),
        });
    })?;
    let acted = act(home.root(), &ledger, generation, &resolved);
    if let Err(e) = acted {
        let _ = heal(home, &id, &format!("injection failed: {e}"));
        return Err(e);
    }
    let mut record = record;
    record.injected_ms = now_ms();
    event(
        &ledger,
        "inject",
        &record,
        &record.detail,
        record.injected_ms,
    );
    if spec.instantaneous() {
        // A kill the supervisor recovers from by itself is over once it has acted.
        return heal(
            home,
            &id,
            "instantaneous (the supervisor restarts what was killed)",
        );
    }
    ledger.update(|l| {
        if let Some(e) = l.get_mut(&id) {
            e.record.injected_ms = record.injected_ms;
        }
    })?;
    Ok(record)
}

fn act(home: &Path, ledger: &Ledger, generation: u64, r: &Resolved) -> Result<(), FaultError> {
    for a in &r.actions {
        if let Action::Hold { component } = a {
            let path = hold_file(home, component);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| FaultError::Act(format!("create {}: {e}", dir.display())))?;
            }
            std::fs::write(&path, b"held by a fault\n")
                .map_err(|e| FaultError::Act(format!("write {}: {e}", path.display())))?;
        }
    }
    for (table, ports) in &r.tables {
        nft::apply(table, ports).map_err(FaultError::Act)?;
    }
    for (pid, sig, group) in &r.signals {
        let p = Pid::from_raw(*pid as i32);
        let res = if *group {
            killpg(p, *sig)
        } else {
            kill(p, *sig)
        };
        res.map_err(|e| FaultError::Act(format!("send {} to {pid}: {e}", sig.as_str())))?;
    }
    if r.actions.iter().any(|a| matches!(a, Action::Link { .. })) {
        await_supervisor(home, ledger, generation)?;
    }
    Ok(())
}

/// Heals one fault (idempotent: healing a healed fault returns its record).
pub fn heal(home: &EnvHome, id: &str, by: &str) -> Result<FaultRecord, FaultError> {
    let ledger = Ledger::at(home.root());
    let (entry, generation) = ledger.update(|l| {
        l.get_mut(id).map(|e| {
            if e.phase == Phase::Active {
                e.phase = Phase::Healing;
            }
            e.clone()
        })
    })?;
    let entry = entry.ok_or_else(|| FaultError::Unknown(id.to_string()))?;
    if entry.phase == Phase::Healed {
        return Ok(entry.record);
    }
    let mut problems = Vec::new();
    if entry
        .actions
        .iter()
        .any(|a| matches!(a, Action::Link { .. }))
    {
        if let Err(e) = await_supervisor(home.root(), &ledger, generation) {
            problems.push(e.to_string());
        }
    }
    for a in &entry.actions {
        match a {
            Action::Hold { component } => {
                match std::fs::remove_file(hold_file(home.root(), component)) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => problems.push(format!("remove the hold on {component}: {e}")),
                }
            }
            Action::Paused { pids } => {
                for pid in pids {
                    if pid_alive(*pid) {
                        let _ = kill(Pid::from_raw(*pid as i32), Signal::SIGCONT);
                    }
                }
            }
            Action::Nft { table } => {
                if let Err(e) = nft::delete(table) {
                    problems.push(e);
                }
            }
            Action::Link { .. } | Action::Killed { .. } => {}
        }
    }
    if !problems.is_empty() {
        // Left in `healing`: the next heal or start retries.
        return Err(FaultError::Act(format!(
            "heal {id}: {}",
            problems.join("; ")
        )));
    }
    let healed_at = now_ms();
    let (record, _) = ledger.update(|l| {
        let e = l.get_mut(id).expect("entry exists");
        e.phase = Phase::Healed;
        e.record.healed_ms = Some(healed_at);
        e.record.healed_by = Some(by.to_string());
        e.record.clone()
    })?;
    event(&ledger, "heal", &record, by, healed_at);
    Ok(record)
}

/// Which unhealed faults [`heal_where`] heals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every unhealed fault.
    All,
    /// Faults owned by this process.
    Mine,
    /// Faults whose owner process is gone (a crashed or SIGKILLed harness).
    Orphaned,
}

/// Heals every unhealed fault in `scope`; returns what was healed and what could not be.
pub fn heal_where(home: &EnvHome, scope: Scope, by: &str) -> (Vec<FaultRecord>, Vec<String>) {
    let ledger = Ledger::at(home.root());
    let Ok(file) = ledger.read() else {
        return (vec![], vec![format!("read {}", ledger.path().display())]);
    };
    let me = std::process::id();
    let ids: Vec<(String, Option<Owner>)> = file
        .unhealed()
        .filter(|e| match scope {
            Scope::All => true,
            Scope::Mine => e.owner.as_ref().is_some_and(|o| o.pid == me),
            Scope::Orphaned => e.owner.as_ref().is_some_and(|o| !o.alive()),
        })
        .map(|e| (e.record.id.clone(), e.owner.clone()))
        .collect();
    let mut healed = Vec::new();
    let mut failed = Vec::new();
    for (id, owner) in ids {
        let by = match (scope, owner) {
            (Scope::Orphaned, Some(o)) => format!(
                "recovered: its owner (pid {}, `{}`) is gone",
                o.pid, o.command
            ),
            _ => by.to_string(),
        };
        match heal(home, &id, &by) {
            Ok(r) => healed.push(r),
            Err(e) => failed.push(e.to_string()),
        }
    }
    (healed, failed)
}

/// Heals what a crashed harness left behind; run by every `chaos` command that touches an
/// environment. Also removes partition tables of this environment that the ledger does not know
/// (a crash between `nft` and the ledger write cannot happen by construction, but a deleted
/// ledger can).
pub fn recover(home: &EnvHome) -> (Vec<FaultRecord>, Vec<String>) {
    let (healed, mut failed) = heal_where(home, Scope::Orphaned, "recovered");
    if let Ok(plan) = read_plan(home) {
        if let Ok(tables) = nft::tables(&nft::table_prefix(plan.settings.base_port)) {
            let known: Vec<String> = Ledger::at(home.root())
                .read()
                .map(|l| {
                    l.unhealed()
                        .flat_map(|e| e.actions.iter())
                        .filter_map(|a| match a {
                            Action::Nft { table } => Some(table.clone()),
                            _ => None,
                        })
                        .collect()
                })
                .unwrap_or_default();
            for t in tables.iter().filter(|t| !known.contains(t)) {
                if let Err(e) = nft::delete(t) {
                    failed.push(e);
                }
            }
        }
    }
    (healed, failed)
}

/// The unhealed entries, for `chaos fault status`.
pub fn active(home: &EnvHome) -> Result<Vec<Entry>, FaultError> {
    Ok(Ledger::at(home.root())
        .read()?
        .unhealed()
        .cloned()
        .collect())
}

/// Every record, oldest first (healed or not), optionally only those injected at or after
/// `since_ms` — what a run's `faults.jsonl` holds.
pub fn records_since(home: &EnvHome, since_ms: u64) -> Result<Vec<FaultRecord>, FaultError> {
    Ok(Ledger::at(home.root())
        .read()?
        .entries
        .into_iter()
        .filter(|e| e.record.injected_ms >= since_ms)
        .map(|e| e.record)
        .collect())
}

/// Parameters as strings, for building a spec by hand.
pub fn params(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
    kv.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Heals this process's faults when dropped (an error or a panic unwinding), unless disarmed.
pub struct HealGuard {
    home: EnvHome,
    armed: bool,
}

impl HealGuard {
    /// A guard for this process's faults in the environment at `home`.
    pub fn new(home: &EnvHome) -> HealGuard {
        HealGuard {
            home: EnvHome::at(home.root()),
            armed: true,
        }
    }

    /// The faults were healed on the normal path.
    pub fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for HealGuard {
    fn drop(&mut self) {
        if self.armed {
            let by = if std::thread::panicking() {
                "panic"
            } else {
                "error or interrupt"
            };
            let (healed, failed) = heal_where(&self.home, Scope::Mine, by);
            for r in &healed {
                eprintln!("healed {} ({}, {}) on exit", r.id, r.kind, r.target);
            }
            for f in &failed {
                eprintln!("error: could not heal: {f}");
            }
        }
    }
}
