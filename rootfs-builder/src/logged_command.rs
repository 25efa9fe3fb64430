//! Running a long build program (debootstrap, mkosi) with its whole output in a log file and only its
//! phase lines on stderr, so the user sees progress without hundreds of per-package lines; on failure
//! the error carries the log's last lines.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::error::{Error, Result};

const TAIL_LINES: usize = 15;

/// Runs `cmd`, appending stdout and stderr to `log`. Lines for which `is_phase` is true are echoed to
/// stderr with the elapsed time.
pub fn run(mut cmd: Command, log: &Path, is_phase: fn(&str) -> bool) -> Result<()> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut log_file = File::options()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| Error::io("open", log, e))?;
    let (reader, writer) = std::io::pipe().map_err(|e| Error::io("pipe for", &program, e))?;
    let writer_err = writer
        .try_clone()
        .map_err(|e| Error::io("pipe for", &program, e))?;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(writer_err)
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::MissingProgram {
                program: program.clone(),
                hint: format!("install it (apt-get install {program}) or run scripts/setup-host"),
            },
            _ => Error::io("run", &program, e),
        })?;
    // The parent's copies of the write ends went into `cmd`; drop it so EOF arrives when the
    // child exits.
    drop(cmd);
    let started = Instant::now();
    let mut tail: Vec<String> = Vec::with_capacity(TAIL_LINES);
    for line in BufReader::new(reader).lines() {
        let Ok(line) = line else { break };
        let _ = writeln!(log_file, "{line}");
        if is_phase(&line) {
            eprintln!("  [{:>4.0}s] {line}", started.elapsed().as_secs_f64());
        }
        if tail.len() == TAIL_LINES {
            tail.remove(0);
        }
        tail.push(line);
    }
    let status = child
        .wait()
        .map_err(|e| Error::io("wait for", &program, e))?;
    if status.success() {
        return Ok(());
    }
    Err(Error::Command {
        program,
        status: status.to_string(),
        tail: format!("{}\n(full log: {})", tail.join("\n"), log.display()),
    })
}
