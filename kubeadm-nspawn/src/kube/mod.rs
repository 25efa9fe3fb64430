//! Kubernetes as kubeadm-nspawn hands it to the nodes: the binaries, what differs between minors,
//! kubeadm's documents and secrets, the kubeconfig, released versions, the images synthesized
//! from the binaries, their fingerprints; and its end-to-end suite run against a cluster.

pub mod binaries;
pub mod documents;
pub mod e2e;
pub mod error;
pub mod fingerprint;
pub mod images;
pub mod kubeadm;
pub mod kubeconfig;
pub mod minor;
pub mod proxy_mode;
pub mod releases;
pub mod source;
pub mod version;

pub use error::{Error, Result};
