//! Where things live: the cache (downloads and builds, shared by every environment on the
//! machine) and an environment's home (state, configuration, data and logs of one environment).

use std::path::{Path, PathBuf};

use crate::versions::SparkLine;

/// The cache directory: `$CHAOS_CACHE_DIR`, else `$XDG_CACHE_HOME/spark-chaos`, else
/// `~/.cache/spark-chaos`. Nothing in it is ever committed.
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    /// The cache at an explicit root.
    pub fn at(root: impl Into<PathBuf>) -> Cache {
        Cache { root: root.into() }
    }

    /// The cache chosen by the environment variables described on [`Cache`].
    pub fn from_env() -> Cache {
        if let Some(dir) = std::env::var_os("CHAOS_CACHE_DIR").filter(|v| !v.is_empty()) {
            return Cache::at(dir);
        }
        if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
            return Cache::at(PathBuf::from(dir).join("spark-chaos"));
        }
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/tmp"));
        Cache::at(home.join(".cache").join("spark-chaos"))
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Files fetched as they come from a registry (sdists, archives).
    pub fn downloads(&self) -> PathBuf {
        self.root.join("downloads")
    }

    /// A Spark distribution unpacked from the pyspark sdist, with extra jars linked in.
    pub fn spark_home(&self, line: SparkLine) -> PathBuf {
        self.root.join("spark").join(line.version())
    }

    /// A directory of jars resolved from Maven Central for one named purpose.
    pub fn maven_dir(&self, name: &str) -> PathBuf {
        self.root.join("maven").join(name)
    }

    /// The Maven local repository the harness uses (kept apart from `~/.m2`).
    pub fn maven_repo(&self) -> PathBuf {
        self.root.join("m2")
    }

    /// The MinIO server binary built with `go install`.
    pub fn minio_bin(&self) -> PathBuf {
        self.root
            .join("minio")
            .join(crate::versions::MINIO_VERSION)
            .join("minio")
    }
}

/// An environment's home: `--home`, else `$CHAOS_HOME`, else `.chaos/env` in the working
/// directory. Holds the state file, generated configuration, data directories and logs.
#[derive(Debug, Clone)]
pub struct EnvHome {
    root: PathBuf,
}

impl EnvHome {
    /// The home at an explicit root (made absolute against the working directory).
    pub fn at(root: impl Into<PathBuf>) -> EnvHome {
        let root = root.into();
        let root = if root.is_absolute() {
            root
        } else {
            std::env::current_dir()
                .map(|d| d.join(&root))
                .unwrap_or(root)
        };
        EnvHome { root }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The JSON state file written by the supervisor.
    pub fn state_file(&self) -> PathBuf {
        self.root.join("state.json")
    }

    /// Logs of one component.
    pub fn log_file(&self, component: &str) -> PathBuf {
        self.root.join("logs").join(format!("{component}.log"))
    }

    /// The logs directory.
    pub fn logs_dir(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// Generated configuration of one component.
    pub fn conf_dir(&self, component: &str) -> PathBuf {
        self.root.join("conf").join(component)
    }

    /// Data directory of one component (kept by `env down --keep-data`).
    pub fn data_dir(&self, component: &str) -> PathBuf {
        self.root.join("data").join(component)
    }

    /// Scratch space of one component (always removed by `env down`).
    pub fn work_dir(&self, component: &str) -> PathBuf {
        self.root.join("work").join(component)
    }
}
