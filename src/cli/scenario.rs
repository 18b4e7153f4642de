//! `chaos run`, `chaos validate`, `chaos list`, `chaos schema`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::Args;

use super::{interrupted, Failure};
use crate::exit;
use crate::paths::{Cache, EnvHome};
use crate::run::{self, RunOptions};

/// Options of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario file, e.g. scenarios/s3-outage.toml.
    pub file: PathBuf,
    /// Keep the environment running afterwards (it is stopped by default when the run started
    /// it; a running environment with the same settings is reused and left running).
    #[arg(long)]
    pub keep_env: bool,
    /// Where reports go [default: the scenario's `report.dir`, `reports`].
    #[arg(long, value_name = "DIR")]
    pub reports: Option<PathBuf>,
}

fn say(line: &str) {
    eprintln!("{line}");
}

/// `chaos run FILE`.
pub fn run_cmd(home: &EnvHome, cache: &Cache, a: &RunArgs) -> Result<(), Failure> {
    let text = std::fs::read_to_string(&a.file).map_err(|e| {
        Failure::input(anyhow::anyhow!(
            "{}: cannot read the scenario file: {e}",
            a.file.display()
        ))
    })?;
    let scenario = crate::scenario::parse(&text, &a.file.display().to_string())
        .map_err(|e| Failure::input(anyhow::anyhow!("the scenario is invalid:\n{e}")))?;
    eprintln!("scenario {}: {}", scenario.name, scenario.description);
    let opts = RunOptions {
        home: EnvHome::at(home.root()),
        cache: Cache::at(cache.root()),
        file: a.file.clone(),
        keep_env: a.keep_env,
        reports_dir: a.reports.clone(),
        interrupted,
        say,
    };
    let outcome =
        run::run(&scenario, &text, &opts).map_err(|e| Failure::input(anyhow::anyhow!("{e}")))?;
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    print!(
        "{}",
        crate::report::terminal::render(&outcome.report, color)
    );
    if outcome.exit_code == exit::OK {
        return Ok(());
    }
    Err(Failure {
        code: outcome.exit_code,
        error: anyhow::anyhow!(
            "run {} ({}; report: {})",
            outcome.report.verdict,
            outcome.report.status.as_str(),
            outcome.dir.join("report.html").display()
        ),
    })
}

/// `chaos validate FILES...`: every error of every file; exit 4 if any is invalid.
pub fn validate(files: &[PathBuf]) -> Result<(), Failure> {
    let mut bad = 0;
    for (path, r) in crate::scenario::validate_files(files) {
        match r {
            Ok(s) => println!(
                "{}: ok ({} scenario `{}`)",
                path.display(),
                s.kind.as_str(),
                s.name
            ),
            Err(e) => {
                bad += 1;
                eprintln!("{e}");
            }
        }
    }
    if bad > 0 {
        return Err(Failure::input(anyhow::anyhow!(
            "{bad} of {} scenario files are invalid",
            files.len()
        )));
    }
    Ok(())
}

/// `chaos list [DIR]`.
pub fn list(dir: &Path) -> Result<(), Failure> {
    let entries = crate::scenario::list(dir);
    if entries.is_empty() {
        return Err(Failure::input(anyhow::anyhow!(
            "no scenario files in {}",
            dir.display()
        )));
    }
    let width = entries.iter().map(|e| e.name.len()).max().unwrap_or(4);
    for e in &entries {
        let mark = if e.valid.is_ok() {
            ""
        } else {
            "  [INVALID: run `chaos validate`]"
        };
        println!("{:width$}  {:7}  {}{mark}", e.name, e.kind, e.description);
    }
    Ok(())
}

/// `chaos schema`.
pub fn schema() -> Result<(), Failure> {
    print!("{}", crate::scenario::schema_json());
    Ok(())
}
