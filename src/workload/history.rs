//! The history: one record per operation (JSON Lines), and the summary folded from it.
//!
//! Records and the fold are pure data; writing the file is the load driver's business.
//! Latency is measured from the operation's *intended* start (so a stalled system is charged
//! for the queue it causes: coordinated omission corrected); service time from its actual start.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use crate::versions::SparkLine;

/// What an operation did.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum OpKind {
    /// A TPC-DS query.
    Query,
    /// A batch of inserts with unique ids.
    Write,
    /// The final read-back of every written id.
    ReadBack,
}

/// How an operation ended (the rule is in `client/mod.rs`). Written `ok`, `fail`, `info`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum OpOutcome {
    /// It succeeded.
    Ok,
    /// It definitely failed: the server answered with an error, or the connection was refused
    /// before anything was sent.
    Fail,
    /// Unknown: the deadline passed, or the connection was lost mid-flight (or it never ran).
    Info,
}

impl OpOutcome {
    /// `ok`, `fail` or `info`, as the history writes it.
    pub fn name(self) -> &'static str {
        match self {
            OpOutcome::Ok => "ok",
            OpOutcome::Fail => "fail",
            OpOutcome::Info => "info",
        }
    }

    /// Whether it succeeded.
    pub fn is_ok(self) -> bool {
        self == OpOutcome::Ok
    }
}

impl std::fmt::Display for OpOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for OpOutcome {
    type Err = String;

    /// `ok`, `fail` or `info`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ok" => Ok(OpOutcome::Ok),
            "fail" => Ok(OpOutcome::Fail),
            "info" => Ok(OpOutcome::Info),
            _ => Err(format!("unknown outcome `{s}` (accepted: ok, fail, info)")),
        }
    }
}

/// The oracle's verdict on a successful query's answer. Written `correct`, `wrong`,
/// `undetermined`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum OpVerdict {
    /// The answer is the expected one.
    Correct,
    /// The answer differs from the expected one (the record carries the diff).
    Wrong,
    /// The oracle could not decide (e.g. which tied rows a LIMIT keeps).
    Undetermined,
}

impl OpVerdict {
    /// `correct`, `wrong` or `undetermined`, as the history writes it.
    pub fn name(self) -> &'static str {
        match self {
            OpVerdict::Correct => "correct",
            OpVerdict::Wrong => "wrong",
            OpVerdict::Undetermined => "undetermined",
        }
    }
}

impl std::fmt::Display for OpVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One operation, from invocation to completion.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OpRecord {
    /// Sequence number, unique in the run.
    pub op: u64,
    /// What it did.
    pub kind: OpKind,
    /// The Spark version it ran on.
    pub version: SparkLine,
    /// The Connect endpoint it used.
    pub endpoint: String,
    /// The query's name (`q3`), or `write` / `read-back`.
    pub name: String,
    /// Whether it fell in the warm-up (excluded from the summary's latencies and verdicts).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub warmup: bool,
    /// Unix microseconds at which it was meant to start.
    pub intended_us: u64,
    /// Unix microseconds at which it started.
    pub start_us: u64,
    /// Unix microseconds at which it ended.
    pub end_us: u64,
    /// How it ended.
    pub outcome: OpOutcome,
    /// Spark's error class, for `fail` (and some `info`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_class: Option<String>,
    /// SQLSTATE, when the server gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql_state: Option<String>,
    /// The error message or the reason an outcome is unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Rows returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// Order-independent result checksum (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    /// The oracle's verdict on a successful query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<OpVerdict>,
    /// The oracle's diff or reason, for `wrong` and `undetermined`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict_detail: Option<String>,
    /// For writes: the ids `[first, last]` inserted (acknowledged when the outcome is `ok`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ids: Option<[u64; 2]>,
}

impl OpRecord {
    /// An operation meant to start at `intended_us`, not yet run: no timings, and an unknown
    /// outcome (`info`) until it ends.
    pub fn planned(
        op: u64,
        kind: OpKind,
        version: SparkLine,
        name: &str,
        intended_us: u64,
    ) -> OpRecord {
        OpRecord {
            op,
            kind,
            version,
            endpoint: String::new(),
            name: name.to_string(),
            warmup: false,
            intended_us,
            start_us: 0,
            end_us: 0,
            outcome: OpOutcome::Info,
            error_class: None,
            sql_state: None,
            message: None,
            rows: None,
            checksum: None,
            verdict: None,
            verdict_detail: None,
            ids: None,
        }
    }

    /// Microseconds from intended start to end.
    pub fn latency_us(&self) -> u64 {
        self.end_us.saturating_sub(self.intended_us)
    }

    /// Microseconds from actual start to end.
    pub fn service_us(&self) -> u64 {
        self.end_us.saturating_sub(self.start_us)
    }
}

/// One operation as checkers and reports read it: an [`OpRecord`] without what they never read
/// (endpoint, SQLSTATE, rows, checksum), its name shared with every other operation of the same
/// name ([`OpNames`]) and its rare parts (error, wrong answer's diff, write ids) boxed aside.
/// About 64 bytes, against 300 and more for an `OpRecord`: a report over a long history holds
/// one per operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Op {
    /// Sequence number, unique in the run.
    pub op: u64,
    /// Unix microseconds at which it was meant to start.
    pub intended_us: u64,
    /// Unix microseconds at which it started.
    pub start_us: u64,
    /// Unix microseconds at which it ended.
    pub end_us: u64,
    /// The query's name (`q3`), or `write` / `read-back`.
    pub name: std::sync::Arc<str>,
    /// Error class and message (non-`ok` only), a wrong answer's diff, write ids.
    extra: Option<Box<OpExtra>>,
    /// What it did.
    pub kind: OpKind,
    /// The Spark version it ran on.
    pub version: SparkLine,
    /// How it ended.
    pub outcome: OpOutcome,
    /// The oracle's verdict on a successful query.
    pub verdict: Option<OpVerdict>,
    /// Whether it fell in the warm-up.
    pub warmup: bool,
}

/// The parts of an [`Op`] that few operations have.
#[derive(Debug, Clone, PartialEq)]
struct OpExtra {
    error_class: Option<String>,
    message: Option<String>,
    verdict_detail: Option<String>,
    ids: Option<[u64; 2]>,
}

/// Shares one allocation between every [`Op`] of the same name.
#[derive(Debug, Default)]
pub struct OpNames(std::collections::HashMap<String, std::sync::Arc<str>>);

impl OpNames {
    /// The shared name.
    pub fn get(&mut self, name: String) -> std::sync::Arc<str> {
        if let Some(n) = self.0.get(&name) {
            return n.clone();
        }
        let shared: std::sync::Arc<str> = name.as_str().into();
        self.0.insert(name, shared.clone());
        shared
    }
}

impl Op {
    /// The compact form of a record: the error class and message are kept for non-`ok`
    /// outcomes, the oracle's detail for `wrong` answers only.
    pub fn from_record(r: OpRecord, names: &mut OpNames) -> Op {
        let bad = r.outcome != OpOutcome::Ok;
        let extra = OpExtra {
            error_class: r.error_class.filter(|_| bad),
            message: r.message.filter(|_| bad),
            verdict_detail: r
                .verdict_detail
                .filter(|_| r.verdict == Some(OpVerdict::Wrong)),
            ids: r.ids,
        };
        let rare = extra.error_class.is_some()
            || extra.message.is_some()
            || extra.verdict_detail.is_some()
            || extra.ids.is_some();
        Op {
            op: r.op,
            intended_us: r.intended_us,
            start_us: r.start_us,
            end_us: r.end_us,
            name: names.get(r.name),
            extra: rare.then(|| Box::new(extra)),
            kind: r.kind,
            version: r.version,
            outcome: r.outcome,
            verdict: r.verdict,
            warmup: r.warmup,
        }
    }

    /// The compact form of each record (for tests and small histories).
    pub fn all(records: &[OpRecord]) -> Vec<Op> {
        let mut names = OpNames::default();
        records
            .iter()
            .map(|r| Op::from_record(r.clone(), &mut names))
            .collect()
    }

    /// Spark's error class (non-`ok` operations only).
    pub fn error_class(&self) -> Option<&str> {
        self.extra.as_ref()?.error_class.as_deref()
    }

    /// The error message or why the outcome is unknown (non-`ok` operations only).
    pub fn message(&self) -> Option<&str> {
        self.extra.as_ref()?.message.as_deref()
    }

    /// The oracle's diff of a `wrong` answer.
    pub fn verdict_detail(&self) -> Option<&str> {
        self.extra.as_ref()?.verdict_detail.as_deref()
    }

    /// For writes: the ids `[first, last]` inserted.
    pub fn ids(&self) -> Option<[u64; 2]> {
        self.extra.as_ref()?.ids
    }

    /// Microseconds from intended start to end.
    pub fn latency_us(&self) -> u64 {
        self.end_us.saturating_sub(self.intended_us)
    }
}

/// Counters and latency distribution of one (version, name) pair.
#[derive(Debug, Clone)]
pub struct Stats {
    /// Operations.
    pub count: u64,
    /// `ok` outcomes.
    pub ok: u64,
    /// `fail` outcomes.
    pub fail: u64,
    /// `info` outcomes.
    pub info: u64,
    /// Oracle: correct answers.
    pub correct: u64,
    /// Oracle: wrong answers.
    pub wrong: u64,
    /// Oracle: undetermined answers.
    pub undetermined: u64,
    /// Latency from intended start, microseconds.
    pub latency: Histogram<u64>,
    /// Service time from actual start, microseconds.
    pub service: Histogram<u64>,
    /// Error classes seen, with counts.
    pub errors: BTreeMap<String, u64>,
}

/// A histogram for microsecond latencies from 1 µs to 1 h at 3 significant digits; memory is
/// fixed (about 200 KiB), however many values are recorded.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("static histogram bounds are valid")
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            count: 0,
            ok: 0,
            fail: 0,
            info: 0,
            correct: 0,
            wrong: 0,
            undetermined: 0,
            latency: new_histogram(),
            service: new_histogram(),
            errors: BTreeMap::new(),
        }
    }
}

impl Stats {
    /// Adds one record.
    pub fn add(&mut self, r: &OpRecord) {
        self.count += 1;
        match r.outcome {
            OpOutcome::Ok => self.ok += 1,
            OpOutcome::Fail => self.fail += 1,
            OpOutcome::Info => self.info += 1,
        }
        match r.verdict {
            Some(OpVerdict::Correct) => self.correct += 1,
            Some(OpVerdict::Wrong) => self.wrong += 1,
            Some(OpVerdict::Undetermined) => self.undetermined += 1,
            None => {}
        }
        if r.outcome != OpOutcome::Ok {
            let key = r
                .error_class
                .clone()
                .unwrap_or_else(|| format!("({})", r.outcome));
            *self.errors.entry(key).or_default() += 1;
        }
        // Saturate rather than fail on values beyond an hour.
        self.latency.saturating_record(r.latency_us().max(1));
        self.service.saturating_record(r.service_us().max(1));
    }

    /// Merges another's counts and histograms into this one.
    pub fn merge(&mut self, other: &Stats) {
        self.count += other.count;
        self.ok += other.ok;
        self.fail += other.fail;
        self.info += other.info;
        self.correct += other.correct;
        self.wrong += other.wrong;
        self.undetermined += other.undetermined;
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.latency.add(&other.latency);
        let _ = self.service.add(&other.service);
        for (k, v) in &other.errors {
            *self.errors.entry(k.clone()).or_default() += v;
        }
    }
}

/// Per (version, kind, name) statistics over the non-warm-up records.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// The statistics.
    pub rows: BTreeMap<(SparkLine, OpKind, String), Stats>,
}

impl Summary {
    /// Adds a record (warm-up records are skipped).
    pub fn add(&mut self, r: &OpRecord) {
        if r.warmup {
            return;
        }
        self.rows
            .entry((r.version, r.kind, r.name.clone()))
            .or_default()
            .add(r);
    }

    /// Folds records into a summary.
    pub fn of<'a>(records: impl IntoIterator<Item = &'a OpRecord>) -> Summary {
        let mut s = Summary::default();
        for r in records {
            s.add(r);
        }
        s
    }

    /// The totals of one version's queries.
    pub fn total(&self, version: SparkLine, kind: OpKind) -> Stats {
        let mut t = Stats::default();
        for ((v, k, _), s) in &self.rows {
            if *v == version && *k == kind {
                t.merge(s);
            }
        }
        t
    }

    /// Renders the summary table: per version and name, counts, outcomes, latency
    /// percentiles (milliseconds, from intended start) and oracle verdicts.
    pub fn render(&self) -> String {
        use std::fmt::Write as _;
        let header = [
            "VERSION", "OP", "COUNT", "OK", "FAIL", "INFO", "P50ms", "P95ms", "P99ms", "MAXms",
            "CORRECT", "WRONG", "UNDET",
        ];
        let ms =
            |h: &Histogram<u64>, q: f64| format!("{:.0}", h.value_at_quantile(q) as f64 / 1000.0);
        let mut rows: Vec<Vec<String>> = Vec::new();
        let mut versions: Vec<SparkLine> = self.rows.keys().map(|(v, _, _)| *v).collect();
        versions.dedup();
        let row = |v: SparkLine, name: &str, s: &Stats| {
            vec![
                v.to_string(),
                name.to_string(),
                s.count.to_string(),
                s.ok.to_string(),
                s.fail.to_string(),
                s.info.to_string(),
                ms(&s.latency, 0.5),
                ms(&s.latency, 0.95),
                ms(&s.latency, 0.99),
                format!("{:.0}", s.latency.max() as f64 / 1000.0),
                s.correct.to_string(),
                s.wrong.to_string(),
                s.undetermined.to_string(),
            ]
        };
        for v in versions {
            let mut names: Vec<(&OpKind, &String, &Stats)> = self
                .rows
                .iter()
                .filter(|((rv, _, _), _)| *rv == v)
                .map(|((_, k, n), s)| (k, n, s))
                .collect();
            names.sort_by(|a, b| a.0.cmp(b.0).then_with(|| natural(a.1).cmp(&natural(b.1))));
            for (_, n, s) in &names {
                rows.push(row(v, n, s));
            }
            let total = self.total(v, OpKind::Query);
            if total.count > 0 {
                rows.push(row(v, "all queries", &total));
            }
        }
        let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
        for r in &rows {
            for (i, c) in r.iter().enumerate() {
                widths[i] = widths[i].max(c.len());
            }
        }
        let mut out = String::new();
        let fmt_row = |cells: Vec<String>| {
            let mut s = String::new();
            for (i, c) in cells.iter().enumerate() {
                if i < 2 {
                    let _ = write!(s, "{c:<w$}  ", w = widths[i]);
                } else {
                    let _ = write!(s, "{c:>w$}  ", w = widths[i]);
                }
            }
            s.trim_end().to_string()
        };
        let _ = writeln!(
            out,
            "{}",
            fmt_row(header.iter().map(|s| s.to_string()).collect())
        );
        for r in rows {
            let _ = writeln!(out, "{}", fmt_row(r));
        }
        out
    }
}

/// Sort key that puts `q2` before `q10`.
fn natural(name: &str) -> (String, u64) {
    let digits: String = name.chars().filter(|c| c.is_ascii_digit()).collect();
    let prefix: String = name.chars().filter(|c| !c.is_ascii_digit()).collect();
    (prefix, digits.parse().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(
        op: u64,
        v: SparkLine,
        name: &str,
        intended: u64,
        start: u64,
        end: u64,
        outcome: &str,
    ) -> OpRecord {
        OpRecord {
            op,
            kind: OpKind::Query,
            version: v,
            endpoint: "sc://127.0.0.1:1".into(),
            name: name.into(),
            warmup: false,
            intended_us: intended,
            start_us: start,
            end_us: end,
            outcome: outcome.parse().expect("an outcome"),
            error_class: (outcome == "fail").then(|| "TABLE_OR_VIEW_NOT_FOUND".to_string()),
            sql_state: None,
            message: None,
            rows: Some(1),
            checksum: None,
            verdict: (outcome == "ok").then_some(OpVerdict::Correct),
            verdict_detail: None,
            ids: None,
        }
    }

    #[test]
    fn an_op_is_compact_and_keeps_what_checkers_read() {
        assert!(
            std::mem::size_of::<Op>() <= 64,
            "{}",
            std::mem::size_of::<Op>()
        );
        let mut names = OpNames::default();
        let mut bad = rec(1, SparkLine::V3_5, "q3", 0, 1, 2, "fail");
        bad.message = Some("boom".into());
        let good = rec(2, SparkLine::V3_5, "q3", 0, 1, 2, "ok");
        let (a, b) = (
            Op::from_record(bad, &mut names),
            Op::from_record(good, &mut names),
        );
        assert!(std::sync::Arc::ptr_eq(&a.name, &b.name), "one name, shared");
        assert_eq!(
            (a.error_class(), a.message()),
            (Some("TABLE_OR_VIEW_NOT_FOUND"), Some("boom"))
        );
        assert_eq!((b.error_class(), b.extra.is_none()), (None, true));
        assert_eq!(a.latency_us(), 2);
    }

    #[test]
    fn latency_counts_from_the_intended_start() {
        // Meant to start at 0, stuck in a queue until 900 ms, served in 100 ms.
        let r = rec(1, SparkLine::V3_5, "q3", 0, 900_000, 1_000_000, "ok");
        assert_eq!(r.latency_us(), 1_000_000);
        assert_eq!(r.service_us(), 100_000);
    }

    #[test]
    fn summary_counts_outcomes_verdicts_and_skips_warmup() {
        let mut records = vec![
            rec(1, SparkLine::V3_5, "q3", 0, 0, 10_000, "ok"),
            rec(2, SparkLine::V3_5, "q3", 0, 0, 20_000, "fail"),
            rec(3, SparkLine::V3_5, "q10", 0, 0, 30_000, "info"),
            rec(4, SparkLine::V4_1, "q3", 0, 0, 40_000, "ok"),
        ];
        let mut w = rec(5, SparkLine::V4_1, "q3", 0, 0, 9_000_000, "ok");
        w.warmup = true;
        records.push(w);
        let s = Summary::of(&records);
        let q3 = &s.rows[&(SparkLine::V3_5, OpKind::Query, "q3".to_string())];
        assert_eq!(
            (q3.count, q3.ok, q3.fail, q3.info, q3.correct),
            (2, 1, 1, 0, 1)
        );
        assert_eq!(q3.errors["TABLE_OR_VIEW_NOT_FOUND"], 1);
        let t = s.total(SparkLine::V3_5, OpKind::Query);
        assert_eq!((t.count, t.info), (3, 1));
        let v41 = s.total(SparkLine::V4_1, OpKind::Query);
        assert_eq!(v41.count, 1, "warm-up excluded");
        assert!(v41.latency.max() < 41_000);
    }

    #[test]
    fn summary_table_snapshot() {
        let records = vec![
            rec(1, SparkLine::V3_5, "q10", 0, 0, 30_000, "ok"),
            rec(2, SparkLine::V3_5, "q3", 0, 0, 10_000, "ok"),
            rec(3, SparkLine::V4_1, "q3", 0, 5_000, 20_000, "fail"),
        ];
        let expected = "\
VERSION  OP           COUNT  OK  FAIL  INFO  P50ms  P95ms  P99ms  MAXms  CORRECT  WRONG  UNDET
3.5.7    q3               1   1     0     0     10     10     10     10        1      0      0
3.5.7    q10              1   1     0     0     30     30     30     30        1      0      0
3.5.7    all queries      2   2     0     0     10     30     30     30        2      0      0
4.1.0    q3               1   0     1     0     20     20     20     20        0      0      0
4.1.0    all queries      1   0     1     0     20     20     20     20        0      0      0
";
        assert_eq!(Summary::of(&records).render(), expected);
    }

    #[test]
    fn records_round_trip_as_json_lines() {
        let r = rec(7, SparkLine::V4_1, "q3", 1, 2, 3, "ok");
        let line = serde_json::to_string(&r).unwrap();
        assert!(line.contains("\"version\":\"4.1.0\""), "{line}");
        assert!(!line.contains("warmup"), "false warm-up is omitted: {line}");
        assert_eq!(serde_json::from_str::<OpRecord>(&line).unwrap(), r);
    }

    #[test]
    fn the_committed_example_history_reads_and_writes_back_byte_for_byte() {
        let text = include_str!("../../reports/examples/s3-outage/history.jsonl");
        let mut lines = 0;
        for line in text.lines() {
            let r: OpRecord = serde_json::from_str(line).expect("a record");
            assert_eq!(serde_json::to_string(&r).unwrap(), line);
            lines += 1;
        }
        assert_eq!(lines, 246);
    }

    #[test]
    fn outcomes_and_verdicts_are_written_as_before() {
        let names = |v: serde_json::Value| v.to_string();
        for (o, name) in [
            (OpOutcome::Ok, "ok"),
            (OpOutcome::Fail, "fail"),
            (OpOutcome::Info, "info"),
        ] {
            assert_eq!(
                names(serde_json::to_value(o).unwrap()),
                format!("\"{name}\"")
            );
            assert_eq!(
                (o.to_string(), name.parse::<OpOutcome>()),
                (name.into(), Ok(o))
            );
        }
        for (v, name) in [
            (OpVerdict::Correct, "correct"),
            (OpVerdict::Wrong, "wrong"),
            (OpVerdict::Undetermined, "undetermined"),
        ] {
            assert_eq!(
                names(serde_json::to_value(v).unwrap()),
                format!("\"{name}\"")
            );
            assert_eq!(v.to_string(), name);
        }
        let mut r = rec(7, SparkLine::V4_1, "q19", 0, 1, 2, "fail");
        r.verdict = Some(OpVerdict::Undetermined);
        let line = serde_json::to_string(&r).unwrap();
        assert!(
            line.contains(r#""outcome":"fail""#) && line.contains(r#""verdict":"undetermined""#)
        );
        assert_eq!(serde_json::from_str::<OpRecord>(&line).unwrap(), r);
        assert!(serde_json::from_str::<OpRecord>(&line.replace("\"fail\"", "\"FAIL\"")).is_err());
        assert!("".parse::<OpOutcome>().is_err());
    }
}
