//! What the Kubernetes platform keeps in the environment's home (`kubernetes.json`): the
//! cluster it installed into, the namespace, the settings and the images, so every later
//! command (status, faults, heal, down) acts on the same objects.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::kube::Kube;
use crate::paths::EnvHome;
use crate::platform::EnvSettings;

/// The state of an environment on Kubernetes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KubeState {
    /// kubectl, helm, kubeconfig, context and namespace.
    pub kube: Kube,
    /// The kind cluster's name when the cluster is the one `chaos cluster up` made (its nodes
    /// are containers here: conntrack is flushed in them).
    pub kind_cluster: Option<String>,
    /// The settings it was brought up with.
    pub settings: EnvSettings,
    /// The images the charts run, by role.
    pub images: BTreeMap<String, String>,
    /// Namespaces faults may act in although the harness did not create them.
    #[serde(default)]
    pub allowed_namespaces: Vec<String>,
    /// What was installed ([`super::charts::install_digest`]): `up` installs again when the
    /// charts or the harness binary changed, even with the same settings.
    #[serde(default)]
    pub installed: String,
}

impl KubeState {
    /// The file.
    pub fn file(home: &EnvHome) -> PathBuf {
        home.root().join("kubernetes.json")
    }

    /// Reads it; None when there is none (or it cannot be read).
    pub fn read(home: &EnvHome) -> Option<KubeState> {
        crate::jsonfile::read(&Self::file(home))
    }

    /// Writes it.
    pub fn write(&self, home: &EnvHome) -> std::io::Result<()> {
        std::fs::create_dir_all(home.root())?;
        let text = serde_json::to_string_pretty(self).expect("state serialises");
        super::docker::write_atomic(&Self::file(home), text.as_bytes())
            .map_err(|e| std::io::Error::other(e.to_string()))
    }

    /// Removes it.
    pub fn remove(home: &EnvHome) {
        let _ = std::fs::remove_file(Self::file(home));
    }
}
