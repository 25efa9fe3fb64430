//! A Kubernetes release mirror for the tests: a directory in the upstream layouts (the release
//! site's `release/VERSION/bin/linux/ARCH/NAME` + `.sha256`, `release/stable*.txt`; the GitHub
//! release paths of cri-tools, etcd and CoreDNS with their tarballs and checksum files), served on
//! 127.0.0.1 by `kns-release-mirror`, which the test starts and stops by PID.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use sha2::{Digest, Sha256};

use crate::bin;

pub const ARCH: &str = "amd64";

/// The binaries a `KUBE_BIN` directory holds, and a release's `bin/linux/ARCH` (kubeadm first):
/// what kubeadm-nspawn looks for.
pub use kubeadm_nspawn::model::binaries::KUBE_BINARIES;

/// Where a file of the mirror comes from.
pub enum Content {
    /// A file on this machine (linked, not copied).
    File(PathBuf),
    Bytes(Vec<u8>),
}

impl Content {
    fn sha256(&self) -> String {
        let mut hasher = Sha256::new();
        match self {
            Content::File(path) => {
                let mut f = File::open(path).unwrap();
                std::io::copy(&mut f, &mut hasher).unwrap();
            }
            Content::Bytes(b) => hasher.update(b),
        }
        hex(&hasher.finalize())
    }

    fn place(&self, dest: &Path) {
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        match self {
            Content::File(path) => std::os::unix::fs::symlink(path, dest).unwrap(),
            Content::Bytes(b) => std::fs::write(dest, b).unwrap(),
        }
    }

    fn bytes(&self) -> Vec<u8> {
        match self {
            Content::File(path) => std::fs::read(path).unwrap(),
            Content::Bytes(b) => b.clone(),
        }
    }
}

/// One release: the seven Kubernetes binaries, crictl, etcd and CoreDNS of the versions given.
pub struct Release {
    pub version: String,
    pub kubernetes: Vec<(&'static str, Content)>,
    pub crictl: Content,
    pub etcd: (String, Content),
    pub coredns: (String, Content),
    /// Files whose published checksum is made wrong (by the binary's name).
    pub wrong_checksum: Vec<&'static str>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn tarball(dest: &Path, members: &[(&str, &Content)]) {
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    let gzip =
        flate2::write::GzEncoder::new(File::create(dest).unwrap(), flate2::Compression::fast());
    let mut builder = tar::Builder::new(gzip);
    for (path, content) in members {
        let bytes = content.bytes();
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o755);
        header.set_cksum();
        builder
            .append_data(&mut header, path, bytes.as_slice())
            .unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap();
}

fn sha256_file(path: &Path) -> String {
    Content::File(path.to_owned()).sha256()
}

impl Release {
    /// Writes the release into the mirror directory `root`.
    pub fn write(&self, root: &Path) {
        let wrong = |binary: &str, sum: String| {
            if self.wrong_checksum.contains(&binary) {
                "0".repeat(64)
            } else {
                sum
            }
        };
        let v = &self.version;
        let bin_dir = root.join(format!("release/{v}/bin/linux/{ARCH}"));
        for (name, content) in &self.kubernetes {
            content.place(&bin_dir.join(name));
            std::fs::write(
                bin_dir.join(format!("{name}.sha256")),
                wrong(name, content.sha256()),
            )
            .unwrap();
        }
        // cri-tools: v1.MINOR.0, `crictl` at the top of the tarball, a bare-hash .sha256.
        let minor = v
            .trim_start_matches('v')
            .split('.')
            .take(2)
            .collect::<Vec<_>>()
            .join(".");
        let crictl_file = root.join(format!(
            "kubernetes-sigs/cri-tools/releases/download/v{minor}.0/crictl-v{minor}.0-linux-{ARCH}.tar.gz"
        ));
        tarball(&crictl_file, &[("crictl", &self.crictl)]);
        std::fs::write(
            format!("{}.sha256", crictl_file.display()),
            wrong("crictl", sha256_file(&crictl_file)),
        )
        .unwrap();
        // etcd: a directory in the tarball, one SHA256SUMS for every platform's file.
        let (etcd_version, etcd) = &self.etcd;
        let etcd_dir = root.join(format!("etcd-io/etcd/releases/download/v{etcd_version}"));
        let etcd_name = format!("etcd-v{etcd_version}-linux-{ARCH}");
        tarball(
            &etcd_dir.join(format!("{etcd_name}.tar.gz")),
            &[(&format!("{etcd_name}/etcd"), etcd)],
        );
        let sums = format!(
            "{}  etcd-v{etcd_version}-darwin-amd64.zip\n{}  {etcd_name}.tar.gz\n",
            "1".repeat(64),
            wrong(
                "etcd",
                sha256_file(&etcd_dir.join(format!("{etcd_name}.tar.gz")))
            )
        );
        std::fs::write(etcd_dir.join("SHA256SUMS"), sums).unwrap();
        // CoreDNS: `coredns` at the top of a .tgz, a `HASH  FILE` .sha256.
        let (coredns_version, coredns) = &self.coredns;
        let coredns_name = format!("coredns_{coredns_version}_linux_{ARCH}.tgz");
        let coredns_file = root.join(format!(
            "coredns/coredns/releases/download/v{coredns_version}/{coredns_name}"
        ));
        tarball(&coredns_file, &[("coredns", coredns)]);
        std::fs::write(
            format!("{}.sha256", coredns_file.display()),
            format!(
                "{}  {coredns_name}\n",
                wrong("coredns", sha256_file(&coredns_file))
            ),
        )
        .unwrap();
    }
}

/// Names a channel's version (`release/stable-1.28.txt` → `v1.28.7`).
pub fn write_channel(root: &Path, channel: &str, version: &str) {
    std::fs::create_dir_all(root.join("release")).unwrap();
    std::fs::write(
        root.join(format!("release/{channel}.txt")),
        format!("{version}\n"),
    )
    .unwrap();
}

/// The running server.
pub struct ReleaseMirror {
    pub url: String,
    log: PathBuf,
    server: Child,
}

impl ReleaseMirror {
    /// Serves `root`, logging to `log`; files whose path ends with one of `cut` are cut short.
    pub fn start(root: &Path, log: &Path, cut: &[&str]) -> ReleaseMirror {
        let mut cmd = Command::new(bin("kns-release-mirror"));
        cmd.arg(root).arg(log);
        for suffix in cut {
            cmd.args(["--cut", suffix]);
        }
        let mut server = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut port = String::new();
        BufReader::new(server.stdout.take().unwrap())
            .read_line(&mut port)
            .unwrap();
        ReleaseMirror {
            url: format!("http://127.0.0.1:{}", port.trim()),
            log: log.to_owned(),
            server,
        }
    }

    /// Every request so far: `GET /path STATUS`.
    pub fn requests(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for ReleaseMirror {
    fn drop(&mut self) {
        // Only the server this test started, by its PID.
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// A release of small stand-in files, for the tests of what goes wrong while downloading (wrong
/// checksums, missing or cut-short files): their content is never run, except kubeadm's, which
/// only has to name the etcd and CoreDNS images as `kubeadm config images list` does.
pub fn stand_in_release(version: &str) -> Release {
    let kubeadm = format!(
        "#!/bin/sh\necho registry.k8s.io/kube-apiserver:{version}\n\
         echo registry.k8s.io/etcd:3.5.10-0\necho registry.k8s.io/coredns/coredns:v1.10.1\n"
    );
    let mut kubernetes = vec![("kubeadm", Content::Bytes(kubeadm.into_bytes()))];
    for name in KUBE_BINARIES.iter().copied().skip(1) {
        // Big enough that cutting one short leaves a partial file behind to clean up.
        let mut bytes = format!("stand-in {name} {version}\n").into_bytes();
        bytes.resize(4 << 20, b'.');
        kubernetes.push((name, Content::Bytes(bytes)));
    }
    Release {
        version: version.into(),
        kubernetes,
        crictl: Content::Bytes(b"stand-in crictl".to_vec()),
        etcd: ("3.5.10".into(), Content::Bytes(b"stand-in etcd".to_vec())),
        coredns: (
            "1.10.1".into(),
            Content::Bytes(b"stand-in coredns".to_vec()),
        ),
        wrong_checksum: vec![],
    }
}
