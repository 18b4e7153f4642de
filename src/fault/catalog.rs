//! The fault catalogue (pure): every kind with its targets and parameters, and the parsing of
//! `kind + target + params` into an [`Effect`] — what will be done, before anything is resolved
//! against a running environment.
//!
//! Presets are the mission's named outages; they expand to the primitives:
//!
//! | preset | expands to |
//! |---|---|
//! | `pod-kill` | `kill` of an executor, driver (Connect server) or any process role |
//! | `network-partition` | `partition` of a version's driver ↔ executors traffic (nftables) |
//! | `s3-outage` | `mode`: `blackhole` (default), `refuse`, `reset` on S3 links; `kill` or `stop` of MinIO |
//! | `s3-throttling` | `s3-error` 503 SlowDown for a `fraction` of S3 requests |
//! | `metastore-outage` | `mode`: `kill` (default), `stop`, `blackhole`, `refuse`, `slow` (latency), `cut-from-postgres` |

use std::collections::BTreeMap;
use std::time::Duration;

use super::proxy::toxic::{
    BandwidthSpec, BlackholeSpec, LatencySpec, RefuseSpec, ResetSpec, S3ErrorCode, S3ErrorSpec,
    S3LatencySpec, S3TruncateSpec, SlicerSpec, TimeoutSpec,
};
use super::proxy::{Direction, ToxicSpec};
use super::target::{Role, Target};

/// A fault that cannot be built from what was written: `field` is `kind`, `target` or
/// `params.<name>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct SpecError {
    /// The field at fault.
    pub field: String,
    /// What is wrong and what is accepted.
    pub message: String,
}

fn err(field: impl Into<String>, message: impl Into<String>) -> SpecError {
    SpecError {
        field: field.into(),
        message: message.into(),
    }
}

/// One kind in the catalogue.
#[derive(Debug, Clone, Copy)]
pub struct KindInfo {
    /// Its name.
    pub name: &'static str,
    /// One line of help.
    pub help: &'static str,
    /// The targets it takes.
    pub targets: &'static str,
    /// Its parameters: name, help (with the default).
    pub params: &'static [(&'static str, &'static str)],
}

const PROB: (&str, &str) = (
    "probability",
    "fraction of connections affected, 0..1 (default 1)",
);
const DIR: (&str, &str) = ("direction", "upstream, downstream or both (default both)");
const LINKS: &str = "s3[@V], history-s3[@V], metastore[@V], postgres[@V], connect[@V][#N]";
const PROCS: &str =
    "executor[@V][#N|:random|:all], connect|driver[@V][#N|:all], worker, master, metastore, history [@V], postgres, s3";
const S3_FILTER: [(&str, &str); 2] = [
    (
        "method",
        "only requests with this HTTP method (default any)",
    ),
    (
        "prefix",
        "only paths starting with this, e.g. /chaos/4.1/ (default /)",
    ),
];

/// Every kind, presets first.
pub const KINDS: &[KindInfo] = &[
    KindInfo {
        name: "pod-kill",
        help: "SIGKILL an executor, a driver (Connect server) or another process; the supervisor restarts it like a Deployment",
        targets: PROCS,
        params: &[("restart", "true (default): restarted at once; false: kept down for the fault's duration")],
    },
    KindInfo {
        name: "network-partition",
        help: "cut a version's driver from its executors (both directions, nftables on loopback ports)",
        targets: "spark[@V] (default: both versions)",
        params: &[],
    },
    KindInfo {
        name: "s3-outage",
        help: "S3 unreachable for Spark, metastores and History Servers",
        targets: "s3 (default: every S3 link), s3@V, history-s3@V",
        params: &[("mode", "blackhole (default), refuse, reset, kill, stop")],
    },
    KindInfo {
        name: "s3-throttling",
        help: "S3 answers 503 SlowDown to a fraction of requests",
        targets: "s3 (default), s3@V",
        params: &[
            ("fraction", "fraction of requests, 0..1 (default 0.2)"),
            ("code", "slow-down (default), service-unavailable, internal-error, access-denied"),
            S3_FILTER[0],
            S3_FILTER[1],
        ],
    },
    KindInfo {
        name: "metastore-outage",
        help: "a Hive Metastore down, slow or cut from PostgreSQL",
        targets: "metastore (default: both versions), metastore@V",
        params: &[
            ("mode", "kill (default), stop, blackhole, refuse, slow, cut-from-postgres"),
            ("latency", "for mode=slow: added latency (default 2s)"),
        ],
    },
    KindInfo {
        name: "kill",
        help: "SIGKILL a process (its whole process group, like a pod); executors one JVM",
        targets: PROCS,
        params: &[("restart", "true (default) or false (kept down for the fault's duration)")],
    },
    KindInfo {
        name: "pause",
        help: "SIGSTOP a process until healed (SIGCONT): a gray failure",
        targets: PROCS,
        params: &[],
    },
    KindInfo {
        name: "stop",
        help: "graceful stop (SIGTERM) until healed, then started again",
        targets: "connect, worker, master, metastore, history [@V], postgres, s3",
        params: &[],
    },
    KindInfo {
        name: "partition",
        help: "same as network-partition",
        targets: "spark[@V]",
        params: &[],
    },
    KindInfo {
        name: "latency",
        help: "delay every chunk on a link",
        targets: LINKS,
        params: &[("latency", "added delay (default 500ms)"), ("jitter", "± jitter (default 0ms)"), DIR, PROB],
    },
    KindInfo {
        name: "bandwidth",
        help: "limit a link's rate",
        targets: LINKS,
        params: &[("rate", "bytes per second, e.g. 65536 or 64KiB (default 64KiB)"), DIR, PROB],
    },
    KindInfo {
        name: "blackhole",
        help: "connections open but bytes vanish (hang)",
        targets: LINKS,
        params: &[DIR, PROB],
    },
    KindInfo {
        name: "reset",
        help: "close connections with TCP RST",
        targets: LINKS,
        params: &[("after", "after this long (default 0ms: at once)"), DIR, PROB],
    },
    KindInfo {
        name: "refuse",
        help: "stop listening: new connections refused",
        targets: LINKS,
        params: &[],
    },
    KindInfo {
        name: "timeout",
        help: "close connections after a while",
        targets: LINKS,
        params: &[("after", "close after (default 1s)"), PROB],
    },
    KindInfo {
        name: "slicer",
        help: "deliver bytes in small delayed slices",
        targets: LINKS,
        params: &[
            ("size", "average slice bytes (default 64)"),
            ("variation", "± bytes (default 0)"),
            ("delay", "between slices (default 1ms)"),
            DIR,
            PROB,
        ],
    },
    KindInfo {
        name: "s3-error",
        help: "answer a fraction of S3 requests with an S3 error",
        targets: "s3[@V], history-s3[@V]",
        params: &[
            ("fraction", "0..1 (default 0.2)"),
            ("code", "slow-down (default), service-unavailable, internal-error, access-denied"),
            S3_FILTER[0],
            S3_FILTER[1],
        ],
    },
    KindInfo {
        name: "s3-latency",
        help: "hold a fraction of S3 requests before forwarding",
        targets: "s3[@V], history-s3[@V]",
        params: &[
            ("fraction", "0..1 (default 1)"),
            ("latency", "per request (default 1s)"),
            S3_FILTER[0],
            S3_FILTER[1],
        ],
    },
    KindInfo {
        name: "s3-truncate",
        help: "cut a fraction of S3 GET bodies short",
        targets: "s3[@V], history-s3[@V]",
        params: &[
            ("fraction", "0..1 (default 0.2)"),
            ("keep", "fraction of the body kept (default 0.5)"),
            S3_FILTER[1],
        ],
    },
];

/// Which processes a process fault acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessAction {
    /// SIGKILL; `restart = false` keeps it down (a hold) until healed.
    Kill {
        /// Restart at once.
        restart: bool,
    },
    /// SIGSTOP until healed.
    Pause,
    /// SIGTERM and hold until healed.
    Stop,
}

/// Which links a link fault acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// Spark (and its metastore) → S3.
    S3,
    /// History Server → S3.
    HistoryS3,
    /// Spark → metastore.
    Metastore,
    /// Metastore → PostgreSQL.
    Postgres,
    /// Clients → Connect.
    Connect,
}

impl LinkKind {
    /// The link id prefix in the plan (`s3-35`, `connect-41-0`).
    pub fn prefix(self) -> &'static str {
        match self {
            LinkKind::S3 => "s3",
            LinkKind::HistoryS3 => "history-s3",
            LinkKind::Metastore => "metastore",
            LinkKind::Postgres => "postgres",
            LinkKind::Connect => "connect",
        }
    }
}

/// What a fault does, before it is resolved against a running environment.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Signals to processes.
    Process(ProcessAction),
    /// A toxic on each of these links (of the target's versions).
    Link {
        /// Which links.
        kinds: Vec<LinkKind>,
        /// The toxic.
        toxic: ToxicSpec,
    },
    /// Drop the driver ↔ executors traffic of the target's versions.
    Partition,
}

/// A fault ready to be resolved: the effect, and the target it applies to.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpec {
    /// The kind as asked for.
    pub kind: String,
    /// The target as parsed (with the kind's default filled in).
    pub target: Target,
    /// The parameters as given.
    pub params: BTreeMap<String, String>,
    /// What it does.
    pub effect: Effect,
}

impl FaultSpec {
    /// Whether the fault acts once and heals by itself (a kill that the supervisor restarts).
    pub fn instantaneous(&self) -> bool {
        matches!(
            self.effect,
            Effect::Process(ProcessAction::Kill { restart: true })
        )
    }
}

/// Checks a fault without building it (used by scenario validation).
pub fn validate(
    kind: &str,
    target: Option<&str>,
    params: &BTreeMap<String, String>,
) -> Result<(), SpecError> {
    parse(kind, target, params).map(|_| ())
}

/// Parses `kind`, `target` and `params` into a [`FaultSpec`].
pub fn parse(
    kind: &str,
    target: Option<&str>,
    params: &BTreeMap<String, String>,
) -> Result<FaultSpec, SpecError> {
    let info = KINDS.iter().find(|k| k.name == kind).ok_or_else(|| {
        err(
            "kind",
            format!(
                "unknown fault kind `{kind}`; accepted: {}",
                KINDS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
            ),
        )
    })?;
    for name in params.keys() {
        if !info.params.iter().any(|(p, _)| p == name) {
            let accepted = if info.params.is_empty() {
                "it takes none".to_string()
            } else {
                format!(
                    "accepted: {}",
                    info.params
                        .iter()
                        .map(|(p, _)| *p)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            return Err(err(
                format!("params.{name}"),
                format!("`{kind}` has no parameter `{name}`; {accepted}"),
            ));
        }
    }
    let p = Params(params);
    let default_target = match kind {
        "network-partition" | "partition" => Some("spark"),
        "s3-outage" | "s3-throttling" => Some("s3"),
        "metastore-outage" => Some("metastore"),
        _ => None,
    };
    let target_s = target.or(default_target).ok_or_else(|| {
        err(
            "target",
            format!("`{kind}` needs a target; accepted: {}", info.targets),
        )
    })?;
    let target = Target::parse(target_s).map_err(|m| err("target", m))?;
    let effect = match kind {
        "pod-kill" | "kill" => {
            process_target(&target, kind, info)?;
            Effect::Process(ProcessAction::Kill {
                restart: p.bool("restart", true)?,
            })
        }
        "pause" => {
            process_target(&target, kind, info)?;
            Effect::Process(ProcessAction::Pause)
        }
        "stop" => {
            process_target(&target, kind, info)?;
            if target.role == Role::Executor {
                return Err(err(
                    "target",
                    "executors cannot be stopped gracefully (their worker relaunches them); use kill or pause, or stop the worker",
                ));
            }
            Effect::Process(ProcessAction::Stop)
        }
        "network-partition" | "partition" => {
            if target.role != Role::Spark {
                return Err(err(
                    "target",
                    format!(
                        "`{kind}` takes spark[@VERSION] (a version's driver ↔ executors network)"
                    ),
                ));
            }
            Effect::Partition
        }
        "s3-outage" => s3_outage(&target, &p)?,
        "s3-throttling" => Effect::Link {
            kinds: s3_links(&target, kind)?,
            toxic: ToxicSpec::S3Error(S3ErrorSpec {
                method: p.opt("method"),
                path_prefix: p.str("prefix", "/"),
                fraction: p.unit("fraction", 0.2)?,
                code: p.s3_code()?,
            }),
        },
        "metastore-outage" => metastore_outage(&target, &p)?,
        _ => Effect::Link {
            kinds: link_kinds(&target, kind)?,
            toxic: link_toxic(kind, &p)?,
        },
    };
    Ok(FaultSpec {
        kind: kind.to_string(),
        target,
        params: params.clone(),
        effect,
    })
}

fn process_target(target: &Target, kind: &str, info: &KindInfo) -> Result<(), SpecError> {
    if matches!(target.role, Role::Spark | Role::HistoryS3) {
        return Err(err(
            "target",
            format!("`{kind}` acts on processes; accepted: {}", info.targets),
        ));
    }
    if target.role.shared() && target.line.is_some() {
        return Err(err(
            "target",
            format!(
                "`{}` is one process shared by both versions: write `{}` without `@version`",
                target.role.name(),
                target.role.name()
            ),
        ));
    }
    Ok(())
}

fn s3_links(target: &Target, kind: &str) -> Result<Vec<LinkKind>, SpecError> {
    match (target.role, target.line) {
        (Role::S3, None) => Ok(vec![LinkKind::S3, LinkKind::HistoryS3]),
        (Role::S3, Some(_)) => Ok(vec![LinkKind::S3]),
        (Role::HistoryS3, _) => Ok(vec![LinkKind::HistoryS3]),
        _ => Err(err(
            "target",
            format!("`{kind}` takes s3, s3@VERSION or history-s3@VERSION"),
        )),
    }
}

fn s3_outage(target: &Target, p: &Params) -> Result<Effect, SpecError> {
    let mode = p.choice(
        "mode",
        "blackhole",
        &["blackhole", "refuse", "reset", "kill", "stop"],
    )?;
    match mode {
        "kill" | "stop" => {
            if target.role != Role::S3 || target.line.is_some() {
                return Err(err(
                    "params.mode",
                    format!("mode `{mode}` stops MinIO itself, which both versions share: use target `s3`, or mode blackhole/refuse/reset for one version's link"),
                ));
            }
            Ok(Effect::Process(if mode == "kill" {
                ProcessAction::Kill { restart: false }
            } else {
                ProcessAction::Stop
            }))
        }
        _ => Ok(Effect::Link {
            kinds: s3_links(target, "s3-outage")?,
            toxic: outage_toxic(mode),
        }),
    }
}

fn outage_toxic(mode: &str) -> ToxicSpec {
    match mode {
        "refuse" => ToxicSpec::Refuse(RefuseSpec {}),
        "reset" => ToxicSpec::Reset(ResetSpec {
            direction: Direction::Both,
            probability: 1.0,
            timeout_ms: 0,
        }),
        _ => ToxicSpec::Blackhole(BlackholeSpec {
            direction: Direction::Both,
            probability: 1.0,
        }),
    }
}

fn metastore_outage(target: &Target, p: &Params) -> Result<Effect, SpecError> {
    if target.role != Role::Metastore {
        return Err(err(
            "target",
            "`metastore-outage` takes metastore or metastore@VERSION",
        ));
    }
    let mode = p.choice(
        "mode",
        "kill",
        &[
            "kill",
            "stop",
            "blackhole",
            "refuse",
            "slow",
            "cut-from-postgres",
        ],
    )?;
    if mode != "slow" && p.0.contains_key("latency") {
        return Err(err("params.latency", "only with mode = \"slow\""));
    }
    Ok(match mode {
        "kill" => Effect::Process(ProcessAction::Kill { restart: false }),
        "stop" => Effect::Process(ProcessAction::Stop),
        "slow" => Effect::Link {
            kinds: vec![LinkKind::Metastore],
            toxic: ToxicSpec::Latency(LatencySpec {
                direction: Direction::Downstream,
                probability: 1.0,
                latency_ms: p.millis("latency", 2000)?,
                jitter_ms: 0,
            }),
        },
        "cut-from-postgres" => Effect::Link {
            kinds: vec![LinkKind::Postgres],
            toxic: outage_toxic("blackhole"),
        },
        other => Effect::Link {
            kinds: vec![LinkKind::Metastore],
            toxic: outage_toxic(other),
        },
    })
}

fn link_kinds(target: &Target, kind: &str) -> Result<Vec<LinkKind>, SpecError> {
    let k = match target.role {
        Role::S3 => return s3_links(target, kind),
        Role::HistoryS3 => LinkKind::HistoryS3,
        Role::Metastore => LinkKind::Metastore,
        Role::Postgres => LinkKind::Postgres,
        Role::Connect => LinkKind::Connect,
        _ => {
            return Err(err(
                "target",
                format!("`{kind}` acts on a link; accepted: {LINKS}"),
            ))
        }
    };
    let http_only = matches!(kind, "s3-error" | "s3-latency" | "s3-truncate");
    if http_only && k != LinkKind::HistoryS3 {
        return Err(err(
            "target",
            format!("`{kind}` understands S3 only: use s3[@VERSION] or history-s3[@VERSION]"),
        ));
    }
    Ok(vec![k])
}

fn link_toxic(kind: &str, p: &Params) -> Result<ToxicSpec, SpecError> {
    let spec = match kind {
        "latency" => ToxicSpec::Latency(LatencySpec {
            direction: p.direction()?,
            probability: p.unit("probability", 1.0)?,
            latency_ms: p.millis("latency", 500)?,
            jitter_ms: p.millis("jitter", 0)?,
        }),
        "bandwidth" => ToxicSpec::Bandwidth(BandwidthSpec {
            direction: p.direction()?,
            probability: p.unit("probability", 1.0)?,
            bytes_per_sec: p.bytes("rate", 64 * 1024)?,
        }),
        "blackhole" => ToxicSpec::Blackhole(BlackholeSpec {
            direction: p.direction()?,
            probability: p.unit("probability", 1.0)?,
        }),
        "reset" => ToxicSpec::Reset(ResetSpec {
            direction: p.direction()?,
            probability: p.unit("probability", 1.0)?,
            timeout_ms: p.millis("after", 0)?,
        }),
        "refuse" => ToxicSpec::Refuse(RefuseSpec {}),
        "timeout" => ToxicSpec::Timeout(TimeoutSpec {
            probability: p.unit("probability", 1.0)?,
            timeout_ms: p.millis("after", 1000)?,
        }),
        "slicer" => ToxicSpec::Slicer(SlicerSpec {
            direction: p.direction()?,
            probability: p.unit("probability", 1.0)?,
            average_size: p.num("size", 64)? as usize,
            size_variation: p.num("variation", 0)? as usize,
            delay_us: p.millis("delay", 1)? * 1000,
        }),
        "s3-error" => ToxicSpec::S3Error(S3ErrorSpec {
            method: p.opt("method"),
            path_prefix: p.str("prefix", "/"),
            fraction: p.unit("fraction", 0.2)?,
            code: p.s3_code()?,
        }),
        "s3-latency" => ToxicSpec::S3Latency(S3LatencySpec {
            method: p.opt("method"),
            path_prefix: p.str("prefix", "/"),
            fraction: p.unit("fraction", 1.0)?,
            latency_ms: p.millis("latency", 1000)?,
        }),
        "s3-truncate" => ToxicSpec::S3Truncate(S3TruncateSpec {
            path_prefix: p.str("prefix", "/"),
            fraction: p.unit("fraction", 0.2)?,
            keep_fraction: p.unit("keep", 0.5)?,
        }),
        other => return Err(err("kind", format!("`{other}` is not a link fault"))),
    };
    spec.validate().map_err(|e| err("params", e.to_string()))?;
    Ok(spec)
}

/// Typed access to the string parameters, with errors naming `params.<name>`.
struct Params<'a>(&'a BTreeMap<String, String>);

impl Params<'_> {
    fn opt(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }

    fn str(&self, name: &str, default: &str) -> String {
        self.opt(name).unwrap_or_else(|| default.to_string())
    }

    fn field(name: &str) -> String {
        format!("params.{name}")
    }

    fn bool(&self, name: &str, default: bool) -> Result<bool, SpecError> {
        match self.0.get(name).map(String::as_str) {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(v) => Err(err(
                Self::field(name),
                format!("`{v}` is not true or false"),
            )),
        }
    }

    fn num(&self, name: &str, default: u64) -> Result<u64, SpecError> {
        match self.0.get(name) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse()
                .map_err(|_| err(Self::field(name), format!("`{v}` is not a whole number"))),
        }
    }

    fn unit(&self, name: &str, default: f64) -> Result<f64, SpecError> {
        let v = match self.0.get(name) {
            None => return Ok(default),
            Some(v) => v,
        };
        match v.trim().parse::<f64>() {
            Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
            _ => Err(err(
                Self::field(name),
                format!("`{v}` is not a fraction between 0 and 1"),
            )),
        }
    }

    fn millis(&self, name: &str, default_ms: u64) -> Result<u64, SpecError> {
        match self.0.get(name) {
            None => Ok(default_ms),
            Some(v) => humantime::parse_duration(v.trim())
                .map(|d: Duration| d.as_millis() as u64)
                .map_err(|_| {
                    err(
                        Self::field(name),
                        format!("`{v}` is not a duration; write e.g. `200ms`, `2s`"),
                    )
                }),
        }
    }

    fn bytes(&self, name: &str, default: u64) -> Result<u64, SpecError> {
        let Some(v) = self.0.get(name) else {
            return Ok(default);
        };
        let t = v.trim().trim_end_matches("/s");
        let (num, mult) = [
            ("KiB", 1024u64),
            ("MiB", 1024 * 1024),
            ("KB", 1000),
            ("MB", 1_000_000),
            ("B", 1),
        ]
        .iter()
        .find_map(|(suf, m)| t.strip_suffix(suf).map(|n| (n.trim(), *m)))
        .unwrap_or((t, 1));
        match num.parse::<f64>() {
            Ok(n) if n >= 1.0 => Ok((n * mult as f64) as u64),
            _ => Err(err(
                Self::field(name),
                format!("`{v}` is not a rate; write bytes per second, e.g. 65536 or 64KiB"),
            )),
        }
    }

    fn choice<'c>(
        &self,
        name: &str,
        default: &'c str,
        accepted: &[&'c str],
    ) -> Result<&'c str, SpecError> {
        match self.0.get(name) {
            None => Ok(default),
            Some(v) => accepted.iter().find(|a| **a == v).copied().ok_or_else(|| {
                err(
                    Self::field(name),
                    format!("unknown value `{v}`; accepted: {}", accepted.join(", ")),
                )
            }),
        }
    }

    fn direction(&self) -> Result<Direction, SpecError> {
        Ok(
            match self.choice("direction", "both", &["upstream", "downstream", "both"])? {
                "upstream" => Direction::Upstream,
                "downstream" => Direction::Downstream,
                _ => Direction::Both,
            },
        )
    }

    fn s3_code(&self) -> Result<S3ErrorCode, SpecError> {
        Ok(
            match self.choice(
                "code",
                "slow-down",
                &[
                    "slow-down",
                    "service-unavailable",
                    "internal-error",
                    "access-denied",
                ],
            )? {
                "service-unavailable" => S3ErrorCode::ServiceUnavailable,
                "internal-error" => S3ErrorCode::InternalError,
                "access-denied" => S3ErrorCode::AccessDenied,
                _ => S3ErrorCode::SlowDown,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::versions::SparkLine;

    fn params(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn presets_expand_to_primitives() {
        let f = parse("s3-outage", None, &params(&[])).unwrap();
        assert_eq!(f.target.role, Role::S3);
        assert!(matches!(
            &f.effect,
            Effect::Link { kinds, toxic: ToxicSpec::Blackhole(_) } if kinds == &[LinkKind::S3, LinkKind::HistoryS3]
        ));
        let f = parse("s3-outage", Some("s3"), &params(&[("mode", "kill")])).unwrap();
        assert_eq!(
            f.effect,
            Effect::Process(ProcessAction::Kill { restart: false })
        );
        let f = parse(
            "metastore-outage",
            Some("metastore@4.1.0"),
            &params(&[("mode", "cut-from-postgres")]),
        )
        .unwrap();
        assert_eq!(f.target.line, Some(SparkLine::V4_1));
        assert!(matches!(&f.effect, Effect::Link { kinds, .. } if kinds == &[LinkKind::Postgres]));
        let f = parse("pod-kill", Some("executor@3.5.7"), &params(&[])).unwrap();
        assert!(f.instantaneous());
        let f = parse("network-partition", None, &params(&[])).unwrap();
        assert_eq!(f.effect, Effect::Partition);
        let f = parse(
            "s3-throttling",
            Some("s3@4.1"),
            &params(&[("fraction", "0.2")]),
        )
        .unwrap();
        match f.effect {
            Effect::Link {
                toxic: ToxicSpec::S3Error(s),
                kinds,
            } => {
                assert_eq!(s.fraction, 0.2);
                assert_eq!(s.code, S3ErrorCode::SlowDown);
                assert_eq!(kinds, vec![LinkKind::S3]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn link_parameters_are_typed() {
        let f = parse(
            "latency",
            Some("metastore@3.5.7"),
            &params(&[
                ("latency", "200ms"),
                ("jitter", "20ms"),
                ("direction", "downstream"),
            ]),
        )
        .unwrap();
        assert_eq!(
            f.effect,
            Effect::Link {
                kinds: vec![LinkKind::Metastore],
                toxic: ToxicSpec::Latency(LatencySpec {
                    direction: Direction::Downstream,
                    probability: 1.0,
                    latency_ms: 200,
                    jitter_ms: 20
                })
            }
        );
        let f = parse(
            "bandwidth",
            Some("connect@4.1.0"),
            &params(&[("rate", "64KiB")]),
        )
        .unwrap();
        assert!(matches!(
            f.effect,
            Effect::Link {
                toxic: ToxicSpec::Bandwidth(BandwidthSpec {
                    bytes_per_sec: 65536,
                    ..
                }),
                ..
            }
        ));
    }

    #[test]
    fn mistakes_name_the_field_and_what_is_accepted() {
        let e = parse("s3-outgae", None, &params(&[])).unwrap_err();
        assert_eq!(e.field, "kind");
        assert!(
            e.message
                .starts_with("unknown fault kind `s3-outgae`; accepted: pod-kill"),
            "{e}"
        );
        let e = parse("kill", None, &params(&[])).unwrap_err();
        assert_eq!(e.field, "target");
        let e = parse("latency", Some("s3"), &params(&[("latncy", "1s")])).unwrap_err();
        assert_eq!(e.to_string(), "params.latncy: `latency` has no parameter `latncy`; accepted: latency, jitter, direction, probability");
        let e = parse("s3-outage", Some("s3@4.1.0"), &params(&[("mode", "kill")])).unwrap_err();
        assert_eq!(e.field, "params.mode");
        let e = parse("s3-throttling", None, &params(&[("fraction", "1.5")])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "params.fraction: `1.5` is not a fraction between 0 and 1"
        );
        let e = parse("kill", Some("s3@3.5.7"), &params(&[])).unwrap_err();
        assert!(e.message.contains("shared by both versions"), "{e}");
        let e = parse("s3-error", Some("metastore"), &params(&[])).unwrap_err();
        assert!(e.message.contains("understands S3 only"), "{e}");
        let e = parse("partition", Some("executor"), &params(&[])).unwrap_err();
        assert_eq!(e.field, "target");
        let e = parse("metastore-outage", None, &params(&[("latency", "1s")])).unwrap_err();
        assert_eq!(e.field, "params.latency");
    }

    #[test]
    fn every_kind_parses_with_defaults_on_a_suitable_target() {
        for k in KINDS {
            let target = match k.name {
                "network-partition" | "partition" | "s3-outage" | "s3-throttling"
                | "metastore-outage" => None,
                n if n.starts_with("s3-") => Some("s3@4.1.0"),
                "kill" | "pod-kill" | "pause" => Some("executor@4.1.0"),
                "stop" => Some("connect@4.1.0"),
                _ => Some("metastore@3.5.7"),
            };
            parse(k.name, target, &BTreeMap::new()).unwrap_or_else(|e| panic!("{}: {e}", k.name));
        }
    }
}
