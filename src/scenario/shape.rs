//! Structural checks driven by the scenario's own JSON Schema: unknown fields, missing fields,
//! wrong types, unknown enum values, ranges, empty or duplicated lists and malformed
//! durations — every one reported (not just the first) at its line and column.
//!
//! Walking the schema generated from the model (rather than a second, hand-written
//! description) keeps the checks, the schema editors use and the serde model in agreement.
//! Supported keywords: `$ref`, `allOf`, `anyOf`, `oneOf`, `enum`, `type`, `properties`,
//! `required`, `additionalProperties`, `items`, `minItems`, `maxItems`, `uniqueItems`,
//! `minimum`, `maximum`; string formats are checked by definition name (`Duration`).

use serde_json::{Map, Value as Json};

use super::doc::{Node, Path, Value};
use super::error::Sink;
use crate::units::HumanDuration;

/// Checks `root` against the root `schema` (a JSON Schema with `definitions`).
pub(crate) fn check(root: &Node, schema: &Json, sink: &mut Sink<'_>) {
    let empty = Map::new();
    let defs = schema
        .get("definitions")
        .and_then(Json::as_object)
        .unwrap_or(&empty);
    let walker = Walker { defs };
    walker.walk(
        root,
        schema,
        &Path::root(),
        root.offset().unwrap_or(0),
        sink,
    );
}

struct Walker<'a> {
    defs: &'a Map<String, Json>,
}

/// `"a", "b"`.
fn quoted_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    items
        .into_iter()
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `a, b or c`.
fn or_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn fmt_num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

impl<'a> Walker<'a> {
    /// Follows `$ref` and single-element `allOf` wrappers; returns the schema and the name of
    /// the last definition followed.
    fn resolve(&self, mut s: &'a Json) -> (&'a Json, Option<&'a str>) {
        let mut name = None;
        for _ in 0..32 {
            if let Some(r) = s.get("$ref").and_then(Json::as_str) {
                let n = r.strip_prefix("#/definitions/").unwrap_or(r);
                match self.defs.get(n) {
                    Some(d) => {
                        name = Some(n);
                        s = d;
                        continue;
                    }
                    None => break,
                }
            }
            match s.get("allOf").and_then(Json::as_array) {
                Some(all) if all.len() == 1 && s.get("type").is_none() => s = &all[0],
                _ => break,
            }
        }
        (s, name)
    }

    /// The accepted values when the schema is a string enumeration (`enum`, or `oneOf` /
    /// `anyOf` of single enumerations, as schemars writes documented enums).
    fn enum_values(&self, s: &'a Json) -> Option<Vec<&'a str>> {
        let (s, _) = self.resolve(s);
        if let Some(vals) = s.get("enum").and_then(Json::as_array) {
            return vals.iter().map(Json::as_str).collect();
        }
        let branches = s
            .get("oneOf")
            .or_else(|| s.get("anyOf"))
            .and_then(Json::as_array)?;
        let mut out = Vec::new();
        for b in branches {
            out.extend(self.enum_values(b)?);
        }
        Some(out)
    }

    fn types(&self, s: &'a Json) -> Vec<&'a str> {
        match s.get("type") {
            Some(Json::String(t)) => vec![t.as_str()],
            Some(Json::Array(ts)) => ts.iter().filter_map(Json::as_str).collect(),
            _ => Vec::new(),
        }
    }

    /// Whether a value of this TOML type could match the schema (by type only).
    fn type_fits(&self, s: &'a Json, v: &Value) -> bool {
        if self.enum_values(s).is_some() {
            return matches!(v, Value::String(_));
        }
        let (s, _) = self.resolve(s);
        if let Some(branches) = s
            .get("anyOf")
            .or_else(|| s.get("oneOf"))
            .and_then(Json::as_array)
        {
            return branches.iter().any(|b| self.type_fits(b, v));
        }
        let types = self.types(s);
        types.is_empty() || types.iter().any(|t| type_matches(t, v))
    }

    /// What the schema accepts, for people: `a duration such as "45s" or "4m"`, `one of
    /// "open", "closed"`, `an integer from 1 to 4`.
    fn expects(&self, s: &'a Json) -> String {
        if let Some(vals) = self.enum_values(s) {
            return format!("one of {}", quoted_list(vals));
        }
        let (s, name) = self.resolve(s);
        if name == Some("Duration") {
            return "a duration such as \"45s\" or \"4m\"".into();
        }
        if let Some(branches) = s
            .get("anyOf")
            .or_else(|| s.get("oneOf"))
            .and_then(Json::as_array)
        {
            let parts: Vec<String> = branches.iter().map(|b| self.expects(b)).collect();
            return or_list(&parts);
        }
        let types = self.types(s);
        let parts: Vec<String> = types
            .iter()
            .map(|t| match *t {
                "string" => "a string".to_string(),
                "boolean" => "true or false".to_string(),
                "integer" | "number" => {
                    let what = if *t == "integer" {
                        "an integer"
                    } else {
                        "a number"
                    };
                    match (
                        s.get("minimum").and_then(Json::as_f64),
                        s.get("maximum").and_then(Json::as_f64),
                    ) {
                        (Some(lo), Some(hi)) => {
                            format!("{what} from {} to {}", fmt_num(lo), fmt_num(hi))
                        }
                        (Some(lo), None) => format!("{what} of at least {}", fmt_num(lo)),
                        (None, Some(hi)) => format!("{what} of at most {}", fmt_num(hi)),
                        (None, None) => what.to_string(),
                    }
                }
                "array" => match s.get("items") {
                    Some(items) => {
                        let inner = self.expects(items);
                        let inner = match inner.as_str() {
                            "a string" => "strings".to_string(),
                            "an integer" => "integers".to_string(),
                            "a number" => "numbers".to_string(),
                            _ => match inner.strip_prefix("one of ") {
                                Some(v) => format!("values from {v}"),
                                None => format!("({inner})"),
                            },
                        };
                        format!("an array of {inner}")
                    }
                    None => "an array".to_string(),
                },
                "object" => "a table".to_string(),
                other => other.to_string(),
            })
            .collect();
        if parts.is_empty() {
            "any value".into()
        } else {
            or_list(&parts)
        }
    }

    fn walk(&self, node: &Node, schema: &'a Json, path: &Path, at: usize, sink: &mut Sink<'_>) {
        let at = node.offset().unwrap_or(at);
        let p = path.to_string();
        if let Some(vals) = self.enum_values(schema) {
            match &node.value {
                Value::String(s) if vals.contains(&s.as_str()) => {}
                Value::String(s) => sink.at(
                    at,
                    &p,
                    format!("unknown value {s:?}; accepted: {}", quoted_list(vals)),
                ),
                other => sink.at(
                    at,
                    &p,
                    format!(
                        "expected one of {}, found {}",
                        quoted_list(vals),
                        other.describe()
                    ),
                ),
            }
            return;
        }
        let (s, name) = self.resolve(schema);
        for sub in s
            .get("allOf")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            self.walk(node, sub, path, at, sink);
        }
        if let Some(branches) = s
            .get("anyOf")
            .or_else(|| s.get("oneOf"))
            .and_then(Json::as_array)
        {
            match branches.iter().find(|b| self.type_fits(b, &node.value)) {
                Some(b) => match (self.enum_values(b), &node.value) {
                    // A string that is none of an enumeration's values: list the other
                    // branches too (`"quick", "all" or an array of strings`).
                    (Some(vals), Value::String(text)) if !vals.contains(&text.as_str()) => {
                        let mut parts = vec![quoted_list(vals)];
                        parts.extend(branches.iter().filter(|o| *o != b).map(|o| self.expects(o)));
                        sink.at(
                            at,
                            &p,
                            format!("unknown value {text:?}; accepted: {}", or_list(&parts)),
                        );
                    }
                    _ => self.walk(node, b, path, at, sink),
                },
                None => sink.at(at, &p, self.mismatch(schema, &node.value)),
            }
            return;
        }
        let types = self.types(s);
        if !types.is_empty() && !types.iter().any(|t| type_matches(t, &node.value)) {
            sink.at(at, &p, self.mismatch(schema, &node.value));
            return;
        }
        match &node.value {
            Value::String(text) => {
                if name == Some("Duration") {
                    if let Err(why) = HumanDuration::parse(text) {
                        let why = why.split(" (").nth(1).and_then(|r| r.split(')').next());
                        let why = why.map_or(String::new(), |w| format!(" ({w})"));
                        sink.at(
                            at,
                            &p,
                            format!(
                                "{text:?} is not a duration{why}; accepted: e.g. \"250ms\", \"45s\", \"4m\", \"1h 30m\""
                            ),
                        );
                    }
                }
            }
            Value::Integer(i) => self.range(*i as f64, s, &p, at, sink),
            Value::Float(x) => self.range(*x, s, &p, at, sink),
            Value::Array(items) => self.array(items, s, path, at, sink),
            Value::Table(_) => self.table(node, s, path, at, sink),
            Value::Boolean(_) | Value::Datetime(_) => {}
        }
    }

    fn mismatch(&self, schema: &'a Json, v: &Value) -> String {
        let expects = self.expects(schema);
        let hint = match v {
            Value::Integer(_) | Value::Float(_) | Value::Boolean(_)
                if self.type_fits(schema, &Value::String(String::new()))
                    && expects == "a string" =>
            {
                let text = match v {
                    Value::Integer(i) => i.to_string(),
                    Value::Float(x) => x.to_string(),
                    Value::Boolean(b) => b.to_string(),
                    _ => String::new(),
                };
                format!(" (write it in quotes: \"{text}\")")
            }
            _ => String::new(),
        };
        format!("expected {expects}, found {}{hint}", v.describe())
    }

    fn range(&self, x: f64, s: &Json, p: &str, at: usize, sink: &mut Sink<'_>) {
        let lo = s.get("minimum").and_then(Json::as_f64);
        let hi = s.get("maximum").and_then(Json::as_f64);
        if !x.is_finite() || lo.is_some_and(|lo| x < lo) || hi.is_some_and(|hi| x > hi) {
            let accepted = match (lo, hi) {
                (Some(lo), Some(hi)) => format!("{} to {}", fmt_num(lo), fmt_num(hi)),
                (Some(lo), None) => format!("at least {}", fmt_num(lo)),
                (None, Some(hi)) => format!("at most {}", fmt_num(hi)),
                (None, None) => "a finite number".to_string(),
            };
            sink.at(
                at,
                p,
                format!("{} is out of range; accepted: {accepted}", fmt_num(x)),
            );
        }
    }

    fn array(&self, items: &[Node], s: &'a Json, path: &Path, at: usize, sink: &mut Sink<'_>) {
        let p = path.to_string();
        if let Some(min) = s.get("minItems").and_then(Json::as_u64) {
            if (items.len() as u64) < min {
                let what = if min == 1 {
                    "must not be empty".to_string()
                } else {
                    format!("needs at least {min} items")
                };
                sink.at(at, &p, format!("{what}; accepted: {}", self.expects(s)));
            }
        }
        if let Some(max) = s.get("maxItems").and_then(Json::as_u64) {
            if items.len() as u64 > max {
                sink.at(
                    at,
                    &p,
                    format!("has {} items; at most {max} accepted", items.len()),
                );
            }
        }
        if let Some(item_schema) = s.get("items") {
            for (i, item) in items.iter().enumerate() {
                self.walk(item, item_schema, &path.index(i), at, sink);
            }
        }
        if s.get("uniqueItems").and_then(Json::as_bool) == Some(true) {
            for (i, item) in items.iter().enumerate() {
                if items[..i].iter().any(|earlier| earlier.value == item.value) {
                    let shown = match &item.value {
                        Value::String(s) => format!("{s:?}"),
                        other => other.describe(),
                    };
                    sink.at(
                        item.offset().unwrap_or(at),
                        &path.index(i).to_string(),
                        format!("duplicate value {shown}; each value may appear once"),
                    );
                }
            }
        }
    }

    fn table(&self, node: &Node, s: &'a Json, path: &Path, at: usize, sink: &mut Sink<'_>) {
        let Value::Table(entries) = &node.value else {
            return;
        };
        let empty = Map::new();
        let props = s
            .get("properties")
            .and_then(Json::as_object)
            .unwrap_or(&empty);
        let additional = s.get("additionalProperties");
        for e in entries {
            let key_at = e.key_span.as_ref().map_or(at, |k| k.start);
            let child = path.key(&e.key);
            if let Some(ps) = props.get(&e.key) {
                self.walk(&e.node, ps, &child, key_at, sink);
                continue;
            }
            match additional {
                Some(Json::Bool(false)) => {
                    let accepted = if props.is_empty() {
                        "this table takes no fields".to_string()
                    } else {
                        // Sorted, so messages do not depend on serde_json's map order.
                        let mut keys: Vec<&str> = props.keys().map(String::as_str).collect();
                        keys.sort_unstable();
                        format!("accepted: {}", quoted_list(keys))
                    };
                    sink.at(
                        key_at,
                        &child.to_string(),
                        format!("unknown field {:?}; {accepted}", e.key),
                    );
                }
                Some(extra @ Json::Object(_)) => self.walk(&e.node, extra, &child, key_at, sink),
                _ => {}
            }
        }
        for req in s
            .get("required")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            let Some(req) = req.as_str() else { continue };
            if !entries.iter().any(|e| e.key == req) {
                let expects = props
                    .get(req)
                    .map_or("a value".into(), |ps| self.expects(ps));
                sink.at(
                    at,
                    &path.key(req).to_string(),
                    format!("required but missing; expected {expects}"),
                );
            }
        }
    }
}

fn type_matches(t: &str, v: &Value) -> bool {
    matches!(
        (t, v),
        ("string", Value::String(_))
            | ("integer", Value::Integer(_))
            | ("number", Value::Integer(_) | Value::Float(_))
            | ("boolean", Value::Boolean(_))
            | ("array", Value::Array(_))
            | ("object", Value::Table(_))
    )
}
