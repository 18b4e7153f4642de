//! What the fault ledger stores of a platform's actions: a value it keeps without looking
//! inside (its own file, so that the ledger depends on nothing of any platform).

use serde::{Deserialize, Serialize};

/// Something a fault did that its heal must undo, as the platform that did it describes it: a
/// tagged JSON object (`{"action": "hold", "component": "metastore-41"}` on local; a
/// NetworkPolicy's name or a Deployment's old replica count on Kubernetes). The fault ledger
/// stores it without looking inside.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PlatformAction(pub serde_json::Value);

impl PlatformAction {
    /// Encodes a platform's own action type.
    pub fn encode<T: Serialize>(action: &T) -> PlatformAction {
        PlatformAction(serde_json::to_value(action).expect("platform actions serialise"))
    }

    /// Decodes into a platform's own action type; None when it is another platform's.
    pub fn decode<T: serde::de::DeserializeOwned>(&self) -> Option<T> {
        serde_json::from_value(self.0.clone()).ok()
    }
}
