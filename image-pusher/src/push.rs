//! `image-pusher push`: archives and binaries into running nodes. Per archive: ask every node (in
//! parallel) whether it already holds each image with the same config digest; verify the archive
//! once if any node needs it; stream it, read once, into `ctr import` in each of those nodes at the
//! same time. Then binaries, per node in parallel. One failing node does not stop the others; the
//! summary says what happened on each.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::process::Child;
use std::time::Instant;

use serde::Serialize;

use crate::archive::Archive;
use crate::containerd;
use crate::error::{Error, Result};
use crate::fanout;
use crate::install::{self, BinaryCopy};
use crate::node::Node;

/// What happened on one node: the JSON summary's per-node entry.
#[derive(Debug, Default, Serialize)]
pub struct NodeReport {
    pub node: String,
    pub pid: u32,
    /// Image names imported.
    pub loaded: Vec<String>,
    /// Image names the node already had with the same config digest.
    pub skipped: Vec<String>,
    /// Paths in the node written.
    pub binaries: Vec<String>,
    /// Bytes sent into the node (archives and binaries).
    pub bytes: u64,
    pub seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub nodes: Vec<NodeReport>,
    pub seconds: f64,
}

impl Summary {
    pub fn failed(&self) -> Vec<&NodeReport> {
        self.nodes.iter().filter(|n| n.error.is_some()).collect()
    }
}

/// Pushes `archives` and `binaries` into `nodes`. Progress lines go to `progress`.
pub fn push(
    nodes: &[Node],
    archives: &[Archive],
    binaries: &[BinaryCopy],
    progress: &(dyn Fn(String) + Sync),
) -> Result<Summary> {
    let start = Instant::now();
    let mut reports: Vec<NodeReport> = nodes
        .iter()
        .map(|n| NodeReport {
            node: n.name.clone(),
            pid: n.leader,
            ..Default::default()
        })
        .collect();
    if !archives.is_empty() {
        let names: Vec<String> = archives.iter().flat_map(Archive::names).collect();
        let held = parallel(nodes, |node| {
            containerd::check_running(node)?;
            containerd::image_configs(node, &names)
        });
        let mut held_ok: Vec<Option<HashMap<String, String>>> = vec![];
        for (report, result) in reports.iter_mut().zip(held) {
            match result {
                Ok(configs) => held_ok.push(Some(configs)),
                Err(e) => {
                    report.error = Some(e.to_string());
                    held_ok.push(None);
                }
            }
        }
        for archive in archives {
            push_archive(nodes, archive, &held_ok, &mut reports, progress)?;
        }
    }
    if !binaries.is_empty() {
        let results = parallel(nodes, |node| {
            binaries
                .iter()
                .map(|b| install::install(node, b).map(|n| (b.dest.display().to_string(), n)))
                .collect::<Result<Vec<_>>>()
        });
        for (report, result) in reports.iter_mut().zip(results) {
            if report.error.is_some() {
                continue;
            }
            match result {
                Ok(written) => {
                    for (dest, n) in written {
                        progress(format!("{}: installed {dest}", report.node));
                        report.binaries.push(dest);
                        report.bytes += n;
                    }
                }
                Err(e) => report.error = Some(e.to_string()),
            }
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    for report in &mut reports {
        if report.seconds == 0.0 {
            report.seconds = seconds;
        }
    }
    Ok(Summary {
        nodes: reports,
        seconds,
    })
}

fn push_archive(
    nodes: &[Node],
    archive: &Archive,
    held: &[Option<HashMap<String, String>>],
    reports: &mut [NodeReport],
    progress: &(dyn Fn(String) + Sync),
) -> Result<()> {
    let start = Instant::now();
    let mut targets = vec![];
    for (i, node) in nodes.iter().enumerate() {
        let Some(configs) = &held[i] else { continue };
        if reports[i].error.is_some() {
            continue;
        }
        let has_all = archive.images.iter().all(|image| {
            image
                .names
                .iter()
                .all(|n| configs.get(n) == Some(&image.config_digest))
        });
        if has_all {
            progress(format!(
                "{}: skipped {} (already there, same config digest)",
                node.name,
                archive.names().join(", ")
            ));
            reports[i].skipped.extend(archive.names());
        } else {
            targets.push(i);
        }
    }
    if targets.is_empty() {
        return Ok(());
    }
    // A damaged archive must not reach any node.
    archive.verify()?;
    progress(format!(
        "loading {} ({:.1} MB) into {} node(s)",
        archive.path.display(),
        archive.bytes as f64 / 1e6,
        targets.len()
    ));
    let mut children: Vec<(usize, Child)> = vec![];
    for &i in &targets {
        match containerd::start_import(&nodes[i]) {
            Ok(child) => children.push((i, child)),
            Err(e) => reports[i].error = Some(e.to_string()),
        }
    }
    let sinks: Vec<_> = children
        .iter_mut()
        .filter_map(|(_, child)| child.stdin.take())
        .collect();
    let source = File::open(archive.plain_path())
        .map_err(|e| Error::io("open archive", archive.plain_path(), e))?;
    let streamed = fanout::broadcast(BufReader::with_capacity(1 << 20, source), sinks);
    let (total, results) = match streamed {
        Ok(done) => done,
        Err(e) => {
            for (_, child) in &mut children {
                let _ = child.kill();
                let _ = child.wait();
            }
            return Err(Error::io("read archive", &archive.path, e));
        }
    };
    for ((i, child), sent) in children.into_iter().zip(results) {
        let output = child.wait_with_output();
        let report = &mut reports[i];
        let failure = match (&output, sent) {
            (Ok(out), _) if !out.status.success() => Some(format!(
                "ctr images import of {} failed: {}",
                archive.path.display(),
                last_line(&out.stderr)
            )),
            (Err(e), _) => Some(format!("ctr images import: {e}")),
            (Ok(_), Err(e)) => Some(format!("streaming {}: {e}", archive.path.display())),
            (Ok(_), Ok(_)) => None,
        };
        match failure {
            Some(f) => report.error = Some(f),
            None => {
                progress(format!(
                    "{}: loaded {} in {:.2} s",
                    report.node,
                    archive.names().join(", "),
                    start.elapsed().as_secs_f64()
                ));
                report.loaded.extend(archive.names());
                report.bytes += total;
            }
        }
    }
    Ok(())
}

fn last_line(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("(no message)")
        .trim()
        .to_owned()
}

/// `f` on every node at once, results in node order.
fn parallel<T: Send>(nodes: &[Node], f: impl Fn(&Node) -> Result<T> + Sync) -> Vec<Result<T>> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = nodes.iter().map(|n| scope.spawn(|| f(n))).collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(Error::InvalidArgument("a node thread panicked".into()))
                })
            })
            .collect()
    })
}
