//! The `chaos` command line: parses arguments, calls the library, renders for people, and maps
//! errors to the documented exit codes ([`crate::exit`]). `anyhow` lives only here.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

mod cluster;
mod fault;
mod scenario;

use crate::exit;
use crate::paths::{Cache, EnvHome};
use crate::platform::local::env::{self, EnvError, UpOptions};
use crate::platform::local::links;
use crate::platform::local::plan::EnvSettings;
use crate::platform::local::state::{EnvState, Phase};
use crate::versions::SparkLine;

static FLAG: std::sync::LazyLock<std::sync::Arc<AtomicBool>> =
    std::sync::LazyLock::new(|| std::sync::Arc::new(AtomicBool::new(false)));

/// Whether Ctrl-C (or SIGTERM) arrived: long waits poll this and unwind cleanly.
pub fn interrupted() -> bool {
    FLAG.load(Ordering::SeqCst)
}

/// Chaos, load and upgrade testing for Apache Spark 3.5.7 and 4.1.0 side by side.
#[derive(Debug, Parser)]
#[command(name = "chaos", version, about, long_about = None)]
pub struct Cli {
    /// The environment's home: state, configuration, data and logs [default: .chaos/env]
    #[arg(long, global = true, env = "CHAOS_HOME")]
    pub home: Option<PathBuf>,
    /// The cache for downloads and builds [default: ~/.cache/spark-chaos]
    #[arg(long, global = true, env = "CHAOS_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario end to end and write its reports (the main job).
    Run(scenario::RunArgs),
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
    /// Print the JSON Schema of scenario files (for editors).
    Schema,
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
    /// Run the supervisor of an environment (started by `env up`; not for direct use).
    #[command(hide = true)]
    Supervise,
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
    if touches_env(&cli.command) {
        fault::recover(&home);
    }
    let result = match cli.command {
        Command::Setup(a) => setup(&cache, &a),
        Command::Fault { command } => fault::run(&home, command),
        Command::Run(a) => scenario::run_cmd(&home, &cache, &a),
        Command::Validate { files } => scenario::validate(&files),
        Command::List { dir } => scenario::list(&dir),
        Command::Schema => scenario::schema(),
        Command::Compat(a) => scenario::compat_cmd(&home, &cache, &a),
        Command::Env { command } => match command {
            EnvCommand::Up(a) => env_up(&home, &cache, &a),
            EnvCommand::Down { keep_data } => env_down(&home, keep_data),
            EnvCommand::Status { json } => env_status(&home, json),
            EnvCommand::Restart { id, timeout } => env_restart(&home, &id, timeout),
        },
        Command::Sql(a) => sql(&home, &a),
        Command::Datagen(a) => datagen(&home, &cache, &a),
        Command::Load(a) => load(&home, &cache, &a),
        Command::Cluster { command } => cluster::run(&home, &cache, command),
        Command::Supervise => crate::platform::local::supervisor::run(home.root())
            .map_err(|e| Failure::env(anyhow::anyhow!(e))),
    };
    match result {
        Ok(()) => ExitCode::from(exit::OK),
        Err(f) => {
            eprintln!("error: {:#}", f.error);
            ExitCode::from(f.code)
        }
    }
}

/// Whether a command works on an environment (and so first heals faults a crashed harness left).
fn touches_env(c: &Command) -> bool {
    !matches!(
        c,
        Command::Setup(_)
            | Command::Supervise
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

impl From<EnvError> for Failure {
    fn from(e: EnvError) -> Self {
        Failure::env(e)
    }
}

fn ctrlc_handler() -> std::io::Result<()> {
    // A flag, not a blocked signal mask: a mask would be inherited by every process we start
    // (the supervisor would then ignore `env down`'s SIGTERM). The second Ctrl-C exits at once.
    use signal_hook::consts::{SIGINT, SIGTERM};
    for sig in [SIGINT, SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(
            sig,
            exit::INTERRUPTED as i32,
            std::sync::Arc::clone(&FLAG),
        )?;
        signal_hook::flag::register(sig, std::sync::Arc::clone(&FLAG))?;
    }
    Ok(())
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

fn setup(cache: &Cache, a: &SetupArgs) -> Result<(), Failure> {
    crate::install::setup(cache, &lines_or_all(&a.spark)).map_err(Failure::env)?;
    Ok(())
}

fn parse_conf(items: &[String]) -> Result<Vec<(String, String)>, Failure> {
    items
        .iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
            _ => Err(Failure::input(anyhow::anyhow!(
                "--conf `{kv}`: expected KEY=VALUE"
            ))),
        })
        .collect()
}

fn env_up(home: &EnvHome, cache: &Cache, a: &UpArgs) -> Result<(), Failure> {
    if a.replicas == 0 || a.workers == 0 {
        return Err(Failure::input(anyhow::anyhow!(
            "--replicas and --workers must be at least 1"
        )));
    }
    let opts = UpOptions {
        settings: EnvSettings {
            lines: lines_or_all(&a.spark),
            replicas: a.replicas,
            workers: a.workers,
            executor_memory: a.executor_memory.clone(),
            driver_memory: a.driver_memory.clone(),
            dynamic_allocation: a.dynamic_allocation,
            base_port: a.base_port,
            ..EnvSettings::default()
        },
        spark_overrides: parse_conf(&a.conf)?,
        keep_failed: a.keep_failed,
    };
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {pos}/{len} ready  {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    let progress = |s: &EnvState| {
        bar.set_length(s.components.len() as u64);
        bar.set_position(s.components.iter().filter(|c| c.ready).count() as u64);
        let waiting: Vec<&str> = s
            .components
            .iter()
            .filter(|c| !c.ready && c.pid.is_some())
            .map(|c| c.id.as_str())
            .collect();
        bar.set_message(if waiting.is_empty() {
            String::new()
        } else {
            format!("waiting for {}", waiting.join(", "))
        });
        bar.tick();
    };
    let report = env::up(home, cache, &opts, &progress);
    bar.finish_and_clear();
    let report = report?;
    if report.already_running {
        eprintln!(
            "the environment at {} is already running",
            home.root().display()
        );
    } else {
        eprintln!(
            "all components ready {:.1}s after start (setup took {:.1}s)",
            report.ready_after.as_secs_f64(),
            report.setup_took.as_secs_f64()
        );
    }
    env_status(home, false)
}

fn env_down(home: &EnvHome, keep_data: bool) -> Result<(), Failure> {
    // Every fault is healed before anything stops: a held or paused component would not stop
    // cleanly, and a partition table would outlive the environment.
    let (healed, failed) =
        crate::fault::inject::heal_where(home, crate::fault::inject::Scope::All, "env down");
    for r in &healed {
        eprintln!("{}", fault::describe(r));
    }
    for f in &failed {
        eprintln!("warning: {f}");
    }
    let r = env::down(home, keep_data)?;
    eprintln!(
        "stopped {} components{}; no process or port of the environment is left{}",
        r.stopped.len(),
        if r.stragglers.is_empty() {
            String::new()
        } else {
            format!(" and {} stragglers", r.stragglers.len())
        },
        if r.kept_data { "; data kept" } else { "" }
    );
    Ok(())
}

fn env_status(home: &EnvHome, json: bool) -> Result<(), Failure> {
    let state = EnvState::read(&home.state_file()).map_err(Failure::env)?;
    let supervisor_alive = env::pid_alive(state.supervisor_pid);
    if json {
        let mut v = serde_json::to_value(&state).map_err(Failure::env)?;
        v["home"] = serde_json::json!(home.root());
        v["supervisor_alive"] = serde_json::json!(supervisor_alive);
        v["links"] = serde_json::to_value(links::read_status(home.root())).map_err(Failure::env)?;
        println!(
            "{}",
            serde_json::to_string_pretty(&v).map_err(Failure::env)?
        );
    } else {
        print!("{}", render_status(&state, supervisor_alive));
        if supervisor_alive && state.phase != Phase::Stopped {
            print!("{}", render_links(&links::read_status(home.root())));
        }
    }
    Ok(())
}

/// The fault-proxy links: who talks to whom, traffic, and the faults in force.
pub fn render_links(links: &[links::LinkStatus]) -> String {
    if links.is_empty() {
        return String::new();
    }
    let rows: Vec<Vec<String>> = links
        .iter()
        .map(|l| {
            let s = &l.stats;
            vec![
                l.id.clone(),
                format!("{} -> {}", l.listen, l.upstream),
                s.connections_accepted.to_string(),
                format!(
                    "{}/{}",
                    human_bytes(s.upstream.bytes_written),
                    human_bytes(s.downstream.bytes_written)
                ),
                if s.http.requests > 0 {
                    format!(
                        "{} req, {} answered by faults",
                        s.http.requests, s.http.answered
                    )
                } else {
                    "-".into()
                },
                if l.toxics.is_empty() {
                    "-".into()
                } else {
                    l.toxics
                        .iter()
                        .map(|t| t.kind())
                        .collect::<Vec<_>>()
                        .join(",")
                },
                l.description.clone(),
            ]
        })
        .collect();
    format!(
        "\n{}",
        crate::text::table(
            &[
                "LINK",
                "PORTS",
                "CONNS",
                "BYTES UP/DOWN",
                "HTTP",
                "FAULTS",
                "CARRIES"
            ],
            &rows
        )
    )
}

fn human_bytes(b: u64) -> String {
    match b {
        b if b >= 1 << 30 => format!("{:.1}G", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1}M", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1}K", b as f64 / 1024.0),
        b => format!("{b}B"),
    }
}

/// Renders `env status` as a table for people.
pub fn render_status(state: &EnvState, supervisor_alive: bool) -> String {
    use std::fmt::Write as _;
    let phase = match (state.phase, supervisor_alive) {
        (Phase::Stopped, _) => "stopped".to_string(),
        (p, false) => format!(
            "{p:?} (supervisor {} is gone: run `chaos env down`)",
            state.supervisor_pid
        )
        .to_lowercase(),
        (p, true) => format!("{p:?}").to_lowercase(),
    };
    let mut out = format!(
        "environment: {phase}, supervisor pid {}\n",
        state.supervisor_pid
    );
    if let Some(e) = &state.error {
        let _ = writeln!(out, "error: {e}");
    }
    let header = [
        "COMPONENT",
        "VERSION",
        "ENDPOINT",
        "PID",
        "STATUS",
        "READY",
        "RESTARTS",
        "LAST EXIT",
    ];
    let rows: Vec<[String; 8]> = state
        .components
        .iter()
        .map(|c| {
            [
                c.id.clone(),
                c.version.chars().take(20).collect(),
                c.endpoint.clone(),
                c.pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
                format!("{:?}", c.status).to_lowercase(),
                if c.ready { "yes".into() } else { "no".into() },
                c.restarts.to_string(),
                c.last_exit.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let rows: Vec<Vec<String>> = rows.into_iter().map(Vec::from).collect();
    out.push_str(&crate::text::table(&header, &rows));
    out
}

fn env_restart(home: &EnvHome, id: &str, timeout: Duration) -> Result<(), Failure> {
    let took = env::restart(home, id, timeout)?;
    eprintln!(
        "{id} restarted and ready again after {:.1}s",
        took.as_secs_f64()
    );
    Ok(())
}

fn sql(home: &EnvHome, a: &SqlArgs) -> Result<(), Failure> {
    let plan = env::read_plan(home)?;
    let urls = plan.connect_urls(a.line);
    let url = urls.get(a.replica).ok_or_else(|| {
        Failure::input(anyhow::anyhow!(
            "Spark {} has {} Connect replica(s) in this environment; --replica {} does not exist",
            a.line,
            urls.len(),
            a.replica
        ))
    })?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Failure::env)?;
    rt.block_on(async {
        let session =
            crate::client::Session::connect(url, crate::client::SessionOptions::default())
                .await
                .map_err(Failure::env)?;
        let watch = async {
            while !interrupted() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        let result = tokio::select! {
            r = session.sql(&a.statement, a.timeout) => r,
            _ = watch => {
                let _ = session.interrupt_all(Duration::from_secs(5)).await;
                return Err(Failure {
                    code: exit::INTERRUPTED,
                    error: anyhow::anyhow!("interrupted; the statement was interrupted on the server"),
                });
            }
        };
        let result = result
            .map_err(|e| Failure {
                code: exit::CHECK_INVALID,
                error: anyhow::Error::new(e)
                    .context(format!("run the statement on Spark {} at {url}", a.line)),
            })?;
        if result.num_columns() == 0 {
            println!("ok (no result set)");
        } else {
            println!("{}", result.to_pretty_table());
        }
        Ok(())
    })
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(Failure::env)
}

fn running_plan(home: &EnvHome) -> Result<crate::platform::local::plan::Plan, Failure> {
    if env::running_state(home)?.is_none() {
        return Err(Failure::env(anyhow::anyhow!(
            "no running environment at {} (run `chaos env up` first)",
            home.root().display()
        )));
    }
    Ok(env::read_plan(home)?)
}

fn datagen(home: &EnvHome, cache: &Cache, a: &DatagenArgs) -> Result<(), Failure> {
    use crate::workload::tpcds;
    let plan = running_plan(home)?;
    let secrets = env::read_secrets(home)?;
    let rt = runtime()?;
    let set = rt
        .block_on(tpcds::datagen(cache, &plan, &secrets, a.scale))
        .map_err(Failure::env)?;
    let t = std::time::Instant::now();
    let answers = tpcds::answers(cache, a.scale).map_err(Failure::env)?;
    let rows: u64 = set.tables.iter().map(|t| t.rows).sum();
    println!(
        "TPC-DS {}: {} tables, {} rows, in database `{}` of Spark {} (data at {})",
        set.label,
        set.tables.len(),
        rows,
        set.database,
        set.registered
            .iter()
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join(" and "),
        set.s3_prefix
    );
    println!("timings: {:?}", set.timings);
    println!(
        "expected answers: {} queries computed by DuckDB {} ({:.1}s)",
        answers.answers.len(),
        tpcds::DUCKDB_VERSION,
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

fn load(home: &EnvHome, cache: &Cache, a: &LoadArgs) -> Result<(), Failure> {
    use crate::workload::assemble::{self, AssembleError};
    use crate::workload::load;
    let plan = running_plan(home)?;
    let fail = |e: AssembleError| match e {
        AssembleError::Input(_) => Failure::input(e),
        AssembleError::Env(_) => Failure::env(e),
    };
    let (queries, judge) = assemble::queries(cache, &a.queries, a.scale).map_err(fail)?;
    let targets = assemble::targets(&plan, &lines_or_some(&a.spark)).map_err(fail)?;
    let model = match a.model.as_str() {
        "open" => load::Model::Open {
            rate: load::parse_rate(&a.rate)
                .map_err(|e| Failure::input(anyhow::anyhow!("--rate {e}")))?,
            poisson: a.poisson,
        },
        _ => load::Model::Closed { think: a.think },
    };
    let out = a.out.clone().unwrap_or_else(|| {
        let ts = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
            .to_string()
            .replace(':', "");
        PathBuf::from("reports").join(format!("load-{ts}"))
    });
    let cfg = load::LoadConfig {
        targets,
        queries,
        model,
        duration: a.duration,
        warmup: a.warmup,
        op_timeout: a.timeout,
        sessions: a.sessions,
        writes: a.writes.then(|| load::WriteConfig {
            table: format!("default.chaos_writes_{}", std::process::id()),
            every: a.write_every,
            batch: a.write_batch.max(1),
        }),
        seed: a.seed,
        history: out.join("history.jsonl"),
        max_queries: (a.iterations > 0).then_some(a.iterations),
    };
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let rt = runtime()?;
    let report = rt.block_on(async move {
        let watcher = tokio::spawn(async move {
            while !interrupted() {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            stop2.store(true, Ordering::SeqCst);
        });
        let r = load::run(cfg, judge, stop).await;
        watcher.abort();
        r
    });
    let report = report.map_err(Failure::env)?;
    let mut text = report.summary.render();
    for (v, w) in &report.writes {
        text.push_str(&format!(
            "writes {v}: {} acknowledged, {} uncertain, {} read back, {} lost{}, {} duplicated, {} unexpected{}\n",
            w.acknowledged,
            w.uncertain,
            w.read,
            w.lost_count,
            if w.lost.is_empty() { String::new() } else { format!(" (first: {:?})", w.lost) },
            w.duplicated.len(),
            w.unexpected.len(),
            w.error.as_ref().map(|e| format!("; read-back failed: {e}")).unwrap_or_default()
        ));
    }
    print!("{text}");
    let _ = std::fs::write(out.join("summary.txt"), &text);
    eprintln!(
        "{} operations recorded in {}",
        report.records,
        report.history.display()
    );
    if report.interrupted {
        return Err(Failure {
            code: exit::INTERRUPTED,
            error: anyhow::anyhow!("interrupted; partial results above"),
        });
    }
    let wrong: u64 = report.summary.rows.values().map(|s| s.wrong).sum();
    let lost: u64 = report.writes.values().map(|w| w.lost_count).sum();
    if wrong > 0 || lost > 0 {
        return Err(Failure {
            code: exit::CHECK_INVALID,
            error: anyhow::anyhow!(
                "{wrong} wrong answers and {lost} lost writes (details in {})",
                report.history.display()
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::local::state::{ComponentState, Status};

    #[test]
    fn status_table_snapshot() {
        let state = EnvState {
            schema: 1,
            supervisor_pid: 4242,
            phase: Phase::Running,
            error: None,
            started_at_ms: 0,
            ready_at_ms: Some(1),
            components: vec![
                ComponentState {
                    id: "postgres".into(),
                    role: "postgres".into(),
                    line: None,
                    version: "15".into(),
                    endpoint: "postgresql://127.0.0.1:17000".into(),
                    ports: vec![17000],
                    pid: Some(100),
                    log: "l".into(),
                    status: Status::Running,
                    ready: true,
                    restarts: 0,
                    restart_times_ms: vec![],
                    last_exit: None,
                    started_at_ms: None,
                    ready_at_ms: None,
                },
                ComponentState {
                    id: "connect-41-0".into(),
                    role: "connect".into(),
                    line: Some(SparkLine::V4_1),
                    version: "4.1.0".into(),
                    endpoint: "sc://127.0.0.1:17020".into(),
                    ports: vec![17020],
                    pid: Some(200),
                    log: "l".into(),
                    status: Status::Running,
                    ready: false,
                    restarts: 1,
                    restart_times_ms: vec![5],
                    last_exit: Some("signal 9 (SIGKILL)".into()),
                    started_at_ms: None,
                    ready_at_ms: None,
                },
            ],
        };
        let expected = "\
environment: running, supervisor pid 4242
COMPONENT     VERSION  ENDPOINT                      PID  STATUS   READY  RESTARTS  LAST EXIT
postgres      15       postgresql://127.0.0.1:17000  100  running  yes    0         -
connect-41-0  4.1.0    sc://127.0.0.1:17020          200  running  no     1         signal 9 (SIGKILL)
";
        assert_eq!(render_status(&state, true), expected);
        assert!(render_status(&state, false).contains("supervisor 4242 is gone"));
    }

    #[test]
    fn conf_pairs_parse_and_reject_garbage() {
        assert_eq!(
            parse_conf(&["a.b=c=d".into()]).ok().unwrap(),
            vec![("a.b".to_string(), "c=d".to_string())]
        );
        assert!(parse_conf(&["novalue".into()]).is_err());
    }
}
