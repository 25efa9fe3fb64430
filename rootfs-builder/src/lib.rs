//! rootfs-builder: the node base root filesystem, built once per set of inputs and cached by content.
//!
//! `build` = key the inputs → return the cached entry, or (under the key's lock) build in a staging
//! directory with the chosen method, apply the node recipe, and rename into place. Any failure or
//! signal removes the staging directory: the cache only ever holds complete entries.

pub mod cache;
pub mod debootstrap;
pub mod download;
pub mod error;
mod logged_command;
pub mod mkosi;
pub mod mounts;
pub mod pin;
pub mod recipe;
pub mod unpack;

use kns_plumbing::undo::WithCleanup;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::cache::{Cache, ImageInfo};
pub use crate::error::{Error, Result};

/// Debian 13, with containerd and runc from testing (forky): [`recipe::pin_for`].
pub const DEFAULT_SUITE: &str = "trixie";
pub const DEFAULT_MIRROR: &str = "http://deb.debian.org/debian";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Debootstrap,
    Mkosi,
    Download,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Debootstrap => "debootstrap",
            Method::Mkosi => "mkosi",
            Method::Download => "download",
        }
    }
}

#[derive(Debug, Clone)]
pub struct BuildOptions {
    pub method: Method,
    pub suite: String,
    pub mirror: String,
    pub url: Option<String>,
    pub sha256: Option<String>,
    /// Download without a sha256 (the key is then the URL; use --force to refresh).
    pub insecure: bool,
    pub cache_dir: PathBuf,
    pub force: bool,
}

impl BuildOptions {
    pub fn new(method: Method) -> Self {
        BuildOptions {
            method,
            suite: DEFAULT_SUITE.into(),
            mirror: DEFAULT_MIRROR.into(),
            url: None,
            sha256: None,
            insecure: false,
            cache_dir: cache::DEFAULT_CACHE_DIR.into(),
            force: false,
        }
    }

    pub fn validate(&self) -> Result<()> {
        let invalid = |msg: String| Err(Error::InvalidArgument(msg));
        match self.method {
            Method::Download => {
                let Some(url) = &self.url else {
                    return invalid(
                        "--method download needs --url URL (http://, https:// or file://)".into(),
                    );
                };
                if !["http://", "https://", "file://"]
                    .iter()
                    .any(|s| url.starts_with(s))
                {
                    return invalid(format!("--url \"{url}\": use http://, https:// or file://"));
                }
                match &self.sha256 {
                    Some(sum) if !kns_plumbing::hex::is_sha256(sum) => {
                        return invalid(format!("--sha256 \"{sum}\" is not 64 hex digits"))
                    }
                    None if !self.insecure => return invalid(
                        "--method download needs --sha256 HEX (or --insecure to skip the check)"
                            .into(),
                    ),
                    _ => {}
                }
            }
            Method::Debootstrap | Method::Mkosi => {
                if self.url.is_some() || self.sha256.is_some() {
                    return invalid(format!(
                        "--url and --sha256 go with --method download, not {}",
                        self.method.as_str()
                    ));
                }
                if self.suite.is_empty()
                    || !self
                        .suite
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-')
                {
                    return invalid(format!(
                        "--suite \"{}\" is not a Debian suite name",
                        self.suite
                    ));
                }
                if !["http://", "https://", "file://"]
                    .iter()
                    .any(|s| self.mirror.starts_with(s))
                {
                    return invalid(format!(
                        "--mirror \"{}\": use an http(s):// or file:// URL",
                        self.mirror
                    ));
                }
                if let Some(pin) = recipe::pin_for(&self.suite) {
                    if self.mirror.starts_with("file://") {
                        return invalid(format!(
                            "--mirror \"{}\": on {} the base takes {} from {} with APT inside the \
                             new root, which sees no host directory; use an http(s):// mirror",
                            self.mirror,
                            self.suite,
                            pin.packages.join(" and "),
                            pin.suite
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// What the cache key covers: the method, its inputs, the recipe version and package list.
    pub fn inputs(&self) -> Value {
        let source = match self.method {
            Method::Download => match &self.sha256 {
                // Content-addressed: the same bytes from another URL are the same image.
                Some(sum) => json!({"sha256": sum.to_ascii_lowercase()}),
                None => json!({"url": self.url}),
            },
            Method::Debootstrap | Method::Mkosi => json!({
                "suite": self.suite, "mirror": self.mirror,
                "packages": recipe::packages(&self.suite),
                "pin": recipe::pin_for(&self.suite).map(|pin| json!({
                    "suite": pin.suite, "packages": pin.packages, "minimum": pin.minimum,
                })),
            }),
        };
        json!({
            "method": self.method.as_str(),
            "source": source,
            "recipeVersion": recipe::RECIPE_VERSION,
            "arch": std::env::consts::ARCH,
        })
    }

    pub fn key(&self) -> String {
        cache::key_of(&self.inputs())
    }
}

/// The result of `build`.
#[derive(Debug, Clone)]
pub struct Built {
    pub image: ImageInfo,
    /// Taken from the cache, not built now.
    pub cached: bool,
    pub seconds: f64,
}

impl Built {
    /// The one JSON line `build` prints.
    pub fn to_json(&self) -> Value {
        json!({
            "path": self.image.path,
            "key": self.image.key,
            "method": self.image.method,
            "bytes": self.image.bytes,
            "cached": self.cached,
            "seconds": (self.seconds * 1000.0).round() / 1000.0,
        })
    }
}

/// Returns the cached image of these inputs, building it first if needed.
pub fn build(opts: &BuildOptions) -> Result<Built> {
    let started = Instant::now();
    opts.validate()?;
    if !kns_plumbing::privileges::is_root() {
        return Err(Error::NotRoot);
    }
    let cache = Cache::new(&opts.cache_dir);
    let key = opts.key();
    // Looked up before the lock (the common, fast case) and again under it: another build of this
    // key may have finished while this one waited.
    let from_cache = || -> Result<Option<Built>> {
        if opts.force {
            return Ok(None);
        }
        Ok(cache.get(&key)?.map(|image| Built {
            image,
            cached: true,
            seconds: started.elapsed().as_secs_f64(),
        }))
    };
    if let Some(hit) = from_cache()? {
        return Ok(hit);
    }
    let _lock = cache.lock(&key)?;
    if let Some(hit) = from_cache()? {
        return Ok(hit);
    }
    kns_plumbing::signals::install().map_err(|(signal, e)| {
        Error::io(
            "install a handler for",
            signal.as_str(),
            std::io::Error::from_raw_os_error(e as i32),
        )
    })?;
    let staging = cache.staging(&key)?;
    eprintln!(
        "rootfs-builder: building the node base image with {} (key {})",
        opts.method.as_str(),
        &key[..12]
    );
    let built = build_in(opts, &staging).and_then(|()| {
        check_interrupted()?;
        let rootfs = staging.join("rootfs");
        let info = ImageInfo {
            key: key.clone(),
            method: opts.method.as_str().into(),
            path: cache.rootfs(&key),
            bytes: cache::disk_bytes(&rootfs),
            inputs: opts.inputs(),
            created: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            build_seconds: started.elapsed().as_secs_f64(),
        };
        cache.commit(&staging, &info)
    });
    match built {
        Ok(image) => {
            eprintln!(
                "rootfs-builder: built in {:.0} s, {} MiB, at {}",
                started.elapsed().as_secs_f64(),
                image.bytes >> 20,
                image.path.display()
            );
            Ok(Built {
                image,
                cached: false,
                seconds: started.elapsed().as_secs_f64(),
            })
        }
        Err(e) => Err(e.with_cleanup(mounts::remove_tree(&staging))),
    }
}

/// Fills `staging/rootfs` with the chosen method, then applies the node recipe.
fn build_in(opts: &BuildOptions, staging: &Path) -> Result<()> {
    let rootfs = staging.join("rootfs");
    let log = staging.join("build.log");
    match opts.method {
        Method::Debootstrap => debootstrap::build(&opts.suite, &opts.mirror, &rootfs, &log)?,
        Method::Mkosi => {
            // mkosi creates its output directory itself.
            std::fs::remove_dir(&rootfs).map_err(|e| Error::io("remove", &rootfs, e))?;
            let workdir = staging.join("mkosi");
            std::fs::create_dir_all(&workdir).map_err(|e| Error::io("create", &workdir, e))?;
            mkosi::build(&opts.suite, &opts.mirror, &rootfs, &workdir, &log)?;
            mounts::remove_tree(&workdir)?;
        }
        Method::Download => {
            let url = opts.url.as_deref().unwrap_or_default();
            let scratch = staging.join("download");
            eprintln!("  fetching {url}");
            let actual = download::fetch(url, &scratch)?;
            if let Some(expected) = &opts.sha256 {
                download::verify(url, expected, &actual)?;
            }
            check_interrupted()?;
            eprintln!("  unpacking (sha256 {})", &actual[..12]);
            download::unpack_file(&scratch, &rootfs)?;
            std::fs::remove_file(&scratch).map_err(|e| Error::io("remove", &scratch, e))?;
        }
    }
    check_interrupted()?;
    if opts.method != Method::Download {
        if let Some(pin) = recipe::pin_for(&opts.suite) {
            eprintln!(
                "  installing {} from {} (pinned)",
                pin.packages.join(" and "),
                pin.suite
            );
            let versions = pin::install(&rootfs, &opts.mirror, &opts.suite, &pin, &log)?;
            let versions: Vec<String> = versions.iter().map(|(p, v)| format!("{p} {v}")).collect();
            eprintln!("  installed {}", versions.join(", "));
            check_interrupted()?;
        }
    }
    eprintln!(
        "  applying the node recipe (version {})",
        recipe::RECIPE_VERSION
    );
    recipe::apply(&rootfs)
}

/// Fails with [`Error::Interrupted`] once a termination signal was recorded, so the build stops at
/// the next step boundary and removes its staging directory.
fn check_interrupted() -> Result<()> {
    if kns_plumbing::signals::interrupted() {
        Err(Error::Interrupted)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(o: &BuildOptions) -> String {
        o.validate().unwrap_err().to_string()
    }

    #[test]
    fn validation_names_the_missing_or_wrong_option() {
        let mut o = BuildOptions::new(Method::Download);
        assert!(error_of(&o).contains("needs --url"), "{}", error_of(&o));
        o.url = Some("ftp://x".into());
        assert!(error_of(&o).contains("use http://"), "{}", error_of(&o));
        o.url = Some("http://127.0.0.1/x.tar.gz".into());
        assert!(error_of(&o).contains("needs --sha256"), "{}", error_of(&o));
        o.sha256 = Some("xyz".into());
        assert!(
            error_of(&o).contains("not 64 hex digits"),
            "{}",
            error_of(&o)
        );
        o.sha256 = Some("a".repeat(64));
        o.validate().unwrap();

        let mut d = BuildOptions::new(Method::Debootstrap);
        d.validate().unwrap();
        d.suite = "../x".into();
        assert!(
            error_of(&d).contains("not a Debian suite"),
            "{}",
            error_of(&d)
        );
        let mut d = BuildOptions::new(Method::Mkosi);
        d.url = Some("http://x".into());
        assert!(
            error_of(&d).contains("go with --method download"),
            "{}",
            error_of(&d)
        );
    }

    #[test]
    fn keys_depend_on_method_inputs_but_not_on_the_download_url() {
        let deb = BuildOptions::new(Method::Debootstrap);
        let mut mk = BuildOptions::new(Method::Mkosi);
        assert_ne!(deb.key(), mk.key());
        mk.method = Method::Debootstrap;
        assert_eq!(deb.key(), mk.key());
        let mut bookworm = deb.clone();
        bookworm.suite = "bookworm".into();
        assert_ne!(deb.key(), bookworm.key());

        let mut a = BuildOptions::new(Method::Download);
        a.url = Some("http://a/x".into());
        a.sha256 = Some("AB".repeat(32));
        let mut b = a.clone();
        b.url = Some("file:///mirror/x".into());
        b.sha256 = Some("ab".repeat(32));
        assert_eq!(a.key(), b.key(), "same content, same image");
        assert_eq!(a.inputs()["recipeVersion"], recipe::RECIPE_VERSION);
    }
}

#[cfg(test)]
mod error_messages_tests;
