//! Hive Metastore per Spark line: the artifacts from Maven Central, the schema scripts, and the
//! loopback patch for 3.1.3 — installed into the cache for any platform (the local platform
//! configures and launches it in `platform/local/hms.rs`).
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

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::maven::{self, Artifact, MavenError};
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
pub(crate) const TSERVERSOCKET_JAVA: &str = r#"/*
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

pub(crate) fn io_err(action: &'static str, path: &Path, source: std::io::Error) -> HmsError {
    HmsError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}
