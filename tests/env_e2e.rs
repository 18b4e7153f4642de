//! End to end on the `local` platform, for real (verified on this project's Linux machines:
//! 2 cores, 24 GiB, Java 17): `chaos env up` brings PostgreSQL, MinIO, a Hive Metastore per
//! version, and per version a standalone master, two workers, a Spark Connect server and a
//! History Server up; SQL runs on both versions through the Rust Spark Connect client; data
//! lands in MinIO under each version's prefix; `chaos agent s3-prepare` (the chart's bucket
//! hook) makes a bucket with its prefixes there, idempotently; each table exists only in its own version's
//! metastore; a killed Connect server is restarted by the supervisor; each History Server
//! lists its own version's application; TPC-DS sf0.1 is generated, registered in both
//! metastores and the quick query set runs on both versions with every answer judged by
//! DuckDB's oracle, while a write workload's acknowledged ids are all read back; and
//! `chaos env down` leaves no process and no port.
//!
//! Needs Java 17, Maven, Go, Python with pip and (as root) apt-get, as a fresh machine of this
//! project has. Where something is missing the test prints SKIPPED loudly and returns, unless
//! `CHAOS_E2E=require` (set by .ci/run), where it fails instead.

mod common;

use std::time::{Duration, Instant};

use common::{chaos, ok, skip_unless_ready, wait_for, Down};

use spark_chaos::paths::EnvHome;
use spark_chaos::platform::local::env as chaos_env;
use spark_chaos::platform::local::plan::Plan;
use spark_chaos::platform::local::state::EnvState;
use spark_chaos::versions::SparkLine;

const BASE_PORT: &str = "27000";

#[test]
fn env_up_sql_restart_history_tpcds_load_and_down_leaves_nothing() {
    if skip_unless_ready("env_up_sql_restart_history_tpcds_load_and_down_leaves_nothing") {
        return;
    }
    let dir = tempfile::Builder::new()
        .prefix("chaos-e2e-")
        .tempdir()
        .unwrap();
    let home = dir.path().join("env");
    let _down = Down(&home);

    // Up (installs on first use), with timing printed by chaos itself.
    let t = Instant::now();
    let out = chaos(&home, &["env", "up", "--base-port", BASE_PORT]);
    assert!(out.status.success(), "env up failed");
    eprintln!(
        "env up took {:.1}s including any install",
        t.elapsed().as_secs_f64()
    );
    let status: serde_json::Value =
        serde_json::from_str(&ok(&home, &["env", "status", "--json"])).unwrap();
    for c in status["components"].as_array().unwrap() {
        assert_eq!(c["ready"], true, "{c}");
    }
    let env_home = EnvHome::at(&home);
    let plan: Plan = chaos_env::read_plan(&env_home).unwrap();
    let secrets = chaos_env::read_secrets(&env_home).unwrap();

    // SQL on both versions: CREATE TABLE in the S3 warehouse, INSERT, SELECT.
    for line in SparkLine::ALL {
        let v = line.version();
        let t = format!("e2e_t{}", line.slug());
        ok(
            &home,
            &[
                "sql",
                "--version",
                v,
                &format!("CREATE TABLE {t} (id INT, name STRING) USING parquet"),
            ],
        );
        ok(
            &home,
            &[
                "sql",
                "--version",
                v,
                &format!("INSERT INTO {t} VALUES (1, 'one'), (2, 'two'), (3, 'three')"),
            ],
        );
        let out = ok(
            &home,
            &[
                "sql",
                "--version",
                v,
                &format!("SELECT id, name FROM {t} ORDER BY id"),
            ],
        );
        for row in ["| 1  | one   |", "| 2  | two   |", "| 3  | three |"] {
            assert!(out.contains(row), "missing {row} in\n{out}");
        }
        let out = ok(&home, &["sql", "--version", v, "SELECT version()"]);
        assert!(out.contains(v), "server reports another version:\n{out}");
    }

    let rt = tokio::runtime::Runtime::new().unwrap();
    // The data is in MinIO under each version's prefix, and only there.
    let s3 = spark_chaos::probe::s3::S3::new(
        &plan.s3_endpoint(),
        &plan.settings.bucket,
        &secrets.s3_access_key,
        &secrets.s3_secret_key,
    )
    .unwrap();
    for line in SparkLine::ALL {
        let mine = rt
            .block_on(s3.list(&format!("{}/warehouse/e2e_t{}/", line.short(), line.slug())))
            .unwrap();
        assert!(
            mine.iter()
                .any(|o| o.key.ends_with(".parquet") && o.size > 0),
            "no parquet for {line}: {mine:?}"
        );
    }
    // `chaos agent s3-prepare` (the spark-base chart's bucket hook) against this real MinIO:
    // a new bucket with each prefix's directory marker; a second run changes nothing; without
    // credentials it refuses, naming the variable.
    let agent = |with_keys: bool| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_chaos"));
        c.args(["agent", "s3-prepare", "--endpoint", &plan.s3_endpoint()])
            .args([
                "--bucket",
                "agent-e2e",
                "--prefix",
                "3.5/events",
                "--prefix",
                "4.1/warehouse/",
            ])
            .args(["--wait", "30s"])
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY");
        if with_keys {
            c.env("AWS_ACCESS_KEY_ID", &secrets.s3_access_key)
                .env("AWS_SECRET_ACCESS_KEY", &secrets.s3_secret_key);
        }
        c.output().expect("run chaos agent")
    };
    for _ in 0..2 {
        let out = agent(true);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout)
            .contains("bucket agent-e2e ready with 3.5/events, 4.1/warehouse/"));
    }
    let made = spark_chaos::probe::s3::S3::new(
        &plan.s3_endpoint(),
        "agent-e2e",
        &secrets.s3_access_key,
        &secrets.s3_secret_key,
    )
    .unwrap();
    let keys: Vec<String> = rt
        .block_on(made.list(""))
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(keys, ["3.5/events/", "4.1/warehouse/"]);
    let out = agent(false);
    assert_eq!(out.status.code(), Some(i32::from(spark_chaos::exit::USAGE)));
    assert!(String::from_utf8_lossy(&out.stderr).contains("AWS_ACCESS_KEY_ID is not set"));

    // Each table exists in its own version's metastore and not in the other's.
    for line in SparkLine::ALL {
        let port = plan.ports.get(&format!("metastore-{}", line.slug()));
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let tables = rt
            .block_on(spark_chaos::probe::thrift::get_all_tables(
                addr,
                "default",
                Duration::from_secs(10),
            ))
            .unwrap();
        for other in SparkLine::ALL {
            let name = format!("e2e_t{}", other.slug());
            assert_eq!(
                tables.contains(&name),
                other == line,
                "metastore of {line} has tables {tables:?}"
            );
        }
    }

    // Kill a Connect server by hand: the supervisor restarts it and SQL works again.
    let state = EnvState::read(&env_home.state_file()).unwrap();
    let connect = state.component("connect-41-0").unwrap();
    let pid = connect.pid.unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    wait_for(
        "connect-41-0 restarted and ready",
        Duration::from_secs(300),
        || {
            let s = EnvState::read(&env_home.state_file()).unwrap();
            let c = s.component("connect-41-0").unwrap();
            c.restarts == 1 && c.ready && c.pid != Some(pid)
        },
    );
    let table = ok(&home, &["env", "status"]);
    assert!(
        table.contains("signal 9 (SIGKILL)"),
        "status does not show the restart:\n{table}"
    );
    let out = ok(
        &home,
        &[
            "sql",
            "--version",
            "4.1.0",
            "SELECT count(*) AS n FROM e2e_t41",
        ],
    );
    assert!(out.contains("| 3 |"), "{out}");

    // History Servers: a gracefully restarted Connect server closes its event log on S3 (S3A
    // makes a file visible only when it is closed); its History Server then lists it.
    for line in SparkLine::ALL {
        let id = format!("connect-{}-0", line.slug());
        ok(&home, &["env", "restart", &id]);
        let url = format!(
            "http://127.0.0.1:{}/api/v1/applications",
            plan.ports.get(&format!("history-{}", line.slug()))
        );
        wait_for(
            &format!("History Server {line} lists chaos-{id}"),
            Duration::from_secs(120),
            || {
                rt.block_on(spark_chaos::probe::http::get_ok(
                    &url,
                    Duration::from_secs(5),
                ))
                .is_ok_and(|body| body.contains(&format!("chaos-{id}")))
            },
        );
        let events = rt
            .block_on(s3.list(&format!("{}/events/", line.short())))
            .unwrap();
        assert!(
            events.iter().any(|o| o.size > 0),
            "no event log under {}/events/: {events:?}",
            line.short()
        );
    }

    // TPC-DS: generate sf0.1 with DuckDB's dsdgen, upload, register in both metastores,
    // compute DuckDB's answers; then the quick set once per version through Spark Connect,
    // judged by the oracle, with the write workload read back at the end.
    let out = ok(&home, &["datagen", "--scale", "0.1"]);
    assert!(
        out.contains("24 tables") && out.contains("3.5.7 and 4.1.0"),
        "{out}"
    );
    let report = dir.path().join("load");
    let out = ok(
        &home,
        &[
            "load",
            "--queries",
            "quick",
            "--iterations",
            "6",
            "--duration",
            "10m",
            "--writes",
            "--write-every",
            "3s",
            "--out",
            report.to_str().unwrap(),
        ],
    );
    for v in ["3.5.7", "4.1.0"] {
        let total = out
            .lines()
            .find(|l| l.starts_with(v) && l.contains("all queries"))
            .unwrap_or_else(|| panic!("no total for {v} in\n{out}"));
        let cells: Vec<&str> = total.split_whitespace().collect();
        // VERSION `all queries` COUNT OK FAIL INFO P50 P95 P99 MAX CORRECT WRONG UNDET: the
        // name is two words, so COUNT is cells[3], CORRECT cells[11], WRONG cells[12].
        assert_eq!(
            &cells[3..7],
            ["6", "6", "0", "0"],
            "every quick query ran ok on {v}: {total}"
        );
        assert_eq!(cells[12], "0", "no wrong answer on {v}: {total}");
        assert_eq!(
            cells[11].parse::<u32>().unwrap() + cells[13].parse::<u32>().unwrap(),
            6,
            "{total}"
        );
        let writes = out
            .lines()
            .find(|l| l.starts_with(&format!("writes {v}")))
            .expect("write check line");
        assert!(
            writes.contains(" 0 lost") && !writes.contains("read-back failed"),
            "{writes}"
        );
    }
    let history = std::fs::read_to_string(report.join("history.jsonl")).unwrap();
    assert!(history.lines().count() >= 12, "history has every operation");

    // Down leaves no process and no listening port.
    ok(&home, &["env", "down"]);
    assert!(chaos_env::processes_in(&home.join("work")).is_empty());
    for port in plan.ports.all() {
        assert!(
            !spark_chaos::platform::local::ports::is_listening(port),
            "port {port} still listening"
        );
    }
}
