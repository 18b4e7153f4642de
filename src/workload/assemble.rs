//! Assembling a load run from an environment's endpoints: the Connect endpoints per version, and the
//! TPC-DS queries (qualified with the data set's database) with their oracle judge. Shared by
//! `chaos load` and the scenario runner.

use super::judge;
use super::load::Judge;
use super::load::{LoadQuery, Target};
use super::{sql, tpcds};
use crate::paths::Cache;
use crate::platform::Endpoints;
use crate::versions::SparkLine;

/// Why a workload cannot be assembled.
#[derive(Debug, thiserror::Error)]
pub enum AssembleError {
    /// The input names something that does not exist (exit code: invalid input).
    #[error("{0}")]
    Input(String),
    /// The environment or the cache lacks something (exit code: environment).
    #[error("{0}")]
    Env(String),
}

/// The client-facing Connect endpoints of each of `lines` (all of the plan's when empty).
pub fn targets(env: &Endpoints, lines: &[SparkLine]) -> Result<Vec<Target>, AssembleError> {
    let lines = if lines.is_empty() {
        env.lines()
    } else {
        lines.to_vec()
    };
    lines
        .into_iter()
        .map(|line| {
            let endpoints = env.connect_urls(line);
            if endpoints.is_empty() {
                return Err(AssembleError::Input(format!(
                    "Spark {line} is not part of this environment"
                )));
            }
            Ok(Target {
                version: line,
                endpoints,
            })
        })
        .collect()
}

/// The selected queries (`quick`, `all`, `q3,q7`), qualified for the data set of `scale`, and
/// the judge that checks their answers against DuckDB's.
pub fn queries(
    cache: &Cache,
    selection: &str,
    scale: f64,
) -> Result<(Vec<LoadQuery>, Judge), AssembleError> {
    let scale_v = tpcds::Scale::new(scale).map_err(|e| AssembleError::Input(e.to_string()))?;
    let queries = tpcds::select_queries(cache, selection)
        .map_err(|e| AssembleError::Input(format!("{e:#}")))?;
    let judge = judge::tpcds_judge(cache, scale, &queries).map_err(|e| {
        AssembleError::Env(format!(
            "load expected answers (run `chaos datagen --scale {scale}` first): {e}"
        ))
    })?;
    let db = scale_v.database();
    let load = queries
        .iter()
        .map(|q| LoadQuery {
            name: q.name.clone(),
            sql: sql::qualify_tables(&q.spark_sql, &db, &tpcds::TABLES),
        })
        .collect();
    Ok((load, judge))
}
