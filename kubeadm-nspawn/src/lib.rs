//! kubeadm-nspawn: clusters of systemd-nspawn nodes on one machine, composed from the sibling tools
//! (rootfs-builder for the base image, cnispawn for each node's network, image-pusher for images
//! and binaries) run as programs.
//!
//! The layers, each importing only those below it (docs/architecture.md):
//!
//! - [`cli`]: each verb's command line, made into its one validated request;
//! - [`verbs`]: each verb, loading its cluster and running its steps;
//! - [`actions`]: the steps, each a function of its verb's context;
//! - [`cluster`]: a cluster on this host (its state, lock and nodes) and one node, live;
//! - [`kube`]: Kubernetes as the nodes get it (binaries, documents, releases, images);
//! - [`host`]: what is done to the host (cgroups, mounts, links, the sibling tools), behind the
//!   [`host::Host`] seam;
//! - [`model`]: what a cluster is, without I/O (names, ranges, state, config file, components);
//! - [`error`]: the verbs' error, every layer's lifted into it.

pub mod actions;
pub mod cli;
pub mod cluster;
pub mod error;
pub mod host;
pub mod kube;
pub mod model;
pub mod verbs;

pub use crate::error::{Error, Result};

#[cfg(test)]
mod error_messages_tests;
