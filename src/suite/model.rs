//! Suite files (`suites/*.toml`): an ordered list of scenarios, the platform, per-scenario
//! overrides and the acceptance criteria. Validated like scenarios — the same three passes
//! (TOML syntax, structure against the generated JSON Schema, rules) — and every scenario it
//! names is loaded (with its overrides) and validated too, so that `chaos suite` refuses a bad
//! suite before anything starts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::scenario::doc::Path as DocPath;
use crate::scenario::{Platform, Scenario, ScenarioError, ScenarioErrors};

/// A suite file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SuiteFile {
    /// The suite's name (`nightly`, `release-4.1`): names its report directory.
    pub name: String,
    /// What the suite is for, in a sentence.
    #[serde(default)]
    pub description: String,
    /// Where every scenario runs (overrides each scenario's own `platform`); `--platform` on
    /// the command line overrides this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// The scenarios, run in this order.
    #[schemars(length(min = 1))]
    pub scenario: Vec<SuiteEntry>,
    /// When the suite accepts the release.
    #[serde(default)]
    pub acceptance: Acceptance,
}

/// One scenario of a suite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SuiteEntry {
    /// The scenario file, relative to the suite file.
    pub file: PathBuf,
    /// Settings merged over the scenario file's own before it is validated, in the same shape
    /// (`set = { workload = { duration = "2m" } }`): tables merge key by key, anything else
    /// replaces.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub set: BTreeMap<String, toml::Value>,
}

/// The acceptance criteria. The suite's verdict is `reject` when any check of any scenario is
/// invalid; `accept` when every scenario completed and every check is valid (or unknown but
/// tolerated); `undecided` otherwise.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Acceptance {
    /// Checks whose `unknown` verdict does not hold the release back (`latency_p99`, say, on
    /// a shared CI machine). Never `wrong_answers` or `lost_writes`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerate_unknown: Vec<String>,
}

/// A suite ready to run: the file and every scenario loaded with its overrides.
#[derive(Debug, Clone)]
pub struct Suite {
    /// The file as parsed.
    pub file: SuiteFile,
    /// Where it was read from.
    pub path: PathBuf,
    /// Each entry's scenario, in order.
    pub scenarios: Vec<LoadedScenario>,
}

/// One scenario of a suite, loaded.
#[derive(Debug, Clone)]
pub struct LoadedScenario {
    /// The scenario file (as resolved against the suite file).
    pub file: PathBuf,
    /// The text it runs with (overrides merged), for its report.
    pub text: String,
    /// The scenario.
    pub scenario: Scenario,
}

/// Checks no one may tolerate unknown: the harness's correctness promises.
const NEVER_TOLERATED: [&str; 3] = ["wrong_answers", "lost_writes", "steady_state"];

fn schema_value() -> &'static serde_json::Value {
    static SCHEMA: OnceLock<serde_json::Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let settings = schemars::gen::SchemaSettings::draft07().with(|s| {
            s.option_add_null_type = false;
        });
        let root = settings
            .into_generator()
            .into_root_schema_for::<SuiteFile>();
        serde_json::to_value(root).expect("a JSON Schema serialises")
    })
}

/// The JSON Schema (draft 7) of suite files, pretty-printed.
pub fn schema_json() -> String {
    let mut text = serde_json::to_string_pretty(schema_value()).expect("JSON serialises");
    text.push('\n');
    text
}

/// Parses and validates a suite's text (`label` names it in errors; `dir` resolves scenario
/// files). Every mistake is reported: the suite's own at their line and column, a scenario's
/// in its file (with the suite position that named it).
pub fn parse(text: &str, label: &str, dir: &Path) -> Result<Suite, ScenarioErrors> {
    let (file, doc, mut sink) =
        crate::scenario::read_checked::<SuiteFile>(text, label, schema_value())?;
    let acceptance = DocPath::root().key("acceptance").key("tolerate_unknown");
    for (i, check) in file.acceptance.tolerate_unknown.iter().enumerate() {
        if NEVER_TOLERATED.contains(&check.as_str()) {
            let at = acceptance.index(i);
            sink.at(
                doc.value_offset(&at),
                &at.to_string(),
                format!(
                    "`{check}` cannot be tolerated unknown: a release is not accepted without it"
                ),
            );
        }
    }
    let mut scenarios = Vec::new();
    let mut nested: Vec<ScenarioError> = Vec::new();
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    for (i, entry) in file.scenario.iter().enumerate() {
        let at = DocPath::root().key("scenario").index(i);
        let path = dir.join(&entry.file);
        let shown = path.display().to_string();
        let original = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                let field = at.key("file");
                sink.at(
                    doc.value_offset(&field),
                    &field.to_string(),
                    format!("cannot read the scenario file {shown}: {e}"),
                );
                continue;
            }
        };
        let text = match with_overrides(&original, &entry.set) {
            Ok(t) => t,
            Err(e) => {
                let field = at.key("set");
                sink.at(doc.value_offset(&field), &field.to_string(), e);
                continue;
            }
        };
        let label = if entry.set.is_empty() {
            shown.clone()
        } else {
            format!("{shown} (with the overrides of {label} {at}.set)")
        };
        match crate::scenario::parse(&text, &label) {
            Ok(scenario) => {
                if let Some(first) = names.insert(scenario.name.clone(), i) {
                    let field = at.key("file");
                    sink.at(
                        doc.value_offset(&field),
                        &field.to_string(),
                        format!(
                            "scenario `{}` is already scenario[{first}]; a suite runs each scenario once",
                            scenario.name
                        ),
                    );
                }
                scenarios.push(LoadedScenario {
                    file: path,
                    text,
                    scenario,
                });
            }
            Err(errors) => nested.extend(errors.0),
        }
    }
    let mut errors = sink.finish();
    errors.extend(nested);
    if errors.is_empty() {
        Ok(Suite {
            file,
            path: PathBuf::from(label),
            scenarios,
        })
    } else {
        Err(ScenarioErrors(errors))
    }
}

/// Reads and validates a suite file.
pub fn load(path: &Path) -> Result<Suite, ScenarioErrors> {
    let label = path.display().to_string();
    let dir = path.parent().unwrap_or(Path::new("."));
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let mut suite = parse(&text, &label, dir)?;
            suite.path = path.to_path_buf();
            Ok(suite)
        }
        Err(e) => Err(ScenarioErrors(vec![ScenarioError {
            file: label,
            pos: None,
            path: String::new(),
            message: format!("cannot read the suite file: {e}"),
        }])),
    }
}

/// The scenario's text with `set` merged over it (tables key by key, other values replaced).
pub fn with_overrides(text: &str, set: &BTreeMap<String, toml::Value>) -> Result<String, String> {
    if set.is_empty() {
        return Ok(text.to_string());
    }
    let mut base: toml::Table = toml::from_str(text)
        .map_err(|e| format!("the scenario file is not valid TOML: {}", e.message()))?;
    for (k, v) in set {
        merge(&mut base, k, v.clone());
    }
    toml::to_string(&base).map_err(|e| format!("cannot apply the overrides: {e}"))
}

fn merge(table: &mut toml::Table, key: &str, value: toml::Value) {
    match (table.get_mut(key), value) {
        (Some(toml::Value::Table(old)), toml::Value::Table(new)) => {
            for (k, v) in new {
                merge(old, &k, v);
            }
        }
        (_, value) => {
            table.insert(key.to_string(), value);
        }
    }
}
