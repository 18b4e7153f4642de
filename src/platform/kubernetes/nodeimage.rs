//! The kind node image.
//!
//! With a reachable registry ([`Source::Official`]) it is kind's official `kindest/node`.
//! Here it is built, the way `kind build node-image` does it but without pulling anything:
//!
//! 1. a Debian base ([`images::ensure_base`]) → `kind-base` (systemd, containerd, runc, CNI
//!    plugins from Debian; kind's own files from the pinned kind module; crictl; the runc
//!    wrapper);
//! 2. Kubernetes built from the Go module proxy (kubeadm, kubelet, kubectl, control plane,
//!    kube-proxy), etcd, CoreDNS, kube-router, local-path-provisioner, and pause compiled from
//!    Kubernetes' `pause.c`;
//! 3. one image per component, tagged with the names kubeadm and the manifests expect;
//! 4. `kind-node`: kind-base + the binaries + manifests; the component images imported into its
//!    containerd in a build container, committed with kind's entrypoint.
//!
//! The final tag carries a hash of every recipe and pin, so an existing tag means nothing
//! needs building (a second `cluster up` builds nothing and asks no registry).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::docker::{self, capture, docker, write_atomic};
use super::gobuild::{self, KUBERNETES_COMMANDS};
use super::images::{self, Build, Source, KIND_BASE, KIND_NODE, KUBE_STATIC, NETBASE, REPO};
use super::{pins, KubeError};
use crate::install::{steps, InstallError};
use crate::paths::Cache;

/// Bumped when this file changes how the node image is assembled.
const ASSEMBLY_REVISION: &str = "1";

/// The node image's tag: `chaos.local/kind-node:<kubernetes>-<hash of recipes and pins>`.
pub fn built_reference() -> String {
    let mut h = Sha256::new();
    for r in [KIND_BASE, KIND_NODE, KUBE_STATIC, NETBASE] {
        for (p, t) in r.files {
            h.update(p.as_bytes());
            h.update(t.as_bytes());
        }
    }
    h.update(docker::runc_wrapper().as_bytes());
    for pin in [
        pins::KUBERNETES,
        pins::KUBERNETES_STAGING,
        pins::ETCD,
        pins::COREDNS,
        pins::PAUSE,
        pins::KIND,
        pins::CRICTL,
        pins::KUBE_ROUTER,
        pins::LOCAL_PATH,
        pins::DEBIAN_SUITE,
        ASSEMBLY_REVISION,
    ] {
        h.update(pin.as_bytes());
        h.update(b"\n");
    }
    format!(
        "{REPO}/kind-node:{}-{}",
        pins::KUBERNETES,
        &hex::encode(h.finalize())[..12]
    )
}

/// The node image to create the cluster from, built or pulled as `source` says. Idempotent.
pub fn ensure(cache: &Cache, source: Source) -> Result<String, KubeError> {
    if source == Source::Official {
        let r = pins::OFFICIAL_NODE_IMAGE.to_string();
        if !images::exists(&r) {
            steps::run("docker pull", docker().args(["pull", &r]))?;
        }
        return Ok(r);
    }
    let reference = built_reference();
    if images::exists(&reference) {
        eprintln!("==> kind node image {reference}: cached");
        return Ok(reference);
    }
    let t = steps::begin(&format!(
        "building the kind node image {reference} (Kubernetes {} from source; the first time \
         takes long: see README)",
        pins::KUBERNETES
    ));
    let base = images::ensure_base(cache, source)?;

    // kind-base first: it needs only crictl and kind's files.
    let crictl = gobuild::ensure_install(
        cache,
        "crictl",
        "sigs.k8s.io/cri-tools/cmd/crictl",
        pins::CRICTL,
    )?;
    let kind_dir = gobuild::module_dir(cache, "sigs.k8s.io/kind", pins::KIND)?;
    let wrapper = cache.root().join("kubernetes").join("runc-chaos");
    std::fs::create_dir_all(wrapper.parent().expect("parent"))
        .map_err(|e| InstallError::io("create the kubernetes directory", &wrapper, e))?;
    write_atomic(&wrapper, docker::runc_wrapper().as_bytes())?;
    let kind_base = images::ensure(
        cache,
        &Build::new(KIND_BASE, "kind-base", pins::KIND)
            .arg("BASE", &base)
            .file(kind_dir.join("images/base/files"), "files")
            .file(&crictl, "crictl")
            .file(&wrapper, "runc-chaos"),
    )?;

    // Binaries.
    let k8s = gobuild::kubernetes_wrapper_cached(cache)?;
    let ld = gobuild::kubernetes_ldflags();
    let mut kube = std::collections::BTreeMap::new();
    for c in KUBERNETES_COMMANDS {
        let p =
            gobuild::ensure_wrapped(cache, &k8s, c, &format!("k8s.io/kubernetes/cmd/{c}"), &ld)?;
        kube.insert(c, p);
    }
    let etcd = gobuild::ensure_etcd(cache)?;
    let coredns = gobuild::ensure_install(
        cache,
        "coredns",
        "github.com/coredns/coredns",
        pins::COREDNS,
    )?;
    let kube_router = gobuild::ensure_install(
        cache,
        "kube-router",
        "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router",
        pins::KUBE_ROUTER,
    )?;
    let local_path = gobuild::ensure_install(
        cache,
        "local-path-provisioner",
        "github.com/rancher/local-path-provisioner",
        pins::LOCAL_PATH,
    )?;
    let pause = ensure_pause(cache)?;

    // Component images under the names kubeadm and the manifests use.
    let registry = "registry.k8s.io";
    let v = pins::KUBERNETES;
    let etcd_tag = format!("{}-0", pins::ETCD.trim_start_matches('v'));
    let mut component_tags: Vec<String> = vec![];
    let mut statik = |name: &str, bin: &Path, version: &str, tags: &[String]| {
        let mut b = Build::new(KUBE_STATIC, name, version)
            .var("BIN", name)
            .file(bin, "bin");
        for t in tags {
            b = b.tag(t);
        }
        images::ensure(cache, &b)?;
        component_tags.extend(tags.iter().cloned());
        Ok::<(), KubeError>(())
    };
    for c in [
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
    ] {
        statik(c, &kube[c], v, &[format!("{registry}/{c}:{v}")])?;
    }
    statik(
        "etcd",
        &etcd,
        &etcd_tag,
        &[format!("{registry}/etcd:{etcd_tag}")],
    )?;
    statik(
        "coredns",
        &coredns,
        pins::COREDNS,
        &[format!("{registry}/coredns/coredns:{}", pins::COREDNS)],
    )?;
    statik(
        "pause",
        &pause,
        pins::PAUSE,
        // kind's containerd configuration names 3.10 as the sandbox image; kubeadm 3.10.1.
        &[
            format!("{registry}/pause:{}", pins::PAUSE),
            format!("{registry}/pause:3.10"),
        ],
    )?;
    let provisioner = format!("{REPO}/local-path-provisioner:{}", pins::LOCAL_PATH);
    statik(
        "local-path-provisioner",
        &local_path,
        pins::LOCAL_PATH,
        std::slice::from_ref(&provisioner),
    )?;
    let proxy_tag = format!("{registry}/kube-proxy:{v}");
    images::ensure(
        cache,
        &Build::new(NETBASE, "kube-proxy", v)
            .arg("BASE", &base)
            .var("BIN", "kube-proxy")
            .file(&kube["kube-proxy"], "bin")
            .tag(&proxy_tag),
    )?;
    component_tags.push(proxy_tag);
    let router = format!("{REPO}/kube-router:{}", pins::KUBE_ROUTER);
    images::ensure(
        cache,
        &Build::new(NETBASE, "kube-router", pins::KUBE_ROUTER)
            .arg("BASE", &base)
            .var("BIN", "kube-router")
            .file(&kube_router, "bin")
            .tag(&router),
    )?;
    component_tags.push(router.clone());

    // The node: binaries and manifests, then the images imported into its containerd.
    let version_file = cache.root().join("kubernetes").join("kind-version");
    write_atomic(&version_file, v.as_bytes())?;
    let mut node = Build::new(KIND_NODE, "kind-node-staging", v)
        .var("KIND_BASE", &kind_base)
        .var("KUBERNETES", v)
        .var("KUBE_ROUTER_IMAGE", &router)
        .var("PROVISIONER_IMAGE", &provisioner)
        // Helper pods only need a shell with mkdir and rm: the kube-router image has them.
        .var("HELPER_IMAGE", &router)
        .file(&version_file, "version");
    for c in ["kubeadm", "kubelet", "kubectl"] {
        node = node.file(&kube[c], c);
    }
    let staging = images::ensure(cache, &node)?;
    assemble(cache, &staging, &component_tags, &reference)?;
    steps::done(&reference, t);
    Ok(reference)
}

/// pause, compiled statically from Kubernetes' `build/pause/linux/pause.c`.
fn ensure_pause(cache: &Cache) -> Result<PathBuf, KubeError> {
    let out = gobuild::bin(cache, "pause", pins::PAUSE);
    if out.is_file() {
        return Ok(out);
    }
    let k8s = gobuild::module_dir(cache, "k8s.io/kubernetes", pins::KUBERNETES)?;
    let src = k8s.join("build/pause/linux/pause.c");
    let cc = ["cc", "gcc"].into_iter().find(|c| steps::on_path(c));
    let Some(cc) = cc else {
        return Err(InstallError::Missing {
            what: "a C compiler (for the pause container)".into(),
            how: "apt-get install gcc libc6-dev".into(),
        }
        .into());
    };
    let tmp = out.with_extension("partial");
    steps::run(
        "compile pause.c",
        Command::new(cc)
            .args(["-Os", "-Wall", "-static"])
            .arg(format!("-DVERSION=v{}-chaos", pins::PAUSE))
            .arg("-o")
            .arg(&tmp)
            .arg(&src),
    )?;
    std::fs::rename(&tmp, &out).map_err(|e| InstallError::io("move into the cache", &out, e))?;
    Ok(out)
}

/// Imports `tags` into the containerd of a container made from `staging` and commits it as
/// `reference` with kind's entrypoint.
fn assemble(
    cache: &Cache,
    staging: &str,
    tags: &[String],
    reference: &str,
) -> Result<(), KubeError> {
    let t = steps::begin(&format!(
        "importing {} images into the node image's containerd",
        tags.len()
    ));
    let tar = cache.root().join("kubernetes").join("node-images.tar");
    steps::run(
        "docker save",
        docker().arg("save").arg("-o").arg(&tar).args(tags),
    )?;
    let name = format!("chaos-node-build-{}", std::process::id());
    let _ = capture(
        "remove an old build container",
        docker().args(["rm", "-f", &name]),
    );
    capture(
        "start a node build container",
        docker().args([
            "run",
            "-d",
            "--privileged",
            "--label",
            "chaos.build=node-image",
            "--name",
            &name,
            "--entrypoint",
            "sleep",
            staging,
            "infinity",
        ]),
    )?;
    let result = (|| {
        capture(
            "start containerd in the build container",
            docker().args(["exec", "-d", &name, "containerd"]),
        )?;
        let started = Instant::now();
        while !docker::succeeds(docker().args(["exec", &name, "ctr", "version"])) {
            if started.elapsed() > Duration::from_secs(60) {
                return Err(KubeError::Timeout {
                    what: "containerd in the node build container".into(),
                    secs: 60,
                    detail: String::new(),
                });
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        let file = std::fs::File::open(&tar)
            .map_err(|e| InstallError::io("open the image archive", &tar, e))?;
        steps::run(
            "ctr images import",
            docker()
                .args([
                    "exec",
                    "-i",
                    &name,
                    "ctr",
                    "--namespace=k8s.io",
                    "images",
                    "import",
                ])
                .args(["--all-platforms", "--no-unpack", "-"])
                .stdin(Stdio::from(file)),
        )?;
        let listed = capture(
            "list the imported images",
            docker().args([
                "exec",
                &name,
                "ctr",
                "--namespace=k8s.io",
                "images",
                "ls",
                "-q",
            ]),
        )?;
        for tag in tags {
            if !listed.lines().any(|l| l.trim() == tag) {
                return Err(KubeError::Output {
                    what: format!("import {tag} into the node image"),
                    output: listed.clone(),
                });
            }
        }
        let _ = capture(
            "stop containerd",
            docker().args(["exec", &name, "pkill", "containerd"]),
        );
        std::thread::sleep(Duration::from_secs(2));
        capture(
            "commit the node image",
            docker().args([
                "commit",
                "--change",
                r#"ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]"#,
                &name,
                reference,
            ]),
        )?;
        Ok(())
    })();
    let _ = capture(
        "remove the build container",
        docker().args(["rm", "-f", "-v", &name]),
    );
    let _ = std::fs::remove_file(&tar);
    result?;
    steps::done("node image", t);
    Ok(())
}

/// Whether the node image is built (no build needed).
pub fn is_built() -> bool {
    images::exists(&built_reference())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_reference_is_stable_and_versioned() {
        let r = built_reference();
        assert_eq!(r, built_reference());
        assert!(r.starts_with("chaos.local/kind-node:v1.34."), "{r}");
    }

    #[test]
    fn node_recipe_substitutions_are_all_known() {
        let b = Build::new(KIND_NODE, "kind-node-staging", "v")
            .var("KIND_BASE", "b")
            .var("KUBERNETES", "v")
            .var("KUBE_ROUTER_IMAGE", "r")
            .var("PROVISIONER_IMAGE", "p")
            .var("HELPER_IMAGE", "h");
        let reference = b.reference();
        assert!(reference.contains("kind-node-staging"));
        for (_, text) in KIND_NODE.files {
            let mut t = text.to_string();
            for (k, v) in &b.vars {
                t = t.replace(&format!("{{{{{k}}}}}"), v);
            }
            assert!(!t.contains("{{"), "unsubstituted placeholder in {t}");
        }
    }
}
