//! `image-pusher push`: images and binaries into running nodes. Per image source: ask every node
//! (in parallel) whether its image store already holds each image with the same config digest;
//! only if one does not, get the archive (a file, or `docker save` from the host's Docker) and
//! verify it once; stream it, read once, into the store of each of those nodes at the same time.
//! Then binaries, per node in parallel. One failing node does not stop the others; the summary
//! says what happened on each.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use crate::archive::{Archive, ArchivedImage, PlaceableImage};
use crate::containerd::Ctr;
use crate::content_store;
use crate::docker::{Daemon, DockerImage};
use crate::error::{Error, Result};
use crate::fanout;
use crate::install::{self, BinaryCopy};
use crate::node::Node;
use crate::store::{ImageStore, Load, Runtime};

/// Where images come from.
pub enum Source {
    /// An archive file, indexed.
    Archive(Archive),
    /// An image in the host's Docker; saved only if some node lacks it.
    Docker { daemon: Daemon, image: DockerImage },
}

impl Source {
    fn images(&self) -> &[ArchivedImage] {
        match self {
            Source::Archive(archive) => &archive.images,
            Source::Docker { image, .. } => std::slice::from_ref(&image.image),
        }
    }

    fn names(&self) -> Vec<String> {
        self.images()
            .iter()
            .flat_map(|i| i.names.iter().cloned())
            .collect()
    }
}

/// What happened on one node: the JSON summary's per-node entry.
#[derive(Debug, Default, Serialize)]
pub struct NodeReport {
    pub node: String,
    pub pid: u32,
    /// The image store written to: "containerd" or "docker" (absent when no image was pushed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<&'static str>,
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

/// A node's image store and the config digests it holds for the names being pushed.
struct Held {
    store: ImageStore,
    configs: HashMap<String, String>,
}

/// Pushes the images of `sources` into each node's store (`runtime` picks it) and `binaries`
/// into `nodes`. Progress lines go to `progress`.
pub fn push(
    nodes: &[Node],
    runtime: Runtime,
    sources: &[Source],
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
    if !sources.is_empty() {
        let names: Vec<String> = sources.iter().flat_map(Source::names).collect();
        let held = parallel(nodes, |node| {
            let store = ImageStore::open(node, runtime)?;
            let configs = store.image_configs(node, &names)?;
            Ok(Held { store, configs })
        });
        let mut held_ok: Vec<Option<Held>> = vec![];
        for (report, result) in reports.iter_mut().zip(held) {
            match result {
                Ok(held) => {
                    report.runtime = Some(held.store.name());
                    held_ok.push(Some(held));
                }
                Err(e) => {
                    report.error = Some(e.to_string());
                    held_ok.push(None);
                }
            }
        }
        let placed = place_archives(nodes, sources, &held_ok, progress);
        let indexed: Vec<(usize, &Source)> = sources.iter().enumerate().collect();
        let outcomes = for_each_concurrently(&indexed, source_concurrency(), |&(s, source)| {
            let done: Vec<usize> = placed
                .iter()
                .filter(|(_, placed_source, _)| *placed_source == s)
                .map(|(i, _, _)| *i)
                .collect();
            push_source(nodes, source, &held_ok, &done, progress)
        });
        for (i, _, outcome) in placed {
            outcome.record(&mut reports[i]);
        }
        let mut first_error = None;
        for outcome in outcomes {
            match outcome {
                Ok(per_node) => {
                    for (i, outcome) in per_node {
                        outcome.record(&mut reports[i]);
                    }
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_error {
            return Err(e);
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

/// What one source did in one node.
enum Outcome {
    Skipped(Vec<String>),
    Loaded { names: Vec<String>, bytes: u64 },
    Failed(String),
}

impl Outcome {
    fn record(self, report: &mut NodeReport) {
        match self {
            Outcome::Skipped(names) => report.skipped.extend(names),
            Outcome::Loaded { names, bytes } => {
                report.loaded.extend(names);
                report.bytes += bytes;
            }
            // The first failure is the one reported; the node's other sources still went on.
            Outcome::Failed(e) => {
                report.error.get_or_insert(e);
            }
        }
    }
}

/// How many sources stream at once. One import keeps about one core busy (ctr and containerd
/// take turns), so with one source at a time a second core idles: two at once loaded the
/// control-plane images into a node in 4.8–5.7 s instead of 7.7–8.9 s on 2 cores.
fn source_concurrency() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 4))
}

/// One source into the nodes that lack it: the per-node outcomes, or an error that stops the
/// whole push (a source that cannot be read or verified reaches no node).
fn push_source(
    nodes: &[Node],
    source: &Source,
    held: &[Option<Held>],
    placed: &[usize],
    progress: &(dyn Fn(String) + Sync),
) -> Result<Vec<(usize, Outcome)>> {
    let start = Instant::now();
    let names = source.names();
    let mut outcomes = vec![];
    let mut targets = vec![];
    for (i, node) in nodes.iter().enumerate() {
        let Some(held) = &held[i] else { continue };
        if placed.contains(&i) {
            continue;
        }
        if !lacks(source, held) {
            progress(format!(
                "{}: skipped {} (already there, same config digest)",
                node.name,
                names.join(", ")
            ));
            outcomes.push((i, Outcome::Skipped(names.clone())));
        } else {
            targets.push(i);
        }
    }
    if targets.is_empty() {
        return Ok(outcomes);
    }
    let saved;
    let archive = match source {
        Source::Archive(archive) => archive,
        Source::Docker { daemon, image } => {
            progress(format!(
                "saving {} from {}",
                image.reference,
                daemon.label()
            ));
            saved = daemon.save(image)?;
            &saved
        }
    };
    // A damaged archive must not reach any node.
    archive.verify()?;
    progress(format!(
        "loading {} ({:.1} MB) into {} node(s)",
        archive.label,
        archive.bytes as f64 / 1e6,
        targets.len()
    ));
    let mut loads: Vec<(usize, Load)> = vec![];
    for &i in &targets {
        let store = held[i].as_ref().map(|h| &h.store);
        match store.map(|s| s.start_load(&nodes[i])) {
            Some(Ok(load)) => loads.push((i, load)),
            Some(Err(e)) => outcomes.push((i, Outcome::Failed(e.to_string()))),
            None => {}
        }
    }
    let sinks: Vec<_> = loads
        .iter_mut()
        .filter_map(|(_, load)| load.take_writer())
        .collect();
    let source_file = File::open(archive.plain_path())
        .map_err(|e| Error::io("open archive", archive.plain_path(), e))?;
    let streamed = fanout::broadcast(BufReader::with_capacity(1 << 20, source_file), sinks);
    let (total, results) = match streamed {
        Ok(done) => done,
        Err(e) => {
            for (_, load) in loads {
                load.abort();
            }
            return Err(Error::io("read archive", archive.plain_path(), e));
        }
    };
    for ((i, load), sent) in loads.into_iter().zip(results) {
        let hint = held[i].as_ref().map_or("", |h| h.store.load_hint(archive));
        let outcome = match (load.wait(), sent) {
            (Err(e), _) => Outcome::Failed(format!("loading {}: {e}{hint}", archive.label)),
            (Ok(()), Err(e)) => Outcome::Failed(format!("streaming {}: {e}", archive.label)),
            (Ok(()), Ok(_)) => {
                progress(format!(
                    "{}: loaded {} in {:.2} s",
                    nodes[i].name,
                    names.join(", "),
                    start.elapsed().as_secs_f64()
                ));
                Outcome::Loaded {
                    names: names.clone(),
                    bytes: total,
                }
            }
        };
        outcomes.push((i, outcome));
    }
    Ok(outcomes)
}

/// Whether `node` (with `held`) lacks some image of `source`.
fn lacks(source: &Source, held: &Held) -> bool {
    !source.images().iter().all(|image| {
        image
            .names
            .iter()
            .all(|n| held.configs.get(n) == Some(&image.config_digest))
    })
}

/// Loads every archive some containerd node lacks, whose layers can be placed
/// ([`content_store`]), into each such node in one batch, the nodes at once; returns what it
/// loaded as (node, source) outcomes. What it could not place (other stores, archives with
/// layers that cannot be placed, a node where placing failed) is left to the stream.
fn place_archives(
    nodes: &[Node],
    sources: &[Source],
    held: &[Option<Held>],
    progress: &(dyn Fn(String) + Sync),
) -> Vec<(usize, usize, Outcome)> {
    let start = Instant::now();
    // The containerd nodes whose store is reachable, with their ctr and what they hold.
    let stores: Vec<(usize, Ctr, &Held)> = held
        .iter()
        .enumerate()
        .filter_map(|(i, h)| match h.as_ref()? {
            held @ Held {
                store: ImageStore::Containerd(ctr),
                ..
            } if content_store::reachable(&nodes[i]) => Some((i, *ctr, held)),
            _ => None,
        })
        .collect();
    // Layers are looked at only in archives one of them lacks: a repeat push reads no more
    // than the JSON documents.
    let placeable: Vec<Option<Vec<PlaceableImage>>> = sources
        .iter()
        .map(|source| match source {
            Source::Archive(archive) if stores.iter().any(|(_, _, h)| lacks(source, h)) => {
                archive.placeable_images()
            }
            _ => None,
        })
        .collect();
    let batches: Vec<(usize, Ctr, Vec<usize>)> = stores
        .iter()
        .filter_map(|&(i, ctr, held)| {
            let wanted: Vec<usize> = (0..sources.len())
                .filter(|&s| placeable[s].is_some() && lacks(&sources[s], held))
                .collect();
            (!wanted.is_empty()).then_some((i, ctr, wanted))
        })
        .collect();
    let results = for_each_concurrently(&batches, batches.len().max(1), |(i, ctr, wanted)| {
        let batch: Vec<(&Path, &[PlaceableImage])> = wanted
            .iter()
            .filter_map(|&s| match (&sources[s], &placeable[s]) {
                (Source::Archive(archive), Some(images)) => {
                    Some((archive.plain_path(), images.as_slice()))
                }
                _ => None,
            })
            .collect();
        content_store::load(&nodes[*i], *ctr, &batch)
    });
    let mut outcomes = vec![];
    for ((i, _, wanted), result) in batches.into_iter().zip(results) {
        match result {
            Ok(copied) => {
                for (s, bytes) in wanted.into_iter().zip(copied) {
                    let names = sources[s].names();
                    progress(format!(
                        "{}: loaded {} in {:.2} s (layers placed in its content store)",
                        nodes[i].name,
                        names.join(", "),
                        start.elapsed().as_secs_f64()
                    ));
                    outcomes.push((i, s, Outcome::Loaded { names, bytes }));
                }
            }
            Err(e) => progress(format!(
                "{}: placing image layers failed ({e}); streaming the archives instead",
                nodes[i].name
            )),
        }
    }
    outcomes
}

/// `f` on every item, at most `limit` at a time; results in item order.
fn for_each_concurrently<T: Sync, R: Send>(
    items: &[T],
    limit: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<R>>> =
        items.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..limit.min(items.len()) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let result = f(item);
                if let Ok(mut slot) = results[i].lock() {
                    *slot = Some(result);
                }
            });
        }
    });
    results
        .into_iter()
        .filter_map(|slot| slot.into_inner().ok().flatten())
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn concurrent_work_keeps_item_order_and_its_limit() {
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let items: Vec<u64> = (0..9).collect();
        let results = for_each_concurrently(&items, 2, |&n| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(10 * (n % 3)));
            running.fetch_sub(1, Ordering::SeqCst);
            n * 10
        });
        assert_eq!(results, (0..9).map(|n| n * 10).collect::<Vec<_>>());
        assert!(most.load(Ordering::SeqCst) <= 2);
        assert!(for_each_concurrently(&[] as &[u64], 2, |&n| n).is_empty());
    }
}
