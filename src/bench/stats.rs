//! Statistics a person can trust on a noisy machine (pure, deterministic for a seed): medians
//! with bootstrap confidence intervals, the ratio of two versions' medians with its interval, a
//! verdict only when the interval clears a stated threshold, the geometric mean of ratios over
//! queries, and the coefficient of variation with the iterations a noisy query would need.
//!
//! The bootstrap is the percentile bootstrap: resample each sample with replacement `resamples`
//! times, take the statistic of each resample, and read the 2.5 % and 97.5 % quantiles of those.
//! Every function takes its random source from a seed, so the same samples always give the same
//! interval.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// Resamples per bootstrap interval: enough for stable 95 % percentile bounds.
pub const RESAMPLES: usize = 2000;

/// A point estimate with its 95 % confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Estimate {
    /// The statistic on the whole sample.
    pub value: f64,
    /// The lower 95 % bound.
    pub low: f64,
    /// The upper 95 % bound.
    pub high: f64,
}

impl Estimate {
    /// An estimate known exactly (a sample of one, or all values equal).
    pub fn exact(value: f64) -> Estimate {
        Estimate {
            value,
            low: value,
            high: value,
        }
    }

    /// Whether the interval contains `x`.
    pub fn contains(&self, x: f64) -> bool {
        self.low <= x && x <= self.high
    }
}

/// The median (the mean of the two middle values for an even count); None when empty.
pub fn median(sample: &[f64]) -> Option<f64> {
    if sample.is_empty() {
        return None;
    }
    let mut v = sample.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// The `q` quantile (0..=1) of sorted values, by linear interpolation between ranks.
fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

fn resample(rng: &mut StdRng, sample: &[f64], into: &mut Vec<f64>) {
    into.clear();
    into.extend((0..sample.len()).map(|_| sample[rng.gen_range(0..sample.len())]));
}

fn interval(mut stats: Vec<f64>, value: f64) -> Estimate {
    stats.sort_by(f64::total_cmp);
    Estimate {
        value,
        low: quantile_sorted(&stats, 0.025),
        high: quantile_sorted(&stats, 0.975),
    }
}

/// The median of `sample` with a bootstrap 95 % interval; None when empty. A sample of one
/// value (or of equal values) has a zero-width interval: there is nothing to resample.
pub fn median_ci(sample: &[f64], seed: u64) -> Option<Estimate> {
    let value = median(sample)?;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut buf = Vec::with_capacity(sample.len());
    let stats = (0..RESAMPLES)
        .map(|_| {
            resample(&mut rng, sample, &mut buf);
            median(&buf).expect("not empty")
        })
        .collect();
    Some(interval(stats, value))
}

/// The ratio of medians `candidate / baseline` (4.1.0 over 3.5.7: below 1 is faster) with a
/// bootstrap 95 % interval, each sample resampled independently; None when either is empty
/// or a median is not positive.
pub fn ratio_ci(baseline: &[f64], candidate: &[f64], seed: u64) -> Option<Estimate> {
    let (b, c) = (median(baseline)?, median(candidate)?);
    if b <= 0.0 || c <= 0.0 {
        return None;
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut bb, mut cc) = (Vec::new(), Vec::new());
    let stats = (0..RESAMPLES)
        .map(|_| {
            resample(&mut rng, baseline, &mut bb);
            resample(&mut rng, candidate, &mut cc);
            median(&cc).expect("not empty") / median(&bb).expect("not empty")
        })
        .collect();
    Some(interval(stats, c / b))
}

/// The geometric mean of per-query ratios with a bootstrap 95 % interval: each resample
/// resamples every query's two samples (queries are fixed, iterations are random). `pairs`
/// holds (baseline, candidate) samples per query; queries with an empty sample or a
/// non-positive median are left out. None when no query is left.
pub fn geomean_ratio_ci(pairs: &[(Vec<f64>, Vec<f64>)], seed: u64) -> Option<Estimate> {
    let usable: Vec<&(Vec<f64>, Vec<f64>)> = pairs
        .iter()
        .filter(|(b, c)| median(b).is_some_and(|m| m > 0.0) && median(c).is_some_and(|m| m > 0.0))
        .collect();
    if usable.is_empty() {
        return None;
    }
    let geomean = |ratios: &mut dyn Iterator<Item = f64>| {
        let (sum, n) = ratios.fold((0.0, 0usize), |(s, n), r| (s + r.ln(), n + 1));
        (sum / n as f64).exp()
    };
    let value = geomean(
        &mut usable
            .iter()
            .map(|(b, c)| median(c).expect("checked") / median(b).expect("checked")),
    );
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut bb, mut cc) = (Vec::new(), Vec::new());
    let stats = (0..RESAMPLES)
        .map(|_| {
            let ratios: Vec<f64> = usable
                .iter()
                .map(|(b, c)| {
                    resample(&mut rng, b, &mut bb);
                    resample(&mut rng, c, &mut cc);
                    median(&cc).expect("not empty") / median(&bb).expect("not empty")
                })
                .collect();
            geomean(&mut ratios.into_iter())
        })
        .collect();
    Some(interval(stats, value))
}

/// The coefficient of variation (sample standard deviation over mean); None with fewer than
/// two values or a zero mean.
pub fn cv(sample: &[f64]) -> Option<f64> {
    let n = sample.len();
    if n < 2 {
        return None;
    }
    let mean = sample.iter().sum::<f64>() / n as f64;
    if mean == 0.0 {
        return None;
    }
    let var = sample.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    Some(var.sqrt() / mean)
}

/// How many iterations per version a query of this coefficient of variation needs for a 95 %
/// interval of the ratio to be about ±`threshold` wide: the normal approximation
/// n ≈ 2 (1.96 · cv / threshold)², at least 3.
pub fn iterations_needed(cv: f64, threshold: f64) -> u32 {
    if threshold <= 0.0 || !cv.is_finite() {
        return u32::MAX;
    }
    let n = 2.0 * (1.96 * cv / threshold).powi(2);
    (n.ceil() as u32).max(3)
}

/// What a ratio's interval says at a stated threshold (e.g. 0.05: a 5 % change).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    /// The whole interval lies below 1 − threshold: the candidate is faster.
    Faster,
    /// The whole interval lies above 1 + threshold: the candidate is slower.
    Slower,
    /// The interval reaches into [1 − threshold, 1 + threshold]: no change of that size is
    /// shown (parity).
    NoDetectableDifference,
}

/// The verdict on a ratio (candidate / baseline) at `threshold`.
pub fn change(ratio: &Estimate, threshold: f64) -> Change {
    if ratio.high < 1.0 - threshold {
        Change::Faster
    } else if ratio.low > 1.0 + threshold {
        Change::Slower
    } else {
        Change::NoDetectableDifference
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_even_and_empty_samples() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[7.0]), Some(7.0));
    }

    #[test]
    fn one_value_or_all_equal_gives_a_zero_width_interval() {
        assert_eq!(median_ci(&[5.0], 1), Some(Estimate::exact(5.0)));
        assert_eq!(median_ci(&[2.0; 9], 1), Some(Estimate::exact(2.0)));
        assert_eq!(
            ratio_ci(&[2.0; 5], &[3.0; 5], 1),
            Some(Estimate::exact(1.5))
        );
        assert_eq!(median_ci(&[], 1), None);
    }

    #[test]
    fn intervals_are_deterministic_for_a_seed_and_contain_the_median() {
        let s = [10.0, 12.0, 11.0, 13.0, 9.0, 10.5, 11.5];
        let a = median_ci(&s, 42).unwrap();
        assert_eq!(a, median_ci(&s, 42).unwrap());
        assert!(a.contains(11.0) && a.low >= 9.0 && a.high <= 13.0, "{a:?}");
        assert!(a.high - a.low > 0.0);
    }

    #[test]
    fn the_interval_of_a_median_of_three_spans_the_outer_values() {
        // With three values every resampled median is one of them; the 2.5 % and 97.5 %
        // quantiles of 2000 such medians are the smallest and the largest (each comes up in
        // 7/27 of the resamples).
        let e = median_ci(&[1.0, 2.0, 3.0], 7).unwrap();
        assert_eq!((e.low, e.value, e.high), (1.0, 2.0, 3.0));
    }

    #[test]
    fn an_outlier_moves_the_median_little_and_widens_the_interval() {
        let calm = [100.0, 101.0, 99.0, 100.5, 99.5, 100.2, 99.8];
        let spiky = [100.0, 101.0, 99.0, 100.5, 99.5, 100.2, 400.0];
        let (a, b) = (median_ci(&calm, 3).unwrap(), median_ci(&spiky, 3).unwrap());
        assert!((a.value - b.value).abs() <= 0.5, "{a:?} {b:?}");
        assert!(b.high >= a.high);
        assert!(cv(&spiky).unwrap() > 0.5 && cv(&calm).unwrap() < 0.01);
    }

    #[test]
    fn verdicts_need_the_interval_to_clear_the_threshold() {
        let base = [10.0, 10.2, 9.9, 10.1, 10.0, 9.8, 10.3];
        let slow: Vec<f64> = base.iter().map(|x| x * 1.5).collect();
        let fast: Vec<f64> = base.iter().map(|x| x * 0.7).collect();
        let same = [10.1, 9.9, 10.0, 10.2, 9.8, 10.0, 10.1];
        let r = |c: &[f64]| ratio_ci(&base, c, 11).unwrap();
        assert_eq!(change(&r(&slow), 0.05), Change::Slower);
        assert_eq!(change(&r(&fast), 0.05), Change::Faster);
        assert_eq!(change(&r(&same), 0.05), Change::NoDetectableDifference);
        assert!((r(&slow).value - 1.5).abs() < 1e-9);
        // A 3 % slowdown is real but under a 5 % threshold: no verdict of that size.
        let bit: Vec<f64> = base.iter().map(|x| x * 1.03).collect();
        assert_eq!(change(&r(&bit), 0.05), Change::NoDetectableDifference);
    }

    #[test]
    fn the_geometric_mean_of_ratios_weighs_each_query_alike() {
        let q = |b: f64, c: f64| (vec![b, b, b], vec![c, c, c]);
        // Ratios 2 and 0.5: geometric mean 1 (an arithmetic mean would say 1.25).
        let g = geomean_ratio_ci(&[q(1.0, 2.0), q(8.0, 4.0)], 5).unwrap();
        assert!((g.value - 1.0).abs() < 1e-12 && g.contains(1.0), "{g:?}");
        // Unusable queries are left out; none usable gives None.
        let g = geomean_ratio_ci(&[q(1.0, 2.0), (vec![], vec![1.0])], 5).unwrap();
        assert!((g.value - 2.0).abs() < 1e-12);
        assert_eq!(geomean_ratio_ci(&[(vec![], vec![])], 5), None);
    }

    #[test]
    fn noisy_queries_say_how_many_iterations_they_need() {
        assert_eq!(cv(&[1.0]), None);
        assert_eq!(cv(&[0.0, 0.0]), None);
        let c = cv(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap();
        assert!((c - 0.4276).abs() < 1e-3, "{c}");
        // cv 0.2 at a 5 % threshold: 2 (1.96 * 0.2 / 0.05)^2 = 122.9 → 123.
        assert_eq!(iterations_needed(0.2, 0.05), 123);
        assert_eq!(iterations_needed(0.001, 0.05), 3);
        assert_eq!(iterations_needed(0.2, 0.0), u32::MAX);
    }
}
