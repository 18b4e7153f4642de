//! What the supervisor needs to know to run one component as a process.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// A component's process: how to start it and where its output goes. Pure data; the
/// supervisor does the spawning.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProcessSpec {
    /// The program to execute (absolute path, or a name looked up on PATH).
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Environment variables set on top of a cleaned copy of the harness's environment.
    pub env: BTreeMap<String, String>,
    /// The working directory.
    pub cwd: PathBuf,
    /// Where stdout and stderr are appended.
    pub log: PathBuf,
    /// Run as this user instead of the harness's (PostgreSQL refuses to run as root).
    pub run_as: Option<String>,
}
