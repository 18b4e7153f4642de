//! Decoding gRPC statuses into Spark errors, and classifying them (pure, no I/O).
//!
//! Spark Connect servers (3.5 and 4.x alike) attach a `google.rpc.Status` in the
//! `grpc-status-details-bin` trailer with one `google.rpc.ErrorInfo` whose domain is
//! `org.apache.spark`, whose reason is the JVM exception class, and whose metadata carries
//! `classes`, `errorClass`, `sqlState`, `messageParameters` and (4.x) `errorId`. A status
//! without that `ErrorInfo` did not come from Spark's error handler: it is a transport
//! failure (or a gRPC-level one) and says nothing definite about the operation.

use std::collections::{BTreeMap, HashMap};

use prost::Message;

use super::error::ServerError;

/// Where in an operation's life a status was observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Answer to the first request of an operation (ExecutePlan, or a unary call).
    First,
    /// A later moment: mid-stream, or answering a ReattachExecute.
    InFlight,
}

/// What a failed call tells us about the operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StatusClass {
    /// The TCP connection was refused: the request was never sent.
    Refused,
    /// The server definitively answered with this error.
    Server(ServerError),
    /// The server says it lost track of the operation; whether it took effect is unknown.
    Lost(ServerError),
    /// A transport failure after the request may have been sent; outcome unknown.
    Transport,
}

impl StatusClass {
    /// A short name for logs.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            StatusClass::Refused => "refused",
            StatusClass::Server(_) => "server",
            StatusClass::Lost(_) => "lost",
            StatusClass::Transport => "transport",
        }
    }
}

/// Error classes meaning "the server lost track of the operation" at any phase.
const LOST_ALWAYS: &[&str] = &[
    "INVALID_CURSOR",
    "INVALID_HANDLE.OPERATION_ABANDONED",
    "OPERATION_CANCELED",
];

/// Error classes meaning "lost" once the operation may have started (on a reattach or
/// mid-stream). On the first request they are a definite rejection before execution.
const LOST_IN_FLIGHT: &[&str] = &[
    "INVALID_HANDLE.OPERATION_NOT_FOUND",
    "INVALID_HANDLE.SESSION_NOT_FOUND",
    "INVALID_HANDLE.SESSION_CHANGED",
    "INVALID_HANDLE.SESSION_CLOSED",
];

/// Classifies a failed call (see the rule in [`super::error`]).
pub(crate) fn classify(status: &tonic::Status, phase: Phase) -> StatusClass {
    if let Some(err) = decode_server_error(status) {
        let class = err.error_class.as_deref().unwrap_or("");
        let lost = has_class(class, LOST_ALWAYS)
            || (phase == Phase::InFlight && has_class(class, LOST_IN_FLIGHT));
        return if lost {
            StatusClass::Lost(err)
        } else {
            StatusClass::Server(err)
        };
    }
    if phase == Phase::First && is_connection_refused(status) {
        StatusClass::Refused
    } else {
        StatusClass::Transport
    }
}

/// Whether `class` is one of `list` or a sub-class of one (`A` matches `A.B`).
fn has_class(class: &str, list: &[&str]) -> bool {
    list.iter().any(|c| {
        class == *c
            || class
                .strip_prefix(c)
                .is_some_and(|rest| rest.starts_with('.'))
    })
}

/// Whether a mid-flight failure is worth a ReattachExecute: a transport failure, or the
/// server telling us another stream took over the cursor. Reattaching never re-executes.
pub(crate) fn is_reattachable_failure(status: &tonic::Status) -> bool {
    match decode_server_error(status) {
        Some(err) => err.error_class.as_deref() == Some("INVALID_CURSOR.DISCONNECTED"),
        None => matches!(
            status.code(),
            tonic::Code::Unavailable
                | tonic::Code::Unknown
                | tonic::Code::Internal
                | tonic::Code::Cancelled
                | tonic::Code::Aborted
                | tonic::Code::DeadlineExceeded
        ),
    }
}

/// Whether the status comes from a refused TCP connect (walks the error source chain).
pub(crate) fn is_connection_refused(status: &tonic::Status) -> bool {
    let mut source = std::error::Error::source(status);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                return true;
            }
        }
        source = s.source();
    }
    false
}

/// The Spark error in a status, if the status carries Spark's `ErrorInfo`.
pub(crate) fn decode_server_error(status: &tonic::Status) -> Option<ServerError> {
    let details = status.details();
    if details.is_empty() {
        return None;
    }
    let rpc = RpcStatus::decode(details).ok()?;
    let info = rpc
        .details
        .iter()
        .filter(|any| any.type_url.ends_with("/google.rpc.ErrorInfo"))
        .filter_map(|any| RpcErrorInfo::decode(any.value.as_slice()).ok())
        .find(|info| info.domain == "org.apache.spark")?;
    let message = if status.message().is_empty() {
        rpc.message.clone()
    } else {
        status.message().to_string()
    };
    let non_empty = |key: &str| info.metadata.get(key).filter(|v| !v.is_empty()).cloned();
    // A long parameter list makes Spark 3.5 omit `errorClass`; the message still starts
    // with `[ERROR_CLASS]`, so fall back to that.
    let error_class = non_empty("errorClass").or_else(|| class_from_message(&message));
    let message_parameters = non_empty("messageParameters")
        .and_then(|json| serde_json::from_str::<BTreeMap<String, String>>(&json).ok())
        .unwrap_or_default();
    Some(ServerError {
        code: status.code(),
        error_class,
        sql_state: non_empty("sqlState"),
        exception_class: Some(info.reason.clone()).filter(|r| !r.is_empty()),
        message_parameters,
        error_id: non_empty("errorId"),
        message,
    })
}

/// `ERROR_CLASS` from a message starting with `[ERROR_CLASS] `, or with a Java exception class
/// and then that (`org.apache.spark.SparkSQLException: [INVALID_HANDLE.SESSION_NOT_FOUND] …`,
/// as Spark 3.5 words some handle errors).
fn class_from_message(message: &str) -> Option<String> {
    let message = message.trim_start();
    let message = match message.split_once(": [") {
        Some((exception, _))
            if !message.starts_with('[') && !exception.contains(char::is_whitespace) =>
        {
            &message[exception.len() + 2..]
        }
        _ => message,
    };
    let rest = message.trim_start().strip_prefix('[')?;
    let end = rest.find(']')?;
    let class = &rest[..end];
    let valid = !class.is_empty()
        && class
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' || c == '.');
    valid.then(|| class.to_string())
}

/// `google.rpc.Status`.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct RpcStatus {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
    #[prost(message, repeated, tag = "3")]
    pub details: Vec<RpcAny>,
}

/// `google.protobuf.Any`.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct RpcAny {
    #[prost(string, tag = "1")]
    pub type_url: String,
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

/// `google.rpc.ErrorInfo`.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct RpcErrorInfo {
    #[prost(string, tag = "1")]
    pub reason: String,
    #[prost(string, tag = "2")]
    pub domain: String,
    #[prost(map = "string, string", tag = "3")]
    pub metadata: HashMap<String, String>,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A status as a Spark server would send it.
    pub(crate) fn spark_status(
        code: tonic::Code,
        message: &str,
        reason: &str,
        metadata: &[(&str, &str)],
    ) -> tonic::Status {
        let info = RpcErrorInfo {
            reason: reason.to_string(),
            domain: "org.apache.spark".to_string(),
            metadata: metadata
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        let rpc = RpcStatus {
            code: code as i32,
            message: message.to_string(),
            details: vec![RpcAny {
                type_url: "type.googleapis.com/google.rpc.ErrorInfo".to_string(),
                value: info.encode_to_vec(),
            }],
        };
        tonic::Status::with_details(code, message, rpc.encode_to_vec().into())
    }

    #[test]
    fn decodes_error_class_state_and_parameters() {
        let status = spark_status(
            tonic::Code::Internal,
            "[TABLE_OR_VIEW_NOT_FOUND] The table or view `nope` cannot be found.",
            "org.apache.spark.sql.AnalysisException",
            &[
                ("errorClass", "TABLE_OR_VIEW_NOT_FOUND"),
                ("sqlState", "42P01"),
                ("messageParameters", r#"{"relationName":"`nope`"}"#),
                ("classes", r#"["org.apache.spark.sql.AnalysisException"]"#),
            ],
        );
        let err = decode_server_error(&status).expect("spark error");
        assert_eq!(err.error_class.as_deref(), Some("TABLE_OR_VIEW_NOT_FOUND"));
        assert_eq!(err.sql_state.as_deref(), Some("42P01"));
        assert_eq!(
            err.exception_class.as_deref(),
            Some("org.apache.spark.sql.AnalysisException")
        );
        assert_eq!(err.message_parameters["relationName"], "`nope`");
        assert_eq!(
            classify(&status, Phase::First),
            StatusClass::Server(err.clone())
        );
        assert_eq!(classify(&status, Phase::InFlight), StatusClass::Server(err));
    }

    #[test]
    fn a_spark_35_handle_error_names_its_class_after_the_exception() {
        assert_eq!(
            class_from_message(
                "org.apache.spark.SparkSQLException: [INVALID_HANDLE.SESSION_NOT_FOUND] The handle 1f… is invalid."
            )
            .as_deref(),
            Some("INVALID_HANDLE.SESSION_NOT_FOUND")
        );
        assert_eq!(class_from_message("no class: [x] here"), None);
        assert_eq!(
            class_from_message("[DIVIDE_BY_ZERO] x").as_deref(),
            Some("DIVIDE_BY_ZERO")
        );
    }

    #[test]
    fn error_class_falls_back_to_the_message_prefix() {
        let status = spark_status(
            tonic::Code::Internal,
            "[DIVIDE_BY_ZERO] Division by zero.",
            "org.apache.spark.SparkArithmeticException",
            &[],
        );
        let err = decode_server_error(&status).expect("spark error");
        assert_eq!(err.error_class.as_deref(), Some("DIVIDE_BY_ZERO"));
        assert_eq!(err.sql_state, None);
        let plain = spark_status(
            tonic::Code::Internal,
            "java.lang.NullPointerException",
            "java.lang.NullPointerException",
            &[],
        );
        assert_eq!(
            decode_server_error(&plain)
                .expect("spark error")
                .error_class,
            None
        );
    }

    #[test]
    fn handle_errors_are_lost_only_once_in_flight() {
        let status = spark_status(
            tonic::Code::Internal,
            "[INVALID_HANDLE.OPERATION_NOT_FOUND] gone",
            "org.apache.spark.SparkSQLException",
            &[("errorClass", "INVALID_HANDLE.OPERATION_NOT_FOUND")],
        );
        assert!(matches!(
            classify(&status, Phase::First),
            StatusClass::Server(_)
        ));
        assert!(matches!(
            classify(&status, Phase::InFlight),
            StatusClass::Lost(_)
        ));
        let cursor = spark_status(
            tonic::Code::Internal,
            "[INVALID_CURSOR.DISCONNECTED] taken over",
            "org.apache.spark.SparkSQLException",
            &[("errorClass", "INVALID_CURSOR.DISCONNECTED")],
        );
        assert!(matches!(
            classify(&cursor, Phase::First),
            StatusClass::Lost(_)
        ));
        assert!(is_reattachable_failure(&cursor));
        assert!(!is_reattachable_failure(&status));
        assert!(!has_class("OPERATION_CANCELEDX", LOST_ALWAYS));
    }

    #[test]
    fn statuses_without_spark_error_info_are_transport_failures() {
        let unavailable = tonic::Status::unavailable("connection reset");
        assert_eq!(classify(&unavailable, Phase::First), StatusClass::Transport);
        assert!(is_reattachable_failure(&unavailable));
        // ErrorInfo from another domain is not a Spark answer.
        let info = RpcErrorInfo {
            reason: "x".into(),
            domain: "example.com".into(),
            metadata: HashMap::new(),
        };
        let rpc = RpcStatus {
            code: 14,
            message: "m".into(),
            details: vec![RpcAny {
                type_url: "type.googleapis.com/google.rpc.ErrorInfo".into(),
                value: info.encode_to_vec(),
            }],
        };
        let foreign =
            tonic::Status::with_details(tonic::Code::Unavailable, "m", rpc.encode_to_vec().into());
        assert_eq!(classify(&foreign, Phase::First), StatusClass::Transport);
        // Garbage details never panic.
        let garbage =
            tonic::Status::with_details(tonic::Code::Internal, "m", vec![0xff, 0x01, 0x02].into());
        assert_eq!(classify(&garbage, Phase::InFlight), StatusClass::Transport);
    }

    #[test]
    fn refused_connections_are_found_in_the_source_chain() {
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let status = tonic::Status::from_error(Box::new(io));
        assert!(is_connection_refused(&status));
        assert_eq!(classify(&status, Phase::First), StatusClass::Refused);
        // A refused reconnect during a reattach is not "never sent".
        assert_eq!(classify(&status, Phase::InFlight), StatusClass::Transport);
        let reset = tonic::Status::from_error(Box::new(std::io::Error::from(
            std::io::ErrorKind::ConnectionReset,
        )));
        assert!(!is_connection_refused(&reset));
    }

    #[test]
    fn class_prefix_parsing_is_strict() {
        assert_eq!(class_from_message("[A_B.C] x").as_deref(), Some("A_B.C"));
        assert_eq!(class_from_message("[not a class] x"), None);
        assert_eq!(class_from_message("no bracket"), None);
        assert_eq!(class_from_message("[] x"), None);
    }
}
