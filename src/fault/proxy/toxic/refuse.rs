//! `refuse`: the proxy closes its listening socket, so `connect()` fails with ECONNREFUSED, as
//! when the server is down. Connections the proxy accepted are untouched (add `reset` or
//! `timeout` to end them too); connections still in the kernel's accept backlog are reset with
//! the listener. It acts on the listener, so it has neither direction nor probability.
//! Heal: the same port is bound again; `remove` returns once it is (the accept loop keeps
//! retrying if another process took the port meanwhile).

use serde::{Deserialize, Serialize};

/// Parameters of the `refuse` toxic (none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefuseSpec {}
