//! Whether a kube-proxy mode can run in a cluster, checked before anything is made or changed:
//! nftables needs a Kubernetes that has it (1.29+; `NFTablesProxyMode` is set where it is alpha)
//! and `nft` in the node base (kube-proxy's knftables runs it); ipvs needs IPVS in the host's
//! kernel (nodes share it and cannot load modules: a node has no `/lib/modules`) and `ipset` in
//! the node base. What a mode turns into in the documents is `documents`' business.

use std::collections::BTreeMap;
use std::path::Path;

use crate::host::facts::KernelView;
use crate::kube::minor::{Minor, NftablesProxy};
use crate::model::settings::KubeProxyMode;

/// The feature gate of kube-proxy's nftables mode.
pub const NFTABLES_GATE: &str = "NFTablesProxyMode";

/// The kernel modules kube-proxy's ipvs mode needs: IPVS and the schedulers it may be told to use
/// (round robin by default, weighted round robin, source hashing).
pub const IPVS_MODULES: &[&str] = &["ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh"];

/// A mode that cannot run here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error(
        "kube-proxy mode nftables needs Kubernetes 1.29 or later; these binaries are {version}"
    )]
    NftablesTooOld { version: String },

    #[error("kube-proxy mode nftables needs the {NFTABLES_GATE} feature gate in {version}; featureGates sets it false")]
    NftablesGateOff { version: String },

    #[error("kube-proxy mode ipvs needs IPVS in the host's kernel (nodes share it and cannot load modules): missing {}", .missing.join(", "))]
    NoIpvs { missing: Vec<String> },

    #[error(
        "kube-proxy mode {mode} runs {tool}, which the node base image has not ({path} is absent)"
    )]
    NoTool {
        mode: KubeProxyMode,
        tool: &'static str,
        path: String,
    },
}

impl kns_plumbing::report::Hint for Error {
    fn hint(&self) -> Option<String> {
        Some(match self {
            Error::NftablesTooOld { .. } => {
                "give binaries of 1.29+ (--kube-version, --kube-bin), or another --kube-proxy-mode (iptables)".into()
            }
            Error::NftablesGateOff { .. } => {
                format!("drop featureGates.{NFTABLES_GATE}, or use another kube-proxy mode")
            }
            Error::NoIpvs { .. } => {
                "load them on the host (`modprobe -a ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh`), or use another --kube-proxy-mode (iptables, nftables)".into()
            }
            Error::NoTool { .. } => {
                "use another --kube-proxy-mode (iptables); docs/decisions.md says what the base image carries".into()
            }
        })
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Whether Kubernetes `version` (as its binaries report it) has `mode`, with the cluster's
/// feature `gates`. A version that does not read as one (a build of unknown minor) is let
/// through: kube-proxy itself will say.
pub fn check_version(
    mode: KubeProxyMode,
    version: &str,
    gates: &BTreeMap<String, bool>,
) -> Result<()> {
    let Some(minor) = Minor::of(version) else {
        return Ok(());
    };
    if mode != KubeProxyMode::Nftables {
        return Ok(());
    }
    match minor.nftables_proxy() {
        NftablesProxy::Absent => Err(Error::NftablesTooOld {
            version: version.to_owned(),
        }),
        // Off in 1.29–1.32 turns the mode off; from 1.33 the gate is locked and false fails
        // every component: either way not a cluster of this mode.
        _ if gates.get(NFTABLES_GATE) == Some(&false) => Err(Error::NftablesGateOff {
            version: version.to_owned(),
        }),
        _ => Ok(()),
    }
}

/// The gate kube-proxy must be given for `mode` in `minor`, beyond the cluster's own gates:
/// `NFTablesProxyMode: true` where nftables is alpha (off by default).
pub fn kube_proxy_gate(mode: KubeProxyMode, minor: Minor) -> Option<(&'static str, bool)> {
    (mode == KubeProxyMode::Nftables && minor.nftables_proxy() == NftablesProxy::Alpha)
        .then_some((NFTABLES_GATE, true))
}

/// Whether the host's kernel has what `mode` needs (only ipvs needs anything beyond what every
/// node has).
pub fn check_kernel(mode: KubeProxyMode, kernel: &dyn KernelView) -> Result<()> {
    if mode != KubeProxyMode::Ipvs {
        return Ok(());
    }
    let missing = ipvs_missing(kernel);
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::NoIpvs { missing })
    }
}

/// The IPVS modules the kernel has neither built in nor loaded, each named with where it was
/// looked for. IPVS itself is there when `/proc/net/ip_vs` is (it appears when ip_vs is loaded or
/// built in); a module is there when `/sys/module/NAME` exists, `/proc/modules` lists it or the
/// running kernel's `modules.builtin` does.
pub fn ipvs_missing(kernel: &dyn KernelView) -> Vec<String> {
    let loaded = kernel.read(Path::new("/proc/modules")).unwrap_or_default();
    let builtin = kernel
        .read(Path::new("/proc/sys/kernel/osrelease"))
        .and_then(|release| {
            kernel.read(
                &Path::new("/lib/modules")
                    .join(release.trim())
                    .join("modules.builtin"),
            )
        })
        .unwrap_or_default();
    let has = |module: &str| {
        kernel.exists(&Path::new("/sys/module").join(module))
            || loaded
                .lines()
                .any(|l| l.split_whitespace().next() == Some(module))
            || builtin
                .lines()
                .any(|l| l.rsplit('/').next() == Some(&format!("{module}.ko")))
    };
    let mut missing = vec![];
    if !kernel.exists(Path::new("/proc/net/ip_vs")) && !has("ip_vs") {
        missing.push("the ip_vs module (/proc/net/ip_vs is absent)".to_owned());
    }
    for module in &IPVS_MODULES[1..] {
        if !has(module) {
            missing.push(format!("the {module} module"));
        }
    }
    // Without IPVS the schedulers cannot be loaded either: the first line says what matters.
    missing
}

/// Whether the node base at `base` has the program `mode`'s kube-proxy runs (its image carries
/// it from there): `nft` for nftables, `ipset` for ipvs.
pub fn check_base(mode: KubeProxyMode, base: &Path, files: &dyn KernelView) -> Result<()> {
    let tool = match mode {
        KubeProxyMode::Nftables => "nft",
        KubeProxyMode::Ipvs => "ipset",
        KubeProxyMode::Iptables | KubeProxyMode::None => return Ok(()),
    };
    let path = base.join("usr/sbin").join(tool);
    if files.exists(&path) {
        Ok(())
    } else {
        Err(Error::NoTool {
            mode,
            tool,
            path: path.display().to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use super::*;

    /// A made-up host: its files and their texts; records every path asked.
    #[derive(Default)]
    struct FakeHost {
        files: BTreeMap<PathBuf, String>,
        asked: RefCell<Vec<PathBuf>>,
    }

    impl FakeHost {
        fn with(mut self, path: &str, text: &str) -> FakeHost {
            self.files.insert(path.into(), text.into());
            self
        }
    }

    impl KernelView for FakeHost {
        fn exists(&self, path: &Path) -> bool {
            self.asked.borrow_mut().push(path.into());
            self.files.contains_key(path)
        }
        fn read(&self, path: &Path) -> Option<String> {
            self.asked.borrow_mut().push(path.into());
            self.files.get(path).cloned()
        }
    }

    fn no_gates() -> BTreeMap<String, bool> {
        BTreeMap::new()
    }

    #[test]
    fn nftables_is_refused_below_1_29_naming_the_version() {
        let err = check_version(KubeProxyMode::Nftables, "v1.28.7", &no_gates()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "kube-proxy mode nftables needs Kubernetes 1.29 or later; these binaries are v1.28.7"
        );
        for mode in [
            KubeProxyMode::Iptables,
            KubeProxyMode::Ipvs,
            KubeProxyMode::None,
        ] {
            assert_eq!(
                check_version(mode, "v1.28.7", &no_gates()),
                Ok(()),
                "{mode}"
            );
        }
    }

    #[test]
    fn nftables_from_1_29_with_the_gate_where_it_is_alpha() {
        for (version, gate) in [
            ("v1.29.15", Some((NFTABLES_GATE, true))),
            ("v1.30.14", Some((NFTABLES_GATE, true))),
            ("v1.31.2", None),
            ("v1.32.9", None),
            ("v1.33.1", None),
            ("v1.37.0-alpha.1.20+0123abcd-dirty", None),
        ] {
            assert_eq!(
                check_version(KubeProxyMode::Nftables, version, &no_gates()),
                Ok(()),
                "{version}"
            );
            let minor = Minor::of(version).unwrap();
            assert_eq!(
                kube_proxy_gate(KubeProxyMode::Nftables, minor),
                gate,
                "{version}"
            );
            assert_eq!(kube_proxy_gate(KubeProxyMode::Iptables, minor), None);
        }
        let off = BTreeMap::from([(NFTABLES_GATE.to_owned(), false)]);
        for version in ["v1.29.15", "v1.32.9", "v1.33.1"] {
            let err = check_version(KubeProxyMode::Nftables, version, &off).unwrap_err();
            assert!(
                matches!(err, Error::NftablesGateOff { .. }),
                "{version}: {err}"
            );
        }
        let on = BTreeMap::from([(NFTABLES_GATE.to_owned(), true)]);
        assert_eq!(
            check_version(KubeProxyMode::Nftables, "v1.30.1", &on),
            Ok(())
        );
    }

    #[test]
    fn ipvs_needs_the_kernels_ipvs_and_names_what_is_missing() {
        // This machine: no IPVS, no /lib/modules.
        let bare = FakeHost::default()
            .with("/proc/modules", "veth 40960 0 - Live 0x0\n")
            .with("/proc/sys/kernel/osrelease", "6.18.0\n");
        let err = check_kernel(KubeProxyMode::Ipvs, &bare).unwrap_err();
        assert_eq!(
            err.to_string(),
            "kube-proxy mode ipvs needs IPVS in the host's kernel (nodes share it and cannot load \
             modules): missing the ip_vs module (/proc/net/ip_vs is absent), the ip_vs_rr module, \
             the ip_vs_wrr module, the ip_vs_sh module"
        );
        let asked = bare.asked.borrow();
        assert!(
            asked.contains(&PathBuf::from("/proc/net/ip_vs")),
            "{asked:?}"
        );
        assert!(
            asked.contains(&PathBuf::from("/lib/modules/6.18.0/modules.builtin")),
            "{asked:?}"
        );
        // Loaded modules.
        let loaded = FakeHost::default()
            .with("/proc/net/ip_vs", "")
            .with(
                "/proc/modules",
                "ip_vs_sh 12288 0 - Live 0x0\nip_vs_wrr 12288 0 - Live 0x0\nip_vs_rr 12288 0 - Live 0x0\nip_vs 200704 6 ip_vs_sh,ip_vs_wrr,ip_vs_rr, Live 0x0\n",
            );
        assert_eq!(check_kernel(KubeProxyMode::Ipvs, &loaded), Ok(()));
        // Built in, one scheduler left out.
        let builtin = FakeHost::default()
            .with("/proc/net/ip_vs", "")
            .with("/proc/sys/kernel/osrelease", "6.1.0-1\n")
            .with(
                "/lib/modules/6.1.0-1/modules.builtin",
                "kernel/net/netfilter/ipvs/ip_vs.ko\nkernel/net/netfilter/ipvs/ip_vs_rr.ko\nkernel/net/netfilter/ipvs/ip_vs_sh.ko\n",
            );
        assert_eq!(
            check_kernel(KubeProxyMode::Ipvs, &builtin),
            Err(Error::NoIpvs {
                missing: vec!["the ip_vs_wrr module".into()]
            })
        );
        // Other modes ask nothing of the kernel.
        let untouched = FakeHost::default();
        for mode in [
            KubeProxyMode::Iptables,
            KubeProxyMode::Nftables,
            KubeProxyMode::None,
        ] {
            assert_eq!(check_kernel(mode, &untouched), Ok(()));
        }
        assert!(untouched.asked.borrow().is_empty());
    }

    #[test]
    fn the_node_base_must_have_the_modes_program() {
        let base = Path::new("/images/k/rootfs");
        let without = FakeHost::default();
        let err = check_base(KubeProxyMode::Ipvs, base, &without).unwrap_err();
        assert_eq!(
            err.to_string(),
            "kube-proxy mode ipvs runs ipset, which the node base image has not \
             (/images/k/rootfs/usr/sbin/ipset is absent)"
        );
        let err = check_base(KubeProxyMode::Nftables, base, &without).unwrap_err();
        assert!(err.to_string().contains("runs nft"), "{err}");
        let with = FakeHost::default().with("/images/k/rootfs/usr/sbin/nft", "");
        assert_eq!(check_base(KubeProxyMode::Nftables, base, &with), Ok(()));
        assert_eq!(check_base(KubeProxyMode::Iptables, base, &without), Ok(()));
    }
}
