use super::*;
use serde_json::{json, Value};

const KUBEADM_1_28: &str = include_str!("../../testdata/component/1.28/kubeadm-init-defaults.yaml");

/// For each minor, a document with every field of that minor's types.go.
const ALL_FIELDS: [(u32, &str); 10] = [
    (
        28,
        include_str!("../../testdata/component/all-fields/kube-proxy-1.28.json"),
    ),
    (
        29,
        include_str!("../../testdata/component/all-fields/kube-proxy-1.29.json"),
    ),
    (
        30,
        include_str!("../../testdata/component/all-fields/kube-proxy-1.30.json"),
    ),
    (
        31,
        include_str!("../../testdata/component/all-fields/kube-proxy-1.31.json"),
    ),
    (
        32,
        include_str!("../../testdata/component/all-fields/kube-proxy-1.32.json"),
    ),
    (
        33,
        include_str!("../../testdata/component/all-fields/kube-proxy-1.33.json"),
    ),
    (
        34,
        include_str!("../../testdata/component/all-fields/kube-proxy-1.34.json"),
    ),
    (
        35,
        include_str!("../../testdata/component/all-fields/kube-proxy-1.35.json"),
    ),
    (
        36,
        include_str!("../../testdata/component/all-fields/kube-proxy-1.36.json"),
    ),
    (
        37,
        include_str!("../../testdata/component/all-fields/kube-proxy-1.37.json"),
    ),
];

fn all_fields_of(minor: u32) -> Value {
    let (_, text) = ALL_FIELDS.iter().find(|(m, _)| *m == minor).unwrap();
    serde_json::from_str(text).unwrap()
}

fn minimal(extra: Value) -> Value {
    let mut doc = json!({"apiVersion": API_VERSION, "kind": KIND});
    for (k, v) in extra.as_object().unwrap() {
        doc[k] = v.clone();
    }
    doc
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

#[test]
fn kubeadm_1_28_defaults_parse_at_every_minor() {
    for minor in 28..=37 {
        let config = parse(KUBEADM_1_28, Minor(1, minor)).unwrap();
        assert_eq!(config.mode, ProxyMode::Unset);
        assert_eq!(config.bind_address, "0.0.0.0");
        assert_eq!(
            config.client_connection.kubeconfig,
            "/var/lib/kube-proxy/kubeconfig.conf"
        );
        assert_eq!(config.conntrack.max_per_core, None);
        assert!(config.node_port_addresses.is_empty());
    }
}

#[test]
fn every_field_of_each_minor_parses_there_and_round_trips() {
    for (minor, _) in ALL_FIELDS {
        let doc = all_fields_of(minor);
        let config = parse(&doc, Minor(1, minor)).unwrap_or_else(|e| panic!("1.{minor}: {e}"));
        let back = serde_json::to_value(&config).unwrap();
        // Value fields come back out even where the document left them out; at the newest
        // minor, where the document has every field, exactly what went in comes out.
        assert!(contained(&doc, &back), "1.{minor}: {back:#}");
        if minor == 37 {
            assert_eq!(back, doc);
        }
        if minor > 28 {
            let before = all_fields_of(minor - 1);
            let grew = doc.as_object().unwrap().len() > before.as_object().unwrap().len()
                || minor == 30 // logging.options.text
                || minor == 29; // conntrack.tcpBeLiberal, udpTimeout, udpStreamTimeout
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
fn nftables_mode_is_refused_at_1_28() {
    let doc = minimal(json!({"mode": "nftables"}));
    let err = parse(&doc, Minor(1, 28)).unwrap_err();
    assert_eq!(
        err,
        "KubeProxyConfiguration: mode \"nftables\" does not exist before 1.29 (this is 1.28)"
    );
}

#[test]
fn nftables_mode_follows_its_feature_gate() {
    let plain = minimal(json!({"mode": "nftables"}));
    let gated = minimal(json!({"mode": "nftables", "featureGates": {"NFTablesProxyMode": true}}));
    let off = minimal(json!({"mode": "nftables", "featureGates": {"NFTablesProxyMode": false}}));
    // Alpha, off by default.
    for minor in [29, 30] {
        let err = parse(&plain, Minor(1, minor)).unwrap_err();
        assert!(
            err.contains("needs featureGates.NFTablesProxyMode"),
            "{err}"
        );
        assert!(parse(&gated, Minor(1, minor)).is_ok());
    }
    // Beta, on by default.
    for minor in [31, 32] {
        assert!(parse(&plain, Minor(1, minor)).is_ok());
        assert!(parse(&off, Minor(1, minor)).is_err());
    }
    // GA, locked on.
    for minor in 33..=37 {
        assert!(parse(&plain, Minor(1, minor)).is_ok());
        assert!(parse(&gated, Minor(1, minor)).is_ok());
        let err = parse(&off, Minor(1, minor)).unwrap_err();
        assert!(err.contains("locked"), "{err}");
    }
    let err = parse(
        &minimal(json!({"featureGates": {"NFTablesProxyMode": true}})),
        Minor(1, 28),
    )
    .unwrap_err();
    assert!(err.contains("featureGates.NFTablesProxyMode"), "{err}");
}

#[test]
fn other_modes() {
    for mode in ["", "iptables", "ipvs"] {
        let doc = minimal(json!({ "mode": mode }));
        for minor in 28..=37 {
            assert!(parse(&doc, Minor(1, minor)).is_ok(), "{mode} at 1.{minor}");
        }
    }
    let err = parse(&minimal(json!({"mode": "kernelspace"})), Minor(1, 30)).unwrap_err();
    assert!(err.contains("kernelspace"), "{err}");
    let windows: KubeProxyConfiguration =
        strict(KIND, &minimal(json!({"mode": "kernelspace"}))).unwrap();
    assert!(check_mode(&windows, Minor(1, 30), Os::Windows).is_ok());
    let err = parse(&minimal(json!({"mode": "userspace"})), Minor(1, 30)).unwrap_err();
    assert!(err.contains("mode"), "{err}");
    let ipvs = parse(&minimal(json!({"mode": "ipvs"})), Minor(1, 35)).unwrap();
    assert!(mode_warning(&ipvs, Minor(1, 35)).is_some());
    assert!(mode_warning(&ipvs, Minor(1, 34)).is_none());
}

#[test]
fn a_field_of_a_later_minor_is_refused() {
    let doc = minimal(json!({"nftables": {"syncPeriod": "30s"}}));
    assert!(parse(&doc, Minor(1, 29)).is_ok());
    let err = parse(&doc, Minor(1, 28)).unwrap_err();
    assert_eq!(
        err,
        "KubeProxyConfiguration: nftables does not exist before 1.29 (this is 1.28)"
    );
    let doc = minimal(json!({"conntrack": {"tcpBeLiberal": true}}));
    let err = parse(&doc, Minor(1, 28)).unwrap_err();
    assert!(err.contains("conntrack.tcpBeLiberal"), "{err}");
    let doc = minimal(json!({"windowsRunAsService": false}));
    let err = parse(&doc, Minor(1, 30)).unwrap_err();
    assert!(err.contains("windowsRunAsService"), "{err}");
}

#[test]
fn unknown_fields_are_refused_by_path() {
    let err = parse(&minimal(json!({"linux": {}})), Minor(1, 37)).unwrap_err();
    assert!(err.contains("linux"), "{err}");
    let err = parse(
        &minimal(json!({"iptables": {"masqueradeBit": 14, "localhostNodePort": true}})),
        Minor(1, 37),
    )
    .unwrap_err();
    assert!(err.contains("iptables"), "{err}");
    assert!(err.contains("localhostNodePort"), "{err}");
    let err = parse(
        &minimal(json!({"detectLocal": {"clusterCIDRs": ["10.0.0.0/8"]}})),
        Minor(1, 37),
    )
    .unwrap_err();
    assert!(err.contains("detectLocal"), "{err}");
}

#[test]
fn values_are_typed() {
    let err = parse(&minimal(json!({"configSyncPeriod": "15"})), Minor(1, 30)).unwrap_err();
    assert!(err.contains("configSyncPeriod"), "{err}");
    let err = parse(
        &minimal(json!({"detectLocalMode": "PodCIDR"})),
        Minor(1, 30),
    )
    .unwrap_err();
    assert!(err.contains("detectLocalMode"), "{err}");
    let err = parse(
        &minimal(json!({"clientConnection": {"burst": "10"}})),
        Minor(1, 30),
    )
    .unwrap_err();
    assert!(err.contains("clientConnection.burst"), "{err}");
}
