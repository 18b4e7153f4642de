//! `kind = "upgrade"`: a workload running against one Spark version is moved to the other and,
//! optionally, back (a rehearsed roll-back), blue/green or in place; what the clients saw at
//! each switch is measured.
//!
//! # How a run goes
//!
//! - **One endpoint.** Clients use the environment's cut-over endpoints (the `edge-R` links,
//!   one per Connect replica, see `plan.rs`): proxies hosted by the supervisor that forward to
//!   one version's Connect servers at a time. A route change is written to
//!   `faults/routes.json`; the supervisor points the edges at the new side, resets their open
//!   connections (clients reconnect to the new side, as behind a load balancer) and
//!   acknowledges; the runner waits for that (see `links.rs`).
//! - **Blue/green**: both versions' Connect servers run throughout; a switch is the route
//!   change.
//! - **In place**: before the load starts, the target version's Connect servers are stopped and
//!   held down. A switch stops (SIGTERM) and holds the old side's servers, routes the edges to
//!   the new side and releases its hold; the runner then waits until the new side answers
//!   through the edge and until the supervisor reports it ready. A roll-back does the reverse. Every hold is a `stop` fault in the ledger owned by this
//!   process, so the normal end, an error, Ctrl-C, a panic (`HealGuard`) or a SIGKILL (the next
//!   command's recovery) releases it.
//! - **Writes** go to one external Parquet table created before the load at one S3 location
//!   (`s3a://<bucket>/upgrade/<run>/writes`) in *both* metastores, each through its own
//!   version, so both versions write and read the same files. After each switch, once the new
//!   side answers through the edge, every id acknowledged before the switch is read back there
//!   (after `REFRESH TABLE`: the other version wrote files this one's cached listing lacks). At
//!   the end every write is read back on both versions (the normal `lost_writes` and
//!   `duplicated_writes` checks use those).
//! - Each operation records the version it was routed to at its start.
//! - Faults (`[[fault]]`) are optional and scheduled as in a chaos run.
//!
//! Measurements and checks are in [`crate::check::upgrade`], the report section in
//! [`crate::report::upgrade`]. Here: `route` (the edges), `switcher` (the switches and
//! in-place holds), `readback` (reading the shared table), and the phase below.

mod readback;
mod route;
mod switcher;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use self::readback::{create_shared_table, final_read_back};
use self::switcher::{run_switches, Acked, Switcher};
use super::drive::{drive, Harness, Tally};
use super::{schedule, Ctx, Parts, Phases, RunError, RunOptions};
use crate::check::upgrade::{
    checks, measure, timeline_ops, Switch, UpgradeSummary, DEFAULT_MAX_UNAVAILABILITY,
};
use crate::platform::Endpoints;
use crate::report::upgrade::style_name;
use crate::report::Section;
use crate::scenario::model::{Scenario, UpgradeSpec, UpgradeStyle};
use crate::units::now_ms;
use crate::versions::SparkLine;
use crate::workload::assemble as wl;
use crate::workload::history::{OpKind, OpOutcome, OpRecord};
use crate::workload::load::{self, LoadOptions};

/// One switch to make: `to` at `after_warmup`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Planned {
    label: &'static str,
    from: SparkLine,
    to: SparkLine,
    after_warmup: Duration,
}

/// The switches an `[upgrade]` table asks for, in time order.
fn planned(spec: &UpgradeSpec) -> Vec<Planned> {
    let mut out = vec![Planned {
        label: "cut-over",
        from: spec.from,
        to: spec.to,
        after_warmup: spec.cutover_at.get(),
    }];
    if let Some(rb) = spec.rollback_at {
        out.push(Planned {
            label: "roll-back",
            from: spec.to,
            to: spec.from,
            after_warmup: rb.get(),
        });
    }
    out
}

/// One upgrade run: what the phases share.
struct UpgradeRun<'a> {
    s: &'a Scenario,
    o: &'a RunOptions,
    env: &'a Endpoints,
    rt: &'a tokio::runtime::Runtime,
    spec: UpgradeSpec,
    /// The cut-over endpoints.
    edges: Vec<String>,
    /// The shared write table and its location, when the workload writes.
    table: Option<(String, String)>,
}

impl UpgradeRun<'_> {
    fn workload(&self) -> &crate::scenario::model::WorkloadSpec {
        self.s.workload.as_ref().expect("checked in run_upgrade")
    }

    fn table_name(&self) -> Option<String> {
        self.table.as_ref().map(|(t, _)| t.clone())
    }

    /// Creates the write table at its location in both metastores.
    fn create_table(&self) -> Result<(), String> {
        let Some((table, location)) = &self.table else {
            return Ok(());
        };
        let lines = [self.spec.from, self.spec.to];
        self.rt
            .block_on(create_shared_table(self.env, table, location, &lines))?;
        (self.o.say)(&format!("    {table} at {location} in both metastores"));
        Ok(())
    }

    fn switcher(&self) -> Switcher {
        Switcher {
            platform: self.o.platform.clone(),
            env: self.env.clone(),
            style: self.spec.style,
            edge: self.edges[0].clone(),
            table: self.table_name(),
            op_timeout: self.workload().timeout.get(),
            serving: Arc::new(Mutex::new(self.spec.from)),
            acks: Arc::new(Mutex::new(vec![])),
            holds: Mutex::new(BTreeMap::new()),
        }
    }

    fn load_config(&self, queries: Vec<load::LoadQuery>, history: &Path) -> load::LoadConfig {
        let targets = vec![load::Target {
            version: self.spec.from,
            endpoints: self.edges.clone(),
        }];
        let w = self.workload();
        super::load_config(
            self.s,
            w,
            targets,
            queries,
            history.to_path_buf(),
            self.table_name(),
        )
    }

    /// Holds (in place), runs the load with the switches and the fault schedule, and collects
    /// the history; returns the switches as they happened.
    fn drive(
        &self,
        occurrences: &[schedule::Occurrence],
        dir: &Path,
        phases: &mut Phases,
        parts: &mut Parts,
        switcher: &Arc<Switcher>,
    ) -> Result<Vec<Switch>, RunError> {
        let (o, w) = (self.o, self.workload());
        let (queries, judge) = wl::queries(&o.cache, &w.query_selection(), self.s.data.scale)
            .map_err(RunError::env)?;
        switcher.route(self.spec.from).map_err(RunError::env)?;
        if self.spec.style == UpgradeStyle::InPlace {
            let held = switcher.hold_down(self.spec.to).map_err(RunError::env)?;
            (o.say)(&format!("    {held}"));
        }
        let history_path = dir.join("history.jsonl");
        let cfg = self.load_config(queries, &history_path);
        phases.begin(
            "warm-up",
            &format!(
                "{} then {} measured on the cut-over endpoint, {} switch(es), {} fault occurrence(s)",
                w.warmup,
                crate::units::HumanDuration(w.measured()),
                planned(&self.spec).len(),
                occurrences.len()
            ),
        );
        let t0_ms = now_ms();
        let stop = Arc::new(AtomicBool::new(false));
        let (harness, tally) = Harness::for_run(o, occurrences);
        let opts = load_options(switcher, tally, w.concurrent_writes);
        let say = o.say;
        let workload = async {
            let switching = tokio::spawn(run_switches(
                switcher.clone(),
                planned(&self.spec),
                Instant::now(),
                w.warmup.get(),
                stop.clone(),
                say,
            ));
            let r = load::run_with(cfg, judge, stop.clone(), opts).await;
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
            (r, switching.await.unwrap_or_default())
        };
        let driven = self.rt.block_on(drive(harness, stop.clone(), workload));
        let (report, switches) = driven.output;
        let end_ms = t0_ms + w.duration.get().as_millis() as u64;
        let warmup_end = t0_ms + w.warmup.get().as_millis() as u64;
        add_phases(phases, warmup_end, end_ms, now_ms(), &switches);
        parts.fault_ids = driven.injected;
        parts.notes.extend(driven.notes);
        let report = report.map_err(|e| RunError::Env(format!("load: {e}")))?;
        parts.workload_span = Some((t0_ms, end_ms));
        parts.history = super::read_history(&history_path)?;
        parts.writes = report
            .writes
            .into_iter()
            .map(|(v, c)| (v.version().to_string(), c))
            .collect();
        Ok(switches)
    }

    /// Reads every write back on each version the load's own read-back did not cover
    /// (directly, not through the edge).
    fn read_back_everywhere(&self, parts: &mut Parts) {
        let Some(table) = self.table_name() else {
            return;
        };
        let timeout = self.workload().timeout.get();
        for line in [self.spec.from, self.spec.to] {
            if parts.writes.contains_key(line.version()) {
                continue;
            }
            let check = self.rt.block_on(final_read_back(
                self.env,
                line,
                &table,
                &parts.history,
                timeout,
            ));
            (self.o.say)(&format!(
                "    read-back on Spark {line}: {} acknowledged, {} missing{}",
                check.acknowledged,
                check.lost_count,
                check
                    .error
                    .as_deref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default()
            ));
            parts.writes.insert(line.version().to_string(), check);
        }
    }

    /// The measures, the checks and the section. A switch that did not complete fails the run.
    fn finish(&self, parts: &mut Parts, switches: Vec<Switch>) -> Result<(), RunError> {
        let (start_ms, end_ms) = parts.workload_span.unwrap_or((0, 0));
        // The load runs past the nominal end by its warm-up and last operations.
        let last_ms = parts.history.iter().map(|r| r.end_us / 1000).max();
        let measures = measure(
            &parts.history,
            &switches,
            last_ms.unwrap_or(end_ms).max(end_ms),
        );
        let max = self
            .s
            .checks
            .recovery_within
            .map_or(DEFAULT_MAX_UNAVAILABILITY, |d| d.get());
        let max_lost = self.s.checks.lost_writes.unwrap_or(0);
        let writes = self.table.is_some();
        parts
            .extra_checks
            .extend(checks(&measures, &switches, max, max_lost, writes));
        let (ops, _) = timeline_ops(&parts.history);
        let summary = UpgradeSummary {
            style: self.spec.style,
            from: self.spec.from.to_string(),
            to: self.spec.to.to_string(),
            endpoints: self.edges.clone(),
            table: self.table_name(),
            location: self.table.as_ref().map(|(_, l)| l.clone()),
            workload_start_ms: start_ms,
            workload_end_ms: end_ms,
            switches,
            measures,
            ops,
            last_end_ms: last_ms,
        };
        let error = summary.switches.iter().find_map(|s| s.error.clone());
        let happened = summary.switches.len();
        parts.sections.push(Section::Upgrade(Box::new(summary)));
        if let Some(e) = error {
            return Err(RunError::Env(format!("the upgrade did not complete: {e}")));
        }
        let expected = planned(&self.spec).len();
        if happened < expected && !(self.o.interrupted)() {
            return Err(RunError::Env(format!(
                "{happened} of {expected} switches happened (the load ended early)"
            )));
        }
        Ok(())
    }
}

/// The load's options: the serving version, the pre-created shared table, the progress tally
/// and the acknowledged writes collected for the switches' read-backs.
fn load_options(switcher: &Switcher, tally: Tally, concurrent_writes: bool) -> LoadOptions {
    let acks = switcher.acks.clone();
    let count = super::drive::counting(tally);
    LoadOptions {
        serving: Some(switcher.serving.clone()),
        table_exists: true,
        refresh_before_read_back: true,
        concurrent_writes,
        on_record: Some(Arc::new(move |r: &OpRecord| {
            count(r);
            if let (OpKind::Write, OpOutcome::Ok, Some(ids)) = (r.kind, r.outcome, r.ids) {
                acks.lock().expect("acks lock").push(Acked {
                    end_us: r.end_us,
                    ids,
                });
            }
        })),
    }
}

/// The baseline, each switch (to the new side's first answer) and the final reads.
fn add_phases(phases: &mut Phases, warmup_end: u64, end_ms: u64, t_end: u64, switches: &[Switch]) {
    phases.add(
        "baseline",
        warmup_end,
        switches.first().map_or(end_ms, |s| s.at_ms),
    );
    for s in switches {
        let done = s.answered_ms.or(s.routed_ms).unwrap_or(s.at_ms + 1);
        phases.add(&s.label, s.at_ms, done.max(s.at_ms + 1));
    }
    phases.add("final-reads", end_ms, t_end);
}

/// The shared write table's name and location for this run, when the workload writes.
fn write_table(s: &Scenario, env: &Endpoints, dir: &Path) -> Option<(String, String)> {
    if !s.workload.as_ref().is_some_and(|w| w.writes) {
        return None;
    }
    let run = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| format!("{}-{}", s.name, now_ms()));
    let table = format!(
        "default.chaos_upgrade_{}_{}",
        s.name.replace(['-', '.'], "_"),
        now_ms()
    );
    let location = format!("s3a://{}/upgrade/{run}/writes", env.bucket);
    Some((table, location))
}

/// Runs an upgrade scenario's workload with its switches (provision and data are done by the
/// caller). Every hold is released and the routes restored on every exit path.
pub(super) fn run_upgrade(
    ctx: &Ctx,
    phases: &mut Phases,
    parts: &mut Parts,
) -> Result<(), RunError> {
    let Ctx {
        s,
        o,
        occurrences,
        dir,
        endpoints: env,
        rt,
    } = *ctx;
    let spec = s
        .upgrade
        .clone()
        .ok_or_else(|| RunError::Input("an upgrade scenario needs an [upgrade] table".into()))?;
    if s.workload.is_none() {
        return Err(RunError::Input(
            "an upgrade scenario needs a [workload]".into(),
        ));
    }
    let edges = env.edge_urls();
    if edges.is_empty() {
        return Err(RunError::Env("this environment has no cut-over endpoint (edge links): it predates upgrade support or does not run both versions; run `chaos env down` and run the scenario again".into()));
    }
    let run = UpgradeRun {
        s,
        o,
        env,
        rt,
        table: write_table(s, env, dir),
        spec,
        edges,
    };
    phases.begin(
        "set-up",
        &format!(
            "{} upgrade {} → {}: shared write table, clients on the cut-over endpoint",
            style_name(run.spec.style),
            run.spec.from,
            run.spec.to
        ),
    );
    run.create_table().map_err(RunError::Env)?;
    let switcher = Arc::new(run.switcher());
    let routes = switcher.route_guard();
    let driven = run.drive(occurrences, dir, phases, parts, &switcher);
    for e in switcher.release_all() {
        parts
            .notes
            .push(format!("upgrade: could not release a hold: {e}"));
    }
    if let Err(e) = routes.restore() {
        parts
            .notes
            .push(format!("upgrade: could not restore the routes: {e}"));
    }
    let switches = driven?;
    run.read_back_everywhere(parts);
    run.finish(parts, switches)
}

#[cfg(test)]
mod tests {
    use super::*;
    use SparkLine::{V3_5 as OLD, V4_1 as NEW};

    #[test]
    fn planned_switches_follow_the_upgrade_table() {
        let spec = UpgradeSpec {
            style: UpgradeStyle::InPlace,
            from: OLD,
            to: NEW,
            cutover_at: crate::units::HumanDuration(Duration::from_secs(60)),
            rollback_at: Some(crate::units::HumanDuration(Duration::from_secs(150))),
        };
        let p = planned(&spec);
        assert_eq!(p.len(), 2);
        assert_eq!(
            (p[0].from, p[0].to, p[0].after_warmup),
            (OLD, NEW, Duration::from_secs(60))
        );
        assert_eq!((p[1].label, p[1].from, p[1].to), ("roll-back", NEW, OLD));
        let once = UpgradeSpec {
            rollback_at: None,
            ..spec
        };
        assert_eq!(planned(&once).len(), 1);
    }
}
