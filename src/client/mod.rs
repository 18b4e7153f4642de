//! The Spark Connect client layer: SQL in; Arrow batches, checksums and outcomes out.
//!
//! One [`Session`] per worker talks gRPC to one Spark Connect server (3.5.7 or 4.1.0) through
//! Apache's generated Spark Connect stubs (`apache-spark-connect-proto`), with
//! `apache-spark-connect-core` used for endpoint parsing. The higher-level
//! `SparkConnectClient` of that crate is deliberately not used: it converts transport errors
//! to strings (so a refused connection cannot be told from a dropped one), retries calls on
//! its own for up to an hour, and re-sends `ExecutePlan` on some failures — each of which
//! would blur the ok / fail / info line this harness exists to draw.
//!
//! - [`session`]: [`Session`], [`SessionOptions`], [`Deadline`]; unary calls (version,
//!   confs, interrupts).
//! - [`execute`]: [`Session::sql`] and [`Session::sql_summary`] — `ExecutePlan` with a root
//!   `Sql` relation, reattach, deadline → `Interrupt`, Arrow IPC decoding.
//! - [`checksum`]: the canonical value encoding and the two result checksums (pure).
//! - [`error`]: [`ClientError`] and the [`Outcome`] rule; `status` decodes Spark's
//!   `ErrorInfo` and classifies gRPC statuses (pure).
//! - [`result`]: [`QueryResult`] (pretty table, rows as strings) and [`ResultSummary`].
//!
//! # Differences between the servers (checked live against 3.5.7 and 4.1.0)
//!
//! - **Errors.** 4.1 puts `errorClass`, `sqlState`, `messageParameters` and `errorId` in the
//!   `ErrorInfo`; 3.5.7 sends only `classes` (the JVM exception hierarchy). On 3.5 the error
//!   class is therefore read from the message's `[ERROR_CLASS]` prefix and there is **no
//!   SQLSTATE** (`sql_state` is `None`; it is not guessed from a registry of another version).
//! - **Server restarts.** 4.1 reports a server-side session id in every response; sending it
//!   back makes a restarted server reject the next request with
//!   `INVALID_HANDLE.SESSION_CHANGED` (definite `fail`, nothing ran), after which the session
//!   adopts the new server session and sets its remembered confs again. 3.5 has no such id: a
//!   restart under an idle session is invisible and the next operation silently runs in a
//!   fresh server session (temp views and session confs gone). See [`Session::set_conf`].
//! - **Session calls.** 3.5 has no `ReleaseSession` (`UNIMPLEMENTED`, which
//!   [`Session::close`] accepts) and no `FetchErrorDetails`.
//! - **Result stream.** 4.1 numbers Arrow batches (`start_offset`), checked against the rows
//!   received so far. Both send at least one Arrow batch, so a 0-row result keeps its schema;
//!   DDL and DML through a root `Sql` relation return one batch with no columns.
//! - **Same on both.** Reattachable execution (including the server ending a stream early on
//!   `spark.connect.execute.reattachable.senderMaxStream{Size,Duration}`), `Interrupt` by
//!   operation id, Arrow types (`DECIMAL` → `Decimal128`, `TIMESTAMP` → `Timestamp(µs, zone)`,
//!   `TIMESTAMP_NTZ` → `Timestamp(µs)`, `DATE` → `Date32`), and the checksums of equal results.
//! - **Outside the client** (for the platform): 3.5.7 has no
//!   `spark.connect.grpc.binding.address` and listens on all interfaces; 4.1 honours it.
//!
//! # Invariants
//!
//! - `ExecutePlan` is sent at most once per operation; resuming uses `ReattachExecute` only.
//! - Nothing here panics on server input; malformed responses become [`ClientError::Protocol`]
//!   or [`ClientError::Decode`] (outcome `info`).

pub mod checksum;
pub mod error;
pub mod execute;
mod ids;
pub mod result;
pub mod session;
mod status;

#[cfg(test)]
mod live_tests;

pub use checksum::{ChecksumOptions, Checksummer, ResultChecksum};
pub use error::{ClientError, InterruptReport, Outcome, ServerError};
pub use result::{ExecutionInfo, QueryResult, ResultSummary};
pub use session::{Deadline, Session, SessionOptions};
