//! Where a running environment's components listen, read from its home (`plan.json`,
//! `state.json`, `secrets.json`).

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::CompatError;
use crate::paths::EnvHome;
use crate::platform::local::env as local_env;
use crate::platform::local::plan::{Plan, Role};
use crate::probe::s3::{S3Error, S3};
use crate::versions::SparkLine;

/// Endpoints of one Spark version of the environment.
#[derive(Debug, Clone, Serialize)]
pub struct VersionEndpoints {
    /// The Spark line.
    pub line: SparkLine,
    /// Its Spark Connect endpoints (`sc://127.0.0.1:PORT`), one per replica.
    pub connect: Vec<String>,
    /// Its Hive Metastore's Thrift address.
    pub metastore: Option<SocketAddr>,
    /// Its History Server (`http://127.0.0.1:PORT`).
    pub history: Option<String>,
    /// The key prefix of its event logs in the bucket, e.g. `3.5/events/`.
    pub events_prefix: String,
    /// How to run a Spark client application of this version with the line's configuration
    /// (the environment variables of its Connect server: `SPARK_HOME`, `SPARK_CONF_DIR`,
    /// `JAVA_HOME`, …). Empty when the plan has no Connect server for the line.
    #[serde(skip)]
    pub spark_env: BTreeMap<String, String>,
}

impl VersionEndpoints {
    /// The first Connect endpoint.
    pub fn connect_url(&self) -> Option<&str> {
        self.connect.first().map(String::as_str)
    }
}

/// Everything compat needs to reach a running environment.
#[derive(Clone, Serialize)]
pub struct EnvEndpoints {
    /// The environment's home.
    pub home: PathBuf,
    /// Per Spark version, oldest first.
    pub versions: Vec<VersionEndpoints>,
    /// MinIO's S3 endpoint (`http://127.0.0.1:PORT`).
    pub s3_endpoint: String,
    /// The bucket.
    pub bucket: String,
    /// S3 access key (never serialised or shown).
    #[serde(skip)]
    pub s3_access_key: String,
    /// S3 secret key (never serialised or shown).
    #[serde(skip)]
    pub s3_secret_key: String,
}

impl fmt::Debug for EnvEndpoints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvEndpoints")
            .field("home", &self.home)
            .field("versions", &self.versions)
            .field("s3_endpoint", &self.s3_endpoint)
            .field("bucket", &self.bucket)
            .finish_non_exhaustive()
    }
}

/// An S3 error with its causes, as compat reports it.
pub(crate) fn s3_text(e: &S3Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

impl EnvEndpoints {
    /// An S3 client for the environment's bucket; requests time out after 60 s (event logs
    /// are read and written whole).
    pub(crate) fn s3(&self) -> Result<S3, String> {
        S3::with_timeout(
            &self.s3_endpoint,
            &self.bucket,
            &self.s3_access_key,
            &self.s3_secret_key,
            Duration::from_secs(60),
        )
        .map_err(|e| s3_text(&e))
    }

    /// Reads the endpoints of the environment whose home is `home`; fails when it is not
    /// running or its files cannot be read.
    pub fn from_home(home: &Path) -> Result<Self, CompatError> {
        let env_home = EnvHome::at(home);
        let err = |message: String| CompatError::Env {
            home: home.display().to_string(),
            message,
        };
        match local_env::running_state(&env_home) {
            Ok(Some(_)) => {}
            Ok(None) => return Err(err("no running environment (run `chaos env up`)".into())),
            Err(e) => return Err(err(e.to_string())),
        }
        let plan = local_env::read_plan(&env_home).map_err(|e| err(e.to_string()))?;
        let secrets = local_env::read_secrets(&env_home).map_err(|e| err(e.to_string()))?;
        Ok(Self::from_plan(
            home,
            &plan,
            &secrets.s3_access_key,
            &secrets.s3_secret_key,
        ))
    }

    /// The endpoints a plan describes (pure).
    pub fn from_plan(home: &Path, plan: &Plan, access_key: &str, secret_key: &str) -> Self {
        let versions = plan
            .settings
            .lines
            .iter()
            .map(|&line| {
                let of = |role: Role| {
                    plan.components
                        .iter()
                        .filter(move |c| c.role == role && c.line == Some(line))
                };
                let metastore = of(Role::Metastore).next().and_then(|c| {
                    c.endpoint
                        .strip_prefix("thrift://")
                        .and_then(|a| a.parse::<SocketAddr>().ok())
                });
                let spark_env = of(Role::Connect)
                    .next()
                    .map(|c| c.spec.env.clone())
                    .unwrap_or_default();
                VersionEndpoints {
                    line,
                    connect: plan.connect_urls(line),
                    metastore,
                    history: of(Role::History).next().map(|c| c.endpoint.clone()),
                    events_prefix: format!("{}/events/", line.short()),
                    spark_env,
                }
            })
            .collect();
        Self {
            home: home.to_path_buf(),
            versions,
            s3_endpoint: plan.s3_endpoint(),
            bucket: plan.settings.bucket.clone(),
            s3_access_key: access_key.to_string(),
            s3_secret_key: secret_key.to_string(),
        }
    }

    /// The endpoints of one version.
    pub fn version(&self, line: SparkLine) -> Option<&VersionEndpoints> {
        self.versions.iter().find(|v| v.line == line)
    }
}
