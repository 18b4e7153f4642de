//! The History Server matrix: can each version's History Server list and load event logs
//! written by each Spark version?
//!
//! Each History Server reads only its own version's prefix (`spark.history.fs.logDirectory`
//! is `s3a://<bucket>/<line>/events`, scanned every 2 s; see `platform/local/conf.rs`). A
//! running Connect server's event log is not on S3 yet (S3A writes on close), so each version
//! first runs a short local-mode `spark-sql` application with the line's configuration, whose
//! finished log lands in the line's prefix. For the cross-version cells that log is copied
//! into the other History Server's prefix under a distinct name (same codec extension), the
//! History Server is polled until it lists the application, and the copy is deleted afterwards.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::coexist::list_apps;
use super::differential::Ctx;
use super::endpoints::{EnvEndpoints, VersionEndpoints};
use super::s3x::S3x;

/// The finished event log used for one version.
#[derive(Debug, Clone, Serialize)]
pub struct EventLogApp {
    /// The version that wrote it.
    pub version: String,
    /// The application id (the log's file name without codec extension).
    pub app_id: Option<String>,
    /// The object key of the log.
    pub key: Option<String>,
    /// Whether compat ran the application (else an existing log was used).
    pub made: bool,
    /// How making it went, for people.
    pub detail: String,
    /// Why there is no log, if so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One History Server asked about one version's event log.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryCell {
    /// The History Server's version.
    pub server: String,
    /// The version that wrote the log.
    pub log: String,
    /// The application.
    pub app_id: Option<String>,
    /// Where the log was copied to (cross-version cells).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copied_to: Option<String>,
    /// The application appeared in the listing.
    pub listed: bool,
    /// Seconds until it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listed_after_secs: Option<f64>,
    /// The Spark version the History Server reports for the application.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reported_version: Option<String>,
    /// Jobs the History Server loaded from the log (`/jobs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jobs: Option<usize>,
    /// The application's environment page loaded (`/environment`).
    pub environment: bool,
    /// Listed and loaded.
    pub ok: bool,
    /// What failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The History Server part of a run.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryReport {
    /// The event log used per version.
    pub apps: Vec<EventLogApp>,
    /// Each (History Server version × log version) cell.
    pub matrix: Vec<HistoryCell>,
    /// Cleanup trouble and the like.
    pub notes: Vec<String>,
}

/// Codec extensions Spark appends to event log names.
const CODECS: [&str; 4] = [".zstd", ".lz4", ".snappy", ".lzf"];

/// `3.5/events/local-123.zstd` → (`local-123.zstd`, `local-123`).
pub(crate) fn log_names(key: &str) -> (String, String) {
    let base = key.rsplit('/').next().unwrap_or(key).to_string();
    let mut id = base.clone();
    for c in CODECS {
        if let Some(stripped) = id.strip_suffix(c) {
            id = stripped.to_string();
            break;
        }
    }
    (base, id)
}

/// Keys of finished single-file logs directly under `prefix`.
fn finished_logs(objects: &[super::s3x::Obj], prefix: &str) -> Vec<(String, String)> {
    objects
        .iter()
        .filter(|o| {
            let rest = &o.key[prefix.len().min(o.key.len())..];
            !rest.is_empty() && !rest.contains('/') && !rest.ends_with(".inprogress")
        })
        .map(|o| (o.key.clone(), o.last_modified.clone()))
        .collect()
}

/// Runs `spark-sql` in local mode with the line's configuration; returns the new finished log.
async fn make_log(
    env: &EnvEndpoints,
    s3: &S3x,
    v: &VersionEndpoints,
    ctx: &Ctx<'_>,
) -> EventLogApp {
    let mut app = EventLogApp {
        version: v.line.to_string(),
        app_id: None,
        key: None,
        made: true,
        detail: String::new(),
        error: None,
    };
    let Some(spark_home) = v.spark_env.get("SPARK_HOME") else {
        app.error = Some("the plan gives no SPARK_HOME for this version".into());
        return app;
    };
    let before: BTreeSet<String> = match s3.list(&v.events_prefix).await {
        Ok(objects) => objects.into_iter().map(|o| o.key).collect(),
        Err(e) => {
            app.error = Some(e);
            return app;
        }
    };
    let work: PathBuf =
        env.home
            .join("work")
            .join(format!("compat-{}-{}", ctx.run_id, v.line.slug()));
    if let Err(e) = std::fs::create_dir_all(&work) {
        app.error = Some(format!("create {}: {e}", work.display()));
        return app;
    }
    let name = format!("compat-{}-{}", ctx.run_id, v.line.slug());
    let program = PathBuf::from(spark_home).join("bin").join("spark-sql");
    let mut cmd = tokio::process::Command::new(&program);
    cmd.args([
        "--master",
        "local[1]",
        "--name",
        &name,
        "--driver-memory",
        "512m",
        "--conf",
        "spark.ui.enabled=false",
        "-e",
        "SELECT count(*) FROM range(1000)",
    ])
    .envs(&v.spark_env)
    .current_dir(&work)
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .kill_on_drop(true);
    let t = Instant::now();
    let budget = ctx.cfg.timeout.max(Duration::from_secs(300));
    let output = match cmd.spawn() {
        Ok(child) => tokio::time::timeout(budget, child.wait_with_output()).await,
        Err(e) => {
            app.error = Some(format!("start {}: {e}", program.display()));
            let _ = std::fs::remove_dir_all(&work);
            return app;
        }
    };
    let _ = std::fs::remove_dir_all(&work);
    match output {
        Err(_) => {
            app.error = Some(format!("spark-sql did not finish within {budget:?}"));
            return app;
        }
        Ok(Err(e)) => {
            app.error = Some(format!("wait for spark-sql: {e}"));
            return app;
        }
        Ok(Ok(out)) if !out.status.success() => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
            app.error = Some(format!(
                "spark-sql exited with {}: {}",
                out.status,
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            ));
            return app;
        }
        Ok(Ok(_)) => {}
    }
    app.detail = format!(
        "local-mode spark-sql `{name}` ran in {:.1}s",
        t.elapsed().as_secs_f64()
    );
    // S3A makes the log visible when the stream closes, before the JVM exits.
    let after = match s3.list(&v.events_prefix).await {
        Ok(objects) => objects,
        Err(e) => {
            app.error = Some(e);
            return app;
        }
    };
    let new: Vec<(String, String)> = finished_logs(&after, &v.events_prefix)
        .into_iter()
        .filter(|(k, _)| !before.contains(k))
        .collect();
    match new.into_iter().max_by(|a, b| a.1.cmp(&b.1)) {
        Some((key, _)) => {
            app.app_id = Some(log_names(&key).1);
            app.key = Some(key);
        }
        None => {
            app.error = Some(format!(
                "no new finished event log under {}",
                v.events_prefix
            ))
        }
    }
    app
}

/// The newest finished log already under the version's prefix.
async fn existing_log(s3: &S3x, v: &VersionEndpoints) -> EventLogApp {
    let mut app = EventLogApp {
        version: v.line.to_string(),
        app_id: None,
        key: None,
        made: false,
        detail: "newest finished log already in the prefix".into(),
        error: None,
    };
    match s3.list(&v.events_prefix).await {
        Ok(objects) => match finished_logs(&objects, &v.events_prefix)
            .into_iter()
            .filter(|(k, _)| !log_names(k).0.starts_with("compat-"))
            .max_by(|a, b| a.1.cmp(&b.1))
        {
            Some((key, _)) => {
                app.app_id = Some(log_names(&key).1);
                app.key = Some(key);
            }
            None => {
                app.error = Some(format!(
                "no finished event log under {} (a Connect server's log is written when it stops)",
                v.events_prefix
            ))
            }
        },
        Err(e) => app.error = Some(e),
    }
    app
}

/// Polls a History Server until it lists `app_id`; returns the seconds waited and the version
/// it reports.
async fn wait_listed(
    history: &str,
    app_id: &str,
    budget: Duration,
) -> Result<(f64, Option<String>), String> {
    let t = Instant::now();
    let mut last_error = None;
    while t.elapsed() < budget {
        match list_apps(history, Duration::from_secs(10)).await {
            Ok(apps) => {
                if let Some((_, v)) = apps.into_iter().find(|(id, _)| id == app_id) {
                    return Ok((t.elapsed().as_secs_f64(), v));
                }
                last_error = None;
            }
            Err(e) => last_error = Some(e),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Err(match last_error {
        Some(e) => format!("not listed within {budget:?}; last error: {e}"),
        None => format!("not listed within {budget:?}"),
    })
}

/// Loads an application's jobs and environment from a History Server.
async fn load(
    history: &str,
    app_id: &str,
    timeout: Duration,
) -> (Option<usize>, bool, Vec<String>) {
    let mut errors = Vec::new();
    let jobs = match crate::probe::http::get_ok(
        &format!("{history}/api/v1/applications/{app_id}/jobs"),
        timeout,
    )
    .await
    {
        Ok(body) => match serde_json::from_str::<serde_json::Value>(&body) {
            Ok(v) => v.as_array().map(Vec::len),
            Err(e) => {
                errors.push(format!("jobs: {e}"));
                None
            }
        },
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let environment = match crate::probe::http::get_ok(
        &format!("{history}/api/v1/applications/{app_id}/environment"),
        timeout,
    )
    .await
    {
        Ok(body) => serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .is_some_and(|v| v.get("sparkProperties").is_some()),
        Err(e) => {
            errors.push(e);
            false
        }
    };
    (jobs, environment, errors)
}

/// The History Server part.
pub(crate) async fn run(
    env: &EnvEndpoints,
    base: &VersionEndpoints,
    target: &VersionEndpoints,
    ctx: &Ctx<'_>,
    progress: &dyn Fn(&str),
) -> HistoryReport {
    let mut report = HistoryReport {
        apps: Vec::new(),
        matrix: Vec::new(),
        notes: Vec::new(),
    };
    let s3 = match S3x::new(env) {
        Ok(s3) => s3,
        Err(e) => {
            report.notes.push(format!("no S3 client: {e}"));
            return report;
        }
    };
    let versions = [base, target];
    for v in versions {
        let app = if ctx.cfg.make_event_logs {
            progress(&format!(
                "  {}: running a local-mode spark-sql application for its event log",
                v.line
            ));
            make_log(env, &s3, v, ctx).await
        } else {
            existing_log(&s3, v).await
        };
        progress(&format!(
            "  {} event log: {}",
            v.line,
            app.key
                .clone()
                .or_else(|| app.error.clone())
                .unwrap_or_default()
        ));
        report.apps.push(app);
    }
    let budget = ctx.cfg.timeout.max(Duration::from_secs(60));
    for server in versions {
        for (log_version, app) in versions.iter().zip(&report.apps) {
            let mut cell = HistoryCell {
                server: server.line.to_string(),
                log: log_version.line.to_string(),
                app_id: app.app_id.clone(),
                copied_to: None,
                listed: false,
                listed_after_secs: None,
                reported_version: None,
                jobs: None,
                environment: false,
                ok: false,
                error: None,
            };
            let (Some(history), Some(key), Some(app_id)) = (&server.history, &app.key, &app.app_id)
            else {
                cell.error = Some(match &server.history {
                    None => "no History Server for this version".into(),
                    Some(_) => format!(
                        "no event log of {}: {}",
                        log_version.line,
                        app.error.clone().unwrap_or_default()
                    ),
                });
                report.matrix.push(cell);
                continue;
            };
            if server.line != log_version.line {
                let (base_name, _) = log_names(key);
                let to = format!(
                    "{}compat-{}-{}",
                    server.events_prefix, ctx.run_id, base_name
                );
                match s3.copy(key, &to).await {
                    Ok(_) => cell.copied_to = Some(to),
                    Err(e) => {
                        cell.error = Some(format!("copy the log: {e}"));
                        report.matrix.push(cell);
                        continue;
                    }
                }
            }
            match wait_listed(history, app_id, budget).await {
                Ok((secs, version)) => {
                    cell.listed = true;
                    cell.listed_after_secs = Some(secs);
                    cell.reported_version = version;
                    let (jobs, environment, errors) = load(history, app_id, budget).await;
                    cell.jobs = jobs;
                    cell.environment = environment;
                    cell.ok = jobs.is_some() && environment;
                    if !errors.is_empty() {
                        cell.error = Some(errors.join("; "));
                    }
                }
                Err(e) => cell.error = Some(e),
            }
            if let Some(to) = &cell.copied_to {
                if let Err(e) = s3.delete(to).await {
                    report
                        .notes
                        .push(format!("could not delete the copied log {to}: {e}"));
                }
            }
            progress(&format!(
                "  History Server {} × log of {}: {}",
                cell.server,
                cell.log,
                if cell.ok {
                    format!(
                        "listed after {:.1}s, {} job(s) loaded",
                        cell.listed_after_secs.unwrap_or_default(),
                        cell.jobs.unwrap_or_default()
                    )
                } else {
                    format!("failed: {}", cell.error.clone().unwrap_or_default())
                }
            ));
            report.matrix.push(cell);
        }
    }
    // The logs compat made are removed too: nothing of the run stays in the prefixes.
    for app in report.apps.iter().filter(|a| a.made) {
        if let Some(key) = &app.key {
            if let Err(e) = s3.delete(key).await {
                report
                    .notes
                    .push(format!("could not delete the event log {key}: {e}"));
            }
        }
    }
    report
}
