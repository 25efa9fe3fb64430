//! Every error of rootfs-builder, printed as its `main` prints it: URLs, entries and programs named
//! plainly, no Rust Debug text (kns_plumbing::plain).

use kns_plumbing::undo::WithCleanup;
use std::path::Path;

use kns_plumbing::every_variant;
use kns_plumbing::plain::assert_plain;
use tar::EntryType;

use crate::error::Error;
use crate::unpack::check_entry;
use crate::{BuildOptions, Method};

const URL: &str = "https://images.example/debian-12-amd64.tar.gz";

fn command_failed() -> Error {
    Error::Command {
        program: "debootstrap".into(),
        status: "exit status: 1".into(),
        tail: "E: Couldn't find these debs: systemd-container\n(full log: /var/cache/kubeadm-nspawn/rootfs/build.log)".into(),
    }
}

fn samples() -> Vec<(Error, &'static str)> {
    every_variant!(Error {
        Error::InvalidArgument(..) => (
            {
                let mut options = BuildOptions::new(Method::Debootstrap);
                options.suite = "../etc".into();
                options.validate().unwrap_err()
            },
            "--suite \"../etc\" is not a Debian suite name",
        ), (
            {
                let mut options = BuildOptions::new(Method::Download);
                options.url = Some(URL.into());
                options.sha256 = Some("abc".into());
                options.validate().unwrap_err()
            },
            "--sha256 \"abc\" is not 64 hex digits",
        );
        Error::NotRoot => (Error::NotRoot, "rootfs-builder needs root (");
        Error::Io(_) => (
            Error::io(
                "create",
                "/var/cache/kubeadm-nspawn/rootfs",
                std::io::Error::from_raw_os_error(libc::ENOSPC),
            ),
            "error: create /var/cache/kubeadm-nspawn/rootfs: No space left on device (os error 28)\n",
        );
        Error::Command { .. } => (
            command_failed(),
            "debootstrap failed (exit status: 1); the last lines it printed:\n  | E: Couldn't find these debs",
        );
        Error::MissingProgram { .. } => (
            Error::MissingProgram {
                program: "debootstrap".into(),
                hint: "install it (apt-get install debootstrap) or run scripts/setup-host".into(),
            },
            "error: debootstrap is not installed\nhint: install it (apt-get install debootstrap)",
        );
        Error::Download { .. } => (
            Error::Download { url: URL.into(), msg: "http status: 404".into() },
            "download https://images.example/debian-12-amd64.tar.gz: http status: 404",
        );
        Error::Checksum { .. } => (
            crate::download::verify(URL, &"a".repeat(64), &"b".repeat(64)).unwrap_err(),
            "sha256 mismatch for https://images.example/debian-12-amd64.tar.gz: expected aaaa",
        );
        Error::UnsafeEntry { .. } => (
            check_entry(
                "etc/shadow",
                Path::new("etc/shadow"),
                EntryType::Symlink,
                Some("../../../etc/shadow"),
            )
            .unwrap_err(),
            "unsafe archive entry \"etc/shadow\": symlink to \"../../../etc/shadow\" escapes the root",
        );
        Error::Archive(..) => (
            Error::Archive("corrupt or truncated: unexpected EOF".into()),
            "archive: corrupt or truncated: unexpected EOF; nothing was added to the cache",
        );
        Error::Interrupted => (Error::Interrupted, "interrupted by a signal; the partial build was removed");
        Error::Cleanup(_) => (
            command_failed().with_cleanup(Err(Error::io(
                "remove",
                "/var/cache/kubeadm-nspawn/rootfs/partial",
                std::io::Error::from_raw_os_error(libc::EBUSY),
            ))),
            "cleaning up after it also failed: remove /var/cache/kubeadm-nspawn/rootfs/partial: Device or resource busy",
        ), (
            Error::MissingProgram {
                program: "mkosi".into(),
                hint: "install it (apt-get install mkosi) or run scripts/setup-host".into(),
            }
            .with_cleanup(Err(Error::Interrupted)),
            "hint: install it (apt-get install mkosi)",
        );
    })
}

#[test]
fn every_error_names_things_plainly() {
    assert_plain(samples());
}
