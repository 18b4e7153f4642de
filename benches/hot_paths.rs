//! Benchmarks of the per-query hot paths: the result oracle, the client's result checksum and
//! latency histograms.
//!
//! Run with `cargo bench --bench hot_paths -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;
use std::sync::Arc;

use arrow_array::{ArrayRef, Decimal128Array, Float64Array, Int64Array, RecordBatch, StringArray};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use hdrhistogram::Histogram;

use spark_chaos::client::checksum::{checksum_batches, ChecksumOptions};
use spark_chaos::oracle::{compare, OrderSpec, Tolerance, Verdict};

const ROWS: usize = 100_000;
const BATCH_ROWS: usize = 8_192;

/// A TPC-DS-like result: item id, item description, revenue (decimal), ratio (double).
fn batches(order: &[usize], batch_rows: usize) -> Vec<RecordBatch> {
    order
        .chunks(batch_rows)
        .map(|chunk| {
            let ids: Vec<i64> = chunk.iter().map(|&i| i as i64).collect();
            let names: Vec<String> = chunk
                .iter()
                .map(|i| format!("AAAAAAAA{:08}", i * 7919 % 1_000_003))
                .collect();
            let cents: Vec<i128> = chunk
                .iter()
                .map(|&i| (i as i128 * 3_571) % 10_000_000)
                .collect();
            let ratios: Vec<f64> = chunk.iter().map(|&i| (i as f64).sqrt() / 7.0).collect();
            let columns: Vec<(&str, ArrayRef)> = vec![
                ("i_item_sk", Arc::new(Int64Array::from(ids))),
                ("i_item_id", Arc::new(StringArray::from(names))),
                (
                    "revenue",
                    Arc::new(
                        Decimal128Array::from(cents)
                            .with_precision_and_scale(17, 2)
                            .expect("valid decimal"),
                    ),
                ),
                ("ratio", Arc::new(Float64Array::from(ratios))),
            ];
            RecordBatch::try_from_iter(columns).expect("valid batch")
        })
        .collect()
}

/// A fixed pseudo-random permutation of `0..n` (xorshift, Fisher–Yates).
fn shuffled(n: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in (1..n).rev() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        v.swap(i, (s % (i as u64 + 1)) as usize);
    }
    v
}

fn oracle(c: &mut Criterion) {
    let in_order: Vec<usize> = (0..ROWS).collect();
    let expected = batches(&in_order, BATCH_ROWS);
    let same_order = batches(&in_order, 1_000);
    let other_order = batches(&shuffled(ROWS), 5_000);
    let tol = Tolerance::default();

    let mut g = c.benchmark_group("oracle");
    g.throughput(Throughput::Elements(ROWS as u64));
    let unordered = OrderSpec::unordered();
    assert_eq!(
        compare(&expected, &other_order, &unordered, &tol),
        Verdict::Correct
    );
    g.bench_function("compare_100k_equal_multiset_shuffled", |b| {
        b.iter(|| {
            compare(
                black_box(&expected),
                black_box(&other_order),
                &unordered,
                &tol,
            )
        })
    });
    let by_id = OrderSpec::by_columns(&[0]).with_limit(ROWS as u64 + 1);
    assert_eq!(
        compare(&expected, &same_order, &by_id, &tol),
        Verdict::Correct
    );
    g.bench_function("compare_100k_equal_ordered", |b| {
        b.iter(|| compare(black_box(&expected), black_box(&same_order), &by_id, &tol))
    });
    g.finish();

    let mut g = c.benchmark_group("checksum");
    g.throughput(Throughput::Elements(ROWS as u64));
    g.bench_function("checksum_batches_100k", |b| {
        b.iter(|| checksum_batches(black_box(&expected), ChecksumOptions::default()))
    });
    g.finish();
}

/// Latency-like values in microseconds: mostly milliseconds, a long tail to minutes.
fn latencies(n: usize, seed: u64) -> Vec<u64> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let base = 500 + s % 20_000;
            if s % 100 == 0 {
                base * (1 + s % 3_000)
            } else {
                base
            }
        })
        .collect()
}

fn histogram() -> Histogram<u64> {
    // 1 µs .. 1 h, 3 significant digits.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds")
}

fn histograms(c: &mut Criterion) {
    let values = latencies(1_000_000, 42);
    let mut g = c.benchmark_group("hdrhistogram");
    g.throughput(Throughput::Elements(values.len() as u64));
    g.bench_function("record_1m", |b| {
        b.iter_batched_ref(
            histogram,
            |h| {
                for &v in &values {
                    h.saturating_record(v);
                }
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();

    let workers: Vec<Histogram<u64>> = (0..16)
        .map(|w| {
            let mut h = histogram();
            for v in latencies(62_500, 1_000 + w) {
                h.saturating_record(v);
            }
            h
        })
        .collect();
    let mut g = c.benchmark_group("hdrhistogram");
    g.throughput(Throughput::Elements(workers.len() as u64));
    g.bench_function("merge_16", |b| {
        b.iter_batched_ref(
            histogram,
            |total| {
                for h in &workers {
                    total.add(h).expect("same bounds");
                }
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, oracle, histograms);
criterion_main!(benches);
