//! The runtime layer of the kube-proxy and etcd images: libc, iptables (nft and legacy),
//! conntrack and what they load, copied out of the node base (resolved by the base's own `ldd` in
//! a chroot), so kube-proxy programs netfilter with the same iptables backend as the node. About
//! 10 MB, one layer shared by both images and stored once.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::kube::error::{Error, Result};

/// Files of the node base the runtime layer carries (plus what they link against).
const RUNTIME_BINARIES: &[&str] = &[
    "usr/sbin/xtables-nft-multi",
    "usr/sbin/xtables-legacy-multi",
    "usr/sbin/conntrack",
];
/// What kube-proxy's nftables (`nft`) and ipvs (`ipset`) modes run, carried when the node base
/// has them (the init of such a mode refuses a base without, `kube::proxy_mode::check_base`).
const OPTIONAL_BINARIES: &[&str] = &["usr/sbin/nft", "usr/sbin/ipset"];
const RUNTIME_DIRS: &[&str] = &["usr/lib/x86_64-linux-gnu/xtables"];
const RUNTIME_FILES: &[&str] = &["etc/protocols", "etc/services", "etc/ethertypes"];
/// The iptables front ends kube-proxy calls, all the multi-call binary of the node's default
/// (nft) backend, as Debian's alternatives pick it in the node.
const IPTABLES_NAMES: &[&str] = &[
    "iptables",
    "iptables-save",
    "iptables-restore",
    "ip6tables",
    "ip6tables-save",
    "ip6tables-restore",
    "iptables-nft",
    "iptables-nft-save",
    "iptables-nft-restore",
    "ip6tables-nft",
    "ip6tables-nft-save",
    "ip6tables-nft-restore",
];
const IPTABLES_LEGACY_NAMES: &[&str] = &[
    "iptables-legacy",
    "iptables-legacy-save",
    "iptables-legacy-restore",
    "ip6tables-legacy",
    "ip6tables-legacy-save",
    "ip6tables-legacy-restore",
];
/// usrmerge links of a bookworm root.
const ROOT_LINKS: &[&str] = &["bin", "sbin", "lib", "lib64"];

/// The runtime layer: iptables (both backends), conntrack and what they link against, copied
/// from the node base, so kube-proxy programs the node's netfilter with the node's own tools.
pub fn build(rootfs: &Path, out: &Path) -> Result<()> {
    let mut wanted: Vec<String> = RUNTIME_BINARIES.iter().map(|s| s.to_string()).collect();
    wanted.extend(
        OPTIONAL_BINARIES
            .iter()
            .filter(|p| rootfs.join(p).exists())
            .map(|s| s.to_string()),
    );
    for dir in RUNTIME_DIRS {
        let full = rootfs.join(dir);
        let entries = std::fs::read_dir(&full).map_err(|e| Error::io("list", &full, e))?;
        for entry in entries.flatten() {
            wanted.push(format!("{dir}/{}", entry.file_name().to_string_lossy()));
        }
    }
    let mut libraries = shared_libraries(rootfs, &wanted)?;
    wanted.extend(RUNTIME_FILES.iter().map(|s| s.to_string()));
    wanted.append(&mut libraries);
    wanted.sort();
    wanted.dedup();
    std::fs::create_dir_all(out).map_err(|e| Error::io("create", out, e))?;
    for link in ROOT_LINKS {
        copy_entry(rootfs, out, link)?;
    }
    for path in &wanted {
        copy_entry(rootfs, out, path)?;
    }
    let sbin = out.join("usr/sbin");
    for (names, target) in [
        (IPTABLES_NAMES, "xtables-nft-multi"),
        (IPTABLES_LEGACY_NAMES, "xtables-legacy-multi"),
    ] {
        for name in names {
            let link = sbin.join(name);
            kns_plumbing::atomic_file::symlink(target, &link)
                .map_err(|e| Error::io("link", &link, e))?;
        }
    }
    Ok(())
}

/// The shared libraries `paths` (inside `rootfs`) load, as paths inside `rootfs`, by running the
/// base's own `ldd` in it.
fn shared_libraries(rootfs: &Path, paths: &[String]) -> Result<Vec<String>> {
    let out = Command::new("chroot")
        .arg(rootfs)
        .arg("ldd")
        .args(paths.iter().map(|p| format!("/{p}")))
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::io("run", "chroot", e))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut libraries = vec![];
    for line in text.lines() {
        // "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "\t/lib64/ld-linux-x86-64.so.2 (0x...)"
        let path = match line.split_once("=>") {
            Some((_, right)) => right.trim().split(' ').next().unwrap_or_default(),
            None => line.trim().split(' ').next().unwrap_or_default(),
        };
        if path.starts_with('/') {
            libraries.push(path.trim_start_matches('/').to_owned());
        }
    }
    if libraries.is_empty() {
        return Err(Error::RuntimeLibraries(
            String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        ));
    }
    Ok(libraries)
}

/// Copies `rel` from `rootfs` to `out` as it is (file, or symlink and what it points at), creating
/// parents. Paths go through the usrmerge links (`lib` → `usr/lib`) by resolving the parent.
fn copy_entry(rootfs: &Path, out: &Path, rel: &str) -> Result<()> {
    let rel = resolve_parent(rootfs, rel);
    let source = rootfs.join(&rel);
    let target = out.join(&rel);
    if target.symlink_metadata().is_ok() {
        return Ok(());
    }
    let meta = match source.symlink_metadata() {
        Ok(m) => m,
        Err(_) => return Ok(()), // optional files (e.g. /etc/ethertypes) may be absent
    };
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
    }
    if meta.file_type().is_symlink() {
        let link = std::fs::read_link(&source).map_err(|e| Error::io("read link", &source, e))?;
        std::os::unix::fs::symlink(&link, &target).map_err(|e| Error::io("link", &target, e))?;
        if rel.contains('/') {
            let pointed = if link.is_absolute() {
                link.to_string_lossy().trim_start_matches('/').to_owned()
            } else {
                let parent = Path::new(&rel).parent().unwrap_or(Path::new(""));
                parent.join(&link).to_string_lossy().into_owned()
            };
            copy_entry(rootfs, out, &normalize(&pointed))?;
        }
    } else if meta.is_file() {
        std::fs::copy(&source, &target).map_err(|e| Error::io("copy", &source, e))?;
    }
    Ok(())
}

/// `rel` with its directory part resolved through symlinks inside `rootfs` (for usrmerge).
fn resolve_parent(rootfs: &Path, rel: &str) -> String {
    let path = Path::new(rel);
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return rel.to_owned();
    };
    if parent.as_os_str().is_empty() {
        return rel.to_owned();
    }
    match std::fs::canonicalize(rootfs.join(parent))
        .ok()
        .and_then(|p| p.strip_prefix(rootfs).ok().map(Path::to_path_buf))
    {
        Some(p) => p.join(name).to_string_lossy().into_owned(),
        None => rel.to_owned(),
    }
}

fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = vec![];
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_normalize_inside_the_root() {
        assert_eq!(normalize("usr/sbin/../lib/./x"), "usr/lib/x");
        assert_eq!(normalize("../../etc/x"), "etc/x");
    }
}
