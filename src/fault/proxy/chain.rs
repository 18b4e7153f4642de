//! The stream toxics acting on one flow of one connection, kept in line with the proxy's toxic
//! set, and the per-connection probability decision.

use std::time::Instant;

use super::server::Config;
use super::spec::{Flow, ToxicId};
use super::toxic::{layer, Chunk, CloseKind, Layer, Plan, StreamToxic};

/// Whether the toxic `id` with `probability` applies to the connection with `seed`. The same
/// answer every time for the same pair, so both flows and the connection timers agree.
pub(crate) fn applies(seed: u64, id: ToxicId, probability: f64) -> bool {
    if probability >= 1.0 {
        return true;
    }
    if probability <= 0.0 {
        return false;
    }
    let x = splitmix64(seed ^ splitmix64(id.0));
    ((x >> 11) as f64 / (1u64 << 53) as f64) < probability
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The stream toxics of one flow.
pub(crate) struct Chain {
    flow: Flow,
    seed: u64,
    generation: u64,
    toxics: Vec<(ToxicId, Box<dyn StreamToxic>)>,
}

impl Chain {
    /// An empty chain for `flow` of the connection with `seed`.
    pub(crate) fn new(flow: Flow, seed: u64) -> Self {
        Chain {
            flow,
            seed,
            generation: u64::MAX,
            toxics: Vec::new(),
        }
    }

    /// No toxic acts on this flow.
    pub(crate) fn is_empty(&self) -> bool {
        self.toxics.is_empty()
    }

    /// Bring the chain in line with `config`: build instances for new toxics that apply, drop
    /// removed ones. Returns the close a removed toxic asks for (a healed blackhole).
    pub(crate) fn sync(&mut self, config: &Config) -> Option<CloseKind> {
        if config.generation == self.generation {
            return None;
        }
        self.generation = config.generation;
        let mut close: Option<CloseKind> = None;
        self.toxics.retain(|(id, toxic)| {
            let keep = config.toxics.iter().any(|a| a.id == *id);
            if !keep {
                if let Some(kind) = toxic.healed() {
                    if close.is_none_or(|c| kind.severity() > c.severity()) {
                        close = Some(kind);
                    }
                }
            }
            keep
        });
        for active in &config.toxics {
            let Layer::Stream(spec) = layer(&active.spec) else {
                continue;
            };
            if spec.direction().covers(self.flow)
                && applies(self.seed, active.id, spec.probability())
                && !self.toxics.iter().any(|(id, _)| *id == active.id)
            {
                self.toxics.push((active.id, spec.build()));
            }
        }
        close
    }

    /// Drop every toxic without healing effects (the proxy is draining).
    pub(crate) fn clear(&mut self) {
        self.toxics.clear();
    }

    /// The combined plan for the front chunk.
    pub(crate) fn plan(&mut self, front: &Chunk) -> Plan {
        self.toxics
            .iter_mut()
            .fold(Plan::PASS, |plan, (_, toxic)| plan.and(toxic.plan(front)))
    }

    /// Tell every toxic that `n` bytes were written at `at`.
    pub(crate) fn written(&mut self, n: usize, at: Instant) {
        for (_, toxic) in &mut self.toxics {
            toxic.written(n, at);
        }
    }
}

/// The earliest connection timer (`reset`, `timeout`) applying to a connection accepted at
/// `accepted`, with what it does.
pub(crate) fn next_timer(
    config: &Config,
    seed: u64,
    accepted: Instant,
) -> Option<(Instant, CloseKind)> {
    config
        .toxics
        .iter()
        .filter_map(|active| match layer(&active.spec) {
            Layer::Connection(toxic) if applies(seed, active.id, toxic.probability()) => Some((
                accepted.max(active.added_at) + toxic.fires_after(),
                toxic.close(),
            )),
            _ => None,
        })
        .min_by_key(|(at, _)| *at)
}

/// Sleep until `at`, or forever when there is no `at`.
pub(crate) async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probability_is_a_stable_fraction_of_connections() {
        let id = ToxicId(7);
        let hits = (0..10_000u64)
            .filter(|&seed| applies(seed.wrapping_mul(0x2545_F491_4F6C_DD1D), id, 0.3))
            .count();
        assert!((2_700..3_300).contains(&hits), "{hits}");
        assert_eq!(applies(42, id, 0.3), applies(42, id, 0.3));
        assert!(applies(42, id, 1.0));
        assert!(!applies(42, id, 0.0));
    }
}
