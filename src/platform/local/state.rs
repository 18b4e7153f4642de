//! The environment's state file: what the supervisor knows about each component, written
//! atomically (temp file + rename) after every change, read by `env status`, `env down` and
//! every later command. Pure data plus atomic read/write.

use std::path::Path;

use crate::platform::topology::Role;
use crate::versions::SparkLine;

/// Version of the state file's layout; bumped on incompatible change.
pub const STATE_SCHEMA: u32 = 1;

/// The whole environment as the supervisor sees it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EnvState {
    /// [`STATE_SCHEMA`] of the writer.
    pub schema: u32,
    /// The supervisor's pid.
    pub supervisor_pid: u32,
    /// Where the environment is in its life.
    pub phase: Phase,
    /// Why the phase is `failed`, when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Unix milliseconds when the supervisor started.
    pub started_at_ms: u64,
    /// Unix milliseconds when every component was first ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_at_ms: Option<u64>,
    /// Every component, in start order.
    pub components: Vec<ComponentState>,
}

/// The life of an environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Components are being started in dependency order.
    Starting,
    /// Every component was ready once; the supervisor keeps them running.
    Running,
    /// `env down` asked the supervisor to stop everything.
    Stopping,
    /// Everything was stopped.
    Stopped,
    /// Start-up failed; see `error`. Components already started keep running until `env down`.
    Failed,
}

/// One component's state.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ComponentState {
    /// Unique id, e.g. `connect-41-0`.
    pub id: String,
    /// The role, e.g. `connect`; fault targets name roles.
    pub role: Role,
    /// The Spark line it belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<SparkLine>,
    /// The component's own version, e.g. `3.1.3` for a metastore.
    pub version: String,
    /// How clients reach it, e.g. `sc://127.0.0.1:17020`.
    pub endpoint: String,
    /// Every port it was given.
    pub ports: Vec<u16>,
    /// The current process id (also its process group id), if running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Where its output goes.
    pub log: String,
    /// What the supervisor is doing with it.
    pub status: Status,
    /// Whether its readiness probe passes.
    pub ready: bool,
    /// How many times the supervisor restarted it after it died.
    pub restarts: u32,
    /// Unix milliseconds of each restart (most recent last, at most 50 kept).
    #[serde(default)]
    pub restart_times_ms: Vec<u64>,
    /// How the previous process ended, e.g. `signal 9 (SIGKILL)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_exit: Option<String>,
    /// Unix milliseconds when the current process started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at_ms: Option<u64>,
    /// Unix milliseconds when it last became ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_at_ms: Option<u64>,
}

/// What the supervisor is doing with a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Not started yet (waiting for the components it needs).
    Pending,
    /// Its process runs.
    Running,
    /// Its process died; it will be restarted after a back-off.
    Backoff,
    /// Deliberately stopped (by `env down` or a fault with `restart = false`).
    Stopped,
    /// Paused with SIGSTOP by a fault.
    Paused,
}

/// Errors reading or writing the state file.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// No state file: no environment was started here.
    #[error("read {path}: no environment here (run `chaos env up` first)")]
    Missing {
        /// The state file's path.
        path: String,
    },
    /// I/O failed.
    #[error("access state file {path}")]
    Io {
        /// The state file's path.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a state file of this version.
    #[error("parse state file {path}")]
    Parse {
        /// The state file's path.
        path: String,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
}

impl EnvState {
    /// Reads the state file at `path`.
    pub fn read(path: &Path) -> Result<EnvState, StateError> {
        let p = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StateError::Missing { path: p })
            }
            Err(source) => return Err(StateError::Io { path: p, source }),
        };
        serde_json::from_str(&text).map_err(|source| StateError::Parse { path: p, source })
    }

    /// Writes the state atomically: readers see the old file or the new one, never half.
    pub fn write(&self, path: &Path) -> Result<(), StateError> {
        write_json_atomically(path, self).map_err(|source| StateError::Io {
            path: path.display().to_string(),
            source,
        })
    }

    /// The component with this id.
    pub fn component(&self, id: &str) -> Option<&ComponentState> {
        self.components.iter().find(|c| c.id == id)
    }

    /// Whether every component is ready.
    pub fn all_ready(&self) -> bool {
        self.components.iter().all(|c| c.ready)
    }
}

pub use crate::jsonfile::write_atomically as write_json_atomically;
pub use crate::units::now_ms;

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> EnvState {
        EnvState {
            schema: STATE_SCHEMA,
            supervisor_pid: 42,
            phase: Phase::Running,
            error: None,
            started_at_ms: 1,
            ready_at_ms: Some(2),
            components: vec![ComponentState {
                id: "connect-41-0".into(),
                role: Role::Connect,
                line: Some(SparkLine::V4_1),
                version: "4.1.0".into(),
                endpoint: "sc://127.0.0.1:17020".into(),
                ports: vec![17020, 17021],
                pid: Some(1234),
                log: "/x/logs/connect-41-0.log".into(),
                status: Status::Running,
                ready: true,
                restarts: 1,
                restart_times_ms: vec![5],
                last_exit: Some("signal 9 (SIGKILL)".into()),
                started_at_ms: Some(3),
                ready_at_ms: Some(4),
            }],
        }
    }

    #[test]
    fn round_trips_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let s = sample();
        s.write(&path).unwrap();
        assert_eq!(EnvState::read(&path).unwrap(), s);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"line\": \"4.1.0\""), "{text}");
        assert!(text.contains("\"phase\": \"running\""), "{text}");
        // No temp file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn missing_file_says_how_to_start() {
        let err = EnvState::read(Path::new("/nonexistent/state.json")).unwrap_err();
        assert!(err.to_string().contains("chaos env up"), "{err}");
    }

    #[test]
    fn all_ready_needs_every_component() {
        let mut s = sample();
        assert!(s.all_ready());
        s.components[0].ready = false;
        assert!(!s.all_ready());
    }
}
