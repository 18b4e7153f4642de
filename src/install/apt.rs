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
    // Two chaos processes (a suite and a cluster, two tests) must not race for dpkg's locks:
    // take ours first, and let apt itself wait for one held by anything else.
    let _turn = turn();
    steps::run(
        "apt-get update",
        Command::new("apt-get").args(["update", "-q", "-o", LOCK_WAIT]),
    )?;
    steps::run(
        &format!("apt-get install {}", packages.join(" ")),
        Command::new("apt-get")
            .args([
                "install",
                "-y",
                "-q",
                "--no-install-recommends",
                "-o",
                LOCK_WAIT,
            ])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    steps::done(what, t);
    Ok(())
}

/// How long apt waits for a lock another program holds (unattended upgrades, say), seconds.
const LOCK_WAIT: &str = "DPkg::Lock::Timeout=600";

/// An exclusive lock all chaos processes of this machine take around apt-get (released when
/// dropped); None when it cannot be had, in which case apt's own waiting is all there is.
fn turn() -> Option<nix::fcntl::Flock<std::fs::File>> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open("/run/lock/spark-chaos-apt.lock")
        .ok()?;
    nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive).ok()
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
