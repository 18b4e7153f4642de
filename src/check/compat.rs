//! The checks of a compat run (pure): run-wide verdicts from its report's data.

use serde_json::json;

use crate::check::model::{CheckResult, Verdict};
use crate::compat::classify::Class;
use crate::compat::model::{CompatReport, StatementReport};

/// A run-wide check: `Invalid` when `invalid`, else `Unknown` when `unknown`, else `Valid`;
/// its reason is the one of `[valid, invalid, unknown]` for that verdict.
fn check(
    name: &str,
    (invalid, unknown): (bool, bool),
    expected: &str,
    observed: String,
    [if_valid, if_invalid, if_unknown]: [String; 3],
    details: serde_json::Value,
) -> CheckResult {
    let (verdict, reason) = if invalid {
        (Verdict::Invalid, if_invalid)
    } else if unknown {
        (Verdict::Unknown, if_unknown)
    } else {
        (Verdict::Valid, if_valid)
    };
    CheckResult {
        check: name.into(),
        version: None,
        verdict,
        expected: expected.into(),
        observed,
        reason,
        details,
    }
}

/// The report's checks (run-wide, `version` = None):
///
/// - `compat_unexplained` (`= 0`): statements whose difference no rule explains, not counting
///   probes acknowledged as unexplained in `probes.toml` (`expect = "unexplained"`: documented
///   changes without any legacy setting); those are listed in the details.
/// - `compat_rules`: every legacy key of the rule table is defined on 4.1.0.
/// - `coexistence`: each metastore holds exactly its own version's tables; each History Server
///   lists only applications of its own version.
/// - `data_compat`: Parquet tables written by either version read back equal by the other.
/// - `history_matrix`: each History Server lists and loads event logs of both versions.
/// - `client_matrix`: no RPC fails on a server unless documented.
pub fn checks(r: &CompatReport) -> Vec<CheckResult> {
    let mut out = Vec::new();

    let s = &r.summary;
    let unexplained: Vec<&StatementReport> = r
        .statements
        .iter()
        .filter(|x| x.class == Class::Unexplained)
        .collect();
    let (known, new): (Vec<&StatementReport>, Vec<&StatementReport>) = unexplained
        .iter()
        .partition(|x| x.expect.as_deref() == Some("unexplained"));
    let ids = |v: &[&StatementReport]| v.iter().map(|x| x.id.clone()).collect::<Vec<_>>();
    out.push(check(
        "compat_unexplained",
        (
            !new.is_empty(),
            r.statements.is_empty() || s.undetermined > 0,
        ),
        "= 0",
        format!(
            "{} unexplained ({} acknowledged in probes.toml) of {} statements; {} identical, {} expected, {} undetermined",
            new.len(),
            known.len(),
            s.statements,
            s.identical,
            s.expected,
            s.undetermined
        ),
        [
            "every difference between the versions vanished under a confirmed legacy setting".into(),
            format!("differences no rule explains: {}", ids(&new).join(", ")),
            if r.statements.is_empty() {
                "no statement was run".into()
            } else {
                format!("{} statements have an unknown outcome", s.undetermined)
            },
        ],
        json!({
            "unexplained": ids(&new),
            "acknowledged_unexplained": ids(&known),
            "undetermined": r.statements.iter().filter(|x| matches!(x.class, Class::Undetermined { .. })).map(|x| x.id.clone()).collect::<Vec<_>>(),
            "by_rule": s.by_rule,
        }),
    ));

    let unverified: Vec<String> = r
        .rules
        .iter()
        .filter(|x| !x.verified)
        .map(|x| x.rule.id.clone())
        .collect();
    let asked = r
        .rules
        .iter()
        .all(|x| x.keys.iter().all(|k| k.defined_on_target.is_some()));
    out.push(check(
        "compat_rules",
        (asked && !unverified.is_empty(), !asked),
        "every legacy key defined on 4.1.0",
        format!(
            "{} of {} rules verified",
            r.rules.len() - unverified.len(),
            r.rules.len()
        ),
        [
            "4.1.0 defines every key of the rule table".into(),
            format!("keys undefined on 4.1.0 in rules {}", unverified.join(", ")),
            "4.1.0 could not be asked about every key".into(),
        ],
        json!({ "unverified": unverified }),
    ));

    if let Some(c) = &r.coexistence {
        let violated: Vec<String> = c
            .isolation
            .iter()
            .filter(|i| i.present.is_some() && !i.ok())
            .map(|i| {
                format!(
                    "{} in metastore {} (created by {})",
                    i.table, i.metastore, i.created_by
                )
            })
            .chain(c.event_logs.iter().flat_map(|l| {
                l.foreign
                    .iter()
                    .map(move |f| format!("{f} listed from {}", l.prefix))
            }))
            .collect();
        let unknown = c.isolation.iter().any(|i| i.present.is_none())
            || c.isolation.is_empty()
            || c.event_logs.iter().any(|l| l.listed.is_none());
        let held = c.isolation.iter().filter(|i| i.ok()).count();
        out.push(check(
            "coexistence",
            (!violated.is_empty(), unknown),
            "each metastore and event log prefix holds only its own version's objects",
            format!(
                "{held} of {} metastore checks hold; {} foreign event logs",
                c.isolation.len(),
                c.event_logs.iter().map(|l| l.foreign.len()).sum::<usize>()
            ),
            [
                "the versions share only PostgreSQL and MinIO, each in its own database and prefix"
                    .into(),
                violated.join("; "),
                "a metastore or History Server could not be asked".into(),
            ],
            json!({ "violations": violated }),
        ));

        let bad: Vec<String> = c
            .data
            .iter()
            .filter(|d| d.status == "mismatch" || d.status == "read_failed")
            .map(|d| {
                format!(
                    "{} written by {} read by {}: {}",
                    d.kind, d.writer, d.reader, d.status
                )
            })
            .collect();
        let unwritten = c.data.iter().any(|d| d.status == "write_failed");
        let ok = c.data.iter().filter(|d| d.status == "ok").count();
        out.push(check(
            "data_compat",
            (!bad.is_empty(), unwritten || c.data.is_empty()),
            "every table written by one version reads back equal on the other",
            format!("{ok} of {} tables equal", c.data.len()),
            [
                "plain and partitioned Parquet tables read back with equal checksums both ways"
                    .into(),
                bad.join("; "),
                "a table could not be written".into(),
            ],
            serde_json::to_value(&c.data).unwrap_or_default(),
        ));
    }

    if let Some(hs) = &r.history {
        let failed: Vec<String> = hs
            .matrix
            .iter()
            .filter(|c| !c.ok && c.app_id.is_some())
            .map(|c| format!("History Server {} × log of {}", c.server, c.log))
            .collect();
        let missing = hs.matrix.iter().any(|c| c.app_id.is_none()) || hs.matrix.is_empty();
        out.push(check(
            "history_matrix",
            (!failed.is_empty(), missing),
            "each History Server lists and loads event logs of both versions",
            format!(
                "{} of {} cells ok",
                hs.matrix.iter().filter(|c| c.ok).count(),
                hs.matrix.len()
            ),
            [
                "both History Servers list and load logs written by both versions".into(),
                format!("failed: {}", failed.join(", ")),
                "no finished event log of some version to test with".into(),
            ],
            serde_json::to_value(&hs.matrix).unwrap_or_default(),
        ));
    }

    if let Some(cm) = &r.clients {
        let unexpected: Vec<String> = cm
            .rows
            .iter()
            .flat_map(|row| {
                row.unexpected_failures()
                    .into_iter()
                    .map(move |v| format!("{} ({}) on {v}", row.rpc, row.what))
            })
            .collect();
        let differing: Vec<String> = cm
            .rows
            .iter()
            .filter(|r| !r.same())
            .map(|r| r.rpc.clone())
            .collect();
        out.push(check(
            "client_matrix",
            (!unexpected.is_empty(), cm.rows.is_empty()),
            "every RPC works on both servers unless documented",
            format!(
                "{} rows, {} differ between versions ({}), {} unexpected failures",
                cm.rows.len(),
                differing.len(),
                differing.join(", "),
                unexpected.len()
            ),
            [
                "the client works against both servers; differences are the documented ones".into(),
                unexpected.join("; "),
                "no RPC was tried".into(),
            ],
            serde_json::to_value(&cm.rows).unwrap_or_default(),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compat::tests::{report, statement};
    use crate::compat::*;

    #[test]
    fn checks_count_new_unexplained_differences_only() {
        let verdict_of = |r: &CompatReport, name: &str| {
            checks(r)
                .into_iter()
                .find(|c| c.check == name)
                .unwrap_or_else(|| panic!("{name}"))
        };
        let clean = report(vec![
            statement("same", Class::Identical, None),
            statement("known", Class::Unexplained, Some("unexplained")),
        ]);
        let c = verdict_of(&clean, "compat_unexplained");
        assert_eq!(c.verdict, crate::check::Verdict::Valid, "{c:?}");
        assert!(
            c.observed.starts_with("0 unexplained (1 acknowledged"),
            "{}",
            c.observed
        );
        assert_eq!(
            verdict_of(&clean, "compat_rules").verdict,
            crate::check::Verdict::Valid
        );

        let bad = report(vec![statement("new", Class::Unexplained, Some("expected"))]);
        let c = verdict_of(&bad, "compat_unexplained");
        assert_eq!(c.verdict, crate::check::Verdict::Invalid);
        assert!(c.reason.contains("new"));

        let unknown = report(vec![statement(
            "slow",
            Class::Undetermined {
                reason: "deadline".into(),
            },
            None,
        )]);
        assert_eq!(
            verdict_of(&unknown, "compat_unexplained").verdict,
            crate::check::Verdict::Unknown
        );
        assert_eq!(
            verdict_of(&report(Vec::new()), "compat_unexplained").verdict,
            crate::check::Verdict::Unknown
        );

        let mut unverified = report(Vec::new());
        unverified.rules[0].verified = false;
        assert_eq!(
            verdict_of(&unverified, "compat_rules").verdict,
            crate::check::Verdict::Invalid
        );
        // Parts not run produce no checks.
        assert!(checks(&clean).iter().all(|c| c.check != "data_compat"));
    }

    #[test]
    fn other_parts_turn_into_checks() {
        let mut r = report(vec![statement("same", Class::Identical, None)]);
        r.coexistence = Some(CoexistenceReport {
            scratch_prefix: "s3a://chaos/compat/r1/".into(),
            data: vec![
                DataCompatCase {
                    kind: "plain".into(),
                    writer: "3.5.7".into(),
                    reader: "4.1.0".into(),
                    location: "s3a://chaos/compat/r1/from35/plain/".into(),
                    writer_table: "compat_r1.w35_plain".into(),
                    reader_table: "compat_r1.r35_plain".into(),
                    written: None,
                    read: None,
                    status: "ok".into(),
                    error: None,
                },
                DataCompatCase {
                    kind: "partitioned".into(),
                    writer: "4.1.0".into(),
                    reader: "3.5.7".into(),
                    location: "s3a://chaos/compat/r1/from41/partitioned/".into(),
                    writer_table: "compat_r1.w41_partitioned".into(),
                    reader_table: "compat_r1.r41_partitioned".into(),
                    written: None,
                    read: None,
                    status: "mismatch".into(),
                    error: Some("different checksums".into()),
                },
            ],
            isolation: vec![IsolationCheck {
                metastore: "4.1.0".into(),
                table: "compat_r1.w35_plain".into(),
                created_by: "3.5.7".into(),
                expected_present: false,
                present: Some(false),
                error: None,
            }],
            event_logs: vec![EventLogPrefixCheck {
                version: "3.5.7".into(),
                prefix: "3.5/events/".into(),
                objects: Some(2),
                listed: Some(2),
                foreign: Vec::new(),
                error: None,
            }],
        });
        r.history = Some(HistoryReport {
            apps: Vec::new(),
            matrix: vec![HistoryCell {
                server: "3.5.7".into(),
                log: "4.1.0".into(),
                app_id: Some("local-1".into()),
                copied_to: Some("3.5/events/compat-r1-local-1".into()),
                copied_objects: Vec::new(),
                listed: true,
                listed_after_secs: Some(2.0),
                reported_version: Some("4.1.0".into()),
                jobs: Some(1),
                environment: true,
                ok: true,
                error: None,
            }],
            notes: Vec::new(),
        });
        r.clients = Some(ClientMatrix {
            versions: vec!["3.5.7".into(), "4.1.0".into()],
            rows: vec![RpcRow {
                rpc: "ReleaseSession".into(),
                what: "release".into(),
                results: [
                    (
                        "3.5.7".to_string(),
                        RpcResult {
                            ok: false,
                            detail: "Unimplemented".into(),
                        },
                    ),
                    (
                        "4.1.0".to_string(),
                        RpcResult {
                            ok: true,
                            detail: "released".into(),
                        },
                    ),
                ]
                .into_iter()
                .collect(),
                documented: Some("3.5 has no ReleaseSession".into()),
            }],
        });
        let all = checks(&r);
        let get = |n: &str| {
            all.iter()
                .find(|c| c.check == n)
                .unwrap_or_else(|| panic!("{n}"))
        };
        assert_eq!(get("coexistence").verdict, crate::check::Verdict::Valid);
        assert_eq!(get("data_compat").verdict, crate::check::Verdict::Invalid);
        assert!(get("data_compat")
            .reason
            .contains("partitioned written by 4.1.0"));
        assert_eq!(get("history_matrix").verdict, crate::check::Verdict::Valid);
        assert_eq!(get("client_matrix").verdict, crate::check::Verdict::Valid);
        let html = render_html(&r);
        assert!(html.contains("<h3>History Server matrix</h3>"));
        assert!(html.contains("3.5 has no ReleaseSession"));
        // The report serialises (it is what the JSON reports are made of).
        let json = serde_json::to_value(&r).expect("serialises");
        assert_eq!(json["summary"]["identical"], 1);
        assert_eq!(json["statements"][0]["class"]["class"], "identical");
    }
}
