//! `s3-error`: a `fraction` of the matching requests (drawn per request) is answered by the
//! proxy with an S3 XML error instead of being forwarded; the server never sees them. The
//! request body is read and discarded so keep-alive stays consistent, or the connection is
//! closed after the error when that cannot be done safely (see the HTTP mode in the module
//! documentation). Heal: later requests are forwarded.

use serde::{Deserialize, Serialize};

use super::{check_match, draw, request_matches, HttpEffect, HttpToxic};
use crate::fault::proxy::http::RequestHead;
use crate::fault::proxy::spec::check_unit;

/// The S3 errors the proxy can answer with (S3's own codes, status lines and messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum S3ErrorCode {
    /// `503 Slow Down`: S3's throttling answer; S3A and the AWS SDKs back off and retry.
    #[default]
    SlowDown,
    /// `503 Service Unavailable`.
    ServiceUnavailable,
    /// `500 Internal Server Error` with code `InternalError`; retried by the SDKs.
    InternalError,
    /// `403 Forbidden` with code `AccessDenied`; not retried.
    AccessDenied,
}

impl S3ErrorCode {
    /// The HTTP status code.
    pub fn status(self) -> u16 {
        match self {
            S3ErrorCode::SlowDown | S3ErrorCode::ServiceUnavailable => 503,
            S3ErrorCode::InternalError => 500,
            S3ErrorCode::AccessDenied => 403,
        }
    }

    /// The reason phrase of the status line.
    pub fn reason(self) -> &'static str {
        match self {
            S3ErrorCode::SlowDown => "Slow Down",
            S3ErrorCode::ServiceUnavailable => "Service Unavailable",
            S3ErrorCode::InternalError => "Internal Server Error",
            S3ErrorCode::AccessDenied => "Forbidden",
        }
    }

    /// The `<Code>` of the XML body.
    pub fn code(self) -> &'static str {
        match self {
            S3ErrorCode::SlowDown => "SlowDown",
            S3ErrorCode::ServiceUnavailable => "ServiceUnavailable",
            S3ErrorCode::InternalError => "InternalError",
            S3ErrorCode::AccessDenied => "AccessDenied",
        }
    }

    /// The `<Message>` of the XML body.
    pub fn message(self) -> &'static str {
        match self {
            S3ErrorCode::SlowDown => "Please reduce your request rate.",
            S3ErrorCode::ServiceUnavailable => "Service is unable to handle request.",
            S3ErrorCode::InternalError => "We encountered an internal error. Please try again.",
            S3ErrorCode::AccessDenied => "Access Denied",
        }
    }
}

/// Parameters of the `s3-error` toxic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3ErrorSpec {
    /// Only requests with this method (e.g. `GET`, `PUT`, `HEAD`); all methods when absent.
    #[serde(default)]
    pub method: Option<String>,
    /// Only requests whose path starts with this (path-style: `/bucket/prefix/`; default `/`).
    #[serde(default = "root")]
    pub path_prefix: String,
    /// The share of matching requests to answer with the error, drawn per request.
    pub fraction: f64,
    /// The error (default `SlowDown`).
    #[serde(default)]
    pub code: S3ErrorCode,
}

pub(crate) fn root() -> String {
    "/".to_owned()
}

impl S3ErrorSpec {
    pub(crate) fn validate(&self) -> Result<(), String> {
        check_unit("fraction", self.fraction)?;
        check_match(self.method.as_deref(), &self.path_prefix)
    }
}

impl HttpToxic for S3ErrorSpec {
    fn decide(&self, head: &RequestHead) -> Option<HttpEffect> {
        (request_matches(self.method.as_deref(), &self.path_prefix, head) && draw(self.fraction))
            .then_some(HttpEffect::Answer(self.code))
    }
}
