//! A Spark distribution per line, from the `pyspark` source distribution on PyPI (it carries
//! the full distribution under `deps/`: bin/, sbin/, jars/), plus the jars the harness needs
//! on every Spark classpath, resolved from Maven Central and linked into `jars/`:
//! S3A (`hadoop-aws` matching Spark's Hadoop, with its AWS SDK) for both lines, and for 3.5.7
//! the Spark Connect server, which 3.5's distribution does not ship.

use std::path::Path;
use std::process::Command;

use super::maven::{self, Artifact};
use super::{steps, InstallError};
use crate::paths::Cache;
use crate::versions::SparkLine;

const MARKER: &str = ".chaos-installed";

/// The Maven artifacts added to a line's `jars/`, each resolved with its runtime dependencies
/// unless listed in [`extra_jars_intransitive`].
pub fn extra_jars(line: SparkLine) -> Vec<Artifact> {
    vec![Artifact::jar(
        "org.apache.hadoop",
        "hadoop-aws",
        line.hadoop(),
    )]
}

/// Artifacts added without their dependencies (they are shaded, or Spark already has them).
pub fn extra_jars_intransitive(line: SparkLine) -> Vec<Artifact> {
    match line {
        SparkLine::V3_5 => vec![Artifact::jar(
            "org.apache.spark",
            "spark-connect_2.12",
            line.version(),
        )],
        SparkLine::V4_1 => vec![],
    }
}

/// Installs the distribution of `line` into the cache unless it is there.
pub fn ensure(cache: &Cache, line: SparkLine, java_home: &Path) -> Result<(), InstallError> {
    let home = cache.spark_home(line);
    if home.join(MARKER).is_file() {
        eprintln!("==> Spark {line}: cached at {}", home.display());
        return Ok(());
    }
    let sdist = download_sdist(cache, line)?;

    let t = steps::begin(&format!("unpacking Spark {line} from {}", sdist.display()));
    let staging = home.with_extension("staging");
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging)
        .map_err(|e| InstallError::io("create Spark staging dir", &staging, e))?;
    steps::run(
        "unpack pyspark sdist",
        Command::new("tar")
            .arg("-xzf")
            .arg(&sdist)
            .arg("-C")
            .arg(&staging)
            .arg("--strip-components=2")
            .arg(format!("pyspark-{}/deps", line.version())),
    )?;
    if !staging.join("bin/spark-class").is_file() || !staging.join("jars").is_dir() {
        return Err(InstallError::Invalid(format!(
            "{} has no deps/bin/spark-class or deps/jars: not a full Spark distribution",
            sdist.display()
        )));
    }
    steps::done(&format!("Spark {line}"), t);

    let t = steps::begin(&format!(
        "resolving S3A and Connect jars for Spark {line} from Maven Central"
    ));
    let mut jar_dirs = vec![maven::resolve(
        cache,
        &format!("spark-{}-extra", line.slug()),
        &extra_jars(line),
        &[],
    )?];
    let intransitive = extra_jars_intransitive(line);
    if !intransitive.is_empty() {
        jar_dirs.push(maven::resolve(
            cache,
            &format!("spark-{}-extra-nodeps", line.slug()),
            &intransitive,
            &["*:*"],
        )?);
    }
    let jars = staging.join("jars");
    for dir in jar_dirs {
        for entry in
            std::fs::read_dir(&dir).map_err(|e| InstallError::io("list resolved jars", &dir, e))?
        {
            let entry = entry.map_err(|e| InstallError::io("list resolved jars", &dir, e))?;
            let name = entry.file_name();
            if jars.join(&name).exists() || already_shipped(&jars, &name.to_string_lossy()) {
                continue;
            }
            std::os::unix::fs::symlink(entry.path(), jars.join(&name))
                .map_err(|e| InstallError::io("link jar into Spark", jars.join(&name), e))?;
        }
    }
    steps::done("extra jars", t);

    let _ = java_home; // every launch sets JAVA_HOME itself; nothing to patch in the distribution
    std::fs::write(
        staging.join(MARKER),
        format!("pyspark {} from PyPI\n", line.version()),
    )
    .map_err(|e| InstallError::io("mark Spark installed", staging.join(MARKER), e))?;
    let _ = std::fs::remove_dir_all(&home);
    std::fs::rename(&staging, &home)
        .map_err(|e| InstallError::io("move Spark into the cache", &home, e))?;
    Ok(())
}

/// Whether Spark already ships a jar of the same artifact (any version): adding a second copy
/// would put two versions of one library on the classpath.
fn already_shipped(jars: &Path, file: &str) -> bool {
    let Some(artifact) = artifact_name(file) else {
        return false;
    };
    std::fs::read_dir(jars)
        .map(|rd| {
            rd.filter_map(|e| e.ok()).any(|e| {
                artifact_name(&e.file_name().to_string_lossy()).as_deref()
                    == Some(artifact.as_str())
            })
        })
        .unwrap_or(false)
}

/// `jackson-core-2.15.2.jar` → `jackson-core`: the name before the first `-<digit>`.
pub fn artifact_name(file: &str) -> Option<String> {
    let stem = file.strip_suffix(".jar")?;
    let bytes = stem.as_bytes();
    let cut = (1..bytes.len()).find(|&i| bytes[i - 1] == b'-' && bytes[i].is_ascii_digit())?;
    Some(stem[..cut - 1].to_string())
}

fn download_sdist(cache: &Cache, line: SparkLine) -> Result<std::path::PathBuf, InstallError> {
    let downloads = cache.downloads();
    let file = downloads.join(format!("pyspark-{}.tar.gz", line.version()));
    if file.is_file() {
        return Ok(file);
    }
    std::fs::create_dir_all(&downloads)
        .map_err(|e| InstallError::io("create downloads dir", &downloads, e))?;
    let python = if steps::on_path("python3") {
        "python3"
    } else {
        "python"
    };
    let t = steps::begin(&format!(
        "downloading pyspark {} sdist from PyPI (~{} MB)",
        line.version(),
        sdist_mb(line)
    ));
    steps::run(
        "pip download pyspark",
        Command::new(python)
            .args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--no-binary",
                ":all:",
                "--progress-bar",
                "on",
                "-d",
            ])
            .arg(&downloads)
            .arg(format!("pyspark=={}", line.version())),
    )
    .map_err(|e| match e {
        InstallError::Spawn { .. } => InstallError::Missing {
            what: "Python 3 with pip".into(),
            how: "apt-get install python3-pip".into(),
        },
        other => other,
    })?;
    steps::done("pyspark sdist", t);
    if file.is_file() {
        Ok(file)
    } else {
        Err(InstallError::Invalid(format!(
            "pip download finished but {} is not there",
            file.display()
        )))
    }
}

fn sdist_mb(line: SparkLine) -> u32 {
    match line {
        SparkLine::V3_5 => 317,
        SparkLine::V4_1 => 455,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_names_drop_versions() {
        assert_eq!(
            artifact_name("jackson-core-2.15.2.jar").as_deref(),
            Some("jackson-core")
        );
        assert_eq!(
            artifact_name("hadoop-aws-3.3.4.jar").as_deref(),
            Some("hadoop-aws")
        );
        assert_eq!(
            artifact_name("spark-connect_2.12-3.5.7.jar").as_deref(),
            Some("spark-connect_2.12")
        );
        assert_eq!(
            artifact_name("aws-java-sdk-bundle-1.12.262.jar").as_deref(),
            Some("aws-java-sdk-bundle")
        );
        assert_eq!(artifact_name("README"), None);
    }
}
