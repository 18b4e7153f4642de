//! Injecting and healing faults through the ledger, on any platform: the platform's
//! [`FaultDriver`] resolves and acts, this module keeps the order that leaves nothing
//! unhealable whatever the platform.
//!
//! inject = reserve an id → resolve → write the entry (phase `active`, with the undo actions)
//! → act. heal = mark `healing` → undo → mark `healed`. A crash between any two steps leaves an
//! entry the next heal (or the next command's recovery) finishes.

use std::collections::BTreeMap;
use std::time::Duration;

use super::catalog::FaultSpec;
use super::ledger::{Entry, Event, Ledger, LedgerError, Owner, Phase};
use super::record::FaultRecord;
use crate::paths::EnvHome;
use crate::platform::{DriverError, Platform, PlatformAction, PlatformRef};
use crate::units::now_ms;

/// A fault that could not be injected or healed.
#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    /// The ledger failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// There is no running environment.
    #[error("no running environment at {0} (run `chaos env up`)")]
    NoEnv(String),
    /// The platform could not resolve or act.
    #[error(transparent)]
    Driver(#[from] DriverError),
    /// Acting or undoing failed.
    #[error("{0}")]
    Act(String),
    /// No such fault.
    #[error("no fault `{0}` in the ledger (see `chaos fault status`)")]
    Unknown(String),
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
    p: &dyn Platform,
    spec: &FaultSpec,
    owner: Option<Owner>,
    heal_due: Option<Duration>,
) -> Result<FaultRecord, FaultError> {
    let ledger = Ledger::at(p.home().root());
    // The id is reserved under the ledger's lock: concurrent injectors never share one.
    let (id, _) = ledger.update(|l| {
        l.next_id += 1;
        format!("f{}", l.next_id)
    })?;
    let resolved = p.faults().resolve(spec, &id)?;
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
            actions: resolved.undo.clone(),
            owner: owner.clone(),
            heal_due_ms: heal_due.map(|d| now + d.as_millis() as u64),
        });
    })?;
    if let Err(e) = p.faults().act(&resolved, generation) {
        let _ = heal(p, &id, &format!("injection failed: {e}"));
        return Err(e.into());
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
            p,
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

/// Heals one fault (idempotent: healing a healed fault returns its record).
pub fn heal(p: &dyn Platform, id: &str, by: &str) -> Result<FaultRecord, FaultError> {
    let ledger = Ledger::at(p.home().root());
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
    let problems = p.faults().undo(&entry.actions, generation);
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
pub fn heal_where(p: &dyn Platform, scope: Scope, by: &str) -> (Vec<FaultRecord>, Vec<String>) {
    let ledger = Ledger::at(p.home().root());
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
        match heal(p, &id, &by) {
            Ok(r) => healed.push(r),
            Err(e) => failed.push(e.to_string()),
        }
    }
    (healed, failed)
}

/// Heals what a crashed harness left behind; run by every `chaos` command that touches an
/// environment. Also asks the platform to remove what faults left that the ledger does not
/// know (a crash between acting and the ledger write cannot happen by construction, but a
/// deleted ledger can).
pub fn recover(p: &dyn Platform) -> (Vec<FaultRecord>, Vec<String>) {
    let (healed, mut failed) = heal_where(p, Scope::Orphaned, "recovered");
    let known: Vec<PlatformAction> = Ledger::at(p.home().root())
        .read()
        .map(|l| {
            l.unhealed()
                .flat_map(|e| e.actions.iter().cloned())
                .collect()
        })
        .unwrap_or_default();
    failed.extend(p.faults().sweep(&known));
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
    platform: PlatformRef,
    armed: bool,
}

impl HealGuard {
    /// A guard for this process's faults on `platform`.
    pub fn new(platform: PlatformRef) -> HealGuard {
        HealGuard {
            platform,
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
            let (healed, failed) = heal_where(self.platform.as_ref(), Scope::Mine, by);
            for r in &healed {
                eprintln!("healed {} ({}, {}) on exit", r.id, r.kind, r.target);
            }
            for f in &failed {
                eprintln!("error: could not heal: {f}");
            }
        }
    }
}
