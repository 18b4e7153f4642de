//! Running a bench against a live environment: the power run (each query on each version,
//! one at a time, in the order [`order`] gives) and the throughput run (K concurrent streams
//! per version, each in its own permutation of the queries). Every answer goes through the
//! oracle judge; Spark's metrics of every timed run are read from the Connect server's REST
//! API through the operation's job tag.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::metrics::Api;
use super::model::Sample;
use crate::client::{ClientError, Session, SessionOptions};
use crate::scenario::BenchOrder;
use crate::versions::SparkLine;
use crate::workload::history::OpVerdict;
use crate::workload::load::{Judge, LoadQuery};

/// One run of the power run: which query (index) on which version, and its run number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// Index into the queries.
    pub query: usize,
    /// Index into the versions.
    pub version: usize,
    /// Run number for this query and version (warm-ups first).
    pub run: u32,
    /// A warm-up run.
    pub warmup: bool,
}

/// The order of the power run (pure). `Alternate`: query by query; within a query the
/// versions take turns run by run, and the version that goes first alternates from query to
/// query. `Random`: every warm-up first (shuffled), then every timed run (shuffled), both
/// seeded. Every (query, version) gets `warmup` warm-ups and then `iterations` timed runs, in
/// run-number order.
pub fn order(
    queries: usize,
    versions: usize,
    warmup: u32,
    iterations: u32,
    how: BenchOrder,
    seed: u64,
) -> Vec<Slot> {
    let runs = warmup + iterations;
    let slot = |query, version, run: u32| Slot {
        query,
        version,
        run,
        warmup: run < warmup,
    };
    match how {
        BenchOrder::Alternate => {
            let mut out = Vec::new();
            for q in 0..queries {
                for run in 0..runs {
                    for k in 0..versions {
                        out.push(slot(q, (k + q) % versions, run));
                    }
                }
            }
            out
        }
        BenchOrder::Random => {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut warm: Vec<Slot> = Vec::new();
            let mut timed: Vec<Slot> = Vec::new();
            for q in 0..queries {
                for v in 0..versions {
                    for run in 0..runs {
                        let s = slot(q, v, run);
                        if s.warmup {
                            warm.push(s);
                        } else {
                            timed.push(s);
                        }
                    }
                }
            }
            warm.shuffle(&mut rng);
            timed.shuffle(&mut rng);
            // Keep each (query, version)'s runs in run-number order: renumber by position.
            let mut out = warm;
            out.extend(timed);
            let mut next: BTreeMap<(usize, usize), u32> = BTreeMap::new();
            for s in &mut out {
                let n = next.entry((s.query, s.version)).or_insert(0);
                s.run = *n;
                s.warmup = *n < warmup;
                *n += 1;
            }
            out
        }
    }
}

/// Stream `k`'s permutation of `queries` indices (pure, seeded).
pub fn stream_order(queries: usize, k: u32, seed: u64) -> Vec<usize> {
    let mut v: Vec<usize> = (0..queries).collect();
    let mut rng = StdRng::seed_from_u64(seed ^ (0x5EED_0000 + u64::from(k)));
    v.shuffle(&mut rng);
    v
}

/// Where one version is reached.
#[derive(Debug, Clone)]
pub struct VersionTarget {
    /// The version.
    pub line: SparkLine,
    /// Its first Connect endpoint.
    pub connect: String,
    /// Its first Connect server's REST API, when metrics are collected.
    pub api: Option<String>,
    /// Session settings made on every new session before its first query.
    pub session_conf: Vec<(String, String)>,
}

/// What a bench run works with.
pub struct Bench<'a> {
    /// The versions, older first.
    pub targets: Vec<VersionTarget>,
    /// The queries, qualified for the data set.
    pub queries: Vec<LoadQuery>,
    /// The oracle.
    pub judge: Judge,
    /// Deadline of each query.
    pub timeout: Duration,
    /// Whether to stop early.
    pub interrupted: fn() -> bool,
    /// Progress lines.
    pub say: &'a (dyn Fn(&str) + Sync),
}

/// One version's connection: the session (re-opened after a broken one) and the REST API's
/// application id.
struct Conn {
    target: VersionTarget,
    session: Option<Session>,
    api: Option<(Api, String)>,
}

impl Conn {
    fn new(target: VersionTarget) -> Conn {
        Conn {
            target,
            session: None,
            api: None,
        }
    }

    async fn session(&mut self) -> Result<&Session, ClientError> {
        if self.session.is_none() {
            let s = Session::connect(&self.target.connect, SessionOptions::default()).await?;
            for (k, v) in &self.target.session_conf {
                s.set_conf(k, v, Duration::from_secs(60)).await?;
            }
            self.session = Some(s);
        }
        Ok(self.session.as_ref().expect("just set"))
    }

    /// The REST API and the Connect server's application id (looked up again after a
    /// failure: a restarted server is a new application).
    async fn api(&mut self) -> Result<&(Api, String), String> {
        if self.api.is_none() {
            let base = self
                .target
                .api
                .clone()
                .ok_or("this platform does not expose the Connect server's REST API")?;
            let api = Api::new(&base);
            let apps = api.apps("").await?;
            let app = apps
                .first()
                .ok_or_else(|| format!("{base} lists no application"))?
                .id
                .clone();
            self.api = Some((api, app));
        }
        Ok(self.api.as_ref().expect("just set"))
    }
}

/// Which run of a query this is, and whether Spark's metrics are read for it.
#[derive(Clone, Copy)]
struct Run {
    run: u32,
    warmup: bool,
    stream: Option<u32>,
    metrics: bool,
}

/// Runs one query and judges its answer; Spark's metrics when `r.metrics`.
async fn run_query(
    conn: &mut Conn,
    b: &Bench<'_>,
    q: &LoadQuery,
    r: Run,
    notes: &mut Vec<String>,
) -> Sample {
    let Run {
        run,
        warmup,
        stream,
        metrics,
    } = r;
    let version = conn.target.line;
    let started_ms = crate::units::now_ms();
    let t0 = Instant::now();
    let result = match conn.session().await {
        Ok(s) => s.sql(&q.sql, b.timeout).await,
        Err(e) => Err(e),
    };
    let seconds = t0.elapsed().as_secs_f64();
    let mut sample = Sample {
        query: q.name.clone(),
        version: version.version().to_string(),
        run,
        warmup,
        stream,
        started_ms,
        seconds,
        outcome: "ok".into(),
        answer: "none".into(),
        error: None,
        operation_id: String::new(),
        metrics: None,
    };
    match result {
        Ok(r) => {
            sample.operation_id = r.info.operation_id.clone();
            match (b.judge)(version, &q.name, &r) {
                Some(j) => {
                    sample.answer = j.verdict.name().to_string();
                    if j.verdict == OpVerdict::Wrong {
                        sample.error = j.detail;
                    }
                }
                None => sample.answer = "undetermined".into(),
            }
            if metrics {
                let op = sample.operation_id.clone();
                let got = match conn.api().await {
                    Ok((api, app)) => api.operation(app, &op, Duration::from_secs(5)).await,
                    Err(e) => Err(e),
                };
                match got {
                    Ok(m) => sample.metrics = Some(m),
                    Err(e) => {
                        conn.api = None;
                        if notes.len() < 20 {
                            notes.push(format!("Spark metrics of {} on {version}: {e}", q.name));
                        }
                    }
                }
            }
        }
        Err(e) => {
            let o = e.outcome();
            sample.outcome = o.kind().to_string();
            sample.error = Some(e.to_string());
            if !matches!(e, ClientError::Server { .. }) {
                conn.session = None;
            }
        }
    }
    sample
}

/// The power run. Returns every sample (warm-ups included) and notes on what could not be
/// measured.
pub async fn power(
    b: &Bench<'_>,
    warmup: u32,
    iterations: u32,
    how: BenchOrder,
    seed: u64,
    metrics: bool,
) -> (Vec<Sample>, Vec<String>) {
    let slots = order(
        b.queries.len(),
        b.targets.len(),
        warmup,
        iterations,
        how,
        seed,
    );
    let mut conns: Vec<Conn> = b.targets.iter().cloned().map(Conn::new).collect();
    let mut samples = Vec::with_capacity(slots.len());
    let mut notes = Vec::new();
    let started = Instant::now();
    let total = slots.len();
    let mut last_said = Instant::now() - Duration::from_secs(60);
    for (i, s) in slots.iter().enumerate() {
        if (b.interrupted)() {
            notes.push(format!("interrupted after {i} of {total} runs"));
            break;
        }
        let q = &b.queries[s.query];
        let run = Run {
            run: s.run,
            warmup: s.warmup,
            stream: None,
            metrics: metrics && !s.warmup,
        };
        let sample = run_query(&mut conns[s.version], b, q, run, &mut notes).await;
        if sample.outcome != "ok" || sample.answer == "wrong" {
            (b.say)(&format!(
                "    {} on {}: {} {}",
                q.name,
                sample.version,
                if sample.answer == "wrong" {
                    "wrong answer"
                } else {
                    &sample.outcome
                },
                sample.error.as_deref().unwrap_or("")
            ));
        }
        samples.push(sample);
        if last_said.elapsed() >= Duration::from_secs(15) || i + 1 == total {
            last_said = Instant::now();
            let done = i + 1;
            let elapsed = started.elapsed().as_secs_f64();
            let left = elapsed / done as f64 * (total - done) as f64;
            (b.say)(&format!(
                "    power run: {done}/{total} runs ({}, query {}), {:.0}s elapsed, ~{:.0}s left",
                b.targets[s.version].line, q.name, elapsed, left
            ));
        }
    }
    (samples, notes)
}

/// The throughput run: for each version in turn, `streams` concurrent streams, each running
/// every query once in its own permutation.
pub async fn throughput(b: &Bench<'_>, streams: u32, seed: u64) -> (Vec<Sample>, Vec<String>) {
    let mut samples = Vec::new();
    let mut notes = Vec::new();
    for t in &b.targets {
        if (b.interrupted)() {
            break;
        }
        (b.say)(&format!(
            "    throughput run on {}: {streams} streams × {} queries",
            t.line,
            b.queries.len()
        ));
        let runs = (0..streams).map(|k| {
            let target = t.clone();
            async move {
                let mut conn = Conn::new(target);
                let mut out = Vec::new();
                let mut notes = Vec::new();
                for (i, qi) in stream_order(b.queries.len(), k, seed)
                    .into_iter()
                    .enumerate()
                {
                    if (b.interrupted)() {
                        break;
                    }
                    let q = &b.queries[qi];
                    let run = Run {
                        run: i as u32,
                        warmup: false,
                        stream: Some(k),
                        metrics: false,
                    };
                    out.push(run_query(&mut conn, b, q, run, &mut notes).await);
                }
                (out, notes)
            }
        });
        for (s, n) in futures::future::join_all(runs).await {
            samples.extend(s);
            notes.extend(n);
        }
    }
    (samples, notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(slots: &[Slot], q: usize, v: usize) -> (u32, u32) {
        let of: Vec<&Slot> = slots
            .iter()
            .filter(|s| s.query == q && s.version == v)
            .collect();
        (
            of.iter().filter(|s| s.warmup).count() as u32,
            of.iter().filter(|s| !s.warmup).count() as u32,
        )
    }

    #[test]
    fn alternate_order_takes_turns_and_swaps_who_goes_first() {
        let s = order(2, 2, 1, 2, BenchOrder::Alternate, 1);
        let seq: Vec<(usize, usize, u32, bool)> = s
            .iter()
            .map(|s| (s.query, s.version, s.run, s.warmup))
            .collect();
        assert_eq!(
            seq,
            vec![
                (0, 0, 0, true),
                (0, 1, 0, true),
                (0, 0, 1, false),
                (0, 1, 1, false),
                (0, 0, 2, false),
                (0, 1, 2, false),
                (1, 1, 0, true),
                (1, 0, 0, true),
                (1, 1, 1, false),
                (1, 0, 1, false),
                (1, 1, 2, false),
                (1, 0, 2, false),
            ]
        );
    }

    #[test]
    fn random_order_is_seeded_complete_and_warms_up_first() {
        let a = order(5, 2, 1, 3, BenchOrder::Random, 7);
        let b = order(5, 2, 1, 3, BenchOrder::Random, 7);
        let c = order(5, 2, 1, 3, BenchOrder::Random, 8);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 5 * 2 * 4);
        for q in 0..5 {
            for v in 0..2 {
                assert_eq!(count(&a, q, v), (1, 3));
            }
        }
        let first_timed = a.iter().position(|s| !s.warmup).unwrap();
        assert!(a[..first_timed].iter().all(|s| s.warmup));
        assert!(a[first_timed..].iter().all(|s| !s.warmup));
    }

    #[test]
    fn one_version_and_no_warmup() {
        let s = order(3, 1, 0, 1, BenchOrder::Alternate, 1);
        assert_eq!(s.len(), 3);
        assert!(s.iter().all(|s| !s.warmup && s.version == 0));
    }

    #[test]
    fn streams_permute_every_query_once_each_their_own_way() {
        let a = stream_order(10, 0, 1);
        let b = stream_order(10, 1, 1);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..10).collect::<Vec<_>>());
        assert_ne!(a, b);
        assert_eq!(a, stream_order(10, 0, 1));
    }
}
