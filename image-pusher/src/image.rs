//! Writing image archives: synthesized from layers: docker-archive (what `docker save` writes; `ctr images
//! import` and `docker load` read it) or an OCI image layout. Every byte is deterministic: sorted
//! JSON keys, fixed timestamps, entries in a fixed order.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::layer::Layer;
pub use crate::reference::{normalize_name, ImageRef};
use kns_plumbing::hex::encode as hex;

/// The timestamp every image and history entry carries.
const EPOCH: &str = "1970-01-01T00:00:00Z";
const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    DockerArchive,
    Oci,
}

/// What the image runs.
#[derive(Debug, Clone, Default)]
pub struct RunConfig {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
}

/// An image ready to be written: config JSON and its layers (bottom first).
pub struct Image {
    pub reference: ImageRef,
    pub config: Vec<u8>,
    pub config_digest: String,
    pub layers: Vec<Layer>,
}

impl Image {
    pub fn new(reference: ImageRef, run: &RunConfig, layers: Vec<Layer>) -> Self {
        let mut env = vec![DEFAULT_PATH.to_owned()];
        env.extend(run.env.iter().filter(|e| !e.starts_with("PATH=")).cloned());
        if let Some(path) = run.env.iter().find(|e| e.starts_with("PATH=")) {
            env[0] = path.clone();
        }
        let mut container = json!({"Env": env});
        if !run.entrypoint.is_empty() {
            container["Entrypoint"] = json!(run.entrypoint);
        }
        if !run.cmd.is_empty() {
            container["Cmd"] = json!(run.cmd);
        }
        let config = json!({
            "architecture": go_arch(),
            "os": "linux",
            "created": EPOCH,
            "config": container,
            "rootfs": {"type": "layers", "diff_ids": layers.iter().map(|l| l.digest.clone()).collect::<Vec<_>>()},
            "history": layers.iter().map(|l| json!({"created": EPOCH, "created_by": format!("image-pusher layer {}", &l.hex()[..12])})).collect::<Vec<_>>(),
        });
        let config = serde_json::to_vec(&config).unwrap_or_default();
        let config_digest = format!("sha256:{}", hex(&Sha256::digest(&config)));
        Image {
            reference,
            config,
            config_digest,
            layers,
        }
    }

    /// The archive's bytes in `format`.
    pub fn archive(&self, format: Format) -> Result<Vec<u8>> {
        let mut files: Vec<(String, Vec<u8>)> = vec![];
        let config_hex = self.config_digest.trim_start_matches("sha256:").to_owned();
        match format {
            Format::DockerArchive => {
                for layer in &self.layers {
                    files.push((format!("{}/layer.tar", layer.hex()), layer.tar.clone()));
                }
                files.push((format!("{config_hex}.json"), self.config.clone()));
                files.push(
                    self.docker_manifest(
                        format!("{config_hex}.json"),
                        self.layers
                            .iter()
                            .map(|l| format!("{}/layer.tar", l.hex()))
                            .collect(),
                    ),
                );
            }
            Format::Oci => {
                let manifest = json!({
                    "schemaVersion": 2,
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": self.config_digest, "size": self.config.len()},
                    "layers": self.layers.iter().map(|l| json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": l.digest, "size": l.tar.len()})).collect::<Vec<_>>(),
                });
                let manifest = serde_json::to_vec(&manifest).unwrap_or_default();
                let manifest_digest = format!("sha256:{}", hex(&Sha256::digest(&manifest)));
                let index = json!({
                    "schemaVersion": 2,
                    "manifests": [{
                        "mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "digest": manifest_digest,
                        "size": manifest.len(),
                        "annotations": {
                            "io.containerd.image.name": self.reference.full(),
                            "org.opencontainers.image.ref.name": self.reference.tag,
                        },
                    }],
                });
                files.push((
                    "oci-layout".into(),
                    br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
                ));
                files.push((
                    "index.json".into(),
                    serde_json::to_vec(&index).unwrap_or_default(),
                ));
                files.push((format!("blobs/sha256/{config_hex}"), self.config.clone()));
                files.push((
                    format!(
                        "blobs/sha256/{}",
                        manifest_digest.trim_start_matches("sha256:")
                    ),
                    manifest,
                ));
                for layer in &self.layers {
                    files.push((format!("blobs/sha256/{}", layer.hex()), layer.tar.clone()));
                }
                // A docker manifest.json over the same blobs, as `docker save` writes since Docker
                // 25: Docker before 25 loads only that, and containerd reads index.json whenever
                // oci-layout is present.
                files.push(
                    self.docker_manifest(
                        format!("blobs/sha256/{config_hex}"),
                        self.layers
                            .iter()
                            .map(|l| format!("blobs/sha256/{}", l.hex()))
                            .collect(),
                    ),
                );
            }
        }
        files.sort_by(|a, b| a.0.cmp(&b.0));
        files.dedup_by(|a, b| a.0 == b.0);
        write_tar(&files)
    }

    /// The `manifest.json` entry of a docker-archive whose config and layers sit at these paths.
    fn docker_manifest(&self, config: String, layers: Vec<String>) -> (String, Vec<u8>) {
        let manifest = json!([{
            "Config": config,
            "RepoTags": [self.reference.full()],
            "Layers": layers,
        }]);
        (
            "manifest.json".into(),
            serde_json::to_vec(&manifest).unwrap_or_default(),
        )
    }

    /// The JSON line `build` prints.
    pub fn summary(&self, format: Format, output: &str, bytes: usize) -> Value {
        json!({
            "name": self.reference.full(),
            "format": match format { Format::DockerArchive => "docker-archive", Format::Oci => "oci" },
            "output": output,
            "configDigest": self.config_digest,
            "layers": self.layers.iter().map(|l| l.digest.clone()).collect::<Vec<_>>(),
            "bytes": bytes,
        })
    }
}

/// Docker's and OCI's name for this machine's architecture.
/// The architecture in Go's spelling, as image configs and platforms use it.
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// Writes `bytes` to `path` whole (temp file, fsync, rename): a reader never sees half a file.
pub fn write_atomically(path: &std::path::Path, bytes: &[u8], mode: u32) -> Result<()> {
    kns_plumbing::atomic_file::write(path, bytes, mode).map_err(|e| Error::io("write", path, e))
}

/// A tar of the given files (and the directories above them), with fixed owners and mtimes.
fn write_tar(files: &[(String, Vec<u8>)]) -> Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut dirs_done: Vec<String> = vec![];
    for (path, bytes) in files {
        if let Some((dir, _)) = path.rsplit_once('/') {
            let mut prefix = String::new();
            for part in dir.split('/') {
                prefix.push_str(part);
                prefix.push('/');
                if !dirs_done.contains(&prefix) {
                    let mut h = fixed_header(tar::EntryType::Directory, 0o755, 0);
                    builder
                        .append_data(&mut h, &prefix, std::io::empty())
                        .map_err(|e| Error::io("write archive", &prefix, e))?;
                    dirs_done.push(prefix.clone());
                }
            }
        }
        let mut h = fixed_header(tar::EntryType::Regular, 0o644, bytes.len() as u64);
        builder
            .append_data(&mut h, path, bytes.as_slice())
            .map_err(|e| Error::io("write archive", path, e))?;
    }
    let mut archive = builder
        .into_inner()
        .map_err(|e| Error::io("write archive", "", e))?;
    // Zero-padded to whole 10 KiB records, as tar(1) writes: GNU tar's in-place edits
    // (`tar --delete`) lose entries of an archive that ends mid-record.
    archive.resize(archive.len().next_multiple_of(TAR_RECORD), 0);
    Ok(archive)
}

/// tar(1)'s default record: 20 blocks of 512 bytes.
const TAR_RECORD: usize = 10240;

fn fixed_header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_size(size);
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files_of(archive: &[u8]) -> Vec<(String, Vec<u8>)> {
        let mut a = tar::Archive::new(archive);
        a.entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let mut bytes = vec![];
                e.read_to_end(&mut bytes).unwrap();
                (e.path().unwrap().to_string_lossy().into_owned(), bytes)
            })
            .collect()
    }

    /// The bytes of `name` in an archive's file list; panics naming it when missing.
    fn file(files: &[(String, Vec<u8>)], name: &str) -> Vec<u8> {
        files
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.clone())
            .unwrap_or_else(|| panic!("{name} missing"))
    }
    use crate::layer::{from_binaries, BinarySpec};
    use std::io::Read;

    fn image(dir: &std::path::Path) -> Image {
        std::fs::write(dir.join("pause"), b"\x7fELF pause").unwrap();
        let layer =
            from_binaries(&[
                BinarySpec::parse(&format!("{}:/pause", dir.join("pause").display())).unwrap(),
            ])
            .unwrap();
        let run = RunConfig {
            entrypoint: vec!["/pause".into()],
            ..Default::default()
        };
        Image::new(
            ImageRef::parse("kubeadm-nspawn.local/pause:3.9").unwrap(),
            &run,
            vec![layer],
        )
    }

    #[test]
    fn references() {
        assert_eq!(ImageRef::parse("busybox").unwrap().full(), "busybox:latest");
        assert_eq!(
            ImageRef::parse("localhost:5000/x/y").unwrap().full(),
            "localhost:5000/x/y:latest"
        );
        assert_eq!(
            ImageRef::parse("kubeadm-nspawn.local/etcd:3.5.9-0")
                .unwrap()
                .tag,
            "3.5.9-0"
        );
        for bad in ["", "UPPER", "a b", "x:", "/x", "x:t/a/"] {
            assert!(ImageRef::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn docker_archive_layout() {
        let dir = tempfile::tempdir().unwrap();
        let img = image(dir.path());
        let files = files_of(&img.archive(Format::DockerArchive).unwrap());
        let get = |name: &str| file(&files, name);
        let manifest: Value = serde_json::from_slice(&get("manifest.json")).unwrap();
        assert_eq!(manifest[0]["RepoTags"][0], "kubeadm-nspawn.local/pause:3.9");
        let config_file = manifest[0]["Config"].as_str().unwrap();
        let config_bytes = get(config_file);
        // The config file is named after its own digest, and the layer after its diff ID.
        assert_eq!(
            format!("{}.json", hex(&Sha256::digest(&config_bytes))),
            config_file
        );
        let config: Value = serde_json::from_slice(&config_bytes).unwrap();
        let layer_path = manifest[0]["Layers"][0].as_str().unwrap();
        let layer = get(layer_path);
        assert_eq!(
            config["rootfs"]["diff_ids"][0],
            format!("sha256:{}", hex(&Sha256::digest(&layer)))
        );
        assert_eq!(config["config"]["Entrypoint"], json!(["/pause"]));
        assert_eq!(config["architecture"], "amd64");
        assert!(config["config"]["Env"][0]
            .as_str()
            .unwrap()
            .starts_with("PATH="));
    }

    #[test]
    fn oci_layout() {
        let dir = tempfile::tempdir().unwrap();
        let img = image(dir.path());
        let files = files_of(&img.archive(Format::Oci).unwrap());
        let get = |name: &str| file(&files, name);
        let index: Value = serde_json::from_slice(&get("index.json")).unwrap();
        assert_eq!(
            index["manifests"][0]["annotations"]["io.containerd.image.name"],
            "kubeadm-nspawn.local/pause:3.9"
        );
        let manifest_digest = index["manifests"][0]["digest"].as_str().unwrap();
        let manifest: Value =
            serde_json::from_slice(&get(&format!("blobs/sha256/{}", &manifest_digest[7..])))
                .unwrap();
        assert_eq!(manifest["config"]["digest"], img.config_digest);
        let layer_digest = manifest["layers"][0]["digest"].as_str().unwrap();
        let layer = get(&format!("blobs/sha256/{}", &layer_digest[7..]));
        assert_eq!(
            format!("sha256:{}", hex(&Sha256::digest(&layer))),
            layer_digest
        );
        assert!(!get("oci-layout").is_empty());
        // The docker manifest.json names the same blobs.
        let docker: Value = serde_json::from_slice(&get("manifest.json")).unwrap();
        assert_eq!(
            docker[0]["Config"],
            format!("blobs/sha256/{}", &img.config_digest[7..])
        );
        assert_eq!(
            docker[0]["Layers"][0],
            format!("blobs/sha256/{}", &layer_digest[7..])
        );
        assert_eq!(docker[0]["RepoTags"][0], "kubeadm-nspawn.local/pause:3.9");
    }

    #[test]
    fn archives_end_on_a_whole_tar_record() {
        let dir = tempfile::tempdir().unwrap();
        for format in [Format::DockerArchive, Format::Oci] {
            let bytes = image(dir.path()).archive(format).unwrap();
            assert_eq!(bytes.len() % TAR_RECORD, 0);
        }
    }

    #[test]
    fn building_twice_gives_the_same_bytes() {
        let dir = tempfile::tempdir().unwrap();
        for format in [Format::DockerArchive, Format::Oci] {
            let one = image(dir.path()).archive(format).unwrap();
            let two = image(dir.path()).archive(format).unwrap();
            assert_eq!(one, two);
        }
    }
}
