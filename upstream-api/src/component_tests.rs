//! What the kubelet and kube-proxy tests share: kubeadm's 1.28 defaults (a kubelet and a
//! kube-proxy document among them), the all-fields document of each component and minor
//! (`testdata/component/all-fields`), a minimal document, and the check that each all-fields
//! document is read at its minor and refused at the one before where it grew.

use std::ops::RangeInclusive;

use serde::Serialize;
use serde_json::{json, Value};

use crate::{Minor, Result};

/// What kubeadm 1.28 prints for `kubeadm config print init-defaults --component-configs
/// KubeletConfiguration,KubeProxyConfiguration`.
pub const KUBEADM_1_28: &str =
    include_str!("../testdata/component/1.28/kubeadm-init-defaults.yaml");

/// The minors `1.x` with an all-fields document per component.
pub const MINORS: RangeInclusive<u32> = 28..=37;

/// The document of `component` (`kubelet`, `kube-proxy`) with every field of minor `1.minor`'s
/// types.go.
pub fn all_fields_of(component: &str, minor: u32) -> Value {
    let path = format!(
        "{}/testdata/component/all-fields/{component}-1.{minor}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A document of `api_version` and `kind` with the top-level fields of `extra`.
pub fn minimal(api_version: &str, kind: &str, extra: Value) -> Value {
    let mut doc = json!({"apiVersion": api_version, "kind": kind});
    for (k, v) in extra.as_object().unwrap() {
        doc[k] = v.clone();
    }
    doc
}

/// Each `(extra, names)` of `cases`: a minimal document with the top-level fields `extra` is
/// refused by `parse` with an error naming each of `names` (the field's path, its key).
pub fn assert_refused_naming<T>(parse: impl Fn(&Value) -> Result<T>, cases: &[(Value, &[&str])]) {
    for (extra, names) in cases {
        let Err(err) = parse(extra) else {
            panic!("{extra} was accepted")
        };
        for name in *names {
            assert!(err.contains(name), "{extra}: {err}");
        }
    }
}

/// Each minor's all-fields document of `component` parses at that minor and comes back out of
/// the parsed type: exactly from minor `exact_from` on, before it at least every field that went
/// in (value fields come back out even where an older document leaves them out, at their zero
/// value). Every upstream JSON name is thus a field here (deny_unknown_fields accepted them
/// all) and, where it comes back exactly, every field here an upstream name. A document with
/// fields the minor before lacks is refused there: one with more top-level fields, or of a minor
/// in `grew_nested` (whose new fields are nested).
pub fn each_minor_reads_its_all_fields_document<T: Serialize>(
    component: &str,
    parse: impl Fn(&Value, Minor) -> Result<T>,
    exact_from: u32,
    grew_nested: &[u32],
) {
    for minor in MINORS {
        let doc = all_fields_of(component, minor);
        let config = parse(&doc, Minor(1, minor)).unwrap_or_else(|e| panic!("1.{minor}: {e}"));
        let back = serde_json::to_value(&config).unwrap();
        if minor >= exact_from {
            assert_eq!(back, doc, "1.{minor}");
        } else {
            assert!(contained(&doc, &back), "1.{minor}: {back:#}");
        }
        if minor > *MINORS.start() {
            let before = all_fields_of(component, minor - 1);
            let grew = doc.as_object().unwrap().len() > before.as_object().unwrap().len()
                || grew_nested.contains(&minor);
            assert_eq!(
                parse(&doc, Minor(1, minor - 1)).is_err(),
                grew,
                "1.{minor} at 1.{}",
                minor - 1
            );
        }
    }
}

/// Whether every field of `part` is in `whole` with the same value (objects compared deeply).
fn contained(part: &Value, whole: &Value) -> bool {
    match (part, whole) {
        (Value::Object(p), Value::Object(w)) => p
            .iter()
            .all(|(k, v)| w.get(k).is_some_and(|wv| contained(v, wv))),
        _ => part == whole,
    }
}
