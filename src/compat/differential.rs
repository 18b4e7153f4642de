//! The live run: rule verification, the differential part, then the other parts, then cleanup.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use super::classify::{self, Class, Confirmation, Observed};
use super::endpoints::{s3_text, EnvEndpoints, VersionEndpoints};
use super::model::{KeyStatus, RuleStatus, StatementReport, Summary};
use super::plan::{plan_features, PlanComparison, PlanFeatures};
use super::probes::{substitute, ProbeSuite};
use super::rules::{Rule, RuleTable};
use super::{
    clients, coexist, history, CompatConfig, CompatError, CompatReport, ReportOptions, StatementSet,
};
use crate::client::{ClientError, Outcome, QueryResult, Session, SessionOptions};
use crate::versions::SparkLine;
use crate::workload::{sql as wsql, tpcds};

/// One statement of the differential part.
#[derive(Debug, Clone)]
pub(crate) struct Statement {
    pub id: String,
    pub set: &'static str,
    pub title: String,
    pub sql: String,
    pub setup: Vec<String>,
    pub cleanup: Vec<String>,
    pub keep_rows: Vec<String>,
    pub hints: Vec<String>,
    pub expect: String,
}

/// Opens a fresh session.
pub(crate) async fn open(url: &str, timeout: Duration) -> Result<Session, ClientError> {
    let opts = SessionOptions {
        connect_timeout: timeout.min(Duration::from_secs(30)),
        ..SessionOptions::default()
    };
    Session::connect(url, opts).await
}

/// The message of a client error, as its outcome states it.
pub(crate) fn error_text(e: &ClientError) -> String {
    match e.outcome() {
        Outcome::Fail { message, .. } => message,
        Outcome::Info { reason } => reason,
        Outcome::Ok => e.to_string(),
    }
}

/// The first cell of the first row of a result, as text.
pub(crate) fn first_cell(r: &QueryResult, column: usize) -> Option<String> {
    r.rows_as_strings()
        .ok()?
        .into_iter()
        .next()?
        .into_iter()
        .nth(column)
}

fn short(sql: &str) -> String {
    let one_line = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 80 {
        format!("{}…", one_line.chars().take(80).collect::<String>())
    } else {
        one_line
    }
}

/// Whether a statement is a query (so that `EXPLAIN` applies to it).
pub(crate) fn is_query(sql: &str) -> bool {
    let mut rest = sql.trim_start();
    loop {
        if let Some(r) = rest.strip_prefix("--") {
            rest = r.find('\n').map_or("", |n| &r[n + 1..]).trim_start();
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.find("*/").map_or("", |n| &r[n + 2..]).trim_start();
        } else {
            break;
        }
    }
    if rest.starts_with('(') {
        return true;
    }
    let word: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_uppercase();
    matches!(
        word.as_str(),
        "SELECT" | "WITH" | "FROM" | "VALUES" | "TABLE"
    )
}

/// A run id: lowercase hex of the clock in milliseconds, then the pid.
fn new_run_id() -> String {
    let ms = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    format!("{ms:x}p{}", std::process::id())
}

/// Context shared by the executions of one run.
pub(crate) struct Ctx<'a> {
    pub cfg: &'a CompatConfig,
    pub run_id: String,
    pub db: String,
    counter: std::cell::Cell<u64>,
}

impl Ctx<'_> {
    /// A name unique to one execution.
    fn uniq(&self) -> String {
        let n = self.counter.get() + 1;
        self.counter.set(n);
        format!("c{}_{n}", self.run_id)
    }
}

/// What one execution of a statement on one server produced.
struct Execution {
    observed: Observed,
    plan: Option<PlanFeatures>,
    sql: String,
    notes: Vec<String>,
}

/// Runs a statement group in a fresh session on `url`: settings, setup, the statement (and its
/// `EXPLAIN FORMATTED` when asked), cleanup.
async fn execute(
    ctx: &Ctx<'_>,
    version: SparkLine,
    url: &str,
    st: &Statement,
    settings: &[(String, String)],
    explain: bool,
) -> Execution {
    let timeout = ctx.cfg.timeout;
    let uniq = ctx.uniq();
    let sql = substitute(&st.sql, &ctx.db, &uniq);
    let t = Instant::now();
    let ms = |t: &Instant| t.elapsed().as_millis() as u64;
    let mut notes = Vec::new();
    let session = match open(url, timeout).await {
        Ok(s) => s,
        Err(e) => {
            return Execution {
                observed: Observed::from_outcome(&e.outcome(), Some("open a session"), ms(&t)),
                plan: None,
                sql,
                notes,
            }
        }
    };
    let mut failed = None;
    for (k, v) in settings {
        if let Err(e) = session.set_conf(k, v, timeout).await {
            let context = format!("set {k}={v}");
            failed = Some(Observed::from_outcome(&e.outcome(), Some(&context), ms(&t)));
            break;
        }
    }
    if failed.is_none() {
        for s in &st.setup {
            let s = substitute(s, &ctx.db, &uniq);
            if let Err(e) = session.sql(&s, timeout).await {
                let context = format!("setup `{}`", short(&s));
                failed = Some(Observed::from_outcome(&e.outcome(), Some(&context), ms(&t)));
                break;
            }
        }
    }
    let (observed, plan) = match failed {
        Some(o) => (o, None),
        None => match session.sql(&sql, timeout).await {
            Ok(r) => {
                let elapsed = ms(&t);
                let batches = classify::filter_rows(r.batches, &st.keep_rows);
                let observed = Observed::from_batches(r.schema, batches, elapsed);
                let plan = if explain && is_query(&sql) {
                    match session
                        .sql(&format!("EXPLAIN FORMATTED {sql}"), timeout)
                        .await
                    {
                        Ok(p) => first_cell(&p, 0).map(|text| plan_features(&text)),
                        Err(e) => {
                            notes.push(format!(
                                "EXPLAIN FORMATTED failed on {version}: {}",
                                short(&error_text(&e))
                            ));
                            None
                        }
                    }
                } else {
                    None
                };
                (observed, plan)
            }
            Err(e) => (Observed::from_outcome(&e.outcome(), None, ms(&t)), None),
        },
    };
    for c in &st.cleanup {
        let c = substitute(c, &ctx.db, &uniq);
        if let Err(e) = session.sql(&c, timeout).await {
            notes.push(format!(
                "cleanup `{}` failed on {version}: {}",
                short(&c),
                short(&error_text(&e))
            ));
        }
    }
    let _ = session.close(Duration::from_secs(5)).await;
    Execution {
        observed,
        plan,
        sql,
        notes,
    }
}

/// Runs one statement on both versions, and re-runs it under candidate rules when it differs.
async fn run_statement(
    ctx: &Ctx<'_>,
    rules: &RuleTable,
    base: &VersionEndpoints,
    target: &VersionEndpoints,
    st: &Statement,
) -> StatementReport {
    let cfg = ctx.cfg;
    let base_url = base.connect_url().unwrap_or_default();
    let target_url = target.connect_url().unwrap_or_default();
    let b = execute(ctx, base.line, base_url, st, &[], cfg.explain).await;
    let t = execute(ctx, target.line, target_url, st, &[], cfg.explain).await;
    let difference = classify::compare(&b.observed, &t.observed, &b.sql);
    let mut confirmations = Vec::new();
    let mut notes = b.notes;
    notes.extend(t.notes);
    if cfg.confirm_rules && difference.as_ref().is_some_and(|d| !d.is_unknown()) {
        let everything = st.set == "probe";
        let candidates = rules.candidates(&st.hints, everything);
        let mut tries: Vec<Vec<&Rule>> = candidates.iter().map(|r| vec![*r]).collect();
        // A difference may need a rule together with a general one (e.g. ANSI off as well).
        for r in candidates.iter().filter(|r| !r.applies_to_all) {
            for g in rules.rules.iter().filter(|g| g.applies_to_all) {
                tries.push(vec![*r, g]);
            }
        }
        for combo in tries {
            let mut settings: BTreeMap<String, String> = BTreeMap::new();
            for r in &combo {
                settings.extend(r.settings.clone());
            }
            let pairs: Vec<(String, String)> = settings
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let mut rerun = execute(ctx, target.line, target_url, st, &pairs, false).await;
            notes.append(&mut rerun.notes);
            let diff = classify::compare(&b.observed, &rerun.observed, &b.sql);
            rerun.observed.batches.clear();
            let vanished = diff.is_none();
            confirmations.push(Confirmation {
                rules: combo.iter().map(|r| r.id.clone()).collect(),
                settings,
                observed: rerun.observed,
                difference: diff,
            });
            if vanished {
                break;
            }
        }
    } else if !cfg.confirm_rules && difference.as_ref().is_some_and(|d| !d.is_unknown()) {
        notes.push("rule confirmation is off: a difference cannot be explained".into());
    }
    let class = classify::classify(difference.as_ref(), &confirmations);
    notes.extend(classify::schema_notes(&b.observed, &t.observed));
    let plan = match (b.plan, t.plan) {
        (Some(x), Some(y)) => {
            let p = PlanComparison::new(x, y);
            for d in &p.differences {
                notes.push(format!("plan: {d}"));
            }
            Some(p)
        }
        _ => None,
    };
    let mut baseline = b.observed;
    let mut target_obs = t.observed;
    baseline.batches.clear();
    target_obs.batches.clear();
    StatementReport {
        id: st.id.clone(),
        set: st.set.to_string(),
        title: st.title.clone(),
        sql: b.sql,
        expect: (!st.expect.is_empty()).then(|| st.expect.clone()),
        class,
        difference,
        baseline,
        target: target_obs,
        confirmations,
        plan,
        notes,
    }
}

/// Asks both servers about every key of the rule table (`SET key`).
async fn verify_rules(
    rules: &RuleTable,
    base: &VersionEndpoints,
    target: &VersionEndpoints,
    timeout: Duration,
) -> Vec<RuleStatus> {
    async fn values(url: &str, keys: &[String], timeout: Duration) -> Result<Vec<String>, String> {
        let session = open(url, timeout).await.map_err(|e| error_text(&e))?;
        let mut out = Vec::new();
        for k in keys {
            let r = session
                .sql(&format!("SET {k}"), timeout)
                .await
                .map_err(|e| error_text(&e))?;
            out.push(first_cell(&r, 1).unwrap_or_else(|| "<undefined>".into()));
        }
        let _ = session.close(Duration::from_secs(5)).await;
        Ok(out)
    }
    let keys: Vec<String> = rules
        .rules
        .iter()
        .flat_map(|r| r.settings.keys().cloned())
        .collect();
    let base_values = values(base.connect_url().unwrap_or_default(), &keys, timeout).await;
    let target_values = values(target.connect_url().unwrap_or_default(), &keys, timeout).await;
    let defined = |v: &str| v != "<undefined>";
    let mut i = 0;
    rules
        .rules
        .iter()
        .map(|r| {
            let keys: Vec<KeyStatus> = r
                .settings
                .iter()
                .map(|(k, legacy)| {
                    let b = base_values.as_ref().ok().and_then(|v| v.get(i)).cloned();
                    let t = target_values.as_ref().ok().and_then(|v| v.get(i)).cloned();
                    i += 1;
                    let error = match (&base_values, &target_values) {
                        (_, Err(e)) => Some(format!("4.1.0: {e}")),
                        (Err(e), _) => Some(format!("3.5.7: {e}")),
                        _ => None,
                    };
                    KeyStatus {
                        key: k.clone(),
                        legacy_value: legacy.clone(),
                        defined_on_target: t.as_deref().map(defined),
                        target_value: t.filter(|v| defined(v)),
                        baseline_value: b.filter(|v| defined(v)),
                        error,
                    }
                })
                .collect();
            RuleStatus {
                verified: keys.iter().all(|k| k.defined_on_target == Some(true)),
                rule: r.clone(),
                keys,
                confirmed_for: Vec::new(),
            }
        })
        .collect()
}

/// The statements of the configured sets.
fn statements(cfg: &CompatConfig, suite: &ProbeSuite) -> Result<Vec<Statement>, CompatError> {
    let mut out = Vec::new();
    for set in &cfg.statements {
        match set {
            StatementSet::Probes => out.extend(suite.probes.iter().map(|p| Statement {
                id: p.id.clone(),
                set: "probe",
                title: p.title.clone(),
                sql: p.sql.clone(),
                setup: p.setup.clone(),
                cleanup: p.cleanup.clone(),
                keep_rows: p.keep_rows.clone(),
                hints: p.rules.clone(),
                expect: p.expect.clone(),
            })),
            StatementSet::Tpcds { queries } => {
                let qs = tpcds::select_queries(&cfg.cache, queries).map_err(CompatError::Tpcds)?;
                out.extend(qs.into_iter().map(|q| Statement {
                    sql: wsql::qualify_tables(&q.spark_sql, &cfg.scale_db, &tpcds::TABLES),
                    id: q.name,
                    set: "tpcds",
                    title: String::new(),
                    setup: Vec::new(),
                    cleanup: Vec::new(),
                    keep_rows: Vec::new(),
                    hints: Vec::new(),
                    expect: String::new(),
                }));
            }
        }
    }
    Ok(out)
}

/// Creates (or drops) the scratch database on one version.
async fn scratch_db(url: &str, db: &str, create: bool, timeout: Duration) -> Result<(), String> {
    let session = open(url, timeout).await.map_err(|e| error_text(&e))?;
    let sql = if create {
        format!("CREATE DATABASE IF NOT EXISTS {db}")
    } else {
        format!("DROP DATABASE IF EXISTS {db} CASCADE")
    };
    let r = session.sql(&sql, timeout).await.map_err(|e| error_text(&e));
    let _ = session.close(Duration::from_secs(5)).await;
    r.map(|_| ())
}

/// The whole run (see [`super::run`]).
pub(crate) async fn run_all(
    env: &EnvEndpoints,
    cfg: &CompatConfig,
    progress: &dyn Fn(&str),
) -> Result<CompatReport, CompatError> {
    let t0 = Instant::now();
    let started_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let rules = RuleTable::builtin()?;
    let suite = ProbeSuite::builtin()?;
    suite.check_against(&rules)?;
    let version = |line: SparkLine| {
        env.version(line)
            .filter(|v| !v.connect.is_empty())
            .ok_or_else(|| CompatError::MissingVersion(line.to_string()))
    };
    let base = version(SparkLine::V3_5)?;
    let target = version(SparkLine::V4_1)?;
    let statements = statements(cfg, &suite)?;
    let run_id = cfg.run_id.clone().unwrap_or_else(new_run_id);
    let ctx = Ctx {
        cfg,
        db: format!("compat_{run_id}"),
        run_id: run_id.clone(),
        counter: std::cell::Cell::new(0),
    };
    let mut notes = Vec::new();

    progress(&format!(
        "compat run {run_id}: checking {} rules against both servers",
        rules.rules.len()
    ));
    let mut rule_status = verify_rules(&rules, base, target, cfg.timeout).await;
    for r in rule_status.iter().filter(|r| !r.verified) {
        progress(&format!(
            "  rule {}: not every key is defined on 4.1.0",
            r.rule.id
        ));
    }

    for v in [base, target] {
        if let Err(e) = scratch_db(
            v.connect_url().unwrap_or_default(),
            &ctx.db,
            true,
            cfg.timeout,
        )
        .await
        {
            notes.push(format!(
                "could not create the scratch database {} on {}: {e}",
                ctx.db, v.line
            ));
        }
    }

    let mut reports = Vec::with_capacity(statements.len());
    for (i, st) in statements.iter().enumerate() {
        let r = run_statement(&ctx, &rules, base, target, st).await;
        progress(&format!(
            "[{}/{}] {} {}: {}{}",
            i + 1,
            statements.len(),
            st.set,
            st.id,
            r.class.label(),
            r.difference
                .as_ref()
                .map(|d| format!(" — {}", d.describe()))
                .unwrap_or_default()
        ));
        reports.push(r);
    }
    for status in &mut rule_status {
        status.confirmed_for = reports
            .iter()
            .filter(|r| matches!(&r.class, Class::Expected { rules } if rules.contains(&status.rule.id)))
            .map(|r| r.id.clone())
            .collect();
    }

    let coexistence = if cfg.coexistence {
        progress("coexistence: tables written by one version, read by the other");
        Some(coexist::run(env, base, target, &ctx, progress).await)
    } else {
        None
    };
    let history = if cfg.history {
        progress("history servers: listing and loading event logs of both versions");
        Some(history::run(env, base, target, &ctx, progress).await)
    } else {
        None
    };
    let clients = if cfg.clients {
        progress("client matrix: RPCs against both servers");
        Some(clients::run(base, target, cfg.timeout).await)
    } else {
        None
    };

    progress("cleaning up scratch databases and prefixes");
    for v in [base, target] {
        if let Err(e) = scratch_db(
            v.connect_url().unwrap_or_default(),
            &ctx.db,
            false,
            cfg.timeout,
        )
        .await
        {
            notes.push(format!(
                "could not drop the scratch database {} on {}: {e}",
                ctx.db, v.line
            ));
        }
    }
    match env.s3() {
        Ok(s3) => {
            let prefix = format!("compat/{run_id}/");
            if let Err(e) = s3.delete_prefix(&prefix).await {
                notes.push(format!(
                    "could not delete s3://{}/{prefix}: {}",
                    env.bucket,
                    s3_text(&e)
                ));
            }
        }
        Err(e) => notes.push(format!("could not clean up S3: {e}")),
    }

    let summary = Summary::of(&reports);
    Ok(CompatReport {
        run_id,
        started_at,
        took_secs: t0.elapsed().as_secs_f64(),
        baseline: base.line.to_string(),
        target: target.line.to_string(),
        options: ReportOptions {
            statements: cfg.statements.clone(),
            confirm_rules: cfg.confirm_rules,
            explain: cfg.explain,
            timeout_secs: cfg.timeout.as_secs_f64(),
            scale_db: cfg.scale_db.clone(),
        },
        rules: rule_status,
        statements: reports,
        summary,
        coexistence,
        history,
        clients,
        notes,
    })
}
