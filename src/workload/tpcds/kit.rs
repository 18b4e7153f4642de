//! The kit's Python side: a venv in the cache with the pinned `duckdb` and
//! `duckdb-extension-tpcds` wheels from PyPI, and `kit.py`, which runs dsdgen, extracts the
//! queries and computes answers.
//!
//! The extension is the `tpcds.duckdb_extension` file inside the wheel; `kit.py` loads it by
//! path with DuckDB's extension auto-install and auto-load switched off, so DuckDB's own
//! extension repository (which this machine may not reach) is never contacted.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{root, write_atomically, TpcdsError};
use crate::install::{steps, InstallError};
use crate::paths::Cache;

/// The pinned DuckDB version; `duckdb-extension-tpcds` must be the same version (its wheel
/// carries the extension built for exactly this DuckDB).
pub const DUCKDB_VERSION: &str = "1.5.5";

/// The helper script, embedded in the binary.
const SCRIPT: &str = include_str!("kit.py");

/// Written last into the venv once the pinned wheels are installed and checked.
const MARKER: &str = ".chaos-tpcds-kit";

/// Written last into the query directory once every query file is there.
const QUERIES_MARKER: &str = ".chaos-extracted";

/// The installed kit: the venv's Python and the helper script.
#[derive(Debug, Clone)]
pub struct Kit {
    python: PathBuf,
    script: PathBuf,
}

/// The pip requirements, one per line (also the marker's content).
fn requirements() -> String {
    format!("duckdb=={DUCKDB_VERSION}\nduckdb-extension-tpcds=={DUCKDB_VERSION}\n")
}

/// `<cache>/python`: the venv shared by the harness's Python helpers.
pub fn venv_dir(cache: &Cache) -> PathBuf {
    cache.root().join("python")
}

/// `<cache>/tpcds/queries`: `q1.sql` … `q99.sql` in DuckDB's dialect.
pub fn queries_dir(cache: &Cache) -> PathBuf {
    root(cache).join("queries")
}

/// Installs the kit (venv, wheels, script) and extracts the 99 queries, unless done.
/// Idempotent: a second run downloads nothing and runs no pip.
pub fn setup(cache: &Cache) -> Result<Kit, TpcdsError> {
    let kit = install_venv(cache)?;
    extract_queries(cache, &kit)?;
    Ok(kit)
}

fn install_venv(cache: &Cache) -> Result<Kit, TpcdsError> {
    let venv = venv_dir(cache);
    let python = venv.join("bin").join("python");
    let marker = venv.join(MARKER);
    let script = write_script(cache)?;
    let kit = Kit {
        python: python.clone(),
        script,
    };
    let installed = std::fs::read_to_string(&marker).ok();
    if installed.as_deref() == Some(requirements().as_str()) && python.is_file() {
        eprintln!(
            "==> TPC-DS kit (DuckDB {DUCKDB_VERSION}): cached at {}",
            venv.display()
        );
        return Ok(kit);
    }

    let t = steps::begin(&format!(
        "installing the TPC-DS kit: duckdb and duckdb-extension-tpcds {DUCKDB_VERSION} from PyPI into {}",
        venv.display()
    ));
    check_python()?;
    if !python.is_file() || !pip_works(&python) {
        let _ = std::fs::remove_dir_all(&venv);
        std::fs::create_dir_all(cache.root())
            .map_err(|e| InstallError::io("create the cache", cache.root(), e))?;
        steps::run(
            "create the kit venv",
            Command::new("python3").args(["-m", "venv"]).arg(&venv),
        )?;
    }
    let mut pip = Command::new(&python);
    pip.args([
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--progress-bar",
        "on",
    ]);
    pip.args(requirements().lines());
    steps::run("pip install the tpc-ds kit", &mut pip)?;
    let check = kit.run_json("check the tpc-ds kit", &["check"])?;
    let duckdb = check.get("duckdb").and_then(|v| v.as_str()).unwrap_or("");
    let extension = check
        .get("tpcds_extension")
        .and_then(|v| v.as_str())
        .unwrap_or("");
    if duckdb != DUCKDB_VERSION || extension.trim_start_matches('v') != DUCKDB_VERSION {
        return Err(InstallError::Invalid(format!(
            "the kit venv {} has duckdb {duckdb:?} with tpcds extension {extension:?}, \
             expected {DUCKDB_VERSION} for both",
            venv.display()
        ))
        .into());
    }
    write_atomically(&marker, requirements().as_bytes())?;
    steps::done("TPC-DS kit", t);
    Ok(kit)
}

/// Fails with the package to install when `python3` or its `venv` module is missing.
fn check_python() -> Result<(), InstallError> {
    if !steps::on_path("python3") {
        return Err(InstallError::Missing {
            what: "python3 (for the TPC-DS kit)".into(),
            how: "apt-get install python3 python3-venv".into(),
        });
    }
    let ok = Command::new("python3")
        .args(["-c", "import venv, ensurepip"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if ok {
        Ok(())
    } else {
        Err(InstallError::Missing {
            what: "python3's venv module with ensurepip (for the TPC-DS kit)".into(),
            how: "apt-get install python3-venv".into(),
        })
    }
}

fn pip_works(python: &Path) -> bool {
    Command::new(python)
        .args(["-m", "pip", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Writes the embedded `kit.py` into the cache unless the same text is already there.
fn write_script(cache: &Cache) -> Result<PathBuf, TpcdsError> {
    let dir = root(cache);
    std::fs::create_dir_all(&dir).map_err(|e| TpcdsError::io("create", &dir, e))?;
    let path = dir.join("kit.py");
    if std::fs::read_to_string(&path).ok().as_deref() != Some(SCRIPT) {
        write_atomically(&path, SCRIPT.as_bytes())?;
    }
    Ok(path)
}

/// Extracts `tpcds_queries()` into [`queries_dir`] unless it holds this DuckDB's queries.
fn extract_queries(cache: &Cache, kit: &Kit) -> Result<(), TpcdsError> {
    let dir = queries_dir(cache);
    let marker = dir.join(QUERIES_MARKER);
    let stamp = format!("tpcds_queries() of duckdb-extension-tpcds {DUCKDB_VERSION}\n");
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(stamp.as_str()) {
        return Ok(());
    }
    let t = steps::begin("extracting the 99 TPC-DS queries from the tpcds extension");
    let staging = dir.with_extension("staging");
    let _ = std::fs::remove_dir_all(&staging);
    let out = kit.run_json(
        "extract the tpc-ds queries",
        &["queries", &staging.to_string_lossy()],
    )?;
    let count = out
        .get("queries")
        .and_then(|q| q.as_array())
        .map_or(0, |q| q.len());
    if count != 99 {
        return Err(TpcdsError::Invalid(format!(
            "tpcds_queries() gave {count} queries, expected 99"
        )));
    }
    write_atomically(&staging.join(QUERIES_MARKER), stamp.as_bytes())?;
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&staging, &dir).map_err(|e| TpcdsError::io("move into place", &dir, e))?;
    steps::done("99 queries", t);
    Ok(())
}

impl Kit {
    /// Runs `kit.py <args>`: its progress goes to stderr, its stdout is one JSON document.
    pub(crate) fn run_json(
        &self,
        what: &str,
        args: &[&str],
    ) -> Result<serde_json::Value, TpcdsError> {
        let mut cmd = Command::new(&self.python);
        cmd.arg(&self.script)
            .args(args)
            .env("PYTHONNOUSERSITE", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let line = format!("{cmd:?}");
        let output = cmd.output().map_err(|source| {
            TpcdsError::Install(InstallError::Spawn {
                what: what.into(),
                command: line.clone(),
                source,
            })
        })?;
        if !output.status.success() {
            return Err(TpcdsError::Kit {
                what: what.into(),
                command: line,
                status: output.status.to_string(),
            });
        }
        serde_json::from_slice(&output.stdout)
            .map_err(|e| TpcdsError::json(format!("{what}: parse the output of"), &self.script, e))
    }
}
