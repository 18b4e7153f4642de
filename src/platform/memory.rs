//! A small in-memory platform that records every call: the second implementation that proves
//! the seam (the runner, the harness and the fault ledger work against it unchanged). Faults
//! "act" by recording; nothing runs.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use super::{
    ComponentStatus, ConnectCondition, DownReport, DriverError, Endpoints, EnvSettings,
    FaultDriver, Overview, Platform, PlatformAction, PlatformError, PlatformKind, Resolution, Role,
    UpProgress, UpReport, UpRequest,
};
use crate::fault::catalog::FaultSpec;
use crate::paths::EnvHome;
use crate::versions::SparkLine;

/// The in-memory platform.
pub struct MemoryPlatform {
    home: EnvHome,
    calls: Mutex<Vec<String>>,
    settings: Mutex<Option<EnvSettings>>,
    faults: MemoryFaults,
    /// `endpoints()` fails with this (to stop a run before it needs real services).
    pub endpoints_error: Option<String>,
}

/// Its fault driver: records resolve / act / undo / sweep.
pub struct MemoryFaults {
    calls: Mutex<Vec<String>>,
}

impl MemoryPlatform {
    /// A platform whose environment lives at `home` (the ledger is written there).
    pub fn new(home: &Path) -> MemoryPlatform {
        MemoryPlatform {
            home: EnvHome::at(home),
            calls: Mutex::default(),
            settings: Mutex::default(),
            faults: MemoryFaults {
                calls: Mutex::default(),
            },
            endpoints_error: None,
        }
    }

    fn record(&self, call: impl Into<String>) {
        self.calls.lock().expect("not poisoned").push(call.into());
    }

    /// The platform calls so far, in order.
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("not poisoned").clone()
    }

    /// The fault driver's calls so far, in order.
    pub fn fault_calls(&self) -> Vec<String> {
        self.faults.calls.lock().expect("not poisoned").clone()
    }
}

impl Platform for MemoryPlatform {
    fn kind(&self) -> PlatformKind {
        PlatformKind::Local
    }

    fn home(&self) -> &EnvHome {
        &self.home
    }

    fn running(&self) -> Result<Option<EnvSettings>, PlatformError> {
        self.record("running");
        Ok(self.settings.lock().expect("not poisoned").clone())
    }

    fn up(
        &self,
        req: &UpRequest,
        progress: &dyn Fn(UpProgress),
    ) -> Result<UpReport, PlatformError> {
        let mut current = self.settings.lock().expect("not poisoned");
        if current.as_ref() == Some(&req.settings) {
            return Ok(UpReport {
                ready_after: Duration::ZERO,
                setup_took: Duration::ZERO,
                already_running: true,
            });
        }
        self.record(format!("up {} line(s)", req.settings.lines.len()));
        progress(UpProgress { ready: 1, total: 1 });
        *current = Some(req.settings.clone());
        Ok(UpReport {
            ready_after: Duration::ZERO,
            setup_took: Duration::ZERO,
            already_running: false,
        })
    }

    fn down(&self, keep_data: bool) -> Result<DownReport, PlatformError> {
        self.record(format!("down keep_data={keep_data}"));
        *self.settings.lock().expect("not poisoned") = None;
        Ok(DownReport::default())
    }

    fn status(&self) -> Result<Vec<ComponentStatus>, PlatformError> {
        self.record("status");
        Ok(vec![ComponentStatus {
            id: "connect-41-0".into(),
            role: Role::Connect,
            line: Some(SparkLine::V4_1),
            version: "4.1.0".into(),
            endpoint: "sc://memory".into(),
            state: "running".into(),
            ready: true,
            restarts: 0,
            last_exit: None,
            detail: String::new(),
        }])
    }

    fn overview(&self) -> Result<Overview, PlatformError> {
        self.record("overview");
        Ok(Overview {
            phase: "running".into(),
            keeper: "memory".into(),
            error: None,
            running: true,
            components: self.status()?,
            links: vec![],
            json: serde_json::Value::Null,
        })
    }

    fn endpoints(&self) -> Result<Endpoints, PlatformError> {
        self.record("endpoints");
        match &self.endpoints_error {
            Some(e) => Err(PlatformError::Env(e.clone())),
            None => Err(PlatformError::NotRunning("memory".into())),
        }
    }

    fn restart(&self, component: &str, _timeout: Duration) -> Result<Duration, PlatformError> {
        self.record(format!("restart {component}"));
        Ok(Duration::ZERO)
    }

    fn route(&self, routes: &BTreeMap<String, String>) -> Result<(), PlatformError> {
        self.record(format!("route {routes:?}"));
        Ok(())
    }

    fn wait_connect(
        &self,
        line: SparkLine,
        condition: ConnectCondition,
        _timeout: Duration,
    ) -> Result<Duration, PlatformError> {
        self.record(format!("wait_connect {line} {condition:?}"));
        Ok(Duration::ZERO)
    }

    fn collect_logs(&self, dir: &Path) -> Result<(), PlatformError> {
        self.record("collect_logs");
        std::fs::create_dir_all(dir.join("logs")).map_err(|e| PlatformError::Env(e.to_string()))
    }

    fn faults(&self) -> &dyn FaultDriver {
        &self.faults
    }
}

impl MemoryFaults {
    fn record(&self, call: String) {
        self.calls.lock().expect("not poisoned").push(call);
    }
}

impl FaultDriver for MemoryFaults {
    fn resolve(&self, spec: &FaultSpec, id: &str) -> Result<Resolution, DriverError> {
        self.record(format!("resolve {id} {} {}", spec.kind, spec.target));
        if spec.target.role == Role::History {
            return Err(DriverError::Target {
                target: spec.target.to_string(),
                message: "the memory platform has no History Server".into(),
            });
        }
        Ok(Resolution {
            undo: vec![PlatformAction(
                serde_json::json!({"action": "memory", "fault": id}),
            )],
            act: vec![],
            versions: vec!["4.1.0".into()],
            detail: format!("{} in memory", spec.kind),
        })
    }

    fn act(&self, r: &Resolution, generation: u64) -> Result<(), DriverError> {
        self.record(format!(
            "act {} at generation {generation}",
            r.undo[0].0["fault"]
        ));
        Ok(())
    }

    fn undo(&self, undo: &[PlatformAction], _generation: u64) -> Vec<String> {
        for a in undo {
            self.record(format!("undo {}", a.0["fault"]));
        }
        vec![]
    }

    fn sweep(&self, known: &[PlatformAction]) -> Vec<String> {
        self.record(format!("sweep {} known", known.len()));
        vec![]
    }
}
