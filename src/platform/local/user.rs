//! Running a component as another user (PostgreSQL refuses to run as root).

use std::os::unix::process::CommandExt;
use std::process::Command;

use nix::unistd::{Gid, Uid};

/// Looks up a user's uid and gid.
pub fn lookup_user(name: &str) -> Result<(Uid, Gid), String> {
    match nix::unistd::User::from_name(name) {
        Ok(Some(u)) => Ok((u.uid, u.gid)),
        Ok(None) => Err(format!(
            "no user `{name}` on this machine (install postgresql to create it)"
        )),
        Err(e) => Err(format!("look up user `{name}`: {e}")),
    }
}

/// Makes `cmd` run as `user` (when given and the harness is root).
pub fn apply_run_as(cmd: &mut Command, user: Option<&str>) -> Result<(), String> {
    if let Some(user) = user {
        if Uid::effective().is_root() {
            let (uid, gid) = lookup_user(user)?;
            cmd.uid(uid.as_raw()).gid(gid.as_raw());
        }
    }
    Ok(())
}
