//! ginkgo's output read as it comes, for a live count of the specs: ginkgo v2's default reporter
//! (not verbose, `--no-color`) writes one character a spec that has nothing to show, without a
//! newline (`•` passed, `S` skipped, `P` pending), so a run of them grows on one line; a spec that
//! has something to show (a failure, captured output) is a block between two lines of 30 dashes,
//! whose header is `• [FAILED] [63.412 seconds]` (or `• [4.2 seconds]`, `S [SKIPPED]`,
//! `[SynchronizedBeforeSuite] [FAILED] ...` for a suite node) followed by the spec's name. The
//! suite ends with `Ran 5 of 7394 Specs in 118.902 seconds` and `FAIL! -- 4 Passed | 1 Failed |
//! 0 Pending | 7389 Skipped` (`SUCCESS!`, `FAIL! - Interrupted by User -- ...`), whose counts then
//! replace the ones counted on the way.
//!
//! Bytes come in chunks cut anywhere (inside a line, inside a `•`): counts are kept per character;
//! a line that turns out to begin a header or a word (`• [FAILED]`, `SUCCESS!`) takes back the
//! spec its first character was counted as.

use serde::Serialize;

/// The states of a failed spec as ginkgo writes them in a header (`• [TIMEDOUT] [...]`).
const FAILED_STATES: &[&str] = &["FAILED", "PANICKED", "TIMEDOUT", "INTERRUPTED", "ABORTED"];

/// The suite nodes, whose blocks are not specs (`[SynchronizedBeforeSuite] PASSED [0.061 seconds]`).
const SUITE_NODES: &[&str] = &[
    "BeforeSuite",
    "SynchronizedBeforeSuite",
    "AfterSuite",
    "SynchronizedAfterSuite",
    "ReportBeforeSuite",
    "ReportAfterSuite",
    "DeferCleanup (Suite)",
];

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub pending: usize,
    /// Passed after more than one attempt (counted in `passed` too).
    pub flaked: usize,
}

/// ginkgo's own account of the suite, at its end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Specs that ran (passed or failed), of `total` in the suite.
    pub ran: usize,
    pub total: usize,
    pub success: bool,
    /// Why the suite failed beyond its specs (`Interrupted by User`, `Suite Timeout Elapsed`,
    /// `A BeforeSuite node failed so all tests were skipped.`).
    pub reason: Option<String>,
    pub counts: Counts,
}

/// A spec (or suite node) that failed: its state (`FAILED`, `TIMEDOUT`, ...) and its name as
/// ginkgo writes it (`[sig-network] Services [It] should serve a basic endpoint from pods`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub state: String,
    pub spec: String,
}

/// What a chunk of output brought.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A whole line of output.
    Line(String),
    /// A spec failed.
    Failed(Failure),
    /// A suite node failed (every spec is skipped after a failed BeforeSuite).
    SuiteNodeFailed(Failure),
    /// The suite's summary.
    Summary(Summary),
}

/// The reading of one ginkgo run's output.
#[derive(Debug, Default)]
pub struct Progress {
    /// The start of a UTF-8 sequence cut by a chunk's end.
    partial: Vec<u8>,
    /// Inside an ANSI escape sequence (with colour on): 1 after ESC, 2 inside `ESC [`.
    escape: u8,
    line: String,
    /// Characters of `line`, and how many of them (from its start) are spec characters.
    chars: usize,
    run: usize,
    counted: Counts,
    failures: Vec<Failure>,
    suite_failures: Vec<Failure>,
    /// A failure header was the last line: the next one names its spec (true: a suite node).
    awaiting: Option<(String, bool)>,
    ran: Option<(usize, usize)>,
    summary: Option<Summary>,
}

impl Progress {
    pub fn new() -> Progress {
        Progress::default()
    }

    /// Reads a chunk of output.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Event> {
        let mut events = vec![];
        let mut pending = std::mem::take(&mut self.partial);
        pending.extend_from_slice(bytes);
        let mut rest = &pending[..];
        loop {
            match std::str::from_utf8(rest) {
                Ok(text) => {
                    self.text(text, &mut events);
                    break;
                }
                Err(e) => {
                    let (valid, bad) = rest.split_at(e.valid_up_to());
                    self.text(std::str::from_utf8(valid).unwrap_or_default(), &mut events);
                    match e.error_len() {
                        Some(n) => {
                            self.text("\u{FFFD}", &mut events);
                            rest = &bad[n..];
                        }
                        None => {
                            self.partial = bad.to_vec();
                            break;
                        }
                    }
                }
            }
        }
        events
    }

    /// The output has ended: a last line without its newline is read as a whole one.
    pub fn finish(&mut self) -> Vec<Event> {
        let mut events = vec![];
        if !std::mem::take(&mut self.partial).is_empty() {
            self.text("\u{FFFD}", &mut events);
        }
        if self.chars > 0 {
            self.end_line(&mut events);
        }
        events
    }

    /// The counts so far: ginkgo's summary's once it came.
    pub fn counts(&self) -> Counts {
        self.summary.as_ref().map_or(self.counted, |s| s.counts)
    }

    pub fn summary(&self) -> Option<&Summary> {
        self.summary.as_ref()
    }

    /// The failed specs, in the order they failed.
    pub fn failures(&self) -> &[Failure] {
        &self.failures
    }

    pub fn suite_failures(&self) -> &[Failure] {
        &self.suite_failures
    }

    fn text(&mut self, text: &str, events: &mut Vec<Event>) {
        for c in text.chars() {
            match (self.escape, c) {
                (0, '\x1b') => self.escape = 1,
                (1, '[') => self.escape = 2,
                (1, _) => self.escape = 0,
                (2, '\x40'..='\x7e') => self.escape = 0,
                (2, _) => {}
                (_, '\n') => self.end_line(events),
                (_, '\r') => {}
                (_, c) => self.push(c),
            }
        }
    }

    fn push(&mut self, c: char) {
        if self.run == self.chars {
            if self.tally(c, true) {
                self.run += 1;
            } else if self.run == 1 {
                // The one spec character began a header (`• [FAILED]`) or a word (`SUCCESS!`).
                if let Some(first) = self.line.chars().next() {
                    self.tally(first, false);
                }
            }
        }
        self.line.push(c);
        self.chars += 1;
    }

    /// Counts (or takes back) the spec `c` stands for; false when it stands for none.
    fn tally(&mut self, c: char, add: bool) -> bool {
        let slot = match c {
            '•' => &mut self.counted.passed,
            'S' => &mut self.counted.skipped,
            'P' => &mut self.counted.pending,
            _ => return false,
        };
        *slot = if add {
            *slot + 1
        } else {
            slot.saturating_sub(1)
        };
        true
    }

    fn end_line(&mut self, events: &mut Vec<Event>) {
        let line = std::mem::take(&mut self.line);
        let specs_only = self.run > 0 && self.run == self.chars;
        (self.run, self.chars) = (0, 0);
        events.push(Event::Line(line.clone()));
        if !specs_only {
            self.read_line(&line, events);
        }
    }

    fn read_line(&mut self, line: &str, events: &mut Vec<Event>) {
        if let Some((state, suite)) = self.awaiting.take() {
            let failure = Failure {
                state,
                spec: line.trim().to_owned(),
            };
            if suite {
                self.suite_failures.push(failure.clone());
                events.push(Event::SuiteNodeFailed(failure));
            } else {
                self.failures.push(failure.clone());
                events.push(Event::Failed(failure));
            }
            return;
        }
        if let Some(header) = header(line) {
            match header {
                Header::Passed { flaked } => {
                    self.counted.passed += 1;
                    self.counted.flaked += usize::from(flaked);
                }
                Header::Skipped => self.counted.skipped += 1,
                Header::Pending => self.counted.pending += 1,
                Header::Failed(state) => {
                    self.counted.failed += 1;
                    self.awaiting = Some((state, false));
                }
                Header::SuiteFailed(state) => self.awaiting = Some((state, true)),
                Header::SuitePassed => {}
            }
            return;
        }
        if let Some(ran) = ran_line(line) {
            self.ran = Some(ran);
            return;
        }
        if let Some(summary) = self.summary_line(line) {
            self.summary = Some(summary.clone());
            events.push(Event::Summary(summary));
        }
    }

    /// `SUCCESS! -- 2 Passed | ...`, `FAIL! - Interrupted by User -- ...`, or (after a status
    /// with several reasons, on a line of its own) the counts alone.
    fn summary_line(&self, line: &str) -> Option<Summary> {
        let (success, rest) = if let Some(rest) = line.strip_prefix("SUCCESS!") {
            (Some(true), rest)
        } else if let Some(rest) = line.strip_prefix("FAIL!") {
            (Some(false), rest)
        } else {
            (None, line)
        };
        let (reason, counts_text) = match success {
            Some(_) => {
                let (head, tail) = rest.split_once("--").unwrap_or((rest, ""));
                let reason = head.trim().trim_start_matches('-').trim();
                ((!reason.is_empty()).then(|| reason.to_owned()), tail.trim())
            }
            None => (None, rest.trim()),
        };
        let counts = parse_counts(counts_text);
        let (ran, total) = self.ran.unwrap_or((0, 0));
        match (success, counts, &self.summary) {
            (Some(success), counts, _) => Some(Summary {
                ran,
                total,
                success,
                // Not counts: what ginkgo says instead (`A BeforeSuite node failed ...`).
                reason: reason.or_else(|| {
                    (counts.is_none() && !counts_text.is_empty()).then(|| counts_text.to_owned())
                }),
                counts: counts.unwrap_or(Counts {
                    passed: 0,
                    failed: 0,
                    ..self.counted
                }),
            }),
            (None, Some(counts), Some(earlier)) => Some(Summary {
                counts,
                ..earlier.clone()
            }),
            _ => None,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Header {
    Passed { flaked: bool },
    Skipped,
    Pending,
    Failed(String),
    SuitePassed,
    SuiteFailed(String),
}

/// The header line of a spec's (or suite node's) block.
fn header(line: &str) -> Option<Header> {
    if let Some(rest) = line.strip_prefix("• ") {
        let (word, _) = bracketed(rest)?;
        if FAILED_STATES.contains(&word) {
            return Some(Header::Failed(word.to_owned()));
        }
        return word
            .strip_suffix(" seconds")
            .filter(|n| n.parse::<f64>().is_ok())
            .map(|_| Header::Passed { flaked: false });
    }
    if line.starts_with("↺ [FLAKEY TEST") {
        return Some(Header::Passed { flaked: true });
    }
    if line.starts_with("S [SKIPPED]") {
        return Some(Header::Skipped);
    }
    if line.starts_with("P [PENDING]") {
        return Some(Header::Pending);
    }
    let (node, rest) = bracketed(line)?;
    if !SUITE_NODES.contains(&node) {
        return None;
    }
    let rest = rest.trim_start();
    if rest.starts_with("PASSED") {
        return Some(Header::SuitePassed);
    }
    let (word, _) = bracketed(rest)?;
    FAILED_STATES
        .contains(&word)
        .then(|| Header::SuiteFailed(word.to_owned()))
}

/// `[word] rest` → (`word`, ` rest`).
fn bracketed(s: &str) -> Option<(&str, &str)> {
    s.strip_prefix('[')?.split_once(']')
}

/// `Ran 5 of 7394 Specs in 118.902 seconds`.
fn ran_line(line: &str) -> Option<(usize, usize)> {
    let mut words = line.strip_prefix("Ran ")?.split(' ');
    let ran = words.next()?.parse().ok()?;
    (words.next()? == "of").then_some(())?;
    let total = words.next()?.parse().ok()?;
    (words.next()? == "Specs").then_some((ran, total))
}

/// `4 Passed | 1 Failed | 1 Flaked | 0 Pending | 7389 Skipped` (Passed and Failed at least).
fn parse_counts(text: &str) -> Option<Counts> {
    let mut counts = Counts::default();
    let (mut passed, mut failed) = (false, false);
    for part in text.split('|') {
        let (n, word) = part.trim().split_once(' ')?;
        let n: usize = n.parse().ok()?;
        match word.trim() {
            "Passed" => (counts.passed, passed) = (n, true),
            "Failed" => (counts.failed, failed) = (n, true),
            "Pending" => counts.pending = n,
            "Skipped" => counts.skipped = n,
            "Flaked" => counts.flaked = n,
            "Repeated" => {}
            _ => return None,
        }
    }
    (passed && failed).then_some(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERIAL_PASSED: &str = include_str!("testdata/focused-serial-passed.txt");
    const PARALLEL_FAILED: &str = include_str!("testdata/parallel-one-failed.txt");
    const INTERRUPTED: &str = include_str!("testdata/interrupted.txt");
    const BEFORE_SUITE_FAILED: &str = include_str!("testdata/before-suite-failed.txt");

    /// The output fed in chunks of `size` bytes (cutting lines and `•`s anywhere); every event.
    fn read(output: &str, size: usize) -> (Progress, Vec<Event>) {
        let mut progress = Progress::new();
        let mut events = vec![];
        for chunk in output.as_bytes().chunks(size) {
            events.extend(progress.feed(chunk));
        }
        events.extend(progress.finish());
        (progress, events)
    }

    fn counts(passed: usize, failed: usize, skipped: usize) -> Counts {
        Counts {
            passed,
            failed,
            skipped,
            ..Counts::default()
        }
    }

    #[test]
    fn a_passed_focused_run_is_counted_on_the_way_and_summarized() {
        for size in [1, 2, 3, 7, 64, 4096, usize::MAX] {
            let (progress, events) = read(SERIAL_PASSED, size);
            let summary = progress.summary().unwrap();
            assert_eq!(
                summary,
                &Summary {
                    ran: 2,
                    total: 7394,
                    success: true,
                    reason: None,
                    counts: counts(2, 0, 7392),
                },
                "chunks of {size}"
            );
            // Counted from the stream alone, the same.
            assert_eq!(progress.counted, counts(2, 0, 7392), "chunks of {size}");
            assert!(progress.failures().is_empty());
            assert!(!events.iter().any(|e| matches!(e, Event::Failed(_))));
        }
    }

    #[test]
    fn a_failed_spec_is_named_as_it_fails() {
        for size in [1, 5, 100, usize::MAX] {
            let (progress, events) = read(PARALLEL_FAILED, size);
            let failure = Failure {
                state: "FAILED".into(),
                spec: "[sig-network] Services [It] should serve a basic endpoint from pods  \
                       [Conformance]"
                    .into(),
            };
            assert_eq!(
                progress.failures(),
                std::slice::from_ref(&failure),
                "chunks of {size}"
            );
            assert!(events.contains(&Event::Failed(failure)));
            // The suite nodes' blocks and the timeline's `[FAILED] in [It]` are no specs.
            assert_eq!(progress.counted, counts(4, 1, 7389), "chunks of {size}");
            let summary = progress.summary().unwrap();
            assert!(!summary.success);
            assert_eq!((summary.ran, summary.total), (5, 7394));
            assert_eq!(summary.counts, counts(4, 1, 7389));
            assert!(progress.suite_failures().is_empty());
        }
    }

    #[test]
    fn an_interrupted_run_says_so() {
        let (progress, _) = read(INTERRUPTED, 11);
        let summary = progress.summary().unwrap();
        assert_eq!(summary.reason.as_deref(), Some("Interrupted by User"));
        assert!(!summary.success);
        assert_eq!(summary.counts, counts(1, 1, 7392));
        assert_eq!(progress.failures()[0].state, "INTERRUPTED");
        assert_eq!(
            progress.failures()[0].spec,
            "[sig-apps] Deployment [It] deployment should support rollover [Conformance]"
        );
    }

    #[test]
    fn a_failed_before_suite_fails_no_spec_and_skips_them_all() {
        let (progress, events) = read(BEFORE_SUITE_FAILED, 9);
        assert!(progress.failures().is_empty());
        assert_eq!(progress.suite_failures()[0].state, "FAILED");
        assert!(events.iter().any(
            |e| matches!(e, Event::SuiteNodeFailed(f) if f.spec == "[SynchronizedBeforeSuite]")
        ));
        let summary = progress.summary().unwrap();
        assert!(!summary.success);
        assert_eq!(
            summary.reason.as_deref(),
            Some("A BeforeSuite node failed so all tests were skipped.")
        );
        assert_eq!(summary.counts, counts(0, 0, 7394));
    }

    #[test]
    fn a_lone_denoter_is_counted_at_once_and_taken_back_when_it_begins_a_header() {
        let mut progress = Progress::new();
        progress.feed("------------------------------\n•".as_bytes());
        assert_eq!(progress.counts(), counts(1, 0, 0), "a passed spec, so far");
        progress.feed(" [FAILED] [1.5 seconds]\n[sig-x] y [It] z\n".as_bytes());
        assert_eq!(progress.counts(), counts(0, 1, 0));
        progress.feed("S".as_bytes());
        assert_eq!(progress.counts(), counts(0, 1, 1));
        progress.feed("UCCESS! -- 0 Passed | 1 Failed | 0 Pending | 0 Skipped\n".as_bytes());
        assert_eq!(progress.counts(), counts(0, 1, 0));
        // A `•` cut in the middle of its three bytes.
        let mut progress = Progress::new();
        let dot = "•".as_bytes();
        progress.feed(&dot[..1]);
        assert_eq!(progress.counts(), counts(0, 0, 0));
        progress.feed(&dot[1..]);
        assert_eq!(progress.counts(), counts(1, 0, 0));
    }

    #[test]
    fn other_blocks_and_colours_are_read_as_ginkgo_means_them() {
        let output = "\x1b[38;5;10m•\x1b[0m\x1b[38;5;14mS\x1b[0m\n\
            ------------------------------\n\
            ↺ [FLAKEY TEST - TOOK 2 ATTEMPTS TO PASS] [12.001 seconds]\n\
            [sig-node] Pods [It] should be updated\n\
            ------------------------------\n\
            • [2.100 seconds]\n\
            [sig-node] Pods [It] should get a host IP\n\
            ------------------------------\n\
            S [SKIPPED] [0.000 seconds]\n\
            ------------------------------\n\
            • [TIMEDOUT] [300.000 seconds]\n\
            [sig-storage] PVC [It] binds\n\
            ------------------------------\n\
            P\n\
            Ran 4 of 10 Specs in 320.1 seconds\n\
            FAIL! - Suite Timeout Elapsed, Interrupted by User\n\
            3 Passed | 1 Failed | 1 Flaked | 1 Pending | 4 Skipped\n";
        let (progress, _) = read(output, 3);
        assert_eq!(
            progress.counted,
            Counts {
                passed: 3,
                failed: 1,
                skipped: 2,
                pending: 1,
                flaked: 1
            }
        );
        assert_eq!(progress.failures()[0].state, "TIMEDOUT");
        let summary = progress.summary().unwrap();
        assert_eq!(
            summary.reason.as_deref(),
            Some("Suite Timeout Elapsed, Interrupted by User")
        );
        assert_eq!(summary.counts.skipped, 4);
        assert_eq!(summary.counts.flaked, 1);
        assert_eq!((summary.ran, summary.total), (4, 10));
    }

    #[test]
    fn lines_are_handed_on_whole() {
        let (_, events) = read("one\ntwo\nSSS•", 2);
        let lines: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                Event::Line(l) => Some(l.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(lines, ["one", "two", "SSS•"]);
    }
}
