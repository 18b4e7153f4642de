//! Scenario files (`scenarios/*.toml`): the product's unit of work, `chaos run FILE`.
//!
//! - [`model`]: the format as Rust types (serde + JSON Schema, `deny_unknown_fields`
//!   everywhere); their doc comments are the reference (`chaos schema`).
//! - [`parse`] / [`load`]: text → [`Scenario`], or every mistake found as [`ScenarioErrors`],
//!   each with file, line, column, field path and what is accepted:
//!   `scenarios/x.toml:12:9: workload.model: unknown value "opne"; accepted: "open", "closed"`.
//! - [`schema_json`], [`list`], [`validate_files`]: for `chaos schema`, `chaos list` and
//!   `chaos validate`.
//!
//! Validation runs in three passes over a span-carrying tree of the file: TOML syntax (first
//! error only: the file cannot be read past it), structure against the generated JSON Schema
//! (`shape.rs`: unknown fields, types, enum values, ranges, durations — all errors), then the
//! rules a schema cannot say (`rules.rs`: formats, the fault catalogue, cross-field rules — all
//! errors). Pure: nothing here touches anything but the files it is asked to read.

pub(crate) mod doc;
pub mod error;
pub mod faults;
pub mod model;
mod rules;
pub(crate) mod shape;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub use error::{Pos, ScenarioError, ScenarioErrors};
pub use model::{
    BenchOrder, BenchSpec, CompatSpec, DataSpec, EnvSpec, FaultSpec, FaultWindow, Kind, LoadModel,
    ParamValue, Platform, QuerySelection, QuerySet, ReportFormat, ReportSpec, Scenario, SparkConf,
    StatementSet, UpgradeSpec, UpgradeStyle, WorkloadSpec,
};

use error::Sink;

/// The JSON Schema of the format, as a value (generated once).
fn schema_value() -> &'static serde_json::Value {
    static SCHEMA: OnceLock<serde_json::Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let settings = schemars::gen::SchemaSettings::draft07().with(|s| {
            // TOML has no null: an absent optional field is simply left out.
            s.option_add_null_type = false;
        });
        let root = settings.into_generator().into_root_schema_for::<Scenario>();
        serde_json::to_value(root).expect("a JSON Schema serialises")
    })
}

/// The JSON Schema (draft 7) of scenario files, pretty-printed, with every field's
/// documentation: for editors (e.g. Taplo / Even Better TOML) and `chaos schema`.
pub fn schema_json() -> String {
    let mut text = serde_json::to_string_pretty(schema_value()).expect("JSON serialises");
    text.push('\n');
    text
}

/// The passes every TOML format with a generated schema shares (scenario and suite files):
/// TOML syntax (first error only), structure against `schema` (all errors), then serde. Returns
/// the value, the span-carrying tree for further rules and the sink to report them in.
pub(crate) fn read_checked<'a, T: serde::de::DeserializeOwned>(
    text: &'a str,
    file_label: &'a str,
    schema: &serde_json::Value,
) -> Result<(T, doc::Doc, Sink<'a>), ScenarioErrors> {
    let mut sink = Sink::new(file_label, text);
    let doc = match doc::Doc::parse(text) {
        Ok(doc) => doc,
        Err((message, offset)) => {
            sink.at(offset, "", message);
            return Err(ScenarioErrors(sink.finish()));
        }
    };
    shape::check(&doc.root, schema, &mut sink);
    if !sink.errors.is_empty() {
        return Err(ScenarioErrors(sink.finish()));
    }
    match toml::from_str(text) {
        Ok(value) => Ok((value, doc, sink)),
        Err(e) => {
            // The structural pass should have caught it; report serde's word for it.
            let offset = e.span().map_or(0, |s| s.start);
            sink.at(offset, "", e.message().trim().to_string());
            Err(ScenarioErrors(sink.finish()))
        }
    }
}

/// Parses and validates a scenario. `file_label` names the file in errors.
pub fn parse(text: &str, file_label: &str) -> Result<Scenario, ScenarioErrors> {
    parse_on(text, file_label, None)
}

/// Parses and validates a scenario for the platform it will run on (`platform`, else the
/// file's own `platform`): what that platform cannot do is an error at its field.
pub fn parse_on(
    text: &str,
    file_label: &str,
    platform: Option<Platform>,
) -> Result<Scenario, ScenarioErrors> {
    let (scenario, doc, mut sink) = read_checked::<Scenario>(text, file_label, schema_value())?;
    rules::check(&scenario, &doc, &mut sink);
    rules::check_platform(
        &scenario,
        platform.unwrap_or(scenario.platform),
        platform.is_some(),
        &doc,
        &mut sink,
    );
    if sink.errors.is_empty() {
        Ok(scenario)
    } else {
        Err(ScenarioErrors(sink.finish()))
    }
}

/// Reads, parses and validates a scenario file; errors name it as `path` is written.
pub fn load(path: &Path) -> Result<Scenario, ScenarioErrors> {
    let label = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&text, &label),
        Err(e) => Err(ScenarioErrors(vec![ScenarioError {
            file: label,
            pos: None,
            path: String::new(),
            message: format!("cannot read the scenario file: {e}"),
        }])),
    }
}

/// Validates each file (`chaos validate FILES...`), in the order given.
pub fn validate_files(paths: &[PathBuf]) -> Vec<(PathBuf, Result<Scenario, ScenarioErrors>)> {
    paths.iter().map(|p| (p.clone(), load(p))).collect()
}

/// One scenario file as `chaos list` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ListEntry {
    /// The scenario's `name` (the file stem when the file has none).
    pub name: String,
    /// The file.
    pub file: PathBuf,
    /// `chaos`, `compat` or `upgrade` (as written when the file is invalid; `chaos` when
    /// absent).
    pub kind: String,
    /// The scenario's `description` (empty when the file has none).
    pub description: String,
    /// Ok, or every error (one per line) when the file does not validate.
    pub valid: Result<(), String>,
}

/// Every `*.toml` file directly in `dir`, sorted by file name, validated (`chaos list`).
/// An unreadable directory gives an empty list.
pub fn list(dir: &Path) -> Vec<ListEntry> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files.into_iter().map(|f| list_entry(&f)).collect()
}

fn list_entry(file: &Path) -> ListEntry {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    match load(file) {
        Ok(sc) => ListEntry {
            name: sc.name,
            file: file.to_path_buf(),
            kind: sc.kind.to_string(),
            description: sc.description,
            valid: Ok(()),
        },
        Err(errors) => {
            // Best effort for the columns of an invalid file.
            let raw: Option<toml::Table> = std::fs::read_to_string(file)
                .ok()
                .and_then(|t| toml::from_str(&t).ok());
            let field = |k: &str| {
                raw.as_ref()
                    .and_then(|t| t.get(k))
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            };
            ListEntry {
                name: field("name").unwrap_or(stem),
                file: file.to_path_buf(),
                kind: field("kind").unwrap_or_else(|| Kind::Chaos.to_string()),
                description: field("description").unwrap_or_default(),
                valid: Err(errors.to_string()),
            }
        }
    }
}
