//! A realistic report for the tests: `s3-outage` on both versions, S3 black-holed for 45 s,
//! 3.5.7 slow to recover (an invalid recovery check), one wrong answer on 4.1.0, an unknown
//! lost-writes check, a run-wide check and a compatibility section. The history behind it is
//! generated deterministically (a fixed linear congruential sequence, no `rand`).

use std::collections::BTreeMap;

use super::model::*;
use super::report_dir_name;
use crate::check::model::{CheckResult, Verdict};
use crate::fault::FaultRecord;
use crate::versions::SparkLine;
use crate::workload::history::{Op, OpKind, OpOutcome, OpRecord, OpVerdict};

/// 2026-11-21T03:15:00Z.
pub(super) const STARTED: u64 = 1_795_230_900_000;
/// When S3 was black-holed and healed, seconds since start.
const OUTAGE: (f64, f64) = (105.0, 150.0);
/// When each version was really back, seconds since start.
const BACK_35: f64 = 221.3;
const BACK_41: f64 = 158.4;

const SCENARIO: &str = r#"name = "s3-outage"
description = "S3 black-holed for 45 s under a steady TPC-DS load: both versions must keep answering correctly and recover within a minute."
kind = "chaos"
platform = "local"
versions = ["3.5.7", "4.1.0"]

[workload]
scale = 0.1
queries = ["q3", "q7", "q19", "q42", "q55"]
model = "open"
rate = "0.43/s"
warmup = "20s"
duration = "3m 30s"
op_timeout = "30s"
writes = { every = "14s", batch = 100 }

[[faults]]
kind = "s3-outage"
target = "s3"
at = "60s"   # after the warm-up
for = "45s"
mode = "blackhole"

[checks]
availability_before = 0.99
recovery_within = "60s"
latency_p99 = "30s"
wrong_answers = 0
lost_writes = 0
"#;

const WRONG_DIFF: &str =
    "q19: 1 of 100 rows differ (rows ordered by ext_price desc, brand, brand_id)
row 7:
  expected: [1002001, \"amalgamalg #1\", 12, \"ationese\", 84377.34]
  actual:   [1002001, \"amalgamalg #1\", 12, \"ationese\", 84377.43]
                                                       ^^^^^^^^ ext_price";

/// A deterministic sequence in [0, 1).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// 100 operations per version every 2.3 s from the warm-up to the heal phase, then each
/// version's read-back: 200 records.
pub(super) fn history() -> Vec<OpRecord> {
    let mut rng = Lcg(42);
    let mut records = Vec::new();
    let names = ["q3", "q7", "q19", "q42", "q55", "write"];
    for (line, offset_s, back_s) in [
        (SparkLine::V3_5, 0.0, BACK_35),
        (SparkLine::V4_1, 1.1, BACK_41),
    ] {
        for i in 0..99u64 {
            let t = 25.0 + offset_s + i as f64 * 2.3;
            let name = names[i as usize % names.len()];
            let kind = if name == "write" {
                OpKind::Write
            } else {
                OpKind::Query
            };
            let u = rng.next();
            let mut r = record(records.len() as u64 + 1, line, kind, name, t);
            let normal_ms = match (kind, line) {
                (OpKind::Write, _) => 250.0 + 300.0 * u,
                (_, SparkLine::V3_5) => 700.0 + 1800.0 * u,
                (_, SparkLine::V4_1) => 500.0 + 1400.0 * u,
            };
            let latency_ms = if (OUTAGE.0..back_s).contains(&t) {
                // S3 is gone (or the version has not noticed it is back).
                let timeout = match line {
                    SparkLine::V3_5 => i % 3 != 0,
                    SparkLine::V4_1 => i % 4 == 0,
                };
                if timeout {
                    r.outcome = OpOutcome::Info;
                    r.message = Some("deadline 30s passed; the operation was interrupted".into());
                    30_000.0 + 400.0 * u
                } else {
                    r.outcome = OpOutcome::Fail;
                    let class = match (kind, line) {
                        (OpKind::Write, _) => "TASK_WRITE_FAILED",
                        (_, SparkLine::V3_5) => "CANNOT_READ_FILE_FOOTER",
                        (_, SparkLine::V4_1) => "FAILED_READ_FILE.NO_HINT",
                    };
                    r.error_class = Some(class.into());
                    r.message = Some(format!(
                        "[{class}] Unable to execute HTTP request: Read timed out (s3a://chaos/{}/warehouse)",
                        line.short()
                    ));
                    match line {
                        SparkLine::V3_5 => 8_000.0 + 6_000.0 * u,
                        SparkLine::V4_1 => 2_000.0 + 4_000.0 * u,
                    }
                }
            } else if (back_s..back_s + 25.0).contains(&t) {
                normal_ms * 2.5
            } else {
                normal_ms
            };
            r.end_us = r.intended_us + (latency_ms * 1000.0) as u64;
            r.start_us = r.intended_us + 2_000;
            if r.outcome == OpOutcome::Ok && kind == OpKind::Query {
                r.rows = Some(100);
                r.verdict = Some(OpVerdict::Correct);
                if line == SparkLine::V4_1 && i == 80 {
                    r.verdict = Some(OpVerdict::Wrong);
                    r.verdict_detail = Some(WRONG_DIFF.into());
                } else if name == "q42" && i % 12 == 3 {
                    r.verdict = Some(OpVerdict::Undetermined);
                    r.verdict_detail = Some("LIMIT 100 cuts through 3 tied rows".into());
                }
            }
            if kind == OpKind::Write {
                r.ids = Some([i * 100, i * 100 + 99]);
            }
            records.push(r);
        }
        let mut read_back = record(
            records.len() as u64 + 1,
            line,
            OpKind::ReadBack,
            "read-back",
            258.0 + offset_s,
        );
        if line == SparkLine::V4_1 {
            read_back.outcome = OpOutcome::Info;
            read_back.message = Some("stream reset: connection lost mid-stream".into());
        }
        read_back.end_us = read_back.intended_us + 3_200_000;
        records.push(read_back);
    }
    records
}

fn record(op: u64, line: SparkLine, kind: OpKind, name: &str, t_s: f64) -> OpRecord {
    let intended_us = STARTED * 1000 + (t_s * 1e6).round() as u64;
    OpRecord {
        endpoint: format!("sc://127.0.0.1:150{}", line.slug()),
        warmup: t_s < 45.0,
        start_us: intended_us,
        end_us: intended_us,
        outcome: OpOutcome::Ok,
        ..OpRecord::planned(op, kind, line, name, intended_us)
    }
}

fn at(s: f64) -> u64 {
    STARTED + (s * 1000.0).round() as u64
}

fn check(
    name: &str,
    version: Option<&str>,
    verdict: Verdict,
    expected: &str,
    observed: &str,
    reason: &str,
) -> CheckResult {
    CheckResult {
        check: name.into(),
        version: version.map(str::to_string),
        verdict,
        expected: expected.into(),
        observed: observed.into(),
        reason: reason.into(),
        details: serde_json::Value::Null,
    }
}

/// Error classes of non-warm-up operations, per version, as the checkers would count them.
fn error_classes(history: &[OpRecord]) -> Vec<ErrorClassRow> {
    let mut rows: BTreeMap<(String, String), ErrorClassRow> = BTreeMap::new();
    for r in history
        .iter()
        .filter(|r| !r.warmup && r.outcome != OpOutcome::Ok)
    {
        let class = r
            .error_class
            .clone()
            .unwrap_or_else(|| format!("({})", r.outcome));
        let ms = r.intended_us / 1000;
        let row = rows
            .entry((r.version.to_string(), class.clone()))
            .or_insert_with(|| ErrorClassRow {
                version: r.version.to_string(),
                class,
                count: 0,
                first_ms: ms,
                last_ms: ms,
            });
        row.count += 1;
        row.first_ms = row.first_ms.min(ms);
        row.last_ms = row.last_ms.max(ms);
    }
    rows.into_values().collect()
}

/// The write read-back of a version from its write operations (100 ids each).
fn writes(history: &[OpRecord], line: SparkLine, error: Option<&str>) -> WriteRow {
    let of = |outcome: OpOutcome| {
        history
            .iter()
            .filter(|r| r.version == line && r.kind == OpKind::Write && r.outcome == outcome)
            .count() as u64
            * 100
    };
    let (acknowledged, uncertain) = (of(OpOutcome::Ok), of(OpOutcome::Info));
    WriteRow {
        version: line.to_string(),
        acknowledged,
        uncertain,
        read: if error.is_some() {
            0
        } else {
            acknowledged + uncertain / 2
        },
        lost_count: 0,
        duplicated_count: 0,
        error: error.map(str::to_string),
        lost: vec![],
        duplicated: vec![],
        unexpected: vec![],
    }
}

/// The full report.
pub(super) fn report() -> RunReport {
    let history = history();
    let ops = Op::all(&history);
    let phases = [
        ("provision", 0.0, 15.0),
        ("data", 15.0, 25.0),
        ("warm-up", 25.0, 45.0),
        ("baseline", 45.0, 105.0),
        ("faults", 105.0, 150.0),
        ("recovery", 150.0, 255.0),
        ("heal", 255.0, 257.0),
        ("final-reads", 257.0, 268.0),
        ("teardown", 268.0, 280.0),
    ];
    let first_ok_after_heal = |line: SparkLine| {
        history
            .iter()
            .filter(|r| {
                r.version == line
                    && r.outcome == OpOutcome::Ok
                    && r.intended_us / 1000 >= at(OUTAGE.1)
            })
            .map(|r| (r.start_us / 1000 - at(OUTAGE.1)) as f64 / 1000.0)
            .reduce(f64::min)
    };
    let (ok35, ok41) = (
        first_ok_after_heal(SparkLine::V3_5),
        first_ok_after_heal(SparkLine::V4_1),
    );
    let v35 = Some("3.5.7");
    let v41 = Some("4.1.0");
    let back = |s: Option<f64>| format!("{:.1}s", s.unwrap_or(f64::NAN));
    RunReport {
        schema: REPORT_SCHEMA,
        tool_version: "0.1.0".into(),
        scenario: ScenarioInfo {
            name: "s3-outage".into(),
            description: "S3 black-holed for 45 s under a steady TPC-DS load: both versions must keep answering correctly and recover within a minute.".into(),
            file: "scenarios/s3-outage.toml".into(),
            kind: "chaos".into(),
            platform: "local".into(),
            versions: vec!["3.5.7".into(), "4.1.0".into()],
            text: SCENARIO.into(),
        },
        started_ms: STARTED,
        ended_ms: at(280.0),
        workload: Some(WorkloadSpan { start_ms: at(25.0), end_ms: at(257.0) }),
        status: RunStatus::Completed,
        verdict: Verdict::Invalid,
        phases: phases
            .iter()
            .map(|(name, s, e)| PhaseSpan { name: (*name).into(), start_ms: at(*s), end_ms: at(*e) })
            .collect(),
        checks: vec![
            check("availability_before", v35, Verdict::Valid, ">= 0.99", "1.00 (26/26 ok)", "Every operation of the baseline succeeded."),
            check("availability_before", v41, Verdict::Valid, ">= 0.99", "1.00 (26/26 ok)", "Every operation of the baseline succeeded."),
            check("recovery_within", v35, Verdict::Invalid, "<= 60s", &back(ok35), &format!("Spark 3.5.7 ran its first successful operation {} after S3 came back (fault f1); the bound is 60 s.", back(ok35))),
            check("recovery_within", v41, Verdict::Valid, "<= 60s", &back(ok41), "Back well within the bound after the heal of f1."),
            check("latency_p99", v35, Verdict::Valid, "<= 30s", "2.5s", "The p99 outside fault windows is within the bound."),
            check("latency_p99", v41, Verdict::Valid, "<= 30s", "1.9s", "The p99 outside fault windows is within the bound."),
            check("wrong_answers", v35, Verdict::Valid, "= 0", "0 wrong", "The oracle found no wrong answer."),
            check("wrong_answers", v41, Verdict::Invalid, "= 0", "1 wrong", "q19 returned a wrong answer during recovery (operation 181); see the diff."),
            check("lost_writes", v35, Verdict::Valid, "= 0", "0 lost", "Every acknowledged id was read back."),
            check("lost_writes", v41, Verdict::Unknown, "= 0", "read-back did not finish", "The final read-back ended unknown (connection lost mid-stream), so lost writes cannot be counted."),
            check("faults_healed", None, Verdict::Valid, "all", "1/1 healed", "Every fault was healed on schedule."),
        ],
        faults: vec![FaultRecord {
            id: "f1".into(),
            kind: "s3-outage".into(),
            target: "s3".into(),
            versions: vec!["3.5.7".into(), "4.1.0".into()],
            params: BTreeMap::from([("mode".to_string(), "blackhole".to_string())]),
            injected_ms: at(OUTAGE.0),
            healed_ms: Some(at(OUTAGE.1)),
            detail: "proxy 127.0.0.1:19000 → MinIO 127.0.0.1:9000: every connection black-holed".into(),
            healed_by: Some("scheduled".into()),
        }],
        recoveries: vec![
            RecoveryRow { fault_id: "f1".into(), version: "3.5.7".into(), heal_ms: at(OUTAGE.1), first_ok_s: ok35, p99_back_s: Some(96.4), verdict: Verdict::Invalid },
            RecoveryRow { fault_id: "f1".into(), version: "4.1.0".into(), heal_ms: at(OUTAGE.1), first_ok_s: ok41, p99_back_s: Some(33.9), verdict: Verdict::Valid },
        ],
        error_classes: error_classes(&history),
        queries: query_rows_from(&ops),
        wrong_answers: wrong_answers_from(&ops),
        writes: vec![
            writes(&history, SparkLine::V3_5, None),
            writes(&history, SparkLine::V4_1, Some("read-back ended unknown: stream reset: connection lost mid-stream")),
        ],
        timeline: timeline_from(&ops, STARTED, &[]),
        throughput: throughput_from(&ops, STARTED),
        components: vec![
            ComponentRow { id: "postgres".into(), version: None, restarts: 0, last_exit: None },
            ComponentRow { id: "minio".into(), version: None, restarts: 0, last_exit: None },
            ComponentRow { id: "hms35".into(), version: v35.map(str::to_string), restarts: 0, last_exit: None },
            ComponentRow { id: "connect35".into(), version: v35.map(str::to_string), restarts: 0, last_exit: None },
            ComponentRow { id: "hms41".into(), version: v41.map(str::to_string), restarts: 0, last_exit: None },
            ComponentRow { id: "connect41".into(), version: v41.map(str::to_string), restarts: 1, last_exit: Some("exit status 1".into()) },
        ],
        sections: vec![Section::Legacy(LegacySection {
            id: "compatibility".into(),
            title: "Compatibility: 3.5.7 vs 4.1.0".into(),
            html: "<p>5 of 5 queries return the same answer on both versions.</p><table><thead><tr><th>query</th><th>same answer</th></tr></thead><tbody><tr><td>q3</td><td>yes</td></tr><tr><td>q19</td><td>yes</td></tr></tbody></table>".into(),
            markdown: "5 of 5 queries return the same answer on both versions.\n\n| query | same answer |\n|---|---|\n| q3 | yes |\n| q19 | yes |\n".into(),
            json: serde_json::json!({"same": 5, "of": 5}),
        })],
        notes: vec![
            "Spark 3.5.7 kept failing for 73 s after S3 came back: its S3A connections stayed stuck until their 60 s socket timeout.".into(),
            "Spark 4.1.0 returned one wrong answer for q19 during recovery; the same query was correct before and after.".into(),
        ],
        report_dir: format!("reports/{}", report_dir_name("s3-outage", STARTED)),
    }
}
