//! The `kubernetes` platform: the charts installed with the pinned helm into a namespace the
//! harness creates (owned, `restricted` Pod Security), the cluster being the kind cluster of
//! `chaos cluster up` (made or reused on `up`). Components are pods read from the API; the
//! harness reaches S3, Spark Connect, the metastores and the History Servers through node ports
//! that the kind configuration publishes on 127.0.0.1.

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::faults::KubeFaults;
use super::guard::{self, Guard};
use super::kube::{not_found, poll, Kube};
use super::pods::{self, ports, Pod};
use super::state::KubeState;
use super::{charts, cluster, KubeError};
use crate::paths::{Cache, EnvHome};
use crate::platform::endpoints::{Endpoints, LineEndpoints};
use crate::platform::topology::Role;
use crate::platform::{
    kind_file, ComponentStatus, ConnectCondition, DownReport, EnvSettings, FaultDriver, Overview,
    Platform, PlatformError, PlatformKind, UpProgress, UpReport, UpRequest,
};
use crate::versions::SparkLine;

/// The kind cluster the platform installs into.
pub const CLUSTER: &str = "chaos";
/// The namespace it creates (`CHAOS_K8S_NAMESPACE` overrides).
pub const NAMESPACE: &str = "spark-chaos";
/// How long `up` waits for every workload to be ready.
const READY_TIMEOUT: Duration = Duration::from_secs(900);

/// The namespace to use.
pub fn namespace() -> String {
    std::env::var("CHAOS_K8S_NAMESPACE")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| NAMESPACE.to_string())
}

/// Namespaces allowed for faults although the harness did not create them
/// (`CHAOS_ALLOW_NAMESPACES`, comma-separated; `--allow-namespace` sets it).
pub fn allowed_namespaces() -> Vec<String> {
    std::env::var("CHAOS_ALLOW_NAMESPACES")
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The Kubernetes platform for the environment at one home.
pub struct KubePlatform {
    home: EnvHome,
    cache: Cache,
    faults: KubeFaults,
}

fn env_err(e: impl std::fmt::Display) -> PlatformError {
    PlatformError::Env(e.to_string())
}

fn kube_err(e: KubeError) -> PlatformError {
    match e {
        KubeError::Timeout { .. } => PlatformError::Timeout(e.to_string()),
        e => PlatformError::Env(e.to_string()),
    }
}

/// A heap size (`1g`, `512m`) in MiB.
fn mib(size: &str) -> Option<u64> {
    let s = size.trim().to_lowercase();
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: u64 = n.parse().ok()?;
    match unit {
        "g" | "gb" => Some(n * 1024),
        "m" | "mb" => Some(n),
        _ => None,
    }
}

/// A container's memory for a JVM of `heap`: the heap plus the larger of 512 MiB and 40 %.
fn container_memory(heap: &str) -> String {
    let h = mib(heap).unwrap_or(1024);
    format!("{}Mi", h + (h * 2 / 5).max(512))
}

/// The values of the spark-base release. Pure.
pub fn base_values(s: &EnvSettings, images: &BTreeMap<String, String>) -> Value {
    json!({
        "images": {
            "minio": images.get("minio"),
            "postgres": images.get("postgres"),
            "chaos": images.get("chaos"),
        },
        "bucket": s.bucket,
        "lines": s.lines.iter().map(|l| l.short()).collect::<Vec<_>>(),
        "service": {"type": "NodePort"},
        "minio": {"nodePort": ports::S3},
        "edges": super::edges::values(s),
    })
}

/// The values of a line's release. Pure.
pub fn line_values(
    s: &EnvSettings,
    line: SparkLine,
    images: &BTreeMap<String, String>,
    overrides: &[(String, String)],
) -> Value {
    let mut conf = serde_json::Map::new();
    for (k, v) in s
        .spark_conf
        .get(&line)
        .into_iter()
        .flatten()
        .chain(overrides)
    {
        conf.insert(k.clone(), json!(v));
    }
    let driver_mem = container_memory(&s.driver_memory);
    let daemon_mem = container_memory(&s.daemon_memory);
    json!({
        "images": {
            "spark": images.get(&format!("spark-{}", line.version())),
            "metastore": images.get(&format!("hive-metastore-{}", line.hms())),
            "chaos": images.get("chaos"),
        },
        "base": {"release": pods::BASE_RELEASE, "bucket": s.bucket},
        "service": {"type": "NodePort"},
        "connect": {
            "replicas": s.replicas,
            "nodePort": ports::connect(line),
            "driverMemory": s.driver_memory,
            "resources": {"requests": {"cpu": "250m", "memory": driver_mem},
                          "limits": {"memory": driver_mem}},
        },
        "executors": {"instances": s.workers.max(1), "memory": s.executor_memory},
        "dynamicAllocation": {"enabled": s.dynamic_allocation},
        "metastore": {
            "nodePort": ports::metastore(line),
            "heap": s.daemon_memory,
            "resources": {"requests": {"cpu": "100m", "memory": daemon_mem},
                          "limits": {"memory": daemon_mem}},
        },
        "history": {
            "nodePort": ports::history(line),
            "heap": s.daemon_memory,
            "resources": {"requests": {"cpu": "100m", "memory": daemon_mem},
                          "limits": {"memory": daemon_mem}},
        },
        "sparkConf": conf,
    })
}

impl KubePlatform {
    /// The platform of the environment at `home`, building into `cache`.
    pub fn new(home: &EnvHome, cache: &Cache) -> KubePlatform {
        KubePlatform {
            home: EnvHome::at(home.root()),
            cache: Cache::at(cache.root()),
            faults: KubeFaults::new(home),
        }
    }

    fn state(&self) -> Result<KubeState, PlatformError> {
        KubeState::read(&self.home)
            .ok_or_else(|| PlatformError::NotRunning(self.home.root().display().to_string()))
    }

    fn pods(&self, k: &Kube) -> Result<Vec<Pod>, PlatformError> {
        let list = k
            .json("list the environment's pods", &["get", "pods"])
            .map_err(kube_err)?;
        Ok(pods::parse_pods(&list))
    }

    /// The cluster to install into: the kind cluster, made when missing, with the images of
    /// `lines` built (or found by their recipe's hash) and loaded into its nodes. Idempotent:
    /// with everything in place it builds and loads nothing.
    fn cluster(&self, lines: &[SparkLine]) -> Result<cluster::ClusterInfo, PlatformError> {
        eprintln!("==> the kind cluster `{CLUSTER}` (as `chaos cluster up`)");
        let o = cluster::UpOptions {
            name: CLUSTER.into(),
            config: cluster::kind_config("local").map_err(kube_err)?,
            source: super::images::Source::from_env().map_err(kube_err)?,
            spark: lines.to_vec(),
            ready_timeout: Duration::from_secs(300),
        };
        let info = cluster::up(&self.cache, &self.home, &o).map_err(kube_err)?;
        published(CLUSTER)?;
        Ok(info)
    }

    fn wait_ready(
        &self,
        k: &Kube,
        progress: &dyn Fn(UpProgress),
        timeout: Duration,
    ) -> Result<(), PlatformError> {
        poll(
            "every Deployment of the environment ready",
            timeout,
            Duration::from_secs(2),
            |last| {
                let deps = k.items("list the Deployments", "deployment", "")?;
                let mut ready = 0;
                let mut waiting = Vec::new();
                for d in &deps {
                    if rolled_out(d) {
                        ready += 1;
                    } else {
                        waiting.push(format!(
                            "{} {}/{}",
                            d["metadata"]["name"].as_str().unwrap_or("?"),
                            d["status"]["readyReplicas"].as_u64().unwrap_or(0),
                            d["spec"]["replicas"].as_u64().unwrap_or(1)
                        ));
                    }
                }
                progress(UpProgress {
                    ready,
                    total: deps.len(),
                });
                *last = format!("waiting for {}", waiting.join(", "));
                Ok((!deps.is_empty() && waiting.is_empty()).then_some(()))
            },
        )
        .map_err(kube_err)
    }
}

/// Whether a Deployment's rollout is complete, as `kubectl rollout status` decides it: the
/// controller saw the latest spec, every replica runs it and is ready, and no pod of an older
/// spec is left (during an upgrade the old pod is still ready while the new one starts).
/// Pure.
pub fn rolled_out(d: &Value) -> bool {
    let want = d["spec"]["replicas"].as_u64().unwrap_or(1);
    let st = &d["status"];
    let n = |k: &str| st[k].as_u64().unwrap_or(0);
    let seen = st["observedGeneration"].as_u64().unwrap_or(0)
        >= d["metadata"]["generation"].as_u64().unwrap_or(0);
    seen && n("updatedReplicas") >= want
        && n("replicas") <= n("updatedReplicas")
        && n("readyReplicas") >= want
}

/// Checks the kind cluster publishes every node port on 127.0.0.1.
fn published(name: &str) -> Result<(), PlatformError> {
    let node = format!("{name}-control-plane");
    let out = super::docker::capture(
        "list the control plane's published ports",
        super::docker::docker().args(["port", &node]),
    )
    .map_err(kube_err)?;
    let missing: Vec<u16> = ports::all()
        .into_iter()
        .filter(|p| !out.contains(&format!("{p}/tcp -> 127.0.0.1:{p}")))
        .collect();
    if !missing.is_empty() {
        return Err(PlatformError::Env(format!(
            "the kind cluster `{name}` does not publish node ports {missing:?} on 127.0.0.1 (it was made from an older kind-configs/): run `chaos cluster down` and `chaos cluster up`"
        )));
    }
    Ok(())
}

fn wait_port(addr: SocketAddr, timeout: Duration) -> Result<(), PlatformError> {
    poll(
        &format!("{addr} to accept connections"),
        timeout,
        Duration::from_millis(500),
        |_| {
            Ok(TcpStream::connect_timeout(&addr, Duration::from_secs(2))
                .is_ok()
                .then_some(()))
        },
    )
    .map_err(kube_err)
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

impl Platform for KubePlatform {
    fn kind(&self) -> PlatformKind {
        PlatformKind::Kubernetes
    }

    fn home(&self) -> &EnvHome {
        &self.home
    }

    fn running(&self) -> Result<Option<EnvSettings>, PlatformError> {
        let Some(st) = KubeState::read(&self.home) else {
            return Ok(None);
        };
        let o = st
            .kube
            .try_run(&["get", "deployment", "spark-base-minio", "-o", "name"])
            .map_err(kube_err)?;
        Ok(o.ok.then_some(st.settings))
    }

    fn up(
        &self,
        req: &UpRequest,
        progress: &dyn Fn(UpProgress),
    ) -> Result<UpReport, PlatformError> {
        let s = &req.settings;
        let digest = charts::install_digest();
        if let Some(running) = self.running()? {
            let same_install = KubeState::read(&self.home).is_some_and(|st| st.installed == digest);
            if &running == s && !same_install {
                eprintln!(
                    "==> the charts or the harness binary changed since this environment was installed: upgrading its releases"
                );
            }
            if &running == s && same_install {
                return Ok(UpReport {
                    ready_after: Duration::ZERO,
                    setup_took: Duration::ZERO,
                    already_running: true,
                });
            }
        }
        let t0 = Instant::now();
        let info = self.cluster(&s.lines)?;
        let kube = Kube {
            kubectl: info.kubectl.clone(),
            helm: info.helm.clone(),
            kubeconfig: info.kubeconfig.clone(),
            context: info.context.clone(),
            namespace: req.namespace.clone().unwrap_or_else(namespace),
        };
        let state = KubeState {
            kube: kube.clone(),
            kind_cluster: Some(CLUSTER.to_string()),
            settings: s.clone(),
            images: info.images.clone(),
            allowed_namespaces: req
                .allowed_namespaces
                .iter()
                .cloned()
                .chain(allowed_namespaces())
                .collect(),
            installed: String::new(),
        };
        // The namespace: made and labelled by the harness, or one it made before, or one
        // allowed explicitly.
        let ns = kube.namespace.clone();
        let exists = kube.try_run(&["get", "namespace", &ns]).map_err(kube_err)?;
        if exists.ok {
            Guard {
                context: kube.context.clone(),
                allowed: state.allowed_namespaces.clone(),
            }
            .check_live(|| kube.kubectl_plain(), &ns)
            .map_err(|e| PlatformError::Input(e.to_string()))?;
        } else {
            kube.apply(
                &format!("create namespace {ns}"),
                &guard::namespace_manifest(&ns),
            )
            .map_err(kube_err)?;
        }
        state.write(&self.home).map_err(env_err)?;
        crate::jsonfile::write_atomically(&kind_file(&self.home), &PlatformKind::Kubernetes)
            .map_err(env_err)?;
        let setup_took = t0.elapsed();

        let t1 = Instant::now();
        let dir = self.home.root().join("kubernetes");
        let chart_dir = charts::write(&dir.join("charts")).map_err(env_err)?;
        let mut releases = vec![(
            pods::BASE_RELEASE.to_string(),
            "spark-base".to_string(),
            base_values(s, &info.images),
        )];
        for &line in &s.lines {
            releases.push((
                pods::release(line),
                format!("spark-{}", line.short()),
                line_values(s, line, &info.images, &req.spark_overrides),
            ));
        }
        for (release, chart, values) in &releases {
            let file = dir.join(format!("values-{release}.json"));
            std::fs::write(&file, serde_json::to_vec_pretty(values).expect("json"))
                .map_err(env_err)?;
            eprintln!("==> helm upgrade --install {release} ({chart})");
            let chart_path = chart_dir.join(chart);
            kube.run_helm(
                &format!("install the chart {chart} as {release}"),
                &[
                    "upgrade",
                    "--install",
                    release,
                    &chart_path.display().to_string(),
                    "-f",
                    &file.display().to_string(),
                    "--timeout",
                    "10m",
                ],
            )
            .map_err(kube_err)?;
        }
        self.wait_ready(&kube, progress, READY_TIMEOUT)?;
        KubeState {
            installed: digest,
            ..state
        }
        .write(&self.home)
        .map_err(env_err)?;
        // Through the node ports, as the harness will reach them.
        wait_port(loopback(ports::S3), Duration::from_secs(60))?;
        for &line in &s.lines {
            wait_port(loopback(ports::connect(line)), Duration::from_secs(120))?;
        }
        Ok(UpReport {
            ready_after: t1.elapsed(),
            setup_took,
            already_running: false,
        })
    }

    fn down(&self, _keep_data: bool) -> Result<DownReport, PlatformError> {
        let Some(st) = KubeState::read(&self.home) else {
            return Ok(DownReport::default());
        };
        let k = &st.kube;
        let stopped: Vec<String> = self
            .pods(k)
            .map(|p| pods::identify(&p).into_iter().map(|(id, _)| id).collect())
            .unwrap_or_default();
        let mut rels: Vec<String> = st
            .settings
            .lines
            .iter()
            .map(|l| pods::release(*l))
            .collect();
        rels.push(pods::BASE_RELEASE.into());
        for r in &rels {
            let o = k
                .helm()
                .args(["uninstall", r, "--wait", "--timeout", "5m"])
                .output()
                .map_err(env_err)?;
            let err = String::from_utf8_lossy(&o.stderr);
            if !o.status.success() && !err.contains("not found") {
                return Err(PlatformError::Env(format!(
                    "helm uninstall {r}: {}",
                    err.trim()
                )));
            }
        }
        // The namespace goes only if the harness made it.
        let ns = k.namespace.clone();
        let mut stragglers = Vec::new();
        let ours = k
            .json(&format!("read namespace {ns}"), &["get", "namespace", &ns])
            .map(|v| {
                guard::labels_of(&v)
                    .get(guard::OWNED_LABEL)
                    .map(String::as_str)
                    == Some("true")
            })
            .unwrap_or(false);
        if ours {
            k.run(
                &format!("delete namespace {ns}"),
                &["delete", "namespace", &ns, "--wait=true", "--timeout=300s"],
            )
            .map_err(kube_err)?;
        } else if let Ok(p) = self.pods(k) {
            stragglers.extend(
                p.iter()
                    .filter(|p| p.role().is_some())
                    .map(|p| format!("pod {}", p.name)),
            );
        }
        KubeState::remove(&self.home);
        let _ = std::fs::remove_file(kind_file(&self.home));
        Ok(DownReport {
            stopped,
            stragglers,
            kept_data: false,
        })
    }

    fn status(&self) -> Result<Vec<ComponentStatus>, PlatformError> {
        let Some(st) = KubeState::read(&self.home) else {
            return Ok(vec![]);
        };
        Ok(pods::statuses(&self.pods(&st.kube)?))
    }

    fn overview(&self) -> Result<Overview, PlatformError> {
        let st = self.state()?;
        let running = self.running()?.is_some();
        let components = if running { self.status()? } else { vec![] };
        // The fault proxy pods' links; a proxy that does not answer shows no link.
        let links = if running {
            super::proxy::list_all(&st.kube)
                .map(|r| super::proxy::link_statuses(&r))
                .unwrap_or_default()
        } else {
            vec![]
        };
        let mut json = serde_json::to_value(&st).map_err(env_err)?;
        json["components"] = serde_json::to_value(&components).map_err(env_err)?;
        Ok(Overview {
            phase: if running { "running" } else { "stopped" }.into(),
            keeper: format!(
                "namespace {} in context {}",
                st.kube.namespace, st.kube.context
            ),
            error: None,
            running,
            components,
            links,
            json,
        })
    }

    fn endpoints(&self) -> Result<Endpoints, PlatformError> {
        let st = self.state()?;
        let k = &st.kube;
        let secret = |key: &str| -> Result<String, PlatformError> {
            let tpl = format!("--template={{{{.data.{key} | base64decode}}}}");
            k.run(
                "read the S3 credentials (Secret spark-base-minio)",
                &[
                    "get",
                    "secret",
                    "spark-base-minio",
                    "-o",
                    "go-template",
                    &tpl,
                ],
            )
            .map(|s| s.trim().to_string())
            .map_err(kube_err)
        };
        let versions = st
            .settings
            .lines
            .iter()
            .map(|&line| LineEndpoints {
                line,
                connect: (0..st.settings.replicas.max(1))
                    .map(|_| format!("sc://127.0.0.1:{}", ports::connect(line)))
                    .collect(),
                ui: vec![],
                metastore: Some(loopback(ports::metastore(line))),
                history: Some(format!("http://127.0.0.1:{}", ports::history(line))),
                events_prefix: format!("{}/events/", line.short()),
                spark_env: BTreeMap::new(),
            })
            .collect();
        Ok(Endpoints {
            home: self.home.root().to_path_buf(),
            versions,
            s3_endpoint: format!("http://127.0.0.1:{}", ports::S3),
            bucket: st.settings.bucket.clone(),
            s3_access_key: secret("accessKey")?,
            s3_secret_key: secret("secretKey")?,
            edges: super::edges::endpoints(&st.settings),
        })
    }

    fn restart(&self, component: &str, timeout: Duration) -> Result<Duration, PlatformError> {
        let st = self.state()?;
        let k = &st.kube;
        let t = Instant::now();
        let found = pods::identify(&self.pods(k)?)
            .into_iter()
            .find(|(id, _)| id == component);
        let Some((_, pod)) = found else {
            return Err(PlatformError::Input(format!(
                "no component `{component}` runs (see `chaos env status`)"
            )));
        };
        k.run(
            &format!("delete pod {}", pod.name),
            &["delete", "pod", &pod.name, "--wait=false"],
        )
        .map_err(kube_err)?;
        let role = pod.role().expect("identified");
        let line = pod.line;
        poll(
            &format!("{component} replaced and ready"),
            timeout,
            Duration::from_millis(500),
            |last| {
                let list = k.json("list pods", &["get", "pods"])?;
                let now = pods::parse_pods(&list);
                let old_gone = !now.iter().any(|p| p.name == pod.name);
                let mine = pods::of_role(&now, role, line);
                let ready = !mine.is_empty() && mine.iter().all(|p| p.ready);
                *last = format!("old pod gone: {old_gone}, ready: {ready}");
                Ok((old_gone && ready).then_some(()))
            },
        )
        .map_err(kube_err)?;
        Ok(t.elapsed())
    }

    fn route(&self, routes: &BTreeMap<String, String>) -> Result<(), PlatformError> {
        let st = self.state()?;
        super::edges::route(
            &st.kube,
            st.kind_cluster.as_deref(),
            routes,
            Duration::from_secs(120),
        )
        .map_err(kube_err)
    }

    fn wait_connect(
        &self,
        line: SparkLine,
        condition: ConnectCondition,
        timeout: Duration,
    ) -> Result<Duration, PlatformError> {
        let st = self.state()?;
        let k = &st.kube;
        let t = Instant::now();
        let deployment = pods::deployment(Role::Connect, line).expect("connect has one");
        poll(
            &format!("Spark {line}'s Connect server(s) {condition:?}"),
            timeout,
            Duration::from_millis(250),
            |last| {
                let list = k.json("list pods", &["get", "pods"])?;
                let mine = pods::of_role(&pods::parse_pods(&list), Role::Connect, Some(line));
                let done = match condition {
                    ConnectCondition::Ready => {
                        let d = k.json(
                            &format!("read Deployment {deployment}"),
                            &["get", "deployment", &deployment],
                        )?;
                        let want = d["spec"]["replicas"].as_u64().unwrap_or(1) as usize;
                        want > 0 && mine.len() == want && mine.iter().all(|p| p.ready)
                    }
                    ConnectCondition::Stopped => mine.is_empty(),
                };
                *last = format!("{} pod(s)", mine.len());
                Ok(done.then_some(()))
            },
        )
        .map_err(|e| PlatformError::Timeout(e.to_string()))?;
        Ok(t.elapsed())
    }

    fn collect_logs(&self, dir: &Path) -> Result<(), PlatformError> {
        let st = self.state()?;
        let k = &st.kube;
        let out = dir.join("logs");
        std::fs::create_dir_all(&out).map_err(env_err)?;
        for (id, pod) in pods::identify(&self.pods(k)?) {
            let mut variants = vec![("", false)];
            if pod.restarts > 0 {
                variants.push((".previous", true));
            }
            for (suffix, previous) in variants {
                let mut args = vec!["logs", pod.name.as_str(), "--all-containers", "--tail=2000"];
                if previous {
                    args.push("--previous");
                }
                if let Ok(o) = k.try_run(&args) {
                    let text = if o.ok { o.stdout } else { o.stderr };
                    std::fs::write(out.join(format!("{id}{suffix}.log")), text).map_err(env_err)?;
                }
            }
        }
        if let Ok(o) = k.try_run(&["get", "events", "--sort-by=.lastTimestamp"]) {
            std::fs::write(out.join("events.txt"), o.stdout).map_err(env_err)?;
        }
        Ok(())
    }

    fn faults(&self) -> &dyn FaultDriver {
        &self.faults
    }
}

/// Whether a kubectl error means the object is gone.
pub fn gone(o: &super::kube::Output) -> bool {
    not_found(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn images() -> BTreeMap<String, String> {
        [
            ("spark-4.1.0", "chaos.local/spark:4.1.0-aa"),
            (
                "hive-metastore-4.0.0",
                "chaos.local/hive-metastore:4.0.0-bb",
            ),
            ("minio", "chaos.local/minio:x-cc"),
            ("postgres", "chaos.local/postgres:bookworm-dd"),
            ("chaos", "chaos.local/chaos:0.1.0-ee"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
    }

    #[test]
    fn settings_become_chart_values() {
        let mut s = EnvSettings {
            replicas: 3,
            dynamic_allocation: true,
            driver_memory: "2g".into(),
            ..EnvSettings::default()
        };
        s.spark_conf.insert(
            SparkLine::V4_1,
            vec![("spark.sql.shuffle.partitions".into(), "8".into())],
        );
        let v = line_values(
            &s,
            SparkLine::V4_1,
            &images(),
            &[("spark.network.timeout".into(), "60s".into())],
        );
        assert_eq!(v["images"]["spark"], "chaos.local/spark:4.1.0-aa");
        assert_eq!(
            v["images"]["metastore"],
            "chaos.local/hive-metastore:4.0.0-bb"
        );
        assert_eq!(v["images"]["chaos"], "chaos.local/chaos:0.1.0-ee");
        assert_eq!(v["connect"]["replicas"], 3);
        assert_eq!(v["connect"]["nodePort"], 30412);
        // 2 GiB of heap + 40 % (819 MiB) for the JVM's other memory.
        assert_eq!(v["connect"]["resources"]["limits"]["memory"], "2867Mi");
        assert_eq!(v["dynamicAllocation"]["enabled"], true);
        assert_eq!(v["sparkConf"]["spark.sql.shuffle.partitions"], "8");
        assert_eq!(v["sparkConf"]["spark.network.timeout"], "60s");
        assert_eq!(v["service"]["type"], "NodePort");
        let b = base_values(&s, &images());
        assert_eq!(b["minio"]["nodePort"], 30900);
        assert_eq!(b["lines"], json!(["3.5", "4.1"]));
        assert_eq!(b["images"]["chaos"], "chaos.local/chaos:0.1.0-ee");
        assert_eq!(container_memory("512m"), "1024Mi");
    }

    #[test]
    fn a_rollout_is_done_when_no_old_pod_is_left() {
        let d = |gen: u64, seen: u64, replicas: u64, updated: u64, ready: u64| {
            json!({"metadata": {"generation": gen}, "spec": {"replicas": 1},
                   "status": {"observedGeneration": seen, "replicas": replicas,
                              "updatedReplicas": updated, "readyReplicas": ready}})
        };
        assert!(rolled_out(&d(2, 2, 1, 1, 1)));
        // The new pod made, the old one still ready: not done.
        assert!(!rolled_out(&d(2, 2, 2, 1, 1)));
        // The controller has not seen the new spec yet.
        assert!(!rolled_out(&d(3, 2, 1, 1, 1)));
        assert!(!rolled_out(&d(2, 2, 1, 1, 0)));
        // Scaled to 0 (a held-down fault): done.
        let mut z = d(2, 2, 0, 0, 0);
        z["spec"]["replicas"] = json!(0);
        assert!(rolled_out(&z));
    }
}
