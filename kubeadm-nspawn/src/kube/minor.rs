//! What differs between Kubernetes minors for kubeadm-nspawn's configuration: which kubeadm API,
//! which gates and fields exist, which preflight checks fail inside a node. One table per fact,
//! each read from the upstream sources of that minor (docs/decisions.md, "Kubernetes versions").

/// A Kubernetes minor version (`1.31`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Minor(pub u32, pub u32);

impl Minor {
    /// The minor of a version as binaries report it (`v1.31.0`, `v1.32.0-alpha.1+abc-dirty`);
    /// None when the text does not start like a version.
    pub fn of(version: &str) -> Option<Minor> {
        super::version::Version::minor_of(version).map(|(a, b)| Minor(a, b))
    }

    /// The kubeadm configuration API this minor gets: v1beta3 below 1.31 (v1beta4 is experimental
    /// there), v1beta4 from 1.31 (v1beta3 is deprecated in 1.31 and removed in 1.37).
    pub fn kubeadm_api(self) -> KubeadmApi {
        if self >= Minor(1, 31) {
            KubeadmApi::V1beta4
        } else {
            KubeadmApi::V1beta3
        }
    }

    /// kubeadm's EtcdLearnerMode must be turned on: alpha (off) in 1.27 and 1.28, on by default
    /// from 1.29, GA in 1.32 and removed in 1.33 (naming it there fails kubeadm).
    pub fn needs_learner_gate(self) -> bool {
        matches!(self, Minor(1, 27 | 28))
    }

    /// The kubelet refuses a cgroup v1 host unless told (`failCgroupV1: false`; the field exists
    /// from 1.31 and defaults to true from 1.35), and kubeadm's SystemVerification fails on one.
    pub fn refuses_cgroup_v1(self) -> bool {
        self >= Minor(1, 35)
    }

    /// kubeadm's preflight check of the bridge netfilter sysctl exists (removed in 1.30).
    pub fn checks_bridge_nf_call(self) -> bool {
        self < Minor(1, 30)
    }

    /// The pause tag kubeadm of this minor names (`kubeadm config images list`; its
    /// `constants.PauseVersion`): the sandbox image every node's containerd is given, and the
    /// pause image pushed to every node.
    pub fn pause_tag(self) -> &'static str {
        match self {
            m if m >= Minor(1, 36) => "3.10.2",
            m if m >= Minor(1, 34) => "3.10.1",
            m if m >= Minor(1, 31) => "3.10",
            _ => "3.9",
        }
    }

    /// Where kube-proxy's nftables mode stands in this minor: absent before 1.29; behind the
    /// `NFTablesProxyMode` gate, alpha (off by default) in 1.29–1.30, beta (on) in 1.31–1.32, GA
    /// and locked on from 1.33 (kubernetes `pkg/features/kube_features.go`; the website's
    /// feature-gate page).
    pub fn nftables_proxy(self) -> NftablesProxy {
        match self {
            m if m < Minor(1, 29) => NftablesProxy::Absent,
            m if m < Minor(1, 31) => NftablesProxy::Alpha,
            m if m < Minor(1, 33) => NftablesProxy::Beta,
            _ => NftablesProxy::Ga,
        }
    }
}

impl std::fmt::Display for Minor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

/// kube-proxy's nftables mode in a minor ([`Minor::nftables_proxy`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NftablesProxy {
    Absent,
    /// The gate is off unless set: kubeadm-nspawn sets it for kube-proxy.
    Alpha,
    /// The gate is on by default (and may be turned off).
    Beta,
    /// The gate is locked on: naming it false fails.
    Ga,
}

/// The kubeadm configuration API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KubeadmApi {
    V1beta3,
    /// Extra arguments are `name`/`value` lists, not maps; ECDSA keys are a field.
    V1beta4,
}

impl KubeadmApi {
    pub fn api_version(self) -> &'static str {
        match self {
            KubeadmApi::V1beta3 => "kubeadm.k8s.io/v1beta3",
            KubeadmApi::V1beta4 => "kubeadm.k8s.io/v1beta4",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_follows_the_version() {
        for (version, api) in [
            ("v1.28.7", KubeadmApi::V1beta3),
            ("v1.30.14", KubeadmApi::V1beta3),
            ("v1.31.0", KubeadmApi::V1beta4),
            ("v1.32.0-alpha.1.20+0123abcd-dirty", KubeadmApi::V1beta4),
            ("v1.37.0", KubeadmApi::V1beta4),
            ("v2.0.0", KubeadmApi::V1beta4),
        ] {
            assert_eq!(Minor::of(version).unwrap().kubeadm_api(), api, "{version}");
        }
        assert_eq!(Minor::of("unknown"), None);
        for (minor, pause) in [
            (28, "3.9"),
            (30, "3.9"),
            (31, "3.10"),
            (33, "3.10"),
            (34, "3.10.1"),
            (35, "3.10.1"),
            (36, "3.10.2"),
            (37, "3.10.2"),
        ] {
            assert_eq!(Minor(1, minor).pause_tag(), pause, "1.{minor}");
        }
        assert!(Minor(1, 28).needs_learner_gate() && !Minor(1, 29).needs_learner_gate());
    }
}
