//! Tests of the plan (pure).
use super::*;

fn plan(settings: &EnvSettings) -> Plan {
    let names = port_names(settings);
    let ports = ports::allocate(names.iter().map(String::as_str), 20000, |_| true).unwrap();
    let machine = Machine {
        cache: Cache::at("/cache"),
        java_home: "/jdk".into(),
        pg_bin: "/pg/bin".into(),
        pg_run_as: Some("postgres".into()),
    };
    let secrets = Secrets {
        s3_access_key: "ak".into(),
        s3_secret_key: "sk".into(),
        pg_user: "chaos".into(),
        pg_password: "pw".into(),
    };
    build(
        settings,
        &EnvHome::at("/home/env"),
        &machine,
        ports,
        &secrets,
    )
}

#[test]
fn default_plan_has_every_component_once_with_distinct_ports() {
    let p = plan(&EnvSettings::default());
    let ids: Vec<&str> = p.components.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "postgres",
            "s3",
            "metastore-35",
            "master-35",
            "worker-35-0",
            "worker-35-1",
            "connect-35-0",
            "history-35",
            "metastore-41",
            "master-41",
            "worker-41-0",
            "worker-41-1",
            "connect-41-0",
            "history-41"
        ]
    );
    // Every allocated port is a component's, a link's or a fixed driver port, once.
    let mut all: Vec<u16> = p.components.iter().flat_map(|c| c.ports.clone()).collect();
    all.extend(p.links.iter().map(|l| l.listen));
    all.extend(
        p.ports
            .0
            .iter()
            .filter(|(name, _)| name.starts_with("driver-"))
            .map(|(_, port)| *port),
    );
    let n = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), n, "ports must be distinct");
    assert_eq!(
        p.ports.0.len(),
        n,
        "every allocated port belongs to a component, a link or a driver"
    );
}

#[test]
fn waves_order_dependencies() {
    let p = plan(&EnvSettings::default());
    let wave = |id: &str| p.component(id).unwrap().wave;
    assert!(wave("postgres") < wave("metastore-35"));
    assert!(wave("s3") < wave("metastore-41"));
    assert!(wave("metastore-35") < wave("master-35"));
    assert!(wave("master-35") < wave("worker-35-0"));
    assert!(wave("worker-35-1") < wave("connect-35-0"));
}

#[test]
fn replicas_scale_connect_servers_and_worker_capacity() {
    let s = EnvSettings {
        replicas: 3,
        lines: vec![SparkLine::V4_1],
        ..EnvSettings::default()
    };
    let p = plan(&s);
    assert_eq!(p.connect_urls(SparkLine::V4_1).len(), 3);
    assert!(p.connect_urls(SparkLine::V3_5).is_empty());
    let worker = p.component("worker-41-0").unwrap();
    let cores = worker
        .spec
        .args
        .iter()
        .position(|a| a == "--cores")
        .unwrap();
    assert_eq!(worker.spec.args[cores + 1], "3");
    let mem = worker
        .spec
        .args
        .iter()
        .position(|a| a == "--memory")
        .unwrap();
    assert_eq!(worker.spec.args[mem + 1], "3136m");
}

#[test]
fn postgres_runs_as_its_own_user_on_loopback_only() {
    let p = plan(&EnvSettings::default());
    let pg = p.component("postgres").unwrap();
    assert_eq!(pg.spec.run_as.as_deref(), Some("postgres"));
    assert!(pg
        .spec
        .args
        .contains(&"listen_addresses=127.0.0.1".to_string()));
    let s3 = p.component("s3").unwrap();
    assert!(s3.spec.args.iter().any(|a| a.starts_with("127.0.0.1:")));
}

#[test]
fn both_lines_get_one_edge_per_replica_in_front_of_the_first_lines_client_links() {
    let s = EnvSettings {
        replicas: 2,
        ..EnvSettings::default()
    };
    let p = plan(&s);
    let edges: Vec<&LinkPlan> = p.links.iter().filter(|l| l.is_edge()).collect();
    assert_eq!(
        edges.iter().map(|l| l.id.as_str()).collect::<Vec<_>>(),
        ["edge-0", "edge-1"]
    );
    for (r, e) in edges.iter().enumerate() {
        let client_link = p.link(&format!("connect-35-{r}")).unwrap();
        assert_eq!(e.upstream, client_link.listen);
        assert_eq!(e.upstream_component, client_link.id);
        assert_eq!(e.listen, p.ports.get(&format!("link-edge-{r}")));
    }
    assert_eq!(p.edge_urls().len(), 2);
    assert_eq!(
        p.route_port("connect-41-1"),
        Some(p.link("connect-41-1").unwrap().listen)
    );
    assert_eq!(p.route_port("edge-0"), None);
    assert_eq!(p.route_port("nothing"), None);
    let mut listens: Vec<u16> = p.links.iter().map(|l| l.listen).collect();
    let n = listens.len();
    listens.sort_unstable();
    listens.dedup();
    assert_eq!(listens.len(), n, "link ports must be distinct");
}

#[test]
fn one_line_has_no_edge_and_edges_do_not_move_other_ports() {
    let one = EnvSettings {
        lines: vec![SparkLine::V4_1],
        ..EnvSettings::default()
    };
    assert!(plan(&one).edge_urls().is_empty());
    let names = port_names(&EnvSettings::default());
    let first_edge = names
        .iter()
        .position(|n| n.starts_with("link-edge-"))
        .unwrap();
    assert!(names[first_edge..]
        .iter()
        .all(|n| n.starts_with("link-edge-")));
}

#[test]
fn memory_sizes_parse() {
    assert_eq!(memory_mb("1g"), 1024);
    assert_eq!(memory_mb("1536m"), 1536);
    assert_eq!(memory_mb("512M"), 512);
    assert_eq!(memory_mb("weird"), 1024);
}
