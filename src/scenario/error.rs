//! Scenario errors: every one names the file, a 1-based line and column, the field path and
//! what is accepted, e.g.
//! `scenarios/x.toml:12:9: workload.model: unknown value "opne"; accepted: "open", "closed"`.

use std::fmt;

/// A 1-based position in a scenario file (columns count characters, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1, in characters.
    pub column: usize,
}

impl Pos {
    /// The position of byte `offset` in `text` (clamped to the text, moved back to a character
    /// boundary).
    pub fn of_offset(text: &str, offset: usize) -> Pos {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Pos { line, column }
    }
}

/// One mistake in a scenario file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// The file as named by the caller (`scenarios/s3-outage.toml`).
    pub file: String,
    /// Where the mistake is; None only when the file could not be read at all.
    pub pos: Option<Pos>,
    /// The field path (`workload.rate`, `fault[2].at`, `checks.recovery_within`), empty for
    /// TOML syntax errors and unreadable files.
    pub path: String,
    /// What is wrong and what is accepted.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(p) = self.pos {
            write!(f, ":{}:{}", p.line, p.column)?;
        }
        if self.path.is_empty() {
            write!(f, ": {}", self.message)
        } else {
            write!(f, ": {}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for ScenarioError {}

/// Every mistake found in one scenario file, in file order. Never empty when returned as an
/// error. `Display` renders one error per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioErrors(pub Vec<ScenarioError>);

impl ScenarioErrors {
    /// The errors, in file order.
    pub fn errors(&self) -> &[ScenarioError] {
        &self.0
    }

    /// How many errors.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is none (never the case for a returned error).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for ScenarioErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioErrors {}

/// Collects errors for one file, then sorts them by position.
#[derive(Debug)]
pub(crate) struct Sink<'a> {
    pub file: &'a str,
    pub text: &'a str,
    pub errors: Vec<ScenarioError>,
}

impl<'a> Sink<'a> {
    pub fn new(file: &'a str, text: &'a str) -> Sink<'a> {
        Sink {
            file,
            text,
            errors: Vec::new(),
        }
    }

    /// Records an error at byte `offset`.
    pub fn at(&mut self, offset: usize, path: &str, message: impl Into<String>) {
        let e = ScenarioError {
            file: self.file.to_string(),
            pos: Some(Pos::of_offset(self.text, offset)),
            path: path.to_string(),
            message: message.into(),
        };
        if !self.errors.contains(&e) {
            self.errors.push(e);
        }
    }

    /// The errors in file order (stable for errors at the same position).
    pub fn finish(mut self) -> Vec<ScenarioError> {
        self.errors.sort_by_key(|e| e.pos);
        self.errors
    }
}
