//! Small value types shared by scenario files, checkers and reports: durations written the way
//! people write them (`90s`, `4m`, `1h 30m`), with serde and JSON Schema support.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration written as text (`45s`, `4m`, `250ms`). Deserialising an invalid string fails with
/// a message that lists the accepted units, so TOML errors carry the value's position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    /// The wrapped duration.
    pub fn get(self) -> Duration {
        self.0
    }

    /// Parses `90s`, `4m`, `1h 30m`, `250ms`.
    pub fn parse(s: &str) -> Result<HumanDuration, String> {
        humantime::parse_duration(s.trim())
            .map(HumanDuration)
            .map_err(|e| {
                format!("`{s}` is not a duration ({e}); write e.g. `250ms`, `45s`, `4m`, `1h 30m`")
            })
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        HumanDuration::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for HumanDuration {
    fn schema_name() -> String {
        "Duration".into()
    }

    fn json_schema(_: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
        let mut schema = schemars::schema::SchemaObject {
            instance_type: Some(schemars::schema::InstanceType::String.into()),
            ..Default::default()
        };
        schema.string().pattern = Some(r"^\s*\d+(\.\d+)?\s*[a-z]+(\s*\d+\s*[a-z]+)*\s*$".into());
        schema.metadata().description =
            Some("A duration such as `250ms`, `45s`, `4m` or `1h 30m`.".into());
        schema.into()
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_print_and_reject() {
        assert_eq!(
            HumanDuration::parse("90s").unwrap().get(),
            Duration::from_secs(90)
        );
        assert_eq!(
            HumanDuration::parse("1h 30m").unwrap().get(),
            Duration::from_secs(5400)
        );
        assert_eq!(HumanDuration::parse("4m").unwrap().to_string(), "4m");
        let err = HumanDuration::parse("soon").unwrap_err();
        assert!(err.contains("`soon` is not a duration"), "{err}");
    }
}
