//! The identity vocabulary every platform shares (pure): the roles of an environment's parts
//! and the ids of its components, links and cut-over edges, built in one place.
//!
//! A component id names one running part (`connect-41-0`: Spark 4.1's Connect replica 0); a
//! link id names one dependency link carrying faults (`s3-35`: Spark 3.5's traffic to S3); an
//! edge id names one client-facing cut-over endpoint (`edge-0`). Fault targets
//! (`connect@4.1.0#1`), plans, state files, ledgers and reports all use these.

use std::fmt;

use crate::versions::SparkLine;

/// What a part of an environment is. Components (processes, pods) have the first seven roles;
/// fault targets may also name an executor, a History Server's S3 link or a version's Spark
/// network.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// The PostgreSQL server behind both metastores.
    Postgres,
    /// MinIO, the S3 server.
    S3,
    /// A Hive Metastore.
    Metastore,
    /// A Spark standalone master.
    Master,
    /// A Spark standalone worker (its executors are child JVMs, like containers of a pod).
    Worker,
    /// A Spark Connect server (the driver); `driver` is accepted as a synonym in targets.
    Connect,
    /// A Spark History Server.
    History,
    /// An executor JVM (or pod).
    Executor,
    /// A History Server's own link to S3.
    HistoryS3,
    /// A version's Spark cluster network (driver ↔ executors).
    Spark,
}

impl Role {
    /// Every role with its name, for errors and `chaos fault list`.
    pub const ALL: [Role; 10] = [
        Role::Connect,
        Role::Executor,
        Role::Worker,
        Role::Master,
        Role::Metastore,
        Role::Postgres,
        Role::S3,
        Role::History,
        Role::HistoryS3,
        Role::Spark,
    ];

    /// The role's name, as in targets, ids and state files.
    pub fn name(self) -> &'static str {
        match self {
            Role::Postgres => "postgres",
            Role::S3 => "s3",
            Role::Metastore => "metastore",
            Role::Master => "master",
            Role::Worker => "worker",
            Role::Connect => "connect",
            Role::History => "history",
            Role::Executor => "executor",
            Role::HistoryS3 => "history-s3",
            Role::Spark => "spark",
        }
    }

    /// The role of a name (`driver` is `connect`).
    pub fn parse(name: &str) -> Option<Role> {
        if name == "driver" {
            return Some(Role::Connect);
        }
        Role::ALL.into_iter().find(|r| r.name() == name)
    }

    /// Whether the role is one part shared by both versions (`@version` then names that
    /// version's link to it, not the part).
    pub fn shared(self) -> bool {
        matches!(self, Role::S3 | Role::Postgres)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The id of the PostgreSQL component.
pub const POSTGRES: &str = "postgres";
/// The id of the S3 (MinIO) component.
pub const S3: &str = "s3";
/// The prefix of the cut-over edges' ids.
pub const EDGE_PREFIX: &str = "edge-";

/// The id of a line's component of `role` (one per line: metastore, master, History Server).
pub fn line_component(role: Role, line: SparkLine) -> String {
    format!("{}-{}", role.name(), line.slug())
}

/// The id of a line's Connect replica `r`.
pub fn connect(line: SparkLine, r: u32) -> String {
    format!("connect-{}-{r}", line.slug())
}

/// The id of a line's worker `w`.
pub fn worker(line: SparkLine, w: u32) -> String {
    format!("worker-{}-{w}", line.slug())
}

/// The prefix every worker id of a line starts with (`worker-35-`).
pub fn worker_prefix(line: SparkLine) -> String {
    format!("worker-{}-", line.slug())
}

/// The id of a line's metastore.
pub fn metastore(line: SparkLine) -> String {
    line_component(Role::Metastore, line)
}

/// The id of a line's master.
pub fn master(line: SparkLine) -> String {
    line_component(Role::Master, line)
}

/// The id of a line's History Server.
pub fn history(line: SparkLine) -> String {
    line_component(Role::History, line)
}

/// One kind of dependency link of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// Clients → Connect replica `r`.
    Connect(u32),
    /// Spark (driver, executors) and the line's metastore → S3.
    S3,
    /// The History Server → S3.
    HistoryS3,
    /// Spark → the line's metastore.
    Metastore,
    /// The line's metastore → PostgreSQL.
    Postgres,
}

impl LinkKind {
    /// The per-line link kinds after the Connect ones, in allocation order.
    pub const SHARED: [LinkKind; 4] = [
        LinkKind::S3,
        LinkKind::HistoryS3,
        LinkKind::Metastore,
        LinkKind::Postgres,
    ];
}

/// The id of a line's link of `kind` (`connect-41-0`, `s3-35`, `history-s3-35`,
/// `metastore-41`, `postgres-35`).
pub fn link(line: SparkLine, kind: LinkKind) -> String {
    let v = line.slug();
    match kind {
        LinkKind::Connect(r) => connect(line, r),
        LinkKind::S3 => format!("s3-{v}"),
        LinkKind::HistoryS3 => format!("history-s3-{v}"),
        LinkKind::Metastore => format!("metastore-{v}"),
        LinkKind::Postgres => format!("postgres-{v}"),
    }
}

/// The ids of every dependency link of `lines` with `replicas` Connect servers each, in
/// allocation order: per line, one per Connect replica, then S3, History → S3, metastore,
/// metastore → PostgreSQL.
pub fn links(lines: &[SparkLine], replicas: u32) -> Vec<String> {
    let mut ids = Vec::new();
    for &line in lines {
        for r in 0..replicas {
            ids.push(link(line, LinkKind::Connect(r)));
        }
        for kind in LinkKind::SHARED {
            ids.push(link(line, kind));
        }
    }
    ids
}

/// The id of cut-over edge `r`.
pub fn edge(r: u32) -> String {
    format!("{EDGE_PREFIX}{r}")
}

/// Whether an id names a cut-over edge.
pub fn is_edge(id: &str) -> bool {
    id.starts_with(EDGE_PREFIX)
}

/// The ids of the cut-over edges of an environment running `lines`: one per Connect replica,
/// only when two lines run.
pub fn edges(lines: &[SparkLine], replicas: u32) -> Vec<String> {
    if lines.len() < 2 {
        return vec![];
    }
    (0..replicas).map(edge).collect()
}

/// Where every edge points to serve `line`: edge `r` → `line`'s Connect replica `r`.
pub fn routes_to(line: SparkLine, edges: &[String]) -> std::collections::BTreeMap<String, String> {
    edges
        .iter()
        .enumerate()
        .map(|(r, e)| (e.clone(), connect(line, r as u32)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_built_one_way() {
        let l = SparkLine::V4_1;
        assert_eq!(connect(l, 2), "connect-41-2");
        assert_eq!(worker(SparkLine::V3_5, 1), "worker-35-1");
        assert!(worker(SparkLine::V3_5, 1).starts_with(&worker_prefix(SparkLine::V3_5)));
        assert_eq!(metastore(l), "metastore-41");
        assert_eq!(master(l), "master-41");
        assert_eq!(history(l), "history-41");
        assert_eq!(link(l, LinkKind::HistoryS3), "history-s3-41");
        assert_eq!(edge(0), "edge-0");
        assert!(is_edge("edge-3") && !is_edge("connect-41-0"));
    }

    #[test]
    fn links_and_edges_in_allocation_order() {
        let lines = [SparkLine::V3_5, SparkLine::V4_1];
        assert_eq!(
            links(&lines[..1], 2),
            [
                "connect-35-0",
                "connect-35-1",
                "s3-35",
                "history-s3-35",
                "metastore-35",
                "postgres-35"
            ]
        );
        assert_eq!(edges(&lines, 2), ["edge-0", "edge-1"]);
        assert!(edges(&lines[..1], 2).is_empty());
        let r = routes_to(SparkLine::V4_1, &edges(&lines, 2));
        assert_eq!(r["edge-1"], "connect-41-1");
    }

    #[test]
    fn role_names_round_trip_and_serialise_as_before() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.name()), Some(r));
            assert_eq!(
                serde_json::to_string(&r).unwrap(),
                format!("\"{}\"", r.name())
            );
        }
        assert_eq!(Role::parse("driver"), Some(Role::Connect));
        assert_eq!(Role::parse("nope"), None);
    }
}
