//! The fault proxy as a pod: each line chart's `s3-proxy` Deployment runs `chaos agent proxy`
//! in front of MinIO (the `s3` and `history-s3` links of that line). The fault driver adds and
//! removes toxics through `kubectl exec <pod> -- chaos agent toxic '<request>'` (the agent's
//! control channel listens on the pod's loopback only), keyed by `<fault id>/<n>` so each
//! request is idempotent and a dead harness's toxics are found by listing the keys.

use super::kube::Kube;
use super::pods::{self, Pod, COMPONENT};
use crate::fault::catalog::LinkKind;
use crate::fault::proxy::control::{ControlReply, ControlRequest};
use crate::fault::proxy::ToxicSpec;
use crate::platform::topology;
use crate::platform::LinkStatus;
use crate::versions::SparkLine;

/// The chart component of the proxy pods.
pub const PROXY: &str = "s3-proxy";
/// The proxy's container.
const CONTAINER: &str = "proxy";

/// The agent's name of a link (`s3`, `history-s3`), for the links a proxy carries.
pub fn link_name(kind: LinkKind) -> Option<&'static str> {
    match kind {
        LinkKind::S3 => Some("s3"),
        LinkKind::HistoryS3 => Some("history-s3"),
        _ => None,
    }
}

/// The live proxy pods of `release` (all releases when `None`). Pure.
pub fn of_release<'a>(pods: &'a [Pod], release: Option<&str>) -> Vec<&'a Pod> {
    pods.iter()
        .filter(|p| p.component == PROXY && p.live() && p.phase == "Running")
        .filter(|p| release.is_none_or(|r| p.instance == r))
        .collect()
}

/// The running proxy pods of `release` (all releases when `None`), read from the API.
fn running(k: &Kube, release: Option<&str>) -> Result<Vec<Pod>, String> {
    let list = k
        .json(
            "list the fault proxy pods",
            &["get", "pods", "-l", &format!("{COMPONENT}={PROXY}")],
        )
        .map_err(|e| e.to_string())?;
    let pods = pods::parse_pods(&list);
    Ok(of_release(&pods, release).into_iter().cloned().collect())
}

/// Sends one request to the agent in `pod`.
pub fn exec(k: &Kube, pod: &str, request: &ControlRequest) -> Result<ControlReply, String> {
    let body = serde_json::to_string(request).map_err(|e| e.to_string())?;
    let o = k
        .try_run(&[
            "exec",
            pod,
            "-c",
            CONTAINER,
            "--",
            "/usr/local/bin/chaos",
            "agent",
            "toxic",
            &body,
        ])
        .map_err(|e| e.to_string())?;
    let reply = o
        .stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<ControlReply>(l).ok());
    match reply {
        Some(r) if r.ok => Ok(r),
        Some(r) => Err(format!(
            "the fault proxy in {pod}: {}",
            r.error.unwrap_or_else(|| "refused".into())
        )),
        None => Err(format!(
            "the fault proxy in {pod} did not answer: {}",
            o.stderr.trim()
        )),
    }
}

/// Adds `toxic` under `key` to the `link` of every proxy pod of `release`; an error when none
/// runs.
pub fn add(
    k: &Kube,
    release: &str,
    link: &str,
    key: &str,
    toxic: &ToxicSpec,
) -> Result<(), String> {
    let pods = running(k, Some(release))?;
    if pods.is_empty() {
        return Err(format!(
            "no fault proxy pod of {release} runs (component {PROXY}): is faultProxy.enabled off?"
        ));
    }
    let req = ControlRequest::Add {
        key: key.to_string(),
        link: link.to_string(),
        toxic: toxic.clone(),
    };
    for p in pods {
        exec(k, &p.name, &req)?;
    }
    Ok(())
}

/// Removes `key` from every proxy pod of `release` (a pod that is gone took it with it).
pub fn remove(k: &Kube, release: &str, key: &str) -> Vec<String> {
    let pods = match running(k, Some(release)) {
        Ok(p) => p,
        Err(e) => return vec![e],
    };
    let req = ControlRequest::Remove {
        key: key.to_string(),
    };
    pods.iter()
        .filter_map(|p| exec(k, &p.name, &req).err())
        .filter(|e| !e.contains("NotFound"))
        .collect()
}

/// Every proxy pod's toxics: (release, pod, reply).
pub fn list_all(k: &Kube) -> Result<Vec<(String, String, ControlReply)>, String> {
    let mut out = Vec::new();
    for p in running(k, None)? {
        let r = exec(k, &p.name, &ControlRequest::List)?;
        out.push((p.instance, p.name, r));
    }
    Ok(out)
}

/// The links' status for `chaos env status`, from what the agents answer (pure over them).
pub fn link_statuses(replies: &[(String, String, ControlReply)]) -> Vec<LinkStatus> {
    let mut out = Vec::new();
    for (release, pod, reply) in replies {
        let Some(line) = pods::line_of_release(release) else {
            continue;
        };
        for (name, stats) in &reply.links {
            let (kind, s3) = match name.as_str() {
                "s3" => (topology::LinkKind::S3, true),
                "history-s3" => (topology::LinkKind::HistoryS3, false),
                _ => continue,
            };
            out.push(LinkStatus {
                id: topology::link(line, kind),
                description: format!(
                    "Spark {}'s {} → MinIO, through the fault proxy pod {pod}",
                    line.version(),
                    if s3 {
                        "drivers, executors and metastore"
                    } else {
                        "History Server"
                    }
                ),
                listen: if s3 { 9000 } else { 9001 },
                upstream: 9000,
                toxics: reply
                    .toxics
                    .iter()
                    .filter(|t| t.link == *name)
                    .map(|t| t.toxic.clone())
                    .collect(),
                stats: *stats,
            });
        }
    }
    out
}

/// The key of a fault's `n`-th toxic.
pub fn key(fault_id: &str, n: usize) -> String {
    format!("{fault_id}/{n}")
}

/// Whether `line` of the environment has a fault proxy (its pods in `pods`). Pure.
pub fn present(pods: &[Pod], line: SparkLine) -> bool {
    !of_release(pods, Some(&pods::release(line))).is_empty()
}
