//! `chaos cluster up / down / status`: a kind cluster made by the harness.
//!
//! `up` makes sure of a Docker engine, builds (or finds cached) kind, kubectl, helm, the node
//! image and the component images, creates the cluster from `kind-configs/<config>.yaml`
//! unless it runs already, waits until every node is Ready, loads the component images into
//! the nodes, and writes `cluster.json` and the kubeconfig into the cluster's directory
//! (`<home>/kind/<name>/`). `down` deletes the cluster and whatever the harness made for it
//! (node containers, their volumes, kind's Docker network, build containers, that directory)
//! and then checks that no container, network or mount is left.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::docker::{self, capture, docker, write_atomic};
use super::images::{self, Build, Source};
use super::{gobuild, nodeimage, pins, KubeError};
use crate::install::{steps, InstallError};
use crate::paths::{Cache, EnvHome};
use crate::versions::SparkLine;

/// The kind label on node containers.
const CLUSTER_LABEL: &str = "io.x-k8s.kind.cluster";

/// A kind configuration shipped in `kind-configs/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindConfig {
    /// Its name (`local`, `ci`).
    pub name: &'static str,
    /// Its text.
    pub text: &'static str,
}

/// Every shipped kind configuration.
pub const KIND_CONFIGS: [KindConfig; 2] = [
    KindConfig {
        name: "local",
        text: include_str!("../../../kind-configs/local.yaml"),
    },
    KindConfig {
        name: "ci",
        text: include_str!("../../../kind-configs/ci.yaml"),
    },
];

/// Finds a shipped kind configuration by name.
pub fn kind_config(name: &str) -> Result<KindConfig, KubeError> {
    KIND_CONFIGS
        .iter()
        .copied()
        .find(|c| c.name == name)
        .ok_or_else(|| {
            KubeError::Invalid(format!(
                "kind configuration `{name}`: expected one of {}",
                KIND_CONFIGS.map(|c| c.name).join(", ")
            ))
        })
}

/// Options of `cluster up`.
#[derive(Debug, Clone)]
pub struct UpOptions {
    /// The cluster's name (kind's `--name`).
    pub name: String,
    /// The kind configuration.
    pub config: KindConfig,
    /// Where images come from.
    pub source: Source,
    /// Spark versions whose images are built and loaded.
    pub spark: Vec<SparkLine>,
    /// How long to wait for every node to be Ready.
    pub ready_timeout: Duration,
}

/// What `cluster up` made, as `cluster.json` keeps it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ClusterInfo {
    /// The cluster's name.
    pub name: String,
    /// The kubeconfig file.
    pub kubeconfig: PathBuf,
    /// Its context.
    pub context: String,
    /// The API server (`https://127.0.0.1:<port>`).
    pub server: String,
    /// The node image.
    pub node_image: String,
    /// Images loaded into the nodes, by role (`spark-4.1.0`, `chaos`).
    pub images: std::collections::BTreeMap<String, String>,
    /// kubectl built for this cluster's Kubernetes version.
    pub kubectl: PathBuf,
    /// helm.
    pub helm: PathBuf,
}

/// The cluster's directory: `<home>/kind/<name>/`.
pub fn cluster_dir(home: &EnvHome, name: &str) -> PathBuf {
    home.root().join("kind").join(name)
}

fn info_file(home: &EnvHome, name: &str) -> PathBuf {
    cluster_dir(home, name).join("cluster.json")
}

/// Reads `cluster.json`, if `cluster up` wrote one.
pub fn read_info(home: &EnvHome, name: &str) -> Option<ClusterInfo> {
    let text = std::fs::read_to_string(info_file(home, name)).ok()?;
    serde_json::from_str(&text).ok()
}

/// The images of the components, built for the cluster. Idempotent.
pub fn ensure_component_images(
    cache: &Cache,
    source: Source,
    spark: &[SparkLine],
) -> Result<std::collections::BTreeMap<String, String>, KubeError> {
    let mut out = std::collections::BTreeMap::new();
    let base = images::ensure_base(cache, source)?;
    for &line in spark {
        let home = cache.spark_home(line);
        // The same distribution the local platform installs (pyspark sdist + extra jars).
        let java = crate::install::java::find_java17()
            .unwrap_or_else(|_| PathBuf::from("/usr/lib/jvm/java-17-openjdk-amd64"));
        crate::install::spark::ensure(cache, line, &java)?;
        let r = images::ensure(
            cache,
            &Build::new(images::SPARK, "spark", line.version())
                .arg("BASE", &base)
                .file(&home, "spark"),
        )?;
        out.insert(format!("spark-{}", line.version()), r);
        // The line's metastore: the jars, distribution and patch the local platform uses.
        let jars = crate::install::hms::install(cache, line, &java).map_err(InstallError::from)?;
        let hms_dir = jars.parent().unwrap_or(&jars).to_path_buf();
        let opens: Vec<String> = crate::install::hms::JAVA_17_OPENS
            .iter()
            .map(|o| format!("--add-opens={o}"))
            .collect();
        let r = images::ensure(
            cache,
            &Build::new(images::HIVE_METASTORE, "hive-metastore", line.hms())
                .arg("BASE", &base)
                .var("HMS", line.hms())
                .var("OPENS", &opens.join(" "))
                .var("MAIN_CLASS", crate::install::hms::MAIN_CLASS)
                .var("SCHEMA_CLASS", crate::install::hms::schema_tool_class(line))
                .var("SCHEMA_VERSION", crate::install::hms::schema_version(line))
                .file(&hms_dir, "hms"),
        )?;
        out.insert(format!("hive-metastore-{}", line.hms()), r);
    }
    crate::install::minio::ensure(cache)?;
    let r = images::ensure(
        cache,
        &Build::new(images::MINIO, "minio", crate::versions::MINIO_VERSION)
            .arg("BASE", &base)
            .file(cache.minio_bin(), "minio"),
    )?;
    out.insert("minio".into(), r);
    let r = images::ensure(
        cache,
        &Build::new(images::POSTGRES, "postgres", pins::DEBIAN_SUITE).arg("BASE", &base),
    )?;
    out.insert("postgres".into(), r);
    let exe = std::env::current_exe()
        .map_err(|e| InstallError::io("find the chaos binary", "/proc/self/exe", e))?;
    let r = images::ensure(
        cache,
        &Build::new(images::CHAOS, "chaos", env!("CARGO_PKG_VERSION"))
            .arg("BASE", &base)
            .file(&exe, "chaos"),
    )?;
    out.insert("chaos".into(), r);
    Ok(out)
}

fn kind_cmd(kind: &Path) -> Command {
    let mut c = Command::new(kind);
    // kind finds docker on PATH; nothing else from the environment matters to it.
    c.env("KIND_EXPERIMENTAL_PROVIDER", "docker");
    c
}

/// Whether kind knows a cluster of that name.
fn cluster_exists(kind: &Path, name: &str) -> Result<bool, KubeError> {
    let out = capture(
        "kind get clusters",
        kind_cmd(kind).args(["get", "clusters"]),
    )?;
    Ok(out.lines().any(|l| l.trim() == name))
}

/// The node containers of a cluster (running or not).
pub fn node_containers(name: &str) -> Result<Vec<String>, KubeError> {
    let out = capture(
        "list the cluster's node containers",
        docker().args([
            "ps",
            "-a",
            "--filter",
            &format!("label={CLUSTER_LABEL}={name}"),
            "--format",
            "{{.Names}}",
        ]),
    )?;
    Ok(out
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect())
}

/// A node's name and readiness, as kubectl reports them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeStatus {
    /// The node's name.
    pub name: String,
    /// Whether its Ready condition is True.
    pub ready: bool,
    /// The kubelet's version.
    pub kubelet: String,
}

/// Parses `kubectl get nodes -o json`.
pub fn parse_nodes(json: &str) -> Result<Vec<NodeStatus>, KubeError> {
    let v: serde_json::Value = serde_json::from_str(json).map_err(|_| KubeError::Output {
        what: "kubectl get nodes".into(),
        output: json.chars().take(300).collect(),
    })?;
    Ok(v["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|n| NodeStatus {
                    name: n["metadata"]["name"].as_str().unwrap_or("?").to_string(),
                    ready: n["status"]["conditions"].as_array().is_some_and(|cs| {
                        cs.iter()
                            .any(|c| c["type"] == "Ready" && c["status"] == "True")
                    }),
                    kubelet: n["status"]["nodeInfo"]["kubeletVersion"]
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                })
                .collect()
        })
        .unwrap_or_default())
}

/// The nodes of the cluster a kubeconfig points at.
pub fn nodes(kubectl: &Path, kubeconfig: &Path) -> Result<Vec<NodeStatus>, KubeError> {
    let json = capture(
        "kubectl get nodes",
        Command::new(kubectl)
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(["get", "nodes", "-o", "json", "--request-timeout=10s"]),
    )?;
    parse_nodes(&json)
}

/// `cluster up`. Idempotent: a running cluster is reused, cached images are not rebuilt.
pub fn up(cache: &Cache, home: &EnvHome, o: &UpOptions) -> Result<ClusterInfo, KubeError> {
    let started = Instant::now();
    docker::ensure_engine(cache)?;
    let kind = gobuild::ensure_kind(cache)?;
    let kubectl = gobuild::ensure_kubectl(cache)?;
    let helm = gobuild::ensure_helm(cache)?;
    let node_image = nodeimage::ensure(cache, o.source)?;
    let images = ensure_component_images(cache, o.source, &o.spark)?;

    let dir = cluster_dir(home, &o.name);
    std::fs::create_dir_all(&dir)
        .map_err(|e| InstallError::io("create the cluster's directory", &dir, e))?;
    let kubeconfig = dir.join("kubeconfig");
    let config_file = dir.join("kind-config.yaml");
    write_atomic(&config_file, o.config.text.as_bytes())?;

    let nodes_now = node_containers(&o.name)?;
    if cluster_exists(&kind, &o.name)? && !nodes_now.is_empty() {
        eprintln!(
            "==> kind cluster `{}`: exists ({} nodes)",
            o.name,
            nodes_now.len()
        );
        for n in &nodes_now {
            // A stopped machine leaves stopped nodes; start them again.
            let _ = capture("start a node", docker().args(["start", n]));
        }
        steps::run(
            "kind export kubeconfig",
            kind_cmd(&kind)
                .args(["export", "kubeconfig", "--name", &o.name, "--kubeconfig"])
                .arg(&kubeconfig),
        )?;
    } else {
        if !nodes_now.is_empty() {
            // Containers without a cluster kind knows of: a crash mid-create. Start afresh.
            delete(&kind, &o.name, &kubeconfig)?;
        }
        let t = steps::begin(&format!(
            "creating kind cluster `{}` from kind-configs/{}.yaml with {node_image}",
            o.name, o.config.name
        ));
        steps::run(
            "kind create cluster",
            kind_cmd(&kind)
                .args([
                    "create",
                    "cluster",
                    "--name",
                    &o.name,
                    "--image",
                    &node_image,
                ])
                .arg("--config")
                .arg(&config_file)
                .arg("--kubeconfig")
                .arg(&kubeconfig)
                .args(["--retain=false"]),
        )?;
        steps::done("kind create cluster", t);
    }

    let t = steps::begin("waiting for every node to be Ready");
    let deadline = Instant::now() + o.ready_timeout;
    loop {
        let seen = nodes(&kubectl, &kubeconfig);
        if let Ok(ns) = &seen {
            if !ns.is_empty() && ns.iter().all(|n| n.ready) {
                break;
            }
        }
        if Instant::now() > deadline {
            return Err(KubeError::Timeout {
                what: "nodes Ready".into(),
                secs: o.ready_timeout.as_secs(),
                detail: match seen {
                    Ok(ns) => format!(
                        "; {}",
                        ns.iter()
                            .map(|n| format!("{} ready={}", n.name, n.ready))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    Err(e) => format!("; {e}"),
                },
            });
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    steps::done("nodes Ready", t);

    load_images(&kind, &o.name, images.values())?;

    let context = format!("kind-{}", o.name);
    let server = capture(
        "read the API server address",
        Command::new(&kubectl)
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args([
                "config",
                "view",
                "--minify",
                "-o",
                "jsonpath={.clusters[0].cluster.server}",
            ]),
    )?;
    if !server.starts_with("https://127.0.0.1:") {
        return Err(KubeError::Invalid(format!(
            "the API server is published on {server}, not on 127.0.0.1"
        )));
    }
    let info = ClusterInfo {
        name: o.name.clone(),
        kubeconfig,
        context,
        server,
        node_image,
        images,
        kubectl,
        helm,
    };
    write_atomic(
        &info_file(home, &o.name),
        (serde_json::to_string_pretty(&info).expect("json") + "\n").as_bytes(),
    )?;
    eprintln!(
        "==> cluster `{}` up in {:.1}s",
        o.name,
        started.elapsed().as_secs_f64()
    );
    Ok(info)
}

/// Loads images into every node unless each node has them already.
fn load_images<'a>(
    kind: &Path,
    name: &str,
    images: impl Iterator<Item = &'a String>,
) -> Result<(), KubeError> {
    // Pods run on the workers (the control plane is tainted): load there only, which saves
    // a copy of each (large) image.
    let all = node_containers(name)?;
    let workers: Vec<String> = all
        .iter()
        .filter(|n| !n.ends_with("-control-plane"))
        .cloned()
        .collect();
    let nodes = if workers.is_empty() { all } else { workers };
    for image in images {
        let everywhere = nodes
            .iter()
            .all(|n| docker::succeeds(docker().args(["exec", n, "crictl", "inspecti", image])));
        if everywhere {
            eprintln!("==> {image}: on every node");
            continue;
        }
        let t = steps::begin(&format!("loading {image} into the nodes"));
        steps::run(
            "kind load docker-image",
            kind_cmd(kind)
                .args(["load", "docker-image", "--name", name, "--nodes"])
                .arg(nodes.join(","))
                .arg(image),
        )?;
        steps::done(image, t);
    }
    Ok(())
}

fn delete(kind: &Path, name: &str, kubeconfig: &Path) -> Result<(), KubeError> {
    steps::run(
        "kind delete cluster",
        kind_cmd(kind)
            .args(["delete", "cluster", "--name", name, "--kubeconfig"])
            .arg(kubeconfig),
    )?;
    Ok(())
}

/// `cluster down`: deletes the cluster and everything the harness made for it, then checks
/// that nothing is left. Idempotent.
pub fn down(cache: &Cache, home: &EnvHome, name: &str) -> Result<(), KubeError> {
    if !docker::succeeds(docker().args(["version"])) {
        eprintln!("==> no Docker engine answers: no cluster to delete");
        let _ = std::fs::remove_dir_all(cluster_dir(home, name));
        return Ok(());
    }
    let dir = cluster_dir(home, name);
    let ids = capture(
        "list the cluster's containers",
        docker().args([
            "ps",
            "-aq",
            "--no-trunc",
            "--filter",
            &format!("label={CLUSTER_LABEL}={name}"),
        ]),
    )?;
    let ids: Vec<String> = ids.lines().map(str::to_string).collect();
    let kind = gobuild::bin(cache, "kind", pins::KIND);
    if kind.is_file() {
        delete(&kind, name, &dir.join("kubeconfig"))?;
    }
    // Whatever kind did not remove: node containers (and their anonymous volumes) and build
    // containers left by an interrupted image build.
    for filter in [
        format!("label={CLUSTER_LABEL}={name}"),
        "label=chaos.build".to_string(),
    ] {
        let left = capture(
            "list leftover containers",
            docker().args(["ps", "-aq", "--filter", &filter]),
        )?;
        for id in left.lines().filter(|l| !l.trim().is_empty()) {
            capture(
                "remove a leftover container",
                docker().args(["rm", "-f", "-v", id]),
            )?;
        }
    }
    // kind's network outlives its clusters; remove it when nothing else uses it.
    if docker::succeeds(docker().args(["network", "inspect", "kind"])) {
        let attached = capture(
            "inspect the kind network",
            docker().args([
                "network",
                "inspect",
                "kind",
                "--format",
                "{{len .Containers}}",
            ]),
        )?;
        if attached.trim() == "0" {
            capture(
                "remove the kind network",
                docker().args(["network", "rm", "kind"]),
            )?;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);

    // Check.
    let mut left = vec![];
    if !node_containers(name)?.is_empty() {
        left.push(format!("containers labelled {CLUSTER_LABEL}={name}"));
    }
    if docker::succeeds(docker().args(["network", "inspect", "kind"])) {
        left.push("Docker network `kind` (in use by other containers)".into());
    }
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let stale: Vec<&str> = mounts
        .lines()
        .filter(|l| ids.iter().any(|id| l.contains(id.as_str())))
        .collect();
    if !stale.is_empty() {
        left.push(format!("{} mounts of its containers", stale.len()));
    }
    if left.is_empty() {
        eprintln!("==> cluster `{name}` deleted; no container, network or mount left");
        Ok(())
    } else {
        Err(KubeError::LeftBehind(left.join("; ")))
    }
}

/// What `cluster status` shows.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// What `cluster up` recorded.
    pub info: Option<ClusterInfo>,
    /// Node containers.
    pub containers: Vec<String>,
    /// Nodes as the API server reports them (empty when it does not answer).
    pub nodes: Vec<NodeStatus>,
    /// Why the API server could not be asked, if it could not.
    pub api_error: Option<String>,
}

/// `cluster status`.
pub fn status(home: &EnvHome, name: &str) -> Result<Status, KubeError> {
    let info = read_info(home, name);
    if !docker::succeeds(docker().args(["version"])) {
        return Ok(Status {
            info,
            containers: vec![],
            nodes: vec![],
            api_error: Some("no Docker engine answers".into()),
        });
    }
    let containers = node_containers(name)?;
    let (nodes, api_error) = match &info {
        Some(i) if !containers.is_empty() => match nodes(&i.kubectl, &i.kubeconfig) {
            Ok(n) => (n, None),
            Err(e) => (vec![], Some(e.to_string())),
        },
        _ => (vec![], None),
    };
    Ok(Status {
        info,
        containers,
        nodes,
        api_error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_publish_the_api_server_on_loopback() {
        for c in KIND_CONFIGS {
            assert!(
                c.text.contains("apiServerAddress: \"127.0.0.1\""),
                "{}",
                c.name
            );
            assert!(c.text.contains("role: control-plane"), "{}", c.name);
        }
        assert_eq!(kind_config("ci").unwrap().name, "ci");
        assert!(kind_config("huge").is_err());
    }

    #[test]
    fn parse_nodes_reads_ready_conditions() {
        let json = r#"{"items":[
          {"metadata":{"name":"a"},"status":{"conditions":[{"type":"Ready","status":"True"}],
           "nodeInfo":{"kubeletVersion":"v1.34.4"}}},
          {"metadata":{"name":"b"},"status":{"conditions":[{"type":"Ready","status":"False"}]}}
        ]}"#;
        let ns = parse_nodes(json).unwrap();
        assert_eq!(ns.len(), 2);
        assert!(ns[0].ready && !ns[1].ready);
        assert_eq!(ns[0].kubelet, "v1.34.4");
        assert!(parse_nodes("nope").is_err());
    }
}
