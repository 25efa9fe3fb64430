//! A node's containerd content store written from the host. `ctr images import` of an archive
//! reads every layer four times over (image-pusher's verification, then the digests of ctr, of
//! containerd's content writer and of the unpack) and sends it through ctr's gRPC stream: about
//! 10 ms of CPU per MB here. A plain layer can instead be copied into the store's blob directory
//! as it lies in the archive (in the kernel, `copy_file_range`) and registered by its digest
//! (`ctr content ingest --expected-digest`: containerd's shared content policy takes a blob that
//! is there without reading it); only the small documents, an OCI layout of each image's
//! manifest and config, go through `ctr images import`, whose unpack checks every layer against
//! the config's diff IDs.
//!
//! containerd's garbage collector removes blobs nothing references, and runs within a quarter
//! second of any deletion (every import ends by deleting its lease). So the documents are
//! imported first, under the images' IDs and not unpacked, which references the layers before
//! they are placed; a blob removed before ctr registers it is sent by ctr after all (its stdin is
//! the blob's file, read from where containerd's writer stands); a blob removed between ctr's
//! writer and its commit fails the load, and the caller streams the archive instead. The names
//! are given last, once the unpack has checked the layers.

use std::fs::File;
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::archive::{PlaceableImage, PlainLayer};
use crate::containerd::{Ctr, NAMESPACE};
use crate::error::Result;
use crate::node::{Exec, Node, NodeError};
use kns_plumbing::hex::encode as hex;

/// containerd's content store in a node (its default root, which kubeadm-nspawn's nodes keep).
const CONTENT: &str = "var/lib/containerd/io.containerd.content.v1.content";

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const OCI_PLAIN_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";

/// Makes each ingest's reference unique among this process's concurrent loads.
static REFS: AtomicUsize = AtomicUsize::new(0);

/// Whether `node`'s content store is where this module writes (its containerd has run with the
/// default root).
pub fn reachable(node: &Node) -> bool {
    node.root().join(CONTENT).is_dir()
}

/// Loads the images of every (plain tar, its images) of `batch` into `node`'s containerd;
/// returns the bytes copied per archive. Until the layers are in and checked, the images go by
/// their image IDs only (`sha256:<config digest>`, the reference containerd's CRI keeps for every
/// image anyway): a failure takes those out again (those it made) and never touches the images'
/// names.
pub fn load(node: &Node, ctr: Ctr, batch: &[(&Path, &[PlaceableImage])]) -> Result<Vec<u64>> {
    let content = node.root().join(CONTENT);
    let blobs = content.join("blobs/sha256");
    std::fs::create_dir_all(&blobs)
        .map_err(|e| node.error(format!("create {}: {e}", blobs.display())))?;
    let images: Vec<&PlaceableImage> = batch.iter().flat_map(|(_, images)| *images).collect();
    let before = node.run(&["ctr", "-n", NAMESPACE, "images", "ls", "-q"])?;
    let ids: Vec<Vec<String>> = images
        .iter()
        .map(|i| vec![i.config_digest.clone()])
        .collect();
    let by_id: Vec<&[String]> = ids.iter().map(Vec::as_slice).collect();
    let by_name: Vec<&[String]> = images.iter().map(|i| i.names.as_slice()).collect();
    let mut placed: Vec<String> = vec![];
    let outcome = import_documents(node, ctr, &images, &by_id, false)
        .and_then(|()| {
            batch
                .iter()
                .map(|(archive, images)| place_layers(node, archive, &content, images, &mut placed))
                .collect::<Result<Vec<u64>>>()
        })
        .and_then(|copied| {
            unpack(node, ctr, &images, &by_id)?;
            import_documents(node, ctr, &images, &by_name, false)?;
            Ok(copied)
        });
    if outcome.is_err() {
        let mut remove = vec!["ctr", "-n", NAMESPACE, "images", "rm"];
        remove.extend(
            ids.iter()
                .flatten()
                .map(String::as_str)
                .filter(|id| !before.lines().any(|l| l.trim() == *id)),
        );
        if remove.len() > 5 {
            let _ = node.run(&remove);
        }
        // A placed blob that failed its check must not stay under its digest: a later push of
        // the right bytes would find it there and skip them.
        for digest in &placed {
            let _ = node.run(&["ctr", "-n", NAMESPACE, "content", "rm", digest]);
            let _ = std::fs::remove_file(blobs.join(&digest[7..]));
        }
    }
    outcome
}

/// Unpacks `images` (named `names`) in two imports at once, each with about half of the layer
/// bytes: an unpack keeps about one core busy (it digests and writes every layer), and the
/// control-plane images went in 0.3 s sooner on 2 cores than in one import.
fn unpack(node: &Node, ctr: Ctr, images: &[&PlaceableImage], names: &[&[String]]) -> Result<()> {
    let mut order: Vec<usize> = (0..images.len()).collect();
    order.sort_by_key(|&k| std::cmp::Reverse(layer_bytes(images[k])));
    let mut halves: [Half; 2] = Default::default();
    for k in order {
        let lighter = usize::from(halves[1].bytes < halves[0].bytes);
        halves[lighter].images.push(images[k]);
        halves[lighter].names.push(names[k]);
        halves[lighter].bytes += layer_bytes(images[k]);
    }
    let results: Vec<Result<()>> = std::thread::scope(|scope| {
        let running: Vec<_> = halves
            .iter()
            .filter(|half| !half.images.is_empty())
            .map(|half| {
                scope.spawn(move || import_documents(node, ctr, &half.images, &half.names, true))
            })
            .collect();
        running
            .into_iter()
            .map(|t| {
                t.join()
                    .unwrap_or_else(|_| Err(node.error("an unpack thread panicked")))
            })
            .collect()
    });
    results.into_iter().collect()
}

/// One of [`unpack`]'s two imports: its images, their names, their layer bytes.
#[derive(Default)]
struct Half<'a> {
    images: Vec<&'a PlaceableImage>,
    names: Vec<&'a [String]>,
    bytes: u64,
}

fn layer_bytes(image: &PlaceableImage) -> u64 {
    image.layers.iter().map(|l| l.size).sum()
}

/// Copies every layer of `images` the store lacks into it from the plain tar `archive` (adding
/// their digests to `placed`) and registers each in the `k8s.io` namespace; returns the bytes
/// copied. A layer the store holds is not read from the archive, as a pull skips it.
fn place_layers(
    node: &Node,
    archive: &Path,
    content: &Path,
    images: &[PlaceableImage],
    placed: &mut Vec<String>,
) -> Result<u64> {
    let source =
        File::open(archive).map_err(|e| node.error(format!("open {}: {e}", archive.display())))?;
    let mut copied = 0;
    let mut done: Vec<&str> = vec![];
    for layer in images.iter().flat_map(|i| &i.layers) {
        if done.contains(&layer.digest.as_str()) {
            continue;
        }
        let blob = content.join("blobs/sha256").join(&layer.digest[7..]);
        let file = if blob.exists() {
            File::open(&blob)
        } else {
            copied += layer.size;
            placed.push(layer.digest.clone());
            copy_range(&source, layer.offset, layer.size, content, &blob)
        }
        .map_err(|e| node.error(format!("place layer {} in the store: {e}", layer.digest)))?;
        register(node, layer, file)?;
        done.push(&layer.digest);
    }
    Ok(copied)
}

/// Copies `size` bytes at `offset` of `source` into a new file `dest` (0444, as containerd keeps
/// its blobs), written under a temporary name in `scratch` (outside the blob directory the
/// collector walks) and renamed into place; returns it open for reading.
fn copy_range(
    source: &File,
    offset: u64,
    size: u64,
    scratch: &Path,
    dest: &Path,
) -> std::io::Result<File> {
    let partial = scratch.join(format!(
        ".image-pusher-{}-{}",
        std::process::id(),
        REFS.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let target = File::create(&partial)?;
        let mut at = offset as i64;
        let mut left = size;
        while left > 0 {
            let chunk = left.min(1 << 30) as usize;
            let n = nix::fcntl::copy_file_range(
                source.as_fd(),
                Some(&mut at),
                target.as_fd(),
                None,
                chunk,
            )
            .map_err(std::io::Error::from)?;
            if n == 0 {
                return Err(std::io::Error::other("the archive ends inside the layer"));
            }
            left -= n as u64;
        }
        target.set_permissions(std::fs::Permissions::from_mode(0o444))?;
        let reader = File::open(&partial)?;
        std::fs::rename(&partial, dest)?;
        Ok(reader)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

/// Registers `blob` (the layer's bytes, open) in the node's `k8s.io` namespace under its digest.
/// ctr reads its stdin only from where containerd's writer stands: at the end for a blob the
/// store has (nothing is sent), from the start otherwise (the blob is sent and checked against
/// the digest, as a plain ingest).
fn register(node: &Node, layer: &PlainLayer, blob: File) -> Result<()> {
    let reference = format!(
        "image-pusher-{}-{}",
        std::process::id(),
        REFS.fetch_add(1, Ordering::Relaxed)
    );
    let size = layer.size.to_string();
    let out = node
        .command(&[
            "ctr",
            "-n",
            NAMESPACE,
            "content",
            "ingest",
            "--expected-digest",
            &layer.digest,
            "--expected-size",
            &size,
            &reference,
        ])
        .stdin(blob)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| node.error(format!("run nsenter: {e}")))?;
    let out = node.wait(out, &["ctr", "content", "ingest"])?;
    if out.status.success() {
        Ok(())
    } else {
        Err(node.error(format!(
            "ctr content ingest {}: {}",
            layer.digest,
            crate::store::last_line(&out.stderr)
        )))
    }
}

/// `ctr images import` of an OCI layout holding only each image's manifest and config, under
/// `names` (a list per image). Unpacked, it checks the layers against the configs' diff IDs.
fn import_documents(
    node: &Node,
    ctr: Ctr,
    images: &[&PlaceableImage],
    names: &[&[String]],
    unpack: bool,
) -> Result<()> {
    let layout = documents_layout(images, names)
        .map_err(|e| node.error(format!("write the image documents: {e}")))?;
    let mut command = node.command(&ctr.import_args(false, unpack));
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| node.error(format!("run nsenter: {e}")))?;
    let written = child.stdin.take().map(|mut stdin| stdin.write_all(&layout));
    let out = node.wait(child, &["ctr", "images", "import"])?;
    if !out.status.success() {
        return Err(node.error(format!(
            "ctr images import: {}",
            crate::store::last_line(&out.stderr)
        )));
    }
    if let Some(Err(e)) = written {
        return Err(node.error(format!("ctr images import: writing its input: {e}")));
    }
    Ok(())
}

/// An OCI image layout (as a tar) of `images`' manifests and configs, an index entry for each
/// of `names` (a list per image).
fn documents_layout(images: &[&PlaceableImage], names: &[&[String]]) -> std::io::Result<Vec<u8>> {
    let mut tar = tar::Builder::new(Vec::new());
    let mut add = |path: &str, data: &[u8]| -> std::io::Result<()> {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        tar.append_data(&mut header, path, data)
    };
    add("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    let mut index = vec![];
    for (image, names) in images.iter().zip(names) {
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": OCI_CONFIG,
                "digest": image.config_digest,
                "size": image.config.len(),
            },
            "layers": image.layers.iter().map(|l| json!({
                "mediaType": OCI_PLAIN_LAYER,
                "digest": l.digest,
                "size": l.size,
            })).collect::<Vec<_>>(),
        })
        .to_string()
        .into_bytes();
        let manifest_digest = digest_of(&manifest);
        add(
            &format!("blobs/sha256/{}", &manifest_digest[7..]),
            &manifest,
        )?;
        add(
            &format!("blobs/sha256/{}", &image.config_digest[7..]),
            &image.config,
        )?;
        for name in names.iter() {
            index.push(json!({
                "mediaType": OCI_MANIFEST,
                "digest": manifest_digest,
                "size": manifest.len(),
                "annotations": {"io.containerd.image.name": name},
            }));
        }
    }
    let index = json!({"schemaVersion": 2, "manifests": index}).to_string();
    add("index.json", index.as_bytes())?;
    tar.into_inner()
}

fn digest_of(data: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(data)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documents_layout_names_every_image_and_holds_no_layer() {
        let config = br#"{"rootfs":{"type":"layers","diff_ids":["sha256:aa"]}}"#.to_vec();
        let image = PlaceableImage {
            names: vec!["x.local/a:1".into(), "x.local/a:latest".into()],
            config_digest: digest_of(&config),
            config,
            layers: vec![PlainLayer {
                digest: format!("sha256:{}", "a".repeat(64)),
                offset: 512,
                size: 2048,
            }],
        };
        let layout = documents_layout(&[&image], &[&image.names]).unwrap();
        let mut tar = tar::Archive::new(&layout[..]);
        let mut files = std::collections::HashMap::new();
        for entry in tar.entries().unwrap() {
            let mut entry = entry.unwrap();
            let mut data = vec![];
            std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
            files.insert(entry.path().unwrap().display().to_string(), data);
        }
        assert_eq!(
            files.len(),
            4,
            "oci-layout, index, manifest, config: {:?}",
            files.keys()
        );
        let index: serde_json::Value = serde_json::from_slice(&files["index.json"]).unwrap();
        let names: Vec<_> = index["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                m["annotations"]["io.containerd.image.name"]
                    .as_str()
                    .unwrap()
            })
            .collect();
        assert_eq!(names, ["x.local/a:1", "x.local/a:latest"]);
        let manifest_digest = index["manifests"][0]["digest"].as_str().unwrap();
        let manifest: serde_json::Value =
            serde_json::from_slice(&files[&format!("blobs/sha256/{}", &manifest_digest[7..])])
                .unwrap();
        assert_eq!(manifest["config"]["digest"], digest_of(&image.config));
        assert!(files.contains_key(&format!("blobs/sha256/{}", &image.config_digest[7..])));
        assert_eq!(manifest["layers"][0]["digest"], image.layers[0].digest);
        assert_eq!(manifest["layers"][0]["mediaType"], OCI_PLAIN_LAYER);
        assert_eq!(manifest["layers"][0]["size"], 2048);
    }

    #[test]
    fn a_range_of_the_archive_becomes_a_read_only_blob() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("a.tar");
        std::fs::write(&archive, b"headerLAYERBYTEStrailer").unwrap();
        let blob = dir.path().join("blob");
        let source = File::open(&archive).unwrap();
        let mut open = copy_range(&source, 6, 10, dir.path(), &blob).unwrap();
        let mut read = vec![];
        std::io::Read::read_to_end(&mut open, &mut read).unwrap();
        assert_eq!(read, b"LAYERBYTES", "returned open, from its start");
        assert_eq!(std::fs::read(&blob).unwrap(), b"LAYERBYTES");
        assert_eq!(
            std::fs::metadata(&blob).unwrap().permissions().mode() & 0o777,
            0o444
        );
        let short = copy_range(&source, 20, 10, dir.path(), &dir.path().join("b"));
        assert!(short.is_err(), "a short archive fails");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 2, "no partial file is left");
    }
}
