//! The suite's images against the nodes' (`e2e.test --list-images` against each node's
//! `ctr -n k8s.io images ls -q`), said in one line: a cluster without masquerade pulls nothing,
//! so a spec whose image no node holds cannot start its pods. Never an error: the list is the
//! whole suite's, far more than a focused run uses.

use std::collections::BTreeSet;

/// How many names of missing images the line shows.
const SHOWN: usize = 4;

/// The images most specs use (conformance's above all), shown first when missing.
const MOST_USED: &[&str] = &[
    "registry.k8s.io/e2e-test-images/agnhost:",
    "registry.k8s.io/e2e-test-images/busybox:",
    "registry.k8s.io/e2e-test-images/nginx:",
    "registry.k8s.io/e2e-test-images/httpd:",
    "registry.k8s.io/pause:",
];

/// Images no spec expects to find: they test failing pulls (shown last).
const NEVER_THERE: &[&str] = &[
    "invalid.registry.k8s.io/",
    "gcr.io/authenticated-image-pulling/",
    "gcr.io/k8s-authenticated-test/",
];

/// `name` as containerd names it: `docker.io/library/` for a bare name, `:latest` for no tag.
pub fn normalize(name: &str) -> String {
    let name = name.trim();
    let (first, rest) = name.split_once('/').unwrap_or(("", name));
    let has_domain = first.contains('.') || first.contains(':') || first == "localhost";
    let mut full = match (has_domain, first) {
        (true, _) => name.to_owned(),
        (false, "") => format!("docker.io/library/{rest}"),
        (false, _) => format!("docker.io/{name}"),
    };
    let last = full.rsplit('/').next().unwrap_or_default();
    if !last.contains(':') && !last.contains('@') {
        full.push_str(":latest");
    }
    full
}

/// The images of `e2e.test --list-images`, one a line.
pub fn parse_list(stdout: &str) -> Vec<String> {
    let mut seen = BTreeSet::new();
    stdout
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.contains(' '))
        .map(normalize)
        .filter(|n| seen.insert(n.clone()))
        .collect()
}

/// A node's images (`ctr -n k8s.io images ls -q`), by name (their `sha256:` ids left out).
pub fn parse_node(stdout: &str) -> BTreeSet<String> {
    stdout
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("sha256:"))
        .map(normalize)
        .collect()
}

/// How many of the suite's images every node holds, and which not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coverage {
    pub listed: usize,
    pub held: usize,
    /// Those some node lacks, the most used first.
    pub missing: Vec<String>,
}

pub fn coverage(suite: &[String], nodes: &[BTreeSet<String>]) -> Coverage {
    let mut missing: Vec<String> = suite
        .iter()
        .filter(|image| !nodes.iter().all(|held| held.contains(*image)))
        .cloned()
        .collect();
    let rank = |image: &str| {
        if NEVER_THERE.iter().any(|p| image.starts_with(p)) {
            return MOST_USED.len() + 1;
        }
        MOST_USED
            .iter()
            .position(|p| image.starts_with(p))
            .unwrap_or(MOST_USED.len())
    };
    missing.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.cmp(b)));
    Coverage {
        listed: suite.len(),
        held: suite.len() - missing.len(),
        missing,
    }
}

/// How the line is said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Note,
    Warning,
}

/// The one line about the suite's images; a warning when the nodes pull nothing.
pub fn describe(coverage: &Coverage, masquerade: bool) -> (Level, String) {
    if coverage.missing.is_empty() {
        return (
            Level::Note,
            format!(
                "the nodes hold all {} images the e2e suite lists",
                coverage.listed
            ),
        );
    }
    let shown: Vec<&str> = coverage
        .missing
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect();
    let more = coverage.missing.len() - shown.len();
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    let head = format!(
        "the nodes hold {} of the {} images the e2e suite lists; {} missing: {}{more}",
        coverage.held,
        coverage.listed,
        coverage.missing.len(),
        shown.join(", ")
    );
    if masquerade {
        (
            Level::Note,
            format!("{head} (the nodes pull them when a spec needs them)"),
        )
    } else {
        (
            Level::Warning,
            format!(
                "{head}: pods of specs that use them cannot start: nodes of this cluster pull \
                 nothing (load them with --images DIR or `kubeadm-nspawn load`)"
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The start of `e2e.test --list-images` of v1.28.7.
    const LISTED: &str = "registry.k8s.io/e2e-test-images/volume/rbd:1.0.6
gcr.io/k8s-authenticated-test/agnhost:2.6
registry.k8s.io/e2e-test-images/busybox:1.29-2
registry.k8s.io/pause:3.9
invalid.registry.k8s.io/invalid/alpine:3.1
registry.k8s.io/e2e-test-images/agnhost:2.45
registry.k8s.io/e2e-test-images/busybox:1.29-4
docker.io/alpine/socat:1.7.4.3-r0
registry.k8s.io/e2e-test-images/nginx:1.14-4
registry.k8s.io/e2e-test-images/httpd:2.4.38-4
";

    /// `ctr -n k8s.io images ls -q` in a node after `init` and a load.
    const NODE: &str = "registry.k8s.io/coredns/coredns:v1.10.1
registry.k8s.io/e2e-test-images/agnhost:2.45
registry.k8s.io/pause:3.9
sha256:e6f1816883972d4be47bd48879a08919b96afcd344132622e4d444987919323c
";

    #[test]
    fn names_are_compared_as_containerd_names_them() {
        assert_eq!(normalize("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(normalize("alpine/socat:1.7"), "docker.io/alpine/socat:1.7");
        assert_eq!(
            normalize("registry.k8s.io/pause:3.9"),
            "registry.k8s.io/pause:3.9"
        );
        assert_eq!(normalize("localhost:5000/x"), "localhost:5000/x:latest");
        assert_eq!(
            normalize("registry.k8s.io/x@sha256:abc"),
            "registry.k8s.io/x@sha256:abc"
        );
    }

    #[test]
    fn missing_images_are_counted_and_the_most_used_named_first() {
        let suite = parse_list(LISTED);
        assert_eq!(suite.len(), 10);
        let node = parse_node(NODE);
        assert!(!node.iter().any(|n| n.starts_with("sha256:")));
        let coverage = coverage(&suite, &[node.clone(), node]);
        assert_eq!((coverage.listed, coverage.held), (10, 2));
        assert_eq!(
            coverage.missing[..4],
            [
                "registry.k8s.io/e2e-test-images/busybox:1.29-2",
                "registry.k8s.io/e2e-test-images/busybox:1.29-4",
                "registry.k8s.io/e2e-test-images/nginx:1.14-4",
                "registry.k8s.io/e2e-test-images/httpd:2.4.38-4",
            ]
        );
        assert!(coverage
            .missing
            .last()
            .unwrap()
            .starts_with("invalid.registry"));
        let (level, line) = describe(&coverage, false);
        assert_eq!(level, Level::Warning);
        assert!(
            line.starts_with(
                "the nodes hold 2 of the 10 images the e2e suite lists; 8 missing: \
                 registry.k8s.io/e2e-test-images/busybox:1.29-2, "
            ),
            "{line}"
        );
        assert!(
            line.contains("httpd:2.4.38-4 and 4 more: pods of specs"),
            "{line}"
        );
        assert!(
            line.contains("nodes of this cluster pull nothing"),
            "{line}"
        );
        let (level, line) = describe(&coverage, true);
        assert_eq!(level, Level::Note);
        assert!(line.ends_with("(the nodes pull them when a spec needs them)"));
    }

    #[test]
    fn an_image_one_node_lacks_is_missing() {
        let suite = parse_list("registry.k8s.io/pause:3.9\n");
        let coverage = coverage(&suite, &[parse_node(NODE), BTreeSet::new()]);
        assert_eq!(coverage.missing, ["registry.k8s.io/pause:3.9"]);
        let all = super::coverage(&suite, &[parse_node(NODE)]);
        assert_eq!(
            describe(&all, false),
            (
                Level::Note,
                "the nodes hold all 1 images the e2e suite lists".into()
            )
        );
    }
}
