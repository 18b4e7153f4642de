//! Debian packages through apt-get, for the few system pieces the harness needs (PostgreSQL,
//! nftables). Only as root; otherwise the caller says what to run.

use std::process::Command;

use super::{steps, InstallError};

/// Installs `packages` (after `apt-get update`), showing progress as `what`.
pub fn install(what: &str, packages: &[&str]) -> Result<(), InstallError> {
    if !nix::unistd::Uid::effective().is_root() {
        return Err(InstallError::Missing {
            what: what.into(),
            how: format!(
                "run `sudo apt-get install {}` (chaos installs it itself only when run as root)",
                packages.join(" ")
            ),
        });
    }
    let t = steps::begin(&format!(
        "installing {what} from Debian packages (apt-get install {})",
        packages.join(" ")
    ));
    steps::run(
        "apt-get update",
        Command::new("apt-get").args(["update", "-q"]),
    )?;
    steps::run(
        &format!("apt-get install {}", packages.join(" ")),
        Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    steps::done(what, t);
    Ok(())
}

/// Makes sure `nft` (nftables) is there, for network partitions.
pub fn ensure_nftables() -> Result<(), InstallError> {
    let found = ["/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"]
        .iter()
        .any(|p| std::path::Path::new(p).is_file());
    if found {
        eprintln!("==> nftables: nft found");
        return Ok(());
    }
    install("nftables (for network partitions)", &["nftables"])
}
