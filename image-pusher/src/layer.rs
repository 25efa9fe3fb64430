//! Deterministic image layers: the same input files give the same tar bytes, so the same digest, so
//! containerd stores a shared layer once. Entries are sorted, owned by root, with a fixed mtime.

use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use kns_plumbing::hex::encode as hex;

/// A finished layer: its uncompressed tar and its sha256 (the diff ID and, uncompressed, the blob
/// digest).
#[derive(Debug, Clone)]
pub struct Layer {
    pub tar: Vec<u8>,
    pub digest: String,
}

impl Layer {
    fn new(tar: Vec<u8>) -> Self {
        let digest = format!("sha256:{}", hex(&Sha256::digest(&tar)));
        Layer { tar, digest }
    }

    pub fn hex(&self) -> &str {
        self.digest.trim_start_matches("sha256:")
    }
}

/// A file to put into an image: host `source`, in-image absolute `dest`.
#[derive(Debug, Clone, PartialEq)]
pub struct BinarySpec {
    pub source: PathBuf,
    pub dest: String,
}

impl BinarySpec {
    /// `PATH[:DEST]`; DEST defaults to `/usr/local/bin/<file name>` and must stay inside the image.
    pub fn parse(spec: &str) -> Result<Self> {
        let (source, dest) = match spec.split_once(':') {
            Some((s, d)) => (s, d.to_owned()),
            None => {
                let name = Path::new(spec).file_name().ok_or_else(|| {
                    Error::InvalidArgument(format!("--binary \"{spec}\": no file name"))
                })?;
                (spec, format!("/usr/local/bin/{}", name.to_string_lossy()))
            }
        };
        let inside = dest.starts_with('/')
            && Path::new(&dest)
                .components()
                .all(|c| matches!(c, Component::RootDir | Component::Normal(_)))
            && dest.len() > 1;
        if !inside {
            return Err(Error::InvalidArgument(format!(
                "--binary \"{spec}\": the destination \"{dest}\" must be an absolute path inside the image, without '..'"
            )));
        }
        Ok(BinarySpec {
            source: source.into(),
            dest,
        })
    }
}

/// Seconds since the epoch of every entry: fixed, so rebuilds are byte-identical.
const MTIME: u64 = 0;

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(MTIME);
    h.set_size(size);
    h
}

/// A layer holding the given binaries (mode 0755) and the directories above them.
pub fn from_binaries(binaries: &[BinarySpec]) -> Result<Layer> {
    let mut files = vec![];
    for b in binaries {
        if !b.source.is_file() {
            return Err(Error::InvalidArgument(format!(
                "--binary \"{}\": no such file",
                b.source.display()
            )));
        }
        let bytes = std::fs::read(&b.source).map_err(|e| Error::io("read", &b.source, e))?;
        files.push((b.dest.as_str(), bytes));
    }
    from_executables(&files)
}

/// A layer holding one executable at `dest` made from bytes in memory (the embedded pause).
pub fn from_bytes(dest: &str, bytes: &[u8]) -> Result<Layer> {
    from_executables(&[(dest, bytes.to_vec())])
}

/// Executables (mode 0755) at absolute in-image paths, with the directories above them.
fn from_executables(files: &[(&str, Vec<u8>)]) -> Result<Layer> {
    let mut entries: Vec<(String, Option<&[u8]>)> = vec![];
    for (dest, bytes) in files {
        let rel = dest.trim_start_matches('/');
        let mut dir = String::new();
        for part in Path::new(rel)
            .parent()
            .into_iter()
            .flat_map(|p| p.components())
        {
            dir.push_str(&part.as_os_str().to_string_lossy());
            dir.push('/');
            entries.push((dir.clone(), None));
        }
        entries.push((rel.to_owned(), Some(bytes.as_slice())));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries.dedup_by(|a, b| a.0 == b.0);
    let mut builder = tar::Builder::new(Vec::new());
    for (path, bytes) in entries {
        match bytes {
            None => {
                let mut h = header(tar::EntryType::Directory, 0o755, 0);
                builder.append_data(&mut h, &path, std::io::empty())
            }
            Some(bytes) => {
                let mut h = header(tar::EntryType::Regular, 0o755, bytes.len() as u64);
                builder.append_data(&mut h, &path, bytes)
            }
        }
        .map_err(|e| Error::io("add to layer", &path, e))?;
    }
    let tar = builder
        .into_inner()
        .map_err(|e| Error::io("finish layer", "", e))?;
    Ok(Layer::new(tar))
}

/// A layer made from a directory tree (e.g. a node base rootfs for dynamically linked binaries):
/// regular files, directories and symlinks, sorted, modes kept, owners and mtimes fixed.
pub fn from_directory(root: &Path) -> Result<Layer> {
    if !root.is_dir() {
        return Err(Error::InvalidArgument(format!(
            "--base {}: not a directory",
            root.display()
        )));
    }
    let mut paths = vec![];
    collect(root, root, &mut paths)?;
    paths.sort();
    let mut builder = tar::Builder::new(Vec::new());
    for rel in paths {
        let full = root.join(&rel);
        let meta = full
            .symlink_metadata()
            .map_err(|e| Error::io("stat", &full, e))?;
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o7777;
        let name = rel.to_string_lossy().into_owned();
        let added = if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&full).map_err(|e| Error::io("read link", &full, e))?;
            let mut h = header(tar::EntryType::Symlink, 0o777, 0);
            builder.append_link(&mut h, &name, &target)
        } else if meta.is_dir() {
            let mut h = header(tar::EntryType::Directory, mode, 0);
            builder.append_data(&mut h, format!("{name}/"), std::io::empty())
        } else if meta.is_file() {
            let file = std::fs::File::open(&full).map_err(|e| Error::io("open", &full, e))?;
            let mut h = header(tar::EntryType::Regular, mode, meta.len());
            builder.append_data(&mut h, &name, file)
        } else {
            continue; // devices, sockets, fifos: nothing an image layer needs
        };
        added.map_err(|e| Error::io("add to layer", &full, e))?;
    }
    let tar = builder
        .into_inner()
        .map_err(|e| Error::io("finish layer", root, e))?;
    Ok(Layer::new(tar))
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("read directory", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("read directory", dir, e))?;
        let path = entry.path();
        out.push(path.strip_prefix(root).unwrap_or(&path).to_path_buf());
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            collect(root, &path, out)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_specs_default_to_usr_local_bin_and_stay_inside() {
        assert_eq!(
            BinarySpec::parse("/x/etcd").unwrap().dest,
            "/usr/local/bin/etcd"
        );
        assert_eq!(BinarySpec::parse("/x/pause:/pause").unwrap().dest, "/pause");
        for bad in [
            "/x/a:../../etc/passwd",
            "/x/a:/usr/../../etc",
            "/x/a:relative",
            "/x/a:/",
        ] {
            let err = BinarySpec::parse(bad).unwrap_err().to_string();
            assert!(err.contains("inside the image"), "{bad}: {err}");
        }
    }

    #[test]
    fn binary_layers_are_deterministic_and_hold_parents() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::write(&a, b"AAAA").unwrap();
        std::fs::write(&b, b"BB").unwrap();
        let specs = vec![
            BinarySpec::parse(&format!("{}:/usr/local/bin/a", a.display())).unwrap(),
            BinarySpec::parse(&format!("{}:/b", b.display())).unwrap(),
        ];
        let one = from_binaries(&specs).unwrap();
        // Touching the sources must not change the layer: mtimes are fixed.
        std::fs::write(&a, b"AAAA").unwrap();
        let reversed: Vec<_> = specs.iter().rev().cloned().collect();
        let two = from_binaries(&reversed).unwrap();
        assert_eq!(one.digest, two.digest);
        let mut archive = tar::Archive::new(one.tar.as_slice());
        let names: Vec<(String, u32)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.path().unwrap().to_string_lossy().into_owned(),
                    e.header().mode().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                ("b".into(), 0o755),
                ("usr/".into(), 0o755),
                ("usr/local/".into(), 0o755),
                ("usr/local/bin/".into(), 0o755),
                ("usr/local/bin/a".into(), 0o755)
            ]
        );
        assert!(
            from_binaries(&[BinarySpec::parse("/nonexistent/knst").unwrap()])
                .unwrap_err()
                .to_string()
                .contains("no such file")
        );
    }

    #[test]
    fn directory_layers_are_deterministic() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("lib/x")).unwrap();
        std::fs::write(dir.path().join("lib/x/libc.so"), b"elf").unwrap();
        std::os::unix::fs::symlink("x/libc.so", dir.path().join("lib/libc.so.6")).unwrap();
        let one = from_directory(dir.path()).unwrap();
        let two = from_directory(dir.path()).unwrap();
        assert_eq!(one.digest, two.digest);
        assert_eq!(one.digest.len(), "sha256:".len() + 64);
    }
}
