//! The `chaos` command line: parses arguments, calls the library, renders for people, and maps
//! errors to the documented exit codes ([`crate::exit`]). `anyhow` lives only here.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

mod agent;
mod bench;
mod cluster;
mod env;
mod fault;
mod scenario;
mod suite;

use crate::exit;
use crate::paths::{Cache, EnvHome};
use crate::platform::{self, PlatformKind};
use crate::versions::SparkLine;

pub use crate::interrupt::interrupted;

/// Examples and exit codes, shown by `chaos --help` and in the man page.
const LONG_HELP: &str = "\
Examples:
  chaos run scenarios/s3-outage.toml          the S3-outage scenario on both versions (local)
  chaos run scenarios/ci-smoke.toml --reports out   the CI smoke scenario, reports under out/
  chaos suite suites/nightly.toml             the nightly suite on one environment
  chaos bench --queries all --iterations 3    TPC-DS on both versions, with confidence intervals
  chaos bench --baseline reports/bench-<time> compare with an earlier bench (exit 1: regression)
  chaos suite suites/nightly.toml --resume reports/suite-nightly-<time>   finish an interrupted one
  chaos validate scenarios/*.toml             check scenario files (file:line:column: field)
  chaos env up && chaos env status            bring the environment up and look at it
  chaos fault inject s3-outage --for 30s      a fault by hand; Ctrl-C heals it at once
  chaos cluster up                            a kind cluster built on this machine
  chaos completions bash > ~/.local/share/bash-completion/completions/chaos

Exit codes:
  0    OK             everything asked for worked (run: every check valid)
  1    CHECK_INVALID  a check found the system misbehaving
  2    USAGE          bad command line
  3    CHECK_UNKNOWN  a verdict could not be reached (none invalid)
  4    INVALID_INPUT  a scenario or configuration value is invalid
  5    ENVIRONMENT    installing, starting, reaching or stopping the environment failed
  6    OUTPUT         the run finished but its reports could not be written
  130  INTERRUPTED    interrupted (Ctrl-C); faults healed, partial results written";

/// Chaos, load and upgrade testing for Apache Spark 3.5.7 and 4.1.0 side by side.
#[derive(Debug, Parser)]
#[command(name = "chaos", version, about, long_about = None, after_long_help = LONG_HELP)]
pub struct Cli {
    /// The environment's home: state, configuration, data and logs [default: .chaos/env]
    #[arg(long, global = true, env = "CHAOS_HOME")]
    pub home: Option<PathBuf>,
    /// The cache for downloads and builds [default: ~/.cache/spark-chaos]
    #[arg(long, global = true, env = "CHAOS_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Diagnostic logs on stderr as `text` or `json` lines; `RUST_LOG` filters them
    #[arg(
        long,
        global = true,
        env = "CHAOS_LOG_FORMAT",
        value_enum,
        default_value_t
    )]
    pub log_format: crate::logging::LogFormat,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario end to end and write its reports (the main job).
    Run(scenario::RunArgs),
    /// Time TPC-DS on 3.5.7 and 4.1.0 (or one of them): medians with 95 % intervals, the
    /// 4.1.0 / 3.5.7 ratio per query and its geometric mean, Spark's own metrics, and
    /// regressions against a baseline. Exit 0 parity and no regression, 1 a slowdown, a
    /// regression or a wrong answer, 3 undecidable.
    Bench(bench::BenchArgs),
    /// Run a suite of scenarios on one environment and write the acceptance report
    /// (accept / reject / undecided).
    Suite(suite::SuiteArgs),
    /// Build every report file of an earlier run again from its history.jsonl, faults.jsonl
    /// and report.json (byte for byte what the run wrote when nothing changed), optionally
    /// re-judged with another scenario file's checks. Exit code: the verdict's, as `run`.
    Report(scenario::ReportArgs),
    /// Check scenario files; every mistake is reported with file, line, column and field.
    Validate {
        /// Scenario files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// The shipped scenarios with their descriptions.
    List {
        /// The directory to list.
        #[arg(default_value = "scenarios")]
        dir: PathBuf,
    },
    /// Print the JSON Schema of scenario files (default), suite files, a run's report.json or
    /// a bench's bench.json; the same schemas are in schemas/.
    Schema {
        /// Which format.
        #[arg(value_enum, default_value = "scenario")]
        of: scenario::SchemaOf,
    },
    /// Compare Spark 3.5.7 and 4.1.0 on the running environment: every statement's outcome,
    /// result and plan, differences classified by the migration-guide rule table.
    Compat(scenario::CompatArgs),
    /// Install every component into the cache (pinned, idempotent); `env up` does this too.
    Setup(SetupArgs),
    /// Bring the local environment up or down, or show it.
    Env {
        /// What to do.
        #[command(subcommand)]
        command: EnvCommand,
    },
    /// Run one SQL statement through Spark Connect and print the result.
    Sql(SqlArgs),
    /// Generate TPC-DS data (DuckDB's dsdgen), upload it to S3, register it in every running
    /// version's metastore, and compute DuckDB's expected answers.
    Datagen(DatagenArgs),
    /// Run a TPC-DS workload (and optional writes) against the running environment and print
    /// a summary per version and query.
    Load(LoadArgs),
    /// Inject, inspect and heal faults in the running environment.
    Fault {
        /// What to do.
        #[command(subcommand)]
        command: fault::FaultCommand,
    },
    /// The kind cluster of the Kubernetes platform: up, down, status.
    Cluster {
        /// What to do.
        #[command(subcommand)]
        command: cluster::ClusterCommand,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout: `chaos man > chaos.1; man ./chaos.1`.
    Man,
    /// Run the supervisor of an environment (started by `env up`; not for direct use).
    #[command(hide = true)]
    Supervise,
    /// Jobs the harness's image runs inside a cluster (not for direct use).
    #[command(hide = true)]
    Agent {
        /// The job.
        #[command(subcommand)]
        command: agent::AgentCommand,
    },
}

/// Options of `setup`.
#[derive(Debug, Args)]
pub struct SetupArgs {
    /// Spark versions to install (default: both).
    #[arg(long = "spark", value_name = "VERSION")]
    pub spark: Vec<SparkLine>,
}

/// `env` subcommands.
#[derive(Debug, Subcommand)]
pub enum EnvCommand {
    /// Install what is missing, start every component, and wait until all are ready.
    Up(UpArgs),
    /// Stop every component; check that no process or port is left.
    Down {
        /// Keep data directories (PostgreSQL, MinIO) for the next `env up`.
        #[arg(long)]
        keep_data: bool,
    },
    /// Show every component: version, endpoint, pid, status, readiness, restarts.
    Status {
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Restart one component gracefully (SIGTERM; the supervisor starts it again).
    Restart {
        /// The component id, e.g. `connect-41-0` (see `env status`).
        id: String,
        /// How long to wait for it to be ready again.
        #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
        timeout: Duration,
    },
}

/// Options of `env up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Where to run it.
    #[arg(long, value_enum, default_value = "local")]
    pub platform: PlatformKind,
    /// Spark versions to run (default: both).
    #[arg(long = "spark", value_name = "VERSION")]
    pub spark: Vec<SparkLine>,
    /// Spark Connect servers per version.
    #[arg(long, default_value_t = 1)]
    pub replicas: u32,
    /// Standalone workers per version (each runs one executor per Connect server).
    #[arg(long, default_value_t = 2)]
    pub workers: u32,
    /// Executor heap.
    #[arg(long, default_value = "1g")]
    pub executor_memory: String,
    /// Connect server (driver) heap.
    #[arg(long, default_value = "1g")]
    pub driver_memory: String,
    /// Use dynamic allocation with shuffle tracking.
    #[arg(long)]
    pub dynamic_allocation: bool,
    /// Allocate ports upwards from here.
    #[arg(long, default_value_t = 17000)]
    pub base_port: u16,
    /// Extra Spark setting for every version, KEY=VALUE (repeatable).
    #[arg(long = "conf", value_name = "KEY=VALUE")]
    pub conf: Vec<String>,
    /// Leave a failed start-up running for inspection.
    #[arg(long)]
    pub keep_failed: bool,
    /// Kubernetes: the namespace to install into [default: spark-chaos, created and labelled
    /// by the harness].
    #[arg(long, value_name = "NAME")]
    pub namespace: Option<String>,
    /// Kubernetes: let faults act in this namespace although the harness did not create it
    /// (repeatable; the blast-radius guard refuses every other).
    #[arg(long = "allow-namespace", value_name = "NAME")]
    pub allow_namespace: Vec<String>,
}

/// Options of `datagen`.
#[derive(Debug, Args)]
pub struct DatagenArgs {
    /// TPC-DS scale factor (1 = about 1 GB of raw data).
    #[arg(long, default_value_t = 0.1)]
    pub scale: f64,
}

/// Options of `load`.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Queries: `all`, `quick`, a name (`q3`) or a comma list (`q3,q7`).
    #[arg(long, default_value = "quick")]
    pub queries: String,
    /// The data set's scale factor (run `chaos datagen --scale` first).
    #[arg(long, default_value_t = 0.1)]
    pub scale: f64,
    /// Spark versions to load (default: every version of the environment).
    #[arg(long = "spark", value_name = "VERSION")]
    pub spark: Vec<SparkLine>,
    /// `open` (fixed arrival rate) or `closed` (N sessions back to back).
    #[arg(long, default_value = "closed", value_parser = ["open", "closed"])]
    pub model: String,
    /// Arrival rate per version for the open model: N/s, N/m or N/h.
    #[arg(long, default_value = "1/s")]
    pub rate: String,
    /// Exponential (Poisson) arrival gaps instead of uniform ones.
    #[arg(long)]
    pub poisson: bool,
    /// Sessions per version (closed: how many; open: the concurrency limit).
    #[arg(long, default_value_t = 1)]
    pub sessions: usize,
    /// Think time between a closed-model session's operations.
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    pub think: Duration,
    /// Measured duration.
    #[arg(long, default_value = "1m", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Run through every selected query once per session at least: stop after this many
    /// query operations per version instead of at the duration (0: no limit).
    #[arg(long, default_value_t = 0)]
    pub iterations: u64,
    /// Warm-up before measuring (operations recorded but left out of the summary).
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    pub warmup: Duration,
    /// Per-operation deadline (then Interrupt, outcome `info`).
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Also run the write workload (unique ids, read back at the end).
    #[arg(long)]
    pub writes: bool,
    /// How often each version gets a write batch.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub write_every: Duration,
    /// Ids per write batch.
    #[arg(long, default_value_t = 10)]
    pub write_batch: u64,
    /// Seed for arrivals and query order.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Where to write history.jsonl and summary.txt [default: reports/load-<UTC time>]
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Options of `sql`.
#[derive(Debug, Args)]
pub struct SqlArgs {
    /// The Spark version to run it on.
    #[arg(long = "version", value_name = "VERSION")]
    pub line: SparkLine,
    /// Which Connect replica.
    #[arg(long, default_value_t = 0)]
    pub replica: usize,
    /// Give up (and interrupt the operation) after this long.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// The statement.
    pub statement: String,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    crate::logging::init(cli.log_format, matches!(cli.command, Command::Supervise));
    if !matches!(cli.command, Command::Supervise) {
        if let Err(e) = ctrlc_handler() {
            eprintln!("warning: cannot handle Ctrl-C: {e}");
        }
    }
    let home = EnvHome::at(
        cli.home
            .clone()
            .unwrap_or_else(|| PathBuf::from(".chaos/env")),
    );
    let cache = cli
        .cache_dir
        .clone()
        .map(Cache::at)
        .unwrap_or_else(Cache::from_env);
    let result = dispatch(cli.command, &home, &cache);
    match result {
        Ok(()) => ExitCode::from(exit::OK),
        Err(f) => {
            eprintln!("error: {:#}", f.error);
            ExitCode::from(f.code)
        }
    }
}

fn dispatch(command: Command, home: &EnvHome, cache: &Cache) -> Result<(), Failure> {
    // The platform of the environment at `home` (recorded when it came up; local otherwise),
    // opened once and handed to every command that works on the environment.
    let here = || platform::at(home, cache).map_err(Failure::from);
    if touches_env(&command) {
        fault::recover(here()?.as_ref());
    }
    match command {
        Command::Setup(a) => env::setup(cache, &a),
        Command::Fault { command } => fault::run(here()?, command),
        Command::Run(a) => scenario::run_cmd(home, cache, &a),
        Command::Suite(a) => suite::run(home, cache, &a),
        Command::Bench(a) => bench::run(home, cache, &a),
        Command::Report(a) => scenario::report_cmd(&a),
        Command::Validate { files } => scenario::validate(&files),
        Command::List { dir } => scenario::list(&dir),
        Command::Schema { of } => scenario::schema(of),
        Command::Compat(a) => scenario::compat_cmd(here()?.as_ref(), cache, &a),
        Command::Env { command } => match command {
            EnvCommand::Up(a) => {
                let p = platform::open(a.platform, home, cache)?;
                env::env_up(p.as_ref(), &a)
            }
            EnvCommand::Down { keep_data } => env::env_down(here()?.as_ref(), keep_data),
            EnvCommand::Status { json } => env::env_status(here()?.as_ref(), json),
            EnvCommand::Restart { id, timeout } => env::env_restart(here()?.as_ref(), &id, timeout),
        },
        Command::Sql(a) => env::sql(here()?.as_ref(), &a),
        Command::Datagen(a) => env::datagen(here()?.as_ref(), cache, &a),
        Command::Load(a) => env::load(here()?.as_ref(), cache, &a),
        Command::Cluster { command } => cluster::run(home, cache, command),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "chaos", &mut std::io::stdout());
            Ok(())
        }
        Command::Man => {
            let cmd = <Cli as clap::CommandFactory>::command();
            clap_mangen::Man::new(cmd)
                .render(&mut std::io::stdout())
                .map_err(|e| Failure::env(anyhow::anyhow!("writing the man page: {e}")))
        }
        Command::Supervise => {
            platform::supervise(home).map_err(|e| Failure::env(anyhow::anyhow!(e)))
        }
        Command::Agent { command } => agent::run(command),
    }
}

/// Whether a command works on an environment (and so first heals faults a crashed harness left).
fn touches_env(c: &Command) -> bool {
    !matches!(
        c,
        Command::Setup(_)
            | Command::Report(_)
            | Command::Supervise
            | Command::Agent { .. }
            | Command::Completions { .. }
            | Command::Man
            | Command::Validate { .. }
            | Command::List { .. }
            | Command::Schema { .. }
            | Command::Cluster { .. }
            | Command::Fault {
                command: fault::FaultCommand::List
            }
    )
}

/// An error with the exit code it maps to.
struct Failure {
    code: u8,
    error: anyhow::Error,
}

impl Failure {
    fn env(e: impl Into<anyhow::Error>) -> Failure {
        let code = if interrupted() {
            exit::INTERRUPTED
        } else {
            exit::ENVIRONMENT
        };
        Failure {
            code,
            error: e.into(),
        }
    }
    fn usage(e: impl Into<anyhow::Error>) -> Failure {
        Failure {
            code: exit::USAGE,
            error: e.into(),
        }
    }
    fn input(e: impl Into<anyhow::Error>) -> Failure {
        Failure {
            code: exit::INVALID_INPUT,
            error: e.into(),
        }
    }
}

fn ctrlc_handler() -> std::io::Result<()> {
    crate::interrupt::install(exit::INTERRUPTED as i32)
}

/// The versions asked for, sorted and without repeats (empty stays empty: "the plan's").
fn lines_or_some(v: &[SparkLine]) -> Vec<SparkLine> {
    if v.is_empty() {
        vec![]
    } else {
        lines_or_all(v)
    }
}

fn lines_or_all(v: &[SparkLine]) -> Vec<SparkLine> {
    if v.is_empty() {
        SparkLine::ALL.to_vec()
    } else {
        let mut v = v.to_vec();
        v.sort();
        v.dedup();
        v
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn long_help_lists_every_exit_code_constant() {
        let help = Cli::command().render_long_help().to_string();
        for (code, name) in [
            (crate::exit::OK, "OK"),
            (crate::exit::CHECK_INVALID, "CHECK_INVALID"),
            (crate::exit::USAGE, "USAGE"),
            (crate::exit::CHECK_UNKNOWN, "CHECK_UNKNOWN"),
            (crate::exit::INVALID_INPUT, "INVALID_INPUT"),
            (crate::exit::ENVIRONMENT, "ENVIRONMENT"),
            (crate::exit::OUTPUT, "OUTPUT"),
            (crate::exit::INTERRUPTED, "INTERRUPTED"),
        ] {
            let line = format!("{code:<4} {name}");
            assert!(
                help.contains(&line),
                "`{line}` missing from --help:\n{help}"
            );
        }
    }

    #[test]
    fn completions_and_man_page_name_the_subcommands() {
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
        ] {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "chaos", &mut out);
            let text = String::from_utf8(out).unwrap();
            for sub in ["run", "validate", "cluster", "completions"] {
                assert!(text.contains(sub), "{shell:?} completion lacks {sub}");
            }
        }
        let mut man = Vec::new();
        clap_mangen::Man::new(Cli::command())
            .render(&mut man)
            .unwrap();
        let man = String::from_utf8(man).unwrap();
        assert!(man.starts_with(".ie") || man.contains(".TH chaos"), "{man}");
        assert!(man.contains("CHECK_UNKNOWN"));
    }
}
