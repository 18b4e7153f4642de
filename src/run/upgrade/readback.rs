//! Reading the shared write table through a session: after a switch (the ids acknowledged
//! before it) and at the end (every write, on each version directly).

use std::time::{Duration, Instant};

use crate::check::upgrade::{missing_ids, ReadBack};
use crate::client::{Session, SessionOptions};
use crate::platform::Endpoints;
use crate::versions::SparkLine;
use crate::workload::history::{Op, OpKind, OpOutcome};
use crate::workload::load;

/// Attempts of a read-back (a fresh side may still be warming up).
const READ_BACK_ATTEMPTS: u32 = 3;

/// A session through `edge` answered by `to`, opened as soon as `to` answers (polled every
/// 200 ms for up to `timeout`).
pub(super) async fn answered_by(
    edge: &str,
    to: SparkLine,
    timeout: Duration,
) -> Result<Session, String> {
    let t = Instant::now();
    let mut last = String::new();
    while t.elapsed() < timeout {
        let opts = SessionOptions {
            connect_timeout: Duration::from_secs(5),
            ..SessionOptions::default()
        };
        match Session::connect(edge, opts).await {
            Ok(s) if s.server_version() == to.version() => return Ok(s),
            Ok(s) => last = format!("answered by Spark {}", s.server_version()),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(format!(
        "Spark {to} did not answer through {edge} within {}s (last: {last})",
        timeout.as_secs()
    ))
}

/// Every id in `table` as `session` sees it after `REFRESH TABLE`, with a few attempts.
pub(super) async fn read_ids(
    session: &Session,
    table: &str,
    timeout: Duration,
) -> Result<Vec<u64>, String> {
    let mut last = String::new();
    for attempt in 0..READ_BACK_ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        let refreshed = session
            .sql(&format!("REFRESH TABLE {table}"), timeout)
            .await;
        if let Err(e) = refreshed {
            last = format!("refresh: {e}");
            continue;
        }
        match session
            .sql(&format!("SELECT id FROM {table}"), timeout)
            .await
        {
            Ok(result) => return load::ids_of(&result),
            Err(e) => last = format!("select: {e}"),
        }
    }
    Err(last)
}

pub(super) async fn read_back_acked(
    session: &Session,
    table: &str,
    acked: &[[u64; 2]],
    timeout: Duration,
) -> ReadBack {
    let version = session.server_version().to_string();
    match read_ids(session, table, timeout).await {
        Ok(ids) => {
            let (acknowledged, missing_count, missing) = missing_ids(acked, &ids);
            ReadBack {
                version,
                acknowledged,
                read: ids.len() as u64,
                missing_count,
                missing,
                error: None,
            }
        }
        Err(e) => ReadBack {
            version,
            acknowledged: missing_ids(acked, &[]).0,
            read: 0,
            missing_count: 0,
            missing: vec![],
            error: Some(e),
        },
    }
}

/// Creates the write table at `location` in each line's metastore, through its own Connect.
pub(super) async fn create_shared_table(
    env: &Endpoints,
    table: &str,
    location: &str,
    lines: &[SparkLine],
) -> Result<(), String> {
    let ddl = format!(
        "CREATE TABLE IF NOT EXISTS {table} (id BIGINT, batch BIGINT) USING parquet LOCATION '{location}'"
    );
    for &line in lines {
        let url = env
            .connect_urls(line)
            .into_iter()
            .next()
            .ok_or_else(|| format!("Spark {line} has no Connect server in this environment"))?;
        let session = Session::connect(&url, SessionOptions::default())
            .await
            .map_err(|e| format!("connect to Spark {line} at {url}: {e}"))?;
        session
            .sql(&ddl, Duration::from_secs(120))
            .await
            .map_err(|e| format!("create {table} on Spark {line}: {e}"))?;
    }
    Ok(())
}

/// Every write of the history read back on `line` directly (not through the edge).
pub(super) async fn final_read_back(
    env: &Endpoints,
    line: SparkLine,
    table: &str,
    history: &[Op],
    timeout: Duration,
) -> load::WriteCheck {
    let writes: Vec<(OpOutcome, [u64; 2])> = history
        .iter()
        .filter(|r| r.kind == OpKind::Write)
        .filter_map(|r| Some((r.outcome, r.ids()?)))
        .collect();
    let url = env
        .connect_urls(line)
        .into_iter()
        .next()
        .unwrap_or_default();
    let ids = match Session::connect(&url, SessionOptions::default()).await {
        Ok(session) => read_ids(&session, table, timeout).await,
        Err(e) => Err(format!("connect to {url}: {e}")),
    };
    match ids {
        Ok(ids) => load::check_write_ranges(&writes, &ids),
        Err(e) => load::WriteCheck {
            error: Some(e),
            ..load::check_write_ranges(&writes, &[])
        },
    }
}
