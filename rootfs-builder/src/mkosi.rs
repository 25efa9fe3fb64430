//! `--method mkosi`: the same base through Debian's mkosi (version 14 in bookworm), as a plain
//! directory tree.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};
use crate::recipe;

/// mkosi's arguments for a build whose output directory is `output` (it must not exist yet).
pub fn args(suite: &str, mirror: &str, output: &Path) -> Vec<String> {
    vec![
        "--distribution=debian".into(),
        format!("--release={suite}"),
        format!("--mirror={mirror}"),
        "--format=directory".into(),
        format!("--output={}", output.display()),
        "--with-docs=no".into(),
        format!("--package={}", recipe::packages(suite).join(",")),
        "--force".into(),
        "build".into(),
    ]
}

/// mkosi announces each step with a line starting with ‣ (or the older "‣"-less "Installing"...).
pub fn is_phase(line: &str) -> bool {
    line.starts_with('‣') || line.contains("Error") || line.contains("error:")
}

/// mkosi works in the current directory (it reads mkosi.* files from there), so it runs in `workdir`.
pub fn build(suite: &str, mirror: &str, output: &Path, workdir: &Path, log: &Path) -> Result<()> {
    let mut cmd = Command::new("mkosi");
    cmd.args(args(suite, mirror, output)).current_dir(workdir);
    if !Path::new("/run/systemd/system").exists() {
        let wrappers = workdir.join("bin");
        write_keep_unit_wrapper(&wrappers)?;
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = vec![wrappers];
        dirs.extend(std::env::split_paths(&path));
        cmd.env("PATH", std::env::join_paths(dirs).unwrap_or(path));
    }
    crate::logged_command::run(cmd, log, is_phase)
}

/// mkosi 14 runs its in-image steps with `systemd-nspawn` but without `--keep-unit`, which fails
/// ("Failed to open system bus") on a host whose PID 1 is not systemd. A `systemd-nspawn` first on
/// mkosi's PATH adds the flag.
fn write_keep_unit_wrapper(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let real = which("systemd-nspawn").ok_or_else(|| Error::MissingProgram {
        program: "systemd-nspawn".into(),
        hint: "install systemd-container (apt-get install systemd-container)".into(),
    })?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    let wrapper = dir.join("systemd-nspawn");
    let script = format!("#!/bin/sh\nexec {} --keep-unit \"$@\"\n", real.display());
    std::fs::write(&wrapper, script).map_err(|e| Error::io("write", &wrapper, e))?;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| Error::io("chmod", &wrapper, e))
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wrapper_adds_keep_unit() {
        let dir = tempfile::tempdir().unwrap();
        if which("systemd-nspawn").is_none() {
            return; // the wrapper needs the real program to point at
        }
        write_keep_unit_wrapper(dir.path()).unwrap();
        let script = std::fs::read_to_string(dir.path().join("systemd-nspawn")).unwrap();
        assert!(
            script.starts_with("#!/bin/sh\nexec /")
                && script.ends_with("systemd-nspawn --keep-unit \"$@\"\n"),
            "{script}"
        );
    }

    #[test]
    fn args_build_a_directory_tree_of_the_recipe() {
        let a = args("bookworm", "http://m/debian", Path::new("/s/rootfs"));
        assert!(a.contains(&"--format=directory".to_string()));
        assert!(a.contains(&"--output=/s/rootfs".to_string()));
        assert!(a.iter().any(|x| x.starts_with("--package=systemd,")));
        assert_eq!(a.last().unwrap(), "build");
    }
}
