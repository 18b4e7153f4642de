//! `reset`: `timeout_ms` after the toxic starts applying to a connection (its accept, or the
//! moment the toxic is added for a connection already open), the connection is closed with a TCP
//! RST (`SO_LINGER` 0) to the peers named by `direction` (`downstream`: the client,
//! `upstream`: the server, `both`) and a FIN to the other. With `timeout_ms` 0 new connections
//! are reset right after the accept, before the proxy connects upstream.
//! Heal: resets not fired yet are cancelled; nothing else changes.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{CloseKind, ConnToxic};
use crate::fault::proxy::spec::{always, check_unit, Direction, Flow};

/// Parameters of the `reset` toxic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetSpec {
    /// Who gets the RST: `downstream` the client, `upstream` the server, `both` (default).
    #[serde(default)]
    pub direction: Direction,
    /// The chance that a connection is affected (default 1).
    #[serde(default = "always")]
    pub probability: f64,
    /// Milliseconds from when the toxic applies to the reset (default 0: at once).
    #[serde(default)]
    pub timeout_ms: u64,
}

impl ResetSpec {
    pub(crate) fn validate(&self) -> Result<(), String> {
        check_unit("probability", self.probability)
    }
}

impl ConnToxic for ResetSpec {
    fn probability(&self) -> f64 {
        self.probability
    }

    fn fires_after(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    fn close(&self) -> CloseKind {
        CloseKind::Reset {
            client: self.direction.covers(Flow::Downstream),
            upstream: self.direction.covers(Flow::Upstream),
        }
    }
}
