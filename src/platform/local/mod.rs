//! The embedded `local` platform: every component a supervised real process on 127.0.0.1.
//!
//! - [`plan`]: what runs where (pure); [`conf`]: Spark configuration text (pure);
//!   [`ports`]: port allocation; [`hms`]: Hive Metastore install, config and launch.
//! - [`supervisor`]: the daemon that starts, probes and restarts processes; [`init`]: one-time
//!   set-up steps around starts; [`ready`]: readiness probes.
//! - [`state`]: the state file; [`env`]: `env up/down/status/restart`.
pub mod ack;
pub mod action;
pub mod conf;
pub mod env;
pub mod faults;
pub mod hms;
pub mod init;
pub mod links;
pub mod nft;
pub mod plan;
pub mod ports;
pub mod procs;
pub mod ready;
pub mod spec;
pub mod state;
pub mod supervisor;
pub mod user;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use self::faults::LocalFaults;
use self::plan::{Plan, Role};
use self::state::{EnvState, Status};
use crate::paths::{Cache, EnvHome};
use crate::platform::endpoints::{Edge, Endpoints, LineEndpoints};
use crate::platform::{
    ComponentStatus, ConnectCondition, DownReport, EnvSettings, FaultDriver, Overview, Platform,
    PlatformError, PlatformKind, UpProgress, UpReport, UpRequest,
};
use crate::versions::SparkLine;

/// How long the supervisor may take to apply a route.
const ROUTE_ACK_TIMEOUT: Duration = Duration::from_secs(10);

/// The local platform for the environment at one home.
pub struct LocalPlatform {
    home: EnvHome,
    cache: Cache,
    faults: LocalFaults,
}

impl LocalPlatform {
    /// The local platform of the environment at `home`, installing into `cache`.
    pub fn new(home: &EnvHome, cache: &Cache) -> LocalPlatform {
        LocalPlatform {
            home: EnvHome::at(home.root()),
            cache: Cache::at(cache.root()),
            faults: LocalFaults::new(home),
        }
    }

    fn running_plan(&self) -> Result<Plan, PlatformError> {
        if env::running_state(&self.home).map_err(env_err)?.is_none() {
            return Err(PlatformError::NotRunning(
                self.home.root().display().to_string(),
            ));
        }
        env::read_plan(&self.home).map_err(env_err)
    }
}

fn env_err(e: env::EnvError) -> PlatformError {
    PlatformError::Env(format!("{e:#}"))
}

/// The endpoints a plan describes, with the environment's S3 credentials (pure).
pub fn endpoints_of(home: &Path, plan: &Plan, access_key: &str, secret_key: &str) -> Endpoints {
    let versions = plan
        .settings
        .lines
        .iter()
        .map(|&line| {
            let of = |role: Role| {
                plan.components
                    .iter()
                    .filter(move |c| c.role == role && c.line == Some(line))
            };
            let metastore = of(Role::Metastore).next().and_then(|c| {
                c.endpoint
                    .strip_prefix("thrift://")
                    .and_then(|a| a.parse::<std::net::SocketAddr>().ok())
            });
            let spark_env = of(Role::Connect)
                .next()
                .map(|c| c.spec.env.clone())
                .unwrap_or_default();
            LineEndpoints {
                line,
                connect: plan.connect_urls(line),
                ui: of(Role::Connect)
                    .filter_map(|c| c.ports.get(1))
                    .map(|p| format!("http://127.0.0.1:{p}"))
                    .collect(),
                metastore,
                history: of(Role::History).next().map(|c| c.endpoint.clone()),
                events_prefix: format!("{}/events/", line.short()),
                spark_env,
            }
        })
        .collect();
    Endpoints {
        home: home.to_path_buf(),
        versions,
        s3_endpoint: plan.s3_endpoint(),
        bucket: plan.settings.bucket.clone(),
        s3_access_key: access_key.to_string(),
        s3_secret_key: secret_key.to_string(),
        edges: plan
            .links
            .iter()
            .filter(|l| l.is_edge())
            .map(|l| Edge {
                id: l.id.clone(),
                url: format!("sc://127.0.0.1:{}", l.listen),
                planned: l.upstream_component.clone(),
            })
            .collect(),
    }
}

/// The environment's phase for people: `running`, `stopped`, or a dead supervisor's hint.
fn phase_text(state: &EnvState, supervisor_alive: bool) -> String {
    match (state.phase, supervisor_alive) {
        (state::Phase::Stopped, _) => "stopped".to_string(),
        (p, false) => format!(
            "{p:?} (supervisor {} is gone: run `chaos env down`)",
            state.supervisor_pid
        )
        .to_lowercase(),
        (p, true) => format!("{p:?}").to_lowercase(),
    }
}

/// A component of the state file as every platform shows it.
pub fn component_status(c: &state::ComponentState) -> ComponentStatus {
    ComponentStatus {
        id: c.id.clone(),
        role: c.role,
        line: c.line,
        version: c.version.clone(),
        endpoint: c.endpoint.clone(),
        state: serde_json::to_value(c.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        ready: c.ready,
        restarts: c.restarts,
        last_exit: c.last_exit.clone(),
        detail: c.pid.map(|p| format!("pid {p}")).unwrap_or_default(),
    }
}

impl Platform for LocalPlatform {
    fn kind(&self) -> PlatformKind {
        PlatformKind::Local
    }

    fn home(&self) -> &EnvHome {
        &self.home
    }

    fn running(&self) -> Result<Option<EnvSettings>, PlatformError> {
        if env::running_state(&self.home).map_err(env_err)?.is_none() {
            return Ok(None);
        }
        Ok(Some(env::read_plan(&self.home).map_err(env_err)?.settings))
    }

    fn up(
        &self,
        req: &UpRequest,
        progress: &dyn Fn(UpProgress),
    ) -> Result<UpReport, PlatformError> {
        let on_state = |st: &EnvState| {
            progress(UpProgress {
                ready: st.components.iter().filter(|c| c.ready).count(),
                total: st.components.len(),
            })
        };
        env::up(&self.home, &self.cache, req, &on_state).map_err(env_err)
    }

    fn down(&self, keep_data: bool) -> Result<DownReport, PlatformError> {
        let r = env::down(&self.home, keep_data).map_err(env_err)?;
        Ok(DownReport {
            stopped: r.stopped,
            stragglers: r.stragglers.iter().map(|p| format!("pid {p}")).collect(),
            kept_data: r.kept_data,
        })
    }

    fn status(&self) -> Result<Vec<ComponentStatus>, PlatformError> {
        match EnvState::read(&self.home.state_file()) {
            Ok(s) => Ok(s.components.iter().map(component_status).collect()),
            Err(state::StateError::Missing { .. }) => Ok(vec![]),
            Err(e) => Err(PlatformError::Env(e.to_string())),
        }
    }

    fn overview(&self) -> Result<Overview, PlatformError> {
        let state = EnvState::read(&self.home.state_file())
            .map_err(|e| PlatformError::Env(e.to_string()))?;
        let alive = env::pid_alive(state.supervisor_pid);
        let running = alive && state.phase != state::Phase::Stopped;
        let links = if running {
            links::read_status(self.home.root())
        } else {
            vec![]
        };
        let mut json =
            serde_json::to_value(&state).map_err(|e| PlatformError::Env(e.to_string()))?;
        json["home"] = serde_json::json!(self.home.root());
        json["supervisor_alive"] = serde_json::json!(alive);
        json["links"] = serde_json::to_value(links::read_status(self.home.root()))
            .map_err(|e| PlatformError::Env(e.to_string()))?;
        Ok(Overview {
            phase: phase_text(&state, alive),
            keeper: format!("supervisor pid {}", state.supervisor_pid),
            error: state.error.clone(),
            running,
            components: state.components.iter().map(component_status).collect(),
            links,
            json,
        })
    }

    fn endpoints(&self) -> Result<Endpoints, PlatformError> {
        let plan = self.running_plan()?;
        let secrets = env::read_secrets(&self.home).map_err(env_err)?;
        Ok(endpoints_of(
            self.home.root(),
            &plan,
            &secrets.s3_access_key,
            &secrets.s3_secret_key,
        ))
    }

    fn restart(&self, component: &str, timeout: Duration) -> Result<Duration, PlatformError> {
        env::restart(&self.home, component, timeout).map_err(env_err)
    }

    fn route(&self, routes: &BTreeMap<String, String>) -> Result<(), PlatformError> {
        let home = self.home.root();
        let generation = links::request_routes(home, routes.clone()).map_err(|e| {
            PlatformError::Env(format!("write {}: {e}", links::routes_file(home).display()))
        })?;
        let applied = || links::read_routes_applied(home).map(|a| a.generation);
        let up = || env::running_state(&self.home).ok().flatten().is_some();
        match ack::wait(applied, generation, up, ROUTE_ACK_TIMEOUT) {
            Ok(true) => {}
            Ok(false) => {
                return Err(PlatformError::NotRunning(home.display().to_string()));
            }
            Err(e) => return Err(PlatformError::Timeout(e.describe("route", home))),
        }
        match links::read_routes_applied(home) {
            Some(a) if !a.errors.is_empty() => Err(PlatformError::Env(format!(
                "the supervisor could not route: {}",
                a.errors.join("; ")
            ))),
            _ => Ok(()),
        }
    }

    fn wait_connect(
        &self,
        line: SparkLine,
        condition: ConnectCondition,
        timeout: Duration,
    ) -> Result<Duration, PlatformError> {
        let t = Instant::now();
        loop {
            let state = EnvState::read(&self.home.state_file())
                .map_err(|e| PlatformError::Env(e.to_string()))?;
            let mine: Vec<_> = state
                .components
                .iter()
                .filter(|c| c.role == Role::Connect && c.line == Some(line))
                .collect();
            let done = |c: &&state::ComponentState| match condition {
                ConnectCondition::Ready => c.ready,
                ConnectCondition::Stopped => c.status == Status::Stopped && c.pid.is_none(),
            };
            if !mine.is_empty() && mine.iter().all(done) {
                return Ok(t.elapsed());
            }
            if t.elapsed() > timeout {
                return Err(PlatformError::Timeout(format!(
                    "Spark {line}'s Connect server(s) not {} after {}s",
                    match condition {
                        ConnectCondition::Ready => "ready",
                        ConnectCondition::Stopped => "stopped",
                    },
                    timeout.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    fn collect_logs(&self, dir: &Path) -> Result<(), PlatformError> {
        copy_log_tails(&self.home.logs_dir(), &dir.join("logs"), 2000)
            .map_err(|e| PlatformError::Env(format!("copy logs into {}: {e}", dir.display())))
    }

    fn faults(&self) -> &dyn FaultDriver {
        &self.faults
    }
}

/// Copies the last `keep` lines of every file in `from` into `to`.
fn copy_log_tails(from: &Path, to: &Path, keep: usize) -> std::io::Result<()> {
    let rd = match std::fs::read_dir(from) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    std::fs::create_dir_all(to)?;
    for e in rd.flatten() {
        let p = e.path();
        if !p.is_file() {
            continue;
        }
        if let Ok(text) = std::fs::read_to_string(&p) {
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(keep)..];
            std::fs::write(to.join(e.file_name()), tail.join("\n") + "\n")?;
        }
    }
    Ok(())
}
