//! The cut-over edges on Kubernetes (blue/green upgrades): spark-base's `spark-base-edge-R`
//! Services, one per Connect replica when both lines run, each selecting the Connect pods of
//! one release. A route moves a Service's selector to the other release, waits until its
//! EndpointSlices name only the new pods and, on a kind cluster, until kube-proxy's rules on
//! every node forward to them; then it resets the connections open through the edge (their
//! conntrack entries deleted on every node, and the clients' sockets to the edge node ports
//! on this machine closed with `ss -K`), as a load balancer does at a cut-over. On other
//! clusters open connections keep their old backend until they close.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{json, Value};

use super::kube::{poll, Kube};
use super::pods::{self, ports, BASE_RELEASE, COMPONENT, INSTANCE};
use super::KubeError;
use crate::platform::endpoints::Edge;
use crate::platform::topology;
use crate::platform::EnvSettings;
use crate::versions::SparkLine;

/// The Connect servers' gRPC port (the charts' `connect.port`).
pub const CONNECT_PORT: u16 = 15002;

/// The Service of edge `r`.
pub fn service(r: usize) -> String {
    format!("{BASE_RELEASE}-edge-{r}")
}

/// How many edges an environment has (one per Connect replica, at most one per published
/// node port; none unless both lines run). Pure.
pub fn count(s: &EnvSettings) -> usize {
    topology::edges(&s.lines, s.replicas)
        .len()
        .min(ports::EDGES.len())
}

/// The line clients start on (the edges' planned route): the oldest. Pure.
fn planned_line(s: &EnvSettings) -> Option<SparkLine> {
    s.lines.iter().copied().min()
}

/// spark-base's `edges` values. Pure.
pub fn values(s: &EnvSettings) -> Value {
    let n = count(s);
    json!({
        "enabled": n > 0,
        "count": n.max(1),
        "release": planned_line(s).map(pods::release).unwrap_or_default(),
        "port": CONNECT_PORT,
        "nodePorts": ports::EDGES,
    })
}

/// The edges as the runner sees them. Pure.
pub fn endpoints(s: &EnvSettings) -> Vec<Edge> {
    let Some(line) = planned_line(s) else {
        return vec![];
    };
    (0..count(s))
        .map(|r| Edge {
            id: topology::edge(r as u32),
            url: format!("sc://127.0.0.1:{}", ports::EDGES[r]),
            planned: topology::connect(line, r as u32),
        })
        .collect()
}

/// Edge index and target line of one route (`edge-1` → `connect-41-1`). Pure.
pub fn parse_route(edge: &str, target: &str) -> Result<(usize, SparkLine), String> {
    let r = edge
        .strip_prefix(topology::EDGE_PREFIX)
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|r| *r < ports::EDGES.len())
        .ok_or_else(|| format!("`{edge}` is not an edge of this platform"))?;
    let line = SparkLine::ALL
        .into_iter()
        .find(|l| target.starts_with(&format!("connect-{}-", l.slug())))
        .ok_or_else(|| format!("`{target}` is not a Connect server"))?;
    Ok((r, line))
}

/// The selector patch that points an edge at `line`'s Connect pods. Pure.
pub fn selector_patch(line: SparkLine) -> Value {
    json!({"spec": {"selector": {INSTANCE: pods::release(line), COMPONENT: "connect"}}})
}

/// The addresses an EndpointSlice list names, and how many of them are ready. Pure.
pub fn slice_addresses(list: &Value) -> (BTreeSet<String>, usize) {
    let mut all = BTreeSet::new();
    let mut ready = 0;
    for slice in list["items"].as_array().into_iter().flatten() {
        for ep in slice["endpoints"].as_array().into_iter().flatten() {
            let is_ready = ep["conditions"]["ready"].as_bool().unwrap_or(true);
            for a in ep["addresses"].as_array().into_iter().flatten() {
                if let Some(a) = a.as_str() {
                    all.insert(a.to_string());
                    if is_ready {
                        ready += 1;
                    }
                }
            }
        }
    }
    (all, ready)
}

/// Whether an edge's endpoints (`addrs`, `ready` of them) show it routed to pods with `ips`:
/// none but theirs, and a ready one when any of those pods is ready. Pure.
pub fn routed(
    addrs: &BTreeSet<String>,
    ready: usize,
    ips: &BTreeSet<String>,
    any_ready: bool,
) -> bool {
    addrs.is_subset(ips) && (ready > 0 || !any_ready)
}

/// The DNAT destinations kube-proxy (iptables mode) has for a Service port, from
/// `iptables-save -t nat` on a node. Pure.
pub fn nat_destinations(iptables: &str, namespace: &str, service: &str) -> BTreeSet<String> {
    let tag = format!("{namespace}/{service}:grpc");
    iptables
        .lines()
        .filter(|l| l.contains(&tag) && l.contains("--to-destination"))
        .filter_map(|l| {
            l.split("--to-destination ")
                .nth(1)?
                .split_whitespace()
                .next()
                .and_then(|d| d.rsplit_once(':'))
                .map(|(ip, _)| ip.to_string())
        })
        .collect()
}

/// Routes the edges (`edge-R` → `connect-V-R`) and returns once clients opening a connection
/// reach the new pods and connections open through the old ones are reset (kind).
pub fn route(
    k: &Kube,
    kind_cluster: Option<&str>,
    routes: &BTreeMap<String, String>,
    timeout: Duration,
) -> Result<(), KubeError> {
    let bad = |m: String| KubeError::Invalid(m);
    let mut moves = Vec::new();
    for (edge, target) in routes {
        let (r, line) = parse_route(edge, target).map_err(bad)?;
        let svc = service(r);
        let patch = selector_patch(line).to_string();
        k.run(
            &format!("route {edge} to Spark {}", line.version()),
            &["patch", "service", &svc, "--type", "merge", "-p", &patch],
        )?;
        moves.push((r, svc, line));
    }
    for (_, svc, line) in &moves {
        let sel = format!("{INSTANCE}={},{COMPONENT}=connect", pods::release(*line));
        let want = poll(
            &format!(
                "{svc}'s endpoints to be Spark {}'s Connect pods",
                line.version()
            ),
            timeout,
            Duration::from_millis(250),
            |last| {
                let pods = pods::parse_pods(&k.json("list pods", &["get", "pods", "-l", &sel])?);
                let ips: BTreeSet<String> = pods
                    .iter()
                    .filter(|p| p.live())
                    .filter_map(|p| p.ip.clone())
                    .collect();
                // An in-place switch routes before it releases the new side: with no ready
                // pod there, the edge is routed once it names none of the old ones (new
                // connections are refused until the new side is ready, as on local).
                let any_ready = pods.iter().any(|p| p.live() && p.ready);
                let slices = k.json(
                    "list EndpointSlices",
                    &[
                        "get",
                        "endpointslices",
                        "-l",
                        &format!("kubernetes.io/service-name={svc}"),
                    ],
                )?;
                let (addrs, ready) = slice_addresses(&slices);
                *last = format!("endpoints {addrs:?} ({ready} ready), pods {ips:?}");
                Ok(routed(&addrs, ready, &ips, any_ready).then_some(addrs))
            },
        )?;
        if let Some(cluster) = kind_cluster {
            let nodes = super::cluster::node_containers(cluster)?;
            poll(
                &format!("kube-proxy on every node to forward {svc} to {want:?}"),
                timeout,
                Duration::from_millis(250),
                |last| {
                    for n in &nodes {
                        let rules = super::docker::capture(
                            "read kube-proxy's rules",
                            super::docker::docker().args(["exec", n, "iptables-save", "-t", "nat"]),
                        )?;
                        let have = nat_destinations(&rules, &k.namespace, svc);
                        if have != want {
                            *last = format!("{n} forwards to {have:?}");
                            return Ok(None);
                        }
                    }
                    Ok(Some(()))
                },
            )?;
        }
    }
    if let Some(cluster) = kind_cluster {
        let mut script = String::new();
        for (r, _, _) in &moves {
            script.push_str(&format!(
                "conntrack -D -p tcp --orig-port-dst {} >/dev/null 2>&1; ",
                ports::EDGES[*r]
            ));
        }
        script.push_str("true");
        for n in super::cluster::node_containers(cluster)? {
            super::docker::capture(
                &format!("reset the connections through the edges on {n}"),
                super::docker::docker().args(["exec", &n, "sh", "-c", &script]),
            )?;
        }
        // A connection waiting for an answer sends nothing, so the flush alone does not reach
        // its client: the old pod's answer no longer matches anything and the client waits
        // until its own deadline. The clients of a kind cluster's node ports are on this
        // machine (127.0.0.1, through docker-proxy), so their sockets are closed here as the
        // load balancer would (`ss -K`, needs CAP_NET_ADMIN; a failure is reported).
        let filter = format!(
            "( {} )",
            moves
                .iter()
                .map(|(r, _, _)| format!("dport = :{}", ports::EDGES[*r]))
                .collect::<Vec<_>>()
                .join(" or ")
        );
        let out = std::process::Command::new("ss")
            .args(["-K", "-t", "state", "established", &filter])
            .stdin(std::process::Stdio::null())
            .output();
        match out {
            Ok(o) if o.status.success() => {}
            Ok(o) => eprintln!(
                "warning: could not reset the clients' connections to the edges (ss -K): {}",
                String::from_utf8_lossy(&o.stderr).trim()
            ),
            Err(e) => eprintln!(
                "warning: could not reset the clients' connections to the edges (ss -K): {e}"
            ),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_exist_when_both_lines_run_one_per_replica_up_to_the_published_ports() {
        let mut s = EnvSettings {
            lines: vec![SparkLine::V3_5, SparkLine::V4_1],
            replicas: 2,
            ..EnvSettings::default()
        };
        let e = endpoints(&s);
        assert_eq!(e.len(), 2);
        assert_eq!(e[1].id, "edge-1");
        assert_eq!(e[1].url, "sc://127.0.0.1:30501");
        assert_eq!(e[1].planned, "connect-35-1");
        let v = values(&s);
        assert_eq!(v["enabled"], true);
        assert_eq!(v["count"], 2);
        assert_eq!(v["release"], "spark-35");
        s.replicas = 5;
        assert_eq!(count(&s), 3);
        s.lines = vec![SparkLine::V4_1];
        assert!(endpoints(&s).is_empty());
        assert_eq!(values(&s)["enabled"], false);
    }

    #[test]
    fn routes_name_an_edge_and_a_connect_server() {
        assert_eq!(
            parse_route("edge-1", "connect-41-1"),
            Ok((1, SparkLine::V4_1))
        );
        assert!(parse_route("edge-7", "connect-41-1").is_err());
        assert!(parse_route("edge-0", "metastore-41").is_err());
        assert_eq!(
            selector_patch(SparkLine::V4_1)["spec"]["selector"][INSTANCE],
            "spark-41"
        );
    }

    #[test]
    fn an_edge_is_routed_when_it_names_only_the_new_pods() {
        let set = |v: &[&str]| {
            v.iter()
                .map(|s| s.to_string())
                .collect::<BTreeSet<String>>()
        };
        let new = set(&["10.0.0.2"]);
        assert!(routed(&set(&["10.0.0.2"]), 1, &new, true));
        // Still the old pod: not yet.
        assert!(!routed(&set(&["10.0.0.1"]), 1, &new, true));
        // The new pod is ready but not listed yet: not yet.
        assert!(!routed(&set(&[]), 0, &new, true));
        // In place: the new side is held down, the old one gone from the endpoints: routed.
        assert!(routed(&set(&[]), 0, &set(&[]), false));
    }

    #[test]
    fn endpoints_and_kube_proxy_rules_are_read() {
        let slices = json!({"items": [{"endpoints": [
            {"addresses": ["10.244.1.5"], "conditions": {"ready": true}},
            {"addresses": ["10.244.2.9"], "conditions": {"ready": false}}
        ]}]});
        let (all, ready) = slice_addresses(&slices);
        assert_eq!(all.len(), 2);
        assert_eq!(ready, 1);
        let rules = "-A KUBE-SEP-ABC -p tcp -m comment --comment \"spark-chaos/spark-base-edge-0:grpc\" -m tcp -j DNAT --to-destination 10.244.1.5:15002\n\
                     -A KUBE-SEP-DEF -p tcp -m comment --comment \"spark-chaos/spark-base-edge-1:grpc\" -m tcp -j DNAT --to-destination 10.244.2.9:15002\n";
        assert_eq!(
            nat_destinations(rules, "spark-chaos", "spark-base-edge-0"),
            BTreeSet::from(["10.244.1.5".to_string()])
        );
    }
}
