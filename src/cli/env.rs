//! `chaos env up | down | status | restart`, `chaos sql`, `chaos datagen`, `chaos load`: the
//! commands that work on one environment, through its [`Platform`].

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{fault, interrupted, lines_or_all, lines_or_some, Failure};
use super::{DatagenArgs, LoadArgs, SetupArgs, SqlArgs, UpArgs};
use crate::exit;
use crate::paths::Cache;
use crate::platform::{
    EnvSettings, LinkStatus, Overview, Platform, PlatformError, UpProgress, UpRequest,
};

impl From<PlatformError> for Failure {
    fn from(e: PlatformError) -> Self {
        match e {
            PlatformError::Input(_) | PlatformError::Unsupported { .. } => Failure::input(e),
            _ => Failure::env(e),
        }
    }
}

pub(super) fn setup(cache: &Cache, a: &SetupArgs) -> Result<(), Failure> {
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

pub(super) fn env_up(p: &dyn Platform, a: &UpArgs) -> Result<(), Failure> {
    if a.replicas == 0 || a.workers == 0 {
        return Err(Failure::input(anyhow::anyhow!(
            "--replicas and --workers must be at least 1"
        )));
    }
    let req = UpRequest {
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
        namespace: a.namespace.clone(),
        allowed_namespaces: a.allow_namespace.clone(),
    };
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {pos}/{len} ready  {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    let progress = |u: UpProgress| {
        bar.set_length(u.total as u64);
        bar.set_position(u.ready as u64);
        let waiting: Vec<String> = p
            .status()
            .unwrap_or_default()
            .into_iter()
            .filter(|c| !c.ready && c.state == "running")
            .map(|c| c.id)
            .collect();
        bar.set_message(if waiting.is_empty() {
            String::new()
        } else {
            format!("waiting for {}", waiting.join(", "))
        });
        bar.tick();
    };
    let report = p.up(&req, &progress);
    bar.finish_and_clear();
    let report = report?;
    if report.already_running {
        eprintln!(
            "the environment at {} is already running",
            p.home().root().display()
        );
    } else {
        eprintln!(
            "all components ready {:.1}s after start (setup took {:.1}s)",
            report.ready_after.as_secs_f64(),
            report.setup_took.as_secs_f64()
        );
    }
    env_status(p, false)
}

pub(super) fn env_down(p: &dyn Platform, keep_data: bool) -> Result<(), Failure> {
    // Every fault is healed before anything stops: a held or paused component would not stop
    // cleanly, and a partition table would outlive the environment.
    let (healed, failed) =
        crate::fault::inject::heal_where(p, crate::fault::inject::Scope::All, "env down");
    for r in &healed {
        eprintln!("{}", fault::describe(r));
    }
    for f in &failed {
        eprintln!("warning: {f}");
    }
    let r = p.down(keep_data)?;
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

pub(super) fn env_status(p: &dyn Platform, json: bool) -> Result<(), Failure> {
    let o = p.overview()?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&o.json).map_err(Failure::env)?
        );
    } else {
        print!("{}", render_status(&o));
        if o.running {
            print!("{}", render_links(&o.links));
        }
    }
    Ok(())
}

/// The fault-proxy links: who talks to whom, traffic, and the faults in force.
pub fn render_links(links: &[LinkStatus]) -> String {
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
pub fn render_status(o: &Overview) -> String {
    use std::fmt::Write as _;
    let mut out = format!("environment: {}, {}\n", o.phase, o.keeper);
    if let Some(e) = &o.error {
        let _ = writeln!(out, "error: {e}");
    }
    let header = [
        "COMPONENT",
        "VERSION",
        "ENDPOINT",
        "WHERE",
        "STATUS",
        "READY",
        "RESTARTS",
        "LAST EXIT",
    ];
    let rows: Vec<Vec<String>> = o
        .components
        .iter()
        .map(|c| {
            vec![
                c.id.clone(),
                c.version.chars().take(20).collect(),
                c.endpoint.clone(),
                if c.detail.is_empty() {
                    "-".into()
                } else {
                    c.detail.clone()
                },
                c.state.clone(),
                if c.ready { "yes".into() } else { "no".into() },
                c.restarts.to_string(),
                c.last_exit.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    out.push_str(&crate::text::table(&header, &rows));
    out
}

pub(super) fn env_restart(p: &dyn Platform, id: &str, timeout: Duration) -> Result<(), Failure> {
    let took = p.restart(id, timeout)?;
    eprintln!(
        "{id} restarted and ready again after {:.1}s",
        took.as_secs_f64()
    );
    Ok(())
}

pub(super) fn sql(p: &dyn Platform, a: &SqlArgs) -> Result<(), Failure> {
    let urls = p.endpoints()?.connect_urls(a.line);
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

pub(super) fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(Failure::env)
}

pub(super) fn datagen(p: &dyn Platform, cache: &Cache, a: &DatagenArgs) -> Result<(), Failure> {
    use crate::workload::tpcds;
    let env = p.endpoints()?;
    let rt = runtime()?;
    let set = rt
        .block_on(tpcds::datagen(cache, &env, a.scale))
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

pub(super) fn load(p: &dyn Platform, cache: &Cache, a: &LoadArgs) -> Result<(), Failure> {
    use crate::workload::assemble::{self, AssembleError};
    use crate::workload::load;
    let env = p.endpoints()?;
    let fail = |e: AssembleError| match e {
        AssembleError::Input(_) => Failure::input(e),
        AssembleError::Env(_) => Failure::env(e),
    };
    let (queries, judge) = assemble::queries(cache, &a.queries, a.scale).map_err(fail)?;
    let targets = assemble::targets(&env, &lines_or_some(&a.spark)).map_err(fail)?;
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
    let rt = runtime()?;
    let harness = crate::run::drive::Harness {
        platform: None,
        occurrences: vec![],
        interrupted,
        say: |line| eprintln!("{line}"),
        tally: None,
    };
    let report = rt
        .block_on(crate::run::drive::drive(
            harness,
            stop.clone(),
            load::run(cfg, judge, stop.clone()),
        ))
        .output;
    debug_assert!(stop.load(Ordering::SeqCst));
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

    #[test]
    fn status_table_snapshot() {
        // A state file as the local supervisor writes it, read through the platform's
        // overview, rendered as `chaos env status` prints it.
        let state = serde_json::json!({
            "schema": 1, "supervisor_pid": 9_999_999, "phase": "starting",
            "started_at_ms": 0, "ready_at_ms": 1,
            "components": [
                {"id": "postgres", "role": "postgres", "version": "15",
                 "endpoint": "postgresql://127.0.0.1:17000", "ports": [17000], "pid": 100,
                 "log": "l", "status": "running", "ready": true, "restarts": 0},
                {"id": "connect-41-0", "role": "connect", "line": "4.1.0", "version": "4.1.0",
                 "endpoint": "sc://127.0.0.1:17020", "ports": [17020], "pid": 200, "log": "l",
                 "status": "running", "ready": false, "restarts": 1, "restart_times_ms": [5],
                 "last_exit": "signal 9 (SIGKILL)"}
            ]
        });
        let dir = tempfile::tempdir().unwrap();
        let home = crate::paths::EnvHome::at(dir.path());
        crate::jsonfile::write_atomically(&home.state_file(), &state).unwrap();
        let p = crate::platform::open(
            crate::platform::PlatformKind::Local,
            &home,
            &Cache::at(dir.path()),
        )
        .unwrap();
        let o = p.overview().unwrap();
        let expected = "\
environment: starting (supervisor 9999999 is gone: run `chaos env down`), supervisor pid 9999999
COMPONENT     VERSION  ENDPOINT                      WHERE    STATUS   READY  RESTARTS  LAST EXIT
postgres      15       postgresql://127.0.0.1:17000  pid 100  running  yes    0         -
connect-41-0  4.1.0    sc://127.0.0.1:17020          pid 200  running  no     1         signal 9 (SIGKILL)
";
        assert_eq!(render_status(&o), expected);
        assert!(!o.running);
        let mut alive = o.clone();
        alive.phase = "running".into();
        assert!(render_status(&alive).starts_with("environment: running, supervisor pid 9999999\n"));
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
