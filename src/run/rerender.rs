//! `chaos report <run-dir>`: a run's reports built again from the files the run left — its
//! `history.jsonl`, `faults.jsonl` and `report.json` — through the same assembly and writers
//! as the run ([`super::assemble::build`], [`super::write_outputs`]'s [`report::write_all`]).
//!
//! From the old `report.json` come only what the jsonl files do not hold: the scenario (its
//! text, parsed again: thresholds, versions, kind, formats), the run's times, status and
//! workload span, phases, write read-backs, components, sections, the report directory, the
//! checks that [`check::run_checks`] does not compute (fault schedule, compat, upgrade: kept as
//! recorded) and the notes that are not findings. The old timeline is skipped while reading
//! (never held). Everything else is computed again, so when neither the files nor the tool
//! changed, every file comes out byte for byte as the run wrote it; `--checks` re-judges with
//! another scenario file's `[checks]`.

use std::collections::BTreeMap;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::assemble;
use crate::check::{self, CheckResult};
use crate::exit;
use crate::fault::FaultRecord;
use crate::report::{
    self, ComponentRow, PhaseSpan, RunReport, RunStatus, ScenarioInfo, Section, WorkloadSpan,
    WriteRow,
};
use crate::workload::load::WriteCheck;

/// Why a run's reports could not be built again.
#[derive(Debug, thiserror::Error)]
pub enum RerenderError {
    /// A file of the run directory (or the `--checks` scenario) is missing or unreadable.
    #[error("{}: {message}", path.display())]
    Input {
        /// The file or directory.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A line of `history.jsonl` or `faults.jsonl` is not a record (the message names the
    /// file and the line).
    #[error("{0}")]
    Line(String),
    /// A report file could not be written.
    #[error("write {}: {source}", path.display())]
    Output {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl RerenderError {
    /// The documented exit code: 4 for a bad run directory or scenario, 6 for a failed write.
    pub fn exit_code(&self) -> u8 {
        match self {
            RerenderError::Input { .. } | RerenderError::Line(_) => exit::INVALID_INPUT,
            RerenderError::Output { .. } => exit::OUTPUT,
        }
    }

    fn input(path: &Path, message: impl Into<String>) -> RerenderError {
        RerenderError::Input {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

/// What `report.json` holds that the jsonl files do not; every other field is skipped.
#[derive(Deserialize)]
struct Recorded {
    scenario: ScenarioInfo,
    started_ms: u64,
    ended_ms: u64,
    #[serde(default)]
    workload: Option<WorkloadSpan>,
    status: RunStatus,
    phases: Vec<PhaseSpan>,
    checks: Vec<CheckResult>,
    writes: Vec<WriteRow>,
    components: Vec<ComponentRow>,
    #[serde(deserialize_with = "report::model::read_sections")]
    sections: Vec<Section>,
    notes: Vec<String>,
    report_dir: String,
}

/// What to re-render and how.
#[derive(Debug, Clone, Default)]
pub struct RerenderOptions {
    /// A scenario file whose `[checks]` replace the run's own.
    pub checks: Option<PathBuf>,
    /// Where to write the reports [default: the run directory itself].
    pub out: Option<PathBuf>,
}

/// What a re-render produced.
pub struct Rerendered {
    /// The report as written.
    pub report: RunReport,
    /// The files written.
    pub files: Vec<PathBuf>,
}

/// Builds every report file of the run in `dir` again (see the module documentation).
pub fn rerender(dir: &Path, o: &RerenderOptions) -> Result<Rerendered, RerenderError> {
    if !dir.is_dir() {
        return Err(RerenderError::input(
            dir,
            "not a run directory (it should hold report.json, history.jsonl and faults.jsonl)",
        ));
    }
    let json = dir.join("report.json");
    let file = std::fs::File::open(&json)
        .map_err(|e| RerenderError::input(&json, format!("cannot read the run's report: {e}")))?;
    let old: Recorded = serde_json::from_reader(BufReader::with_capacity(256 * 1024, file))
        .map_err(|e| RerenderError::input(&json, format!("not a chaos report: {e}")))?;
    let mut scenario =
        crate::scenario::parse(&old.scenario.text, &old.scenario.file).map_err(|e| {
            RerenderError::input(&json, format!("the scenario it holds is invalid:\n{e}"))
        })?;
    if let Some(path) = &o.checks {
        let other = crate::scenario::load(path)
            .map_err(|e| RerenderError::input(path, format!("the scenario is invalid:\n{e}")))?;
        scenario.checks = other.checks;
    }
    let history_path = dir.join("history.jsonl");
    let history = super::read_ops(&history_path).map_err(RerenderError::Line)?;
    let faults_path = dir.join("faults.jsonl");
    let mut faults: Vec<FaultRecord> = Vec::new();
    super::read_jsonl(&faults_path, |f| faults.push(f)).map_err(RerenderError::Line)?;

    let workload = old.workload.or_else(|| span_from_phases(&old.phases));
    let extra_checks: Vec<CheckResult> = old
        .checks
        .into_iter()
        .filter(|c| workload.is_none() || !check::is_checker(&c.check))
        .collect();
    let mut notes = old.notes;
    if let RunStatus::Failed { error } = &old.status {
        if notes.first() == Some(&format!("The run failed: {error}")) {
            notes.remove(0);
        }
    }
    if workload.is_some() {
        let findings = assemble::findings(&history, &faults).len();
        notes.truncate(notes.len().saturating_sub(findings));
    }
    let writes: BTreeMap<String, WriteCheck> = old
        .writes
        .into_iter()
        .map(|w| {
            let check = WriteCheck {
                acknowledged: w.acknowledged,
                uncertain: w.uncertain,
                read: w.read,
                lost: w.lost,
                lost_count: w.lost_count,
                duplicated: w.duplicated,
                unexpected: w.unexpected,
                error: w.error,
            };
            (w.version, check)
        })
        .collect();
    let report = assemble::build(assemble::Inputs {
        scenario: &scenario,
        file: Path::new(&old.scenario.file),
        text: &old.scenario.text,
        started_ms: old.started_ms,
        ended_ms: old.ended_ms,
        status: old.status,
        phases: old.phases,
        history: &history,
        faults: &faults,
        writes: &writes,
        workload: workload.map(|w| (w.start_ms, w.end_ms)),
        extra_checks,
        sections: old.sections,
        notes,
        components: old.components,
        report_dir: Path::new(&old.report_dir),
    });
    drop(history);
    let out = o.out.clone().unwrap_or_else(|| dir.to_path_buf());
    let files = report::write_all(&report, &out, &super::formats(&scenario))
        .map_err(|source| RerenderError::Output { path: out, source })?;
    Ok(Rerendered { report, files })
}

/// The workload's span of a report written before `workload` was recorded: from the start of
/// the `warm-up` phase to that of `final-reads` (the workload's nominal end).
fn span_from_phases(phases: &[PhaseSpan]) -> Option<WorkloadSpan> {
    let start = |name: &str| phases.iter().find(|p| p.name == name).map(|p| p.start_ms);
    Some(WorkloadSpan {
        start_ms: start("warm-up")?,
        end_ms: start("final-reads")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Format;
    use crate::versions::SparkLine;
    use crate::workload::history::{OpKind, OpOutcome, OpRecord, OpVerdict};

    const SCENARIO: &str = include_str!("../../scenarios/ci-smoke.toml");
    /// The run's start, Unix ms.
    const T0: u64 = 1_800_000_000_000;
    /// The workload's start: after provisioning and data.
    const W0: u64 = T0 + 20_000;

    /// Two queries per version and second for 85 s (10 s of warm-up), a write every 5 s; the
    /// 15 s S3 outage from 30 s makes most operations fail, and one before it fails too.
    fn history() -> Vec<OpRecord> {
        let mut out = Vec::new();
        let mut op = 0;
        for s in 0..85u64 {
            for line in SparkLine::ALL {
                for name in ["q3", "q7"] {
                    let intended_us = (W0 + s * 1000) * 1000;
                    let in_fault = (30..45).contains(&s);
                    let latency_us = if in_fault {
                        9_000_000
                    } else {
                        300_000 + s * 1000
                    };
                    let outcome = if in_fault || (s == 15 && name == "q7") {
                        OpOutcome::Fail
                    } else {
                        OpOutcome::Ok
                    };
                    op += 1;
                    out.push(OpRecord {
                        warmup: s < 10,
                        start_us: intended_us + 100,
                        end_us: intended_us + latency_us,
                        outcome,
                        error_class: (outcome == OpOutcome::Fail)
                            .then(|| "S3_UNAVAILABLE".to_string()),
                        message: (outcome == OpOutcome::Fail).then(|| "black-holed".to_string()),
                        verdict: (outcome == OpOutcome::Ok).then_some(OpVerdict::Correct),
                        endpoint: "127.0.0.1:17023".into(),
                        rows: Some(10),
                        ..OpRecord::planned(op, OpKind::Query, line, name, intended_us)
                    });
                }
                if s % 5 == 0 {
                    let intended_us = (W0 + s * 1000) * 1000;
                    op += 1;
                    out.push(OpRecord {
                        warmup: s < 10,
                        start_us: intended_us,
                        end_us: intended_us + 200_000,
                        outcome: OpOutcome::Ok,
                        ids: Some([op * 10, op * 10 + 9]),
                        ..OpRecord::planned(op, OpKind::Write, line, "write", intended_us)
                    });
                }
            }
        }
        out
    }

    fn faults() -> Vec<FaultRecord> {
        vec![FaultRecord {
            id: "f1".into(),
            kind: "s3-outage".into(),
            target: "s3".into(),
            versions: vec!["3.5.7".into(), "4.1.0".into()],
            params: BTreeMap::from([("mode".to_string(), "blackhole".to_string())]),
            injected_ms: W0 + 30_000,
            healed_ms: Some(W0 + 45_000),
            detail: "every connection black-holed".into(),
            healed_by: Some("scheduled".into()),
        }]
    }

    fn write_check(acknowledged: u64) -> WriteCheck {
        WriteCheck {
            acknowledged,
            uncertain: 0,
            read: acknowledged,
            lost: vec![],
            lost_count: 0,
            duplicated: vec![],
            unexpected: vec![],
            error: None,
        }
    }

    /// A run directory as `chaos run` leaves it: the history as the load driver writes it,
    /// then the run's own reading, assembly and writers.
    fn run_dir(dir: &Path) -> RunReport {
        let scenario = crate::scenario::parse(SCENARIO, "scenarios/ci-smoke.toml").expect("valid");
        let lines: String = history()
            .iter()
            .map(|r| serde_json::to_string(r).expect("a record") + "\n")
            .collect();
        std::fs::write(dir.join("history.jsonl"), lines).expect("history written");
        let history = super::super::read_ops(&dir.join("history.jsonl")).expect("history read");
        let faults = faults();
        let writes = BTreeMap::from([
            ("3.5.7".to_string(), write_check(170)),
            ("4.1.0".to_string(), write_check(170)),
        ]);
        let phase = |name: &str, s: u64, e: u64| PhaseSpan {
            name: name.into(),
            start_ms: T0 + s * 1000,
            end_ms: T0 + e * 1000,
        };
        let report = assemble::build(assemble::Inputs {
            scenario: &scenario,
            file: Path::new("scenarios/ci-smoke.toml"),
            text: SCENARIO,
            started_ms: T0,
            ended_ms: T0 + 120_000,
            status: RunStatus::Completed,
            phases: vec![
                phase("provision", 0, 15),
                phase("data", 15, 20),
                phase("warm-up", 20, 30),
                phase("baseline", 30, 50),
                phase("faults", 50, 65),
                phase("recovery", 65, 95),
                phase("final-reads", 95, 100),
            ],
            history: &history,
            faults: &faults,
            writes: &writes,
            workload: Some((W0, W0 + 75_000)),
            extra_checks: vec![CheckResult {
                check: "fault_schedule".into(),
                version: None,
                verdict: crate::check::Verdict::Valid,
                expected: "1 injected".into(),
                observed: "1 injected".into(),
                reason: "every scheduled fault was injected".into(),
                details: serde_json::json!({"ratio": 0.1, "ids": ["f1"]}),
            }],
            sections: vec![],
            notes: vec!["driver: one session reconnected".into()],
            components: vec![ComponentRow {
                id: "connect-35-0".into(),
                version: Some("3.5.7".into()),
                restarts: 1,
                last_exit: Some("signal 9 (SIGKILL)".into()),
            }],
            report_dir: dir,
        });
        super::super::write_outputs(&report, dir, &faults, &super::super::formats(&scenario))
            .expect("reports written");
        report
    }

    fn files(dir: &Path) -> Vec<(&'static str, Vec<u8>)> {
        Format::ALL
            .iter()
            .map(|f| f.file_name())
            .chain(["faults.jsonl", "history.jsonl"])
            .map(|name| {
                (
                    name,
                    std::fs::read(dir.join(name)).expect("a file of the run"),
                )
            })
            .collect()
    }

    fn check<'a>(r: &'a RunReport, name: &str, version: &str) -> &'a CheckResult {
        r.checks
            .iter()
            .find(|c| c.check == name && c.version.as_deref() == Some(version))
            .unwrap_or_else(|| panic!("no {name} on {version}"))
    }

    #[test]
    fn a_run_directory_renders_again_byte_for_byte() {
        let tmp = tempfile::tempdir().expect("a temporary directory");
        let run = run_dir(tmp.path());
        assert!(
            run.notes.len() > 1,
            "the run has findings besides its own note"
        );
        assert!(run.checks.iter().any(|c| c.check == "recovery_within"));
        let before = files(tmp.path());
        assert_eq!(before.len(), 6, "every report format is written");
        let again = rerender(tmp.path(), &RerenderOptions::default()).expect("re-rendered");
        assert_eq!(again.report, run);
        assert_eq!(again.files.len(), 4);
        for ((name, old), (_, new)) in before.iter().zip(files(tmp.path())) {
            assert!(*old == new, "{name} changed when re-rendered");
        }
    }

    #[test]
    fn other_checks_rejudge_the_run() {
        let tmp = tempfile::tempdir().expect("a temporary directory");
        let run = run_dir(tmp.path());
        // One q7 failed in the 20 s baseline: 79 of 80 operations ok per version.
        let before = check(&run, "availability_before", "3.5.7");
        assert_eq!(before.verdict, crate::check::Verdict::Valid, "{before:?}");
        let strict = tmp.path().join("strict.toml");
        let text = SCENARIO.replace("availability_before = 0.9", "availability_before = 0.999");
        std::fs::write(&strict, text).expect("scenario written");
        let out = tmp.path().join("strict");
        let opts = RerenderOptions {
            checks: Some(strict),
            out: Some(out.clone()),
        };
        let again = rerender(tmp.path(), &opts).expect("re-rendered");
        let after = check(&again.report, "availability_before", "3.5.7");
        assert_eq!(after.verdict, crate::check::Verdict::Invalid, "{after:?}");
        assert_eq!(again.report.verdict, crate::check::Verdict::Invalid);
        assert_eq!(after.expected, ">= 0.999");
        // The recorded check and notes survive; the run's own files are untouched.
        assert!(again
            .report
            .checks
            .iter()
            .any(|c| c.check == "fault_schedule"));
        assert_eq!(again.report.notes, run.notes);
        let old = std::fs::read_to_string(tmp.path().join("report.json")).expect("old report");
        let new = std::fs::read_to_string(out.join("report.json")).expect("new report");
        assert!(old.contains("\">= 0.9\"") && new.contains("\">= 0.999\""));
        assert_eq!(serde_json::from_str::<RunReport>(&old).expect("json"), run);
    }

    #[test]
    fn a_bad_run_directory_names_the_file_and_exits_4() {
        let tmp = tempfile::tempdir().expect("a temporary directory");
        let missing = tmp.path().join("nope");
        let e = rerender(&missing, &RerenderOptions::default())
            .err()
            .expect("an error");
        assert_eq!(e.exit_code(), exit::INVALID_INPUT);
        assert!(e.to_string().contains("nope: not a run directory"), "{e}");
        let e = rerender(tmp.path(), &RerenderOptions::default())
            .err()
            .expect("an error");
        assert!(
            e.to_string()
                .contains("report.json: cannot read the run's report"),
            "{e}"
        );
        run_dir(tmp.path());
        let history = tmp.path().join("history.jsonl");
        let mut text = std::fs::read_to_string(&history).expect("history");
        text.push_str("{\"op\": oops}\n");
        std::fs::write(&history, &text).expect("history written");
        let e = rerender(tmp.path(), &RerenderOptions::default())
            .err()
            .expect("an error");
        assert_eq!(e.exit_code(), exit::INVALID_INPUT);
        let lines = text.lines().count();
        let expected = format!("{}:{lines}: expected value", history.display());
        assert!(e.to_string().starts_with(&expected), "{e}");
        std::fs::write(tmp.path().join("report.json"), "{}").expect("written");
        let e = rerender(tmp.path(), &RerenderOptions::default())
            .err()
            .expect("an error");
        assert!(
            e.to_string().contains("report.json: not a chaos report"),
            "{e}"
        );
    }

    #[test]
    fn the_committed_example_renders_again_with_the_same_verdicts() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("reports/examples/s3-outage");
        let tmp = tempfile::tempdir().expect("a temporary directory");
        for name in ["report.json", "history.jsonl", "faults.jsonl"] {
            std::fs::copy(example.join(name), tmp.path().join(name)).expect("copied");
        }
        let old: RunReport = serde_json::from_str(
            &std::fs::read_to_string(example.join("report.json")).expect("example"),
        )
        .expect("a report");
        let again = rerender(tmp.path(), &RerenderOptions::default()).expect("re-rendered");
        let verdicts = |r: &RunReport| -> Vec<(String, Option<String>, crate::check::Verdict)> {
            r.checks
                .iter()
                .map(|c| (c.check.clone(), c.version.clone(), c.verdict))
                .collect()
        };
        let expected = verdicts(&old);
        assert_eq!(verdicts(&again.report), expected);
        assert_eq!(again.report.queries, old.queries);
        assert_eq!(again.report.verdict, old.verdict);
    }
}
