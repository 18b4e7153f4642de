//! The plan of an environment: which components run, on which ports, with which command
//! lines, in which order, and how readiness is judged. Built once by `env up` (pure, apart
//! from asking which ports are free), saved as `plan.json`, executed by the supervisor.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::conf::SparkConfInput;
use super::hms::{self, HmsParams};
use super::ports::{self, PortMap};
use super::spec::ProcessSpec;
use crate::paths::{Cache, EnvHome};
use crate::versions::SparkLine;

pub use crate::platform::settings::{EnvSettings, Secrets};
pub use crate::platform::topology::Role;
use crate::platform::topology::{self as topo, LinkKind};

/// How the supervisor decides a component is ready.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Readiness {
    /// PostgreSQL accepts an authenticated connection and answers `SELECT 1`.
    Postgres {
        /// Its port.
        port: u16,
    },
    /// An HTTP GET answers 200 (and the body contains `contains`, if given).
    Http {
        /// The URL.
        url: String,
        /// Text the body must contain.
        contains: Option<String>,
    },
    /// A Hive Metastore answers `get_all_databases` over Thrift.
    Thrift {
        /// Its port.
        port: u16,
    },
    /// The master's JSON lists this worker as ALIVE.
    Worker {
        /// The master's web UI port.
        master_ui_port: u16,
        /// The worker's web UI port, which identifies it in the master's list.
        worker_ui_port: u16,
    },
    /// `SELECT 1` runs through Spark Connect.
    Connect {
        /// `sc://127.0.0.1:PORT`.
        url: String,
    },
}

/// One component of the plan.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ComponentPlan {
    /// Unique id, e.g. `connect-41-0`.
    pub id: String,
    /// Its role.
    pub role: Role,
    /// Its Spark line, if it belongs to one.
    pub line: Option<SparkLine>,
    /// Its own version.
    pub version: String,
    /// How clients reach it.
    pub endpoint: String,
    /// Every port it was given.
    pub ports: Vec<u16>,
    /// How to run it.
    pub spec: ProcessSpec,
    /// How readiness is judged.
    pub readiness: Readiness,
    /// Start order: every component of wave n is ready before wave n+1 starts.
    pub wave: u32,
    /// Whether the supervisor restarts it when it dies (like a Deployment).
    pub restart: bool,
}

/// The whole plan, saved as `plan.json`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Plan {
    /// The settings it was built from.
    pub settings: EnvSettings,
    /// The environment's home.
    pub home: PathBuf,
    /// The cache it runs from.
    pub cache: PathBuf,
    /// The Java 17 home every JVM uses.
    pub java_home: PathBuf,
    /// PostgreSQL's binaries.
    pub pg_bin: PathBuf,
    /// Every allocated port.
    pub ports: PortMap,
    /// Components in start order.
    pub components: Vec<ComponentPlan>,
    /// The fault-proxy links between them (started by the supervisor before wave 0).
    #[serde(default)]
    pub links: Vec<LinkPlan>,
}

impl Plan {
    /// The component with this id.
    pub fn component(&self, id: &str) -> Option<&ComponentPlan> {
        self.components.iter().find(|c| c.id == id)
    }

    /// The client-facing Connect endpoints of a line, one per replica: through the
    /// client → Connect link, so link faults reach clients.
    pub fn connect_urls(&self, line: SparkLine) -> Vec<String> {
        self.components
            .iter()
            .filter(|c| c.role == Role::Connect && c.line == Some(line))
            .map(|c| match self.link(&c.id) {
                Some(l) => format!("sc://127.0.0.1:{}", l.listen),
                None => c.endpoint.clone(),
            })
            .collect()
    }

    /// The link with this id.
    pub fn link(&self, id: &str) -> Option<&LinkPlan> {
        self.links.iter().find(|l| l.id == id)
    }

    /// The cut-over endpoints (`sc://127.0.0.1:PORT`), one per replica, in replica order; empty
    /// unless both lines run. See [`edge_link_ids`].
    pub fn edge_urls(&self) -> Vec<String> {
        self.links
            .iter()
            .filter(|l| l.is_edge())
            .map(|l| format!("sc://127.0.0.1:{}", l.listen))
            .collect()
    }

    /// Where a route target (`connect-41-0`) is reached: the listen port of the link of that id
    /// when there is one (so the link's faults apply behind the edge), else the component's
    /// first port.
    pub fn route_port(&self, target: &str) -> Option<u16> {
        match self.link(target) {
            Some(l) if !l.is_edge() => Some(l.listen),
            Some(_) => None,
            None => self.component(target).map(|c| c.ports[0]),
        }
    }

    /// MinIO's S3 endpoint, `http://127.0.0.1:PORT`.
    pub fn s3_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports.get("s3"))
    }

    /// The PostgreSQL database of a line's metastore.
    pub fn metastore_db(line: SparkLine) -> String {
        format!("hms{}", line.slug())
    }

    /// The last wave number.
    pub fn last_wave(&self) -> u32 {
        self.components.iter().map(|c| c.wave).max().unwrap_or(0)
    }
}

/// The names of the fixed driver ports of a line's Connect replica `r` (`spark.driver.port`,
/// `spark.driver.blockManager.port`): network partitions cut these.
pub fn driver_port_names(line: SparkLine, r: u32) -> [String; 2] {
    let v = line.slug();
    [format!("driver-{v}-{r}"), format!("driver-bm-{v}-{r}")]
}

/// The port names a set of settings needs, in allocation order.
pub fn port_names(s: &EnvSettings) -> Vec<String> {
    let mut names = vec!["postgres".to_string(), "s3".into(), "s3-console".into()];
    for line in &s.lines {
        let v = line.slug();
        names.push(topo::metastore(*line));
        names.push(topo::master(*line));
        names.push(format!("master-ui-{v}"));
        for w in 0..s.workers {
            names.push(topo::worker(*line, w));
            names.push(format!("worker-ui-{v}-{w}"));
        }
        for r in 0..s.replicas {
            names.push(topo::connect(*line, r));
            names.push(format!("connect-ui-{v}-{r}"));
        }
        names.push(topo::history(*line));
    }
    for link in link_ids(s) {
        names.push(format!("link-{link}"));
    }
    for &line in &s.lines {
        for r in 0..s.replicas {
            names.extend(driver_port_names(line, r));
        }
    }
    // Last, so that the ports above are the same with or without them.
    for edge in edge_link_ids(s) {
        names.push(format!("link-{edge}"));
    }
    names
}

/// The ids of the dependency links of an environment, in port-allocation order: per line, one
/// per Connect replica (client → Connect), then `s3-V` (Spark and its metastore → S3),
/// `history-s3-V` (History Server → S3), `metastore-V` (Spark → metastore) and `postgres-V`
/// (metastore → PostgreSQL).
pub fn link_ids(s: &EnvSettings) -> Vec<String> {
    topo::links(&s.lines, s.replicas)
}

pub use crate::platform::topology::EDGE_PREFIX;

/// The ids of the cut-over links of an environment that runs both lines: `edge-R`, one per
/// Connect replica. Each listens on its own port (`link-edge-R`) and forwards to one line's
/// `connect-V-R` link — the first line's when the environment starts; the supervisor switches
/// it from `faults/routes.json` (see `links.rs`). This is the client-facing endpoint of an
/// upgrade: a load balancer in front of both versions.
pub fn edge_link_ids(s: &EnvSettings) -> Vec<String> {
    topo::edges(&s.lines, s.replicas)
}

/// One dependency link: a fault proxy hosted by the supervisor, listening on `listen` and
/// forwarding to `upstream`. Every client of the dependency is configured with `listen`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LinkPlan {
    /// `connect-41-0`, `s3-35`, `history-s3-35`, `metastore-41`, `postgres-35`.
    pub id: String,
    /// Who talks to whom, for people: `Spark 3.5.7 (driver, executors, metastore) → S3`.
    pub description: String,
    /// The line whose traffic it carries.
    pub line: SparkLine,
    /// The component it forwards to.
    pub upstream_component: String,
    /// The loopback port it listens on.
    pub listen: u16,
    /// The loopback port it forwards to.
    pub upstream: u16,
    /// Whether it speaks HTTP (S3 links), so the S3 protocol faults apply.
    pub http: bool,
}

impl LinkPlan {
    /// Whether this is a cut-over link (`edge-R`), whose upstream is switched at run time.
    pub fn is_edge(&self) -> bool {
        topo::is_edge(&self.id)
    }
}

/// Inputs to [`build`] that come from the machine rather than the user.
#[derive(Debug, Clone)]
pub struct Machine {
    /// The cache.
    pub cache: Cache,
    /// The Java 17 home.
    pub java_home: PathBuf,
    /// PostgreSQL's bin directory.
    pub pg_bin: PathBuf,
    /// The user PostgreSQL runs as when the harness is root.
    pub pg_run_as: Option<String>,
}

/// Builds the plan. `ports` comes from [`allocate_ports`] (or a literal map in tests).
pub fn build(
    settings: &EnvSettings,
    home: &EnvHome,
    machine: &Machine,
    ports: PortMap,
    secrets: &Secrets,
) -> Plan {
    let mut components = Vec::new();
    let base_env = |extra: &[(&str, String)]| -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        env.insert(
            "JAVA_HOME".to_string(),
            machine.java_home.display().to_string(),
        );
        for (k, v) in extra {
            env.insert((*k).to_string(), v.clone());
        }
        env
    };
    let spec = |id: &str, program: PathBuf, args: Vec<String>, env: BTreeMap<String, String>| {
        ProcessSpec {
            program,
            args,
            env,
            cwd: home.work_dir(id),
            log: home.log_file(id),
            run_as: None,
        }
    };

    // Wave 0: PostgreSQL and MinIO.
    let pg = ports.get("postgres");
    let pg_data = home.data_dir("postgres");
    let mut pg_spec = spec(
        "postgres",
        machine.pg_bin.join("postgres"),
        vec![
            "-D".into(),
            pg_data.display().to_string(),
            "-p".into(),
            pg.to_string(),
            "-c".into(),
            "listen_addresses=127.0.0.1".into(),
            "-c".into(),
            "unix_socket_directories=".into(),
            "-c".into(),
            "max_connections=200".into(),
            "-c".into(),
            "shared_buffers=64MB".into(),
        ],
        BTreeMap::new(),
    );
    pg_spec.run_as = machine.pg_run_as.clone();
    components.push(ComponentPlan {
        id: "postgres".into(),
        role: Role::Postgres,
        line: None,
        version: "15".into(),
        endpoint: format!("postgresql://127.0.0.1:{pg}"),
        ports: vec![pg],
        spec: pg_spec,
        readiness: Readiness::Postgres { port: pg },
        wave: 0,
        restart: true,
    });
    let s3 = ports.get("s3");
    let s3_console = ports.get("s3-console");
    components.push(ComponentPlan {
        id: "s3".into(),
        role: Role::S3,
        line: None,
        version: crate::versions::MINIO_VERSION.into(),
        endpoint: format!("http://127.0.0.1:{s3}"),
        ports: vec![s3, s3_console],
        spec: spec(
            "s3",
            machine.cache.minio_bin(),
            vec![
                "server".into(),
                "--quiet".into(),
                "--address".into(),
                format!("127.0.0.1:{s3}"),
                "--console-address".into(),
                format!("127.0.0.1:{s3_console}"),
                home.data_dir("s3").display().to_string(),
            ],
            [
                ("MINIO_ROOT_USER".to_string(), secrets.s3_access_key.clone()),
                (
                    "MINIO_ROOT_PASSWORD".to_string(),
                    secrets.s3_secret_key.clone(),
                ),
                ("MINIO_BROWSER".to_string(), "off".to_string()),
                ("MINIO_UPDATE".to_string(), "off".to_string()),
            ]
            .into_iter()
            .collect(),
        ),
        readiness: Readiness::Http {
            url: format!("http://127.0.0.1:{s3}/minio/health/ready"),
            contains: None,
        },
        wave: 0,
        restart: true,
    });

    for &line in &settings.lines {
        let v = line.slug();
        let spark_home = machine.cache.spark_home(line);
        let conf_dir = home.conf_dir(&format!("spark-{v}"));
        let spark_env = |extra: &[(&str, String)]| {
            let mut e = base_env(&[
                ("SPARK_HOME", spark_home.display().to_string()),
                ("SPARK_CONF_DIR", conf_dir.display().to_string()),
                ("SPARK_LOCAL_IP", "127.0.0.1".to_string()),
                ("SPARK_DAEMON_MEMORY", settings.daemon_memory.clone()),
                ("SPARK_LOG_DIR", home.logs_dir().display().to_string()),
            ]);
            for (k, val) in extra {
                e.insert((*k).to_string(), val.clone());
            }
            e
        };
        let spark_class = spark_home.join("bin").join("spark-class");

        // Wave 1: the line's metastore.
        let ms_id = topo::metastore(line);
        let ms_port = ports.get(&ms_id);
        let params = hms_params(
            line,
            &ports,
            settings,
            home,
            &machine.cache,
            &machine.java_home,
            secrets,
        );
        components.push(ComponentPlan {
            id: ms_id,
            role: Role::Metastore,
            line: Some(line),
            version: line.hms().into(),
            endpoint: format!("thrift://127.0.0.1:{ms_port}"),
            ports: vec![ms_port],
            spec: hms::process_spec(&params),
            readiness: Readiness::Thrift { port: ms_port },
            wave: 1,
            restart: true,
        });

        // Wave 2: the standalone master.
        let master = ports.get(&format!("master-{v}"));
        let master_ui = ports.get(&format!("master-ui-{v}"));
        let master_id = topo::master(line);
        components.push(ComponentPlan {
            id: master_id.clone(),
            role: Role::Master,
            line: Some(line),
            version: line.version().into(),
            endpoint: format!("spark://127.0.0.1:{master}"),
            ports: vec![master, master_ui],
            spec: spec(
                &master_id,
                spark_class.clone(),
                vec![
                    "org.apache.spark.deploy.master.Master".into(),
                    "--host".into(),
                    "127.0.0.1".into(),
                    "--port".into(),
                    master.to_string(),
                    "--webui-port".into(),
                    master_ui.to_string(),
                ],
                spark_env(&[]),
            ),
            readiness: Readiness::Http {
                url: format!("http://127.0.0.1:{master_ui}/json/"),
                contains: Some("ALIVE".into()),
            },
            wave: 2,
            restart: true,
        });

        // Wave 3: workers, sized so that every Connect replica gets one executor on each.
        let exec_mem_mb = memory_mb(&settings.executor_memory);
        for w in 0..settings.workers {
            let port = ports.get(&format!("worker-{v}-{w}"));
            let ui = ports.get(&format!("worker-ui-{v}-{w}"));
            let id = topo::worker(line, w);
            components.push(ComponentPlan {
                id: id.clone(),
                role: Role::Worker,
                line: Some(line),
                version: line.version().into(),
                endpoint: format!("spark://127.0.0.1:{port}"),
                ports: vec![port, ui],
                spec: spec(
                    &id,
                    spark_class.clone(),
                    vec![
                        "org.apache.spark.deploy.worker.Worker".into(),
                        "--host".into(),
                        "127.0.0.1".into(),
                        "--port".into(),
                        port.to_string(),
                        "--webui-port".into(),
                        ui.to_string(),
                        "--cores".into(),
                        settings.replicas.to_string(),
                        "--memory".into(),
                        format!("{}m", exec_mem_mb * u64::from(settings.replicas) + 64),
                        "--work-dir".into(),
                        home.work_dir(&id).join("executors").display().to_string(),
                        format!("spark://127.0.0.1:{master}"),
                    ],
                    spark_env(&[]),
                ),
                readiness: Readiness::Worker {
                    master_ui_port: master_ui,
                    worker_ui_port: ui,
                },
                wave: 3,
                restart: true,
            });
        }

        // Wave 4: Connect servers and the History Server.
        for r in 0..settings.replicas {
            let port = ports.get(&format!("connect-{v}-{r}"));
            let ui = ports.get(&format!("connect-ui-{v}-{r}"));
            let id = topo::connect(line, r);
            components.push(ComponentPlan {
                id: id.clone(),
                role: Role::Connect,
                line: Some(line),
                version: line.version().into(),
                endpoint: format!("sc://127.0.0.1:{port}"),
                ports: vec![port, ui],
                spec: spec(
                    &id,
                    spark_home.join("bin").join("spark-submit"),
                    vec![
                        "--class".into(),
                        "org.apache.spark.sql.connect.service.SparkConnectServer".into(),
                        "--name".into(),
                        format!("chaos-{id}"),
                        "--conf".into(),
                        format!("spark.connect.grpc.binding.port={port}"),
                        "--conf".into(),
                        format!("spark.ui.port={ui}"),
                        "--conf".into(),
                        format!(
                            "spark.driver.port={}",
                            ports.get(&format!("driver-{v}-{r}"))
                        ),
                        "--conf".into(),
                        format!(
                            "spark.driver.blockManager.port={}",
                            ports.get(&format!("driver-bm-{v}-{r}"))
                        ),
                    ],
                    spark_env(&[]),
                ),
                readiness: Readiness::Connect {
                    url: format!("sc://127.0.0.1:{port}"),
                },
                wave: 4,
                restart: true,
            });
        }
        let history = ports.get(&format!("history-{v}"));
        let id = topo::history(line);
        components.push(ComponentPlan {
            id: id.clone(),
            role: Role::History,
            line: Some(line),
            version: line.version().into(),
            endpoint: format!("http://127.0.0.1:{history}"),
            ports: vec![history],
            spec: spec(
                &id,
                spark_class.clone(),
                vec!["org.apache.spark.deploy.history.HistoryServer".into()],
                // System properties win over spark-defaults.conf: the History Server reaches
                // S3 through its own link.
                spark_env(&[(
                    "SPARK_HISTORY_OPTS",
                    format!(
                        "-Dspark.hadoop.fs.s3a.endpoint=http://127.0.0.1:{}",
                        ports.get(&format!("link-history-s3-{v}"))
                    ),
                )]),
            ),
            readiness: Readiness::Http {
                url: format!("http://127.0.0.1:{history}/api/v1/applications"),
                contains: None,
            },
            wave: 4,
            restart: true,
        });
    }

    let links = build_links(settings, &ports, &components);
    Plan {
        settings: settings.clone(),
        home: home.root().to_path_buf(),
        cache: machine.cache.root().to_path_buf(),
        java_home: machine.java_home.clone(),
        pg_bin: machine.pg_bin.clone(),
        ports,
        components,
        links,
    }
}

/// The links of [`link_ids`], each pointed at its upstream component's first port.
fn build_links(
    settings: &EnvSettings,
    ports: &PortMap,
    components: &[ComponentPlan],
) -> Vec<LinkPlan> {
    let upstream_port = |id: &str| {
        components
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.ports[0])
            .unwrap_or_else(|| panic!("link to unplanned component `{id}`"))
    };
    let mut links = Vec::new();
    for &line in &settings.lines {
        let v = line.slug();
        let ver = line.version();
        let mut push = |id: String, upstream: String, description: String, http: bool| {
            links.push(LinkPlan {
                listen: ports.get(&format!("link-{id}")),
                upstream: upstream_port(&upstream),
                id,
                description,
                line,
                upstream_component: upstream,
                http,
            });
        };
        for r in 0..settings.replicas {
            let c = topo::connect(line, r);
            push(
                c.clone(),
                c.clone(),
                format!("clients → {c} (Spark Connect {ver})"),
                false,
            );
        }
        push(
            topo::link(line, LinkKind::S3),
            "s3".into(),
            format!("Spark {ver} (driver, executors) and metastore-{v} → S3"),
            true,
        );
        push(
            topo::link(line, LinkKind::HistoryS3),
            "s3".into(),
            format!("history-{v} → S3 (event logs)"),
            true,
        );
        push(
            topo::link(line, LinkKind::Metastore),
            topo::metastore(line),
            format!("Spark {ver} → metastore-{v}"),
            false,
        );
        push(
            topo::link(line, LinkKind::Postgres),
            "postgres".into(),
            format!("metastore-{v} → PostgreSQL"),
            false,
        );
    }
    let edges = edge_links(settings, ports, &links);
    links.extend(edges);
    links
}

/// The cut-over links of [`edge_link_ids`], each forwarding to the first line's client link of
/// its replica.
fn edge_links(settings: &EnvSettings, ports: &PortMap, links: &[LinkPlan]) -> Vec<LinkPlan> {
    let Some(&line) = settings.lines.first() else {
        return vec![];
    };
    edge_link_ids(settings)
        .into_iter()
        .enumerate()
        .map(|(r, id)| {
            let connect = topo::connect(line, r as u32);
            let upstream = links
                .iter()
                .find(|l| l.id == connect)
                .map(|l| l.listen)
                .unwrap_or_else(|| panic!("edge link to unplanned link `{connect}`"));
            LinkPlan {
                listen: ports.get(&format!("link-{id}")),
                description: format!(
                    "clients → {id} (cut-over endpoint: Spark Connect replica {r} of either version)"
                ),
                id,
                line,
                upstream_component: connect,
                upstream,
                http: false,
            }
        })
        .collect()
}

/// The metastore parameters of a line: its PostgreSQL and S3 go through the line's links.
pub fn hms_params(
    line: SparkLine,
    ports: &PortMap,
    settings: &EnvSettings,
    home: &EnvHome,
    cache: &Cache,
    java_home: &Path,
    secrets: &Secrets,
) -> HmsParams {
    let v = line.slug();
    let id = topo::metastore(line);
    HmsParams {
        line,
        thrift_port: ports.get(&id),
        pg_port: ports.get(&format!("link-postgres-{v}")),
        pg_db: Plan::metastore_db(line),
        pg_user: secrets.pg_user.clone(),
        pg_password: secrets.pg_password.clone(),
        s3_endpoint: format!("http://127.0.0.1:{}", ports.get(&format!("link-s3-{v}"))),
        s3_access_key: secrets.s3_access_key.clone(),
        s3_secret_key: secrets.s3_secret_key.clone(),
        bucket: settings.bucket.clone(),
        java_home: java_home.to_path_buf(),
        conf_dir: home.conf_dir(&id),
        jars_dir: cache.maven_dir(&hms::maven_name(line)).join("jars"),
        log: home.log_file(&id),
        work_dir: home.work_dir(&id),
    }
}

/// The Spark configuration input of one line of a plan.
pub fn spark_conf_input(
    plan: &Plan,
    line: SparkLine,
    secrets: &Secrets,
    overrides: Vec<(String, String)>,
) -> SparkConfInput {
    let v = line.slug();
    SparkConfInput {
        line,
        master_port: plan.ports.get(&format!("master-{v}")),
        metastore_port: plan.ports.get(&format!("link-metastore-{v}")),
        s3_port: plan.ports.get(&format!("link-s3-{v}")),
        bucket: plan.settings.bucket.clone(),
        s3_access_key: secrets.s3_access_key.clone(),
        s3_secret_key: secrets.s3_secret_key.clone(),
        executor_memory: plan.settings.executor_memory.clone(),
        executor_cores: 1,
        executors: plan.settings.workers,
        driver_memory: plan.settings.driver_memory.clone(),
        dynamic_allocation: plan.settings.dynamic_allocation,
        history_port: plan.ports.get(&format!("history-{v}")),
        overrides,
    }
}

/// Allocates every port the settings need on this machine's loopback.
pub fn allocate_ports(settings: &EnvSettings) -> Result<PortMap, ports::PortError> {
    let names = port_names(settings);
    ports::allocate(
        names.iter().map(String::as_str),
        settings.base_port,
        ports::is_free_on_loopback,
    )
}

/// Parses a JVM memory size (`512m`, `1g`, `1536M`) into mebibytes; unknown forms count as 1024.
pub fn memory_mb(s: &str) -> u64 {
    let s = s.trim().to_ascii_lowercase();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num.parse().unwrap_or(1024);
    match unit {
        "g" | "gb" => n * 1024,
        "m" | "mb" | "" => n,
        "k" | "kb" => n / 1024,
        _ => 1024,
    }
}

/// The path of a plan file in a home.
pub fn plan_file(home: &Path) -> PathBuf {
    home.join("plan.json")
}

/// The path of the secrets file in a home.
pub fn secrets_file(home: &Path) -> PathBuf {
    home.join("secrets.json")
}

#[cfg(test)]
mod tests;
