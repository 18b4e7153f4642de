//! Running SQL through `ExecutePlan`, with reattach, deadlines and Arrow decoding.
//!
//! The statement is sent as the root relation of the plan (`Plan { root: Relation { sql } }`),
//! in one `ExecutePlan` call for queries, DDL and DML alike. The server parses it and builds a
//! `Dataset`, which runs commands (CREATE, INSERT, …) eagerly, exactly once, and returns their
//! output (often no columns) as the result; queries stream their rows as Arrow IPC batches.
//! (pyspark instead sends a `SqlCommand` and then collects the relation it gets back: two
//! round trips per query.)
//!
//! With reattachable execution (default; Spark 3.5.0+), a stream that breaks is resumed with
//! `ReattachExecute` after the last response id received: the server never executes the
//! operation twice. `ExecutePlan` itself is never re-sent, so an operation whose first
//! request failed after it may have reached the server ends `info`, not retried.

use std::io::Cursor;
use std::sync::Arc;
use std::time::Duration;

use arrow_array::RecordBatch;
use arrow_ipc::reader::StreamReader;
use arrow_schema::{Schema, SchemaRef};
use spark_connect_proto as pb;
use tonic::Streaming;
use tracing::Instrument;

use super::checksum::{ChecksumOptions, Checksummer};
use super::error::ClientError;
use super::ids::uuid_v4;
use super::result::{ExecutionInfo, QueryResult, ResultSummary};
use super::session::{Deadline, Inner, Session};
use super::status::{is_reattachable_failure, Phase};

/// What the streaming loop hands back besides the batches.
struct RunStats {
    schema: SchemaRef,
    batches: u64,
    arrow_bytes: u64,
    info: ExecutionInfo,
}

impl Session {
    /// Runs one SQL statement (query, DDL or DML) and collects its whole result.
    ///
    /// If `deadline` passes first, the operation is interrupted on the server and the error
    /// is [`ClientError::Deadline`] (outcome `info`).
    pub async fn sql(
        &self,
        query: &str,
        deadline: impl Into<Deadline>,
    ) -> Result<QueryResult, ClientError> {
        let mut batches = Vec::new();
        let stats = self
            .execute_sql(query, deadline.into(), &mut |b| batches.push(b))
            .await?;
        Ok(QueryResult {
            schema: stats.schema,
            batches,
            info: stats.info,
        })
    }

    /// Runs one SQL statement keeping no rows: returns the row count and the result's
    /// order-independent and order-dependent checksums (see [`super::checksum`]).
    pub async fn sql_summary(
        &self,
        query: &str,
        deadline: impl Into<Deadline>,
        options: ChecksumOptions,
    ) -> Result<ResultSummary, ClientError> {
        let mut checksummer = Checksummer::new(options);
        let stats = self
            .execute_sql(query, deadline.into(), &mut |b| checksummer.add_batch(&b))
            .await?;
        Ok(ResultSummary {
            schema: stats.schema,
            checksum: checksummer.finish(),
            batches: stats.batches,
            arrow_bytes: stats.arrow_bytes,
            info: stats.info,
        })
    }

    async fn execute_sql(
        &self,
        query: &str,
        deadline: Deadline,
        sink: &mut (dyn FnMut(RecordBatch) + Send),
    ) -> Result<RunStats, ClientError> {
        let inner = &self.inner;
        let operation_id = uuid_v4();
        let action = format!("run SQL operation {operation_id}");
        let mut guard = AbandonGuard {
            inner,
            operation_id: &operation_id,
            armed: true,
        };
        // Every event of the operation, tonic's included, carries these fields.
        let span = tracing::debug_span!(
            "sql",
            endpoint = %inner.endpoint,
            session_id = %inner.session_id,
            version = inner.version(),
            operation_id = %operation_id,
        );
        let started = std::time::Instant::now();
        let run = async {
            inner.resync_confs(deadline).await?;
            run_stream(inner, query, &operation_id, &action, sink).await
        };
        let result =
            tokio::time::timeout_at(deadline.instant(), run.instrument(span.clone())).await;
        guard.armed = false;
        async {
            match result {
                Ok(result) => {
                    match &result {
                        Ok(stats) => tracing::debug!(
                            elapsed = ?started.elapsed(),
                            batches = stats.batches,
                            arrow_bytes = stats.arrow_bytes,
                            reattaches = stats.info.reattaches,
                            "operation complete"
                        ),
                        Err(e) => tracing::debug!(
                            elapsed = ?started.elapsed(),
                            outcome = e.outcome().kind(),
                            error = %e,
                            "operation failed"
                        ),
                    }
                    let may_exist = !matches!(
                        result,
                        Err(ClientError::Refused { .. } | ClientError::Endpoint { .. })
                    );
                    if inner.opts.reattachable && may_exist {
                        inner.spawn_release(&operation_id);
                    }
                    result
                }
                Err(_elapsed) => {
                    tracing::debug!(
                        budget = ?deadline.budget(),
                        "deadline passed: interrupting the operation"
                    );
                    let interrupt = inner.interrupt_operation(&operation_id).await;
                    if inner.opts.reattachable {
                        inner.spawn_release(&operation_id);
                    }
                    Err(ClientError::Deadline {
                        action,
                        budget: deadline.budget(),
                        interrupt,
                    })
                }
            }
        }
        .instrument(span)
        .await
    }
}

/// Interrupts the operation in the background if its future is dropped mid-flight.
struct AbandonGuard<'a> {
    inner: &'a Arc<Inner>,
    operation_id: &'a str,
    armed: bool,
}

impl Drop for AbandonGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.inner.spawn_abandon(self.operation_id);
        }
    }
}

/// A plan whose root relation is the SQL statement `query`.
pub(crate) fn sql_plan(query: &str) -> pb::Plan {
    pb::Plan {
        op_type: Some(pb::plan::OpType::Root(pb::Relation {
            common: None,
            rel_type: Some(pb::relation::RelType::Sql(pb::Sql {
                query: query.to_string(),
                ..Default::default()
            })),
        })),
    }
}

async fn run_stream(
    inner: &Arc<Inner>,
    query: &str,
    operation_id: &str,
    action: &str,
    sink: &mut (dyn FnMut(RecordBatch) + Send),
) -> Result<RunStats, ClientError> {
    let reattachable = inner.opts.reattachable;
    let request_options = if reattachable {
        vec![pb::execute_plan_request::RequestOption {
            request_option: Some(
                pb::execute_plan_request::request_option::RequestOption::ReattachOptions(
                    pb::ReattachOptions { reattachable: true },
                ),
            ),
        }]
    } else {
        Vec::new()
    };
    let request = pb::ExecutePlanRequest {
        session_id: inner.session_id.clone(),
        client_observed_server_side_session_id: inner.observed(),
        user_context: Some(inner.user_context()),
        operation_id: Some(operation_id.to_string()),
        plan: Some(sql_plan(query)),
        client_type: Some(inner.opts.client_type.clone()),
        request_options,
        tags: Vec::new(),
    };
    tracing::debug!(query = %brief(query), reattachable, "ExecutePlan");
    tracing::trace!(query, "ExecutePlan (full statement)");
    let mut stub = inner.stub();
    let mut stream = match stub.execute_plan(inner.request(request)).await {
        Ok(response) => response.into_inner(),
        Err(status) => return Err(inner.error_from_status(action, status, Phase::First)),
    };
    let mut state = StreamState::new(action, operation_id);
    let mut failures = 0u32;
    loop {
        match stream.message().await {
            Ok(Some(response)) => {
                failures = 0;
                state.on_response(inner, response, sink)?;
                if state.complete {
                    break;
                }
            }
            Ok(None) if !reattachable => break,
            // The server ends a reattachable stream early on purpose (its
            // senderMaxStreamDuration / senderMaxStreamSize): continue where it stopped.
            Ok(None) => {
                tracing::debug!(
                    responses = state.responses,
                    "the server ended the stream before the result was complete: reattaching"
                );
                stream = reattach(inner, &mut state, &mut failures, None).await?;
            }
            Err(status) if reattachable && is_reattachable_failure(&status) => {
                tracing::debug!(
                    responses = state.responses,
                    code = ?status.code(),
                    status = %status.message(),
                    "stream broken: reattaching"
                );
                stream = reattach(inner, &mut state, &mut failures, Some(status)).await?;
            }
            Err(status) => {
                // Before any response and reattach, a Spark error is the server's answer to
                // the ExecutePlan itself (gRPC sends an early error as trailers only).
                let phase = if state.responses == 0 && state.reattaches == 0 {
                    Phase::First
                } else {
                    Phase::InFlight
                };
                return Err(inner.error_from_status(action, status, phase));
            }
        }
    }
    Ok(state.finish())
}

/// Resumes an operation's stream with `ReattachExecute`, backing off after failures.
async fn reattach(
    inner: &Arc<Inner>,
    state: &mut StreamState,
    failures: &mut u32,
    mut cause: Option<tonic::Status>,
) -> Result<Streaming<pb::ExecutePlanResponse>, ClientError> {
    loop {
        if let Some(status) = cause.take() {
            if *failures >= inner.opts.max_reattach_attempts {
                tracing::debug!(
                    failures = *failures,
                    code = ?status.code(),
                    status = %status.message(),
                    "giving up reattaching"
                );
                return Err(ClientError::Transport {
                    action: format!(
                        "{} (gave up after {} reattach attempts)",
                        state.action, failures
                    ),
                    source: Box::new(status),
                });
            }
            let wait = backoff(*failures);
            tracing::debug!(
                failures = *failures,
                backoff = ?wait,
                code = ?status.code(),
                status = %status.message(),
                "ReattachExecute failed: retrying after back-off"
            );
            tokio::time::sleep(wait).await;
            *failures += 1;
        }
        let request = pb::ReattachExecuteRequest {
            session_id: inner.session_id.clone(),
            client_observed_server_side_session_id: inner.observed(),
            user_context: Some(inner.user_context()),
            operation_id: state.operation_id.clone(),
            client_type: Some(inner.opts.client_type.clone()),
            last_response_id: state.last_response_id.clone(),
        };
        tracing::debug!(
            last_response_id = state.last_response_id.as_deref().unwrap_or(""),
            reattaches = state.reattaches,
            "ReattachExecute"
        );
        let mut stub = inner.stub();
        match stub.reattach_execute(inner.request(request)).await {
            Ok(response) => {
                state.reattaches += 1;
                return Ok(response.into_inner());
            }
            Err(status) if is_reattachable_failure(&status) => cause = Some(status),
            Err(status) => {
                return Err(inner.error_from_status(&state.action, status, Phase::InFlight))
            }
        }
    }
}

/// A statement on one line and at most 200 characters, for debug events.
fn brief(query: &str) -> String {
    let one_line = query.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line,
    }
}

/// 50 ms doubling per failure, at most 2 s.
fn backoff(failures: u32) -> Duration {
    Duration::from_millis(50u64.saturating_mul(1 << failures.min(6)).min(2_000))
}

/// What one operation's responses have told us so far.
struct StreamState {
    action: String,
    operation_id: String,
    last_response_id: Option<String>,
    complete: bool,
    responses: u64,
    reattaches: u32,
    rows: u64,
    batches: u64,
    arrow_bytes: u64,
    schema: Option<SchemaRef>,
    server_side_session_id: String,
}

impl StreamState {
    fn new(action: &str, operation_id: &str) -> Self {
        Self {
            action: action.to_string(),
            operation_id: operation_id.to_string(),
            last_response_id: None,
            complete: false,
            responses: 0,
            reattaches: 0,
            rows: 0,
            batches: 0,
            arrow_bytes: 0,
            schema: None,
            server_side_session_id: String::new(),
        }
    }

    fn protocol(&self, detail: String) -> ClientError {
        ClientError::Protocol {
            action: self.action.clone(),
            detail,
        }
    }

    fn on_response(
        &mut self,
        inner: &Inner,
        response: pb::ExecutePlanResponse,
        sink: &mut (dyn FnMut(RecordBatch) + Send),
    ) -> Result<(), ClientError> {
        self.responses += 1;
        if !response.operation_id.is_empty() && response.operation_id != self.operation_id {
            return Err(self.protocol(format!(
                "response for operation {} on the stream of {}",
                response.operation_id, self.operation_id
            )));
        }
        if !response.response_id.is_empty() {
            self.last_response_id = Some(response.response_id.clone());
        }
        if !response.server_side_session_id.is_empty() {
            inner.observe(&response.server_side_session_id);
            self.server_side_session_id = response.server_side_session_id.clone();
        }
        match response.response_type {
            Some(pb::execute_plan_response::ResponseType::ArrowBatch(batch)) => {
                self.on_arrow_batch(batch, sink)
            }
            Some(pb::execute_plan_response::ResponseType::ResultComplete(_)) => {
                self.complete = true;
                Ok(())
            }
            // Schema, metrics, observed metrics and progress carry nothing we keep.
            _ => Ok(()),
        }
    }

    fn on_arrow_batch(
        &mut self,
        batch: pb::execute_plan_response::ArrowBatch,
        sink: &mut (dyn FnMut(RecordBatch) + Send),
    ) -> Result<(), ClientError> {
        if batch.num_chunks_in_batch.is_some_and(|n| n > 1) {
            return Err(self.protocol("a chunked Arrow batch, which was not asked for".into()));
        }
        if let Some(offset) = batch.start_offset {
            if u64::try_from(offset).ok() != Some(self.rows) {
                return Err(self.protocol(format!(
                    "an Arrow batch starting at row {offset} after {} rows",
                    self.rows
                )));
            }
        }
        self.arrow_bytes += batch.data.len() as u64;
        let reader =
            StreamReader::try_new(Cursor::new(batch.data.as_ref()), None).map_err(|source| {
                ClientError::Decode {
                    action: self.action.clone(),
                    source,
                }
            })?;
        let schema = reader.schema();
        self.check_schema(&schema)?;
        let mut rows = 0u64;
        for decoded in reader {
            let decoded = decoded.map_err(|source| ClientError::Decode {
                action: self.action.clone(),
                source,
            })?;
            rows += decoded.num_rows() as u64;
            self.batches += 1;
            sink(decoded);
        }
        if u64::try_from(batch.row_count).ok() != Some(rows) {
            return Err(self.protocol(format!(
                "an Arrow batch announcing {} rows holds {rows}",
                batch.row_count
            )));
        }
        self.rows += rows;
        Ok(())
    }

    fn check_schema(&mut self, schema: &SchemaRef) -> Result<(), ClientError> {
        match &self.schema {
            None => {
                self.schema = Some(schema.clone());
                Ok(())
            }
            Some(first) => {
                let same = first.fields().len() == schema.fields().len()
                    && first
                        .fields()
                        .iter()
                        .zip(schema.fields())
                        .all(|(a, b)| a.name() == b.name() && a.data_type() == b.data_type());
                if same {
                    Ok(())
                } else {
                    Err(self.protocol(format!(
                        "Arrow batches with different schemas: {first:?} then {schema:?}"
                    )))
                }
            }
        }
    }

    fn finish(self) -> RunStats {
        RunStats {
            schema: self.schema.unwrap_or_else(|| Arc::new(Schema::empty())),
            batches: self.batches,
            arrow_bytes: self.arrow_bytes,
            info: ExecutionInfo {
                operation_id: self.operation_id,
                reattaches: self.reattaches,
                server_side_session_id: self.server_side_session_id,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(0), Duration::from_millis(50));
        assert_eq!(backoff(1), Duration::from_millis(100));
        assert_eq!(backoff(5), Duration::from_millis(1600));
        assert_eq!(backoff(6), Duration::from_millis(2000));
        assert_eq!(backoff(60), Duration::from_millis(2000));
    }

    #[test]
    fn brief_queries_are_one_line_and_bounded() {
        assert_eq!(brief("SELECT 1\n  FROM t\n"), "SELECT 1 FROM t");
        let long = format!("SELECT {}", "é".repeat(300));
        let b = brief(&long);
        assert_eq!(b.chars().count(), 201);
        assert!(b.ends_with('…'));
    }

    #[test]
    fn plan_is_a_root_sql_relation() {
        let plan = sql_plan("SELECT 1");
        match plan.op_type {
            Some(pb::plan::OpType::Root(pb::Relation {
                rel_type: Some(pb::relation::RelType::Sql(sql)),
                ..
            })) => assert_eq!(sql.query, "SELECT 1"),
            other => panic!("unexpected plan {other:?}"),
        }
    }
}
