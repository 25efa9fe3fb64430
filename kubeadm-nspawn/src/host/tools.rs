//! The sibling tools (cnispawn, rootfs-builder, image-pusher), run as programs: found next to this
//! executable first, then on PATH. Their result is the one JSON line on stdout; their stderr is
//! passed through as progress, or quoted in the error.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

use kns_plumbing::report::Report;
use kns_plumbing::terminal::verbose;
use serde_json::Value;

use super::error::{Error, Result};

/// The path of a sibling tool.
pub fn path(tool: &str) -> PathBuf {
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.to_path_buf()))
    {
        let beside = dir.join(tool);
        if beside.is_file() {
            return beside;
        }
    }
    PathBuf::from(tool)
}

/// Runs `tool args`, its stderr passed on line by line (progress; above a step's live line), and
/// parses its JSON line.
pub fn run_json(tool: &str, args: &[&str]) -> Result<Value> {
    let child = spawn_piped(tool, args).map_err(|e| {
        Error::tool(
            tool,
            format!("cannot run it ({e}): build the workspace or put it on PATH"),
        )
    })?;
    let out = wait_streaming(child, |line| kns_plumbing::say!("{line}"))
        .map_err(|e| Error::tool(tool, format!("cannot wait for it: {e}")))?;
    if !out.status.success() {
        return Err(Error::tool(
            tool,
            format!("{} (its error is above)", out.status),
        ));
    }
    parse_line(tool, &out.stdout)
}

/// Runs `tool args` quietly (with `-v`, its stderr shown as it comes); its stderr becomes the error
/// message.
pub fn run_quiet(tool: &str, args: &[&str]) -> Result<Value> {
    let cannot_run = |e: std::io::Error| Error::tool(tool, format!("cannot run it: {e}"));
    let out = if verbose() {
        let child = spawn_piped(tool, args).map_err(cannot_run)?;
        wait_streaming(child, |line| kns_plumbing::say!("   | {tool}: {line}"))
            .map_err(cannot_run)?
    } else {
        kns_plumbing::child::die_with_parent(&mut Command::new(path(tool)))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(cannot_run)?
    };
    if !out.status.success() {
        // Every tool reports failures in the one format of kns_plumbing::report.
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(match Report::parse(&stderr) {
            Some(report) => Error::Tool {
                tool: tool.into(),
                message: report.message(),
                hint: report.hint,
            },
            None => Error::tool(tool, format!("{} ({})", out.status, stderr.trim())),
        });
    }
    parse_line(tool, &out.stdout)
}

/// `tool args` started with its stdout and stderr piped.
fn spawn_piped(tool: &str, args: &[&str]) -> std::io::Result<Child> {
    kns_plumbing::child::die_with_parent(&mut Command::new(path(tool)))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
}

/// Waits for `child`, handing each line of its stderr to `each_line` as it comes; the lines are
/// also the output's stderr.
fn wait_streaming(mut child: Child, mut each_line: impl FnMut(&str)) -> std::io::Result<Output> {
    let mut stderr = Vec::new();
    if let Some(pipe) = child.stderr.take() {
        for line in std::io::BufReader::new(pipe).lines().map_while(|l| l.ok()) {
            each_line(&line);
            stderr.extend_from_slice(line.as_bytes());
            stderr.push(b'\n');
        }
    }
    let mut out = child.wait_with_output()?;
    out.stderr = stderr;
    Ok(out)
}

pub fn parse_line(tool: &str, stdout: &[u8]) -> Result<Value> {
    let text = String::from_utf8_lossy(stdout);
    let line = text.lines().next().unwrap_or_default();
    serde_json::from_str(line)
        .map_err(|e| Error::tool(tool, format!("printed no JSON line ({e}): \"{line}\"")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_first_line() {
        assert_eq!(parse_line("t", b"{\"a\":1}\nmore\n").unwrap()["a"], 1);
        assert!(parse_line("t", b"nope")
            .unwrap_err()
            .to_string()
            .contains("printed no JSON line"));
    }
}
