//! `blackhole`: bytes are read and discarded, nothing is forwarded, the connection stays open.
//!
//! Reading continues, so the sender is not pushed back: to it the link looks alive but nothing
//! ever answers. Heal: new connections and connections that did not lose a byte carry on; a
//! connection that lost bytes is reset on both sides, because resuming it would hand the
//! application a stream with a silent gap (a real network would have retransmitted them).

use serde::{Deserialize, Serialize};

use super::{Chunk, CloseKind, Plan, StreamSpec, StreamToxic};
use crate::fault::proxy::spec::{always, check_unit, Direction};

/// Parameters of the `blackhole` toxic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlackholeSpec {
    /// The flows to swallow (default both).
    #[serde(default)]
    pub direction: Direction,
    /// The chance that a connection is affected (default 1).
    #[serde(default = "always")]
    pub probability: f64,
}

impl BlackholeSpec {
    pub(crate) fn validate(&self) -> Result<(), String> {
        check_unit("probability", self.probability)
    }
}

impl StreamSpec for BlackholeSpec {
    fn direction(&self) -> Direction {
        self.direction
    }

    fn probability(&self) -> f64 {
        self.probability
    }

    fn build(&self) -> Box<dyn StreamToxic> {
        Box::new(Blackhole { swallowed: false })
    }
}

struct Blackhole {
    /// Whether this flow lost any byte.
    swallowed: bool,
}

impl StreamToxic for Blackhole {
    fn plan(&mut self, _front: &Chunk) -> Plan {
        self.swallowed = true;
        Plan::Discard
    }

    fn healed(&self) -> Option<CloseKind> {
        self.swallowed.then_some(CloseKind::Reset {
            client: true,
            upstream: true,
        })
    }
}
