//! A small S3 client (SigV4 via `rusty-s3`, HTTP via `reqwest`) for MinIO: bucket set-up,
//! listing what Spark wrote, and uploading data. Independent of Spark's own S3A client, so it
//! can check what really reached the store.

use std::time::Duration;

use rusty_s3::actions::{CreateBucket, HeadBucket, ListObjectsV2, PutObject, S3Action};
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
    /// A client for `bucket` at `endpoint` (`http://127.0.0.1:PORT`), path-style.
    pub fn new(
        endpoint: &str,
        bucket: &str,
        access_key: &str,
        secret_key: &str,
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
            .timeout(Duration::from_secs(30))
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
        let resp = self
            .http
            .head(head)
            .send()
            .await
            .map_err(|e| self.http_err(e))?;
        if resp.status().is_success() {
            return Ok(());
        }
        let url = CreateBucket::new(&self.bucket, &self.creds).sign(PRESIGN);
        let resp = self
            .http
            .put(url)
            .send()
            .await
            .map_err(|e| self.http_err(e))?;
        if resp.status().as_u16() == 409 {
            return Ok(()); // created meanwhile: BucketAlreadyOwnedByYou
        }
        self.check("create bucket", resp).await.map(|_| ())
    }

    /// Uploads `body` under `key`.
    pub async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), S3Error> {
        let url = PutObject::new(&self.bucket, Some(&self.creds), key).sign(PRESIGN);
        let resp = self
            .http
            .put(url)
            .body(body)
            .send()
            .await
            .map_err(|e| self.http_err(e))?;
        self.check("put object", resp).await.map(|_| ())
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
            let resp = self
                .http
                .get(url)
                .send()
                .await
                .map_err(|e| self.http_err(e))?;
            let text = self
                .check("list objects", resp)
                .await?
                .text()
                .await
                .map_err(|e| self.http_err(e))?;
            let page = ListObjectsV2::parse_response(&text).map_err(|e| S3Error::Parse {
                endpoint: self.endpoint.clone(),
                message: e.to_string(),
            })?;
            out.extend(page.contents.into_iter().map(|o| Object {
                key: o.key,
                size: o.size,
            }));
            match page.next_continuation_token {
                Some(t) => token = Some(t),
                None => return Ok(out),
            }
        }
    }
}
