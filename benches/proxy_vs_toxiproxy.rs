//! Side by side: direct loopback, Toxiproxy v2.5.0 and our proxy on the three workloads of
//! issue 17, with interleaved runs and medians.
//!
//! - `bulk`: 1 GiB written over one connection to a sink that acknowledges it (MiB/s).
//! - `ping`: 1 KiB ping-pong with an echo server over one connection (p50 of 2000, µs).
//! - `conns`: 200 connections at once, each doing 100 1 KiB ping-pongs (wall time, s).
//!
//! Paths: `direct` (no proxy), `toxiproxy` (v2.5.0, built once into the cache by
//! `tools/toxiproxy.sh` when Go is installed), `ours` (our proxy, no fault: the zero-copy path
//! on Linux) and `ours+toxic` (our proxy with a 0 ms `latency` toxic on both flows, which forces
//! every byte through the toxic path). Both proxies run in their own process — ours is this
//! binary re-executed, on a 2-worker tokio runtime like the supervisor's — and one
//! client/server program (blocking threads, `TCP_NODELAY`) drives every path. Each round runs
//! every path once, in a rotating order, so machine noise spreads over all of them; the table
//! shows medians and ratios of medians, and the median of per-round ratios follows it.
//!
//! ```text
//! cargo bench --bench proxy_vs_toxiproxy
//! BENCH_ROUNDS=7 BENCH_BULK_MIB=1024 cargo bench --bench proxy_vs_toxiproxy
//! TOXIPROXY_SERVER=/path/to/toxiproxy-server cargo bench --bench proxy_vs_toxiproxy
//! ```
//!
//! Nothing downloaded is written inside the repository: Toxiproxy lives in the cache
//! (`~/.cache/spark-chaos/tools/toxiproxy-2.5.0`, or under `CHAOS_CACHE_DIR`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use spark_chaos::fault::proxy::{Direction, LatencySpec, Proxy, ToxicSpec};

const PING: usize = 1024;
const PINGS: usize = 2000;
const WARMUP: usize = 200;
const CONNS: usize = 200;
const CONN_PINGS: usize = 100;
const ACK: &[u8] = b"ACK!";
const ROLE: &str = "CHAOS_BENCH_ROLE";

fn main() {
    if std::env::var(ROLE).as_deref() == Ok("proxy") {
        proxy_process();
        return;
    }
    let rounds = env_usize("BENCH_ROUNDS", 5);
    let bulk_mib = env_usize("BENCH_BULK_MIB", 1024);
    let bulk = bulk_mib * 1024 * 1024;

    let sink = sink_server(bulk);
    let echo = echo_server();
    let ours = OurProxy::start(&[sink, echo], false);
    let ours_toxic = OurProxy::start(&[sink, echo], true);
    let toxiproxy = Toxiproxy::start(&[sink, echo]);

    let mut paths: Vec<(&str, SocketAddr, SocketAddr)> = vec![
        ("direct", sink, echo),
        ("ours", ours.addrs[0], ours.addrs[1]),
        ("ours+toxic", ours_toxic.addrs[0], ours_toxic.addrs[1]),
    ];
    if let Some(t) = &toxiproxy {
        paths.insert(1, ("toxiproxy", t.addrs[0], t.addrs[1]));
    }
    println!(
        "proxy_vs_toxiproxy: {rounds} rounds, bulk {bulk_mib} MiB, ping {PING} B x {PINGS}, \
         {CONNS} conns x {CONN_PINGS} pings"
    );

    let mut results: Vec<[Vec<f64>; 3]> = paths.iter().map(|_| Default::default()).collect();
    for round in 0..rounds {
        for k in 0..paths.len() {
            let i = (k + round) % paths.len();
            let (name, sink, echo) = paths[i];
            let mbs = bulk_mib as f64 / bulk_run(sink, bulk).as_secs_f64();
            let p50 = ping_run(echo);
            let secs = conns_run(echo).as_secs_f64();
            println!(
                "round {round} {name:<11} bulk {mbs:8.0} MiB/s   ping p50 {p50:7.1} µs   \
                 conns {secs:6.3} s"
            );
            results[i][0].push(mbs);
            results[i][1].push(p50);
            results[i][2].push(secs);
        }
    }

    let med: Vec<[f64; 3]> = results
        .iter()
        .map(|r| [median(&r[0]), median(&r[1]), median(&r[2])])
        .collect();
    let find = |name: &str| paths.iter().position(|p| p.0 == name);
    let (d, o) = (find("direct").unwrap_or(0), find("ours").unwrap_or(0));
    let t = find("toxiproxy");

    println!();
    print!("| workload |");
    for (name, _, _) in &paths {
        print!(" {name} |");
    }
    println!(" ours / toxiproxy | ours / direct |");
    print!("|---|");
    for _ in &paths {
        print!("---|");
    }
    println!("---|---|");
    let labels = [
        format!("{bulk_mib} MiB over one connection, MiB/s"),
        format!("{PING} B ping-pong, p50 µs"),
        format!("{CONNS} conns x {CONN_PINGS} ping-pongs, s"),
    ];
    for (w, label) in labels.iter().enumerate() {
        print!("| {label} |");
        for m in &med {
            print!(" {} |", fmt(m[w]));
        }
        match t {
            Some(t) => print!(" {:.2}x |", med[o][w] / med[t][w]),
            None => print!(" n/a |"),
        }
        println!(" {:.2} |", med[o][w] / med[d][w]);
    }
    // Paired ratios: the same round's runs are closest in time, so the median of per-round
    // ratios is less shaken by load that comes and goes than the ratio of medians.
    println!();
    let paired = |a: usize, b: usize, w: usize| {
        let ratios: Vec<f64> = results[a][w]
            .iter()
            .zip(&results[b][w])
            .map(|(x, y)| x / y)
            .collect();
        median(&ratios)
    };
    for (w, label) in labels.iter().enumerate() {
        let vs_toxiproxy = t.map_or("n/a".to_string(), |t| format!("{:.2}x", paired(o, t, w)));
        println!(
            "paired (median of per-round ratios), {label}: ours / toxiproxy {vs_toxiproxy}, \
             ours / direct {:.2}",
            paired(o, d, w)
        );
    }
    println!();
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    let tput = med[o][0] / med[d][0];
    println!(
        "goal: no-fault throughput >= 80% of direct: {:.0}% -> {}",
        tput * 100.0,
        verdict(tput >= 0.8)
    );
    match t {
        Some(t) => {
            let x = med[o][0] / med[t][0];
            println!(
                "goal: no-fault throughput >= 3x Toxiproxy's: {x:.2}x -> {}",
                verdict(x >= 3.0)
            );
            let r = med[o][1] / med[t][1];
            println!(
                "goal: 1 KiB p50 round trip <= 1/2 of Toxiproxy's: {r:.2} -> {}",
                verdict(r <= 0.5)
            );
        }
        None => println!("goals against Toxiproxy: NOT MEASURED (no Go, see above)"),
    }
    drop(ours);
    drop(ours_toxic);
    drop(toxiproxy);
}

fn fmt(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    stream
}

/// A server that acknowledges every `bulk` bytes it reads with `ACK!`.
fn sink_server(bulk: usize) -> SocketAddr {
    let listener = TcpListener::bind(loopback()).expect("bind sink");
    let addr = listener.local_addr().expect("addr");
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || {
                let mut stream = stream;
                let _ = stream.set_nodelay(true);
                let mut buf = vec![0u8; 256 * 1024];
                let mut left = bulk;
                loop {
                    match stream.read(&mut buf[..left.min(256 * 1024)]) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => left -= n,
                    }
                    if left == 0 {
                        if stream.write_all(ACK).is_err() {
                            return;
                        }
                        left = bulk;
                    }
                }
            });
        }
    });
    addr
}

/// An echo server, one thread per connection.
fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind(loopback()).expect("bind echo");
    let addr = listener.local_addr().expect("addr");
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || {
                let mut stream = stream;
                let _ = stream.set_nodelay(true);
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            if stream.write_all(&buf[..n]).is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    addr
}

/// Send `bulk` bytes and wait for the acknowledgement.
fn bulk_run(sink: SocketAddr, bulk: usize) -> Duration {
    let data = vec![0x5au8; 1024 * 1024];
    let mut stream = connect(sink);
    let start = Instant::now();
    let mut left = bulk;
    while left > 0 {
        let n = left.min(data.len());
        stream.write_all(&data[..n]).expect("write bulk");
        left -= n;
    }
    let mut ack = [0u8; 4];
    stream.read_exact(&mut ack).expect("ack");
    assert_eq!(&ack, ACK);
    start.elapsed()
}

fn ping(stream: &mut TcpStream, message: &[u8], back: &mut [u8]) {
    stream.write_all(message).expect("ping");
    stream.read_exact(back).expect("pong");
}

/// The p50 round trip of 1 KiB messages over one connection, in µs.
fn ping_run(echo: SocketAddr) -> f64 {
    let message = vec![0xa5u8; PING];
    let mut back = vec![0u8; PING];
    let mut stream = connect(echo);
    for _ in 0..WARMUP {
        ping(&mut stream, &message, &mut back);
    }
    let mut times = Vec::with_capacity(PINGS);
    for _ in 0..PINGS {
        let start = Instant::now();
        ping(&mut stream, &message, &mut back);
        times.push(start.elapsed().as_secs_f64() * 1e6);
    }
    assert_eq!(back, message);
    median(&times)
}

/// `CONNS` connections at once, each connecting and doing `CONN_PINGS` ping-pongs.
fn conns_run(echo: SocketAddr) -> Duration {
    let barrier = Arc::new(Barrier::new(CONNS + 1));
    let threads: Vec<_> = (0..CONNS)
        .map(|_| {
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                let message = vec![0x3cu8; PING];
                let mut back = vec![0u8; PING];
                barrier.wait();
                let mut stream = connect(echo);
                for _ in 0..CONN_PINGS {
                    ping(&mut stream, &message, &mut back);
                }
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    for t in threads {
        t.join().expect("client thread");
    }
    start.elapsed()
}

/// Our proxy in a child process (this binary, re-executed).
struct OurProxy {
    child: Child,
    addrs: Vec<SocketAddr>,
}

impl OurProxy {
    fn start(upstreams: &[SocketAddr], toxic: bool) -> OurProxy {
        let list: Vec<String> = upstreams.iter().map(|a| a.to_string()).collect();
        let mut child = Command::new(std::env::current_exe().expect("current exe"))
            .env(ROLE, "proxy")
            .env("CHAOS_BENCH_UPSTREAMS", list.join(","))
            .env("CHAOS_BENCH_TOXIC", if toxic { "latency0" } else { "" })
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn our proxy");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let addrs = upstreams
            .iter()
            .map(|_| {
                lines
                    .next()
                    .expect("proxy address")
                    .expect("read proxy address")
                    .parse()
                    .expect("proxy address")
            })
            .collect();
        OurProxy { child, addrs }
    }
}

impl Drop for OurProxy {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// The child: one proxy per upstream, on a runtime like the supervisor's, until stdin closes.
fn proxy_process() {
    let upstreams: Vec<SocketAddr> = std::env::var("CHAOS_BENCH_UPSTREAMS")
        .expect("upstreams")
        .split(',')
        .map(|a| a.parse().expect("upstream address"))
        .collect();
    let toxic = std::env::var("CHAOS_BENCH_TOXIC").as_deref() == Ok("latency0");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        let mut handles = Vec::new();
        for (i, upstream) in upstreams.into_iter().enumerate() {
            let proxy = Proxy::start(format!("bench-{i}"), loopback(), upstream)
                .await
                .expect("start proxy");
            if toxic {
                proxy
                    .add(ToxicSpec::Latency(LatencySpec {
                        direction: Direction::Both,
                        probability: 1.0,
                        latency_ms: 0,
                        jitter_ms: 0,
                    }))
                    .await
                    .expect("add toxic");
            }
            println!("{}", proxy.local_addr());
            handles.push(proxy);
        }
        // Until the parent closes our stdin.
        tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
        })
        .await
        .expect("stdin");
        for proxy in handles {
            proxy.shutdown().await;
        }
    });
}

/// Toxiproxy in a child process, one proxy per upstream, created through its HTTP API.
struct Toxiproxy {
    child: Child,
    addrs: Vec<SocketAddr>,
}

impl Toxiproxy {
    /// `None` (said loudly) when Go is missing or the build failed.
    fn start(upstreams: &[SocketAddr]) -> Option<Toxiproxy> {
        let bin = match std::env::var("TOXIPROXY_SERVER") {
            Ok(bin) if !bin.is_empty() => bin,
            _ => {
                let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tools/toxiproxy.sh");
                let out = Command::new(script)
                    .stderr(Stdio::inherit())
                    .output()
                    .expect("run tools/toxiproxy.sh");
                if !out.status.success() {
                    let why = if out.status.code() == Some(3) {
                        "Go is not installed"
                    } else {
                        "building it failed"
                    };
                    eprintln!();
                    eprintln!(
                        "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
                    );
                    eprintln!("!!! Toxiproxy is NOT measured: {why}.");
                    eprintln!("!!! Measuring direct and ours only; no ratio to Toxiproxy.");
                    eprintln!(
                        "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
                    );
                    eprintln!();
                    return None;
                }
                String::from_utf8(out.stdout)
                    .expect("utf-8 path")
                    .trim()
                    .to_string()
            }
        };
        let port = TcpListener::bind(loopback())
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let api = SocketAddr::from(([127, 0, 0, 1], port));
        let child = Command::new(&bin)
            .args(["-host", "127.0.0.1", "-port", &port.to_string()])
            .env("LOG_LEVEL", "error")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn toxiproxy-server");
        let mut toxiproxy = Toxiproxy {
            child,
            addrs: Vec::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(api).is_err() {
            assert!(Instant::now() < deadline, "toxiproxy-server did not start");
            thread::sleep(Duration::from_millis(50));
        }
        for (i, upstream) in upstreams.iter().enumerate() {
            let body = format!(
                r#"{{"name":"bench-{i}","listen":"127.0.0.1:0","upstream":"{upstream}","enabled":true}}"#
            );
            let answer = http_post(api, "/proxies", &body);
            let listen = json_string(&answer, "listen").expect("listen address in answer");
            toxiproxy
                .addrs
                .push(listen.parse().expect("toxiproxy listen address"));
        }
        println!("toxiproxy: {bin}");
        Some(toxiproxy)
    }
}

impl Drop for Toxiproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http_post(addr: SocketAddr, path: &str, body: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect toxiproxy api");
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write request");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read answer");
    assert!(
        answer.starts_with("HTTP/1.1 2"),
        "toxiproxy api said: {answer}"
    );
    answer
}

/// The string value of `"key":"…"` in a flat JSON answer.
fn json_string(text: &str, key: &str) -> Option<String> {
    let at = text.find(&format!("\"{key}\":\""))? + key.len() + 4;
    let end = text[at..].find('"')?;
    Some(text[at..at + end].to_string())
}
