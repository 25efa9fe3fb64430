//! Running one CNI plugin: find its binary on the CNI path, pass the runtime parameters in `CNI_*`
//! environment variables and the network config on stdin, and read a result or an error back.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};

/// The CNI operations this tool performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CniCommand {
    Add,
    Del,
}

impl CniCommand {
    pub fn as_str(self) -> &'static str {
        match self {
            CniCommand::Add => "ADD",
            CniCommand::Del => "DEL",
        }
    }
}

/// The runtime parameters of one attachment, the same for every plugin of the chain.
#[derive(Debug, Clone)]
pub struct RuntimeParams {
    pub container_id: String,
    /// `/run/netns/<name>`.
    pub netns_path: PathBuf,
    pub ifname: String,
    /// `K=V;K2=V2`, passed as `CNI_ARGS`.
    pub cni_args: Option<String>,
    pub cni_path: Vec<PathBuf>,
}

impl RuntimeParams {
    /// The `CNI_*` environment of one invocation.
    pub fn env(&self, command: CniCommand) -> Vec<(&'static str, String)> {
        let cni_path = std::env::join_paths(&self.cni_path)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        vec![
            ("CNI_COMMAND", command.as_str().to_owned()),
            ("CNI_CONTAINERID", self.container_id.clone()),
            ("CNI_NETNS", self.netns_path.to_string_lossy().into_owned()),
            ("CNI_IFNAME", self.ifname.clone()),
            ("CNI_ARGS", self.cni_args.clone().unwrap_or_default()),
            ("CNI_PATH", cni_path),
        ]
    }

    /// The plugin binary for `plugin_type`: the first executable of that name on the CNI path.
    pub fn find_plugin(&self, plugin_type: &str) -> Result<PathBuf> {
        self.cni_path
            .iter()
            .map(|dir| dir.join(plugin_type))
            .find(|candidate| is_executable(candidate))
            .ok_or_else(|| Error::PluginNotFound {
                plugin: plugin_type.to_owned(),
                search: self
                    .cni_path
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(":"),
            })
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Runs plugins. The real implementation executes binaries; unit tests of chaining use a recorder.
pub trait PluginRunner {
    /// Runs `plugin_type` with `stdin` as its config; returns its stdout on success.
    fn run(
        &self,
        plugin_type: &str,
        command: CniCommand,
        params: &RuntimeParams,
        stdin: &[u8],
    ) -> Result<Vec<u8>>;
}

/// Executes plugin binaries found on the CNI path.
pub struct ExecRunner;

impl PluginRunner for ExecRunner {
    fn run(
        &self,
        plugin_type: &str,
        command: CniCommand,
        params: &RuntimeParams,
        stdin: &[u8],
    ) -> Result<Vec<u8>> {
        let binary = params.find_plugin(plugin_type)?;
        let mut child = Command::new(&binary)
            .envs(params.env(command))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group: a Ctrl-C meant for cnispawn must not kill a plugin half-way;
            // cnispawn finishes or undoes the step itself.
            .process_group(0)
            .spawn()
            .map_err(|e| Error::io("run CNI plugin", &binary, e))?;
        if let Some(mut input) = child.stdin.take() {
            // A plugin that exits without reading its stdin gives EPIPE here; its exit status and
            // output below say what went wrong.
            let _ = input.write_all(stdin);
        }
        let output = child
            .wait_with_output()
            .map_err(|e| Error::io("wait for CNI plugin", &binary, e))?;
        if output.status.success() {
            return Ok(output.stdout);
        }
        Err(Error::Plugin {
            plugin: plugin_type.to_owned(),
            command: command.as_str(),
            message: failure_message(&output.stdout, &output.stderr, output.status),
        })
    }
}

/// The error object a failing plugin prints (CNI spec, "Error").
#[derive(Debug, Deserialize, PartialEq)]
pub struct PluginError {
    pub code: u32,
    #[serde(default)]
    pub msg: String,
    #[serde(default)]
    pub details: String,
}

impl PluginError {
    /// `msg: details (CNI error code N, meaning)`.
    pub fn to_message(&self) -> String {
        let mut message = self.msg.clone();
        if !self.details.is_empty() && self.details != self.msg {
            message.push_str(": ");
            message.push_str(&self.details);
        }
        match well_known_code(self.code) {
            Some(meaning) => format!("{message} (CNI error code {}: {meaning})", self.code),
            None => format!("{message} (CNI error code {})", self.code),
        }
    }
}

/// The meanings the spec gives to error codes 1 to 11.
fn well_known_code(code: u32) -> Option<&'static str> {
    Some(match code {
        1 => "incompatible CNI version",
        2 => "unsupported field in network configuration",
        3 => "container unknown or does not exist",
        4 => "invalid necessary environment variables",
        5 => "I/O failure",
        6 => "failed to decode content",
        7 => "invalid network config",
        11 => "try again later",
        _ => return None,
    })
}

/// A readable message from a failed plugin: its error JSON if it printed one, else its stderr, else
/// its exit status.
pub fn failure_message(stdout: &[u8], stderr: &[u8], status: std::process::ExitStatus) -> String {
    if let Ok(err) = serde_json::from_slice::<PluginError>(stdout) {
        return err.to_message();
    }
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).trim().replace('\n', "; ");
    let stderr = text(stderr);
    if !stderr.is_empty() {
        return stderr;
    }
    let stdout = text(stdout);
    if !stdout.is_empty() {
        return stdout;
    }
    format!("it exited with {status} and printed nothing")
}

/// Parses a plugin's ADD output as a result object.
pub fn parse_result(plugin_type: &str, command: CniCommand, stdout: &[u8]) -> Result<Value> {
    let bad = |msg: String| Error::BadResult {
        plugin: plugin_type.to_owned(),
        command: command.as_str(),
        msg,
    };
    if stdout.iter().all(u8::is_ascii_whitespace) {
        return Err(bad("it printed nothing".into()));
    }
    let value: Value = serde_json::from_slice(stdout).map_err(|e| bad(format!("not JSON: {e}")))?;
    crate::result::CniResult::from_value(&value).map_err(bad)?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    fn status(code: i32) -> std::process::ExitStatus {
        std::process::ExitStatus::from_raw(code << 8)
    }

    #[test]
    fn error_json_becomes_a_readable_message() {
        let out = br#"{"cniVersion":"1.0.0","code":7,"msg":"invalid subnet","details":"10.0.0.0/33: bad prefix"}"#;
        assert_eq!(
            failure_message(out, b"", status(1)),
            "invalid subnet: 10.0.0.0/33: bad prefix (CNI error code 7: invalid network config)"
        );
        let out = br#"{"code":999,"msg":"failed to allocate"}"#;
        assert_eq!(
            failure_message(out, b"", status(1)),
            "failed to allocate (CNI error code 999)"
        );
    }

    #[test]
    fn without_error_json_stderr_or_the_status_speaks() {
        assert_eq!(
            failure_message(b"", b"panic: boom\ngoroutine 1\n", status(2)),
            "panic: boom; goroutine 1"
        );
        assert_eq!(failure_message(b"oops", b"", status(2)), "oops");
        assert!(failure_message(b"", b"", status(3)).contains("exit status: 3"));
    }

    #[test]
    fn env_carries_every_runtime_parameter() {
        let params = RuntimeParams {
            container_id: "c1".into(),
            netns_path: "/run/netns/c1".into(),
            ifname: "eth0".into(),
            cni_args: Some("K8S_POD_NAME=p;IgnoreUnknown=1".into()),
            cni_path: vec!["/usr/lib/cni".into(), "/opt/cni/bin".into()],
        };
        let env = params.env(CniCommand::Del);
        let get = |k: &str| env.iter().find(|(key, _)| *key == k).unwrap().1.clone();
        assert_eq!(get("CNI_COMMAND"), "DEL");
        assert_eq!(get("CNI_CONTAINERID"), "c1");
        assert_eq!(get("CNI_NETNS"), "/run/netns/c1");
        assert_eq!(get("CNI_IFNAME"), "eth0");
        assert_eq!(get("CNI_ARGS"), "K8S_POD_NAME=p;IgnoreUnknown=1");
        assert_eq!(get("CNI_PATH"), "/usr/lib/cni:/opt/cni/bin");
    }

    #[test]
    fn a_missing_plugin_names_the_search_path() {
        let params = RuntimeParams {
            container_id: "c".into(),
            netns_path: "/run/netns/c".into(),
            ifname: "eth0".into(),
            cni_args: None,
            cni_path: vec!["/nonexistent/a".into(), "/nonexistent/b".into()],
        };
        let err = params.find_plugin("bridge").unwrap_err().to_string();
        assert!(
            err.contains("\"bridge\" not found in /nonexistent/a:/nonexistent/b"),
            "{err}"
        );
    }

    #[test]
    fn results_must_be_json_objects() {
        assert!(parse_result("p", CniCommand::Add, b"")
            .unwrap_err()
            .to_string()
            .contains("printed nothing"));
        assert!(parse_result("p", CniCommand::Add, b"{x")
            .unwrap_err()
            .to_string()
            .contains("not JSON"));
        let ok = parse_result("p", CniCommand::Add, br#"{"cniVersion":"1.0.0","ips":[]}"#).unwrap();
        assert_eq!(ok["cniVersion"], "1.0.0");
    }
}
