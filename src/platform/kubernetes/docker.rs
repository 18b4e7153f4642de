//! A Docker engine to run kind's node containers and build images.
//!
//! When `docker` answers, it is used as it is. Otherwise, as root, Debian's `docker.io` is
//! installed when `dockerd` is missing and `dockerd` is started in the background with a
//! configuration file in the cache (`docker/daemon.json`; images and containers under
//! `docker/data`). Where root's capability bounding set lacks CAP_SYS_RESOURCE (this machine),
//! `docker run --privileged` fails with `unable to apply caps: operation not permitted`, so
//! the configuration makes a runc wrapper (`images/runc-wrapper/runc-chaos`) the default
//! runtime: it drops that one capability from each container's capability lists.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::KubeError;
use crate::install::{apt, steps, InstallError};
use crate::paths::Cache;

/// The runc wrapper script, installed into the cache.
const RUNC_WRAPPER: &str = include_str!("../../../images/runc-wrapper/runc-chaos");
/// The runtime name the wrapper is registered under.
pub const WRAPPER_RUNTIME: &str = "runc-chaos";
/// CAP_SYS_RESOURCE's bit in the capability sets.
const CAP_SYS_RESOURCE: u32 = 24;

/// The engine in use.
#[derive(Debug, Clone)]
pub struct Engine {
    /// The server version.
    pub version: String,
    /// Whether this call started `dockerd`.
    pub started_here: bool,
    /// The default runtime (`runc-chaos` where the wrapper is needed).
    pub default_runtime: String,
}

/// Where the harness keeps its engine's files.
pub fn engine_dir(cache: &Cache) -> PathBuf {
    cache.root().join("docker")
}

/// Whether root's capability bounding set lacks CAP_SYS_RESOURCE (so `--privileged` needs
/// the wrapper).
pub fn lacks_sys_resource() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    bounding_set(&status).is_some_and(|set| set & (1u64 << CAP_SYS_RESOURCE) == 0)
}

/// The `CapBnd` mask of a `/proc/<pid>/status` text.
fn bounding_set(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
}

/// A `docker` command.
pub fn docker() -> Command {
    Command::new("docker")
}

/// Runs a command and returns its trimmed standard output; on failure the error carries the
/// tail of its standard error.
pub fn capture(what: &str, cmd: &mut Command) -> Result<String, KubeError> {
    let line = format!("{cmd:?}");
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|source| InstallError::Spawn {
            what: what.into(),
            command: line.clone(),
            source,
        })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(6).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        Err(InstallError::Failed {
            what: what.into(),
            command: line,
            status: format!("{}: {}", steps::exit_text(&out.status), tail.join(" / ")),
        }
        .into())
    }
}

/// Whether a command succeeds (output discarded).
pub fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn server_version() -> Option<String> {
    let out = docker()
        .args(["version", "--format", "{{.Server.Version}}"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|v| !v.is_empty())
}

fn default_runtime() -> String {
    capture(
        "ask docker for its default runtime",
        docker().args(["info", "--format", "{{.DefaultRuntime}}"]),
    )
    .unwrap_or_default()
}

/// The daemon configuration the harness starts `dockerd` with.
pub fn daemon_json(data_root: &Path, wrapper: Option<&Path>) -> String {
    let mut v = serde_json::json!({
        "data-root": data_root,
        // kind's nodes talk to each other and to the API server over Docker's networks only.
        "ip-forward": true,
    });
    if let Some(w) = wrapper {
        v["runtimes"] = serde_json::json!({ WRAPPER_RUNTIME: { "path": w } });
        v["default-runtime"] = serde_json::json!(WRAPPER_RUNTIME);
    }
    serde_json::to_string_pretty(&v).expect("json") + "\n"
}

/// Makes sure a Docker engine answers, installing and starting one where needed. Idempotent.
pub fn ensure_engine(cache: &Cache) -> Result<Engine, KubeError> {
    let needs_wrapper = lacks_sys_resource();
    if let Some(version) = server_version() {
        let default_runtime = default_runtime();
        if needs_wrapper && default_runtime != WRAPPER_RUNTIME {
            return Err(KubeError::Docker(format!(
                "the running Docker engine ({version}) uses runtime `{default_runtime}`, but root's \
                 capability bounding set here lacks CAP_SYS_RESOURCE, so kind's privileged node \
                 containers would fail (`unable to apply caps`); stop it and let `chaos cluster up` \
                 start one with the runc wrapper, or add the wrapper ({}) as its default runtime",
                engine_dir(cache).join(WRAPPER_RUNTIME).display()
            )));
        }
        eprintln!("==> Docker engine {version} (runtime {default_runtime})");
        return Ok(Engine {
            version,
            started_here: false,
            default_runtime,
        });
    }
    let root = nix::unistd::Uid::effective().is_root();
    if !steps::on_path("dockerd") || !steps::on_path("docker") {
        apt::install("the Docker engine", &["docker.io", "jq"])?;
    }
    if !root {
        return Err(KubeError::Docker(
            "no Docker engine answers and chaos starts one itself only as root; start dockerd \
             (with the runc wrapper in images/runc-wrapper where CAP_SYS_RESOURCE is missing)"
                .into(),
        ));
    }
    let dir = engine_dir(cache);
    std::fs::create_dir_all(dir.join("data"))
        .map_err(|e| InstallError::io("create the Docker engine's directory", &dir, e))?;
    let wrapper = if needs_wrapper {
        if !steps::on_path("jq") {
            apt::install("jq (for the runc wrapper)", &["jq"])?;
        }
        Some(install_wrapper(&dir)?)
    } else {
        None
    };
    let config = dir.join("daemon.json");
    write_atomic(
        &config,
        daemon_json(&dir.join("data"), wrapper.as_deref()).as_bytes(),
    )?;
    let t = steps::begin(&format!(
        "starting dockerd (configuration {}, log {})",
        config.display(),
        dir.join("dockerd.log").display()
    ));
    let log = std::fs::File::create(dir.join("dockerd.log"))
        .map_err(|e| InstallError::io("open dockerd's log", dir.join("dockerd.log"), e))?;
    let log2 = log
        .try_clone()
        .map_err(|e| InstallError::io("open dockerd's log", dir.join("dockerd.log"), e))?;
    {
        use std::os::unix::process::CommandExt;
        Command::new("dockerd")
            .arg("--config-file")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .process_group(0)
            .spawn()
            .map_err(|source| InstallError::Spawn {
                what: "start dockerd".into(),
                command: "dockerd".into(),
                source,
            })?;
    }
    let started = Instant::now();
    let version = loop {
        if let Some(v) = server_version() {
            break v;
        }
        if started.elapsed() > Duration::from_secs(90) {
            return Err(KubeError::Timeout {
                what: "start dockerd".into(),
                secs: 90,
                detail: format!("; see {}", dir.join("dockerd.log").display()),
            });
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    steps::done(&format!("dockerd {version}"), t);
    Ok(Engine {
        version,
        started_here: true,
        default_runtime: default_runtime(),
    })
}

/// Writes the runc wrapper into the engine directory (always, so a changed wrapper applies).
fn install_wrapper(dir: &Path) -> Result<PathBuf, KubeError> {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(WRAPPER_RUNTIME);
    write_atomic(&path, RUNC_WRAPPER.as_bytes())?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| InstallError::io("make the runc wrapper executable", &path, e))?;
    Ok(path)
}

/// Writes a file through a temporary sibling and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), KubeError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(|e| InstallError::io("write", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| InstallError::io("rename into place", path, e))?;
    Ok(())
}

/// The runc wrapper's text (for the node image, whose containerd needs it too).
pub fn runc_wrapper() -> &'static str {
    RUNC_WRAPPER
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounding_set_without_sys_resource() {
        let status = "Name:\tx\nCapBnd:\t000001fffeffffff\n";
        let set = bounding_set(status).unwrap();
        assert_eq!(set & (1 << CAP_SYS_RESOURCE), 0);
        assert_ne!(set & (1 << 21), 0, "CAP_SYS_ADMIN present");
        assert!(bounding_set("Name:\tx\n").is_none());
    }

    #[test]
    fn daemon_json_names_the_wrapper_only_when_needed() {
        let with = daemon_json(Path::new("/c/docker/data"), Some(Path::new("/c/w")));
        let v: serde_json::Value = serde_json::from_str(&with).unwrap();
        assert_eq!(v["default-runtime"], "runc-chaos");
        assert_eq!(v["runtimes"]["runc-chaos"]["path"], "/c/w");
        assert_eq!(v["data-root"], "/c/docker/data");
        let without = daemon_json(Path::new("/d"), None);
        assert!(!without.contains("runc-chaos"));
    }
}
