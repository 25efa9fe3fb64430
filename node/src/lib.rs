//! One node as every kubeadm-nspawn tool and test sees it: a systemd-nspawn container booting
//! systemd. A library, not a tool: kubeadm-nspawn (which starts nodes), image-pusher (which fills
//! them) and the integration tests all reach nodes through it, so there is one rule for each of:
//!
//! - [`nspawn`]: the systemd-nspawn argument list and environment of the measured recipe;
//! - [`process`]: finding a node by machine name or PID, and its leader (the node's PID 1);
//! - [`liveness`]: whether a PID is still a given node's nspawn (with the exec-window grace);
//! - [`exec`]: running a command in a node, behind the [`exec::Exec`] seam that unit tests replace
//!   with the recording [`exec::Script`];
//! - [`root`]: files written into and read from a node's root with every path resolved inside it;
//! - [`boot`]: waiting for a node's systemd to be up, and which failed units are expected;
//! - [`containerd`]: the node's containerd configuration (its layout, cgroup driver and sandbox
//!   image) and restarting containerd.

pub mod boot;
pub mod containerd;
pub mod error;
pub mod exec;
pub mod liveness;
pub mod nspawn;
pub mod process;
pub mod root;

pub use error::{Error, Result};
pub use exec::{Exec, Node};

#[cfg(test)]
mod error_messages_tests;
