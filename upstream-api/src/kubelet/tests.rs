use super::*;
use crate::component_tests::{self, KUBEADM_1_28, MINORS};
use serde_json::json;

/// The document with every field of the newest minor.
fn all_fields() -> Value {
    component_tests::all_fields_of("kubelet", *MINORS.end())
}

fn minimal(extra: Value) -> Value {
    component_tests::minimal(API_VERSION, KIND, extra)
}

#[test]
fn kubeadm_1_28_defaults_parse_at_every_minor() {
    for minor in MINORS {
        let config = parse(KUBEADM_1_28, Minor(1, minor)).unwrap();
        assert_eq!(config.cgroup_driver.as_deref(), Some("systemd"));
        assert_eq!(config.container_runtime_endpoint, "");
        assert_eq!(
            config.authentication.x509.client_ca_file.as_deref(),
            Some("/etc/kubernetes/pki/ca.crt")
        );
        assert_eq!(
            config.authorization.mode,
            Some(KubeletAuthorizationMode::Webhook)
        );
    }
}

#[test]
fn every_field_of_each_minor_parses_there_and_round_trips() {
    // Every minor's document comes back exactly; 1.30 added logging.options.text.
    component_tests::each_minor_reads_its_all_fields_document(
        "kubelet",
        |doc, minor| parse(doc, minor),
        *MINORS.start(),
        &[30],
    );
}

#[test]
fn the_all_fields_document_is_refused_below_each_newer_field() {
    let doc = all_fields();
    let err = parse(&doc, Minor(1, 36)).unwrap_err();
    assert!(err.contains("defaultPodSysctls"), "{err}");
    let err = parse(&doc, Minor(1, 28)).unwrap_err();
    assert!(err.contains("does not exist before"), "{err}");
}

#[test]
fn versioned_fields_follow_the_table() {
    for field in VERSIONED {
        let (head, rest) = field.path.split_once('.').unwrap_or((field.path, ""));
        let value = all_fields()[head].clone();
        if !rest.is_empty() {
            continue; // a nested path is covered by its parent's row or below
        }
        let doc = minimal(json!({ head: value }));
        let since = field.since;
        assert!(parse(&doc, since).is_ok(), "{} at {since}", field.path);
        let before = Minor(since.0, since.1 - 1);
        let err = parse(&doc, before).unwrap_err();
        assert!(err.contains(field.path), "{err}");
    }
}

#[test]
fn fail_cgroup_v1_needs_1_31() {
    let doc = minimal(json!({"failCgroupV1": false}));
    assert!(parse(&doc, Minor(1, 31)).is_ok());
    let err = parse(&doc, Minor(1, 30)).unwrap_err();
    assert_eq!(
        err,
        "KubeletConfiguration: failCgroupV1 does not exist before 1.31 (this is 1.30)"
    );
}

#[test]
fn text_logging_options_need_1_30() {
    let doc = minimal(json!({"logging": {"options": {"text": {"splitStream": true}}}}));
    assert!(parse(&doc, Minor(1, 30)).is_ok());
    let err = parse(&doc, Minor(1, 29)).unwrap_err();
    assert!(err.contains("logging.options.text"), "{err}");
}

#[test]
fn unknown_fields_are_refused_by_path() {
    component_tests::assert_refused_naming(
        |extra| parse(&minimal(extra.clone()), Minor(1, 30)),
        &[
            (json!({"cgroupDrivr": "systemd"}), &["cgroupDrivr"]),
            (
                json!({"authentication": {"x509": {"clientCaFile": "/ca"}}}),
                &["authentication.x509", "clientCaFile"],
            ),
            (
                json!({"logging": {"options": {"json": {"bufferSize": "1"}}}}),
                &["logging.options.json"],
            ),
        ],
    );
}

#[test]
fn json_names_are_case_sensitive() {
    let err = parse(&minimal(json!({"CgroupDriver": "systemd"})), Minor(1, 30)).unwrap_err();
    assert!(err.contains("CgroupDriver"), "{err}");
}

#[test]
fn scalar_types_are_checked() {
    component_tests::assert_refused_naming(
        |extra| parse(&minimal(extra.clone()), Minor(1, 30)),
        &[
            (json!({"syncFrequency": 60}), &["syncFrequency"]),
            (json!({"syncFrequency": "1 minute"}), &["syncFrequency"]),
            (json!({"maxPods": "110"}), &["maxPods"]),
            (json!({"failSwapOn": "false"}), &["failSwapOn"]),
            (
                json!({"authorization": {"mode": "webhook"}}),
                &["authorization.mode"],
            ),
        ],
    );
}

#[test]
fn swap_behavior_values_depend_on_the_minor() {
    let unlimited = minimal(json!({"memorySwap": {"swapBehavior": "UnlimitedSwap"}}));
    assert!(parse(&unlimited, Minor(1, 29)).is_ok());
    let err = parse(&unlimited, Minor(1, 30)).unwrap_err();
    assert!(err.contains("memorySwap.swapBehavior"), "{err}");
    let no_swap = minimal(json!({"memorySwap": {"swapBehavior": "NoSwap"}}));
    assert!(parse(&no_swap, Minor(1, 30)).is_ok());
    assert!(parse(&no_swap, Minor(1, 28)).is_err());
}

#[test]
fn documents_are_chosen_by_kind_and_api_version() {
    let err = parse("apiVersion: v1\nkind: ConfigMap\n", Minor(1, 30)).unwrap_err();
    assert_eq!(err, "no KubeletConfiguration document");
    let err = parse(
        "apiVersion: kubelet.config.k8s.io/v1alpha1\nkind: KubeletConfiguration\n",
        Minor(1, 30),
    )
    .unwrap_err();
    assert!(err.contains("apiVersion"), "{err}");
    let two = format!(
        "apiVersion: {API_VERSION}\nkind: {KIND}\n---\napiVersion: {API_VERSION}\nkind: {KIND}\n"
    );
    assert!(parse(two.as_str(), Minor(1, 30)).is_err());
    let err = parse(&json!({"kind": KIND}), Minor(1, 30)).unwrap_err();
    assert!(err.contains("apiVersion"), "{err}");
}

#[test]
fn null_leaves_the_zero_value() {
    let config = parse(
        &minimal(
            json!({"authentication": null, "containerRuntimeEndpoint": null, "clusterDNS": null}),
        ),
        Minor(1, 30),
    )
    .unwrap();
    assert_eq!(config.authentication, KubeletAuthentication::default());
    assert_eq!(config.cluster_dns, None);
}
