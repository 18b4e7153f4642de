//! The scenario file as a tree of TOML values with their byte spans, so that every error can
//! name a line and column, and field paths (`fault[1].at`) can be looked up.
//!
//! The tree is read with the `toml` crate's span support (`serde_spanned`). Some nodes have no
//! span of their own (tables made implicitly by dotted keys or `[a.b]` headers); their
//! position falls back to their first key.

use std::fmt;
use std::ops::Range;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// The names `serde_spanned` uses to ask a deserializer for a span (stable for the pinned
/// `toml` 0.8 / `serde_spanned` 0.6).
const SPANNED: &str = "$__serde_spanned_private_Spanned";
const START: &str = "$__serde_spanned_private_start";
const END: &str = "$__serde_spanned_private_end";
const VALUE: &str = "$__serde_spanned_private_value";
const FIELDS: &[&str] = &[START, END, VALUE];
/// The key under which `toml` hands out a date-time through `deserialize_any`.
const DATETIME: &str = "$__toml_private_datetime";

/// A TOML value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    String(String),
    Integer(i64),
    Float(f64),
    Boolean(bool),
    Datetime(String),
    Array(Vec<Node>),
    Table(Vec<Entry>),
}

impl Value {
    /// A short rendering for messages: `the string "opne"`, `the integer 42`, `an array`.
    pub fn describe(&self) -> String {
        match self {
            Value::String(s) => format!("the string {s:?}"),
            Value::Integer(i) => format!("the integer {i}"),
            Value::Float(x) => format!("the float {x}"),
            Value::Boolean(b) => format!("the boolean {b}"),
            Value::Datetime(d) => format!("the date-time {d}"),
            Value::Array(_) => "an array".into(),
            Value::Table(_) => "a table".into(),
        }
    }
}

/// A value and where it is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub span: Option<Range<usize>>,
    pub value: Value,
}

/// A key of a table, where it is, and its value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub key: String,
    pub key_span: Option<Range<usize>>,
    pub node: Node,
}

impl Node {
    /// The byte offset that best locates this node: its own span, else its first key.
    pub fn offset(&self) -> Option<usize> {
        if let Some(s) = &self.span {
            return Some(s.start);
        }
        match &self.value {
            Value::Table(entries) => entries.iter().find_map(|e| {
                e.key_span
                    .as_ref()
                    .map(|s| s.start)
                    .or_else(|| e.node.offset())
            }),
            Value::Array(items) => items.iter().find_map(Node::offset),
            _ => None,
        }
    }

    /// The entry `key` of a table.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        match &self.value {
            Value::Table(entries) => entries.iter().find(|e| e.key == key),
            _ => None,
        }
    }
}

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

/// A field path as shown in errors: `workload.rate`, `fault[2].at`,
/// `env.spark_conf."4.1.0"."spark.x"`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Path(pub Vec<Seg>);

impl Path {
    pub fn root() -> Path {
        Path(Vec::new())
    }

    pub fn key(&self, k: &str) -> Path {
        let mut p = self.clone();
        p.0.push(Seg::Key(k.to_string()));
        p
    }

    pub fn index(&self, i: usize) -> Path {
        let mut p = self.clone();
        p.0.push(Seg::Index(i));
        p
    }
}

/// Whether a key can be written bare in a path.
fn bare(k: &str) -> bool {
    !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    if bare(k) {
                        f.write_str(k)?;
                    } else {
                        write!(f, "{k:?}")?;
                    }
                }
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// The whole file.
#[derive(Debug, Clone)]
pub(crate) struct Doc {
    pub root: Node,
}

impl Doc {
    /// Reads the tree, or the syntax error (message and byte offset).
    pub fn parse(text: &str) -> Result<Doc, (String, usize)> {
        match toml::from_str::<Node>(text) {
            Ok(root) => Ok(Doc { root }),
            Err(e) => {
                let offset = e.span().map_or(0, |s| s.start);
                let msg = e.message().trim().to_string();
                let msg = if msg.contains(DATETIME) {
                    "a date-time is not accepted anywhere in a scenario file".to_string()
                } else {
                    msg
                };
                Err((msg, offset))
            }
        }
    }

    /// The node at `path`, if present.
    pub fn node(&self, path: &Path) -> Option<&Node> {
        let mut node = &self.root;
        for seg in &path.0 {
            node = match (seg, &node.value) {
                (Seg::Key(k), _) => &node.get(k)?.node,
                (Seg::Index(i), Value::Array(items)) => items.get(*i)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// Where the value at `path` is; when it is absent, where its nearest present ancestor is
    /// (the table header, or the start of the file).
    pub fn value_offset(&self, path: &Path) -> usize {
        self.locate(path, false)
    }

    /// Where the key of the last step of `path` is (for an array element: the element); when
    /// absent, like [`Doc::value_offset`].
    pub fn key_offset(&self, path: &Path) -> usize {
        self.locate(path, true)
    }

    fn locate(&self, path: &Path, want_key: bool) -> usize {
        let mut node = &self.root;
        let mut best = node.offset().unwrap_or(0);
        let last = path.0.len().saturating_sub(1);
        for (i, seg) in path.0.iter().enumerate() {
            let next = match (seg, &node.value) {
                (Seg::Key(k), _) => match node.get(k) {
                    Some(e) => {
                        if want_key && i == last {
                            if let Some(s) = &e.key_span {
                                return s.start;
                            }
                        }
                        if let Some(o) = e.key_span.as_ref().map(|s| s.start) {
                            best = o;
                        }
                        &e.node
                    }
                    None => return best,
                },
                (Seg::Index(n), Value::Array(items)) => match items.get(*n) {
                    Some(item) => item,
                    None => return best,
                },
                _ => return best,
            };
            if let Some(o) = next.offset() {
                best = o;
            }
            node = next;
        }
        best
    }
}

/// A key with its span when the deserializer knows it.
struct Key {
    name: String,
    span: Option<Range<usize>>,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(Key {
                    name: v.to_string(),
                    span: None,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Key, A::Error> {
                let (mut start, mut end, mut name) = (None, None, None);
                while let Some(k) = a.next_key::<String>()? {
                    match k.as_str() {
                        START => start = Some(a.next_value::<usize>()?),
                        END => end = Some(a.next_value::<usize>()?),
                        _ => name = Some(a.next_value::<String>()?),
                    }
                }
                let name = name.ok_or_else(|| de::Error::custom("a key without a name"))?;
                let span = match (start, end) {
                    (Some(s), Some(e)) => Some(s..e),
                    _ => None,
                };
                Ok(Key { name, span })
            }
        }
        d.deserialize_struct(SPANNED, FIELDS, KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Node, D::Error> {
        d.deserialize_struct(SPANNED, FIELDS, NodeVisitor { spanned: true })
    }
}

/// The value inside a span (asked for with `deserialize_any`, so no second span).
struct Inner(Value);

impl<'de> Deserialize<'de> for Inner {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Inner, D::Error> {
        d.deserialize_any(NodeVisitor { spanned: false })
            .map(|n| Inner(n.value))
    }
}

struct NodeVisitor {
    /// Whether a map may be the span wrapper.
    spanned: bool,
}

fn plain(value: Value) -> Node {
    Node { span: None, value }
}

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any TOML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(plain(Value::Boolean(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(plain(Value::Integer(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        i64::try_from(v)
            .map(|v| plain(Value::Integer(v)))
            .map_err(|_| E::custom("integer out of range"))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Ok(plain(Value::Float(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(plain(Value::String(v.to_string())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(plain(Value::String(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = a.next_element::<Node>()? {
            items.push(item);
        }
        Ok(plain(Value::Array(items)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Node, A::Error> {
        let Some(first) = a.next_key::<Key>()? else {
            return Ok(plain(Value::Table(Vec::new())));
        };
        if self.spanned && first.name == START {
            let start = a.next_value::<usize>()?;
            let mut end = start;
            let mut value = None;
            while let Some(k) = a.next_key::<Key>()? {
                match k.name.as_str() {
                    END => end = a.next_value::<usize>()?,
                    _ => value = Some(a.next_value::<Inner>()?.0),
                }
            }
            let value = value.ok_or_else(|| de::Error::custom("a span without a value"))?;
            return Ok(Node {
                span: Some(start..end),
                value,
            });
        }
        if first.name == DATETIME {
            let text = a.next_value::<String>()?;
            return Ok(plain(Value::Datetime(text)));
        }
        let mut entries = vec![Entry {
            key: first.name,
            key_span: first.span,
            node: a.next_value::<Node>()?,
        }];
        while let Some(k) = a.next_key::<Key>()? {
            let node = a.next_value::<Node>()?;
            entries.push(Entry {
                key: k.name,
                key_span: k.span,
                node,
            });
        }
        Ok(plain(Value::Table(entries)))
    }
}
