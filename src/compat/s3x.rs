//! The S3 calls compat needs beyond [`crate::probe::s3`]: listing with modification times,
//! reading, copying (get + put) and deleting objects under scratch prefixes.

use std::time::Duration;

use rusty_s3::actions::{DeleteObject, GetObject, ListObjectsV2, PutObject, S3Action};
use rusty_s3::{Bucket, Credentials, UrlStyle};

use super::endpoints::EnvEndpoints;

const PRESIGN: Duration = Duration::from_secs(600);

/// One object of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Obj {
    /// Its key.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
    /// `LastModified` as S3 gives it (ISO 8601, sortable as text).
    pub last_modified: String,
}

/// An S3 client for the environment's bucket.
pub(crate) struct S3x {
    endpoint: String,
    bucket: Bucket,
    creds: Credentials,
    http: reqwest::Client,
}

impl S3x {
    /// A client for the environment's bucket.
    pub fn new(env: &EnvEndpoints) -> Result<Self, String> {
        let url = env
            .s3_endpoint
            .parse()
            .map_err(|e: url::ParseError| format!("S3 endpoint {}: {e}", env.s3_endpoint))?;
        let bucket = Bucket::new(url, UrlStyle::Path, env.bucket.clone(), "us-east-1")
            .map_err(|e| format!("S3 bucket {}: {e}", env.bucket))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| format!("build HTTP client: {e}"))?;
        Ok(Self {
            endpoint: env.s3_endpoint.clone(),
            bucket,
            creds: Credentials::new(&env.s3_access_key, &env.s3_secret_key),
            http,
        })
    }

    async fn send(
        &self,
        what: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, String> {
        let resp = request
            .send()
            .await
            .map_err(|e| format!("{what} at {}: {e}", self.endpoint))?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status().as_u16();
        let body: String = resp
            .text()
            .await
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect();
        Err(format!(
            "{what} at {}: HTTP {status}: {body}",
            self.endpoint
        ))
    }

    /// Every object under `prefix`.
    pub async fn list(&self, prefix: &str) -> Result<Vec<Obj>, String> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut action = ListObjectsV2::new(&self.bucket, Some(&self.creds));
            action.with_prefix(prefix);
            if let Some(t) = &token {
                action.with_continuation_token(t.clone());
            }
            let url = action.sign(PRESIGN);
            let text = self
                .send(&format!("list {prefix}"), self.http.get(url))
                .await?
                .text()
                .await
                .map_err(|e| format!("list {prefix}: {e}"))?;
            let page = ListObjectsV2::parse_response(&text)
                .map_err(|e| format!("parse the listing of {prefix}: {e}"))?;
            out.extend(page.contents.into_iter().map(|o| Obj {
                key: o.key,
                size: o.size,
                last_modified: o.last_modified,
            }));
            match page.next_continuation_token {
                Some(t) => token = Some(t),
                None => return Ok(out),
            }
        }
    }

    /// The bytes of one object.
    pub async fn get(&self, key: &str) -> Result<Vec<u8>, String> {
        let url = GetObject::new(&self.bucket, Some(&self.creds), key).sign(PRESIGN);
        let resp = self.send(&format!("get {key}"), self.http.get(url)).await?;
        resp.bytes()
            .await
            .map(|b| b.to_vec())
            .map_err(|e| format!("get {key}: {e}"))
    }

    /// Writes one object.
    pub async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), String> {
        let url = PutObject::new(&self.bucket, Some(&self.creds), key).sign(PRESIGN);
        self.send(&format!("put {key}"), self.http.put(url).body(body))
            .await
            .map(|_| ())
    }

    /// Copies one object (read, then write).
    pub async fn copy(&self, from: &str, to: &str) -> Result<u64, String> {
        let bytes = self.get(from).await?;
        let n = bytes.len() as u64;
        self.put(to, bytes).await?;
        Ok(n)
    }

    /// Deletes one object (deleting a missing object succeeds).
    pub async fn delete(&self, key: &str) -> Result<(), String> {
        let url = DeleteObject::new(&self.bucket, Some(&self.creds), key).sign(PRESIGN);
        self.send(&format!("delete {key}"), self.http.delete(url))
            .await
            .map(|_| ())
    }

    /// Makes sure a "directory" prefix (`3.5/events/`) still exists after objects under it
    /// were deleted: puts the empty directory marker back when nothing is left. Spark's event
    /// log writer refuses to start when its directory is missing, and S3A with Hadoop 3.3
    /// deletes the marker `env up` created as soon as a file is written under it.
    pub async fn keep_dir(&self, prefix: &str) -> Result<(), String> {
        if self.list(prefix).await?.is_empty() {
            self.put(prefix, Vec::new()).await?;
        }
        Ok(())
    }

    /// Deletes every object under `prefix`; returns how many.
    pub async fn delete_prefix(&self, prefix: &str) -> Result<usize, String> {
        let objects = self.list(prefix).await?;
        for o in &objects {
            self.delete(&o.key).await?;
        }
        Ok(objects.len())
    }
}
