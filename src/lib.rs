//! spark-chaos: chaos, load and upgrade testing for Apache Spark 3.5.7 and 4.1.0 side by side.
//!
//! The crate is laid out by role (see ARCHITECTURE.md for the full map):
//!
//! - [`versions`]: the pinned component versions, one place.
//! - [`install`]: fetching and building every component from package registries into the cache.
//! - [`platform`]: bringing components up and down; `local` runs them as supervised processes.
//! - [`client`]: the Spark Connect client layer (SQL in, Arrow batches and outcomes out).
//! - [`fault`]: fault injection (the link-fault proxy so far).
//! - [`probe`]: small independent protocol clients (Hive Metastore Thrift, S3, HTTP) used for
//!   readiness and for checking what really happened, independent of Spark.
//! - [`workload`]: the TPC-DS kit and the load driver.
//! - [`oracle`]: comparing results with expected answers (pure).
//! - [`cli`]: the `chaos` command line; the only place that prints for people.
//! - [`logging`]: diagnostic events through `tracing` (`RUST_LOG`, `--log-format`), on stderr.

pub mod bench;
pub mod check;
pub mod cli;
pub mod client;
pub mod compat;
pub mod exit;
pub mod fault;
pub mod install;
pub mod interrupt;
pub mod jsonfile;
pub mod logging;
pub mod oracle;
pub mod paths;
pub mod platform;
pub mod probe;
pub mod report;
pub mod run;
pub mod scenario;
pub mod suite;
pub mod text;
pub mod units;
pub mod versions;
pub mod workload;
