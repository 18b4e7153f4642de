//! `env up`, `env down`, `env status`, `env restart` for the local platform.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::conf;
use super::plan::{self, plan_file, secrets_file, Machine, Plan, Secrets};
use super::ports;
use super::state::{write_json_atomically, EnvState, Phase, StateError, Status};
use super::supervisor::{self, stop_group};
use crate::install::{self, InstallError};
use crate::paths::{Cache, EnvHome};

/// Errors of environment operations.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    /// Installing failed.
    #[error(transparent)]
    Install(#[from] InstallError),
    /// The state file could not be used.
    #[error(transparent)]
    State(#[from] StateError),
    /// Ports could not be allocated.
    #[error(transparent)]
    Ports(#[from] ports::PortError),
    /// A file operation failed.
    #[error("{what} {path}")]
    Io {
        /// What was attempted.
        what: String,
        /// The path.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The environment did not come up.
    #[error("bring the environment up: {0}")]
    StartFailed(String),
    /// Something was left running after `env down`.
    #[error("stop the environment: {0}")]
    Leftovers(String),
    /// Another problem, described.
    #[error("{0}")]
    Other(String),
}

fn io(what: &str, path: &Path, source: std::io::Error) -> EnvError {
    EnvError::Io {
        what: what.into(),
        path: path.display().to_string(),
        source,
    }
}

/// Whether a process exists.
pub fn pid_alive(pid: u32) -> bool {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), None).is_ok()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "))
}

/// Reads the plan of an environment.
pub fn read_plan(home: &EnvHome) -> Result<Plan, EnvError> {
    let path = plan_file(home.root());
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(StateError::Missing {
                path: path.display().to_string(),
            }
            .into())
        }
        Err(e) => return Err(io("read", &path, e)),
    };
    serde_json::from_str(&text)
        .map_err(|e| EnvError::Other(format!("parse {}: {e}", path.display())))
}

/// Reads the secrets of an environment.
pub fn read_secrets(home: &EnvHome) -> Result<Secrets, EnvError> {
    let path = secrets_file(home.root());
    let text = std::fs::read_to_string(&path).map_err(|e| io("read", &path, e))?;
    serde_json::from_str(&text)
        .map_err(|e| EnvError::Other(format!("parse {}: {e}", path.display())))
}

/// The state of a running environment, or why there is none.
pub fn running_state(home: &EnvHome) -> Result<Option<EnvState>, EnvError> {
    match EnvState::read(&home.state_file()) {
        Ok(s) if s.phase != Phase::Stopped && pid_alive(s.supervisor_pid) => Ok(Some(s)),
        Ok(_) => Ok(None),
        Err(StateError::Missing { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub use crate::platform::{UpReport, UpRequest as UpOptions};

/// Brings an environment up: installs what is missing, plans, starts the supervisor and
/// waits until every component is ready.
pub fn up(
    home: &EnvHome,
    cache: &Cache,
    opts: &UpOptions,
    progress: &dyn Fn(&EnvState),
) -> Result<UpReport, EnvError> {
    if running_state(home)?.is_some() {
        return Ok(UpReport {
            ready_after: Duration::ZERO,
            setup_took: Duration::ZERO,
            already_running: true,
        });
    }
    // A supervisor that died (SIGKILL, machine trouble) may have left components running.
    reap_leftovers(home)?;

    let t = Instant::now();
    let installed = install::setup(cache, &opts.settings.lines)?;
    let setup_took = t.elapsed();

    std::fs::create_dir_all(home.root()).map_err(|e| io("create", home.root(), e))?;
    let secrets_path = secrets_file(home.root());
    let data_kept =
        home.data_dir("postgres").join("PG_VERSION").exists() || home.data_dir("s3").exists();
    let secrets = match (data_kept, read_secrets(home)) {
        // Kept data was made with these credentials; new ones would lock us out of it.
        (true, Ok(s)) => s,
        _ => {
            let _ = std::fs::remove_dir_all(home.root().join("data"));
            Secrets::generate()
        }
    };
    write_private_json(&secrets_path, &secrets)?;

    let ports = plan::allocate_ports(&opts.settings)?;
    let machine = Machine {
        cache: cache.clone(),
        java_home: installed.java_home.clone(),
        pg_bin: installed.pg_bin.clone(),
        pg_run_as: nix::unistd::Uid::effective()
            .is_root()
            .then(|| "postgres".to_string()),
    };
    let plan = plan::build(&opts.settings, home, &machine, ports, &secrets);
    for &line in &plan.settings.lines {
        let dir = home.conf_dir(&format!("spark-{}", line.slug()));
        std::fs::create_dir_all(&dir).map_err(|e| io("create", &dir, e))?;
        let mut overrides = plan
            .settings
            .spark_conf
            .get(&line)
            .cloned()
            .unwrap_or_default();
        overrides.extend(opts.spark_overrides.iter().cloned());
        let input = plan::spark_conf_input(&plan, line, &secrets, overrides);
        write_private(
            &dir.join("spark-defaults.conf"),
            &conf::spark_defaults(&input),
        )?;
        write_private(&dir.join("log4j2.properties"), conf::log4j2_properties())?;
    }
    let _ = std::fs::remove_dir_all(home.root().join("holds"));
    let _ = std::fs::remove_file(home.state_file());
    write_json_atomically(&plan_file(home.root()), &plan)
        .map_err(|e| io("write", &plan_file(home.root()), e))?;

    let started = Instant::now();
    let supervisor_pid = spawn_supervisor(home)?;
    let result = wait_until_ready(home, supervisor_pid, progress);
    match result {
        Ok(()) => Ok(UpReport {
            ready_after: started.elapsed(),
            setup_took,
            already_running: false,
        }),
        Err(e) => {
            if !opts.keep_failed {
                let _ = down(home, true);
            }
            Err(e)
        }
    }
}

fn write_private(path: &Path, text: &str) -> Result<(), EnvError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| io("write", path, e))?;
    f.write_all(text.as_bytes())
        .map_err(|e| io("write", path, e))
}

fn write_private_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), EnvError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| EnvError::Other(format!("encode {}: {e}", path.display())))?;
    write_private(path, &text)
}

fn spawn_supervisor(home: &EnvHome) -> Result<u32, EnvError> {
    let exe = std::env::current_exe()
        .map_err(|e| EnvError::Other(format!("find the chaos binary: {e}")))?;
    let logs = home.logs_dir();
    std::fs::create_dir_all(&logs).map_err(|e| io("create", &logs, e))?;
    let log_path = home.log_file("supervisor");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| io("open", &log_path, e))?;
    let log2 = log.try_clone().map_err(|e| io("open", &log_path, e))?;
    let child = Command::new(exe)
        .arg("supervise")
        .arg("--home")
        .arg(home.root())
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        // Its own process group: Ctrl-C in the terminal does not reach it; `env down` does.
        .process_group(0)
        .spawn()
        .map_err(|e| EnvError::Other(format!("start the supervisor: {e}")))?;
    Ok(child.id())
}

fn wait_until_ready(
    home: &EnvHome,
    supervisor_pid: u32,
    progress: &dyn Fn(&EnvState),
) -> Result<(), EnvError> {
    let deadline = Instant::now() + supervisor::WAVE_TIMEOUT * 6;
    loop {
        if crate::interrupt::interrupted() {
            return Err(EnvError::StartFailed("interrupted".into()));
        }
        match EnvState::read(&home.state_file()) {
            Ok(s) => {
                progress(&s);
                match s.phase {
                    Phase::Running => return Ok(()),
                    Phase::Failed => {
                        return Err(EnvError::StartFailed(
                            s.error
                                .unwrap_or_else(|| "supervisor reported failure".into()),
                        ))
                    }
                    _ => {}
                }
            }
            Err(StateError::Missing { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        if !pid_alive(supervisor_pid) {
            return Err(EnvError::StartFailed(format!(
                "the supervisor exited; see {}",
                home.log_file("supervisor").display()
            )));
        }
        if Instant::now() > deadline {
            return Err(EnvError::StartFailed("timed out".into()));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// What `env down` did.
#[derive(Debug, Clone, Default)]
pub struct DownReport {
    /// Processes of the environment stopped.
    pub stopped: Vec<String>,
    /// Stragglers (processes found by their working directory) killed.
    pub stragglers: Vec<u32>,
    /// Whether data directories were kept.
    pub kept_data: bool,
}

/// Stops everything of the environment and checks nothing is left: no process whose working
/// directory is inside the environment's home, no listener on any of its ports.
pub fn down(home: &EnvHome, keep_data: bool) -> Result<DownReport, EnvError> {
    let mut report = DownReport {
        kept_data: keep_data,
        ..DownReport::default()
    };
    if let Ok(state) = EnvState::read(&home.state_file()) {
        if pid_alive(state.supervisor_pid) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(state.supervisor_pid as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
            let deadline = Instant::now() + supervisor::STOP_GRACE * 4;
            while pid_alive(state.supervisor_pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(200));
            }
            if pid_alive(state.supervisor_pid) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(state.supervisor_pid as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
        report.stopped = state.components.iter().map(|c| c.id.clone()).collect();
    }
    report.stragglers = reap_leftovers(home)?;

    // Verify: no process, no port.
    let mut problems = Vec::new();
    let left = processes_in(&home.root().join("work"));
    if !left.is_empty() {
        problems.push(format!("processes still running: {left:?}"));
    }
    if let Ok(plan) = read_plan(home) {
        let busy: Vec<u16> = plan
            .ports
            .all()
            .filter(|p| ports::is_listening(*p))
            .collect();
        if !busy.is_empty() {
            problems.push(format!("ports still listening: {busy:?}"));
        }
    }
    if let Ok(mut s) = EnvState::read(&home.state_file()) {
        s.phase = Phase::Stopped;
        for c in &mut s.components {
            c.status = Status::Stopped;
            c.ready = false;
            c.pid = None;
        }
        s.write(&home.state_file())?;
    }
    if !keep_data {
        for dir in ["data", "work", "holds"] {
            let p = home.root().join(dir);
            if p.exists() {
                std::fs::remove_dir_all(&p).map_err(|e| io("remove", &p, e))?;
            }
        }
        let _ = std::fs::remove_file(secrets_file(home.root()));
    } else {
        let p = home.root().join("work");
        let _ = std::fs::remove_dir_all(p);
    }
    if problems.is_empty() {
        Ok(report)
    } else {
        Err(EnvError::Leftovers(problems.join("; ")))
    }
}

/// Kills every component process group recorded in the state file and every process whose
/// working directory lies inside the home's `work/` (where every component runs: executors
/// and orphans of a killed supervisor included).
fn reap_leftovers(home: &EnvHome) -> Result<Vec<u32>, EnvError> {
    if let Ok(state) = EnvState::read(&home.state_file()) {
        if !pid_alive(state.supervisor_pid) || state.phase == Phase::Stopped {
            let groups: Vec<u32> = state.components.iter().filter_map(|c| c.pid).collect();
            let handles: Vec<_> = groups
                .into_iter()
                .map(|g| std::thread::spawn(move || stop_group(g, Duration::from_secs(10))))
                .collect();
            for h in handles {
                let _ = h.join();
            }
        }
    }
    let stragglers = processes_in(&home.root().join("work"));
    for pid in &stragglers {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(*pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && !processes_in(&home.root().join("work")).is_empty() {
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(stragglers)
}

/// Processes (other than this one) whose working directory is inside `root`.
pub fn processes_in(root: &Path) -> Vec<u32> {
    let me = std::process::id();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    rd.filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
        .filter(|pid| *pid != me)
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/cwd"))
                .is_ok_and(|cwd: PathBuf| cwd.starts_with(root))
                && pid_alive(*pid)
        })
        .collect()
}

/// Restarts one component the way a rolling restart does: SIGTERM to its process group (a
/// graceful stop), after which the supervisor starts it again. Waits until it is ready.
pub fn restart(home: &EnvHome, id: &str, timeout: Duration) -> Result<Duration, EnvError> {
    let state = running_state(home)?.ok_or_else(|| {
        EnvError::Other("no running environment here (run `chaos env up`)".into())
    })?;
    let c = state.component(id).ok_or_else(|| {
        EnvError::Other(format!(
            "no component `{id}`; components: {}",
            state
                .components
                .iter()
                .map(|c| c.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    let before = c.restarts;
    let pid = c
        .pid
        .ok_or_else(|| EnvError::Other(format!("{id} is not running")))?;
    let t = Instant::now();
    supervisor::signal_group(pid, nix::sys::signal::Signal::SIGTERM);
    loop {
        let s = EnvState::read(&home.state_file())?;
        if let Some(c) = s.component(id) {
            if c.restarts > before && c.ready {
                return Ok(t.elapsed());
            }
        }
        if t.elapsed() > timeout {
            return Err(EnvError::Other(format!(
                "{id} was not ready again within {timeout:?}"
            )));
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}
