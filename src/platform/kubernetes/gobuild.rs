//! Go binaries built from the Go module proxy into the cache, pinned.
//!
//! Each binary lands as `kubernetes/bin/<name>-<version>` through a rename, so a file that
//! exists is a finished build. Go's own caches live in the cache directory too
//! (`go/mod`, `go/cache`). Builds run under `nice -n 19` (this machine's two cores are shared).
//!
//! Modules with `replace` directives (`k8s.io/kubernetes`, etcd's server) refuse `go install`;
//! they are built from a generated wrapper module (`kubernetes/src/<name>/go.mod`) that
//! requires them and repeats their replaces as module versions.

use std::path::PathBuf;
use std::process::Command;

use super::docker::{capture, write_atomic};
use super::{pins, KubeError};
use crate::install::{steps, InstallError};
use crate::paths::Cache;

/// Where built binaries live.
pub fn bin_dir(cache: &Cache) -> PathBuf {
    cache.root().join("kubernetes").join("bin")
}

/// The path of a built binary.
pub fn bin(cache: &Cache, name: &str, version: &str) -> PathBuf {
    bin_dir(cache).join(format!("{name}-{version}"))
}

/// A `go` command with the cache's module and build caches, static builds, at low priority.
fn go(cache: &Cache) -> Command {
    let mut c = Command::new("nice");
    c.args(["-n", "19", "go"])
        .env("GOMODCACHE", cache.root().join("go").join("mod"))
        .env("GOCACHE", cache.root().join("go").join("cache"))
        .env("GOFLAGS", "-modcacherw -mod=mod -buildvcs=false")
        .env("CGO_ENABLED", "0");
    c
}

fn need_go() -> Result<(), KubeError> {
    if steps::on_path("go") {
        Ok(())
    } else {
        Err(InstallError::Missing {
            what: "Go".into(),
            how: "install Go 1.24 or newer (e.g. apt-get install golang)".into(),
        }
        .into())
    }
}

/// `go install pkg@version` into the cache unless built already; returns the binary.
pub fn ensure_install(
    cache: &Cache,
    name: &str,
    package: &str,
    version: &str,
) -> Result<PathBuf, KubeError> {
    let out = bin(cache, name, version);
    if out.is_file() {
        return Ok(out);
    }
    need_go()?;
    let staging = bin_dir(cache).join(format!(".{name}-{version}.staging"));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging)
        .map_err(|e| InstallError::io("create a Go build directory", &staging, e))?;
    let t = steps::begin(&format!("building {name} {version} (go install {package})"));
    steps::run(
        &format!("go install {package}@{version}"),
        go(cache)
            .args(["install", "-trimpath", "-ldflags", "-s -w"])
            .arg(format!("{package}@{version}"))
            .env("GOBIN", &staging),
    )?;
    let built = staging.join(package.rsplit('/').next().unwrap_or(name));
    std::fs::rename(&built, &out).map_err(|e| InstallError::io("move into the cache", &out, e))?;
    let _ = std::fs::remove_dir_all(&staging);
    steps::done(name, t);
    Ok(out)
}

/// A module built through a generated wrapper module.
#[derive(Debug, Clone)]
pub struct Wrapped {
    /// The wrapper's directory name under `kubernetes/src/`.
    pub dir: String,
    /// The module required.
    pub module: String,
    /// Its version.
    pub version: String,
    /// `replace` lines: module → version.
    pub replaces: Vec<(String, String)>,
}

/// The `go.mod` text of a wrapper module.
pub fn wrapper_go_mod(w: &Wrapped) -> String {
    let mut s = format!(
        "module chaos.local/build/{}\n\ngo 1.24.0\n\nrequire {} {}\n",
        w.dir, w.module, w.version
    );
    if !w.replaces.is_empty() {
        s.push_str("\nreplace (\n");
        for (m, v) in &w.replaces {
            s.push_str(&format!("\t{m} => {m} {v}\n"));
        }
        s.push_str(")\n");
    }
    s
}

/// The staging modules a `k8s.io/kubernetes` go.mod replaces with `./staging/src/...`, less
/// the samples (not served by the proxy, not needed).
pub fn staging_modules(go_mod: &str) -> Vec<String> {
    go_mod
        .lines()
        .filter_map(|l| {
            let (left, right) = l.split_once("=>")?;
            if !right.trim().starts_with("./staging/src/") {
                return None;
            }
            let m = left.trim().trim_start_matches("replace").trim();
            (!m.contains("sample-")).then(|| m.to_string())
        })
        .collect()
}

/// The wrapper module for Kubernetes.
pub fn kubernetes_wrapper(cache: &Cache) -> Result<Wrapped, KubeError> {
    need_go()?;
    let module = "k8s.io/kubernetes";
    let json = capture(
        "download k8s.io/kubernetes",
        go(cache)
            .args(["mod", "download", "-json"])
            .arg(format!("{module}@{}", pins::KUBERNETES))
            .current_dir(std::env::temp_dir()),
    )?;
    let v: serde_json::Value = serde_json::from_str(&json).map_err(|_| KubeError::Output {
        what: "go mod download".into(),
        output: json.clone(),
    })?;
    let go_mod = v["GoMod"].as_str().unwrap_or_default().to_string();
    let text = std::fs::read_to_string(&go_mod)
        .map_err(|e| InstallError::io("read kubernetes' go.mod", &go_mod, e))?;
    Ok(Wrapped {
        dir: format!("kubernetes-{}", pins::KUBERNETES),
        module: module.into(),
        version: pins::KUBERNETES.into(),
        replaces: staging_modules(&text)
            .into_iter()
            .map(|m| (m, pins::KUBERNETES_STAGING.to_string()))
            .collect(),
    })
}

/// The wrapper module for etcd's server.
pub fn etcd_wrapper() -> Wrapped {
    let v = pins::ETCD.to_string();
    Wrapped {
        dir: format!("etcd-{v}"),
        module: "go.etcd.io/etcd/server/v3".into(),
        version: v.clone(),
        replaces: ["api/v3", "client/pkg/v3", "client/v3", "pkg/v3"]
            .iter()
            .map(|m| (format!("go.etcd.io/etcd/{m}"), v.clone()))
            .collect(),
    }
}

/// Builds `package` (a main package inside the wrapped module) as `name` unless built.
pub fn ensure_wrapped(
    cache: &Cache,
    w: &Wrapped,
    name: &str,
    package: &str,
    ldflags: &str,
) -> Result<PathBuf, KubeError> {
    let out = bin(cache, name, &w.version);
    if out.is_file() {
        return Ok(out);
    }
    need_go()?;
    let dir = cache.root().join("kubernetes").join("src").join(&w.dir);
    std::fs::create_dir_all(&dir)
        .map_err(|e| InstallError::io("create a wrapper module", &dir, e))?;
    let go_mod = dir.join("go.mod");
    let text = wrapper_go_mod(w);
    if std::fs::read_to_string(&go_mod).ok().as_deref() != Some(text.as_str()) {
        write_atomic(&go_mod, text.as_bytes())?;
    }
    let t = steps::begin(&format!(
        "building {name} {} from the Go module proxy (several minutes the first time)",
        w.version
    ));
    let tmp = out.with_extension("partial");
    steps::run(
        &format!("go build {package}"),
        go(cache)
            .args(["build", "-trimpath", "-ldflags"])
            .arg(format!("-s -w {ldflags}"))
            .arg("-o")
            .arg(&tmp)
            .arg(package)
            .current_dir(&dir),
    )?;
    std::fs::rename(&tmp, &out).map_err(|e| InstallError::io("move into the cache", &out, e))?;
    steps::done(name, t);
    Ok(out)
}

/// The `-X` flags that stamp Kubernetes' version into its binaries.
pub fn kubernetes_ldflags() -> String {
    let v = pins::KUBERNETES;
    let minor = v.split('.').nth(1).unwrap_or("0");
    format!(
        "-X k8s.io/component-base/version.gitVersion={v} \
         -X k8s.io/component-base/version.gitMajor=1 \
         -X k8s.io/component-base/version.gitMinor={minor} \
         -X k8s.io/component-base/version.gitTreeState=clean \
         -X k8s.io/client-go/pkg/version.gitVersion={v}"
    )
}

/// The Kubernetes commands the node image needs.
pub const KUBERNETES_COMMANDS: [&str; 7] = [
    "kubeadm",
    "kubelet",
    "kubectl",
    "kube-proxy",
    "kube-scheduler",
    "kube-controller-manager",
    "kube-apiserver",
];

/// The directory of a module version in the module cache (downloading it if needed).
pub fn module_dir(cache: &Cache, module: &str, version: &str) -> Result<PathBuf, KubeError> {
    need_go()?;
    let json = capture(
        &format!("download {module}"),
        go(cache)
            .args(["mod", "download", "-json"])
            .arg(format!("{module}@{version}"))
            .current_dir(std::env::temp_dir()),
    )?;
    let v: serde_json::Value = serde_json::from_str(&json).map_err(|_| KubeError::Output {
        what: format!("go mod download {module}"),
        output: json.clone(),
    })?;
    Ok(PathBuf::from(v["Dir"].as_str().unwrap_or_default()))
}

/// kubectl for the host (the one built for the node image).
pub fn ensure_kubectl(cache: &Cache) -> Result<PathBuf, KubeError> {
    let w = kubernetes_wrapper_cached(cache)?;
    ensure_wrapped(
        cache,
        &w,
        "kubectl",
        "k8s.io/kubernetes/cmd/kubectl",
        &kubernetes_ldflags(),
    )
}

/// The Kubernetes wrapper, without asking the proxy when every binary is built already.
pub fn kubernetes_wrapper_cached(cache: &Cache) -> Result<Wrapped, KubeError> {
    if KUBERNETES_COMMANDS
        .iter()
        .all(|c| bin(cache, c, pins::KUBERNETES).is_file())
    {
        return Ok(Wrapped {
            dir: format!("kubernetes-{}", pins::KUBERNETES),
            module: "k8s.io/kubernetes".into(),
            version: pins::KUBERNETES.into(),
            replaces: vec![],
        });
    }
    kubernetes_wrapper(cache)
}

/// etcd's server (the node image's and the API-level tier's).
pub fn ensure_etcd(cache: &Cache) -> Result<PathBuf, KubeError> {
    ensure_wrapped(
        cache,
        &etcd_wrapper(),
        "etcd",
        "go.etcd.io/etcd/server/v3",
        "",
    )
}

/// kind.
pub fn ensure_kind(cache: &Cache) -> Result<PathBuf, KubeError> {
    ensure_install(cache, "kind", "sigs.k8s.io/kind", pins::KIND)
}

/// Helm.
pub fn ensure_helm(cache: &Cache) -> Result<PathBuf, KubeError> {
    ensure_install(cache, "helm", "helm.sh/helm/v3/cmd/helm", pins::HELM)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staging_modules_skip_samples_and_other_replaces() {
        let go_mod = "replace (\n\tk8s.io/api => ./staging/src/k8s.io/api\n\
                      \tk8s.io/sample-controller => ./staging/src/k8s.io/sample-controller\n\
                      \tgithub.com/x/y => github.com/x/y v1.0.0\n)\n";
        assert_eq!(staging_modules(go_mod), vec!["k8s.io/api".to_string()]);
    }

    #[test]
    fn wrapper_go_mod_repeats_replaces_as_versions() {
        let text = wrapper_go_mod(&etcd_wrapper());
        assert!(text.contains("require go.etcd.io/etcd/server/v3 v3.6.5"));
        assert!(text.contains("\tgo.etcd.io/etcd/api/v3 => go.etcd.io/etcd/api/v3 v3.6.5\n"));
    }
}
