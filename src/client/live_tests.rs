//! Tests over real TCP: a few need no Spark (a refused port, a server that hangs up), the
//! rest need a running Spark Connect server and are ignored by default:
//!
//! ```text
//! SPARK_CONNECT_URL=sc://127.0.0.1:15002 cargo test --lib client::live_tests -- --ignored
//! ```
//!
//! They pass against Spark 3.5.7 and 4.1.0 alike; version differences are asserted explicitly.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_schema::DataType;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::checksum::checksum_batches;
use super::*;

const NEEDS_SERVER: &str = "needs a running Spark Connect server: SPARK_CONNECT_URL";
const T: Duration = Duration::from_secs(60);

fn url() -> String {
    std::env::var("SPARK_CONNECT_URL").unwrap_or_else(|_| panic!("{NEEDS_SERVER}"))
}

async fn session() -> Session {
    Session::connect(&url(), SessionOptions::default())
        .await
        .expect("connect")
}

fn is_spark4(s: &Session) -> bool {
    s.server_version().starts_with('4')
}

fn upstream() -> SocketAddr {
    let url = url();
    let host_port = url
        .trim_start_matches("sc://")
        .split(['/', ';'])
        .next()
        .unwrap_or_default()
        .to_string();
    host_port
        .parse()
        .expect("SPARK_CONNECT_URL must be sc://<ip>:<port>")
}

/// A TCP proxy in front of `target`. The first connection is cut after `cut_after` bytes
/// from the server; later ones pass through. Aborting the returned task closes the port.
async fn proxy(
    target: SocketAddr,
    cut_after: usize,
) -> (SocketAddr, Arc<AtomicUsize>, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let connections = Arc::new(AtomicUsize::new(0));
    let count = connections.clone();
    let task = tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let n = count.fetch_add(1, Ordering::SeqCst);
            let Ok(server) = TcpStream::connect(target).await else {
                continue;
            };
            tokio::spawn(pipe(client, server, (n == 0).then_some(cut_after)));
        }
    });
    (addr, connections, task)
}

async fn pipe(client: TcpStream, server: TcpStream, cut_after: Option<usize>) {
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut cr, &mut sw).await;
    });
    let mut buf = vec![0u8; 64 * 1024];
    let mut sent = 0usize;
    loop {
        let n = match sr.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if cw.write_all(&buf[..n]).await.is_err() {
            break;
        }
        sent += n;
        if cut_after.is_some_and(|limit| sent >= limit) {
            break;
        }
    }
    up.abort();
}

#[tokio::test]
async fn refused_connection_is_a_definite_failure() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let err = Session::connect(&format!("sc://127.0.0.1:{port}"), SessionOptions::default())
        .await
        .expect_err("nothing listens");
    assert!(matches!(err, ClientError::Refused { .. }), "{err:?}");
    assert!(err.is_definite());
    assert_eq!(err.outcome().kind(), "fail");
}

#[tokio::test]
async fn a_server_that_hangs_up_gives_an_unknown_outcome() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = [0u8; 64];
            let _ = s.read(&mut buf).await;
            drop(s);
        }
    });
    let err = Session::connect(&format!("sc://{addr}"), SessionOptions::default())
        .await
        .expect_err("no gRPC server");
    assert_eq!(err.outcome().kind(), "info", "{err:?}");
}

#[tokio::test]
async fn invalid_endpoints_are_rejected_before_sending() {
    for bad in [
        "http://127.0.0.1:1",
        "sc://127.0.0.1:1/;use_ssl=true",
        "sc://h/path",
    ] {
        let err = Session::connect(bad, SessionOptions::default())
            .await
            .expect_err(bad);
        assert!(
            matches!(err, ClientError::Endpoint { .. }),
            "{bad}: {err:?}"
        );
        assert_eq!(err.outcome().kind(), "fail");
    }
}

#[tokio::test]
#[ignore = "needs a running Spark Connect server: SPARK_CONNECT_URL"]
async fn select_41_plus_1() {
    let s = session().await;
    eprintln!("server version {}", s.server_version());
    assert!(s.server_version().starts_with("3.5") || s.server_version().starts_with('4'));
    let r = s.sql("SELECT 41 + 1 AS answer", T).await.expect("query");
    println!("{}", r.to_pretty_table());
    assert_eq!(r.rows_as_strings().expect("rows"), vec![vec!["42"]]);
    assert_eq!(r.schema.field(0).name(), "answer");
    assert_eq!(r.schema.field(0).data_type(), &DataType::Int32);
    assert_eq!(s.ping(T).await.expect("ping"), s.server_version());
    s.close(T).await.expect("close");
}

#[tokio::test]
#[ignore = "needs a running Spark Connect server: SPARK_CONNECT_URL"]
async fn many_types_decode() {
    let s = session().await;
    s.set_conf("spark.sql.session.timeZone", "UTC", T)
        .await
        .expect("set tz");
    assert_eq!(
        s.get_conf("spark.sql.session.timeZone", T)
            .await
            .expect("get"),
        Some("UTC".to_string())
    );
    let r = s
        .sql(
            "SELECT CAST(12.345 AS DECIMAL(10,3)) AS d, CAST(1.5 AS DOUBLE) AS f, 'héllo' AS s, \
             DATE'2024-02-29' AS dt, TIMESTAMP'2024-02-29 12:34:56.789' AS ts, \
             CAST(NULL AS INT) AS n, array(1, 2, 3) AS a, map('k', 1) AS m, \
             named_struct('x', 1, 'y', 'z') AS st, true AS b, X'CAFE' AS bin, \
             CAST(7 AS BIGINT) AS l, TIMESTAMP_NTZ'2024-01-01 00:00:00' AS ntz",
            T,
        )
        .await
        .expect("query");
    println!("{}", r.to_pretty_table());
    let types: Vec<String> = r
        .schema
        .fields()
        .iter()
        .map(|f| f.data_type().to_string())
        .collect();
    eprintln!("types: {types:?}");
    assert_eq!(r.schema.field(0).data_type(), &DataType::Decimal128(10, 3));
    assert!(matches!(
        r.schema.field(4).data_type(),
        DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, Some(_))
    ));
    assert!(matches!(
        r.schema.field(12).data_type(),
        DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, None)
    ));
    let rows = r.rows_as_strings().expect("rows");
    assert_eq!(
        rows[0][..6],
        [
            "12.345",
            "1.5",
            "héllo",
            "2024-02-29",
            "2024-02-29T12:34:56.789Z",
            "NULL"
        ]
    );
    assert_eq!(rows[0][6], "[1, 2, 3]");
    assert_eq!(rows[0][7], "{k: 1}");
    assert_eq!(rows[0][8], "{x: 1, y: z}");
    assert_eq!(rows[0][9..12], ["true", "cafe", "7"]);
    assert_eq!(rows[0][12], "2024-01-01T00:00:00");
}

#[tokio::test]
#[ignore = "needs a running Spark Connect server: SPARK_CONNECT_URL"]
async fn empty_result_keeps_its_schema() {
    let s = session().await;
    let r = s
        .sql(
            "SELECT id, CAST(id AS STRING) AS s FROM range(10) WHERE id < 0",
            T,
        )
        .await
        .expect("query");
    assert_eq!(r.num_rows(), 0);
    assert_eq!(r.column_names(), ["id", "s"]);
    assert_eq!(r.schema.field(0).data_type(), &DataType::Int64);
    println!("{}", r.to_pretty_table());
    let summary = s
        .sql_summary(
            "SELECT id FROM range(10) WHERE id < 0",
            T,
            ChecksumOptions::default(),
        )
        .await
        .expect("summary");
    assert_eq!(summary.num_rows(), 0);
    assert_eq!(summary.schema.field(0).name(), "id");
}

#[tokio::test]
#[ignore = "needs a running Spark Connect server: SPARK_CONNECT_URL"]
async fn server_errors_are_definite_with_class_and_state() {
    let s = session().await;
    let cases = [
        (
            "SELECT * FROM no_such_table_anywhere",
            "TABLE_OR_VIEW_NOT_FOUND",
            "42P01",
        ),
        ("SELEC 1", "PARSE_SYNTAX_ERROR", "42601"),
        ("SELECT 1/0", "DIVIDE_BY_ZERO", "22012"),
        (
            "SELECT no_such_column FROM range(1)",
            "UNRESOLVED_COLUMN.WITH_SUGGESTION",
            "42703",
        ),
    ];
    s.set_conf("spark.sql.ansi.enabled", "true", T)
        .await
        .expect("ansi on");
    // Spark 3.5 sends neither errorClass nor sqlState in its ErrorInfo (only `classes`): the
    // class comes from the message's `[CLASS]` prefix, and there is no SQLSTATE at all.
    let spark4 = is_spark4(&s);
    for (query, class, state) in cases {
        let err = s.sql(query, T).await.expect_err(query);
        eprintln!("{query}: {err:?}");
        assert!(
            matches!(err, ClientError::Server { .. }),
            "{query}: {err:?}"
        );
        assert_eq!(err.error_class(), Some(class), "{query}");
        let state = spark4.then_some(state);
        assert_eq!(err.sql_state(), state, "{query}");
        match err.outcome() {
            Outcome::Fail {
                error_class,
                sql_state,
                message,
            } => {
                assert_eq!(error_class.as_deref(), Some(class));
                assert_eq!(sql_state.as_deref(), state);
                assert!(message.contains(class), "{message}");
            }
            other => panic!("{query}: {other:?}"),
        }
    }
    // The session is still usable after errors.
    let r = s.sql("SELECT 1", T).await.expect("after errors");
    assert_eq!(r.num_rows(), 1);
}

#[tokio::test]
#[ignore = "needs a running Spark Connect server: SPARK_CONNECT_URL"]
async fn ddl_and_dml_run_exactly_once() {
    let s = session().await;
    let table = format!("chaos_client_{}", &super::ids::uuid_v4()[..8]);
    let create = s
        .sql(
            &format!("CREATE TABLE {table} (id INT, s STRING) USING parquet"),
            T,
        )
        .await
        .expect("create");
    eprintln!("CREATE schema: {:?}", create.schema);
    let insert = s
        .sql(&format!("INSERT INTO {table} VALUES (1, 'a'), (2, 'b')"), T)
        .await
        .expect("insert");
    eprintln!(
        "INSERT schema: {:?}, rows {}",
        insert.schema,
        insert.num_rows()
    );
    let count = |r: QueryResult| r.rows_as_strings().expect("rows")[0][0].clone();
    let n = s
        .sql(&format!("SELECT count(*) FROM {table}"), T)
        .await
        .expect("count");
    assert_eq!(count(n), "2");
    s.sql(&format!("INSERT INTO {table} VALUES (3, 'c')"), T)
        .await
        .expect("insert again");
    let r = s
        .sql(&format!("SELECT id, s FROM {table} ORDER BY id"), T)
        .await
        .expect("select");
    println!("{}", r.to_pretty_table());
    assert_eq!(
        r.rows_as_strings().expect("rows"),
        vec![vec!["1", "a"], vec!["2", "b"], vec!["3", "c"]]
    );
    // Creating it again fails definitely.
    let err = s
        .sql(&format!("CREATE TABLE {table} (id INT) USING parquet"), T)
        .await
        .expect_err("exists");
    eprintln!("{err:?}");
    assert_eq!(err.outcome().kind(), "fail");
    assert_eq!(err.error_class(), Some("TABLE_OR_VIEW_ALREADY_EXISTS"));
    s.sql(&format!("DROP TABLE {table}"), T)
        .await
        .expect("drop");
}

#[tokio::test]
#[ignore = "needs a running Spark Connect server: SPARK_CONNECT_URL"]
async fn deadline_interrupts_the_operation() {
    let s = session().await;
    let started = Instant::now();
    let err = s
        .sql(
            "SELECT sum(a.id * b.id) FROM range(0, 300000) a CROSS JOIN range(0, 300000) b",
            Duration::from_secs(4),
        )
        .await
        .expect_err("too slow");
    let took = started.elapsed();
    eprintln!("after {took:?}: {err}");
    match &err {
        ClientError::Deadline { interrupt, .. } => {
            assert_eq!(interrupt, &InterruptReport::Confirmed)
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.outcome().kind(), "info");
    assert!(took < Duration::from_secs(10), "{took:?}");
    // With local[1] the next job could not run if the cross join still held the only core.
    let started = Instant::now();
    let r = s
        .sql("SELECT 1", Duration::from_secs(20))
        .await
        .expect("server is free");
    assert_eq!(r.num_rows(), 1);
    eprintln!("next query took {:?}", started.elapsed());
}

#[tokio::test]
#[ignore = "needs a running Spark Connect server: SPARK_CONNECT_URL"]
async fn summary_matches_collected_result() {
    let s = session().await;
    let q =
        "SELECT id, id * 2 AS twice, CAST(id AS STRING) AS s, id / 7 AS ratio FROM range(0, 50000)";
    let collected = s.sql(q, T).await.expect("collect");
    let summary = s
        .sql_summary(q, T, ChecksumOptions::default())
        .await
        .expect("summary");
    assert_eq!(summary.num_rows(), 50_000);
    assert_eq!(
        checksum_batches(&collected.batches, ChecksumOptions::default()),
        summary.checksum
    );
    let reversed = s
        .sql_summary(
            &format!("{q} ORDER BY id DESC"),
            T,
            ChecksumOptions::default(),
        )
        .await
        .expect("reversed");
    assert_eq!(reversed.checksum.unordered, summary.checksum.unordered);
    assert_ne!(reversed.checksum.ordered, summary.checksum.ordered);
    eprintln!(
        "{} in {} batches, {} reattaches",
        summary.checksum, summary.batches, summary.info.reattaches
    );
}

#[tokio::test]
#[ignore = "needs a running Spark Connect server: SPARK_CONNECT_URL"]
async fn reattach_resumes_after_the_connection_is_cut() {
    let q = "SELECT id, id * 3 AS x FROM range(0, 2000000)";
    let direct = session()
        .await
        .sql_summary(q, T, ChecksumOptions::default())
        .await
        .expect("direct");
    eprintln!("direct: {} reattaches", direct.info.reattaches);
    let (addr, connections, task) = proxy(upstream(), 4 * 1024 * 1024).await;
    let s = Session::connect(&format!("sc://{addr}"), SessionOptions::default())
        .await
        .expect("connect through proxy");
    let through = s
        .sql_summary(q, T, ChecksumOptions::default())
        .await
        .expect("resumed after the cut");
    task.abort();
    eprintln!(
        "reattaches {}, connections {}, {}",
        through.info.reattaches,
        connections.load(Ordering::SeqCst),
        through.checksum
    );
    assert!(through.info.reattaches >= 1);
    assert!(connections.load(Ordering::SeqCst) >= 2);
    assert_eq!(through.checksum, direct.checksum);
}

#[tokio::test]
#[ignore = "needs a running Spark Connect server: SPARK_CONNECT_URL"]
async fn server_gone_mid_stream_is_unknown() {
    let (addr, _, task) = proxy(upstream(), 2 * 1024 * 1024).await;
    let opts = SessionOptions {
        max_reattach_attempts: 3,
        ..SessionOptions::default()
    };
    let s = Session::connect(&format!("sc://{addr}"), opts)
        .await
        .expect("connect through proxy");
    // Close the port: the cut connection cannot be reattached, as if the server died.
    task.abort();
    let err = s
        .sql_summary(
            "SELECT id, id * 3 AS x FROM range(0, 2000000)",
            T,
            ChecksumOptions::default(),
        )
        .await
        .expect_err("server gone");
    eprintln!("{err}");
    assert!(matches!(err, ClientError::Transport { .. }), "{err:?}");
    assert_eq!(err.outcome().kind(), "info");
    // A fresh operation to the dead port is refused: never sent, definite.
    let refused = s.sql("SELECT 1", T).await.expect_err("port closed");
    assert!(
        matches!(refused, ClientError::Refused { .. }),
        "{refused:?}"
    );
}

#[tokio::test]
#[ignore = "needs a running Spark Connect server: SPARK_CONNECT_URL"]
async fn sessions_are_isolated_and_ids_are_kept() {
    let id = super::ids::uuid_v4();
    let a = Session::connect(
        &url(),
        SessionOptions::with_session_id(id.clone()).user_id("alice"),
    )
    .await
    .expect("a");
    assert_eq!(a.session_id(), id);
    assert_eq!(a.user_id(), "alice");
    a.sql("CREATE OR REPLACE TEMP VIEW v AS SELECT 5 AS five", T)
        .await
        .expect("view");
    let again = Session::connect(&url(), SessionOptions::with_session_id(id).user_id("alice"))
        .await
        .expect("same session");
    let r = again.sql("SELECT five FROM v", T).await.expect("same view");
    assert_eq!(r.rows_as_strings().expect("rows"), vec![vec!["5"]]);
    let other = session().await;
    let err = other
        .sql("SELECT five FROM v", T)
        .await
        .expect_err("isolated");
    assert_eq!(err.error_class(), Some("TABLE_OR_VIEW_NOT_FOUND"));
    if is_spark4(&a) {
        assert!(a.server_side_session_id().is_some());
    } else {
        assert_eq!(a.server_side_session_id(), None);
    }
}

#[tokio::test]
#[ignore = "needs a running Spark Connect server: SPARK_CONNECT_URL"]
async fn dropping_the_future_interrupts_the_operation() {
    let s = session().await;
    let slow = s.sql(
        "SELECT sum(a.id * b.id) FROM range(0, 300000) a CROSS JOIN range(0, 300000) b",
        Duration::from_secs(600),
    );
    assert!(tokio::time::timeout(Duration::from_secs(3), slow)
        .await
        .is_err());
    // The guard interrupts in the background; with local[1] the next job needs the core back.
    let r = s
        .sql("SELECT 1", Duration::from_secs(20))
        .await
        .expect("server is free");
    assert_eq!(r.num_rows(), 1);
}
