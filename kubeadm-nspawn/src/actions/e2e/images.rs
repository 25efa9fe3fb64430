//! Steps: the image archives of `--images DIR` into every Kubernetes node (as `load` does,
//! through image-pusher, holding the cluster's lock while it changes the nodes), and the one line
//! saying which of the suite's images the nodes hold.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use kns_node::Exec;

use super::E2eContext;
use crate::cluster::{Access, Cluster};
use crate::error::{Error, Result};
use crate::host::error::Io;
use crate::host::image_pusher;
use crate::kube::e2e::images::{self, Level};
use crate::kube::e2e::programs::Programs;

/// The suite's images against the nodes', for the JSON line.
#[derive(Debug, Clone, Serialize)]
pub struct ImagesView {
    pub listed: usize,
    pub held: usize,
    pub missing: Vec<String>,
}

/// The archives of `dir`: its `*.tar`, `*.tar.gz` and `*.tgz` files, by name.
pub fn archives_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut archives: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Io::new("read", dir, e))?
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            let name = path.to_string_lossy();
            path.is_file()
                && [".tar", ".tar.gz", ".tgz"]
                    .iter()
                    .any(|e| name.ends_with(e))
        })
        .collect();
    archives.sort();
    if archives.is_empty() {
        return Err(Error::Request(format!(
            "--images {}: no image archives (*.tar, *.tar.gz, *.tgz) in it",
            dir.display()
        )));
    }
    Ok(archives)
}

/// Every archive of `dir` into every Kubernetes node; the cluster's lock is held meanwhile.
pub fn load(ctx: &E2eContext, dir: &Path) -> Result<()> {
    let archives = archives_in(dir)?;
    kns_plumbing::say!(
        "   {} archive{} of {}",
        archives.len(),
        if archives.len() == 1 { "" } else { "s" },
        dir.display()
    );
    let access = Access::Change {
        verb: "e2e --images",
        wait: ctx.common.wait,
    };
    let cluster = Cluster::open(&ctx.common.state_dir, ctx.cluster.name(), access)?;
    cluster.require_running()?;
    let nodes: Vec<_> = cluster.state.kubernetes_nodes().collect();
    image_pusher::push(&nodes, &archives, &[], &[])?;
    Ok(())
}

/// The one line about the suite's images in the nodes: a warning for a cluster whose nodes pull
/// nothing, a note otherwise. Never a failure (but an interruption).
pub fn check(ctx: &E2eContext, programs: &Programs) -> Result<Option<ImagesView>> {
    let suite = match crate::kube::e2e::list_images(&programs.e2e_test) {
        Ok(list) => list,
        Err(why) => {
            kns_plumbing::say!("   warning: the suite's images are not known: {why}");
            return Ok(None);
        }
    };
    let mut held: Vec<BTreeSet<String>> = vec![];
    for node in ctx.cluster.kubernetes_nodes() {
        match node.run(&["ctr", "-n", "k8s.io", "images", "ls", "-q"]) {
            Ok(out) => held.push(images::parse_node(&out)),
            Err(e @ kns_node::Error::Interrupted { .. }) => return Err(e.into()),
            Err(e) => kns_plumbing::say!(
                "   warning: the images of node {} are not known: {e}",
                node.name()
            ),
        }
    }
    if held.is_empty() {
        return Ok(None);
    }
    let coverage = images::coverage(&suite, &held);
    match images::describe(&coverage, ctx.cluster.state.masquerade) {
        (Level::Warning, line) => kns_plumbing::say!("   warning: {line}"),
        (Level::Note, line) => kns_plumbing::say!("   note: {line}"),
    }
    Ok(Some(ImagesView {
        listed: coverage.listed,
        held: coverage.held,
        missing: coverage.missing,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_archives_of_a_directory_are_its_tarballs() {
        let dir = tempfile::tempdir().unwrap();
        let err = archives_in(dir.path()).unwrap_err().to_string();
        assert!(
            err.ends_with("no image archives (*.tar, *.tar.gz, *.tgz) in it"),
            "{err}"
        );
        for name in ["b.tar", "a.tar.gz", "c.tgz", "notes.txt"] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        std::fs::create_dir(dir.path().join("d.tar")).unwrap();
        let names: Vec<_> = archives_in(dir.path())
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.tar.gz", "b.tar", "c.tgz"]);
    }
}
