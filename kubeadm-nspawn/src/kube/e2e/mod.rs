//! Kubernetes' end-to-end suite run against a cluster: where its programs are ([`programs`]), the
//! ginkgo command lines of a request ([`args`]), its images against the nodes' ([`images`]), and
//! ginkgo's output read as it comes ([`progress`]).

pub mod args;
pub mod images;
pub mod programs;
pub mod progress;

use std::path::Path;
use std::process::{Command, Stdio};

/// `e2e.test --list-images`: every image of the whole suite; the error says why there is no list.
pub fn list_images(e2e_test: &Path) -> Result<Vec<String>, String> {
    let out = kns_plumbing::child::die_with_parent(&mut Command::new(e2e_test))
        .arg("--list-images")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", e2e_test.display()))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "{} --list-images: {} ({})",
            e2e_test.display(),
            out.status,
            stderr.lines().last().unwrap_or_default().trim()
        ));
    }
    Ok(images::parse_list(&String::from_utf8_lossy(&out.stdout)))
}

/// `e2e.test --version` (`v1.28.7`), if it says one.
pub fn version(e2e_test: &Path) -> Option<String> {
    let out = kns_plumbing::child::die_with_parent(&mut Command::new(e2e_test))
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().next()?.trim();
    (out.status.success() && line.starts_with('v')).then(|| line.to_owned())
}
