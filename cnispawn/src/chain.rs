//! A plugin chain: ADD runs the plugins in order, each getting the previous one's result as
//! `prevResult`; DEL runs them in reverse with the cached result. A failed ADD undoes itself.

use kns_plumbing::undo::WithCleanup;
use serde_json::Value;

use crate::config::NetworkConfigList;
use crate::error::{Error, Result};
use crate::plugin::{parse_result, CniCommand, PluginRunner, RuntimeParams};

/// Runs ADD over the whole chain and returns the last plugin's result. If a plugin fails, DEL runs
/// for it and for every plugin before it (in reverse), so nothing of the attachment remains.
pub fn add(
    list: &NetworkConfigList,
    params: &RuntimeParams,
    runner: &dyn PluginRunner,
) -> Result<Value> {
    let mut prev: Option<Value> = None;
    for (i, plugin) in list.plugins.iter().enumerate() {
        let stdin = list.plugin_stdin(plugin, prev.as_ref());
        let step = runner
            .run(&plugin.plugin_type, CniCommand::Add, params, &stdin)
            .and_then(|out| parse_result(&plugin.plugin_type, CniCommand::Add, &out));
        match step {
            Ok(result) => prev = Some(result),
            Err(failure) => {
                // The failing plugin may have done part of its work, so it gets a DEL too.
                let undo = del_plugins(list, i + 1, params, runner, prev.as_ref());
                return Err(failure.with_cleanup(undo));
            }
        }
    }
    prev.ok_or_else(|| Error::BadResult {
        plugin: list.name.clone(),
        command: CniCommand::Add.as_str(),
        msg: "the chain has no plugins".into(),
    })
}

/// Runs DEL over the whole chain in reverse. `cached_result` is the result ADD returned, if known.
pub fn del(
    list: &NetworkConfigList,
    params: &RuntimeParams,
    runner: &dyn PluginRunner,
    cached_result: Option<&Value>,
) -> Result<()> {
    del_plugins(list, list.plugins.len(), params, runner, cached_result)
}

/// DEL for the first `count` plugins, last first. Every plugin gets its DEL even if one fails (DEL is
/// idempotent by the spec, and one stubborn plugin must not keep the others' resources); the first
/// failure is returned.
fn del_plugins(
    list: &NetworkConfigList,
    count: usize,
    params: &RuntimeParams,
    runner: &dyn PluginRunner,
    cached_result: Option<&Value>,
) -> Result<()> {
    let prev = cached_result.filter(|_| list.del_takes_prev_result());
    let mut first_failure = None;
    for plugin in list.plugins[..count].iter().rev() {
        let stdin = list.plugin_stdin(plugin, prev);
        if let Err(e) = runner.run(&plugin.plugin_type, CniCommand::Del, params, &stdin) {
            first_failure.get_or_insert(e);
        }
    }
    first_failure.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::cell::RefCell;
    use std::path::Path;

    /// Records each call (command, plugin, stdin) and answers from a script; not a CNI plugin, only
    /// a way to see which configs the chain logic builds.
    struct Recorder {
        calls: RefCell<Vec<(CniCommand, String, Value)>>,
        fail_add_of: Option<&'static str>,
        fail_del_of: Option<&'static str>,
    }

    impl Recorder {
        fn new() -> Self {
            Recorder {
                calls: RefCell::new(vec![]),
                fail_add_of: None,
                fail_del_of: None,
            }
        }
        fn calls(&self) -> Vec<(CniCommand, String, Value)> {
            self.calls.borrow().clone()
        }
    }

    impl PluginRunner for Recorder {
        fn run(
            &self,
            plugin_type: &str,
            command: CniCommand,
            _: &RuntimeParams,
            stdin: &[u8],
        ) -> Result<Vec<u8>> {
            let conf: Value = serde_json::from_slice(stdin).unwrap();
            self.calls
                .borrow_mut()
                .push((command, plugin_type.to_owned(), conf.clone()));
            let fails = match command {
                CniCommand::Add => self.fail_add_of,
                CniCommand::Del => self.fail_del_of,
            };
            if fails == Some(plugin_type) {
                return Err(Error::Plugin {
                    plugin: plugin_type.into(),
                    command: command.as_str(),
                    message: "scripted".into(),
                });
            }
            if command == CniCommand::Del {
                return Ok(vec![]);
            }
            // Each plugin appends its name to the interfaces, like a chained plugin amending prevResult.
            let mut interfaces = conf
                .get("prevResult")
                .and_then(|p| p["interfaces"].as_array().cloned())
                .unwrap_or_default();
            interfaces.push(json!({"name": plugin_type}));
            Ok(serde_json::to_vec(
                &json!({"cniVersion": "1.0.0", "interfaces": interfaces, "ips": []}),
            )
            .unwrap())
        }
    }

    fn list(version: &str) -> NetworkConfigList {
        NetworkConfigList::from_list_value(
            json!({"cniVersion": version, "name": "n", "plugins": [{"type": "a"}, {"type": "b"}, {"type": "c"}]}),
            Path::new("t.conflist"),
        )
        .unwrap()
    }

    fn params() -> RuntimeParams {
        RuntimeParams {
            container_id: "c".into(),
            netns_path: "/run/netns/c".into(),
            ifname: "eth0".into(),
            cni_args: None,
            cni_path: vec![],
        }
    }

    fn names(calls: &[(CniCommand, String, Value)]) -> Vec<String> {
        calls
            .iter()
            .map(|(c, p, _)| format!("{}:{p}", c.as_str()))
            .collect()
    }

    #[test]
    fn add_feeds_each_result_to_the_next_plugin() {
        let rec = Recorder::new();
        let result = add(&list("1.0.0"), &params(), &rec).unwrap();
        let calls = rec.calls();
        assert_eq!(names(&calls), ["ADD:a", "ADD:b", "ADD:c"]);
        assert!(calls[0].2.get("prevResult").is_none());
        assert_eq!(
            calls[1].2["prevResult"]["interfaces"],
            json!([{"name": "a"}])
        );
        assert_eq!(
            calls[2].2["prevResult"]["interfaces"],
            json!([{"name": "a"}, {"name": "b"}])
        );
        assert_eq!(
            result["interfaces"],
            json!([{"name": "a"}, {"name": "b"}, {"name": "c"}])
        );
    }

    #[test]
    fn a_failed_add_deletes_what_ran_in_reverse() {
        let mut rec = Recorder::new();
        rec.fail_add_of = Some("b");
        let err = add(&list("1.0.0"), &params(), &rec)
            .unwrap_err()
            .to_string();
        assert_eq!(err, "CNI plugin \"b\" ADD failed: scripted");
        let calls = rec.calls();
        assert_eq!(names(&calls), ["ADD:a", "ADD:b", "DEL:b", "DEL:a"]);
        // The undo passes the last good result along.
        assert_eq!(
            calls[2].2["prevResult"]["interfaces"],
            json!([{"name": "a"}])
        );
    }

    #[test]
    fn a_failed_undo_is_reported_with_the_failure() {
        let mut rec = Recorder::new();
        rec.fail_add_of = Some("c");
        rec.fail_del_of = Some("b");
        let err = add(&list("1.0.0"), &params(), &rec)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "CNI plugin \"c\" ADD failed: scripted; cleaning up after it also failed: CNI plugin \"b\" DEL failed: scripted"
        );
        assert_eq!(names(&rec.calls())[3..], ["DEL:c", "DEL:b", "DEL:a"]);
    }

    #[test]
    fn del_runs_the_whole_chain_reversed_with_the_cached_result() {
        let rec = Recorder::new();
        let cached = json!({"cniVersion": "1.0.0", "ips": []});
        del(&list("0.4.0"), &params(), &rec, Some(&cached)).unwrap();
        let calls = rec.calls();
        assert_eq!(names(&calls), ["DEL:c", "DEL:b", "DEL:a"]);
        assert!(calls
            .iter()
            .all(|(_, _, conf)| conf["prevResult"] == cached));
    }

    #[test]
    fn del_in_spec_0_3_has_no_prev_result_and_keeps_going_after_a_failure() {
        let mut rec = Recorder::new();
        rec.fail_del_of = Some("c");
        let cached = json!({"cniVersion": "0.3.1"});
        let err = del(&list("0.3.1"), &params(), &rec, Some(&cached)).unwrap_err();
        assert!(err.to_string().contains("CNI plugin \"c\" DEL failed"));
        let calls = rec.calls();
        assert_eq!(names(&calls), ["DEL:c", "DEL:b", "DEL:a"]);
        assert!(calls
            .iter()
            .all(|(_, _, conf)| conf.get("prevResult").is_none()));
    }
}
