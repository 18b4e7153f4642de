//! Counters of a proxy: bytes per flow and what the toxics did.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use super::spec::Flow;

/// Live counters, shared by every task of one proxy.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub accepted: AtomicU64,
    pub active: AtomicU64,
    pub connect_failures: AtomicU64,
    pub resets: AtomicU64,
    pub closes: AtomicU64,
    pub read: [AtomicU64; 2],
    pub written: [AtomicU64; 2],
    pub spliced: [AtomicU64; 2],
    pub discarded: [AtomicU64; 2],
    pub requests: AtomicU64,
    pub answered: AtomicU64,
    pub held: AtomicU64,
    pub truncated: AtomicU64,
    pub unframed: AtomicU64,
}

/// Add `n` to a counter.
pub(crate) fn bump(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

impl Counters {
    pub(crate) fn read(&self, flow: Flow, n: usize) {
        bump(&self.read[flow.index()], n as u64);
    }

    pub(crate) fn written(&self, flow: Flow, n: usize) {
        bump(&self.written[flow.index()], n as u64);
    }

    /// `n` bytes written through the zero-copy path (counted as written too).
    pub(crate) fn spliced(&self, flow: Flow, n: usize) {
        self.written(flow, n);
        bump(&self.spliced[flow.index()], n as u64);
    }

    pub(crate) fn discarded(&self, flow: Flow, n: usize) {
        bump(&self.discarded[flow.index()], n as u64);
    }

    pub(crate) fn snapshot(&self) -> ProxyStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let flow = |i: usize| FlowStats {
            bytes_read: get(&self.read[i]),
            bytes_written: get(&self.written[i]),
            bytes_discarded: get(&self.discarded[i]),
            bytes_spliced: get(&self.spliced[i]),
        };
        ProxyStats {
            connections_accepted: get(&self.accepted),
            connections_active: get(&self.active),
            upstream_connect_failures: get(&self.connect_failures),
            connections_reset: get(&self.resets),
            connections_closed: get(&self.closes),
            upstream: flow(0),
            downstream: flow(1),
            http: HttpStats {
                requests: get(&self.requests),
                answered: get(&self.answered),
                held: get(&self.held),
                truncated: get(&self.truncated),
                unframed_connections: get(&self.unframed),
            },
        }
    }
}

/// Bytes through one flow. `bytes_written` counts bytes written to the destination socket;
/// on the downstream flow of an HTTP proxy it includes the proxy's own answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FlowStats {
    /// Bytes read from the source.
    pub bytes_read: u64,
    /// Bytes written to the destination.
    pub bytes_written: u64,
    /// Bytes read and deliberately dropped (blackhole, answered request bodies, truncated tails).
    pub bytes_discarded: u64,
    /// Bytes of `bytes_written` that went socket to socket through a pipe (`splice(2)`, Linux,
    /// while no stream toxic applied), never copied into the proxy.
    #[serde(default)]
    pub bytes_spliced: u64,
}

/// What the HTTP mode did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct HttpStats {
    /// Request heads seen.
    pub requests: u64,
    /// Requests answered by the proxy with an S3 error.
    pub answered: u64,
    /// Requests (or answers) held by `s3-latency`.
    pub held: u64,
    /// Responses truncated.
    pub truncated: u64,
    /// Connections that stopped being framed (unparseable or upgraded), forwarded untouched.
    pub unframed_connections: u64,
}

/// A snapshot of a proxy's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ProxyStats {
    /// Connections accepted.
    pub connections_accepted: u64,
    /// Connections open now.
    pub connections_active: u64,
    /// Accepted connections whose upstream connect failed (the client got a reset).
    pub upstream_connect_failures: u64,
    /// Connections the proxy closed with a reset (the `reset` toxic, a healed blackhole, or a
    /// reset passed on from one peer to the other).
    pub connections_reset: u64,
    /// Connections the proxy closed early with FIN (`timeout`, a truncated response, an I/O
    /// error).
    pub connections_closed: u64,
    /// Client → upstream.
    pub upstream: FlowStats,
    /// Upstream → client.
    pub downstream: FlowStats,
    /// The HTTP mode's counters (zero in TCP mode).
    pub http: HttpStats,
}
