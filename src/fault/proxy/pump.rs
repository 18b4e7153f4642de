//! One flow of one connection: read from the source, frame (HTTP mode), apply the stream
//! toxics, write to the destination.
//!
//! **Fast path.** While no stream toxic applies and nothing is queued, bytes go straight
//! through. On Linux an unframed (TCP-mode) flow splices them socket → pipe → socket
//! (`zero_copy.rs`): they never enter user space, and a round costs two `splice` calls. Before
//! draining the pipe the pump checks (an atomic load) whether the toxic set changed; if a
//! stream toxic now applies, the bytes in the pipe are read out into the queue, in front of
//! anything read later, and the toxic path carries on from there. Elsewhere, and in HTTP mode
//! (which must see every byte to frame it), the pump reads into a 128 KiB buffer and writes
//! straight from it, with the same check before each write.
//!
//! **Toxic path.** Otherwise the bytes become timestamped chunks in a queue (at most 4 MiB; the
//! pump stops reading beyond that, which pushes back on the sender like a socket buffer). One
//! `select!` loop keeps reading while there is room and writes the front chunk when the toxics
//! allow. A change of the toxic set wakes the loop and the front chunk is planned again, so a
//! healed latency releases queued chunks at once. Writes are single `write` calls (cancel-safe),
//! so no byte is ever half-written or written twice. A chunk is a slice of the read buffer, not
//! a copy: nothing is allocated per chunk, and the buffer is reused once its chunks are written.
//! A chunk that may go at once is written with `try_write` before the loop waits on anything.

use std::collections::VecDeque;
use std::io;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::chain::{sleep_until, Chain};
use super::conn::ConnShared;
use super::http::{decide, Decision, RequestFramer, ResponseFramer, Seg};
use super::server::Config;
use super::spec::Flow;
use super::stats::bump;
use super::toxic::{Chunk, CloseKind, Plan};
use super::zero_copy::{self, Pipe};

/// The read buffer of each pump.
pub(crate) const BUF_SIZE: usize = 128 * 1024;
/// Below this much room left in the read buffer, a pump that cannot reuse its buffer (queued
/// chunks still point into it) starts a new one.
const MIN_READ: usize = 16 * 1024;
/// The most bytes a pump queues before it stops reading.
const QUEUE_LIMIT: usize = 4 * 1024 * 1024;
/// How long a client that got a closing answer may keep sending before the proxy closes.
const LINGER: Duration = Duration::from_secs(5);

/// How a flow's bytes are framed.
pub(crate) enum Framer {
    /// TCP mode: bytes are bytes.
    Raw,
    /// HTTP mode, client → upstream.
    Request(Box<RequestFramer>),
    /// HTTP mode, upstream → client.
    Response(Box<ResponseFramer>),
}

/// An entry of the queue.
enum Item {
    Data(Chunk),
    /// Half-close the destination, then go on as `After` says.
    Shutdown(After),
}

#[derive(Debug, Clone, Copy)]
enum After {
    /// Keep reading and discarding (lingering).
    KeepReading,
    /// End this flow.
    Exit,
    /// End the whole connection.
    CloseConnection,
}

/// What to do next with the front of the queue.
enum Step {
    Idle,
    Write(usize),
    Wait(Instant),
    Shutdown(After),
}

/// Why a pump stopped.
enum Stop {
    /// This flow ended normally (its end was passed on).
    Done,
    /// The connection is closing.
    Close(CloseKind),
}

/// Which socket an I/O error came from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Src,
    Dst,
}

/// One flow of one connection.
pub(crate) struct Pump {
    flow: Flow,
    src: OwnedReadHalf,
    dst: OwnedWriteHalf,
    conn: Arc<ConnShared>,
    close_rx: watch::Receiver<Option<CloseKind>>,
    config_rx: watch::Receiver<Arc<Config>>,
    config: Arc<Config>,
    chain: Chain,
    framer: Framer,
    queue: VecDeque<Item>,
    queued: usize,
    seq: u64,
    /// Applies to the next chunk queued (an HTTP hold).
    hold: Option<Instant>,
    draining: bool,
    eof: bool,
    dst_shut: bool,
    linger_until: Option<Instant>,
    segs: Vec<Seg>,
    /// Where reads land. Chunks queued for the toxic path are slices of it, so reading never
    /// copies or allocates per chunk; the buffer is reused once every slice of it is written.
    rbuf: BytesMut,
    /// The zero-copy fast path (Linux, unframed flows).
    pipe: Option<Pipe>,
}

impl Pump {
    /// A pump for `flow`, reading `src` and writing `dst`.
    pub(crate) fn new(
        flow: Flow,
        src: OwnedReadHalf,
        dst: OwnedWriteHalf,
        conn: Arc<ConnShared>,
        close_rx: watch::Receiver<Option<CloseKind>>,
        framer: Framer,
    ) -> Self {
        let mut config_rx = conn.proxy.config_tx.subscribe();
        let config = config_rx.borrow_and_update().clone();
        let mut chain = Chain::new(flow, conn.seed);
        chain.sync(&config);
        let pipe = match framer {
            Framer::Raw => Pipe::new(),
            Framer::Request(_) | Framer::Response(_) => None,
        };
        Pump {
            flow,
            src,
            dst,
            conn,
            close_rx,
            config_rx,
            config,
            chain,
            framer,
            queue: VecDeque::new(),
            queued: 0,
            seq: 0,
            hold: None,
            draining: false,
            eof: false,
            dst_shut: false,
            linger_until: None,
            segs: Vec::new(),
            // Allocated on the first read: a spliced flow never needs it.
            rbuf: BytesMut::new(),
            pipe,
        }
    }

    /// Run until the flow ends or the connection closes.
    pub(crate) async fn run(mut self) {
        let stop = self.pump().await;
        if let Stop::Close(kind) = stop {
            self.conn.request_close(kind);
            self.close(kind);
        }
    }

    /// Close this pump's halves: reset the flagged sockets, FIN the others.
    fn close(self, kind: CloseKind) {
        let (client, upstream) = self.sockets();
        let (rst_client, rst_upstream) = match kind {
            CloseKind::Reset { client, upstream } => (client, upstream),
            CloseKind::Fin | CloseKind::Graceful => (false, false),
        };
        if rst_client {
            let _ = client.set_zero_linger();
        }
        if rst_upstream {
            let _ = upstream.set_zero_linger();
        }
        let rst_dst = match self.flow {
            Flow::Upstream => rst_upstream,
            Flow::Downstream => rst_client,
        };
        if rst_dst {
            // Dropping a write half sends FIN; a socket being reset must not see one first.
            self.dst.forget();
        }
    }

    /// (client socket, upstream socket).
    fn sockets(&self) -> (&TcpStream, &TcpStream) {
        match self.flow {
            Flow::Upstream => (self.src.as_ref(), self.dst.as_ref()),
            Flow::Downstream => (self.dst.as_ref(), self.src.as_ref()),
        }
    }

    async fn pump(&mut self) -> Stop {
        loop {
            if let Some(stop) = self.control() {
                return stop;
            }
            if self.queue.is_empty() && self.chain.is_empty() {
                if self.eof || self.draining {
                    self.shut_dst().await;
                    return Stop::Done;
                }
                if self.pipe.is_some() && self.hold.is_none() && !self.dst_shut {
                    if let Err(stop) = self.splice_round().await {
                        return stop;
                    }
                    continue;
                }
                self.make_room();
                let wants_answers = matches!(self.framer, Framer::Response(_));
                let linger = self.linger_until;
                let result = tokio::select! {
                    biased;
                    read = self.src.read_buf(&mut self.rbuf) => self.on_read(read).await,
                    _ = self.close_rx.changed() => {
                        self.close_rx.mark_changed();
                        Ok(())
                    }
                    _ = answers_queued(&self.conn, wants_answers) => {
                        self.process(Bytes::new()).await
                    }
                    _ = sleep_until(linger), if linger.is_some() => return Stop::Done,
                };
                if let Err(stop) = result {
                    return stop;
                }
            } else {
                let now = Instant::now();
                let step = self.front(now);
                // The front chunk may go now: try it before waiting on anything, so a chunk
                // that passes at once costs no trip through the scheduler.
                if let Step::Write(n) = step {
                    match self.try_write_front(n) {
                        Ok(true) => continue,
                        Ok(false) => {}
                        Err(stop) => return stop,
                    }
                }
                if let Step::Shutdown(after) = step {
                    self.queue.pop_front();
                    self.shut_dst().await;
                    match after {
                        After::KeepReading => continue,
                        After::Exit => return Stop::Done,
                        After::CloseConnection => return Stop::Close(CloseKind::Fin),
                    }
                }
                if self.queue.is_empty() && (self.eof || self.draining) {
                    self.shut_dst().await;
                    return Stop::Done;
                }
                let can_read = !self.eof && !self.draining && self.queued < QUEUE_LIMIT;
                if can_read {
                    self.make_room();
                }
                let (write_len, wake) = match step {
                    Step::Write(n) => (n, None),
                    Step::Wait(at) => (0, Some(at)),
                    Step::Idle | Step::Shutdown(_) => (0, None),
                };
                let front: &[u8] = match self.queue.front() {
                    Some(Item::Data(chunk)) if write_len > 0 => &chunk.data[..write_len],
                    _ => &[],
                };
                let wants_answers = matches!(self.framer, Framer::Response(_));
                let linger = self.linger_until;
                let result = tokio::select! {
                    biased;
                    _ = self.close_rx.changed() => {
                        self.close_rx.mark_changed();
                        Ok(())
                    }
                    _ = self.config_rx.changed(), if !self.draining => {
                        self.config_rx.mark_changed();
                        Ok(())
                    }
                    written = self.dst.write(front), if write_len > 0 => self.on_written(written),
                    _ = sleep_until(wake), if wake.is_some() => Ok(()),
                    read = self.src.read_buf(&mut self.rbuf), if can_read => {
                        self.on_read(read).await
                    }
                    _ = answers_queued(&self.conn, wants_answers) => {
                        self.process(Bytes::new()).await
                    }
                    _ = sleep_until(linger), if linger.is_some() => return Stop::Done,
                };
                if let Err(stop) = result {
                    return stop;
                }
            }
        }
    }

    /// React to a close request or a changed toxic set.
    fn control(&mut self) -> Option<Stop> {
        if self.close_rx.has_changed().unwrap_or(false) {
            match *self.close_rx.borrow_and_update() {
                Some(CloseKind::Graceful) => {
                    self.draining = true;
                    self.chain.clear();
                    self.hold = None;
                }
                Some(kind) => return Some(Stop::Close(kind)),
                None => {}
            }
        }
        if !self.draining && self.config_rx.has_changed().unwrap_or(false) {
            self.config = self.config_rx.borrow_and_update().clone();
            if let Some(kind) = self.chain.sync(&self.config) {
                return Some(Stop::Close(kind));
            }
        }
        None
    }

    /// Make sure the read buffer has room: reuse it when nothing points into it any more, else
    /// keep filling its tail, else start a new one.
    fn make_room(&mut self) {
        let room = self.rbuf.capacity() - self.rbuf.len();
        if room < BUF_SIZE && !self.rbuf.try_reclaim(BUF_SIZE) && room < MIN_READ {
            self.rbuf = BytesMut::with_capacity(BUF_SIZE);
        }
    }

    async fn on_read(&mut self, read: io::Result<usize>) -> Result<(), Stop> {
        match read {
            Ok(0) => {
                self.eof = true;
                let partial = match &mut self.framer {
                    Framer::Raw => None,
                    Framer::Request(f) => f.take_partial(),
                    Framer::Response(f) => f.take_partial(),
                };
                if let Some(bytes) = partial {
                    self.emit_bytes(bytes).await?;
                }
                self.process(Bytes::new()).await
            }
            Ok(n) => {
                self.conn.proxy.counters.read(self.flow, n);
                if let Some(stop) = self.control() {
                    return Err(stop);
                }
                let input = self.rbuf.split().freeze();
                self.process(input).await
            }
            Err(e) => Err(self.io_failure(&e, Side::Src)),
        }
    }

    fn on_written(&mut self, written: io::Result<usize>) -> Result<(), Stop> {
        let n = match written {
            Ok(0) => {
                return Err(self.io_failure(&io::ErrorKind::WriteZero.into(), Side::Dst));
            }
            Ok(n) => n,
            Err(e) => return Err(self.io_failure(&e, Side::Dst)),
        };
        self.conn.proxy.counters.written(self.flow, n);
        if let Some(Item::Data(chunk)) = self.queue.front_mut() {
            chunk.data.advance(n);
            if chunk.data.is_empty() {
                self.queue.pop_front();
            }
        }
        self.queued -= n;
        if !self.draining {
            self.chain.written(n, Instant::now());
        }
        Ok(())
    }

    /// Frame `input` (what was just read) and act on the result.
    async fn process(&mut self, input: Bytes) -> Result<(), Stop> {
        if let Framer::Raw = self.framer {
            return self.emit_input(&input, 0..input.len()).await;
        }
        let mut segs = std::mem::take(&mut self.segs);
        match &mut self.framer {
            Framer::Raw => {}
            Framer::Request(framer) => {
                let config = &self.config;
                let http = self.conn.http.as_ref();
                framer.feed(
                    &input,
                    &mut |head| {
                        if http.is_some_and(|h| h.is_unframed()) {
                            Decision {
                                unframe: true,
                                ..Decision::default()
                            }
                        } else {
                            decide(config, head)
                        }
                    },
                    &mut segs,
                );
            }
            Framer::Response(framer) => {
                if let Some(http) = &self.conn.http {
                    let mut exchanges = http
                        .exchanges
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                    framer.feed(&input, &mut exchanges, &mut segs);
                }
            }
        }
        let mut result = Ok(());
        for seg in segs.drain(..) {
            if result.is_ok() {
                result = self.apply(seg, &input).await;
            }
        }
        self.segs = segs;
        result
    }

    async fn apply(&mut self, seg: Seg, input: &Bytes) -> Result<(), Stop> {
        let counters = &self.conn.proxy.counters;
        match seg {
            Seg::Input(range) => self.emit_input(input, range).await?,
            Seg::Bytes(bytes) => self.emit_bytes(bytes).await?,
            Seg::Injected(bytes) => {
                bump(&counters.answered, 1);
                self.emit_bytes(bytes).await?;
            }
            Seg::Discard(n) => counters.discarded(self.flow, n),
            Seg::Hold(hold) => {
                bump(&counters.held, 1);
                self.hold = Some(Instant::now() + hold);
            }
            Seg::Exchange(exchange) => {
                if !matches!(exchange, super::http::Exchange::Unframed) {
                    bump(&counters.requests, 1);
                }
                if let Some(http) = &self.conn.http {
                    http.push(exchange);
                }
            }
            Seg::Linger => {
                self.push(Item::Shutdown(After::KeepReading));
                self.linger_until = Some(Instant::now() + LINGER);
            }
            Seg::Close { whole } => self.push(Item::Shutdown(if whole {
                After::CloseConnection
            } else {
                After::Exit
            })),
            Seg::Truncated => bump(&counters.truncated, 1),
            Seg::Unframed => {
                if let Some(http) = &self.conn.http {
                    if matches!(self.framer, Framer::Response(_)) {
                        http.set_unframed();
                    }
                    if http.first_unframing() {
                        bump(&counters.unframed, 1);
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether bytes can go straight to the destination.
    fn direct(&self) -> bool {
        self.queue.is_empty() && self.chain.is_empty() && self.hold.is_none() && !self.dst_shut
    }

    /// Pass on `input[range]`: written at once, or queued as a slice of the read buffer.
    async fn emit_input(&mut self, input: &Bytes, range: Range<usize>) -> Result<(), Stop> {
        if range.is_empty() {
            return Ok(());
        }
        if self.direct() {
            self.write_direct(&input[range]).await
        } else {
            self.queue_data(input.slice(range));
            Ok(())
        }
    }

    async fn emit_bytes(&mut self, data: Bytes) -> Result<(), Stop> {
        if data.is_empty() {
            return Ok(());
        }
        if self.direct() {
            self.write_direct(&data).await
        } else {
            self.queue_data(data);
            Ok(())
        }
    }

    fn queue_data(&mut self, data: Bytes) {
        if self.dst_shut {
            self.conn.proxy.counters.discarded(self.flow, data.len());
            return;
        }
        self.queued += data.len();
        self.seq += 1;
        let chunk = Chunk {
            data,
            arrived: Instant::now(),
            seq: self.seq,
            hold: self.hold.take(),
        };
        self.queue.push_back(Item::Data(chunk));
    }

    fn push(&mut self, item: Item) {
        self.queue.push_back(item);
    }

    /// Write all of `data` now; only a close request interrupts (a graceful one does not).
    async fn write_direct(&mut self, data: &[u8]) -> Result<(), Stop> {
        let mut off = 0;
        while off < data.len() {
            // Usually the socket takes it all at once: no waker, no select.
            let written = match self.dst.try_write(&data[off..]) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => None,
                other => Some(other),
            };
            let written = match written {
                Some(written) => written,
                None => tokio::select! {
                biased;
                written = self.dst.write(&data[off..]) => written,
                _ = self.close_rx.changed() => {
                    self.close_rx.mark_changed();
                    if let Some(stop) = self.control() {
                        return Err(stop);
                    }
                    continue;
                }
                },
            };
            match written {
                Ok(0) => return Err(self.io_failure(&io::ErrorKind::WriteZero.into(), Side::Dst)),
                Ok(n) => {
                    off += n;
                    self.conn.proxy.counters.written(self.flow, n);
                }
                Err(e) => return Err(self.io_failure(&e, Side::Dst)),
            }
        }
        Ok(())
    }

    /// Write up to `len` bytes of the front chunk if the destination takes them without
    /// waiting; `Ok(false)` when it would block.
    fn try_write_front(&mut self, len: usize) -> Result<bool, Stop> {
        let written = match self.queue.front() {
            Some(Item::Data(chunk)) => self.dst.try_write(&chunk.data[..len]),
            _ => return Ok(false),
        };
        match written {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
            written => self.on_written(written).map(|()| true),
        }
    }

    /// One round of the zero-copy fast path: fill the empty pipe from the source, then drain
    /// it to the destination. Before each drain the toxic set is checked (an atomic load), as
    /// the copying path does before each write; when a stream toxic now applies, or the proxy
    /// is draining, the bytes still in the pipe move to the queue and the toxic path carries on
    /// from exactly there, so nothing is lost or reordered. Returns with the pipe empty.
    async fn splice_round(&mut self) -> Result<(), Stop> {
        let Some(pipe) = self.pipe.as_mut() else {
            return Ok(());
        };
        let filled = tokio::select! {
            biased;
            filled = pipe.fill(self.src.as_ref()) => filled,
            _ = self.close_rx.changed() => {
                self.close_rx.mark_changed();
                return Ok(());
            }
        };
        match filled {
            Ok(0) => {
                self.eof = true;
                return Ok(());
            }
            Ok(n) => self.conn.proxy.counters.read(self.flow, n),
            Err(e) if zero_copy::unsupported(&e) => {
                // Nothing moved: copy from now on.
                self.pipe = None;
                return Ok(());
            }
            Err(e) => return Err(self.io_failure(&e, Side::Src)),
        }
        loop {
            if let Some(stop) = self.control() {
                return Err(stop);
            }
            if self.draining || !self.chain.is_empty() {
                return self.spill();
            }
            let Some(pipe) = self.pipe.as_mut().filter(|p| p.len() > 0) else {
                return Ok(());
            };
            let drained = tokio::select! {
                biased;
                drained = pipe.drain(self.dst.as_ref()) => drained,
                _ = self.close_rx.changed() => {
                    self.close_rx.mark_changed();
                    continue;
                }
                // A toxic added while the destination is not taking bytes acts on the bytes
                // in the pipe at once.
                _ = self.config_rx.changed() => {
                    self.config_rx.mark_changed();
                    continue;
                }
            };
            match drained {
                Ok(n) => self.conn.proxy.counters.spliced(self.flow, n),
                Err(e) if zero_copy::unsupported(&e) => {
                    let spilled = self.spill();
                    self.pipe = None;
                    return spilled;
                }
                Err(e) => return Err(self.io_failure(&e, Side::Dst)),
            }
        }
    }

    /// Move the bytes in the pipe to the queue (in order, ahead of anything read later).
    fn spill(&mut self) -> Result<(), Stop> {
        let Some(pipe) = self.pipe.as_mut().filter(|p| p.len() > 0) else {
            return Ok(());
        };
        match pipe.take() {
            Ok(data) => {
                self.queue_data(data);
                Ok(())
            }
            // Cannot happen with a pipe only this pump uses; never leave a silent gap.
            Err(_) => Err(Stop::Close(CloseKind::Fin)),
        }
    }

    /// What to do with the front of the queue now; discards what the toxics drop.
    fn front(&mut self, now: Instant) -> Step {
        loop {
            let (len, plan, hold) = match self.queue.front() {
                None => return Step::Idle,
                Some(Item::Shutdown(after)) => return Step::Shutdown(*after),
                Some(Item::Data(chunk)) if self.draining => {
                    return Step::Write(chunk.data.len());
                }
                Some(Item::Data(chunk)) => (chunk.data.len(), self.chain.plan(chunk), chunk.hold),
            };
            match plan {
                Plan::Pass { .. } if len == 0 => {
                    self.queue.pop_front();
                }
                Plan::Discard => {
                    self.queue.pop_front();
                    self.queued -= len;
                    self.conn.proxy.counters.discarded(self.flow, len);
                }
                Plan::Pass {
                    not_before,
                    max_len,
                } => {
                    return match not_before.max(hold) {
                        Some(at) if at > now => Step::Wait(at),
                        _ => Step::Write(max_len.min(len)),
                    };
                }
            }
        }
    }

    async fn shut_dst(&mut self) {
        if !self.dst_shut {
            self.dst_shut = true;
            let _ = self.dst.shutdown().await;
        }
    }

    /// Turn an I/O error into a close: a peer that reset (or vanished under a write) has its
    /// reset passed on to the other peer; anything else closes with FIN.
    fn io_failure(&self, error: &io::Error, side: Side) -> Stop {
        let reset = matches!(
            error.kind(),
            io::ErrorKind::ConnectionReset
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::WriteZero
        );
        if !reset {
            return Stop::Close(CloseKind::Fin);
        }
        let failed_is_client = (side == Side::Src) == (self.flow == Flow::Upstream);
        Stop::Close(CloseKind::Reset {
            client: !failed_is_client,
            upstream: failed_is_client,
        })
    }
}

/// Completes when the request side queued an exchange (only for a response pump).
async fn answers_queued(conn: &ConnShared, enabled: bool) {
    match (&conn.http, enabled) {
        (Some(http), true) => http.added.notified().await,
        _ => std::future::pending().await,
    }
}
