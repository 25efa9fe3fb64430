//! image-pusher: container images synthesized from binaries, and images and binaries pushed into
//! running kubeadm-nspawn (or any systemd-nspawn) nodes.

pub mod archive;
pub mod containerd;
pub mod content_store;
pub mod docker;
pub mod error;
pub mod fanout;
pub mod image;
pub mod install;
pub mod layer;
pub mod node;
pub mod pause;
pub mod push;
pub mod reference;
pub mod store;

pub use crate::error::{Error, Result};

#[cfg(test)]
mod error_messages_tests;
