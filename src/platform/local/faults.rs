//! The local platform's fault driver: resolves fault specs against the plan and the state
//! file into actions on processes (signals to process groups and executor JVMs, hold files),
//! link toxics (applied by the supervisor's proxies, acknowledged through the ledger's
//! generation) and nftables partitions; undoes them idempotently; sweeps tables the ledger
//! does not know.

use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::env::{pid_alive, read_plan, running_state};
use super::plan::{driver_port_names, Plan};
use super::state::EnvState;
use super::supervisor::hold_file;
use super::{nft, procs};
use crate::fault::catalog::{Effect, FaultSpec, LinkKind, ProcessAction};
use crate::fault::ledger::Ledger;
use crate::fault::proxy::ToxicSpec;
use crate::fault::target::{Pick, Role, Target};
use crate::paths::EnvHome;
use crate::platform::topology as topo;
use crate::platform::{DriverError, FaultDriver, PlatformAction, Resolution};
use crate::versions::SparkLine;

/// How long to wait for the supervisor to apply or withdraw link toxics.
pub const ACK_TIMEOUT: Duration = Duration::from_secs(10);

pub use super::action::LocalAction;

/// What acting does once the ledger holds the undo actions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "kebab-case")]
enum Step {
    /// Send a signal to a process (or its whole group).
    Signal {
        /// The pid (or process group id).
        pid: u32,
        /// The signal's name (`SIGKILL`).
        signal: String,
        /// To the whole process group.
        group: bool,
    },
    /// Create an nftables partition table.
    Nft {
        /// Its name.
        table: String,
        /// The loopback ports whose traffic it drops.
        ports: Vec<u16>,
    },
}

impl Step {
    fn signal(pid: u32, signal: Signal, group: bool) -> PlatformAction {
        Step::Signal {
            pid,
            signal: signal.as_str().to_string(),
            group,
        }
        .encode()
    }

    fn encode(&self) -> PlatformAction {
        PlatformAction::encode(self)
    }
}

/// A running local environment, as far as faults are concerned.
struct EnvView {
    home: PathBuf,
    plan: Plan,
    state: EnvState,
}

impl EnvView {
    fn load(home: &EnvHome) -> Result<EnvView, DriverError> {
        let state = running_state(home)
            .map_err(|e| DriverError::Act(e.to_string()))?
            .ok_or_else(|| DriverError::NoEnv(home.root().display().to_string()))?;
        let plan = read_plan(home).map_err(|e| DriverError::Act(e.to_string()))?;
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

fn versions_of(lines: &[SparkLine]) -> Vec<String> {
    lines.iter().map(|l| l.version().to_string()).collect()
}

fn target_err(target: &Target, message: impl Into<String>) -> DriverError {
    DriverError::Target {
        target: target.to_string(),
        message: message.into(),
    }
}

/// The component ids a process target names.
fn components(view: &EnvView, target: &Target) -> Result<Vec<String>, DriverError> {
    let lines = target.lines();
    let base: Vec<String> = match target.role {
        Role::S3 => vec![topo::S3.into()],
        Role::Postgres => vec![topo::POSTGRES.into()],
        role => view
            .plan
            .components
            .iter()
            .filter(|c| c.role == role && c.line.is_some_and(|l| lines.contains(&l)))
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
) -> Result<Resolution, DriverError> {
    let target = &spec.target;
    let mut r = Resolution {
        versions: if target.role.shared() {
            versions_of(&view.plan.settings.lines)
        } else {
            versions_of(&target.lines())
        },
        ..Resolution::default()
    };
    let mut details = Vec::new();
    if target.role == Role::Executor {
        let work = view.home.join("work");
        let mut pids = Vec::new();
        for line in target.lines() {
            let all = procs::executors(&work, &topo::worker_prefix(line));
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
            ProcessAction::Kill { .. } => {
                (LocalAction::Killed { pids: pids.clone() }, Signal::SIGKILL)
            }
            ProcessAction::Pause => (LocalAction::Paused { pids: pids.clone() }, Signal::SIGSTOP),
            ProcessAction::Stop => {
                return Err(target_err(target, "executors cannot be stopped gracefully"))
            }
        };
        r.undo.push(act.encode());
        r.act = pids.iter().map(|p| Step::signal(*p, sig, false)).collect();
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
                    r.undo.push(
                        LocalAction::Hold {
                            component: id.clone(),
                        }
                        .encode(),
                    );
                }
                r.undo
                    .push(LocalAction::Killed { pids: vec![pid] }.encode());
                r.act.push(Step::signal(pid, Signal::SIGKILL, true));
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
                r.act.extend(
                    members
                        .iter()
                        .map(|p| Step::signal(*p, Signal::SIGSTOP, false)),
                );
                r.undo.push(LocalAction::Paused { pids: members }.encode());
            }
            ProcessAction::Stop => {
                r.undo.push(
                    LocalAction::Hold {
                        component: id.clone(),
                    }
                    .encode(),
                );
                r.act.push(Step::signal(pid, Signal::SIGTERM, true));
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
    toxic: &ToxicSpec,
) -> Result<Resolution, DriverError> {
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
    Ok(Resolution {
        undo: ids
            .iter()
            .map(|id| {
                LocalAction::Link {
                    link: id.clone(),
                    toxic: toxic.clone(),
                }
                .encode()
            })
            .collect(),
        act: vec![],
        versions: versions_of(&versions),
        detail: format!(
            "{} on {}",
            serde_json::to_string(toxic).unwrap_or_default(),
            ids.join(", ")
        ),
    })
}

fn resolve_partition(
    view: &EnvView,
    spec: &FaultSpec,
    id: &str,
) -> Result<Resolution, DriverError> {
    let lines = spec.target.lines();
    let mut r = Resolution {
        versions: versions_of(&lines),
        ..Resolution::default()
    };
    let mut details = Vec::new();
    for line in lines {
        let v = line.slug();
        let ports: Vec<u16> = (0..view.plan.settings.replicas)
            .flat_map(|rep| driver_port_names(line, rep))
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
        r.undo.push(
            LocalAction::Nft {
                table: table.clone(),
            }
            .encode(),
        );
        r.act.push(Step::Nft { table, ports }.encode());
    }
    r.detail = details.join("; ");
    Ok(r)
}

/// The local platform's faults, for the environment at one home.
pub struct LocalFaults {
    home: EnvHome,
}

impl LocalFaults {
    /// The driver for the environment at `home`.
    pub fn new(home: &EnvHome) -> LocalFaults {
        LocalFaults {
            home: EnvHome::at(home.root()),
        }
    }

    /// Waits until the supervisor has applied ledger generation `generation` (if it runs:
    /// without a supervisor no proxy runs, so no link fault can be in force).
    fn await_supervisor(&self, generation: u64) -> Result<(), DriverError> {
        let ledger = Ledger::at(self.home.root());
        let home = EnvHome::at(self.home.root());
        super::ack::wait(
            || Some(ledger.applied().generation),
            generation,
            || running_state(&home).ok().flatten().is_some(),
            ACK_TIMEOUT,
        )
        .map(|_| ())
        .map_err(|e| DriverError::Act(e.describe("link faults", self.home.root())))
    }
}

fn parse_signal(name: &str) -> Result<Signal, DriverError> {
    name.parse::<Signal>()
        .map_err(|_| DriverError::Act(format!("unknown signal {name}")))
}

impl FaultDriver for LocalFaults {
    fn resolve(&self, spec: &FaultSpec, id: &str) -> Result<Resolution, DriverError> {
        let view = EnvView::load(&self.home)?;
        match &spec.effect {
            Effect::Process(a) => resolve_process(&view, spec, *a),
            Effect::Link { kinds, toxic } => resolve_links(&view, spec, kinds, toxic),
            Effect::Partition => resolve_partition(&view, spec, id),
        }
    }

    fn act(&self, r: &Resolution, generation: u64) -> Result<(), DriverError> {
        let undo: Vec<LocalAction> = r.undo.iter().filter_map(PlatformAction::decode).collect();
        for a in &undo {
            if let LocalAction::Hold { component } = a {
                write_hold(self.home.root(), component)?;
            }
        }
        let steps: Vec<Step> = r.act.iter().filter_map(PlatformAction::decode).collect();
        for s in &steps {
            if let Step::Nft { table, ports } = s {
                nft::apply(table, ports).map_err(DriverError::Act)?;
            }
        }
        for s in &steps {
            if let Step::Signal { pid, signal, group } = s {
                let sig = parse_signal(signal)?;
                let p = Pid::from_raw(*pid as i32);
                let res = if *group { killpg(p, sig) } else { kill(p, sig) };
                res.map_err(|e| DriverError::Act(format!("send {signal} to {pid}: {e}")))?;
            }
        }
        if undo.iter().any(|a| matches!(a, LocalAction::Link { .. })) {
            self.await_supervisor(generation)?;
        }
        Ok(())
    }

    fn undo(&self, undo: &[PlatformAction], generation: u64) -> Vec<String> {
        let actions: Vec<LocalAction> = undo.iter().filter_map(PlatformAction::decode).collect();
        let mut problems = Vec::new();
        if actions.len() < undo.len() {
            problems.push("the ledger holds actions of another platform".to_string());
        }
        if actions
            .iter()
            .any(|a| matches!(a, LocalAction::Link { .. }))
        {
            if let Err(e) = self.await_supervisor(generation) {
                problems.push(e.to_string());
            }
        }
        for a in &actions {
            match a {
                LocalAction::Hold { component } => {
                    match std::fs::remove_file(hold_file(self.home.root(), component)) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => problems.push(format!("remove the hold on {component}: {e}")),
                    }
                }
                LocalAction::Paused { pids } => {
                    for pid in pids {
                        if pid_alive(*pid) {
                            let _ = kill(Pid::from_raw(*pid as i32), Signal::SIGCONT);
                        }
                    }
                }
                LocalAction::Nft { table } => {
                    if let Err(e) = nft::delete(table) {
                        problems.push(e);
                    }
                }
                LocalAction::Link { .. } | LocalAction::Killed { .. } => {}
            }
        }
        problems
    }

    fn sweep(&self, known: &[PlatformAction]) -> Vec<String> {
        let mut failed = Vec::new();
        let Ok(plan) = read_plan(&self.home) else {
            return failed;
        };
        let known: Vec<String> = known
            .iter()
            .filter_map(PlatformAction::decode)
            .filter_map(|a| match a {
                LocalAction::Nft { table } => Some(table),
                _ => None,
            })
            .collect();
        if let Ok(tables) = nft::tables(&nft::table_prefix(plan.settings.base_port)) {
            for t in tables.iter().filter(|t| !known.contains(t)) {
                if let Err(e) = nft::delete(t) {
                    failed.push(e);
                }
            }
        }
        failed
    }
}

fn write_hold(home: &Path, component: &str) -> Result<(), DriverError> {
    let path = hold_file(home, component);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| DriverError::Act(format!("create {}: {e}", dir.display())))?;
    }
    std::fs::write(&path, b"held by a fault\n")
        .map_err(|e| DriverError::Act(format!("write {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_keep_the_ledger_format_of_before_platforms() {
        let a = LocalAction::Hold {
            component: "metastore-41".into(),
        }
        .encode();
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            r#"{"action":"hold","component":"metastore-41"}"#
        );
        let old: PlatformAction =
            serde_json::from_str(r#"{"action":"nft","table":"chaos_17000_f3_41"}"#).unwrap();
        assert_eq!(
            old.decode::<LocalAction>(),
            Some(LocalAction::Nft {
                table: "chaos_17000_f3_41".into()
            })
        );
        let foreign: PlatformAction =
            serde_json::from_str(r#"{"action":"network-policy","name":"x"}"#).unwrap();
        assert_eq!(foreign.decode::<LocalAction>(), None);
    }

    #[test]
    fn steps_round_trip_signals_by_name() {
        let s = Step::signal(42, Signal::SIGSTOP, false);
        let back: Step = s.decode().unwrap();
        assert_eq!(
            back,
            Step::Signal {
                pid: 42,
                signal: "SIGSTOP".into(),
                group: false
            }
        );
        assert_eq!(parse_signal("SIGSTOP").unwrap(), Signal::SIGSTOP);
    }
}
