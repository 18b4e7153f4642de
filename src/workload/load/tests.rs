//! Tests of the load driver's pure parts.
use super::*;

#[test]
fn rates_parse_with_units_and_reject_nonsense() {
    assert_eq!(parse_rate("1/s").unwrap(), 1.0);
    assert_eq!(parse_rate("30/m").unwrap(), 0.5);
    assert_eq!(parse_rate("2").unwrap(), 2.0);
    assert!(parse_rate("0/s").is_err());
    assert!(parse_rate("fast").unwrap_err().contains("accepted"));
    assert!(parse_rate("1/week").unwrap_err().contains("unknown unit"));
}

#[test]
fn uniform_arrivals_are_evenly_spaced_from_zero() {
    let a = arrival_offsets(2.0, false, 1, Duration::from_secs(3));
    assert_eq!(a.len(), 6);
    assert_eq!(a[0], Duration::ZERO);
    assert_eq!(a[5], Duration::from_millis(2500));
}

#[test]
fn poisson_arrivals_are_seeded_and_have_the_right_mean() {
    let a = arrival_offsets(10.0, true, 42, Duration::from_secs(1000));
    let b = arrival_offsets(10.0, true, 42, Duration::from_secs(1000));
    assert_eq!(a, b, "same seed, same schedule");
    let n = a.len() as f64;
    assert!(
        (n - 10_000.0).abs() < 400.0,
        "about rate × duration arrivals, got {n}"
    );
    assert!(a.windows(2).all(|w| w[0] <= w[1]));
}

fn w(op: u64, ids: [u64; 2], outcome: &str) -> OpRecord {
    OpRecord {
        op,
        kind: OpKind::Write,
        version: SparkLine::V3_5,
        endpoint: String::new(),
        name: "write".into(),
        warmup: false,
        intended_us: 0,
        start_us: 0,
        end_us: 0,
        outcome: outcome.parse().expect("an outcome"),
        error_class: None,
        sql_state: None,
        message: None,
        rows: None,
        checksum: None,
        verdict: None,
        verdict_detail: None,
        ids: Some(ids),
    }
}

#[test]
fn write_check_finds_lost_duplicated_and_unexpected_ids() {
    let h = [
        w(1, [1, 3], "ok"),
        w(2, [4, 6], "info"),
        w(3, [7, 9], "fail"),
        w(4, [10, 12], "ok"),
    ];
    let refs: Vec<&OpRecord> = h.iter().collect();
    // 11 lost; 2 duplicated; 5 (uncertain) present is fine; 8 (failed) present is unexpected.
    let c = check_writes(&refs, &[1, 2, 2, 3, 5, 8, 10, 12]);
    assert_eq!(c.acknowledged, 6);
    assert_eq!(c.uncertain, 3);
    assert_eq!(c.lost, vec![11]);
    assert_eq!(c.lost_count, 1);
    assert_eq!(c.duplicated, vec![2]);
    assert_eq!(c.unexpected, vec![8]);
    let clean = check_writes(&refs, &[1, 2, 3, 10, 11, 12]);
    assert_eq!(
        (
            clean.lost_count,
            clean.duplicated.len(),
            clean.unexpected.len()
        ),
        (0, 0, 0)
    );
}
