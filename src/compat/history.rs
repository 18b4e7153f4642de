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

use super::coexist::list_apps;
use super::differential::Ctx;
use super::endpoints::{s3_text, EnvEndpoints, VersionEndpoints};
use super::model::{EventLogApp, HistoryCell, HistoryReport};
use crate::probe::s3::{Object, S3};

impl EventLogApp {
    /// No log yet for `v`.
    fn new(v: &VersionEndpoints, made: bool, detail: &str) -> Self {
        Self {
            version: v.line.to_string(),
            app_id: None,
            key: None,
            objects: Vec::new(),
            made,
            detail: detail.to_string(),
            error: None,
        }
    }

    /// Takes the newest finished log among `objects` under `prefix` that `keep` accepts; when
    /// there is none, `missing` is the error.
    fn take_newest(
        &mut self,
        objects: &[Object],
        prefix: &str,
        keep: impl Fn(&LogUnit) -> bool,
        missing: String,
    ) {
        let newest = log_units(objects, prefix)
            .into_iter()
            .filter(|u| u.finished && keep(u))
            .max_by(|a, b| a.last_modified.cmp(&b.last_modified));
        match newest {
            Some(unit) => {
                self.app_id = Some(unit.app_id());
                self.key = Some(unit.path(prefix));
                self.objects = unit.keys;
            }
            None => self.error = Some(missing),
        }
    }
}

/// Codec extensions Spark appends to event log names.
const CODECS: [&str; 4] = [".zstd", ".lz4", ".snappy", ".lzf"];

/// One application's event log under a prefix: a single file (`local-123.zstd`) or a rolling
/// log directory (`eventlog_v2_local-123/` holding `events_N_local-123[.codec]` files and an
/// `appstatus_local-123[.inprogress]` marker).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogUnit {
    /// The file or directory name directly under the prefix.
    pub name: String,
    /// Whether it is a rolling log directory.
    pub dir: bool,
    /// Every object key of the log.
    pub keys: Vec<String>,
    /// The application has finished (no `.inprogress` file or marker).
    pub finished: bool,
    /// The newest modification time of its objects.
    pub last_modified: String,
}

impl LogUnit {
    /// The application id: the name without codec extension or `eventlog_v2_` prefix.
    pub fn app_id(&self) -> String {
        if self.dir {
            return self
                .name
                .strip_prefix("eventlog_v2_")
                .unwrap_or(&self.name)
                .to_string();
        }
        let mut id = self.name.as_str();
        for c in CODECS {
            if let Some(stripped) = id.strip_suffix(c) {
                id = stripped;
                break;
            }
        }
        id.to_string()
    }

    /// The key of the log itself: the file, or the directory prefix.
    pub fn path(&self, prefix: &str) -> String {
        if self.dir {
            format!("{prefix}{}/", self.name)
        } else {
            format!("{prefix}{}", self.name)
        }
    }
}

/// The event logs directly under `prefix`, by file or directory.
pub(crate) fn log_units(objects: &[Object], prefix: &str) -> Vec<LogUnit> {
    let mut units: Vec<LogUnit> = Vec::new();
    for o in objects {
        let Some(rest) = o.key.strip_prefix(prefix) else {
            continue;
        };
        let (name, dir) = match rest.split_once('/') {
            Some((d, _)) => (d, true),
            None => (rest, false),
        };
        if name.is_empty() {
            continue;
        }
        let i = match units.iter().position(|u| u.name == name && u.dir == dir) {
            Some(i) => i,
            None => {
                units.push(LogUnit {
                    name: name.to_string(),
                    dir,
                    keys: Vec::new(),
                    finished: false,
                    last_modified: String::new(),
                });
                units.len() - 1
            }
        };
        let u = &mut units[i];
        u.keys.push(o.key.clone());
        if o.last_modified > u.last_modified {
            u.last_modified = o.last_modified.clone();
        }
    }
    for u in &mut units {
        u.finished = if u.dir {
            let base = |k: &String| k.rsplit('/').next().unwrap_or("").to_string();
            u.keys.iter().map(base).any(|b| b.starts_with("appstatus_"))
                && !u.keys.iter().any(|k| k.ends_with(".inprogress"))
        } else {
            !u.name.ends_with(".inprogress")
        };
    }
    units
}

/// Runs `spark-sql` in local mode with the line's configuration; returns the new finished log.
async fn make_log(env: &EnvEndpoints, s3: &S3, v: &VersionEndpoints, ctx: &Ctx<'_>) -> EventLogApp {
    let mut app = EventLogApp::new(v, true, "");
    let Some(spark_home) = v.spark_env.get("SPARK_HOME") else {
        app.error = Some("the plan gives no SPARK_HOME for this version".into());
        return app;
    };
    let before: BTreeSet<String> = match s3.list(&v.events_prefix).await {
        Ok(objects) => objects.into_iter().map(|o| o.key).collect(),
        Err(e) => {
            app.error = Some(s3_text(&e));
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
            // The first exception line says why; the last lines are only stack frames.
            let why = stderr
                .lines()
                .find(|l| l.contains("Exception") || l.contains(" ERROR "))
                .map(str::to_string)
                .unwrap_or_else(|| {
                    let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
                    tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
                });
            app.error = Some(format!("spark-sql exited with {}: {why}", out.status));
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
            app.error = Some(s3_text(&e));
            return app;
        }
    };
    app.take_newest(
        &after,
        &v.events_prefix,
        |u| u.keys.iter().all(|k| !before.contains(k)),
        format!("no new finished event log under {}", v.events_prefix),
    );
    app
}

/// The newest finished log already under the version's prefix.
async fn existing_log(s3: &S3, v: &VersionEndpoints) -> EventLogApp {
    let mut app = EventLogApp::new(v, false, "newest finished log already in the prefix");
    match s3.list(&v.events_prefix).await {
        Ok(objects) => app.take_newest(
            &objects,
            &v.events_prefix,
            |u| !u.name.starts_with("compat-"),
            format!(
                "no finished event log under {} (a Connect server's log is written when it stops)",
                v.events_prefix
            ),
        ),
        Err(e) => app.error = Some(s3_text(&e)),
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

/// Polls a History Server until it no longer lists `app_id`.
async fn wait_unlisted(history: &str, app_id: &str, budget: Duration) -> Result<(), String> {
    let t = Instant::now();
    while t.elapsed() < budget {
        if let Ok(apps) = list_apps(history, Duration::from_secs(10)).await {
            if !apps.iter().any(|(id, _)| id == app_id) {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Err(format!("still listed after {budget:?}"))
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
    let s3 = match env.s3() {
        Ok(s3) => s3,
        Err(e) => {
            report.notes.push(format!("no S3 client: {e}"));
            return report;
        }
    };
    let versions = [base, target];
    // A Spark driver cannot start its event log without the directory (see the end).
    for v in versions {
        if let Err(e) = s3.keep_dir(&v.events_prefix).await {
            report.notes.push(format!(
                "could not make sure {} exists: {}",
                v.events_prefix,
                s3_text(&e)
            ));
        }
    }
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
                copied_objects: Vec::new(),
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
                // `key` is the file, or the directory prefix ending in `/`.
                let source_prefix = key.trim_end_matches('/');
                let name = source_prefix.rsplit('/').next().unwrap_or(source_prefix);
                let copy_name = if key.ends_with('/') {
                    name.to_string()
                } else {
                    format!("compat-{}-{name}", ctx.run_id)
                };
                let dest = format!("{}{copy_name}", server.events_prefix);
                let mut error = None;
                for object in &app.objects {
                    let to = format!("{dest}{}", &object[source_prefix.len()..]);
                    match s3.copy(object, &to).await {
                        Ok(_) => cell.copied_objects.push(to),
                        Err(e) => {
                            error = Some(format!("copy the log: {}", s3_text(&e)));
                            break;
                        }
                    }
                }
                cell.copied_to = Some(if key.ends_with('/') {
                    format!("{dest}/")
                } else {
                    dest
                });
                if let Some(e) = error {
                    cell.error = Some(e);
                    for to in &cell.copied_objects {
                        let _ = s3.delete(to).await;
                    }
                    report.matrix.push(cell);
                    continue;
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
            for to in &cell.copied_objects {
                if let Err(e) = s3.delete(to).await {
                    report.notes.push(format!(
                        "could not delete the copied log {to}: {}",
                        s3_text(&e)
                    ));
                }
            }
            // Until its next scans notice the deletion the History Server still lists the
            // copy: wait, so that no foreign application is left listed after the run.
            if !cell.copied_objects.is_empty() && cell.listed {
                if let Err(e) = wait_unlisted(history, app_id, budget).await {
                    report.notes.push(format!(
                        "History Server {} still lists the deleted copy {app_id}: {e}",
                        server.line
                    ));
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
        for key in &app.objects {
            if let Err(e) = s3.delete(key).await {
                report.notes.push(format!(
                    "could not delete the event log {key}: {}",
                    s3_text(&e)
                ));
            }
        }
    }
    // Deleting the last object under a prefix makes the "directory" vanish for S3A, and a
    // Spark driver (a restarting Connect server) then cannot start its event log.
    for v in versions {
        if let Err(e) = s3.keep_dir(&v.events_prefix).await {
            report.notes.push(format!(
                "could not restore the directory marker {}: {}",
                v.events_prefix,
                s3_text(&e)
            ));
        }
    }
    report
}
