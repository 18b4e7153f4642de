//! The charts, embedded in the binary so that `chaos` installs the charts it was built with
//! from any directory. [`write`] lays them out as on disk, the library chart `spark-common`
//! copied into each chart's `charts/` (the repository links it there).

use std::path::{Path, PathBuf};

/// The library chart every chart depends on.
pub const LIBRARY: &str = "spark-common";

/// The charts installed, in install order.
pub const CHARTS: [&str; 3] = ["spark-base", "spark-3.5", "spark-4.1"];

/// Every chart file: its path under `charts/` and its text (a test checks this list against
/// the repository).
pub const FILES: &[(&str, &str)] = &[
    (
        "spark-3.5/Chart.yaml",
        include_str!("../../../charts/spark-3.5/Chart.yaml"),
    ),
    (
        "spark-3.5/templates/NOTES.txt",
        include_str!("../../../charts/spark-3.5/templates/NOTES.txt"),
    ),
    (
        "spark-3.5/templates/spark.yaml",
        include_str!("../../../charts/spark-3.5/templates/spark.yaml"),
    ),
    (
        "spark-3.5/values-minimal.yaml",
        include_str!("../../../charts/spark-3.5/values-minimal.yaml"),
    ),
    (
        "spark-3.5/values-production.yaml",
        include_str!("../../../charts/spark-3.5/values-production.yaml"),
    ),
    (
        "spark-3.5/values.yaml",
        include_str!("../../../charts/spark-3.5/values.yaml"),
    ),
    (
        "spark-4.1/Chart.yaml",
        include_str!("../../../charts/spark-4.1/Chart.yaml"),
    ),
    (
        "spark-4.1/templates/NOTES.txt",
        include_str!("../../../charts/spark-4.1/templates/NOTES.txt"),
    ),
    (
        "spark-4.1/templates/spark.yaml",
        include_str!("../../../charts/spark-4.1/templates/spark.yaml"),
    ),
    (
        "spark-4.1/values-minimal.yaml",
        include_str!("../../../charts/spark-4.1/values-minimal.yaml"),
    ),
    (
        "spark-4.1/values-production.yaml",
        include_str!("../../../charts/spark-4.1/values-production.yaml"),
    ),
    (
        "spark-4.1/values.yaml",
        include_str!("../../../charts/spark-4.1/values.yaml"),
    ),
    (
        "spark-base/Chart.yaml",
        include_str!("../../../charts/spark-base/Chart.yaml"),
    ),
    (
        "spark-base/templates/NOTES.txt",
        include_str!("../../../charts/spark-base/templates/NOTES.txt"),
    ),
    (
        "spark-base/templates/bucket-job.yaml",
        include_str!("../../../charts/spark-base/templates/bucket-job.yaml"),
    ),
    (
        "spark-base/templates/edges.yaml",
        include_str!("../../../charts/spark-base/templates/edges.yaml"),
    ),
    (
        "spark-base/templates/minio.yaml",
        include_str!("../../../charts/spark-base/templates/minio.yaml"),
    ),
    (
        "spark-base/templates/networkpolicies.yaml",
        include_str!("../../../charts/spark-base/templates/networkpolicies.yaml"),
    ),
    (
        "spark-base/templates/postgres.yaml",
        include_str!("../../../charts/spark-base/templates/postgres.yaml"),
    ),
    (
        "spark-base/templates/secrets.yaml",
        include_str!("../../../charts/spark-base/templates/secrets.yaml"),
    ),
    (
        "spark-base/values-minimal.yaml",
        include_str!("../../../charts/spark-base/values-minimal.yaml"),
    ),
    (
        "spark-base/values-production.yaml",
        include_str!("../../../charts/spark-base/values-production.yaml"),
    ),
    (
        "spark-base/values.yaml",
        include_str!("../../../charts/spark-base/values.yaml"),
    ),
    (
        "spark-common/Chart.yaml",
        include_str!("../../../charts/spark-common/Chart.yaml"),
    ),
    (
        "spark-common/templates/_conf.tpl",
        include_str!("../../../charts/spark-common/templates/_conf.tpl"),
    ),
    (
        "spark-common/templates/_connect.tpl",
        include_str!("../../../charts/spark-common/templates/_connect.tpl"),
    ),
    (
        "spark-common/templates/_meta.tpl",
        include_str!("../../../charts/spark-common/templates/_meta.tpl"),
    ),
    (
        "spark-common/templates/_metastore.tpl",
        include_str!("../../../charts/spark-common/templates/_metastore.tpl"),
    ),
    (
        "spark-common/templates/_netpol.tpl",
        include_str!("../../../charts/spark-common/templates/_netpol.tpl"),
    ),
    (
        "spark-common/templates/_proxy.tpl",
        include_str!("../../../charts/spark-common/templates/_proxy.tpl"),
    ),
];

/// What this binary installs, as a digest: every embedded chart file and the harness binary
/// itself (its size and modification time; its image, which the fault proxy pods run, is
/// built from it). An environment installed by another binary or other charts differs.
pub fn install_digest() -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for (rel, text) in FILES {
        h.update(rel.as_bytes());
        h.update([0]);
        h.update(text.as_bytes());
        h.update([0]);
    }
    if let Ok(meta) = std::env::current_exe().and_then(std::fs::metadata) {
        h.update(meta.len().to_le_bytes());
        if let Ok(t) = meta.modified() {
            if let Ok(d) = t.duration_since(std::time::UNIX_EPOCH) {
                h.update(d.as_nanos().to_le_bytes());
            }
        }
    }
    let out = h.finalize();
    out.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Writes every chart under `dir` (`dir/spark-base`, …) with the library chart inside each,
/// replacing what an older binary wrote there. Returns `dir`.
pub fn write(dir: &Path) -> std::io::Result<PathBuf> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    for (rel, text) in FILES {
        let mut targets = vec![dir.join(rel)];
        if let Some(inner) = rel.strip_prefix(&format!("{LIBRARY}/")) {
            targets.clear();
            for chart in CHARTS {
                targets.push(dir.join(chart).join("charts").join(LIBRARY).join(inner));
            }
        }
        for t in targets {
            if let Some(p) = t.parent() {
                std::fs::create_dir_all(p)?;
            }
            std::fs::write(&t, text)?;
        }
    }
    Ok(dir.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_chart_file_in_the_repository_is_embedded() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("charts");
        let mut on_disk = Vec::new();
        fn walk(d: &Path, root: &Path, out: &mut Vec<String>) {
            for e in std::fs::read_dir(d).unwrap().flatten() {
                let p = e.path();
                let meta = std::fs::symlink_metadata(&p).unwrap();
                if meta.file_type().is_symlink() {
                    continue;
                }
                if meta.is_dir() {
                    walk(&p, root, out);
                } else {
                    out.push(p.strip_prefix(root).unwrap().display().to_string());
                }
            }
        }
        walk(&root, &root, &mut on_disk);
        on_disk.retain(|p| p.starts_with("spark-"));
        on_disk.sort();
        let mut embedded: Vec<String> = FILES.iter().map(|(p, _)| p.to_string()).collect();
        embedded.sort();
        assert_eq!(embedded, on_disk, "update charts::FILES");
    }

    #[test]
    fn the_library_is_laid_inside_each_chart() {
        let d = tempfile::tempdir().unwrap();
        let out = write(&d.path().join("charts")).unwrap();
        for c in CHARTS {
            assert!(out.join(c).join("Chart.yaml").is_file());
            assert!(out
                .join(c)
                .join("charts/spark-common/templates/_meta.tpl")
                .is_file());
        }
        assert!(!out.join(LIBRARY).exists());
    }
}
