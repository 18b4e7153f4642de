//! The one acknowledgement protocol between commands and the supervisor: a command writes a
//! file with a bumped generation (the fault ledger, `faults/routes.json`), the supervisor acts
//! on it in its poll loop and writes back the generation it applied (`faults/applied.json`,
//! `faults/routes-applied.json`). [`wait`] is the command's side.

use std::path::Path;
use std::time::{Duration, Instant};

/// Why a wait for the supervisor ended without its acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AckError {
    /// Not acknowledged within the timeout.
    Timeout(Duration),
}

impl AckError {
    /// A sentence for people: what was not applied and where to look.
    pub fn describe(&self, what: &str, home: &Path) -> String {
        match self {
            AckError::Timeout(t) => format!(
                "the supervisor did not apply the {what} within {}s (see {})",
                t.as_secs(),
                home.join("logs").join("supervisor.log").display()
            ),
        }
    }
}

/// Whether the supervisor acknowledged `generation`: polls `applied` (the generation it last
/// applied, if any) every 10 ms until it reaches `generation`. Returns `Ok(false)` at once when
/// `supervisor_up` says no supervisor runs (nothing can be in force then), `Ok(true)` once
/// acknowledged.
pub fn wait(
    applied: impl Fn() -> Option<u64>,
    generation: u64,
    supervisor_up: impl Fn() -> bool,
    timeout: Duration,
) -> Result<bool, AckError> {
    let t = Instant::now();
    let mut checks = 0u32;
    loop {
        if applied().is_some_and(|g| g >= generation) {
            return Ok(true);
        }
        // Asking whether the supervisor runs reads its state file: every 50th poll is enough.
        if checks % 50 == 0 && !supervisor_up() {
            return Ok(false);
        }
        checks += 1;
        if t.elapsed() > timeout {
            return Err(AckError::Timeout(timeout));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn waits_for_the_generation_and_not_longer() {
        let seen = Cell::new(0u64);
        let applied = || {
            seen.set(seen.get() + 1);
            Some(seen.get() / 3)
        };
        assert_eq!(wait(applied, 2, || true, Duration::from_secs(5)), Ok(true));
    }

    #[test]
    fn no_supervisor_means_nothing_to_wait_for() {
        assert_eq!(
            wait(|| None, 7, || false, Duration::from_secs(5)),
            Ok(false)
        );
    }

    #[test]
    fn times_out_with_a_readable_reason() {
        let e = wait(|| Some(1), 2, || true, Duration::from_millis(50)).unwrap_err();
        let text = e.describe("route", Path::new("/h"));
        assert!(
            text.starts_with("the supervisor did not apply the route within 0s"),
            "{text}"
        );
        assert!(text.contains("/h/logs/supervisor.log"), "{text}");
    }
}
