//! The link-fault proxy: a TCP (and optionally HTTP/1.1-aware) proxy that sits on one dependency
//! link (client → Spark Connect, Spark → S3, Spark → metastore, metastore → PostgreSQL, History
//! Server → S3) and injects faults, called *toxics* after Toxiproxy, into it.
//!
//! ```text
//!            upstream flow (client → server)
//!   client ──► [pump: read ─► framer ─► toxic chain ─► write] ──► upstream server
//!   client ◄── [pump: write ◄─ toxic chain ◄─ framer ◄─ read] ◄── upstream server
//!            downstream flow (server → client)
//! ```
//!
//! # Module map
//!
//! | file | role |
//! |---|---|
//! | `server.rs` | [`Proxy::start`], [`ProxyHandle`]: the listener, the accept loop, `refuse`, add/remove/clear, `set_upstream` and `reset_connections` (a load balancer's switch) |
//! | `conn.rs` | one proxied connection: the upstream connect, the two pump tasks, connection timers (`reset`, `timeout`) |
//! | `pump.rs` | one direction of one connection: the no-fault fast path and the queued toxic path |
//! | `zero_copy.rs` | the fast path's pipe on Linux: socket → pipe → socket with `splice(2)` |
//! | `spec.rs` | [`ToxicSpec`] (serde, `kind`-tagged), [`Direction`], [`ToxicId`] |
//! | `stats.rs` | [`ProxyStats`]: byte and event counters |
//! | `control.rs` | the in-cluster agent's control channel: keyed add/remove/list as one JSON line each way |
//! | `error.rs` | [`ProxyError`] |
//! | `toxic/mod.rs` | the small toxic traits and the one registration table from spec to behaviour |
//! | `toxic/<kind>.rs` | one file per toxic: its spec struct and its behaviour |
//! | `http/` | the HTTP/1.1 mode: head parsing, message framing, S3 error bodies |
//!
//! # Toxics
//!
//! | kind | layer | effect | heal |
//! |---|---|---|---|
//! | `latency` | stream | each chunk is written `latency_ms` (± `jitter_ms`) after the proxy read it; order kept, nothing dropped | queued chunks are written at once, in order |
//! | `bandwidth` | stream | at most `bytes_per_sec` are written per second | queued bytes flow at full speed |
//! | `slicer` | stream | data is written in slices of `average_size` ± `size_variation` bytes, `delay_us` apart | the rest flows unsliced |
//! | `blackhole` | stream | bytes are read and discarded, nothing is forwarded, the connection stays open | connections that lost bytes are reset (their stream has a gap); the others carry on |
//! | `reset` | connection | after `timeout_ms` the connection is closed with TCP RST (`SO_LINGER` 0) to the peers named by `direction`, FIN to the other | a pending reset is cancelled |
//! | `timeout` | connection | after `timeout_ms` the connection is closed (FIN both ways); bytes still queued in the proxy are dropped | a pending close is cancelled |
//! | `refuse` | listener | the listening socket is closed, so `connect()` fails with ECONNREFUSED; live connections are untouched | the same port is bound again (`remove` waits for it) |
//! | `s3-error` | HTTP | a `fraction` of matching requests is answered by the proxy with an S3 XML error | later requests are forwarded |
//! | `s3-latency` | HTTP | a `fraction` of matching requests is held for `latency_ms` before it is forwarded | held requests are not released early (the hold is per request) |
//! | `s3-truncate` | HTTP | a `fraction` of matching GETs gets its response head unchanged, then only part of the body, then the connection closes | later responses are whole |
//!
//! **Which connections a toxic applies to.** Stream and connection toxics carry a
//! `probability`. Whether a toxic applies to a connection is decided once per (toxic,
//! connection) pair, by a hash of a random per-connection seed and the toxic's id: for
//! connections accepted while the toxic is active the decision is in effect from the accept, for
//! connections that were already open it is in effect from the moment the toxic is added. Both
//! directions of a connection see the same decision. HTTP toxics instead carry a `fraction`,
//! drawn for every matching request.
//!
//! **How live connections pick up a toxic.** A connection with no applicable toxic runs the fast
//! path: on Linux in TCP mode each direction splices what it reads into a pipe and from the pipe
//! to the other socket (zero-copy, `zero_copy.rs`); in HTTP mode and elsewhere it reads into a
//! 128 KiB buffer and writes it straight out. Before writing what it read, each direction
//! checks (an atomic load) whether the toxic set changed, and if a stream toxic now applies,
//! that data (read out of the pipe, in order) and everything after it go through the toxic
//! path; so a newly added stream toxic affects live connections from their next read on. Connection toxics
//! (`reset`, `timeout`) are armed on live connections as soon as they are added; `refuse` acts
//! on the listener at once. HTTP toxics act on live keep-alive connections from their next
//! request on, because the HTTP mode always tracks message boundaries. When the last toxic is
//! removed and the queue is empty, a connection goes back to the fast path.
//!
//! **Healing never drops bytes already in flight**: removing a toxic only changes how the bytes
//! queued in the proxy are scheduled; they are written promptly and in order. The one exception is
//! `blackhole`, which by definition has dropped bytes: a connection that lost bytes is reset when
//! the blackhole is removed, rather than resumed with a silent gap in its stream.
//!
//! # The HTTP mode
//!
//! [`Proxy::start_http`] starts a proxy that frames HTTP/1.1 messages (request and response
//! heads are parsed; bodies are counted, never buffered: `Content-Length`, `chunked`, HEAD, 1xx,
//! 204/304, close-delimited bodies). The stream and connection toxics work in this mode too
//! (they act on the bytes after framing). Keep-alive connections stay consistent:
//!
//! - An injected error answers the request without forwarding it. When the client sends the body
//!   unconditionally (no `Expect: 100-continue`), the proxy reads and discards the body and the
//!   connection stays open. With `Expect: 100-continue`, `Connection: close` or HTTP/1.0, the
//!   error carries `Connection: close`, the proxy half-closes, discards whatever the client still
//!   sends (for up to 5 s) and then closes, so the client reads the error rather than a reset.
//! - Paths are matched as sent (path-style S3, percent-encoding untouched, query excluded).
//! - A truncated response is closed (FIN) after the cut; only 2xx responses with a
//!   `Content-Length` above zero are truncated (S3 GETs always carry one).
//! - A forwarded `Expect: 100-continue` request is framed as if its body follows. A server that
//!   answers it with a final status without reading the body must close the connection (Go's
//!   net/http, hence MinIO, does); a client that then reused the connection without sending the
//!   body would have its next request forwarded as body bytes, untouched but unfaulted.
//! - Anything the proxy cannot frame (a head over 64 KiB, a malformed head, `Upgrade`/`CONNECT`,
//!   a request with a non-chunked `Transfer-Encoding`) switches that connection to plain
//!   forwarding: no more HTTP faults on it, but no corruption either.
//!
//! # Adding a toxic
//!
//! 1. Write `toxic/<kind>.rs`: a `…Spec` struct (serde, `deny_unknown_fields`, doc comments on
//!    every field) with a `validate` method, and its behaviour: an implementation of one of the
//!    traits in `toxic/mod.rs` (`StreamToxic` for per-chunk scheduling, `ConnToxic` for a timer
//!    that closes the connection, `HttpToxic` for request/response faults).
//! 2. Add a variant to [`ToxicSpec`] and one line to each match in `toxic/mod.rs`.
//! 3. Test it in `tests/` against the real TCP servers there.
//!
//! # Invariants
//!
//! - Every address the proxy binds or connects to is a loopback address, except in the
//!   in-cluster agent (`chaos agent proxy`, [`ProxyOptions::any_address`]), which runs in a pod
//!   the harness deployed and forwards to a Service it installed.
//! - No byte the proxy read is written twice or out of order; bytes are only dropped by
//!   `blackhole`, by an HTTP fault (an answered request's body, a truncated response's tail) or
//!   when a connection is closed by `reset`/`timeout`.
//! - Nothing received from the network can make the proxy panic.

mod chain;
mod conn;
pub mod control;
mod error;
mod http;
mod pump;
mod server;
mod spec;
mod stats;
pub mod toxic;
mod zero_copy;

#[cfg(test)]
mod tests;

pub use error::ProxyError;
pub use server::{Proxy, ProxyHandle, ProxyMode, ProxyOptions};
pub use spec::{Direction, ToxicId, ToxicSpec};
pub use stats::{FlowStats, HttpStats, ProxyStats};
pub use toxic::{
    BandwidthSpec, BlackholeSpec, LatencySpec, RefuseSpec, ResetSpec, S3ErrorCode, S3ErrorSpec,
    S3LatencySpec, S3TruncateSpec, SlicerSpec, TimeoutSpec,
};
