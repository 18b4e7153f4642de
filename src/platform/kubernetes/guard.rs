//! The blast-radius guard of the Kubernetes platform: faults act only in namespaces the harness
//! created (it labels them [`OWNED_LABEL`]`=true`), in the kube context it was given, unless the
//! caller allows a namespace explicitly ([`Guard::allowed`]; the scenario field and the
//! command-line flag that fill it come with the platform driver). Everything else is refused with
//! an error that says which namespace, which context and how to allow it.
//!
//! [`namespace_manifest`] is the namespace the harness creates: owned, and under the
//! `restricted` Pod Security Standard (enforced, and warned and audited at the same level).

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::{json, Value};

use super::KubeError;

/// The label the harness puts on every namespace it creates.
pub const OWNED_LABEL: &str = "spark-chaos.io/owned";

/// The Pod Security level of the harness's namespaces.
pub const POD_SECURITY: &str = "restricted";

/// Why the guard refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The namespace does not carry the harness's label and was not allowed explicitly.
    #[error(
        "namespace `{namespace}` was not created by spark-chaos (no label {OWNED_LABEL}=true) in context `{context}`: \
         refusing to inject faults there unless it is allowed explicitly"
    )]
    NotOurs {
        /// The namespace.
        namespace: String,
        /// The kube context.
        context: String,
    },
    /// The namespace does not exist.
    #[error("namespace `{namespace}` does not exist in context `{context}`")]
    Missing {
        /// The namespace.
        namespace: String,
        /// The kube context.
        context: String,
    },
    /// The kube context in force is not the one the harness was given.
    #[error("the current kube context is `{current}`, not `{expected}` as given: refusing to act on another cluster")]
    OtherContext {
        /// The context the harness was given.
        expected: String,
        /// The context in force.
        current: String,
    },
}

/// What the guard allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guard {
    /// The kube context the harness was given.
    pub context: String,
    /// Namespaces allowed although the harness did not create them (scenario or command line).
    pub allowed: Vec<String>,
}

impl Guard {
    /// Decides whether faults may act in `namespace`, from the context in force and the
    /// namespace's labels (`None`: it does not exist). Pure.
    pub fn check(
        &self,
        current_context: &str,
        namespace: &str,
        labels: Option<&BTreeMap<String, String>>,
    ) -> Result<(), Refusal> {
        if current_context != self.context {
            return Err(Refusal::OtherContext {
                expected: self.context.clone(),
                current: current_context.to_string(),
            });
        }
        let Some(labels) = labels else {
            return Err(Refusal::Missing {
                namespace: namespace.to_string(),
                context: self.context.clone(),
            });
        };
        let ours = labels.get(OWNED_LABEL).map(String::as_str) == Some("true");
        if ours || self.allowed.iter().any(|a| a == namespace) {
            Ok(())
        } else {
            Err(Refusal::NotOurs {
                namespace: namespace.to_string(),
                context: self.context.clone(),
            })
        }
    }

    /// [`Guard::check`] against a cluster, through `kubectl` (a command with its kubeconfig
    /// set): reads the context in force and the namespace's labels.
    pub fn check_live(
        &self,
        kubectl: impl Fn() -> Command,
        namespace: &str,
    ) -> Result<(), KubeError> {
        let current = run(kubectl().args(["config", "current-context"]))?;
        let out = kubectl()
            .args(["get", "namespace", namespace, "-o", "json"])
            .output()
            .map_err(|e| KubeError::Invalid(format!("run kubectl: {e}")))?;
        let labels = if out.status.success() {
            let v: Value = serde_json::from_slice(&out.stdout).map_err(|_| KubeError::Output {
                what: format!("kubectl get namespace {namespace}"),
                output: String::from_utf8_lossy(&out.stdout).into_owned(),
            })?;
            Some(labels_of(&v))
        } else if String::from_utf8_lossy(&out.stderr).contains("NotFound") {
            None
        } else {
            return Err(KubeError::Output {
                what: format!("kubectl get namespace {namespace}"),
                output: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        };
        self.check(current.trim(), namespace, labels.as_ref())
            .map_err(|r| KubeError::Invalid(r.to_string()))
    }
}

fn run(cmd: &mut Command) -> Result<String, KubeError> {
    let out = cmd
        .output()
        .map_err(|e| KubeError::Invalid(format!("run kubectl: {e}")))?;
    if !out.status.success() {
        return Err(KubeError::Output {
            what: "kubectl config current-context".into(),
            output: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// An object's `metadata.labels`.
pub fn labels_of(object: &Value) -> BTreeMap<String, String> {
    object["metadata"]["labels"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// The namespace the harness creates: owned by it and under restricted Pod Security. Pure.
pub fn namespace_manifest(name: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "labels": {
                OWNED_LABEL: "true",
                "app.kubernetes.io/managed-by": "spark-chaos",
                "pod-security.kubernetes.io/enforce": POD_SECURITY,
                "pod-security.kubernetes.io/enforce-version": "latest",
                "pod-security.kubernetes.io/warn": POD_SECURITY,
                "pod-security.kubernetes.io/audit": POD_SECURITY,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(allowed: &[&str]) -> Guard {
        Guard {
            context: "kind-chaos".into(),
            allowed: allowed.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn only_the_harnesss_namespaces_in_its_context_or_explicit_ones_pass() {
        let ours = labels_of(&namespace_manifest("chaos-run-1"));
        let theirs: BTreeMap<String, String> =
            [("team".to_string(), "payments".to_string())].into();
        let g = guard(&[]);
        assert_eq!(g.check("kind-chaos", "chaos-run-1", Some(&ours)), Ok(()));
        let e = g
            .check("kind-chaos", "payments", Some(&theirs))
            .unwrap_err();
        assert!(matches!(e, Refusal::NotOurs { .. }));
        let text = e.to_string();
        assert!(
            text.contains("namespace `payments` was not created by spark-chaos"),
            "{text}"
        );
        assert!(text.contains("unless it is allowed explicitly"), "{text}");
        // A label set to anything but "true" is not ours.
        let fake: BTreeMap<String, String> = [(OWNED_LABEL.to_string(), "yes".to_string())].into();
        assert!(g.check("kind-chaos", "x", Some(&fake)).is_err());
        // Allowed explicitly.
        assert_eq!(
            guard(&["payments"]).check("kind-chaos", "payments", Some(&theirs)),
            Ok(())
        );
        // Missing namespace, other context.
        assert!(matches!(
            g.check("kind-chaos", "gone", None),
            Err(Refusal::Missing { .. })
        ));
        let e = g.check("prod-eu", "chaos-run-1", Some(&ours)).unwrap_err();
        assert_eq!(
            e,
            Refusal::OtherContext {
                expected: "kind-chaos".into(),
                current: "prod-eu".into()
            }
        );
        // Even an allowed namespace is refused in another context.
        assert!(guard(&["payments"])
            .check("prod-eu", "payments", Some(&theirs))
            .is_err());
    }

    #[test]
    fn the_harnesss_namespace_is_owned_and_restricted() {
        let l = labels_of(&namespace_manifest("chaos-run-1"));
        assert_eq!(l[OWNED_LABEL], "true");
        assert_eq!(l["pod-security.kubernetes.io/enforce"], "restricted");
        assert_eq!(l["pod-security.kubernetes.io/warn"], "restricted");
    }
}
