//! CNI network configuration: a `.conflist` (a named list of plugins) or a single-plugin `.conf`,
//! loaded and validated the way libcni does before anything on the host is touched.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Spec versions whose results this tool can chain and cache. Debian's plugins (1.1.x) speak all of
/// them; 0.3.x is accepted because many existing configs still say so.
pub const SUPPORTED_VERSIONS: &[&str] = &["0.3.0", "0.3.1", "0.4.0", "1.0.0"];

/// Where a network configuration comes from.
#[derive(Debug, Clone)]
pub enum ConfSource {
    /// One `.conf`, `.json` or `.conflist` file.
    File(PathBuf),
    /// A directory: its lexically first `.conf`, `.conflist` or `.json` file, as libcni picks.
    Dir(PathBuf),
}

/// A validated network configuration list.
#[derive(Debug, Clone)]
pub struct NetworkConfigList {
    pub cni_version: String,
    pub name: String,
    pub plugins: Vec<PluginConf>,
    /// Where it was loaded from, for error messages.
    pub source: PathBuf,
}

/// One plugin of a list: its `type` (the binary's name) and its whole JSON object.
#[derive(Debug, Clone)]
pub struct PluginConf {
    pub plugin_type: String,
    pub conf: Map<String, Value>,
}

impl NetworkConfigList {
    pub fn load(source: &ConfSource) -> Result<Self> {
        let file = match source {
            ConfSource::File(file) => file.clone(),
            ConfSource::Dir(dir) => first_config_file(dir)?,
        };
        let bytes = std::fs::read(&file).map_err(|e| Error::io("read", &file, e))?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| Error::Config {
            path: file.clone(),
            msg: format!("not valid JSON: {e}"),
        })?;
        let is_list = file.extension().is_some_and(|ext| ext == "conflist");
        if is_list {
            Self::from_list_value(value, &file)
        } else {
            Self::from_single_value(value, &file)
        }
    }

    /// A `.conflist`: `{"cniVersion", "name", "plugins": [...]}`.
    pub fn from_list_value(value: Value, source: &Path) -> Result<Self> {
        let err = |msg: String| Error::Config {
            path: source.to_owned(),
            msg,
        };
        let Value::Object(mut obj) = value else {
            return Err(err("expected a JSON object".into()));
        };
        let cni_version = take_version(&obj, source)?;
        let name = take_name(&obj, source)?;
        let plugins = match obj.remove("plugins") {
            Some(Value::Array(plugins)) if !plugins.is_empty() => plugins,
            Some(Value::Array(_)) => return Err(err("\"plugins\" is empty".into())),
            Some(_) => return Err(err("\"plugins\" must be an array".into())),
            None => {
                return Err(err(
                    "no \"plugins\" list (a single plugin belongs in a .conf file)".into(),
                ))
            }
        };
        let plugins = plugins
            .into_iter()
            .enumerate()
            .map(|(i, p)| PluginConf::from_value(p).map_err(|m| err(format!("plugins[{i}]: {m}"))))
            .collect::<Result<Vec<_>>>()?;
        Ok(NetworkConfigList {
            cni_version,
            name,
            plugins,
            source: source.to_owned(),
        })
    }

    /// A `.conf`: one plugin object that also carries `cniVersion` and `name`.
    pub fn from_single_value(value: Value, source: &Path) -> Result<Self> {
        let err = |msg: String| Error::Config {
            path: source.to_owned(),
            msg,
        };
        let Value::Object(obj) = &value else {
            return Err(err("expected a JSON object".into()));
        };
        if obj.contains_key("plugins") {
            return Err(err(
                "has a \"plugins\" list: name the file *.conflist".into()
            ));
        }
        let cni_version = take_version(obj, source)?;
        let name = take_name(obj, source)?;
        let plugin = PluginConf::from_value(value).map_err(err)?;
        Ok(NetworkConfigList {
            cni_version,
            name,
            plugins: vec![plugin],
            source: source.to_owned(),
        })
    }

    /// The list in `.conflist` form, as stored in the result cache so DEL uses the config ADD used.
    pub fn to_list_value(&self) -> Value {
        serde_json::json!({
            "cniVersion": self.cni_version,
            "name": self.name,
            "plugins": self.plugins.iter().map(|p| Value::Object(p.conf.clone())).collect::<Vec<_>>(),
        })
    }

    /// Whether DEL gets the cached result as `prevResult` (spec 0.4.0 and later).
    pub fn del_takes_prev_result(&self) -> bool {
        !self.cni_version.starts_with("0.3.")
    }

    /// The stdin of one plugin: its object plus the list's `name` and `cniVersion` and, when chaining,
    /// the previous plugin's result.
    pub fn plugin_stdin(&self, plugin: &PluginConf, prev_result: Option<&Value>) -> Vec<u8> {
        let mut conf = plugin.conf.clone();
        conf.insert("name".into(), Value::String(self.name.clone()));
        conf.insert("cniVersion".into(), Value::String(self.cni_version.clone()));
        match prev_result {
            Some(prev) => conf.insert("prevResult".into(), prev.clone()),
            None => conf.remove("prevResult"),
        };
        // Serializing a map of JSON values cannot fail.
        serde_json::to_vec(&Value::Object(conf)).unwrap_or_default()
    }
}

impl PluginConf {
    fn from_value(value: Value) -> std::result::Result<Self, String> {
        let Value::Object(conf) = value else {
            return Err("a plugin must be a JSON object".into());
        };
        let plugin_type = match conf.get("type") {
            Some(Value::String(t)) => t.clone(),
            Some(_) => return Err("\"type\" must be a string".into()),
            None => return Err("no \"type\" (the plugin binary's name)".into()),
        };
        if plugin_type.is_empty()
            || plugin_type.starts_with('.')
            || !plugin_type
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        {
            return Err(format!(
                "plugin type \"{plugin_type}\" is not a plain binary name"
            ));
        }
        Ok(PluginConf { plugin_type, conf })
    }
}

fn take_version(obj: &Map<String, Value>, source: &Path) -> Result<String> {
    let err = |msg: String| Error::Config {
        path: source.to_owned(),
        msg,
    };
    match obj.get("cniVersion") {
        Some(Value::String(v)) if SUPPORTED_VERSIONS.contains(&v.as_str()) => Ok(v.clone()),
        Some(Value::String(v)) => Err(err(format!(
            "cniVersion \"{v}\" is not supported (supported: {})",
            SUPPORTED_VERSIONS.join(", ")
        ))),
        Some(_) => Err(err("\"cniVersion\" must be a string".into())),
        None => Err(err("no \"cniVersion\"".into())),
    }
}

fn take_name(obj: &Map<String, Value>, source: &Path) -> Result<String> {
    let err = |msg: String| Error::Config {
        path: source.to_owned(),
        msg,
    };
    match obj.get("name") {
        Some(Value::String(n)) if is_valid_network_name(n) => Ok(n.clone()),
        Some(Value::String(n)) => Err(err(format!(
            "network name \"{n}\" is invalid (start with a letter or digit, then letters, digits, '_', '.', '-')"
        ))),
        Some(_) => Err(err("\"name\" must be a string".into())),
        None => Err(err("no network \"name\"".into())),
    }
}

/// libcni's rule for network names; they become directory names (host-local's IPAM store).
fn is_valid_network_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// The file libcni would pick from a configuration directory: the first by name among `*.conf`,
/// `*.conflist` and `*.json`.
fn first_config_file(dir: &Path) -> Result<PathBuf> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("read directory", dir, e))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.is_file()
                && path
                    .extension()
                    .is_some_and(|ext| ext == "conf" || ext == "conflist" || ext == "json")
        })
        .collect();
    files.sort();
    files
        .into_iter()
        .next()
        .ok_or_else(|| Error::NoConfig(dir.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn list(v: Value) -> Result<NetworkConfigList> {
        NetworkConfigList::from_list_value(v, Path::new("t.conflist"))
    }

    fn bridge_list(version: &str) -> Value {
        json!({
            "cniVersion": version, "name": "kns",
            "plugins": [
                {"type": "bridge", "bridge": "kns0", "ipam": {"type": "host-local", "subnet": "10.22.0.0/16"}},
                {"type": "portmap", "capabilities": {"portMappings": true}},
            ]
        })
    }

    #[test]
    fn loads_a_conflist_in_every_supported_version() {
        for v in SUPPORTED_VERSIONS {
            let l = list(bridge_list(v)).unwrap();
            assert_eq!(l.cni_version, *v);
            assert_eq!(l.name, "kns");
            let types: Vec<_> = l.plugins.iter().map(|p| p.plugin_type.as_str()).collect();
            assert_eq!(types, ["bridge", "portmap"]);
        }
    }

    #[test]
    fn a_single_conf_becomes_a_list_of_one() {
        let conf = json!({"cniVersion": "0.4.0", "name": "n", "type": "bridge"});
        let l = NetworkConfigList::from_single_value(conf, Path::new("x.conf")).unwrap();
        assert_eq!(l.plugins.len(), 1);
        assert_eq!(l.plugins[0].plugin_type, "bridge");
        let as_list = l.to_list_value();
        assert_eq!(as_list["plugins"][0]["type"], "bridge");
        let again = list(as_list).unwrap();
        assert_eq!(again.name, "n");
    }

    #[test]
    fn rejects_invalid_configs_with_a_reason() {
        let cases = [
            (json!([]), "expected a JSON object"),
            (
                json!({"name": "n", "plugins": [{"type": "x"}]}),
                "no \"cniVersion\"",
            ),
            (
                json!({"cniVersion": "0.2.0", "name": "n", "plugins": [{"type": "x"}]}),
                "not supported",
            ),
            (
                json!({"cniVersion": "1.0.0", "plugins": [{"type": "x"}]}),
                "no network \"name\"",
            ),
            (
                json!({"cniVersion": "1.0.0", "name": "-bad", "plugins": [{"type": "x"}]}),
                "is invalid",
            ),
            (
                json!({"cniVersion": "1.0.0", "name": "n", "plugins": []}),
                "is empty",
            ),
            (
                json!({"cniVersion": "1.0.0", "name": "n"}),
                "no \"plugins\"",
            ),
            (
                json!({"cniVersion": "1.0.0", "name": "n", "plugins": [{"ipam": {}}]}),
                "plugins[0]: no \"type\"",
            ),
            (
                json!({"cniVersion": "1.0.0", "name": "n", "plugins": [{"type": "../../bin/sh"}]}),
                "not a plain binary name",
            ),
            (
                json!({"cniVersion": "1.0.0", "name": "n", "plugins": [{"type": 3}]}),
                "must be a string",
            ),
        ];
        for (value, expected) in cases {
            let err = list(value.clone()).unwrap_err().to_string();
            assert!(err.contains(expected), "{value}: {err}");
            assert!(err.starts_with("CNI config t.conflist: "), "{err}");
        }
    }

    #[test]
    fn plugin_stdin_carries_name_version_and_prev_result() {
        let l = list(bridge_list("1.0.0")).unwrap();
        let prev = json!({"cniVersion": "1.0.0", "ips": [{"address": "10.22.0.5/16"}]});
        let stdin: Value =
            serde_json::from_slice(&l.plugin_stdin(&l.plugins[1], Some(&prev))).unwrap();
        assert_eq!(stdin["name"], "kns");
        assert_eq!(stdin["cniVersion"], "1.0.0");
        assert_eq!(stdin["type"], "portmap");
        assert_eq!(stdin["prevResult"], prev);
        let first: Value = serde_json::from_slice(&l.plugin_stdin(&l.plugins[0], None)).unwrap();
        assert!(first.get("prevResult").is_none());
    }

    #[test]
    fn del_prev_result_follows_the_spec_version() {
        assert!(!list(bridge_list("0.3.1")).unwrap().del_takes_prev_result());
        assert!(list(bridge_list("0.4.0")).unwrap().del_takes_prev_result());
        assert!(list(bridge_list("1.0.0")).unwrap().del_takes_prev_result());
    }

    #[test]
    fn loads_the_lexically_first_file_of_a_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let empty = NetworkConfigList::load(&ConfSource::Dir(dir.clone())).unwrap_err();
        assert!(matches!(empty, Error::NoConfig(_)), "{empty}");
        std::fs::write(dir.join("README"), "not a config").unwrap();
        std::fs::write(dir.join("20-b.conflist"), bridge_list("1.0.0").to_string()).unwrap();
        std::fs::write(
            dir.join("10-a.conf"),
            json!({"cniVersion": "0.4.0", "name": "a", "type": "loopback"}).to_string(),
        )
        .unwrap();
        let l = NetworkConfigList::load(&ConfSource::Dir(dir.clone())).unwrap();
        assert_eq!(l.name, "a");
        std::fs::write(dir.join("05-broken.json"), "{not json").unwrap();
        let err = NetworkConfigList::load(&ConfSource::Dir(dir.clone()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("05-broken.json: not valid JSON"), "{err}");
    }
}
