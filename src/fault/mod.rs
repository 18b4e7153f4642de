//! Faults: the catalogue of kinds and targets (pure), the link-fault proxy, the ledger on disk,
//! and injecting/healing against a running local environment.
pub mod catalog;
pub mod inject;
pub mod ledger;
pub mod proxy;
pub mod record;
pub mod target;

pub use record::FaultRecord;
