//! The probe suite: small statements exercising known behaviour changes (`compat/probes.toml`).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::rules::{is_snake_id, RuleTable};
use super::CompatError;

/// The probe suite shipped with the binary.
pub const PROBES_TOML: &str = include_str!("../../compat/probes.toml");

/// One probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Probe {
    /// Unique id.
    pub id: String,
    /// One line.
    pub title: String,
    /// The statement whose outcome and result are compared.
    pub sql: String,
    /// Statements run before, in the same session.
    #[serde(default)]
    pub setup: Vec<String>,
    /// Statements run after, in the same session (failures only noted).
    #[serde(default)]
    pub cleanup: Vec<String>,
    /// Compare only rows whose first column is one of these (empty: all rows).
    #[serde(default)]
    pub keep_rows: Vec<String>,
    /// Rules expected to explain a difference (tried first).
    #[serde(default)]
    pub rules: Vec<String>,
    /// What the author expects: `identical`, `expected` or `unexplained` (documentation only).
    #[serde(default)]
    pub expect: String,
}

/// The whole suite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeSuite {
    /// The probes, in file order.
    #[serde(rename = "probe", default)]
    pub probes: Vec<Probe>,
}

/// The placeholders a probe may use.
pub const PLACEHOLDERS: [&str; 2] = ["{db}", "{uniq}"];

impl ProbeSuite {
    /// Parses and validates a suite: unique snake_case ids, known `expect` values, only known
    /// placeholders.
    pub fn parse(text: &str) -> Result<Self, CompatError> {
        let bad = |message: String| CompatError::Data {
            what: "compat/probes.toml".into(),
            message,
        };
        let suite: ProbeSuite = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        let mut seen = BTreeSet::new();
        for p in &suite.probes {
            if !is_snake_id(&p.id) {
                return Err(bad(format!("probe id {:?} is not snake_case", p.id)));
            }
            if !seen.insert(p.id.as_str()) {
                return Err(bad(format!("probe id {:?} appears twice", p.id)));
            }
            if !["", "identical", "expected", "unexplained"].contains(&p.expect.as_str()) {
                return Err(bad(format!(
                    "probe {:?}: expect = {:?} (accepted: identical, expected, unexplained)",
                    p.id, p.expect
                )));
            }
            for text in std::iter::once(&p.sql).chain(&p.setup).chain(&p.cleanup) {
                if let Some(ph) = unknown_placeholder(text) {
                    return Err(bad(format!(
                        "probe {:?}: unknown placeholder {ph} (accepted: {})",
                        p.id,
                        PLACEHOLDERS.join(", ")
                    )));
                }
            }
        }
        Ok(suite)
    }

    /// The suite shipped with the binary ([`PROBES_TOML`]).
    pub fn builtin() -> Result<Self, CompatError> {
        Self::parse(PROBES_TOML)
    }

    /// Checks that probes and rules name each other consistently: every rule a probe names
    /// exists and lists the probe back, and every probe a rule lists exists and names the rule.
    pub fn check_against(&self, rules: &RuleTable) -> Result<(), CompatError> {
        let bad = |message: String| CompatError::Data {
            what: "compat/probes.toml and compat/rules.toml".into(),
            message,
        };
        for p in &self.probes {
            for r in &p.rules {
                let rule = rules
                    .get(r)
                    .ok_or_else(|| bad(format!("probe {:?} names unknown rule {r:?}", p.id)))?;
                if !rule.probes.contains(&p.id) {
                    return Err(bad(format!(
                        "probe {:?} names rule {r:?}, which does not list it in `probes`",
                        p.id
                    )));
                }
            }
        }
        for rule in &rules.rules {
            for id in &rule.probes {
                let probe =
                    self.probes.iter().find(|p| &p.id == id).ok_or_else(|| {
                        bad(format!("rule {:?} lists unknown probe {id:?}", rule.id))
                    })?;
                if !probe.rules.contains(&rule.id) {
                    return Err(bad(format!(
                        "rule {:?} lists probe {id:?}, which does not name it in `rules`",
                        rule.id
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Replaces the placeholders of a probe text.
pub fn substitute(text: &str, db: &str, uniq: &str) -> String {
    text.replace("{db}", db).replace("{uniq}", uniq)
}

/// The first `{name}` in `text` that is not a known placeholder.
fn unknown_placeholder(text: &str) -> Option<String> {
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        let after = &rest[start..];
        let end = after.find('}')?;
        let candidate = &after[..=end];
        let looks_like = candidate[1..candidate.len() - 1]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if looks_like && !PLACEHOLDERS.contains(&candidate) {
            return Some(candidate.to_string());
        }
        rest = &after[end + 1..];
    }
    None
}
