//! Where a running environment's parts are reached, whatever the platform (pure data). The
//! local platform fills it from its plan; a Kubernetes platform from its Services and
//! port-forwards. Credentials are never serialised or shown.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::probe::s3::{S3Error, S3};
use crate::versions::SparkLine;

/// Endpoints of one Spark version of the environment.
#[derive(Debug, Clone, Serialize)]
pub struct LineEndpoints {
    /// The Spark line.
    pub line: SparkLine,
    /// Its Spark Connect endpoints (`sc://127.0.0.1:PORT`), one per replica, in replica order.
    pub connect: Vec<String>,
    /// Its Connect servers' Spark UI and REST API (`http://127.0.0.1:PORT`), one per replica
    /// in replica order; empty where the platform does not reach them.
    pub ui: Vec<String>,
    /// Its Hive Metastore's Thrift address.
    pub metastore: Option<SocketAddr>,
    /// Its History Server (`http://127.0.0.1:PORT`).
    pub history: Option<String>,
    /// The key prefix of its event logs in the bucket, e.g. `3.5/events/`.
    pub events_prefix: String,
    /// How to run a Spark client application of this version on this machine with the line's
    /// configuration (the environment of its Connect server: `SPARK_HOME`, `SPARK_CONF_DIR`,
    /// `JAVA_HOME`, …). Empty where the platform runs no Spark on this machine.
    #[serde(skip)]
    pub spark_env: BTreeMap<String, String>,
}

impl LineEndpoints {
    /// The first Connect endpoint.
    pub fn connect_url(&self) -> Option<&str> {
        self.connect.first().map(String::as_str)
    }
}

/// One cut-over edge: a client-facing endpoint that forwards to one version's Connect replica
/// at a time (present only when both versions run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edge {
    /// Its id (`edge-0`).
    pub id: String,
    /// Where clients connect (`sc://127.0.0.1:PORT`).
    pub url: String,
    /// The Connect component it forwards to when the environment starts.
    pub planned: String,
}

/// Everything a client of the running environment needs.
#[derive(Clone, Serialize)]
pub struct Endpoints {
    /// The environment's home.
    pub home: PathBuf,
    /// Per Spark version, oldest first.
    pub versions: Vec<LineEndpoints>,
    /// The S3 endpoint (`http://127.0.0.1:PORT`).
    pub s3_endpoint: String,
    /// The bucket.
    pub bucket: String,
    /// S3 access key (never serialised or shown).
    #[serde(skip)]
    pub s3_access_key: String,
    /// S3 secret key (never serialised or shown).
    #[serde(skip)]
    pub s3_secret_key: String,
    /// The cut-over edges, in replica order.
    pub edges: Vec<Edge>,
}

impl fmt::Debug for Endpoints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoints")
            .field("home", &self.home)
            .field("versions", &self.versions)
            .field("s3_endpoint", &self.s3_endpoint)
            .field("bucket", &self.bucket)
            .field("edges", &self.edges)
            .finish_non_exhaustive()
    }
}

/// An S3 error with its causes, as one line.
pub fn s3_text(e: &S3Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

impl Endpoints {
    /// An S3 client for the environment's bucket; requests time out after 60 s (event logs
    /// are read and written whole).
    pub fn s3(&self) -> Result<S3, String> {
        S3::with_timeout(
            &self.s3_endpoint,
            &self.bucket,
            &self.s3_access_key,
            &self.s3_secret_key,
            Duration::from_secs(60),
        )
        .map_err(|e| s3_text(&e))
    }

    /// The endpoints of one version.
    pub fn version(&self, line: SparkLine) -> Option<&LineEndpoints> {
        self.versions.iter().find(|v| v.line == line)
    }

    /// The versions that run.
    pub fn lines(&self) -> Vec<SparkLine> {
        self.versions.iter().map(|v| v.line).collect()
    }

    /// The client-facing Connect endpoints of a line (empty when it does not run).
    pub fn connect_urls(&self, line: SparkLine) -> Vec<String> {
        self.version(line)
            .map(|v| v.connect.clone())
            .unwrap_or_default()
    }

    /// The cut-over endpoints, in replica order.
    pub fn edge_urls(&self) -> Vec<String> {
        self.edges.iter().map(|e| e.url.clone()).collect()
    }

    /// The edge ids, in replica order.
    pub fn edge_ids(&self) -> Vec<String> {
        self.edges.iter().map(|e| e.id.clone()).collect()
    }

    /// Every edge's route when the environment started.
    pub fn planned_routes(&self) -> BTreeMap<String, String> {
        self.edges
            .iter()
            .map(|e| (e.id.clone(), e.planned.clone()))
            .collect()
    }
}
