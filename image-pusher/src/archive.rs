//! Image archives as they arrive for a push: docker-archive (`docker save`, `image-pusher build`) or
//! an OCI image layout, plain or gzip-compressed. A push needs two things from one: the names and
//! config digests it holds (to skip a node that already has them; read from the small JSON files
//! only), and proof that every blob is intact before any node sees a byte (one hashing pass).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::image::normalize_name;
use kns_plumbing::hex::encode as hex;

/// One image inside an archive.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchivedImage {
    /// Names as containerd stores them (`docker.io/library/busybox:latest`).
    pub names: Vec<String>,
    /// `sha256:<hex>` of the image config: the image ID kubelet and `crictl images` show.
    pub config_digest: String,
}

/// An archive on the host, indexed but not yet verified.
#[derive(Debug)]
pub struct Archive {
    /// How messages name it: the file the user named, or `docker image REF` for a saved image.
    pub label: String,
    /// The plain tar to stream: the file itself, or a temporary one (a decompressed gzip archive,
    /// a `docker save`).
    plain: PathBuf,
    /// Keeps a temporary plain tar alive; removed on drop.
    _temporary: Option<tempfile::TempPath>,
    pub images: Vec<ArchivedImage>,
    /// Size of the plain tar: the bytes each node receives.
    pub bytes: u64,
    /// Regular files: path inside the tar → (offset of the data, size).
    entries: HashMap<String, (u64, u64)>,
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Manifests, indexes and configs are small; anything bigger named as one is not one.
const MAX_JSON: u64 = 16 << 20;

impl Archive {
    /// Indexes `path`: reads tar headers and the JSON documents, not the layers.
    pub fn open(path: &Path) -> Result<Self> {
        let label = path.display().to_string();
        let mut file = File::open(path).map_err(|e| Error::io("open archive", path, e))?;
        let mut magic = [0u8; 2];
        let is_gzip = file.read_exact(&mut magic).is_ok() && magic == GZIP_MAGIC;
        if is_gzip {
            let plain = decompress(path, &label)?;
            Self::index(plain.to_path_buf(), Some(plain), label)
        } else {
            Self::index(path.to_owned(), None, label)
        }
    }

    /// Indexes a temporary plain tar (a `docker save`), which is removed with the archive.
    pub fn open_temporary(file: tempfile::TempPath, label: &str) -> Result<Self> {
        Self::index(file.to_path_buf(), Some(file), label.to_owned())
    }

    fn index(plain: PathBuf, temporary: Option<tempfile::TempPath>, label: String) -> Result<Self> {
        let corrupt = |what: String| Error::CorruptArchive {
            archive: label.clone(),
            what,
        };
        let entries =
            index_entries(&plain).map_err(|e| corrupt(format!("not a tar file ({e})")))?;
        let bytes = std::fs::metadata(&plain)
            .map_err(|e| Error::io("stat", &plain, e))?
            .len();
        let mut archive = Archive {
            label: label.clone(),
            plain,
            _temporary: temporary,
            images: vec![],
            bytes,
            entries,
        };
        archive.images = if archive.entries.contains_key("manifest.json") {
            archive.docker_images()
        } else if archive.entries.contains_key("index.json") {
            archive.oci_images()
        } else {
            Err(corrupt(
                "neither manifest.json (docker-archive) nor index.json (OCI layout) in it".into(),
            ))
        }?;
        if archive.images.is_empty() {
            return Err(corrupt("it holds no image".into()));
        }
        Ok(archive)
    }

    /// The plain tar to stream into nodes.
    pub fn plain_path(&self) -> &Path {
        &self.plain
    }

    /// Whether it carries a docker-archive manifest.json (`docker save`, `image-pusher build`).
    pub fn has_docker_manifest(&self) -> bool {
        self.entries.contains_key("manifest.json")
    }

    fn corrupt(&self, what: impl Into<String>) -> Error {
        Error::CorruptArchive {
            archive: self.label.clone(),
            what: what.into(),
        }
    }

    fn read_entry(&self, name: &str) -> Result<Vec<u8>> {
        let &(offset, size) = self
            .entries
            .get(name)
            .ok_or_else(|| self.corrupt(format!("{name} is missing")))?;
        if size > MAX_JSON {
            return Err(self.corrupt(format!(
                "{name} is {size} bytes, too big for a JSON document"
            )));
        }
        let mut file = File::open(&self.plain).map_err(|e| Error::io("open", &self.plain, e))?;
        let mut data = vec![0; size as usize];
        file.seek(SeekFrom::Start(offset))
            .and_then(|_| file.read_exact(&mut data))
            .map_err(|e| Error::io("read archive", &self.plain, e))?;
        Ok(data)
    }

    fn read_json(&self, name: &str) -> Result<Value> {
        serde_json::from_slice(&self.read_entry(name)?)
            .map_err(|e| self.corrupt(format!("{name} is not JSON: {e}")))
    }

    fn docker_images(&self) -> Result<Vec<ArchivedImage>> {
        let manifest = self.read_json("manifest.json")?;
        let items = manifest
            .as_array()
            .ok_or_else(|| self.corrupt("manifest.json is not a list"))?;
        items
            .iter()
            .map(|item| {
                let config = item["Config"]
                    .as_str()
                    .ok_or_else(|| self.corrupt("a manifest.json item has no Config"))?;
                let digest = format!("sha256:{}", hex(&Sha256::digest(self.read_entry(config)?)));
                let names = item["RepoTags"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(normalize_name)
                    .collect();
                Ok(ArchivedImage {
                    names,
                    config_digest: digest,
                })
            })
            .collect()
    }

    fn oci_images(&self) -> Result<Vec<ArchivedImage>> {
        let index = self.read_json("index.json")?;
        let mut images = vec![];
        for descriptor in index["manifests"].as_array().into_iter().flatten() {
            let annotations = &descriptor["annotations"];
            // What ctr import names the image: containerd's own annotation, else the OCI ref name.
            let name = annotations["io.containerd.image.name"]
                .as_str()
                .or_else(|| annotations["org.opencontainers.image.ref.name"].as_str());
            let manifest = self.read_json(
                &blob_path(descriptor["digest"].as_str()).map_err(|e| self.corrupt(e))?,
            )?;
            let manifest = if manifest["manifests"].is_array() {
                // An index inside the index (multi-platform): the manifest for this machine.
                let chosen = manifest["manifests"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|m| {
                        m["platform"]["os"] == "linux"
                            && m["platform"]["architecture"] == crate::image::go_arch()
                    })
                    .ok_or_else(|| {
                        self.corrupt(format!("no linux/{} manifest", crate::image::go_arch()))
                    })?;
                self.read_json(&blob_path(chosen["digest"].as_str()).map_err(|e| self.corrupt(e))?)?
            } else {
                manifest
            };
            let config_digest = manifest["config"]["digest"]
                .as_str()
                .ok_or_else(|| self.corrupt("a manifest has no config digest"))?
                .to_owned();
            images.push(ArchivedImage {
                names: name.map(normalize_name).into_iter().collect(),
                config_digest,
            });
        }
        Ok(images)
    }

    /// Reads every byte once and checks each blob against its digest: `blobs/sha256/<hex>` files
    /// against their names, docker-archive configs against their names and layers against the
    /// config's diff IDs. Nothing reaches a node from an archive that fails this.
    pub fn verify(&self) -> Result<()> {
        let file = File::open(&self.plain).map_err(|e| Error::io("open", &self.plain, e))?;
        let mut tar = tar::Archive::new(BufReader::with_capacity(1 << 20, file));
        let mut digests: HashMap<String, String> = HashMap::new();
        let entries = tar
            .entries()
            .map_err(|e| self.corrupt(format!("unreadable: {e}")))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| self.corrupt(format!("unreadable: {e}")))?;
            if entry.header().entry_type() != tar::EntryType::Regular {
                continue;
            }
            let name = entry_name(&entry).map_err(|e| self.corrupt(e.to_string()))?;
            let mut hasher = Sha256::new();
            std::io::copy(&mut entry, &mut hasher)
                .map_err(|e| self.corrupt(format!("{name} is truncated: {e}")))?;
            digests.insert(name, format!("sha256:{}", hex(&hasher.finalize())));
        }
        for (name, digest) in &digests {
            if let Some(expected) = name.strip_prefix("blobs/sha256/") {
                if digest[7..] != *expected {
                    return Err(self.corrupt(format!("{name} does not match its digest")));
                }
            }
        }
        if self.entries.contains_key("manifest.json") {
            for item in self
                .read_json("manifest.json")?
                .as_array()
                .into_iter()
                .flatten()
            {
                let config_name = item["Config"].as_str().unwrap_or_default();
                let config: Value = serde_json::from_slice(&self.read_entry(config_name)?)
                    .map_err(|e| self.corrupt(format!("{config_name} is not JSON: {e}")))?;
                let diff_ids = config["rootfs"]["diff_ids"].as_array();
                let layers = item["Layers"].as_array();
                let (Some(diff_ids), Some(layers)) = (diff_ids, layers) else {
                    return Err(self.corrupt(format!("{config_name}: no layers")));
                };
                if diff_ids.len() != layers.len() {
                    return Err(self.corrupt(format!(
                        "{config_name} lists {} layers, manifest.json {}",
                        diff_ids.len(),
                        layers.len()
                    )));
                }
                for (layer, diff_id) in layers.iter().zip(diff_ids) {
                    let layer = layer.as_str().unwrap_or_default();
                    let digest = digests
                        .get(layer)
                        .ok_or_else(|| self.corrupt(format!("layer {layer} is missing")))?;
                    // A compressed blob's digest differs from its diff ID; its name was checked.
                    if !layer.starts_with("blobs/") && Some(digest.as_str()) != diff_id.as_str() {
                        return Err(
                            self.corrupt(format!("layer {layer} does not match its diff ID"))
                        );
                    }
                }
            }
        }
        Ok(())
    }
}

/// A docker-archive layer that can go into a content store as it lies in the archive: a plain
/// (uncompressed) tar, stored whole, so its digest is its diff ID.
#[derive(Debug, Clone, PartialEq)]
pub struct PlainLayer {
    /// `sha256:<hex>`, the config's diff ID for it: trusted here, checked by the node's unpack.
    pub digest: String,
    /// Where its bytes start in the plain tar, and how many.
    pub offset: u64,
    pub size: u64,
}

/// An image of a docker-archive whose layers are all [`PlainLayer`]s.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaceableImage {
    pub names: Vec<String>,
    /// The image config as the archive holds it, and its digest (the image ID).
    pub config: Vec<u8>,
    pub config_digest: String,
    pub layers: Vec<PlainLayer>,
}

impl Archive {
    /// The images, if every one is named and every layer is a plain tar stored whole (what
    /// `image-pusher build` and `docker save` write); `None` otherwise (OCI layouts, compressed
    /// layers, untagged images), which are streamed.
    pub fn placeable_images(&self) -> Option<Vec<PlaceableImage>> {
        let manifest = self.read_json("manifest.json").ok()?;
        let mut file = File::open(&self.plain).ok()?;
        let mut images = vec![];
        for (item, archived) in manifest.as_array()?.iter().zip(&self.images) {
            if archived.names.is_empty() {
                return None;
            }
            let config = self.read_entry(item["Config"].as_str()?).ok()?;
            let diff_ids: Value = serde_json::from_slice(&config).ok()?;
            let diff_ids = diff_ids["rootfs"]["diff_ids"].as_array()?;
            let layers = item["Layers"].as_array()?;
            if layers.len() != diff_ids.len() {
                return None;
            }
            let mut plain = vec![];
            for (layer, diff_id) in layers.iter().zip(diff_ids) {
                let &(offset, size) = self.entries.get(layer.as_str()?)?;
                let digest = diff_id.as_str()?;
                blob_path(Some(digest)).ok()?;
                if !is_plain_tar(&mut file, offset, size) {
                    return None;
                }
                plain.push(PlainLayer {
                    digest: digest.to_owned(),
                    offset,
                    size,
                });
            }
            images.push(PlaceableImage {
                names: archived.names.clone(),
                config,
                config_digest: archived.config_digest.clone(),
                layers: plain,
            });
        }
        (images.len() == self.images.len()).then_some(images)
    }
}

/// Whether the entry at `offset` starts with a POSIX tar header (`ustar` at byte 257), not with
/// gzip or zstd.
fn is_plain_tar(file: &mut File, offset: u64, size: u64) -> bool {
    let mut header = [0u8; 512];
    size >= 512
        && file.seek(SeekFrom::Start(offset)).is_ok()
        && file.read_exact(&mut header).is_ok()
        && &header[257..262] == b"ustar"
}

/// The blob a descriptor's digest names, or what is wrong with the digest.
fn blob_path(digest: Option<&str>) -> std::result::Result<String, String> {
    let Some(digest) = digest else {
        return Err("a descriptor without a digest".into());
    };
    digest
        .strip_prefix("sha256:")
        .filter(|h| h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit()))
        .map(|hex| format!("blobs/sha256/{hex}"))
        .ok_or_else(|| format!("\"{digest}\" is not a sha256 digest"))
}

fn entry_name<R: Read>(entry: &tar::Entry<R>) -> std::io::Result<String> {
    let path = entry.path()?;
    let name = path.to_string_lossy();
    Ok(name.trim_start_matches("./").to_owned())
}

/// Regular files of a plain tar with where their data starts, reading headers only (seeking
/// over the data).
fn index_entries(path: &Path) -> std::io::Result<HashMap<String, (u64, u64)>> {
    let file = File::open(path)?;
    let mut tar = tar::Archive::new(file);
    let mut entries = HashMap::new();
    for entry in tar.entries_with_seek()? {
        let entry = entry?;
        if entry.header().entry_type() == tar::EntryType::Regular {
            entries.insert(
                entry_name(&entry)?,
                (entry.raw_file_position(), entry.size()),
            );
        }
    }
    if entries.is_empty() {
        return Err(std::io::Error::other("no files"));
    }
    Ok(entries)
}

/// A gzip archive decompressed into a temporary file (containerd imports plain tar).
fn decompress(path: &Path, label: &str) -> Result<tempfile::TempPath> {
    let source = File::open(path).map_err(|e| Error::io("open archive", path, e))?;
    let mut target = tempfile::Builder::new()
        .prefix("image-pusher-")
        .suffix(".tar")
        .tempfile()
        .map_err(|e| Error::io("create a temporary file for", path, e))?;
    let mut gz = flate2::read::GzDecoder::new(BufReader::with_capacity(1 << 20, source));
    std::io::copy(&mut gz, target.as_file_mut()).map_err(|e| Error::CorruptArchive {
        archive: label.to_owned(),
        what: format!("gzip data is damaged: {e}"),
    })?;
    Ok(target.into_temp_path())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{Format, Image, ImageRef, RunConfig};
    use crate::layer::{from_binaries, BinarySpec};

    fn write_image(dir: &Path, format: Format, name: &str) -> (PathBuf, Image) {
        std::fs::write(dir.join("tool"), b"\x7fELF tool").unwrap();
        let layer =
            from_binaries(&[BinarySpec::parse(dir.join("tool").to_str().unwrap()).unwrap()])
                .unwrap();
        let image = Image::new(
            ImageRef::parse(name).unwrap(),
            &RunConfig::default(),
            vec![layer],
        );
        let path = dir.join(format!("{format:?}.tar"));
        std::fs::write(&path, image.archive(format).unwrap()).unwrap();
        (path, image)
    }

    #[test]
    fn reads_names_and_config_digests_of_both_formats() {
        let dir = tempfile::tempdir().unwrap();
        for format in [Format::DockerArchive, Format::Oci] {
            let (path, image) = write_image(dir.path(), format, "busybox:1");
            let archive = Archive::open(&path).unwrap();
            assert_eq!(
                archive.images,
                vec![ArchivedImage {
                    names: vec!["docker.io/library/busybox:1".into()],
                    config_digest: image.config_digest.clone(),
                }]
            );
            archive.verify().unwrap();
        }
    }

    #[test]
    fn docker_archive_layers_are_placeable_where_they_lie() {
        let dir = tempfile::tempdir().unwrap();
        let (path, image) = write_image(dir.path(), Format::DockerArchive, "x.local/p:1");
        let archive = Archive::open(&path).unwrap();
        let images = archive.placeable_images().unwrap();
        assert_eq!(images.len(), 1);
        assert_eq!(images[0].names, ["x.local/p:1"]);
        assert_eq!(
            format!("sha256:{}", hex(&Sha256::digest(&images[0].config))),
            image.config_digest
        );
        assert_eq!(images[0].config_digest, image.config_digest);
        let layer = &images[0].layers[0];
        let bytes = std::fs::read(&path).unwrap();
        let data = &bytes[layer.offset as usize..(layer.offset + layer.size) as usize];
        assert_eq!(
            layer.digest,
            format!("sha256:{}", hex(&Sha256::digest(data)))
        );
        // image-pusher's OCI layouts carry a manifest.json too: the same layer, as a blob.
        let (oci, _) = write_image(dir.path(), Format::Oci, "x.local/p:1");
        let oci = Archive::open(&oci).unwrap().placeable_images().unwrap();
        assert_eq!(oci[0].layers[0].digest, layer.digest);
    }

    #[test]
    fn gzip_archives_are_decompressed() {
        let dir = tempfile::tempdir().unwrap();
        let (path, image) = write_image(dir.path(), Format::DockerArchive, "x.local/t:2");
        let gz = dir.path().join("t.tar.gz");
        let mut encoder =
            flate2::write::GzEncoder::new(File::create(&gz).unwrap(), Default::default());
        std::io::copy(&mut File::open(&path).unwrap(), &mut encoder).unwrap();
        encoder.finish().unwrap();
        let archive = Archive::open(&gz).unwrap();
        assert_eq!(archive.images[0].config_digest, image.config_digest);
        assert_eq!(archive.bytes, std::fs::metadata(&path).unwrap().len());
        archive.verify().unwrap();
    }

    #[test]
    fn a_changed_layer_byte_fails_verification() {
        let dir = tempfile::tempdir().unwrap();
        for format in [Format::DockerArchive, Format::Oci] {
            let (path, _) = write_image(dir.path(), format, "x.local/t:3");
            let mut bytes = std::fs::read(&path).unwrap();
            // The layer's file content sits in the middle of the archive: flip a byte of "tool".
            let at = bytes.windows(9).position(|w| w == b"\x7fELF tool").unwrap();
            bytes[at + 5] = b'T';
            std::fs::write(&path, &bytes).unwrap();
            let archive = Archive::open(&path).unwrap();
            let err = archive.verify().unwrap_err().to_string();
            assert!(err.contains("does not match"), "{format:?}: {err}");
        }
    }

    #[test]
    fn truncated_and_foreign_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = write_image(dir.path(), Format::DockerArchive, "x.local/t:4");
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let err = Archive::open(&path)
            .and_then(|a| a.verify())
            .unwrap_err()
            .to_string();
        assert!(err.contains("archive"), "{err}");
        let text = dir.path().join("notes.txt");
        std::fs::write(&text, "hello").unwrap();
        assert!(Archive::open(&text).is_err());
    }
}
