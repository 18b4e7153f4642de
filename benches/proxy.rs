//! The cost of the link-fault proxy with no fault active, against a direct loopback connection
//! measured in the same run:
//!
//! - `throughput/*`: 64 MiB written over one kept-open connection to a sink that acknowledges
//!   every 64 MiB (direct, through a TCP-mode proxy, and as one HTTP PUT through an HTTP-mode
//!   proxy, which frames every message).
//! - `round_trip/*`: a 1 KiB ping-pong with an echo server over one kept-open connection.
//!
//! `bare-copy-bidirectional` is a minimal forwarder (tokio's `copy_bidirectional`, same buffer
//! size, no counters, no fault hooks): the floor for any user-space proxy, since a proxy hop
//! adds two copies and a second trip through the loopback TCP stack.
//!
//! Run with `cargo bench --bench proxy -- --warm-up-time 1 --measurement-time 3`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;

use spark_chaos::fault::proxy::{Proxy, ProxyHandle};

const BULK: usize = 64 * 1024 * 1024;
const PING: usize = 1024;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// A server that reads `message` bytes at a time and answers each message with `reply`.
async fn sink(message: usize, reply: &'static [u8]) -> SocketAddr {
    let listener = TcpListener::bind(loopback()).await.expect("bind sink");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = stream.set_nodelay(true);
                let mut buf = vec![0u8; 256 * 1024];
                let mut left = message;
                loop {
                    match stream.read(&mut buf[..left.min(256 * 1024)]).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => left -= n,
                    }
                    if left == 0 {
                        if stream.write_all(reply).await.is_err() {
                            return;
                        }
                        left = message;
                    }
                }
            });
        }
    });
    addr
}

/// An echo server.
async fn echo() -> SocketAddr {
    let listener = TcpListener::bind(loopback()).await.expect("bind echo");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = stream.set_nodelay(true);
                let (mut r, mut w) = stream.into_split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    addr
}

/// The floor for any user-space proxy: a bare forwarder with tokio's `copy_bidirectional` and
/// the same buffer size, no counters, no faults.
async fn bare_forwarder(upstream: SocketAddr) -> SocketAddr {
    let listener = TcpListener::bind(loopback()).await.expect("bind forwarder");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut server) = TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let _ = tokio::io::copy_bidirectional_with_sizes(
                    &mut client,
                    &mut server,
                    128 * 1024,
                    128 * 1024,
                )
                .await;
            });
        }
    });
    addr
}

async fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    stream
}

/// Send `prefix` + `BULK` bytes, then read `ack_len` bytes; return the time taken.
async fn bulk(stream: &mut TcpStream, prefix: &[u8], data: &[u8], ack_len: usize) -> Duration {
    let start = Instant::now();
    stream.write_all(prefix).await.expect("write head");
    stream.write_all(data).await.expect("write bulk");
    let mut ack = vec![0u8; ack_len];
    stream.read_exact(&mut ack).await.expect("ack");
    start.elapsed()
}

async fn ping(stream: &mut TcpStream, message: &[u8], back: &mut [u8]) {
    stream.write_all(message).await.expect("ping");
    stream.read_exact(back).await.expect("pong");
}

fn benches(c: &mut Criterion) {
    let rt = runtime();
    let data = vec![0x5au8; BULK];
    let http_head =
        format!("PUT /chaos/bench HTTP/1.1\r\nHost: bench\r\nContent-Length: {BULK}\r\n\r\n");
    const HTTP_OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

    // Keep the proxies alive for the whole run.
    let (tcp_sink, http_sink, echo_addr, bare_sink, bare_echo, proxies): (
        _,
        _,
        _,
        _,
        _,
        Vec<ProxyHandle>,
    ) = rt.block_on(async {
        let tcp_sink = sink(BULK, b"ACK!").await;
        let http_sink = sink(http_head.len() + BULK, HTTP_OK).await;
        let echo_addr = echo().await;
        let proxies = vec![
            Proxy::start("bench-tcp", loopback(), tcp_sink)
                .await
                .expect("proxy"),
            Proxy::start_http("bench-http", loopback(), http_sink)
                .await
                .expect("proxy"),
            Proxy::start("bench-echo", loopback(), echo_addr)
                .await
                .expect("proxy"),
        ];
        let bare_sink = bare_forwarder(tcp_sink).await;
        let bare_echo = bare_forwarder(echo_addr).await;
        (
            tcp_sink, http_sink, echo_addr, bare_sink, bare_echo, proxies,
        )
    });

    let mut group = c.benchmark_group("throughput");
    group.throughput(Throughput::Bytes(BULK as u64));
    group.sample_size(10);
    let cases: [(&str, SocketAddr, &[u8], usize); 4] = [
        ("direct", tcp_sink, b"", 4),
        ("bare-copy-bidirectional", bare_sink, b"", 4),
        ("proxy-tcp", proxies[0].local_addr(), b"", 4),
        (
            "proxy-http-put",
            proxies[1].local_addr(),
            http_head.as_bytes(),
            HTTP_OK.len(),
        ),
    ];
    for (name, addr, prefix, ack) in cases {
        let mut stream = rt.block_on(connect(addr));
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        total += bulk(&mut stream, prefix, &data, ack).await;
                    }
                    total
                })
            })
        });
    }
    // Direct to the HTTP sink too, so the PUT case has its own baseline.
    let mut stream = rt.block_on(connect(http_sink));
    group.bench_function("direct-http-put", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += bulk(&mut stream, http_head.as_bytes(), &data, HTTP_OK.len()).await;
                }
                total
            })
        })
    });
    group.finish();

    let mut group = c.benchmark_group("round_trip");
    group.throughput(Throughput::Bytes(PING as u64));
    let message = vec![0xa5u8; PING];
    for (name, addr) in [
        ("direct", echo_addr),
        ("bare-copy-bidirectional", bare_echo),
        ("proxy-tcp", proxies[2].local_addr()),
    ] {
        let mut stream = rt.block_on(connect(addr));
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut back = vec![0u8; PING];
                    let start = Instant::now();
                    for _ in 0..iters {
                        ping(&mut stream, &message, &mut back).await;
                    }
                    start.elapsed()
                })
            })
        });
    }
    group.finish();

    rt.block_on(async {
        for proxy in proxies {
            proxy.shutdown().await;
        }
    });
}

criterion_group!(proxy_benches, benches);
criterion_main!(proxy_benches);
