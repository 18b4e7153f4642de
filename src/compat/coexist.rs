//! Coexistence and data compatibility: Parquet tables written by one version and read by the
//! other at the same S3 location, each through its own metastore; metastore isolation checked
//! over Thrift; event log prefixes checked through each History Server's listing.

use std::time::Duration;

use super::differential::{error_text, open, Ctx};
use super::endpoints::{s3_text, EnvEndpoints, VersionEndpoints};
use super::model::{CoexistenceReport, DataCompatCase, EventLogPrefixCheck, IsolationCheck};
use crate::client::checksum::ResultChecksum;
use crate::client::ChecksumOptions;
use crate::probe::s3::S3;

const PLAIN_COLUMNS: &str = "id BIGINT, name STRING, amount DECIMAL(10,2), price DOUBLE, \
                             ts TIMESTAMP, d DATE, flag BOOLEAN, tags ARRAY<STRING>";
const PLAIN_SELECT: &str = "SELECT id, \
     CASE WHEN id % 7 = 0 THEN NULL ELSE concat('name-', CAST(id AS STRING)) END, \
     CAST(id / 4 AS DECIMAL(10,2)), \
     CAST(id AS DOUBLE) * 0.5, \
     timestamp_seconds(1700000000 + id * 3601), \
     date_add(DATE'2024-01-01', CAST(id AS INT)), \
     id % 3 = 0, \
     array(CAST(id % 5 AS STRING), 'x') \
     FROM range(0, 500)";
const PART_COLUMNS: &str = "id BIGINT, name STRING, amount DECIMAL(10,2), p INT";
const PART_SELECT: &str = "SELECT id, concat('n', CAST(id AS STRING)), \
     CAST(id / 8 AS DECIMAL(10,2)), CAST(id % 4 AS INT) FROM range(0, 400)";

async fn statements(url: &str, sqls: &[String], timeout: Duration) -> Result<(), String> {
    let session = open(url, timeout).await.map_err(|e| error_text(&e))?;
    let mut result = Ok(());
    for s in sqls {
        if let Err(e) = session.sql(s, timeout).await {
            result = Err(format!("`{s}`: {}", error_text(&e)));
            break;
        }
    }
    let _ = session.close(Duration::from_secs(5)).await;
    result
}

async fn checksum(url: &str, table: &str, timeout: Duration) -> Result<ResultChecksum, String> {
    let session = open(url, timeout).await.map_err(|e| error_text(&e))?;
    let r = session
        .sql_summary(
            &format!("SELECT * FROM {table}"),
            timeout,
            ChecksumOptions::default(),
        )
        .await
        .map(|s| s.checksum)
        .map_err(|e| format!("read {table}: {}", error_text(&e)));
    let _ = session.close(Duration::from_secs(5)).await;
    r
}

async fn case(
    env: &EnvEndpoints,
    ctx: &Ctx<'_>,
    writer: &VersionEndpoints,
    reader: &VersionEndpoints,
    partitioned: bool,
) -> DataCompatCase {
    let timeout = ctx.cfg.timeout;
    let kind = if partitioned { "partitioned" } else { "plain" };
    let location = format!(
        "s3a://{}/compat/{}/from{}/{kind}/",
        env.bucket,
        ctx.run_id,
        writer.line.slug()
    );
    let writer_table = format!("{}.w{}_{kind}", ctx.db, writer.line.slug());
    let reader_table = format!("{}.r{}_{kind}", ctx.db, writer.line.slug());
    let (columns, select, part) = if partitioned {
        (PART_COLUMNS, PART_SELECT, " PARTITIONED BY (p)")
    } else {
        (PLAIN_COLUMNS, PLAIN_SELECT, "")
    };
    let mut c = DataCompatCase {
        kind: kind.into(),
        writer: writer.line.to_string(),
        reader: reader.line.to_string(),
        location: location.clone(),
        writer_table: writer_table.clone(),
        reader_table: reader_table.clone(),
        written: None,
        read: None,
        status: "write_failed".into(),
        error: None,
    };
    let wurl = writer.connect_url().unwrap_or_default();
    let rurl = reader.connect_url().unwrap_or_default();
    let write = [
        format!(
            "CREATE TABLE {writer_table} ({columns}) USING parquet{part} LOCATION '{location}'"
        ),
        format!("INSERT INTO {writer_table} {select}"),
    ];
    if let Err(e) = statements(wurl, &write, timeout).await {
        c.error = Some(format!("{} wrote nothing: {e}", writer.line));
        return c;
    }
    match checksum(wurl, &writer_table, timeout).await {
        Ok(sum) => c.written = Some(sum),
        Err(e) => {
            c.error = Some(format!("{} cannot read back: {e}", writer.line));
            return c;
        }
    }
    let mut read = vec![format!(
        "CREATE TABLE {reader_table} ({columns}) USING parquet{part} LOCATION '{location}'"
    )];
    if partitioned {
        read.push(format!("MSCK REPAIR TABLE {reader_table}"));
    }
    c.status = "read_failed".into();
    if let Err(e) = statements(rurl, &read, timeout).await {
        c.error = Some(format!("{} cannot register the table: {e}", reader.line));
        return c;
    }
    match checksum(rurl, &reader_table, timeout).await {
        Ok(sum) => {
            let same = c
                .written
                .as_ref()
                .is_some_and(|w| w.rows == sum.rows && w.unordered == sum.unordered);
            c.status = if same { "ok" } else { "mismatch" }.into();
            if !same {
                c.error = Some(format!(
                    "{} wrote {}, {} read {}",
                    writer.line,
                    c.written
                        .as_ref()
                        .map(|w| w.to_string())
                        .unwrap_or_default(),
                    reader.line,
                    sum
                ));
            }
            c.read = Some(sum);
        }
        Err(e) => c.error = Some(format!("{}: {e}", reader.line)),
    }
    c
}

/// Lists the applications of a History Server: `(id, Spark version of the first attempt)`.
pub(crate) async fn list_apps(
    history: &str,
    timeout: Duration,
) -> Result<Vec<(String, Option<String>)>, String> {
    let url = format!("{history}/api/v1/applications");
    let body = crate::probe::http::get_ok(&url, timeout).await?;
    let json: serde_json::Value =
        serde_json::from_str(&body).map_err(|e| format!("parse {url}: {e}"))?;
    let apps = json
        .as_array()
        .ok_or_else(|| format!("{url}: not a JSON array"))?;
    Ok(apps
        .iter()
        .filter_map(|a| {
            let id = a.get("id")?.as_str()?.to_string();
            let version = a
                .get("attempts")
                .and_then(|x| x.as_array())
                .and_then(|x| x.first())
                .and_then(|x| x.get("appSparkVersion"))
                .and_then(|x| x.as_str())
                .map(str::to_string);
            Some((id, version))
        })
        .collect())
}

async fn prefix_check(
    s3: Option<&S3>,
    v: &VersionEndpoints,
    timeout: Duration,
) -> EventLogPrefixCheck {
    let mut check = EventLogPrefixCheck {
        version: v.line.to_string(),
        prefix: v.events_prefix.clone(),
        objects: None,
        listed: None,
        foreign: Vec::new(),
        error: None,
    };
    let mut errors = Vec::new();
    match s3 {
        Some(s3) => match s3.list(&v.events_prefix).await {
            Ok(objects) => check.objects = Some(objects.len()),
            Err(e) => errors.push(s3_text(&e)),
        },
        None => errors.push("no S3 client".into()),
    }
    match &v.history {
        Some(h) => match list_apps(h, timeout).await {
            Ok(apps) => {
                check.listed = Some(apps.len());
                check.foreign = apps
                    .into_iter()
                    .filter(|(_, ver)| ver.as_deref().is_some_and(|x| x != v.line.version()))
                    .map(|(id, ver)| format!("{id} ({})", ver.unwrap_or_default()))
                    .collect();
            }
            Err(e) => errors.push(e),
        },
        None => errors.push("no History Server for this version".into()),
    }
    if !errors.is_empty() {
        check.error = Some(errors.join("; "));
    }
    check
}

/// The coexistence part.
pub(crate) async fn run(
    env: &EnvEndpoints,
    base: &VersionEndpoints,
    target: &VersionEndpoints,
    ctx: &Ctx<'_>,
    progress: &dyn Fn(&str),
) -> CoexistenceReport {
    let timeout = ctx.cfg.timeout;
    let mut data = Vec::new();
    for (writer, reader) in [(base, target), (target, base)] {
        for partitioned in [false, true] {
            let c = case(env, ctx, writer, reader, partitioned).await;
            progress(&format!(
                "  {} table written by {}, read by {}: {}{}",
                c.kind,
                c.writer,
                c.reader,
                c.status,
                c.error
                    .as_ref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default()
            ));
            data.push(c);
        }
    }

    // Each table must be in the metastore of the version that created it, and only there.
    let mut isolation = Vec::new();
    let created: Vec<(String, String)> = data
        .iter()
        .flat_map(|c| {
            [
                (c.writer_table.clone(), c.writer.clone()),
                (c.reader_table.clone(), c.reader.clone()),
            ]
        })
        .collect();
    for v in [base, target] {
        let listing = match v.metastore {
            Some(addr) => crate::probe::thrift::get_all_tables(addr, &ctx.db, timeout)
                .await
                .map_err(|e| e.to_string()),
            None => Err("no metastore for this version".into()),
        };
        for (table, by) in &created {
            let name = table
                .rsplit('.')
                .next()
                .unwrap_or(table)
                .to_ascii_lowercase();
            let (present, error) = match &listing {
                Ok(tables) => (
                    Some(tables.iter().any(|t| t.eq_ignore_ascii_case(&name))),
                    None,
                ),
                Err(e) => (None, Some(e.clone())),
            };
            isolation.push(IsolationCheck {
                metastore: v.line.to_string(),
                table: table.clone(),
                created_by: by.clone(),
                expected_present: by == &v.line.to_string(),
                present,
                error,
            });
        }
    }
    let bad = isolation.iter().filter(|i| !i.ok()).count();
    progress(&format!(
        "  metastore isolation: {} of {} checks hold",
        isolation.len() - bad,
        isolation.len()
    ));

    let s3 = env.s3().ok();
    let mut event_logs = Vec::new();
    for v in [base, target] {
        event_logs.push(prefix_check(s3.as_ref(), v, timeout).await);
    }
    CoexistenceReport {
        scratch_prefix: format!("s3a://{}/compat/{}/", env.bucket, ctx.run_id),
        data,
        isolation,
        event_logs,
    }
}
