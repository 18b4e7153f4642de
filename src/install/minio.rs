//! MinIO built from the Go module proxy with `go install` at a pinned pseudo-version.

use std::process::Command;

use super::{steps, InstallError};
use crate::paths::Cache;
use crate::versions::{MINIO_MODULE, MINIO_VERSION};

/// Builds the MinIO server into the cache unless it is there.
pub fn ensure(cache: &Cache) -> Result<(), InstallError> {
    let bin = cache.minio_bin();
    if bin.is_file() {
        eprintln!("==> MinIO {MINIO_VERSION}: cached");
        return Ok(());
    }
    if !steps::on_path("go") {
        return Err(InstallError::Missing {
            what: "Go".into(),
            how: "apt-get install golang (Go 1.24 or newer)".into(),
        });
    }
    let dir = bin.parent().expect("minio bin has a parent").to_path_buf();
    let staging = dir.with_extension("staging");
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging)
        .map_err(|e| InstallError::io("create MinIO build dir", &staging, e))?;
    let t = steps::begin(&format!(
        "building MinIO {MINIO_VERSION} with go install (a few minutes the first time)"
    ));
    steps::run(
        "go install minio",
        Command::new("go")
            .args([
                "install",
                "-x=false",
                &format!("{MINIO_MODULE}@{MINIO_VERSION}"),
            ])
            .env("GOBIN", &staging)
            .env("CGO_ENABLED", "0")
            .env("GOFLAGS", "-buildvcs=false -trimpath"),
    )?;
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&staging, &dir)
        .map_err(|e| InstallError::io("move MinIO into the cache", &dir, e))?;
    steps::done("MinIO", t);
    Ok(())
}
