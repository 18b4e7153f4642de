//! Toxic specifications: plain serde data, internally tagged by `kind`, so that a toxic can be
//! written to the fault ledger and shown by `chaos fault status` exactly as it was asked for.
//!
//! ```json
//! {"kind": "latency", "direction": "downstream", "probability": 1.0, "latency_ms": 200, "jitter_ms": 20}
//! {"kind": "s3-error", "method": "GET", "path_prefix": "/chaos/3.5/", "fraction": 0.2, "code": "slow-down"}
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use super::error::ProxyError;
use super::toxic::{
    BandwidthSpec, BlackholeSpec, LatencySpec, RefuseSpec, ResetSpec, S3ErrorSpec, S3LatencySpec,
    S3TruncateSpec, SlicerSpec, TimeoutSpec,
};

/// The identity of a toxic within one proxy, returned by `add` and taken by `remove`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ToxicId(pub u64);

impl fmt::Display for ToxicId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "toxic-{}", self.0)
    }
}

/// Which flow of a connection a toxic acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// Client → upstream server (requests).
    Upstream,
    /// Upstream server → client (responses).
    Downstream,
    /// Both flows.
    #[default]
    Both,
}

impl Direction {
    /// Whether this direction includes `flow`.
    pub(crate) fn covers(self, flow: Flow) -> bool {
        matches!(
            (self, flow),
            (Direction::Both, _)
                | (Direction::Upstream, Flow::Upstream)
                | (Direction::Downstream, Flow::Downstream)
        )
    }
}

/// One flow of a live connection (a `Direction` is what a toxic asks for; a `Flow` is what a pump
/// is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Client → upstream.
    Upstream,
    /// Upstream → client.
    Downstream,
}

impl Flow {
    /// 0 for upstream, 1 for downstream (for counter arrays).
    pub(crate) fn index(self) -> usize {
        match self {
            Flow::Upstream => 0,
            Flow::Downstream => 1,
        }
    }
}

/// A fault to inject into a link, as data. See the module documentation for what each does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ToxicSpec {
    /// Delay every chunk.
    Latency(LatencySpec),
    /// Limit the rate.
    Bandwidth(BandwidthSpec),
    /// Read and discard, forward nothing, keep the connection open.
    Blackhole(BlackholeSpec),
    /// Write data in small delayed slices.
    Slicer(SlicerSpec),
    /// Close connections with TCP RST.
    Reset(ResetSpec),
    /// Close connections after a while.
    Timeout(TimeoutSpec),
    /// Stop listening: new connections are refused.
    Refuse(RefuseSpec),
    /// Answer matching HTTP requests with an S3 XML error.
    S3Error(S3ErrorSpec),
    /// Hold matching HTTP requests before forwarding them.
    S3Latency(S3LatencySpec),
    /// Cut matching GET response bodies short.
    S3Truncate(S3TruncateSpec),
}

impl ToxicSpec {
    /// The `kind` tag.
    pub fn kind(&self) -> &'static str {
        match self {
            ToxicSpec::Latency(_) => "latency",
            ToxicSpec::Bandwidth(_) => "bandwidth",
            ToxicSpec::Blackhole(_) => "blackhole",
            ToxicSpec::Slicer(_) => "slicer",
            ToxicSpec::Reset(_) => "reset",
            ToxicSpec::Timeout(_) => "timeout",
            ToxicSpec::Refuse(_) => "refuse",
            ToxicSpec::S3Error(_) => "s3-error",
            ToxicSpec::S3Latency(_) => "s3-latency",
            ToxicSpec::S3Truncate(_) => "s3-truncate",
        }
    }

    /// Check the parameters (ranges, probabilities, sizes).
    pub fn validate(&self) -> Result<(), ProxyError> {
        let result = match self {
            ToxicSpec::Latency(s) => s.validate(),
            ToxicSpec::Bandwidth(s) => s.validate(),
            ToxicSpec::Blackhole(s) => s.validate(),
            ToxicSpec::Slicer(s) => s.validate(),
            ToxicSpec::Reset(s) => s.validate(),
            ToxicSpec::Timeout(s) => s.validate(),
            ToxicSpec::Refuse(_) => Ok(()),
            ToxicSpec::S3Error(s) => s.validate(),
            ToxicSpec::S3Latency(s) => s.validate(),
            ToxicSpec::S3Truncate(s) => s.validate(),
        };
        result.map_err(|reason| ProxyError::InvalidToxic {
            kind: self.kind(),
            reason,
        })
    }

    /// Whether this toxic only works on a proxy in HTTP mode.
    pub fn needs_http(&self) -> bool {
        matches!(
            self,
            ToxicSpec::S3Error(_) | ToxicSpec::S3Latency(_) | ToxicSpec::S3Truncate(_)
        )
    }
}

/// The serde default of every `probability` field.
pub(crate) fn always() -> f64 {
    1.0
}

/// Check a probability or fraction field.
pub(crate) fn check_unit(field: &str, value: f64) -> Result<(), String> {
    if value.is_finite() && (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(format!("`{field}` must be between 0 and 1, got {value}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::proxy::toxic::S3ErrorCode;

    #[test]
    fn specs_round_trip_through_json_with_a_kind_tag() {
        let specs = vec![
            ToxicSpec::Latency(LatencySpec {
                direction: Direction::Downstream,
                probability: 0.5,
                latency_ms: 200,
                jitter_ms: 20,
            }),
            ToxicSpec::Refuse(RefuseSpec {}),
            ToxicSpec::S3Error(S3ErrorSpec {
                method: Some("GET".into()),
                path_prefix: "/chaos/3.5/".into(),
                fraction: 0.2,
                code: S3ErrorCode::SlowDown,
            }),
        ];
        for spec in specs {
            let json = serde_json::to_string(&spec).expect("serialises");
            assert!(
                json.contains(&format!("\"kind\":\"{}\"", spec.kind())),
                "{json}"
            );
            let back: ToxicSpec = serde_json::from_str(&json).expect("deserialises");
            assert_eq!(back, spec);
        }
    }

    #[test]
    fn defaults_and_unknown_fields() {
        let spec: ToxicSpec =
            serde_json::from_str(r#"{"kind":"latency","latency_ms":5}"#).expect("defaults");
        assert_eq!(
            spec,
            ToxicSpec::Latency(LatencySpec {
                direction: Direction::Both,
                probability: 1.0,
                latency_ms: 5,
                jitter_ms: 0,
            })
        );
        let err = serde_json::from_str::<ToxicSpec>(r#"{"kind":"latency","latency":5}"#)
            .expect_err("unknown field");
        assert!(err.to_string().contains("unknown field `latency`"), "{err}");
        let err = serde_json::from_str::<ToxicSpec>(r#"{"kind":"lag"}"#).expect_err("bad kind");
        assert!(err.to_string().contains("unknown variant `lag`"), "{err}");
        let spec: ToxicSpec = serde_json::from_str(r#"{"kind":"refuse"}"#).expect("refuse");
        assert_eq!(spec, ToxicSpec::Refuse(RefuseSpec {}));
    }

    #[test]
    fn validation_names_the_field() {
        let spec = ToxicSpec::Latency(LatencySpec {
            direction: Direction::Both,
            probability: 1.5,
            latency_ms: 1,
            jitter_ms: 0,
        });
        let err = spec.validate().expect_err("out of range");
        assert_eq!(
            err.to_string(),
            "add a `latency` toxic: `probability` must be between 0 and 1, got 1.5"
        );
    }
}
