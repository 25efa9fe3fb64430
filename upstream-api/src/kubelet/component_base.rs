//! The value types the kubelet and kube-proxy configurations share: apimachinery's
//! `metav1.Duration` and `resource.Quantity`, and `k8s.io/component-base`'s
//! `logs/api/v1.LoggingConfiguration`, `tracing/api/v1.TracingConfiguration` and
//! `config/v1alpha1.ClientConnectionConfiguration` (identical in every minor 1.28–1.37 except
//! `logging.options.text`, since 1.30), plus the document selection both `parse` entry
//! points use.
//!
//! Decoding follows Go's `encoding/json` as Kubernetes' strict decoder runs it: a field may be
//! missing or `null` (both leave Go's zero value, so value fields here default), an unknown field
//! is an error, and the scalar types must match (a number is not a string, a duration is a
//! string that Go's `time.ParseDuration` reads).

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{check_versioned, strict, yaml_documents, Minor, Result, Versioned};

/// `null` or a missing field as the type's zero value, as Go's `encoding/json` leaves a non-pointer
/// field that the document gives as `null`.
pub fn null_default<'de, D, T>(deserializer: D) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A `metav1.Duration`: a JSON string in Go's `time.ParseDuration` syntax (`0s`, `4m0s`,
/// `1.5h`, `-2ms`; a bare `0`). An empty string, a number or a unit Go does not know are refused,
/// as `metav1.Duration.UnmarshalJSON` refuses them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Duration(pub String);

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_go_duration(&text).map_err(de::Error::custom)?;
        Ok(Duration(text))
    }
}

/// Go's zero `metav1.Duration`, as it marshals: `0s`.
impl Default for Duration {
    fn default() -> Self {
        Duration("0s".to_string())
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Go's `time.ParseDuration`, to nanoseconds: an optional sign, then one or more decimal numbers
/// (digits, an optional fraction) each with a unit (`ns`, `us`/`µs`/`μs`, `ms`, `s`, `m`, `h`),
/// or a bare `0`; more than ~292 years overflows. The errors are Go's.
pub fn parse_go_duration(text: &str) -> std::result::Result<i128, String> {
    let invalid = || format!("time: invalid duration {text:?}");
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (frac_len, number_len) = match rest[int_len..].strip_prefix('.') {
            Some(after_dot) => {
                let frac_len = after_dot.bytes().take_while(u8::is_ascii_digit).count();
                (frac_len, int_len + 1 + frac_len)
            }
            None => (0, int_len),
        };
        if int_len == 0 && frac_len == 0 {
            return Err(invalid());
        }
        let number = &rest[..number_len];
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale: f64 = match unit {
            "ns" => 1.0,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err(format!("time: missing unit in duration {text:?}")),
            _ => return Err(format!("time: unknown unit {unit:?} in duration {text:?}")),
        };
        let value: f64 = number.parse().map_err(|_| invalid())?;
        total += value * scale;
    }
    if total > i64::MAX as f64 {
        return Err(invalid());
    }
    let nanos = total as i128;
    Ok(if negative { -nanos } else { nanos })
}

/// A `resource.Quantity` (`100Mi`, `500m`, `1.5`, `1e3`): a JSON string, or a JSON number, which
/// `Quantity.UnmarshalJSON` also reads. The syntax is checked as `resource.ParseQuantity` checks
/// it (sign, digits with at most one point, then a binary suffix `Ki`…`Ei`, a decimal suffix
/// `n u m k M G T P E`, or an exponent `e`/`E` and an integer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Quantity(pub String);

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let text = match Value::deserialize(deserializer)? {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            other => {
                return Err(de::Error::custom(format!(
                    "a quantity must be a string or a number, not {other}"
                )))
            }
        };
        check_quantity(&text).map_err(de::Error::custom)?;
        Ok(Quantity(text))
    }
}

/// `resource.ParseQuantity`'s syntax check.
pub fn check_quantity(text: &str) -> std::result::Result<(), String> {
    let bad = || {
        format!("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': {text:?}")
    };
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    let number_len = body
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(body.len());
    let (number, suffix) = body.split_at(number_len);
    if number.is_empty() || number == "." || number.matches('.').count() > 1 {
        return Err(bad());
    }
    let ok = match suffix {
        "" | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" | "n" | "u" | "m" | "k" | "M" | "G" | "T"
        | "P" | "E" => true,
        _ => match suffix.strip_prefix(['e', 'E']) {
            Some(exponent) => {
                let digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
                !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
            }
            None => false,
        },
    };
    if ok {
        Ok(())
    } else {
        Err(bad())
    }
}

/// `logsapi.TimeOrMetaDuration`: a duration string, or a number of nanoseconds (what kubeadm
/// prints: `flushFrequency: 0`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TimeOrMetaDuration {
    Nanoseconds(i64),
    Duration(Duration),
}

/// `k8s.io/component-base/logs/api/v1.LoggingConfiguration`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LoggingConfiguration {
    /// `format,omitempty`: `text` or `json` (the latter registered by the binary).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// `flushFrequency` (no omitempty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flush_frequency: Option<TimeOrMetaDuration>,
    /// `verbosity` (VerbosityLevel, a uint32).
    #[serde(default, deserialize_with = "null_default")]
    pub verbosity: u32,
    /// `vmodule,omitempty`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vmodule: Option<Vec<VModuleItem>>,
    /// `options,omitempty`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<FormatOptions>,
}

/// `logsapi.VModuleItem`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VModuleItem {
    #[serde(default, deserialize_with = "null_default")]
    pub file_pattern: String,
    #[serde(default, deserialize_with = "null_default")]
    pub verbosity: u32,
}

/// `logsapi.FormatOptions`: `text` since 1.30, `json` in every minor.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormatOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<OutputRoutingOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<OutputRoutingOptions>,
}

/// `logsapi.OutputRoutingOptions` (1.30+; before, the same two fields were `JSONOptions`'s own).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OutputRoutingOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split_stream: Option<bool>,
    /// `resource.QuantityValue`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info_buffer_size: Option<Quantity>,
}

/// `k8s.io/component-base/tracing/api/v1.TracingConfiguration`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TracingConfiguration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampling_rate_per_million: Option<i32>,
}

/// `k8s.io/component-base/config/v1alpha1.ClientConnectionConfiguration`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClientConnectionConfiguration {
    #[serde(default, deserialize_with = "null_default")]
    pub kubeconfig: String,
    #[serde(default, deserialize_with = "null_default")]
    pub accept_content_types: String,
    #[serde(default, deserialize_with = "null_default")]
    pub content_type: String,
    /// float32.
    #[serde(default, deserialize_with = "null_default")]
    pub qps: f32,
    #[serde(default, deserialize_with = "null_default")]
    pub burst: i32,
}

/// `error` without serde's list of every expected field (a KubeletConfiguration has 128), so
/// the line names the bad field and stays readable.
pub fn shorten(error: String) -> String {
    match error.find(", expected one of ") {
        Some(at) if error.len() > 200 => error[..at].to_string(),
        _ => error,
    }
}

/// A `map[string]string`.
pub type StringMap = BTreeMap<String, String>;

/// What a `parse` entry point reads: YAML text (one or more `---` separated documents, of which
/// the one of the wanted `kind` is taken) or one document already as a JSON value.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    Yaml(&'a str),
    Value(&'a Value),
}

impl<'a> From<&'a str> for Input<'a> {
    fn from(text: &'a str) -> Self {
        Input::Yaml(text)
    }
}

impl<'a> From<&'a String> for Input<'a> {
    fn from(text: &'a String) -> Self {
        Input::Yaml(text)
    }
}

impl<'a> From<&'a Value> for Input<'a> {
    fn from(value: &'a Value) -> Self {
        Input::Value(value)
    }
}

/// The one document of `kind` in `input`, which must be of `api_version`: a YAML text may hold
/// other documents (kubeadm's own, the other component's), but not two of this kind.
pub fn select_document(input: Input<'_>, api_version: &str, kind: &str) -> Result<Value> {
    let candidates: Vec<Value> = match input {
        Input::Value(value) => vec![value.clone()],
        Input::Yaml(text) => yaml_documents(text)?
            .into_iter()
            .filter(|d| d.get("kind").and_then(Value::as_str) == Some(kind))
            .collect(),
    };
    let document = match candidates.as_slice() {
        [one] => one.clone(),
        [] => return Err(format!("no {kind} document")),
        _ => {
            return Err(format!(
                "{} {kind} documents, expected one",
                candidates.len()
            ))
        }
    };
    let got_kind = document.get("kind").and_then(Value::as_str);
    if got_kind != Some(kind) {
        return Err(format!("{kind}: kind is {got_kind:?}, expected {kind:?}"));
    }
    let got_version = document.get("apiVersion").and_then(Value::as_str);
    if got_version != Some(api_version) {
        return Err(format!(
            "{kind}: apiVersion is {got_version:?}, expected {api_version:?}"
        ));
    }
    Ok(document)
}

/// The one document of `kind` in `input` ([`select_document`]), decoded strictly into `T` and
/// checked against `minor`'s fields of `versioned`; with the document itself, for the checks
/// that read it.
pub fn decode_document<T: DeserializeOwned>(
    input: Input<'_>,
    api_version: &str,
    kind: &str,
    versioned: &[Versioned],
    minor: Minor,
) -> Result<(T, Value)> {
    let document = select_document(input, api_version, kind)?;
    let config: T = strict(kind, &document).map_err(shorten)?;
    check_versioned(kind, &document, versioned, minor)?;
    Ok((config, document))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_go_durations() {
        for ok in [
            "0", "0s", "4m0s", "1.5h", "-2ms", "24h0m0s", "1h2m3.5s", "300us", "1\u{b5}s",
        ] {
            assert!(parse_go_duration(ok).is_ok(), "{ok}");
        }
        assert_eq!(parse_go_duration("4m0s"), Ok(240_000_000_000));
        // Go reads `1.` as a number and finds no unit before the second dot.
        assert_eq!(
            parse_go_duration("1..2s"),
            Err("time: missing unit in duration \"1..2s\"".to_string())
        );
        // 2562047h47m16.854775807s is the longest time.Duration.
        assert!(parse_go_duration("2562047h").is_ok());
        assert!(parse_go_duration("2562048h").is_err());
        for bad in ["", "10", "1 s", "1d", "s", ".s", "1..2s", "-", "1sm2"] {
            assert!(parse_go_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn quantities_follow_parse_quantity() {
        for ok in [
            "0", "100Mi", "500m", "1.5", "1e3", "2E-2", "+1Gi", "-1", "1k", ".5",
        ] {
            assert!(check_quantity(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Mi", "1MiB", "1 Mi", "1KB", "1e", "1.2.3", "ten"] {
            assert!(check_quantity(bad).is_err(), "{bad}");
        }
        let q: Quantity = serde_json::from_value(serde_json::json!(5)).unwrap();
        assert_eq!(q.0, "5");
    }

    #[test]
    fn null_is_the_zero_value() {
        let c: ClientConnectionConfiguration =
            serde_json::from_value(serde_json::json!({"kubeconfig": null, "qps": 0})).unwrap();
        assert_eq!(c.kubeconfig, "");
        let err = serde_json::from_value::<ClientConnectionConfiguration>(
            serde_json::json!({"kubeConfig": "x"}),
        )
        .unwrap_err();
        assert!(err.to_string().contains("kubeConfig"), "{err}");
    }
}
