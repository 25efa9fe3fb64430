use super::core::Duration;
use super::*;

const INIT_DEFAULTS_1_28: &str = include_str!("../../testdata/kubeadm/1.28/init-defaults.yaml");
const JOIN_DEFAULTS_1_28: &str = include_str!("../../testdata/kubeadm/1.28/join-defaults.yaml");
const INIT_COMPONENTS_1_28: &str =
    include_str!("../../testdata/kubeadm/1.28/init-defaults-components.yaml");
const JOIN_COMPONENTS_1_28: &str =
    include_str!("../../testdata/kubeadm/1.28/join-defaults-components.yaml");
const V1BETA3_EVERY_FIELD: &str = include_str!("../../testdata/kubeadm/v1beta3/every-field.yaml");
const V1BETA4_DOC_INIT: &str =
    include_str!("../../testdata/kubeadm/v1beta4/doc-go-init-example.yaml");
const V1BETA4_DOC_JOIN: &str =
    include_str!("../../testdata/kubeadm/v1beta4/doc-go-join-example.yaml");
const V1BETA4_EVERY_FIELD: &str = include_str!("../../testdata/kubeadm/v1beta4/every-field.yaml");

fn minors(from: u32, to: u32) -> impl Iterator<Item = Minor> {
    (from..=to).map(|m| Minor(1, m))
}

fn ok(text: &str, minor: Minor) -> KubeadmDocuments {
    parse(text, minor).unwrap_or_else(|e| panic!("at {minor}: {e}"))
}

/// The error of `text` at `minor`, checked to be one line that contains every one of `needles`.
fn refused(text: &str, minor: Minor, needles: &[&str]) -> String {
    let err = match parse(text, minor) {
        Ok(docs) => panic!("at {minor}: accepted {docs:?}"),
        Err(e) => e,
    };
    assert!(!err.contains('\n'), "not one line: {err}");
    for needle in needles {
        assert!(err.contains(needle), "{needle:?} not in: {err}");
    }
    err
}

fn d(text: &str) -> Option<Duration> {
    Some(Duration(text.to_owned()))
}

/// `etcd.local.extraEnvs` of a v1beta4 `cluster`, which must have it.
fn local_etcd_extra_envs(cluster: &v1beta4::ClusterConfiguration) -> &[core::EnvVar] {
    cluster
        .etcd
        .as_ref()
        .and_then(|e| e.local.as_ref())
        .and_then(|l| l.extra_envs.as_deref())
        .unwrap()
}

fn kinds(docs: &KubeadmDocuments) -> Vec<&str> {
    docs.others
        .iter()
        .filter_map(|d| d.get("kind").and_then(Value::as_str))
        .collect()
}

// (a) kubeadm v1.28.7's own output.

#[test]
fn kubeadm_1_28_init_defaults() {
    let docs = ok(INIT_DEFAULTS_1_28, Minor(1, 28));
    let Some(InitConfiguration::V1beta3(init)) = &docs.init else {
        panic!("{:?}", docs.init)
    };
    let tokens = init.bootstrap_tokens.as_deref().unwrap_or_default();
    assert_eq!(tokens.len(), 1);
    let token = tokens[0].token.as_ref().map(|t| t.0.as_str());
    assert_eq!(token, Some("abcdef.0123456789abcdef"));
    assert_eq!(tokens[0].ttl, d("24h0m0s"));
    let registration = init.node_registration.as_ref().unwrap();
    assert_eq!(registration.name.as_deref(), Some("node"));
    assert_eq!(registration.taints, None, "taints: null");
    assert_eq!(
        registration.cri_socket.as_deref(),
        Some("unix:///var/run/containerd/containerd.sock")
    );
    let endpoint = init.local_api_endpoint.as_ref().unwrap();
    assert_eq!(endpoint.bind_port, Some(6443));

    let Some(ClusterConfiguration::V1beta3(cluster)) = &docs.cluster else {
        panic!("{:?}", docs.cluster)
    };
    assert_eq!(cluster.kubernetes_version.as_deref(), Some("1.28.0"));
    let api_server = cluster.api_server.as_ref().unwrap();
    assert_eq!(api_server.timeout_for_control_plane, d("4m0s"));
    let local = cluster
        .etcd
        .as_ref()
        .and_then(|e| e.local.as_ref())
        .unwrap();
    assert_eq!(local.data_dir.as_deref(), Some("/var/lib/etcd"));
    assert_eq!(
        cluster.controller_manager.as_ref().unwrap().extra_args,
        None
    );
    assert!(docs.join.is_none() && docs.others.is_empty());
}

#[test]
fn kubeadm_1_28_join_defaults() {
    let docs = ok(JOIN_DEFAULTS_1_28, Minor(1, 28));
    let Some(JoinConfiguration::V1beta3(join)) = &docs.join else {
        panic!("{:?}", docs.join)
    };
    assert_eq!(
        join.ca_cert_path.as_deref(),
        Some("/etc/kubernetes/pki/ca.crt")
    );
    let discovery = join.discovery.as_ref().unwrap();
    assert_eq!(discovery.timeout, d("5m0s"));
    let token = discovery.bootstrap_token.as_ref().unwrap();
    assert_eq!(
        token.api_server_endpoint.as_deref(),
        Some("kube-apiserver:6443")
    );
    assert_eq!(token.unsafe_skip_ca_verification, Some(true));
    assert!(docs.init.is_none() && docs.cluster.is_none());
}

#[test]
fn kubeadm_1_28_component_configs_come_back_untouched() {
    let docs = ok(INIT_COMPONENTS_1_28, Minor(1, 28));
    assert!(docs.init.is_some() && docs.cluster.is_some());
    assert_eq!(
        kinds(&docs),
        ["KubeletConfiguration", "KubeProxyConfiguration"]
    );
    let all = yaml_documents(INIT_COMPONENTS_1_28).unwrap();
    assert_eq!(docs.others, all[2..]);

    let docs = ok(JOIN_COMPONENTS_1_28, Minor(1, 28));
    assert!(docs.join.is_some());
    assert_eq!(
        kinds(&docs),
        ["KubeletConfiguration", "KubeProxyConfiguration"]
    );
}

#[test]
fn v1beta3_is_read_until_1_36() {
    for text in [INIT_DEFAULTS_1_28, JOIN_DEFAULTS_1_28, V1BETA3_EVERY_FIELD] {
        for minor in minors(28, 36) {
            ok(text, minor);
        }
        refused(
            text,
            Minor(1, 37),
            &["kubeadm.k8s.io/v1beta3 was removed in 1.37", "document 1"],
        );
    }
}

#[test]
fn v1beta3_every_field() {
    let docs = ok(V1BETA3_EVERY_FIELD, Minor(1, 30));
    let Some(ClusterConfiguration::V1beta3(cluster)) = &docs.cluster else {
        panic!()
    };
    let api_server = cluster.api_server.as_ref().unwrap();
    let args = api_server.extra_args.as_ref().unwrap();
    assert_eq!(
        args.get("authorization-mode").map(String::as_str),
        Some("Node,RBAC")
    );
    assert_eq!(
        api_server.extra_volumes.as_ref().unwrap()[0]
            .path_type
            .as_deref(),
        Some("DirectoryOrCreate")
    );
    let Some(JoinConfiguration::V1beta3(join)) = &docs.join else {
        panic!()
    };
    let file = join
        .discovery
        .as_ref()
        .and_then(|d| d.file.as_ref())
        .unwrap();
    assert_eq!(file.kube_config_path, "/etc/kubernetes/discovery.conf");
    assert_eq!(
        join.node_registration.as_ref().unwrap().taints,
        Some(vec![])
    );
}

// (b) v1beta4 samples written from the upstream types.

#[test]
fn v1beta4_doc_go_init_example() {
    for minor in [Minor(1, 31), Minor(1, 35)] {
        let docs = ok(V1BETA4_DOC_INIT, minor);
        let Some(InitConfiguration::V1beta4(init)) = &docs.init else {
            panic!("{:?}", docs.init)
        };
        let registration = init.node_registration.as_ref().unwrap();
        let args = registration.kubelet_extra_args.as_ref().unwrap();
        assert_eq!(
            args,
            &[v1beta4::Arg {
                name: "v".into(),
                value: "5".into()
            }]
        );
        assert_eq!(registration.image_pull_serial, Some(true));
        let timeouts = init.timeouts.as_ref().unwrap();
        assert_eq!(timeouts.control_plane_component_health_check, d("60s"));
        assert_eq!(timeouts.kubernetes_api_call, d("40s"));
        assert_eq!(timeouts.etcd_api_call, None);

        let Some(ClusterConfiguration::V1beta4(cluster)) = &docs.cluster else {
            panic!("{:?}", docs.cluster)
        };
        assert_eq!(cluster.encryption_algorithm.as_deref(), Some("ECDSA-P256"));
        assert_eq!(cluster.dns.as_ref().and_then(|d| d.disabled), Some(true));
        assert_eq!(cluster.proxy.as_ref().and_then(|p| p.disabled), Some(true));
        let envs = local_etcd_extra_envs(cluster);
        assert_eq!(
            (envs[0].name.as_str(), envs[0].value.as_deref()),
            ("SOME_VAR", Some("SOME_VALUE"))
        );
        assert_eq!(
            kinds(&docs),
            ["KubeletConfiguration", "KubeProxyConfiguration"]
        );
    }
}

#[test]
fn v1beta4_doc_go_join_example() {
    for minor in [Minor(1, 31), Minor(1, 35), Minor(1, 37)] {
        let docs = ok(V1BETA4_DOC_JOIN, minor);
        let Some(JoinConfiguration::V1beta4(join)) = &docs.join else {
            panic!("{:?}", docs.join)
        };
        let discovery = join.discovery.as_ref().unwrap();
        assert_eq!(
            discovery.tls_bootstrap_token.as_deref(),
            Some("abcdef.0123456789abcdef")
        );
    }
}

#[test]
fn v1beta4_every_field_in_every_minor() {
    for minor in minors(31, 37) {
        let docs = ok(V1BETA4_EVERY_FIELD, minor);
        assert!(docs.init.is_some() && docs.cluster.is_some() && docs.join.is_some());
        let reset = docs.reset.as_ref().unwrap();
        assert_eq!(
            reset.unmount_flags.as_deref(),
            Some(&["MNT_DETACH".to_owned()][..])
        );
        let upgrade = docs.upgrade.as_ref().unwrap();
        assert_eq!(
            upgrade.diff.as_ref().and_then(|d| d.diff_context_lines),
            Some(3)
        );
        assert_eq!(
            upgrade.timeouts.as_ref().unwrap().upgrade_manifests,
            d("10m0s")
        );
        let Some(ClusterConfiguration::V1beta4(cluster)) = &docs.cluster else {
            panic!()
        };
        let args = cluster
            .api_server
            .as_ref()
            .and_then(|a| a.extra_args.as_ref())
            .unwrap();
        assert_eq!(args.len(), 2, "duplicate extra args are allowed in v1beta4");
        let envs = local_etcd_extra_envs(cluster);
        let mem = envs[2]
            .value_from
            .as_ref()
            .and_then(|v| v.resource_field_ref.as_ref())
            .unwrap();
        assert_eq!(mem.divisor, Some(core::Quantity::String("1Mi".into())));
        assert_eq!(cluster.certificate_validity_period, d("8760h0m0s"));
    }
}

#[test]
fn api_version_table() {
    for minor in minors(28, 37) {
        assert_eq!(reads("v1beta3", minor), minor <= Minor(1, 36), "{minor}");
        assert_eq!(reads("v1beta4", minor), minor >= Minor(1, 31), "{minor}");
        assert!(!reads("v1beta2", minor) && !reads("v1", minor));
        assert!(reads(
            preferred_api_version(minor).trim_start_matches("kubeadm.k8s.io/"),
            minor
        ));
    }
}

// The per-minor field tables.

const EXTERNAL_ETCD: &str = "
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
etcd:
  external:
    endpoints: [https://10.0.0.1:2379]
    httpEndpoints: [https://10.0.0.1:2381]
    caFile: /etc/etcd/ca.crt
    certFile: /etc/etcd/client.crt
    keyFile: /etc/etcd/client.key
";

#[test]
fn http_endpoints_since_1_35() {
    for minor in minors(35, 37) {
        let docs = ok(EXTERNAL_ETCD, minor);
        let Some(ClusterConfiguration::V1beta4(cluster)) = docs.cluster else {
            panic!()
        };
        let external = cluster.etcd.and_then(|e| e.external).unwrap();
        assert_eq!(
            external.http_endpoints,
            Some(vec!["https://10.0.0.1:2381".to_owned()])
        );
    }
    for minor in minors(31, 34) {
        refused(
            EXTERNAL_ETCD,
            minor,
            &[
                "etcd.external.httpEndpoints does not exist before 1.35",
                "ClusterConfiguration",
            ],
        );
    }
    ok(
        &EXTERNAL_ETCD.replace("    httpEndpoints: [https://10.0.0.1:2381]\n", ""),
        Minor(1, 31),
    );
}

#[test]
fn upgrade_apply_skip_phases_key_changed_in_1_32() {
    let untagged = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: UpgradeConfiguration\napply:\n  SkipPhases: [addon/kube-proxy]\n";
    let tagged = untagged.replace("SkipPhases", "skipPhases");
    ok(untagged, Minor(1, 31));
    refused(
        untagged,
        Minor(1, 32),
        &["apply.SkipPhases was removed in 1.32"],
    );
    refused(
        &tagged,
        Minor(1, 31),
        &["apply.skipPhases does not exist before 1.32"],
    );
    for minor in minors(32, 37) {
        let docs = ok(&tagged, minor);
        let apply = docs.upgrade.and_then(|u| u.apply).unwrap();
        assert_eq!(apply.skip_phases, Some(vec!["addon/kube-proxy".to_owned()]));
    }
}

#[test]
fn upgrade_plan_etcd_upgrade_since_1_33() {
    let text = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: UpgradeConfiguration\nplan:\n  etcdUpgrade: false\n";
    refused(
        text,
        Minor(1, 32),
        &["plan.etcdUpgrade does not exist before 1.33"],
    );
    ok(text, Minor(1, 33));
}

#[test]
fn encryption_algorithms_per_minor() {
    let with = |alg: &str| {
        format!("apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nencryptionAlgorithm: {alg}\n")
    };
    for alg in ["RSA-2048", "RSA-3072", "RSA-4096", "ECDSA-P256"] {
        ok(&with(alg), Minor(1, 31));
    }
    refused(
        &with("ECDSA-P384"),
        Minor(1, 33),
        &[
            "encryptionAlgorithm",
            "\"ECDSA-P384\" does not exist before 1.34",
        ],
    );
    ok(&with("ECDSA-P384"), Minor(1, 34));
    refused(
        &with("ML-DSA-44"),
        Minor(1, 37),
        &["encryptionAlgorithm", "is not one of"],
    );
    refused(
        &with("RSA"),
        Minor(1, 31),
        &["encryptionAlgorithm: \"RSA\" is not one of RSA-2048"],
    );
}

// (c) what kubeadm refuses.

#[test]
fn unknown_fields_are_refused() {
    let top = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nbogusField: 1\n";
    refused(
        top,
        Minor(1, 28),
        &[
            "document 1 (kubeadm.k8s.io/v1beta3 ClusterConfiguration)",
            "bogusField",
        ],
    );
    let nested = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nnodeRegistration:\n  nam: node-1\n";
    refused(nested, Minor(1, 31), &["nodeRegistration", "`nam`"]);
}

#[test]
fn v1beta4_only_fields_in_v1beta3_are_refused() {
    let cases = [
        (
            "ClusterConfiguration",
            "encryptionAlgorithm: ECDSA-P256\n",
            "encryptionAlgorithm",
        ),
        (
            "ClusterConfiguration",
            "proxy:\n  disabled: true\n",
            "proxy",
        ),
        (
            "ClusterConfiguration",
            "dns:\n  disabled: true\n",
            "disabled",
        ),
        (
            "ClusterConfiguration",
            "certificateValidityPeriod: 8760h\n",
            "certificateValidityPeriod",
        ),
        (
            "ClusterConfiguration",
            "etcd:\n  local:\n    extraEnvs: []\n",
            "extraEnvs",
        ),
        (
            "InitConfiguration",
            "nodeRegistration:\n  imagePullSerial: true\n",
            "imagePullSerial",
        ),
        (
            "InitConfiguration",
            "timeouts:\n  discovery: 5m\n",
            "timeouts",
        ),
        ("JoinConfiguration", "dryRun: true\n", "dryRun"),
    ];
    for (kind, body, field) in cases {
        let text = format!("apiVersion: kubeadm.k8s.io/v1beta3\nkind: {kind}\n{body}");
        refused(&text, Minor(1, 30), &["kubeadm.k8s.io/v1beta3", field]);
    }
    let reset = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ResetConfiguration\n";
    refused(
        reset,
        Minor(1, 30),
        &["ResetConfiguration is not a kind of kubeadm.k8s.io/v1beta3"],
    );
}

#[test]
fn v1beta3_only_fields_in_v1beta4_are_refused() {
    let timeout = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\napiServer:\n  timeoutForControlPlane: 4m0s\n";
    refused(
        timeout,
        Minor(1, 31),
        &["apiServer", "timeoutForControlPlane"],
    );
    let discovery = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\ndiscovery:\n  timeout: 5m0s\n";
    refused(discovery, Minor(1, 31), &["discovery", "timeout"]);
    let merge = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\napiServer:\n  extraArgs:\n  - name: a\n    value: b\n    mergeMethod: append\n";
    refused(
        merge,
        Minor(1, 37),
        &["apiServer.extraArgs[0]", "mergeMethod"],
    );
}

#[test]
fn extra_args_maps_are_refused_in_v1beta4() {
    let api_server = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\napiServer:\n  extraArgs:\n    authorization-mode: Node,RBAC\n";
    refused(
        api_server,
        Minor(1, 31),
        &["apiServer.extraArgs", "expected a sequence"],
    );
    let kubelet = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\nnodeRegistration:\n  kubeletExtraArgs:\n    node-ip: 10.0.0.2\n";
    refused(
        kubelet,
        Minor(1, 35),
        &["nodeRegistration.kubeletExtraArgs", "expected a sequence"],
    );
    let etcd = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\netcd:\n  local:\n    extraArgs:\n      listen-metrics-urls: http://0.0.0.0:2381\n";
    refused(etcd, Minor(1, 31), &["etcd.local.extraArgs"]);
    let list_in_v1beta3 = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\napiServer:\n  extraArgs:\n  - name: a\n    value: b\n";
    refused(
        list_in_v1beta3,
        Minor(1, 30),
        &["apiServer.extraArgs", "expected a map"],
    );
}

#[test]
fn v1beta4_before_1_31_is_refused() {
    for minor in minors(28, 30) {
        refused(
            V1BETA4_DOC_JOIN,
            minor,
            &[
                "kubeadm.k8s.io/v1beta4 is read from 1.31 on",
                "--allow-experimental-api",
            ],
        );
    }
}

#[test]
fn other_api_versions_and_kinds_are_refused() {
    let doc = |api: &str, kind: &str| format!("apiVersion: {api}\nkind: {kind}\n");
    refused(
        &doc("kubeadm.k8s.io/v1beta2", "ClusterConfiguration"),
        Minor(1, 28),
        &["old API version"],
    );
    refused(
        &doc("kubeadm.k8s.io/v1", "ClusterConfiguration"),
        Minor(1, 37),
        &["experimental placeholder"],
    );
    refused(
        &doc("kubeadm.k8s.io/v2", "ClusterConfiguration"),
        Minor(1, 31),
        &["not a kubeadm API version"],
    );
    refused(
        &doc("kubeadm.k8s.io/v1beta4", "KubeletConfiguration"),
        Minor(1, 31),
        &["KubeletConfiguration is not a kind of kubeadm.k8s.io/v1beta4"],
    );
    refused(
        "kind: ClusterConfiguration\n",
        Minor(1, 31),
        &["document 1", "apiVersion"],
    );
    let docs = ok(&doc("example.com/v1", "Anything"), Minor(1, 31));
    assert_eq!(kinds(&docs), ["Anything"]);
}

#[test]
fn a_kind_twice_is_refused() {
    let text = format!("{V1BETA4_DOC_JOIN}---\n{V1BETA4_DOC_JOIN}");
    refused(
        &text,
        Minor(1, 31),
        &["document 2", "a second JoinConfiguration"],
    );
}

#[test]
fn malformed_values_are_refused() {
    let cases: [(&str, &[&str]); 7] = [
        (
            "bootstrapTokens:\n- ttl: 24 hours\n",
            &["bootstrapTokens[0].ttl", "in duration \"24 hours\""],
        ),
        (
            "bootstrapTokens:\n- token: ABCDEF.0123456789abcdef\n",
            &["bootstrapTokens[0].token", "not of the form"],
        ),
        (
            "bootstrapTokens:\n- expires: tomorrow\n",
            &["bootstrapTokens[0].expires", "RFC 3339"],
        ),
        (
            "nodeRegistration:\n  taints:\n  - key: a\n",
            &["nodeRegistration.taints[0]", "effect"],
        ),
        (
            "localAPIEndpoint:\n  bindPort: \"6443\"\n",
            &["localAPIEndpoint.bindPort"],
        ),
        (
            "nodeRegistration:\n  kubeletExtraArgs:\n  - name: v\n    value: 5\n",
            &["kubeletExtraArgs[0].value"],
        ),
        ("timeouts:\n  discovery: 5\n", &["timeouts.discovery"]),
    ];
    for (body, needles) in cases {
        let init = format!("apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\n{body}");
        refused(&init, Minor(1, 31), needles);
    }
}
