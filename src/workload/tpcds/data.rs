//! TPC-DS data: dsdgen through DuckDB into local Parquet files (cached, with a manifest of
//! row counts and sha256s), uploaded to S3, and registered as external tables in the
//! metastore of every running Spark version.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::kit::{setup, DUCKDB_VERSION};
use super::{data_set_dir, read_json, write_json, Scale, TpcdsError};
use crate::client::{Session, SessionOptions};
use crate::install::steps;
use crate::paths::Cache;
use crate::platform::Endpoints;
use crate::probe::s3::S3;
use crate::versions::SparkLine;

/// The 24 TPC-DS tables, in name order.
pub const TABLES: [&str; 24] = [
    "call_center",
    "catalog_page",
    "catalog_returns",
    "catalog_sales",
    "customer",
    "customer_address",
    "customer_demographics",
    "date_dim",
    "household_demographics",
    "income_band",
    "inventory",
    "item",
    "promotion",
    "reason",
    "ship_mode",
    "store",
    "store_returns",
    "store_sales",
    "time_dim",
    "warehouse",
    "web_page",
    "web_returns",
    "web_sales",
    "web_site",
];

/// The manifest's format version; a manifest of another format is regenerated.
const FORMAT: u32 = 1;

/// Budget of one DDL or count statement while registering.
const STATEMENT_BUDGET: Duration = Duration::from_secs(300);

/// One data file, relative to the data set's `data/` directory.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DataFile {
    /// `<table>/part-0.parquet`.
    pub path: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its sha256, hex.
    pub sha256: String,
}

/// One table in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TableManifest {
    /// The table's name.
    pub name: String,
    /// Its row count.
    pub rows: u64,
    /// Its columns as DuckDB's dsdgen defines them: `[name, type]`.
    pub columns: Vec<(String, String)>,
    /// Its files.
    pub files: Vec<DataFile>,
}

/// `<cache>/tpcds/sf<scale>/manifest.json`: what was generated. Written last.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DataManifest {
    /// The manifest format.
    pub format: u32,
    /// The scale factor.
    pub scale: f64,
    /// `sf<scale>`.
    pub label: String,
    /// The DuckDB version that generated it.
    pub duckdb: String,
    /// Every table, in name order.
    pub tables: Vec<TableManifest>,
    /// Seconds dsdgen took.
    pub dsdgen_seconds: f64,
    /// Seconds writing Parquet took.
    pub parquet_seconds: f64,
}

impl DataManifest {
    /// A digest of every file's sha256: changes whenever any data byte does.
    pub fn digest(&self) -> String {
        let mut h = Sha256::new();
        for t in &self.tables {
            for f in &t.files {
                h.update(f.path.as_bytes());
                h.update(b"\0");
                h.update(f.sha256.as_bytes());
                h.update(b"\n");
            }
        }
        hex::encode(h.finalize())
    }
}

/// A table as registered.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Table {
    /// The table's name (unqualified).
    pub name: String,
    /// Its row count.
    pub rows: u64,
    /// Its S3 location, `s3a://<bucket>/tpcds/sf<scale>/<table>/`.
    pub location: String,
    /// Its files.
    pub files: Vec<DataFile>,
}

/// How long each stage of [`datagen`] took (cached stages take next to nothing).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DataSetTimings {
    /// Installing or checking the kit.
    pub kit: Duration,
    /// Generating (or finding) the local Parquet files.
    pub generate: Duration,
    /// Uploading to S3.
    pub upload: Duration,
    /// Registering and checking the tables in every Spark version.
    pub register: Duration,
}

/// A TPC-DS data set ready for queries in every running Spark version.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DataSet {
    /// The scale factor.
    pub scale: f64,
    /// `sf<scale>`.
    pub label: String,
    /// The Spark database holding the tables, `tpcds_sf<scale with _ for .>`.
    pub database: String,
    /// The local copy, `<cache>/tpcds/sf<scale>/data`.
    pub local_dir: PathBuf,
    /// The S3 prefix, `s3a://<bucket>/tpcds/sf<scale>/`.
    pub s3_prefix: String,
    /// Every table, in name order.
    pub tables: Vec<Table>,
    /// The Spark versions whose metastores have the tables.
    pub registered: Vec<SparkLine>,
    /// What the upload did.
    pub upload: UploadReport,
    /// Stage timings.
    pub timings: DataSetTimings,
}

/// What [`upload`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct UploadReport {
    /// Keys uploaded.
    pub uploaded: Vec<String>,
    /// Files skipped because an object of the same size was there.
    pub skipped: usize,
    /// Bytes uploaded.
    pub bytes: u64,
}

/// The S3 key prefix of a data set: `tpcds/sf<scale>/`.
fn key_prefix(scale: Scale) -> String {
    format!("tpcds/{}/", scale.label())
}

/// Generates, uploads and registers the data set of `scale`: the kit is set up if needed,
/// local files are generated unless the manifest says they exist, files already on S3 with
/// the same size are skipped, and `CREATE … IF NOT EXISTS` leaves existing tables alone.
/// After registering, every table's row count in every Spark version is checked against the
/// manifest.
pub async fn datagen(cache: &Cache, env: &Endpoints, scale: f64) -> Result<DataSet, TpcdsError> {
    let scale = Scale::new(scale)?;
    let mut timings = DataSetTimings::default();

    let t = Instant::now();
    let c = cache.clone();
    blocking(move || setup(&c).map(|_| ())).await?;
    timings.kit = t.elapsed();

    let t = Instant::now();
    let c = cache.clone();
    let manifest = blocking(move || generate(&c, scale.value())).await?;
    timings.generate = t.elapsed();

    let t = Instant::now();
    let s3 = S3::new(
        &env.s3_endpoint,
        &env.bucket,
        &env.s3_access_key,
        &env.s3_secret_key,
    )
    .map_err(|source| TpcdsError::S3 {
        what: "connect to S3".into(),
        source,
    })?;
    let upload_report = upload(&s3, cache, &manifest).await?;
    timings.upload = t.elapsed();

    let t = Instant::now();
    let registered = register(env, &manifest).await?;
    timings.register = t.elapsed();

    let bucket = &env.bucket;
    let prefix = key_prefix(scale);
    Ok(DataSet {
        scale: scale.value(),
        label: scale.label(),
        database: scale.database(),
        local_dir: data_set_dir(cache, scale).join("data"),
        s3_prefix: format!("s3a://{bucket}/{prefix}"),
        tables: manifest
            .tables
            .iter()
            .map(|t| Table {
                name: t.name.clone(),
                rows: t.rows,
                location: format!("s3a://{bucket}/{prefix}{}/", t.name),
                files: t.files.clone(),
            })
            .collect(),
        registered,
        upload: upload_report,
        timings,
    })
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, TpcdsError> + Send + 'static,
) -> Result<T, TpcdsError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| TpcdsError::Invalid(format!("the tpc-ds kit task failed: {e}")))?
}

/// Generates the data set of `scale` into `<cache>/tpcds/sf<scale>/data/` unless its
/// manifest exists and every file has the recorded size. Sets up the kit when needed.
pub fn generate(cache: &Cache, scale: f64) -> Result<DataManifest, TpcdsError> {
    let scale = Scale::new(scale)?;
    let dir = data_set_dir(cache, scale);
    let manifest_path = dir.join("manifest.json");
    let data = dir.join("data");
    if let Some(m) = read_json::<DataManifest>(&manifest_path)? {
        if m.format == FORMAT && m.duckdb == DUCKDB_VERSION && files_present(&data, &m) {
            eprintln!(
                "==> TPC-DS {}: cached at {} ({} rows)",
                scale.label(),
                data.display(),
                m.tables.iter().map(|t| t.rows).sum::<u64>()
            );
            return Ok(m);
        }
    }
    let kit = setup(cache)?;
    let _ = std::fs::remove_file(&manifest_path);
    let t = steps::begin(&format!(
        "generating TPC-DS {} with dsdgen (DuckDB {DUCKDB_VERSION})",
        scale.label()
    ));
    let staging = dir.join("data.staging");
    let work = dir.join("work");
    for d in [&staging, &work] {
        let _ = std::fs::remove_dir_all(d);
    }
    std::fs::create_dir_all(&dir).map_err(|e| TpcdsError::io("create", &dir, e))?;
    let manifest = generate_into(&kit, scale, &staging, &work)?;
    let _ = std::fs::remove_dir_all(&work);
    let _ = std::fs::remove_dir_all(&data);
    std::fs::rename(&staging, &data).map_err(|e| TpcdsError::io("move into place", &data, e))?;
    write_json(&manifest_path, &manifest)?;
    steps::done(&format!("TPC-DS {}", scale.label()), t);
    Ok(manifest)
}

/// Runs dsdgen into `out` (any directory) and describes what it wrote.
pub(crate) fn generate_into(
    kit: &super::Kit,
    scale: Scale,
    out: &Path,
    work: &Path,
) -> Result<DataManifest, TpcdsError> {
    #[derive(serde::Deserialize)]
    struct KitTable {
        rows: u64,
        columns: Vec<(String, String)>,
    }
    #[derive(serde::Deserialize)]
    struct KitOutput {
        dsdgen_seconds: f64,
        parquet_seconds: f64,
        tables: BTreeMap<String, KitTable>,
    }
    let value = kit.run_json(
        &format!("generate tpc-ds {}", scale.label()),
        &[
            "datagen",
            &scale.text(),
            &out.to_string_lossy(),
            &work.to_string_lossy(),
        ],
    )?;
    let output: KitOutput = serde_json::from_value(value)
        .map_err(|e| TpcdsError::json("parse the datagen output of", "kit.py", e))?;
    let names: Vec<&str> = output.tables.keys().map(String::as_str).collect();
    if names != TABLES {
        return Err(TpcdsError::Invalid(format!(
            "dsdgen produced tables {names:?}, expected the 24 of TPC-DS"
        )));
    }
    let mut tables = Vec::with_capacity(TABLES.len());
    for (name, table) in output.tables {
        let rel = format!("{name}/part-0.parquet");
        let path = out.join(&rel);
        let (bytes, sha256) = file_digest(&path)?;
        tables.push(TableManifest {
            name,
            rows: table.rows,
            columns: table.columns,
            files: vec![DataFile {
                path: rel,
                bytes,
                sha256,
            }],
        });
    }
    Ok(DataManifest {
        format: FORMAT,
        scale: scale.value(),
        label: scale.label(),
        duckdb: DUCKDB_VERSION.to_string(),
        tables,
        dsdgen_seconds: output.dsdgen_seconds,
        parquet_seconds: output.parquet_seconds,
    })
}

fn files_present(data: &Path, m: &DataManifest) -> bool {
    m.tables.len() == TABLES.len()
        && m.tables.iter().flat_map(|t| &t.files).all(|f| {
            std::fs::metadata(data.join(&f.path))
                .is_ok_and(|md| md.is_file() && md.len() == f.bytes)
        })
}

/// The size and sha256 of a file, read in chunks.
fn file_digest(path: &Path) -> Result<(u64, String), TpcdsError> {
    let mut file = std::fs::File::open(path).map_err(|e| TpcdsError::io("open", path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| TpcdsError::io("read", path, e))?;
        if n == 0 {
            break;
        }
        total += n as u64;
        h.update(&buf[..n]);
    }
    Ok((total, hex::encode(h.finalize())))
}

/// Uploads the data set's files to `tpcds/sf<scale>/<table>/part-0.parquet`, skipping any
/// object already there with the same size, then checks that every object is listed with
/// its size.
pub async fn upload(
    s3: &S3,
    cache: &Cache,
    manifest: &DataManifest,
) -> Result<UploadReport, TpcdsError> {
    let scale = Scale::new(manifest.scale)?;
    let prefix = key_prefix(scale);
    let data = data_set_dir(cache, scale).join("data");
    let s3_err = |what: String| move |source| TpcdsError::S3 { what, source };
    s3.ensure_bucket()
        .await
        .map_err(s3_err("create the bucket".into()))?;
    let listed = |objects: Vec<crate::probe::s3::Object>| -> BTreeMap<String, u64> {
        objects.into_iter().map(|o| (o.key, o.size)).collect()
    };
    let present = listed(
        s3.list(&prefix)
            .await
            .map_err(s3_err(format!("list {prefix}")))?,
    );
    let files: Vec<&DataFile> = manifest.tables.iter().flat_map(|t| &t.files).collect();
    let todo: Vec<&&DataFile> = files
        .iter()
        .filter(|f| present.get(&format!("{prefix}{}", f.path)) != Some(&f.bytes))
        .collect();
    let mut report = UploadReport {
        skipped: files.len() - todo.len(),
        ..UploadReport::default()
    };
    if todo.is_empty() {
        eprintln!(
            "==> TPC-DS {}: all {} files already on S3 under {prefix}",
            scale.label(),
            files.len()
        );
        return Ok(report);
    }
    let total: u64 = todo.iter().map(|f| f.bytes).sum();
    let t = steps::begin(&format!(
        "uploading TPC-DS {} to S3 ({} files, {:.1} MB; {} already there)",
        scale.label(),
        todo.len(),
        total as f64 / 1e6,
        report.skipped
    ));
    for f in todo {
        let path = data.join(&f.path);
        let body = tokio::fs::read(&path)
            .await
            .map_err(|e| TpcdsError::io("read", &path, e))?;
        let key = format!("{prefix}{}", f.path);
        s3.put(&key, body)
            .await
            .map_err(s3_err(format!("upload {key}")))?;
        report.bytes += f.bytes;
        report.uploaded.push(key);
    }
    let present = listed(
        s3.list(&prefix)
            .await
            .map_err(s3_err(format!("list {prefix}")))?,
    );
    for f in &files {
        let key = format!("{prefix}{}", f.path);
        if present.get(&key) != Some(&f.bytes) {
            return Err(TpcdsError::Invalid(format!(
                "upload {key}: S3 lists {:?} bytes, expected {}",
                present.get(&key),
                f.bytes
            )));
        }
    }
    steps::done("upload", t);
    Ok(report)
}

/// The statements that register a data set in one metastore (pure).
pub(crate) fn register_statements(bucket: &str, manifest: &DataManifest) -> Vec<String> {
    let scale = Scale(manifest.scale);
    let db = scale.database();
    let prefix = key_prefix(scale);
    let mut out = vec![format!("CREATE DATABASE IF NOT EXISTS {db}")];
    for t in &manifest.tables {
        out.push(format!(
            "CREATE TABLE IF NOT EXISTS {db}.{name} USING parquet LOCATION 's3a://{bucket}/{prefix}{name}/'",
            name = t.name
        ));
    }
    out
}

/// One query counting every table's rows: `(table, rows)` per table.
pub(crate) fn count_statement(manifest: &DataManifest) -> String {
    let db = Scale(manifest.scale).database();
    manifest
        .tables
        .iter()
        .map(|t| {
            format!(
                "SELECT '{name}' AS t, count(*) AS n FROM {db}.{name}",
                name = t.name
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

/// Registers the data set as external Parquet tables in the metastore of every Spark
/// version of the environment (through its first Connect server), then checks each table's
/// row count against the manifest. Returns the versions registered.
pub async fn register(
    env: &Endpoints,
    manifest: &DataManifest,
) -> Result<Vec<SparkLine>, TpcdsError> {
    let scale = Scale::new(manifest.scale)?;
    let t = steps::begin(&format!(
        "registering TPC-DS {} as {} in the metastore of Spark {}",
        scale.label(),
        scale.database(),
        env.lines()
            .iter()
            .map(|l| l.version())
            .collect::<Vec<_>>()
            .join(" and ")
    ));
    let jobs = env.lines().into_iter().map(|line| async move {
        let endpoint = env.connect_urls(line).into_iter().next().ok_or_else(|| {
            TpcdsError::Invalid(format!(
                "the environment has no Connect server for Spark {line}"
            ))
        })?;
        register_one(line, &endpoint, &env.bucket, manifest).await?;
        Ok::<SparkLine, TpcdsError>(line)
    });
    let lines = futures::future::try_join_all(jobs).await?;
    steps::done("register", t);
    Ok(lines)
}

async fn register_one(
    line: SparkLine,
    endpoint: &str,
    bucket: &str,
    manifest: &DataManifest,
) -> Result<(), TpcdsError> {
    let spark_err = |what: String| {
        move |source| TpcdsError::Spark {
            what,
            version: line.version().to_string(),
            endpoint: endpoint.to_string(),
            source: Box::new(source),
        }
    };
    let session = Session::connect(endpoint, SessionOptions::default())
        .await
        .map_err(spark_err("connect".into()))?;
    let db = Scale(manifest.scale).database();
    // A metastore that already holds this data set (every table, with the manifest's row
    // counts: a run reusing the environment, or a suite's next scenario) is left as it is:
    // registering again costs a minute and changes nothing.
    if let Ok(counted) = session
        .sql(&count_statement(manifest), STATEMENT_BUDGET)
        .await
    {
        if let Ok(rows) = counted.rows_as_strings() {
            if count_mismatch(manifest, &rows).is_none() {
                tracing::info!(version = %line, database = %db, "TPC-DS already registered with the manifest's row counts");
                let _ = session.close(Duration::from_secs(10)).await;
                return Ok(());
            }
        }
    }
    for statement in register_statements(bucket, manifest) {
        let what = match statement.split(" USING ").next() {
            Some(head) => head.to_lowercase(),
            None => statement.clone(),
        };
        session
            .sql(&statement, STATEMENT_BUDGET)
            .await
            .map_err(spark_err(format!("run `{what}`")))?;
    }
    let result = session
        .sql(&count_statement(manifest), STATEMENT_BUDGET)
        .await
        .map_err(spark_err(format!("count the rows of every table in {db}")))?;
    let rows = result
        .rows_as_strings()
        .map_err(|e| TpcdsError::Invalid(format!("read the row counts of {db}: {e}")))?;
    if let Some((table, got, want)) = count_mismatch(manifest, &rows) {
        return Err(TpcdsError::Invalid(format!(
            "check {db}.{table} on Spark {line}: {got} rows, the manifest says {want} \
             (a table registered earlier may point elsewhere; drop the database to re-register)"
        )));
    }
    let _ = session.close(Duration::from_secs(10)).await;
    Ok(())
}

/// The first table whose counted rows (`[table, count]` rows of [`count_statement`]) differ
/// from the manifest: (table, counted, expected); None when every table matches.
fn count_mismatch(manifest: &DataManifest, rows: &[Vec<String>]) -> Option<(String, String, u64)> {
    let counted: BTreeMap<&str, &str> = rows
        .iter()
        .filter_map(|r| match r.as_slice() {
            [t, n] => Some((t.as_str(), n.as_str())),
            _ => None,
        })
        .collect();
    manifest.tables.iter().find_map(|t| {
        let got = counted.get(t.name.as_str()).copied().unwrap_or("nothing");
        (got != t.rows.to_string()).then(|| (t.name.clone(), got.to_string(), t.rows))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registered_data_set_is_recognised_by_its_row_counts() {
        let m = manifest();
        let row = |t: &str, n: &str| vec![t.to_string(), n.to_string()];
        assert_eq!(
            count_mismatch(&m, &[row("call_center", "6"), row("store_sales", "6")]),
            None
        );
        assert_eq!(
            count_mismatch(&m, &[row("call_center", "6"), row("store_sales", "5")]),
            Some(("store_sales".into(), "5".into(), 6))
        );
        assert_eq!(
            count_mismatch(&m, &[row("call_center", "6")]),
            Some(("store_sales".into(), "nothing".into(), 6))
        );
    }

    fn manifest() -> DataManifest {
        DataManifest {
            format: FORMAT,
            scale: 0.1,
            label: "sf0.1".into(),
            duckdb: DUCKDB_VERSION.into(),
            tables: ["call_center", "store_sales"]
                .iter()
                .map(|n| TableManifest {
                    name: (*n).into(),
                    rows: 6,
                    columns: vec![],
                    files: vec![DataFile {
                        path: format!("{n}/part-0.parquet"),
                        bytes: 10,
                        sha256: "ab".into(),
                    }],
                })
                .collect(),
            dsdgen_seconds: 0.0,
            parquet_seconds: 0.0,
        }
    }

    #[test]
    fn statements() {
        let s = register_statements("chaos", &manifest());
        assert_eq!(s[0], "CREATE DATABASE IF NOT EXISTS tpcds_sf0_1");
        assert_eq!(
            s[2],
            "CREATE TABLE IF NOT EXISTS tpcds_sf0_1.store_sales USING parquet \
             LOCATION 's3a://chaos/tpcds/sf0.1/store_sales/'"
        );
        assert_eq!(
            count_statement(&manifest()),
            "SELECT 'call_center' AS t, count(*) AS n FROM tpcds_sf0_1.call_center UNION ALL \
             SELECT 'store_sales' AS t, count(*) AS n FROM tpcds_sf0_1.store_sales"
        );
    }

    #[test]
    fn digest_follows_the_checksums() {
        let a = manifest();
        let mut b = manifest();
        assert_eq!(a.digest(), b.digest());
        b.tables[1].files[0].sha256 = "cd".into();
        assert_ne!(a.digest(), b.digest());
    }

    #[test]
    fn tables_are_sorted() {
        let mut sorted = TABLES;
        sorted.sort_unstable();
        assert_eq!(sorted, TABLES);
    }
}
