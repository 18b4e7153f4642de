//! Physical plans reduced to comparable features (pure).
//!
//! `EXPLAIN FORMATTED` prints the operator tree and then one details section per operator,
//! headed `(N) Name …` (subqueries included): each operator is counted once, from its header.
//! Plain `EXPLAIN` text (no headers) is read from the tree lines instead
//! (`+- *(3) BroadcastHashJoin …`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What a physical plan does, in the terms that matter for comparing versions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PlanFeatures {
    /// The plan is wrapped in `AdaptiveSparkPlan`.
    pub adaptive: bool,
    /// Join operators by name (`BroadcastHashJoin`, `SortMergeJoin`, `ShuffledHashJoin`,
    /// `BroadcastNestedLoopJoin`, `CartesianProduct`) and how many of each.
    pub joins: BTreeMap<String, u32>,
    /// Shuffle exchanges (`Exchange`).
    pub exchanges: u32,
    /// Broadcast exchanges (`BroadcastExchange`).
    pub broadcast_exchanges: u32,
    /// Reused exchanges (`ReusedExchange`).
    pub reused_exchanges: u32,
    /// Operators counted.
    pub operators: u32,
}

/// The plan features of both versions for one statement and what differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PlanComparison {
    /// The baseline's plan features.
    pub baseline: PlanFeatures,
    /// The target's plan features.
    pub target: PlanFeatures,
    /// Each differing feature, for people (empty: same features).
    pub differences: Vec<String>,
}

impl PlanComparison {
    /// Compares two plans' features.
    pub fn new(baseline: PlanFeatures, target: PlanFeatures) -> Self {
        let differences = plan_differences(&baseline, &target);
        Self {
            baseline,
            target,
            differences,
        }
    }
}

/// The features of an `EXPLAIN` / `EXPLAIN FORMATTED` text.
pub fn plan_features(explain: &str) -> PlanFeatures {
    let headers: Vec<&str> = explain
        .lines()
        .filter_map(|l| detail_header(l.trim_end()))
        .collect();
    let names: Vec<&str> = if headers.is_empty() {
        explain.lines().filter_map(tree_node).collect()
    } else {
        headers
    };
    let mut f = PlanFeatures::default();
    for name in names {
        f.operators += 1;
        match name {
            "AdaptiveSparkPlan" => f.adaptive = true,
            "Exchange" | "ShuffleExchange" => f.exchanges += 1,
            "BroadcastExchange" => f.broadcast_exchanges += 1,
            "ReusedExchange" => f.reused_exchanges += 1,
            n if n.ends_with("Join") || n == "CartesianProduct" => {
                *f.joins.entry(n.to_string()).or_default() += 1;
            }
            _ => {}
        }
    }
    if !f.adaptive && explain.contains("AdaptiveSparkPlan") {
        f.adaptive = true;
    }
    f
}

/// `(12) BroadcastHashJoin [codegen id : 4]` → `BroadcastHashJoin`.
fn detail_header(line: &str) -> Option<&str> {
    let rest = line.strip_prefix('(')?;
    let close = rest.find(')')?;
    if close == 0 || !rest[..close].bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    operator_name(rest[close + 1..].strip_prefix(' ')?)
}

/// A tree line of plain `EXPLAIN`: `   +- *(3) SortMergeJoin [a], [b], Inner` → `SortMergeJoin`.
fn tree_node(line: &str) -> Option<&str> {
    if line.starts_with("==") || line.trim().is_empty() {
        return None;
    }
    let mut rest = line.trim_start_matches([' ', ':', '+', '-']);
    if let Some(after) = rest.strip_prefix("*(") {
        let close = after.find(')')?;
        rest = after[close + 1..].trim_start();
    }
    operator_name(rest)
}

/// The leading operator name of a header or tree line (an identifier starting uppercase).
fn operator_name(text: &str) -> Option<&str> {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    let name = &text[..end];
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_uppercase())
        .then_some(name)
}

/// Each feature that differs between two plans, for people.
pub fn plan_differences(a: &PlanFeatures, b: &PlanFeatures) -> Vec<String> {
    let mut out = Vec::new();
    if a.adaptive != b.adaptive {
        out.push(format!("adaptive: {} → {}", a.adaptive, b.adaptive));
    }
    if a.joins != b.joins {
        let show = |j: &BTreeMap<String, u32>| {
            if j.is_empty() {
                "none".to_string()
            } else {
                j.iter()
                    .map(|(k, v)| format!("{k}×{v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        out.push(format!("joins: {} → {}", show(&a.joins), show(&b.joins)));
    }
    for (what, x, y) in [
        ("shuffle exchanges", a.exchanges, b.exchanges),
        (
            "broadcast exchanges",
            a.broadcast_exchanges,
            b.broadcast_exchanges,
        ),
        ("reused exchanges", a.reused_exchanges, b.reused_exchanges),
    ] {
        if x != y {
            out.push(format!("{what}: {x} → {y}"));
        }
    }
    out
}
