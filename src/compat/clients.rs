//! The client matrix: the project's Rust Spark Connect client against both servers, RPC by RPC.
//!
//! Most rows go through [`crate::client::Session`]; the rows the session API does not expose
//! as such (schema and explain analysis, a deliberate reattach, `ReleaseSession`,
//! `FetchErrorDetails`) send the RPC on the session's own channel and identity.

use std::collections::BTreeMap;
use std::time::Duration;

use spark_connect_proto as pb;

use super::differential::{error_text, open};
use super::endpoints::VersionEndpoints;
use super::model::{ClientMatrix, RpcResult, RpcRow};
use crate::client::execute::sql_plan;
use crate::client::{ClientError, Deadline, InterruptReport, Session};

fn ok(detail: impl Into<String>) -> RpcResult {
    RpcResult {
        ok: true,
        detail: detail.into(),
    }
}

fn failed(detail: impl Into<String>) -> RpcResult {
    let detail: String = detail.into();
    RpcResult {
        ok: false,
        detail: detail.chars().take(300).collect(),
    }
}

fn status_text(s: &tonic::Status) -> String {
    let message: String = s.message().chars().take(200).collect();
    format!("{:?}: {message}", s.code())
}

async fn analyze(
    session: &Session,
    analyze: pb::analyze_plan_request::Analyze,
    timeout: Duration,
) -> Result<pb::AnalyzePlanResponse, String> {
    let inner = &session.inner;
    let request = inner.analyze_request(analyze);
    let mut stub = inner.stub();
    match tokio::time::timeout(timeout, stub.analyze_plan(inner.request(request))).await {
        Ok(Ok(r)) => Ok(r.into_inner()),
        Ok(Err(s)) => Err(status_text(&s)),
        Err(_) => Err(format!("no answer within {timeout:?}")),
    }
}

/// ExecutePlan (reattachable), drop the stream after the first Arrow batch, ReattachExecute
/// after the last response id, read to the end; then ReleaseExecute.
async fn reattach(session: &Session, timeout: Duration) -> (RpcResult, RpcResult) {
    const ROWS: i64 = 300_000;
    let inner = &session.inner;
    let operation_id = format!("{:032x}", rand::random::<u128>());
    let operation_id = format!(
        "{}-{}-4{}-8{}-{}",
        &operation_id[0..8],
        &operation_id[8..12],
        &operation_id[13..16],
        &operation_id[17..20],
        &operation_id[20..32]
    );
    let request = pb::ExecutePlanRequest {
        session_id: inner.session_id.clone(),
        client_observed_server_side_session_id: inner.observed(),
        user_context: Some(inner.user_context()),
        operation_id: Some(operation_id.clone()),
        plan: Some(sql_plan(&format!("SELECT id FROM range(0, {ROWS})"))),
        client_type: Some(inner.opts.client_type.clone()),
        request_options: vec![pb::execute_plan_request::RequestOption {
            request_option: Some(
                pb::execute_plan_request::request_option::RequestOption::ReattachOptions(
                    pb::ReattachOptions { reattachable: true },
                ),
            ),
        }],
        tags: Vec::new(),
    };
    let run = async {
        let mut stub = inner.stub();
        let mut stream = stub
            .execute_plan(inner.request(request))
            .await
            .map_err(|s| format!("ExecutePlan: {}", status_text(&s)))?
            .into_inner();
        let mut rows = 0i64;
        let mut last: Option<String> = None;
        // Read until the first Arrow batch, then drop the stream as a broken connection would.
        loop {
            match stream.message().await {
                Ok(Some(r)) => {
                    if !r.response_id.is_empty() {
                        last = Some(r.response_id.clone());
                    }
                    match r.response_type {
                        Some(pb::execute_plan_response::ResponseType::ArrowBatch(b)) => {
                            rows += b.row_count;
                            break;
                        }
                        Some(pb::execute_plan_response::ResponseType::ResultComplete(_)) => {
                            return Err(
                                "the result completed before a reattach was possible".to_string()
                            )
                        }
                        _ => {}
                    }
                }
                Ok(None) => break,
                Err(s) => return Err(format!("ExecutePlan stream: {}", status_text(&s))),
            }
        }
        drop(stream);
        let reattach = pb::ReattachExecuteRequest {
            session_id: inner.session_id.clone(),
            client_observed_server_side_session_id: inner.observed(),
            user_context: Some(inner.user_context()),
            operation_id: operation_id.clone(),
            client_type: Some(inner.opts.client_type.clone()),
            last_response_id: last,
        };
        let mut stub = inner.stub();
        let mut stream = stub
            .reattach_execute(inner.request(reattach))
            .await
            .map_err(|s| format!("ReattachExecute: {}", status_text(&s)))?
            .into_inner();
        let mut complete = false;
        loop {
            match stream.message().await {
                Ok(Some(r)) => match r.response_type {
                    Some(pb::execute_plan_response::ResponseType::ArrowBatch(b)) => {
                        rows += b.row_count
                    }
                    Some(pb::execute_plan_response::ResponseType::ResultComplete(_)) => {
                        complete = true;
                        break;
                    }
                    _ => {}
                },
                Ok(None) => break,
                Err(s) => return Err(format!("ReattachExecute stream: {}", status_text(&s))),
            }
        }
        if rows == ROWS && complete {
            Ok(format!("{rows} rows across one reattach, result complete"))
        } else {
            Err(format!(
                "{rows} of {ROWS} rows, complete: {complete} (the server may end a stream early; this row does not reattach twice)"
            ))
        }
    };
    let reattached = match tokio::time::timeout(timeout, run).await {
        Ok(Ok(d)) => ok(d),
        Ok(Err(e)) => failed(e),
        Err(_) => failed(format!("no result within {timeout:?}")),
    };
    let release = inner.release_execute_request(&operation_id);
    let mut stub = inner.stub();
    let released =
        match tokio::time::timeout(timeout, stub.release_execute(inner.request(release))).await {
            Ok(Ok(_)) => ok("released"),
            Ok(Err(s)) => failed(status_text(&s)),
            Err(_) => failed(format!("no answer within {timeout:?}")),
        };
    (reattached, released)
}

/// Every row for one server: `(rpc, what, result)`.
async fn probe(url: &str, timeout: Duration) -> Vec<(&'static str, &'static str, RpcResult)> {
    let mut out = Vec::new();
    let session = match open(url, timeout).await {
        Ok(s) => s,
        Err(e) => {
            out.push((
                "AnalyzePlan.SparkVersion",
                "connect (version handshake)",
                failed(error_text(&e)),
            ));
            return out;
        }
    };
    out.push((
        "AnalyzePlan.SparkVersion",
        "connect (version handshake)",
        ok(session.server_version().to_string()),
    ));
    let executed = session.sql("SELECT 1 AS one", timeout).await;
    out.push((
        "ExecutePlan",
        "SELECT 1 through a root Sql relation",
        match &executed {
            Ok(r) => ok(format!("{} row(s)", r.num_rows())),
            Err(e) => failed(error_text(e)),
        },
    ));
    out.push((
        "server-side session id",
        "reported in responses (detects a restarted server)",
        match &executed {
            Ok(r) if !r.info.server_side_session_id.is_empty() => ok("reported"),
            Ok(_) => failed("not reported"),
            Err(e) => failed(error_text(e)),
        },
    ));
    let schema = analyze(
        &session,
        pb::analyze_plan_request::Analyze::Schema(pb::analyze_plan_request::Schema {
            plan: Some(sql_plan("SELECT 1 AS one, 'x' AS s")),
        }),
        timeout,
    )
    .await;
    out.push((
        "AnalyzePlan.Schema",
        "schema of SELECT 1 AS one, 'x' AS s",
        match schema {
            Ok(r) => match r.result {
                Some(pb::analyze_plan_response::Result::Schema(s)) if s.schema.is_some() => {
                    ok("schema returned")
                }
                other => failed(format!("unexpected answer: {other:?}")),
            },
            Err(e) => failed(e),
        },
    ));
    let explain = analyze(
        &session,
        pb::analyze_plan_request::Analyze::Explain(pb::analyze_plan_request::Explain {
            plan: Some(sql_plan("SELECT count(*) FROM range(10)")),
            explain_mode: pb::analyze_plan_request::explain::ExplainMode::Formatted as i32,
        }),
        timeout,
    )
    .await;
    out.push((
        "AnalyzePlan.Explain",
        "FORMATTED explain of an aggregate",
        match explain {
            Ok(r) => match r.result {
                Some(pb::analyze_plan_response::Result::Explain(e))
                    if !e.explain_string.is_empty() =>
                {
                    ok(format!("{} lines", e.explain_string.lines().count()))
                }
                other => failed(format!("unexpected answer: {other:?}")),
            },
            Err(e) => failed(e),
        },
    ));
    let key = "spark.sql.shuffle.partitions";
    let config = async {
        session.set_conf(key, "3", timeout).await?;
        session.get_conf(key, timeout).await
    }
    .await;
    out.push((
        "Config",
        "Set then GetOption spark.sql.shuffle.partitions",
        match config {
            Ok(Some(v)) if v == "3" => ok("3"),
            Ok(v) => failed(format!("read back {v:?}")),
            Err(e) => failed(error_text(&e)),
        },
    ));
    out.push((
        "Interrupt",
        "interrupt all operations of an idle session",
        match session.interrupt_all(timeout).await {
            Ok(ids) => ok(format!("{} interrupted", ids.len())),
            Err(e) => failed(error_text(&e)),
        },
    ));
    let long = session
        .sql(
            "SELECT sum(id % 7) FROM range(0, 100000000000)",
            Deadline::after(Duration::from_secs(3)),
        )
        .await;
    out.push((
        "Interrupt",
        "deadline passes: interrupt the operation by id",
        match long {
            Err(ClientError::Deadline { interrupt, .. }) => match interrupt {
                InterruptReport::Confirmed => ok("interrupt confirmed"),
                other => failed(other.to_string()),
            },
            Ok(_) => failed("finished before the deadline"),
            Err(e) => failed(error_text(&e)),
        },
    ));
    let (reattached, released) = reattach(&session, timeout).await;
    out.push((
        "ReattachExecute",
        "drop the stream after the first batch, reattach, read to the end",
        reattached,
    ));
    out.push((
        "ReleaseExecute",
        "release all responses of an operation",
        released,
    ));
    let failing = session
        .sql(
            "SELECT * FROM compat_no_such_table_for_error_details",
            timeout,
        )
        .await;
    let error_id = failing
        .as_ref()
        .err()
        .and_then(|e| e.server_error())
        .and_then(|s| s.error_id.clone());
    let inner = &session.inner;
    let request = pb::FetchErrorDetailsRequest {
        session_id: inner.session_id.clone(),
        client_observed_server_side_session_id: inner.observed(),
        user_context: Some(inner.user_context()),
        error_id: error_id
            .clone()
            .unwrap_or_else(|| "00000000-0000-4000-8000-000000000000".into()),
        client_type: Some(inner.opts.client_type.clone()),
    };
    let mut stub = inner.stub();
    let details =
        tokio::time::timeout(timeout, stub.fetch_error_details(inner.request(request))).await;
    out.push((
        "FetchErrorDetails",
        "details of a failed statement's error id",
        match (details, &error_id) {
            (Ok(Ok(r)), Some(_)) if !r.get_ref().errors.is_empty() => ok(format!(
                "{} error(s) in the chain",
                r.get_ref().errors.len()
            )),
            (Ok(Ok(_)), Some(_)) => failed("no error details returned"),
            (Ok(Ok(_)), None) => failed("the failed statement carried no error id"),
            (Ok(Err(s)), _) => failed(status_text(&s)),
            (Err(_), _) => failed(format!("no answer within {timeout:?}")),
        },
    ));
    let request = inner.release_session_request();
    let mut stub = inner.stub();
    out.push((
        "ReleaseSession",
        "release the session on the server",
        match tokio::time::timeout(timeout, stub.release_session(inner.request(request))).await {
            Ok(Ok(_)) => ok("released"),
            Ok(Err(s)) => failed(status_text(&s)),
            Err(_) => failed(format!("no answer within {timeout:?}")),
        },
    ));
    out
}

/// Known differences of the servers (checked live when the client was written, see
/// `src/client/mod.rs`).
fn documented(rpc: &str) -> Option<String> {
    match rpc {
        "ReleaseSession" => Some("3.5 has no ReleaseSession (UNIMPLEMENTED)".into()),
        "FetchErrorDetails" => Some("3.5 sends no error id and has no FetchErrorDetails".into()),
        "server-side session id" => {
            Some("3.5 has no server-side session id: a restart is invisible to clients".into())
        }
        _ => None,
    }
}

/// The client part.
pub(crate) async fn run(
    base: &VersionEndpoints,
    target: &VersionEndpoints,
    timeout: Duration,
) -> ClientMatrix {
    let mut rows: Vec<RpcRow> = Vec::new();
    for v in [base, target] {
        let results = probe(v.connect_url().unwrap_or_default(), timeout).await;
        for (rpc, what, result) in results {
            let index = match rows.iter().position(|r| r.rpc == rpc && r.what == what) {
                Some(i) => i,
                None => {
                    rows.push(RpcRow {
                        rpc: rpc.to_string(),
                        what: what.to_string(),
                        results: BTreeMap::new(),
                        documented: None,
                    });
                    rows.len() - 1
                }
            };
            rows[index].results.insert(v.line.to_string(), result);
        }
    }
    for row in &mut rows {
        if !row.same() {
            row.documented = documented(&row.rpc);
        }
    }
    ClientMatrix {
        versions: vec![base.line.to_string(), target.line.to_string()],
        rows,
    }
}
