use super::*;
use serde_json::json;

const KUBEADM_1_28: &str = include_str!("../../testdata/component/1.28/kubeadm-init-defaults.yaml");
/// For each minor, a document with every field of that minor's types.go (generated from the
/// upstream file's `json:` tags, sample values by type).
const ALL_FIELDS: [(u32, &str); 10] = [
    (
        28,
        include_str!("../../testdata/component/all-fields/kubelet-1.28.json"),
    ),
    (
        29,
        include_str!("../../testdata/component/all-fields/kubelet-1.29.json"),
    ),
    (
        30,
        include_str!("../../testdata/component/all-fields/kubelet-1.30.json"),
    ),
    (
        31,
        include_str!("../../testdata/component/all-fields/kubelet-1.31.json"),
    ),
    (
        32,
        include_str!("../../testdata/component/all-fields/kubelet-1.32.json"),
    ),
    (
        33,
        include_str!("../../testdata/component/all-fields/kubelet-1.33.json"),
    ),
    (
        34,
        include_str!("../../testdata/component/all-fields/kubelet-1.34.json"),
    ),
    (
        35,
        include_str!("../../testdata/component/all-fields/kubelet-1.35.json"),
    ),
    (
        36,
        include_str!("../../testdata/component/all-fields/kubelet-1.36.json"),
    ),
    (
        37,
        include_str!("../../testdata/component/all-fields/kubelet-1.37.json"),
    ),
];

fn all_fields_of(minor: u32) -> Value {
    let (_, text) = ALL_FIELDS.iter().find(|(m, _)| *m == minor).unwrap();
    serde_json::from_str(text).unwrap()
}

fn all_fields() -> Value {
    all_fields_of(37)
}

fn minimal(extra: Value) -> Value {
    let mut doc = json!({"apiVersion": API_VERSION, "kind": KIND});
    for (k, v) in extra.as_object().unwrap() {
        doc[k] = v.clone();
    }
    doc
}

#[test]
fn kubeadm_1_28_defaults_parse_at_every_minor() {
    for minor in 28..=37 {
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
    for (minor, _) in ALL_FIELDS {
        let doc = all_fields_of(minor);
        let config = parse(&doc, Minor(1, minor)).unwrap_or_else(|e| panic!("1.{minor}: {e}"));
        // Every upstream JSON name is a field here (deny_unknown_fields accepted them all);
        // at the newest minor, every field here is an upstream name too (what comes back out is
        // exactly what went in).
        let back = serde_json::to_value(&config).unwrap();
        assert_eq!(back, doc, "1.{minor}");
        // A minor whose types.go has fields the one before lacks is refused there.
        if minor > 28 {
            let before = all_fields_of(minor - 1);
            let grew =
                doc.as_object().unwrap().len() > before.as_object().unwrap().len() || minor == 30; // logging.options.text
            assert_eq!(
                parse(&doc, Minor(1, minor - 1)).is_err(),
                grew,
                "1.{minor} at 1.{}",
                minor - 1
            );
        }
    }
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
    let err = parse(&minimal(json!({"cgroupDrivr": "systemd"})), Minor(1, 30)).unwrap_err();
    assert!(err.contains("cgroupDrivr"), "{err}");
    let err = parse(
        &minimal(json!({"authentication": {"x509": {"clientCaFile": "/ca"}}})),
        Minor(1, 30),
    )
    .unwrap_err();
    assert!(err.contains("authentication.x509"), "{err}");
    assert!(err.contains("clientCaFile"), "{err}");
    let err = parse(
        &minimal(json!({"logging": {"options": {"json": {"bufferSize": "1"}}}})),
        Minor(1, 30),
    )
    .unwrap_err();
    assert!(err.contains("logging.options.json"), "{err}");
}

#[test]
fn json_names_are_case_sensitive() {
    let err = parse(&minimal(json!({"CgroupDriver": "systemd"})), Minor(1, 30)).unwrap_err();
    assert!(err.contains("CgroupDriver"), "{err}");
}

#[test]
fn scalar_types_are_checked() {
    let err = parse(&minimal(json!({"syncFrequency": 60})), Minor(1, 30)).unwrap_err();
    assert!(err.contains("syncFrequency"), "{err}");
    let err = parse(&minimal(json!({"syncFrequency": "1 minute"})), Minor(1, 30)).unwrap_err();
    assert!(err.contains("syncFrequency"), "{err}");
    let err = parse(&minimal(json!({"maxPods": "110"})), Minor(1, 30)).unwrap_err();
    assert!(err.contains("maxPods"), "{err}");
    let err = parse(&minimal(json!({"failSwapOn": "false"})), Minor(1, 30)).unwrap_err();
    assert!(err.contains("failSwapOn"), "{err}");
    let err = parse(
        &minimal(json!({"authorization": {"mode": "webhook"}})),
        Minor(1, 30),
    )
    .unwrap_err();
    assert!(err.contains("authorization.mode"), "{err}");
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
