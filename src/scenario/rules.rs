//! The checks a schema cannot express: value formats (names, rates, memory sizes, query
//! names, Spark settings), the fault catalogue, and cross-field rules (rate only for the open
//! model, warm-up shorter than the workload, faults inside it, `[compat]` / `[upgrade]` only
//! for their kind…). Every error is placed at the offending field.

use std::time::Duration;

use super::doc::{Doc, Path};
use super::error::Sink;
use super::faults;
use super::model::{Kind, LoadModel, QuerySelection, Scenario, SparkConf, WorkloadSpec};
use crate::units::HumanDuration;
use crate::versions::SparkLine;

/// Runs every rule on a scenario that passed the structural checks.
pub(crate) fn check(sc: &Scenario, doc: &Doc, sink: &mut Sink<'_>) {
    let mut r = Rules { sc, doc, sink };
    r.top();
    r.env();
    r.kind();
    if let Some(w) = &sc.workload {
        r.workload(w);
    }
    r.faults();
    r.checks();
    r.upgrade();
    r.report();
}

/// What the platform the scenario will run on cannot do, placed at the field that asks for it
/// (`from_flag`: the platform was chosen on the command line, not in the file).
pub(crate) fn check_platform(
    sc: &Scenario,
    platform: super::model::Platform,
    from_flag: bool,
    doc: &Doc,
    sink: &mut Sink<'_>,
) {
    use super::model::Platform;
    if platform != Platform::Kubernetes {
        return;
    }
    let mut r = Rules { sc, doc, sink };
    let on = if from_flag {
        "on kubernetes (--platform kubernetes)"
    } else {
        "on kubernetes (platform = \"kubernetes\")"
    };
    if sc.kind == Kind::Compat {
        r.value(
            &path("kind"),
            format!(
                "`compat` scenarios cannot run {on} yet: the compatibility suite runs Spark \
                 applications on this machine; run it on the local platform"
            ),
        );
    }
    for (i, f) in sc.faults.iter().enumerate() {
        let params = f.params_as_strings();
        let Ok(spec) = crate::fault::catalog::parse(&f.kind, f.target.as_deref(), &params) else {
            continue;
        };
        if let Err(why) = crate::platform::kubernetes::faults::supported(&spec) {
            let fp = Path::root().key("fault").index(i);
            use crate::fault::catalog::{Effect, ProcessAction};
            let field = match spec.effect {
                Effect::Process(ProcessAction::Pause) | Effect::Link { .. } => "kind",
                Effect::Process(_) if f.target.is_some() => "target",
                _ => "kind",
            };
            r.value(&fp.key(field), format!("cannot run {on}: {why}"));
        }
    }
}

struct Rules<'s, 'd, 'k, 'f> {
    sc: &'s Scenario,
    doc: &'d Doc,
    sink: &'k mut Sink<'f>,
}

fn path(s: &str) -> Path {
    let mut p = Path::root();
    for part in s.split('.') {
        p = p.key(part);
    }
    p
}

fn hd(d: Duration) -> String {
    HumanDuration(d).to_string()
}

fn spark_list(lines: &[SparkLine]) -> String {
    let v: Vec<String> = lines.iter().map(|l| format!("{:?}", l.version())).collect();
    format!("spark = [{}]", v.join(", "))
}

impl Rules<'_, '_, '_, '_> {
    /// An error about the value at `p` (or where it would be).
    fn value(&mut self, p: &Path, msg: impl Into<String>) {
        let at = self.doc.value_offset(p);
        self.sink.at(at, &p.to_string(), msg);
    }

    /// An error about the field at `p` being there at all (placed at its key).
    fn key(&mut self, p: &Path, msg: impl Into<String>) {
        let at = self.doc.key_offset(p);
        self.sink.at(at, &p.to_string(), msg);
    }

    /// An error about a missing field `p`, placed at `near` (a related field, else the table).
    fn missing(&mut self, p: &Path, near: &Path, msg: impl Into<String>) {
        let at = if self.doc.node(near).is_some() {
            self.doc.value_offset(near)
        } else {
            self.doc.value_offset(p)
        };
        self.sink.at(at, &p.to_string(), msg);
    }

    fn present(&self, p: &Path) -> bool {
        self.doc.node(p).is_some()
    }

    fn top(&mut self) {
        let name = &self.sc.name;
        if !is_name(name) {
            self.value(
                &path("name"),
                format!(
                    "{name:?} is not a scenario name; accepted: lower-case letters, digits, \"-\" and \".\", starting with a letter or digit (e.g. \"s3-outage\", \"upgrade-3.5-to-4.1\")"
                ),
            );
        }
        if self.sc.description.trim().is_empty() {
            self.value(
                &path("description"),
                "must not be empty; say in one sentence what happens, to what, under which load",
            );
        }
    }

    fn env(&mut self) {
        let env = &self.sc.env;
        for (field, v) in [
            ("executor_memory", &env.executor_memory),
            ("driver_memory", &env.driver_memory),
        ] {
            if !is_memory(v) {
                self.value(
                    &path("env").key(field),
                    format!("{v:?} is not a JVM memory size; accepted: a number with k, m, g or t, e.g. \"512m\", \"1g\""),
                );
            }
        }
        self.conf_tables(&path("env.spark_conf"), &env.spark_conf);
        if self.sc.data.scale.is_nan() || self.sc.data.scale <= 0.0 {
            self.value(
                &path("data.scale"),
                format!(
                    "{} is out of range; accepted: greater than 0, at most 100",
                    self.sc.data.scale
                ),
            );
        }
    }

    fn kind(&mut self) {
        let kind = self.sc.kind;
        let kind_p = path("kind");
        if kind == Kind::Compat {
            if self.sc.compat.is_none() {
                self.missing(
                    &path("compat"),
                    &kind_p,
                    "required for kind = \"compat\"; add a [compat] table (e.g. statements = [\"tpcds\", \"probes\"])",
                );
            }
            if self.sc.workload.is_some() {
                self.key(
                    &path("workload"),
                    "not accepted for kind = \"compat\": a compat scenario runs its statements once per version; remove [workload]",
                );
            }
            if !self.sc.faults.is_empty() {
                self.key(
                    &Path::root().key("fault").index(0),
                    "not accepted for kind = \"compat\": a compat scenario runs no faults; remove the [[fault]] tables",
                );
            }
            if self.sc.spark.len() < 2 {
                self.value(
                    &path("spark"),
                    "a compat scenario compares 3.5.7 with 4.1.0; list both (or leave spark out)",
                );
            }
        } else if kind == Kind::Bench {
            if self.sc.bench.is_none() {
                self.missing(
                    &path("bench"),
                    &kind_p,
                    "required for kind = \"bench\"; add a [bench] table (e.g. queries = \"quick\", iterations = 3)",
                );
            }
            if self.sc.workload.is_some() {
                self.key(
                    &path("workload"),
                    "not accepted for kind = \"bench\": a bench times its queries one at a time; set them in [bench]",
                );
            }
            if !self.sc.faults.is_empty() {
                self.key(
                    &Path::root().key("fault").index(0),
                    "not accepted for kind = \"bench\": a bench measures a healthy system; remove the [[fault]] tables",
                );
            }
        } else if self.sc.workload.is_none() {
            self.missing(
                &path("workload"),
                &kind_p,
                format!(
                    "required for kind = \"{kind}\"; add a [workload] table (at least duration = \"4m\")"
                ),
            );
        }
        if self.sc.compat.is_some() && kind != Kind::Compat {
            self.key(
                &path("compat"),
                format!("only for kind = \"compat\" (this scenario is kind = \"{kind}\")"),
            );
        }
        if self.sc.bench.is_some() && kind != Kind::Bench {
            self.key(
                &path("bench"),
                format!("only for kind = \"bench\" (this scenario is kind = \"{kind}\")"),
            );
        }
        if let Some(b) = &self.sc.bench {
            self.conf_tables(&path("bench").key("session_conf"), &b.session_conf);
            if b.threshold.is_nan() || !(0.0..1.0).contains(&b.threshold) {
                self.value(
                    &path("bench").key("threshold"),
                    format!(
                        "{} is out of range; accepted: at least 0, below 1 (0.05 is 5 %)",
                        b.threshold
                    ),
                );
            }
            if b.timeout.get().is_zero() {
                self.value(&path("bench").key("timeout"), "must be longer than 0s");
            }
            if let QuerySelection::Names(names) = &b.queries {
                self.query_names(&path("bench").key("queries"), names);
            }
        }
        if kind == Kind::Upgrade && self.sc.upgrade.is_none() {
            self.missing(
                &path("upgrade"),
                &kind_p,
                "required for kind = \"upgrade\"; add an [upgrade] table (style, from, to, cutover_at)",
            );
        }
        if self.sc.upgrade.is_some() && kind != Kind::Upgrade {
            self.key(
                &path("upgrade"),
                format!("only for kind = \"upgrade\" (this scenario is kind = \"{kind}\")"),
            );
        }
    }

    /// A Spark settings table (`all`, `"3.5.7"`, `"4.1.0"`): versions the scenario runs, keys
    /// that are Spark settings.
    fn conf_tables(&mut self, at: &Path, conf: &SparkConf) {
        let tables = [
            ("all", &conf.all, None),
            ("3.5.7", &conf.v3_5, Some(SparkLine::V3_5)),
            ("4.1.0", &conf.v4_1, Some(SparkLine::V4_1)),
        ];
        for (table, settings, line) in tables {
            let tp = at.key(table);
            if let Some(line) = line {
                if !settings.is_empty() && !self.sc.spark.contains(&line) {
                    self.key(
                        &tp,
                        format!(
                            "sets Spark {line}, which this scenario does not run ({}); remove it or add {line} to spark",
                            spark_list(&self.sc.spark)
                        ),
                    );
                }
            }
            for key in settings.keys() {
                if !key.starts_with("spark.") || key.len() <= "spark.".len() {
                    self.key(
                        &tp.key(key),
                        format!(
                            "{key:?} is not a Spark setting; accepted: keys starting with \"spark.\" (e.g. \"spark.sql.shuffle.partitions\", \"spark.hadoop.fs.s3a.retry.limit\")"
                        ),
                    );
                }
            }
        }
    }

    /// A list of query names: not empty, each known, none twice.
    fn query_names(&mut self, at: &Path, names: &[String]) {
        if names.is_empty() {
            self.value(
                at,
                "must not be empty; accepted: \"quick\", \"all\" or query names such as [\"q3\", \"q19\"]",
            );
        }
        for (i, n) in names.iter().enumerate() {
            let p = at.index(i);
            if !is_query_name(n) {
                self.value(
                    &p,
                    format!("unknown query {n:?}; accepted: \"q1\" … \"q99\" (or queries = \"quick\" / \"all\" instead of a list)"),
                );
            } else if names[..i].contains(n) {
                self.value(
                    &p,
                    format!("duplicate query {n:?}; each query may appear once"),
                );
            }
        }
    }

    fn workload(&mut self, w: &WorkloadSpec) {
        let wp = path("workload");
        let model_p = wp.key("model");
        let default_note = if self.present(&model_p) {
            ""
        } else {
            ", the default"
        };
        match w.model {
            LoadModel::Open => {
                match &w.rate {
                    None => self.missing(
                        &wp.key("rate"),
                        &model_p,
                        format!(
                            "required when workload.model = \"open\"{default_note}; write e.g. rate = \"1/s\" (or model = \"closed\")"
                        ),
                    ),
                    Some(r) => {
                        if crate::workload::load::parse_rate(r).is_err() {
                            self.value(
                                &wp.key("rate"),
                                format!("{r:?} is not a rate; accepted: N/s, N/m or N/h with N > 0, e.g. \"1/s\", \"0.5/s\", \"30/m\""),
                            );
                        }
                    }
                }
                if w.think.is_some() {
                    self.key(
                        &wp.key("think"),
                        format!("only for workload.model = \"closed\" (the model is \"open\"{default_note})"),
                    );
                }
            }
            LoadModel::Closed => {
                for field in ["rate", "poisson"] {
                    if self.present(&wp.key(field)) {
                        self.key(
                            &wp.key(field),
                            "only for workload.model = \"open\" (the model is \"closed\")",
                        );
                    }
                }
            }
        }
        if let QuerySelection::Names(names) = &w.queries {
            self.query_names(&wp.key("queries"), names);
        }
        if w.duration.get().is_zero() {
            self.value(&wp.key("duration"), "must be longer than 0s");
        } else if w.warmup >= w.duration {
            self.value(
                &wp.key("warmup"),
                format!(
                    "must be shorter than workload.duration ({}), which includes it",
                    w.duration
                ),
            );
        }
        if w.timeout.get().is_zero() {
            self.value(&wp.key("timeout"), "must be longer than 0s");
        }
        if !w.writes {
            for field in ["write_every", "write_batch"] {
                if self.present(&wp.key(field)) {
                    self.key(
                        &wp.key(field),
                        "only with workload.writes = true (the write workload is off)",
                    );
                }
            }
        }
        if w.write_every.is_some_and(|d| d.get().is_zero()) {
            self.value(&wp.key("write_every"), "must be longer than 0s");
        }
    }

    fn faults(&mut self) {
        let sc = self.sc;
        let measured = sc.workload.as_ref().map(|w| (w.measured(), w));
        for (i, f) in sc.faults.iter().enumerate() {
            let fp = Path::root().key("fault").index(i);
            let params = f.params_as_strings();
            let checked = match faults::check(&f.kind, f.target.as_deref(), &params) {
                Ok(c) => Some(c),
                Err((field, message)) => {
                    let p = field.split('.').fold(fp.clone(), |p, part| p.key(part));
                    if field == "target" && f.target.is_none() {
                        self.missing(&p, &fp.key("kind"), message);
                    } else {
                        self.value(&p, message);
                    }
                    None
                }
            };
            if let Some(c) = &checked {
                if let Some(line) = c.line {
                    if !sc.spark.contains(&line) {
                        self.value(
                            &fp.key("target"),
                            format!(
                                "names Spark {line}, which this scenario does not run ({})",
                                spark_list(&sc.spark)
                            ),
                        );
                    }
                }
                if let Some((role, n)) = c.instance {
                    let (count, field) = match role {
                        "connect" => (sc.env.replicas, "env.replicas"),
                        _ => (sc.env.workers, "env.workers"),
                    };
                    if n >= count {
                        self.value(
                            &fp.key("target"),
                            format!(
                                "{role} #{n} does not exist: {field} = {count} (instances are numbered from 0)"
                            ),
                        );
                    }
                }
                if f.duration.is_none() && !c.instantaneous {
                    let why = if matches!(f.kind.as_str(), "kill" | "pod-kill") {
                        "required when params.restart = false: how long the component stays down"
                            .to_string()
                    } else {
                        format!("required for {:?}: how long until it is healed (e.g. duration = \"45s\")", f.kind)
                    };
                    self.missing(&fp.key("duration"), &fp.key("at"), why);
                }
            }
            if f.duration.is_some_and(|d| d.get().is_zero()) {
                self.value(&fp.key("duration"), "must be longer than 0s");
            }
            match (f.repeat, f.every) {
                (r, None) if r > 1 => self.missing(
                    &fp.key("every"),
                    &fp.key("repeat"),
                    format!("required when repeat > 1 (here {r}): the time from one injection to the next"),
                ),
                (1, Some(_)) => {
                    self.key(&fp.key("every"), "only with repeat > 1 (the fault is injected once)")
                }
                (_, Some(every)) => {
                    if every.get().is_zero() {
                        self.value(&fp.key("every"), "must be longer than 0s");
                    } else if let Some(d) = f.duration.filter(|d| every < *d) {
                        self.value(
                            &fp.key("every"),
                            format!("must be at least fault[{i}].duration ({d}): each occurrence is healed before the next is injected"),
                        );
                    }
                }
                _ => {}
            }
            if let Some((measured, w)) = measured {
                let sched = f.schedule();
                let last_inject = sched.last().map_or(f.at.get(), |s| s.inject);
                let end = f.end();
                if end > measured || last_inject >= measured {
                    let what = if sched.len() > 1 {
                        format!("its last occurrence (of {}) ", sched.len())
                    } else {
                        String::new()
                    };
                    let when = if end > last_inject {
                        format!("{what}ends at {} after the warm-up", hd(end))
                    } else {
                        format!("{what}is injected at {} after the warm-up", hd(last_inject))
                    };
                    self.value(
                        &fp.key("at"),
                        format!(
                            "the fault does not fit in the workload: {when}, but the workload runs {} after it (duration {} − warmup {}); inject it earlier or lengthen workload.duration",
                            hd(measured),
                            w.duration,
                            w.warmup
                        ),
                    );
                }
            }
        }
    }

    fn checks(&mut self) {
        let sc = self.sc;
        let c = &sc.checks;
        let cp = path("checks");
        for (field, v) in [
            ("availability_before", c.availability_before),
            ("availability_during", c.availability_during),
            ("availability_after", c.availability_after),
        ] {
            if let Some(v) = v {
                if !(0.0..=1.0).contains(&v) {
                    self.value(
                        &cp.key(field),
                        format!("{v} is out of range; accepted: 0 to 1 (the fraction of operations that are ok)"),
                    );
                }
            }
        }
        if let Some(b) = c.baseline_band {
            if !b.is_finite() || b < 1.0 {
                self.value(
                    &cp.key("baseline_band"),
                    format!(
                        "{b} is out of range; accepted: 1 or more (a factor over the baseline p99)"
                    ),
                );
            }
        }
        for (field, v) in [
            ("latency_p99", c.latency_p99),
            ("recovery_within", c.recovery_within),
        ] {
            if v.is_some_and(|d| d.get().is_zero()) {
                self.value(&cp.key(field), "must be longer than 0s");
            }
        }
        let writes = sc.workload.as_ref().is_some_and(|w| w.writes);
        if matches!(sc.kind, Kind::Compat | Kind::Bench) {
            let accepted = if sc.kind == Kind::Compat {
                "not checked by a compat scenario (it runs no workload); accepted there: wrong_answers"
            } else {
                "not checked by a bench scenario (it runs no workload; its own checks are bench_*); accepted there: wrong_answers"
            };
            let workload_checks = [
                ("availability_before", c.availability_before.is_some()),
                ("availability_during", c.availability_during.is_some()),
                ("availability_after", c.availability_after.is_some()),
                ("latency_p99", c.latency_p99.is_some()),
                ("recovery_within", c.recovery_within.is_some()),
                ("baseline_band", c.baseline_band.is_some()),
                ("lost_writes", c.lost_writes.is_some()),
                ("duplicated_writes", c.duplicated_writes.is_some()),
            ];
            for (field, set) in workload_checks {
                if set {
                    self.key(&cp.key(field), accepted);
                }
            }
            return;
        }
        if !writes {
            for (field, set) in [
                ("lost_writes", c.lost_writes.is_some()),
                ("duplicated_writes", c.duplicated_writes.is_some()),
            ] {
                if set {
                    self.key(
                        &cp.key(field),
                        "needs workload.writes = true: without the write workload there is nothing to lose or duplicate",
                    );
                }
            }
        }
        if sc.kind == Kind::Chaos && sc.faults.is_empty() {
            for (field, set) in [
                ("availability_during", c.availability_during.is_some()),
                ("availability_after", c.availability_after.is_some()),
                ("recovery_within", c.recovery_within.is_some()),
            ] {
                if set {
                    self.key(
                        &cp.key(field),
                        "needs at least one [[fault]]: it judges the time during or after faults",
                    );
                }
            }
        }
    }

    fn upgrade(&mut self) {
        let Some(u) = &self.sc.upgrade else { return };
        let up = path("upgrade");
        if u.from == u.to {
            self.value(
                &up.key("to"),
                format!("must differ from upgrade.from ({})", u.from),
            );
        }
        for (field, line) in [("from", u.from), ("to", u.to)] {
            if !self.sc.spark.contains(&line) {
                self.value(
                    &up.key(field),
                    format!(
                        "Spark {line} is not run by this scenario ({}); an upgrade needs both versions",
                        spark_list(&self.sc.spark)
                    ),
                );
            }
        }
        let measured = self.sc.workload.as_ref().map(|w| w.measured());
        if let Some(m) = measured {
            if u.cutover_at.get() >= m {
                self.value(
                    &up.key("cutover_at"),
                    format!(
                        "must be before the end of the workload ({} after the warm-up)",
                        hd(m)
                    ),
                );
            }
        }
        if let Some(rb) = u.rollback_at {
            if rb <= u.cutover_at {
                self.value(
                    &up.key("rollback_at"),
                    format!("must be after upgrade.cutover_at ({})", u.cutover_at),
                );
            } else if let Some(m) = measured.filter(|m| rb.get() >= *m) {
                self.value(
                    &up.key("rollback_at"),
                    format!(
                        "must be before the end of the workload ({} after the warm-up)",
                        hd(m)
                    ),
                );
            }
        }
    }

    fn report(&mut self) {
        if self.sc.report.dir.as_os_str().is_empty() {
            self.value(
                &path("report.dir"),
                "must not be empty (default \"reports\")",
            );
        }
    }
}

/// `[a-z0-9][a-z0-9.-]*`, without `..` or a final `.` (it names report directories).
fn is_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && !name.contains("..")
        && !name.ends_with('.')
}

/// `512m`, `1g`, `2048` (bytes), case-insensitive, greater than 0.
fn is_memory(s: &str) -> bool {
    let s = s.trim();
    let digits = s.trim_end_matches(|c: char| "kKmMgGtT".contains(c));
    s.len() - digits.len() <= 1
        && !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && digits.parse::<u64>().is_ok_and(|n| n > 0)
}

/// One query name the TPC-DS kit knows (`q1` … `q99`, `q07` accepted).
fn is_query_name(n: &str) -> bool {
    let lower = n.trim().to_ascii_lowercase();
    lower.starts_with('q')
        && !lower.contains(',')
        && crate::workload::tpcds::queries::select(&lower).is_ok_and(|v| v.len() == 1)
}
