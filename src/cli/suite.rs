//! `chaos suite FILE`: several scenarios on one environment and the acceptance report.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;

use super::{interrupted, Failure};
use crate::exit;
use crate::paths::{Cache, EnvHome};
use crate::platform::PlatformKind;
use crate::suite::{self, SuiteOptions};

/// Options of `suite`.
#[derive(Debug, Args)]
pub struct SuiteArgs {
    /// The suite file (`suites/nightly.toml`).
    pub file: PathBuf,
    /// Where every scenario runs (overrides the suite's and the scenarios' `platform`).
    #[arg(long, value_enum)]
    pub platform: Option<PlatformKind>,
    /// Run only these scenarios, by name (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "NAME,...")]
    pub only: Vec<String>,
    /// Continue the interrupted suite in this directory (scenarios already done are kept).
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,
    /// Where the suite's directory is made.
    #[arg(long, default_value = "reports")]
    pub reports: PathBuf,
    /// The environment's first port.
    #[arg(long, default_value_t = 17000)]
    pub base_port: u16,
}

fn say(line: &str) {
    eprintln!("{line}");
}

/// `chaos suite FILE`.
pub fn run(home: &EnvHome, cache: &Cache, a: &SuiteArgs) -> Result<(), Failure> {
    let suite = suite::load(&a.file)
        .map_err(|e| Failure::input(anyhow::anyhow!("the suite is invalid:\n{e}")))?;
    let kind = a
        .platform
        .or(suite.file.platform)
        .unwrap_or(PlatformKind::Local);
    let platform = crate::platform::open(kind, home, cache).map_err(Failure::from)?;
    eprintln!(
        "suite {}: {} scenario(s) on the {} platform",
        suite.file.name,
        suite.scenarios.len(),
        kind.name()
    );
    let opts = SuiteOptions {
        platform,
        cache: Cache::at(cache.root()),
        reports_dir: a.reports.clone(),
        resume: a.resume.clone(),
        only: a.only.clone(),
        base_port: a.base_port,
        interrupted,
        say,
    };
    let mut file = suite;
    if let Some(p) = a.platform {
        file.file.platform = Some(p);
    }
    let outcome = suite::run_suite(&file, &opts).map_err(|e| Failure {
        code: e.exit_code(),
        error: e.into(),
    })?;
    let bold = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let decision = outcome.report.decision.as_str().to_uppercase();
    if bold {
        println!("suite {}: \x1b[1m{decision}\x1b[0m", outcome.report.suite);
    } else {
        println!("suite {}: {decision}", outcome.report.suite);
    }
    for r in &outcome.report.reasons {
        println!("  {r}");
    }
    println!("report: {}", outcome.dir.join("acceptance.html").display());
    if outcome.exit_code == exit::OK {
        return Ok(());
    }
    Err(Failure {
        code: outcome.exit_code,
        error: anyhow::anyhow!(
            "suite {} ({}; resume with --resume {})",
            outcome.report.decision.as_str(),
            if outcome.report.interrupted {
                "interrupted"
            } else {
                "finished"
            },
            outcome.dir.display()
        ),
    })
}
