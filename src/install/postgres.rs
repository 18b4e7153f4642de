//! PostgreSQL from Debian's packages: found where Debian puts it, installed with apt-get
//! when missing and the harness runs as root.

use std::path::PathBuf;
use std::process::Command;

use super::{steps, InstallError};

/// Returns PostgreSQL's bin directory, installing the `postgresql` package if needed.
pub fn ensure() -> Result<PathBuf, InstallError> {
    if let Some(bin) = find() {
        eprintln!("==> PostgreSQL: {}", bin.display());
        return Ok(bin);
    }
    if !nix::unistd::Uid::effective().is_root() {
        return Err(InstallError::Missing {
            what: "PostgreSQL server (initdb, postgres)".into(),
            how: "run `sudo apt-get install postgresql` (chaos installs it itself only when run as root)".into(),
        });
    }
    let t = steps::begin("installing PostgreSQL from Debian packages (apt-get install postgresql)");
    steps::run(
        "apt-get update",
        Command::new("apt-get").args(["update", "-q"]),
    )?;
    steps::run(
        "apt-get install postgresql",
        Command::new("apt-get")
            .args([
                "install",
                "-y",
                "-q",
                "--no-install-recommends",
                "postgresql",
                "postgresql-client",
            ])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    steps::done("PostgreSQL", t);
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
