//! The 99 TPC-DS queries (from the cache, extracted by [`super::setup`]) and named
//! selections of them.

use super::dialect::to_spark_sql;
use super::kit::queries_dir;
use super::TpcdsError;
use crate::paths::Cache;

/// One TPC-DS query in both dialects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// `q1` … `q99`.
    pub name: String,
    /// Its number, 1 … 99.
    pub number: u32,
    /// The text as DuckDB's `tpcds_queries()` gives it (used for the expected answers).
    pub duckdb_sql: String,
    /// The text for Spark 3.5 and 4.1 ([`to_spark_sql`] of `duckdb_sql`).
    pub spark_sql: String,
}

/// The `quick` set: six fast queries of different shapes, each returning rows, measured at
/// sf0.1 (local platform, 2 workers): 5 s for all six on Spark 3.5.7, 7 s on 4.1.0.
/// q3 (star join, top-N), q7 (averages over demographics), q19 (five-way join with a string
/// predicate), q62 (CASE-bucketed counts under backquoted aliases: exercises the dialect),
/// q92 (correlated scalar subquery, backquoted alias), q98 (window function, 250 rows).
pub const QUICK: [&str; 6] = ["q3", "q7", "q19", "q62", "q92", "q98"];

const ACCEPTED: &str =
    "`all`, `quick` (q3,q7,q19,q62,q92,q98), a query name q1..q99, or a comma list such as q3,q7,q19";

/// Every query, ordered by number. Fails when the kit has not been set up.
pub fn queries(cache: &Cache) -> Result<Vec<Query>, TpcdsError> {
    let dir = queries_dir(cache);
    let mut out = Vec::with_capacity(99);
    for number in 1..=99u32 {
        let name = format!("q{number}");
        let path = dir.join(format!("{name}.sql"));
        let duckdb_sql = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(TpcdsError::NotPrepared {
                    what: format!("tpc-ds query {name}"),
                    path: path.display().to_string(),
                    how: "run the kit set-up first (tpcds::setup or datagen)".into(),
                })
            }
            Err(e) => return Err(TpcdsError::io("read tpc-ds query", &path, e)),
        };
        let spark_sql = to_spark_sql(&duckdb_sql);
        out.push(Query {
            name,
            number,
            duckdb_sql,
            spark_sql,
        });
    }
    Ok(out)
}

/// The query names a selection means (pure): `all`, `quick` (see [`QUICK`]), one name
/// (`q3`), or a comma list of names and sets (`q3,q7,q19`). Names are case-insensitive;
/// the result keeps the order given, without duplicates.
pub fn select(names_or_set: &str) -> Result<Vec<String>, TpcdsError> {
    let unknown = |name: &str| TpcdsError::UnknownQuery {
        given: names_or_set.to_string(),
        name: name.to_string(),
        accepted: ACCEPTED.to_string(),
    };
    let mut out: Vec<String> = Vec::new();
    let mut push = |name: String| {
        if !out.contains(&name) {
            out.push(name);
        }
    };
    let parts: Vec<&str> = names_or_set.split(',').map(str::trim).collect();
    for part in &parts {
        let lower = part.to_ascii_lowercase();
        match lower.as_str() {
            "all" => (1..=99).for_each(|n| push(format!("q{n}"))),
            "quick" => QUICK.iter().for_each(|n| push((*n).to_string())),
            _ => match parse_name(&lower) {
                Some(n) => push(format!("q{n}")),
                None => return Err(unknown(part)),
            },
        }
    }
    Ok(out)
}

/// The queries of a selection (see [`select`]), in the selection's order.
pub fn select_queries(cache: &Cache, names_or_set: &str) -> Result<Vec<Query>, TpcdsError> {
    let names = select(names_or_set)?;
    let all = queries(cache)?;
    Ok(names
        .iter()
        .filter_map(|n| all.iter().find(|q| &q.name == n).cloned())
        .collect())
}

/// `q7` / `q07` → 7, for 1 … 99.
fn parse_name(name: &str) -> Option<u32> {
    let digits = name.strip_prefix('q')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|n| (1..=99).contains(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_and_names() {
        assert_eq!(select("all").expect("all").len(), 99);
        assert_eq!(select("all").expect("all")[98], "q99");
        assert_eq!(select("quick").expect("quick"), QUICK);
        assert_eq!(select("q3").expect("q3"), ["q3"]);
        assert_eq!(select("Q07").expect("q07"), ["q7"]);
        assert_eq!(select("q19, q3,q7,q3").expect("list"), ["q19", "q3", "q7"]);
        assert_eq!(select("quick,q99").expect("mixed").len(), 7);
    }

    #[test]
    fn unknown_names_list_what_is_accepted() {
        for bad in ["q0", "q100", "x", "", "q3,,q7", "q", "q-1", "quick2"] {
            let err = select(bad).expect_err(bad).to_string();
            assert!(err.contains("accepted: `all`, `quick`"), "{bad}: {err}");
        }
        let err = select("q3,q123").expect_err("q123").to_string();
        assert!(err.contains("unknown \"q123\""), "{err}");
    }
}
