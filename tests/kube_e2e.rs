//! The kubernetes platform end to end, with real pods on the kind cluster of this machine:
//! `chaos run … --platform kubernetes` brings up both Spark versions from the charts (Connect
//! drivers with executor pods, a Hive Metastore each on PostgreSQL, MinIO, History Servers),
//! loads TPC-DS, drives the workload through the node ports on 127.0.0.1 and writes reports.
//! Scenarios: ci-smoke, then executor-kill, network-partition, s3-outage, s3-throttling,
//! metastore-outage and the blue/green upgrade,
//! each with its fault seen by something independent of the harness while it lasts:
//!
//! - executor-kill: the API shows the targeted executor pods replaced by new ones;
//! - network-partition: a probe pod labelled as a Spark 4.1 executor cannot open a connection
//!   to a 4.1 driver, while a probe with other labels can;
//! - s3-outage: a probe labelled as a Spark executor cannot reach S3 (its line's fault proxy,
//!   the way to MinIO); another can;
//! - s3-throttling: plain GETs from a probe pod through 4.1's fault proxy get `503 Slow Down`
//!   some of the time while the toxic is in, and never after the heal;
//! - metastore-outage: the API shows each metastore Deployment at 0 replicas, then back;
//! - upgrade-3.5-to-4.1: the API shows the edge Service's selector on 4.1's Connect pods
//!   after the cut-over and on 3.5's after the roll-back; the run's verdict is valid.
//!
//! `#[ignore]`d like tests/cluster_e2e.rs (a cold cluster build alone takes ~50 minutes of
//! CI's 90): run it with `cargo test --release --test kube_e2e -- --ignored --nocapture`.
//! Needs what tests/cluster_e2e.rs needs; SKIPPED loudly without it (a failure under
//! `CHAOS_E2E=require`).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use common::{chaos, skip_unless_cluster_ready};
use spark_chaos::check::Verdict;

const NS: &str = "spark-chaos";

/// kubectl on the cluster the platform recorded in `home`.
struct Kube {
    kubectl: PathBuf,
    kubeconfig: PathBuf,
}

impl Kube {
    fn of(home: &Path) -> Kube {
        let info: Value = serde_json::from_slice(
            &std::fs::read(home.join("kind/chaos/cluster.json")).expect("cluster.json"),
        )
        .unwrap();
        Kube {
            kubectl: PathBuf::from(info["kubectl"].as_str().unwrap()),
            kubeconfig: PathBuf::from(info["kubeconfig"].as_str().unwrap()),
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(&self.kubectl)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(["-n", NS])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run kubectl")
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut a = args.to_vec();
        a.extend(["-o", "json"]);
        let out = self.run(&a);
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    }

    fn names(&self, selector: &str) -> Vec<String> {
        self.json(&["get", "pods", "-l", selector])["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
            .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_string))
            .collect()
    }

    fn pod_ip(&self, selector: &str) -> Option<String> {
        self.json(&["get", "pods", "-l", selector])["items"]
            .as_array()?
            .iter()
            .find_map(|p| p["status"]["podIP"].as_str().map(str::to_string))
    }

    /// A probe pod with `labels` (as a Spark pod of the chart would have) running `command`
    /// from the chaos image; (whether it exited 0, its output).
    fn probe_run(&self, name: &str, labels: &str, command: &[&str], image: &str) -> (bool, String) {
        let _ = self.run(&["delete", "pod", name, "--ignore-not-found", "--wait=true"]);
        let overrides = serde_json::json!({
            "spec": {
                "automountServiceAccountToken": false,
                "securityContext": {"runAsNonRoot": true, "runAsUser": 185,
                    "seccompProfile": {"type": "RuntimeDefault"}},
                "containers": [{
                    "name": name, "image": image, "imagePullPolicy": "IfNotPresent",
                    "command": command,
                    "securityContext": {"allowPrivilegeEscalation": false,
                        "capabilities": {"drop": ["ALL"]}}
                }]
            }
        });
        let out = self.run(&[
            "run",
            name,
            "--restart=Never",
            &format!("--image={image}"),
            &format!("--labels={labels}"),
            &format!("--overrides={overrides}"),
        ]);
        assert!(
            out.status.success(),
            "kubectl run {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let t = Instant::now();
        let phase = loop {
            let p = self.json(&["get", "pod", name]);
            let phase = p["status"]["phase"].as_str().unwrap_or("").to_string();
            if phase == "Succeeded" || phase == "Failed" {
                break phase;
            }
            assert!(t.elapsed() < Duration::from_secs(180), "probe {name}: {p}");
            std::thread::sleep(Duration::from_millis(500));
        };
        let logs = String::from_utf8_lossy(&self.run(&["logs", name]).stdout).to_string();
        let _ = self.run(&["delete", "pod", name, "--wait=false"]);
        (phase == "Succeeded", logs)
    }

    /// A probe pod with `labels` that tries to open a TCP connection to `host:port` (each try
    /// within 3 s, `tries` of them 1 s apart); true when one could. A probe expected to
    /// connect retries: the NetworkPolicy implementation (kube-router) admits a new pod's
    /// address only once it has synced the pod, a few seconds after it started.
    fn probe(
        &self,
        name: &str,
        labels: &str,
        host: &str,
        port: u16,
        image: &str,
        tries: u32,
    ) -> bool {
        // Debian's busybox nc has no -z: `-e true` connects, runs `true`, exits 0.
        let script = format!(
            "i=0; while [ $i -lt {tries} ]; do i=$((i+1)); \
             busybox nc -w 3 {host} {port} -e true && exit 0; busybox sleep 1; done; exit 1"
        );
        let (ok, _) = self.probe_run(name, labels, &["busybox", "sh", "-c", &script], image);
        eprintln!(
            "  probe {name} ({labels}) → {host}:{port}: {}",
            if ok { "connected" } else { "no connection" }
        );
        ok
    }

    /// A probe pod that sends `n` plain HTTP GETs to `url` and counts the `503` answers
    /// (unsigned requests otherwise get MinIO's 403).
    fn count_503(&self, name: &str, url: &str, n: u32, image: &str) -> u32 {
        let script = format!(
            "c=0; i=0; while [ $i -lt {n} ]; do i=$((i+1)); \
             busybox wget -q -O /dev/null '{url}' 2>&1 | busybox grep -q ' 503' && c=$((c+1)); \
             done; echo \"503s: $c of {n}\""
        );
        let (_, logs) = self.probe_run(
            name,
            "app.kubernetes.io/instance=probe",
            &["busybox", "sh", "-c", &script],
            image,
        );
        eprintln!("  probe {name} → {url}: {}", logs.trim());
        logs.trim()
            .strip_prefix("503s: ")
            .and_then(|r| r.split_whitespace().next())
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("probe {name} printed `{logs}`"))
    }

    /// The keys of the toxics in force in 4.1's fault proxy pod.
    fn toxics_41(&self) -> usize {
        let Some(pod) = self
            .names("app.kubernetes.io/instance=spark-41,app.kubernetes.io/component=s3-proxy")
            .into_iter()
            .next()
        else {
            return 0;
        };
        let out = self.run(&[
            "exec",
            &pod,
            "-c",
            "proxy",
            "--",
            "/usr/local/bin/chaos",
            "agent",
            "toxic",
            r#"{"op":"list"}"#,
        ]);
        serde_json::from_slice::<Value>(&out.stdout)
            .ok()
            .and_then(|v| v["toxics"].as_array().map(|a| a.len()))
            .unwrap_or(0)
    }
}

/// `chaos run` in the background, for probing while it runs.
fn start_run(home: &Path, file: &str, reports: &Path) -> Child {
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(file);
    Command::new(env!("CARGO_BIN_EXE_chaos"))
        .arg("--home")
        .arg(home)
        .args([
            "run",
            scenario.to_str().unwrap(),
            "--platform",
            "kubernetes",
            "--keep-env",
        ])
        .arg("--reports")
        .arg(reports)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start chaos run")
}

/// Waits for the run to end; checks the report exists and the exit code matches its verdict.
fn finish(child: Child, reports: &Path) -> spark_chaos::report::RunReport {
    let out = child.wait_with_output().unwrap();
    eprintln!("{}", String::from_utf8_lossy(&out.stdout));
    common::checked_report(&out, reports).1
}

fn faults_active(k: &Kube) -> usize {
    k.json(&["get", "networkpolicy", "-l", "spark-chaos.io/fault"])["items"]
        .as_array()
        .map_or(0, |a| a.len())
}

#[test]
#[ignore = "kind tier: run with --ignored (see the file's comment)"]
fn scenarios_run_on_kind_with_each_fault_seen_by_an_independent_probe() {
    let test = "scenarios_run_on_kind_with_each_fault_seen_by_an_independent_probe";
    if skip_unless_cluster_ready(test) {
        return;
    }
    let home = PathBuf::from(
        std::env::var("CHAOS_KUBE_E2E_HOME").unwrap_or_else(|_| ".chaos/kube-e2e".into()),
    );
    let out_root = tempfile::tempdir().unwrap();
    let reports = |name: &str| {
        let d = out_root.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        d
    };
    struct Down(PathBuf);
    impl Drop for Down {
        fn drop(&mut self) {
            let _ = chaos(&self.0, &["env", "down"]);
        }
    }
    let _down = Down(home.clone());

    // 1. The CI smoke scenario, end to end (also brings the environment up, kept for the rest).
    let r = finish(
        start_run(&home, "ci-smoke.toml", &reports("smoke")),
        &reports("smoke"),
    );
    assert_eq!(r.verdict, Verdict::Valid, "ci-smoke on kubernetes");
    let k = Kube::of(&home);
    let st: Value =
        serde_json::from_slice(&std::fs::read(home.join("kubernetes.json")).unwrap()).unwrap();
    let chaos_image = st["images"]["chaos"].as_str().unwrap().to_string();

    // 2. executor-kill: the API shows 4.1's executors replaced.
    let before =
        k.names("app.kubernetes.io/instance=spark-41,app.kubernetes.io/component=executor");
    assert!(!before.is_empty(), "4.1 runs executor pods");
    let run = start_run(&home, "executor-kill.toml", &reports("executor-kill"));
    common::wait_for(
        "a 4.1 executor pod deleted and replaced",
        Duration::from_secs(300),
        || {
            let now =
                k.names("app.kubernetes.io/instance=spark-41,app.kubernetes.io/component=executor");
            before.iter().any(|b| !now.contains(b)) && now.iter().any(|n| !before.contains(n))
        },
    );
    finish(run, &reports("executor-kill"));

    // 3. network-partition of 4.1: a probe labelled as a 4.1 executor cannot reach a 4.1
    // driver's RPC port; one labelled otherwise can.
    let driver = k
        .pod_ip("app.kubernetes.io/instance=spark-41,app.kubernetes.io/component=connect")
        .expect("a 4.1 driver pod");
    let run = start_run(&home, "network-partition.toml", &reports("partition"));
    common::wait_for(
        "the partition's NetworkPolicies",
        Duration::from_secs(400),
        || faults_active(&k) >= 2,
    );
    let as_executor = "app.kubernetes.io/instance=spark-41,app.kubernetes.io/component=executor";
    assert!(
        !k.probe("probe-cut", as_executor, &driver, 7078, &chaos_image, 1),
        "partition: a 4.1 executor reached its driver"
    );
    assert!(
        k.probe(
            "probe-other",
            "app.kubernetes.io/instance=probe",
            &driver,
            7078,
            &chaos_image,
            8
        ),
        "partition cut more than 4.1's executors"
    );
    finish(run, &reports("partition"));
    assert_eq!(faults_active(&k), 0, "healed: no fault NetworkPolicy left");
    assert!(
        k.probe("probe-healed", as_executor, &driver, 7078, &chaos_image, 8),
        "healed: a 4.1 executor reaches its driver again"
    );

    // 4. s3-outage: a probe labelled as a Spark executor cannot reach S3 (the line's fault
    // proxy, its way to MinIO); another can.
    let run = start_run(&home, "s3-outage.toml", &reports("s3-outage"));
    common::wait_for(
        "the S3 outage's NetworkPolicy",
        Duration::from_secs(400),
        || faults_active(&k) >= 1,
    );
    let s3 = "spark-41-s3-proxy";
    assert!(
        !k.probe("probe-s3-cut", as_executor, s3, 9000, &chaos_image, 1),
        "S3 outage: an executor reached S3"
    );
    assert!(
        k.probe(
            "probe-s3-other",
            "app.kubernetes.io/instance=probe",
            s3,
            9000,
            &chaos_image,
            8
        ),
        "S3 outage cut more than Spark"
    );
    finish(run, &reports("s3-outage"));
    assert_eq!(faults_active(&k), 0);

    // 4b. s3-throttling: while the toxic is in 4.1's fault proxy, plain GETs through it get
    // 503 Slow Down about a fifth of the time; after the heal, none does.
    let url = "http://spark-41-s3-proxy:9000/spark-chaos/probe";
    let run = start_run(&home, "s3-throttling.toml", &reports("s3-throttling"));
    common::wait_for(
        "the throttling toxic in 4.1's fault proxy",
        Duration::from_secs(400),
        || k.toxics_41() >= 1,
    );
    let during = k.count_503("probe-503", url, 40, &chaos_image);
    assert!(during >= 1, "throttling: no 503 in 40 requests");
    assert!(
        during < 40,
        "throttling: every request got 503 (fraction 0.2)"
    );
    finish(run, &reports("s3-throttling"));
    assert_eq!(k.toxics_41(), 0, "healed: no toxic left");
    assert_eq!(
        k.count_503("probe-503-healed", url, 20, &chaos_image),
        0,
        "healed: a 503 after the heal"
    );

    // 5. metastore-outage: each metastore Deployment at 0 replicas, then back to 1.
    let run = start_run(&home, "metastore-outage.toml", &reports("metastore-outage"));
    let replicas = |line: &str| {
        k.json(&["get", "deployment", &format!("spark-{line}-metastore")])["spec"]["replicas"]
            .as_u64()
    };
    common::wait_for(
        "both metastore Deployments scaled to 0",
        Duration::from_secs(400),
        || replicas("35") == Some(0) && replicas("41") == Some(0),
    );
    finish(run, &reports("metastore-outage"));
    assert_eq!(
        (replicas("35"), replicas("41")),
        (Some(1), Some(1)),
        "healed"
    );

    // 6. The blue/green upgrade: the API shows the edge Service's selector move to 4.1's
    // Connect pods at the cut-over and back to 3.5's at the roll-back; the run is valid.
    let selected = || {
        k.json(&["get", "service", "spark-base-edge-0"])["spec"]["selector"]
            ["app.kubernetes.io/instance"]
            .as_str()
            .map(str::to_string)
    };
    let run = start_run(&home, "upgrade-3.5-to-4.1.toml", &reports("upgrade"));
    common::wait_for(
        "the edge Service selecting 4.1's Connect pods",
        Duration::from_secs(600),
        || selected().as_deref() == Some("spark-41"),
    );
    common::wait_for(
        "the edge Service back on 3.5's Connect pods",
        Duration::from_secs(300),
        || selected().as_deref() == Some("spark-35"),
    );
    let r = finish(run, &reports("upgrade"));
    assert_eq!(
        r.verdict,
        Verdict::Valid,
        "blue/green upgrade on kubernetes"
    );
}
