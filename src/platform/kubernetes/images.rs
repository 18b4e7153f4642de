//! Image recipes and how they are built.
//!
//! Recipes are the Dockerfiles under `images/` in the repository, embedded in the binary.
//! Two sources of base images, one code path ([`Source`]): here (no container registry) the
//! base is a Debian `bookworm` minbase made with `debootstrap` from the machine's apt mirror
//! and `docker import`ed; on a Docker host with a registry (`CHAOS_IMAGE_SOURCE=official`) the
//! public `debian:bookworm-slim` and the official `kindest/node` image serve instead.
//!
//! An image's tag ends in a hash of everything that goes into it (recipe text, build
//! arguments, the identity of the files copied in), and Docker tags only a finished build:
//! a tag that exists is the cache hit. Every build runs under `nice -n 19` with the host's
//! network (`--network host`), so `apt-get` inside reaches the same mirror as the host.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use super::docker::{docker, succeeds};
use super::{pins, KubeError};
use crate::install::{steps, InstallError};
use crate::paths::Cache;

/// Where base images and component images come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Built here from a `debootstrap` base; the kind node image built from source.
    Built,
    /// Public base images and the official kind node image (needs a reachable registry).
    Official,
}

impl Source {
    /// `CHAOS_IMAGE_SOURCE` (`official` or `built`); `built` by default, since nothing here may
    /// try a registry it cannot reach.
    pub fn from_env() -> Result<Source, KubeError> {
        match std::env::var("CHAOS_IMAGE_SOURCE").as_deref() {
            Err(_) | Ok("") | Ok("built") => Ok(Source::Built),
            Ok("official") => Ok(Source::Official),
            Ok(other) => Err(KubeError::Invalid(format!(
                "CHAOS_IMAGE_SOURCE=`{other}`: expected `built` or `official`"
            ))),
        }
    }
}

/// The name every locally built image is tagged under.
pub const REPO: &str = "chaos.local";

/// One recipe: a name and its files (path in the build context → text).
#[derive(Debug, Clone, Copy)]
pub struct Recipe {
    /// Short name (`spark`, `kind-base`, …), also the folder under `images/`.
    pub name: &'static str,
    /// The files of `images/<name>/`.
    pub files: &'static [(&'static str, &'static str)],
}

/// `images/kind-base/`: kind's node base (systemd, containerd, runc, CNI plugins, crictl).
pub const KIND_BASE: Recipe = Recipe {
    name: "kind-base",
    files: &[(
        "Dockerfile",
        include_str!("../../../images/kind-base/Dockerfile"),
    )],
};
/// `images/kind-node/`: the kind node image (Kubernetes binaries, manifests).
pub const KIND_NODE: Recipe = Recipe {
    name: "kind-node",
    files: &[
        (
            "Dockerfile",
            include_str!("../../../images/kind-node/Dockerfile"),
        ),
        (
            "default-cni.yaml",
            include_str!("../../../images/kind-node/default-cni.yaml"),
        ),
        (
            "default-storage.yaml",
            include_str!("../../../images/kind-node/default-storage.yaml"),
        ),
    ],
};
/// `images/kube-static/`: one static Go binary on an empty image (control plane, etcd,
/// CoreDNS, pause, local-path-provisioner).
pub const KUBE_STATIC: Recipe = Recipe {
    name: "kube-static",
    files: &[(
        "Dockerfile",
        include_str!("../../../images/kube-static/Dockerfile"),
    )],
};
/// `images/netbase/`: Debian with iptables, ipset, iproute2, conntrack (kube-proxy,
/// kube-router, local-path-helper).
pub const NETBASE: Recipe = Recipe {
    name: "netbase",
    files: &[(
        "Dockerfile",
        include_str!("../../../images/netbase/Dockerfile"),
    )],
};
/// `images/spark/`: a Spark distribution on Java 17, user 185.
pub const SPARK: Recipe = Recipe {
    name: "spark",
    files: &[
        (
            "Dockerfile",
            include_str!("../../../images/spark/Dockerfile"),
        ),
        (
            "entrypoint.sh",
            include_str!("../../../images/spark/entrypoint.sh"),
        ),
    ],
};

/// `images/chaos/`: the harness binary (fault proxy) with busybox for probes.
pub const CHAOS: Recipe = Recipe {
    name: "chaos",
    files: &[(
        "Dockerfile",
        include_str!("../../../images/chaos/Dockerfile"),
    )],
};

/// `images/hive-metastore/`: the standalone metastore the local platform runs (its resolved
/// jars, distribution and 3.1.3 patch) with an `hms schema|server` entrypoint.
pub const HIVE_METASTORE: Recipe = Recipe {
    name: "hive-metastore",
    files: &[
        (
            "Dockerfile",
            include_str!("../../../images/hive-metastore/Dockerfile"),
        ),
        (
            "hms.sh",
            include_str!("../../../images/hive-metastore/hms.sh"),
        ),
        (
            "log4j2.properties",
            include_str!("../../../images/hive-metastore/log4j2.properties"),
        ),
    ],
};

/// `images/minio/`: the MinIO binary the harness builds.
pub const MINIO: Recipe = Recipe {
    name: "minio",
    files: &[(
        "Dockerfile",
        include_str!("../../../images/minio/Dockerfile"),
    )],
};

/// `images/postgres/`: Debian's PostgreSQL, run as a non-root UID by the spark-base chart.
pub const POSTGRES: Recipe = Recipe {
    name: "postgres",
    files: &[(
        "Dockerfile",
        include_str!("../../../images/postgres/Dockerfile"),
    )],
};

/// A build to run: a recipe, the name and version to tag, build arguments, extra files.
#[derive(Debug, Clone)]
pub struct Build {
    /// The recipe.
    pub recipe: Recipe,
    /// The image name (tagged `chaos.local/<name>:<version>-<hash>` unless `tags` is set).
    pub name: String,
    /// The version part of the tag.
    pub version: String,
    /// `--build-arg`s.
    pub args: BTreeMap<String, String>,
    /// Extra files or directories copied (hard-linked where possible) into the context:
    /// source → path in the context.
    pub extra: Vec<(PathBuf, String)>,
    /// Text substituted for `{{KEY}}` in the recipe's files.
    pub vars: BTreeMap<String, String>,
    /// Fixed tags to add (e.g. the upstream names a node image expects).
    pub also_tag: Vec<String>,
}

impl Build {
    /// A build of `recipe` named `name` at `version`.
    pub fn new(recipe: Recipe, name: &str, version: &str) -> Build {
        Build {
            recipe,
            name: name.into(),
            version: version.into(),
            args: BTreeMap::new(),
            extra: vec![],
            vars: BTreeMap::new(),
            also_tag: vec![],
        }
    }

    /// Adds a build argument.
    pub fn arg(mut self, k: &str, v: &str) -> Build {
        self.args.insert(k.into(), v.into());
        self
    }

    /// Adds a file or directory to the context.
    pub fn file(mut self, src: impl Into<PathBuf>, dest: &str) -> Build {
        self.extra.push((src.into(), dest.into()));
        self
    }

    /// Sets a `{{KEY}}` substitution.
    pub fn var(mut self, k: &str, v: &str) -> Build {
        self.vars.insert(k.into(), v.into());
        self
    }

    /// Adds a fixed tag.
    pub fn tag(mut self, t: &str) -> Build {
        self.also_tag.push(t.into());
        self
    }

    fn files(&self) -> Vec<(String, String)> {
        self.recipe
            .files
            .iter()
            .map(|(p, text)| {
                let mut t = text.to_string();
                for (k, v) in &self.vars {
                    t = t.replace(&format!("{{{{{k}}}}}"), v);
                }
                (p.to_string(), t)
            })
            .collect()
    }

    /// The content hash the tag carries.
    pub fn hash(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.recipe.name.as_bytes());
        for (p, t) in self.files() {
            h.update(p.as_bytes());
            h.update(t.as_bytes());
        }
        for (k, v) in &self.args {
            h.update(format!("arg {k}={v}\n").as_bytes());
        }
        for (src, dest) in &self.extra {
            h.update(format!("file {dest}={}\n", identity(src)).as_bytes());
        }
        for t in &self.also_tag {
            h.update(format!("tag {t}\n").as_bytes());
        }
        hex::encode(h.finalize())[..12].to_string()
    }

    /// The image reference `chaos.local/<name>:<version>-<hash>`.
    pub fn reference(&self) -> String {
        format!("{REPO}/{}:{}-{}", self.name, self.version, self.hash())
    }
}

/// What identifies a file copied into a context: for a file its size and modification time;
/// for a directory its finished-install marker if it has one, else its listing's sizes.
fn identity(path: &Path) -> String {
    let meta = |p: &Path| {
        std::fs::metadata(p)
            .map(|m| {
                let mtime = m
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                format!("{}:{mtime}", m.len())
            })
            .unwrap_or_else(|_| "missing".into())
    };
    if path.is_dir() {
        for marker in [".chaos-installed", ".installed", "RELEASE"] {
            let m = path.join(marker);
            if m.is_file() {
                return format!(
                    "dir {} {}",
                    meta(&m),
                    std::fs::read_to_string(&m).unwrap_or_default().trim()
                );
            }
        }
        format!("dir {}", meta(path))
    } else {
        meta(path)
    }
}

/// Whether an image reference exists locally.
pub fn exists(reference: &str) -> bool {
    succeeds(docker().args(["image", "inspect", reference]))
}

/// Builds an image unless its tag exists; returns the reference.
pub fn ensure(cache: &Cache, b: &Build) -> Result<String, KubeError> {
    let reference = b.reference();
    if exists(&reference) && b.also_tag.iter().all(|t| exists(t)) {
        return Ok(reference);
    }
    let ctx = cache
        .root()
        .join("images")
        .join("contexts")
        .join(format!("{}-{}", b.name, b.hash()));
    let _ = std::fs::remove_dir_all(&ctx);
    std::fs::create_dir_all(&ctx)
        .map_err(|e| InstallError::io("create a build context", &ctx, e))?;
    for (p, text) in b.files() {
        let dest = ctx.join(&p);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| InstallError::io("create a build context", parent, e))?;
        }
        std::fs::write(&dest, text).map_err(|e| InstallError::io("write a recipe", &dest, e))?;
    }
    for (src, dest) in &b.extra {
        let d = ctx.join(dest);
        if let Some(parent) = d.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| InstallError::io("create a build context", parent, e))?;
        }
        // -L: the cache's Spark links extra jars in; the context needs the files themselves.
        // --link: hard links, so a 1 GB distribution costs nothing to stage.
        let linked = Command::new("cp")
            .args(["-rL", "--link"])
            .arg(src)
            .arg(&d)
            .status()
            .is_ok_and(|s| s.success());
        if !linked {
            let _ = std::fs::remove_dir_all(&d);
            steps::run(
                "copy into a build context",
                Command::new("cp").arg("-rL").arg(src).arg(&d),
            )?;
        }
    }
    let t = steps::begin(&format!("building image {reference}"));
    let mut cmd = Command::new("nice");
    // --force-rm: a failed step's container goes too (nothing left behind).
    cmd.args([
        "-n",
        "19",
        "docker",
        "build",
        "--force-rm",
        "--network",
        "host",
    ])
    .args(["--label", &format!("chaos.recipe={}", b.hash())])
    .args(["-t", &reference]);
    for tag in &b.also_tag {
        cmd.args(["-t", tag]);
    }
    for (k, v) in &b.args {
        cmd.args(["--build-arg", &format!("{k}={v}")]);
    }
    cmd.arg(&ctx);
    let result = steps::run(&format!("docker build {}", b.name), &mut cmd);
    let _ = std::fs::remove_dir_all(&ctx);
    result?;
    steps::done(&reference, t);
    Ok(reference)
}

/// The Debian mirror the machine's apt uses (the first `bookworm` source), else Debian's.
pub fn debian_mirror() -> String {
    let mut texts = vec![];
    if let Ok(dir) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut paths: Vec<PathBuf> = dir.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            if p.extension().is_some_and(|e| e == "sources" || e == "list") {
                texts.push(std::fs::read_to_string(&p).unwrap_or_default());
            }
        }
    }
    texts.push(std::fs::read_to_string("/etc/apt/sources.list").unwrap_or_default());
    texts
        .iter()
        .find_map(|t| mirror_in(t))
        .unwrap_or_else(|| "http://deb.debian.org/debian".into())
}

/// The URI serving `bookworm` itself (not `-security`) in a sources text (deb822 or one-line).
pub fn mirror_in(text: &str) -> Option<String> {
    // deb822 stanzas
    for stanza in text.split("\n\n") {
        let field = |name: &str| {
            stanza
                .lines()
                .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
        };
        if let (Some(uris), Some(suites)) = (field("URIs:"), field("Suites:")) {
            if suites.split_whitespace().any(|s| s == pins::DEBIAN_SUITE) {
                return uris.split_whitespace().next().map(str::to_string);
            }
        }
    }
    // one-line format
    text.lines().find_map(|l| {
        let mut w = l.split_whitespace();
        (w.next()? == "deb").then_some(())?;
        let mut uri = w.next()?;
        if uri.starts_with('[') {
            if !uri.ends_with(']') {
                w.find(|x| x.ends_with(']'))?;
            }
            uri = w.next()?;
        }
        (w.next()? == pins::DEBIAN_SUITE).then(|| uri.to_string())
    })
}

/// The base image every recipe starts from (`--build-arg BASE=`).
pub fn ensure_base(cache: &Cache, source: Source) -> Result<String, KubeError> {
    if source == Source::Official {
        return Ok(format!("debian:{}-slim", pins::DEBIAN_SUITE));
    }
    let reference = format!("{REPO}/debian:{}-minbase", pins::DEBIAN_SUITE);
    if exists(&reference) {
        return Ok(reference);
    }
    let dir = cache.root().join("images");
    let tar = dir.join(format!("debian-{}-minbase.tar", pins::DEBIAN_SUITE));
    if !tar.is_file() {
        if !steps::on_path("debootstrap") {
            crate::install::apt::install("debootstrap", &["debootstrap"])?;
        }
        let mirror = debian_mirror();
        let rootfs = dir.join("debian-rootfs.staging");
        let _ = std::fs::remove_dir_all(&rootfs);
        std::fs::create_dir_all(&dir)
            .map_err(|e| InstallError::io("create the images directory", &dir, e))?;
        let t = steps::begin(&format!(
            "making a Debian {} minbase root file system with debootstrap from {mirror} \
             (a few minutes)",
            pins::DEBIAN_SUITE
        ));
        steps::run(
            "debootstrap",
            Command::new("nice")
                .args(["-n", "19", "debootstrap", "--variant=minbase"])
                .arg(pins::DEBIAN_SUITE)
                .arg(&rootfs)
                .arg(&mirror),
        )?;
        // Keep the image small and apt usable: no cached .debs, lists fetched by each recipe.
        let _ = std::fs::remove_dir_all(rootfs.join("var/cache/apt/archives"));
        let _ = std::fs::create_dir_all(rootfs.join("var/cache/apt/archives/partial"));
        let partial = tar.with_extension("partial");
        steps::run(
            "pack the root file system",
            Command::new("tar")
                .arg("-C")
                .arg(&rootfs)
                .args(["--numeric-owner", "-cf"])
                .arg(&partial)
                .arg("."),
        )?;
        std::fs::rename(&partial, &tar)
            .map_err(|e| InstallError::io("move into the cache", &tar, e))?;
        let _ = std::fs::remove_dir_all(&rootfs);
        steps::done("debootstrap", t);
    }
    let t = steps::begin(&format!("importing {} as {reference}", tar.display()));
    steps::run(
        "docker import",
        docker()
            .arg("import")
            .args(["--change", "CMD [\"/bin/bash\"]"])
            .args(["--change", "ENV DEBIAN_FRONTEND=noninteractive"])
            .arg(&tar)
            .arg(&reference),
    )?;
    steps::done(&reference, t);
    Ok(reference)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_from_deb822_skips_security() {
        let text =
            "Types: deb\nURIs: http://sec.example/debian-security\nSuites: bookworm-security\n\n\
                    Types: deb\nURIs: http://m.example/debian\nSuites: bookworm bookworm-updates\n";
        assert_eq!(mirror_in(text).as_deref(), Some("http://m.example/debian"));
    }

    #[test]
    fn mirror_from_one_line_format() {
        let text = "deb [arch=amd64] http://m.example/debian bookworm main\n";
        assert_eq!(mirror_in(text).as_deref(), Some("http://m.example/debian"));
        assert_eq!(mirror_in("deb http://x/ trixie main"), None);
    }

    #[test]
    fn hash_changes_with_recipe_args_and_vars() {
        let a = Build::new(KUBE_STATIC, "etcd", "v1").var("BIN", "etcd");
        let b = Build::new(KUBE_STATIC, "etcd", "v1").var("BIN", "coredns");
        let c = a.clone().arg("BASE", "x");
        assert_ne!(a.hash(), b.hash());
        assert_ne!(a.hash(), c.hash());
        assert_eq!(a.hash(), a.clone().hash());
        assert!(a.reference().starts_with("chaos.local/etcd:v1-"));
    }
}
