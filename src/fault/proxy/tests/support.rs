//! Real TCP servers on 127.0.0.1:0 and helpers for the proxy tests.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::fault::proxy::{Proxy, ProxyHandle};

/// A generous bound on any single wait in a test.
pub(crate) const PATIENCE: Duration = Duration::from_secs(20);

/// 127.0.0.1 with any free port.
pub(crate) fn any_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// `len` pseudo-random bytes determined by `seed` (xorshift64*).
pub(crate) fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A server task that is aborted when dropped.
pub(crate) struct Server {
    pub addr: SocketAddr,
    pub task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A TCP echo server: every connection gets back what it sends; it closes when the client
/// half-closes.
pub(crate) async fn echo_server() -> Server {
    let listener = TcpListener::bind(any_port()).await.expect("bind echo");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = stream.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
                let _ = w.shutdown().await;
            });
        }
    });
    Server { addr, task }
}

/// A source server: every connection gets `len` bytes of `pattern(seed, len)`, then FIN.
pub(crate) async fn source_server(seed: u64, len: usize) -> Server {
    let listener = TcpListener::bind(any_port()).await.expect("bind source");
    let addr = listener.local_addr().expect("addr");
    let data = std::sync::Arc::new(pattern(seed, len));
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let data = data.clone();
            tokio::spawn(async move {
                let _ = stream.write_all(&data).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    Server { addr, task }
}

/// A proxy in TCP mode in front of `upstream`.
pub(crate) async fn tcp_proxy(upstream: SocketAddr) -> ProxyHandle {
    Proxy::start("test", any_port(), upstream)
        .await
        .expect("start proxy")
}

/// Connect to `addr`.
pub(crate) async fn connect(addr: SocketAddr) -> TcpStream {
    let stream = tokio::time::timeout(PATIENCE, TcpStream::connect(addr))
        .await
        .expect("connect in time")
        .expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    stream
}

/// Send `data` through an echo connection (concurrently writing and reading) and return what
/// came back, after half-closing.
pub(crate) async fn echo_through(stream: TcpStream, data: &[u8]) -> io::Result<Vec<u8>> {
    let (mut r, mut w) = stream.into_split();
    let to_send = data.to_vec();
    let writer = tokio::spawn(async move {
        for piece in to_send.chunks(64 * 1024) {
            w.write_all(piece).await?;
        }
        w.shutdown().await?;
        Ok::<_, io::Error>(w)
    });
    let mut back = Vec::with_capacity(data.len());
    tokio::time::timeout(PATIENCE, r.read_to_end(&mut back))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "echo timed out"))??;
    writer.await.map_err(io::Error::other)??;
    Ok(back)
}

/// Assert two byte strings are equal without printing megabytes.
pub(crate) fn assert_same(got: &[u8], want: &[u8]) {
    if got != want {
        let first = got.iter().zip(want).position(|(a, b)| a != b);
        panic!(
            "bytes differ: got {} bytes, want {}, first difference at {:?}",
            got.len(),
            want.len(),
            first
        );
    }
}

/// Round-trip one small message through an echo connection, returning the time it took.
pub(crate) async fn ping(stream: &mut TcpStream, message: &[u8]) -> Duration {
    let start = std::time::Instant::now();
    stream.write_all(message).await.expect("write ping");
    let mut back = vec![0u8; message.len()];
    tokio::time::timeout(PATIENCE, stream.read_exact(&mut back))
        .await
        .expect("pong in time")
        .expect("read pong");
    assert_eq!(back, message);
    start.elapsed()
}

/// Read whatever arrives within `wait`; `Ok(None)` when nothing did.
pub(crate) async fn read_within(
    stream: &mut TcpStream,
    wait: Duration,
) -> io::Result<Option<Vec<u8>>> {
    let mut buf = vec![0u8; 64 * 1024];
    match tokio::time::timeout(wait, stream.read(&mut buf)).await {
        Err(_) => Ok(None),
        Ok(Ok(n)) => Ok(Some(buf[..n].to_vec())),
        Ok(Err(e)) => Err(e),
    }
}

/// Connect to `addr`, send a little and read: the proxy resets the connection right after the
/// accept, which the client sees in connect(), write() or read() depending on timing.
pub(crate) async fn expect_reset_on_connect(addr: SocketAddr) {
    let reset = |e: &io::Error| {
        matches!(
            e.kind(),
            io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
        )
    };
    match TcpStream::connect(addr).await {
        Err(e) => assert!(reset(&e), "{e:?}"),
        Ok(mut stream) => {
            let write = stream.write_all(b"hello").await;
            let read = read_within(&mut stream, PATIENCE).await;
            assert!(
                write.as_ref().is_err_and(reset) || read.as_ref().is_err_and(reset),
                "{write:?} {read:?}"
            );
        }
    }
}
