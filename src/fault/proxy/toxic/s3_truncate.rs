//! `s3-truncate`: for a `fraction` of the matching GETs (drawn per request) the response head is
//! forwarded unchanged, original `Content-Length` included, then only `keep_fraction` of the
//! body (always at least one byte short), then the proxy closes the connection (FIN), so the
//! client sees a premature end of body. Only 2xx responses with a `Content-Length` above zero
//! are cut (S3 GETs always carry one). Heal: later responses are whole.

use serde::{Deserialize, Serialize};

use super::s3_error::root;
use super::{check_match, draw, request_matches, HttpEffect, HttpToxic};
use crate::fault::proxy::http::RequestHead;
use crate::fault::proxy::spec::check_unit;

/// Parameters of the `s3-truncate` toxic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3TruncateSpec {
    /// Only GETs whose path starts with this (default `/`).
    #[serde(default = "root")]
    pub path_prefix: String,
    /// The share of matching GETs to cut, drawn per request.
    pub fraction: f64,
    /// The share of the body delivered before the cut (default 0.5; from 0, only the head, to
    /// just under 1, all but the last byte).
    #[serde(default = "half")]
    pub keep_fraction: f64,
}

fn half() -> f64 {
    0.5
}

impl S3TruncateSpec {
    pub(crate) fn validate(&self) -> Result<(), String> {
        check_unit("fraction", self.fraction)?;
        check_unit("keep_fraction", self.keep_fraction)?;
        check_match(None, &self.path_prefix)
    }
}

impl HttpToxic for S3TruncateSpec {
    fn decide(&self, head: &RequestHead) -> Option<HttpEffect> {
        (request_matches(Some("GET"), &self.path_prefix, head) && draw(self.fraction))
            .then_some(HttpEffect::Truncate(self.keep_fraction))
    }
}
