use super::*;
use crate::component_tests::{self, KUBEADM_1_28, MINORS};
use crate::strict;
use serde_json::{json, Value};

fn minimal(extra: Value) -> Value {
    component_tests::minimal(API_VERSION, KIND, extra)
}

#[test]
fn kubeadm_1_28_defaults_parse_at_every_minor() {
    for minor in MINORS {
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
    // 1.30 added logging.options.text; 1.29 conntrack.tcpBeLiberal, udpTimeout and
    // udpStreamTimeout. Only the newest document has every field.
    component_tests::each_minor_reads_its_all_fields_document(
        "kube-proxy",
        |doc, minor| parse(doc, minor),
        37,
        &[29, 30],
    );
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
        for minor in MINORS {
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
    component_tests::assert_refused_naming(
        |extra| parse(&minimal(extra.clone()), Minor(1, 37)),
        &[
            (json!({"linux": {}}), &["linux"]),
            (
                json!({"iptables": {"masqueradeBit": 14, "localhostNodePort": true}}),
                &["iptables", "localhostNodePort"],
            ),
            (
                json!({"detectLocal": {"clusterCIDRs": ["10.0.0.0/8"]}}),
                &["detectLocal"],
            ),
        ],
    );
}

#[test]
fn values_are_typed() {
    component_tests::assert_refused_naming(
        |extra| parse(&minimal(extra.clone()), Minor(1, 30)),
        &[
            (json!({"configSyncPeriod": "15"}), &["configSyncPeriod"]),
            (json!({"detectLocalMode": "PodCIDR"}), &["detectLocalMode"]),
            (
                json!({"clientConnection": {"burst": "10"}}),
                &["clientConnection.burst"],
            ),
        ],
    );
}
