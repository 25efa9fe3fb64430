//! Strict mirrors of the upstream API types that kubeadm-nspawn generates documents for, field by
//! field as the upstream Go types define them (JSON names, optionality), each struct
//! `deny_unknown_fields`. A test-only library: kubeadm-nspawn's unit tests parse every document it
//! generates back through these, for each Kubernetes minor it supports, so a field that does not
//! exist (or no longer exists, or does not exist yet) in that minor fails the test, as kubeadm's
//! and the kubelet's strict decoding would fail (or warn) on a real node.
//!
//! - [`kubeadm`]: `kubeadm.k8s.io/v1beta3` and `v1beta4` (InitConfiguration, ClusterConfiguration,
//!   JoinConfiguration);
//! - [`kubelet`]: `kubelet.config.k8s.io/v1beta1` KubeletConfiguration;
//! - [`kube_proxy`]: `kubeproxy.config.k8s.io/v1alpha1` KubeProxyConfiguration;
//! - [`containerd`]: containerd's `config.toml`, version 2 (containerd 1.6/1.7) and 3 (2.x);
//! - [`kubetest2`]: kubetest2's junit_runner.xml, as its deployers write it.
//!
//! Fields that appeared or went away in a given minor are listed in [`Versioned`] tables beside the
//! types; [`check_versioned`] applies them to the parsed document.

pub mod containerd;
pub mod kube_proxy;
pub mod kubeadm;
pub mod kubelet;
pub mod kubetest2;

#[cfg(test)]
mod component_tests;

use serde::de::DeserializeOwned;
use serde_json::Value;

/// A Kubernetes minor version, e.g. `Minor(1, 31)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Minor(pub u32, pub u32);

impl std::fmt::Display for Minor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

/// A field that exists only in some minors: `path` is a dotted JSON path inside the document
/// (`failCgroupV1`, `nodeRegistration.imagePullSerial`; `[]` for every element of a list, e.g.
/// `apiServer.extraArgs[].name`), present from `since` (inclusive) until `removed` (exclusive).
#[derive(Debug, Clone, Copy)]
pub struct Versioned {
    pub path: &'static str,
    pub since: Minor,
    pub removed: Option<Minor>,
}

impl Versioned {
    /// A field present from `since` on, in every later minor.
    pub const fn since(path: &'static str, since: Minor) -> Self {
        Versioned {
            path,
            since,
            removed: None,
        }
    }
}

/// Errors: one line naming the document, the field's path and what is wrong.
pub type Result<T> = std::result::Result<T, String>;

/// Every YAML document of a multi-document text (`---` separated), as JSON values, empty
/// documents skipped.
pub fn yaml_documents(text: &str) -> Result<Vec<Value>> {
    let documents: Vec<Value> =
        serde_saphyr::from_multiple(text).map_err(|e| format!("not YAML: {e}"))?;
    Ok(documents.into_iter().filter(|d| !d.is_null()).collect())
}

/// `value` deserialized strictly into `T`; an error names the field's path.
pub fn strict<T: DeserializeOwned>(what: &str, value: &Value) -> Result<T> {
    serde_path_to_error::deserialize(value.clone())
        .map_err(|e| format!("{what}: {}: {}", e.path(), e.inner()))
}

/// Fails when `value` holds a field of `table` that `minor` does not have.
pub fn check_versioned(what: &str, value: &Value, table: &[Versioned], minor: Minor) -> Result<()> {
    for field in table {
        let present = field.since <= minor && field.removed.is_none_or(|r| minor < r);
        if !present && has_path(value, field.path) {
            return Err(match field.removed {
                Some(removed) if minor >= removed => format!(
                    "{what}: {} was removed in {removed} (this is {minor})",
                    field.path
                ),
                _ => format!(
                    "{what}: {} does not exist before {} (this is {minor})",
                    field.path, field.since
                ),
            });
        }
    }
    Ok(())
}

/// Whether `value` has a field at the dotted `path` (`a.b`, `a[].b` for any element of list `a`).
pub fn has_path(value: &Value, path: &str) -> bool {
    let Some((head, rest)) = path.split_once('.').map_or(Some((path, "")), Some) else {
        return false;
    };
    let (key, each) = match head.strip_suffix("[]") {
        Some(key) => (key, true),
        None => (head, false),
    };
    let Some(child) = value.get(key) else {
        return false;
    };
    match (each, rest.is_empty()) {
        (false, true) => true,
        (false, false) => has_path(child, rest),
        (true, true) => child.as_array().is_some_and(|a| !a.is_empty()),
        (true, false) => child
            .as_array()
            .is_some_and(|a| a.iter().any(|e| has_path(e, rest))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_reach_into_maps_and_lists() {
        let v: Value = serde_json::json!({"a": {"b": 1}, "l": [{"x": 1}, {"y": 2}]});
        assert!(has_path(&v, "a.b"));
        assert!(!has_path(&v, "a.c"));
        assert!(has_path(&v, "l[].y"));
        assert!(!has_path(&v, "l[].z"));
        let table = [Versioned {
            path: "a.b",
            since: Minor(1, 31),
            removed: None,
        }];
        assert!(check_versioned("doc", &v, &table, Minor(1, 31)).is_ok());
        let err = check_versioned("doc", &v, &table, Minor(1, 28)).unwrap_err();
        assert!(err.contains("does not exist before 1.31"), "{err}");
    }
}
