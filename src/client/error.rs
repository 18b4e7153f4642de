//! Client errors and their three-valued outcome.
//!
//! Every [`ClientError`] maps to an [`Outcome`] by one rule (see [`ClientError::outcome`]):
//!
//! * **fail** — we know the operation did not take effect, or the server definitively answered
//!   it with an error: the endpoint string was invalid, the TCP connection was *refused* before
//!   the request was written (so nothing was sent), or the server returned a Spark error
//!   (a `google.rpc.ErrorInfo` in domain `org.apache.spark`) that is not one of the
//!   "I lost track of it" classes below.
//! * **info** — we do not know: the deadline passed (even though we then sent an interrupt),
//!   the connection failed or dropped after the request may have been written (any gRPC status
//!   without a Spark `ErrorInfo`, e.g. `UNAVAILABLE` from a reset connection or a connect
//!   timeout), the server said it lost the operation mid-flight (`INVALID_HANDLE.*`
//!   on reattach, `INVALID_CURSOR.*`, `OPERATION_CANCELED` that we did not ask for), or the
//!   result could not be decoded / violated the protocol.
//!
//! Only a refused connection counts as "never sent": a connect *timeout* also means nothing
//! was sent, but it cannot be told apart reliably from a stalled established connection, so
//! it is conservatively `info`. Calling a definite outcome unknown is safe for checkers;
//! the converse would not be.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How an operation ended, as recorded in a history (Jepsen's ok / fail / info).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum Outcome {
    /// The operation completed and its result was received in full.
    Ok,
    /// The operation definitely did not succeed.
    Fail {
        /// Spark's error class (condition), e.g. `TABLE_OR_VIEW_NOT_FOUND`, when the server gave one.
        error_class: Option<String>,
        /// The SQLSTATE, e.g. `42P01`, when the server gave one.
        sql_state: Option<String>,
        /// A human-readable message.
        message: String,
    },
    /// Whether the operation took effect is unknown.
    Info {
        /// Why the outcome is unknown.
        reason: String,
    },
}

impl Outcome {
    /// The outcome of a finished client call.
    pub fn of<T>(result: &Result<T, ClientError>) -> Self {
        match result {
            Ok(_) => Self::Ok,
            Err(e) => e.outcome(),
        }
    }

    /// The lowercase name of the outcome: `ok`, `fail` or `info`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Fail { .. } => "fail",
            Self::Info { .. } => "info",
        }
    }
}

/// An error the Spark server returned, decoded from the gRPC status and its `ErrorInfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    /// The gRPC status code.
    pub code: tonic::Code,
    /// Spark's error class (condition), when the exception carried one.
    pub error_class: Option<String>,
    /// The SQLSTATE, when the exception carried one.
    pub sql_state: Option<String>,
    /// The JVM exception class (`ErrorInfo.reason`), e.g. `org.apache.spark.sql.AnalysisException`.
    pub exception_class: Option<String>,
    /// The error's message parameters, when the server sent them.
    pub message_parameters: BTreeMap<String, String>,
    /// The server-side error id (for `FetchErrorDetails`, Spark 4 only).
    pub error_id: Option<String>,
    /// The status message, which for Spark errors starts with `[ERROR_CLASS]`.
    pub message: String,
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message.trim())?;
        if let Some(state) = &self.sql_state {
            if !self.message.contains(state.as_str()) {
                write!(f, " (SQLSTATE: {state})")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ServerError {}

/// What happened to the `Interrupt` sent after a deadline passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterruptReport {
    /// The server listed the operation among the ones it interrupted.
    Confirmed,
    /// The server answered but did not list the operation (it had already finished, or had
    /// not been registered yet).
    NotListed,
    /// The interrupt itself failed or got no answer in time.
    Failed(String),
    /// Nothing was interrupted: the call was not a cancellable operation.
    NotSent,
}

impl fmt::Display for InterruptReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Confirmed => write!(f, "interrupt confirmed by the server"),
            Self::NotListed => write!(f, "interrupt sent, operation not listed as interrupted"),
            Self::Failed(why) => write!(f, "interrupt failed: {why}"),
            Self::NotSent => write!(f, "no interrupt sent"),
        }
    }
}

/// Why the endpoint string was rejected.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct EndpointError(pub(crate) String);

/// Errors of the Spark Connect client. Messages read after "failed to …".
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The endpoint string is not a usable `sc://host:port` URL (nothing was sent).
    #[error("use Spark Connect endpoint {endpoint:?}")]
    Endpoint {
        /// The endpoint as given.
        endpoint: String,
        /// What is wrong with it.
        #[source]
        source: EndpointError,
    },
    /// The server refused the TCP connection, so the request was never sent.
    #[error("{action} at {endpoint}: connection refused, nothing was sent")]
    Refused {
        /// What was being done, e.g. `run SQL operation <id>`.
        action: String,
        /// The `host:port` dialled.
        endpoint: String,
        /// The transport status.
        #[source]
        source: Box<tonic::Status>,
    },
    /// The server definitively answered with an error.
    #[error("{action}: the server answered with an error")]
    Server {
        /// What was being done.
        action: String,
        /// The decoded server error.
        #[source]
        source: Box<ServerError>,
    },
    /// The server lost track of the operation mid-flight (e.g. restarted); outcome unknown.
    #[error("{action}: the server lost track of it mid-flight, outcome unknown")]
    Lost {
        /// What was being done.
        action: String,
        /// The decoded server error.
        #[source]
        source: Box<ServerError>,
    },
    /// The connection failed after the request may have been sent; outcome unknown.
    #[error("{action}: the connection failed mid-flight, outcome unknown")]
    Transport {
        /// What was being done.
        action: String,
        /// The transport status.
        #[source]
        source: Box<tonic::Status>,
    },
    /// No result arrived before the deadline; an interrupt was sent; outcome unknown.
    #[error("{action}: no result within {budget:?}, outcome unknown ({interrupt})")]
    Deadline {
        /// What was being done.
        action: String,
        /// The time budget that ran out.
        budget: Duration,
        /// What happened to the interrupt sent afterwards.
        interrupt: InterruptReport,
    },
    /// An Arrow result batch could not be decoded; outcome unknown.
    #[error("{action}: decode an Arrow result batch")]
    Decode {
        /// What was being done.
        action: String,
        /// The Arrow error.
        #[source]
        source: arrow_schema::ArrowError,
    },
    /// The server's responses broke the protocol (e.g. rows missing); outcome unknown.
    #[error("{action}: unexpected response from the server: {detail}")]
    Protocol {
        /// What was being done.
        action: String,
        /// What was unexpected.
        detail: String,
    },
}

impl ClientError {
    /// The three-valued outcome of this error (see the module docs for the rule).
    pub fn outcome(&self) -> Outcome {
        match self {
            Self::Endpoint { source, .. } => Outcome::Fail {
                error_class: None,
                sql_state: None,
                message: format!("invalid endpoint: {source}"),
            },
            Self::Refused { endpoint, .. } => Outcome::Fail {
                error_class: None,
                sql_state: None,
                message: format!("connection to {endpoint} refused, nothing was sent"),
            },
            Self::Server { source, .. } => Outcome::Fail {
                error_class: source.error_class.clone(),
                sql_state: source.sql_state.clone(),
                message: source.to_string(),
            },
            Self::Lost { source, .. } => Outcome::Info {
                reason: format!("server lost the operation: {source}"),
            },
            Self::Transport { source, .. } => Outcome::Info {
                reason: format!("connection failed mid-flight: {}", status_summary(source)),
            },
            Self::Deadline {
                budget, interrupt, ..
            } => Outcome::Info {
                reason: format!("deadline of {budget:?} passed; {interrupt}"),
            },
            Self::Decode { source, .. } => Outcome::Info {
                reason: format!("result could not be decoded: {source}"),
            },
            Self::Protocol { detail, .. } => Outcome::Info {
                reason: format!("protocol violation: {detail}"),
            },
        }
    }

    /// Whether the outcome is known (`fail`), as opposed to unknown (`info`).
    pub fn is_definite(&self) -> bool {
        matches!(self.outcome(), Outcome::Fail { .. })
    }

    /// The server error, when the server answered with one.
    pub fn server_error(&self) -> Option<&ServerError> {
        match self {
            Self::Server { source, .. } | Self::Lost { source, .. } => Some(source),
            _ => None,
        }
    }

    /// Spark's error class, when the server answered with one.
    pub fn error_class(&self) -> Option<&str> {
        self.server_error()?.error_class.as_deref()
    }

    /// The SQLSTATE, when the server answered with one.
    pub fn sql_state(&self) -> Option<&str> {
        self.server_error()?.sql_state.as_deref()
    }
}

/// A one-line summary of a transport status including its source chain.
pub(crate) fn status_summary(status: &tonic::Status) -> String {
    let mut out = format!("{:?}: {}", status.code(), status.message());
    let mut source = std::error::Error::source(status);
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::status::tests::spark_status;
    use super::super::status::{classify, decode_server_error, Phase, StatusClass};
    use super::*;

    fn server(class: &str, state: Option<&str>) -> Box<ServerError> {
        let mut meta = vec![("errorClass", class)];
        if let Some(s) = state {
            meta.push(("sqlState", s));
        }
        let status = spark_status(
            tonic::Code::Internal,
            &format!("[{class}] boom"),
            "org.apache.spark.SparkException",
            &meta,
        );
        Box::new(decode_server_error(&status).expect("spark error"))
    }

    #[test]
    fn each_error_maps_to_one_outcome() {
        let action = || "run SQL operation x".to_string();
        let refused = ClientError::Refused {
            action: action(),
            endpoint: "127.0.0.1:1".into(),
            source: Box::new(tonic::Status::unavailable("refused")),
        };
        assert_eq!(refused.outcome().kind(), "fail");
        let rejected = ClientError::Server {
            action: action(),
            source: server("DIVIDE_BY_ZERO", Some("22012")),
        };
        assert_eq!(
            rejected.outcome(),
            Outcome::Fail {
                error_class: Some("DIVIDE_BY_ZERO".into()),
                sql_state: Some("22012".into()),
                message: "[DIVIDE_BY_ZERO] boom (SQLSTATE: 22012)".into(),
            }
        );
        assert_eq!(rejected.error_class(), Some("DIVIDE_BY_ZERO"));
        assert_eq!(rejected.sql_state(), Some("22012"));
        let unknown = [
            ClientError::Lost {
                action: action(),
                source: server("INVALID_HANDLE.OPERATION_NOT_FOUND", None),
            },
            ClientError::Transport {
                action: action(),
                source: Box::new(tonic::Status::unavailable("reset")),
            },
            ClientError::Deadline {
                action: action(),
                budget: std::time::Duration::from_secs(1),
                interrupt: InterruptReport::Confirmed,
            },
            ClientError::Protocol {
                action: action(),
                detail: "rows missing".into(),
            },
        ];
        for e in unknown {
            assert_eq!(e.outcome().kind(), "info", "{e:?}");
            assert!(!e.is_definite());
        }
        assert_eq!(Outcome::of::<()>(&Ok(())), Outcome::Ok);
    }

    #[test]
    fn messages_read_after_failed_to() {
        let e = ClientError::Deadline {
            action: "run SQL operation 42".into(),
            budget: std::time::Duration::from_secs(3),
            interrupt: InterruptReport::NotListed,
        };
        assert_eq!(
            format!("failed to {e}"),
            "failed to run SQL operation 42: no result within 3s, outcome unknown \
             (interrupt sent, operation not listed as interrupted)"
        );
    }

    #[test]
    fn outcomes_serialise_with_a_type_tag() {
        let fail = Outcome::Fail {
            error_class: Some("TABLE_OR_VIEW_NOT_FOUND".into()),
            sql_state: Some("42P01".into()),
            message: "m".into(),
        };
        let json = serde_json::to_string(&fail).expect("json");
        assert_eq!(
            json,
            r#"{"type":"fail","error_class":"TABLE_OR_VIEW_NOT_FOUND","sql_state":"42P01","message":"m"}"#
        );
        assert_eq!(serde_json::from_str::<Outcome>(&json).expect("back"), fail);
        assert_eq!(
            serde_json::to_string(&Outcome::Ok).expect("json"),
            r#"{"type":"ok"}"#
        );
        assert!(serde_json::from_str::<Outcome>(r#"{"type":"info","reason":"r","x":1}"#).is_err());
    }

    #[test]
    fn session_changed_is_definite_only_on_the_first_request() {
        let status = spark_status(
            tonic::Code::Internal,
            "[INVALID_HANDLE.SESSION_CHANGED] restarted",
            "org.apache.spark.SparkSQLException",
            &[
                ("errorClass", "INVALID_HANDLE.SESSION_CHANGED"),
                ("sqlState", "HY000"),
            ],
        );
        assert!(matches!(
            classify(&status, Phase::First),
            StatusClass::Server(_)
        ));
        assert!(matches!(
            classify(&status, Phase::InFlight),
            StatusClass::Lost(_)
        ));
    }
}
