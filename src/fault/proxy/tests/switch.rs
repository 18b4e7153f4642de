//! Switching a proxy's upstream and resetting its live connections, against real servers: what
//! a load balancer does at a blue/green cut-over.

use std::io::ErrorKind;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::support::*;
use crate::fault::proxy::ProxyError;

/// A server that greets every connection with `tag` and then echoes.
async fn tagged_server(tag: &'static [u8]) -> Server {
    let listener = TcpListener::bind(any_port()).await.expect("bind tagged");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                if stream.write_all(tag).await.is_err() {
                    return;
                }
                let (mut r, mut w) = stream.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    Server { addr, task }
}

/// Connects through the proxy and returns the stream with the greeting it got.
async fn greeted(proxy: SocketAddr) -> (tokio::net::TcpStream, Vec<u8>) {
    let mut stream = connect(proxy).await;
    let mut tag = [0u8; 4];
    tokio::time::timeout(PATIENCE, stream.read_exact(&mut tag))
        .await
        .expect("greeting in time")
        .expect("read greeting");
    (stream, tag.to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_connections_follow_the_new_upstream_and_live_ones_stay() {
    let blue = tagged_server(b"blue").await;
    let green = tagged_server(b"gren").await;
    let proxy = tcp_proxy(blue.addr).await;
    let (mut old, tag) = greeted(proxy.local_addr()).await;
    assert_eq!(tag, b"blue");

    proxy.set_upstream(green.addr).expect("switch");
    assert_eq!(proxy.upstream(), green.addr);
    let (_new, tag) = greeted(proxy.local_addr()).await;
    assert_eq!(tag, b"gren");
    // The connection opened before the switch still talks to blue.
    ping(&mut old, b"still here").await;
    assert_eq!(proxy.stats().connections_reset, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_connections_resets_live_ones_counts_them_and_spares_later_ones() {
    let blue = tagged_server(b"blue").await;
    let green = tagged_server(b"gren").await;
    let proxy = tcp_proxy(blue.addr).await;
    let (mut a, _) = greeted(proxy.local_addr()).await;
    let (mut b, _) = greeted(proxy.local_addr()).await;

    proxy.set_upstream(green.addr).expect("switch");
    assert_eq!(proxy.reset_connections(), 2);
    for stream in [&mut a, &mut b] {
        let got = read_within(stream, PATIENCE).await;
        assert!(
            matches!(&got, Err(e) if e.kind() == ErrorKind::ConnectionReset),
            "{got:?}"
        );
    }
    // Clients reconnect and land on the new upstream; nothing else is reset.
    let (mut c, tag) = greeted(proxy.local_addr()).await;
    assert_eq!(tag, b"gren");
    ping(&mut c, b"after the cut-over").await;
    let settled = tokio::time::timeout(PATIENCE, async {
        while proxy.stats().connections_active != 1 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    });
    assert!(settled.await.is_ok(), "{:?}", proxy.stats());
    assert_eq!(proxy.stats().connections_reset, 2, "{:?}", proxy.stats());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_loopback_upstream_is_refused_and_nothing_changes() {
    let blue = tagged_server(b"blue").await;
    let proxy = tcp_proxy(blue.addr).await;
    let err = proxy
        .set_upstream(SocketAddr::from(([192, 0, 2, 1], 80)))
        .expect_err("not loopback");
    assert!(matches!(err, ProxyError::NotLoopback { .. }), "{err:?}");
    assert_eq!(proxy.upstream(), blue.addr);
    assert_eq!(proxy.reset_connections(), 0);
    let (_s, tag) = greeted(proxy.local_addr()).await;
    assert_eq!(tag, b"blue");
}
