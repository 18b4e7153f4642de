//! Hive Metastore on the local platform: installation, configuration, schema initialisation and
//! the launch command of one standalone metastore per Spark line.
//!
//! | Spark line | metastore | Hadoop (+ S3A) | AWS SDK |
//! |---|---|---|---|
//! | 3.5.7 | `hive-standalone-metastore:3.1.3` | 3.3.4 | `aws-java-sdk-bundle:1.12.262` |
//! | 4.1.0 | `hive-standalone-metastore-server:4.0.0` | 3.3.6 (what Hive 4.0.0's pom builds with) | `aws-java-sdk-bundle:1.12.367` (Hadoop 3.3.6's) |
//!
//! Both run on Java 17 as plain `java -cp conf:jars/* org.apache.hadoop.hive.metastore.HiveMetaStore`
//! (no Hadoop installation, no `bin/start-metastore`). What it took:
//!
//! - **Jars** come from Maven Central through [`maven::resolve`]: the metastore artifact plus
//!   the Hadoop pieces its pom marks optional (`hadoop-common`, `hadoop-hdfs`,
//!   `hadoop-hdfs-client`, `hadoop-mapreduce-client-core`; naming `hadoop-hdfs` also keeps
//!   ORC 1.5's `hadoop-hdfs:2.2.0` out of 3.1.3's classpath), `hadoop-aws` with its SDK
//!   bundle, and the PostgreSQL driver. For 4.0.0 its parent pom is imported as a BOM so that transitive versions are the
//!   ones its distribution ships (Jackson 2.16.1 throughout, not Hadoop's older annotations).
//!   No Guava swap is needed: Hadoop 3.3 uses only its shaded Guava, so 3.1.3 keeps Hive's
//!   Guava 19.0 (every Guava method 3.1.3 calls also exists in 27.0-jre, should Hadoop's pin
//!   ever win). [`EXCLUDES`] lists what is left out and why.
//! - **Schema**: the PostgreSQL scripts exist only in the `-bin.tar.gz` distribution on Maven
//!   Central (`hive-standalone-metastore:3.1.3:tar.gz:bin`,
//!   `hive-standalone-metastore-server:4.0.0:tar.gz:bin`). [`install`] unpacks it and
//!   [`init_schema`] runs Hive's own schema tool (`MetastoreSchemaTool -initSchema`) with
//!   `METASTORE_HOME` pointing there, after `-info` shows the database is not initialised yet.
//!   `datanucleus.schema.autoCreateAll` stays off and schema verification stays on.
//! - **Loopback only**: 4.0.0 honours `metastore.thrift.bind.host`. 3.1.3 has no such setting:
//!   `HiveMetaStore.startMetaStore` calls `SecurityUtils.getServerSocket(null, port)`, a
//!   wildcard bind. [`install`] therefore compiles (with the JDK's `javac`) a drop-in
//!   replacement of libthrift 0.9.3's `org.apache.thrift.transport.TServerSocket`, identical
//!   except that a wildcard bind address becomes the host in the system property
//!   [`BIND_HOST_PROPERTY`], and puts it on the classpath before the jars.
//! - **Java 17**: both versions, pinned as they are, run on Java 17: start-up, schema tool,
//!   database create/list/drop with S3A locations all work even without `--add-opens`. The
//!   flags in [`JAVA_17_OPENS`] are passed anyway for reflective paths not exercised there
//!   (Hadoop and DataNucleus internals; the same kind of set Spark passes for Hadoop's sake).
//! - **Standalone defaults**: `metastore.expression.proxy` and `metastore.task.threads.always`
//!   default to classes that live in `hive-exec`, not in the standalone metastore; they are set
//!   to the standalone ones, as the distribution's own `metastore-site.xml` does.
//! - **S3A**: the warehouse is `s3a://<bucket>/<line>/warehouse`; `fs.s3a.*` (endpoint,
//!   path-style access, keys, no TLS, short retries so that an S3 outage fails calls in
//!   seconds rather than minutes: `create_database` with S3 down fails with a `MetaException`
//!   after about 5 s) go into both `metastore-site.xml` and `core-site.xml`.
//!   The bucket is not probed at start-up, so the metastore starts while S3 is down.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::spec::ProcessSpec;
use crate::install::maven::{self, Artifact, MavenError};
use crate::paths::Cache;
use crate::versions::SparkLine;

/// The metastore server's main class (both versions).
pub const MAIN_CLASS: &str = "org.apache.hadoop.hive.metastore.HiveMetaStore";

/// The system property the 3.1.3 `TServerSocket` replacement reads for its bind host.
pub const BIND_HOST_PROPERTY: &str = "spark.chaos.thrift.bind.host";

/// The PostgreSQL JDBC driver (the version Hive 4.0.0 pins; speaks SCRAM, which 3.1.3's own
/// test-scoped 9.3 driver does not).
pub const POSTGRES_JDBC: &str = "42.5.1";

/// Heap of the metastore JVM.
pub const HEAP: &str = "512m";

/// `--add-opens` for Java 17 (Hadoop's and DataNucleus's reflection).
pub const JAVA_17_OPENS: &[&str] = &[
    "java.base/java.lang=ALL-UNNAMED",
    "java.base/java.lang.reflect=ALL-UNNAMED",
    "java.base/java.io=ALL-UNNAMED",
    "java.base/java.net=ALL-UNNAMED",
    "java.base/java.nio=ALL-UNNAMED",
    "java.base/java.util=ALL-UNNAMED",
    "java.base/java.util.concurrent=ALL-UNNAMED",
    "java.base/java.util.concurrent.atomic=ALL-UNNAMED",
    "java.base/sun.nio.ch=ALL-UNNAMED",
    "java.base/sun.security.action=ALL-UNNAMED",
];

/// Dependencies left out of every resolution: Log4j 1 and the SLF4J bindings Hadoop brings
/// (the metastore logs through Log4j 2); the shaded Hadoop client that ORC 1.8 brings (a
/// second, older copy of the Hadoop classes); and Netty's catch-all artifact that
/// `hadoop-hdfs` brings for the DataNode (its own Netty modules, at another version than
/// ZooKeeper's).
pub const EXCLUDES: &[&str] = &[
    "log4j:log4j",
    "ch.qos.reload4j:reload4j",
    "org.slf4j:slf4j-reload4j",
    "org.slf4j:slf4j-log4j12",
    "org.apache.hadoop:hadoop-client-api",
    "org.apache.hadoop:hadoop-client-runtime",
    "io.netty:netty-all",
];

/// Errors from installing, configuring or initialising a metastore.
#[derive(Debug, thiserror::Error)]
pub enum HmsError {
    /// Resolving or fetching from Maven failed.
    #[error(transparent)]
    Maven(#[from] MavenError),
    /// Reading or writing a file failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Starting a program failed.
    #[error("run {program}: {source}")]
    Spawn {
        /// The program.
        program: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Compiling the 3.1.3 loopback patch failed.
    #[error("compile the loopback-only TServerSocket for Hive Metastore 3.1.3 (javac exit {status}): {output}")]
    Patch {
        /// javac's exit status.
        status: String,
        /// What javac said.
        output: String,
    },
    /// The schema tool failed.
    #[error("{action} of database `{db}` with Hive's schema tool (exit {status}; output in {log}): {tail}")]
    SchemaTool {
        /// `read the schema version` or `initialise the schema`.
        action: &'static str,
        /// The PostgreSQL database.
        db: String,
        /// The tool's exit status.
        status: String,
        /// Where its output was appended.
        log: PathBuf,
        /// The last lines of its output.
        tail: String,
    },
    /// The database holds a schema of another version.
    #[error(
        "use database `{db}` for Hive Metastore {hms}: it holds metastore schema {found}, expected {expected} (drop the database or upgrade it with schematool -upgradeSchema)"
    )]
    SchemaMismatch {
        /// The PostgreSQL database.
        db: String,
        /// The metastore version.
        hms: &'static str,
        /// The schema version found.
        found: String,
        /// The schema version this metastore needs.
        expected: &'static str,
    },
}

/// Everything needed to configure and run the metastore of one Spark line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HmsParams {
    /// The Spark line this metastore serves.
    pub line: SparkLine,
    /// The Thrift port, bound on 127.0.0.1.
    pub thrift_port: u16,
    /// PostgreSQL's port on 127.0.0.1.
    pub pg_port: u16,
    /// The PostgreSQL database holding this metastore's schema, e.g. `hms35`.
    pub pg_db: String,
    /// The PostgreSQL user (owner of `pg_db`).
    pub pg_user: String,
    /// Its password.
    pub pg_password: String,
    /// The S3 endpoint URL, e.g. `http://127.0.0.1:9000`.
    pub s3_endpoint: String,
    /// The S3 access key.
    pub s3_access_key: String,
    /// The S3 secret key.
    pub s3_secret_key: String,
    /// The bucket; the warehouse is `s3a://<bucket>/<line>/warehouse`.
    pub bucket: String,
    /// The JDK to run with (`<java_home>/bin/java`).
    pub java_home: PathBuf,
    /// Where the generated configuration goes (and is read from).
    pub conf_dir: PathBuf,
    /// The `jars` directory [`install`] returned; its siblings hold the unpacked distribution
    /// (schema scripts) and, for 3.1.3, the loopback patch.
    pub jars_dir: PathBuf,
    /// Where the metastore's (and the schema tool's) output is appended.
    pub log: PathBuf,
    /// The working directory (Hadoop's temporary and S3A buffer files go below it).
    pub work_dir: PathBuf,
}

impl HmsParams {
    /// `s3a://<bucket>/<line>/warehouse`, the managed-table warehouse.
    pub fn warehouse(&self) -> String {
        format!("s3a://{}/{}/warehouse", self.bucket, self.line.short())
    }

    /// The default root of external tables: the same as [`HmsParams::warehouse`]. Hive 4
    /// gives databases (`default` included) their `LOCATION` under this root, and Spark puts a
    /// new table under its database's location, so a separate root would scatter one
    /// version's tables over two prefixes.
    pub fn external_warehouse(&self) -> String {
        self.warehouse()
    }

    /// The JDBC URL of the metastore database.
    pub fn jdbc_url(&self) -> String {
        format!(
            "jdbc:postgresql://127.0.0.1:{}/{}",
            self.pg_port, self.pg_db
        )
    }

    fn java(&self) -> PathBuf {
        self.java_home.join("bin").join("java")
    }
}

/// The cache directory name of one metastore version's resolution, e.g. `hms-3.1.3`.
pub fn maven_name(line: SparkLine) -> String {
    format!("hms-{}", line.hms())
}

/// The Hadoop version on the metastore's classpath (hadoop-aws must match it).
pub fn hadoop_version(line: SparkLine) -> &'static str {
    match line {
        SparkLine::V3_5 => "3.3.4",
        SparkLine::V4_1 => "3.3.6",
    }
}

/// The `aws-java-sdk-bundle` version that version of `hadoop-aws` was built against.
pub fn aws_sdk_version(line: SparkLine) -> &'static str {
    match line {
        SparkLine::V3_5 => "1.12.262",
        SparkLine::V4_1 => "1.12.367",
    }
}

/// The metastore schema version each metastore needs (what `schematool -info` reports).
pub fn schema_version(line: SparkLine) -> &'static str {
    match line {
        SparkLine::V3_5 => "3.1.0",
        SparkLine::V4_1 => "4.0.0",
    }
}

/// The schema tool's main class.
pub fn schema_tool_class(line: SparkLine) -> &'static str {
    match line {
        SparkLine::V3_5 => "org.apache.hadoop.hive.metastore.tools.MetastoreSchemaTool",
        SparkLine::V4_1 => "org.apache.hadoop.hive.metastore.tools.schematool.MetastoreSchemaTool",
    }
}

/// The artifacts whose runtime closure is the metastore's classpath.
pub fn artifacts(line: SparkLine) -> Vec<Artifact> {
    let hadoop = hadoop_version(line);
    let mut list = Vec::new();
    if line == SparkLine::V3_5 {
        // Hive's own Guava, as its distribution ships it. Hadoop 3.3 declares 27.0-jre but
        // only uses its shaded copy (hadoop-shaded-guava), so no swap is needed.
        list.push(Artifact::jar("com.google.guava", "guava", "19.0"));
        list.push(Artifact::jar(
            "org.apache.hive",
            "hive-standalone-metastore",
            "3.1.3",
        ));
    } else {
        // The parent pom pins (through dependencyManagement and Jackson's BOM) the versions
        // the 4.0.0 distribution ships, e.g. Jackson 2.16.1 throughout; without it Hadoop's
        // older Jackson annotations and ZooKeeper would win.
        list.push(Artifact::bom(
            "org.apache.hive",
            "hive-standalone-metastore",
            "4.0.0",
        ));
        list.push(Artifact::jar(
            "org.apache.hive",
            "hive-standalone-metastore-server",
            "4.0.0",
        ));
    }
    for a in [
        "hadoop-common",
        "hadoop-hdfs",
        "hadoop-hdfs-client",
        "hadoop-mapreduce-client-core",
        "hadoop-aws",
    ] {
        list.push(Artifact::jar("org.apache.hadoop", a, hadoop));
    }
    list.push(Artifact::jar(
        "com.amazonaws",
        "aws-java-sdk-bundle",
        aws_sdk_version(line),
    ));
    list.push(Artifact::jar("org.postgresql", "postgresql", POSTGRES_JDBC));
    list
}

/// The binary distribution, which alone carries the schema scripts.
pub fn distribution(line: SparkLine) -> Artifact {
    let artifact = match line {
        SparkLine::V3_5 => "hive-standalone-metastore",
        SparkLine::V4_1 => "hive-standalone-metastore-server",
    };
    Artifact::jar("org.apache.hive", artifact, line.hms())
        .with_classifier("bin")
        .with_kind("tar.gz")
}

/// Installs one metastore version into the cache: its jars, its unpacked distribution (for the
/// schema scripts) and, for 3.1.3, the compiled loopback patch. Returns the jars directory
/// (what [`HmsParams::jars_dir`] wants). Idempotent; blocking.
pub fn install(cache: &Cache, line: SparkLine, java_home: &Path) -> Result<PathBuf, HmsError> {
    let name = maven_name(line);
    let jars = maven::resolve(cache, &name, &artifacts(line), EXCLUDES)?;
    maven::fetch_unpacked(
        cache,
        &distribution(line),
        &cache.maven_dir(&name).join("dist"),
    )?;
    if line == SparkLine::V3_5 {
        compile_patch(&jars, java_home)?;
    }
    Ok(jars)
}

/// `METASTORE_HOME` for the schema tool: the unpacked distribution beside the jars.
pub fn metastore_home(jars_dir: &Path, line: SparkLine) -> PathBuf {
    sibling(jars_dir, "dist").join(format!("apache-hive-metastore-{}-bin", line.hms()))
}

/// Where the compiled 3.1.3 loopback patch lives, beside the jars.
pub fn patch_dir(jars_dir: &Path) -> PathBuf {
    sibling(jars_dir, "patch")
}

fn sibling(jars_dir: &Path, name: &str) -> PathBuf {
    jars_dir
        .parent()
        .map(|p| p.join(name))
        .unwrap_or_else(|| PathBuf::from(name))
}

/// libthrift 0.9.3's `TServerSocket`, member for member, except that a wildcard bind address
/// is replaced by the host named in [`BIND_HOST_PROPERTY`] when that property is set.
const TSERVERSOCKET_JAVA: &str = r#"/*
 * Licensed to the Apache Software Foundation (ASF) under the Apache License, Version 2.0.
 * Rewritten by spark-chaos from libthrift 0.9.3's TServerSocket (same members and behaviour)
 * so that Hive Metastore 3.1.3, which always asks for a wildcard bind, can be confined to one
 * address: a wildcard bind address becomes the host in the system property
 * "spark.chaos.thrift.bind.host" when that is set.
 */
package org.apache.thrift.transport;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

public class TServerSocket extends TServerTransport {
  private static final Logger LOGGER = LoggerFactory.getLogger(TServerSocket.class.getName());
  private static final String BIND_HOST_PROPERTY = "spark.chaos.thrift.bind.host";

  private ServerSocket serverSocket_ = null;
  private int clientTimeout_ = 0;

  public static class ServerSocketTransportArgs extends AbstractServerTransportArgs<ServerSocketTransportArgs> {
    ServerSocket serverSocket;

    public ServerSocketTransportArgs serverSocket(ServerSocket serverSocket) {
      this.serverSocket = serverSocket;
      return this;
    }
  }

  public TServerSocket(ServerSocket serverSocket) throws TTransportException {
    this(serverSocket, 0);
  }

  public TServerSocket(ServerSocket serverSocket, int clientTimeout) throws TTransportException {
    this(new ServerSocketTransportArgs().serverSocket(serverSocket).clientTimeout(clientTimeout));
  }

  public TServerSocket(int port) throws TTransportException {
    this(port, 0);
  }

  public TServerSocket(int port, int clientTimeout) throws TTransportException {
    this(new InetSocketAddress(port), clientTimeout);
  }

  public TServerSocket(InetSocketAddress bindAddr) throws TTransportException {
    this(bindAddr, 0);
  }

  public TServerSocket(InetSocketAddress bindAddr, int clientTimeout) throws TTransportException {
    this(new ServerSocketTransportArgs().bindAddr(bindAddr).clientTimeout(clientTimeout));
  }

  public TServerSocket(ServerSocketTransportArgs args) throws TTransportException {
    clientTimeout_ = args.clientTimeout;
    if (args.serverSocket != null) {
      this.serverSocket_ = args.serverSocket;
      return;
    }
    InetSocketAddress bindAddr = confine(args.bindAddr);
    try {
      serverSocket_ = new ServerSocket();
      serverSocket_.setReuseAddress(true);
      serverSocket_.bind(bindAddr, args.backlog);
    } catch (IOException ioe) {
      close();
      throw new TTransportException("Could not create ServerSocket on address " + bindAddr.toString() + ".", ioe);
    }
  }

  private static InetSocketAddress confine(InetSocketAddress addr) {
    String host = System.getProperty(BIND_HOST_PROPERTY);
    if (host == null || host.isEmpty() || addr == null || addr.isUnresolved() || !addr.getAddress().isAnyLocalAddress()) {
      return addr;
    }
    LOGGER.info("Binding Thrift server socket to " + host + " instead of the wildcard address");
    return new InetSocketAddress(host, addr.getPort());
  }

  public void listen() throws TTransportException {
    if (serverSocket_ != null) {
      try {
        serverSocket_.setSoTimeout(0);
      } catch (SocketException sx) {
        LOGGER.error("Could not set socket timeout.", sx);
      }
    }
  }

  protected TSocket acceptImpl() throws TTransportException {
    if (serverSocket_ == null) {
      throw new TTransportException(TTransportException.NOT_OPEN, "No underlying server socket.");
    }
    try {
      Socket result = serverSocket_.accept();
      TSocket result2 = new TSocket(result);
      result2.setTimeout(clientTimeout_);
      return result2;
    } catch (IOException iox) {
      throw new TTransportException(iox);
    }
  }

  public void close() {
    if (serverSocket_ != null) {
      try {
        serverSocket_.close();
      } catch (IOException iox) {
        LOGGER.warn("Could not close server socket.", iox);
      }
      serverSocket_ = null;
    }
  }

  public void interrupt() {
    close();
  }

  public ServerSocket getServerSocket() {
    return serverSocket_;
  }
}
"#;

/// Compiles [`TSERVERSOCKET_JAVA`] into [`patch_dir`] against the resolved jars. Idempotent
/// (a marker holds a hash of the source).
fn compile_patch(jars_dir: &Path, java_home: &Path) -> Result<(), HmsError> {
    let dir = patch_dir(jars_dir);
    let stamp = maven::marker_hash(TSERVERSOCKET_JAVA);
    let marker = dir.join(".compiled");
    if fs::read_to_string(&marker)
        .map(|s| s.trim() == stamp)
        .unwrap_or(false)
    {
        return Ok(());
    }
    let javac = java_home.join("bin").join("javac");
    if !javac.is_file() {
        return Err(HmsError::Patch {
            status: "none".into(),
            output: format!(
                "{} not found (a full JDK is needed: `apt-get install openjdk-17-jdk-headless`)",
                javac.display()
            ),
        });
    }
    if dir.exists() {
        fs::remove_dir_all(&dir).map_err(|e| io_err("remove", &dir, e))?;
    }
    let src = dir.join("src").join("org/apache/thrift/transport");
    fs::create_dir_all(&src).map_err(|e| io_err("create directory", &src, e))?;
    let file = src.join("TServerSocket.java");
    fs::write(&file, TSERVERSOCKET_JAVA).map_err(|e| io_err("write", &file, e))?;
    let classes = dir.join("classes");
    let out = Command::new(&javac)
        .arg("-nowarn")
        .arg("--release")
        .arg("8")
        .arg("-cp")
        .arg(format!("{}/*", jars_dir.display()))
        .arg("-d")
        .arg(&classes)
        .arg(&file)
        .output()
        .map_err(|e| HmsError::Spawn {
            program: javac.clone(),
            source: e,
        })?;
    if !out.status.success() {
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        return Err(HmsError::Patch {
            status: crate::install::steps::exit_text(&out.status),
            output: text.trim().to_string(),
        });
    }
    fs::write(&marker, format!("{stamp}\n")).map_err(|e| io_err("write", &marker, e))?;
    Ok(())
}

/// One configuration property.
fn property(out: &mut String, name: &str, value: &str) {
    out.push_str(&format!(
        "  <property>\n    <name>{}</name>\n    <value>{}</value>\n  </property>\n",
        xml_escape(name),
        xml_escape(value)
    ));
}

fn configuration(props: &[(&str, String)]) -> String {
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- Generated by spark-chaos. -->\n<configuration>\n");
    for (k, v) in props {
        property(&mut s, k, v);
    }
    s.push_str("</configuration>\n");
    s
}

/// The `fs.s3a.*` and Hadoop temporary-directory settings (shared by both files).
fn hadoop_props(p: &HmsParams) -> Vec<(&'static str, String)> {
    let tmp = p.work_dir.join("hadoop-tmp");
    vec![
        ("hadoop.tmp.dir", tmp.display().to_string()),
        (
            "fs.s3a.impl",
            "org.apache.hadoop.fs.s3a.S3AFileSystem".into(),
        ),
        ("fs.s3a.endpoint", p.s3_endpoint.clone()),
        ("fs.s3a.endpoint.region", "us-east-1".into()),
        ("fs.s3a.path.style.access", "true".into()),
        ("fs.s3a.connection.ssl.enabled", "false".into()),
        (
            "fs.s3a.aws.credentials.provider",
            "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider".into(),
        ),
        ("fs.s3a.access.key", p.s3_access_key.clone()),
        ("fs.s3a.secret.key", p.s3_secret_key.clone()),
        // Start without S3, and fail fast while it is down (the defaults retry for minutes).
        ("fs.s3a.bucket.probe", "0".into()),
        ("fs.s3a.attempts.maximum", "2".into()),
        ("fs.s3a.retry.limit", "2".into()),
        ("fs.s3a.retry.interval", "500ms".into()),
        ("fs.s3a.connection.establish.timeout", "5000".into()),
        ("fs.s3a.connection.timeout", "15000".into()),
        ("fs.s3a.buffer.dir", tmp.join("s3a").display().to_string()),
    ]
}

/// The text of `metastore-site.xml`. Pure.
pub fn metastore_site(p: &HmsParams) -> String {
    let mut props: Vec<(&str, String)> = vec![
        ("javax.jdo.option.ConnectionURL", p.jdbc_url()),
        (
            "javax.jdo.option.ConnectionDriverName",
            "org.postgresql.Driver".into(),
        ),
        ("javax.jdo.option.ConnectionUserName", p.pg_user.clone()),
        ("javax.jdo.option.ConnectionPassword", p.pg_password.clone()),
        ("metastore.thrift.port", p.thrift_port.to_string()),
        // Honoured by 4.0.0; 3.1.3 gets the same effect from the TServerSocket patch.
        ("metastore.thrift.bind.host", "127.0.0.1".into()),
        ("metastore.warehouse.dir", p.warehouse()),
        ("metastore.warehouse.external.dir", p.external_warehouse()),
        // Hive 4's default transformer turns managed tables of clients that declare no
        // capabilities (Spark's built-in Hive 2.3 client) into EXTERNAL tables moved under
        // the external warehouse. Spark-on-HMS deployments switch it off so a Spark-managed
        // table stays managed at the location Spark chose, as with 3.1.3. A blank value
        // (not empty: Hadoop treats empty as unset) disables it; 3.1.3 ignores the key.
        ("metastore.metadata.transformer.class", " ".into()),
        ("metastore.schema.verification", "true".into()),
        ("datanucleus.schema.autoCreateAll", "false".into()),
        // The defaults name hive-exec classes, absent from a standalone metastore.
        (
            "metastore.expression.proxy",
            "org.apache.hadoop.hive.metastore.DefaultPartitionExpressionProxy".into(),
        ),
        (
            "metastore.task.threads.always",
            "org.apache.hadoop.hive.metastore.events.EventCleanerTask".into(),
        ),
        // Spark's clients are not Hive superusers; let them read notification events.
        ("metastore.event.db.notification.api.auth", "false".into()),
        ("metastore.metrics.enabled", "false".into()),
        ("metastore.server.min.threads", "8".into()),
    ];
    props.extend(hadoop_props(p));
    configuration(&props)
}

/// The text of `core-site.xml` (S3A for code that builds its own Hadoop `Configuration`). Pure.
pub fn core_site(p: &HmsParams) -> String {
    configuration(&hadoop_props(p))
}

/// Log4j 2 configuration: everything to stdout (the supervisor's log file), INFO, with
/// DataNucleus quieted.
pub const LOG4J2_PROPERTIES: &str = "\
# Generated by spark-chaos.
status = WARN
name = MetastoreLog4j2
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_OUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{ISO8601} %5p [%t] %c{2}: %m%n
logger.DataNucleus.name = DataNucleus
logger.DataNucleus.level = ERROR
logger.Datastore.name = Datastore
logger.Datastore.level = ERROR
logger.JPOX.name = JPOX
logger.JPOX.level = ERROR
rootLogger.level = INFO
rootLogger.appenderRef.console.ref = console
";

/// The generated files of [`HmsParams::conf_dir`], by name. Pure.
pub fn config_files(p: &HmsParams) -> Vec<(&'static str, String)> {
    vec![
        ("metastore-site.xml", metastore_site(p)),
        ("core-site.xml", core_site(p)),
        ("metastore-log4j2.properties", LOG4J2_PROPERTIES.to_string()),
    ]
}

/// Writes [`config_files`] into the conf directory (readable by the owner only: they hold
/// credentials) and creates the working directory.
pub fn write_config(p: &HmsParams) -> Result<(), HmsError> {
    use std::os::unix::fs::OpenOptionsExt;
    for dir in [&p.conf_dir, &p.work_dir] {
        fs::create_dir_all(dir).map_err(|e| io_err("create directory", dir, e))?;
    }
    let tmp = p.work_dir.join("tmp");
    fs::create_dir_all(&tmp).map_err(|e| io_err("create directory", &tmp, e))?;
    for (name, text) in config_files(p) {
        let path = p.conf_dir.join(name);
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| io_err("write", &path, e))?;
        f.write_all(text.as_bytes())
            .map_err(|e| io_err("write", &path, e))?;
    }
    Ok(())
}

/// JVM options common to the server and the schema tool.
fn jvm_options(p: &HmsParams, heap: &str) -> Vec<String> {
    let mut args = vec![
        format!("-Xmx{heap}"),
        "-XX:+UseSerialGC".to_string(),
        "-Djava.net.preferIPv4Stack=true".to_string(),
        format!("-Djava.io.tmpdir={}", p.work_dir.join("tmp").display()),
        format!(
            "-Dlog4j.configurationFile={}",
            p.conf_dir.join("metastore-log4j2.properties").display()
        ),
        format!(
            "-Dlog4j2.configurationFile={}",
            p.conf_dir.join("metastore-log4j2.properties").display()
        ),
    ];
    for o in JAVA_17_OPENS {
        args.push(format!("--add-opens={o}"));
    }
    args
}

/// The classpath: configuration first (so `metastore-site.xml` is found as a resource), then
/// the 3.1.3 patch (so it shadows libthrift's class), then every jar.
pub fn classpath(p: &HmsParams) -> String {
    let mut parts = vec![p.conf_dir.display().to_string()];
    if p.line == SparkLine::V3_5 {
        parts.push(patch_dir(&p.jars_dir).join("classes").display().to_string());
    }
    parts.push(format!("{}/*", p.jars_dir.display()));
    parts.join(":")
}

fn env(p: &HmsParams) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    env.insert("JAVA_HOME".to_string(), p.java_home.display().to_string());
    env.insert(
        "METASTORE_CONF_DIR".to_string(),
        p.conf_dir.display().to_string(),
    );
    env.insert(
        "HIVE_CONF_DIR".to_string(),
        p.conf_dir.display().to_string(),
    );
    env.insert(
        "METASTORE_HOME".to_string(),
        metastore_home(&p.jars_dir, p.line).display().to_string(),
    );
    env
}

/// The metastore server's process. Pure. Expects [`install`] and [`write_config`] to have run
/// and the schema to be initialised ([`init_schema`]).
pub fn process_spec(p: &HmsParams) -> ProcessSpec {
    let mut args = jvm_options(p, HEAP);
    if p.line == SparkLine::V3_5 {
        args.push(format!("-D{BIND_HOST_PROPERTY}=127.0.0.1"));
    }
    args.push("-cp".into());
    args.push(classpath(p));
    args.push(MAIN_CLASS.into());
    ProcessSpec {
        program: p.java(),
        args,
        env: env(p),
        cwd: p.work_dir.clone(),
        log: p.log.clone(),
        run_as: None,
    }
}

/// The schema tool's process, with tool arguments such as `-info`. Pure.
pub fn schema_tool_spec(p: &HmsParams, tool_args: &[&str]) -> ProcessSpec {
    let mut args = jvm_options(p, "256m");
    args.push("-cp".into());
    args.push(classpath(p));
    args.push(schema_tool_class(p.line).into());
    args.extend(["-dbType".to_string(), "postgres".to_string()]);
    args.extend(tool_args.iter().map(|a| a.to_string()));
    ProcessSpec {
        program: p.java(),
        args,
        env: env(p),
        cwd: p.work_dir.clone(),
        log: p.log.clone(),
        run_as: None,
    }
}

/// What [`init_schema`] found or did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaState {
    /// The database already held the right schema; nothing was changed.
    AlreadyInitialised {
        /// The schema version found.
        version: String,
    },
    /// The schema was created now.
    Initialised {
        /// The schema version created.
        version: String,
    },
}

/// Writes the configuration ([`write_config`]) and initialises the metastore schema in
/// [`HmsParams::pg_db`] with Hive's schema tool, unless it is already there (`-info` reports
/// a version). Idempotent, so it can run before every start. The database must exist and be
/// owned by [`HmsParams::pg_user`]; [`install`] must have run. The tool's output is appended
/// to [`HmsParams::log`]. Blocking (one or two short JVM runs, about a second each).
pub fn init_schema(p: &HmsParams) -> Result<SchemaState, HmsError> {
    write_config(p)?;
    let expected = schema_version(p.line);
    let (ok, output) = run_tool(p, &["-info"])?;
    if let Some(found) = parse_schema_version(&output) {
        if found != expected {
            return Err(HmsError::SchemaMismatch {
                db: p.pg_db.clone(),
                hms: p.line.hms(),
                found,
                expected,
            });
        }
        return Ok(SchemaState::AlreadyInitialised { version: found });
    }
    // `-info` fails both on an empty database and on an unreachable one; in the second case
    // `-initSchema` fails too, with the connection error.
    if ok || !looks_uninitialised(&output) {
        let status = if ok {
            "0, but no version reported"
        } else {
            "non-zero"
        };
        return Err(schema_error(p, "read the schema version", status, &output));
    }
    let (ok, output) = run_tool(p, &["-initSchema"])?;
    if !ok {
        return Err(schema_error(
            p,
            "initialise the schema",
            "non-zero",
            &output,
        ));
    }
    Ok(SchemaState::Initialised {
        version: expected.to_string(),
    })
}

/// Runs the schema tool, appends its output to the log, and returns (success, output).
fn run_tool(p: &HmsParams, tool_args: &[&str]) -> Result<(bool, String), HmsError> {
    let spec = schema_tool_spec(p, tool_args);
    if let Some(dir) = p.log.parent() {
        fs::create_dir_all(dir).map_err(|e| io_err("create directory", dir, e))?;
    }
    let out = Command::new(&spec.program)
        .args(&spec.args)
        .envs(&spec.env)
        .current_dir(&spec.cwd)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| HmsError::Spawn {
            program: spec.program.clone(),
            source: e,
        })?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    let mut log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&p.log)
        .map_err(|e| io_err("append to", &p.log, e))?;
    let header = format!(
        "==== schematool {} (exit {}) ====\n",
        tool_args.join(" "),
        crate::install::steps::exit_text(&out.status)
    );
    log.write_all(header.as_bytes())
        .and_then(|()| log.write_all(text.as_bytes()))
        .map_err(|e| io_err("append to", &p.log, e))?;
    Ok((out.status.success(), text))
}

/// The version in the schema tool's `Metastore schema version: X` line.
pub fn parse_schema_version(output: &str) -> Option<String> {
    output
        .lines()
        .find_map(|l| l.trim().strip_prefix("Metastore schema version:"))
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Whether `-info` failed because the schema is missing (PostgreSQL reports the `VERSION`
/// table missing), rather than because PostgreSQL is unreachable or refused the credentials.
/// Relies on PostgreSQL's English messages (`lc_messages` C, as the local platform's initdb
/// sets it); with another language `-initSchema` is never attempted and the error says why.
fn looks_uninitialised(output: &str) -> bool {
    output
        .to_ascii_lowercase()
        .contains("relation \"version\" does not exist")
}

fn schema_error(p: &HmsParams, action: &'static str, status: &str, output: &str) -> HmsError {
    let tail: Vec<&str> = output.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = tail[tail.len().saturating_sub(6)..].join("\n");
    HmsError::SchemaTool {
        action,
        db: p.pg_db.clone(),
        status: status.to_string(),
        log: p.log.clone(),
        tail,
    }
}

use crate::text::xml_escape;

fn io_err(action: &'static str, path: &Path, source: std::io::Error) -> HmsError {
    HmsError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(line: SparkLine) -> HmsParams {
        HmsParams {
            line,
            thrift_port: 17005,
            pg_port: 17000,
            pg_db: format!("hms{}", line.slug()),
            pg_user: "chaos".into(),
            pg_password: "p<&>\"'w".into(),
            s3_endpoint: "http://127.0.0.1:17001".into(),
            s3_access_key: "AK".into(),
            s3_secret_key: "SK".into(),
            bucket: "lake".into(),
            java_home: "/jdk".into(),
            conf_dir: "/env/conf/metastore".into(),
            jars_dir: format!("/cache/maven/hms-{}/jars", line.hms()).into(),
            log: "/env/logs/metastore.log".into(),
            work_dir: "/env/work/metastore".into(),
        }
    }

    /// The value of `name` in a generated Hadoop configuration file.
    fn value(xml: &str, name: &str) -> Option<String> {
        let key = format!("<name>{name}</name>\n    <value>");
        let start = xml.find(&key)? + key.len();
        let end = start + xml[start..].find("</value>")?;
        Some(xml[start..end].to_string())
    }

    #[test]
    fn metastore_site_points_at_postgres_loopback_and_s3a() {
        let p = params(SparkLine::V3_5);
        let site = metastore_site(&p);
        let v = |k| value(&site, k);
        assert_eq!(
            v("javax.jdo.option.ConnectionURL").as_deref(),
            Some("jdbc:postgresql://127.0.0.1:17000/hms35")
        );
        assert_eq!(
            v("javax.jdo.option.ConnectionDriverName").as_deref(),
            Some("org.postgresql.Driver")
        );
        assert_eq!(
            v("javax.jdo.option.ConnectionUserName").as_deref(),
            Some("chaos")
        );
        assert_eq!(
            v("javax.jdo.option.ConnectionPassword").as_deref(),
            Some("p&lt;&amp;&gt;&quot;&apos;w")
        );
        assert_eq!(v("metastore.thrift.port").as_deref(), Some("17005"));
        assert_eq!(
            v("metastore.thrift.bind.host").as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(
            v("metastore.warehouse.dir").as_deref(),
            Some("s3a://lake/3.5/warehouse")
        );
        assert_eq!(
            v("metastore.warehouse.external.dir").as_deref(),
            Some("s3a://lake/3.5/warehouse")
        );
        assert_eq!(
            v("datanucleus.schema.autoCreateAll").as_deref(),
            Some("false")
        );
        assert_eq!(v("metastore.schema.verification").as_deref(), Some("true"));
        assert_eq!(
            v("metastore.expression.proxy").as_deref(),
            Some("org.apache.hadoop.hive.metastore.DefaultPartitionExpressionProxy")
        );
        assert_eq!(
            v("fs.s3a.endpoint").as_deref(),
            Some("http://127.0.0.1:17001")
        );
        assert_eq!(v("fs.s3a.path.style.access").as_deref(), Some("true"));
        assert_eq!(v("fs.s3a.connection.ssl.enabled").as_deref(), Some("false"));
        assert_eq!(v("fs.s3a.access.key").as_deref(), Some("AK"));
        assert_eq!(v("fs.s3a.secret.key").as_deref(), Some("SK"));
        assert_eq!(v("fs.s3a.bucket.probe").as_deref(), Some("0"));
        assert_eq!(
            v("hadoop.tmp.dir").as_deref(),
            Some("/env/work/metastore/hadoop-tmp")
        );
        assert!(site.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
        assert!(site.trim_end().ends_with("</configuration>"));
        // The 4.1 line gets its own database and prefix.
        let site41 = metastore_site(&params(SparkLine::V4_1));
        assert_eq!(
            value(&site41, "javax.jdo.option.ConnectionURL").as_deref(),
            Some("jdbc:postgresql://127.0.0.1:17000/hms41")
        );
        assert_eq!(
            value(&site41, "metastore.warehouse.dir").as_deref(),
            Some("s3a://lake/4.1/warehouse")
        );
    }

    #[test]
    fn core_site_carries_s3a_but_not_the_database_password() {
        let core = core_site(&params(SparkLine::V4_1));
        assert_eq!(
            value(&core, "fs.s3a.endpoint").as_deref(),
            Some("http://127.0.0.1:17001")
        );
        assert_eq!(
            value(&core, "fs.s3a.impl").as_deref(),
            Some("org.apache.hadoop.fs.s3a.S3AFileSystem")
        );
        assert!(!core.contains("javax.jdo"));
        let names: Vec<&str> = config_files(&params(SparkLine::V4_1))
            .iter()
            .map(|(n, _)| *n)
            .collect();
        assert_eq!(
            names,
            [
                "metastore-site.xml",
                "core-site.xml",
                "metastore-log4j2.properties"
            ]
        );
    }

    #[test]
    fn process_spec_runs_the_metastore_class_with_small_heap_on_loopback() {
        let p = params(SparkLine::V3_5);
        let spec = process_spec(&p);
        assert_eq!(spec.program, PathBuf::from("/jdk/bin/java"));
        assert_eq!(spec.args.last().map(String::as_str), Some(MAIN_CLASS));
        assert!(spec.args.contains(&"-Xmx512m".to_string()));
        assert!(spec
            .args
            .contains(&"--add-opens=java.base/java.lang=ALL-UNNAMED".to_string()));
        assert!(spec
            .args
            .contains(&format!("-D{BIND_HOST_PROPERTY}=127.0.0.1")));
        let cp = &spec.args[spec.args.iter().position(|a| a == "-cp").unwrap() + 1];
        assert_eq!(
            cp,
            "/env/conf/metastore:/cache/maven/hms-3.1.3/patch/classes:/cache/maven/hms-3.1.3/jars/*"
        );
        assert_eq!(
            spec.env.get("METASTORE_CONF_DIR").map(String::as_str),
            Some("/env/conf/metastore")
        );
        assert_eq!(
            spec.env.get("METASTORE_HOME").map(String::as_str),
            Some("/cache/maven/hms-3.1.3/dist/apache-hive-metastore-3.1.3-bin")
        );
        assert_eq!(spec.cwd, PathBuf::from("/env/work/metastore"));
        assert_eq!(spec.log, PathBuf::from("/env/logs/metastore.log"));
        assert_eq!(spec.run_as, None);

        // 4.0.0 binds by configuration: no patch, no property.
        let spec41 = process_spec(&params(SparkLine::V4_1));
        assert!(!spec41
            .args
            .iter()
            .any(|a| a.contains(BIND_HOST_PROPERTY) || a.contains("patch")));
    }

    #[test]
    fn schema_tool_spec_names_the_versions_tool_and_postgres() {
        let spec = schema_tool_spec(&params(SparkLine::V4_1), &["-info"]);
        let tail: Vec<&str> = spec
            .args
            .iter()
            .rev()
            .take(4)
            .rev()
            .map(String::as_str)
            .collect();
        assert_eq!(
            tail,
            [
                "org.apache.hadoop.hive.metastore.tools.schematool.MetastoreSchemaTool",
                "-dbType",
                "postgres",
                "-info"
            ]
        );
        assert!(spec.args.contains(&"-Xmx256m".to_string()));
    }

    #[test]
    fn artifacts_pin_the_documented_versions() {
        let coords = |line| {
            artifacts(line)
                .iter()
                .map(Artifact::to_string)
                .collect::<Vec<_>>()
        };
        let a35 = coords(SparkLine::V3_5);
        for want in [
            "org.apache.hive:hive-standalone-metastore:3.1.3",
            "com.google.guava:guava:19.0",
            "org.apache.hadoop:hadoop-aws:3.3.4",
            "com.amazonaws:aws-java-sdk-bundle:1.12.262",
            "org.postgresql:postgresql:42.5.1",
        ] {
            assert!(a35.iter().any(|c| c == want), "{want} in {a35:?}");
        }
        let a41 = coords(SparkLine::V4_1);
        for want in [
            "org.apache.hive:hive-standalone-metastore:4.0.0:pom",
            "org.apache.hive:hive-standalone-metastore-server:4.0.0",
            "org.apache.hadoop:hadoop-common:3.3.6",
            "org.apache.hadoop:hadoop-aws:3.3.6",
            "com.amazonaws:aws-java-sdk-bundle:1.12.367",
        ] {
            assert!(a41.iter().any(|c| c == want), "{want} in {a41:?}");
        }
        assert!(!a41.iter().any(|c| c.contains("guava")));
        assert_eq!(
            distribution(SparkLine::V4_1).to_string(),
            "org.apache.hive:hive-standalone-metastore-server:4.0.0:tar.gz:bin"
        );
        assert_eq!(maven_name(SparkLine::V3_5), "hms-3.1.3");
    }

    #[test]
    fn patch_source_reads_the_documented_property() {
        assert!(TSERVERSOCKET_JAVA.contains(&format!("\"{BIND_HOST_PROPERTY}\"")));
        assert!(TSERVERSOCKET_JAVA.contains("public class TServerSocket extends TServerTransport"));
    }

    #[test]
    fn schema_tool_output_is_understood() {
        let info = "Metastore connection User:\t hive\nHive distribution version:\t 3.1.0\nMetastore schema version:\t 3.1.0\nschemaTool completed\n";
        assert_eq!(parse_schema_version(info).as_deref(), Some("3.1.0"));
        let empty = "Failed to get schema version, Cause:ERROR: relation \"VERSION\" does not exist\n  Position: 32\n*** schemaTool failed ***";
        assert_eq!(parse_schema_version(empty), None);
        assert!(looks_uninitialised(empty));
        let refused = "Failed to get schema version.\nUnderlying cause: org.postgresql.util.PSQLException : Connection to 127.0.0.1:19499 refused.";
        assert!(!looks_uninitialised(refused));
        let auth = "Failed to get schema version, Cause:FATAL: password authentication failed for user \"hive\"";
        assert!(!looks_uninitialised(auth));
    }

    #[test]
    fn write_config_writes_owner_only_files() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mut p = params(SparkLine::V4_1);
        p.conf_dir = dir.path().join("conf");
        p.work_dir = dir.path().join("work");
        write_config(&p).unwrap();
        let site = fs::read_to_string(p.conf_dir.join("metastore-site.xml")).unwrap();
        assert_eq!(site, metastore_site(&p));
        let mode = fs::metadata(p.conf_dir.join("metastore-site.xml"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(p.work_dir.join("tmp").is_dir());
    }

    #[test]
    fn errors_read_after_failed_to() {
        let e = HmsError::SchemaMismatch {
            db: "hms41".into(),
            hms: "4.0.0",
            found: "3.1.0".into(),
            expected: "4.0.0",
        };
        assert!(e.to_string().starts_with(
            "use database `hms41` for Hive Metastore 4.0.0: it holds metastore schema 3.1.0"
        ));
        let e = HmsError::SchemaTool {
            action: "initialise the schema",
            db: "hms35".into(),
            status: "non-zero".into(),
            log: "/l".into(),
            tail: "boom".into(),
        };
        assert_eq!(e.to_string(), "initialise the schema of database `hms35` with Hive's schema tool (exit non-zero; output in /l): boom");
    }
}
