//! Faults: the link-fault proxy (and, later, process faults, partitions and the ledger).
pub mod proxy;
