//! Ctrl-C and SIGTERM as a flag that long waits poll, so every command unwinds through its
//! heal and clean-up paths instead of dying mid-fault. The second signal exits at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};

static FLAG: LazyLock<Arc<AtomicBool>> = LazyLock::new(|| Arc::new(AtomicBool::new(false)));

/// Whether Ctrl-C (or SIGTERM) arrived.
pub fn interrupted() -> bool {
    FLAG.load(Ordering::SeqCst)
}

/// Installs the handlers: the first SIGINT/SIGTERM sets the flag, the second exits with
/// `exit_code`.
pub fn install(exit_code: i32) -> std::io::Result<()> {
    // A flag, not a blocked signal mask: a mask would be inherited by every process we start
    // (the supervisor would then ignore `env down`'s SIGTERM).
    use signal_hook::consts::{SIGINT, SIGTERM};
    for sig in [SIGINT, SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(sig, exit_code, Arc::clone(&FLAG))?;
        signal_hook::flag::register(sig, Arc::clone(&FLAG))?;
    }
    Ok(())
}
