//! Where each file of a release comes from, in the upstream layouts: the Kubernetes binaries from the
//! release site (one `.sha256` per binary), crictl, etcd and CoreDNS from their GitHub releases (a
//! tarball each, checked against a `.sha256` or a `SHA256SUMS`). A mirror has the same paths under
//! one base URL.

use crate::kube::version::Version;

pub const KUBERNETES_SITE: &str = "https://dl.k8s.io";
pub const GITHUB: &str = "https://github.com";

/// The base URLs files are fetched from: upstream's, or one mirror for all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sites {
    pub kubernetes: String,
    pub github: String,
}

impl Sites {
    pub fn new(mirror: Option<&str>) -> Result<Sites, String> {
        match mirror {
            None => Ok(Sites {
                kubernetes: KUBERNETES_SITE.into(),
                github: GITHUB.into(),
            }),
            Some(url) => {
                let base = url.trim_end_matches('/');
                let host = base
                    .strip_prefix("http://")
                    .or_else(|| base.strip_prefix("https://"))
                    .unwrap_or_default();
                if host.is_empty() || host.contains(char::is_whitespace) {
                    return Err(format!(
                        "--release-mirror \"{url}\": expected an http:// or https:// base URL \
                         (the same paths as dl.k8s.io and github.com under it)"
                    ));
                }
                Ok(Sites {
                    kubernetes: base.into(),
                    github: base.into(),
                })
            }
        }
    }

    /// The file naming the version of a channel (`stable.txt`, `stable-1.28.txt`).
    pub fn channel_url(&self, file: &str) -> String {
        format!("{}/release/{file}", self.kubernetes)
    }
}

/// How a downloaded file becomes the binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unpack {
    /// The file is the binary.
    Binary,
    /// The binary is this member of a gzip tarball.
    Member(String),
}

/// One file of a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// The binary it gives (kubeadm, crictl, etcd, coredns...).
    pub binary: &'static str,
    pub url: String,
    /// The published checksum file: a bare hash, or `HASH  FILE` lines.
    pub checksum_url: String,
    /// The download's own name, looked up in a checksum file of several lines.
    pub file_name: String,
    pub unpack: Unpack,
}

/// A Kubernetes binary of `version`: `dl.k8s.io/release/v1.28.7/bin/linux/amd64/kubeadm` (+`.sha256`).
pub fn kubernetes(sites: &Sites, version: &Version, arch: &str, binary: &'static str) -> Artifact {
    let url = format!(
        "{}/release/{version}/bin/linux/{arch}/{binary}",
        sites.kubernetes
    );
    Artifact {
        binary,
        checksum_url: format!("{url}.sha256"),
        url,
        file_name: binary.into(),
        unpack: Unpack::Binary,
    }
}

/// crictl of Kubernetes' minor (cri-tools releases v1.MINOR.0 with each Kubernetes minor).
pub fn crictl(sites: &Sites, kubernetes: &Version, arch: &str) -> Artifact {
    let v = format!("v{}.{}.0", kubernetes.major, kubernetes.minor);
    let file_name = format!("crictl-{v}-linux-{arch}.tar.gz");
    github_tarball(sites, "kubernetes-sigs/cri-tools", &v, file_name, "crictl")
}

/// etcd `version` (`3.5.10`, as kubeadm's image tag `3.5.10-0` names it), checked against the
/// release's SHA256SUMS.
pub fn etcd(sites: &Sites, version: &str, arch: &str) -> Artifact {
    let dir = format!("etcd-v{version}-linux-{arch}");
    let file_name = format!("{dir}.tar.gz");
    let base = format!("{}/etcd-io/etcd/releases/download/v{version}", sites.github);
    Artifact {
        binary: "etcd",
        url: format!("{base}/{file_name}"),
        checksum_url: format!("{base}/SHA256SUMS"),
        file_name,
        unpack: Unpack::Member(format!("{dir}/etcd")),
    }
}

/// CoreDNS `version` (`1.10.1`, as kubeadm's image tag `v1.10.1` names it).
pub fn coredns(sites: &Sites, version: &str, arch: &str) -> Artifact {
    let file_name = format!("coredns_{version}_linux_{arch}.tgz");
    github_tarball(
        sites,
        "coredns/coredns",
        &format!("v{version}"),
        file_name,
        "coredns",
    )
}

/// `binary`, the member of that name of the tarball `file_name` of GitHub release `tag` of
/// `repository`, checked against the `.sha256` beside the tarball.
fn github_tarball(
    sites: &Sites,
    repository: &str,
    tag: &str,
    file_name: String,
    binary: &'static str,
) -> Artifact {
    let url = format!(
        "{}/{repository}/releases/download/{tag}/{file_name}",
        sites.github
    );
    Artifact {
        binary,
        checksum_url: format!("{url}.sha256"),
        url,
        file_name,
        unpack: Unpack::Member(binary.into()),
    }
}

/// The etcd and CoreDNS versions in `kubeadm config images list` output (`registry.k8s.io/etcd:3.5.10-0`,
/// `registry.k8s.io/coredns/coredns:v1.10.1`): `("3.5.10", Some("1.10.1"))`.
pub fn companion_versions(images: &str) -> Result<(String, Option<String>), String> {
    let tag_of = |name: &str| {
        images.lines().find_map(|line| {
            let (repository, tag) = line.trim().rsplit_once(':')?;
            (repository.rsplit('/').next() == Some(name)).then(|| tag.to_owned())
        })
    };
    let etcd = tag_of("etcd")
        .map(|tag| {
            // kubeadm's etcd tags carry an image revision: 3.5.10-0.
            let v = tag.split('-').next().unwrap_or(&tag);
            v.trim_start_matches('v').to_owned()
        })
        .ok_or_else(|| format!("kubeadm names no etcd image:\n{images}"))?;
    let coredns = tag_of("coredns").map(|tag| tag.trim_start_matches('v').to_owned());
    Ok((etcd, coredns))
}

/// The architecture in release file names for the machine this runs on.
pub fn host_arch() -> Result<&'static str, String> {
    match std::env::consts::ARCH {
        "x86_64" => Ok("amd64"),
        "aarch64" => Ok("arm64"),
        "powerpc64" => Ok("ppc64le"),
        "s390x" => Ok("s390x"),
        other => Err(format!(
            "no Kubernetes releases for this machine's architecture ({other})"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v1_28_7() -> Version {
        Version::parse("v1.28.7").unwrap()
    }

    #[test]
    fn upstream_urls_per_component() {
        let up = Sites::new(None).unwrap();
        let kubeadm = kubernetes(&up, &v1_28_7(), "amd64", "kubeadm");
        assert_eq!(
            kubeadm.url,
            "https://dl.k8s.io/release/v1.28.7/bin/linux/amd64/kubeadm"
        );
        assert_eq!(
            kubeadm.checksum_url,
            "https://dl.k8s.io/release/v1.28.7/bin/linux/amd64/kubeadm.sha256"
        );
        assert_eq!(kubeadm.unpack, Unpack::Binary);
        let crictl = crictl(&up, &v1_28_7(), "arm64");
        assert_eq!(
            crictl.url,
            "https://github.com/kubernetes-sigs/cri-tools/releases/download/v1.28.0/crictl-v1.28.0-linux-arm64.tar.gz"
        );
        assert_eq!(crictl.checksum_url, format!("{}.sha256", crictl.url));
        let etcd = etcd(&up, "3.5.10", "amd64");
        assert_eq!(
            etcd.url,
            "https://github.com/etcd-io/etcd/releases/download/v3.5.10/etcd-v3.5.10-linux-amd64.tar.gz"
        );
        assert_eq!(
            etcd.checksum_url,
            "https://github.com/etcd-io/etcd/releases/download/v3.5.10/SHA256SUMS"
        );
        assert_eq!(
            etcd.unpack,
            Unpack::Member("etcd-v3.5.10-linux-amd64/etcd".into())
        );
        let coredns = coredns(&up, "1.10.1", "amd64");
        assert_eq!(
            coredns.url,
            "https://github.com/coredns/coredns/releases/download/v1.10.1/coredns_1.10.1_linux_amd64.tgz"
        );
        assert_eq!(coredns.file_name, "coredns_1.10.1_linux_amd64.tgz");
        assert_eq!(
            up.channel_url("stable-1.28.txt"),
            "https://dl.k8s.io/release/stable-1.28.txt"
        );
    }

    #[test]
    fn a_mirror_keeps_the_paths() {
        let mirror = Sites::new(Some("http://127.0.0.1:8080/k8s/")).unwrap();
        assert_eq!(
            kubernetes(&mirror, &v1_28_7(), "amd64", "kubelet").url,
            "http://127.0.0.1:8080/k8s/release/v1.28.7/bin/linux/amd64/kubelet"
        );
        assert_eq!(
            etcd(&mirror, "3.5.10", "amd64").checksum_url,
            "http://127.0.0.1:8080/k8s/etcd-io/etcd/releases/download/v3.5.10/SHA256SUMS"
        );
        for bad in ["", "ftp://x", "127.0.0.1:8080", "http://", "http://a b"] {
            assert!(Sites::new(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn etcd_and_coredns_versions_come_from_kubeadms_image_list() {
        let list = "registry.k8s.io/kube-apiserver:v1.28.7\nregistry.k8s.io/pause:3.9\n\
                    registry.k8s.io/etcd:3.5.10-0\nregistry.k8s.io/coredns/coredns:v1.10.1\n";
        assert_eq!(
            companion_versions(list).unwrap(),
            ("3.5.10".into(), Some("1.10.1".into()))
        );
        assert!(companion_versions("registry.k8s.io/pause:3.9\n").is_err());
    }
}
