//! Routing the cut-over endpoints (the `edge-R` links) to one version's Connect servers
//! through the supervisor, and waiting on the supervisor's view of those servers. Only
//! `switcher.rs` uses this module.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::paths::EnvHome;
use crate::platform::local::links;
use crate::platform::local::plan::{Plan, Role};
use crate::platform::local::state::EnvState;
use crate::versions::SparkLine;

/// How long the supervisor may take to apply a route.
const ROUTE_ACK_TIMEOUT: Duration = Duration::from_secs(10);

/// Points every edge at `line`'s Connect servers and waits for the supervisor to apply it.
pub(super) fn route_to(home: &Path, plan: &Plan, line: SparkLine) -> Result<(), String> {
    let routes = plan
        .links
        .iter()
        .filter(|l| l.is_edge())
        .enumerate()
        .map(|(r, l)| (l.id.clone(), format!("connect-{}-{r}", line.slug())))
        .collect();
    request_and_wait(home, routes)
}

/// Points every edge back at its planned upstream.
pub(super) fn route_as_planned(home: &Path, plan: &Plan) -> Result<(), String> {
    let routes = plan
        .links
        .iter()
        .filter(|l| l.is_edge())
        .map(|l| (l.id.clone(), l.upstream_component.clone()))
        .collect();
    request_and_wait(home, routes)
}

pub(super) fn request_and_wait(
    home: &Path,
    routes: BTreeMap<String, String>,
) -> Result<(), String> {
    let generation = links::request_routes(home, routes)
        .map_err(|e| format!("write {}: {e}", links::routes_file(home).display()))?;
    let t = Instant::now();
    loop {
        if let Some(a) = links::read_routes_applied(home).filter(|a| a.generation >= generation) {
            return match a.errors.is_empty() {
                true => Ok(()),
                false => Err(format!(
                    "the supervisor could not route: {}",
                    a.errors.join("; ")
                )),
            };
        }
        if t.elapsed() > ROUTE_ACK_TIMEOUT {
            return Err(format!(
                "the supervisor did not apply the route within {}s (see {})",
                ROUTE_ACK_TIMEOUT.as_secs(),
                home.join("logs").join("supervisor.log").display()
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Restores the planned routes when dropped (an error or a panic unwinding), unless disarmed.
pub(super) struct RouteGuard<'a> {
    pub(super) home: &'a Path,
    pub(super) plan: &'a Plan,
    pub(super) armed: bool,
}

impl RouteGuard<'_> {
    /// Restores the planned routes now.
    pub(super) fn restore(mut self) -> Result<(), String> {
        self.armed = false;
        route_as_planned(self.home, self.plan)
    }
}

impl Drop for RouteGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            if let Err(e) = route_as_planned(self.home, self.plan) {
                eprintln!("error: could not restore the cut-over routes: {e}");
            }
        }
    }
}

/// Whether every Connect server of `line` satisfies `done`, polled until `timeout`.
pub(super) fn wait_connect(
    home: &EnvHome,
    line: SparkLine,
    timeout: Duration,
    what: &str,
    done: impl Fn(&crate::platform::local::state::ComponentState) -> bool,
) -> Result<Duration, String> {
    let t = Instant::now();
    loop {
        let state = EnvState::read(&home.state_file()).map_err(|e| e.to_string())?;
        let mine: Vec<_> = state
            .components
            .iter()
            .filter(|c| c.role == Role::Connect.name() && c.line == Some(line))
            .collect();
        if !mine.is_empty() && mine.iter().all(|c| done(c)) {
            return Ok(t.elapsed());
        }
        if t.elapsed() > timeout {
            return Err(format!(
                "Spark {line}'s Connect server(s) not {what} after {}s",
                timeout.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}
