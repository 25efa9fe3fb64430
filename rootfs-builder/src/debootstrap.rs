//! `--method debootstrap` (the default): Debian's debootstrap, minbase variant plus the recipe's
//! packages (less the ones a suite's pin installs afterwards, [`crate::pin`]). About 45 s on these
//! machines.

use std::path::Path;
use std::process::Command;

use crate::error::Result;
use crate::recipe;

/// debootstrap's arguments for a build into `rootfs`.
pub fn args(suite: &str, mirror: &str, rootfs: &Path) -> Vec<String> {
    vec![
        "--variant=minbase".into(),
        format!("--include={}", recipe::packages(suite).join(",")),
        "--components=main".into(),
        suite.into(),
        rootfs.to_string_lossy().into_owned(),
        mirror.into(),
    ]
}

/// debootstrap's phase lines have several words ("Resolving dependencies of base packages...");
/// per-package lines ("Unpacking adduser...", "Retrieving libc6 2.36") are left to the log.
pub fn is_phase(line: &str) -> bool {
    let Some(text) = line.strip_prefix("I: ") else {
        return line.starts_with("E: ") || line.starts_with("W: ");
    };
    let words = text.split_whitespace().count();
    let per_package = [
        "Retrieving",
        "Validating",
        "Extracting",
        "Unpacking",
        "Configuring",
    ]
    .iter()
    .any(|verb| text.starts_with(verb))
        && words <= 3
        && !text.contains("Release")
        && !text.contains("Packages");
    !per_package || text.starts_with("Base system")
}

pub fn build(suite: &str, mirror: &str, rootfs: &Path, log: &Path) -> Result<()> {
    let mut cmd = Command::new("debootstrap");
    cmd.args(args(suite, mirror, rootfs));
    crate::logged_command::run(cmd, log, is_phase)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_carry_suite_mirror_and_packages() {
        let a = args(
            "bookworm",
            "http://deb.debian.org/debian",
            Path::new("/x/rootfs"),
        );
        assert_eq!(a[0], "--variant=minbase");
        assert!(a[1].starts_with("--include=systemd,systemd-sysv,dbus,containerd,runc,"));
        assert_eq!(
            &a[3..],
            ["bookworm", "/x/rootfs", "http://deb.debian.org/debian"]
        );
    }

    #[test]
    fn only_phase_lines_are_shown() {
        for shown in [
            "I: Retrieving InRelease",
            "I: Retrieving Packages",
            "I: Resolving dependencies of base packages...",
            "I: Unpacking the base system...",
            "I: Base system installed successfully.",
            "E: Couldn't download packages",
        ] {
            assert!(is_phase(shown), "{shown}");
        }
        for hidden in [
            "I: Retrieving adduser 3.134",
            "I: Unpacking libc6...",
            "I: Validating x 1.0",
            "dpkg: warning",
        ] {
            assert!(!is_phase(hidden), "{hidden}");
        }
    }
}
