//! The charts on a real Kubernetes API server (the API-level tier): etcd 3.6 and
//! kube-apiserver 1.34.4, built from the Go module proxy into the cache (as for the kind node
//! image), started on 127.0.0.1 without nodes. In a namespace labelled like the harness's own
//! (`pod-security.kubernetes.io/enforce=restricted`): a deliberately privileged pod is refused
//! by Pod Security admission; spark-base, spark-3.5 and spark-4.1 install side by side with
//! Helm with no Pod Security warning; the blast-radius guard passes the harness's namespace
//! and refuses one it did not create (unless allowed), a missing one and another context; every pod they would make (each workload's template, the
//! bucket hook's, the executor pod template Spark builds executors from) passes a server-side
//! dry run there; an upgrade keeps the generated credentials; uninstalling leaves nothing.
//! Every fault's API objects, through the platform's fault driver and the real fault ledger:
//! pod deletes, the metastore held down as a scale to 0 (old count in an annotation), an S3
//! outage and a partition as NetworkPolicies the server accepts; a SIGKILLed harness's faults
//! undone by the next command, objects whose ledger was deleted found by the sweep, and the
//! guard refusing to act in a namespace the harness did not create.
//!
//! What this does not show: pods running (no nodes here; tests/cluster_e2e.rs is the kind tier).
//!
//! Needs Go and openssl; the first run builds etcd, kube-apiserver, kubectl and Helm (about 15
//! minutes on 2 cores, then cached). Without them: SKIPPED, loudly (a failure under
//! `CHAOS_E2E=require`).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};
use spark_chaos::fault::catalog;
use spark_chaos::fault::inject;
use spark_chaos::fault::ledger::Owner;
use spark_chaos::install::steps::on_path;
use spark_chaos::paths::Cache;
use spark_chaos::paths::EnvHome;
use spark_chaos::platform::kubernetes::faults::{FAULT_LABEL, SCALED_FROM};
use spark_chaos::platform::kubernetes::{apiserver::ApiServer, gobuild, guard, kube, state};
use spark_chaos::platform::{self, EnvSettings, PlatformKind};

const NS: &str = "chaos-charts";

fn charts() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("charts")
}

fn show(what: &str, out: &Output) -> (String, String) {
    let (o, e) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    eprintln!(
        "$ {what}\n  exit: {}\n  stdout: {}\n  stderr: {}",
        out.status,
        o.trim_end(),
        e.trim_end()
    );
    (o, e)
}

fn ok(what: &str, cmd: &mut Command) -> (String, String) {
    let out = cmd.output().expect("run a command");
    let r = show(what, &out);
    assert!(out.status.success(), "{what} failed");
    r
}

fn with_stdin(cmd: &mut Command, input: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

struct Env<'a> {
    api: &'a ApiServer,
    helm: &'a Path,
}

impl Env<'_> {
    fn helm(&self, args: &[&str]) -> Command {
        let mut c = Command::new(self.helm);
        c.args(args)
            .arg("--kubeconfig")
            .arg(&self.api.kubeconfig)
            .args(["--namespace", NS]);
        c
    }

    fn kubectl(&self, args: &[&str]) -> Command {
        let mut c = self.api.kubectl();
        c.args(["--namespace", NS]).args(args);
        c
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut a = args.to_vec();
        a.extend(["-o", "json"]);
        let (o, _) = ok(&format!("kubectl {}", a.join(" ")), &mut self.kubectl(&a));
        serde_json::from_str(&o).expect("kubectl printed JSON")
    }

    /// A pod with `spec` (and an image where a template leaves it to Spark), created with a
    /// server-side dry run: the API server's admission, Pod Security included, judges it.
    fn dry_run_pod(&self, what: &str, spec: &Value, n: usize) -> Output {
        let mut spec = spec.clone();
        for c in spec["containers"].as_array_mut().into_iter().flatten() {
            if c.get("image").is_none() {
                c["image"] = json!("chaos.local/spark:4.1.0");
            }
        }
        let pod = json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": format!("check-{n}")},
            "spec": spec,
        });
        let out = with_stdin(
            &mut self.kubectl(&["create", "--dry-run=server", "-f", "-"]),
            &pod.to_string(),
        );
        show(&format!("dry run of a pod from {what}"), &out);
        out
    }
}

#[test]
fn charts_install_on_a_real_api_server_under_restricted_pod_security() {
    let missing = ["go", "openssl"].into_iter().find(|t| !on_path(t));
    if let Some(t) = missing {
        let msg = format!("SKIPPED charts_install_on_a_real_api_server_under_restricted_pod_security: this machine lacks {t}");
        if std::env::var("CHAOS_E2E").as_deref() == Ok("require") {
            panic!("{msg} (and CHAOS_E2E=require)");
        }
        eprintln!("\n==================== {msg} ====================\n");
        return;
    }
    let cache = Cache::from_env();
    let helm = gobuild::ensure_helm(&cache).expect("Helm");
    let tmp = tempfile::tempdir().unwrap();
    let api = ApiServer::start(&cache, &tmp.path().join("api")).expect("etcd + kube-apiserver");
    let env = Env {
        api: &api,
        helm: &helm,
    };

    // The namespace as the harness makes its own.
    let out = with_stdin(
        api.kubectl().args(["create", "-f", "-"]),
        &guard::namespace_manifest(NS).to_string(),
    );
    show("create the harness's namespace", &out);
    assert!(out.status.success());

    // The blast-radius guard, against the API server: the harness's namespace passes; one it
    // did not create is refused unless allowed explicitly; so is a missing one.
    ok(
        "create a namespace not ours",
        api.kubectl().args(["create", "namespace", "team-payments"]),
    );
    let g = guard::Guard {
        context: "chaos-test".into(),
        allowed: vec![],
    };
    g.check_live(|| api.kubectl(), NS)
        .expect("the harness's namespace");
    let e = g
        .check_live(|| api.kubectl(), "team-payments")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("namespace `team-payments` was not created by spark-chaos"),
        "{e}"
    );
    let e = g
        .check_live(|| api.kubectl(), "nowhere")
        .unwrap_err()
        .to_string();
    assert!(e.contains("namespace `nowhere` does not exist"), "{e}");
    let allowing = guard::Guard {
        context: "chaos-test".into(),
        allowed: vec!["team-payments".into()],
    };
    allowing
        .check_live(|| api.kubectl(), "team-payments")
        .expect("allowed explicitly");
    let elsewhere = guard::Guard {
        context: "kind-prod".into(),
        allowed: vec![],
    };
    let e = elsewhere
        .check_live(|| api.kubectl(), NS)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("the current kube context is `chaos-test`, not `kind-prod`"),
        "{e}"
    );
    // No controller-manager here to make the default ServiceAccount.
    ok(
        "create the default ServiceAccount",
        &mut env.kubectl(&["create", "serviceaccount", "default"]),
    );

    // A deliberately privileged pod is refused by Pod Security admission.
    let privileged = json!({"containers": [{"name": "c", "image": "chaos.local/chaos:x", "securityContext": {"privileged": true}}]});
    let out = env.dry_run_pod("a privileged pod", &privileged, 0);
    assert!(!out.status.success(), "a privileged pod was admitted");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("violates PodSecurity \"restricted:latest\""),
        "{err}"
    );
    assert!(err.contains("privileged"), "{err}");

    // The three charts side by side; hooks off (the bucket job waits for a MinIO that cannot
    // run without nodes). Pod Security warns on workloads whose pods it would refuse.
    for (release, chart) in [
        ("spark-base", "spark-base"),
        ("spark-35", "spark-3.5"),
        ("spark-41", "spark-4.1"),
    ] {
        let dir = charts().join(chart);
        let (_, err) = ok(
            &format!("helm install {release}"),
            &mut env.helm(&["install", release, dir.to_str().unwrap(), "--no-hooks"]),
        );
        assert!(
            !err.contains("would violate PodSecurity"),
            "{release}: {err}"
        );
    }
    let list: Value =
        serde_json::from_str(&ok("helm list", &mut env.helm(&["list", "-o", "json"])).0).unwrap();
    let deployed: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "deployed")
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(deployed.len(), 3, "{list}");

    // Every pod the charts would make, as the API server stored its template.
    let mut specs: Vec<(String, Value)> = vec![];
    for d in env.json(&["get", "deployments"])["items"]
        .as_array()
        .unwrap()
    {
        specs.push((
            format!("Deployment {}", d["metadata"]["name"]),
            d["spec"]["template"]["spec"].clone(),
        ));
    }
    assert_eq!(
        specs.len(),
        2 + 2 * 4,
        "minio, postgres; connect, metastore, history, the S3 fault proxy per line"
    );
    for line in ["spark-35", "spark-41"] {
        let cm = env.json(&["get", "configmap", &format!("{line}-conf")]);
        let template: serde_yaml::Value =
            serde_yaml::from_str(cm["data"]["executor-template.yaml"].as_str().unwrap()).unwrap();
        let template: Value = serde_json::to_value(template).unwrap();
        specs.push((
            format!("{line}'s executor pod template"),
            template["spec"].clone(),
        ));
    }
    let hook = ok(
        "helm template the bucket hook",
        Command::new(&helm).args([
            "template",
            "spark-base",
            charts().join("spark-base").to_str().unwrap(),
            "--namespace",
            NS,
            "--show-only",
            "templates/bucket-job.yaml",
        ]),
    )
    .0;
    let job: serde_yaml::Value = serde_yaml::from_str(&hook).unwrap();
    let job: Value = serde_json::to_value(job).unwrap();
    specs.push((
        "the bucket hook Job".into(),
        job["spec"]["template"]["spec"].clone(),
    ));
    for (n, (what, spec)) in specs.iter().enumerate() {
        let out = env.dry_run_pod(what, spec, n + 1);
        assert!(
            out.status.success(),
            "{what} refused: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // The RBAC lets each line's driver ServiceAccount make executor pods, and nothing else's.
    for line in ["spark-35", "spark-41"] {
        let who = format!("--as=system:serviceaccount:{NS}:{line}-connect");
        let (yes, _) = ok(
            "auth can-i create pods",
            &mut env.kubectl(&["auth", "can-i", "create", "pods", &who]),
        );
        assert_eq!(yes.trim(), "yes");
        let out = env
            .kubectl(&["auth", "can-i", "create", "deployments", &who])
            .output()
            .unwrap();
        assert_eq!(show("auth can-i create deployments", &out).0.trim(), "no");
    }

    // An upgrade keeps the credentials generated at install.
    let before = env.json(&["get", "secret", "spark-base-postgres"])["data"].clone();
    let minio_before = env.json(&["get", "secret", "spark-base-minio"])["data"].clone();
    ok(
        "helm upgrade spark-base",
        &mut env.helm(&[
            "upgrade",
            "spark-base",
            charts().join("spark-base").to_str().unwrap(),
            "--no-hooks",
        ]),
    );
    assert_eq!(
        env.json(&["get", "secret", "spark-base-postgres"])["data"],
        before
    );
    assert_eq!(
        env.json(&["get", "secret", "spark-base-minio"])["data"],
        minio_before
    );
    assert_eq!(before.as_object().unwrap().len(), 3);

    faults_through_the_api(&env, &api, &helm, &cache, tmp.path());

    // Uninstalling leaves nothing of ours.
    for release in ["spark-41", "spark-35", "spark-base"] {
        ok(
            &format!("helm uninstall {release}"),
            &mut env.helm(&["uninstall", release, "--wait"]),
        );
    }
    let left = env.json(&[
        "get",
        "all,configmaps,secrets,networkpolicies,serviceaccounts,roles,rolebindings",
        "-l",
        "app.kubernetes.io/part-of=spark-chaos",
    ]);
    assert_eq!(left["items"].as_array().map(Vec::len), Some(0), "{left}");
}

/// A pod as a controller would make it for a component (restricted, never scheduled here).
fn bare_pod(name: &str, instance: &str, component: &str, exec_id: Option<u32>) -> Value {
    let mut labels = json!({
        "app.kubernetes.io/instance": instance,
        "app.kubernetes.io/component": component,
    });
    if let Some(i) = exec_id {
        labels["spark-exec-id"] = json!(i.to_string());
    }
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "automountServiceAccountToken": false,
            "securityContext": {"runAsNonRoot": true, "runAsUser": 185,
                "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "c", "image": "chaos.local/spark:4.1.0",
                "securityContext": {"allowPrivilegeEscalation": false,
                    "capabilities": {"drop": ["ALL"]}}}]
        }
    })
}

fn spec(kind: &str, target: Option<&str>, params: &[(&str, &str)]) -> catalog::FaultSpec {
    catalog::parse(kind, target, &inject::params(params)).expect("a valid fault")
}

/// An owner that is gone: a harness SIGKILLed mid-fault.
fn dead_owner() -> Owner {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    Owner {
        pid,
        start_ticks: 1,
        command: "chaos run (killed)".into(),
    }
}

/// Every fault's API objects on the real API server, through the platform's driver and the
/// fault ledger: pod deletes, the metastore held down as a scale to 0 with the old count in an
/// annotation, NetworkPolicies (validated by the server) for an S3 outage and a partition; a
/// SIGKILLed harness's faults undone by the next command (`recover`), objects whose ledger is
/// gone found by the sweep; and the guard refusing a namespace the harness did not create.
fn faults_through_the_api(env: &Env<'_>, api: &ApiServer, helm: &Path, cache: &Cache, tmp: &Path) {
    let home = EnvHome::at(tmp.join("home"));
    let mut st = state::KubeState {
        kube: kube::Kube {
            kubectl: api.kubectl.clone(),
            helm: helm.to_path_buf(),
            kubeconfig: api.kubeconfig.clone(),
            context: "chaos-test".into(),
            namespace: NS.into(),
        },
        kind_cluster: None,
        settings: EnvSettings::default(),
        images: Default::default(),
        allowed_namespaces: vec![],
        installed: String::new(),
    };
    st.write(&home).unwrap();
    let p = platform::open(PlatformKind::Kubernetes, &home, cache).unwrap();
    // Pods as the Deployments and Spark would make them (no controllers run here).
    for (name, inst, comp, id) in [
        ("spark-41-connect-a", "spark-41", "connect", None),
        ("spark-41-connect-a-exec-1", "spark-41", "executor", Some(1)),
        ("spark-41-connect-a-exec-2", "spark-41", "executor", Some(2)),
        ("spark-41-metastore-a", "spark-41", "metastore", None),
        ("spark-base-minio-a", "spark-base", "minio", None),
    ] {
        let out = with_stdin(
            &mut env.kubectl(&["create", "-f", "-"]),
            &bare_pod(name, inst, comp, id).to_string(),
        );
        show(&format!("create pod {name}"), &out);
        assert!(out.status.success());
    }
    let ids: Vec<String> = p.status().unwrap().into_iter().map(|c| c.id).collect();
    assert_eq!(
        ids,
        [
            "s3",
            "connect-41-0",
            "metastore-41",
            "executor-41-1",
            "executor-41-2"
        ]
    );

    // A kill of executor #1 (the second by Spark's id) deletes that pod and heals at once.
    let r = inject::inject(
        &*p,
        &spec("pod-kill", Some("executor@4.1.0#1"), &[]),
        None,
        None,
    )
    .expect("kill an executor");
    assert!(r.healed_ms.is_some(), "{r:?}");
    assert!(
        r.detail.contains("spark-41-connect-a-exec-2"),
        "{}",
        r.detail
    );
    let left: Vec<String> = p.status().unwrap().into_iter().map(|c| c.id).collect();
    assert!(!left.contains(&"executor-41-2".to_string()), "{left:?}");
    assert!(left.contains(&"executor-41-1".to_string()), "{left:?}");

    // The metastore held down: scaled to 0, its count noted; an S3 outage and a partition as
    // NetworkPolicies the API server accepts. Then the harness is "SIGKILLed".
    let gone = Some(dead_owner());
    let ms = inject::inject(
        &*p,
        &spec("metastore-outage", Some("metastore@4.1.0"), &[]),
        gone.clone(),
        None,
    )
    .expect("hold the metastore down");
    assert!(
        ms.detail.contains("scale spark-41-metastore 1 → 0"),
        "{}",
        ms.detail
    );
    let d = env.json(&["get", "deployment", "spark-41-metastore"]);
    assert_eq!(d["spec"]["replicas"], 0);
    assert_eq!(d["metadata"]["annotations"][SCALED_FROM], "1");
    let s3 =
        inject::inject(&*p, &spec("s3-outage", None, &[]), gone.clone(), None).expect("cut S3");
    let part = inject::inject(
        &*p,
        &spec("network-partition", Some("spark@4.1.0"), &[]),
        gone,
        None,
    )
    .expect("partition 4.1");
    let policies = env.json(&["get", "networkpolicy", "-l", FAULT_LABEL]);
    let mut names: Vec<String> = policies["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    assert_eq!(names, {
        let mut want = vec![
            format!("chaos-{}-41-connect", part.id),
            format!("chaos-{}-41-executor", part.id),
            format!("chaos-{}-cut", s3.id),
        ];
        want.sort();
        want
    });
    let cut = policies["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["metadata"]["name"] == format!("chaos-{}-cut", s3.id))
        .unwrap();
    assert_eq!(
        cut["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"],
        "minio"
    );

    // The next command heals what the dead harness left: scale restored, policies gone.
    let (healed, failed) = inject::recover(&*p);
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(healed.len(), 3, "{healed:?}");
    let d = env.json(&["get", "deployment", "spark-41-metastore"]);
    assert_eq!(d["spec"]["replicas"], 1);
    assert!(d["metadata"]["annotations"][SCALED_FROM].is_null(), "{d}");
    assert_eq!(
        env.json(&["get", "networkpolicy", "-l", FAULT_LABEL])["items"],
        json!([])
    );

    // A fault whose ledger was deleted: the sweep still finds its objects by label/annotation.
    inject::inject(&*p, &spec("s3-outage", Some("s3@4.1.0"), &[]), None, None).unwrap();
    inject::inject(&*p, &spec("stop", Some("history@4.1.0"), &[]), None, None).unwrap();
    std::fs::remove_file(spark_chaos::fault::ledger::Ledger::at(home.root()).path()).unwrap();
    let (_, failed) = inject::recover(&*p);
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(
        env.json(&["get", "networkpolicy", "-l", FAULT_LABEL])["items"],
        json!([])
    );
    assert_eq!(
        env.json(&["get", "deployment", "spark-41-history"])["spec"]["replicas"],
        1
    );

    // S3 protocol faults act in the line's fault proxy pod: with none running they are refused
    // before anything is written or applied.
    let e = inject::inject(
        &*p,
        &spec("s3-throttling", Some("s3@4.1.0"), &[]),
        None,
        None,
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("Spark 4.1.0 has no fault proxy pod running (spark-41-s3-proxy)"),
        "{e}"
    );
    // With a proxy pod running, an S3 cut is a NetworkPolicy on it (the line's pods reach S3
    // through it), not on MinIO.
    let proxy = "spark-41-s3-proxy-a";
    let out = with_stdin(
        &mut env.kubectl(&["create", "-f", "-"]),
        &bare_pod(proxy, "spark-41", "s3-proxy", None).to_string(),
    );
    show("create the proxy pod", &out);
    assert!(out.status.success());
    ok(
        "mark the proxy pod running (no kubelet here)",
        &mut env.kubectl(&[
            "patch",
            "pod",
            proxy,
            "--subresource=status",
            "--type=merge",
            "-p",
            r#"{"status":{"phase":"Running","podIP":"10.244.9.9","podIPs":[{"ip":"10.244.9.9"}]}}"#,
        ]),
    );
    let cut = inject::inject(&*p, &spec("s3-outage", Some("s3@4.1.0"), &[]), None, None)
        .expect("cut 4.1's S3");
    assert!(
        cut.detail
            .contains("the S3 fault proxy takes no connection"),
        "{}",
        cut.detail
    );
    let policy = env.json(&["get", "networkpolicy", &format!("chaos-{}-cut", cut.id)]);
    assert_eq!(
        policy["spec"]["podSelector"]["matchLabels"],
        json!({"app.kubernetes.io/component": "s3-proxy", "app.kubernetes.io/instance": "spark-41"}),
        "{policy}"
    );
    inject::heal(&*p, &cut.id, "test").expect("heal the cut");
    assert_eq!(
        env.json(&["get", "networkpolicy", "-l", FAULT_LABEL])["items"],
        json!([])
    );
    ok(
        "delete the proxy pod",
        &mut env.kubectl(&["delete", "pod", proxy, "--grace-period=0", "--force"]),
    );

    // The guard: the same environment state pointed at a namespace the harness did not make.
    st.kube.namespace = "team-payments".into();
    st.write(&home).unwrap();
    let e = inject::inject(&*p, &spec("s3-outage", None, &[]), None, None).unwrap_err();
    assert!(
        e.to_string()
            .contains("namespace `team-payments` was not created by spark-chaos"),
        "{e}"
    );
    assert_eq!(
        ok(
            "policies in team-payments",
            api.kubectl()
                .args(["get", "networkpolicy", "-n", "team-payments", "-o", "name"])
        )
        .0
        .trim(),
        ""
    );
    st.kube.namespace = NS.into();
    st.write(&home).unwrap();
    for name in [
        "spark-41-connect-a",
        "spark-41-connect-a-exec-1",
        "spark-41-metastore-a",
        "spark-base-minio-a",
    ] {
        ok(
            "delete a bare pod",
            &mut env.kubectl(&[
                "delete",
                "pod",
                name,
                "--grace-period=0",
                "--force",
                "--ignore-not-found",
            ]),
        );
    }
}
