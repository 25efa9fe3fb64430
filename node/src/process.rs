//! A node seen from the host's /proc: the systemd-nspawn process that carries `--machine=<node>`,
//! and its first child, the node's systemd (the "leader", PID 1 inside the node).

/// The NUL-separated command line of `pid`, or None when the process is gone. Empty for a zombie,
/// a kernel thread, and for a moment inside execve (see [`crate::liveness`]).
pub fn cmdline(pid: u32) -> Option<Vec<String>> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(
        raw.split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect(),
    )
}

/// The `--machine` / `-M` of a systemd-nspawn command line; None for any other program.
pub fn machine_name(argv: &[String]) -> Option<String> {
    let program = argv.first()?;
    if program.rsplit('/').next() != Some("systemd-nspawn") {
        return None;
    }
    let mut args = argv[1..].iter();
    while let Some(arg) = args.next() {
        if let Some(name) = arg.strip_prefix("--machine=") {
            return Some(name.into());
        }
        if arg == "--machine" || arg == "-M" {
            return args.next().cloned();
        }
        if let Some(name) = arg.strip_prefix("-M").filter(|n| !n.is_empty()) {
            return Some(name.into());
        }
    }
    None
}

/// The PID of the systemd-nspawn running machine `name`, if any.
pub fn find_nspawn(name: &str) -> std::io::Result<Option<u32>> {
    Ok(std::fs::read_dir("/proc")?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .find(|pid| cmdline(*pid).and_then(|c| machine_name(&c)).as_deref() == Some(name)))
}

/// The leader of the node whose systemd-nspawn is `nspawn_pid`: nspawn's first child, the node's
/// systemd. None while nspawn has not forked it yet, or once it is gone.
pub fn leader(nspawn_pid: u32) -> Option<u32> {
    let children =
        std::fs::read_to_string(format!("/proc/{nspawn_pid}/task/{nspawn_pid}/children")).ok()?;
    children.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    #[test]
    fn machine_names_come_from_nspawn_command_lines_only() {
        for (line, want) in [
            (
                "/usr/bin/systemd-nspawn -D /r --machine=c-n0 -b",
                Some("c-n0"),
            ),
            ("systemd-nspawn -b --machine c-n1", Some("c-n1")),
            ("systemd-nspawn -M c-n2 -b", Some("c-n2")),
            ("systemd-nspawn -Mc-n3", Some("c-n3")),
            ("systemd-nspawn -D /r -b", None),
            ("sleep --machine=c-n0", None),
        ] {
            assert_eq!(machine_name(&argv(line)).as_deref(), want, "{line}");
        }
    }

    #[test]
    fn this_process_has_a_command_line_and_no_leader() {
        let me = std::process::id();
        assert!(!cmdline(me).unwrap().is_empty());
        assert_eq!(find_nspawn("knst-no-such-machine").unwrap(), None);
    }
}
