//! What runs in the environment's namespace, read from the API (pure): pods with the labels the
//! charts give them, mapped to the component ids every platform shares (`connect-41-0`,
//! `metastore-35`, `s3`), the node ports the harness reaches them through, and the names of
//! the workloads behind them.

use serde_json::Value;

use crate::platform::topology::{self as topo, Role};
use crate::platform::ComponentStatus;
use crate::versions::SparkLine;

/// The label naming a pod's release.
pub const INSTANCE: &str = "app.kubernetes.io/instance";
/// The label naming a pod's component.
pub const COMPONENT: &str = "app.kubernetes.io/component";
/// The release of MinIO and PostgreSQL.
pub const BASE_RELEASE: &str = "spark-base";

/// The release of a Spark line (`spark-41`).
pub fn release(line: SparkLine) -> String {
    format!("spark-{}", line.slug())
}

/// The line of a release name.
pub fn line_of_release(release: &str) -> Option<SparkLine> {
    SparkLine::ALL
        .into_iter()
        .find(|l| self::release(*l) == release)
}

/// The chart component label of a role (executors are labelled by the pod template).
pub fn component_label(role: Role) -> Option<&'static str> {
    Some(match role {
        Role::S3 => "minio",
        Role::Postgres => "postgres",
        Role::Connect => "connect",
        Role::Metastore => "metastore",
        Role::History => "history",
        Role::Executor => "executor",
        _ => return None,
    })
}

/// The release a role's pods belong to, for `line`.
pub fn release_of(role: Role, line: SparkLine) -> String {
    if role.shared() {
        BASE_RELEASE.to_string()
    } else {
        release(line)
    }
}

/// The Deployment running a role (`spark-41-metastore`, `spark-base-minio`); executors have
/// none (Spark makes them).
pub fn deployment(role: Role, line: SparkLine) -> Option<String> {
    if role == Role::Executor {
        return None;
    }
    Some(format!(
        "{}-{}",
        release_of(role, line),
        component_label(role)?
    ))
}

/// A label selector for a role's pods of `line`.
pub fn selector(role: Role, line: SparkLine) -> Option<String> {
    Some(format!(
        "{INSTANCE}={},{COMPONENT}={}",
        release_of(role, line),
        component_label(role)?
    ))
}

/// The node ports the harness reaches a kind cluster through; `kind-configs/` publishes each
/// on 127.0.0.1 (a test keeps the two in step).
pub mod ports {
    use crate::versions::SparkLine;

    /// MinIO's S3 API.
    pub const S3: u16 = 30900;
    /// The cut-over edges (blue/green Services).
    pub const EDGES: [u16; 3] = [30500, 30501, 30502];

    fn base(line: SparkLine) -> u16 {
        match line {
            SparkLine::V3_5 => 30350,
            SparkLine::V4_1 => 30410,
        }
    }

    /// A line's Spark Connect Service (gRPC).
    pub fn connect(line: SparkLine) -> u16 {
        base(line) + 2
    }

    /// A line's Hive Metastore (Thrift).
    pub fn metastore(line: SparkLine) -> u16 {
        base(line) + 3
    }

    /// A line's History Server.
    pub fn history(line: SparkLine) -> u16 {
        base(line) + 8
    }

    /// Every node port, sorted.
    pub fn all() -> Vec<u16> {
        let mut v = vec![S3];
        v.extend(EDGES);
        for l in SparkLine::ALL {
            v.extend([connect(l), metastore(l), history(l)]);
        }
        v.sort();
        v
    }
}

/// One pod of the environment as the harness needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Pod {
    /// Its name.
    pub name: String,
    /// Its release label.
    pub instance: String,
    /// Its component label.
    pub component: String,
    /// Its Spark line, from the release.
    pub line: Option<SparkLine>,
    /// Its IP once it has one.
    pub ip: Option<String>,
    /// The node it runs on.
    pub node: String,
    /// Its phase (`Running`).
    pub phase: String,
    /// Whether it is Ready.
    pub ready: bool,
    /// Container restarts.
    pub restarts: u32,
    /// How a container's previous instance ended (`OOMKilled (exit 137)`).
    pub last_exit: Option<String>,
    /// Whether it is being deleted.
    pub deleting: bool,
    /// Its creation time (RFC 3339, sorts as text).
    pub created: String,
    /// Spark's executor id, for executor pods.
    pub exec_id: Option<u32>,
}

impl Pod {
    /// The role of the pod's component, if it is one of the environment's.
    pub fn role(&self) -> Option<Role> {
        Some(match self.component.as_str() {
            "minio" => Role::S3,
            "postgres" => Role::Postgres,
            "connect" => Role::Connect,
            "metastore" => Role::Metastore,
            "history" => Role::History,
            "executor" => Role::Executor,
            _ => return None,
        })
    }

    /// Whether it runs and is not going away.
    pub fn live(&self) -> bool {
        !self.deleting && matches!(self.phase.as_str(), "Running" | "Pending")
    }
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// The pods of a `kubectl get pods -o json` list.
pub fn parse_pods(list: &Value) -> Vec<Pod> {
    let items = list["items"].as_array().cloned().unwrap_or_default();
    items.iter().map(parse_pod).collect()
}

/// One pod object.
pub fn parse_pod(p: &Value) -> Pod {
    let labels = &p["metadata"]["labels"];
    let instance = text(&labels[INSTANCE]);
    let statuses = p["status"]["containerStatuses"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let ready = p["status"]["conditions"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
        .unwrap_or(false);
    let restarts = statuses
        .iter()
        .map(|s| s["restartCount"].as_u64().unwrap_or(0) as u32)
        .sum();
    let last_exit = statuses.iter().find_map(|s| {
        let t = if s["lastState"]["terminated"].is_object() {
            &s["lastState"]["terminated"]
        } else if s["state"]["terminated"].is_object() {
            &s["state"]["terminated"]
        } else {
            return None;
        };
        let reason = t["reason"].as_str().unwrap_or("terminated");
        Some(match t["exitCode"].as_i64() {
            Some(code) => format!("{reason} (exit {code})"),
            None => reason.to_string(),
        })
    });
    Pod {
        name: text(&p["metadata"]["name"]),
        line: line_of_release(&instance),
        instance,
        component: text(&labels[COMPONENT]),
        ip: p["status"]["podIP"].as_str().map(str::to_string),
        node: text(&p["spec"]["nodeName"]),
        phase: text(&p["status"]["phase"]),
        ready,
        restarts,
        last_exit,
        deleting: !p["metadata"]["deletionTimestamp"].is_null(),
        created: text(&p["metadata"]["creationTimestamp"]),
        exec_id: labels["spark-exec-id"]
            .as_str()
            .and_then(|s| s.parse().ok()),
    }
}

/// The live pods of a role (of `line` unless the role is shared), oldest first (executors by
/// Spark's id): replica `r` of a Deployment is its `r`-th oldest live pod.
pub fn of_role(pods: &[Pod], role: Role, line: Option<SparkLine>) -> Vec<Pod> {
    let mut v: Vec<Pod> = pods
        .iter()
        .filter(|p| p.live() && p.role() == Some(role))
        .filter(|p| role.shared() || line.is_none() || p.line == line)
        .cloned()
        .collect();
    v.sort_by(|a, b| {
        (a.line, a.exec_id, &a.created, &a.name).cmp(&(b.line, b.exec_id, &b.created, &b.name))
    });
    v
}

/// The component id of every pod of the environment (pods of other components, such as the
/// bucket job's, are left out), with the pod, in a stable order.
pub fn identify(pods: &[Pod]) -> Vec<(String, Pod)> {
    let mut out = Vec::new();
    for role in [Role::Postgres, Role::S3] {
        for p in of_role(pods, role, None) {
            out.push((
                if role == Role::S3 {
                    topo::S3
                } else {
                    topo::POSTGRES
                }
                .to_string(),
                p,
            ));
        }
    }
    for line in SparkLine::ALL {
        for (r, p) in of_role(pods, Role::Connect, Some(line))
            .into_iter()
            .enumerate()
        {
            out.push((topo::connect(line, r as u32), p));
        }
        for role in [Role::Metastore, Role::History] {
            for p in of_role(pods, role, Some(line)) {
                out.push((topo::line_component(role, line), p));
            }
        }
        for p in of_role(pods, Role::Executor, Some(line)) {
            let id = format!(
                "executor-{}-{}",
                line.slug(),
                p.exec_id.map(|i| i.to_string()).unwrap_or(p.name.clone())
            );
            out.push((id, p));
        }
    }
    out
}

/// Where the harness reaches a component of `role`.
pub fn endpoint(role: Role, line: Option<SparkLine>, pod: &Pod) -> String {
    match (role, line) {
        (Role::S3, _) => format!("http://127.0.0.1:{}", ports::S3),
        (Role::Connect, Some(l)) => format!("sc://127.0.0.1:{}", ports::connect(l)),
        (Role::Metastore, Some(l)) => format!("thrift://127.0.0.1:{}", ports::metastore(l)),
        (Role::History, Some(l)) => format!("http://127.0.0.1:{}", ports::history(l)),
        _ => pod
            .ip
            .clone()
            .map(|ip| format!("pod {ip}"))
            .unwrap_or_default(),
    }
}

/// Every component's status from the pods.
pub fn statuses(pods: &[Pod]) -> Vec<ComponentStatus> {
    identify(pods)
        .into_iter()
        .map(|(id, p)| {
            let role = p.role().expect("identified pods have a role");
            let line = if role.shared() { None } else { p.line };
            ComponentStatus {
                version: match (role, line) {
                    (Role::Metastore, Some(l)) => l.hms().to_string(),
                    (Role::S3, _) => crate::versions::MINIO_VERSION.to_string(),
                    (Role::Postgres, _) => "Debian's".to_string(),
                    (_, Some(l)) => l.version().to_string(),
                    _ => String::new(),
                },
                endpoint: endpoint(role, line, &p),
                state: if p.deleting {
                    "terminating".into()
                } else {
                    p.phase.to_lowercase()
                },
                ready: p.ready,
                restarts: p.restarts,
                last_exit: p.last_exit.clone(),
                detail: format!("pod {} on {}", p.name, p.node),
                id,
                role,
                line,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, instance: &str, component: &str, created: &str) -> Value {
        json!({
            "metadata": {"name": name, "creationTimestamp": created,
                "labels": {INSTANCE: instance, COMPONENT: component}},
            "spec": {"nodeName": "chaos-worker"},
            "status": {"phase": "Running", "podIP": "10.244.1.7",
                "conditions": [{"type": "Ready", "status": "True"}],
                "containerStatuses": [{"restartCount": 2,
                    "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}]}
        })
    }

    #[test]
    fn pods_become_the_shared_component_ids() {
        let mut exec = pod("spark-41-connect-abc-exec-3", "spark-41", "executor", "t3");
        exec["metadata"]["labels"]["spark-exec-id"] = json!("3");
        let mut gone = pod("spark-41-connect-old", "spark-41", "connect", "t0");
        gone["metadata"]["deletionTimestamp"] = json!("t9");
        let list = json!({"items": [
            pod("spark-41-connect-b", "spark-41", "connect", "t2"),
            pod("spark-41-connect-a", "spark-41", "connect", "t1"),
            gone,
            pod("spark-base-minio-x", "spark-base", "minio", "t0"),
            pod("spark-35-metastore-y", "spark-35", "metastore", "t0"),
            pod("spark-base-bucket-z", "spark-base", "bucket", "t0"),
            exec,
        ]});
        let pods = parse_pods(&list);
        let ids: Vec<String> = identify(&pods).into_iter().map(|(id, _)| id).collect();
        assert_eq!(
            ids,
            [
                "s3",
                "metastore-35",
                "connect-41-0",
                "connect-41-1",
                "executor-41-3"
            ]
        );
        let st = statuses(&pods);
        let c0 = st.iter().find(|c| c.id == "connect-41-0").unwrap();
        assert_eq!(c0.detail, "pod spark-41-connect-a on chaos-worker");
        assert_eq!(c0.endpoint, "sc://127.0.0.1:30412");
        assert_eq!(c0.restarts, 2);
        assert_eq!(c0.last_exit.as_deref(), Some("OOMKilled (exit 137)"));
        assert!(c0.ready);
        let ms = st.iter().find(|c| c.id == "metastore-35").unwrap();
        assert_eq!(ms.version, "3.1.3");
        assert_eq!(ms.endpoint, "thrift://127.0.0.1:30353");
        let s3 = st.iter().find(|c| c.id == "s3").unwrap();
        assert_eq!(s3.line, None);
    }

    #[test]
    fn names_of_workloads_and_selectors() {
        assert_eq!(
            deployment(Role::Metastore, SparkLine::V4_1).as_deref(),
            Some("spark-41-metastore")
        );
        assert_eq!(
            deployment(Role::S3, SparkLine::V3_5).as_deref(),
            Some("spark-base-minio")
        );
        assert_eq!(deployment(Role::Executor, SparkLine::V3_5), None);
        assert_eq!(
            selector(Role::Executor, SparkLine::V3_5).as_deref(),
            Some("app.kubernetes.io/instance=spark-35,app.kubernetes.io/component=executor")
        );
        assert_eq!(deployment(Role::Worker, SparkLine::V3_5), None);
    }

    #[test]
    fn kind_configs_publish_every_node_port_on_loopback() {
        for (name, text) in [
            ("local", include_str!("../../../kind-configs/local.yaml")),
            ("ci", include_str!("../../../kind-configs/ci.yaml")),
        ] {
            let v: serde_yaml::Value = serde_yaml::from_str(text).unwrap();
            let cp = &v["nodes"][0];
            assert_eq!(cp["role"].as_str(), Some("control-plane"), "{name}");
            let mut published: Vec<u16> = cp["extraPortMappings"]
                .as_sequence()
                .unwrap_or_else(|| panic!("{name}: no extraPortMappings"))
                .iter()
                .map(|m| {
                    assert_eq!(m["listenAddress"].as_str(), Some("127.0.0.1"), "{name}");
                    assert_eq!(m["hostPort"], m["containerPort"], "{name}");
                    m["containerPort"].as_u64().unwrap() as u16
                })
                .collect();
            published.sort();
            assert_eq!(published, ports::all(), "{name}");
        }
    }
}
