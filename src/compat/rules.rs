//! The rule table: behaviour changes a legacy setting on 4.1.0 undoes (`compat/rules.toml`).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::CompatError;

/// The rule table shipped with the binary.
pub const RULES_TOML: &str = include_str!("../../compat/rules.toml");

/// One documented behaviour change and the settings that restore the old behaviour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Unique id, e.g. `ansi_default`.
    pub id: String,
    /// One line.
    pub title: String,
    /// Where the change is documented (migration guide section or SQLConf documentation).
    pub source: String,
    /// The version that changed the behaviour.
    #[serde(default)]
    pub since: String,
    /// Session confs that restore the 3.5.7 behaviour on 4.1.0.
    pub settings: BTreeMap<String, String>,
    /// Whether to try the rule for every differing statement, not only those naming it.
    #[serde(default)]
    pub applies_to_all: bool,
    /// Probe ids the rule is meant to explain.
    #[serde(default)]
    pub probes: Vec<String>,
}

impl Rule {
    /// The settings as ordered pairs.
    pub fn settings_pairs(&self) -> Vec<(String, String)> {
        self.settings
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// The whole table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleTable {
    /// The rules, in file order.
    #[serde(rename = "rule", default)]
    pub rules: Vec<Rule>,
}

impl RuleTable {
    /// Parses and validates a rule table: unique snake_case ids, at least one setting per rule,
    /// keys under `spark.`.
    pub fn parse(text: &str) -> Result<Self, CompatError> {
        let bad = |message: String| CompatError::Data {
            what: "compat/rules.toml".into(),
            message,
        };
        let table: RuleTable = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        let mut seen = BTreeSet::new();
        for r in &table.rules {
            if !is_snake_id(&r.id) {
                return Err(bad(format!("rule id {:?} is not snake_case", r.id)));
            }
            if !seen.insert(r.id.as_str()) {
                return Err(bad(format!("rule id {:?} appears twice", r.id)));
            }
            if r.settings.is_empty() {
                return Err(bad(format!(
                    "rule {:?} has no settings: a rule must be confirmable by a re-run",
                    r.id
                )));
            }
            if let Some(k) = r.settings.keys().find(|k| !k.starts_with("spark.")) {
                return Err(bad(format!(
                    "rule {:?}: key {k:?} is not a Spark key",
                    r.id
                )));
            }
            if r.title.trim().is_empty() || r.source.trim().is_empty() {
                return Err(bad(format!("rule {:?} needs a title and a source", r.id)));
            }
        }
        Ok(table)
    }

    /// The table shipped with the binary ([`RULES_TOML`]).
    pub fn builtin() -> Result<Self, CompatError> {
        Self::parse(RULES_TOML)
    }

    /// The rule with this id.
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// The rule ids to try for a statement, in order: the statement's hints, then the rules
    /// that apply to all statements, then (when `everything`) every other rule.
    pub fn candidates(&self, hints: &[String], everything: bool) -> Vec<&Rule> {
        let mut out: Vec<&Rule> = Vec::new();
        let hinted = hints.iter().filter_map(|h| self.get(h));
        let general = self.rules.iter().filter(|r| r.applies_to_all);
        let rest = self.rules.iter().filter(|_| everything);
        for r in hinted.chain(general).chain(rest) {
            if !out.iter().any(|o| o.id == r.id) {
                out.push(r);
            }
        }
        out
    }
}

/// `[a-z][a-z0-9_]*`.
pub(crate) fn is_snake_id(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}
