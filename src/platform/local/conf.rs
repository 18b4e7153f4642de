//! Pure generation of Spark configuration files for one Spark line of an environment.

use std::fmt::Write as _;

use crate::versions::SparkLine;

/// Everything the Spark configuration of one line depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SparkConfInput {
    /// The Spark line.
    pub line: SparkLine,
    /// Standalone master RPC port.
    pub master_port: u16,
    /// The line's Hive Metastore Thrift port.
    pub metastore_port: u16,
    /// MinIO's S3 API port.
    pub s3_port: u16,
    /// The bucket holding every prefix.
    pub bucket: String,
    /// S3 access key (written only to files of mode 0600).
    pub s3_access_key: String,
    /// S3 secret key (written only to files of mode 0600).
    pub s3_secret_key: String,
    /// Executor heap, e.g. `1g`.
    pub executor_memory: String,
    /// Cores per executor.
    pub executor_cores: u32,
    /// Executors per application (one per worker).
    pub executors: u32,
    /// Driver (Connect server) heap, e.g. `1g`.
    pub driver_memory: String,
    /// Dynamic allocation with shuffle tracking instead of a fixed executor count.
    pub dynamic_allocation: bool,
    /// History Server UI/REST port.
    pub history_port: u16,
    /// Extra `spark.*` settings, applied last (scenario overrides).
    pub overrides: Vec<(String, String)>,
}

/// The S3 URI prefix of a line: `s3a://<bucket>/<short>`.
pub fn s3_prefix(bucket: &str, line: SparkLine) -> String {
    format!("s3a://{bucket}/{}", line.short())
}

/// The `spark-defaults.conf` shared by a line's Connect servers and History Server.
pub fn spark_defaults(c: &SparkConfInput) -> String {
    let prefix = s3_prefix(&c.bucket, c.line);
    let mut kv: Vec<(String, String)> = vec![
        (
            "spark.master".into(),
            format!("spark://127.0.0.1:{}", c.master_port),
        ),
        ("spark.driver.host".into(), "127.0.0.1".into()),
        ("spark.driver.bindAddress".into(), "127.0.0.1".into()),
        ("spark.driver.memory".into(), c.driver_memory.clone()),
        ("spark.executor.memory".into(), c.executor_memory.clone()),
        ("spark.executor.cores".into(), c.executor_cores.to_string()),
        (
            "spark.cores.max".into(),
            (c.executor_cores * c.executors).to_string(),
        ),
        ("spark.sql.shuffle.partitions".into(), "4".into()),
        ("spark.sql.catalogImplementation".into(), "hive".into()),
        (
            "spark.hadoop.hive.metastore.uris".into(),
            format!("thrift://127.0.0.1:{}", c.metastore_port),
        ),
        (
            "spark.sql.warehouse.dir".into(),
            format!("{prefix}/warehouse"),
        ),
        ("spark.eventLog.enabled".into(), "true".into()),
        ("spark.eventLog.dir".into(), format!("{prefix}/events")),
        (
            "spark.history.fs.logDirectory".into(),
            format!("{prefix}/events"),
        ),
        ("spark.history.fs.update.interval".into(), "2s".into()),
        ("spark.history.ui.port".into(), c.history_port.to_string()),
        (
            "spark.connect.grpc.binding.address".into(),
            "127.0.0.1".into(),
        ),
        (
            "spark.hadoop.fs.s3a.impl".into(),
            "org.apache.hadoop.fs.s3a.S3AFileSystem".into(),
        ),
        (
            "spark.hadoop.fs.s3a.endpoint".into(),
            format!("http://127.0.0.1:{}", c.s3_port),
        ),
        (
            "spark.hadoop.fs.s3a.endpoint.region".into(),
            "us-east-1".into(),
        ),
        (
            "spark.hadoop.fs.s3a.path.style.access".into(),
            "true".into(),
        ),
        (
            "spark.hadoop.fs.s3a.connection.ssl.enabled".into(),
            "false".into(),
        ),
        (
            "spark.hadoop.fs.s3a.aws.credentials.provider".into(),
            "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider".into(),
        ),
        (
            "spark.hadoop.fs.s3a.access.key".into(),
            c.s3_access_key.clone(),
        ),
        (
            "spark.hadoop.fs.s3a.secret.key".into(),
            c.s3_secret_key.clone(),
        ),
        // Spark redacts matching keys in its UI, logs and event logs.
        (
            "spark.redaction.regex".into(),
            "(?i)secret|password|token|access[.]key".into(),
        ),
        ("spark.ui.showConsoleProgress".into(), "false".into()),
    ];
    if c.dynamic_allocation {
        kv.push(("spark.dynamicAllocation.enabled".into(), "true".into()));
        kv.push((
            "spark.dynamicAllocation.shuffleTracking.enabled".into(),
            "true".into(),
        ));
        kv.push(("spark.dynamicAllocation.minExecutors".into(), "1".into()));
        kv.push((
            "spark.dynamicAllocation.maxExecutors".into(),
            c.executors.to_string(),
        ));
    }
    for (k, v) in &c.overrides {
        match kv.iter_mut().find(|(key, _)| key == k) {
            Some(slot) => slot.1 = v.clone(),
            None => kv.push((k.clone(), v.clone())),
        }
    }
    let mut out = format!(
        "# Generated by chaos for Spark {}; do not edit (regenerated by `chaos env up`).\n",
        c.line
    );
    for (k, v) in kv {
        let _ = writeln!(out, "{k} {v}");
    }
    out
}

/// A log4j2 configuration that keeps component logs readable: INFO for Spark's own
/// lifecycle, WARN for the chattiest libraries.
pub fn log4j2_properties() -> &'static str {
    "rootLogger.level = info\n\
     rootLogger.appenderRef.stdout.ref = console\n\
     appender.console.type = Console\n\
     appender.console.name = console\n\
     appender.console.target = SYSTEM_ERR\n\
     appender.console.layout.type = PatternLayout\n\
     appender.console.layout.pattern = %d{yyyy-MM-dd'T'HH:mm:ss.SSS} %p %c{1}: %m%n%ex\n\
     logger.jetty.name = org.sparkproject.jetty\n\
     logger.jetty.level = warn\n\
     logger.hive.name = org.apache.hadoop.hive\n\
     logger.hive.level = warn\n\
     logger.datanucleus.name = DataNucleus\n\
     logger.datanucleus.level = warn\n\
     logger.aws.name = com.amazonaws\n\
     logger.aws.level = warn\n\
     logger.awssdk.name = software.amazon.awssdk\n\
     logger.awssdk.level = warn\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(line: SparkLine) -> SparkConfInput {
        SparkConfInput {
            line,
            master_port: 17010,
            metastore_port: 17005,
            s3_port: 17001,
            bucket: "chaos".into(),
            s3_access_key: "AK".into(),
            s3_secret_key: "SK".into(),
            executor_memory: "1g".into(),
            executor_cores: 1,
            executors: 2,
            driver_memory: "1g".into(),
            dynamic_allocation: false,
            history_port: 17030,
            overrides: vec![],
        }
    }

    fn value<'a>(conf: &'a str, key: &str) -> Option<&'a str> {
        conf.lines()
            .find_map(|l| l.strip_prefix(key).and_then(|rest| rest.strip_prefix(' ')))
    }

    #[test]
    fn each_line_gets_its_own_prefixes_and_metastore() {
        let c35 = spark_defaults(&input(SparkLine::V3_5));
        let mut i41 = input(SparkLine::V4_1);
        i41.metastore_port = 17006;
        let c41 = spark_defaults(&i41);
        assert_eq!(
            value(&c35, "spark.eventLog.dir"),
            Some("s3a://chaos/3.5/events")
        );
        assert_eq!(
            value(&c41, "spark.sql.warehouse.dir"),
            Some("s3a://chaos/4.1/warehouse")
        );
        assert_eq!(
            value(&c35, "spark.hadoop.hive.metastore.uris"),
            Some("thrift://127.0.0.1:17005")
        );
        assert_eq!(
            value(&c41, "spark.hadoop.hive.metastore.uris"),
            Some("thrift://127.0.0.1:17006")
        );
        assert_eq!(value(&c35, "spark.cores.max"), Some("2"));
        assert_eq!(value(&c35, "spark.dynamicAllocation.enabled"), None);
    }

    #[test]
    fn overrides_replace_in_place_or_append() {
        let mut i = input(SparkLine::V3_5);
        i.dynamic_allocation = true;
        i.overrides = vec![
            ("spark.sql.shuffle.partitions".into(), "8".into()),
            ("spark.sql.ansi.enabled".into(), "true".into()),
        ];
        let c = spark_defaults(&i);
        assert_eq!(value(&c, "spark.sql.shuffle.partitions"), Some("8"));
        assert_eq!(c.matches("spark.sql.shuffle.partitions").count(), 1);
        assert_eq!(value(&c, "spark.sql.ansi.enabled"), Some("true"));
        assert_eq!(
            value(&c, "spark.dynamicAllocation.shuffleTracking.enabled"),
            Some("true")
        );
    }
}
