//! What kubeadm-nspawn does to the host: cgroups, overlay mounts, the node network's links, the
//! load balancer's files, and the sibling tools it runs as programs.

pub mod cgroup;
pub mod image_pusher;
pub mod load_balancer;
pub mod network;
pub mod overlay;
pub mod tools;
