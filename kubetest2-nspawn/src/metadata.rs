//! What kubetest2 writes into ARTIFACTS for a run (pkg/app/app.go, pkg/metadata): metadata.json,
//! a flat JSON object of strings (`kubetest-version` from `$KUBETEST2_VERSION`, this
//! deployer's `deployer-version`), and junit_runner.xml, one `<testsuite name="kubetest2">` with
//! a `<testcase>` per phase run (Build, Up, PreTestCmd, Test, PostTestCmd, Down): its time in
//! seconds, and for a failed one its error as `<failure>` and the end of its output as
//! `<system-out>`.

use std::time::Instant;

/// metadata.json's text, as Go's encoding/json writes a map (keys sorted, no spaces).
pub fn metadata_json(kubetest2_version: &str, deployer_version: &str) -> String {
    let mut map = serde_json::Map::new();
    map.insert("deployer-version".into(), deployer_version.into());
    map.insert("kubetest-version".into(), kubetest2_version.into());
    serde_json::Value::Object(map).to_string()
}

/// One phase's outcome, a `<testcase>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub name: String,
    pub seconds: f64,
    pub failure: Option<String>,
    pub system_out: Option<String>,
}

/// The run's `<testsuite>`, its cases added as the phases end.
#[derive(Debug)]
pub struct Suite {
    pub name: String,
    pub cases: Vec<Case>,
    started: Instant,
}

impl Suite {
    pub fn new(name: &str) -> Suite {
        Suite {
            name: name.to_owned(),
            cases: vec![],
            started: Instant::now(),
        }
    }

    /// junit_runner.xml's text, as kubetest2's writer lays it out (Go's encoding/xml, indented
    /// by four spaces, the header on the same line as the suite).
    pub fn render(&self) -> String {
        let failures = self.cases.iter().filter(|c| c.failure.is_some()).count();
        let mut out = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><testsuite name=\"{}\" failures=\"{failures}\" \
             tests=\"{}\" time=\"{}\">",
            escape(&self.name, true),
            self.cases.len(),
            go_float(self.started.elapsed().as_secs_f64()),
        );
        for case in &self.cases {
            out.push_str(&format!(
                "\n    <testcase name=\"{}\" classname=\"{}\" time=\"{}\">",
                escape(&case.name, true),
                escape(&self.name, true),
                go_float(case.seconds)
            ));
            let mut inner = false;
            for (element, text) in [("failure", &case.failure), ("system-out", &case.system_out)] {
                if let Some(text) = text.as_ref().filter(|t| !t.is_empty()) {
                    out.push_str(&format!(
                        "\n        <{element}>{}</{element}>",
                        escape(text, false)
                    ));
                    inner = true;
                }
            }
            if inner {
                out.push_str("\n    ");
            }
            out.push_str("</testcase>");
        }
        out.push_str("\n</testsuite>");
        out
    }
}

/// XML text or an attribute's value, escaped as Go's encoding/xml does it; a character XML
/// cannot hold (a terminal's escape codes in a program's output) becomes U+FFFD.
fn escape(text: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '\t' => out.push_str("&#x9;"),
            '\n' if attribute => out.push_str("&#xA;"),
            '\n' => out.push('\n'),
            '\r' => out.push_str("&#xD;"),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// A float64 as Go's encoding/xml writes it (strconv's shortest 'g': an exponent below 1e-4 and
/// from 1e21).
fn go_float(value: f64) -> String {
    if value != 0.0 && (value.abs() < 1e-4 || value.abs() >= 1e21) {
        let text = format!("{value:e}");
        match text.split_once('e') {
            Some((mantissa, exponent)) => {
                let (sign, digits) = match exponent.strip_prefix('-') {
                    Some(digits) => ('-', digits),
                    None => ('+', exponent),
                };
                format!("{mantissa}e{sign}{digits:0>2}")
            }
            None => text,
        }
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kns_upstream_api::kubetest2::{parse_junit, TestSuite};

    #[test]
    fn metadata_json_is_a_flat_object_of_strings() {
        let text = metadata_json("kubetest2 version v0.0.1", "v0.1.0");
        assert_eq!(
            text,
            r#"{"deployer-version":"v0.1.0","kubetest-version":"kubetest2 version v0.0.1"}"#
        );
        let back: std::collections::BTreeMap<String, String> = serde_json::from_str(&text).unwrap();
        assert_eq!(back.len(), 2);
    }

    #[test]
    fn the_runner_junit_reads_back_as_kubetest2_s_types() {
        let mut suite = Suite::new("kubetest2");
        suite.cases.push(Case {
            name: "Up".into(),
            seconds: 12.5,
            failure: None,
            system_out: None,
        });
        suite.cases.push(Case {
            name: "Test".into(),
            seconds: 0.00001,
            failure: Some("Test: kubetest2-tester-exec exited with status 1".into()),
            system_out: Some("a <b> & \"c\"\n\u{1b}[0m done".into()),
        });
        let text = suite.render();
        assert!(
            text.starts_with(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><testsuite name=\"kubetest2\""
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "\n    <testcase name=\"Up\" classname=\"kubetest2\" time=\"12.5\"></testcase>"
            ),
            "{text}"
        );
        assert!(text.contains("time=\"1e-05\""), "{text}");
        let back: TestSuite = parse_junit(&text).unwrap();
        assert_eq!(
            (back.name.as_str(), back.tests, back.failures),
            ("kubetest2", 2, 1)
        );
        assert!(back.time >= 0.0);
        let names: Vec<&str> = back.cases.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["Up", "Test"]);
        assert!(back
            .cases
            .iter()
            .all(|c| c.classname == "kubetest2" && c.skipped.is_none()));
        assert_eq!(back.cases[0].time, 12.5);
        assert_eq!(back.cases[0].failure, None);
        assert_eq!(
            back.cases[1].failure.as_deref(),
            Some("Test: kubetest2-tester-exec exited with status 1")
        );
        assert_eq!(
            back.cases[1].system_out.as_deref(),
            Some("a <b> & \"c\"\n\u{FFFD}[0m done")
        );
    }

    #[test]
    fn floats_are_written_as_go_writes_them() {
        assert_eq!(go_float(2.0), "2");
        assert_eq!(go_float(0.25), "0.25");
        assert_eq!(go_float(0.0), "0");
        assert_eq!(go_float(0.000012), "1.2e-05");
    }
}
