//! The nightly GitHub Actions workflow is checked here with actionlint (v1.7.12, built once from
//! the Go module proxy into the cache) and for what it must do: run the nightly suite, write the
//! acceptance summary to the step summary, upload the reports and fail on the suite's exit
//! code. The workflow itself was not run on GitHub from this machine (it reaches no GitHub
//! service); this test is what was verified here.
//!
//! Needs Go; without it the actionlint half prints SKIPPED loudly (and fails under
//! `CHAOS_E2E=require`, as .ci/run sets).

use std::path::{Path, PathBuf};
use std::process::Command;

const ACTIONLINT: &str = "github.com/rhysd/actionlint/cmd/actionlint@v1.7.12";

fn workflow() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".github/workflows/nightly.yml")
}

fn cache() -> PathBuf {
    std::env::var_os("CHAOS_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/spark-chaos")
        })
}

/// actionlint from the cache, built with `go install` the first time (once per test binary:
/// the tests run in parallel).
fn actionlint() -> Option<PathBuf> {
    static BUILD: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _once = BUILD.lock().unwrap_or_else(|p| p.into_inner());
    let dir = cache().join("tools").join("actionlint-1.7.12");
    let bin = dir.join("actionlint");
    if bin.is_file() {
        return Some(bin);
    }
    let go = Command::new("go").arg("version").output();
    if !go.is_ok_and(|o| o.status.success()) {
        let msg = "SKIPPED actionlint on .github/workflows/nightly.yml: this machine lacks Go";
        if std::env::var("CHAOS_E2E").as_deref() == Ok("require") {
            panic!("{msg} (and CHAOS_E2E=require)");
        }
        eprintln!("\n==================== {msg} ====================\n");
        return None;
    }
    eprintln!("==> building {ACTIONLINT} with go install (once)");
    let staging = dir.with_extension("staging");
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).unwrap();
    let out = Command::new("go")
        .args(["install", ACTIONLINT])
        .env("GOBIN", &staging)
        .env("CGO_ENABLED", "0")
        .output()
        .expect("run go install");
    assert!(
        out.status.success(),
        "go install actionlint failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&staging, &dir).unwrap();
    Some(bin)
}

#[test]
fn the_nightly_workflow_passes_actionlint() {
    let Some(lint) = actionlint() else { return };
    let out = Command::new(&lint)
        .arg("-no-color")
        .arg(workflow())
        .output()
        .expect("run actionlint");
    assert!(
        out.status.success(),
        "actionlint found problems:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn actionlint_would_catch_a_broken_workflow() {
    let Some(lint) = actionlint() else { return };
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.yml");
    let text = std::fs::read_to_string(workflow())
        .unwrap()
        .replace("runs-on: ubuntu-24.04", "runs-onn: ubuntu-24.04");
    std::fs::write(&broken, text).unwrap();
    let out = Command::new(&lint)
        .arg("-no-color")
        .arg(&broken)
        .output()
        .unwrap();
    assert!(!out.status.success(), "a misspelt key passed actionlint");
}

#[test]
fn the_nightly_workflow_runs_the_suite_reports_and_gates() {
    let text = std::fs::read_to_string(workflow()).unwrap();
    for needle in [
        "schedule:",
        "chaos suite suites/nightly.toml",
        "GITHUB_STEP_SUMMARY",
        "acceptance.md",
        "actions/upload-artifact",
        "actions/cache",
        ".cache/spark-chaos",
        "steps.suite.outputs.code != '0'",
        "kind",
    ] {
        assert!(text.contains(needle), "the workflow lacks `{needle}`");
    }
    // The suite it names exists and validates.
    spark_chaos::suite::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("suites/nightly.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
}
