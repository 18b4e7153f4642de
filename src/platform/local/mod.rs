//! The embedded `local` platform: every component a supervised real process on 127.0.0.1.
//!
//! - [`plan`]: what runs where (pure); [`conf`]: Spark configuration text (pure);
//!   [`ports`]: port allocation; [`hms`]: Hive Metastore install, config and launch.
//! - [`supervisor`]: the daemon that starts, probes and restarts processes; [`init`]: one-time
//!   set-up steps around starts; [`ready`]: readiness probes.
//! - [`state`]: the state file; [`env`]: `env up/down/status/restart`.
pub mod conf;
pub mod env;
pub mod hms;
pub mod init;
pub mod links;
pub mod plan;
pub mod ports;
pub mod ready;
pub mod spec;
pub mod state;
pub mod supervisor;
