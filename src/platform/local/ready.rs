//! Readiness probes: real protocol checks, one per [`Readiness`] kind.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use super::plan::{Readiness, Secrets};
use crate::probe;

/// How long one probe may take before it counts as failed.
pub fn timeout_of(r: &Readiness) -> Duration {
    match r {
        Readiness::Connect { .. } => Duration::from_secs(30),
        _ => Duration::from_secs(5),
    }
}

/// Runs the probe once: `Ok` when ready, else why not.
pub async fn check(
    r: &Readiness,
    secrets: &Secrets,
    pg_bin: &Path,
    session_id: &str,
) -> Result<(), String> {
    let t = timeout_of(r);
    match r {
        Readiness::Postgres { port } => postgres_select_one(pg_bin, *port, secrets, t).await,
        Readiness::Http { url, contains } => {
            let body = probe::http::get_ok(url, t).await?;
            match contains {
                Some(needle) if !body.contains(needle.as_str()) => {
                    Err(format!("GET {url}: body lacks `{needle}`"))
                }
                _ => Ok(()),
            }
        }
        Readiness::Thrift { port } => {
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, *port));
            probe::thrift::get_all_databases(addr, t)
                .await
                .map(|_| ())
                .map_err(|e| format!("thrift {addr}: {e}"))
        }
        Readiness::Worker {
            master_ui_port,
            worker_ui_port,
        } => {
            let url = format!("http://127.0.0.1:{master_ui_port}/json/");
            let body = probe::http::get_ok(&url, t).await?;
            if worker_alive_in_master_json(&body, *worker_ui_port) {
                Ok(())
            } else {
                Err(format!(
                    "worker with UI port {worker_ui_port} not ALIVE in {url}"
                ))
            }
        }
        Readiness::Connect { url } => tokio::time::timeout(t, connect_select_one(url, session_id))
            .await
            .map_err(|_| format!("SELECT 1 on {url}: no answer within {t:?}"))?,
    }
}

async fn connect_select_one(url: &str, session_id: &str) -> Result<(), String> {
    let session = crate::client::Session::connect(
        url,
        crate::client::SessionOptions::with_session_id(session_id),
    )
    .await
    .map_err(|e| format!("connect {url}: {e}"))?;
    let result = session
        .sql("SELECT 1 AS one", Duration::from_secs(25))
        .await
        .map_err(|e| format!("SELECT 1 on {url}: {e}"))?;
    if result.num_rows() == 1 {
        Ok(())
    } else {
        Err(format!("SELECT 1 on {url}: {} rows", result.num_rows()))
    }
}

/// Runs `SELECT 1` with `psql` as the environment's superuser.
async fn postgres_select_one(
    pg_bin: &Path,
    port: u16,
    secrets: &Secrets,
    t: Duration,
) -> Result<(), String> {
    let out = tokio::time::timeout(
        t,
        tokio::process::Command::new(psql(pg_bin))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-U",
                &secrets.pg_user,
                "-d",
                "postgres",
                "-tAc",
                "SELECT 1",
            ])
            .env("PGPASSWORD", &secrets.pg_password)
            .env("PGCONNECT_TIMEOUT", "3")
            .kill_on_drop(true)
            .output(),
    )
    .await
    .map_err(|_| format!("psql on port {port}: no answer within {t:?}"))?
    .map_err(|e| format!("run psql: {e}"))?;
    if out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "1" {
        Ok(())
    } else {
        Err(format!(
            "psql on port {port}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The `psql` next to the server binaries, else the one on PATH.
pub fn psql(pg_bin: &Path) -> std::path::PathBuf {
    let p = pg_bin.join("psql");
    if p.exists() {
        p
    } else {
        "psql".into()
    }
}

/// Whether the master's `/json/` lists an ALIVE worker whose web UI is on `worker_ui_port`.
pub fn worker_alive_in_master_json(body: &str, worker_ui_port: u16) -> bool {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(body) else {
        return false;
    };
    let suffix = format!(":{worker_ui_port}");
    v.get("workers")
        .and_then(|w| w.as_array())
        .is_some_and(|workers| {
            workers.iter().any(|w| {
                w.get("state").and_then(|s| s.as_str()) == Some("ALIVE")
                    && w.get("webuiaddress")
                        .and_then(|a| a.as_str())
                        .is_some_and(|a| a.trim_end_matches('/').ends_with(&suffix))
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_alive_worker_by_its_ui_port() {
        let body = r#"{"url":"spark://127.0.0.1:17003","workers":[
            {"id":"w1","webuiaddress":"http://127.0.0.1:17006","state":"DEAD"},
            {"id":"w2","webuiaddress":"http://127.0.0.1:17008","state":"ALIVE"}],"status":"ALIVE"}"#;
        assert!(worker_alive_in_master_json(body, 17008));
        assert!(
            !worker_alive_in_master_json(body, 17006),
            "a DEAD entry is not ready"
        );
        assert!(
            !worker_alive_in_master_json(body, 1700),
            "port must match exactly"
        );
        assert!(!worker_alive_in_master_json("not json", 17008));
    }
}
