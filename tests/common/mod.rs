//! Helpers shared by the end-to-end tests: running the `chaos` binary, waiting, skipping
//! loudly where the machine lacks a prerequisite.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub fn chaos(home: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_chaos"))
        .arg("--home")
        .arg(home)
        .args(args)
        .output()
        .expect("run chaos");
    eprintln!(
        "$ chaos {}\n  exit: {}\n  stdout: {}\n  stderr (tail): {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout).trim_end(),
        tail(&String::from_utf8_lossy(&out.stderr), 15)
    );
    out
}

pub fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n  ")
}

pub fn ok(home: &Path, args: &[&str]) -> String {
    let out = chaos(home, args);
    assert!(out.status.success(), "chaos {args:?} failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn missing_prerequisite() -> Option<String> {
    let java17 = spark_chaos::install::java::find_java17().is_err();
    if java17 {
        return Some("Java 17".into());
    }
    for tool in ["mvn", "go", "python3", "tar"] {
        if !spark_chaos::install::steps::on_path(tool) {
            return Some(tool.into());
        }
    }
    if spark_chaos::install::postgres::find().is_none() && !nix::unistd::Uid::effective().is_root()
    {
        return Some("PostgreSQL (and not root, so it cannot be installed)".into());
    }
    None
}

/// Brings the environment down however the test ends.
pub struct Down<'a>(pub &'a Path);
impl Drop for Down<'_> {
    fn drop(&mut self) {
        let _ = chaos(self.0, &["env", "down"]);
    }
}

pub fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(
            t.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    eprintln!("  ({what}: {:.1}s)", t.elapsed().as_secs_f64());
}

/// Whether the test must skip (printed loudly); with `CHAOS_E2E=require` a missing
/// prerequisite fails the test instead.
pub fn skip_unless_ready(test: &str) -> bool {
    let Some(what) = missing_prerequisite() else {
        return false;
    };
    let msg = format!("SKIPPED {test}: this machine lacks {what}");
    if std::env::var("CHAOS_E2E").as_deref() == Ok("require") {
        panic!("{msg} (and CHAOS_E2E=require)");
    }
    eprintln!("\n==================== {msg} ====================\n");
    true
}

/// What `chaos run` left: its process output, the report directory and the parsed report.
pub struct RunOutput {
    /// The process output.
    pub out: Output,
    /// `reports/<scenario>-<time>/`.
    pub dir: std::path::PathBuf,
    /// `report.json`.
    pub report: spark_chaos::report::RunReport,
}

/// Runs `chaos run scenarios/<file>` with its reports under `reports`, checks that the run
/// completed with the exit code its verdict documents, and prints its summary.
pub fn run_scenario(home: &Path, file: &str, base_port: &str, reports: &Path) -> RunOutput {
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(file);
    let out = chaos(
        home,
        &[
            "run",
            scenario.to_str().unwrap(),
            "--base-port",
            base_port,
            "--reports",
            reports.to_str().unwrap(),
        ],
    );
    let (dir, report) = checked_report(&out, reports);
    RunOutput { out, dir, report }
}

/// The one report directory a run wrote under `reports`, checked the way a user would look at
/// it: every report file there, the run completed, the exit code the one its verdict documents.
pub fn checked_report(
    out: &Output,
    reports: &Path,
) -> (std::path::PathBuf, spark_chaos::report::RunReport) {
    use spark_chaos::check::Verdict;
    let dirs: Vec<std::path::PathBuf> = std::fs::read_dir(reports)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(dirs.len(), 1, "one report directory expected: {dirs:?}");
    let dir = dirs[0].clone();
    for f in ["report.json", "report.html", "summary.md", "junit.xml"] {
        assert!(dir.join(f).is_file(), "{f} missing in {}", dir.display());
    }
    let report: spark_chaos::report::RunReport =
        serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
    eprintln!(
        "{}",
        std::fs::read_to_string(dir.join("summary.md")).unwrap()
    );
    assert_eq!(report.status.as_str(), "completed", "{:?}", report.status);
    let expected_code = match report.verdict {
        Verdict::Valid => 0,
        Verdict::Invalid => 1,
        Verdict::Unknown => 3,
    };
    assert_eq!(
        out.status.code(),
        Some(expected_code),
        "exit code vs verdict {}",
        report.verdict
    );
    (dir, report)
}

/// Whether a kind-cluster test must skip (printed loudly; a failure under `CHAOS_E2E=require`):
/// it needs what every end-to-end test needs, and a Docker engine that answers or root (so
/// that chaos can install and start one).
pub fn skip_unless_cluster_ready(test: &str) -> bool {
    use std::process::Stdio;
    let docker_answers = Command::new("docker")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let root = nix::unistd::Uid::effective().is_root();
    let what = missing_prerequisite().or_else(|| {
        (!docker_answers && !root)
            .then(|| "a Docker engine (and not root, so chaos cannot start one)".to_string())
    });
    let Some(what) = what else { return false };
    let msg = format!("SKIPPED {test}: this machine lacks {what}");
    if std::env::var("CHAOS_E2E").as_deref() == Ok("require") {
        panic!("{msg} (and CHAOS_E2E=require)");
    }
    eprintln!("\n==================== {msg} ====================\n");
    true
}
