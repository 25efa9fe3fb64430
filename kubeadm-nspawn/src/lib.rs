//! Library of kubeadm-nspawn.
