//! The scenario side of the fault catalogue (`crate::fault::catalog`): the kinds for the
//! schema, and one function that checks a fault's kind, target and parameters.

use std::collections::BTreeMap;

use schemars::gen::SchemaGenerator;
use schemars::schema::{InstanceType, Schema, SchemaObject, SubschemaValidation};

use crate::fault::catalog;
use crate::fault::target::{Pick, Role};
use crate::versions::SparkLine;

/// Every fault kind with one line of help, presets first.
pub fn kinds() -> Vec<(&'static str, &'static str)> {
    catalog::KINDS.iter().map(|k| (k.name, k.help)).collect()
}

/// What the catalogue made of a valid fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Checked {
    /// Acts at one instant and heals by itself (a kill that is restarted at once).
    pub instantaneous: bool,
    /// The version the target names, None when it names every version.
    pub line: Option<SparkLine>,
    /// `connect@V#N` / `worker@V#N`: the role and instance number.
    pub instance: Option<(&'static str, u32)>,
}

/// Checks one fault against the catalogue. The error's field is `kind`, `target` or
/// `params.<name>` (or `params`); parameters are given as strings (TOML numbers and booleans
/// written out).
pub(crate) fn check(
    kind: &str,
    target: Option<&str>,
    params: &BTreeMap<String, String>,
) -> Result<Checked, (String, String)> {
    let spec = catalog::parse(kind, target, params).map_err(|e| (e.field, e.message))?;
    let instance = match (spec.target.role, spec.target.pick) {
        (Role::Connect, Pick::Index(n)) => Some(("connect", n)),
        (Role::Worker, Pick::Index(n)) => Some(("worker", n)),
        _ => None,
    };
    Ok(Checked {
        instantaneous: spec.instantaneous(),
        line: spec.target.line,
        instance,
    })
}

/// Whether a fault acts at one instant (as the catalogue reads it; false if it is invalid).
pub(crate) fn is_instantaneous(
    kind: &str,
    target: Option<&str>,
    params: &BTreeMap<String, String>,
) -> bool {
    check(kind, target, params).is_ok_and(|c| c.instantaneous)
}

/// The JSON Schema of `fault.kind`: one of the catalogue's kinds, each with its help.
pub(crate) fn kind_schema(_: &mut SchemaGenerator) -> Schema {
    let one_of = catalog::KINDS
        .iter()
        .map(|k| {
            let mut s = SchemaObject {
                instance_type: Some(InstanceType::String.into()),
                enum_values: Some(vec![serde_json::Value::String(k.name.to_string())]),
                ..Default::default()
            };
            let params = if k.params.is_empty() {
                String::new()
            } else {
                let list: Vec<String> = k
                    .params
                    .iter()
                    .map(|(n, h)| format!("`{n}`: {h}"))
                    .collect();
                format!(" Parameters: {}.", list.join("; "))
            };
            s.metadata().description = Some(format!("{}. Targets: {}.{params}", k.help, k.targets));
            Schema::Object(s)
        })
        .collect();
    SchemaObject {
        subschemas: Some(Box::new(SubschemaValidation {
            one_of: Some(one_of),
            ..Default::default()
        })),
        ..Default::default()
    }
    .into()
}
