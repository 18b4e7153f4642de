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
}

/// Runs an agent job.
pub fn run(command: AgentCommand) -> Result<(), Failure> {
    match command {
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
