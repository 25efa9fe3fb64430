//! The container images a kubeadm cluster needs, synthesized offline from the Kubernetes binaries
//! by `image-pusher build` and named under a private repository that no node can pull from, so
//! nothing is ever pulled: kube-apiserver, kube-controller-manager, kube-scheduler (static, one
//! layer), kube-proxy and etcd (on a small runtime layer: libc, iptables, conntrack, copied from
//! the node base so they match the node's iptables backend; one shared layer, stored once),
//! CoreDNS and pause (static, at `/`). Cached by content under the state directory.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::host::tools;
use crate::kube::binaries::{version_of, KubeBinaries};
use crate::kube::error::{Error, Result};
use crate::kube::minor::Minor;
use crate::model::component::Component;

mod runtime_layer;

pub use crate::kube::documents::REPOSITORY;
/// Bump when what goes into the images changes, so cached sets are rebuilt (2: the pause tag
/// follows the minor; a set of recipe 1 holds pause:3.9 whatever the minor).
const RECIPE: &str = "2";

/// The archives to push and the tags kubeadm must be told about.
#[derive(Debug, Clone)]
pub struct ImageSet {
    pub dir: PathBuf,
    /// Only the control-plane node runs these.
    pub control_plane: Vec<PathBuf>,
    /// Every node runs these (kube-proxy, pause, CoreDNS).
    pub every_node: Vec<PathBuf>,
    pub etcd_tag: String,
    /// None when there is no CoreDNS binary: the addon is skipped.
    pub coredns_tag: Option<String>,
    /// The pause image the set holds (pushed to every node), tagged as kubeadm of the cluster's
    /// minor names it: what each node's containerd gets as its sandbox image.
    pub sandbox_image: String,
}

/// The pause image of Kubernetes `minor` under the private repository.
pub fn sandbox_image(minor: Minor) -> String {
    format!("{REPOSITORY}/pause:{}", minor.pause_tag())
}

/// The version part of a component's image tag, as kubeadm names them: etcd `3.5.16-0`, CoreDNS
/// `v1.10.1`, the Kubernetes servers the cluster's version (`kube_version`).
pub fn version_tag(component: Component, binary: &Path, kube_version: &str) -> Result<String> {
    Ok(match component {
        Component::Etcd => {
            let v = version_of(binary, &["--version"])?;
            format!("{}-0", v.rsplit(' ').next().unwrap_or(&v))
        }
        Component::Coredns => {
            let v = version_of(binary, &["-version"])?;
            format!("v{}", v.trim_start_matches("CoreDNS-"))
        }
        _ => kube_version.to_owned(),
    })
}

/// How the image of `component` is made from `binary` (its [`Component::image`] layout); None
/// for a component that runs from no image.
fn spec_of(component: Component, reference: String, binary: &Path) -> Option<Spec> {
    let layout = component.image()?;
    let file: &'static str = match component {
        Component::KubeApiserver => "kube-apiserver.tar",
        Component::KubeControllerManager => "kube-controller-manager.tar",
        Component::KubeScheduler => "kube-scheduler.tar",
        Component::KubeProxy => "kube-proxy.tar",
        Component::Etcd => "etcd.tar",
        Component::Coredns => "coredns.tar",
        _ => return None,
    };
    let binary = match layout.entrypoint {
        Some(entrypoint) => format!("{}:{entrypoint}", binary.display()),
        None => binary.display().to_string(),
    };
    Some(Spec {
        on_runtime_layer: layout.on_runtime_layer,
        entrypoint: layout.entrypoint,
        ..Spec::new(file, reference, binary, layout.control_plane_only)
    })
}

/// The image of one component built anew from `binary` (for `update`), tagged `tag`, written into
/// `out` (the runtime layer is extracted there from the node base at `rootfs` when the component
/// needs it). Returns the archive and the image reference.
pub fn build_component(
    component: Component,
    binary: &Path,
    tag: &str,
    rootfs: &Path,
    out: &Path,
) -> Result<(PathBuf, String)> {
    let reference = format!("{REPOSITORY}/{component}:{tag}");
    let spec = spec_of(component, reference.clone(), binary)
        .ok_or_else(|| Error::Internal(format!("{component} does not run from an image")))?;
    std::fs::create_dir_all(out).map_err(|e| Error::io("create", out, e))?;
    let runtime_layer = out.join("runtime-base");
    if spec.on_runtime_layer && !runtime_layer.exists() {
        runtime_layer::build(rootfs, &runtime_layer)?;
    }
    let archive = out.join(format!("{component}-{tag}.tar"));
    let args = spec.args(&runtime_layer, &archive);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    tools::run_quiet("image-pusher", &args)?;
    Ok((archive, reference))
}

struct Spec {
    file: &'static str,
    reference: String,
    binaries: Vec<String>,
    on_runtime_layer: bool,
    entrypoint: Option<&'static str>,
    control_plane: bool,
}

impl Spec {
    fn new(file: &'static str, reference: String, binary: String, control_plane: bool) -> Self {
        Spec {
            file,
            reference,
            binaries: vec![binary],
            on_runtime_layer: false,
            entrypoint: None,
            control_plane,
        }
    }

    /// `image-pusher` arguments writing the image to `output`.
    fn args(&self, runtime_layer: &Path, output: &Path) -> Vec<String> {
        let mut args: Vec<String> = if self.binaries.is_empty() {
            // The project's own static pause (image-pusher embeds it).
            vec!["pause".into(), "--image".into(), self.reference.clone()]
        } else {
            let mut args = vec!["build".into(), "--name".into(), self.reference.clone()];
            for b in &self.binaries {
                args.extend(["--binary".into(), b.clone()]);
            }
            if self.on_runtime_layer {
                args.extend(["--base".into(), runtime_layer.display().to_string()]);
            }
            if let Some(e) = self.entrypoint {
                args.extend(["--entrypoint".into(), e.into()]);
            }
            args
        };
        args.extend(["-o".into(), output.display().to_string()]);
        args
    }
}

/// Builds (or finds in the cache) the image set for `kube`, with a runtime layer made from the
/// node base `rootfs`.
pub fn prepare(
    kube: &KubeBinaries,
    rootfs: &Path,
    base_key: &str,
    cache: &Path,
    progress: &dyn Fn(&str),
) -> Result<ImageSet> {
    let extras = Extras::of(kube)?;
    let Extras {
        etcd,
        coredns,
        pause,
    } = &extras;
    let etcd_tag = version_tag(Component::Etcd, etcd, &kube.version)?;
    let coredns_tag = coredns
        .as_ref()
        .map(|c| version_tag(Component::Coredns, c, &kube.version))
        .transpose()?;
    let mut inputs: Vec<PathBuf> = crate::kube::binaries::KUBE_BINARIES
        .iter()
        .map(|b| kube.path(b))
        .collect();
    inputs.extend(
        [Some(etcd.clone()), coredns.clone(), pause.clone()]
            .into_iter()
            .flatten(),
    );
    let key = cache_key(&kube.version, base_key, &inputs)?;
    let dir = cache.join(&key[..16]);
    let (specs, set) = plan(
        kube,
        &extras,
        &etcd_tag,
        coredns_tag.as_deref(),
        dir.clone(),
    )?;
    let v = &kube.version;
    if dir.join("complete").exists() {
        progress(&format!("images for {v} are cached in {}", dir.display()));
        return Ok(set);
    }
    // One builder per cache at a time: two `init`s at once (two clusters side by side) would each
    // build, and the second's rename would remove the set the first is pushing from. The second
    // waits, then finds the set complete.
    std::fs::create_dir_all(cache).map_err(|e| Error::io("create", cache, e))?;
    let handle = std::fs::File::open(cache).map_err(|e| Error::io("open", cache, e))?;
    let _lock = nix::fcntl::Flock::lock(handle, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| Error::io("lock", cache, e.into()))?;
    if dir.join("complete").exists() {
        progress(&format!(
            "images for {v} were built meanwhile in {}",
            dir.display()
        ));
        return Ok(set);
    }
    // Built in a staging directory and renamed: a half-built set is never taken for a cached one.
    let staging = cache.join(format!(".build-{}-{}", &key[..16], std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let finished = build_all(&specs, &staging, rootfs, progress)
        .and_then(|()| {
            std::fs::write(staging.join("complete"), key.as_bytes())
                .map_err(|e| Error::io("write", staging.join("complete"), e))
        })
        .and_then(|()| {
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::rename(&staging, &dir).map_err(|e| Error::io("rename into place", &dir, e))
        });
    if finished.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    finished.map(|()| set)
}

/// The `--extra-bin` programs an image set is made from: etcd (required), CoreDNS and pause.
#[derive(Debug, Clone)]
struct Extras {
    etcd: PathBuf,
    coredns: Option<PathBuf>,
    pause: Option<PathBuf>,
}

impl Extras {
    fn of(kube: &KubeBinaries) -> Result<Extras> {
        Ok(Extras {
            etcd: kube.extra("etcd").ok_or(Error::MissingExtra {
                name: "etcd",
                why: "the control plane's datastore (e.g. Debian's etcd-server package)",
            })?,
            coredns: kube.extra("coredns"),
            pause: kube.extra("pause"),
        })
    }
}

/// What the set of `kube` is made of, its etcd and CoreDNS tags found: the image of each
/// component and the set they make in `dir`. The pause image is the minor's.
fn plan(
    kube: &KubeBinaries,
    extras: &Extras,
    etcd_tag: &str,
    coredns_tag: Option<&str>,
    dir: PathBuf,
) -> Result<(Vec<Spec>, ImageSet)> {
    let minor = Minor::of(&kube.version)
        .ok_or_else(|| Error::Internal(format!("\"{}\" is not a version", kube.version)))?;
    let Extras {
        etcd,
        coredns,
        pause,
    } = extras.clone();
    let v = &kube.version;
    let image = |name: &str, tag: &str| format!("{REPOSITORY}/{name}:{tag}");
    let mut specs: Vec<Spec> = [
        (
            Component::KubeApiserver,
            v.as_str(),
            kube.path("kube-apiserver"),
        ),
        (
            Component::KubeControllerManager,
            v,
            kube.path("kube-controller-manager"),
        ),
        (Component::KubeScheduler, v, kube.path("kube-scheduler")),
        (Component::KubeProxy, v, kube.path("kube-proxy")),
        (Component::Etcd, etcd_tag, etcd),
    ]
    .into_iter()
    .filter_map(|(c, tag, binary)| spec_of(c, image(c.name(), tag), &binary))
    .collect();
    let coredns_tag = coredns.as_ref().and(coredns_tag);
    if let (Some(coredns), Some(tag)) = (&coredns, coredns_tag) {
        specs.extend(spec_of(Component::Coredns, image("coredns", tag), coredns));
    }
    // The tag kubeadm of this minor names (its preflight pulls, and warns of, any other).
    let sandbox_image = sandbox_image(minor);
    specs.push(match &pause {
        Some(p) => Spec {
            entrypoint: Some("/pause"),
            ..Spec::new(
                "pause.tar",
                sandbox_image.clone(),
                format!("{}:/pause", p.display()),
                false,
            )
        },
        None => Spec {
            binaries: vec![],
            ..Spec::new("pause.tar", sandbox_image.clone(), String::new(), false)
        },
    });

    let set = ImageSet {
        control_plane: specs
            .iter()
            .filter(|s| s.control_plane)
            .map(|s| dir.join(s.file))
            .collect(),
        every_node: specs
            .iter()
            .filter(|s| !s.control_plane)
            .map(|s| dir.join(s.file))
            .collect(),
        dir,
        etcd_tag: etcd_tag.to_owned(),
        coredns_tag: coredns_tag.map(str::to_owned),
        sandbox_image,
    };
    Ok((specs, set))
}

fn build_all(specs: &[Spec], staging: &Path, rootfs: &Path, progress: &dyn Fn(&str)) -> Result<()> {
    std::fs::create_dir_all(staging).map_err(|e| Error::io("create", staging, e))?;
    let runtime_layer = staging.join("runtime-base");
    runtime_layer::build(rootfs, &runtime_layer)?;
    // Two at a time: the big ones (kube-apiserver, ~100 MB) are held in memory while built.
    for pair in specs.chunks(2) {
        kns_plumbing::parallel::each(
            pair,
            |spec| spec.file,
            |spec| {
                let args = spec.args(&runtime_layer, &staging.join(spec.file));
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                tools::run_quiet("image-pusher", &args)
                    .map(drop)
                    .map_err(Error::from)
            },
        )?;
        for spec in pair {
            progress(&format!("built {} ({})", spec.file, spec.reference));
        }
    }
    Ok(())
}

fn cache_key(version: &str, base_key: &str, inputs: &[PathBuf]) -> Result<String> {
    let mut hasher = Sha256::new();
    hasher.update(format!(
        "recipe {RECIPE}\nversion {version}\nbase {base_key}\n"
    ));
    for input in inputs {
        let meta = std::fs::metadata(input).map_err(|e| Error::io("stat", input, e))?;
        // Size and mtime, not content: hashing ~600 MB of binaries on every init would cost more
        // than it saves; a rebuilt binary gets a new mtime.
        hasher.update(format!(
            "{} {} {}.{}\n",
            input.display(),
            meta.len(),
            meta.mtime(),
            meta.mtime_nsec()
        ));
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_build_arguments() {
        let coredns = Spec {
            entrypoint: Some("/coredns"),
            ..Spec::new(
                "coredns.tar",
                "kubeadm-nspawn.local/coredns:v1.10.1".into(),
                "/b/coredns:/coredns".into(),
                false,
            )
        };
        assert_eq!(
            coredns
                .args(Path::new("/rt"), Path::new("/o/c.tar"))
                .join(" "),
            "build --name kubeadm-nspawn.local/coredns:v1.10.1 --binary /b/coredns:/coredns \
             --entrypoint /coredns -o /o/c.tar"
        );
        let proxy = Spec {
            on_runtime_layer: true,
            ..Spec::new(
                "p.tar",
                "r/kube-proxy:v1".into(),
                "/k/kube-proxy".into(),
                false,
            )
        };
        assert!(proxy
            .args(Path::new("/rt"), Path::new("/o/p.tar"))
            .join(" ")
            .contains("--binary /k/kube-proxy --base /rt -o /o/p.tar"));
        let pause = Spec {
            binaries: vec![],
            ..Spec::new("pause.tar", "r/pause:3.9".into(), String::new(), false)
        };
        assert_eq!(
            pause
                .args(Path::new("/rt"), Path::new("/o/x.tar"))
                .join(" "),
            "pause --image r/pause:3.9 -o /o/x.tar"
        );
    }

    #[test]
    fn the_pause_pushed_to_every_node_is_the_minors_sandbox_image() {
        let extra = tempfile::tempdir().unwrap();
        for name in ["etcd", "coredns"] {
            std::fs::write(extra.path().join(name), "").unwrap();
        }
        for (version, pause) in [
            ("v1.28.7", "3.9"),
            ("v1.31.2", "3.10"),
            ("v1.34.1", "3.10.1"),
            ("v1.36.0-alpha.0", "3.10.2"),
        ] {
            let kube = KubeBinaries {
                dir: "/k".into(),
                extra_dir: Some(extra.path().to_owned()),
                version: version.into(),
            };
            let extras = Extras::of(&kube).unwrap();
            let (specs, set) =
                plan(&kube, &extras, "3.5.16-0", Some("v1.10.1"), "/c/s".into()).unwrap();
            let want = format!("kubeadm-nspawn.local/pause:{pause}");
            assert_eq!(set.sandbox_image, want, "{version}");
            let pushed = specs.iter().find(|s| s.file == "pause.tar").unwrap();
            assert_eq!(pushed.reference, want, "{version}");
            assert!(!pushed.control_plane, "{version}: pause goes to every node");
            assert!(set.every_node.contains(&PathBuf::from("/c/s/pause.tar")));
            // Without a pause binary, image-pusher's own under the same name.
            assert_eq!(
                pushed
                    .args(Path::new("/rt"), Path::new("/o/p.tar"))
                    .join(" "),
                format!("pause --image {want} -o /o/p.tar")
            );
            assert_eq!(set.coredns_tag.as_deref(), Some("v1.10.1"));
        }
    }
}
