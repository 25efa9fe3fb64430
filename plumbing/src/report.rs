//! The one stderr error format of every kubeadm-nspawn tool, written by each tool's `main` and read
//! back by the orchestrator when it runs a tool quietly:
//!
//! ```text
//! error: <what failed, the whole cause chain on one line>
//!   | <detail: e.g. the tail of a failed program's log, one line each>
//! hint: <what to do about it>            (only where there is something to say)
//! ```
//!
//! The first line alone is a complete message; `  |` lines and the `hint:` line are optional.

use std::process::ExitCode;

/// Where the hint of an error comes from: each tool's error type knows which of its failures have
/// something to do about them.
pub trait Hint {
    fn hint(&self) -> Option<String>;
}

/// A failure as printed: what, detail lines, and a hint.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    pub what: String,
    pub detail: Vec<String>,
    pub hint: Option<String>,
}

impl Report {
    /// The report of `error`: its cause chain on one line (as `{:#}` puts it, but without a cause
    /// the text before it already says: most errors quote their source), first line as `what`,
    /// the rest as detail.
    pub fn of(error: &anyhow::Error, hint: Option<String>) -> Report {
        let message = chain(error);
        let mut lines = message.lines().filter(|l| !l.trim().is_empty());
        Report {
            what: lines.next().unwrap_or("failed").to_owned(),
            detail: lines.map(str::to_owned).collect(),
            hint,
        }
    }

    /// The report as printed on stderr, every line ending in a newline.
    pub fn render(&self) -> String {
        let mut out = format!("error: {}\n", self.what);
        for line in &self.detail {
            out.push_str(&format!("  | {line}\n"));
        }
        if let Some(hint) = &self.hint {
            out.push_str(&format!("hint: {hint}\n"));
        }
        out
    }

    /// The last report in a tool's stderr (progress lines before it are skipped), or None when the
    /// tool printed none.
    pub fn parse(stderr: &str) -> Option<Report> {
        let lines: Vec<&str> = stderr.lines().collect();
        let start = lines.iter().rposition(|l| l.starts_with("error: "))?;
        let mut report = Report {
            what: lines[start]["error: ".len()..].to_owned(),
            ..Report::default()
        };
        for line in &lines[start + 1..] {
            if let Some(detail) = line.strip_prefix("  | ") {
                report.detail.push(detail.to_owned());
            } else if let Some(hint) = line.strip_prefix("hint: ") {
                report.hint = Some(hint.to_owned());
            }
        }
        Some(report)
    }

    /// `what` with the detail lines below it: the form an orchestrator quotes in its own error.
    pub fn message(&self) -> String {
        std::iter::once(self.what.as_str())
            .chain(self.detail.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// `error` and each cause below it that the text so far does not already say, joined by `: `.
fn chain(error: &anyhow::Error) -> String {
    let mut message = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !message.contains(&cause) {
            message.push_str(": ");
            message.push_str(&cause);
        }
    }
    message
}

/// The end of every tool's `main`: success is the exit code `T` converts to; a failure is printed
/// as a [`Report`] (with the hint `hint` finds in it) and exits 1.
pub fn exit<T: Into<ExitCode>>(
    result: anyhow::Result<T>,
    hint: impl Fn(&anyhow::Error) -> Option<String>,
) -> ExitCode {
    match result {
        Ok(code) => code.into(),
        Err(error) => {
            eprint!("{}", Report::of(&error, hint(&error)).render());
            ExitCode::FAILURE
        }
    }
}

/// The hint of the first error of type `E` in `error`'s chain, for [`exit`].
pub fn hint_of<E: Hint + std::error::Error + Send + Sync + 'static>(
    error: &anyhow::Error,
) -> Option<String> {
    error
        .chain()
        .find_map(|cause| cause.downcast_ref::<E>())
        .and_then(Hint::hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Missing;
    impl std::fmt::Display for Missing {
        fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            write!(f, "no cluster \"x\"")
        }
    }
    impl std::error::Error for Missing {}
    impl Hint for Missing {
        fn hint(&self) -> Option<String> {
            Some("kubeadm-nspawn up --name x".into())
        }
    }

    #[test]
    fn renders_what_detail_and_hint_and_reads_them_back() {
        let error = anyhow::Error::new(Missing).context("init");
        let report = Report::of(&error, hint_of::<Missing>(&error));
        assert_eq!(report.what, "init: no cluster \"x\"");
        let text = report.render();
        assert_eq!(
            text,
            "error: init: no cluster \"x\"\nhint: kubeadm-nspawn up --name x\n"
        );
        let progress = format!(" • step ...\n{text}");
        assert_eq!(Report::parse(&progress), Some(report));
    }

    #[derive(Debug, thiserror::Error)]
    #[error("read /etc/x: {source}")]
    struct Quoting {
        source: std::io::Error,
    }

    #[test]
    fn a_cause_the_message_already_says_is_not_said_again() {
        let source = std::io::Error::from_raw_os_error(libc::ENOENT);
        let said = source.to_string();
        let error = anyhow::Error::new(Quoting { source }).context("init");
        assert_eq!(
            Report::of(&error, None).what,
            format!("init: read /etc/x: {said}")
        );
    }

    #[test]
    fn further_lines_are_detail() {
        let error = anyhow::anyhow!("debootstrap failed\nE: no space\nE: gave up");
        let report = Report::of(&error, None);
        assert_eq!(report.detail, ["E: no space", "E: gave up"]);
        assert_eq!(
            report.render(),
            "error: debootstrap failed\n  | E: no space\n  | E: gave up\n"
        );
        assert_eq!(
            Report::parse(&report.render()).unwrap().message(),
            error.to_string()
        );
        assert_eq!(Report::parse("progress only\n"), None);
    }
}

/// A duration as messages say it: `90 s`, `1.5 s`, `0.25 s`.
pub fn seconds(d: std::time::Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else if s >= 10.0 {
        format!("{s:.1} s")
    } else {
        format!("{:.2} s", s).replace(".00 ", " ")
    }
}

#[cfg(test)]
mod seconds_tests {
    #[test]
    fn durations_read_as_seconds() {
        use std::time::Duration;
        assert_eq!(super::seconds(Duration::from_secs(300)), "300 s");
        assert_eq!(super::seconds(Duration::from_millis(1500)), "1.50 s");
        assert_eq!(super::seconds(Duration::from_millis(12345)), "12.3 s");
    }
}
