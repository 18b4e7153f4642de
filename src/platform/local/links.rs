//! The supervisor's fault proxies: one per planned link, started before wave 0 and stopped after
//! the last component, with their toxics reconciled from the fault ledger.
//!
//! The ledger is the single source of truth: an `active` entry's link actions are in force, a
//! `healing` or `healed` entry's are not. After every reconcile the supervisor records the ledger
//! generation it applied (`faults/applied.json`), which `chaos fault` waits for.
//!
//! **Routes.** The cut-over links (`edge-R`, see [`super::plan::edge_link_ids`]) forward to one
//! version's Connect server at a time. An upgrade run asks for a route by writing
//! `faults/routes.json` (atomically, with a bumped generation); on the same poll tick the
//! supervisor points each named edge at its target (new connections go there) and then resets
//! the edge's open connections, so clients reconnect to the new side — what a load balancer
//! does at a cut-over. It acknowledges the generation in `faults/routes-applied.json`, which the
//! runner waits for. A starting supervisor removes both files: routes begin as planned.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::action::LocalAction;
use super::plan::Plan;
use crate::fault::ledger::Ledger;
use crate::fault::proxy::{Proxy, ProxyHandle, ProxyOptions, ToxicId, ToxicSpec};

pub use crate::platform::LinkStatus;

/// The file the supervisor keeps the links' status in.
pub fn status_file(home: &std::path::Path) -> std::path::PathBuf {
    home.join("faults").join("links.json")
}

/// Reads the links' status (empty when there is none).
pub fn read_status(home: &std::path::Path) -> Vec<LinkStatus> {
    read_json(&status_file(home)).unwrap_or_default()
}

/// The routes an upgrade run asks for (`faults/routes.json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Routes {
    /// Bumped by every request; acknowledged in `faults/routes-applied.json`.
    pub generation: u64,
    /// Edge link id (`edge-0`) → route target (`connect-41-0`: the link or component of that
    /// id). Edges not named keep their current route.
    pub routes: BTreeMap<String, String>,
}

/// What the supervisor applied (`faults/routes-applied.json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RoutesApplied {
    /// The generation of `routes.json` it acted on.
    pub generation: u64,
    /// Every edge link's route now.
    pub routes: BTreeMap<String, String>,
    /// Routes of that generation it could not apply (unknown link or target).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// The file an upgrade run writes its routes to.
pub fn routes_file(home: &Path) -> PathBuf {
    home.join("faults").join("routes.json")
}

/// The file the supervisor acknowledges routes in.
pub fn routes_applied_file(home: &Path) -> PathBuf {
    home.join("faults").join("routes-applied.json")
}

use crate::jsonfile::{read as read_json, write_atomically as write_json_atomic};

/// What the supervisor last applied, if it applied any route since it started.
pub fn read_routes_applied(home: &Path) -> Option<RoutesApplied> {
    read_json(&routes_applied_file(home))
}

/// Asks the supervisor for `routes`; returns the generation to wait for in
/// [`read_routes_applied`].
pub fn request_routes(home: &Path, routes: BTreeMap<String, String>) -> std::io::Result<u64> {
    let last = read_json::<Routes>(&routes_file(home)).map_or(0, |r| r.generation);
    let acked = read_routes_applied(home).map_or(0, |a| a.generation);
    let generation = last.max(acked) + 1;
    write_json_atomic(&routes_file(home), &Routes { generation, routes })?;
    Ok(generation)
}

/// The running proxies and the toxics applied to them.
pub struct Links {
    plan: Plan,
    descriptions: BTreeMap<String, String>,
    proxies: BTreeMap<String, ProxyHandle>,
    /// (fault id, action index) → (link, toxic id).
    applied: BTreeMap<(String, usize), (String, ToxicId)>,
    ledger: Ledger,
    generation: Option<u64>,
    /// Every edge link's route target now.
    routes: BTreeMap<String, String>,
    /// The generation of `routes.json` acted on.
    routes_generation: Option<u64>,
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
        for stale in [routes_file(&plan.home), routes_applied_file(&plan.home)] {
            match std::fs::remove_file(&stale) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(format!("remove stale {}: {e}", stale.display())),
            }
        }
        Ok(Links {
            plan: plan.clone(),
            routes: plan
                .links
                .iter()
                .filter(|l| l.is_edge())
                .map(|l| (l.id.clone(), l.upstream_component.clone()))
                .collect(),
            routes_generation: None,
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

    /// Brings the edges' routes in line with `routes.json` and the proxies' toxics in line with
    /// the ledger, if they changed. Returns log lines.
    pub async fn reconcile(&mut self) -> Vec<String> {
        let mut log = self.reconcile_routes();
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
                if let Some(LocalAction::Link { link, toxic }) = a.decode() {
                    desired.insert((e.record.id.clone(), i), (link, toxic));
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

    /// Applies a new generation of `routes.json` and acknowledges it. Returns log lines.
    fn reconcile_routes(&mut self) -> Vec<String> {
        let Some(wanted) = read_json::<Routes>(&routes_file(&self.plan.home)) else {
            return vec![];
        };
        if self.routes_generation == Some(wanted.generation) {
            return vec![];
        }
        let mut log = Vec::new();
        let mut errors = Vec::new();
        for (link, target) in &wanted.routes {
            match self.route(link, target) {
                Ok(Some(line)) => log.push(line),
                Ok(None) => {}
                Err(e) => errors.push(e),
            }
        }
        log.extend(errors.iter().cloned());
        self.routes_generation = Some(wanted.generation);
        let applied = RoutesApplied {
            generation: wanted.generation,
            routes: self.routes.clone(),
            errors,
        };
        if let Err(e) = write_json_atomic(&routes_applied_file(&self.plan.home), &applied) {
            log.push(format!("record applied routes: {e}"));
        }
        log
    }

    /// Points edge `link` at `target` and resets its open connections; `None` when it already
    /// pointed there.
    fn route(&mut self, link: &str, target: &str) -> Result<Option<String>, String> {
        let proxy = self
            .proxies
            .get(link)
            .filter(|_| self.routes.contains_key(link))
            .ok_or_else(|| format!("route {link}: no cut-over link of that id"))?;
        let port = self
            .plan
            .route_port(target)
            .ok_or_else(|| format!("route {link}: no link or component `{target}`"))?;
        if self.routes.get(link).map(String::as_str) == Some(target) {
            return Ok(None);
        }
        proxy
            .set_upstream(SocketAddr::from(([127, 0, 0, 1], port)))
            .map_err(|e| format!("route {link} to {target}: {e}"))?;
        let reset = proxy.reset_connections();
        self.routes.insert(link.to_string(), target.to_string());
        Ok(Some(format!(
            "link {link}: routed to {target} (port {port}), {reset} open connection(s) reset"
        )))
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
        write_json_atomic(&status_file(home), &self.status())
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

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::*;
    use crate::paths::{Cache, EnvHome};
    use crate::platform::local::plan::{self, EnvSettings, Machine, Secrets};

    /// A plan on free loopback ports, with its home in `dir`.
    fn plan_in(dir: &Path) -> Plan {
        let settings = EnvSettings {
            base_port: 20000 + (std::process::id() % 20000) as u16,
            ..EnvSettings::default()
        };
        let ports = plan::allocate_ports(&settings).expect("free ports");
        let machine = Machine {
            cache: Cache::at("/cache"),
            java_home: "/jdk".into(),
            pg_bin: "/pg/bin".into(),
            pg_run_as: None,
        };
        let secrets = Secrets {
            s3_access_key: "ak".into(),
            s3_secret_key: "sk".into(),
            pg_user: "chaos".into(),
            pg_password: "pw".into(),
        };
        plan::build(&settings, &EnvHome::at(dir), &machine, ports, &secrets)
    }

    /// Stands in for a Connect server: greets every connection with `tag`, then holds it.
    async fn greeter(port: u16, tag: &'static [u8]) -> tokio::task::JoinHandle<()> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let _ = s.write_all(tag).await;
                    let mut sink = [0u8; 64];
                    while matches!(s.read(&mut sink).await, Ok(n) if n > 0) {}
                });
            }
        })
    }

    async fn greeting(port: u16) -> (TcpStream, Vec<u8>) {
        let mut s = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        let mut tag = [0u8; 4];
        s.read_exact(&mut tag).await.expect("greeting");
        (s, tag.to_vec())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_route_request_switches_the_edge_resets_it_and_is_acknowledged() {
        let dir = tempfile::tempdir().expect("tempdir");
        let plan = plan_in(dir.path());
        let port = |id: &str| plan.component(id).expect("planned").ports[0];
        let _old = greeter(port("connect-35-0"), b"3.5!").await;
        let _new = greeter(port("connect-41-0"), b"4.1!").await;
        // A stale request from an earlier supervisor is dropped at start.
        request_routes(
            dir.path(),
            [("edge-0".into(), "connect-41-0".into())].into(),
        )
        .unwrap();
        let mut links = Links::start(&plan).await.expect("links");
        assert!(!routes_file(dir.path()).exists());
        let edge = plan.link("edge-0").expect("edge").listen;
        let (mut before, tag) = greeting(edge).await;
        assert_eq!(tag, b"3.5!");

        let generation = request_routes(
            dir.path(),
            [("edge-0".into(), "connect-41-0".into())].into(),
        )
        .unwrap();
        let log = links.reconcile().await;
        assert!(
            log.iter().any(|l| l.contains("routed to connect-41-0")),
            "{log:?}"
        );
        let applied = read_routes_applied(dir.path()).expect("acknowledged");
        assert_eq!(applied.generation, generation);
        assert_eq!(applied.routes["edge-0"], "connect-41-0");
        assert!(applied.errors.is_empty());
        let mut buf = [0u8; 8];
        let cut = before.read(&mut buf).await;
        assert!(
            matches!(&cut, Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset),
            "{cut:?}"
        );
        assert_eq!(greeting(edge).await.1, b"4.1!");

        // An unknown target is reported in the acknowledgement and changes nothing.
        let bad = request_routes(dir.path(), [("edge-0".into(), "nowhere".into())].into()).unwrap();
        links.reconcile().await;
        let applied = read_routes_applied(dir.path()).expect("acknowledged");
        assert_eq!(applied.generation, bad);
        assert_eq!(applied.errors.len(), 1, "{applied:?}");
        assert_eq!(applied.routes["edge-0"], "connect-41-0");
        links.shutdown().await;
    }
}
