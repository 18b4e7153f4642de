//! `s3-latency`: a `fraction` of the matching requests (drawn per request) is held for
//! `latency_ms` before the proxy forwards it (head and body), so the response comes that much
//! later. Unlike `latency` it hits whole requests, by method and path, and leaves other
//! requests on the same link alone (except those behind a held one on the same connection,
//! as HTTP/1.1 is in order). Heal: requests already held keep their hold; later ones are not held.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::s3_error::root;
use super::{check_match, draw, request_matches, HttpEffect, HttpToxic};
use crate::fault::proxy::http::RequestHead;
use crate::fault::proxy::spec::check_unit;

/// Parameters of the `s3-latency` toxic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3LatencySpec {
    /// Only requests with this method; all methods when absent.
    #[serde(default)]
    pub method: Option<String>,
    /// Only requests whose path starts with this (default `/`).
    #[serde(default = "root")]
    pub path_prefix: String,
    /// The share of matching requests to hold, drawn per request.
    pub fraction: f64,
    /// How long to hold a request, in milliseconds.
    pub latency_ms: u64,
}

impl S3LatencySpec {
    pub(crate) fn validate(&self) -> Result<(), String> {
        check_unit("fraction", self.fraction)?;
        check_match(self.method.as_deref(), &self.path_prefix)
    }
}

impl HttpToxic for S3LatencySpec {
    fn decide(&self, head: &RequestHead) -> Option<HttpEffect> {
        (request_matches(self.method.as_deref(), &self.path_prefix, head) && draw(self.fraction))
            .then_some(HttpEffect::Hold(Duration::from_millis(self.latency_ms)))
    }
}
