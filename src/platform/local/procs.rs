//! Finding the processes a fault acts on, from `/proc`: executor JVMs of a version, and the
//! members of a component's process group.

use std::fs;
use std::path::{Path, PathBuf};

/// One executor JVM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Executor {
    /// Its pid.
    pub pid: u32,
    /// Spark's executor id (`--executor-id`).
    pub executor_id: String,
    /// The application (`--app-id`).
    pub app_id: String,
    /// The worker directory it runs in (`worker-41-0`).
    pub worker: String,
}

fn cmdline(pid: u32) -> Vec<String> {
    fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            b.split(|c| *c == 0)
                .filter(|s| !s.is_empty())
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn pids() -> Vec<u32> {
    fs::read_dir("/proc")
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
                .collect()
        })
        .unwrap_or_default()
}

fn arg_after(args: &[String], flag: &str) -> String {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_default()
}

/// The executor JVMs running under `work` (the env's `work/` directory) in the directories of
/// workers whose id starts with `worker_prefix` (`worker-41-`), sorted by pid.
pub fn executors(work: &Path, worker_prefix: &str) -> Vec<Executor> {
    let mut found: Vec<Executor> = pids()
        .into_iter()
        .filter_map(|pid| {
            let cwd: PathBuf = fs::read_link(format!("/proc/{pid}/cwd")).ok()?;
            let rel = cwd.strip_prefix(work).ok()?;
            let worker = rel
                .components()
                .next()?
                .as_os_str()
                .to_string_lossy()
                .into_owned();
            if !worker.starts_with(worker_prefix) {
                return None;
            }
            let args = cmdline(pid);
            if !args
                .iter()
                .any(|a| a.ends_with("CoarseGrainedExecutorBackend"))
            {
                return None;
            }
            Some(Executor {
                pid,
                executor_id: arg_after(&args, "--executor-id"),
                app_id: arg_after(&args, "--app-id"),
                worker,
            })
        })
        .collect();
    found.sort_by_key(|e| e.pid);
    found
}

/// The pids of a process group.
pub fn group_members(pgid: u32) -> Vec<u32> {
    pids()
        .into_iter()
        .filter(|pid| {
            fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| {
                    let rest = s[s.rfind(')')? + 2..].to_string();
                    rest.split(' ').nth(2)?.parse::<u32>().ok()
                })
                == Some(pgid)
        })
        .collect()
}

/// Whether a process is stopped (state `T`).
pub fn stopped(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s[s.rfind(')')? + 2..].chars().next())
        == Some('T')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_group_is_found_and_stop_state_read() {
        use std::os::unix::process::CommandExt;
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .unwrap();
        let pid = child.id();
        assert_eq!(group_members(pid), vec![pid]);
        assert!(!stopped(pid));
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGSTOP,
        )
        .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert!(stopped(pid));
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn no_executors_outside_a_work_dir() {
        assert!(executors(Path::new("/nonexistent/work"), "worker-41-").is_empty());
    }
}
