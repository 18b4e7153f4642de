//! The supervisor's fault proxies: one per planned link, started before wave 0 and stopped after
//! the last component, with their toxics reconciled from the fault ledger.
//!
//! The ledger is the single source of truth: an `active` entry's link actions are in force, a
//! `healing` or `healed` entry's are not. After every reconcile the supervisor records the ledger
//! generation it applied (`faults/applied.json`), which `chaos fault` waits for.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use super::plan::Plan;
use crate::fault::ledger::{Action, Ledger};
use crate::fault::proxy::{Proxy, ProxyHandle, ProxyOptions, ProxyStats, ToxicId, ToxicSpec};

/// One link as `chaos env status` shows it (`faults/links.json`, rewritten every second).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LinkStatus {
    /// The link id.
    pub id: String,
    /// Who talks to whom.
    pub description: String,
    /// The port clients use.
    pub listen: u16,
    /// The port it forwards to.
    pub upstream: u16,
    /// The toxics in force.
    pub toxics: Vec<ToxicSpec>,
    /// Its counters.
    pub stats: ProxyStats,
}

/// The file the supervisor keeps the links' status in.
pub fn status_file(home: &std::path::Path) -> std::path::PathBuf {
    home.join("faults").join("links.json")
}

/// Reads the links' status (empty when there is none).
pub fn read_status(home: &std::path::Path) -> Vec<LinkStatus> {
    std::fs::read(status_file(home))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// The running proxies and the toxics applied to them.
pub struct Links {
    descriptions: BTreeMap<String, String>,
    proxies: BTreeMap<String, ProxyHandle>,
    /// (fault id, action index) → (link, toxic id).
    applied: BTreeMap<(String, usize), (String, ToxicId)>,
    ledger: Ledger,
    generation: Option<u64>,
}

impl Links {
    /// Starts a proxy for every link of the plan.
    pub async fn start(plan: &Plan) -> Result<Links, String> {
        let mut proxies = BTreeMap::new();
        for l in &plan.links {
            let listen = SocketAddr::from(([127, 0, 0, 1], l.listen));
            let upstream = SocketAddr::from(([127, 0, 0, 1], l.upstream));
            let mut opts = ProxyOptions::new(l.id.clone(), listen, upstream);
            if l.http {
                opts = opts.http();
            }
            let handle = Proxy::start_with(opts)
                .await
                .map_err(|e| format!("start link {} on {listen}: {e}", l.id))?;
            proxies.insert(l.id.clone(), handle);
        }
        Ok(Links {
            descriptions: plan
                .links
                .iter()
                .map(|l| (l.id.clone(), l.description.clone()))
                .collect(),
            proxies,
            applied: BTreeMap::new(),
            ledger: Ledger::at(&plan.home),
            generation: None,
        })
    }

    /// Brings the proxies' toxics in line with the ledger, if it changed. Returns log lines.
    pub async fn reconcile(&mut self) -> Vec<String> {
        let mut log = Vec::new();
        let file = match self.ledger.read() {
            Ok(f) => f,
            Err(e) => {
                if self.generation.is_some() {
                    log.push(format!("fault ledger unreadable: {e}"));
                }
                return log;
            }
        };
        if self.generation == Some(file.generation) {
            return log;
        }
        let mut desired: BTreeMap<(String, usize), (String, ToxicSpec)> = BTreeMap::new();
        for e in file.entries.iter().filter(|e| e.links_active()) {
            for (i, a) in e.actions.iter().enumerate() {
                if let Action::Link { link, toxic } = a {
                    desired.insert((e.record.id.clone(), i), (link.clone(), toxic.clone()));
                }
            }
        }
        let stale: Vec<(String, usize)> = self
            .applied
            .keys()
            .filter(|k| !desired.contains_key(*k))
            .cloned()
            .collect();
        for key in stale {
            let (link, toxic) = self.applied.remove(&key).expect("present");
            if let Some(p) = self.proxies.get(&link) {
                match p.remove(toxic).await {
                    Ok(_) => log.push(format!("link {link}: healed {} ({toxic})", key.0)),
                    Err(e) => log.push(format!("link {link}: remove {toxic} of {}: {e}", key.0)),
                }
            }
        }
        let mut ok = true;
        for (key, (link, spec)) in desired {
            if self.applied.contains_key(&key) {
                continue;
            }
            let Some(p) = self.proxies.get(&link) else {
                log.push(format!(
                    "fault {}: no link `{link}` in this environment",
                    key.0
                ));
                continue;
            };
            match p.add(spec.clone()).await {
                Ok(tid) => {
                    log.push(format!("link {link}: {} injected {}", key.0, spec.kind()));
                    self.applied.insert(key, (link, tid));
                }
                Err(e) => {
                    ok = false;
                    log.push(format!(
                        "link {link}: add {} for {}: {e}",
                        spec.kind(),
                        key.0
                    ));
                }
            }
        }
        if ok {
            self.generation = Some(file.generation);
            if let Err(e) = self.ledger.set_applied(file.generation) {
                log.push(format!("record applied generation: {e}"));
            }
        }
        log
    }

    /// Every link's status.
    pub fn status(&self) -> Vec<LinkStatus> {
        self.proxies
            .iter()
            .map(|(id, p)| LinkStatus {
                id: id.clone(),
                description: self.descriptions.get(id).cloned().unwrap_or_default(),
                listen: p.local_addr().port(),
                upstream: p.upstream().port(),
                toxics: p.active(),
                stats: p.stats(),
            })
            .collect()
    }

    /// Writes [`Links::status`] to `faults/links.json` (atomically).
    pub fn write_status(&self, home: &std::path::Path) -> std::io::Result<()> {
        let path = status_file(home);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(&self.status())?)?;
        std::fs::rename(tmp, path)
    }

    /// Withdraws every toxic (so components stop cleanly) and returns.
    pub async fn clear(&mut self) {
        for p in self.proxies.values() {
            let _ = p.clear().await;
        }
        self.applied.clear();
        self.generation = None;
    }

    /// Stops every proxy.
    pub async fn shutdown(self) {
        for (_, p) in self.proxies {
            p.shutdown().await;
        }
    }
}
