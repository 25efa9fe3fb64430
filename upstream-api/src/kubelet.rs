//! `kubelet.config.k8s.io/v1beta1` `KubeletConfiguration`, field by field from upstream
//! `staging/src/k8s.io/kubelet/config/v1beta1/types.go` (mirrored as `kubernetes/kubelet`,
//! `config/v1beta1/types.go`), read at the last patch tag of every minor v0.28.15 … v0.36.3,
//! v0.37.0-beta.0 and the 1.37 development head after it (no `release-1.37` branch yet).
//!
//! The struct is the union of the fields of 1.28–1.37; [`VERSIONED`] says which minor each newer
//! field came in (none was removed in that span). JSON names are the `json:` tags; a field that
//! upstream marks `omitempty` or types as a pointer is an `Option`; a plain value field defaults
//! (Go leaves its zero value when the field is missing or `null`). Durations are
//! [`Duration`] strings, quantities [`Quantity`], maps `BTreeMap`.

pub mod component_base;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Minor, Result, Versioned};
use component_base::{
    decode_document, null_default, Duration, Input, LoggingConfiguration, Quantity, StringMap,
    TracingConfiguration,
};

pub const API_VERSION: &str = "kubelet.config.k8s.io/v1beta1";
pub const KIND: &str = "KubeletConfiguration";

/// The `KubeletConfiguration` of `input` (YAML text, from which the one `KubeletConfiguration`
/// document is taken, or a JSON value), decoded strictly and checked against `minor`'s fields
/// ([`VERSIONED`]) and values ([`check_values`]).
pub fn parse<'a>(input: impl Into<Input<'a>>, minor: Minor) -> Result<KubeletConfiguration> {
    let (config, document) = decode_document(input.into(), API_VERSION, KIND, VERSIONED, minor)?;
    check_values(&document, minor)?;
    Ok(config)
}

/// The fields that not every minor 1.28–1.37 has (each first in the `since` minor's types.go).
pub const VERSIONED: &[Versioned] = &[
    Versioned::since("imageMaximumGCAge", Minor(1, 29)),
    Versioned::since("podLogsDir", Minor(1, 30)),
    Versioned::since("containerLogMaxWorkers", Minor(1, 30)),
    Versioned::since("containerLogMonitorInterval", Minor(1, 30)),
    Versioned::since("logging.options.text", Minor(1, 30)),
    Versioned::since("failCgroupV1", Minor(1, 31)),
    Versioned::since("singleProcessOOMKill", Minor(1, 32)),
    Versioned::since("crashLoopBackOff", Minor(1, 32)),
    Versioned::since("crashLoopBackOff.maxContainerRestartPeriod", Minor(1, 32)),
    Versioned::since("imagePullCredentialsVerificationPolicy", Minor(1, 33)),
    Versioned::since("preloadedImagesVerificationAllowlist", Minor(1, 33)),
    Versioned::since("mergeDefaultEvictionSettings", Minor(1, 33)),
    Versioned::since("userNamespaces", Minor(1, 33)),
    Versioned::since("userNamespaces.idsPerPod", Minor(1, 33)),
    Versioned::since("tlsCurvePreferences", Minor(1, 36)),
    Versioned::since("memoryReservationPolicy", Minor(1, 36)),
    // On the development head after v0.37.0-beta.0 (KEP-5996, behind the DefaultPodSysctls
    // feature gate); not in the beta tag itself.
    Versioned::since("defaultPodSysctls", Minor(1, 37)),
];

/// Values that some minors do not take: `memorySwap.swapBehavior` is `""`, `LimitedSwap` or
/// `UnlimitedSwap` up to 1.29 and `""`, `NoSwap` or `LimitedSwap` from 1.30 (the field's comment
/// in each minor's types.go; the kubelet's validation refuses the others when NodeSwap is on).
pub fn check_values(document: &Value, minor: Minor) -> Result<()> {
    let behavior = document
        .get("memorySwap")
        .and_then(|m| m.get("swapBehavior"))
        .and_then(Value::as_str);
    if let Some(behavior) = behavior {
        let allowed: &[&str] = if minor < Minor(1, 30) {
            &["", "LimitedSwap", "UnlimitedSwap"]
        } else {
            &["", "NoSwap", "LimitedSwap"]
        };
        if !allowed.contains(&behavior) {
            return Err(format!(
                "{KIND}: memorySwap.swapBehavior {behavior:?} is not one of {allowed:?} in {minor}"
            ));
        }
    }
    Ok(())
}

/// `KubeletConfiguration`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KubeletConfiguration {
    // metav1.TypeMeta
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,

    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_server: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub static_pod_path: Option<String>,
    /// Since 1.30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_logs_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_frequency: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_check_frequency: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_check_frequency: Option<Duration>,
    #[serde(
        default,
        rename = "staticPodURL",
        skip_serializing_if = "Option::is_none"
    )]
    pub static_pod_url: Option<String>,
    #[serde(
        default,
        rename = "staticPodURLHeader",
        skip_serializing_if = "Option::is_none"
    )]
    pub static_pod_url_header: Option<BTreeMap<String, Vec<String>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only_port: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_cert_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_private_key_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_cipher_suites: Option<Vec<String>>,
    /// Since 1.36.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_curve_preferences: Option<Vec<i32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_min_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotate_certificates: Option<bool>,
    #[serde(
        default,
        rename = "serverTLSBootstrap",
        skip_serializing_if = "Option::is_none"
    )]
    pub server_tls_bootstrap: Option<bool>,
    /// `authentication` (no omitempty).
    #[serde(default, deserialize_with = "null_default")]
    pub authentication: KubeletAuthentication,
    /// `authorization` (no omitempty).
    #[serde(default, deserialize_with = "null_default")]
    pub authorization: KubeletAuthorization,
    #[serde(
        default,
        rename = "registryPullQPS",
        skip_serializing_if = "Option::is_none"
    )]
    pub registry_pull_qps: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_burst: Option<i32>,
    /// Since 1.33.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_credentials_verification_policy: Option<ImagePullCredentialsVerificationPolicy>,
    /// Since 1.33.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preloaded_images_verification_allowlist: Option<Vec<String>>,
    #[serde(
        default,
        rename = "eventRecordQPS",
        skip_serializing_if = "Option::is_none"
    )]
    pub event_record_qps: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_burst: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_debugging_handlers: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_contention_profiling: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthz_port: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthz_bind_address: Option<String>,
    #[serde(
        default,
        rename = "oomScoreAdj",
        skip_serializing_if = "Option::is_none"
    )]
    pub oom_score_adj: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_domain: Option<String>,
    #[serde(
        default,
        rename = "clusterDNS",
        skip_serializing_if = "Option::is_none"
    )]
    pub cluster_dns: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub streaming_connection_idle_timeout: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_status_update_frequency: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_status_report_frequency: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_lease_duration_seconds: Option<i32>,
    #[serde(
        default,
        rename = "imageMinimumGCAge",
        skip_serializing_if = "Option::is_none"
    )]
    pub image_minimum_gc_age: Option<Duration>,
    /// Since 1.29.
    #[serde(
        default,
        rename = "imageMaximumGCAge",
        skip_serializing_if = "Option::is_none"
    )]
    pub image_maximum_gc_age: Option<Duration>,
    #[serde(
        default,
        rename = "imageGCHighThresholdPercent",
        skip_serializing_if = "Option::is_none"
    )]
    pub image_gc_high_threshold_percent: Option<i32>,
    #[serde(
        default,
        rename = "imageGCLowThresholdPercent",
        skip_serializing_if = "Option::is_none"
    )]
    pub image_gc_low_threshold_percent: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_stats_agg_period: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubelet_cgroups: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_cgroups: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup_root: Option<String>,
    #[serde(
        default,
        rename = "cgroupsPerQOS",
        skip_serializing_if = "Option::is_none"
    )]
    pub cgroups_per_qos: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup_driver: Option<String>,
    #[serde(
        default,
        rename = "cpuManagerPolicy",
        skip_serializing_if = "Option::is_none"
    )]
    pub cpu_manager_policy: Option<String>,
    /// Since 1.32.
    #[serde(
        default,
        rename = "singleProcessOOMKill",
        skip_serializing_if = "Option::is_none"
    )]
    pub single_process_oom_kill: Option<bool>,
    #[serde(
        default,
        rename = "cpuManagerPolicyOptions",
        skip_serializing_if = "Option::is_none"
    )]
    pub cpu_manager_policy_options: Option<StringMap>,
    #[serde(
        default,
        rename = "cpuManagerReconcilePeriod",
        skip_serializing_if = "Option::is_none"
    )]
    pub cpu_manager_reconcile_period: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_manager_policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology_manager_policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology_manager_scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology_manager_policy_options: Option<StringMap>,
    /// `qosReserved`: resource name to percentage.
    #[serde(
        default,
        rename = "qosReserved",
        skip_serializing_if = "Option::is_none"
    )]
    pub qos_reserved: Option<StringMap>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_request_timeout: Option<Duration>,
    /// `hairpin-veth`, `promiscuous-bridge` or `none` (a plain string upstream).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hairpin_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_pods: Option<i32>,
    #[serde(default, rename = "podCIDR", skip_serializing_if = "Option::is_none")]
    pub pod_cidr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_pids_limit: Option<i64>,
    /// `resolvConf` (Go name ResolverConfig).
    #[serde(
        default,
        rename = "resolvConf",
        skip_serializing_if = "Option::is_none"
    )]
    pub resolv_conf: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_once: Option<bool>,
    #[serde(
        default,
        rename = "cpuCFSQuota",
        skip_serializing_if = "Option::is_none"
    )]
    pub cpu_cfs_quota: Option<bool>,
    #[serde(
        default,
        rename = "cpuCFSQuotaPeriod",
        skip_serializing_if = "Option::is_none"
    )]
    pub cpu_cfs_quota_period: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_status_max_images: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_open_files: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(
        default,
        rename = "kubeAPIQPS",
        skip_serializing_if = "Option::is_none"
    )]
    pub kube_api_qps: Option<i32>,
    #[serde(
        default,
        rename = "kubeAPIBurst",
        skip_serializing_if = "Option::is_none"
    )]
    pub kube_api_burst: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serialize_image_pulls: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_parallel_image_pulls: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eviction_hard: Option<StringMap>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eviction_soft: Option<StringMap>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eviction_soft_grace_period: Option<StringMap>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eviction_pressure_transition_period: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eviction_max_pod_grace_period: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eviction_minimum_reclaim: Option<StringMap>,
    /// Since 1.33.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge_default_eviction_settings: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pods_per_core: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_controller_attach_detach: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protect_kernel_defaults: Option<bool>,
    #[serde(
        default,
        rename = "makeIPTablesUtilChains",
        skip_serializing_if = "Option::is_none"
    )]
    pub make_iptables_util_chains: Option<bool>,
    #[serde(
        default,
        rename = "iptablesMasqueradeBit",
        skip_serializing_if = "Option::is_none"
    )]
    pub iptables_masquerade_bit: Option<i32>,
    #[serde(
        default,
        rename = "iptablesDropBit",
        skip_serializing_if = "Option::is_none"
    )]
    pub iptables_drop_bit: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_gates: Option<BTreeMap<String, bool>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_swap_on: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_swap: Option<MemorySwapConfiguration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_log_max_size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_log_max_files: Option<i32>,
    /// Since 1.30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_log_max_workers: Option<i32>,
    /// Since 1.30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_log_monitor_interval: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_and_secret_change_detection_strategy: Option<ResourceChangeDetectionStrategy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_reserved: Option<StringMap>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_reserved: Option<StringMap>,
    #[serde(
        default,
        rename = "reservedSystemCPUs",
        skip_serializing_if = "Option::is_none"
    )]
    pub reserved_system_cpus: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_hidden_metrics_for_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_reserved_cgroup: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_reserved_cgroup: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforce_node_allocatable: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_unsafe_sysctls: Option<Vec<String>>,
    /// Since 1.37 (development head).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_pod_sysctls: Option<StringMap>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_plugin_dir: Option<String>,
    #[serde(
        default,
        rename = "providerID",
        skip_serializing_if = "Option::is_none"
    )]
    pub provider_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_memcg_notification: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging: Option<LoggingConfiguration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_system_log_handler: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_system_log_query: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shutdown_grace_period: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shutdown_grace_period_critical_pods: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shutdown_grace_period_by_pod_priority: Option<Vec<ShutdownGracePeriodByPodPriority>>,
    /// Since 1.32.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crash_loop_back_off: Option<CrashLoopBackOffConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserved_memory: Option<Vec<MemoryReservation>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_profiling_handler: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_debug_flags_handler: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seccomp_default: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_throttling_factor: Option<f64>,
    /// Since 1.36.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_reservation_policy: Option<MemoryReservationPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub register_with_taints: Option<Vec<Taint>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub register_node: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing: Option<TracingConfiguration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_storage_capacity_isolation: Option<bool>,
    /// `containerRuntimeEndpoint` (no omitempty; the kubelet refuses an empty one at start).
    #[serde(default, deserialize_with = "null_default")]
    pub container_runtime_endpoint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_service_endpoint: Option<String>,
    /// Since 1.31.
    #[serde(
        default,
        rename = "failCgroupV1",
        skip_serializing_if = "Option::is_none"
    )]
    pub fail_cgroup_v1: Option<bool>,
    /// Since 1.33.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_namespaces: Option<UserNamespaces>,
}

/// `KubeletAuthentication`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubeletAuthentication {
    #[serde(default, deserialize_with = "null_default")]
    pub x509: KubeletX509Authentication,
    #[serde(default, deserialize_with = "null_default")]
    pub webhook: KubeletWebhookAuthentication,
    #[serde(default, deserialize_with = "null_default")]
    pub anonymous: KubeletAnonymousAuthentication,
}

/// `KubeletX509Authentication`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubeletX509Authentication {
    #[serde(
        default,
        rename = "clientCAFile",
        skip_serializing_if = "Option::is_none"
    )]
    pub client_ca_file: Option<String>,
}

/// `KubeletWebhookAuthentication`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubeletWebhookAuthentication {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, rename = "cacheTTL", skip_serializing_if = "Option::is_none")]
    pub cache_ttl: Option<Duration>,
}

/// `KubeletAnonymousAuthentication`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubeletAnonymousAuthentication {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// `KubeletAuthorization`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubeletAuthorization {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<KubeletAuthorizationMode>,
    /// `webhook` (no omitempty).
    #[serde(default, deserialize_with = "null_default")]
    pub webhook: KubeletWebhookAuthorization,
}

/// `KubeletAuthorizationMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KubeletAuthorizationMode {
    #[serde(rename = "")]
    Unset,
    AlwaysAllow,
    Webhook,
}

/// `KubeletWebhookAuthorization`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubeletWebhookAuthorization {
    #[serde(
        default,
        rename = "cacheAuthorizedTTL",
        skip_serializing_if = "Option::is_none"
    )]
    pub cache_authorized_ttl: Option<Duration>,
    #[serde(
        default,
        rename = "cacheUnauthorizedTTL",
        skip_serializing_if = "Option::is_none"
    )]
    pub cache_unauthorized_ttl: Option<Duration>,
}

/// `ResourceChangeDetectionStrategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResourceChangeDetectionStrategy {
    #[serde(rename = "")]
    Unset,
    Get,
    Cache,
    Watch,
}

/// `ImagePullCredentialsVerificationPolicy` (1.33+).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImagePullCredentialsVerificationPolicy {
    #[serde(rename = "")]
    Unset,
    NeverVerify,
    NeverVerifyPreloadedImages,
    NeverVerifyAllowlistedImages,
    AlwaysVerify,
}

/// `MemoryReservationPolicy` (1.36+).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MemoryReservationPolicy {
    #[serde(rename = "")]
    Unset,
    None,
    TieredReservation,
}

/// `MemoryReservation`: `limits` is a `v1.ResourceList`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MemoryReservation {
    #[serde(default, deserialize_with = "null_default")]
    pub numa_node: i32,
    #[serde(default, deserialize_with = "null_default")]
    pub limits: BTreeMap<String, Quantity>,
}

/// `ShutdownGracePeriodByPodPriority`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ShutdownGracePeriodByPodPriority {
    #[serde(default, deserialize_with = "null_default")]
    pub priority: i32,
    #[serde(default, deserialize_with = "null_default")]
    pub shutdown_grace_period_seconds: i64,
}

/// `MemorySwapConfiguration`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MemorySwapConfiguration {
    /// See [`check_values`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap_behavior: Option<String>,
}

/// `CrashLoopBackOffConfig` (1.32+).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CrashLoopBackOffConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_container_restart_period: Option<Duration>,
}

/// `UserNamespaces` (1.33+).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserNamespaces {
    #[serde(default, rename = "idsPerPod", skip_serializing_if = "Option::is_none")]
    pub ids_per_pod: Option<i64>,
}

/// `k8s.io/api/core/v1.Taint`, for `registerWithTaints`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Taint {
    #[serde(default, deserialize_with = "null_default")]
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub effect: TaintEffect,
    /// `metav1.Time`, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_added: Option<String>,
}

/// `v1.TaintEffect`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaintEffect {
    #[default]
    #[serde(rename = "")]
    Unset,
    NoSchedule,
    PreferNoSchedule,
    NoExecute,
}

#[cfg(test)]
mod tests;
