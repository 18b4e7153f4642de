//! The HTTP mode against a tiny keep-alive HTTP/1.1 server written here (independent of the
//! proxy's own parser), with reqwest and with a raw socket as clients.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use super::support::*;
use crate::fault::proxy::{
    Proxy, ProxyHandle, S3ErrorCode, S3ErrorSpec, S3LatencySpec, S3TruncateSpec, ToxicSpec,
};

/// FNV-1a, to compare bodies without shipping them back.
fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The body the server sends for a GET of `path` (size from `?size=N`, default 10 000).
fn object(path_and_query: &str) -> Vec<u8> {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let size = query
        .strip_prefix("size=")
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    pattern(fnv(path.as_bytes()), size)
}

struct HttpServer {
    inner: Server,
    /// Requests the server received (complete, body included).
    requests: Arc<AtomicU64>,
}

/// A keep-alive HTTP/1.1 server: GET/HEAD return `object(target)`; PUT/POST read the body
/// (Content-Length or chunked, answering `Expect: 100-continue`) and return its length and
/// checksum in headers.
async fn http_server() -> HttpServer {
    let listener = TcpListener::bind(any_port()).await.expect("bind http");
    let addr = listener.local_addr().expect("addr");
    let requests = Arc::new(AtomicU64::new(0));
    let count = requests.clone();
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let count = count.clone();
            tokio::spawn(async move {
                let _ = serve_http(stream, count).await;
            });
        }
    });
    HttpServer {
        inner: Server { addr, task },
        requests,
    }
}

async fn read_head(
    r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
) -> std::io::Result<Option<(String, HashMap<String, String>)>> {
    let mut start = String::new();
    if r.read_line(&mut start).await? == 0 {
        return Ok(None);
    }
    let mut headers = HashMap::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line).await?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    Ok(Some((start.trim_end().to_owned(), headers)))
}

async fn read_body(
    r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    headers: &HashMap<String, String>,
) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    if headers
        .get("transfer-encoding")
        .is_some_and(|te| te.eq_ignore_ascii_case("chunked"))
    {
        loop {
            let mut line = String::new();
            r.read_line(&mut line).await?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(std::io::Error::other)?;
            if size == 0 {
                let mut end = String::new();
                r.read_line(&mut end).await?;
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            r.read_exact(&mut body[start..]).await?;
            let mut crlf = [0u8; 2];
            r.read_exact(&mut crlf).await?;
        }
    } else if let Some(n) = headers.get("content-length") {
        let n: usize = n.parse().map_err(std::io::Error::other)?;
        body.resize(n, 0);
        r.read_exact(&mut body).await?;
    }
    Ok(body)
}

async fn serve_http(stream: TcpStream, count: Arc<AtomicU64>) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    while let Some((start, headers)) = read_head(&mut r).await? {
        let mut parts = start.split(' ');
        let method = parts.next().unwrap_or("").to_owned();
        let target = parts.next().unwrap_or("/").to_owned();
        let has_body =
            headers.contains_key("content-length") || headers.contains_key("transfer-encoding");
        if has_body
            && headers
                .get("expect")
                .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
        {
            w.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
        }
        let body = read_body(&mut r, &headers).await?;
        count.fetch_add(1, Ordering::SeqCst);
        match method.as_str() {
            "GET" | "HEAD" => {
                let object = object(&target);
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
                    object.len()
                );
                w.write_all(head.as_bytes()).await?;
                if method == "GET" {
                    w.write_all(&object).await?;
                }
            }
            _ => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\nx-received-bytes: {}\r\nx-received-sum: {}\r\nContent-Length: 0\r\n\r\n",
                    body.len(),
                    fnv(&body)
                );
                w.write_all(head.as_bytes()).await?;
            }
        }
        if headers
            .get("connection")
            .is_some_and(|c| c.eq_ignore_ascii_case("close"))
        {
            break;
        }
    }
    w.shutdown().await
}

/// A response as a raw client reads it.
#[derive(Debug)]
struct Response {
    status: u16,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

/// Read one response (Content-Length bodies; none for HEAD).
async fn read_response(
    r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    head_request: bool,
) -> Response {
    let (start, headers) = tokio::time::timeout(PATIENCE, read_head(r))
        .await
        .expect("response in time")
        .expect("read head")
        .expect("a response, not EOF");
    let status = start
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let body = if head_request || (100..200).contains(&status) {
        Vec::new()
    } else {
        read_body(r, &headers).await.expect("body")
    };
    Response {
        status,
        headers,
        body,
    }
}

async fn http_proxy(upstream: SocketAddr) -> ProxyHandle {
    Proxy::start_http("s3-test", any_port(), upstream)
        .await
        .expect("start http proxy")
}

fn raw(
    stream: TcpStream,
) -> (
    BufReader<tokio::net::tcp::OwnedReadHalf>,
    tokio::net::tcp::OwnedWriteHalf,
) {
    let (r, w) = stream.into_split();
    (BufReader::new(r), w)
}

fn is_s3_error(body: &[u8], code: &str) -> bool {
    let text = String::from_utf8_lossy(body);
    text.starts_with("<?xml") && text.contains(&format!("<Error><Code>{code}</Code>"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_down_on_a_fifth_of_gets_to_a_prefix_keeps_one_keep_alive_connection() {
    let server = http_server().await;
    let proxy = http_proxy(server.inner.addr).await;
    proxy
        .add(ToxicSpec::S3Error(S3ErrorSpec {
            method: Some("GET".into()),
            path_prefix: "/chaos/3.5/".into(),
            fraction: 0.2,
            code: S3ErrorCode::SlowDown,
        }))
        .await
        .expect("add");
    let client = reqwest::Client::new();
    let base = format!("http://{}", proxy.local_addr());
    let mut errors = 0u64;
    const N: u64 = 400;
    for i in 0..N {
        let path = format!("/chaos/3.5/part-{i}");
        let resp = client
            .get(format!("{base}{path}?size=3000"))
            .send()
            .await
            .expect("response");
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = resp.bytes().await.expect("body");
        match status {
            503 => {
                errors += 1;
                assert_eq!(content_type, "application/xml");
                assert!(is_s3_error(&body, "SlowDown"), "{body:?}");
            }
            200 => assert_same(&body, &object(&format!("{path}?size=3000"))),
            other => panic!("unexpected status {other}"),
        }
    }
    // Binomial(400, 0.2): mean 80, sd 8.
    assert!((40..=120).contains(&errors), "{errors} errors of {N}");

    // Other prefixes and other methods are left alone.
    for i in 0..30 {
        let resp = client
            .get(format!("{base}/chaos/4.1/part-{i}"))
            .send()
            .await
            .expect("response");
        assert_eq!(resp.status(), 200);
        resp.bytes().await.expect("body");
        let resp = client
            .put(format!("{base}/chaos/3.5/put-{i}"))
            .body(pattern(i, 5000))
            .send()
            .await
            .expect("response");
        assert_eq!(resp.status(), 200);
        assert_eq!(
            resp.headers()["x-received-sum"],
            fnv(&pattern(i, 5000)).to_string().as_str()
        );
    }
    assert_eq!(server.requests.load(Ordering::SeqCst), N - errors + 60);
    let stats = proxy.stats();
    assert_eq!(stats.http.answered, errors);
    assert_eq!(stats.http.requests, N + 60);
    // Keep-alive survives the injected errors: the proxy closed nothing, and the client's
    // pool needed only a connection or two (hyper may open a second one while returning the
    // first to its pool) for 460 requests.
    assert_eq!((stats.connections_reset, stats.connections_closed), (0, 0));
    assert!(stats.connections_accepted <= 3, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answered_put_bodies_are_skipped_and_the_connection_stays_usable() {
    let server = http_server().await;
    let proxy = http_proxy(server.inner.addr).await;
    proxy
        .add(ToxicSpec::S3Error(S3ErrorSpec {
            method: Some("PUT".into()),
            path_prefix: "/b/".into(),
            fraction: 1.0,
            code: S3ErrorCode::InternalError,
        }))
        .await
        .expect("add");
    let (mut r, mut w) = raw(connect(proxy.local_addr()).await);
    let body = pattern(20, 100_000);
    let mut request = b"PUT /b/key HTTP/1.1\r\nHost: s3\r\nContent-Length: 100000\r\n\r\n".to_vec();
    request.extend_from_slice(&body);
    request.extend_from_slice(b"HEAD /b/key?size=77 HTTP/1.1\r\nHost: s3\r\n\r\n");
    request.extend_from_slice(
        b"PUT /b/chunked HTTP/1.1\r\nHost: s3\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    for piece in body.chunks(7_000) {
        request.extend_from_slice(format!("{:x};ext=1\r\n", piece.len()).as_bytes());
        request.extend_from_slice(piece);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\nx-trailer: 1\r\n\r\n");
    request.extend_from_slice(b"GET /b/key?size=5 HTTP/1.1\r\nHost: s3\r\n\r\n");
    // Written in odd pieces so that heads and chunk lines straddle reads.
    for piece in request.chunks(4_099) {
        w.write_all(piece).await.expect("write");
    }

    let first = read_response(&mut r, false).await;
    assert_eq!(first.status, 500);
    assert!(is_s3_error(&first.body, "InternalError"));
    let head = read_response(&mut r, true).await;
    assert_eq!(
        (head.status, head.headers["content-length"].as_str()),
        (200, "77")
    );
    let second = read_response(&mut r, false).await;
    assert_eq!(second.status, 500);
    let get = read_response(&mut r, false).await;
    assert_eq!(get.status, 200);
    assert_same(&get.body, &object("/b/key?size=5"));
    assert_eq!(
        server.requests.load(Ordering::SeqCst),
        2,
        "PUTs never reached the server"
    );
    let stats = proxy.stats();
    assert!(stats.upstream.bytes_discarded >= 200_000, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answered_expect_continue_put_gets_the_error_then_the_connection_closes() {
    let server = http_server().await;
    let proxy = http_proxy(server.inner.addr).await;
    proxy
        .add(ToxicSpec::S3Error(S3ErrorSpec {
            method: None,
            path_prefix: "/".into(),
            fraction: 1.0,
            code: S3ErrorCode::SlowDown,
        }))
        .await
        .expect("add");
    let (mut r, mut w) = raw(connect(proxy.local_addr()).await);
    w.write_all(
        b"PUT /b/k HTTP/1.1\r\nHost: s3\r\nContent-Length: 50000\r\nExpect: 100-continue\r\n\r\n",
    )
    .await
    .expect("write head");
    let resp = read_response(&mut r, false).await;
    assert_eq!(resp.status, 503);
    assert_eq!(resp.headers["connection"], "close");
    assert!(is_s3_error(&resp.body, "SlowDown"));
    // A client may still send the body; the proxy swallows it and closes.
    let _ = w.write_all(&pattern(21, 50_000)).await;
    let _ = w.shutdown().await;
    let mut rest = Vec::new();
    let end = tokio::time::timeout(PATIENCE, r.read_to_end(&mut rest)).await;
    assert!(matches!(end, Ok(Ok(0))), "{end:?} {rest:?}");
    assert_eq!(server.requests.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_expect_continue_puts_and_large_bodies_stream_exactly() {
    let server = http_server().await;
    let proxy = http_proxy(server.inner.addr).await;
    // An active toxic that does not match keeps every request on the decision path.
    proxy
        .add(ToxicSpec::S3Error(S3ErrorSpec {
            method: Some("DELETE".into()),
            path_prefix: "/".into(),
            fraction: 1.0,
            code: S3ErrorCode::AccessDenied,
        }))
        .await
        .expect("add");
    let (mut r, mut w) = raw(connect(proxy.local_addr()).await);
    let body = pattern(22, 10 * 1024 * 1024);
    w.write_all(
        format!(
            "PUT /b/big HTTP/1.1\r\nHost: s3\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .expect("head");
    let interim = read_response(&mut r, false).await;
    assert_eq!(interim.status, 100);
    w.write_all(&body).await.expect("body");
    let done = read_response(&mut r, false).await;
    assert_eq!(done.status, 200);
    assert_eq!(done.headers["x-received-bytes"], body.len().to_string());
    assert_eq!(done.headers["x-received-sum"], fnv(&body).to_string());

    w.write_all(b"GET /b/big?size=10485760 HTTP/1.1\r\nHost: s3\r\n\r\n")
        .await
        .expect("get");
    let get = read_response(&mut r, false).await;
    assert_same(&get.body, &object("/b/big?size=10485760"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncation_sends_the_original_length_then_a_short_body_and_closes() {
    let server = http_server().await;
    let proxy = http_proxy(server.inner.addr).await;
    let id = proxy
        .add(ToxicSpec::S3Truncate(S3TruncateSpec {
            path_prefix: "/b/".into(),
            fraction: 1.0,
            keep_fraction: 0.5,
        }))
        .await
        .expect("add");
    let (mut r, mut w) = raw(connect(proxy.local_addr()).await);
    w.write_all(b"GET /b/obj?size=10000 HTTP/1.1\r\nHost: s3\r\n\r\n")
        .await
        .expect("get");
    let (start, headers) = read_head(&mut r).await.expect("head").expect("some");
    assert!(start.starts_with("HTTP/1.1 200"), "{start}");
    assert_eq!(headers["content-length"], "10000");
    let mut body = Vec::new();
    tokio::time::timeout(PATIENCE, r.read_to_end(&mut body))
        .await
        .expect("closed in time")
        .expect("clean close");
    assert_same(&body, &object("/b/obj?size=10000")[..5000]);

    // A real client sees an incomplete body.
    let client = reqwest::Client::new();
    let resp = client
        .get(format!("http://{}/b/obj", proxy.local_addr()))
        .send()
        .await
        .expect("head arrives");
    assert!(
        resp.bytes().await.is_err(),
        "the short body must be an error"
    );

    proxy.remove(id).await.expect("heal");
    let whole = client
        .get(format!("http://{}/b/obj", proxy.local_addr()))
        .send()
        .await
        .expect("response")
        .bytes()
        .await
        .expect("whole body");
    assert_same(&whole, &object("/b/obj"));
    assert_eq!(proxy.stats().http.truncated, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_latency_holds_only_matching_requests() {
    let server = http_server().await;
    let proxy = http_proxy(server.inner.addr).await;
    proxy
        .add(ToxicSpec::S3Latency(S3LatencySpec {
            method: Some("GET".into()),
            path_prefix: "/slow/".into(),
            fraction: 1.0,
            latency_ms: 2000,
        }))
        .await
        .expect("add");
    let client = reqwest::Client::new();
    let base = format!("http://{}", proxy.local_addr());
    for _ in 0..3 {
        let start = Instant::now();
        let body = client
            .get(format!("{base}/slow/x"))
            .send()
            .await
            .expect("slow")
            .bytes()
            .await
            .expect("body");
        assert!(
            start.elapsed() >= Duration::from_millis(2000),
            "{:?}",
            start.elapsed()
        );
        assert_same(&body, &object("/slow/x"));
        let start = Instant::now();
        client
            .get(format!("{base}/fast/x"))
            .send()
            .await
            .expect("fast");
        // Not held: far below the 2 s a held request waits, even on a loaded machine.
        assert!(
            start.elapsed() < Duration::from_millis(1000),
            "{:?}",
            start.elapsed()
        );
    }
    assert_eq!(proxy.stats().http.held, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traffic_that_is_not_http_passes_untouched_in_http_mode() {
    let echo = echo_server().await;
    let proxy = http_proxy(echo.addr).await;
    proxy
        .add(ToxicSpec::S3Error(S3ErrorSpec {
            method: None,
            path_prefix: "/".into(),
            fraction: 1.0,
            code: S3ErrorCode::SlowDown,
        }))
        .await
        .expect("add");
    let data = pattern(23, 1024 * 1024);
    let back = echo_through(connect(proxy.local_addr()).await, &data)
        .await
        .expect("echo");
    assert_same(&back, &data);
    assert_eq!(proxy.stats().http.unframed_connections, 1);
}

/// Against a real MinIO, when one is given: `CHAOS_TEST_MINIO=127.0.0.1:PORT cargo test --lib
/// fault::proxy -- --ignored`. Uses only unauthenticated requests (the health endpoint and
/// MinIO's own anonymous-access errors), so it needs no credentials.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a running MinIO named by CHAOS_TEST_MINIO"]
async fn a_real_minio_through_the_http_proxy() {
    let Ok(addr) = std::env::var("CHAOS_TEST_MINIO") else {
        panic!("set CHAOS_TEST_MINIO=127.0.0.1:PORT to run this test");
    };
    let addr: SocketAddr = addr.parse().expect("CHAOS_TEST_MINIO is host:port");
    let proxy = http_proxy(addr).await;
    let base = format!("http://{}", proxy.local_addr());
    let client = reqwest::Client::new();
    for _ in 0..3 {
        let live = client
            .get(format!("{base}/minio/health/live"))
            .send()
            .await
            .expect("health");
        assert_eq!(live.status(), 200);
        // MinIO's own S3 error for an anonymous request, framed and passed through.
        let anonymous = client
            .get(format!("{base}/chaos/no-such-object"))
            .send()
            .await
            .expect("anonymous");
        assert!(
            anonymous.status().is_client_error(),
            "{}",
            anonymous.status()
        );
        let body = anonymous.bytes().await.expect("body");
        assert!(
            String::from_utf8_lossy(&body).contains("<Error><Code>"),
            "{body:?}"
        );
    }
    let id = proxy
        .add(ToxicSpec::S3Error(S3ErrorSpec {
            method: Some("GET".into()),
            path_prefix: "/minio/health/".into(),
            fraction: 1.0,
            code: S3ErrorCode::SlowDown,
        }))
        .await
        .expect("add");
    let slowed = client
        .get(format!("{base}/minio/health/live"))
        .send()
        .await
        .expect("answered");
    assert_eq!(slowed.status(), 503);
    assert!(is_s3_error(
        &slowed.bytes().await.expect("body"),
        "SlowDown"
    ));
    proxy.remove(id).await.expect("heal");
    let live = client
        .get(format!("{base}/minio/health/live"))
        .send()
        .await
        .expect("health");
    assert_eq!(live.status(), 200);
    let stats = proxy.stats();
    assert_eq!(
        (stats.connections_reset, stats.http.unframed_connections),
        (0, 0)
    );
}
