//! `chaos bench`: a `kind = "bench"` scenario written from the command line and run like any
//! other (its text is in the report, so the run can be repeated with `chaos run`).

use std::path::PathBuf;

use clap::Args;

use super::scenario::{run_text, RunArgs};
use super::Failure;
use crate::paths::{Cache, EnvHome};
use crate::platform::PlatformKind;

/// Options of `bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The TPC-DS queries: `quick`, `all` or names (`q3,q7,q19`).
    #[arg(long, default_value = "quick")]
    pub queries: String,
    /// Timed runs of each query per version.
    #[arg(long, default_value_t = 3)]
    pub iterations: u32,
    /// Untimed warm-up runs of each query per version first.
    #[arg(long, default_value_t = 1)]
    pub warmup: u32,
    /// The TPC-DS scale factor.
    #[arg(long, default_value_t = 0.1)]
    pub scale: f64,
    /// Concurrent streams of the throughput run per version (0: no throughput run).
    #[arg(long, default_value_t = 0)]
    pub streams: u32,
    /// The versions (default both): `3.5.7`, `4.1.0`.
    #[arg(long, value_delimiter = ',')]
    pub spark: Vec<String>,
    /// Compare with an earlier bench: its run directory, `bench.json` or `report.json`.
    /// Exit 1 on a regression beyond the threshold, 3 when undecidable.
    #[arg(long, value_name = "DIR|FILE")]
    pub baseline: Option<PathBuf>,
    /// The change a verdict must exceed (0.05: ±5 %).
    #[arg(long, default_value_t = 0.05)]
    pub threshold: f64,
    /// `alternate` (versions take turns query by query) or `random` (a seeded shuffle).
    #[arg(long, value_enum, default_value = "alternate")]
    pub order: OrderArg,
    /// Seed of the order, the stream permutations and the bootstrap.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Deadline of each query.
    #[arg(long, default_value = "10m")]
    pub timeout: String,
    /// Do not read Spark's metrics from the Connect servers' REST API.
    #[arg(long)]
    pub no_metrics: bool,
    /// Afterwards restart each version's first Connect server and check one query's metrics
    /// against the History Server.
    #[arg(long)]
    pub history_check: bool,
    /// A Spark setting of the environment, `KEY=VALUE` for both versions or
    /// `VERSION:KEY=VALUE` for one (repeatable), e.g.
    /// `4.1.0:spark.sql.autoBroadcastJoinThreshold=-1`.
    #[arg(long, value_name = "[VERSION:]KEY=VALUE")]
    pub conf: Vec<String>,
    /// A Spark SQL setting each bench session makes before its first query, `KEY=VALUE` or
    /// `VERSION:KEY=VALUE` (repeatable): what a setting costs, on the running environment
    /// without a restart.
    #[arg(long, value_name = "[VERSION:]KEY=VALUE")]
    pub session_conf: Vec<String>,
    /// The scenario's name (names the report directory).
    #[arg(long, default_value = "bench")]
    pub name: String,
    /// Keep the environment running afterwards.
    #[arg(long)]
    pub keep_env: bool,
    /// Where reports go.
    #[arg(long, value_name = "DIR")]
    pub reports: Option<PathBuf>,
    /// Allocate the environment's ports upwards from here.
    #[arg(long, default_value_t = 17000)]
    pub base_port: u16,
    /// Where to run it (default local).
    #[arg(long, value_enum)]
    pub platform: Option<PlatformKind>,
}

/// The order, as `--order` takes it.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum OrderArg {
    /// Versions take turns, query by query.
    Alternate,
    /// A seeded shuffle of every run.
    Random,
}

fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// `[VERSION:]KEY=VALUE` settings as TOML tables under `table` (`env.spark_conf`).
fn conf_tables(table: &str, flag: &str, settings: &[String]) -> Result<String, String> {
    let mut all = Vec::new();
    let mut per: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for c in settings {
        let (version, kv) = match c.split_once(':') {
            Some((v, kv)) if !v.contains('=') => (Some(v.to_string()), kv),
            _ => (None, c.as_str()),
        };
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| format!("{flag} {c}: expected [VERSION:]KEY=VALUE"))?;
        let line = format!("{} = {}", quote(k.trim()), quote(v.trim()));
        match version {
            Some(ver) => per.entry(ver).or_default().push(line),
            None => all.push(line),
        }
    }
    let mut t = String::new();
    if !all.is_empty() {
        t.push_str(&format!("\n[{table}.all]\n{}\n", all.join("\n")));
    }
    for (v, lines) in per {
        t.push_str(&format!(
            "\n[{table}.{}]\n{}\n",
            quote(&v),
            lines.join("\n")
        ));
    }
    Ok(t)
}

/// The scenario text `chaos bench` runs (pure; validated by the scenario parser after).
pub fn scenario_text(a: &BenchArgs) -> Result<String, String> {
    let queries = match a.queries.as_str() {
        "quick" | "all" => quote(&a.queries),
        list => format!(
            "[{}]",
            list.split(',')
                .map(|q| quote(q.trim()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut t = format!(
        "# Written by `chaos bench`; run it again with `chaos run` on this text.\nname = {}\ndescription = {}\nkind = \"bench\"\n",
        quote(&a.name),
        quote(&format!(
            "TPC-DS {} timed on each version: {} warm-up + {} timed run(s) per query",
            a.queries, a.warmup, a.iterations
        ))
    );
    if let Some(p) = a.platform {
        t.push_str(&format!("platform = {}\n", quote(p.name())));
    }
    if !a.spark.is_empty() {
        t.push_str(&format!(
            "spark = [{}]\n",
            a.spark
                .iter()
                .map(|v| quote(v))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    t.push_str(&conf_tables("env.spark_conf", "--conf", &a.conf)?);
    t.push_str(&format!(
        "\n[data]\nscale = {}\n\n[bench]\nqueries = {queries}\niterations = {}\nwarmup = {}\norder = {}\nseed = {}\nthreshold = {}\nstreams = {}\ntimeout = {}\nspark_metrics = {}\nhistory_check = {}\n",
        a.scale,
        a.iterations,
        a.warmup,
        quote(match a.order {
            OrderArg::Alternate => "alternate",
            OrderArg::Random => "random",
        }),
        a.seed,
        a.threshold,
        a.streams,
        quote(&a.timeout),
        !a.no_metrics,
        a.history_check
    ));
    if let Some(b) = &a.baseline {
        let abs = std::path::absolute(b).unwrap_or_else(|_| b.clone());
        t.push_str(&format!(
            "baseline = {}\n",
            quote(&abs.display().to_string())
        ));
    }
    // Tables last: a key after them would belong to them.
    t.push_str(&conf_tables(
        "bench.session_conf",
        "--session-conf",
        &a.session_conf,
    )?);
    Ok(t)
}

/// `chaos bench`: exit 0 when every check held (answers right, parity, no regression), 1 on a
/// wrong answer, a slowdown of 4.1.0 or a regression against the baseline, 3 when undecidable.
pub fn run(home: &EnvHome, cache: &Cache, a: &BenchArgs) -> Result<(), Failure> {
    let text = scenario_text(a).map_err(|e| Failure::input(anyhow::anyhow!(e)))?;
    let run = RunArgs {
        file: PathBuf::from("chaos-bench.toml"),
        keep_env: a.keep_env,
        reports: a.reports.clone(),
        base_port: a.base_port,
        platform: a.platform,
        namespace: None,
        allow_namespace: vec![],
    };
    run_text(home, cache, &text, &run)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        b: BenchArgs,
    }

    fn parsed(args: &[&str]) -> crate::scenario::Scenario {
        let mut all = vec!["bench"];
        all.extend_from_slice(args);
        let w = Wrap::parse_from(all);
        let text = scenario_text(&w.b).unwrap();
        crate::scenario::parse(&text, "chaos-bench.toml").unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    #[test]
    fn the_command_line_becomes_a_valid_bench_scenario() {
        let s = parsed(&[
            "--queries",
            "q3,q7",
            "--iterations",
            "5",
            "--conf",
            "4.1.0:spark.sql.autoBroadcastJoinThreshold=-1",
            "--conf",
            "spark.sql.shuffle.partitions=8",
            "--streams",
            "2",
            "--session-conf",
            "4.1.0:spark.sql.autoBroadcastJoinThreshold=-1",
            "--baseline",
            "/tmp/b",
        ]);
        let b = s.bench.unwrap();
        assert_eq!(b.query_selection(), "q3,q7");
        assert_eq!((b.iterations, b.warmup, b.streams), (5, 1, 2));
        assert_eq!(
            s.env
                .spark_conf
                .v4_1
                .get("spark.sql.autoBroadcastJoinThreshold"),
            Some(&"-1".to_string())
        );
        assert_eq!(
            s.env.spark_conf.all.get("spark.sql.shuffle.partitions"),
            Some(&"8".to_string())
        );
        assert!(s.workload.is_none());
        assert_eq!(
            b.session_conf
                .for_line(crate::versions::SparkLine::V4_1)
                .get("spark.sql.autoBroadcastJoinThreshold"),
            Some(&"-1".to_string())
        );
        assert_eq!(b.baseline.as_deref(), Some(std::path::Path::new("/tmp/b")));
    }

    #[test]
    fn bad_values_are_refused_by_the_scenario_rules() {
        let w = Wrap::parse_from(["bench", "--queries", "q3,q300"]);
        let text = scenario_text(&w.b).unwrap();
        let e = crate::scenario::parse(&text, "chaos-bench.toml").unwrap_err();
        assert!(e.to_string().contains("bench.queries[1]"), "{e}");
        let w = Wrap::parse_from(["bench", "--conf", "nonsense"]);
        assert!(scenario_text(&w.b).is_err());
    }
}
