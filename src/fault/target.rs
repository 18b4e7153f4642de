//! Fault targets as people write them: `role[@version][#replica | :random | :all]`.
//!
//! `connect@4.1.0` (replica 0), `connect@4.1.0:all`, `executor@3.5.7` (one at random),
//! `executor:all` (every executor of both versions), `metastore@3.5`, `s3`, `postgres@4.1.0`
//! (the link from that version's metastore to PostgreSQL), `spark@4.1.0` (its driver ↔
//! executors network).

use std::fmt;

use crate::versions::SparkLine;

pub use crate::platform::topology::Role;

/// Which of several matching instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// The default: replica/worker 0, or a random executor.
    Default,
    /// `#N`.
    Index(u32),
    /// `:random`.
    Random,
    /// `:all`.
    All,
}

/// A parsed target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The role.
    pub role: Role,
    /// The version, or None for every version.
    pub line: Option<SparkLine>,
    /// Which instances.
    pub pick: Pick,
}

impl Target {
    /// Parses a target; the error says what is accepted.
    pub fn parse(s: &str) -> Result<Target, String> {
        let s = s.trim();
        let (rest, pick) = if let Some((r, p)) = s.split_once('#') {
            let n = p
                .parse::<u32>()
                .map_err(|_| format!("`#{p}` is not an instance number (write e.g. `#0`)"))?;
            (r, Pick::Index(n))
        } else if let Some(r) = s.strip_suffix(":all") {
            (r, Pick::All)
        } else if let Some(r) = s.strip_suffix(":random") {
            (r, Pick::Random)
        } else {
            (s, Pick::Default)
        };
        let (role_s, line) = match rest.split_once('@') {
            Some((r, v)) => (r, Some(parse_line(v)?)),
            None => (rest, None),
        };
        let role = Role::parse(role_s).ok_or_else(|| {
            format!(
                "unknown role `{role_s}`; accepted: {}, driver (= connect)",
                Role::ALL.map(Role::name).join(", ")
            )
        })?;
        Ok(Target { role, line, pick })
    }

    /// The versions it covers.
    pub fn lines(&self) -> Vec<SparkLine> {
        match self.line {
            Some(l) => vec![l],
            None => SparkLine::ALL.to_vec(),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.role.name())?;
        if let Some(l) = self.line {
            write!(f, "@{}", l.version())?;
        }
        match self.pick {
            Pick::Default => Ok(()),
            Pick::Index(n) => write!(f, "#{n}"),
            Pick::Random => f.write_str(":random"),
            Pick::All => f.write_str(":all"),
        }
    }
}

/// `3.5.7`, `3.5`, `35`, `4.1.0`, `4.1`, `41`.
pub fn parse_line(v: &str) -> Result<SparkLine, String> {
    SparkLine::ALL
        .into_iter()
        .find(|l| v == l.version() || v == l.short() || v == l.slug())
        .ok_or_else(|| format!("unknown Spark version `{v}`; accepted: 3.5.7, 4.1.0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_with_versions_and_picks() {
        let t = Target::parse("connect@4.1.0#1").unwrap();
        assert_eq!(
            t,
            Target {
                role: Role::Connect,
                line: Some(SparkLine::V4_1),
                pick: Pick::Index(1)
            }
        );
        assert_eq!(t.to_string(), "connect@4.1.0#1");
        let t = Target::parse("executor:all").unwrap();
        assert_eq!((t.role, t.line, t.pick), (Role::Executor, None, Pick::All));
        assert_eq!(t.lines().len(), 2);
        assert_eq!(Target::parse("driver@3.5").unwrap().role, Role::Connect);
        assert_eq!(Target::parse("s3@35").unwrap().line, Some(SparkLine::V3_5));
        assert_eq!(
            Target::parse("history-s3@4.1.0").unwrap().role,
            Role::HistoryS3
        );
    }

    #[test]
    fn bad_targets_say_what_is_accepted() {
        let e = Target::parse("exector@4.1.0").unwrap_err();
        assert!(
            e.contains("unknown role `exector`; accepted: connect, executor"),
            "{e}"
        );
        let e = Target::parse("connect@4.0").unwrap_err();
        assert_eq!(e, "unknown Spark version `4.0`; accepted: 3.5.7, 4.1.0");
        let e = Target::parse("connect#x").unwrap_err();
        assert!(e.contains("not an instance number"), "{e}");
    }
}
