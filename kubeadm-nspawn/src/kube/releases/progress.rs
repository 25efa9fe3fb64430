//! The download display: on a terminal one line per file (bytes, total, rate, a bar), redrawn in
//! place; elsewhere (CI logs, pipes) nothing but the summary the caller prints.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    bars: MultiProgress,
    style: ProgressStyle,
    /// Bytes received by every file, for the summary.
    total: AtomicU64,
}

impl Progress {
    pub fn new() -> Progress {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let style = ProgressStyle::with_template(
            "     {prefix:<34} {bytes:>10} / {total_bytes:<10} {binary_bytes_per_sec:>12} [{bar:24}]",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        Progress {
            bars: MultiProgress::with_draw_target(target),
            style,
            total: AtomicU64::new(0),
        }
    }

    /// A line for one file.
    pub fn file(&self, name: &str) -> FileProgress<'_> {
        let bar = self
            .bars
            .add(ProgressBar::new(0).with_style(self.style.clone()));
        bar.set_prefix(name.to_owned());
        FileProgress { bar, all: self }
    }

    pub fn bytes(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }
}

pub struct FileProgress<'a> {
    bar: ProgressBar,
    all: &'a Progress,
}

impl FileProgress<'_> {
    /// `total` when the server said it, then each chunk's size.
    pub fn update(&self, total: Option<u64>, chunk: u64) {
        if let Some(total) = total {
            self.bar.set_length(total);
        }
        self.bar.inc(chunk);
        self.all.total.fetch_add(chunk, Ordering::Relaxed);
    }

    pub fn done(&self) {
        self.bar.finish();
    }
}

impl Drop for FileProgress<'_> {
    fn drop(&mut self) {
        if !self.bar.is_finished() {
            self.bar.abandon();
        }
    }
}
