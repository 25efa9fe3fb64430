//! image-pusher: container images synthesized from binaries, and (next) images and binaries pushed
//! into running kubeadm-nspawn nodes.

pub mod error;
pub mod image;
pub mod layer;

pub use crate::error::{Error, Result};
