//! Routing the cut-over edges to one version's Connect servers through the platform, and
//! putting them back as planned on every exit path. Only `switcher.rs` uses this module.

use crate::platform::{topology, Endpoints, Platform, PlatformError};
use crate::versions::SparkLine;

/// Points every edge at `line`'s Connect servers; returns once the platform applied it.
pub(super) fn route_to(
    p: &dyn Platform,
    env: &Endpoints,
    line: SparkLine,
) -> Result<(), PlatformError> {
    p.route(&topology::routes_to(line, &env.edge_ids()))
}

/// Points every edge back at its planned upstream.
pub(super) fn route_as_planned(p: &dyn Platform, env: &Endpoints) -> Result<(), PlatformError> {
    p.route(&env.planned_routes())
}

/// Restores the planned routes when dropped (an error or a panic unwinding), unless disarmed.
pub(super) struct RouteGuard<'a> {
    pub(super) platform: &'a dyn Platform,
    pub(super) env: &'a Endpoints,
    pub(super) armed: bool,
}

impl RouteGuard<'_> {
    /// Restores the planned routes now.
    pub(super) fn restore(mut self) -> Result<(), PlatformError> {
        self.armed = false;
        route_as_planned(self.platform, self.env)
    }
}

impl Drop for RouteGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            if let Err(e) = route_as_planned(self.platform, self.env) {
                eprintln!("error: could not restore the cut-over routes: {e}");
            }
        }
    }
}
