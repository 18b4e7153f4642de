//! Small pure helpers shared by the checkers: percentiles, formatting for people, truncation.

/// The `q`-quantile (0 < q <= 1) of `values` by nearest rank: the smallest value such that at
/// least `q` of all values are at or below it. Exact (sorts a copy); None when empty.
pub fn percentile(values: &[u64], q: f64) -> Option<u64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let rank = (q.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// The p99 of `values` (nearest rank); for fewer than 100 values this is the maximum.
pub fn p99(values: &[u64]) -> Option<u64> {
    percentile(values, 0.99)
}

/// Microseconds for people: `250ms`, `12.3s`, `754s`.
pub fn fmt_us(us: u64) -> String {
    let secs = us as f64 / 1e6;
    if us < 1_000_000 {
        format!("{:.0}ms", us as f64 / 1e3)
    } else if secs < 100.0 {
        format!("{secs:.1}s")
    } else {
        format!("{secs:.0}s")
    }
}

/// Milliseconds for people (see [`fmt_us`]).
pub fn fmt_ms(ms: u64) -> String {
    fmt_us(ms.saturating_mul(1000))
}

/// A ratio for people, rounded *down* to 4 decimals so that a value below a threshold never
/// prints as the threshold itself (`0.94999` is `0.9499`, not `0.95`); `1.0` for one.
pub fn fmt_ratio(r: f64) -> String {
    let floored = (r * 10_000.0).floor() / 10_000.0;
    let s = format!("{floored:.4}");
    let s = s.trim_end_matches('0');
    if s.ends_with('.') {
        format!("{s}0")
    } else {
        s.to_string()
    }
}

/// At most `max` characters of `s` (on character boundaries), with `…` appended when cut.
pub fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_string(),
    }
}

/// The text of a caught panic's payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// Milliseconds of a duration, saturating.
pub fn duration_ms(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
