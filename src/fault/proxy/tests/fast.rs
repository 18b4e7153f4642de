//! The no-fault fast path (zero-copy `splice(2)` on Linux, copying elsewhere) against real
//! servers: large transfers arrive exactly, a toxic applied in the middle of a transfer and
//! removed again loses or reorders nothing, half-closes pass through in each direction, and
//! many connections at once each get their own bytes back.

use std::net::SocketAddr;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::support::*;
use crate::fault::proxy::{BandwidthSpec, Direction, LatencySpec, SlicerSpec, ToxicSpec};

const MIB: usize = 1024 * 1024;

/// Whether this platform has the zero-copy path (elsewhere the same tests run on the copy path).
const SPLICES: bool = cfg!(target_os = "linux");

fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Read everything from `stream` in pieces, returning its length and checksum.
async fn drain_with_checksum(stream: &mut tokio::net::TcpStream) -> (usize, [u8; 32]) {
    drain_pausing(stream, &[], None).await
}

/// Like [`drain_with_checksum`], but each time the total passes one of `marks` the reader asks
/// `switcher` to act and waits until it has.
async fn drain_pausing(
    stream: &mut tokio::net::TcpStream,
    marks: &[usize],
    switcher: Option<&tokio::sync::mpsc::Sender<tokio::sync::oneshot::Sender<()>>>,
) -> (usize, [u8; 32]) {
    let mut marks = marks.iter().copied().peekable();
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0;
    loop {
        let n = tokio::time::timeout(PATIENCE, stream.read(&mut buf))
            .await
            .expect("data in time")
            .expect("read");
        if n == 0 {
            return (total, hash.finalize().into());
        }
        hash.update(&buf[..n]);
        total += n;
        if let (Some(_), Some(tx)) = (marks.next_if(|&m| total >= m), switcher) {
            let (done_tx, done_rx) = tokio::sync::oneshot::channel();
            tx.send(done_tx).await.expect("switcher");
            done_rx.await.expect("switched");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_transfer_through_the_fast_path_is_exact_and_counted() {
    const LEN: usize = 96 * MIB;
    let source = source_server(21, LEN).await;
    let proxy = tcp_proxy(source.addr).await;
    let mut stream = connect(proxy.local_addr()).await;
    let (len, sum) = drain_with_checksum(&mut stream).await;
    assert_eq!(len, LEN);
    assert_eq!(sum, sha256(&pattern(21, LEN)));
    drop(stream);

    // And both ways at once, through an echo server.
    let echo = echo_server().await;
    let proxy_echo = tcp_proxy(echo.addr).await;
    let data = pattern(22, 32 * MIB);
    let back = echo_through(connect(proxy_echo.local_addr()).await, &data)
        .await
        .expect("echo");
    assert_eq!(sha256(&back), sha256(&data));

    let stats = proxy.shutdown().await;
    assert_eq!(stats.downstream.bytes_read, LEN as u64);
    assert_eq!(stats.downstream.bytes_written, LEN as u64);
    if SPLICES {
        assert_eq!(stats.downstream.bytes_spliced, LEN as u64, "{stats:?}");
    }
    let stats = proxy_echo.shutdown().await;
    for flow in [stats.upstream, stats.downstream] {
        assert_eq!(flow.bytes_read, data.len() as u64, "{stats:?}");
        assert_eq!(flow.bytes_written, data.len() as u64, "{stats:?}");
        assert_eq!(flow.bytes_discarded, 0);
    }
    assert_eq!(stats.connections_active, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_toxic_applied_mid_transfer_and_removed_loses_and_reorders_nothing() {
    const LEN: usize = 64 * MIB;
    let source = source_server(23, LEN).await;
    let proxy = tcp_proxy(source.addr).await;
    let mut stream = connect(proxy.local_addr()).await;

    // The client reads; at 8 MiB it stops and a toxic goes on (the pump may hold bytes in its
    // pipe at that moment: they must come out first, in order), at 16 MiB it comes off, and so
    // on. The reader waits for each switch, so every toxic acts on part of the stream.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<tokio::sync::oneshot::Sender<()>>(1);
    let reader = tokio::spawn(async move {
        drain_pausing(
            &mut stream,
            &[8 * MIB, 16 * MIB, 24 * MIB, 32 * MIB],
            Some(&tx),
        )
        .await
    });
    let toxics = [
        ToxicSpec::Latency(LatencySpec {
            direction: Direction::Downstream,
            probability: 1.0,
            latency_ms: 5,
            jitter_ms: 5,
        }),
        ToxicSpec::Slicer(SlicerSpec {
            direction: Direction::Both,
            probability: 1.0,
            average_size: 3000,
            size_variation: 2000,
            delay_us: 0,
        }),
    ];
    let mut on = None;
    let mut switches = 0;
    while let Some(done) = rx.recv().await {
        match on.take() {
            None => on = Some(proxy.add(toxics[switches / 2].clone()).await.expect("add")),
            Some(id) => assert!(proxy.remove(id).await.expect("remove")),
        }
        switches += 1;
        let _ = done.send(());
    }
    let (len, sum) = reader.await.expect("reader");
    assert_eq!(switches, 4);
    assert_eq!(len, LEN);
    assert_eq!(sum, sha256(&pattern(23, LEN)));
    let stats = proxy.shutdown().await;
    assert_eq!(stats.downstream.bytes_written, LEN as u64, "{stats:?}");
    if SPLICES {
        // Both paths carried part of it.
        assert!(stats.downstream.bytes_spliced > 0, "{stats:?}");
        assert!(stats.downstream.bytes_spliced < LEN as u64, "{stats:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rapid_toxic_switches_during_an_echo_keep_every_byte_in_order() {
    let echo = echo_server().await;
    let proxy = tcp_proxy(echo.addr).await;
    let data = pattern(24, 24 * MIB);
    let transfer = tokio::spawn({
        let addr = proxy.local_addr();
        let data = data.clone();
        async move { echo_through(connect(addr).await, &data).await }
    });
    // One direction at a time, then both: each flow leaves and rejoins the fast path many
    // times, often with bytes in its pipe.
    let specs = [
        ToxicSpec::Bandwidth(BandwidthSpec {
            direction: Direction::Upstream,
            probability: 1.0,
            bytes_per_sec: 200_000_000,
        }),
        ToxicSpec::Latency(LatencySpec {
            direction: Direction::Downstream,
            probability: 1.0,
            latency_ms: 1,
            jitter_ms: 0,
        }),
        ToxicSpec::Latency(LatencySpec {
            direction: Direction::Both,
            probability: 1.0,
            latency_ms: 0,
            jitter_ms: 0,
        }),
    ];
    let mut round = 0;
    while !transfer.is_finished() && round < 2000 {
        let id = proxy
            .add(specs[round % specs.len()].clone())
            .await
            .expect("add");
        tokio::time::sleep(Duration::from_millis(2)).await;
        proxy.remove(id).await.expect("remove");
        tokio::time::sleep(Duration::from_millis(2)).await;
        round += 1;
    }
    let back = transfer.await.expect("join").expect("echo");
    assert_same(&back, &data);
    let stats = proxy.shutdown().await;
    for flow in [stats.upstream, stats.downstream] {
        assert_eq!(flow.bytes_written, data.len() as u64, "{stats:?}");
    }
}

/// A server that reads until the client half-closes, answers with the length and checksum of
/// what it got, then closes.
async fn receipt_server() -> Server {
    let listener = TcpListener::bind(any_port()).await.expect("bind receipt");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut got = Vec::new();
                if stream.read_to_end(&mut got).await.is_err() {
                    return;
                }
                let mut receipt = (got.len() as u64).to_le_bytes().to_vec();
                receipt.extend_from_slice(&sha256(&got));
                let _ = stream.write_all(&receipt).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    Server { addr, task }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_closes_pass_through_in_each_direction() {
    let server = receipt_server().await;
    let proxy = tcp_proxy(server.addr).await;
    for len in [0, 1, 5 * MIB + 3] {
        let data = pattern(25 + len as u64, len);
        let stream = connect(proxy.local_addr()).await;
        let (mut r, mut w) = stream.into_split();
        w.write_all(&data).await.expect("write");
        // Our FIN must reach the server (it answers only then) while our read side stays open.
        w.shutdown().await.expect("half-close");
        let mut receipt = Vec::new();
        tokio::time::timeout(PATIENCE, r.read_to_end(&mut receipt))
            .await
            .expect("receipt and EOF in time")
            .expect("read receipt");
        let mut want = (len as u64).to_le_bytes().to_vec();
        want.extend_from_slice(&sha256(&data));
        assert_eq!(receipt, want, "{len} bytes");
    }

    // The other way: the server half-closes first and the client keeps sending.
    let listener = TcpListener::bind(any_port()).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        let (mut r, mut w) = stream.into_split();
        w.write_all(b"bye early").await.expect("write");
        w.shutdown().await.expect("server half-close");
        let mut got = Vec::new();
        r.read_to_end(&mut got)
            .await
            .expect("read after half-close");
        got
    });
    let proxy2 = tcp_proxy(addr).await;
    let mut stream = connect(proxy2.local_addr()).await;
    let mut first = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut first))
        .await
        .expect("EOF in time")
        .expect("read");
    assert_eq!(first, b"bye early");
    let late = pattern(26, 2 * MIB);
    stream.write_all(&late).await.expect("write after EOF");
    stream.shutdown().await.expect("client half-close");
    let got = tokio::time::timeout(PATIENCE, server)
        .await
        .expect("server in time")
        .expect("server");
    assert_same(&got, &late);
    let stats = proxy2.shutdown().await;
    assert_eq!(stats.connections_reset + stats.connections_closed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_connections_each_get_their_own_bytes() {
    const CONNS: usize = 150;
    const LEN: usize = 256 * 1024;
    let echo = echo_server().await;
    let proxy = tcp_proxy(echo.addr).await;
    let addr: SocketAddr = proxy.local_addr();
    let tasks: Vec<_> = (0..CONNS)
        .map(|i| {
            tokio::spawn(async move {
                let data = pattern(1000 + i as u64, LEN + i);
                let back = echo_through(connect(addr).await, &data).await?;
                Ok::<_, std::io::Error>(back == data)
            })
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        assert!(task.await.expect("join").expect("echo"), "connection {i}");
    }
    let stats = proxy.shutdown().await;
    let total: u64 = (0..CONNS).map(|i| (LEN + i) as u64).sum();
    assert_eq!(stats.connections_accepted, CONNS as u64);
    assert_eq!(stats.connections_active, 0);
    assert_eq!(stats.upstream.bytes_written, total);
    assert_eq!(stats.downstream.bytes_written, total);
    if SPLICES {
        assert_eq!(stats.downstream.bytes_spliced, total, "{stats:?}");
    }
}
