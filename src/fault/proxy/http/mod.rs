//! The HTTP/1.1 mode: message framing for the two flows of a connection, the queue through
//! which the request side tells the response side what each request became, and the S3 error
//! answers.
//!
//! The request side decides per request (forward, hold, answer, truncate) and pushes one
//! [`Exchange`] per request, in order, before forwarding anything of it. The response side pops
//! them as responses start, so it knows HEAD requests (no body), which responses to truncate,
//! and where in the response stream the proxy's own answers go (HTTP/1.1 answers in request
//! order, so an answer is written only after every earlier response is complete).

mod framer;
mod head;
mod s3;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::Notify;

pub(crate) use framer::{RequestFramer, ResponseFramer, Seg};
pub(crate) use head::RequestHead;

use super::server::Config;
use super::toxic::{layer, HttpEffect, Layer, S3ErrorCode};

/// What became of one request, as the response side needs to know it.
#[derive(Debug, PartialEq)]
pub(crate) enum Exchange {
    /// Forwarded to the server; its response comes from there.
    Forwarded {
        /// A HEAD request (its response has no body).
        head_request: bool,
        /// Cut the response body to this fraction.
        truncate: Option<f64>,
    },
    /// Answered by the proxy.
    Answered {
        /// The complete answer.
        response: Bytes,
        /// Close the connection after it.
        close: bool,
        /// Hold it this long first.
        hold: Option<Duration>,
    },
    /// The request side stopped framing: forward everything from here on.
    Unframed,
}

/// The fate of one request.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Decision {
    /// Answer it with this error.
    pub answer: Option<S3ErrorCode>,
    /// Hold it (or its answer) this long.
    pub hold: Option<Duration>,
    /// Truncate its response to this fraction.
    pub truncate: Option<f64>,
    /// Stop framing this connection (the response side lost track).
    pub unframe: bool,
}

/// What the two flows of one HTTP connection share.
#[derive(Debug, Default)]
pub(crate) struct HttpShared {
    /// One entry per request seen, in order.
    pub exchanges: Mutex<VecDeque<Exchange>>,
    /// Wakes the response side when an entry is added.
    pub added: Notify,
    /// The response side stopped framing.
    pub unframed: AtomicBool,
    /// The connection was counted as unframed.
    counted: AtomicBool,
}

impl HttpShared {
    /// Queue an exchange and wake the response side.
    pub(crate) fn push(&self, exchange: Exchange) {
        self.exchanges
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push_back(exchange);
        self.added.notify_one();
    }

    /// Whether the response side stopped framing.
    pub(crate) fn is_unframed(&self) -> bool {
        self.unframed.load(Ordering::Relaxed)
    }

    /// True the first time it is called for a connection (to count unframed connections once).
    pub(crate) fn first_unframing(&self) -> bool {
        !self.counted.swap(true, Ordering::Relaxed)
    }

    /// Record that the response side stopped framing.
    pub(crate) fn set_unframed(&self) {
        self.unframed.store(true, Ordering::Relaxed);
    }
}

/// Decide a request's fate from the active HTTP toxics (each draws its own `fraction`). The
/// first answering toxic wins, holds take the longest, the first truncation wins.
pub(crate) fn decide(config: &Config, head: &RequestHead) -> Decision {
    let mut d = Decision::default();
    for active in &config.toxics {
        let Layer::Http(toxic) = layer(&active.spec) else {
            continue;
        };
        match toxic.decide(head) {
            Some(HttpEffect::Answer(code)) if d.answer.is_none() => d.answer = Some(code),
            Some(HttpEffect::Hold(hold)) => d.hold = Some(d.hold.map_or(hold, |h| h.max(hold))),
            Some(HttpEffect::Truncate(keep)) if d.truncate.is_none() => d.truncate = Some(keep),
            _ => {}
        }
    }
    d
}
