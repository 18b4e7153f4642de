//! `chaos agent …`: small jobs the harness's image runs inside a cluster (not for direct use).

use std::time::{Duration, Instant};

use clap::Subcommand;

use super::Failure;
use crate::probe::s3::S3;

/// `agent` subcommands.
#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Make the bucket and its directory prefixes once S3 answers (the spark-base chart's
    /// post-install hook). Credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
    S3Prepare {
        /// The S3 endpoint, e.g. `http://spark-base-minio:9000`.
        #[arg(long)]
        endpoint: String,
        /// The bucket.
        #[arg(long)]
        bucket: String,
        /// A directory prefix to make, e.g. `4.1/events` (repeatable).
        #[arg(long)]
        prefix: Vec<String>,
        /// How long to keep trying while S3 does not answer.
        #[arg(long, value_parser = humantime::parse_duration, default_value = "5m")]
        wait: Duration,
    },
    /// Run the fault proxy in front of S3 (a line chart's `s3-proxy` Deployment): one
    /// HTTP-mode proxy per `--listen LINK=PORT` on every address, forwarding to `--upstream`;
    /// toxics are added and removed through the control channel on 127.0.0.1.
    Proxy {
        /// A link and its port, e.g. `s3=9000` (repeatable).
        #[arg(long, required = true)]
        listen: Vec<String>,
        /// Where to forward to (`host:port`; the name is resolved once, retried until `wait`).
        #[arg(long)]
        upstream: String,
        /// The control channel's port on 127.0.0.1.
        #[arg(long, default_value_t = 9100)]
        control: u16,
        /// How long to keep trying to resolve the upstream.
        #[arg(long, value_parser = humantime::parse_duration, default_value = "5m")]
        wait: Duration,
    },
    /// Send one request (JSON: `{"op":"add","key":…,"link":…,"toxic":{…}}`, `{"op":"remove",
    /// "key":…}` or `{"op":"list"}`) to the proxy agent in this pod; print its JSON reply.
    /// A non-zero exit when the agent did not do it.
    Toxic {
        /// The request.
        request: String,
        /// The control channel's port on 127.0.0.1.
        #[arg(long, default_value_t = 9100)]
        control: u16,
    },
}

/// Runs an agent job.
pub fn run(command: AgentCommand) -> Result<(), Failure> {
    match command {
        AgentCommand::Proxy {
            listen,
            upstream,
            control,
            wait,
        } => proxy(&listen, &upstream, control, wait),
        AgentCommand::Toxic { request, control } => toxic(&request, control),
        AgentCommand::S3Prepare {
            endpoint,
            bucket,
            prefix,
            wait,
        } => {
            let key = |name: &str| {
                std::env::var(name).map_err(|_| {
                    Failure::usage(anyhow::anyhow!(
                        "{name} is not set: the S3 credentials come from the environment"
                    ))
                })
            };
            let (access, secret) = (key("AWS_ACCESS_KEY_ID")?, key("AWS_SECRET_ACCESS_KEY")?);
            let rt = tokio::runtime::Runtime::new().map_err(Failure::env)?;
            let deadline = Instant::now() + wait;
            rt.block_on(async {
                loop {
                    // A fresh client (and connection pool) for every attempt: on kind, a
                    // connection opened while MinIO was still starting kept answering 404 to
                    // every bucket request, long after a new connection succeeded at once.
                    let s3 = S3::new(&endpoint, &bucket, &access, &secret).map_err(Failure::env)?;
                    match prepare(&s3, &prefix).await {
                        Ok(()) => break Ok(()),
                        Err(e) if Instant::now() < deadline => {
                            eprintln!("S3 at {endpoint} not ready ({e}); retrying");
                            tokio::time::sleep(Duration::from_secs(2)).await;
                        }
                        Err(e) => break Err(Failure::env(e)),
                    }
                }
            })?;
            println!("bucket {bucket} ready with {}", prefix.join(", "));
            Ok(())
        }
    }
}

async fn prepare(s3: &S3, prefixes: &[String]) -> Result<(), crate::probe::s3::S3Error> {
    s3.ensure_bucket().await?;
    for p in prefixes {
        s3.keep_dir(&format!("{}/", p.trim_end_matches('/')))
            .await?;
    }
    Ok(())
}

fn proxy(listen: &[String], upstream: &str, control: u16, wait: Duration) -> Result<(), Failure> {
    use crate::fault::proxy::control::Agent;
    use crate::fault::proxy::{Proxy, ProxyOptions};
    use std::collections::BTreeMap;
    use std::net::SocketAddr;

    let mut links = Vec::new();
    for l in listen {
        let (link, port) = l
            .split_once('=')
            .and_then(|(k, p)| Some((k.to_string(), p.parse::<u16>().ok()?)))
            .ok_or_else(|| {
                Failure::usage(anyhow::anyhow!(
                    "--listen `{l}`: write LINK=PORT, e.g. s3=9000"
                ))
            })?;
        links.push((link, port));
    }
    let rt = tokio::runtime::Runtime::new().map_err(Failure::env)?;
    rt.block_on(async {
        let deadline = Instant::now() + wait;
        let target: SocketAddr = loop {
            match tokio::net::lookup_host(upstream)
                .await
                .map(|mut a| a.next())
            {
                Ok(Some(a)) => break a,
                other if Instant::now() >= deadline => {
                    return Err(Failure::env(anyhow::anyhow!(
                        "resolve {upstream}: {}",
                        match other {
                            Err(e) => e.to_string(),
                            _ => "no address".into(),
                        }
                    )))
                }
                _ => tokio::time::sleep(Duration::from_secs(1)).await,
            }
        };
        let mut proxies = BTreeMap::new();
        for (link, port) in links {
            let opts =
                ProxyOptions::new(link.clone(), SocketAddr::from(([0, 0, 0, 0], port)), target)
                    .http()
                    .any_address();
            let p = Proxy::start_with(opts).await.map_err(Failure::env)?;
            println!("link {link}: 0.0.0.0:{port} → {upstream} ({target})");
            proxies.insert(link, p);
        }
        let channel = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], control)))
            .await
            .map_err(Failure::env)?;
        println!("control channel on 127.0.0.1:{control}");
        let serving = tokio::spawn(Agent::new(proxies).serve(channel));
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(Failure::env)?;
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        serving.abort();
        println!("stopping");
        Ok(())
    })
}

fn toxic(request: &str, control: u16) -> Result<(), Failure> {
    use crate::fault::proxy::control::{self, ControlRequest};

    let req: ControlRequest = serde_json::from_str(request)
        .map_err(|e| Failure::usage(anyhow::anyhow!("the request `{request}`: {e}")))?;
    let rt = tokio::runtime::Runtime::new().map_err(Failure::env)?;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], control));
    let reply = rt
        .block_on(control::request(addr, &req))
        .map_err(|e| Failure::env(anyhow::anyhow!("the proxy agent on {addr}: {e}")))?;
    println!("{}", serde_json::to_string(&reply).map_err(Failure::env)?);
    if reply.ok {
        Ok(())
    } else {
        Err(Failure::env(anyhow::anyhow!(
            "{}",
            reply.error.unwrap_or_else(|| "refused".into())
        )))
    }
}
