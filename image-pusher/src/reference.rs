//! Image references: parsing the `repository[:tag]` given to `build`, and normalizing names the
//! way containerd stores them after an import, so names compare equal across sources and nodes.

use crate::error::{Error, Result};

/// `repository[:tag]`, tag defaulting to `latest`.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageRef {
    pub repository: String,
    pub tag: String,
}

impl ImageRef {
    pub fn parse(reference: &str) -> Result<Self> {
        let (repository, tag) = match reference.rsplit_once(':') {
            // A ':' inside the last path component is a tag; before a '/' it is a registry port.
            Some((repo, tag)) if !tag.contains('/') => (repo, tag),
            _ => (reference, "latest"),
        };
        let valid_repo = !repository.is_empty()
            && repository
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-/:".contains(c))
            && !repository.starts_with('/')
            && !repository.ends_with('/');
        let valid_tag = !tag.is_empty()
            && tag.len() <= 128
            && tag
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !valid_repo || !valid_tag {
            return Err(Error::InvalidArgument(format!(
                "--name \"{reference}\" is not an image reference (repository[:tag], lower-case)"
            )));
        }
        Ok(ImageRef {
            repository: repository.into(),
            tag: tag.into(),
        })
    }

    pub fn full(&self) -> String {
        format!("{}:{}", self.repository, self.tag)
    }
}

/// A name as containerd stores it after an import: the Docker Hub domain and `library/` filled in
/// where the name has no registry, `:latest` where it has no tag or digest.
pub fn normalize_name(name: &str) -> String {
    let (first, rest) = name.split_once('/').unwrap_or(("", name));
    let has_domain =
        !first.is_empty() && (first.contains('.') || first.contains(':') || first == "localhost");
    let mut full = match (has_domain, first.is_empty()) {
        (true, _) => name.to_owned(),
        (false, true) => format!("docker.io/library/{rest}"),
        (false, false) => format!("docker.io/{name}"),
    };
    let last = full.rsplit('/').next().unwrap_or_default();
    if !last.contains(':') && !last.contains('@') {
        full.push_str(":latest");
    }
    full
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalized_like_containerd() {
        for (name, want) in [
            ("busybox", "docker.io/library/busybox:latest"),
            ("busybox:1.36", "docker.io/library/busybox:1.36"),
            ("me/tool:1", "docker.io/me/tool:1"),
            (
                "kubeadm-nspawn.local/pause:3.9",
                "kubeadm-nspawn.local/pause:3.9",
            ),
            ("localhost/x", "localhost/x:latest"),
            ("reg:5000/a/b", "reg:5000/a/b:latest"),
            (
                "registry.k8s.io/pause@sha256:ab",
                "registry.k8s.io/pause@sha256:ab",
            ),
        ] {
            assert_eq!(normalize_name(name), want, "{name}");
        }
    }
}
