//! The TPC-DS kit: data, queries, the Spark dialect and expected answers, all from DuckDB's
//! `tpcds` extension (PyPI `duckdb` + `duckdb-extension-tpcds`, same pinned version).
//!
//! | stage | function | where it lands |
//! |---|---|---|
//! | kit | [`setup`]: a venv with the pinned wheels, the 99 queries extracted | `<cache>/python`, `<cache>/tpcds/queries/` |
//! | data | [`generate`] (local, cached by a manifest), [`datagen`] (+ upload + register) | `<cache>/tpcds/sf<scale>/data/<table>/part-0.parquet`, `s3://<bucket>/tpcds/sf<scale>/<table>/`, `tpcds_sf<scale>.<table>` in each metastore |
//! | queries | [`queries`], [`select`], [`to_spark_sql`] (pure) | read from the cache |
//! | answers | [`answers`] (DuckDB on the same files), [`expected`] | `<cache>/tpcds/sf<scale>/answers/<name>.parquet` |
//!
//! - `kit.rs` installs the venv and runs `kit.py` (embedded with `include_str!`, written to
//!   the cache at run time). DuckDB loads the extension from the wheel by path with
//!   extension auto-install and auto-load off: nothing but PyPI is ever contacted.
//! - `data.rs` generates, uploads and registers; `queries.rs` names and selects queries;
//!   `dialect.rs` is the pure DuckDB → Spark SQL rewrite; `answers.rs` is the oracle's input.
//!
//! # Invariants
//!
//! - Every cached artefact is written to a staging path and moved into place, and its
//!   manifest is written last: a manifest that exists describes complete files.
//! - Data is deterministic: the same scale gives the same bytes (the manifest's sha256s).
//! - Query text is never committed: it comes from the installed extension at set-up time.
//! - `dialect.rs` and `queries::select` do no I/O.

mod answers;
mod data;
mod dialect;
mod kit;
pub mod queries;

#[cfg(test)]
mod live_tests;

use std::path::PathBuf;

pub use answers::{answers, expected, Answer, AnswerColumn, AnswerManifest};
pub use data::{
    datagen, generate, register, upload, DataFile, DataManifest, DataSet, DataSetTimings, Table,
    TableManifest, UploadReport, TABLES,
};
pub use dialect::to_spark_sql;
pub use kit::{setup, Kit, DUCKDB_VERSION};
pub use queries::{queries, select, select_queries, Query, QUICK};

use crate::client::ClientError;
use crate::install::InstallError;
use crate::paths::Cache;
use crate::probe::s3::S3Error;

/// Errors of the TPC-DS kit.
#[derive(Debug, thiserror::Error)]
pub enum TpcdsError {
    /// Installing the kit's venv failed.
    #[error("install the tpc-ds kit")]
    Install(#[source] InstallError),
    /// A kit command (`kit.py …`) failed.
    #[error("{what}: `{command}` failed ({status}); its output is above")]
    Kit {
        /// The step.
        what: String,
        /// The command line.
        command: String,
        /// How it ended.
        status: String,
    },
    /// A file operation failed.
    #[error("{what} {path}")]
    Io {
        /// What was attempted.
        what: String,
        /// The path.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A JSON document (manifest or kit output) could not be read or written.
    #[error("{what} {path}")]
    Json {
        /// What was attempted.
        what: String,
        /// The file (or command) involved.
        path: String,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// A Parquet file could not be read.
    #[error("read parquet file {path}")]
    Parquet {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// The scale factor is not usable.
    #[error("use scale factor {0}: it must be a finite number greater than 0")]
    Scale(f64),
    /// A query name or set is not known.
    #[error("select tpc-ds queries {given:?}: unknown {name:?}; accepted: {accepted}")]
    UnknownQuery {
        /// The whole selection as given.
        given: String,
        /// The part that is not known.
        name: String,
        /// What is accepted.
        accepted: String,
    },
    /// Something the kit needs has not been prepared yet.
    #[error("find {what} at {path}: not prepared; {how}")]
    NotPrepared {
        /// What is missing.
        what: String,
        /// Where it was looked for.
        path: String,
        /// How to prepare it.
        how: String,
    },
    /// S3 failed.
    #[error("{what}")]
    S3 {
        /// What was attempted.
        what: String,
        /// The cause.
        #[source]
        source: S3Error,
    },
    /// A Spark statement failed.
    #[error("{what} on Spark {version} at {endpoint}")]
    Spark {
        /// What was attempted.
        what: String,
        /// The Spark version.
        version: String,
        /// The Connect endpoint.
        endpoint: String,
        /// The cause.
        #[source]
        source: Box<ClientError>,
    },
    /// What was produced is not what was expected (a bug or a corrupted cache).
    #[error("{0}")]
    Invalid(String),
}

impl TpcdsError {
    pub(crate) fn io(
        what: impl Into<String>,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> TpcdsError {
        TpcdsError::Io {
            what: what.into(),
            path: path.into().display().to_string(),
            source,
        }
    }

    pub(crate) fn json(
        what: impl Into<String>,
        path: impl Into<PathBuf>,
        source: serde_json::Error,
    ) -> TpcdsError {
        TpcdsError::Json {
            what: what.into(),
            path: path.into().display().to_string(),
            source,
        }
    }
}

impl From<InstallError> for TpcdsError {
    fn from(e: InstallError) -> Self {
        TpcdsError::Install(e)
    }
}

/// A validated scale factor and the names derived from it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale(f64);

impl Scale {
    /// Validates a scale factor: finite and greater than 0.
    pub fn new(scale: f64) -> Result<Scale, TpcdsError> {
        if scale.is_finite() && scale > 0.0 {
            Ok(Scale(scale))
        } else {
            Err(TpcdsError::Scale(scale))
        }
    }

    /// The number.
    pub fn value(self) -> f64 {
        self.0
    }

    /// The shortest decimal text of the number: `0.1`, `1`, `10`.
    pub fn text(self) -> String {
        format!("{}", self.0)
    }

    /// The data set's name in paths and S3 keys: `sf0.1`, `sf1`.
    pub fn label(self) -> String {
        format!("sf{}", self.text())
    }

    /// The Spark database: `tpcds_sf0_1`, `tpcds_sf1`.
    pub fn database(self) -> String {
        format!("tpcds_{}", self.label().replace('.', "_"))
    }
}

/// `<cache>/tpcds`: everything of the kit except the venv.
pub fn root(cache: &Cache) -> PathBuf {
    cache.root().join("tpcds")
}

/// `<cache>/tpcds/sf<scale>`: one data set, its manifest and its answers.
pub fn data_set_dir(cache: &Cache, scale: Scale) -> PathBuf {
    root(cache).join(scale.label())
}

/// Writes `bytes` to `path` through a temporary file and a rename.
pub(crate) fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> Result<(), TpcdsError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(|e| TpcdsError::io("write", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| TpcdsError::io("move into place", path, e))
}

/// Serialises `value` as pretty JSON into `path`, atomically.
pub(crate) fn write_json<T: serde::Serialize>(
    path: &std::path::Path,
    value: &T,
) -> Result<(), TpcdsError> {
    let mut text =
        serde_json::to_vec_pretty(value).map_err(|e| TpcdsError::json("serialise", path, e))?;
    text.push(b'\n');
    write_atomically(path, &text)
}

/// Reads a JSON file; `Ok(None)` when it does not exist.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(
    path: &std::path::Path,
) -> Result<Option<T>, TpcdsError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| TpcdsError::json("parse", path, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(TpcdsError::io("read", path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_names() {
        let s = Scale::new(0.1).expect("valid");
        assert_eq!(s.label(), "sf0.1");
        assert_eq!(s.database(), "tpcds_sf0_1");
        let s = Scale::new(1.0).expect("valid");
        assert_eq!(s.label(), "sf1");
        assert_eq!(s.database(), "tpcds_sf1");
        assert_eq!(Scale::new(10.0).expect("valid").label(), "sf10");
        assert_eq!(Scale::new(0.01).expect("valid").text(), "0.01");
    }

    #[test]
    fn bad_scales() {
        for s in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(Scale::new(s).is_err(), "{s}");
        }
    }
}
