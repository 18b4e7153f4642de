//! `chaos fault list | inject | status | heal`, and the recovery every environment command runs
//! first.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};

use super::{interrupted, Failure};
use crate::fault::catalog::{self, KINDS};
use crate::fault::inject::{self, FaultError, HealGuard, Scope};
use crate::fault::ledger::Owner;
use crate::fault::FaultRecord;
use crate::platform::{DriverError, Platform, PlatformRef};

/// `fault` subcommands.
#[derive(Debug, Subcommand)]
pub enum FaultCommand {
    /// Every fault kind with its targets and parameters.
    List,
    /// Inject a fault into the running environment.
    Inject(InjectArgs),
    /// The faults in force.
    Status {
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Heal faults: the ones named, or every one with --all.
    Heal {
        /// Fault ids (`f3`).
        ids: Vec<String>,
        /// Heal every fault in force.
        #[arg(long)]
        all: bool,
    },
}

/// Options of `fault inject`.
#[derive(Debug, Args)]
pub struct InjectArgs {
    /// The kind (see `chaos fault list`).
    pub kind: String,
    /// The target: `executor@4.1.0`, `connect@3.5.7#0`, `s3`, `metastore@4.1.0`, `spark@4.1.0`…
    #[arg(long)]
    pub target: Option<String>,
    /// A parameter, `name=value` (repeatable).
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Heal after this long, staying in the foreground (Ctrl-C heals at once). Without it the
    /// fault stays until `chaos fault heal`.
    #[arg(long = "for", value_parser = humantime::parse_duration)]
    pub for_: Option<Duration>,
}

/// Runs a `fault` subcommand.
pub fn run(p: PlatformRef, cmd: FaultCommand) -> Result<(), Failure> {
    match cmd {
        FaultCommand::List => {
            print!("{}", render_list());
            Ok(())
        }
        FaultCommand::Inject(a) => inject_cmd(p, &a),
        FaultCommand::Status { json } => status(p.as_ref(), json),
        FaultCommand::Heal { ids, all } => heal_cmd(p.as_ref(), &ids, all),
    }
}

/// The catalogue for people.
pub fn render_list() -> String {
    let mut out = String::new();
    for k in KINDS {
        out.push_str(&format!(
            "{}\n    {}\n    targets: {}\n",
            k.name, k.help, k.targets
        ));
        for (p, help) in k.params {
            out.push_str(&format!("    --param {p}=…  {help}\n"));
        }
    }
    out.push_str("\nV is a Spark version: 3.5.7 or 4.1.0 (3.5, 4.1 also accepted).\n");
    out
}

fn parse_params(items: &[String]) -> Result<BTreeMap<String, String>, Failure> {
    items
        .iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .ok_or_else(|| Failure::usage(anyhow::anyhow!("--param `{kv}`: write NAME=VALUE")))
        })
        .collect()
}

fn fault_failure(e: FaultError) -> Failure {
    match e {
        FaultError::Driver(DriverError::Target { .. }) | FaultError::Unknown(_) => {
            Failure::input(e)
        }
        other => Failure::env(other),
    }
}

fn inject_cmd(p: PlatformRef, a: &InjectArgs) -> Result<(), Failure> {
    let params = parse_params(&a.params)?;
    let spec = catalog::parse(&a.kind, a.target.as_deref(), &params)
        .map_err(|e| Failure::usage(anyhow::anyhow!("{e}")))?;
    let owner = a.for_.map(|_| Owner::me());
    let record = inject::inject(p.as_ref(), &spec, owner, a.for_).map_err(fault_failure)?;
    eprintln!("{}", describe(&record));
    let Some(d) = a.for_ else {
        if record.healed_ms.is_none() {
            eprintln!("in force until `chaos fault heal {}`", record.id);
        }
        return Ok(());
    };
    if record.healed_ms.is_some() {
        return Ok(());
    }
    let guard = HealGuard::new(p.clone());
    let t = Instant::now();
    while t.elapsed() < d && !interrupted() {
        std::thread::sleep(Duration::from_millis(50));
    }
    let by = if interrupted() {
        "interrupted"
    } else {
        "scheduled"
    };
    let healed = inject::heal(p.as_ref(), &record.id, by).map_err(fault_failure)?;
    guard.disarm();
    eprintln!("{}", describe(&healed));
    if interrupted() {
        return Err(Failure::env(anyhow::anyhow!(
            "interrupted; {} healed",
            record.id
        )));
    }
    Ok(())
}

/// One line per fault for people.
pub fn describe(r: &FaultRecord) -> String {
    let t = |ms: u64| {
        humantime::format_rfc3339_millis(std::time::UNIX_EPOCH + Duration::from_millis(ms))
            .to_string()
    };
    match r.healed_ms {
        None => format!(
            "{} {} {} injected at {}: {}",
            r.id,
            r.kind,
            r.target,
            t(r.injected_ms),
            r.detail
        ),
        Some(h) => format!(
            "{} {} {} healed at {} ({}s after injection; {})",
            r.id,
            r.kind,
            r.target,
            t(h),
            (h.saturating_sub(r.injected_ms)) as f64 / 1000.0,
            r.healed_by.as_deref().unwrap_or("healed")
        ),
    }
}

fn status(p: &dyn Platform, json: bool) -> Result<(), Failure> {
    let active = inject::active(p.home()).map_err(fault_failure)?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&active).map_err(Failure::env)?
        );
        return Ok(());
    }
    if active.is_empty() {
        println!("no fault in force");
    }
    for e in &active {
        let owner = match &e.owner {
            Some(o) => format!("healed by pid {} on exit", o.pid),
            None => "stays until `chaos fault heal`".into(),
        };
        println!("{}  [{:?}; {owner}]", describe(&e.record), e.phase);
    }
    Ok(())
}

fn heal_cmd(p: &dyn Platform, ids: &[String], all: bool) -> Result<(), Failure> {
    if all {
        let (healed, failed) = inject::heal_where(p, Scope::All, "chaos fault heal --all");
        for r in &healed {
            eprintln!("{}", describe(r));
        }
        if healed.is_empty() && failed.is_empty() {
            eprintln!("no fault in force");
        }
        if !failed.is_empty() {
            return Err(Failure::env(anyhow::anyhow!("{}", failed.join("; "))));
        }
        return Ok(());
    }
    if ids.is_empty() {
        return Err(Failure::usage(anyhow::anyhow!(
            "name the faults to heal (see `chaos fault status`) or use --all"
        )));
    }
    for id in ids {
        let r = inject::heal(p, id, "chaos fault heal").map_err(fault_failure)?;
        eprintln!("{}", describe(&r));
    }
    Ok(())
}

/// Heals faults left by a crashed harness; every command that touches an environment runs it.
pub fn recover(p: &dyn Platform) {
    if !p.home().root().join("faults").exists() {
        return;
    }
    let (healed, failed) = inject::recover(p);
    if !healed.is_empty() {
        eprintln!(
            "healed {} fault(s) left in force by a chaos process that is gone:",
            healed.len()
        );
        for r in &healed {
            eprintln!("  {}", describe(r));
        }
    }
    for f in &failed {
        eprintln!("warning: could not heal a leftover fault: {f}");
    }
}
