//! `bandwidth`: at most `bytes_per_sec` bytes per second are written.
//!
//! After writing `n` bytes the flow is busy for `n / bytes_per_sec`; data is written in pieces
//! of at most 20 ms worth so the rate is smooth. No burst credit builds up while idle. Heal: the
//! queued bytes flow at full speed.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{Chunk, Plan, StreamSpec, StreamToxic};
use crate::fault::proxy::spec::{always, check_unit, Direction};

/// Parameters of the `bandwidth` toxic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BandwidthSpec {
    /// The flows to limit (default both).
    #[serde(default)]
    pub direction: Direction,
    /// The chance that a connection is affected (default 1).
    #[serde(default = "always")]
    pub probability: f64,
    /// The rate limit in bytes per second (at least 1).
    pub bytes_per_sec: u64,
}

impl BandwidthSpec {
    pub(crate) fn validate(&self) -> Result<(), String> {
        check_unit("probability", self.probability)?;
        if self.bytes_per_sec == 0 {
            return Err("`bytes_per_sec` must be at least 1 (use blackhole to stop a flow)".into());
        }
        Ok(())
    }
}

impl StreamSpec for BandwidthSpec {
    fn direction(&self) -> Direction {
        self.direction
    }

    fn probability(&self) -> f64 {
        self.probability
    }

    fn build(&self) -> Box<dyn StreamToxic> {
        let rate = self.bytes_per_sec as f64;
        Box::new(Bandwidth {
            rate,
            piece: ((rate / 50.0) as usize).max(1),
            free_at: None,
        })
    }
}

struct Bandwidth {
    /// Bytes per second.
    rate: f64,
    /// The largest piece written at once (20 ms worth).
    piece: usize,
    /// When the flow may write again.
    free_at: Option<Instant>,
}

impl StreamToxic for Bandwidth {
    fn plan(&mut self, _front: &Chunk) -> Plan {
        Plan::Pass {
            not_before: self.free_at,
            max_len: self.piece,
        }
    }

    fn written(&mut self, n: usize, at: Instant) {
        let base = self.free_at.map_or(at, |free| free.max(at));
        self.free_at = Some(base + Duration::from_secs_f64(n as f64 / self.rate));
    }
}
