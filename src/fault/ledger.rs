//! The fault ledger: every fault is written here *before* it acts and marked healed only after
//! its heal took effect, so nothing a crashed harness injected can be forgotten.
//!
//! Files in `<env home>/faults/`: `ledger.json` (the current entries, rewritten atomically under
//! an exclusive lock on `ledger.lock`), `events.jsonl` (an append-only timestamped log of every
//! inject and heal, for reports) and `applied.json` (written by the supervisor: the ledger
//! generation whose link faults are in force).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use super::record::FaultRecord;
use crate::platform::action::PlatformAction;

/// The harness process that owns a fault: if it dies, the next `chaos` start heals the fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    /// Its pid.
    pub pid: u32,
    /// Its start time in clock ticks since boot (`/proc/PID/stat` field 22), against pid reuse.
    pub start_ticks: u64,
    /// Its command line, for messages.
    pub command: String,
}

impl Owner {
    /// This process.
    pub fn me() -> Owner {
        let pid = std::process::id();
        Owner {
            pid,
            start_ticks: start_ticks(pid).unwrap_or(0),
            command: std::env::args().collect::<Vec<_>>().join(" "),
        }
    }

    /// Whether the owner still runs (same pid, same start time).
    pub fn alive(&self) -> bool {
        start_ticks(self.pid).is_some_and(|t| t == self.start_ticks)
    }
}

/// A process's start time in clock ticks since boot.
pub fn start_ticks(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command may contain spaces and parentheses: fields resume after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split(' ').nth(19)?.parse().ok()
}

/// Where an entry is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Written, acting or in force.
    Active,
    /// Being healed (link toxics already withdrawn by the supervisor).
    Healing,
    /// Healed.
    Healed,
}

/// One fault in the ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The record reports see.
    pub record: FaultRecord,
    /// Its life phase.
    pub phase: Phase,
    /// What to undo, as the platform that acted describes it.
    pub actions: Vec<PlatformAction>,
    /// The process that heals it; None for faults a person injected to stay until
    /// `chaos fault heal`.
    pub owner: Option<Owner>,
    /// When it is due to be healed (for `chaos fault status`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heal_due_ms: Option<u64>,
}

impl Entry {
    /// Whether its link toxics should be in force.
    pub fn links_active(&self) -> bool {
        self.phase == Phase::Active
    }
}

/// The ledger file's content.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LedgerFile {
    /// Bumped on every write; the supervisor acknowledges it in `applied.json`.
    pub generation: u64,
    /// The next fault number.
    pub next_id: u64,
    /// Every fault of this environment, oldest first.
    pub entries: Vec<Entry>,
}

impl LedgerFile {
    /// Faults not yet healed.
    pub fn unhealed(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| e.phase != Phase::Healed)
    }

    /// The entry with this id.
    pub fn get_mut(&mut self, id: &str) -> Option<&mut Entry> {
        self.entries.iter_mut().find(|e| e.record.id == id)
    }
}

/// What the supervisor writes once a generation's link faults are in force.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// The ledger generation.
    pub generation: u64,
}

/// A ledger error.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// Reading or writing failed.
    #[error("fault ledger {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not a ledger.
    #[error("fault ledger {path} is damaged: {message}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// The ledger of one environment.
#[derive(Debug, Clone)]
pub struct Ledger {
    dir: PathBuf,
}

/// One line of `events.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    /// Unix milliseconds.
    pub at_ms: u64,
    /// `inject` or `heal`.
    pub event: String,
    /// The fault.
    pub id: String,
    /// Its kind.
    pub kind: String,
    /// Its target.
    pub target: String,
    /// What happened.
    pub detail: String,
}

impl Ledger {
    /// The ledger of the environment at `home`.
    pub fn at(home: &Path) -> Ledger {
        Ledger {
            dir: home.join("faults"),
        }
    }

    /// `ledger.json`.
    pub fn path(&self) -> PathBuf {
        self.dir.join("ledger.json")
    }

    /// `events.jsonl`.
    pub fn events_path(&self) -> PathBuf {
        self.dir.join("events.jsonl")
    }

    /// `applied.json`.
    pub fn applied_path(&self) -> PathBuf {
        self.dir.join("applied.json")
    }

    fn io(&self, path: &Path) -> impl FnOnce(std::io::Error) -> LedgerError {
        let path = path.to_path_buf();
        move |source| LedgerError::Io { path, source }
    }

    /// Reads the ledger (an absent file is an empty ledger). Writers replace the file
    /// atomically, so readers need no lock.
    pub fn read(&self) -> Result<LedgerFile, LedgerError> {
        let path = self.path();
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| LedgerError::Corrupt {
                path,
                message: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(LedgerFile::default()),
            Err(e) => Err(self.io(&path)(e)),
        }
    }

    /// Changes the ledger under an exclusive lock and writes it back with a new generation.
    /// Returns `f`'s result and the generation written.
    pub fn update<R>(&self, f: impl FnOnce(&mut LedgerFile) -> R) -> Result<(R, u64), LedgerError> {
        fs::create_dir_all(&self.dir).map_err(self.io(&self.dir))?;
        let lock_path = self.dir.join("ledger.lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(self.io(&lock_path))?;
        let lock = Flock::lock(lock, FlockArg::LockExclusive)
            .map_err(|(_, e)| self.io(&lock_path)(std::io::Error::from(e)))?;
        let mut file = self.read()?;
        let r = f(&mut file);
        file.generation += 1;
        let path = self.path();
        crate::jsonfile::write_atomically(&path, &file).map_err(self.io(&path))?;
        drop(lock);
        Ok((r, file.generation))
    }

    /// Appends an event to `events.jsonl`.
    pub fn log_event(&self, event: &Event) -> Result<(), LedgerError> {
        fs::create_dir_all(&self.dir).map_err(self.io(&self.dir))?;
        let path = self.events_path();
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(self.io(&path))?;
        let mut line = serde_json::to_string(event).expect("event serialises");
        line.push('\n');
        f.write_all(line.as_bytes()).map_err(self.io(&path))
    }

    /// The generation the supervisor has applied.
    pub fn applied(&self) -> Applied {
        crate::jsonfile::read(&self.applied_path()).unwrap_or_default()
    }

    /// Records that `generation` is in force (the supervisor's side).
    pub fn set_applied(&self, generation: u64) -> Result<(), LedgerError> {
        let path = self.applied_path();
        crate::jsonfile::write_atomically(&path, &Applied { generation }).map_err(self.io(&path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn record(id: &str) -> FaultRecord {
        FaultRecord {
            id: id.into(),
            kind: "s3-outage".into(),
            target: "s3".into(),
            versions: vec!["3.5.7".into(), "4.1.0".into()],
            params: BTreeMap::new(),
            injected_ms: 1,
            healed_ms: None,
            detail: "blackhole on s3-35".into(),
            healed_by: None,
        }
    }

    #[test]
    fn updates_bump_the_generation_and_survive_rereading() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::at(dir.path());
        assert_eq!(ledger.read().unwrap(), LedgerFile::default());
        let ((), g1) = ledger
            .update(|l| {
                l.entries.push(Entry {
                    record: record("f1"),
                    phase: Phase::Active,
                    actions: vec![PlatformAction(
                        serde_json::json!({"action": "hold", "component": "s3"}),
                    )],
                    owner: Some(Owner::me()),
                    heal_due_ms: None,
                })
            })
            .unwrap();
        let ((), g2) = ledger
            .update(|l| l.get_mut("f1").unwrap().phase = Phase::Healed)
            .unwrap();
        assert_eq!((g1, g2), (1, 2));
        let back = ledger.read().unwrap();
        assert_eq!(back.entries[0].phase, Phase::Healed);
        assert_eq!(back.unhealed().count(), 0);
        assert!(back.entries[0].owner.as_ref().unwrap().alive());
    }

    #[test]
    fn concurrent_writers_never_lose_an_update() {
        let dir = tempfile::tempdir().unwrap();
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let ledger = Ledger::at(dir.path());
                std::thread::spawn(move || {
                    for _ in 0..20 {
                        ledger
                            .update(|l| {
                                l.next_id += 1;
                                let id = format!("f{}", l.next_id);
                                l.entries.push(Entry {
                                    record: record(&id),
                                    phase: Phase::Active,
                                    actions: vec![],
                                    owner: None,
                                    heal_due_ms: None,
                                });
                            })
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let l = Ledger::at(dir.path()).read().unwrap();
        let mut ids: Vec<&str> = l.entries.iter().map(|e| e.record.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!((l.next_id, ids.len(), l.generation), (160, 160, 160));
    }

    #[test]
    fn a_dead_owner_is_recognised() {
        let mut me = Owner::me();
        assert!(me.alive());
        me.start_ticks += 1;
        assert!(!me.alive(), "same pid, other start time: pid reused");
        assert!(start_ticks(u32::MAX - 1).is_none());
    }

    #[test]
    fn a_damaged_ledger_is_an_error_not_an_empty_one() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("faults")).unwrap();
        fs::write(dir.path().join("faults/ledger.json"), b"{not json").unwrap();
        let e = Ledger::at(dir.path()).read().unwrap_err();
        assert!(e.to_string().contains("is damaged"), "{e}");
    }
}
