//! The switches of one upgrade run: moving the clients (blue/green or in place), waiting for
//! the new side to answer, reading back what was acknowledged before.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::readback::{answered_by, read_back_acked};
use super::route::{route_to, RouteGuard};
use super::Planned;
use crate::check::upgrade::Switch;
use crate::fault::inject;
use crate::fault::ledger::Owner;
use crate::platform::{ConnectCondition, Endpoints, PlatformRef};
use crate::scenario::model::UpgradeStyle;
use crate::units::now_ms;
use crate::versions::SparkLine;
use crate::workload::load::ServingVersion;

/// How long a held Connect server may take to stop after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(90);
/// How long a released Connect server may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(600);
/// How long the new side may take to answer through the edge once routed (and ready).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);

/// Why a step of a switch failed (its text goes into the switch's `error` in the report).
#[derive(Debug, thiserror::Error)]
pub(super) enum SwitchError {
    /// The platform could not route, or its Connect servers did not reach the state waited for.
    #[error(transparent)]
    Platform(#[from] crate::platform::PlatformError),
    /// Holding or releasing a side (a `stop` fault) failed.
    #[error("{what}: {source}")]
    Fault {
        /// What was attempted (`stop connect@4.1.0:all`, `release f7`).
        what: String,
        /// The cause.
        #[source]
        source: crate::fault::inject::FaultError,
    },
    /// The hold could not be expressed as a fault.
    #[error("stop {target}: {message}")]
    Spec {
        /// The target.
        target: String,
        /// What the catalogue said.
        message: String,
    },
    /// The new side did not answer through the edge.
    #[error("{0}")]
    Answer(String),
    /// A blocking step's task died.
    #[error("{what}: {source}")]
    Task {
        /// The step.
        what: &'static str,
        /// The cause.
        #[source]
        source: tokio::task::JoinError,
    },
}

/// A switch beginning now.
fn begin(p: Planned) -> Switch {
    Switch {
        label: p.label.to_string(),
        from: p.from,
        to: p.to,
        at_ms: now_ms(),
        routed_ms: None,
        answered_ms: None,
        steps: vec![],
        read_back: None,
        error: None,
    }
}

/// A write the workload had acknowledged: when, and its ids.
#[derive(Debug, Clone, Copy)]
pub(super) struct Acked {
    pub(super) end_us: u64,
    pub(super) ids: [u64; 2],
}

/// Performs the switches (and the in-place holds) of one run.
pub(super) struct Switcher {
    pub(super) platform: PlatformRef,
    pub(super) env: Endpoints,
    pub(super) style: UpgradeStyle,
    /// The first cut-over endpoint: the runner's own probe and read-backs go through it.
    pub(super) edge: String,
    pub(super) table: Option<String>,
    pub(super) op_timeout: Duration,
    pub(super) serving: ServingVersion,
    pub(super) acks: Arc<Mutex<Vec<Acked>>>,
    /// Held lines and their `stop` faults.
    pub(super) holds: Mutex<BTreeMap<SparkLine, String>>,
}

impl Switcher {
    /// Routes the edges to `line` and records it as serving.
    pub(super) fn route(&self, line: SparkLine) -> Result<String, SwitchError> {
        route_to(self.platform.as_ref(), &self.env, line)?;
        *self.serving.lock().expect("serving lock") = line;
        Ok(format!(
            "edges routed to Spark {line} (open connections reset)"
        ))
    }

    /// A guard that restores the planned routes when dropped (or by `restore`).
    pub(super) fn route_guard(&self) -> RouteGuard<'_> {
        RouteGuard {
            platform: self.platform.as_ref(),
            env: &self.env,
            armed: true,
        }
    }

    /// Stops `line`'s Connect servers and holds them down (a `stop` fault owned by this run).
    pub(super) fn hold_down(&self, line: SparkLine) -> Result<String, SwitchError> {
        let target = format!("connect@{}:all", line.version());
        let spec =
            crate::fault::catalog::parse("stop", Some(&target), &BTreeMap::new()).map_err(|e| {
                SwitchError::Spec {
                    target: target.clone(),
                    message: e.message,
                }
            })?;
        let rec = inject::inject(self.platform.as_ref(), &spec, Some(Owner::me()), None).map_err(
            |source| SwitchError::Fault {
                what: format!("stop {target}"),
                source,
            },
        )?;
        self.holds
            .lock()
            .expect("holds lock")
            .insert(line, rec.id.clone());
        let took = self
            .platform
            .wait_connect(line, ConnectCondition::Stopped, STOP_TIMEOUT)?;
        Ok(format!(
            "stopped and held {target} ({}, down after {:.1}s)",
            rec.id,
            took.as_secs_f64()
        ))
    }

    /// Releases `line`'s hold: the supervisor starts its Connect servers again.
    fn release(&self, line: SparkLine) -> Result<String, SwitchError> {
        let id = self.holds.lock().expect("holds lock").remove(&line);
        let Some(id) = id else {
            return Ok(format!("Spark {line} was not held"));
        };
        inject::heal(self.platform.as_ref(), &id, "upgrade: released").map_err(|source| {
            SwitchError::Fault {
                what: format!("release {id}"),
                source,
            }
        })?;
        Ok(format!("released connect@{line}:all ({id})"))
    }

    /// Waits until the supervisor reports `line`'s Connect servers ready.
    pub(super) fn wait_ready(&self, line: SparkLine) -> Result<String, SwitchError> {
        let took = self
            .platform
            .wait_connect(line, ConnectCondition::Ready, READY_TIMEOUT)?;
        Ok(format!(
            "Spark {line}'s Connect server(s) ready for the supervisor after {:.1}s more",
            took.as_secs_f64()
        ))
    }

    /// Releases every hold and waits for the servers; returns what failed.
    pub(super) fn release_all(&self) -> Vec<SwitchError> {
        let held: Vec<SparkLine> = self
            .holds
            .lock()
            .expect("holds lock")
            .keys()
            .copied()
            .collect();
        held.into_iter()
            .filter_map(|line| self.release(line).and_then(|_| self.wait_ready(line)).err())
            .collect()
    }

    /// How long the new side may take to answer once the clients were moved: in place, it
    /// has to start first.
    fn answer_timeout(&self) -> Duration {
        match self.style {
            UpgradeStyle::BlueGreen => ANSWER_TIMEOUT,
            UpgradeStyle::InPlace => READY_TIMEOUT,
        }
    }

    /// The steps of moving clients from `from` to `to` in this run's style.
    fn move_clients(
        &self,
        from: SparkLine,
        to: SparkLine,
        sw: &mut Switch,
    ) -> Result<(), SwitchError> {
        match self.style {
            UpgradeStyle::BlueGreen => {
                sw.steps.push(self.route(to)?);
                sw.routed_ms = Some(now_ms());
            }
            UpgradeStyle::InPlace => {
                sw.steps.push(self.hold_down(from)?);
                sw.steps.push(self.route(to)?);
                sw.routed_ms = Some(now_ms());
                sw.steps.push(self.release(to)?);
            }
        }
        Ok(())
    }

    /// Ids acknowledged before `at_us`.
    fn acked_before(&self, at_us: u64) -> Vec<[u64; 2]> {
        self.acks
            .lock()
            .expect("acks lock")
            .iter()
            .filter(|a| a.end_us < at_us)
            .map(|a| a.ids)
            .collect()
    }

    /// One switch, start to end: move the clients, wait for the new side to answer through the
    /// edge, read back what was acknowledged before.
    pub(super) async fn switch(self: Arc<Self>, p: Planned) -> Switch {
        let mut sw = self.clone().moved(p).await;
        if sw.error.is_none() {
            if let Err(e) = self.confirm(&mut sw).await {
                sw.error = Some(e.to_string());
            }
        }
        sw
    }

    /// Moves the clients (blocking steps, off the async workers).
    async fn moved(self: Arc<Self>, p: Planned) -> Switch {
        let mut sw = begin(p);
        let this = self.clone();
        let moved = tokio::task::spawn_blocking(move || {
            let r = this.move_clients(p.from, p.to, &mut sw);
            (sw, r)
        })
        .await;
        match moved {
            Ok((mut sw, r)) => {
                sw.error = r.err().map(|e| e.to_string());
                sw
            }
            Err(e) => {
                let mut sw = begin(p);
                sw.error = Some(format!("switch task: {e}"));
                sw
            }
        }
    }

    /// Waits for the new side to answer through the edge (in place: then for the supervisor
    /// to report it ready), and reads back there what was acknowledged before the switch.
    async fn confirm(self: &Arc<Self>, sw: &mut Switch) -> Result<(), SwitchError> {
        let to = sw.to;
        let session = answered_by(&self.edge, to, self.answer_timeout())
            .await
            .map_err(SwitchError::Answer)?;
        sw.answered_ms = Some(now_ms());
        if self.style == UpgradeStyle::InPlace {
            let this = self.clone();
            let ready = tokio::task::spawn_blocking(move || this.wait_ready(to))
                .await
                .map_err(|source| SwitchError::Task {
                    what: "wait for readiness",
                    source,
                })?;
            sw.steps.push(ready?);
        }
        if let Some(table) = &self.table {
            let acked = self.acked_before(sw.at_ms * 1000);
            sw.read_back = Some(read_back_acked(&session, table, &acked, self.op_timeout).await);
        }
        Ok(())
    }
}

/// Runs the planned switches on time (offsets from `t0` + warm-up); stops at the first that
/// fails (and stops the load: clients are in an unknown state).
pub(super) async fn run_switches(
    switcher: Arc<Switcher>,
    plan: Vec<Planned>,
    t0: Instant,
    warmup: Duration,
    stop: Arc<AtomicBool>,
    say: fn(&str),
) -> Vec<Switch> {
    let mut done = Vec::new();
    for p in plan {
        let due = t0 + warmup + p.after_warmup;
        while Instant::now() < due {
            if stop.load(Ordering::SeqCst) {
                return done;
            }
            tokio::time::sleep(
                due.saturating_duration_since(Instant::now())
                    .min(Duration::from_millis(100)),
            )
            .await;
        }
        say(&format!(
            "    {:>6.1}s {} {} → {}",
            t0.elapsed().as_secs_f64(),
            p.label,
            p.from,
            p.to
        ));
        let sw = switcher.clone().switch(p).await;
        say(&format!("    {}", switch_line(&sw)));
        let failed = sw.error.is_some();
        done.push(sw);
        if failed {
            stop.store(true, Ordering::SeqCst);
            break;
        }
    }
    done
}

/// One line for people about a finished switch.
fn switch_line(s: &Switch) -> String {
    if let Some(e) = &s.error {
        return format!("{} did not complete: {e}", s.label);
    }
    let answered = s.answered_ms.map_or("?".to_string(), |t| {
        format!("{:.1}s", t.saturating_sub(s.at_ms) as f64 / 1e3)
    });
    let writes = match &s.read_back {
        Some(r) if r.error.is_some() => format!(
            ", read-back failed: {}",
            r.error.as_deref().unwrap_or_default()
        ),
        Some(r) => format!(
            ", {} acknowledged write id(s) checked on {}: {} missing",
            r.acknowledged, r.version, r.missing_count
        ),
        None => String::new(),
    };
    format!(
        "{}: Spark {} answered through the edge after {answered}{writes}",
        s.label, s.to
    )
}
