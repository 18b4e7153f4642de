//! PostgreSQL from Debian's packages: found where Debian puts it, installed with apt-get
//! when missing and the harness runs as root.

use super::InstallError;
use std::path::PathBuf;

/// Returns PostgreSQL's bin directory, installing the `postgresql` package if needed.
pub fn ensure() -> Result<PathBuf, InstallError> {
    if let Some(bin) = find() {
        eprintln!("==> PostgreSQL: {}", bin.display());
        return Ok(bin);
    }
    super::apt::install(
        "PostgreSQL server (initdb, postgres)",
        &["postgresql", "postgresql-client"],
    )?;
    find().ok_or_else(|| {
        InstallError::Invalid(
            "apt-get installed postgresql but no initdb was found under /usr/lib/postgresql".into(),
        )
    })
}

/// The newest `/usr/lib/postgresql/<major>/bin` that has `initdb` and `postgres`.
pub fn find() -> Option<PathBuf> {
    let mut majors: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let major: u32 = e.file_name().to_string_lossy().parse().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("postgres").is_file()).then_some((major, bin))
        })
        .collect();
    majors.sort();
    majors.pop().map(|(_, bin)| bin)
}
