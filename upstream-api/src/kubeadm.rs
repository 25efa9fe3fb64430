//! `kubeadm.k8s.io` configuration documents: [`v1beta3`] and [`v1beta4`] mirrored field by field
//! from `cmd/kubeadm/app/apis/kubeadm/{v1beta3,v1beta4}/types.go` of kubernetes/kubernetes, and
//! [`parse`], which reads a multi-document kubeadm config the way a given minor's kubeadm would:
//! it picks the type by `apiVersion` + `kind`, refuses an API version that minor does not read
//! ([`API_VERSIONS`]), refuses unknown kinds of the kubeadm group, decodes strictly (an unknown
//! field is an error, as kubeadm's strict decoding makes it: v1.28.7 answers `strict decoding
//! error: unknown field "bogusField"`), applies the per-minor field tables
//! ([`v1beta4::CLUSTER_VERSIONED`], [`v1beta4::UPGRADE_VERSIONED`]) and checks
//! `encryptionAlgorithm` against [`v1beta4::ENCRYPTION_ALGORITHMS`]. Documents of other groups
//! (KubeletConfiguration, KubeProxyConfiguration, ...) come back untouched in
//! [`KubeadmDocuments::others`].
//!
//! What is not checked: kubeadm's semantic validation (mutually exclusive fields, CIDRs, token
//! and hash formats of `discovery`, enum values other than `encryptionAlgorithm`), and kubeadm's
//! defaulting.

pub mod core;
pub mod v1beta3;
pub mod v1beta4;

use serde_json::Value;

use crate::{check_versioned, strict, yaml_documents, Minor, Result, Versioned};

/// The kubeadm API group.
pub const GROUP: &str = "kubeadm.k8s.io";

/// One `kubeadm.k8s.io` API version and the minors whose kubeadm reads it.
#[derive(Debug, Clone, Copy)]
pub struct ApiVersion {
    /// `v1beta3`, `v1beta4`.
    pub version: &'static str,
    /// The first minor that reads it without `--allow-experimental-api`.
    pub since: Minor,
    /// The minor from which kubeadm warns that it is deprecated (still reads it).
    pub deprecated: Option<Minor>,
    /// The first minor that no longer reads it.
    pub removed: Option<Minor>,
    /// The kinds of this version.
    pub kinds: &'static [&'static str],
}

/// The API versions of the minors 1.28–1.37, from:
/// - v1beta3 since 1.22 (kubernetes/kubernetes#101129); deprecated in 1.31 with the switch to
///   v1beta4 (kubernetes/kubernetes#125029; `deprecatedAPIVersions` in
///   `cmd/kubeadm/app/util/config/common.go` at 1601b9e2); removed in 1.37
///   (kubernetes/kubernetes#136016, listed in CHANGELOG-1.37.md under v1.37.0-alpha.1,
///   "Changelog since v1.36.0": "Kubeadm: removed the v1beta3 API which was deprecated since
///   v1.31"), so 1.36 is the last minor that reads it.
/// - v1beta4 since 1.31 (kubernetes/kubernetes#125029, "kubeadm: enabled the v1beta4 API"). The
///   kubeadm v1.28.7 binary already knows it but refuses it without `--allow-experimental-api`
///   (`experimental API spec: "kubeadm.k8s.io/v1beta4" is not allowed`); 1.29 and 1.30 are
///   taken to do the same (not run).
/// - `kubeadm.k8s.io/v1` appears in 1.37 development as an experimental placeholder, "a copy of
///   v1beta4 ... flagged as experimental and cannot be used yet" (#136016); it is refused.
pub const API_VERSIONS: &[ApiVersion] = &[
    ApiVersion {
        version: "v1beta3",
        since: Minor(1, 22),
        deprecated: Some(Minor(1, 31)),
        removed: Some(Minor(1, 37)),
        kinds: &[
            "InitConfiguration",
            "ClusterConfiguration",
            "JoinConfiguration",
        ],
    },
    ApiVersion {
        version: "v1beta4",
        since: Minor(1, 31),
        deprecated: None,
        removed: None,
        kinds: &[
            "InitConfiguration",
            "ClusterConfiguration",
            "JoinConfiguration",
            "ResetConfiguration",
            "UpgradeConfiguration",
        ],
    },
];

/// API versions kubeadm 1.27 and later refuse outright (`oldKnownAPIVersions` in
/// `cmd/kubeadm/app/util/config/common.go`).
const OLD_VERSIONS: &[&str] = &["v1alpha1", "v1alpha2", "v1alpha3", "v1beta1", "v1beta2"];

/// Whether kubeadm of `minor` reads `kubeadm.k8s.io/<version>`.
pub fn reads(version: &str, minor: Minor) -> bool {
    support_error(version, minor).is_none()
}

/// The API version kubeadm of `minor` writes (`kubeadm config print`, `kubeadm config migrate`):
/// v1beta4 from 1.31, v1beta3 before.
pub fn preferred_api_version(minor: Minor) -> &'static str {
    if minor >= Minor(1, 31) {
        "kubeadm.k8s.io/v1beta4"
    } else {
        "kubeadm.k8s.io/v1beta3"
    }
}

/// Why kubeadm of `minor` does not read `kubeadm.k8s.io/<version>`, or `None` if it does.
fn support_error(version: &str, minor: Minor) -> Option<String> {
    let api = format!("{GROUP}/{version}");
    if let Some(known) = API_VERSIONS.iter().find(|a| a.version == version) {
        if minor < known.since {
            let experimental = if version == "v1beta4" {
                " (1.28–1.30 read it only behind --allow-experimental-api)"
            } else {
                ""
            };
            return Some(format!(
                "{api} is read from {} on, not by kubeadm {minor}{experimental}",
                known.since
            ));
        }
        if let Some(removed) = known.removed.filter(|r| minor >= *r) {
            return Some(format!(
                "{api} was removed in {removed}, kubeadm {minor} does not read it"
            ));
        }
        return None;
    }
    if OLD_VERSIONS.contains(&version) {
        return Some(format!(
            "{api} is an old API version, kubeadm 1.27 and later do not read it"
        ));
    }
    if version == "v1" {
        return Some(format!(
            "{api} is an experimental placeholder (1.37 development), not readable without --allow-experimental-api"
        ));
    }
    Some(format!("{api} is not a kubeadm API version"))
}

/// An `InitConfiguration` of either API version.
#[derive(Debug, Clone, PartialEq)]
pub enum InitConfiguration {
    V1beta3(v1beta3::InitConfiguration),
    V1beta4(v1beta4::InitConfiguration),
}

/// A `ClusterConfiguration` of either API version.
#[derive(Debug, Clone, PartialEq)]
pub enum ClusterConfiguration {
    V1beta3(v1beta3::ClusterConfiguration),
    V1beta4(v1beta4::ClusterConfiguration),
}

/// A `JoinConfiguration` of either API version.
#[derive(Debug, Clone, PartialEq)]
pub enum JoinConfiguration {
    V1beta3(v1beta3::JoinConfiguration),
    V1beta4(v1beta4::JoinConfiguration),
}

/// The documents of one kubeadm config file, each kubeadm kind at most once (kubeadm refuses a
/// kind given twice).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct KubeadmDocuments {
    pub init: Option<InitConfiguration>,
    pub cluster: Option<ClusterConfiguration>,
    pub join: Option<JoinConfiguration>,
    /// v1beta4 only.
    pub reset: Option<v1beta4::ResetConfiguration>,
    /// v1beta4 only.
    pub upgrade: Option<v1beta4::UpgradeConfiguration>,
    /// Documents of other groups (KubeletConfiguration, KubeProxyConfiguration, ...), untouched,
    /// in their order in the text.
    pub others: Vec<Value>,
}

/// Reads `text` (multi-document YAML) as kubeadm of `minor` would; see the module docs. An error
/// is one line naming the document (its 1-based index, apiVersion and kind) and the field.
pub fn parse(text: &str, minor: Minor) -> Result<KubeadmDocuments> {
    let mut out = KubeadmDocuments::default();
    for (index, document) in yaml_documents(text)?.into_iter().enumerate() {
        let number = index + 1;
        let field = |name: &str| {
            document
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let (Some(api_version), Some(kind)) = (field("apiVersion"), field("kind")) else {
            return Err(format!(
                "document {number}: has no string apiVersion and kind (kubeadm needs both)"
            ));
        };
        let Some(version) = api_version
            .strip_prefix(GROUP)
            .and_then(|rest| rest.strip_prefix('/'))
        else {
            out.others.push(document);
            continue;
        };
        let what = format!("document {number} ({api_version} {kind})");
        if let Some(why) = support_error(version, minor) {
            return Err(format!("{what}: {why}"));
        }
        let known = API_VERSIONS.iter().find(|a| a.version == version);
        if !known.is_some_and(|a| a.kinds.contains(&kind.as_str())) {
            return Err(format!(
                "{what}: {kind} is not a kind of {api_version} (it has {})",
                known.map_or(String::new(), |a| a.kinds.join(", "))
            ));
        }
        let twice = || format!("{what}: a second {kind} (kubeadm reads each kind once)");
        match (version, kind.as_str()) {
            ("v1beta3", "InitConfiguration") => {
                let doc = decode(&what, &document, v1beta3::VERSIONED, minor)?;
                set(&mut out.init, InitConfiguration::V1beta3(doc), twice)?;
            }
            ("v1beta3", "ClusterConfiguration") => {
                let doc = decode(&what, &document, v1beta3::VERSIONED, minor)?;
                set(&mut out.cluster, ClusterConfiguration::V1beta3(doc), twice)?;
            }
            ("v1beta3", "JoinConfiguration") => {
                let doc = decode(&what, &document, v1beta3::VERSIONED, minor)?;
                set(&mut out.join, JoinConfiguration::V1beta3(doc), twice)?;
            }
            ("v1beta4", "InitConfiguration") => {
                let doc = decode(&what, &document, &[], minor)?;
                set(&mut out.init, InitConfiguration::V1beta4(doc), twice)?;
            }
            ("v1beta4", "ClusterConfiguration") => {
                let doc: v1beta4::ClusterConfiguration =
                    decode(&what, &document, v1beta4::CLUSTER_VERSIONED, minor)?;
                check_encryption_algorithm(&what, doc.encryption_algorithm.as_deref(), minor)?;
                set(&mut out.cluster, ClusterConfiguration::V1beta4(doc), twice)?;
            }
            ("v1beta4", "JoinConfiguration") => {
                let doc = decode(&what, &document, &[], minor)?;
                set(&mut out.join, JoinConfiguration::V1beta4(doc), twice)?;
            }
            ("v1beta4", "ResetConfiguration") => {
                let doc = decode(&what, &document, &[], minor)?;
                set(&mut out.reset, doc, twice)?;
            }
            ("v1beta4", "UpgradeConfiguration") => {
                let doc = decode(&what, &document, v1beta4::UPGRADE_VERSIONED, minor)?;
                set(&mut out.upgrade, doc, twice)?;
            }
            _ => return Err(format!("{what}: no type for this kind")),
        }
    }
    Ok(out)
}

/// `document` decoded strictly into `T`, then checked against the minor's field table.
fn decode<T: serde::de::DeserializeOwned>(
    what: &str,
    document: &Value,
    table: &[Versioned],
    minor: Minor,
) -> Result<T> {
    let typed = strict(what, document)?;
    check_versioned(what, document, table, minor)?;
    Ok(typed)
}

fn set<T>(slot: &mut Option<T>, value: T, twice: impl Fn() -> String) -> Result<()> {
    if slot.is_some() {
        return Err(twice());
    }
    *slot = Some(value);
    Ok(())
}

fn check_encryption_algorithm(what: &str, value: Option<&str>, minor: Minor) -> Result<()> {
    let Some(value) = value else {
        return Ok(());
    };
    match v1beta4::ENCRYPTION_ALGORITHMS
        .iter()
        .find(|(name, _)| *name == value)
    {
        Some((_, since)) if *since <= minor => Ok(()),
        Some((_, since)) => Err(format!(
            "{what}: encryptionAlgorithm: {value:?} does not exist before {since} (this is {minor})"
        )),
        None => Err(format!(
            "{what}: encryptionAlgorithm: {value:?} is not one of {}",
            v1beta4::ENCRYPTION_ALGORITHMS
                .iter()
                .filter(|(_, since)| *since <= minor)
                .map(|(name, _)| *name)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

#[cfg(test)]
mod tests;
