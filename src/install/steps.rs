//! Running install steps with visible progress: each step is announced, external tools keep
//! their own progress output (pip's bars, Maven's and go's download lines), and each step
//! ends with its duration.

use std::process::Command;
use std::time::Instant;

use super::InstallError;

/// Announces a step and returns a timer for [`done`].
pub fn begin(what: &str) -> Instant {
    eprintln!("==> {what}");
    Instant::now()
}

/// Ends a step begun with [`begin`].
pub fn done(what: &str, started: Instant) {
    eprintln!(
        "    {what}: done in {:.1}s",
        started.elapsed().as_secs_f64()
    );
}

/// Runs a command with inherited output (so its own progress shows), failing with the
/// command line on a non-zero exit.
pub fn run(what: &str, cmd: &mut Command) -> Result<(), InstallError> {
    let line = format!("{cmd:?}");
    let status = cmd.status().map_err(|source| InstallError::Spawn {
        what: what.into(),
        command: line.clone(),
        source,
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(InstallError::Failed {
            what: what.into(),
            command: line,
            status: status.to_string(),
        })
    }
}

/// Whether `program` is on PATH.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|p| p.join(program).is_file()))
        .unwrap_or(false)
}

/// An exit status for messages: the code, or how it ended (`signal: 9 (SIGKILL)`).
pub fn exit_text(status: &std::process::ExitStatus) -> String {
    status
        .code()
        .map(|c| c.to_string())
        .unwrap_or_else(|| status.to_string())
}
