//! Replacing a component node by node, each healthy before the next, and putting every replaced
//! node back when one fails: the order and the bookkeeping of a rollback, apart from what a
//! replacement is (a static pod's manifest, for now), so they are unit-tested without nodes. And
//! the rollback of a component replaced everywhere at once (a node binary, a workload's image).

use crate::error::Error;

/// How one node's replacement failed: why, the component's log there, and what it had before if
/// it had been replaced (nothing to put back otherwise).
pub struct NodeFailure<P> {
    pub why: String,
    pub log: String,
    pub previous: Option<P>,
}

/// One node's replacement.
pub trait NodeUpdate {
    /// What a node had before (to put it back).
    type Previous;
    /// The nodes, in the order they are replaced.
    fn nodes(&self) -> Vec<String>;
    /// Replaces the component on `node` and waits until it is healthy there.
    fn apply(&self, node: &str) -> Result<Self::Previous, NodeFailure<Self::Previous>>;
    /// Puts `previous` back on `node` and waits until it is healthy.
    fn put_back(&self, node: &str, previous: &Self::Previous) -> Result<(), String>;
    /// Puts `previous` back on `node` without waiting (the update was interrupted: a wait
    /// would end at once).
    fn restore(&self, node: &str, previous: &Self::Previous) -> Result<(), String> {
        self.put_back(node, previous)
    }
}

/// Replaces the component on every node of `update`, one at a time. On a failure, with
/// `rollback`, every node replaced so far is put back, the failed one first; a put-back that
/// fails too is said beside the first failure, and the rest is left as it is.
pub fn one_at_a_time<U: NodeUpdate>(
    update: &U,
    component: &str,
    rollback: bool,
) -> Result<(), Error> {
    let mut updated: Vec<(String, U::Previous)> = vec![];
    for node in update.nodes() {
        let failure = match update.apply(&node) {
            Ok(previous) => {
                updated.push((node, previous));
                continue;
            }
            Err(failure) => failure,
        };
        let why = format!("node \"{node}\": {}", failure.why);
        if kns_plumbing::signals::interrupted() {
            // Put back whatever the rollback flag says: an interrupted update is not the user's
            // to debug, and the next `update` does it again.
            if let Some(previous) = failure.previous {
                updated.push((node, previous));
            }
            let put_back = updated
                .iter()
                .rev()
                .all(|(done, previous)| update.restore(done, previous).is_ok());
            return Err(Error::UpdateInterrupted {
                component: component.into(),
                put_back,
            });
        }
        if !rollback {
            return Err(Error::UpdateFailed {
                component: component.into(),
                why,
                log: failure.log,
                rolled_back: false,
            });
        }
        if let Some(previous) = failure.previous {
            updated.push((node, previous));
        }
        for (done, previous) in updated.iter().rev() {
            if let Err(back) = update.put_back(done, previous) {
                return Err(Error::UpdateFailed {
                    component: component.into(),
                    why: format!(
                        "{why}; putting the previous one back on node \"{done}\" failed too: {back}"
                    ),
                    log: failure.log,
                    rolled_back: false,
                });
            }
        }
        return Err(Error::UpdateFailed {
            component: component.into(),
            why,
            log: failure.log,
            rolled_back: true,
        });
    }
    Ok(())
}

/// Waits (`wait`) for a component just replaced everywhere at once to be healthy. On a failure,
/// reads its `log` and, with `rollback`, puts the previous one back (`put_back`, then `wait`
/// again); a put-back that fails too is said beside the first failure.
pub fn wait_or_put_back(
    component: &str,
    rollback: bool,
    wait: impl Fn() -> Result<(), Error>,
    log: impl FnOnce() -> String,
    put_back: impl FnOnce() -> Result<(), Error>,
) -> Result<(), Error> {
    let Err(failure) = wait() else {
        return Ok(());
    };
    let log = log();
    let mut why = failure.to_string();
    let mut rolled_back = false;
    if rollback {
        match put_back().and_then(|()| wait()) {
            Ok(()) => rolled_back = true,
            Err(back) => why = format!("{why}; putting the previous one back failed too: {back}"),
        }
    }
    Err(Error::UpdateFailed {
        component: component.into(),
        why,
        log,
        rolled_back,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Nodes that fail where told, recording what was done in order.
    struct Recorded {
        nodes: Vec<&'static str>,
        fails: &'static str,
        put_back_fails: Option<&'static str>,
        done: Mutex<Vec<String>>,
    }

    impl NodeUpdate for Recorded {
        type Previous = String;
        fn nodes(&self) -> Vec<String> {
            self.nodes.iter().map(|n| n.to_string()).collect()
        }
        fn apply(&self, node: &str) -> Result<String, NodeFailure<String>> {
            self.done.lock().unwrap().push(format!("apply {node}"));
            if node == self.fails {
                return Err(NodeFailure {
                    why: "its new container exited 3 times".into(),
                    log: "panic: boom".into(),
                    previous: Some(format!("{node}'s manifest")),
                });
            }
            Ok(format!("{node}'s manifest"))
        }
        fn put_back(&self, node: &str, previous: &String) -> Result<(), String> {
            self.done
                .lock()
                .unwrap()
                .push(format!("put back {previous}"));
            match self.put_back_fails {
                Some(n) if n == node => Err("not healthy within 2 m".into()),
                _ => Ok(()),
            }
        }
    }

    fn recorded(fails: &'static str, put_back_fails: Option<&'static str>) -> Recorded {
        Recorded {
            nodes: vec!["c-n0", "c-n1", "c-n2"],
            fails,
            put_back_fails,
            done: Mutex::new(vec![]),
        }
    }

    #[test]
    fn a_failure_puts_back_every_replaced_node_the_failed_one_first() {
        let update = recorded("c-n1", None);
        let err = one_at_a_time(&update, "kube-apiserver", true).unwrap_err();
        assert_eq!(
            update.done.into_inner().unwrap(),
            [
                "apply c-n0",
                "apply c-n1",
                "put back c-n1's manifest",
                "put back c-n0's manifest"
            ]
        );
        let Error::UpdateFailed {
            why,
            log,
            rolled_back,
            ..
        } = err
        else {
            panic!()
        };
        assert!(rolled_back);
        assert_eq!(why, "node \"c-n1\": its new container exited 3 times");
        assert_eq!(log, "panic: boom");
    }

    #[test]
    fn a_failed_put_back_keeps_both_failures() {
        let update = recorded("c-n1", Some("c-n1"));
        let err = one_at_a_time(&update, "kube-apiserver", true).unwrap_err();
        let Error::UpdateFailed {
            why, rolled_back, ..
        } = &err
        else {
            panic!()
        };
        assert!(!rolled_back);
        assert!(
            why.contains("node \"c-n1\": its new container exited 3 times"),
            "{why}"
        );
        assert!(
            why.contains("putting the previous one back on node \"c-n1\" failed too: not healthy"),
            "{why}"
        );
        assert!(err.to_string().contains("left as it is"), "{err}");
        // c-n0 was not touched after the failed put-back.
        assert_eq!(update.done.into_inner().unwrap().len(), 3);
    }

    #[test]
    fn a_component_replaced_everywhere_is_put_back_and_waited_for_again() {
        let not_ready = || -> Result<(), Error> {
            Err(Error::UpdateInterrupted {
                component: "kubelet".into(),
                put_back: false,
            })
        };
        let waits = Mutex::new(vec![Err(()), Ok(())]);
        let wait = || match waits.lock().unwrap().remove(0) {
            Ok(()) => Ok(()),
            Err(()) => not_ready(),
        };
        let err =
            wait_or_put_back("kubelet", true, wait, || "the log".into(), || Ok(())).unwrap_err();
        let Error::UpdateFailed {
            log, rolled_back, ..
        } = &err
        else {
            panic!("{err}")
        };
        assert!(rolled_back);
        assert_eq!(log, "the log");
        let err = wait_or_put_back("kubelet", true, not_ready, String::new, not_ready).unwrap_err();
        let Error::UpdateFailed {
            why, rolled_back, ..
        } = &err
        else {
            panic!("{err}")
        };
        assert!(!rolled_back);
        assert!(
            why.contains("; putting the previous one back failed too: "),
            "{why}"
        );
        assert!(wait_or_put_back("kubelet", false, || Ok(()), String::new, not_ready).is_ok());
    }

    #[test]
    fn without_rollback_nothing_is_put_back() {
        let update = recorded("c-n0", None);
        one_at_a_time(&update, "etcd", false).unwrap_err();
        assert_eq!(update.done.into_inner().unwrap(), ["apply c-n0"]);
        let fine = recorded("none", None);
        one_at_a_time(&fine, "etcd", true).unwrap();
        assert_eq!(fine.done.into_inner().unwrap().len(), 3);
    }
}
