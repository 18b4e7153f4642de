//! The `kubernetes` platform's ground floor: a kind cluster on this machine.
//!
//! - [`docker`]: a Docker engine (installed from Debian and started when missing, as root),
//!   with a runc wrapper where root's capability bounding set lacks CAP_SYS_RESOURCE.
//! - [`gobuild`]: Go binaries from the Go module proxy (kind, helm, crictl, Kubernetes,
//!   etcd, CoreDNS, kube-router, local-path-provisioner), cached.
//! - [`images`]: image recipes (`images/` in the repository, embedded in the binary) and how
//!   they are built: from a `debootstrap` base here, from public base images where a registry
//!   is reachable; one code path, cached by content hash.
//! - [`nodeimage`]: the kind node image (Kubernetes built from source, the control-plane
//!   images, pause, CNI, local storage), when the official one cannot be pulled.
//! - [`cluster`]: `cluster up / down / status`.
//! - [`guard`]: the blast-radius guard (faults only in namespaces the harness made, in its
//!   context, or ones allowed explicitly) and the namespace it makes.
//! - [`apiserver`]: etcd + kube-apiserver on 127.0.0.1 without nodes (the API-level test tier).
//! - [`platform`]: the [`Platform`](crate::platform::Platform): the charts ([`charts`], embedded)
//!   installed with helm into the harness's namespace, pods read from the API ([`pods`]), the
//!   state in the home ([`state`]), kubectl and helm bound to one cluster ([`kube`]).
//! - [`faults`]: the fault driver (pod deletes, scale-downs, NetworkPolicies, conntrack).
//!
//! Everything is cached under the cache directory; an image's tag carries the hash of its
//! recipe, so a tag that exists is a finished build (Docker tags only after success).
pub mod apiserver;
pub mod charts;
pub mod cluster;
pub mod docker;
pub mod edges;
pub mod faults;
pub mod gobuild;
pub mod guard;
pub mod images;
pub mod kube;
pub mod nodeimage;
pub mod pins;
pub mod platform;
pub mod pods;
pub mod proxy;
pub mod state;

use crate::install::InstallError;

/// Errors of the Kubernetes platform.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// Installing or building something failed.
    #[error(transparent)]
    Install(#[from] InstallError),
    /// The Docker engine is missing or unusable.
    #[error("use the Docker engine: {0}")]
    Docker(String),
    /// A command's output could not be understood.
    #[error("{what}: unexpected output `{output}`")]
    Output {
        /// The step.
        what: String,
        /// What it printed.
        output: String,
    },
    /// Something did not happen in time.
    #[error("{what}: not done after {secs}s{detail}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long.
        secs: u64,
        /// The last thing seen.
        detail: String,
    },
    /// The cluster is not there (for commands that need it).
    #[error("no kind cluster `{0}`: run `chaos cluster up`")]
    NoCluster(String),
    /// `cluster down` found things left behind.
    #[error("left behind after deleting the cluster: {0}")]
    LeftBehind(String),
    /// A setting is wrong.
    #[error("{0}")]
    Invalid(String),
}
