//! Expected answers: DuckDB runs each query (its own dialect) on views over the very Parquet
//! files Spark reads, and each result is stored as `<cache>/tpcds/sf<scale>/answers/<name>.parquet`
//! with the result's column names and order and DuckDB's row order.
//!
//! Types are DuckDB's, except that integer types Spark has no counterpart for are cast to the
//! type Spark's own aggregate returns (`sum` of a `BIGINT` is `HUGEINT` in DuckDB, `BIGINT` in
//! Spark); a value that does not fit fails the cast, so no answer is silently changed. The
//! manifest records both types of every column.

use std::path::PathBuf;

use arrow_array::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use sha2::{Digest, Sha256};

use super::data::generate;
use super::kit::{queries_dir, setup, DUCKDB_VERSION};
use super::queries::queries;
use super::{data_set_dir, read_json, write_json, Scale, TpcdsError};
use crate::install::steps;
use crate::paths::Cache;

const FORMAT: u32 = 1;

/// One column of an answer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AnswerColumn {
    /// Its name.
    pub name: String,
    /// DuckDB's type of the query result.
    pub duckdb_type: String,
    /// The type written to the Parquet file.
    pub written_type: String,
}

/// One query's expected answer.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Answer {
    /// `q1` … `q99`.
    pub name: String,
    /// Rows in the answer.
    pub rows: u64,
    /// DuckDB's run time of the query, in milliseconds.
    pub duckdb_ms: f64,
    /// The result's columns, in order.
    pub columns: Vec<AnswerColumn>,
}

/// `<cache>/tpcds/sf<scale>/answers/manifest.json`. Written last.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AnswerManifest {
    /// The manifest format.
    pub format: u32,
    /// `sf<scale>`.
    pub label: String,
    /// The DuckDB version that computed the answers.
    pub duckdb: String,
    /// [`super::DataManifest::digest`] of the data the answers were computed on.
    pub data_digest: String,
    /// A digest of the 99 query texts.
    pub queries_digest: String,
    /// One entry per query, ordered by number.
    pub answers: Vec<Answer>,
}

impl AnswerManifest {
    /// The entry of one query.
    pub fn answer(&self, name: &str) -> Option<&Answer> {
        self.answers.iter().find(|a| a.name == name)
    }
}

fn answers_dir(cache: &Cache, scale: Scale) -> PathBuf {
    data_set_dir(cache, scale).join("answers")
}

/// Computes the expected answer of every query for the data set of `scale` unless they are
/// cached for the same data and query texts. Generates the data (and sets up the kit) when
/// needed.
pub fn answers(cache: &Cache, scale: f64) -> Result<AnswerManifest, TpcdsError> {
    let scale = Scale::new(scale)?;
    let data = generate(cache, scale.value())?;
    let kit = setup(cache)?;
    let queries = queries(cache)?;
    let queries_digest = {
        let mut h = Sha256::new();
        for q in &queries {
            h.update(q.name.as_bytes());
            h.update(b"\0");
            h.update(q.duckdb_sql.as_bytes());
            h.update(b"\0");
        }
        hex::encode(h.finalize())
    };
    let dir = answers_dir(cache, scale);
    let manifest_path = dir.join("manifest.json");
    if let Some(m) = read_json::<AnswerManifest>(&manifest_path)? {
        let complete = m.answers.len() == queries.len()
            && m.answers
                .iter()
                .all(|a| dir.join(format!("{}.parquet", a.name)).is_file());
        if m.format == FORMAT
            && m.duckdb == DUCKDB_VERSION
            && m.data_digest == data.digest()
            && m.queries_digest == queries_digest
            && complete
        {
            eprintln!(
                "==> TPC-DS {} answers: cached at {}",
                scale.label(),
                dir.display()
            );
            return Ok(m);
        }
    }

    let t = steps::begin(&format!(
        "computing the expected answers of the 99 queries on TPC-DS {} with DuckDB",
        scale.label()
    ));
    let staging = dir.with_extension("staging");
    let _ = std::fs::remove_dir_all(&staging);
    let data_dir = data_set_dir(cache, scale).join("data");
    let value = kit.run_json(
        &format!("compute the tpc-ds {} answers", scale.label()),
        &[
            "answers",
            &data_dir.to_string_lossy(),
            &queries_dir(cache).to_string_lossy(),
            &staging.to_string_lossy(),
        ],
    )?;
    #[derive(serde::Deserialize)]
    struct KitAnswer {
        rows: u64,
        duckdb_seconds: f64,
        columns: Vec<(String, String, String)>,
    }
    #[derive(serde::Deserialize)]
    struct KitOutput {
        answers: std::collections::BTreeMap<String, KitAnswer>,
    }
    let output: KitOutput = serde_json::from_value(value)
        .map_err(|e| TpcdsError::json("parse the answers output of", "kit.py", e))?;
    let mut list = Vec::with_capacity(queries.len());
    for q in &queries {
        let a = output.answers.get(&q.name).ok_or_else(|| {
            TpcdsError::Invalid(format!("the kit computed no answer for {}", q.name))
        })?;
        list.push(Answer {
            name: q.name.clone(),
            rows: a.rows,
            duckdb_ms: (a.duckdb_seconds * 1e6).round() / 1e3,
            columns: a
                .columns
                .iter()
                .map(|(name, duckdb_type, written_type)| AnswerColumn {
                    name: name.clone(),
                    duckdb_type: duckdb_type.clone(),
                    written_type: written_type.clone(),
                })
                .collect(),
        });
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&staging, &dir).map_err(|e| TpcdsError::io("move into place", &dir, e))?;
    let manifest = AnswerManifest {
        format: FORMAT,
        label: scale.label(),
        duckdb: DUCKDB_VERSION.to_string(),
        data_digest: data.digest(),
        queries_digest,
        answers: list,
    };
    write_json(&manifest_path, &manifest)?;
    steps::done("answers", t);
    Ok(manifest)
}

/// Reads the expected answer of query `name` (`q1` … `q99`) for the data set of `scale`,
/// as computed by [`answers`], in DuckDB's row order.
pub fn expected(cache: &Cache, scale: f64, name: &str) -> Result<Vec<RecordBatch>, TpcdsError> {
    let scale = Scale::new(scale)?;
    let dir = answers_dir(cache, scale);
    let path = dir.join(format!("{name}.parquet"));
    if !dir.join("manifest.json").is_file() || !path.is_file() {
        return Err(TpcdsError::NotPrepared {
            what: format!("the expected answer of {name} for {}", scale.label()),
            path: path.display().to_string(),
            how: "compute the answers first (tpcds::answers)".into(),
        });
    }
    let file = std::fs::File::open(&path).map_err(|e| TpcdsError::io("open", &path, e))?;
    let parquet_err = |source| TpcdsError::Parquet {
        path: path.display().to_string(),
        source,
    };
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(parquet_err)?
        .build()
        .map_err(parquet_err)?;
    reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| parquet_err(e.into()))
}
