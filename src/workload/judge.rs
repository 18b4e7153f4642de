//! The oracle judge of a TPC-DS load: each successful result is compared with DuckDB's
//! answer on the same Parquet files, under the row order the query's ORDER BY demands.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use arrow_array::RecordBatch;

use super::history::OpVerdict;
use super::load::{Judge, Judgement};
use super::tpcds::{self, Query, TpcdsError};
use crate::oracle::{self, OrderSpec, Tolerance, Verdict};
use crate::paths::Cache;
use crate::versions::SparkLine;

/// Judgements already made, by (version, query, row count and ordered checksum).
type Memo = Mutex<HashMap<(SparkLine, String, String), Judgement>>;

struct Expected {
    batches: Vec<RecordBatch>,
    order: OrderSpec,
}

/// Builds the judge for `queries` at `scale`: loads each expected answer once. A result whose
/// order-dependent checksum was already judged for the same query and version gets the same
/// judgement without a second comparison (same rows in the same order, same verdict).
pub fn tpcds_judge(cache: &Cache, scale: f64, queries: &[Query]) -> Result<Judge, TpcdsError> {
    let mut expected = HashMap::new();
    for q in queries {
        let batches = tpcds::expected(cache, scale, &q.name)?;
        let columns: Vec<String> = batches
            .first()
            .map(|b| {
                b.schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect()
            })
            .unwrap_or_default();
        let cols: Vec<&str> = columns.iter().map(String::as_str).collect();
        let order = OrderSpec::from_sql(&q.spark_sql, &cols);
        expected.insert(q.name.clone(), Expected { batches, order });
    }
    let expected = Arc::new(expected);
    let memo: Arc<Memo> = Arc::default();
    Ok(Arc::new(move |version, name, result| {
        let e = expected.get(name)?;
        let sum = crate::client::checksum::checksum_batches(&result.batches, Default::default());
        let key = (
            version,
            name.to_string(),
            format!("{}:{}", sum.rows, sum.ordered),
        );
        if let Some(j) = memo.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Some(j);
        }
        let verdict = oracle::compare(&e.batches, &result.batches, &e.order, &Tolerance::default());
        let j = judgement(&verdict);
        if let Ok(mut m) = memo.lock() {
            m.insert(key, j.clone());
        }
        Some(j)
    }))
}

/// A verdict as the history records it.
pub fn judgement(v: &Verdict) -> Judgement {
    match v {
        Verdict::Correct => Judgement {
            verdict: OpVerdict::Correct,
            detail: None,
        },
        Verdict::Wrong { diff } => Judgement {
            verdict: OpVerdict::Wrong,
            detail: Some(diff.render()),
        },
        Verdict::Undetermined { reason } => Judgement {
            verdict: OpVerdict::Undetermined,
            detail: Some(reason.clone()),
        },
    }
}
