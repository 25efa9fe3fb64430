//! The non-kubeadm Go types the kubeadm API embeds, as their JSON forms decode:
//! `metav1.Duration`, `metav1.Time`, `corev1.Taint`, `corev1.EnvVar` (with its `EnvVarSource`),
//! `resource.Quantity`, and `bootstraptokenv1.BootstrapToken` with its `BootstrapTokenString`
//! (`cmd/kubeadm/app/apis/bootstraptoken/v1/types.go`, identical in every minor 1.28–1.37).
//!
//! The scalar types check what their Go `UnmarshalJSON` checks, since a bad value there is a decode
//! error in kubeadm too: a `metav1.Duration` goes through `time.ParseDuration`, a `metav1.Time`
//! through `time.Parse(time.RFC3339, ..)`, a bootstrap token through the
//! `^([a-z0-9]{6})\.([a-z0-9]{16})$` pattern of `NewBootstrapTokenString`.

use serde::{Deserialize, Deserializer};

use crate::kubelet::component_base::parse_go_duration;

/// `metav1.Duration`, as every component's documents carry it (the kubelet's type: Go's
/// `time.ParseDuration` checks the string).
pub use crate::kubelet::component_base::Duration;

/// Whether `text` is accepted by Go's `time.ParseDuration`; the error says why not.
pub fn check_go_duration(text: &str) -> std::result::Result<(), String> {
    parse_go_duration(text).map(drop)
}

/// `metav1.Time`: an RFC 3339 timestamp (`2024-01-02T15:04:05Z`, optional fraction, `Z` or a
/// `±hh:mm` offset). The calendar ranges of the fields are checked loosely (month 1–12, day 1–31,
/// hour < 24, minute and second < 60), not per month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Time(pub String);

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if !is_rfc3339(&text) {
            return Err(serde::de::Error::custom(format!(
                "{text:?} is not an RFC 3339 time (e.g. 2006-01-02T15:04:05Z)"
            )));
        }
        Ok(Time(text))
    }
}

fn is_rfc3339(text: &str) -> bool {
    let b = text.as_bytes();
    let digits = |from: usize, len: usize| -> Option<u32> {
        let part = b.get(from..from + len)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let (Some(_year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) = (
        digits(0, 4),
        digits(5, 2),
        digits(8, 2),
        digits(11, 2),
        digits(14, 2),
        digits(17, 2),
    ) else {
        return false;
    };
    if !(at(4, b'-') && at(7, b'-') && at(10, b'T') && at(13, b':') && at(16, b':')) {
        return false;
    }
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return false;
    }
    let mut i = 19;
    if at(i, b'.') {
        let frac = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if frac == 0 {
            return false;
        }
        i += 1 + frac;
    }
    match b.get(i) {
        Some(b'Z') => i + 1 == b.len(),
        Some(b'+') | Some(b'-') => {
            i + 6 == b.len()
                && digits(i + 1, 2).is_some_and(|h| h < 24)
                && at(i + 3, b':')
                && digits(i + 4, 2).is_some_and(|m| m < 60)
        }
        _ => false,
    }
}

/// `bootstraptokenv1.BootstrapTokenString`: `abcdef.0123456789abcdef` (6 and 16 characters of
/// `[a-z0-9]`), serialized as one string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootstrapTokenString(pub String);

impl<'de> Deserialize<'de> for BootstrapTokenString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let part_ok = |p: &str, len: usize| {
            p.len() == len
                && p.bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        };
        match text.split_once('.') {
            Some((id, secret)) if part_ok(id, 6) && part_ok(secret, 16) => {
                Ok(BootstrapTokenString(text))
            }
            _ => Err(serde::de::Error::custom(format!(
                "the bootstrap token {text:?} was not of the form \"^([a-z0-9]{{6}})\\.([a-z0-9]{{16}})$\""
            ))),
        }
    }
}

/// `bootstraptokenv1.BootstrapToken`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BootstrapToken {
    /// `json:"token"` without omitempty, but kubeadm generates a token when it is absent.
    pub token: Option<BootstrapTokenString>,
    pub description: Option<String>,
    pub ttl: Option<Duration>,
    pub expires: Option<Time>,
    pub usages: Option<Vec<String>>,
    pub groups: Option<Vec<String>>,
}

/// `corev1.Taint`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Taint {
    pub key: String,
    pub value: Option<String>,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute` (not checked here).
    pub effect: String,
    pub time_added: Option<Time>,
}

/// `resource.Quantity` as JSON carries it: a string such as `"1Mi"`, or a bare number. The
/// quantity grammar itself is not checked.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Quantity {
    String(String),
    Number(serde_json::Number),
}

/// `corev1.EnvVar` (kubeadm v1beta4's `EnvVar` inlines it).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EnvVar {
    pub name: String,
    pub value: Option<String>,
    pub value_from: Option<EnvVarSource>,
}

/// `corev1.EnvVarSource`. Its `fileKeyRef` (the `EnvFiles` feature, alpha in 1.34) is not
/// mirrored, so a document using it is refused — kubeadm-nspawn does not need it, and its minor
/// was not checked.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EnvVarSource {
    pub field_ref: Option<ObjectFieldSelector>,
    pub resource_field_ref: Option<ResourceFieldSelector>,
    pub config_map_key_ref: Option<KeySelector>,
    pub secret_key_ref: Option<KeySelector>,
}

/// `corev1.ObjectFieldSelector`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ObjectFieldSelector {
    pub api_version: Option<String>,
    pub field_path: String,
}

/// `corev1.ResourceFieldSelector`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResourceFieldSelector {
    pub container_name: Option<String>,
    pub resource: String,
    pub divisor: Option<Quantity>,
}

/// `corev1.ConfigMapKeySelector` and `corev1.SecretKeySelector` (same fields: the inline
/// `LocalObjectReference.name`, `key`, `optional`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KeySelector {
    pub name: Option<String>,
    pub key: String,
    pub optional: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        for ok in [
            "24h0m0s", "0", "4m", "1.5s", ".5h", "1h30m", "-2s", "+3ms", "10us", "1µs", "0s",
        ] {
            assert!(check_go_duration(ok).is_ok(), "{ok}");
        }
        for bad in ["", "24", "h", "1x", "1.s.", ".s", "1h 30m", "--1s", "s1"] {
            assert!(check_go_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rfc3339_times() {
        for ok in [
            "2024-01-02T15:04:05Z",
            "2024-01-02T15:04:05.123Z",
            "2024-01-02T15:04:05+02:00",
        ] {
            assert!(is_rfc3339(ok), "{ok}");
        }
        for bad in [
            "2024-01-02",
            "2024-01-02 15:04:05Z",
            "2024-13-02T15:04:05Z",
            "2024-01-02T15:04:05",
        ] {
            assert!(!is_rfc3339(bad), "{bad}");
        }
    }

    #[test]
    fn bootstrap_token_strings() {
        let ok: BootstrapTokenString =
            serde_json::from_value(serde_json::json!("abcdef.0123456789abcdef")).unwrap();
        assert_eq!(ok.0, "abcdef.0123456789abcdef");
        for bad in [
            "abcdef.0123456789ABCDEF",
            "abcde.0123456789abcdef",
            "abcdef0123456789abcdef",
        ] {
            let err = serde_json::from_value::<BootstrapTokenString>(serde_json::json!(bad));
            assert!(err.is_err(), "{bad}");
        }
    }
}
