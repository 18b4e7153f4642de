//! The proxy: its listener and accept loop (and `refuse`), the toxic set, and the handle that
//! adds and removes toxics, switches the upstream and resets live connections.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use super::chain::sleep_until;
use super::conn;
use super::error::ProxyError;
use super::spec::{ToxicId, ToxicSpec};
use super::stats::{bump, Counters, ProxyStats};

/// How long `remove`/`clear` wait for the listener to come back after healing `refuse`.
const REBIND_WAIT: Duration = Duration::from_secs(5);
/// How often the accept loop retries a failed re-bind.
const REBIND_RETRY: Duration = Duration::from_millis(100);

/// What the proxy understands of the bytes it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProxyMode {
    /// Plain TCP: bytes are bytes. HTTP toxics cannot be added.
    #[default]
    Tcp,
    /// HTTP/1.1: messages are framed, so the S3 toxics can act on requests.
    Http,
}

/// How to start a proxy.
#[derive(Debug, Clone)]
pub struct ProxyOptions {
    /// A name for messages and status (e.g. `spark35-s3`).
    pub name: String,
    /// Where to listen: a loopback address, port 0 for any free port.
    pub listen: SocketAddr,
    /// Where to forward to: a loopback address.
    pub upstream: SocketAddr,
    /// TCP or HTTP.
    pub mode: ProxyMode,
    /// How long to wait for the upstream connect of each accepted connection (default 10 s).
    pub connect_timeout: Duration,
    /// How long `shutdown` waits for connections to drain before aborting them (default 5 s).
    pub shutdown_grace: Duration,
    /// Accept addresses outside 127.0.0.0/8. Only the in-cluster agent (`chaos agent proxy`,
    /// in a pod the harness deployed, in front of a Service the harness installed) sets this;
    /// on the machine every proxy stays on loopback.
    pub any_address: bool,
}

impl ProxyOptions {
    /// Options for a TCP proxy with the default timeouts.
    pub fn new(name: impl Into<String>, listen: SocketAddr, upstream: SocketAddr) -> Self {
        ProxyOptions {
            name: name.into(),
            listen,
            upstream,
            mode: ProxyMode::Tcp,
            connect_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(5),
            any_address: false,
        }
    }

    /// The same options without the loopback restriction (see [`ProxyOptions::any_address`]).
    pub fn any_address(mut self) -> Self {
        self.any_address = true;
        self
    }

    /// The same options in HTTP mode.
    pub fn http(mut self) -> Self {
        self.mode = ProxyMode::Http;
        self
    }
}

/// One active toxic.
#[derive(Debug, Clone)]
pub(crate) struct Active {
    pub id: ToxicId,
    pub spec: ToxicSpec,
    pub added_at: Instant,
}

/// The proxy's toxic set; every change bumps `generation`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Config {
    pub generation: u64,
    pub toxics: Vec<Active>,
}

impl Config {
    fn refusing(&self) -> bool {
        self.toxics
            .iter()
            .any(|a| matches!(a.spec, ToxicSpec::Refuse(_)))
    }
}

/// The listening socket's state.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ListenerState {
    Listening,
    Refusing,
    /// Healed, but binding again failed (the reason); retrying.
    Rebinding(String),
    Stopped,
}

/// What every task of one proxy shares.
pub(crate) struct ProxyShared {
    pub name: String,
    /// Where new connections are forwarded to ([`ProxyHandle::set_upstream`] changes it).
    upstream_tx: watch::Sender<SocketAddr>,
    /// Bumped by [`ProxyHandle::reset_connections`]: every connection open then is reset.
    pub reset_tx: watch::Sender<u64>,
    pub mode: ProxyMode,
    pub connect_timeout: Duration,
    pub counters: Counters,
    pub config_tx: watch::Sender<Arc<Config>>,
    pub shutdown_tx: watch::Sender<bool>,
    listener_tx: watch::Sender<ListenerState>,
    next_id: AtomicU64,
}

/// Starts proxies. See the module documentation for what the proxy does.
#[derive(Debug)]
pub struct Proxy;

impl Proxy {
    /// Start a TCP proxy named `name` on `listen` (a loopback address; port 0 picks a free
    /// port) forwarding to `upstream`.
    pub async fn start(
        name: impl Into<String>,
        listen: SocketAddr,
        upstream: SocketAddr,
    ) -> Result<ProxyHandle, ProxyError> {
        Self::start_with(ProxyOptions::new(name, listen, upstream)).await
    }

    /// Start an HTTP-mode proxy (for S3 links), otherwise like [`Proxy::start`].
    pub async fn start_http(
        name: impl Into<String>,
        listen: SocketAddr,
        upstream: SocketAddr,
    ) -> Result<ProxyHandle, ProxyError> {
        Self::start_with(ProxyOptions::new(name, listen, upstream).http()).await
    }

    /// Start a proxy with explicit options.
    pub async fn start_with(options: ProxyOptions) -> Result<ProxyHandle, ProxyError> {
        for (role, addr) in [("listen", options.listen), ("upstream", options.upstream)] {
            if !options.any_address && !addr.ip().is_loopback() {
                return Err(ProxyError::NotLoopback {
                    name: options.name,
                    role,
                    addr,
                });
            }
        }
        let listener =
            TcpListener::bind(options.listen)
                .await
                .map_err(|source| ProxyError::Bind {
                    name: options.name.clone(),
                    addr: options.listen,
                    source,
                })?;
        let local_addr = listener.local_addr().map_err(|source| ProxyError::Bind {
            name: options.name.clone(),
            addr: options.listen,
            source,
        })?;
        let shared = Arc::new(ProxyShared {
            name: options.name,
            upstream_tx: watch::Sender::new(options.upstream),
            reset_tx: watch::Sender::new(0),
            mode: options.mode,
            connect_timeout: options.connect_timeout,
            counters: Counters::default(),
            config_tx: watch::Sender::new(Arc::new(Config::default())),
            shutdown_tx: watch::Sender::new(false),
            listener_tx: watch::Sender::new(ListenerState::Listening),
            next_id: AtomicU64::new(1),
        });
        let task = tokio::spawn(accept_loop(
            Arc::clone(&shared),
            listener,
            local_addr,
            options.shutdown_grace,
        ));
        Ok(ProxyHandle {
            shared,
            local_addr,
            task: Some(task),
        })
    }
}

/// A running proxy. Dropping it stops the proxy (like [`ProxyHandle::shutdown`], in the
/// background).
#[derive(Debug)]
pub struct ProxyHandle {
    shared: Arc<ProxyShared>,
    local_addr: SocketAddr,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for ProxyShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyShared")
            .field("name", &self.name)
            .field("upstream", &self.upstream())
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl ProxyShared {
    /// Where a connection accepted now is forwarded to.
    pub(crate) fn upstream(&self) -> SocketAddr {
        *self.upstream_tx.borrow()
    }
}

impl ProxyHandle {
    /// The proxy's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The address clients connect to (the real port when started with port 0). It stays the
    /// same across `refuse` and its heal.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address new connections are forwarded to.
    pub fn upstream(&self) -> SocketAddr {
        self.shared.upstream()
    }

    /// Forwards connections accepted from now on to `upstream` (a load balancer switching its
    /// target). Connections already open stay with the old upstream until they close, or until
    /// [`ProxyHandle::reset_connections`]. The toxics are unchanged.
    pub fn set_upstream(&self, upstream: SocketAddr) -> Result<(), ProxyError> {
        if !upstream.ip().is_loopback() {
            return Err(ProxyError::NotLoopback {
                name: self.shared.name.clone(),
                role: "upstream",
                addr: upstream,
            });
        }
        if *self.shared.listener_tx.borrow() == ListenerState::Stopped {
            return Err(self.stopped());
        }
        self.shared.upstream_tx.send_replace(upstream);
        Ok(())
    }

    /// Closes every connection open now with TCP RST to both peers (counted in
    /// `connections_reset`), including those still connecting upstream; connections accepted
    /// afterwards are untouched. Returns how many connections were open.
    pub fn reset_connections(&self) -> u64 {
        let open = self.shared.counters.active.load(Ordering::Relaxed);
        self.shared.reset_tx.send_modify(|epoch| *epoch += 1);
        open
    }

    /// TCP or HTTP.
    pub fn mode(&self) -> ProxyMode {
        self.shared.mode
    }

    /// Whether the proxy is accepting connections (false while `refuse` is active, or while a
    /// re-bind after its heal is still failing).
    pub fn is_listening(&self) -> bool {
        *self.shared.listener_tx.borrow() == ListenerState::Listening
    }

    /// Add a toxic. It acts on new connections at once and on live ones as the module
    /// documentation describes; for `refuse`, this returns once the listener is closed.
    pub async fn add(&self, spec: ToxicSpec) -> Result<ToxicId, ProxyError> {
        spec.validate()?;
        if spec.needs_http() && self.shared.mode != ProxyMode::Http {
            return Err(ProxyError::NeedsHttpMode {
                name: self.shared.name.clone(),
                kind: spec.kind(),
            });
        }
        if *self.shared.listener_tx.borrow() == ListenerState::Stopped {
            return Err(self.stopped());
        }
        let refuse = matches!(spec, ToxicSpec::Refuse(_));
        let id = ToxicId(self.shared.next_id.fetch_add(1, Ordering::Relaxed));
        self.shared.config_tx.send_modify(|config| {
            let mut next = Config::clone(config);
            next.generation += 1;
            next.toxics.push(Active {
                id,
                spec,
                added_at: Instant::now(),
            });
            *config = Arc::new(next);
        });
        if refuse {
            self.wait_listener(|state| *state != ListenerState::Listening)
                .await?;
        }
        Ok(id)
    }

    /// Remove a toxic (heal). Idempotent: an unknown or already removed id is fine and returns
    /// `Ok(false)`. When this heals the last `refuse`, it returns once the port is bound again.
    pub async fn remove(&self, id: ToxicId) -> Result<bool, ProxyError> {
        let mut removed = None;
        self.shared.config_tx.send_if_modified(|config| {
            let Some(at) = config.toxics.iter().position(|a| a.id == id) else {
                return false;
            };
            let mut next = Config::clone(config);
            next.generation += 1;
            removed = Some(next.toxics.remove(at));
            *config = Arc::new(next);
            true
        });
        let Some(removed) = removed else {
            return Ok(false);
        };
        if matches!(removed.spec, ToxicSpec::Refuse(_)) {
            self.wait_relisten().await?;
        }
        Ok(true)
    }

    /// Remove every toxic (heal all). Idempotent.
    pub async fn clear(&self) -> Result<(), ProxyError> {
        let mut had_refuse = false;
        self.shared.config_tx.send_if_modified(|config| {
            if config.toxics.is_empty() {
                return false;
            }
            had_refuse = config.refusing();
            *config = Arc::new(Config {
                generation: config.generation + 1,
                toxics: Vec::new(),
            });
            true
        });
        if had_refuse {
            self.wait_relisten().await?;
        }
        Ok(())
    }

    /// The active toxics, in the order they were added.
    pub fn active(&self) -> Vec<ToxicSpec> {
        self.shared
            .config_tx
            .borrow()
            .toxics
            .iter()
            .map(|a| a.spec.clone())
            .collect()
    }

    /// The active toxics with their ids, in the order they were added.
    pub fn toxics(&self) -> Vec<(ToxicId, ToxicSpec)> {
        self.shared
            .config_tx
            .borrow()
            .toxics
            .iter()
            .map(|a| (a.id, a.spec.clone()))
            .collect()
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> ProxyStats {
        self.shared.counters.snapshot()
    }

    /// Stop gracefully: close the listener, heal every toxic, let each connection deliver what
    /// the proxy already read and close with FIN; connections still busy after the grace period
    /// are aborted. Returns the final counters.
    pub async fn shutdown(mut self) -> ProxyStats {
        self.shared.shutdown_tx.send_replace(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.shared.counters.snapshot()
    }

    fn stopped(&self) -> ProxyError {
        ProxyError::Stopped {
            name: self.shared.name.clone(),
        }
    }

    /// Wait until the listener is back after `refuse` was healed (unless refuse is still
    /// active through another toxic).
    async fn wait_relisten(&self) -> Result<(), ProxyError> {
        if self.shared.config_tx.borrow().refusing() {
            return Ok(());
        }
        self.wait_listener(|state| *state == ListenerState::Listening)
            .await
    }

    async fn wait_listener(&self, done: impl Fn(&ListenerState) -> bool) -> Result<(), ProxyError> {
        let mut rx = self.shared.listener_tx.subscribe();
        let waited = tokio::time::timeout(
            REBIND_WAIT,
            rx.wait_for(|state| done(state) || *state == ListenerState::Stopped),
        )
        .await
        .is_ok_and(|r| r.is_ok());
        let state = rx.borrow().clone();
        match state {
            ListenerState::Stopped => Err(self.stopped()),
            _ if waited => Ok(()),
            ListenerState::Rebinding(reason) => Err(ProxyError::Rebind {
                name: self.shared.name.clone(),
                addr: self.local_addr,
                reason,
            }),
            other => Err(ProxyError::Rebind {
                name: self.shared.name.clone(),
                addr: self.local_addr,
                reason: format!("timed out in state {other:?}"),
            }),
        }
    }
}

impl Drop for ProxyHandle {
    fn drop(&mut self) {
        self.shared.shutdown_tx.send_replace(true);
    }
}

/// Accept connections; close and re-bind the listener as `refuse` comes and goes; on shutdown
/// drain the connections.
async fn accept_loop(
    shared: Arc<ProxyShared>,
    listener: TcpListener,
    addr: SocketAddr,
    grace: Duration,
) {
    let mut listener = Some(listener);
    let mut config_rx = shared.config_tx.subscribe();
    let mut shutdown_rx = shared.shutdown_tx.subscribe();
    let mut conns = JoinSet::new();
    let mut retry_at: Option<Instant> = None;
    loop {
        if *shutdown_rx.borrow_and_update() {
            break;
        }
        if config_rx.borrow_and_update().refusing() {
            listener = None;
            retry_at = None;
            shared.listener_tx.send_if_modified(|state| {
                let changed = *state != ListenerState::Refusing;
                *state = ListenerState::Refusing;
                changed
            });
        } else if listener.is_none() && retry_at.is_none_or(|at| at <= Instant::now()) {
            match TcpListener::bind(addr).await {
                Ok(bound) => {
                    listener = Some(bound);
                    retry_at = None;
                    shared.listener_tx.send_replace(ListenerState::Listening);
                }
                Err(e) => {
                    retry_at = Some(Instant::now() + REBIND_RETRY);
                    shared
                        .listener_tx
                        .send_replace(ListenerState::Rebinding(e.to_string()));
                }
            }
        }
        tokio::select! {
            biased;
            _ = shutdown_rx.changed() => {}
            _ = config_rx.changed() => {}
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = accept(listener.as_ref()), if listener.is_some() => match accepted {
                Ok(stream) => {
                    bump(&shared.counters.accepted, 1);
                    conns.spawn(conn::serve(stream, Arc::clone(&shared)));
                }
                // Out of file descriptors and the like: breathe, then go on.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            },
            _ = sleep_until(retry_at), if retry_at.is_some() => {}
        }
    }
    drop(listener);
    shared.listener_tx.send_replace(ListenerState::Stopped);
    // Connections see the shutdown flag and drain; give them the grace period.
    let deadline = tokio::time::sleep(grace);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            next = conns.join_next() => if next.is_none() { break },
            _ = &mut deadline => {
                conns.abort_all();
                while conns.join_next().await.is_some() {}
                break;
            }
        }
    }
}

async fn accept(listener: Option<&TcpListener>) -> std::io::Result<TcpStream> {
    match listener {
        Some(listener) => listener.accept().await.map(|(stream, _)| stream),
        None => std::future::pending().await,
    }
}
