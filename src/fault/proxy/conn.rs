//! One proxied connection: the upstream connect, its two pumps, the connection timers (`reset`,
//! `timeout`) and resets asked for through the handle. The pumps own the socket halves; this
//! task only decides when the connection closes and tells the pumps through a watch channel.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::chain::{next_timer, sleep_until};
use super::http::{HttpShared, RequestFramer, ResponseFramer};
use super::pump::{Framer, Pump};
use super::server::{ProxyMode, ProxyShared};
use super::spec::Flow;
use super::stats::{bump, Counters};
use super::toxic::CloseKind;

/// How long a graceful close may take before the pumps are aborted.
const DRAIN_LIMIT: Duration = Duration::from_secs(10);

/// What the two pumps of a connection share.
pub(crate) struct ConnShared {
    /// The proxy (counters, toxic set).
    pub proxy: Arc<ProxyShared>,
    /// The random seed of the per-connection probability decisions.
    pub seed: u64,
    close_tx: watch::Sender<Option<CloseKind>>,
    /// Present in HTTP mode.
    pub http: Option<HttpShared>,
}

impl ConnShared {
    /// Ask both pumps to close the connection; a harsher close overrides a milder one.
    pub(crate) fn request_close(&self, kind: CloseKind) {
        let counters = &self.proxy.counters;
        self.close_tx.send_if_modified(|current| {
            if current.is_some_and(|c| c.severity() >= kind.severity()) {
                return false;
            }
            *current = Some(kind);
            match kind {
                CloseKind::Reset { .. } => bump(&counters.resets, 1),
                CloseKind::Fin => bump(&counters.closes, 1),
                CloseKind::Graceful => {}
            }
            true
        });
    }
}

/// Counts a connection as active while alive.
struct ActiveGuard<'a>(&'a Counters);

impl<'a> ActiveGuard<'a> {
    fn new(counters: &'a Counters) -> Self {
        bump(&counters.active, 1);
        ActiveGuard(counters)
    }
}

impl Drop for ActiveGuard<'_> {
    fn drop(&mut self) {
        self.0
            .active
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Aborts a task when dropped (so aborting a connection aborts its pumps).
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Proxy one accepted connection until both flows end or it is closed.
pub(crate) async fn serve(client: TcpStream, proxy: Arc<ProxyShared>) {
    let accepted = Instant::now();
    let _active = ActiveGuard::new(&proxy.counters);
    let seed = rand::random::<u64>();
    let mut config_rx = proxy.config_tx.subscribe();
    let mut config = config_rx.borrow_and_update().clone();
    let mut shutdown_rx = proxy.shutdown_tx.subscribe();
    // Subscribed before the upstream is read: a reset asked for after this point reaches the
    // connection, and one asked for before it found the new upstream already in place.
    let mut reset_rx = proxy.reset_tx.subscribe();
    reset_rx.borrow_and_update();

    // A timer already due (reset or timeout with 0 ms): act before connecting upstream.
    if let Some((at, kind)) = next_timer(&config, seed, accepted) {
        if at <= accepted {
            match kind {
                CloseKind::Reset { client: true, .. } => {
                    let _ = client.set_zero_linger();
                    bump(&proxy.counters.resets, 1);
                }
                _ => bump(&proxy.counters.closes, 1),
            }
            return;
        }
    }

    let connect = tokio::time::timeout(proxy.connect_timeout, TcpStream::connect(proxy.upstream()));
    let upstream = tokio::select! {
        connected = connect => connected.ok().and_then(Result::ok),
        _ = shutdown_rx.wait_for(|stop| *stop) => None,
        Ok(()) = reset_rx.changed() => {
            let _ = client.set_zero_linger();
            bump(&proxy.counters.resets, 1);
            return;
        }
    };
    let Some(upstream) = upstream else {
        // The link is dead: the client sees a reset, not a clean end.
        bump(&proxy.counters.connect_failures, 1);
        let _ = client.set_zero_linger();
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);

    let http = proxy.mode == ProxyMode::Http;
    let (close_tx, close_rx) = watch::channel(None);
    let conn = Arc::new(ConnShared {
        proxy: Arc::clone(&proxy),
        seed,
        close_tx,
        http: http.then(HttpShared::default),
    });
    let (request_framer, response_framer) = if http {
        (
            Framer::Request(Box::new(RequestFramer::new())),
            Framer::Response(Box::new(ResponseFramer::new())),
        )
    } else {
        (Framer::Raw, Framer::Raw)
    };
    let (client_read, client_write) = client.into_split();
    let (upstream_read, upstream_write) = upstream.into_split();
    let up = Pump::new(
        Flow::Upstream,
        client_read,
        upstream_write,
        Arc::clone(&conn),
        close_rx.clone(),
        request_framer,
    );
    let down = Pump::new(
        Flow::Downstream,
        upstream_read,
        client_write,
        Arc::clone(&conn),
        close_rx,
        response_framer,
    );
    let mut up_task = AbortOnDrop(tokio::spawn(up.run()));
    let mut down_task = AbortOnDrop(tokio::spawn(down.run()));

    let (mut up_done, mut down_done, mut fired) = (false, false, false);
    let mut draining_since = None;
    if *shutdown_rx.borrow_and_update() {
        conn.request_close(CloseKind::Graceful);
        draining_since = Some(Instant::now());
    }
    while !(up_done && down_done) {
        let timer = if fired {
            None
        } else {
            next_timer(&config, seed, accepted)
        };
        let kill_at = draining_since.map(|since| since + DRAIN_LIMIT);
        tokio::select! {
            _ = &mut up_task.0, if !up_done => up_done = true,
            _ = &mut down_task.0, if !down_done => down_done = true,
            changed = config_rx.changed() => {
                if changed.is_ok() {
                    config = config_rx.borrow_and_update().clone();
                }
            }
            _ = sleep_until(timer.map(|(at, _)| at)), if timer.is_some() => {
                fired = true;
                if let Some((_, kind)) = timer {
                    conn.request_close(kind);
                }
            }
            Ok(()) = reset_rx.changed() => {
                conn.request_close(CloseKind::Reset { client: true, upstream: true });
            }
            _ = shutdown_rx.changed(), if draining_since.is_none() => {
                conn.request_close(CloseKind::Graceful);
                draining_since = Some(Instant::now());
            }
            _ = sleep_until(kill_at), if kill_at.is_some() => break,
        }
    }
}
