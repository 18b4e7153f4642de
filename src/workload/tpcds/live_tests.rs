//! Tests against the real kit and a running environment; ignored by default.
//!
//! ```text
//! chaos env up --base-port 26000                      # in some scratch directory
//! CHAOS_HOME=$PWD/.chaos/env cargo test --release --lib workload::tpcds::live_tests \
//!     -- --ignored --nocapture --test-threads 1
//! ```
//!
//! `TPCDS_SCALE` (default 0.1) picks the data set, `TPCDS_QUERIES` (default `all`) the
//! queries. The cache is `CHAOS_CACHE_DIR` (or the default one).

use std::time::{Duration, Instant};

use super::*;
use crate::client::{Session, SessionOptions};
use crate::paths::EnvHome;

const NEEDS_ENV: &str = "needs a running environment: CHAOS_HOME=<its home>";

fn home() -> EnvHome {
    EnvHome::at(std::env::var("CHAOS_HOME").unwrap_or_else(|_| panic!("{NEEDS_ENV}")))
}

fn scale() -> f64 {
    std::env::var("TPCDS_SCALE")
        .ok()
        .map(|s| s.parse().expect("TPCDS_SCALE is a number"))
        .unwrap_or(0.1)
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// Regenerates the data set into a scratch directory and compares every file's sha256 with
/// the cached manifest: the same scale gives the same bytes.
#[test]
#[ignore = "needs python3 with venv and PyPI (or a kit already in the cache)"]
fn data_is_deterministic() {
    let cache = crate::paths::Cache::from_env();
    let scale = Scale::new(scale()).expect("scale");
    let first = generate(&cache, scale.value()).expect("generate");
    let kit = setup(&cache).expect("kit");
    let scratch = tempfile::tempdir().expect("tempdir");
    let second = data::generate_into(
        &kit,
        scale,
        &scratch.path().join("data"),
        &scratch.path().join("work"),
    )
    .expect("generate again");
    for (a, b) in first.tables.iter().zip(&second.tables) {
        assert_eq!(a.name, b.name);
        assert_eq!(a.rows, b.rows, "{}", a.name);
        assert_eq!(a.files, b.files, "{}", a.name);
    }
    assert_eq!(first.digest(), second.digest());
}

/// Data, upload, registration, answers, then every selected query on every Spark version,
/// with row counts compared to DuckDB's.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a running environment: CHAOS_HOME"]
async fn all_queries_on_every_version() {
    let home = home();
    let cache = crate::paths::Cache::from_env();
    let env = crate::platform::at(&home, &cache)
        .and_then(|p| p.endpoints())
        .expect("endpoints of the running environment");
    let scale = scale();

    let t = Instant::now();
    let set = datagen(&cache, &env, scale)
        .await
        .unwrap_or_else(|e| panic!("datagen: {}", chain(&e)));
    eprintln!("datagen: {:?} in {:?}", set.timings, t.elapsed());

    let t = Instant::now();
    let c = cache.clone();
    let answers = tokio::task::spawn_blocking(move || answers(&c, scale))
        .await
        .expect("join")
        .unwrap_or_else(|e| panic!("answers: {}", chain(&e)));
    eprintln!("answers: {:?}", t.elapsed());

    let selection = std::env::var("TPCDS_QUERIES").unwrap_or_else(|_| "all".into());
    let queries = select_queries(&cache, &selection).expect("queries");
    let mut failures = Vec::new();
    for line in env.lines() {
        let url = env.connect_urls(line).remove(0);
        let session = Session::connect(&url, SessionOptions::default())
            .await
            .expect("connect");
        session
            .sql(&format!("USE {}", set.database), Duration::from_secs(60))
            .await
            .expect("use");
        let mut passed = 0;
        let mut total = Duration::ZERO;
        for q in &queries {
            let t = Instant::now();
            let result = session.sql(&q.spark_sql, Duration::from_secs(900)).await;
            let took = t.elapsed();
            total += took;
            let answer = answers.answer(&q.name).expect("an answer per query");
            let want = answer.rows;
            let expected = expected(&cache, scale, &q.name).expect("expected answer");
            let expected_rows: usize = expected.iter().map(|b| b.num_rows()).sum();
            assert_eq!(
                expected_rows as u64, want,
                "{}: answer file vs manifest",
                q.name
            );
            let duck_names: Vec<&str> = answer.columns.iter().map(|c| c.name.as_str()).collect();
            match result {
                Ok(r) => {
                    let rows = r.num_rows() as u64;
                    if r.column_names() != duck_names {
                        eprintln!(
                            "{line} {:>4} column names differ: spark {:?} duckdb {:?}",
                            q.name,
                            r.column_names(),
                            duck_names
                        );
                    }
                    let verdict = if rows == want {
                        passed += 1;
                        "ok"
                    } else {
                        failures.push(format!("{line} {}: {rows} rows, DuckDB {want}", q.name));
                        "ROWS"
                    };
                    eprintln!(
                        "{line} {:>4} {verdict:>4} {:>8.0} ms {rows:>6} rows (duckdb {want})",
                        q.name,
                        took.as_secs_f64() * 1e3
                    );
                }
                Err(e) => {
                    let message = chain(&e);
                    eprintln!("{line} {:>4} FAIL {message}", q.name);
                    failures.push(format!("{line} {}: {message}", q.name));
                }
            }
        }
        eprintln!(
            "Spark {line}: {passed}/{} ran with DuckDB's row count, {:.1}s in all",
            queries.len(),
            total.as_secs_f64()
        );
        let _ = session.close(Duration::from_secs(10)).await;
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
