//! Building the run's report from what the phases collected (pure).

use std::collections::BTreeMap;
use std::path::Path;

use crate::check::{CheckResult, Verdict};
use crate::fault::FaultRecord;
use crate::report::{
    self, ErrorClassRow, RecoveryRow, RunReport, RunStatus, ScenarioInfo, WriteRow,
};
use crate::scenario::model::Scenario;
use crate::workload::history::{Op, OpOutcome};
use crate::workload::load::WriteCheck;

/// Everything a report is built from.
pub struct Inputs<'a> {
    /// The scenario.
    pub scenario: &'a Scenario,
    /// Its file.
    pub file: &'a Path,
    /// Its text.
    pub text: &'a str,
    /// Run start.
    pub started_ms: u64,
    /// Run end.
    pub ended_ms: u64,
    /// How it ended.
    pub status: RunStatus,
    /// Phase spans.
    pub phases: Vec<report::PhaseSpan>,
    /// Operation history.
    pub history: &'a [Op],
    /// Faults the run injected.
    pub faults: &'a [FaultRecord],
    /// Write checks by version.
    pub writes: &'a BTreeMap<String, WriteCheck>,
    /// The workload's start and nominal end (None if it never ran).
    pub workload: Option<(u64, u64)>,
    /// Checks from outside the checkers (fault schedule, compatibility).
    pub extra_checks: Vec<CheckResult>,
    /// Sections of compat and upgrade runs, as data.
    pub sections: Vec<report::Section>,
    /// Findings in sentences.
    pub notes: Vec<String>,
    /// Components and their restarts during the run.
    pub components: Vec<report::ComponentRow>,
    /// Where the report goes.
    pub report_dir: &'a Path,
}

/// Builds the report. A run that failed or never reached its workload has Unknown checks; a
/// failed run's verdict is never Valid.
pub fn build(i: Inputs<'_>) -> RunReport {
    let interrupted = matches!(i.status, RunStatus::Interrupted);
    let mut checks = Vec::new();
    let mut recoveries = Vec::new();
    let mut error_classes = Vec::new();
    let mut notes = i.notes;
    if let Some(span) = i.workload {
        let cr = super::checks_for(i.scenario, i.history, i.faults, i.writes, span, interrupted);
        checks = cr.results;
        recoveries = cr
            .recoveries
            .iter()
            .filter_map(|r| {
                Some(RecoveryRow {
                    fault_id: r.fault.clone(),
                    version: r.version.clone(),
                    heal_ms: r.healed_ms?,
                    // Both are already delays after the heal (ms), not instants.
                    first_ok_s: r.first_ok_ms.map(|d| d as f64 / 1000.0),
                    p99_back_s: r.back_in_band_ms.map(|d| d as f64 / 1000.0),
                    verdict: r.verdict.unwrap_or(Verdict::Unknown),
                })
            })
            .collect();
        error_classes = cr
            .error_classes
            .iter()
            .map(|e| ErrorClassRow {
                version: e.version.clone(),
                class: e.class.clone(),
                count: e.count,
                first_ms: e.first_ms,
                last_ms: e.last_ms,
            })
            .collect();
        notes.extend(findings(i.history, i.faults));
    }
    checks.extend(i.extra_checks);
    let mut verdict = Verdict::merge_all(checks.iter().map(|c| c.verdict));
    if let RunStatus::Failed { error } = &i.status {
        verdict = verdict.merge(Verdict::Unknown);
        notes.insert(0, format!("The run failed: {error}"));
    }
    let writes = i
        .writes
        .iter()
        .map(|(v, w)| WriteRow {
            version: v.clone(),
            acknowledged: w.acknowledged,
            uncertain: w.uncertain,
            read: w.read,
            lost_count: w.lost_count,
            duplicated_count: w.duplicated.len() as u64,
            error: w.error.clone(),
            lost: w.lost.clone(),
            duplicated: w.duplicated.clone(),
            unexpected: w.unexpected.clone(),
        })
        .collect();
    RunReport {
        schema: report::REPORT_SCHEMA,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        scenario: ScenarioInfo {
            name: i.scenario.name.clone(),
            description: i.scenario.description.clone(),
            file: i.file.display().to_string(),
            kind: i.scenario.kind.as_str().into(),
            platform: "local".into(),
            versions: i
                .scenario
                .spark
                .iter()
                .map(|l| l.version().to_string())
                .collect(),
            text: i.text.to_string(),
        },
        started_ms: i.started_ms,
        ended_ms: i.ended_ms,
        workload: i
            .workload
            .map(|(start_ms, end_ms)| report::WorkloadSpan { start_ms, end_ms }),
        status: i.status,
        verdict,
        phases: i.phases,
        checks,
        faults: i.faults.to_vec(),
        recoveries,
        error_classes,
        queries: report::query_rows_from(i.history),
        wrong_answers: report::wrong_answers_from(i.history),
        writes,
        timeline: report::timeline_from(i.history, i.started_ms, i.faults),
        throughput: report::throughput_from(i.history, i.started_ms),
        components: i.components,
        sections: i.sections,
        notes,
        report_dir: i.report_dir.display().to_string(),
    }
}

/// Plain sentences about what each fault did to each version: operations that failed or were
/// left unknown while it was in force, and their most common error class.
pub fn findings(history: &[Op], faults: &[FaultRecord]) -> Vec<String> {
    let mut out = Vec::new();
    for f in faults {
        let end = f.healed_ms.unwrap_or(u64::MAX).max(f.injected_ms + 1);
        for v in &f.versions {
            let during: Vec<&Op> = history
                .iter()
                .filter(|r| r.version.version() == v && !r.warmup)
                .filter(|r| {
                    let t = r.intended_us / 1000;
                    t >= f.injected_ms && t < end
                })
                .collect();
            if during.is_empty() {
                continue;
            }
            let bad: Vec<&&Op> = during
                .iter()
                .filter(|r| r.outcome != OpOutcome::Ok)
                .collect();
            let mut classes: BTreeMap<String, usize> = BTreeMap::new();
            for r in &bad {
                let c = r
                    .error_class()
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("{} (no error class)", r.outcome));
                *classes.entry(c).or_default() += 1;
            }
            let top = classes
                .iter()
                .max_by_key(|(_, n)| **n)
                .map(|(c, n)| format!("; most common: {c} ×{n}"))
                .unwrap_or_default();
            out.push(format!(
                "During {} ({} on {}), Spark {v}: {} of {} operations started did not succeed{top}.",
                f.id,
                f.kind,
                f.target,
                bad.len(),
                during.len()
            ));
        }
    }
    out
}
