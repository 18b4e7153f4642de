//! The Helm charts in charts/, checked with the real Helm (built from the Go module proxy into
//! the cache, as `chaos cluster up` builds it): `helm lint --strict` of every chart with every
//! values file, then the rendered objects of spark-base + spark-3.5 + spark-4.1 installed side by
//! side in one namespace, read back and checked: every pod (executor pods through Spark's pod
//! template included) under the `restricted` Pod Security Standard; no two objects of one kind
//! with one name; every selector picking exactly its own pods; every Secret reference naming a
//! rendered Secret and key; every NetworkPolicy peer matching pods that exist; Spark's
//! configuration pointing at the Services the charts make; the production overlay's baseline.
//!
//! Verified here at template level. A server-side dry run against a real API server and the
//! charts on a real kind cluster belong to the Kubernetes platform's tests.
//!
//! Needs Go (to build Helm once); without it the tests print SKIPPED loudly and return, unless
//! `CHAOS_E2E=require`, where they fail.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_yaml::Value;

const NAMESPACE: &str = "chaos-charts";

fn charts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("charts")
}

/// Helm from the cache (built on first use), or None with a loud SKIPPED.
fn helm(test: &str) -> Option<PathBuf> {
    static HELM: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let got = HELM.get_or_init(|| {
        if !spark_chaos::install::steps::on_path("go") {
            return Err("Go (to build Helm from the Go module proxy)".into());
        }
        let cache = spark_chaos::paths::Cache::from_env();
        spark_chaos::platform::kubernetes::gobuild::ensure_helm(&cache)
            .map_err(|e| format!("a Helm build ({e})"))
    });
    match got {
        Ok(p) => Some(p.clone()),
        Err(what) => {
            let msg = format!("SKIPPED {test}: this machine lacks {what}");
            if std::env::var("CHAOS_E2E").as_deref() == Ok("require") {
                panic!("{msg} (and CHAOS_E2E=require)");
            }
            eprintln!("\n==================== {msg} ====================\n");
            None
        }
    }
}

fn run(helm: &Path, args: &[&str]) -> String {
    let out = Command::new(helm).args(args).output().expect("run helm");
    assert!(
        out.status.success(),
        "helm {} failed:\n{}\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const CHARTS: [&str; 3] = ["spark-base", "spark-3.5", "spark-4.1"];

fn values_files(chart: &str) -> Vec<Option<PathBuf>> {
    let dir = charts().join(chart);
    vec![
        None,
        Some(dir.join("values-minimal.yaml")),
        Some(dir.join("values-production.yaml")),
    ]
}

#[test]
fn every_chart_lints_strictly_with_every_values_file() {
    let Some(helm) = helm("every_chart_lints_strictly_with_every_values_file") else {
        return;
    };
    for chart in CHARTS {
        for values in values_files(chart) {
            let dir = charts().join(chart);
            let mut args = vec!["lint", "--strict", dir.to_str().unwrap()];
            if let Some(v) = &values {
                args.extend(["-f", v.to_str().unwrap()]);
            }
            let out = run(&helm, &args);
            assert!(
                out.contains("0 chart(s) failed"),
                "{chart} {values:?}: {out}"
            );
        }
    }
}

/// One rendered object.
#[derive(Debug, Clone)]
struct Obj {
    release: String,
    kind: String,
    name: String,
    v: Value,
}

fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(*k))
}

fn s<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    get(v, path).and_then(Value::as_str).unwrap_or("")
}

fn labels(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_mapping)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    (
                        k.as_str().unwrap_or_default().to_string(),
                        v.as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn render(helm: &Path, overlay: &str) -> Vec<Obj> {
    let mut out = vec![];
    for (release, chart) in [
        ("spark-base", "spark-base"),
        ("spark-35", "spark-3.5"),
        ("spark-41", "spark-4.1"),
    ] {
        let dir = charts().join(chart);
        let mut args = vec![
            "template",
            release,
            dir.to_str().unwrap(),
            "--namespace",
            NAMESPACE,
        ];
        let values = dir.join(format!("values-{overlay}.yaml"));
        if overlay != "default" {
            args.extend(["-f", values.to_str().unwrap()]);
        }
        let text = run(helm, &args);
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let v = Value::deserialize(doc).expect("rendered YAML parses");
            if v.is_null() {
                continue;
            }
            out.push(Obj {
                release: release.into(),
                kind: s(&v, &["kind"]).into(),
                name: s(&v, &["metadata", "name"]).into(),
                v,
            });
        }
    }
    out
}

/// A pod spec to check and the labels its pods carry: every workload's template and the
/// executor pod template Spark builds executors from.
fn pods(objs: &[Obj]) -> Vec<(String, BTreeMap<String, String>, Value)> {
    let mut pods = vec![];
    for o in objs {
        match o.kind.as_str() {
            "Deployment" | "StatefulSet" | "Job" => {
                let t = get(&o.v, &["spec", "template"]).expect("a pod template");
                pods.push((
                    format!("{} {}", o.kind, o.name),
                    labels(get(t, &["metadata", "labels"])),
                    get(t, &["spec"]).unwrap().clone(),
                ));
            }
            "ConfigMap" => {
                if let Some(text) = get(&o.v, &["data", "executor-template.yaml"]) {
                    let t: Value = serde_yaml::from_str(text.as_str().unwrap())
                        .expect("the executor pod template parses");
                    let mut l = labels(get(&t, &["metadata", "labels"]));
                    l.insert("spark-role".into(), "executor".into());
                    pods.push((
                        format!("executor template in {}", o.name),
                        l,
                        get(&t, &["spec"]).unwrap().clone(),
                    ));
                }
            }
            _ => {}
        }
    }
    pods
}

fn matches(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

fn rendered(test: &str, overlay: &str) -> Option<Vec<Obj>> {
    let helm = helm(test)?;
    Some(render(&helm, overlay))
}

#[test]
fn every_pod_is_restricted_and_runs_as_185() {
    for overlay in ["default", "minimal", "production"] {
        let Some(objs) = rendered("every_pod_is_restricted_and_runs_as_185", overlay) else {
            return;
        };
        let pods = pods(&objs);
        // spark-base: minio, postgres, bucket job; each line: connect, metastore, history,
        // executors, the S3 fault proxy.
        assert_eq!(
            pods.len(),
            3 + 2 * 5,
            "{overlay}: {:?}",
            pods.iter().map(|p| &p.0).collect::<Vec<_>>()
        );
        for (what, _, spec) in &pods {
            let sc = get(spec, &["securityContext"])
                .unwrap_or_else(|| panic!("{what}: no pod securityContext"));
            assert_eq!(
                get(sc, &["runAsNonRoot"]),
                Some(&Value::Bool(true)),
                "{what}"
            );
            assert_eq!(
                get(sc, &["runAsUser"]).and_then(Value::as_u64),
                Some(185),
                "{what}"
            );
            assert_eq!(
                get(sc, &["runAsGroup"]).and_then(Value::as_u64),
                Some(185),
                "{what}"
            );
            assert_eq!(
                s(sc, &["seccompProfile", "type"]),
                "RuntimeDefault",
                "{what}"
            );
            for key in ["hostNetwork", "hostPID", "hostIPC"] {
                assert!(get(spec, &[key]).is_none(), "{what}: {key}");
            }
            for v in get(spec, &["volumes"])
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
            {
                assert!(get(v, &["hostPath"]).is_none(), "{what}: a hostPath volume");
            }
            let containers = ["containers", "initContainers"]
                .iter()
                .filter_map(|k| get(spec, &[k]).and_then(Value::as_sequence))
                .flatten();
            let mut n = 0;
            for c in containers {
                n += 1;
                let name = s(c, &["name"]);
                let csc = get(c, &["securityContext"])
                    .unwrap_or_else(|| panic!("{what}/{name}: no securityContext"));
                assert_eq!(
                    get(csc, &["allowPrivilegeEscalation"]),
                    Some(&Value::Bool(false)),
                    "{what}/{name}"
                );
                assert!(
                    get(csc, &["privileged"]).is_none_or(|p| p == &Value::Bool(false)),
                    "{what}/{name}"
                );
                let drop: Vec<&str> = get(csc, &["capabilities", "drop"])
                    .and_then(Value::as_sequence)
                    .map(|d| d.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                assert_eq!(drop, ["ALL"], "{what}/{name}");
                assert!(
                    get(csc, &["capabilities", "add"]).is_none(),
                    "{what}/{name}"
                );
            }
            assert!(n >= 1, "{what}: no containers");
        }
    }
}

#[test]
fn both_lines_install_side_by_side_without_collisions() {
    let Some(objs) = rendered(
        "both_lines_install_side_by_side_without_collisions",
        "production",
    ) else {
        return;
    };
    let mut seen = BTreeSet::new();
    for o in &objs {
        assert!(!o.name.is_empty(), "{} without a name", o.kind);
        assert!(
            seen.insert((o.kind.clone(), o.name.clone())),
            "two {} named {}",
            o.kind,
            o.name
        );
        assert_eq!(
            s(&o.v, &["metadata", "labels", "app.kubernetes.io/instance"]),
            o.release,
            "{} {}",
            o.kind,
            o.name
        );
    }
    let pods = pods(&objs);
    // Every workload's selector picks its own template's pods and no other workload's.
    for o in objs.iter().filter(|o| o.kind == "Deployment") {
        let sel = labels(get(&o.v, &["spec", "selector", "matchLabels"]));
        let picked: Vec<&String> = pods
            .iter()
            .filter(|p| matches(&sel, &p.1))
            .map(|p| &p.0)
            .collect();
        assert_eq!(
            picked,
            [&format!("Deployment {}", o.name)],
            "selector of {}",
            o.name
        );
    }
    // Every Service selects the pods of exactly one workload.
    for o in objs.iter().filter(|o| o.kind == "Service") {
        let sel = labels(get(&o.v, &["spec", "selector"]));
        let picked: Vec<&String> = pods
            .iter()
            .filter(|p| matches(&sel, &p.1))
            .map(|p| &p.0)
            .collect();
        assert_eq!(picked.len(), 1, "Service {} selects {picked:?}", o.name);
    }
}

/// Every `secretKeyRef` in a pod names a Secret the charts render, with that key.
#[test]
fn every_secret_reference_resolves() {
    let Some(objs) = rendered("every_secret_reference_resolves", "default") else {
        return;
    };
    let secrets: BTreeMap<&str, Vec<String>> = objs
        .iter()
        .filter(|o| o.kind == "Secret")
        .map(|o| {
            let keys = get(&o.v, &["data"])
                .and_then(Value::as_mapping)
                .map(|m| {
                    m.keys()
                        .filter_map(|k| k.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            (o.name.as_str(), keys)
        })
        .collect();
    let mut refs = 0;
    fn walk(v: &Value, out: &mut Vec<(String, String)>) {
        match v {
            Value::Mapping(m) => {
                if let Some(r) = m.get("secretKeyRef") {
                    out.push((s(r, &["name"]).into(), s(r, &["key"]).into()));
                }
                if let Some(n) = m.get("secretName").and_then(Value::as_str) {
                    out.push((n.into(), String::new()));
                }
                m.values().for_each(|v| walk(v, out));
            }
            Value::Sequence(s) => s.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    for (what, _, spec) in pods(&objs) {
        let mut found = vec![];
        walk(&spec, &mut found);
        for (name, key) in found {
            refs += 1;
            let keys = secrets
                .get(name.as_str())
                .unwrap_or_else(|| panic!("{what}: no Secret {name}"));
            assert!(
                key.is_empty() || keys.contains(&key),
                "{what}: Secret {name} has no key {key} ({keys:?})"
            );
        }
    }
    assert!(refs >= 10, "only {refs} secret references");
    // Generated per install: 32 random characters each, different from each other.
    let base = objs
        .iter()
        .find(|o| o.kind == "Secret" && o.name == "spark-base-postgres")
        .unwrap();
    let values: Vec<&str> = get(&base.v, &["data"])
        .unwrap()
        .as_mapping()
        .unwrap()
        .values()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(values.len(), 3, "superuser + hms35 + hms41");
    assert_eq!(values.iter().collect::<BTreeSet<_>>().len(), 3);
}

/// Every peer of every NetworkPolicy matches pods the charts make, and the policies say what
/// the production guide lists.
#[test]
fn network_policies_name_real_peers() {
    let Some(objs) = rendered("network_policies_name_real_peers", "default") else {
        return;
    };
    let pods = pods(&objs);
    let mut policies = 0;
    for o in objs.iter().filter(|o| o.kind == "NetworkPolicy") {
        policies += 1;
        let own = labels(get(&o.v, &["spec", "podSelector", "matchLabels"]));
        assert!(
            pods.iter().any(|p| matches(&own, &p.1)),
            "{} selects no pod",
            o.name
        );
        let types: Vec<&str> = get(&o.v, &["spec", "policyTypes"])
            .and_then(Value::as_sequence)
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(types, ["Egress"], "{}: ingress is the harness's", o.name);
        for rule in get(&o.v, &["spec", "egress"])
            .and_then(Value::as_sequence)
            .unwrap()
        {
            for peer in get(rule, &["to"]).and_then(Value::as_sequence).unwrap() {
                if get(peer, &["namespaceSelector"]).is_some() || get(peer, &["ipBlock"]).is_some()
                {
                    continue;
                }
                let sel = labels(get(peer, &["podSelector", "matchLabels"]));
                let peers: Vec<_> = pods.iter().filter(|p| matches(&sel, &p.1)).collect();
                assert!(
                    !peers.is_empty(),
                    "{}: a peer {sel:?} matches no pod",
                    o.name
                );
                // Each allowed port is one the peer's containers listen on (executors, whose
                // ports Spark assigns, excepted).
                for port in get(rule, &["ports"])
                    .and_then(Value::as_sequence)
                    .into_iter()
                    .flatten()
                {
                    let port = get(port, &["port"]).and_then(Value::as_u64).unwrap();
                    for (what, _, spec) in &peers {
                        let listens = get(spec, &["containers"])
                            .and_then(Value::as_sequence)
                            .unwrap()
                            .iter()
                            .flat_map(|c| {
                                get(c, &["ports"])
                                    .and_then(Value::as_sequence)
                                    .into_iter()
                                    .flatten()
                            })
                            .any(|p| {
                                get(p, &["containerPort"]).and_then(Value::as_u64) == Some(port)
                            });
                        assert!(
                            listens,
                            "{}: port {port} of {what}, which does not listen there",
                            o.name
                        );
                    }
                }
            }
        }
    }
    // spark-base: postgres, bucket; each line: connect, executor, metastore, history, the
    // fault proxy.
    assert_eq!(policies, 2 + 2 * 5);
    // Only the fault proxy reaches MinIO; the line's pods reach S3 through it.
    for o in objs.iter().filter(|o| o.kind == "NetworkPolicy") {
        let text = serde_yaml::to_string(&o.v).unwrap();
        assert_eq!(
            text.contains("component: minio"),
            o.name.ends_with("s3-proxy-egress") || o.name == "spark-base-bucket-egress",
            "{}:\n{text}",
            o.name
        );
    }
    // Connect 4.1 may reach the API server, S3 (its fault proxy), its own metastore, its
    // executors.
    let connect = objs
        .iter()
        .find(|o| o.kind == "NetworkPolicy" && o.name == "spark-41-connect-egress")
        .unwrap();
    let text = serde_yaml::to_string(&connect.v).unwrap();
    for peer in [
        "cidr: 0.0.0.0/0",
        "app.kubernetes.io/component: s3-proxy",
        "app.kubernetes.io/component: metastore",
        "app.kubernetes.io/component: executor",
        "port: 6443",
    ] {
        assert!(text.contains(peer), "connect egress lacks {peer}:\n{text}");
    }
    assert!(
        !text.contains("spark-35"),
        "4.1's Connect may not reach 3.5's pods:\n{text}"
    );
}

fn spark_conf(objs: &[Obj], release: &str) -> BTreeMap<String, String> {
    let cm = objs
        .iter()
        .find(|o| o.kind == "ConfigMap" && o.name == format!("{release}-conf"))
        .expect("the conf ConfigMap");
    s(&cm.v, &["data", "spark-defaults.conf"])
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn spark_is_configured_against_the_charts_services() {
    let Some(objs) = rendered("spark_is_configured_against_the_charts_services", "default") else {
        return;
    };
    let services: BTreeMap<&str, Vec<u64>> = objs
        .iter()
        .filter(|o| o.kind == "Service")
        .map(|o| {
            let ports = get(&o.v, &["spec", "ports"])
                .and_then(Value::as_sequence)
                .unwrap()
                .iter()
                .filter_map(|p| get(p, &["port"]).and_then(Value::as_u64))
                .collect();
            (o.name.as_str(), ports)
        })
        .collect();
    for (release, line) in [("spark-35", "3.5"), ("spark-41", "4.1")] {
        let conf = spark_conf(&objs, release);
        assert_eq!(
            conf["spark.master"],
            "k8s://https://kubernetes.default.svc:443"
        );
        assert_eq!(conf["spark.kubernetes.namespace"], NAMESPACE);
        assert_eq!(
            conf["spark.kubernetes.authenticate.driver.serviceAccountName"],
            format!("{release}-connect")
        );
        assert_eq!(
            conf["spark.sql.warehouse.dir"],
            format!("s3a://spark-chaos/{line}/warehouse")
        );
        assert_eq!(
            conf["spark.eventLog.dir"],
            format!("s3a://spark-chaos/{line}/events")
        );
        assert_eq!(
            conf["spark.history.fs.logDirectory"],
            conf["spark.eventLog.dir"]
        );
        assert_eq!(conf["spark.dynamicAllocation.enabled"], "true");
        assert_eq!(
            conf["spark.dynamicAllocation.shuffleTracking.enabled"],
            "true"
        );
        assert!(
            !conf
                .keys()
                .any(|k| k.contains("access.key") || k.contains("secret")),
            "no credentials in the ConfigMap"
        );
        let (host, port) = conf["spark.hadoop.hive.metastore.uris"]
            .trim_start_matches("thrift://")
            .split_once(':')
            .unwrap();
        assert_eq!(
            services[host],
            [port.parse::<u64>().unwrap()],
            "the metastore Service"
        );
        let hms = objs
            .iter()
            .find(|o| o.kind == "ConfigMap" && o.name == format!("{release}-metastore"))
            .unwrap();
        let site = s(&hms.v, &["data", "metastore-site.xml"]);
        let jdbc = site
            .split("jdbc:postgresql://")
            .nth(1)
            .and_then(|r| r.split('<').next())
            .unwrap();
        let (host, rest) = jdbc.split_once(':').unwrap();
        let (port, db) = rest.split_once('/').unwrap();
        assert_eq!(
            services[host],
            [port.parse::<u64>().unwrap()],
            "PostgreSQL's Service"
        );
        assert_eq!(db, format!("hms{}", line.replace('.', "")));
        // S3 through the line's fault proxy: its Service's s3 port for Spark and the
        // metastore, history-s3 for the History Server; the proxy forwards to MinIO's Service.
        let proxy = format!("{release}-s3-proxy");
        assert_eq!(
            conf["spark.hadoop.fs.s3a.endpoint"],
            format!("http://{proxy}:9000")
        );
        assert_eq!(
            services[proxy.as_str()],
            [9000, 9001],
            "the proxy's Service"
        );
        assert!(
            site.contains(&format!("<value>http://{proxy}:9000</value>")),
            "{site}"
        );
        let history = objs
            .iter()
            .find(|o| o.kind == "Deployment" && o.name == format!("{release}-history"))
            .unwrap();
        assert!(
            serde_yaml::to_string(&history.v)
                .unwrap()
                .contains(&format!(
                    "-Dspark.hadoop.fs.s3a.endpoint=http://{proxy}:9001"
                )),
            "the History Server's S3 link"
        );
        let agent = objs
            .iter()
            .find(|o| o.kind == "Deployment" && o.name == proxy)
            .unwrap();
        let args = serde_yaml::to_string(&agent.v).unwrap();
        assert!(args.contains("spark-base-minio:9000"), "{args}");
        assert_eq!(services["spark-base-minio"], [9000], "MinIO's Service");
        // The RBAC lets the driver's ServiceAccount create executor pods.
        let role = objs
            .iter()
            .find(|o| o.kind == "Role" && o.name == format!("{release}-connect"))
            .unwrap();
        let text = serde_yaml::to_string(&role.v).unwrap();
        assert!(
            text.contains("pods") && text.contains("create") && text.contains("delete"),
            "{text}"
        );
        // Executors are made by the driver with the pod template the conf names.
        let deploy = objs
            .iter()
            .find(|o| o.kind == "Deployment" && o.name == format!("{release}-connect"))
            .unwrap();
        let args = serde_yaml::to_string(
            get(&deploy.v, &["spec", "template", "spec", "containers"]).unwrap(),
        )
        .unwrap();
        assert!(
            args.contains("org.apache.spark.sql.connect.service.SparkConnectServer"),
            "{args}"
        );
        assert!(
            args.contains("spark.kubernetes.driver.pod.name=$(POD_NAME)"),
            "{args}"
        );
    }
}

#[test]
fn the_production_overlay_is_the_seeds_baseline() {
    let Some(objs) = rendered("the_production_overlay_is_the_seeds_baseline", "production") else {
        return;
    };
    for release in ["spark-35", "spark-41"] {
        let deploy = objs
            .iter()
            .find(|o| o.kind == "Deployment" && o.name == format!("{release}-connect"))
            .unwrap();
        assert_eq!(
            get(&deploy.v, &["spec", "replicas"]).and_then(Value::as_u64),
            Some(3)
        );
        let conf = spark_conf(&objs, release);
        assert_eq!(conf["spark.dynamicAllocation.minExecutors"], "2");
        assert_eq!(conf["spark.dynamicAllocation.maxExecutors"], "50");
    }
    let pvcs: Vec<&str> = objs
        .iter()
        .filter(|o| o.kind == "PersistentVolumeClaim")
        .map(|o| o.name.as_str())
        .collect();
    assert_eq!(pvcs, ["spark-base-minio", "spark-base-postgres"]);
}

/// The cut-over edges of a blue/green upgrade: with `edges.enabled`, spark-base renders one
/// Service per edge, each selecting the Connect pods of the release clients start on (pods
/// the line chart really makes), at the edge node ports; off by default.
#[test]
fn edge_services_select_the_starting_lines_connect_pods() {
    let Some(helm) = helm("edge_services_select_the_starting_lines_connect_pods") else {
        return;
    };
    let objs = render(&helm, "default");
    assert!(
        !objs.iter().any(|o| o.name.contains("edge")),
        "edges are off by default"
    );
    let dir = charts().join("spark-base");
    let text = run(
        &helm,
        &[
            "template",
            "spark-base",
            dir.to_str().unwrap(),
            "--namespace",
            NAMESPACE,
            "--set",
            "edges.enabled=true,edges.count=2,edges.release=spark-35,service.type=NodePort",
            "--set",
            "edges.nodePorts={30500,30501,30502}",
        ],
    );
    let pods = pods(&objs);
    let mut edges = vec![];
    for doc in serde_yaml::Deserializer::from_str(&text) {
        let v = Value::deserialize(doc).unwrap();
        if s(&v, &["kind"]) == "Service" && s(&v, &["metadata", "name"]).contains("edge") {
            edges.push(v);
        }
    }
    assert_eq!(edges.len(), 2);
    for (r, e) in edges.iter().enumerate() {
        assert_eq!(s(e, &["metadata", "name"]), format!("spark-base-edge-{r}"));
        let sel = labels(get(e, &["spec", "selector"]));
        let chosen: Vec<_> = pods.iter().filter(|p| matches(&sel, &p.1)).collect();
        assert!(!chosen.is_empty(), "edge-{r} selects no pod");
        assert!(
            chosen.iter().all(|p| p.0.contains("spark-35-connect")),
            "edge-{r} selects {:?}",
            chosen.iter().map(|p| &p.0).collect::<Vec<_>>()
        );
        let port = &get(e, &["spec", "ports"])
            .and_then(Value::as_sequence)
            .unwrap()[0];
        assert_eq!(get(port, &["port"]).and_then(Value::as_u64), Some(15002));
        assert_eq!(
            get(port, &["nodePort"]).and_then(Value::as_u64),
            Some(30500 + r as u64)
        );
    }
}
