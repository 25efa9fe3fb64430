//! A base suite's [`Pin`]: packages of a newer suite installed on top of a debootstrap or mkosi
//! tree, by the tree's own APT in a chroot, with an APT source for the newer suite and a pin that
//! takes nothing else from it (their dependencies are the base suite's, or the install fails).
//! The source and the pin stay in the base, so `apt-get upgrade` in a node keeps to them.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use nix::mount::{mount, umount2, MntFlags, MsFlags};

use crate::error::{Error, Result};
use crate::recipe::{self, in_root, Pin};

/// `/etc/apt/sources.list.d/<this>` of the newer suite.
pub fn sources_path(pin: &Pin) -> String {
    format!(
        "/etc/apt/sources.list.d/kubeadm-nspawn-{}.sources",
        pin.suite
    )
}

/// `/etc/apt/preferences.d/<this>` of the pin.
pub fn preferences_path(pin: &Pin) -> String {
    format!("/etc/apt/preferences.d/kubeadm-nspawn-{}.pref", pin.suite)
}

/// The APT source of the newer suite (deb822). Its Release file is checked against Debian's
/// archive keys as the base suite's is, but not against its Valid-Until date: testing's Release
/// is signed again every day and valid for a week, so a mirror or proxy that lags a week (this
/// project's machines see one a month behind) would refuse every build; a stable suite's Release
/// carries no such date at all.
pub fn sources(pin: &Pin, mirror: &str) -> String {
    format!(
        "# kubeadm-nspawn: {packages} from {suite}, pinned by {preferences}.\n\
         Types: deb\n\
         URIs: {mirror}\n\
         Suites: {suite}\n\
         Components: main\n\
         Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\
         Check-Valid-Until: no\n",
        packages = pin.packages.join(" and "),
        suite = pin.suite,
        preferences = preferences_path(pin),
    )
}

/// The APT preferences: the newer suite below everything installed (priority 1: never chosen by
/// itself, never an upgrade), its pinned packages above the base suite (990).
pub fn preferences(pin: &Pin, base_suite: &str) -> String {
    format!(
        "# kubeadm-nspawn: only {packages} come from {suite}; everything else, their dependencies\n\
         # included, stays {base_suite}'s.\n\
         Package: *\n\
         Pin: release n={suite}\n\
         Pin-Priority: 1\n\
         \n\
         Package: {list}\n\
         Pin: release n={suite}\n\
         Pin-Priority: 990\n",
        packages = pin.packages.join(" and "),
        list = pin.packages.join(" "),
        suite = pin.suite,
    )
}

/// apt-get's progress lines worth showing: what is set up, and what goes wrong.
pub fn is_phase(line: &str) -> bool {
    line.starts_with("Setting up ")
        || line.starts_with("E: ")
        || line.starts_with("W: ")
        || line.starts_with("Err:")
}

/// Installs `pin`'s packages from its suite into the tree `root` of `base_suite`, from `mirror`
/// (http or https: APT runs inside the tree and sees none of the host's files), then checks
/// their versions against the pin's minimums. Returns the (package, version) pairs installed.
pub fn install(
    root: &Path,
    mirror: &str,
    base_suite: &str,
    pin: &Pin,
    log: &Path,
) -> Result<Vec<(String, String)>> {
    write(root, &sources_path(pin), &sources(pin, mirror))?;
    write(root, &preferences_path(pin), &preferences(pin, base_suite))?;
    let proc = ProcMount::new(root)?;
    let resolver = HostResolver::new(root)?;
    // APT's downloads run as _apt and verify signatures in /tmp: a tree from mkosi has a /tmp
    // only root may write to (a node mounts its own /tmp anyway).
    let tmp = in_root(root, "/tmp");
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o1777))
        .map_err(|e| Error::io("chmod", &tmp, e))?;
    let mut install = vec![
        "-y",
        "-o",
        "Dpkg::Use-Pty=0",
        "install",
        "--no-install-recommends",
    ];
    install.extend(pin.packages);
    // Only the new suite's list is fetched (the base suite's are those its build left, and the
    // pinned packages' dependencies are installed already), and a failure to fetch it fails the
    // build: to `apt-get update` it is a warning, and without the list the pinned packages would
    // quietly come from the base suite.
    let only_the_pin = format!("Dir::Etc::SourceList={}", sources_path(pin));
    let update = vec![
        "-o",
        &only_the_pin,
        "-o",
        "Dir::Etc::SourceParts=-",
        "-o",
        "APT::Get::List-Cleanup=0",
        "update",
        "--error-on=any",
    ];
    for args in [update, install, vec!["clean"]] {
        apt_get(root, &args, log)?;
    }
    resolver.restore()?;
    drop(proc);
    // The package lists of both suites (~180 MB) are of no use in a node, which reaches no
    // mirror anyway; `apt-get update` there brings them back.
    let lists = in_root(root, "/var/lib/apt/lists");
    for entry in std::fs::read_dir(&lists).map_err(|e| Error::io("list", &lists, e))? {
        let path = entry.map_err(|e| Error::io("list", &lists, e))?.path();
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.map_err(|e| Error::io("remove", &path, e))?;
    }
    check(root, pin)
}

/// The installed versions of the pin's packages, each at least its minimum.
pub fn check(root: &Path, pin: &Pin) -> Result<Vec<(String, String)>> {
    let mut versions = vec![];
    for (package, minimum) in pin.minimum {
        match recipe::installed_version(root, package) {
            Some(version) if recipe::at_least(&version, minimum) => {
                versions.push((package.to_string(), version));
            }
            found => {
                return Err(Error::InvalidArgument(format!(
                    "{package} from {suite} should be at least {minimum}, but {what}; the node \
                     base needs a newer {package} than its own suite has (Debian's {suite} may \
                     have dropped or replaced it: `apt-cache policy {package}` in the build's \
                     root tells)",
                    suite = pin.suite,
                    what = match found {
                        Some(v) => format!("{v} was installed"),
                        None => "none was installed".to_owned(),
                    }
                )));
            }
        }
    }
    Ok(versions)
}

fn apt_get(root: &Path, args: &[&str], log: &Path) -> Result<()> {
    let mut cmd = Command::new("chroot");
    cmd.arg(root)
        .arg("apt-get")
        .arg("-q")
        .args(args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .env("LC_ALL", "C.UTF-8");
    crate::logged_command::run(cmd, log, is_phase)
}

fn write(root: &Path, path: &str, contents: &str) -> Result<()> {
    let path = in_root(root, path);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    }
    std::fs::write(&path, contents).map_err(|e| Error::io("write", &path, e))
}

/// The host's resolv.conf in the tree while APT runs there (a tree from mkosi has none that
/// works in a chroot: a link to systemd-resolved's, or nothing); what the tree had is put back.
struct HostResolver {
    path: PathBuf,
    before: Before,
}

/// What the tree had at /etc/resolv.conf.
enum Before {
    /// A file of its own (debootstrap's copy of the host's), used as it is.
    File,
    /// A link or something else, moved aside to here.
    MovedTo(PathBuf),
    Nothing,
}

impl HostResolver {
    fn new(root: &Path) -> Result<Self> {
        let path = in_root(root, "/etc/resolv.conf");
        let before = match path.symlink_metadata() {
            Ok(meta) if meta.is_file() => {
                return Ok(HostResolver {
                    path,
                    before: Before::File,
                })
            }
            Ok(_) => {
                let aside = in_root(root, "/etc/.resolv.conf.rootfs-builder");
                std::fs::rename(&path, &aside).map_err(|e| Error::io("move", &path, e))?;
                Before::MovedTo(aside)
            }
            Err(_) => Before::Nothing,
        };
        std::fs::copy("/etc/resolv.conf", &path).map_err(|e| Error::io("copy", &path, e))?;
        Ok(HostResolver { path, before })
    }

    fn restore(self) -> Result<()> {
        if matches!(self.before, Before::File) {
            return Ok(());
        }
        std::fs::remove_file(&self.path).map_err(|e| Error::io("remove", &self.path, e))?;
        match &self.before {
            Before::MovedTo(aside) => {
                std::fs::rename(aside, &self.path).map_err(|e| Error::io("move", aside, e))
            }
            _ => Ok(()),
        }
    }
}

/// /proc mounted in the tree while APT and the maintainer scripts run there; unmounted on drop
/// (a build that fails before has [`crate::mounts::remove_tree`] unmount it).
struct ProcMount(PathBuf);

impl ProcMount {
    fn new(root: &Path) -> Result<Self> {
        let target = in_root(root, "/proc");
        std::fs::create_dir_all(&target).map_err(|e| Error::io("create", &target, e))?;
        mount(
            Some("proc"),
            &target,
            Some("proc"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            None::<&str>,
        )
        .map_err(|e| Error::io("mount proc on", &target, std::io::Error::from(e)))?;
        Ok(ProcMount(target))
    }
}

impl Drop for ProcMount {
    fn drop(&mut self) {
        let _ = umount2(&self.0, MntFlags::MNT_DETACH);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forky() -> Pin {
        recipe::pin_for("trixie").unwrap()
    }

    #[test]
    fn the_source_and_the_pin_take_only_the_runtime_from_the_newer_suite() {
        let pin = forky();
        let sources = sources(&pin, "http://deb.debian.org/debian");
        assert!(sources.contains("\nSuites: forky\n"), "{sources}");
        assert!(sources.contains("\nURIs: http://deb.debian.org/debian\n"));
        assert!(sources.contains("\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"));
        let prefs = preferences(&pin, "trixie");
        assert!(
            prefs.ends_with(
                "Package: *\nPin: release n=forky\nPin-Priority: 1\n\n\
                 Package: containerd runc\nPin: release n=forky\nPin-Priority: 990\n"
            ),
            "{prefs}"
        );
        assert_eq!(
            preferences_path(&pin),
            "/etc/apt/preferences.d/kubeadm-nspawn-forky.pref"
        );
    }

    #[test]
    fn the_check_names_a_runtime_that_is_too_old_or_missing() {
        let root = tempfile::tempdir().unwrap();
        let status = root.path().join("var/lib/dpkg/status");
        std::fs::create_dir_all(status.parent().unwrap()).unwrap();
        let stanza = |p: &str, v: &str| {
            format!(
                "Package: {p}\nStatus: install ok installed\nArchitecture: amd64\nVersion: {v}\n"
            )
        };
        std::fs::write(
            &status,
            [
                stanza("runc", "1.3.6+ds1-1"),
                stanza("containerd", "2.1.9+ds1-5"),
            ]
            .join("\n"),
        )
        .unwrap();
        assert_eq!(
            check(root.path(), &forky()).unwrap(),
            [
                ("containerd".to_owned(), "2.1.9+ds1-5".to_owned()),
                ("runc".to_owned(), "1.3.6+ds1-1".to_owned())
            ]
        );
        std::fs::write(
            &status,
            [
                stanza("runc", "1.3.6+ds1-1"),
                stanza("containerd", "1.7.24~ds1-6+deb13u1"),
            ]
            .join("\n"),
        )
        .unwrap();
        let error = check(root.path(), &forky()).unwrap_err().to_string();
        assert!(
            error.contains("containerd from forky should be at least 2.1, but 1.7.24~ds1-6+deb13u1 was installed"),
            "{error}"
        );
        std::fs::write(&status, stanza("containerd", "2.1.9+ds1-5")).unwrap();
        let error = check(root.path(), &forky()).unwrap_err().to_string();
        assert!(error.contains("but none was installed"), "{error}");
    }

    #[test]
    fn the_host_resolver_stands_in_for_the_tree_s_and_goes_again() {
        if !Path::new("/etc/resolv.conf").is_file() {
            return; // nothing to stand in with
        }
        let host = std::fs::read("/etc/resolv.conf").unwrap();
        let root = tempfile::tempdir().unwrap();
        let etc = root.path().join("etc");
        std::fs::create_dir_all(&etc).unwrap();
        let conf = etc.join("resolv.conf");
        // mkosi's link to systemd-resolved's stub, dangling outside a booted node.
        std::os::unix::fs::symlink("../run/systemd/resolve/stub-resolv.conf", &conf).unwrap();
        let resolver = HostResolver::new(root.path()).unwrap();
        assert_eq!(std::fs::read(&conf).unwrap(), host);
        resolver.restore().unwrap();
        assert_eq!(
            std::fs::read_link(&conf).unwrap(),
            Path::new("../run/systemd/resolve/stub-resolv.conf")
        );
        assert_eq!(
            std::fs::read_dir(&etc).unwrap().count(),
            1,
            "nothing left aside"
        );

        std::fs::remove_file(&conf).unwrap();
        HostResolver::new(root.path()).unwrap().restore().unwrap();
        assert!(conf.symlink_metadata().is_err(), "none before, none after");

        std::fs::write(&conf, "nameserver 192.0.2.1\n").unwrap();
        HostResolver::new(root.path()).unwrap().restore().unwrap();
        assert_eq!(std::fs::read(&conf).unwrap(), b"nameserver 192.0.2.1\n");
    }
}
