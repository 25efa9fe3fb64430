//! Every generated document parsed back into strict copies of the upstream types of the minor it
//! is for (`kns-upstream-api`), for each minor from 1.28 to 1.37 on a cgroup v1 and a v2 host, in
//! the shapes a cluster can have: one control plane, several behind a load balancer, no workers,
//! with the config file's gates, runtime config, labels and patches.

use std::collections::BTreeMap;

use kns_upstream_api::kubeadm::{self, ClusterConfiguration, InitConfiguration, JoinConfiguration};
use kns_upstream_api::{kube_proxy, kubelet};

use super::*;
use crate::host::cgroup::Layout;
use crate::model::ranges::{DEFAULT_POD_SUBNET, DEFAULT_SERVICE_SUBNET};
use crate::model::ranges6::{DEFAULT_POD_SUBNET6, DEFAULT_SERVICE_SUBNET6};

/// The minors the documents are proven for, with a version string of each.
const MINORS: &[(&str, Minor)] = &[
    ("v1.28.7", Minor(1, 28)),
    ("v1.29.15", Minor(1, 29)),
    ("v1.30.14", Minor(1, 30)),
    ("v1.31.2", Minor(1, 31)),
    ("v1.32.9", Minor(1, 32)),
    ("v1.33.1", Minor(1, 33)),
    ("v1.34.1", Minor(1, 34)),
    ("v1.35.0", Minor(1, 35)),
    ("v1.36.0-rc.0", Minor(1, 36)),
    ("v1.37.0-alpha.1.20+0123abcd-dirty", Minor(1, 37)),
];

/// The documents of a cluster on a host of cgroup layout `cgroups`.
fn config(version: &str, minor: Minor, cgroups: Layout) -> ClusterConfig {
    ClusterConfig {
        cluster_name: ClusterName::new("dev").unwrap(),
        kubernetes_version: version.into(),
        minor,
        control_plane_ip: IpAddr::V4(Ipv4Addr::new(10, 22, 0, 10)),
        endpoint_ip: Ipv4Addr::new(10, 22, 0, 10),
        ip_family: IpFamily::Ipv4,
        certificate_key: None,
        untainted_control_planes: false,
        etcd_tag: "3.5.16-0".into(),
        coredns_tag: Some("v1.10.1".into()),
        token: "abcdef.0123456789abcdef".into(),
        patches: false,
        pod_subnets: vec![AnyCidr::V4(DEFAULT_POD_SUBNET)],
        service_subnets: vec![AnyCidr::V4(DEFAULT_SERVICE_SUBNET)],
        cgroup_v1: cgroups.is_v1(),
        cgroup_driver: cgroups.cgroup_driver(),
        components: Default::default(),
    }
}

fn ha(config: ClusterConfig) -> ClusterConfig {
    ClusterConfig {
        endpoint_ip: Ipv4Addr::new(10, 22, 0, 9),
        certificate_key: Some("a".repeat(64)),
        ..config
    }
}

fn with_settings(mut config: ClusterConfig) -> ClusterConfig {
    config.components.feature_gates = [("InPlacePodVerticalScaling".into(), true)].into();
    config.components.runtime_config = [("resource.k8s.io/v1alpha2".into(), "true".into())].into();
    config.patches = true;
    config
}

fn node(i: usize) -> NodeRegistration {
    NodeRegistration {
        name: format!("dev-n{i}"),
        ips: vec![IpAddr::V4(Ipv4Addr::new(10, 22, 0, 10 + i as u8))],
        labels: Default::default(),
        kubelet_patch: None,
    }
}

fn upstream(minor: Minor) -> kns_upstream_api::Minor {
    kns_upstream_api::Minor(minor.0, minor.1)
}

/// Each shape of `config` at every minor and host.
fn every_config() -> Vec<ClusterConfig> {
    let mut all = vec![];
    for &(version, minor) in MINORS {
        for cgroups in [Layout::Hybrid, Layout::Unified] {
            let base = config(version, minor, cgroups);
            all.push(base.clone());
            all.push(ha(base.clone()));
            all.push(ClusterConfig {
                untainted_control_planes: true,
                ..ha(base.clone())
            });
            all.push(with_settings(base));
        }
    }
    all
}

/// The init documents of `config`, parsed strictly: kubeadm's two and the kubelet's and
/// kube-proxy's.
fn parse_init(
    config: &ClusterConfig,
    n: &NodeRegistration,
) -> (
    kubeadm::KubeadmDocuments,
    kubelet::KubeletConfiguration,
    kube_proxy::KubeProxyConfiguration,
) {
    let text = init_config(config, n).unwrap();
    let minor = upstream(config.minor);
    let what = format!(
        "{} (v1 host: {})",
        config.kubernetes_version, config.cgroup_v1
    );
    let docs = kubeadm::parse(&text, minor).unwrap_or_else(|e| panic!("{what}: {e}\n{text}"));
    assert_eq!(docs.others.len(), 2, "{what}:\n{text}");
    let kubelet =
        kubelet::parse(&docs.others[0], minor).unwrap_or_else(|e| panic!("{what}: {e}\n{text}"));
    let proxy =
        kube_proxy::parse(&docs.others[1], minor).unwrap_or_else(|e| panic!("{what}: {e}\n{text}"));
    (docs, kubelet, proxy)
}

/// Extra arguments of v1beta3, as a map.
fn args_v3(list: &Option<BTreeMap<String, String>>) -> BTreeMap<String, String> {
    list.clone().unwrap_or_default()
}

/// Extra arguments of v1beta4, as a map.
fn args_v4(list: &Option<Vec<kubeadm::v1beta4::Arg>>) -> BTreeMap<String, String> {
    list.iter()
        .flatten()
        .map(|a| (a.name.clone(), a.value.clone()))
        .collect()
}

/// What a test asks of an InitConfiguration + ClusterConfiguration, whatever the API version.
struct Seen {
    api_version: String,
    kubelet_args: BTreeMap<String, String>,
    ignored: Vec<String>,
    taints: Option<usize>,
    certificate_key: Option<String>,
    advertise: String,
    endpoint: String,
    cert_sans: Vec<String>,
    api_server_args: BTreeMap<String, String>,
    controller_manager_args: BTreeMap<String, String>,
    scheduler_args: BTreeMap<String, String>,
    feature_gates: BTreeMap<String, bool>,
    encryption: Option<String>,
    image_repository: String,
    pods: String,
    services: String,
    patches: Option<String>,
}

/// [`Seen`] of an InitConfiguration `$i` and ClusterConfiguration `$c` of one API version, whose
/// types differ between versions but whose fields are named alike: `$args` reads that version's
/// extra arguments, `$encryption` is its encryption algorithm (v1beta4 only).
macro_rules! seen_of {
    ($i:expr, $c:expr, $args:expr, $encryption:expr) => {{
        let (i, c) = ($i, $c);
        let r = i.node_registration.as_ref().unwrap();
        let networking = c.networking.as_ref().unwrap();
        let api_server = c.api_server.as_ref().unwrap();
        Seen {
            api_version: i.api_version.clone(),
            kubelet_args: $args(&r.kubelet_extra_args),
            ignored: r.ignore_preflight_errors.clone().unwrap_or_default(),
            taints: r.taints.as_ref().map(Vec::len),
            certificate_key: i.certificate_key.clone(),
            advertise: i
                .local_api_endpoint
                .as_ref()
                .unwrap()
                .advertise_address
                .clone()
                .unwrap(),
            endpoint: c.control_plane_endpoint.clone().unwrap(),
            cert_sans: api_server.cert_sans.clone().unwrap_or_default(),
            api_server_args: $args(&api_server.extra_args),
            controller_manager_args: $args(&c.controller_manager.as_ref().unwrap().extra_args),
            scheduler_args: c
                .scheduler
                .as_ref()
                .map(|s| $args(&s.extra_args))
                .unwrap_or_default(),
            feature_gates: c.feature_gates.clone().unwrap_or_default(),
            encryption: $encryption,
            image_repository: c.image_repository.clone().unwrap(),
            pods: networking.pod_subnet.clone().unwrap(),
            services: networking.service_subnet.clone().unwrap(),
            patches: i.patches.as_ref().and_then(|p| p.directory.clone()),
        }
    }};
}

fn seen(docs: &kubeadm::KubeadmDocuments) -> Seen {
    match (docs.init.as_ref().unwrap(), docs.cluster.as_ref().unwrap()) {
        (InitConfiguration::V1beta3(i), ClusterConfiguration::V1beta3(c)) => {
            seen_of!(i, c, args_v3, None)
        }
        (InitConfiguration::V1beta4(i), ClusterConfiguration::V1beta4(c)) => {
            seen_of!(i, c, args_v4, c.encryption_algorithm.clone())
        }
        (i, c) => panic!("mixed API versions: {i:?} {c:?}"),
    }
}

#[test]
fn every_init_document_is_valid_for_its_minor_and_host() {
    for config in every_config() {
        let (docs, kubelet, proxy) = parse_init(&config, &node(0));
        let s = seen(&docs);
        let what = format!("{} v1:{}", config.kubernetes_version, config.cgroup_v1);
        // The API version follows the minor; v1beta3 is gone in 1.37.
        let want = if config.minor >= Minor(1, 31) {
            "v1beta4"
        } else {
            "v1beta3"
        };
        assert!(s.api_version.ends_with(want), "{what}: {}", s.api_version);
        // Nothing a node would guess or pull.
        assert_eq!(s.kubelet_args["node-ip"], "10.22.0.10", "{what}");
        assert_eq!(s.advertise, "10.22.0.10", "{what}");
        assert_eq!(s.image_repository, REPOSITORY, "{what}");
        assert_eq!(s.pods, "10.244.0.0/16", "{what}");
        for (flag, value) in [
            ("allocate-node-cidrs", "false"),
            ("leader-elect-retry-period", "500ms"),
            ("kube-api-qps", "100"),
            ("kube-api-burst", "200"),
        ] {
            assert_eq!(s.controller_manager_args[flag], value, "{what}");
        }
        // The bridge netfilter check went away in 1.30: not named after it.
        assert_eq!(
            s.ignored.iter().any(|i| i.contains("bridge-nf-call")),
            config.minor < Minor(1, 30),
            "{what}"
        );
        // ECDSA keys: kubeadm's gate before v1beta4, its field from it.
        if config.minor >= Minor(1, 31) {
            assert_eq!(s.encryption.as_deref(), Some("ECDSA-P256"), "{what}");
            assert!(!s.feature_gates.contains_key("PublicKeysECDSA"), "{what}");
        } else {
            assert_eq!(
                s.feature_gates.get("PublicKeysECDSA"),
                Some(&true),
                "{what}"
            );
        }
        // The learners' gate only where it is off by default and still exists.
        assert_eq!(
            s.feature_gates.contains_key("EtcdLearnerMode"),
            config.certificate_key.is_some() && config.minor == Minor(1, 28),
            "{what}"
        );
        assert_cgroups(&config, &s.ignored, &kubelet);
        assert_eq!(
            serde_json::to_value(proxy.mode).unwrap(),
            serde_json::json!("iptables"),
            "{what}"
        );
        assert_eq!(proxy.conntrack.max_per_core, Some(0), "{what}");
        assert_shape_and_settings(&config, &s, &kubelet, &proxy);
    }
}

/// What the host's cgroup layout makes of the documents of `config`: the kubelet's driver is
/// the one containerd got (systemd on v2, cgroupfs on v1), and only a 1.35+ kubelet on a v1 host
/// is told to run there (`failCgroupV1: false`, with `init`'s warning). SystemVerification is
/// ignored in every minor and on every host: no kernel config is visible in a node.
fn assert_cgroups(
    config: &ClusterConfig,
    ignored: &[String],
    kubelet: &kubelet::KubeletConfiguration,
) {
    let what = format!("{} v1:{}", config.kubernetes_version, config.cgroup_v1);
    let driver = if config.cgroup_v1 {
        "cgroupfs"
    } else {
        "systemd"
    };
    assert_eq!(kubelet.cgroup_driver.as_deref(), Some(driver), "{what}");
    let told = config.cgroup_v1 && config.minor >= Minor(1, 35);
    assert_eq!(kubelet.fail_cgroup_v1, told.then_some(false), "{what}");
    assert_eq!(config.cgroup_v1_warning().is_some(), told, "{what}");
    assert!(
        ignored.contains(&"SystemVerification".to_string()),
        "{what}"
    );
}

/// What the cluster's shape (one control plane or several, workers or none) and the config file's
/// settings make of the init documents.
fn assert_shape_and_settings(
    config: &ClusterConfig,
    s: &Seen,
    kubelet: &kubelet::KubeletConfiguration,
    proxy: &kube_proxy::KubeProxyConfiguration,
) {
    let what = format!("{} v1:{}", config.kubernetes_version, config.cgroup_v1);
    {
        match &config.certificate_key {
            Some(key) => {
                assert_eq!(s.endpoint, "10.22.0.9:6443", "{what}");
                assert_eq!(s.certificate_key.as_ref(), Some(key), "{what}");
                assert_eq!(
                    s.cert_sans,
                    ["10.22.0.10", "10.22.0.9", "127.0.0.1", "localhost"]
                );
            }
            None => {
                assert_eq!(s.endpoint, "10.22.0.10:6443", "{what}");
                assert_eq!(s.cert_sans, ["10.22.0.10", "127.0.0.1", "localhost"]);
                assert_eq!(s.certificate_key, None);
            }
        }
        assert_eq!(
            s.taints,
            config.untainted_control_planes.then_some(0),
            "{what}"
        );
        // The config file's settings reach every component.
        if config.patches {
            let gates = "InPlacePodVerticalScaling=true";
            assert_eq!(s.api_server_args["feature-gates"], gates, "{what}");
            assert_eq!(
                s.api_server_args["runtime-config"],
                "resource.k8s.io/v1alpha2=true"
            );
            assert_eq!(s.controller_manager_args["feature-gates"], gates, "{what}");
            assert_eq!(s.scheduler_args["feature-gates"], gates, "{what}");
            let on = Some(&true);
            assert_eq!(
                kubelet
                    .feature_gates
                    .as_ref()
                    .unwrap()
                    .get("InPlacePodVerticalScaling"),
                on
            );
            assert_eq!(
                proxy
                    .feature_gates
                    .as_ref()
                    .unwrap()
                    .get("InPlacePodVerticalScaling"),
                on
            );
            assert_eq!(
                s.patches.as_deref(),
                Some("/etc/kubeadm-nspawn/patches"),
                "{what}"
            );
        } else {
            assert!(
                s.api_server_args.is_empty() && s.scheduler_args.is_empty(),
                "{what}"
            );
            assert_eq!(s.patches, None, "{what}");
        }
    }
}

#[test]
fn every_join_document_is_valid_for_its_minor() {
    for config in every_config() {
        for (i, join_as) in [(1, JoinAs::Worker), (2, JoinAs::ControlPlane)] {
            let mut n = node(i);
            n.labels = [("tier".into(), "front".into()), ("a".into(), "b".into())].into();
            n.kubelet_patch = Some("{}".into());
            let text = join_config(&config, "sha256:abc", &n, join_as).unwrap();
            let docs = kubeadm::parse(&text, upstream(config.minor))
                .unwrap_or_else(|e| panic!("{}: {e}\n{text}", config.kubernetes_version));
            let (endpoint, hashes, args, control_plane, taints, skip_ca, ignored) =
                match docs.join.unwrap() {
                    JoinConfiguration::V1beta3(j) => {
                        let d = j.discovery.unwrap().bootstrap_token.unwrap();
                        let r = j.node_registration.unwrap();
                        (
                            d.api_server_endpoint.unwrap(),
                            d.ca_cert_hashes.unwrap(),
                            r.kubelet_extra_args.unwrap(),
                            j.control_plane.map(|c| c.certificate_key.unwrap()),
                            r.taints.map(|t| t.len()),
                            d.unsafe_skip_ca_verification,
                            r.ignore_preflight_errors.unwrap_or_default(),
                        )
                    }
                    JoinConfiguration::V1beta4(j) => {
                        let d = j.discovery.unwrap().bootstrap_token.unwrap();
                        let r = j.node_registration.unwrap();
                        (
                            d.api_server_endpoint.unwrap(),
                            d.ca_cert_hashes.unwrap(),
                            args_v4(&r.kubelet_extra_args),
                            j.control_plane.map(|c| c.certificate_key.unwrap()),
                            r.taints.map(|t| t.len()),
                            d.unsafe_skip_ca_verification,
                            r.ignore_preflight_errors.unwrap_or_default(),
                        )
                    }
                };
            assert_eq!(hashes, ["sha256:abc"]);
            // A joining node's preflight has the first node's exceptions.
            assert_eq!(ignored, config.ignored_preflight_errors());
            assert!(ignored.contains(&"SystemVerification".to_string()));
            assert_eq!(skip_ca, None, "never unsafe-skip");
            assert_eq!(args["node-ip"], format!("10.22.0.1{i}"));
            assert_eq!(args["node-labels"], "a=b,tier=front");
            match (&config.certificate_key, join_as) {
                (Some(key), JoinAs::ControlPlane) => {
                    assert_eq!(endpoint, "10.22.0.9:6443");
                    assert_eq!(control_plane.as_ref(), Some(key));
                    assert_eq!(taints, config.untainted_control_planes.then_some(0));
                }
                _ => {
                    assert_eq!(control_plane, None);
                    assert_eq!(taints, None);
                }
            }
        }
    }
}

#[test]
fn a_document_with_a_field_of_another_minor_is_what_the_parse_back_catches() {
    // The proof works: the same KubeletConfiguration with failCgroupV1 is refused at 1.28.
    let newer = config("v1.35.0", Minor(1, 35), Layout::Hybrid);
    let text = init_config(&newer, &node(0)).unwrap();
    let docs = kubeadm::parse(&text, kns_upstream_api::Minor(1, 35)).unwrap();
    let err = kubelet::parse(&docs.others[0], kns_upstream_api::Minor(1, 28)).unwrap_err();
    assert!(err.contains("failCgroupV1"), "{err}");
    // And a v1beta4 document is refused by a 1.28 kubeadm.
    assert!(kubeadm::parse(&text, kns_upstream_api::Minor(1, 28)).is_err());
}

#[test]
fn a_nodes_limits_become_reservations_of_the_rest_of_the_host() {
    assert_eq!(kubelet_limits_patch(&Limits::default(), 24 << 30, 2), None);
    let patch: serde_json::Value = serde_json::from_str(
        &kubelet_limits_patch(
            &Limits {
                memory_bytes: Some(1 << 30),
                cpus: Some(0.5),
            },
            24 << 30,
            2,
        )
        .unwrap(),
    )
    .unwrap();
    let memory = (23u64 << 30) + NODE_OVERHEAD_BYTES;
    assert_eq!(
        patch,
        serde_json::json!({
            "enforceNodeAllocatable": ["pods"],
            "systemReserved": {"memory": memory.to_string(), "cpu": "1500m"},
            "evictionHard": {"memory.available": "100Mi"},
        })
    );
    // The patch merged over the generated configuration is still a valid one.
    let c = config("v1.28.7", Minor(1, 28), Layout::Hybrid);
    let docs = kubeadm::parse(&init_config(&c, &node(0)).unwrap(), upstream(c.minor)).unwrap();
    let mut merged = docs.others[0].clone();
    for (k, v) in patch.as_object().unwrap() {
        merged[k] = v.clone();
    }
    kubelet::parse(&merged, upstream(c.minor)).unwrap();
    let patch = kubelet_limits_patch(
        &Limits {
            memory_bytes: None,
            cpus: Some(2.0),
        },
        24 << 30,
        2,
    );
    assert_eq!(
        patch.unwrap(),
        r#"{"enforceNodeAllocatable":["pods"],"systemReserved":{}}"#
    );
}

/// The init documents of `config` parsed strictly, with kube-proxy's when there is one.
fn parse_init_any(
    config: &ClusterConfig,
) -> (
    kubeadm::KubeadmDocuments,
    Option<kube_proxy::KubeProxyConfiguration>,
) {
    let text = init_config(config, &node(0)).unwrap();
    let minor = upstream(config.minor);
    let what = format!(
        "{} {:?}",
        config.kubernetes_version, config.components.kube_proxy_mode
    );
    let docs = kubeadm::parse(&text, minor).unwrap_or_else(|e| panic!("{what}: {e}\n{text}"));
    kubelet::parse(&docs.others[0], minor).unwrap_or_else(|e| panic!("{what}: {e}\n{text}"));
    let proxy = docs
        .others
        .get(1)
        .map(|d| kube_proxy::parse(d, minor).unwrap_or_else(|e| panic!("{what}: {e}\n{text}")));
    (docs, proxy)
}

/// kubeadm init's skipped phases, whatever the API version.
fn skip_phases(docs: &kubeadm::KubeadmDocuments) -> Vec<String> {
    match docs.init.as_ref().unwrap() {
        InitConfiguration::V1beta3(i) => i.skip_phases.clone().unwrap_or_default(),
        InitConfiguration::V1beta4(i) => i.skip_phases.clone().unwrap_or_default(),
    }
}

fn with_mode(mut config: ClusterConfig, mode: KubeProxyMode) -> ClusterConfig {
    config.components.kube_proxy_mode = mode;
    config
}

#[test]
fn each_kube_proxy_mode_is_a_valid_document_of_every_minor_that_has_it() {
    use kube_proxy::ProxyMode;
    for &(version, minor) in MINORS {
        let base = config(version, minor, Layout::Hybrid);
        for (mode, want) in [
            (KubeProxyMode::Iptables, ProxyMode::Iptables),
            (KubeProxyMode::Ipvs, ProxyMode::Ipvs),
        ] {
            let (docs, proxy) = parse_init_any(&with_mode(base.clone(), mode));
            let proxy = proxy.unwrap();
            assert_eq!(proxy.mode, want, "{version}");
            // kube-proxy's defaults for its ipvs section (round robin, 30 s sync) are right for
            // a node: nothing of it is written.
            assert_eq!(proxy.ipvs, Default::default(), "{version}");
            assert_eq!(proxy.feature_gates, None, "{version}");
            assert!(skip_phases(&docs).is_empty(), "{version}");
        }
        let nftables = with_mode(base.clone(), KubeProxyMode::Nftables);
        if minor < Minor(1, 29) {
            // Refused before any document is written (proxy_mode::check_version); the strict
            // parse refuses it too.
            let text = init_config(&nftables, &node(0)).unwrap();
            let docs = kubeadm::parse(&text, upstream(minor)).unwrap();
            let err = kube_proxy::parse(&docs.others[1], upstream(minor)).unwrap_err();
            assert!(err.contains("does not exist before 1.29"), "{err}");
        } else {
            let (_, proxy) = parse_init_any(&nftables);
            let proxy = proxy.unwrap();
            assert_eq!(proxy.mode, ProxyMode::Nftables, "{version}");
            let gate = proxy
                .feature_gates
                .as_ref()
                .and_then(|g| g.get(kube_proxy::NFTABLES_GATE).copied());
            // Set only where it is alpha (off by default): 1.29 and 1.30.
            let alpha = minor < Minor(1, 31);
            assert_eq!(gate, alpha.then_some(true), "{version}");
            // The cluster's own gates stay beside it.
            let (_, proxy) = parse_init_any(&with_settings(nftables.clone()));
            let gates = proxy.unwrap().feature_gates.unwrap();
            assert_eq!(gates.get("InPlacePodVerticalScaling"), Some(&true));
            assert_eq!(gates.contains_key(kube_proxy::NFTABLES_GATE), alpha);
        }
        // none: no kube-proxy document, its addon skipped (with CoreDNS's, when that is too).
        let none = with_mode(base.clone(), KubeProxyMode::None);
        let (docs, proxy) = parse_init_any(&none);
        assert!(proxy.is_none(), "{version}");
        assert_eq!(docs.others.len(), 1, "{version}: the kubelet's only");
        assert_eq!(skip_phases(&docs), ["addon/kube-proxy"], "{version}");
        let bare = ClusterConfig {
            coredns_tag: None,
            ..none
        };
        let (docs, _) = parse_init_any(&bare);
        assert_eq!(
            skip_phases(&docs),
            ["addon/coredns", "addon/kube-proxy"],
            "{version}"
        );
        let (docs, _) = parse_init_any(&ClusterConfig {
            coredns_tag: None,
            ..base
        });
        assert_eq!(skip_phases(&docs), ["addon/coredns"], "{version}");
    }
}

/// `config` for `family`: the node at 10.22.0.10 and fd12:3456:789a::10, kind's IPv6 ranges.
fn of_family(config: ClusterConfig, family: IpFamily) -> ClusterConfig {
    let v6: IpAddr = "fd12:3456:789a::10".parse().unwrap();
    let v4 = config.control_plane_ip;
    ClusterConfig {
        ip_family: family,
        control_plane_ip: if family == IpFamily::Ipv6 { v6 } else { v4 },
        pod_subnets: family.order(
            AnyCidr::V4(DEFAULT_POD_SUBNET),
            Some(AnyCidr::V6(DEFAULT_POD_SUBNET6)),
        ),
        service_subnets: family.order(
            AnyCidr::V4(DEFAULT_SERVICE_SUBNET),
            Some(AnyCidr::V6(DEFAULT_SERVICE_SUBNET6)),
        ),
        ..config
    }
}

fn node_of_family(i: usize, family: IpFamily) -> NodeRegistration {
    let v6: IpAddr = format!("fd12:3456:789a::{:x}", 0x10 + i).parse().unwrap();
    NodeRegistration {
        ips: family.order(node(i).ips[0], Some(v6)),
        ..node(i)
    }
}

#[test]
fn each_family_gets_its_ranges_addresses_and_bind_addresses() {
    for config in every_config() {
        for family in [IpFamily::Ipv4, IpFamily::Ipv6, IpFamily::Dual] {
            let config = of_family(config.clone(), family);
            let what = format!("{} {family}", config.kubernetes_version);
            let (docs, kubelet, proxy) = parse_init(&config, &node_of_family(0, family));
            let s = seen(&docs);
            let (pods, services, advertise, node_ip) = match family {
                IpFamily::Ipv4 => ("10.244.0.0/16", "10.96.0.0/12", "10.22.0.10", "10.22.0.10"),
                IpFamily::Ipv6 => (
                    "fd00:10:244::/56",
                    "fd00:10:96::/112",
                    "fd12:3456:789a::10",
                    "fd12:3456:789a::10",
                ),
                IpFamily::Dual => (
                    "10.244.0.0/16,fd00:10:244::/56",
                    "10.96.0.0/12,fd00:10:96::/112",
                    "10.22.0.10",
                    "10.22.0.10,fd12:3456:789a::10",
                ),
            };
            assert_eq!(s.pods, pods, "{what}");
            assert_eq!(s.services, services, "{what}");
            assert_eq!(s.advertise, advertise, "{what}");
            assert_eq!(s.kubelet_args["node-ip"], node_ip, "{what}");
            assert_eq!(proxy.cluster_cidr, pods, "{what}");
            // The API server's certificate names the advertised address (kubeadm adds it) and
            // the IPv4 endpoint the host and the load balancer use.
            assert!(s.endpoint.starts_with("10.22.0."), "{what}: {}", s.endpoint);
            assert!(s.cert_sans.contains(&advertise.to_string()), "{what}");
            // Loopback-only servers on the family's loopback.
            let loopback = (family == IpFamily::Ipv6).then_some("::1");
            assert_eq!(
                s.controller_manager_args
                    .get("bind-address")
                    .map(String::as_str),
                loopback,
                "{what}"
            );
            assert_eq!(
                s.scheduler_args.get("bind-address").map(String::as_str),
                loopback,
                "{what}"
            );
            assert_eq!(kubelet.healthz_bind_address.as_deref(), loopback, "{what}");
            // The preflight checks an IPv6 control plane meets that a node cannot pass.
            let ip6tables = "FileContent--proc-sys-net-bridge-bridge-nf-call-ip6tables";
            assert_eq!(
                s.ignored.iter().any(|i| i == ip6tables),
                family == IpFamily::Ipv6 && config.minor < Minor(1, 30),
                "{what}"
            );
            // A joining node: its addresses, a control plane advertising its primary one.
            let text = join_config(
                &config,
                "sha256:abc",
                &node_of_family(2, family),
                JoinAs::ControlPlane,
            )
            .unwrap();
            let join = kubeadm::parse(&text, upstream(config.minor))
                .unwrap_or_else(|e| panic!("{what}: {e}\n{text}"))
                .join
                .unwrap();
            let (args, advertised) = match join {
                JoinConfiguration::V1beta3(j) => (
                    j.node_registration.unwrap().kubelet_extra_args.unwrap(),
                    j.control_plane
                        .and_then(|c| c.local_api_endpoint)
                        .and_then(|e| e.advertise_address),
                ),
                JoinConfiguration::V1beta4(j) => (
                    args_v4(&j.node_registration.unwrap().kubelet_extra_args),
                    j.control_plane
                        .and_then(|c| c.local_api_endpoint)
                        .and_then(|e| e.advertise_address),
                ),
            };
            let want_ip = node_ip
                .replace("10.22.0.10", "10.22.0.12")
                .replace("::10", "::12");
            assert_eq!(args["node-ip"], want_ip, "{what}");
            if config.certificate_key.is_some() {
                let primary = want_ip.split(',').next().unwrap();
                assert_eq!(advertised.as_deref(), Some(primary), "{what}");
            }
        }
    }
}
