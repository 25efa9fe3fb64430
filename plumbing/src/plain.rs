//! What every tool's tests check of its messages: each error, printed as its `main` prints it
//! ([`crate::report`]), names things plainly (`cluster "dev"`, `node "dev-n0"`, `90 s`), with no
//! Rust Debug text (`Some(..)`, `ClusterName("dev")`, `\"`, `["a", "b"]`, `1.5s`, `Os { code: 2,
//! .. }`) and no cause said twice.
//!
//! A tool's test lists a sample of every variant of each error enum with [`every_variant!`](crate::every_variant),
//! whose `match` has no wildcard arm: a variant added without a sample does not compile.

use crate::report::{Hint, Report};

/// Samples of every variant of an error enum, each with a text its message must say:
///
/// ```ignore
/// let samples = kns_plumbing::every_variant!(Error {
///     Error::NotRoot => (Error::NotRoot, "run it as root");
///     Error::Io { .. } => (Error::Io { .. }, "read /etc/x"), (Error::Io { .. }, "write /etc/y");
/// });
/// ```
///
/// makes a `Vec<(Error, &str)>`. The patterns are the arms of a `match` without a wildcard, so a
/// variant without a sample does not compile; each sample is checked to be of its arm's variant.
#[macro_export]
macro_rules! every_variant {
    ($ty:ty { $($pattern:pat => $(($sample:expr, $says:expr $(,)?)),+ $(,)? ;)+ }) => {{
        fn every_variant_has_a_sample(error: &$ty) {
            match error {
                $($pattern => {})+
            }
        }
        #[allow(clippy::vec_init_then_push)]
        let mut samples: Vec<($ty, &'static str)> = Vec::new();
        $($(
            let sample: $ty = $sample;
            every_variant_has_a_sample(&sample);
            assert!(
                matches!(&sample, $pattern),
                "the sample {} is not a {}",
                stringify!($sample),
                stringify!($pattern)
            );
            samples.push((sample, $says));
        )+)+
        samples
    }};
}

/// `error` as its tool prints it on stderr: the report of its cause chain, with its hint.
pub fn printed<E: Hint + std::error::Error + Send + Sync + 'static>(error: E) -> String {
    let hint = error.hint();
    Report::of(&anyhow::Error::new(error), hint).render()
}

/// An error without hints of its own (a struct that an enum with hints lifts), as [`assert_plain`]
/// takes it.
#[derive(Debug)]
pub struct NoHint<E>(pub E);

impl<E: std::fmt::Display> std::fmt::Display for NoHint<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<E: std::error::Error> std::error::Error for NoHint<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl<E> Hint for NoHint<E> {
    fn hint(&self) -> Option<String> {
        None
    }
}

/// What is wrong with how `error` is printed: Debug text, a cause said twice, an empty hint, or
/// not saying `says`. Empty when nothing is.
pub fn problems<E: Hint + std::error::Error + Send + Sync + 'static>(
    error: E,
    says: &str,
) -> (String, Vec<String>) {
    let causes: Vec<String> = std::error::Error::source(&error)
        .into_iter()
        .flat_map(|s| std::iter::successors(Some(s), |s| s.source()))
        .map(|s| s.to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let hint = error.hint();
    let text = printed(error);
    let mut problems: Vec<String> = debug_artefacts(&text)
        .into_iter()
        .map(|a| format!("Debug text `{a}`"))
        .collect();
    for cause in causes {
        if text.matches(&cause).count() > 1 {
            problems.push(format!("says its cause twice: {cause}"));
        }
    }
    if hint.is_some_and(|h| h.trim().is_empty()) {
        problems.push("an empty hint".into());
    }
    if !text.contains(says) {
        problems.push(format!("does not say `{says}`"));
    }
    (text, problems)
}

/// Fails unless every sample is printed plainly and says what it must ([`problems`]); the
/// failure lists every sample that is not, and `--nocapture` shows every message.
pub fn assert_plain<E: Hint + std::error::Error + Send + Sync + 'static>(samples: Vec<(E, &str)>) {
    let mut failures = vec![];
    for (error, says) in samples {
        let (text, problems) = problems(error, says);
        print!("{text}");
        if !problems.is_empty() {
            failures.push(format!("{text}  -> {}", problems.join("; ")));
        }
    }
    assert!(
        failures.is_empty(),
        "messages that are not plain:\n{}",
        failures.join("\n")
    );
}

/// The pieces of Rust Debug formatting in `text`, as found.
pub fn debug_artefacts(text: &str) -> Vec<String> {
    const LITERALS: &[&str] = &[
        "ClusterName(",
        "NodeName(",
        "Some(",
        "Ok(",
        "Err(",
        "Os { code",
        "Kind(",
        "Custom {",
        "PathBuf",
        "\\\"",
        "\\n",
        "\\'",
        "[\"",
        "{:?}",
    ];
    let mut found: Vec<String> = LITERALS
        .iter()
        .filter(|l| text.contains(*l))
        .map(|l| l.to_string())
        .collect();
    found.extend(words(text).filter(|w| *w == "None").map(str::to_owned));
    found.extend(struct_debug(text));
    found.extend(duration_debug(text));
    found
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !is_word(c)).filter(|w| !w.is_empty())
}

/// `Name { field: ...`: a struct's Debug.
fn struct_debug(text: &str) -> Vec<String> {
    text.match_indices(" { ")
        .filter_map(|(at, _)| {
            let before = text[..at].chars().next_back()?;
            let after = &text[at + 3..];
            let field: String = after.chars().take_while(|c| is_word(*c)).collect();
            let rest = &after[field.len()..];
            (is_word(before) && !field.is_empty() && rest.starts_with(": ")).then(|| {
                let start = text[..at].rfind(|c: char| !is_word(c)).map_or(0, |i| i + 1);
                text[start..at + 3 + field.len() + 1].to_owned()
            })
        })
        .collect()
}

/// `5s`, `1.5s`, `250ms`, `3µs`, `10ns`: a Duration's Debug (messages say `5 s`).
fn duration_debug(text: &str) -> Vec<String> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut found = vec![];
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        let starts_number =
            c.is_ascii_digit() && (i == 0 || !(is_word(chars[i - 1].1) || chars[i - 1].1 == '.'));
        if !starts_number {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < chars.len() && (chars[j].1.is_ascii_digit() || chars[j].1 == '.') {
            j += 1;
        }
        let unit_end = ["ns", "µs", "ms", "s"].iter().find_map(|unit| {
            let mut k = j;
            for u in unit.chars() {
                if k < chars.len() && chars[k].1 == u {
                    k += 1;
                } else {
                    return None;
                }
            }
            (k == chars.len() || !is_word(chars[k].1)).then_some(k)
        });
        if let Some(k) = unit_end {
            let end = chars.get(k).map_or(text.len(), |(at, _)| *at);
            found.push(text[start..end].to_owned());
        }
        i = j.max(i + 1);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_text_is_found() {
        let name = Some("dev".to_owned());
        let nothing: Option<u32> = None;
        let io = std::io::Error::from_raw_os_error(2);
        for (debug, artefact) in [
            (format!("cluster {name:?}"), "Some("),
            (format!("pid {nothing:?}"), "None"),
            (format!("names {:?}", ["a", "b"]), "[\""),
            (format!("name {:?}", "a\"b"), "\\\""),
            (
                format!("after {:?}", std::time::Duration::from_secs(5)),
                "5s",
            ),
            (
                format!("after {:?}", std::time::Duration::from_millis(1500)),
                "1.5s",
            ),
            (
                format!("after {:?}", std::time::Duration::from_millis(250)),
                "250ms",
            ),
            (format!("read: {io:?}"), "Os { code"),
            (format!("{:?}", Report::default()), "Report { what:"),
        ] {
            let found = debug_artefacts(&debug);
            assert!(found.iter().any(|f| f == artefact), "{debug}: {found:?}");
        }
    }

    #[test]
    fn plain_text_is_not_debug_text() {
        for plain in [
            "cluster \"dev\" is stopped (0 of 3 nodes running)",
            "node \"dev-n0\" did not boot within 1.50 s; the end of its log:\n[  OK  ] x",
            "k8s v1.28.7: sha256 e3b0c44298fc1c14, sha256s of 2 files",
            "none of the nodes; `a { b }`; {x}; 10.0.0.0/8; 5 s; json: {\"a\": 1}",
        ] {
            assert_eq!(debug_artefacts(plain), Vec::<String>::new(), "{plain}");
        }
    }

    #[derive(Debug, thiserror::Error)]
    enum Sample {
        #[error("no cluster \"{0}\"")]
        NoCluster(String),
        #[error("read {path}: {source}")]
        Read {
            path: String,
            source: std::io::Error,
        },
    }

    impl Hint for Sample {
        fn hint(&self) -> Option<String> {
            match self {
                Sample::NoCluster(name) => Some(format!("`up --name {name}` makes it")),
                Sample::Read { .. } => None,
            }
        }
    }

    #[test]
    fn every_variant_lists_samples_with_what_they_say() {
        let samples = crate::every_variant!(Sample {
            Sample::NoCluster(..) => (Sample::NoCluster("dev".into()), "no cluster \"dev\"");
            Sample::Read { .. } => (
                Sample::Read {
                    path: "/etc/x".into(),
                    source: std::io::Error::from_raw_os_error(2),
                },
                "read /etc/x: ",
            );
        });
        assert_eq!(samples.len(), 2);
        assert_plain(samples);
        let (text, problems) = problems(Sample::NoCluster("Dev".into()), "dev");
        assert_eq!(
            text,
            "error: no cluster \"Dev\"\nhint: `up --name Dev` makes it\n"
        );
        assert_eq!(problems, ["does not say `dev`"]);
    }
}
