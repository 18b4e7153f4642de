//! Process exit codes of `chaos`, kept as named constants and documented in README.md.

/// Everything asked for worked (for `run`: every check valid).
pub const OK: u8 = 0;
/// At least one check found the system under test misbehaving (invalid verdict).
pub const CHECK_INVALID: u8 = 1;
/// The command line was wrong (clap's own usage errors also exit 2).
pub const USAGE: u8 = 2;
/// Some verdict could not be reached (unknown), and none was invalid.
pub const CHECK_UNKNOWN: u8 = 3;
/// A scenario or configuration file is invalid (the error names file, line, column, field).
pub const INVALID_INPUT: u8 = 4;
/// The environment could not be installed, started, reached or stopped.
pub const ENVIRONMENT: u8 = 5;
/// The run finished but its results (reports, history) could not be written.
pub const OUTPUT: u8 = 6;
/// Interrupted by a signal (Ctrl-C); faults were healed and partial results written.
pub const INTERRUPTED: u8 = 130;
