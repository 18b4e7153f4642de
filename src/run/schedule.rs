//! The fault schedule of a scenario (pure): every inject and heal, as offsets from the start of
//! the workload, in time order.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::fault::catalog::{self, FaultSpec, SpecError};
use crate::scenario::model::Scenario;

/// One scheduled fault occurrence.
#[derive(Debug, Clone, PartialEq)]
pub struct Occurrence {
    /// Index of the `[[fault]]` table (0-based) and repeat number.
    pub fault: usize,
    /// Repeat number, 0-based.
    pub repeat: u32,
    /// The parsed fault.
    pub spec: FaultSpec,
    /// When to inject, from the start of the workload (warm-up included).
    pub inject_at: Duration,
    /// When to heal; None for instantaneous faults.
    pub heal_at: Option<Duration>,
}

/// The occurrences of every `[[fault]]`, sorted by inject time. `at` counts from the end of the
/// warm-up.
pub fn schedule(s: &Scenario) -> Result<Vec<Occurrence>, (usize, SpecError)> {
    let warmup = s
        .workload
        .as_ref()
        .map_or(Duration::ZERO, |w| w.warmup.get());
    let mut out = Vec::new();
    for (i, f) in s.faults.iter().enumerate() {
        let params: BTreeMap<String, String> = f.params_as_strings();
        let spec = catalog::parse(&f.kind, f.target.as_deref(), &params).map_err(|e| (i, e))?;
        let instantaneous = spec.instantaneous();
        for (n, w) in f.schedule().into_iter().enumerate() {
            out.push(Occurrence {
                fault: i,
                repeat: n as u32,
                spec: spec.clone(),
                inject_at: warmup + w.inject,
                heal_at: if instantaneous {
                    None
                } else {
                    // A fault without a duration (only allowed for instantaneous kinds by
                    // validation) is healed at once.
                    Some(warmup + w.heal.unwrap_or(w.inject))
                },
            });
        }
    }
    out.sort_by_key(|o| (o.inject_at, o.fault, o.repeat));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_are_spread_and_offsets_count_from_the_end_of_warm_up() {
        let s = crate::scenario::parse(
            r#"
name = "t"
description = "t"
[workload]
rate = "1/s"
duration = "5m"
warmup = "30s"
[[fault]]
kind = "s3-outage"
at = "60s"
duration = "20s"
repeat = 2
every = "60s"
[[fault]]
kind = "pod-kill"
target = "executor@4.1.0"
at = "10s"
"#,
            "t.toml",
        )
        .expect("valid");
        let occ = schedule(&s).unwrap();
        let times: Vec<(u64, Option<u64>)> = occ
            .iter()
            .map(|o| (o.inject_at.as_secs(), o.heal_at.map(|d| d.as_secs())))
            .collect();
        assert_eq!(times, vec![(40, None), (90, Some(110)), (150, Some(170))]);
        assert_eq!(occ[0].spec.kind, "pod-kill");
    }
}
