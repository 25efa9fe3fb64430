//! Released Kubernetes versions as cluster binaries (`--kube-version`): the seven Kubernetes
//! binaries from the release site, crictl of the same minor, and the etcd and CoreDNS versions that
//! release's kubeadm names, each checked against its published sha256, cached per version and
//! architecture. A cached version is a directory that only appears whole (downloaded into a hidden
//! staging directory, verified, renamed), so a failed or interrupted download leaves nothing.
//!
//! ```text
//! /var/cache/kubeadm-nspawn/releases/
//!   v1.28.7-linux-amd64/{kube-bin/, extra-bin/, release.json}
//!   .v1.28.7-linux-amd64.tmp-<pid>/        while downloading
//! ```

pub mod artifact;
pub mod download;
mod progress;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use super::binaries::{find, Build, KubeBinaries, KUBE_BINARIES};
use super::error::{Error, Result};
use super::version::{Version, Wanted};
use artifact::{Artifact, Sites, Unpack};
use download::Failure;
use progress::Progress;

/// The version `init` uses when no binaries are given anywhere: the newest one the end-to-end
/// tier verifies.
pub const DEFAULT_VERSION: &str = "v1.28.7";
pub const DEFAULT_CACHE_DIR: &str = "/var/cache/kubeadm-nspawn/releases";
pub const MIRROR_ENV: &str = "KUBEADM_NSPAWN_RELEASE_MIRROR";
pub const CACHE_ENV: &str = "KUBEADM_NSPAWN_RELEASE_CACHE";
/// The record of a cached version, written last.
const RECORD: &str = "release.json";

/// A released version wanted from somewhere, kept somewhere.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub wanted: Wanted,
    pub sites: Sites,
    pub cache_dir: PathBuf,
}

impl Request {
    /// Checks the version string and the mirror URL (no network yet).
    pub fn new(version: &str, mirror: Option<&str>, cache_dir: &Path) -> Result<Request> {
        Ok(Request {
            wanted: Wanted::parse(version)
                .map_err(|e| Error::Release(format!("--kube-version: {e}")))?,
            sites: Sites::new(mirror.filter(|m| !m.is_empty())).map_err(Error::Release)?,
            cache_dir: cache_dir.to_owned(),
        })
    }
}

/// What `release.json` says of a cached version.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub version: String,
    pub arch: String,
    pub etcd: String,
    pub coredns: Option<String>,
    pub files: Vec<FileRecord>,
    /// Seconds since the epoch.
    pub downloaded_at: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileRecord {
    pub binary: String,
    pub url: String,
    pub sha256: String,
    pub bytes: u64,
}

/// A version in the cache.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cached {
    pub dir: PathBuf,
    pub bytes: u64,
    pub record: Record,
}

/// The binaries of the requested version: from the cache, else downloaded, verified and cached.
pub fn fetch(request: &Request) -> Result<KubeBinaries> {
    // The download draws its own progress lines: a step's live line is hidden meanwhile.
    kns_plumbing::terminal::suspend(|| fetch_now(request))
}

fn fetch_now(request: &Request) -> Result<KubeBinaries> {
    let arch = artifact::host_arch().map_err(Error::Release)?;
    let agent = download::agent();
    let version = resolve(&agent, request)?;
    let name = format!("{version}-linux-{arch}");
    let dir = request.cache_dir.join(&name);
    if let Some(binaries) = cached(&dir)? {
        kns_plumbing::say!(
            "   Kubernetes {version} ({arch}) from the cache: {}",
            dir.display()
        );
        return Ok(binaries);
    }
    std::fs::create_dir_all(&request.cache_dir)
        .map_err(|e| Error::io("create", &request.cache_dir, e))?;
    let _lock = lock(&request.cache_dir)?;
    // Another run may have cached it while this one waited.
    if let Some(binaries) = cached(&dir)? {
        return Ok(binaries);
    }
    remove_staging(&request.cache_dir)?;
    let staging = Staging(
        request
            .cache_dir
            .join(format!(".{name}.tmp-{}", std::process::id())),
    );
    std::fs::create_dir(&staging.0).map_err(|e| Error::io("create", &staging.0, e))?;
    kns_plumbing::say!(
        "   Downloading Kubernetes {version} ({arch}) from {}",
        request.sites.kubernetes
    );
    let started = Instant::now();
    let progress = Progress::new();
    let record = download_release(
        &agent,
        &request.sites,
        &version,
        arch,
        &staging.0,
        &progress,
    )?;
    // Checked as any --kube-bin before it enters the cache: binaries that do not run here (another
    // architecture, a broken mirror) must not be kept as a version.
    let found = find(
        &Build::Dir(staging.0.join("kube-bin")),
        Some(&staging.0.join("extra-bin")),
    )?;
    if found.version != version.to_string() {
        return Err(Error::Release(format!(
            "the kubeadm downloaded as {version} says it is {}: is the mirror a copy of the release site?",
            found.version
        )));
    }
    kns_plumbing::atomic_file::write(
        &staging.0.join(RECORD),
        &serde_json::to_vec_pretty(&record).map_err(|e| Error::Internal(e.to_string()))?,
        0o644,
    )
    .map_err(|e| Error::io("write", staging.0.join(RECORD), e))?;
    std::fs::rename(&staging.0, &dir).map_err(|e| Error::io("rename", &staging.0, e))?;
    let seconds = started.elapsed().as_secs_f64();
    let megabytes = progress.bytes() as f64 / 1e6;
    kns_plumbing::say!(
        "   Kubernetes {version}: {} files, {megabytes:.0} MB in {seconds:.1} s ({:.0} MB/s), verified and cached in {}",
        record.files.len(),
        megabytes / seconds.max(0.001),
        dir.display()
    );
    // Checked above already: the same binaries, at their place in the cache.
    let dir = std::fs::canonicalize(&dir).map_err(|e| Error::io("resolve", &dir, e))?;
    Ok(KubeBinaries {
        dir: dir.join("kube-bin"),
        extra_dir: Some(dir.join("extra-bin")),
        version: found.version,
    })
}

/// A channel (`stable`, `stable-1.28`) becomes the version its file names.
fn resolve(agent: &ureq::Agent, request: &Request) -> Result<Version> {
    let Some(file) = request.wanted.channel_file() else {
        let Wanted::Exact(v) = &request.wanted else {
            return Err(Error::Internal("a channel without a file".into()));
        };
        return Ok(v.clone());
    };
    let url = request.sites.channel_url(&file);
    let what = format!("the version of {}", request.wanted);
    let text = download::text(agent, &url).map_err(|f| download_error(&what, &url, f))?;
    Version::parse(text.trim()).map_err(|e| Error::Download {
        what,
        url,
        msg: e,
        hint: MIRROR_LAYOUT.into(),
    })
}

/// The cached version in `dir`, checked as any `--kube-bin` is (one build, all present).
fn cached(dir: &Path) -> Result<Option<KubeBinaries>> {
    if !dir.join(RECORD).is_file() {
        return Ok(None);
    }
    find(
        &Build::Dir(dir.join("kube-bin")),
        Some(&dir.join("extra-bin")),
    )
    .map(Some)
}

/// The whole cache is locked while one version downloads: two runs never fetch the same files.
fn lock(cache_dir: &Path) -> Result<Flock<File>> {
    let open = || File::open(cache_dir).map_err(|e| Error::io("open", cache_dir, e));
    match Flock::lock(open()?, FlockArg::LockExclusiveNonblock) {
        Ok(lock) => Ok(lock),
        Err((_, nix::errno::Errno::EWOULDBLOCK)) => {
            kns_plumbing::say!(
                "   waiting for another kubeadm-nspawn downloading into {}",
                cache_dir.display()
            );
            Flock::lock(open()?, FlockArg::LockExclusive)
                .map_err(|(_, e)| Error::io("lock", cache_dir, e.into()))
        }
        Err((_, e)) => Err(Error::io("lock", cache_dir, e.into())),
    }
}

/// A staging directory, removed unless it was renamed into place.
struct Staging(PathBuf);

impl Drop for Staging {
    fn drop(&mut self) {
        if self.0.exists() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Staging directories a killed run left (the caller holds the lock: none is in use).
fn remove_staging(cache_dir: &Path) -> Result<u64> {
    let mut bytes = 0;
    let entries = match std::fs::read_dir(cache_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(Error::io("read", cache_dir, e)),
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name.contains(".tmp-") {
            bytes += size_of_dir(&entry.path());
            std::fs::remove_dir_all(entry.path())
                .map_err(|e| Error::io("remove", entry.path(), e))?;
        }
    }
    Ok(bytes)
}

/// Every file of the release into `staging`, in parallel: the Kubernetes binaries and crictl at
/// once, etcd and CoreDNS as soon as kubeadm is there to name their versions. The first failure
/// stops the others.
fn download_release(
    agent: &ureq::Agent,
    sites: &Sites,
    version: &Version,
    arch: &str,
    staging: &Path,
    progress: &Progress,
) -> Result<Record> {
    for dir in ["kube-bin", "extra-bin", "downloads"] {
        let path = staging.join(dir);
        std::fs::create_dir(&path).map_err(|e| Error::io("create", &path, e))?;
    }
    let mut first_files: Vec<Artifact> = KUBE_BINARIES
        .iter()
        .map(|b| artifact::kubernetes(sites, version, arch, b))
        .collect();
    first_files.push(artifact::crictl(sites, version, arch));
    let cancel = AtomicBool::new(false);
    // (order, outcome): the reported failure is the first in this order, not the first in time.
    let outcomes: Mutex<Vec<(usize, Result<FileRecord>)>> = Mutex::new(vec![]);
    let companions: Mutex<Option<(String, Option<String>)>> = Mutex::new(None);
    // Keeps an outcome; a failure stops the other downloads. True for a success.
    let record = |order: usize, outcome: Result<FileRecord>| {
        let ok = outcome.is_ok();
        if !ok {
            cancel.store(true, Ordering::Relaxed);
        }
        if let Ok(mut all) = outcomes.lock() {
            all.push((order, outcome));
        }
        ok
    };
    let get = |order: usize, a: &Artifact| {
        record(
            order,
            fetch_artifact(agent, a, version, staging, &cancel, progress),
        )
    };
    std::thread::scope(|scope| {
        let (record, get, companions, first) = (&record, &get, &companions, &first_files);
        for (order, a) in first.iter().enumerate().skip(1) {
            scope.spawn(move || get(order, a));
        }
        // kubeadm (first in KUBE_BINARIES), then what it names.
        scope.spawn(move || {
            if !get(0, &first[0]) {
                return;
            }
            let names = kubeadm_images(&staging.join("kube-bin/kubeadm"), version)
                .and_then(|list| artifact::companion_versions(&list).map_err(Error::Release));
            let (etcd, coredns) = match names {
                Ok(v) => v,
                Err(e) => {
                    record(first.len(), Err(e));
                    return;
                }
            };
            let mut more = vec![artifact::etcd(sites, &etcd, arch)];
            more.extend(
                coredns
                    .as_deref()
                    .map(|c| artifact::coredns(sites, c, arch)),
            );
            if let Ok(mut c) = companions.lock() {
                *c = Some((etcd, coredns));
            }
            for (i, a) in more.into_iter().enumerate() {
                scope.spawn(move || get(first.len() + 1 + i, &a));
            }
        });
    });
    if kns_plumbing::signals::interrupted() {
        return Err(Error::Interrupted);
    }
    let mut outcomes = outcomes
        .into_inner()
        .map_err(|_| Error::Internal("a download thread panicked".into()))?;
    outcomes.sort_by_key(|(order, _)| *order);
    let mut files = vec![];
    for (_, outcome) in outcomes {
        match outcome {
            Ok(file) => files.push(file),
            // Stopped for another file's failure, which is the one to report.
            Err(Error::Interrupted) => {}
            Err(e) => return Err(e),
        }
    }
    let (etcd, coredns) = companions
        .into_inner()
        .ok()
        .flatten()
        .ok_or_else(|| Error::Internal("no etcd version, and no failure".into()))?;
    std::fs::remove_dir(staging.join("downloads"))
        .map_err(|e| Error::io("remove", staging.join("downloads"), e))?;
    Ok(Record {
        version: version.to_string(),
        arch: arch.into(),
        etcd,
        coredns,
        files,
        downloaded_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default(),
    })
}

/// One file: its checksum file, then the file itself (checked), then the binary in place.
fn fetch_artifact(
    agent: &ureq::Agent,
    a: &Artifact,
    version: &Version,
    staging: &Path,
    cancel: &AtomicBool,
    progress: &Progress,
) -> Result<FileRecord> {
    let what = format!("{} of Kubernetes {version}", a.binary);
    let text = download::text(agent, &a.checksum_url)
        .map_err(|f| download_error(&what, &a.checksum_url, f))?;
    let expected = download::checksum_in(&text, &a.file_name).map_err(|e| Error::Download {
        what: what.clone(),
        url: a.checksum_url.clone(),
        msg: format!("not a checksum file: {e}"),
        hint: MIRROR_LAYOUT.into(),
    })?;
    let file = staging.join("downloads").join(&a.file_name);
    let line = progress.file(&a.file_name);
    let actual = download::file(agent, &a.url, &file, cancel, &|total, chunk| {
        line.update(total, chunk)
    })
    .map_err(|f| download_error(&what, &a.url, f))?;
    line.done();
    if actual != expected {
        return Err(Error::Download {
            what,
            url: a.url.clone(),
            msg: format!("checksum mismatch: sha256 {actual}, the published one is {expected}"),
            hint: "the file is corrupt at the source or on the way; nothing was kept: run again, \
                   or check the mirror"
                .into(),
        });
    }
    let bytes = std::fs::metadata(&file)
        .map(|m| m.len())
        .unwrap_or_default();
    let dir = if KUBE_BINARIES.contains(&a.binary) {
        "kube-bin"
    } else {
        "extra-bin"
    };
    let binary = staging.join(dir).join(a.binary);
    match &a.unpack {
        Unpack::Binary => {
            std::fs::rename(&file, &binary).map_err(|e| Error::io("rename", &file, e))?
        }
        Unpack::Member(member) => {
            extract_member(&file, member, &binary).map_err(|msg| Error::Download {
                what: what.clone(),
                url: a.url.clone(),
                msg,
                hint: format!("the tarball does not have the upstream layout: {MIRROR_LAYOUT}"),
            })?;
            std::fs::remove_file(&file).map_err(|e| Error::io("remove", &file, e))?;
        }
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| Error::io("chmod", &binary, e))?;
    Ok(FileRecord {
        binary: a.binary.into(),
        url: a.url.clone(),
        sha256: actual,
        bytes,
    })
}

/// `member` of the gzip tarball `archive`, written to `dest`.
fn extract_member(archive: &Path, member: &str, dest: &Path) -> Result<(), String> {
    let file = File::open(archive).map_err(|e| format!("open {}: {e}", archive.display()))?;
    let mut tarball =
        tar::Archive::new(flate2::read::GzDecoder::new(std::io::BufReader::new(file)));
    let entries = tarball
        .entries()
        .map_err(|e| format!("not a gzip tarball: {e}"))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("not a gzip tarball: {e}"))?;
        let path = entry.path().map_err(|e| e.to_string())?.into_owned();
        if path.strip_prefix("./").unwrap_or(&path) == Path::new(member) {
            let mut out =
                File::create(dest).map_err(|e| format!("create {}: {e}", dest.display()))?;
            std::io::copy(&mut entry, &mut out).map_err(|e| format!("unpack {member}: {e}"))?;
            return out.sync_all().map_err(|e| e.to_string());
        }
    }
    Err(format!("no {member} in the tarball"))
}

/// `kubeadm config images list` of the downloaded kubeadm, for the version it was downloaded as
/// (no network: the version is explicit).
fn kubeadm_images(kubeadm: &Path, version: &Version) -> Result<String> {
    let out = std::process::Command::new(kubeadm)
        .args(["config", "images", "list", "--kubernetes-version"])
        .arg(version.to_string())
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| Error::io("run", kubeadm, e))?;
    if !out.status.success() {
        return Err(Error::tool(
            "kubeadm config images list",
            String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// What a hint says of a mirror that does not answer as the release sites do.
const MIRROR_LAYOUT: &str =
    "a --release-mirror must be a copy of the release sites (the paths of dl.k8s.io and \
     github.com under one base URL)";

/// The error of a failed download of `what` from `url`, with what to do about it.
pub(crate) fn download_error(what: &str, url: &str, failure: Failure) -> Error {
    let hint = match &failure {
        Failure::Unreachable(_) => format!(
            "check the network, or give a reachable --release-mirror (${MIRROR_ENV}); \
             without a network: --kube-bin DIR --extra-bin DIR"
        ),
        Failure::Status(404) => {
            format!(
                "check that the version is released \
                 (https://github.com/kubernetes/kubernetes/releases); {MIRROR_LAYOUT}"
            )
        }
        Failure::Status(_) => {
            "the server refused: try again later, or another --release-mirror".into()
        }
        Failure::CutShort { .. } => "nothing was kept: run again".into(),
        Failure::Local(_) => {
            "make room on the cache's file system (or make it writable) and run again".into()
        }
        // Stopped for another file's failure (or a signal), which is the one to report.
        Failure::Cancelled => return Error::Interrupted,
    };
    Error::Download {
        what: what.to_owned(),
        url: url.to_owned(),
        msg: failure.to_string(),
        hint,
    }
}

/// The versions in the cache, oldest name first.
pub fn list(cache_dir: &Path) -> Result<Vec<Cached>> {
    let entries = match std::fs::read_dir(cache_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(Error::io("read", cache_dir, e)),
    };
    let mut cached = vec![];
    for entry in entries.flatten() {
        let dir = entry.path();
        let Ok(text) = std::fs::read(dir.join(RECORD)) else {
            continue;
        };
        let record: Record = serde_json::from_slice(&text).map_err(|e| Error::CorruptRecord {
            path: dir.join(RECORD),
            reason: e.to_string(),
        })?;
        cached.push(Cached {
            bytes: size_of_dir(&dir),
            dir,
            record,
        });
    }
    cached.sort_by(|a, b| a.dir.cmp(&b.dir));
    Ok(cached)
}

/// Removes the cached versions for which `keep` is false, and leftover staging directories;
/// returns what was removed and the bytes freed.
pub fn gc(cache_dir: &Path, keep: &dyn Fn(&Cached) -> bool) -> Result<(Vec<Cached>, u64)> {
    if !cache_dir.is_dir() {
        return Ok((vec![], 0));
    }
    let _lock = lock(cache_dir)?;
    let mut freed = remove_staging(cache_dir)?;
    let mut removed = vec![];
    for c in list(cache_dir)? {
        if keep(&c) {
            continue;
        }
        // The record goes first: a half-removed version is no longer taken for a cached one.
        std::fs::remove_file(c.dir.join(RECORD)).map_err(|e| Error::io("remove", &c.dir, e))?;
        std::fs::remove_dir_all(&c.dir).map_err(|e| Error::io("remove", &c.dir, e))?;
        freed += c.bytes;
        removed.push(c);
    }
    Ok((removed, freed))
}

fn size_of_dir(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => size_of_dir(&e.path()),
            Ok(_) => e.metadata().map(|m| m.len()).unwrap_or_default(),
            Err(_) => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_checked_before_any_network() {
        let cache = Path::new("/nonexistent");
        let r = Request::new("1.28.7", None, cache).unwrap();
        assert_eq!(r.wanted, Wanted::Exact(Version::parse("v1.28.7").unwrap()));
        assert_eq!(r.sites.kubernetes, artifact::KUBERNETES_SITE);
        let r = Request::new("stable-1.29", Some("http://127.0.0.1:9/"), cache).unwrap();
        assert_eq!(r.sites.github, "http://127.0.0.1:9");
        // An empty environment variable is no mirror.
        assert_eq!(
            Request::new("stable", Some(""), cache).unwrap().sites,
            Sites::new(None).unwrap()
        );
        let err = Request::new("1.28", None, cache).unwrap_err().to_string();
        assert!(err.starts_with("--kube-version: \"1.28\" is not"), "{err}");
        assert!(Request::new("v1.28.7", Some("dl.k8s.io"), cache).is_err());
        assert!(Version::parse(DEFAULT_VERSION).is_ok());
    }

    #[test]
    fn the_binary_is_found_in_its_tarball() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("etcd.tar.gz");
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
            File::create(&archive).unwrap(),
            flate2::Compression::fast(),
        ));
        for (path, body) in [
            ("etcd-v3.5.10-linux-amd64/README.md", &b"readme"[..]),
            ("etcd-v3.5.10-linux-amd64/etcd", &b"\x7fELF etcd"[..]),
        ] {
            let mut header = tar::Header::new_gnu();
            header.set_size(body.len() as u64);
            header.set_mode(0o755);
            header.set_cksum();
            builder.append_data(&mut header, path, body).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap();
        let dest = dir.path().join("etcd");
        extract_member(&archive, "etcd-v3.5.10-linux-amd64/etcd", &dest).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"\x7fELF etcd");
        let err = extract_member(&archive, "etcd", &dest).unwrap_err();
        assert_eq!(err, "no etcd in the tarball");
        std::fs::write(&archive, "<html>").unwrap();
        assert!(extract_member(&archive, "etcd", &dest).is_err());
    }
}
