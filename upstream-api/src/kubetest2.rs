//! kubetest2's junit_runner.xml (sigs.k8s.io/kubetest2 pkg/metadata/junit.go: testSuite and
//! testCase), read strictly back: kubetest2-nspawn's unit tests and the kubetest2 tier check what
//! the deployer writes through these.

use serde::Deserialize;

/// The `<testsuite>` element: one case per phase that ran.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestSuite {
    #[serde(rename = "@name")]
    pub name: String,
    #[serde(rename = "@failures")]
    pub failures: usize,
    #[serde(rename = "@tests")]
    pub tests: usize,
    #[serde(rename = "@time")]
    pub time: f64,
    #[serde(rename = "testcase", default)]
    pub cases: Vec<TestCase>,
}

/// A `<testcase>`: a phase (Up, Test, Down, ...), with its failure or its skip.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestCase {
    #[serde(rename = "@name")]
    pub name: String,
    #[serde(rename = "@classname")]
    pub classname: String,
    #[serde(rename = "@time")]
    pub time: f64,
    pub failure: Option<String>,
    pub skipped: Option<String>,
    #[serde(rename = "system-out")]
    pub system_out: Option<String>,
}

/// junit_runner.xml's text, read strictly.
pub fn parse_junit(xml: &str) -> Result<TestSuite, quick_xml::DeError> {
    quick_xml::de::from_str(xml)
}
