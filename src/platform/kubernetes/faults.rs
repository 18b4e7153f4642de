//! The Kubernetes platform's fault driver: faults as the seeds' chaos script does them, through
//! the API, each written to the ledger before it acts.
//!
//! | fault | act | undo |
//! |---|---|---|
//! | kill (restart) | delete the pods, grace 0 (their Deployment or Spark replaces them) | — |
//! | kill (held down), stop | annotate the Deployment with its replica count, scale it to 0 (a kill also deletes its pods at once) | scale back |
//! | partition | two NetworkPolicies: the line's executors take nothing from its drivers, its drivers nothing from its executors | delete them |
//! | s3 outage (blackhole, refuse, reset) | a NetworkPolicy on the line's fault proxy pod (MinIO when the line has none) taking nothing from the line's Spark pods (or every line's) | delete it |
//! | S3 protocol and stream faults (s3-throttling, s3-error, s3-latency, s3-truncate, latency, bandwidth, …) | a toxic in the line's fault proxy pod (`chaos agent proxy`, see [`super::proxy`]), keyed `<fault id>/<n>` | remove the key |
//! | metastore blackhole/refuse, cut from PostgreSQL | a NetworkPolicy on the metastore (or on PostgreSQL, from that metastore) | delete it |
//!
//! NetworkPolicies decide new connections; implementations let established ones through. So
//! on a kind cluster the driver also deletes the conntrack entries of the cut pairs of pods on
//! every node, and a cut connection stays cut as a real network fault would (on other clusters
//! established connections outlive the policy, as they do under every NetworkPolicy chaos
//! tool). Pausing a container has no API: `pause` is refused. The fault proxy runs in front of
//! S3 only (a pod per line), so link faults other than a cut on the metastore, PostgreSQL and
//! Connect links are refused too, and [`supported`] says so before a run starts.
//!
//! Every object a fault makes carries the label [`FAULT_LABEL`] (NetworkPolicies) or the
//! annotation [`SCALED_FROM`] (Deployments), and every toxic its key, so a harness killed
//! mid-fault leaves nothing the next command cannot find: [`FaultDriver::sweep`] undoes what
//! the ledger does not know.

use std::collections::BTreeMap;

use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::guard::Guard;
use super::kube::{not_found, Kube};
use super::pods::{self, of_role, Pod, COMPONENT, INSTANCE};
use super::proxy;
use super::state::KubeState;
use crate::fault::catalog::{Effect, FaultSpec, LinkKind, ProcessAction};
use crate::fault::proxy::ToxicSpec;
use crate::fault::target::{Pick, Role, Target};
use crate::paths::EnvHome;
use crate::platform::{DriverError, FaultDriver, PlatformAction, Resolution};
use crate::versions::SparkLine;

/// The label on every NetworkPolicy a fault makes: the fault's ledger id.
pub const FAULT_LABEL: &str = "spark-chaos.io/fault";
/// The annotation on a Deployment a fault scaled down: the replica count to restore.
pub const SCALED_FROM: &str = "spark-chaos.io/scaled-from";

/// What a fault does and undoes on Kubernetes (stored in the ledger as JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum KubeAction {
    /// Delete pods (grace 0: a kill).
    KubeDelete {
        /// The pods.
        pods: Vec<String>,
    },
    /// Scale a Deployment (act: to 0, noting `replicas` in its annotation; undo: back to
    /// `replicas`).
    KubeScale {
        /// The Deployment.
        deployment: String,
        /// Its replica count before the fault.
        replicas: u32,
        /// Also delete its pods at once (a kill rather than a graceful stop).
        kill: bool,
    },
    /// A NetworkPolicy (act: apply `policy`; undo: delete `name`).
    KubePolicy {
        /// Its name.
        name: String,
        /// The object (empty in undo actions).
        #[serde(default)]
        policy: Value,
    },
    /// Delete the conntrack entries between pairs of pod IPs on every kind node (so
    /// established connections are cut too).
    KubeFlush {
        /// (from, to) pod IPs.
        pairs: Vec<(String, String)>,
    },
    /// A toxic on a link of a line's fault proxy pod (act: add `toxic` under `key`; undo:
    /// remove `key`).
    KubeToxic {
        /// The line's release (`spark-41`).
        release: String,
        /// The proxy's link (`s3`, `history-s3`).
        link: String,
        /// `<fault id>/<n>`.
        key: String,
        /// The toxic (none in undo actions).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        toxic: Option<ToxicSpec>,
    },
}

impl KubeAction {
    fn encode(&self) -> PlatformAction {
        PlatformAction::encode(self)
    }
}

/// Whether a toxic cuts the link (done as a NetworkPolicy rather than in the proxy).
fn is_cut(toxic: &ToxicSpec) -> bool {
    matches!(
        toxic,
        ToxicSpec::Blackhole(_) | ToxicSpec::Refuse(_) | ToxicSpec::Reset(_)
    )
}

/// Whether this platform can do a fault; the error says why not (for validation, before
/// anything starts). Pure.
pub fn supported(spec: &FaultSpec) -> Result<(), String> {
    match &spec.effect {
        Effect::Process(ProcessAction::Pause) => Err(
            "`pause` cannot be done on kubernetes: the API has no way to freeze a container \
             (the restricted pods share no process namespace to send SIGSTOP from); \
             use kill or stop"
                .into(),
        ),
        Effect::Process(action) => match spec.target.role {
            Role::Worker | Role::Master => Err(format!(
                "there is no `{}` on kubernetes: executors are pods that the driver makes \
                 (target executor or connect)",
                spec.target.role
            )),
            Role::Executor if !matches!(action, ProcessAction::Kill { restart: true }) => Err(
                "executors are made by Spark, not held by a Deployment: only a kill with \
                 restart = true (the pod is deleted, Spark asks for a new one) applies"
                    .into(),
            ),
            Role::Connect
                if !matches!(action, ProcessAction::Kill { restart: true })
                    && !matches!(spec.target.pick, Pick::All | Pick::Default | Pick::Index(0)) =>
            {
                Err(
                    "holding one Connect replica down is not possible on kubernetes (a \
                     Deployment scales, it does not choose): use `connect@V:all`, or a kill \
                     with restart = true"
                        .into(),
                )
            }
            _ => Ok(()),
        },
        Effect::Partition => Ok(()),
        Effect::Link { kinds, toxic } => {
            let cut = is_cut(toxic);
            let s3 = kinds
                .iter()
                .all(|k| matches!(k, LinkKind::S3 | LinkKind::HistoryS3));
            let cuttable = kinds.iter().all(|k| {
                matches!(
                    k,
                    LinkKind::S3 | LinkKind::HistoryS3 | LinkKind::Metastore | LinkKind::Postgres
                )
            });
            if s3 || (cut && cuttable) {
                Ok(())
            } else {
                Err(format!(
                    "`{}` ({}) needs the fault proxy in front of the service; on kubernetes \
                     the proxy runs in front of S3 only (every S3 fault works: s3-outage, \
                     s3-throttling, s3-error, s3-latency, s3-truncate, latency, bandwidth …), \
                     and the metastore, PostgreSQL and Connect links can only be cut \
                     (metastore-outage modes blackhole/refuse/reset/kill/stop/\
                     cut-from-postgres, network-partition)",
                    spec.kind,
                    toxic.kind()
                ))
            }
        }
    }
}

/// Who may not reach a pod: the pods whose release is one of `instances` and whose component
/// is one of `components` (every component when empty).
#[derive(Debug, Clone, PartialEq)]
pub struct Denied {
    /// Releases (`spark-41`).
    pub instances: Vec<String>,
    /// Components (`connect`, `executor`).
    pub components: Vec<String>,
}

/// A NetworkPolicy on the pods `selected` (match labels) that admits every source but the
/// `denied` pods of `namespace`: other pods of the namespace, pods of other namespaces and
/// addresses outside the pod network (`pod_cidrs`: the nodes, so the harness's node-port
/// traffic still passes). Pure.
pub fn deny_policy(
    name: &str,
    fault_id: &str,
    namespace: &str,
    selected: &BTreeMap<String, String>,
    denied: &Denied,
    pod_cidrs: &[String],
) -> Value {
    let mut from = vec![json!({"podSelector": {"matchExpressions": [
        {"key": INSTANCE, "operator": "NotIn", "values": denied.instances}
    ]}})];
    if !denied.components.is_empty() {
        from.push(json!({"podSelector": {"matchExpressions": [
            {"key": COMPONENT, "operator": "NotIn", "values": denied.components}
        ]}}));
    }
    from.push(json!({"namespaceSelector": {"matchExpressions": [
        {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": [namespace]}
    ]}}));
    from.push(json!({"ipBlock": {"cidr": "0.0.0.0/0", "except": pod_cidrs}}));
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": name,
            "labels": {
                FAULT_LABEL: fault_id,
                "app.kubernetes.io/managed-by": "spark-chaos",
            }
        },
        "spec": {
            "podSelector": {"matchLabels": selected},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": from}],
        }
    })
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A policy name for a fault (`chaos-f3-s3`); names are DNS labels.
fn policy_name(fault_id: &str, what: &str) -> String {
    let id: String = fault_id
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let mut n = format!("chaos-{id}-{what}");
    n.truncate(63);
    n.trim_end_matches('-').to_string()
}

/// The driver.
pub struct KubeFaults {
    home: EnvHome,
}

struct View {
    state: KubeState,
    pods: Vec<Pod>,
}

impl KubeFaults {
    /// The driver of the environment at `home`.
    pub fn new(home: &EnvHome) -> KubeFaults {
        KubeFaults {
            home: EnvHome::at(home.root()),
        }
    }

    fn state(&self) -> Result<KubeState, DriverError> {
        KubeState::read(&self.home)
            .ok_or_else(|| DriverError::NoEnv(self.home.root().display().to_string()))
    }

    fn view(&self) -> Result<View, DriverError> {
        let state = self.state()?;
        let list = state
            .kube
            .json("list the environment's pods", &["get", "pods"])
            .map_err(act_err)?;
        Ok(View {
            pods: pods::parse_pods(&list),
            state,
        })
    }

    fn guard(&self, state: &KubeState) -> Result<(), DriverError> {
        let g = Guard {
            context: state.kube.context.clone(),
            allowed: state.allowed_namespaces.clone(),
        };
        g.check_live(|| state.kube.kubectl_plain(), &state.kube.namespace)
            .map_err(act_err)
    }
}

fn act_err(e: impl std::fmt::Display) -> DriverError {
    DriverError::Act(e.to_string())
}

fn target_err(target: &Target, message: impl Into<String>) -> DriverError {
    DriverError::Target {
        target: target.to_string(),
        message: message.into(),
    }
}

fn lines_of(target: &Target, running: &[SparkLine]) -> Vec<SparkLine> {
    match target.line {
        Some(l) => vec![l],
        None => running.to_vec(),
    }
}

fn pick(pods: Vec<Pod>, p: Pick, role: Role) -> Vec<Pod> {
    match p {
        Pick::All => pods,
        Pick::Index(n) => pods.into_iter().nth(n as usize).into_iter().collect(),
        Pick::Random => pods
            .choose(&mut rand::thread_rng())
            .cloned()
            .into_iter()
            .collect(),
        Pick::Default if role == Role::Executor => pods
            .choose(&mut rand::thread_rng())
            .cloned()
            .into_iter()
            .collect(),
        Pick::Default => pods.into_iter().take(1).collect(),
    }
}

fn versions(lines: &[SparkLine]) -> Vec<String> {
    lines.iter().map(|l| l.version().to_string()).collect()
}

impl View {
    fn lines(&self) -> Vec<SparkLine> {
        self.state.settings.lines.clone()
    }

    fn ips(&self, role: Role, line: Option<SparkLine>) -> Vec<String> {
        of_role(&self.pods, role, line)
            .into_iter()
            .filter_map(|p| p.ip)
            .collect()
    }

    fn pod_cidrs(&self) -> Result<Vec<String>, DriverError> {
        let nodes = self
            .state
            .kube
            .json("list the nodes' pod CIDRs", &["get", "nodes"])
            .map_err(act_err)?;
        let mut cidrs: Vec<String> = nodes["items"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|n| {
                let mut v: Vec<String> = n["spec"]["podCIDRs"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c.as_str().map(str::to_string))
                    .collect();
                if let Some(c) = n["spec"]["podCIDR"].as_str() {
                    v.push(c.to_string());
                }
                v
            })
            .filter(|c| !c.contains(':'))
            .collect();
        cidrs.sort();
        cidrs.dedup();
        Ok(cidrs)
    }

    fn flush(&self, from: &[String], to: &[String]) -> Option<PlatformAction> {
        self.state.kind_cluster.as_ref()?;
        let pairs: Vec<(String, String)> = from
            .iter()
            .flat_map(|f| to.iter().map(move |t| (f.clone(), t.clone())))
            .filter(|(f, t)| f != t)
            .collect();
        if pairs.is_empty() {
            None
        } else {
            Some(KubeAction::KubeFlush { pairs }.encode())
        }
    }
}

impl FaultDriver for KubeFaults {
    fn resolve(&self, spec: &FaultSpec, id: &str) -> Result<Resolution, DriverError> {
        supported(spec).map_err(|m| target_err(&spec.target, m))?;
        let view = self.view()?;
        let ns = view.state.kube.namespace.clone();
        let target = &spec.target;
        let lines = lines_of(target, &view.lines());
        match &spec.effect {
            Effect::Process(action) => {
                let role = target.role;
                let mut r = Resolution {
                    versions: if role.shared() {
                        versions(&view.lines())
                    } else {
                        versions(&lines)
                    },
                    ..Resolution::default()
                };
                let scope: Vec<Option<SparkLine>> = if role.shared() {
                    vec![None]
                } else {
                    lines.iter().copied().map(Some).collect()
                };
                let mut details = Vec::new();
                for line in scope {
                    let all = of_role(&view.pods, role, line);
                    match action {
                        ProcessAction::Kill { restart: true } => {
                            let chosen = pick(all, target.pick, role);
                            if chosen.is_empty() {
                                continue;
                            }
                            let names: Vec<String> =
                                chosen.iter().map(|p| p.name.clone()).collect();
                            details.push(format!("delete pod {}", names.join(", ")));
                            r.act.push(KubeAction::KubeDelete { pods: names }.encode());
                        }
                        _ => {
                            let l = line.unwrap_or(SparkLine::V4_1);
                            let deployment = pods::deployment(role, l)
                                .ok_or_else(|| target_err(target, "has no Deployment"))?;
                            let dep = view
                                .state
                                .kube
                                .json(
                                    &format!("read Deployment {deployment}"),
                                    &["get", "deployment", &deployment],
                                )
                                .map_err(|e| target_err(target, e.to_string()))?;
                            let replicas = dep["spec"]["replicas"].as_u64().unwrap_or(1) as u32;
                            if role == Role::Connect && replicas > 1 && target.pick != Pick::All {
                                return Err(target_err(
                                    target,
                                    format!("{deployment} runs {replicas} replicas and a Deployment cannot hold one down: use `connect@V:all` or restart = true"),
                                ));
                            }
                            let kill = matches!(action, ProcessAction::Kill { .. });
                            let a = KubeAction::KubeScale {
                                deployment: deployment.clone(),
                                replicas,
                                kill,
                            }
                            .encode();
                            details.push(format!(
                                "scale {deployment} {replicas} → 0{}",
                                if kill { " (pods deleted at once)" } else { "" }
                            ));
                            r.undo.push(a.clone());
                            r.act.push(a);
                        }
                    }
                }
                if r.act.is_empty() {
                    return Err(target_err(
                        target,
                        "matches no running pod of this environment",
                    ));
                }
                r.detail = details.join("; ");
                Ok(r)
            }
            Effect::Partition => {
                let cidrs = view.pod_cidrs()?;
                let mut r = Resolution {
                    versions: versions(&lines),
                    ..Resolution::default()
                };
                for &line in &lines {
                    let rel = pods::release(line);
                    for (side, other) in [("executor", "connect"), ("connect", "executor")] {
                        let name = policy_name(id, &format!("{}-{side}", line.slug()));
                        let policy = deny_policy(
                            &name,
                            id,
                            &ns,
                            &labels(&[(INSTANCE, &rel), (COMPONENT, side)]),
                            &Denied {
                                instances: vec![rel.clone()],
                                components: vec![other.to_string()],
                            },
                            &cidrs,
                        );
                        r.undo.push(
                            KubeAction::KubePolicy {
                                name: name.clone(),
                                policy: Value::Null,
                            }
                            .encode(),
                        );
                        r.act.push(KubeAction::KubePolicy { name, policy }.encode());
                    }
                    let ex = view.ips(Role::Executor, Some(line));
                    let dr = view.ips(Role::Connect, Some(line));
                    for (a, b) in [(&ex, &dr), (&dr, &ex)] {
                        if let Some(f) = view.flush(a, b) {
                            r.act.push(f);
                        }
                    }
                }
                r.detail = format!(
                    "NetworkPolicies: Spark {}'s executors and drivers take nothing from each other",
                    lines.iter().map(|l| l.version()).collect::<Vec<_>>().join(" and ")
                );
                Ok(r)
            }
            Effect::Link { kinds, toxic } if !is_cut(toxic) => {
                // S3 protocol and stream faults: toxics in each line's fault proxy pod.
                let mut r = Resolution {
                    versions: versions(&lines),
                    ..Resolution::default()
                };
                let mut links = Vec::new();
                for &l in &lines {
                    if !proxy::present(&view.pods, l) {
                        return Err(target_err(
                            target,
                            format!(
                                "Spark {} has no fault proxy pod running ({}-{}): S3 protocol faults need the line chart's faultProxy.enabled",
                                l.version(),
                                pods::release(l),
                                proxy::PROXY
                            ),
                        ));
                    }
                    for &kind in kinds {
                        let link = proxy::link_name(kind).expect("S3 links only");
                        let key = proxy::key(id, r.act.len());
                        let release = pods::release(l);
                        r.undo.push(
                            KubeAction::KubeToxic {
                                release: release.clone(),
                                link: link.into(),
                                key: key.clone(),
                                toxic: None,
                            }
                            .encode(),
                        );
                        r.act.push(
                            KubeAction::KubeToxic {
                                release,
                                link: link.into(),
                                key,
                                toxic: Some(toxic.clone()),
                            }
                            .encode(),
                        );
                        links.push(format!("{}'s {link}", l.version()));
                    }
                }
                r.detail = format!(
                    "fault proxy pods: `{}` on Spark {}",
                    toxic.kind(),
                    links.join(", ")
                );
                Ok(r)
            }
            Effect::Link { kinds, .. } => {
                let cidrs = view.pod_cidrs()?;
                let rels: Vec<String> = lines.iter().map(|l| pods::release(*l)).collect();
                let (selected, denied, what, victims, servers): (
                    BTreeMap<String, String>,
                    Denied,
                    String,
                    Vec<String>,
                    Vec<String>,
                ) = if kinds
                    .iter()
                    .all(|k| matches!(k, LinkKind::S3 | LinkKind::HistoryS3))
                {
                    let mut comps = Vec::new();
                    if kinds.contains(&LinkKind::S3) {
                        comps.extend(["connect", "executor", "metastore"]);
                    }
                    if kinds.contains(&LinkKind::HistoryS3) {
                        comps.push("history");
                    }
                    let all_comps = comps.len() == 4;
                    let mut victims = Vec::new();
                    for &l in &lines {
                        for c in &comps {
                            let role = match *c {
                                "connect" => Role::Connect,
                                "executor" => Role::Executor,
                                "metastore" => Role::Metastore,
                                _ => Role::History,
                            };
                            victims.extend(view.ips(role, Some(l)));
                        }
                    }
                    // Behind the fault proxy, the line's pods reach S3 through it: the cut is
                    // on the proxy pods (each line's S3 and history links apart, by source);
                    // without one, on MinIO.
                    let proxied = lines.iter().all(|&l| proxy::present(&view.pods, l));
                    let (selected, servers) = if proxied {
                        let mut sel = vec![(COMPONENT, proxy::PROXY)];
                        if lines.len() == 1 {
                            sel.push((INSTANCE, rels[0].as_str()));
                        }
                        let ips = proxy::of_release(&view.pods, None)
                            .into_iter()
                            .filter(|p| p.line.is_some_and(|l| lines.contains(&l)))
                            .filter_map(|p| p.ip.clone())
                            .collect();
                        (labels(&sel), ips)
                    } else {
                        (
                            labels(&[(INSTANCE, pods::BASE_RELEASE), (COMPONENT, "minio")]),
                            view.ips(Role::S3, None),
                        )
                    };
                    (
                        selected,
                        Denied {
                            instances: rels.clone(),
                            components: if all_comps {
                                vec![]
                            } else {
                                comps.iter().map(|c| c.to_string()).collect()
                            },
                        },
                        format!(
                            "{} takes no connection from Spark {}'s {}",
                            if proxied {
                                "the S3 fault proxy"
                            } else {
                                "MinIO"
                            },
                            lines
                                .iter()
                                .map(|l| l.version())
                                .collect::<Vec<_>>()
                                .join(" and "),
                            comps.join(", ")
                        ),
                        victims,
                        servers,
                    )
                } else if kinds == &[LinkKind::Metastore] {
                    let mut victims = Vec::new();
                    let mut servers = Vec::new();
                    for &l in &lines {
                        victims.extend(view.ips(Role::Connect, Some(l)));
                        victims.extend(view.ips(Role::Executor, Some(l)));
                        servers.extend(view.ips(Role::Metastore, Some(l)));
                    }
                    if lines.len() != 1 {
                        // One policy per line's metastore.
                        return self.per_line(spec, id, &view, &lines);
                    }
                    (
                        labels(&[(INSTANCE, &rels[0]), (COMPONENT, "metastore")]),
                        Denied {
                            instances: rels.clone(),
                            components: vec!["connect".into(), "executor".into()],
                        },
                        format!("Spark {}'s metastore takes no connection from its drivers and executors", lines[0].version()),
                        victims,
                        servers,
                    )
                } else if kinds == &[LinkKind::Postgres] {
                    let mut victims = Vec::new();
                    for &l in &lines {
                        victims.extend(view.ips(Role::Metastore, Some(l)));
                    }
                    (
                        labels(&[(INSTANCE, pods::BASE_RELEASE), (COMPONENT, "postgres")]),
                        Denied {
                            instances: rels.clone(),
                            components: vec!["metastore".into()],
                        },
                        format!(
                            "PostgreSQL takes no connection from Spark {}'s metastore",
                            lines
                                .iter()
                                .map(|l| l.version())
                                .collect::<Vec<_>>()
                                .join(" and ")
                        ),
                        victims,
                        view.ips(Role::Postgres, None),
                    )
                } else {
                    return Err(target_err(target, "this link cannot be cut on kubernetes"));
                };
                let name = policy_name(id, "cut");
                let policy = deny_policy(&name, id, &ns, &selected, &denied, &cidrs);
                let mut r = Resolution {
                    versions: versions(&lines),
                    detail: format!("NetworkPolicy {name}: {what}"),
                    undo: vec![KubeAction::KubePolicy {
                        name: name.clone(),
                        policy: Value::Null,
                    }
                    .encode()],
                    act: vec![KubeAction::KubePolicy { name, policy }.encode()],
                };
                if let Some(f) = view.flush(&victims, &servers) {
                    r.act.push(f);
                }
                Ok(r)
            }
        }
    }

    fn act(&self, r: &Resolution, _generation: u64) -> Result<(), DriverError> {
        let state = self.state()?;
        self.guard(&state)?;
        let k = &state.kube;
        for a in &r.act {
            let Some(a) = a.decode::<KubeAction>() else {
                return Err(DriverError::Act(format!(
                    "not a kubernetes action: {}",
                    a.0
                )));
            };
            match a {
                KubeAction::KubeDelete { pods } => {
                    let mut args = vec![
                        "delete",
                        "pod",
                        "--grace-period=0",
                        "--force",
                        "--wait=false",
                    ];
                    args.extend(pods.iter().map(String::as_str));
                    let o = k.try_run(&args).map_err(act_err)?;
                    if !o.ok && !not_found(&o) {
                        return Err(DriverError::Act(format!(
                            "delete pod {}: {}",
                            pods.join(", "),
                            o.stderr.trim()
                        )));
                    }
                }
                KubeAction::KubeScale {
                    deployment,
                    replicas,
                    kill,
                } => {
                    let note = format!("{SCALED_FROM}={replicas}");
                    k.run(
                        &format!("annotate Deployment {deployment}"),
                        &["annotate", "deployment", &deployment, &note, "--overwrite"],
                    )
                    .map_err(act_err)?;
                    k.run(
                        &format!("scale Deployment {deployment} to 0"),
                        &["scale", "deployment", &deployment, "--replicas=0"],
                    )
                    .map_err(act_err)?;
                    if kill {
                        let sel = selector_of(k, &deployment)?;
                        k.run(
                            &format!("delete the pods of {deployment}"),
                            &[
                                "delete",
                                "pod",
                                "-l",
                                &sel,
                                "--grace-period=0",
                                "--force",
                                "--wait=false",
                            ],
                        )
                        .map_err(act_err)?;
                    }
                }
                KubeAction::KubePolicy { name, policy } => {
                    k.apply(&format!("apply NetworkPolicy {name}"), &policy)
                        .map_err(act_err)?;
                }
                KubeAction::KubeFlush { pairs } => {
                    if let Some(cluster) = &state.kind_cluster {
                        flush_conntrack(cluster, &pairs).map_err(act_err)?;
                    }
                }
                KubeAction::KubeToxic {
                    release,
                    link,
                    key,
                    toxic,
                } => {
                    let toxic = toxic.ok_or_else(|| {
                        DriverError::Act(format!("toxic {key} has no toxic to add"))
                    })?;
                    proxy::add(k, &release, &link, &key, &toxic).map_err(DriverError::Act)?;
                }
            }
        }
        Ok(())
    }

    fn undo(&self, undo: &[PlatformAction], _generation: u64) -> Vec<String> {
        let state = match self.state() {
            Ok(s) => s,
            Err(e) => return vec![e.to_string()],
        };
        let k = &state.kube;
        let mut problems = Vec::new();
        for a in undo {
            let Some(a) = a.decode::<KubeAction>() else {
                continue;
            };
            match a {
                KubeAction::KubePolicy { name, .. } => {
                    match k.try_run(&["delete", "networkpolicy", &name, "--ignore-not-found"]) {
                        Ok(o) if o.ok => {}
                        Ok(o) => problems
                            .push(format!("delete NetworkPolicy {name}: {}", o.stderr.trim())),
                        Err(e) => problems.push(e.to_string()),
                    }
                }
                KubeAction::KubeScale {
                    deployment,
                    replicas,
                    ..
                } => {
                    if let Err(e) = restore(k, &deployment, replicas) {
                        problems.push(e);
                    }
                }
                KubeAction::KubeToxic { release, key, .. } => {
                    problems.extend(proxy::remove(k, &release, &key));
                }
                KubeAction::KubeDelete { .. } | KubeAction::KubeFlush { .. } => {}
            }
        }
        problems
    }

    fn sweep(&self, known: &[PlatformAction]) -> Vec<String> {
        let Ok(state) = self.state() else {
            return vec![];
        };
        let k = &state.kube;
        let known: Vec<KubeAction> = known.iter().filter_map(|a| a.decode()).collect();
        let mut problems = Vec::new();
        match k.items(
            "list the faults' NetworkPolicies",
            "networkpolicy",
            FAULT_LABEL,
        ) {
            Ok(items) => {
                for p in items {
                    let name = p["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    let is_known = known
                        .iter()
                        .any(|a| matches!(a, KubeAction::KubePolicy { name: n, .. } if *n == name));
                    if !is_known {
                        let undo = KubeAction::KubePolicy {
                            name,
                            policy: Value::Null,
                        }
                        .encode();
                        problems.extend(self.undo(&[undo], 0));
                    }
                }
            }
            Err(e) if is_gone(&e) => return vec![],
            Err(e) => problems.push(e.to_string()),
        }
        match k.items("list the Deployments", "deployment", "") {
            Ok(items) => {
                for d in items {
                    let name = d["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    let Some(from) = d["metadata"]["annotations"][SCALED_FROM]
                        .as_str()
                        .and_then(|s| s.parse::<u32>().ok())
                    else {
                        continue;
                    };
                    let is_known = known.iter().any(
                        |a| matches!(a, KubeAction::KubeScale { deployment, .. } if *deployment == name),
                    );
                    if !is_known {
                        if let Err(e) = restore(k, &name, from) {
                            problems.push(e);
                        }
                    }
                }
            }
            Err(e) => problems.push(e.to_string()),
        }
        match proxy::list_all(k) {
            Ok(agents) => {
                for (release, _pod, reply) in agents {
                    for t in reply.toxics {
                        let is_known = known.iter().any(
                            |a| matches!(a, KubeAction::KubeToxic { key, .. } if *key == t.key),
                        );
                        if !is_known {
                            problems.extend(proxy::remove(k, &release, &t.key));
                        }
                    }
                }
            }
            Err(e) => problems.push(e),
        }
        problems
    }
}

impl KubeFaults {
    /// A metastore cut of several lines: one policy per line's metastore.
    fn per_line(
        &self,
        spec: &FaultSpec,
        id: &str,
        _view: &View,
        lines: &[SparkLine],
    ) -> Result<Resolution, DriverError> {
        let mut out = Resolution::default();
        let mut details = Vec::new();
        for (i, &l) in lines.iter().enumerate() {
            let mut one = spec.clone();
            one.target.line = Some(l);
            let r = self.resolve(&one, &format!("{id}-{i}"))?;
            out.undo.extend(r.undo);
            out.act.extend(r.act);
            out.versions.extend(r.versions);
            details.push(r.detail);
        }
        out.detail = details.join("; ");
        Ok(out)
    }
}

fn is_gone(e: &super::KubeError) -> bool {
    let t = e.to_string();
    t.contains("NotFound") || t.contains("connection refused")
}

fn selector_of(k: &Kube, deployment: &str) -> Result<String, DriverError> {
    let d = k
        .json(
            &format!("read Deployment {deployment}"),
            &["get", "deployment", deployment],
        )
        .map_err(act_err)?;
    let sel = d["spec"]["selector"]["matchLabels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    if sel.is_empty() {
        return Err(DriverError::Act(format!("{deployment} has no selector")));
    }
    Ok(sel)
}

/// Scales a Deployment back and drops the annotation; a Deployment that is gone is healed.
fn restore(k: &Kube, deployment: &str, replicas: u32) -> Result<(), String> {
    let n = format!("--replicas={replicas}");
    match k.try_run(&["scale", "deployment", deployment, &n]) {
        Ok(o) if o.ok => {}
        Ok(o) if not_found(&o) => return Ok(()),
        Ok(o) => {
            return Err(format!(
                "scale {deployment} back to {replicas}: {}",
                o.stderr.trim()
            ))
        }
        Err(e) => return Err(e.to_string()),
    }
    let drop = format!("{SCALED_FROM}-");
    match k.try_run(&["annotate", "deployment", deployment, &drop]) {
        Ok(o) if o.ok || not_found(&o) => Ok(()),
        Ok(o) => Err(format!("annotate {deployment}: {}", o.stderr.trim())),
        Err(e) => Err(e.to_string()),
    }
}

/// Deletes the conntrack entries from each `from` pod IP to each `to` pod IP (either
/// direction, before or after a Service's DNAT) on every node of a kind cluster.
fn flush_conntrack(cluster: &str, pairs: &[(String, String)]) -> Result<(), super::KubeError> {
    let script = conntrack_script(pairs);
    for node in super::cluster::node_containers(cluster)? {
        // `conntrack -D` exits 1 when nothing matched; the script ends with `true`.
        super::docker::capture(
            &format!("flush conntrack entries on {node}"),
            super::docker::docker().args(["exec", &node, "sh", "-c", &script]),
        )?;
    }
    Ok(())
}

/// The shell script that deletes the conntrack entries of `pairs`. Pure.
pub fn conntrack_script(pairs: &[(String, String)]) -> String {
    let mut s = String::new();
    for (from, to) in pairs {
        for (a, b) in [("--orig-src", "--orig-dst"), ("--orig-src", "--reply-src")] {
            s.push_str(&format!(
                "conntrack -D {a} {from} {b} {to} >/dev/null 2>&1; conntrack -D {a} {to} {b} {from} >/dev/null 2>&1; "
            ));
        }
    }
    s.push_str("true");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::catalog::parse;

    fn spec(kind: &str, target: Option<&str>, params: &[(&str, &str)]) -> FaultSpec {
        let p = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        parse(kind, target, &p).unwrap()
    }

    #[test]
    fn what_kubernetes_can_and_cannot_do() {
        for (kind, target, params) in [
            ("pod-kill", Some("executor@4.1.0"), vec![]),
            ("pod-kill", Some("connect@3.5.7#1"), vec![]),
            ("network-partition", None, vec![]),
            ("s3-outage", None, vec![]),
            ("s3-outage", Some("s3@4.1.0"), vec![("mode", "refuse")]),
            ("s3-outage", None, vec![("mode", "kill")]),
            ("metastore-outage", Some("metastore@3.5.7"), vec![]),
            (
                "metastore-outage",
                None,
                vec![("mode", "cut-from-postgres")],
            ),
            ("metastore-outage", None, vec![("mode", "blackhole")]),
            ("stop", Some("history@4.1.0"), vec![]),
            // Through the fault proxy pods.
            ("s3-throttling", None, vec![]),
            ("latency", Some("s3@4.1.0"), vec![]),
            ("s3-truncate", Some("history-s3@3.5.7"), vec![]),
            ("bandwidth", Some("s3"), vec![]),
        ] {
            assert_eq!(
                supported(&spec(kind, target, &params)),
                Ok(()),
                "{kind} {target:?}"
            );
        }
        for (kind, target, params, says) in [
            ("pause", Some("connect@4.1.0"), vec![], "no way to freeze"),
            (
                "kill",
                Some("worker@4.1.0"),
                vec![],
                "no `worker` on kubernetes",
            ),
            (
                "kill",
                Some("executor@4.1.0"),
                vec![("restart", "false")],
                "made by Spark",
            ),
            (
                "kill",
                Some("connect@4.1.0#1"),
                vec![("restart", "false")],
                "one Connect replica",
            ),
            (
                "latency",
                Some("metastore@4.1.0"),
                vec![],
                "in front of S3 only",
            ),
            (
                "metastore-outage",
                None,
                vec![("mode", "slow")],
                "needs the fault proxy",
            ),
        ] {
            let e = supported(&spec(kind, target, &params)).unwrap_err();
            assert!(e.contains(says), "{kind}: {e}");
        }
    }

    #[test]
    fn a_cut_admits_everyone_but_the_denied_pods() {
        let p = deny_policy(
            "chaos-f1-cut",
            "f1",
            "spark-chaos",
            &labels(&[(INSTANCE, "spark-base"), (COMPONENT, "minio")]),
            &Denied {
                instances: vec!["spark-41".into()],
                components: vec!["connect".into(), "executor".into()],
            },
            &["10.244.0.0/24".into(), "10.244.1.0/24".into()],
        );
        assert_eq!(p["metadata"]["labels"][FAULT_LABEL], "f1");
        assert_eq!(p["spec"]["policyTypes"], json!(["Ingress"]));
        let from = p["spec"]["ingress"][0]["from"].as_array().unwrap();
        assert_eq!(from.len(), 4);
        // A peer list is a union: a pod is admitted when it is of another release OR of
        // another component; so exactly spark-41's connect and executor pods are cut.
        assert_eq!(
            from[0]["podSelector"]["matchExpressions"][0],
            json!({"key": INSTANCE, "operator": "NotIn", "values": ["spark-41"]})
        );
        assert_eq!(
            from[1]["podSelector"]["matchExpressions"][0]["values"],
            json!(["connect", "executor"])
        );
        assert_eq!(
            from[2]["namespaceSelector"]["matchExpressions"][0]["values"],
            json!(["spark-chaos"])
        );
        assert_eq!(
            from[3]["ipBlock"],
            json!({"cidr": "0.0.0.0/0", "except": ["10.244.0.0/24", "10.244.1.0/24"]})
        );
        assert_eq!(policy_name("F_12", "cut"), "chaos-f-12-cut");
    }

    #[test]
    fn actions_round_trip_through_the_ledger_and_are_not_local_ones() {
        let a = KubeAction::KubeScale {
            deployment: "spark-41-metastore".into(),
            replicas: 1,
            kill: true,
        }
        .encode();
        assert_eq!(a.0["action"], "kube-scale");
        assert_eq!(
            a.decode::<KubeAction>().unwrap(),
            KubeAction::KubeScale {
                deployment: "spark-41-metastore".into(),
                replicas: 1,
                kill: true,
            }
        );
        let local = PlatformAction(json!({"action": "hold", "component": "metastore-41"}));
        assert!(local.decode::<KubeAction>().is_none());
    }

    #[test]
    fn conntrack_script_cuts_both_directions_and_never_fails() {
        let s = conntrack_script(&[("10.244.1.5".into(), "10.244.2.9".into())]);
        assert!(s.contains("conntrack -D --orig-src 10.244.1.5 --orig-dst 10.244.2.9"));
        assert!(s.contains("conntrack -D --orig-src 10.244.2.9 --reply-src 10.244.1.5"));
        assert!(s.ends_with("true"));
    }
}
