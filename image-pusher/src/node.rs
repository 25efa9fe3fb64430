//! A running node as image-pusher reaches it: [`kns_node::Node`], the node handle every tool
//! shares (found by PID or machine name; `/proc/<pid>/root` for files, `nsenter` for commands),
//! plus the way image-pusher words a failure on it.

pub use kns_node::{Exec, Node};

use crate::error::Error;

/// An image-pusher error about a node.
pub trait NodeError {
    fn error(&self, what: impl Into<String>) -> Error;
}

impl NodeError for Node {
    fn error(&self, what: impl Into<String>) -> Error {
        Error::Node {
            node: self.name.clone(),
            what: what.into(),
        }
    }
}
