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
    /// Allocate the environment's ports upwards from here.
    #[arg(long, default_value_t = 17000)]
    pub base_port: u16,
    /// Where to run it [default: the scenario's `platform`, else local].
    #[arg(long, value_enum)]
    pub platform: Option<crate::platform::PlatformKind>,
    /// Kubernetes: the namespace to install into [default: the scenario's `env.namespace`,
    /// else spark-chaos].
    #[arg(long, value_name = "NAME")]
    pub namespace: Option<String>,
    /// Kubernetes: let faults act in this namespace although the harness did not create it
    /// (repeatable; added to the scenario's `env.allow_namespaces`).
    #[arg(long = "allow-namespace", value_name = "NAME")]
    pub allow_namespace: Vec<String>,
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
    run_text(home, cache, &text, a)
}

/// Runs a scenario given as text (`a.file` names it in errors and the report): `chaos run`
/// and `chaos bench`.
pub fn run_text(home: &EnvHome, cache: &Cache, text: &str, a: &RunArgs) -> Result<(), Failure> {
    let mut scenario =
        crate::scenario::parse_on(text, &a.file.display().to_string(), a.platform)
            .map_err(|e| Failure::input(anyhow::anyhow!("the scenario is invalid:\n{e}")))?;
    if let Some(ns) = &a.namespace {
        scenario.env.namespace = Some(ns.clone());
    }
    scenario
        .env
        .allow_namespaces
        .extend(a.allow_namespace.iter().cloned());
    eprintln!("scenario {}: {}", scenario.name, scenario.description);
    let kind = a.platform.unwrap_or(scenario.platform);
    let platform = crate::platform::open(kind, home, cache).map_err(Failure::from)?;
    let opts = RunOptions {
        platform,
        cache: Cache::at(cache.root()),
        file: a.file.clone(),
        keep_env: a.keep_env,
        reports_dir: a.reports.clone(),
        base_port: a.base_port,
        interrupted,
        say,
    };
    let outcome = run::run(&scenario, text, &opts).map_err(|e| Failure {
        code: e.exit_code(),
        error: e.into(),
    })?;
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

/// Options of `report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The run's directory, e.g. reports/s3-outage-20261121T031500Z.
    pub run_dir: PathBuf,
    /// Re-judge with the `[checks]` of this scenario file instead of the run's own.
    #[arg(long, value_name = "SCENARIO")]
    pub checks: Option<PathBuf>,
    /// Write the reports here instead of into the run's directory.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// `chaos report RUN_DIR [--checks FILE] [--out DIR]`: exit 0 / 1 / 3 by the verdict, 4 for a
/// bad run directory or scenario, 6 when a report cannot be written.
pub fn report_cmd(a: &ReportArgs) -> Result<(), Failure> {
    let opts = run::rerender::RerenderOptions {
        checks: a.checks.clone(),
        out: a.out.clone(),
    };
    let done = run::rerender::rerender(&a.run_dir, &opts).map_err(|e| Failure {
        code: e.exit_code(),
        error: e.into(),
    })?;
    for f in &done.files {
        eprintln!("wrote {}", f.display());
    }
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    print!("{}", crate::report::terminal::render(&done.report, color));
    let code = run::exit_code(&crate::report::RunStatus::Completed, done.report.verdict);
    if code == exit::OK {
        return Ok(());
    }
    Err(Failure {
        code,
        error: anyhow::anyhow!("report {}", done.report.verdict),
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
pub fn schema(of: SchemaOf) -> Result<(), Failure> {
    match of {
        SchemaOf::Scenario => print!("{}", crate::scenario::schema_json()),
        SchemaOf::Suite => print!("{}", crate::suite::schema_json()),
        SchemaOf::Report => print!("{}", crate::report::schema_json()),
        SchemaOf::Bench => print!("{}", crate::report::bench_schema_json()),
    }
    Ok(())
}

/// Which file format's JSON Schema `chaos schema` prints.
#[derive(Debug, Clone, Copy, Default, clap::ValueEnum)]
pub enum SchemaOf {
    /// Scenario files (`scenarios/*.toml`).
    #[default]
    Scenario,
    /// Suite files (`suites/*.toml`).
    Suite,
    /// A run's `report.json`.
    Report,
    /// A bench's `bench.json` (also the bench section of its `report.json`).
    Bench,
}

/// Options of `compat`.
#[derive(Debug, Args)]
pub struct CompatArgs {
    /// TPC-DS queries to compare: `all`, `quick`, `q3,q7`, or `none`.
    #[arg(long, default_value = "all")]
    pub queries: String,
    /// Skip the behaviour-change probes.
    #[arg(long)]
    pub no_probes: bool,
    /// Do not re-run differences under the rules' legacy settings.
    #[arg(long)]
    pub no_confirm: bool,
    /// Do not compare physical plans.
    #[arg(long)]
    pub no_explain: bool,
    /// The TPC-DS scale whose data set is registered (`chaos datagen --scale`).
    #[arg(long, default_value_t = 0.1)]
    pub scale: f64,
    /// Where to write compat.json and compat.md [default: reports/compat-<time>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// `chaos compat`: the differential report against the running environment.
pub fn compat_cmd(
    p: &dyn crate::platform::Platform,
    cache: &Cache,
    a: &CompatArgs,
) -> Result<(), Failure> {
    use crate::check::Verdict;
    use crate::compat;
    let mut cfg = compat::CompatConfig::new(Cache::at(cache.root()));
    cfg.statements = vec![];
    if !a.no_probes {
        cfg.statements.push(compat::StatementSet::Probes);
    }
    if a.queries != "none" {
        cfg.statements.push(compat::StatementSet::Tpcds {
            queries: a.queries.clone(),
        });
    }
    cfg.confirm_rules = !a.no_confirm;
    cfg.explain = !a.no_explain;
    cfg.scale_db = crate::workload::tpcds::Scale::new(a.scale)
        .map_err(Failure::input)?
        .database();
    let endpoints = p.endpoints()?;
    let rt = super::env::runtime()?;
    let progress = |line: &str| eprintln!("  {line}");
    let report = rt
        .block_on(compat::run(&endpoints, &cfg, &progress))
        .map_err(Failure::env)?;
    let out = a.out.clone().unwrap_or_else(|| {
        PathBuf::from("reports").join(crate::report::report_dir_name(
            "compat",
            crate::units::now_ms(),
        ))
    });
    std::fs::create_dir_all(&out).map_err(Failure::env)?;
    let md = compat::render_markdown(&report);
    std::fs::write(out.join("compat.md"), &md).map_err(Failure::env)?;
    std::fs::write(
        out.join("compat.json"),
        serde_json::to_vec_pretty(&report).map_err(Failure::env)?,
    )
    .map_err(Failure::env)?;
    print!("{md}");
    let checks = compat::checks(&report);
    let verdict = Verdict::merge_all(checks.iter().map(|c| c.verdict));
    eprintln!(
        "compatibility verdict: {verdict} (written to {})",
        out.display()
    );
    match verdict {
        Verdict::Valid => Ok(()),
        v => Err(Failure {
            code: if v == Verdict::Invalid {
                exit::CHECK_INVALID
            } else {
                exit::CHECK_UNKNOWN
            },
            error: anyhow::anyhow!(
                "{}",
                checks
                    .iter()
                    .filter(|c| c.verdict != Verdict::Valid)
                    .map(|c| format!("{}: {} ({})", c.check, c.verdict, c.reason))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        }),
    }
}
