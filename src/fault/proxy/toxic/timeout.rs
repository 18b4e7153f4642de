//! `timeout`: `timeout_ms` after the toxic starts applying to a connection (its accept, or the
//! moment the toxic is added for a connection already open), the proxy closes the connection
//! like an idle-timeout middlebox: FIN to both peers, bytes still queued in the proxy dropped.
//! Data flows normally until then. It acts on the whole connection, so it has no direction.
//! Heal: closes not fired yet are cancelled.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{CloseKind, ConnToxic};
use crate::fault::proxy::spec::{always, check_unit};

/// Parameters of the `timeout` toxic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeoutSpec {
    /// The chance that a connection is affected (default 1).
    #[serde(default = "always")]
    pub probability: f64,
    /// Milliseconds from when the toxic applies to the close.
    pub timeout_ms: u64,
}

impl TimeoutSpec {
    pub(crate) fn validate(&self) -> Result<(), String> {
        check_unit("probability", self.probability)
    }
}

impl ConnToxic for TimeoutSpec {
    fn probability(&self) -> f64 {
        self.probability
    }

    fn fires_after(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    fn close(&self) -> CloseKind {
        CloseKind::Fin
    }
}
