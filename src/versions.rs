//! Pinned component versions: the one place they are named (see ../shared/DESIGN.md and
//! docs in ARCHITECTURE.md for why each pin is what it is).

use std::fmt;

/// One of the two Spark lines the harness runs side by side.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum SparkLine {
    /// Apache Spark 3.5.7 (LTS), Scala 2.12, Hadoop 3.3.4, Hive Metastore 3.1.3.
    #[serde(rename = "3.5.7")]
    V3_5,
    /// Apache Spark 4.1.0, Scala 2.13, Hadoop 3.4.2, Hive Metastore 4.0.0.
    #[serde(rename = "4.1.0")]
    V4_1,
}

impl SparkLine {
    /// Both lines, oldest first.
    pub const ALL: [SparkLine; 2] = [SparkLine::V3_5, SparkLine::V4_1];

    /// The full Spark version, e.g. `3.5.7`.
    pub fn version(self) -> &'static str {
        match self {
            SparkLine::V3_5 => "3.5.7",
            SparkLine::V4_1 => "4.1.0",
        }
    }

    /// The short line name used in S3 prefixes and database names, e.g. `3.5`.
    pub fn short(self) -> &'static str {
        match self {
            SparkLine::V3_5 => "3.5",
            SparkLine::V4_1 => "4.1",
        }
    }

    /// An identifier safe in file names, database names and component ids, e.g. `35`.
    pub fn slug(self) -> &'static str {
        match self {
            SparkLine::V3_5 => "35",
            SparkLine::V4_1 => "41",
        }
    }

    /// The Scala binary version Spark was built with.
    pub fn scala(self) -> &'static str {
        match self {
            SparkLine::V3_5 => "2.12",
            SparkLine::V4_1 => "2.13",
        }
    }

    /// The Hadoop version of the `hadoop-client-api` jar Spark ships; hadoop-aws must match it.
    pub fn hadoop(self) -> &'static str {
        match self {
            SparkLine::V3_5 => "3.3.4",
            SparkLine::V4_1 => "3.4.2",
        }
    }

    /// The standalone Hive Metastore version paired with this Spark line.
    pub fn hms(self) -> &'static str {
        match self {
            SparkLine::V3_5 => "3.1.3",
            SparkLine::V4_1 => "4.0.0",
        }
    }

    /// Parses `3.5.7`, `3.5`, `4.1.0` or `4.1`.
    pub fn parse(s: &str) -> Option<SparkLine> {
        match s.trim() {
            "3.5.7" | "3.5" => Some(SparkLine::V3_5),
            "4.1.0" | "4.1" => Some(SparkLine::V4_1),
            _ => None,
        }
    }
}

impl fmt::Display for SparkLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.version())
    }
}

impl std::str::FromStr for SparkLine {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SparkLine::parse(s)
            .ok_or_else(|| format!("unknown Spark version `{s}` (accepted: 3.5.7, 4.1.0)"))
    }
}

/// MinIO is built from the Go module proxy at this pseudo-version (the last commit published
/// there; MinIO's own release tags are not semver, so the proxy knows commits only).
pub const MINIO_MODULE: &str = "github.com/minio/minio";
/// See [`MINIO_MODULE`].
pub const MINIO_VERSION: &str = "v0.0.0-20260212201848-7aac2a2c5b7c";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_full_and_short_versions_only() {
        assert_eq!(SparkLine::parse("3.5.7"), Some(SparkLine::V3_5));
        assert_eq!(SparkLine::parse("4.1"), Some(SparkLine::V4_1));
        assert_eq!(SparkLine::parse("4.0.0"), None);
        assert!("3.4".parse::<SparkLine>().unwrap_err().contains("accepted"));
    }
}
