//! `slicer`: data is written in slices of `average_size` ± `size_variation` bytes with
//! `delay_us` between slices (Toxiproxy's slicer), which exercises a peer's handling of short
//! reads and partial frames. Every byte is delivered, in order. Heal: the rest flows unsliced.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{Chunk, Plan, StreamSpec, StreamToxic};
use crate::fault::proxy::spec::{always, check_unit, Direction};

/// Parameters of the `slicer` toxic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlicerSpec {
    /// The flows to slice (default both).
    #[serde(default)]
    pub direction: Direction,
    /// The chance that a connection is affected (default 1).
    #[serde(default = "always")]
    pub probability: f64,
    /// The mean slice size in bytes (at least 1).
    pub average_size: usize,
    /// Slices are `average_size` ± up to this many bytes (less than `average_size`; default 0).
    #[serde(default)]
    pub size_variation: usize,
    /// The pause between slices in microseconds (default 0).
    #[serde(default)]
    pub delay_us: u64,
}

impl SlicerSpec {
    pub(crate) fn validate(&self) -> Result<(), String> {
        check_unit("probability", self.probability)?;
        if self.average_size == 0 {
            return Err("`average_size` must be at least 1".into());
        }
        if self.size_variation >= self.average_size {
            return Err(format!(
                "`size_variation` ({}) must be smaller than `average_size` ({})",
                self.size_variation, self.average_size
            ));
        }
        Ok(())
    }
}

impl StreamSpec for SlicerSpec {
    fn direction(&self) -> Direction {
        self.direction
    }

    fn probability(&self) -> f64 {
        self.probability
    }

    fn build(&self) -> Box<dyn StreamToxic> {
        Box::new(Slicer {
            average: self.average_size,
            variation: self.size_variation,
            delay: Duration::from_micros(self.delay_us),
            left: 0,
            seq: None,
            fresh: false,
            last_write: None,
        })
    }
}

struct Slicer {
    average: usize,
    variation: usize,
    delay: Duration,
    /// Bytes left in the current slice.
    left: usize,
    /// The chunk the current slice belongs to (a slice never spans chunks).
    seq: Option<u64>,
    /// Nothing of the current slice is written yet (so it waits for the delay).
    fresh: bool,
    last_write: Option<Instant>,
}

impl Slicer {
    fn draw_size(&self) -> usize {
        if self.variation == 0 {
            return self.average;
        }
        let low = self.average - self.variation;
        low + (rand::random::<u64>() % (2 * self.variation as u64 + 1)) as usize
    }
}

impl StreamToxic for Slicer {
    fn plan(&mut self, front: &Chunk) -> Plan {
        if self.left == 0 || self.seq != Some(front.seq) {
            self.left = self.draw_size().max(1);
            self.seq = Some(front.seq);
            self.fresh = true;
        }
        let not_before = if self.fresh {
            self.last_write.map(|at| at + self.delay)
        } else {
            None
        };
        Plan::Pass {
            not_before,
            max_len: self.left,
        }
    }

    fn written(&mut self, n: usize, at: Instant) {
        self.left = self.left.saturating_sub(n);
        self.fresh = false;
        self.last_write = Some(at);
    }
}
