//! The toxic traits and the one table that maps a [`ToxicSpec`] to its behaviour.
//!
//! Toxics come in four layers, each with a small trait (the Toxiproxy model: one method that
//! matters, optional abilities with no-op defaults):
//!
//! - **stream** ([`StreamToxic`]): decides, for the chunk at the front of one flow's queue,
//!   whether to discard it, when to write it and how much of it to write at once. Latency,
//!   bandwidth, slicer and blackhole. Instances are per connection and per flow, so they can
//!   keep state (a bandwidth budget, a slice in progress).
//! - **connection** ([`ConnToxic`]): a timer that closes the whole connection. Reset, timeout.
//! - **listener**: refuse (handled by the accept loop, no trait).
//! - **HTTP** ([`HttpToxic`]): decides per request whether to answer it, hold it or truncate its
//!   response. The S3 toxics.
//!
//! Several stream toxics on one flow compose by constraint: the chunk is discarded if any toxic
//! discards it, is written no earlier than the latest `not_before` and no more than the smallest
//! `max_len` at once. Because the pump writes strictly from the front of one queue, no
//! composition can reorder bytes.

mod bandwidth;
mod blackhole;
mod latency;
mod refuse;
mod reset;
mod s3_error;
mod s3_latency;
mod s3_truncate;
mod slicer;
mod timeout;

use std::time::{Duration, Instant};

use bytes::Bytes;

pub use bandwidth::BandwidthSpec;
pub use blackhole::BlackholeSpec;
pub use latency::LatencySpec;
pub use refuse::RefuseSpec;
pub use reset::ResetSpec;
pub use s3_error::{S3ErrorCode, S3ErrorSpec};
pub use s3_latency::S3LatencySpec;
pub use s3_truncate::S3TruncateSpec;
pub use slicer::SlicerSpec;
pub use timeout::TimeoutSpec;

use super::http::RequestHead;
use super::spec::{Direction, ToxicSpec};

/// Bytes the proxy read from one side and has not written to the other yet.
#[derive(Debug)]
pub(crate) struct Chunk {
    /// What is left to write.
    pub data: Bytes,
    /// When the proxy read it.
    pub arrived: Instant,
    /// A per-flow sequence number; pieces of a split chunk keep their chunk's number, so a
    /// toxic can sample a random value once per chunk.
    pub seq: u64,
    /// Not before this instant (an HTTP request held by `s3-latency`).
    pub hold: Option<Instant>,
}

/// What a stream toxic wants done with the chunk at the front of the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Drop it.
    Discard,
    /// Write it, not before `not_before`, at most `max_len` bytes in one go.
    Pass {
        /// The earliest instant to write.
        not_before: Option<Instant>,
        /// The largest piece to write at once (at least 1).
        max_len: usize,
    },
}

impl Plan {
    /// Write now, whole.
    pub(crate) const PASS: Plan = Plan::Pass {
        not_before: None,
        max_len: usize::MAX,
    };

    /// Combine two plans: the stricter of each constraint wins.
    pub(crate) fn and(self, other: Plan) -> Plan {
        match (self, other) {
            (Plan::Discard, _) | (_, Plan::Discard) => Plan::Discard,
            (
                Plan::Pass {
                    not_before: a,
                    max_len: m,
                },
                Plan::Pass {
                    not_before: b,
                    max_len: n,
                },
            ) => Plan::Pass {
                not_before: a.max(b),
                max_len: m.min(n).max(1),
            },
        }
    }
}

/// How a connection is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CloseKind {
    /// Stop reading, deliver what is queued (ignoring toxics), then FIN (proxy shutdown).
    Graceful,
    /// FIN both ways now; bytes queued in the proxy are dropped.
    Fin,
    /// Close now with RST (`SO_LINGER` 0) to the flagged peers and FIN to the others.
    Reset {
        /// The client gets a reset.
        client: bool,
        /// The upstream server gets a reset.
        upstream: bool,
    },
}

impl CloseKind {
    /// When two closes are asked for, the harsher one wins.
    pub(crate) fn severity(self) -> u8 {
        match self {
            CloseKind::Graceful => 0,
            CloseKind::Fin => 1,
            CloseKind::Reset { .. } => 2,
        }
    }
}

/// A fault on one flow's bytes, one instance per connection and flow.
pub(crate) trait StreamToxic: Send {
    /// Decide about `front`, the chunk at the front of the queue. May be called several times
    /// for the same chunk (after a wait, or when the toxic set changes), so random choices are
    /// made once per chunk or piece and remembered.
    fn plan(&mut self, front: &Chunk) -> Plan;

    /// `n` bytes of the front chunk were written, finishing at `at`.
    fn written(&mut self, _n: usize, _at: Instant) {}

    /// The toxic was removed while the connection is live: how to close it, if at all.
    fn healed(&self) -> Option<CloseKind> {
        None
    }
}

/// The spec side of a stream toxic: where it applies and how to make an instance.
pub(crate) trait StreamSpec {
    /// The flows it acts on.
    fn direction(&self) -> Direction;
    /// The chance that it applies to a given connection.
    fn probability(&self) -> f64;
    /// A fresh instance for one flow of one connection.
    fn build(&self) -> Box<dyn StreamToxic>;
}

/// A timer that closes a connection.
pub(crate) trait ConnToxic {
    /// The chance that it applies to a given connection.
    fn probability(&self) -> f64;
    /// How long after it starts applying to a connection it fires.
    fn fires_after(&self) -> Duration;
    /// How it closes the connection.
    fn close(&self) -> CloseKind;
}

/// What an HTTP toxic does to one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum HttpEffect {
    /// Answer it with this S3 error instead of forwarding it.
    Answer(S3ErrorCode),
    /// Hold it this long before forwarding it.
    Hold(Duration),
    /// Forward it, but cut its response body to this fraction and close.
    Truncate(f64),
}

/// A fault on HTTP requests and their responses.
pub(crate) trait HttpToxic {
    /// Decide for one request (including the random draw of the toxic's `fraction`).
    fn decide(&self, head: &RequestHead) -> Option<HttpEffect>;
}

/// How a spec acts. This is the registration table: a new toxic adds one line here.
pub(crate) enum Layer<'a> {
    /// Per chunk, on one or both flows.
    Stream(&'a dyn StreamSpec),
    /// A timer on the whole connection.
    Connection(&'a dyn ConnToxic),
    /// On the listening socket.
    Listener,
    /// Per HTTP request.
    Http(&'a dyn HttpToxic),
}

/// The layer a spec acts on, with its behaviour.
pub(crate) fn layer(spec: &ToxicSpec) -> Layer<'_> {
    match spec {
        ToxicSpec::Latency(s) => Layer::Stream(s),
        ToxicSpec::Bandwidth(s) => Layer::Stream(s),
        ToxicSpec::Blackhole(s) => Layer::Stream(s),
        ToxicSpec::Slicer(s) => Layer::Stream(s),
        ToxicSpec::Reset(s) => Layer::Connection(s),
        ToxicSpec::Timeout(s) => Layer::Connection(s),
        ToxicSpec::Refuse(_) => Layer::Listener,
        ToxicSpec::S3Error(s) => Layer::Http(s),
        ToxicSpec::S3Latency(s) => Layer::Http(s),
        ToxicSpec::S3Truncate(s) => Layer::Http(s),
    }
}

/// Whether a request matches an HTTP toxic's `method` (any when `None`, case-insensitive) and
/// `path_prefix` (compared with the raw request path, query excluded).
pub(crate) fn request_matches(method: Option<&str>, path_prefix: &str, head: &RequestHead) -> bool {
    method.is_none_or(|m| m.eq_ignore_ascii_case(&head.method))
        && head.path().starts_with(path_prefix)
}

/// A random draw: true with probability `p`.
pub(crate) fn draw(p: f64) -> bool {
    p >= 1.0 || (p > 0.0 && rand::random::<f64>() < p)
}

/// Check an HTTP toxic's `method` and `path_prefix` fields.
pub(crate) fn check_match(method: Option<&str>, path_prefix: &str) -> Result<(), String> {
    if let Some(m) = method {
        if m.is_empty() || !m.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(format!(
                "`method` must be an HTTP method such as GET, got {m:?}"
            ));
        }
    }
    if !path_prefix.starts_with('/') {
        return Err(format!(
            "`path_prefix` must start with `/` (path-style, e.g. /bucket/prefix/), got {path_prefix:?}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_compose_by_the_stricter_constraint() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_millis(5);
        let a = Plan::Pass {
            not_before: Some(t0),
            max_len: 100,
        };
        let b = Plan::Pass {
            not_before: Some(t1),
            max_len: 1000,
        };
        assert_eq!(
            a.and(b),
            Plan::Pass {
                not_before: Some(t1),
                max_len: 100
            }
        );
        assert_eq!(a.and(Plan::Discard), Plan::Discard);
        assert_eq!(Plan::PASS.and(a), a);
    }
}
