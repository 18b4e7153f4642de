//! What a user chooses about an environment (any platform) and the credentials generated for
//! it.

use std::collections::BTreeMap;

use crate::versions::SparkLine;

/// What a user can choose about an environment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EnvSettings {
    /// The Spark lines to run.
    pub lines: Vec<SparkLine>,
    /// Spark Connect servers per line (the production guide runs 3 for HA).
    pub replicas: u32,
    /// Standalone workers per line (each runs one executor per application).
    pub workers: u32,
    /// Executor heap.
    pub executor_memory: String,
    /// Connect server (driver) heap.
    pub driver_memory: String,
    /// Heap of master, worker and History Server daemons.
    pub daemon_memory: String,
    /// Dynamic allocation with shuffle tracking.
    pub dynamic_allocation: bool,
    /// Ports are allocated upwards from here.
    pub base_port: u16,
    /// The S3 bucket.
    pub bucket: String,
    /// Spark settings per line (`spark-defaults.conf` additions), e.g. from a scenario's
    /// `[env.spark_conf]`.
    #[serde(default)]
    pub spark_conf: BTreeMap<SparkLine, Vec<(String, String)>>,
}

impl Default for EnvSettings {
    fn default() -> Self {
        EnvSettings {
            lines: SparkLine::ALL.to_vec(),
            replicas: 1,
            workers: 2,
            executor_memory: "1g".into(),
            driver_memory: "1g".into(),
            daemon_memory: "512m".into(),
            dynamic_allocation: false,
            base_port: 17000,
            bucket: "chaos".into(),
            spark_conf: BTreeMap::new(),
        }
    }
}

/// Credentials generated for one environment; stored in `secrets.json` (mode 0600) and
/// redacted from everything a person reads.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Secrets {
    /// MinIO root user, used as the S3 access key.
    pub s3_access_key: String,
    /// MinIO root password, used as the S3 secret key.
    pub s3_secret_key: String,
    /// PostgreSQL superuser.
    pub pg_user: String,
    /// PostgreSQL superuser's password.
    pub pg_password: String,
}

impl Secrets {
    /// Fresh random credentials.
    pub fn generate() -> Secrets {
        use rand::distributions::{Alphanumeric, DistString};
        let mut rng = rand::thread_rng();
        Secrets {
            s3_access_key: format!(
                "chaos{}",
                Alphanumeric.sample_string(&mut rng, 12).to_lowercase()
            ),
            s3_secret_key: Alphanumeric.sample_string(&mut rng, 32),
            pg_user: "chaos".into(),
            pg_password: Alphanumeric.sample_string(&mut rng, 24),
        }
    }

    /// Every secret value, for redaction.
    pub fn values(&self) -> [&str; 3] {
        [&self.s3_access_key, &self.s3_secret_key, &self.pg_password]
    }
}
