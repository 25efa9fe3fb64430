//! Kubernetes as kubeadm-nspawn hands it to the nodes: the binaries, kubeadm's documents, the
//! kubeconfig, released versions, the images synthesized from the binaries, their fingerprints.

pub mod binaries;
pub mod fingerprint;
pub mod images;
pub mod kubeadm;
pub mod kubeconfig;
pub mod releases;
