//! Errors of the link-fault proxy. Messages are lowercase fragments that read well after
//! "failed to …".

use std::net::SocketAddr;

/// What can go wrong when starting a proxy or changing its toxics.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The listening socket could not be bound.
    #[error("bind proxy `{name}` on {addr}")]
    Bind {
        /// The proxy's name.
        name: String,
        /// The address asked for.
        addr: SocketAddr,
        /// Why binding failed.
        #[source]
        source: std::io::Error,
    },
    /// An address outside the loopback range was given (every address used is 127.0.0.1).
    #[error("start proxy `{name}`: {role} address {addr} is not a loopback address")]
    NotLoopback {
        /// The proxy's name.
        name: String,
        /// `listen` or `upstream`.
        role: &'static str,
        /// The offending address.
        addr: SocketAddr,
    },
    /// A toxic's parameters are out of range.
    #[error("add a `{kind}` toxic: {reason}")]
    InvalidToxic {
        /// The toxic's kind, as in the `kind` tag.
        kind: &'static str,
        /// What is wrong, naming the field.
        reason: String,
    },
    /// An HTTP toxic was added to a proxy in TCP mode.
    #[error("add a `{kind}` toxic to proxy `{name}`: it needs a proxy in http mode")]
    NeedsHttpMode {
        /// The proxy's name.
        name: String,
        /// The toxic's kind.
        kind: &'static str,
    },
    /// After `refuse` was healed the port could not be bound again in time (another process
    /// may have taken it); the proxy keeps trying in the background.
    #[error("re-bind proxy `{name}` on {addr} after healing `refuse`: {reason}")]
    Rebind {
        /// The proxy's name.
        name: String,
        /// The address being re-bound.
        addr: SocketAddr,
        /// The last bind error, or that the wait timed out.
        reason: String,
    },
    /// The proxy has shut down (its accept loop ended).
    #[error("reach proxy `{name}`: it has shut down")]
    Stopped {
        /// The proxy's name.
        name: String,
    },
}
