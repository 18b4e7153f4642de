//! Workloads: the TPC-DS kit (data, queries, dialect, expected answers), the load driver and
//! its history.
//!
//! - [`tpcds`]: data generation, the 99 queries in Spark's dialect, DuckDB's expected answers.
//! - [`load`]: the open/closed-model driver with the write workload (async).
//! - [`judge`]: the oracle judge of TPC-DS results.
//! - [`assemble`]: endpoints, queries and judge of a run, from a plan.
//! - [`history`]: operation records and their summary (pure).
//! - [`sql`]: SQL text helpers (pure).
pub mod assemble;
pub mod history;
pub mod judge;
pub mod load;
pub mod sql;
pub mod tpcds;
