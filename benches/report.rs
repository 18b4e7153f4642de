//! The report path at scale: `chaos report` (read history.jsonl, check, assemble, write the four
//! report files) over synthetic run directories of 100 k and 1 M operations, each measured in
//! a child process of its own for wall time and peak RSS (`VmHWM` of `/proc/self/status`, read
//! by the child as it ends). No Spark, no `chaos` binary.
//!
//! Run with `cargo bench --bench report` (sizes: `REPORT_BENCH_SIZES=100000,1000000`, runs
//! per size: `REPORT_BENCH_RUNS=3`; the median is reported). The run directories are made under
//! the system's temporary directory and removed afterwards.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use spark_chaos::fault::FaultRecord;
use spark_chaos::report::{PhaseSpan, RunStatus};
use spark_chaos::run::assemble::{self, Inputs};
use spark_chaos::run::rerender::{rerender, RerenderOptions};
use spark_chaos::versions::SparkLine;
use spark_chaos::workload::history::{OpKind, OpOutcome, OpRecord, OpVerdict};

const SCENARIO: &str = include_str!("../scenarios/ci-smoke.toml");
/// The run's start, Unix ms.
const T0: u64 = 1_800_000_000_000;
/// Operations per second, both versions together.
const RATE: u64 = 100;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        child(Path::new(&args[i + 1]));
        return;
    }
    let sizes: Vec<u64> = std::env::var("REPORT_BENCH_SIZES")
        .unwrap_or_else(|_| "100000,1000000".into())
        .split(',')
        .map(|s| s.trim().parse().expect("REPORT_BENCH_SIZES: numbers"))
        .collect();
    let runs: usize = std::env::var("REPORT_BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    println!("| operations | history.jsonl | report.json | report.html | wall time (median of {runs}) | peak RSS (median) |");
    println!("|---:|---:|---:|---:|---:|---:|");
    for n in sizes {
        let dir = std::env::temp_dir().join(format!("spark-chaos-report-bench-{n}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("bench directory");
        make_run_dir(&dir, n);
        let mut times = Vec::new();
        let mut peaks = Vec::new();
        for _ in 0..runs {
            let started = Instant::now();
            let out = std::process::Command::new(std::env::current_exe().expect("this bench"))
                .arg("--child")
                .arg(&dir)
                .output()
                .expect("child ran");
            let elapsed = started.elapsed().as_secs_f64();
            assert!(
                out.status.success(),
                "child failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let text = String::from_utf8_lossy(&out.stdout);
            let kb: u64 = text
                .lines()
                .find_map(|l| l.strip_prefix("peak_rss_kb "))
                .and_then(|v| v.trim().parse().ok())
                .expect("the child's peak RSS");
            times.push(elapsed);
            peaks.push(kb);
        }
        times.sort_by(f64::total_cmp);
        peaks.sort_unstable();
        let size =
            |name: &str| std::fs::metadata(dir.join(name)).map_or(0, |m| m.len()) as f64 / 1e6;
        println!(
            "| {n} | {:.0} MB | {:.1} MB | {:.1} MB | {:.2} s (min {:.2}, max {:.2}) | {:.0} MB (min {:.0}, max {:.0}) |",
            size("history.jsonl"),
            size("report.json"),
            size("report.html"),
            times[times.len() / 2],
            times[0],
            times[times.len() - 1],
            peaks[peaks.len() / 2] as f64 / 1024.0,
            peaks[0] as f64 / 1024.0,
            peaks[peaks.len() - 1] as f64 / 1024.0,
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// The measured process: `chaos report` over `dir`, then its peak RSS.
fn child(dir: &Path) {
    let done = rerender(dir, &RerenderOptions::default()).expect("re-rendered");
    assert!(done.files.len() == 4, "four report files");
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .expect("VmHWM");
    println!("peak_rss_kb {}", hwm.trim().trim_end_matches("kB").trim());
}

/// A run directory of `n` operations as a run leaves it: history.jsonl written record by
/// record, faults.jsonl, and the report files of the run's own writers (built here on an
/// empty history: the measured child builds them from the full one).
fn make_run_dir(dir: &Path, n: u64) {
    let duration_ms = n * 1000 / RATE;
    let w0 = T0 + 20_000;
    // One S3 outage over 10 % of the workload, from 40 % of it.
    let (inject, heal) = (w0 + duration_ms * 4 / 10, w0 + duration_ms / 2);
    let mut w = std::io::BufWriter::new(
        std::fs::File::create(dir.join("history.jsonl")).expect("history.jsonl"),
    );
    let names: Vec<String> = (1..=20).map(|i| format!("q{}", i * 3)).collect();
    let mut ids = 0;
    for op in 0..n {
        let line = if op % 2 == 0 {
            SparkLine::V3_5
        } else {
            SparkLine::V4_1
        };
        let intended_ms = w0 + op * 1000 / RATE;
        let write = op % 50 == 7;
        let (kind, name) = if write {
            (OpKind::Write, "write".to_string())
        } else {
            (
                OpKind::Query,
                names[(op as usize / 2) % names.len()].clone(),
            )
        };
        let in_fault = (inject..heal).contains(&intended_ms);
        // A pseudo-random spread of latencies: mostly 0.2–1.2 s, a slow tail.
        let h = op.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
        let mut latency_us = 200_000 + h % 1_000_000;
        if h % 100 == 0 {
            latency_us *= 8;
        }
        let outcome = match (in_fault, h % 1000) {
            (true, x) if x < 800 => OpOutcome::Fail,
            (true, x) if x < 900 => OpOutcome::Info,
            (false, 0..=4) => OpOutcome::Fail,
            (false, 5) => OpOutcome::Info,
            _ => OpOutcome::Ok,
        };
        if in_fault && outcome != OpOutcome::Ok {
            latency_us = 30_000_000;
        }
        let intended_us = intended_ms * 1000;
        let bad = outcome != OpOutcome::Ok;
        let r = OpRecord {
            endpoint: format!("127.0.0.1:{}", if line == SparkLine::V3_5 { 17023 } else { 17028 }),
            warmup: intended_ms < w0 + 10_000,
            start_us: intended_us + 150,
            end_us: intended_us + latency_us,
            outcome,
            error_class: (outcome == OpOutcome::Fail).then(|| "CONNECT_S3_TIMEOUT".to_string()),
            sql_state: (outcome == OpOutcome::Fail).then(|| "58030".to_string()),
            message: bad.then(|| {
                format!("org.apache.spark.SparkException: Job aborted: s3a://chaos/3.5/warehouse/store_sales/part-{op:05}: Read timed out")
            }),
            rows: (!bad && !write).then_some(100),
            checksum: (!bad && !write).then(|| format!("{:016x}", h)),
            verdict: (!bad && !write).then_some(OpVerdict::Correct),
            ids: write.then(|| {
                ids += 10;
                [ids - 9, ids]
            }),
            ..OpRecord::planned(op, kind, line, &name, intended_us)
        };
        serde_json::to_writer(&mut w, &r).expect("a record");
        w.write_all(b"\n").expect("written");
    }
    w.flush().expect("history written");
    drop(w);
    let faults = vec![FaultRecord {
        id: "f1".into(),
        kind: "s3-outage".into(),
        target: "s3".into(),
        versions: vec!["3.5.7".into(), "4.1.0".into()],
        params: BTreeMap::from([("mode".to_string(), "blackhole".to_string())]),
        injected_ms: inject,
        healed_ms: Some(heal),
        detail: "every connection black-holed".into(),
        healed_by: Some("scheduled".into()),
    }];
    let scenario =
        spark_chaos::scenario::parse(SCENARIO, "scenarios/ci-smoke.toml").expect("valid");
    let end = w0 + duration_ms;
    let phases = vec![
        PhaseSpan {
            name: "warm-up".into(),
            start_ms: w0,
            end_ms: w0 + 10_000,
        },
        PhaseSpan {
            name: "final-reads".into(),
            start_ms: end,
            end_ms: end + 5_000,
        },
    ];
    let report = assemble::build(Inputs {
        scenario: &scenario,
        file: Path::new("scenarios/ci-smoke.toml"),
        text: SCENARIO,
        started_ms: T0,
        ended_ms: end + 10_000,
        status: RunStatus::Completed,
        phases,
        history: &[],
        faults: &faults,
        writes: &BTreeMap::new(),
        workload: Some((w0, end)),
        extra_checks: vec![],
        sections: vec![],
        notes: vec![],
        components: vec![],
        report_dir: &PathBuf::from(dir),
    });
    spark_chaos::run::write_outputs(&report, dir, &faults, &spark_chaos::run::formats(&scenario))
        .expect("run directory written");
}
