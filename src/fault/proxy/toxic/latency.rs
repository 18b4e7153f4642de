//! `latency`: every chunk is written `latency_ms` (± `jitter_ms`) after the proxy read it.
//!
//! Chunks are timed from their arrival, not from the previous write, so a steady stream keeps
//! its throughput and only gains delay. The pump writes strictly in order, so jitter can never
//! reorder bytes: a chunk that drew a shorter delay than its predecessor goes right after it.
//! Heal: the queued chunks lose their delay and are written at once, in order.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{Chunk, Plan, StreamSpec, StreamToxic};
use crate::fault::proxy::spec::{always, check_unit, Direction};

/// Parameters of the `latency` toxic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencySpec {
    /// The flows to delay (default both).
    #[serde(default)]
    pub direction: Direction,
    /// The chance that a connection is affected (default 1).
    #[serde(default = "always")]
    pub probability: f64,
    /// The added delay in milliseconds.
    pub latency_ms: u64,
    /// A uniform random variation of the delay, ± this many milliseconds, drawn per chunk
    /// (default 0).
    #[serde(default)]
    pub jitter_ms: u64,
}

impl LatencySpec {
    pub(crate) fn validate(&self) -> Result<(), String> {
        check_unit("probability", self.probability)?;
        if self.jitter_ms > self.latency_ms {
            return Err(format!(
                "`jitter_ms` ({}) must not exceed `latency_ms` ({})",
                self.jitter_ms, self.latency_ms
            ));
        }
        Ok(())
    }
}

impl StreamSpec for LatencySpec {
    fn direction(&self) -> Direction {
        self.direction
    }

    fn probability(&self) -> f64 {
        self.probability
    }

    fn build(&self) -> Box<dyn StreamToxic> {
        Box::new(Latency {
            latency: Duration::from_millis(self.latency_ms),
            jitter_ms: self.jitter_ms,
            drawn: None,
        })
    }
}

struct Latency {
    latency: Duration,
    jitter_ms: u64,
    /// The due time drawn for a chunk, by sequence number.
    drawn: Option<(u64, Instant)>,
}

impl Latency {
    fn delay(&self) -> Duration {
        if self.jitter_ms == 0 {
            return self.latency;
        }
        let jitter = self.jitter_ms as f64 / 1000.0;
        let offset = rand::random::<f64>() * 2.0 * jitter - jitter;
        Duration::from_secs_f64((self.latency.as_secs_f64() + offset).max(0.0))
    }
}

impl StreamToxic for Latency {
    fn plan(&mut self, front: &Chunk) -> Plan {
        let due = match self.drawn {
            Some((seq, due)) if seq == front.seq => due,
            _ => {
                let due = front.arrived + self.delay();
                self.drawn = Some((front.seq, due));
                due
            }
        };
        Plan::Pass {
            not_before: Some(due),
            max_len: usize::MAX,
        }
    }
}
