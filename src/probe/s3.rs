//! A small S3 client (SigV4 via `rusty-s3`, HTTP via `reqwest`) for MinIO: bucket set-up,
//! listing what Spark wrote, uploading data, and reading, copying and deleting objects.
//! Independent of Spark's own S3A client, so it can check what really reached the store.

use std::time::Duration;

use rusty_s3::actions::{
    CreateBucket, DeleteObject, GetObject, HeadBucket, ListObjectsV2, PutObject, S3Action,
};
use rusty_s3::{Bucket, Credentials, UrlStyle};

/// Errors talking to S3.
#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    /// The endpoint or bucket name is malformed.
    #[error("build S3 request for {endpoint}: {message}")]
    Request {
        /// The endpoint.
        endpoint: String,
        /// What was wrong.
        message: String,
    },
    /// The HTTP exchange failed.
    #[error("reach S3 at {endpoint}")]
    Http {
        /// The endpoint.
        endpoint: String,
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
    /// S3 answered with an error status.
    #[error("{action} on S3 at {endpoint}: HTTP {status}: {body}")]
    Status {
        /// What was attempted.
        action: &'static str,
        /// The endpoint.
        endpoint: String,
        /// The HTTP status.
        status: u16,
        /// The start of the body (S3's XML error).
        body: String,
    },
    /// A listing could not be parsed.
    #[error("parse S3 listing from {endpoint}: {message}")]
    Parse {
        /// The endpoint.
        endpoint: String,
        /// What was wrong.
        message: String,
    },
}

/// One object of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// Its key.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
    /// `LastModified` as S3 gives it (ISO 8601, sortable as text).
    pub last_modified: String,
}

/// An S3 client bound to one endpoint, bucket and credentials.
#[derive(Debug, Clone)]
pub struct S3 {
    endpoint: String,
    bucket: Bucket,
    creds: Credentials,
    http: reqwest::Client,
}

const PRESIGN: Duration = Duration::from_secs(600);

impl S3 {
    /// A client for `bucket` at `endpoint` (`http://127.0.0.1:PORT`), path-style, whose
    /// requests time out after 30 s.
    pub fn new(
        endpoint: &str,
        bucket: &str,
        access_key: &str,
        secret_key: &str,
    ) -> Result<S3, S3Error> {
        S3::with_timeout(
            endpoint,
            bucket,
            access_key,
            secret_key,
            Duration::from_secs(30),
        )
    }

    /// [`S3::new`] with another request timeout.
    pub fn with_timeout(
        endpoint: &str,
        bucket: &str,
        access_key: &str,
        secret_key: &str,
        timeout: Duration,
    ) -> Result<S3, S3Error> {
        let req_err = |message: String| S3Error::Request {
            endpoint: endpoint.to_string(),
            message,
        };
        let url = endpoint
            .parse()
            .map_err(|e: url::ParseError| req_err(e.to_string()))?;
        let bucket = Bucket::new(url, UrlStyle::Path, bucket.to_string(), "us-east-1")
            .map_err(|e| req_err(e.to_string()))?;
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| S3Error::Http {
                endpoint: endpoint.to_string(),
                source: e,
            })?;
        Ok(S3 {
            endpoint: endpoint.to_string(),
            bucket,
            creds: Credentials::new(access_key, secret_key),
            http,
        })
    }

    fn http_err(&self, source: reqwest::Error) -> S3Error {
        S3Error::Http {
            endpoint: self.endpoint.clone(),
            source,
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, S3Error> {
        request.send().await.map_err(|e| self.http_err(e))
    }

    async fn check(
        &self,
        action: &'static str,
        resp: reqwest::Response,
    ) -> Result<reqwest::Response, S3Error> {
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status().as_u16();
        let body: String = resp
            .text()
            .await
            .unwrap_or_default()
            .chars()
            .take(300)
            .collect();
        Err(S3Error::Status {
            action,
            endpoint: self.endpoint.clone(),
            status,
            body,
        })
    }

    /// Creates the bucket unless it exists.
    pub async fn ensure_bucket(&self) -> Result<(), S3Error> {
        let head = HeadBucket::new(&self.bucket, Some(&self.creds)).sign(PRESIGN);
        let resp = self.send(self.http.head(head)).await?;
        if resp.status().is_success() {
            return Ok(());
        }
        let url = CreateBucket::new(&self.bucket, &self.creds).sign(PRESIGN);
        let resp = self.send(self.http.put(url)).await?;
        if resp.status().as_u16() == 409 {
            return Ok(()); // created meanwhile: BucketAlreadyOwnedByYou
        }
        self.check("create bucket", resp).await.map(|_| ())
    }

    /// Sends `request` for `action`; an error status is an error.
    async fn call(
        &self,
        action: &'static str,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, S3Error> {
        let resp = self.send(request).await?;
        self.check(action, resp).await
    }

    /// Sends `request` for `action` and reads the whole body.
    async fn fetch(
        &self,
        action: &'static str,
        request: reqwest::RequestBuilder,
    ) -> Result<Vec<u8>, S3Error> {
        let body = self.call(action, request).await?.bytes().await;
        body.map(|b| b.to_vec()).map_err(|e| self.http_err(e))
    }

    /// Uploads `body` under `key`.
    pub async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), S3Error> {
        let url = PutObject::new(&self.bucket, Some(&self.creds), key).sign(PRESIGN);
        self.call("put object", self.http.put(url).body(body))
            .await
            .map(|_| ())
    }

    /// Every object under `prefix` (all pages).
    pub async fn list(&self, prefix: &str) -> Result<Vec<Object>, S3Error> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut action = ListObjectsV2::new(&self.bucket, Some(&self.creds));
            action.with_prefix(prefix);
            if let Some(t) = &token {
                action.with_continuation_token(t.clone());
            }
            let url = action.sign(PRESIGN);
            let body = self.fetch("list objects", self.http.get(url)).await?;
            let page = ListObjectsV2::parse_response(&body).map_err(|e| S3Error::Parse {
                endpoint: self.endpoint.clone(),
                message: e.to_string(),
            })?;
            out.extend(page.contents.into_iter().map(|o| Object {
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
    pub async fn get(&self, key: &str) -> Result<Vec<u8>, S3Error> {
        let url = GetObject::new(&self.bucket, Some(&self.creds), key).sign(PRESIGN);
        self.fetch("get object", self.http.get(url)).await
    }

    /// Copies one object (read, then write); returns its size.
    pub async fn copy(&self, from: &str, to: &str) -> Result<u64, S3Error> {
        let bytes = self.get(from).await?;
        let n = bytes.len() as u64;
        self.put(to, bytes).await?;
        Ok(n)
    }

    /// Deletes one object (deleting a missing object succeeds).
    pub async fn delete(&self, key: &str) -> Result<(), S3Error> {
        let url = DeleteObject::new(&self.bucket, Some(&self.creds), key).sign(PRESIGN);
        self.call("delete object", self.http.delete(url))
            .await
            .map(|_| ())
    }

    /// Deletes every object under `prefix`; returns how many.
    pub async fn delete_prefix(&self, prefix: &str) -> Result<usize, S3Error> {
        let objects = self.list(prefix).await?;
        for o in &objects {
            self.delete(&o.key).await?;
        }
        Ok(objects.len())
    }

    /// Makes sure a "directory" prefix (`3.5/events/`) still exists after objects under it
    /// were deleted: puts the empty directory marker back when nothing is left. Spark's event
    /// log writer refuses to start when its directory is missing, and S3A with Hadoop 3.3
    /// deletes the marker `env up` created as soon as a file is written under it.
    pub async fn keep_dir(&self, prefix: &str) -> Result<(), S3Error> {
        if self.list(prefix).await?.is_empty() {
            self.put(prefix, Vec::new()).await?;
        }
        Ok(())
    }
}
