//! Each TCP toxic against real servers: its effect, its heal, and no byte lost or duplicated.

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::support::*;
use crate::fault::proxy::{
    BandwidthSpec, BlackholeSpec, Direction, LatencySpec, ProxyError, RefuseSpec, ResetSpec,
    S3ErrorCode, S3ErrorSpec, SlicerSpec, TimeoutSpec, ToxicId, ToxicSpec,
};

const TEN_MB: usize = 10 * 1024 * 1024;

fn latency(ms: u64, direction: Direction) -> ToxicSpec {
    ToxicSpec::Latency(LatencySpec {
        direction,
        probability: 1.0,
        latency_ms: ms,
        jitter_ms: 0,
    })
}

async fn ten_mb_echo_is_exact(proxy_addr: std::net::SocketAddr, seed: u64) {
    let data = pattern(seed, TEN_MB);
    let back = echo_through(connect(proxy_addr).await, &data)
        .await
        .expect("echo 10 MB");
    assert_same(&back, &data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_faults_10_mb_pass_exactly_and_are_counted() {
    let echo = echo_server().await;
    let proxy = tcp_proxy(echo.addr).await;
    ten_mb_echo_is_exact(proxy.local_addr(), 1).await;
    let stats = proxy.shutdown().await;
    assert_eq!(stats.upstream.bytes_read, TEN_MB as u64);
    assert_eq!(stats.upstream.bytes_written, TEN_MB as u64);
    assert_eq!(stats.downstream.bytes_written, TEN_MB as u64);
    assert_eq!(stats.connections_accepted, 1);
    assert_eq!(stats.connections_active, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_delays_a_live_connection_and_heal_releases_queued_bytes_in_order() {
    let echo = echo_server().await;
    let proxy = tcp_proxy(echo.addr).await;
    let mut stream = connect(proxy.local_addr()).await;
    // Timing bounds here are lower bounds the toxic guarantees, or upper bounds far from the
    // delay they tell apart (a loaded machine must not fail them).
    ping(&mut stream, b"before").await;

    // Picked up by the live connection.
    let id = proxy
        .add(latency(100, Direction::Downstream))
        .await
        .expect("add");
    let slow = ping(&mut stream, b"during").await;
    assert!(slow >= Duration::from_millis(100), "{slow:?}");
    assert!(slow < Duration::from_millis(5000), "{slow:?}");

    // A long delay, healed while bytes are queued: they arrive at once, in order.
    proxy.remove(id).await.expect("remove");
    let id = proxy
        .add(latency(10_000, Direction::Both))
        .await
        .expect("add");
    let message = pattern(2, 300_000);
    let (mut r, mut w) = stream.into_split();
    w.write_all(&message).await.expect("write");
    let mut buf = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(300), r.read(&mut buf)).await;
    assert!(early.is_err(), "nothing may arrive before the heal");
    let healed_at = Instant::now();
    assert!(proxy.remove(id).await.expect("remove"));
    let mut back = vec![0u8; message.len()];
    tokio::time::timeout(PATIENCE, r.read_exact(&mut back))
        .await
        .expect("in time")
        .expect("read");
    assert!(
        healed_at.elapsed() < Duration::from_secs(5),
        "{:?} (the toxic would have held them 10 s)",
        healed_at.elapsed()
    );
    assert_same(&back, &message);

    // And the next 10 MB are exact.
    drop((r, w));
    ten_mb_echo_is_exact(proxy.local_addr(), 3).await;
    assert!(proxy.active().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_keeps_throughput_and_jitter_never_reorders() {
    let echo = echo_server().await;
    let proxy = tcp_proxy(echo.addr).await;
    proxy
        .add(ToxicSpec::Latency(LatencySpec {
            direction: Direction::Both,
            probability: 1.0,
            latency_ms: 30,
            jitter_ms: 30,
        }))
        .await
        .expect("add");
    let data = pattern(4, 2 * 1024 * 1024);
    let start = Instant::now();
    let back = echo_through(connect(proxy.local_addr()).await, &data)
        .await
        .expect("echo");
    assert_same(&back, &data);
    // Pipelined, not one delay per chunk: far below 2 × 30 ms × (2 MiB / 64 KiB).
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probability_zero_spares_every_connection() {
    let echo = echo_server().await;
    let proxy = tcp_proxy(echo.addr).await;
    proxy
        .add(ToxicSpec::Latency(LatencySpec {
            direction: Direction::Both,
            probability: 0.0,
            latency_ms: 5000,
            jitter_ms: 0,
        }))
        .await
        .expect("add");
    for _ in 0..5 {
        let mut stream = connect(proxy.local_addr()).await;
        let rtt = ping(&mut stream, b"x").await;
        assert!(rtt < Duration::from_millis(2500), "{rtt:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bandwidth_caps_the_rate_and_heal_lifts_it() {
    const LEN: usize = 3 * 1024 * 1024;
    let source = source_server(5, LEN).await;
    let proxy = tcp_proxy(source.addr).await;
    let id = proxy
        .add(ToxicSpec::Bandwidth(BandwidthSpec {
            direction: Direction::Downstream,
            probability: 1.0,
            bytes_per_sec: 1_000_000,
        }))
        .await
        .expect("add");
    let mut stream = connect(proxy.local_addr()).await;
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    while start.elapsed() < Duration::from_millis(1000) {
        let n = stream.read(&mut buf).await.expect("read");
        assert!(n > 0, "ended early");
        got.extend_from_slice(&buf[..n]);
    }
    let rate = got.len() as f64 / start.elapsed().as_secs_f64();
    assert!(
        (200_000.0..1_400_000.0).contains(&rate),
        "rate {rate:.0} B/s, want at most about 1 000 000"
    );
    // Heal mid-transfer: the rest (about 2 MB) comes at full speed, exact.
    proxy.remove(id).await.expect("remove");
    let healed = Instant::now();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut got))
        .await
        .expect("in time")
        .expect("read rest");
    assert!(
        healed.elapsed() < Duration::from_millis(1500),
        "{:?} (about 2 s at the capped rate)",
        healed.elapsed()
    );
    assert_same(&got, &pattern(5, LEN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blackhole_hangs_connections_and_after_heal_new_ones_flow() {
    let echo = echo_server().await;
    let proxy = tcp_proxy(echo.addr).await;
    let mut idle = connect(proxy.local_addr()).await;
    ping(&mut idle, b"hi").await;

    let id = proxy
        .add(ToxicSpec::Blackhole(BlackholeSpec {
            direction: Direction::Both,
            probability: 1.0,
        }))
        .await
        .expect("add");
    // A new connection is accepted, swallows what it is sent, answers nothing, stays open.
    let mut hung = connect(proxy.local_addr()).await;
    hung.write_all(&pattern(6, 200_000)).await.expect("write");
    assert_eq!(
        read_within(&mut hung, Duration::from_millis(500))
            .await
            .expect("no error"),
        None
    );
    hung.write_all(b"still open").await.expect("still open");

    proxy.remove(id).await.expect("remove");
    // The connection that lost bytes is reset rather than resumed with a gap.
    let after = read_within(&mut hung, PATIENCE).await;
    assert!(
        matches!(&after, Err(e) if e.kind() == ErrorKind::ConnectionReset),
        "{after:?}"
    );
    // The connection that lost nothing carries on, and new connections flow, exactly.
    assert!(ping(&mut idle, b"again").await < PATIENCE);
    ten_mb_echo_is_exact(proxy.local_addr(), 7).await;
    let stats = proxy.stats();
    assert!(stats.upstream.bytes_discarded >= 200_000, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_gives_econnreset_to_live_and_new_connections() {
    let echo = echo_server().await;
    let proxy = tcp_proxy(echo.addr).await;
    let mut live = connect(proxy.local_addr()).await;
    ping(&mut live, b"hello").await;

    let id = proxy
        .add(ToxicSpec::Reset(ResetSpec {
            direction: Direction::Both,
            probability: 1.0,
            timeout_ms: 0,
        }))
        .await
        .expect("add");
    let got = read_within(&mut live, PATIENCE).await;
    assert!(
        matches!(&got, Err(e) if e.kind() == ErrorKind::ConnectionReset),
        "{got:?}"
    );

    expect_reset_on_connect(proxy.local_addr()).await;

    proxy.remove(id).await.expect("remove");
    ten_mb_echo_is_exact(proxy.local_addr(), 8).await;
    assert!(proxy.stats().connections_reset >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_after_a_delay_and_only_towards_the_client() {
    let echo = echo_server().await;
    let proxy = tcp_proxy(echo.addr).await;
    proxy
        .add(ToxicSpec::Reset(ResetSpec {
            direction: Direction::Downstream,
            probability: 1.0,
            timeout_ms: 300,
        }))
        .await
        .expect("add");
    let start = Instant::now();
    let mut stream = connect(proxy.local_addr()).await;
    ping(&mut stream, b"works until then").await;
    let got = read_within(&mut stream, PATIENCE).await;
    assert!(
        matches!(&got, Err(e) if e.kind() == ErrorKind::ConnectionReset),
        "{got:?}"
    );
    assert!(
        start.elapsed() >= Duration::from_millis(290),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuse_closes_the_port_and_heal_binds_it_again() {
    let echo = echo_server().await;
    let proxy = tcp_proxy(echo.addr).await;
    let addr = proxy.local_addr();
    let mut live = connect(addr).await;
    // Accepted by the proxy (not just in the kernel's backlog, which closing the listener resets).
    ping(&mut live, b"accepted").await;

    let id = proxy
        .add(ToxicSpec::Refuse(RefuseSpec {}))
        .await
        .expect("add");
    assert!(!proxy.is_listening());
    let refused = tokio::net::TcpStream::connect(addr).await;
    assert!(
        matches!(&refused, Err(e) if e.kind() == ErrorKind::ConnectionRefused),
        "{refused:?}"
    );
    // Live connections are untouched.
    ping(&mut live, b"still here").await;

    assert!(proxy.remove(id).await.expect("heal re-binds"));
    assert!(proxy.is_listening());
    assert_eq!(proxy.local_addr(), addr);
    ten_mb_echo_is_exact(addr, 9).await;
    // Healing twice is harmless.
    assert!(!proxy.remove(id).await.expect("idempotent"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_closes_connections_after_the_delay() {
    let echo = echo_server().await;
    let proxy = tcp_proxy(echo.addr).await;
    let id = proxy
        .add(ToxicSpec::Timeout(TimeoutSpec {
            probability: 1.0,
            timeout_ms: 300,
        }))
        .await
        .expect("add");
    let start = Instant::now();
    let mut stream = connect(proxy.local_addr()).await;
    ping(&mut stream, b"in time").await;
    let end = read_within(&mut stream, PATIENCE)
        .await
        .expect("clean close");
    assert_eq!(end, Some(Vec::new()), "EOF expected");
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(290) && took < Duration::from_secs(3),
        "{took:?}"
    );

    proxy.remove(id).await.expect("remove");
    let mut stream = connect(proxy.local_addr()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    ping(&mut stream, b"outlives the healed timeout").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slicer_delivers_every_byte_in_order_in_small_pieces() {
    let source = source_server(10, 100_000).await;
    let proxy = tcp_proxy(source.addr).await;
    proxy
        .add(ToxicSpec::Slicer(SlicerSpec {
            direction: Direction::Downstream,
            probability: 1.0,
            average_size: 1000,
            size_variation: 500,
            delay_us: 2000,
        }))
        .await
        .expect("add");
    let mut stream = connect(proxy.local_addr()).await;
    let mut got = Vec::new();
    let mut reads = 0;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = tokio::time::timeout(PATIENCE, stream.read(&mut buf))
            .await
            .expect("in time")
            .expect("read");
        if n == 0 {
            break;
        }
        reads += 1;
        got.extend_from_slice(&buf[..n]);
    }
    assert_same(&got, &pattern(10, 100_000));
    assert!(reads >= 30, "only {reads} reads: not sliced");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn toxics_come_and_go_during_a_10_mb_transfer_without_losing_a_byte() {
    let echo = echo_server().await;
    let proxy = tcp_proxy(echo.addr).await;
    let data = pattern(11, TEN_MB);
    let transfer = tokio::spawn({
        let addr = proxy.local_addr();
        let data = data.clone();
        async move { echo_through(connect(addr).await, &data).await }
    });
    let toxics = [
        latency(20, Direction::Both),
        ToxicSpec::Bandwidth(BandwidthSpec {
            direction: Direction::Upstream,
            probability: 1.0,
            bytes_per_sec: 30_000_000,
        }),
        ToxicSpec::Slicer(SlicerSpec {
            direction: Direction::Downstream,
            probability: 1.0,
            average_size: 8192,
            size_variation: 4096,
            delay_us: 0,
        }),
    ];
    // A slow link underneath for the first part, so the transfer sees many changes; on top,
    // toxics overlap (the next is added before the previous is removed) and every few rounds
    // all are healed at once.
    let slow = proxy
        .add(ToxicSpec::Bandwidth(BandwidthSpec {
            direction: Direction::Both,
            probability: 1.0,
            bytes_per_sec: 8_000_000,
        }))
        .await
        .expect("add");
    let mut previous = proxy.add(toxics[2].clone()).await.expect("add");
    let mut round = 0;
    while !transfer.is_finished() && round < 500 {
        let id = proxy
            .add(toxics[round % toxics.len()].clone())
            .await
            .expect("add");
        proxy.remove(previous).await.expect("remove");
        previous = id;
        tokio::time::sleep(Duration::from_millis(10)).await;
        if round == 20 {
            proxy.remove(slow).await.expect("remove");
        }
        if round > 20 && round % 7 == 6 {
            proxy.clear().await.expect("clear");
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
        round += 1;
    }
    let back = transfer.await.expect("join").expect("echo");
    assert_same(&back, &data);
    assert!(round >= 10, "the transfer saw only {round} changes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_and_clear_are_idempotent_and_active_lists_specs() {
    let echo = echo_server().await;
    let proxy = tcp_proxy(echo.addr).await;
    let a = proxy.add(latency(5, Direction::Upstream)).await.expect("a");
    let b = proxy
        .add(ToxicSpec::Refuse(RefuseSpec {}))
        .await
        .expect("b");
    assert_eq!(
        proxy.active(),
        vec![
            latency(5, Direction::Upstream),
            ToxicSpec::Refuse(RefuseSpec {})
        ]
    );
    assert_eq!(
        proxy.toxics().iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        vec![a, b]
    );
    assert!(proxy.remove(a).await.expect("remove"));
    assert!(!proxy.remove(a).await.expect("twice"));
    assert!(!proxy.remove(ToxicId(999)).await.expect("unknown"));
    proxy.clear().await.expect("clear");
    proxy.clear().await.expect("clear twice");
    assert!(proxy.active().is_empty());
    assert!(proxy.is_listening());
    let mut stream = connect(proxy.local_addr()).await;
    ping(&mut stream, b"ok").await;

    let invalid = proxy
        .add(ToxicSpec::Bandwidth(BandwidthSpec {
            direction: Direction::Both,
            probability: 1.0,
            bytes_per_sec: 0,
        }))
        .await;
    assert!(
        matches!(invalid, Err(ProxyError::InvalidToxic { .. })),
        "{invalid:?}"
    );
    let http_only = proxy
        .add(ToxicSpec::S3Error(S3ErrorSpec {
            method: None,
            path_prefix: "/".into(),
            fraction: 1.0,
            code: S3ErrorCode::SlowDown,
        }))
        .await;
    assert!(
        matches!(http_only, Err(ProxyError::NeedsHttpMode { .. })),
        "{http_only:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_delivers_what_was_read_then_closes() {
    let echo = echo_server().await;
    let proxy = tcp_proxy(echo.addr).await;
    let mut stream = connect(proxy.local_addr()).await;
    ping(&mut stream, b"warm").await;
    proxy
        .add(latency(60_000, Direction::Downstream))
        .await
        .expect("add");
    stream
        .write_all(b"queued in the proxy")
        .await
        .expect("write");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stats = proxy.shutdown().await;
    let mut rest = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut rest))
        .await
        .expect("in time")
        .expect("read");
    assert_eq!(rest, b"queued in the proxy");
    assert_eq!(stats.connections_active, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_upstream_resets_the_client_and_non_loopback_is_refused() {
    let dead = std::net::TcpListener::bind(any_port()).expect("bind");
    let dead_addr = dead.local_addr().expect("addr");
    drop(dead);
    let proxy = tcp_proxy(dead_addr).await;
    expect_reset_on_connect(proxy.local_addr()).await;
    assert_eq!(proxy.stats().upstream_connect_failures, 1);

    let outside = std::net::SocketAddr::from(([192, 0, 2, 1], 80));
    let err = crate::fault::proxy::Proxy::start("x", any_port(), outside)
        .await
        .expect_err("not loopback");
    assert!(
        matches!(
            err,
            ProxyError::NotLoopback {
                role: "upstream",
                ..
            }
        ),
        "{err}"
    );
}
