//! What a local fault did, as the ledger stores it (kept apart from the driver so that the
//! supervisor's link reconciler reads it without depending on the driver).

use serde::{Deserialize, Serialize};

use crate::fault::proxy::ToxicSpec;
use crate::platform::PlatformAction;

/// Something a local fault did that its heal undoes; stored in the ledger as a
/// [`PlatformAction`] (the same JSON as ledgers written before platforms existed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum LocalAction {
    /// A toxic on a link (the supervisor applies it while the entry is active).
    Link {
        /// The link id (`s3-41`).
        link: String,
        /// The toxic.
        toxic: ToxicSpec,
    },
    /// A hold file that keeps a component down (removed on heal; the supervisor restarts it).
    Hold {
        /// The component id.
        component: String,
    },
    /// Processes stopped with SIGSTOP (SIGCONT on heal).
    Paused {
        /// Their pids.
        pids: Vec<u32>,
    },
    /// Processes killed (nothing to undo; recorded for the timeline).
    Killed {
        /// Their pids.
        pids: Vec<u32>,
    },
    /// An nftables table of drop rules (deleted on heal).
    Nft {
        /// The table name (family `inet`).
        table: String,
    },
}

impl LocalAction {
    /// As the ledger stores it.
    pub fn encode(&self) -> PlatformAction {
        PlatformAction::encode(self)
    }
}
