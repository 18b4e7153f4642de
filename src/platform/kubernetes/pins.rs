//! Every version the Kubernetes platform pins, in one place.
//!
//! The host has cgroup v1 only: Kubernetes 1.34 is the last line whose kubelet runs there by
//! default, so the node image is built from 1.34.x.

/// Kubernetes (kubeadm, kubelet, kubectl, control plane, kube-proxy), built from the Go module
/// proxy through a wrapper module (`k8s.io/kubernetes` has `replace` directives).
pub const KUBERNETES: &str = "v1.34.4";
/// The staging modules' version matching [`KUBERNETES`].
pub const KUBERNETES_STAGING: &str = "v0.34.4";
/// etcd as kubeadm 1.34 names it (`registry.k8s.io/etcd:3.6.5-0`).
pub const ETCD: &str = "v3.6.5";
/// CoreDNS as kubeadm 1.34 names it.
pub const COREDNS: &str = "v1.12.1";
/// The pause image tag kubeadm 1.34 expects (kind's containerd config names 3.10, tagged too).
pub const PAUSE: &str = "3.10.1";
/// kind, built with `go install`.
pub const KIND: &str = "v0.33.0";
/// Helm, built with `go install`.
pub const HELM: &str = "v3.21.4";
/// crictl for the node image.
pub const CRICTL: &str = "v1.34.0";
/// The CNI with NetworkPolicy enforcement: kube-router (bridge + BGP routes between nodes,
/// policies as iptables/ipset rules). kindnetd is not served by the Go module proxy and
/// kube-network-policies needs the kernel's nft `queue` (CONFIG_NFT_QUEUE), absent here;
/// v2.1.0 is the newest kube-router the proxy serves.
pub const KUBE_ROUTER: &str = "v2.1.0";
/// Local storage: rancher's local-path-provisioner (what kind's default storage class runs).
pub const LOCAL_PATH: &str = "v0.0.30";
/// The official kind node image for [`KUBERNETES`]'s line, used where a registry is reachable.
pub const OFFICIAL_NODE_IMAGE: &str = "kindest/node:v1.34.0";
/// The Debian suite of every base image built here.
pub const DEBIAN_SUITE: &str = "bookworm";
