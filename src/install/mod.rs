//! Installing every component from package registries into the cache directory: pinned,
//! idempotent (a second run downloads and builds nothing), with progress shown, and with
//! clear errors naming what is missing and how to get it.
//!
//! | component | registry | client |
//! |---|---|---|
//! | Spark 3.5.7 / 4.1.0 | PyPI (`pyspark` sdist: a full Spark distribution) | pip |
//! | S3A jars, Spark Connect 3.5.7, Hive Metastores | Maven Central | mvn |
//! | MinIO | the Go module proxy | go install |
//! | PostgreSQL | Debian | apt-get (only when missing, and only as root) |

pub mod apt;
pub mod hms;
pub mod java;
pub mod maven;
pub mod minio;
pub mod postgres;
pub mod spark;
pub mod steps;

use std::path::PathBuf;

use crate::paths::Cache;
use crate::versions::SparkLine;

/// Errors while installing.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// A prerequisite is missing.
    #[error("find {what}: not installed; {how}")]
    Missing {
        /// What is missing.
        what: String,
        /// How to get it.
        how: String,
    },
    /// A command could not be started.
    #[error("{what}: run `{command}`")]
    Spawn {
        /// The step.
        what: String,
        /// The command line.
        command: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A command failed.
    #[error("{what}: `{command}` failed ({status})")]
    Failed {
        /// The step.
        what: String,
        /// The command line.
        command: String,
        /// How it ended.
        status: String,
    },
    /// A file operation failed.
    #[error("{what}: {path}")]
    Io {
        /// The step.
        what: String,
        /// The path involved.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Maven resolution failed.
    #[error(transparent)]
    Maven(#[from] maven::MavenError),
    /// Installing a Hive Metastore failed.
    #[error(transparent)]
    Hms(#[from] hms::HmsError),
    /// Something installed is not what was expected.
    #[error("{0}")]
    Invalid(String),
}

impl InstallError {
    pub(crate) fn io(
        what: impl Into<String>,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> InstallError {
        InstallError::Io {
            what: what.into(),
            path: path.into().display().to_string(),
            source,
        }
    }
}

/// What an installed machine offers the platform.
#[derive(Debug, Clone)]
pub struct Installed {
    /// The Java 17 home.
    pub java_home: PathBuf,
    /// PostgreSQL's bin directory.
    pub pg_bin: PathBuf,
}

/// Installs everything the given Spark lines need. Idempotent.
pub fn setup(cache: &Cache, lines: &[SparkLine]) -> Result<Installed, InstallError> {
    let started = std::time::Instant::now();
    let java_home = java::find_java17()?;
    eprintln!("==> Java 17: {}", java_home.display());
    let pg_bin = postgres::ensure()?;
    apt::ensure_nftables()?;
    minio::ensure(cache)?;
    for &line in lines {
        spark::ensure(cache, line, &java_home)?;
        hms::install(cache, line, &java_home)?;
    }
    eprintln!(
        "==> setup complete in {:.1}s (cache: {})",
        started.elapsed().as_secs_f64(),
        cache.root().display()
    );
    Ok(Installed { java_home, pg_bin })
}
