//! One-time set-up steps around a component's start, like Kubernetes init containers and
//! post-start hooks: PostgreSQL's initdb and databases, the metastore schema, the S3 bucket.
//! Every step is idempotent, so a restarted component or a second `env up` repeats nothing.

use std::path::Path;
use std::process::Command;

use super::plan::{ComponentPlan, Plan, Role, Secrets};
use super::ready::psql;
use crate::probe::s3::S3;

/// Runs before the component's process starts (every start, including restarts).
pub fn before_start(plan: &Plan, c: &ComponentPlan, secrets: &Secrets) -> Result<(), String> {
    std::fs::create_dir_all(&c.spec.cwd)
        .map_err(|e| format!("create {}: {e}", c.spec.cwd.display()))?;
    if let Some(parent) = c.spec.log.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("create {}: {e}", parent.display()))?;
    }
    match c.role {
        Role::Postgres => init_postgres(plan, c, secrets),
        Role::S3 => {
            let dir = plan.home.join("data").join("s3");
            std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))
        }
        Role::Metastore => {
            let line = c.line.ok_or("metastore without a Spark line")?;
            super::hms::init_schema(&hms_params(plan, secrets, line))
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
        _ => Ok(()),
    }
}

/// Runs once the component is ready (every time it becomes ready).
pub async fn after_ready(plan: &Plan, c: &ComponentPlan, secrets: &Secrets) -> Result<(), String> {
    match c.role {
        Role::Postgres => {
            for line in &plan.settings.lines {
                create_database(plan, secrets, &Plan::metastore_db(*line)).await?;
            }
            Ok(())
        }
        Role::S3 => {
            let s3 = S3::new(
                &plan.s3_endpoint(),
                &plan.settings.bucket,
                &secrets.s3_access_key,
                &secrets.s3_secret_key,
            )
            .map_err(|e| e.to_string())?;
            s3.ensure_bucket().await.map_err(|e| e.to_string())?;
            // Directory markers: Spark's event-log writer and the History Server need the
            // event-log "directories" to exist before anything is written there.
            for line in &plan.settings.lines {
                for dir in ["events", "warehouse"] {
                    let key = format!("{}/{dir}/", line.short());
                    if s3.list(&key).await.map_err(|e| e.to_string())?.is_empty() {
                        s3.put(&key, Vec::new()).await.map_err(|e| e.to_string())?;
                    }
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn hms_params(
    plan: &Plan,
    secrets: &Secrets,
    line: crate::versions::SparkLine,
) -> super::hms::HmsParams {
    super::plan::hms_params(
        line,
        &plan.ports,
        &plan.settings,
        &crate::paths::EnvHome::at(&plan.home),
        &crate::paths::Cache::at(&plan.cache),
        &plan.java_home,
        secrets,
    )
}

fn init_postgres(plan: &Plan, c: &ComponentPlan, secrets: &Secrets) -> Result<(), String> {
    let data = plan.home.join("data").join("postgres");
    if data.join("PG_VERSION").exists() {
        return Ok(());
    }
    std::fs::create_dir_all(&data).map_err(|e| format!("create {}: {e}", data.display()))?;
    let pwfile = plan.home.join("conf").join("postgres.pw");
    std::fs::create_dir_all(pwfile.parent().unwrap_or(Path::new(".")))
        .map_err(|e| format!("create conf dir: {e}"))?;
    std::fs::write(&pwfile, format!("{}\n", secrets.pg_password))
        .map_err(|e| format!("write {}: {e}", pwfile.display()))?;
    if let Some(user) = &c.spec.run_as {
        let (uid, gid) = super::user::lookup_user(user)?;
        for p in [&data, &pwfile] {
            nix::unistd::chown(p.as_path(), Some(uid), Some(gid))
                .map_err(|e| format!("chown {}: {e}", p.display()))?;
        }
    }
    let mut cmd = Command::new(plan.pg_bin.join("initdb"));
    cmd.args(["-D", &data.display().to_string(), "-U", &secrets.pg_user])
        .arg(format!("--pwfile={}", pwfile.display()))
        .args([
            "--auth-host=scram-sha-256",
            "--auth-local=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ])
        .current_dir(&data);
    super::user::apply_run_as(&mut cmd, c.spec.run_as.as_deref())?;
    let out = cmd.output().map_err(|e| format!("run initdb: {e}"))?;
    let _ = std::fs::remove_file(&pwfile);
    if !out.status.success() {
        return Err(format!(
            "initdb failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

async fn create_database(plan: &Plan, secrets: &Secrets, db: &str) -> Result<(), String> {
    let port = plan.ports.get("postgres").to_string();
    let run = |sql: String| {
        let mut cmd = tokio::process::Command::new(psql(&plan.pg_bin));
        cmd.args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-U",
            &secrets.pg_user,
            "-d",
            "postgres",
            "-tAc",
        ])
        .arg(sql)
        .env("PGPASSWORD", &secrets.pg_password)
        .kill_on_drop(true);
        cmd
    };
    let out = run(format!("SELECT 1 FROM pg_database WHERE datname = '{db}'"))
        .output()
        .await
        .map_err(|e| format!("run psql: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "look up database {db}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    if String::from_utf8_lossy(&out.stdout).trim() == "1" {
        return Ok(());
    }
    let out = run(format!("CREATE DATABASE {db}"))
        .output()
        .await
        .map_err(|e| format!("run psql: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "create database {db}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}
