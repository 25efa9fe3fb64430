//! What each verb was asked for, validated once from its flags over the cluster config file (see
//! `cli`): the only shape a request has below the command line.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::cluster::lock::Wait;
use crate::kube::e2e::args::Selection;
use crate::kube::kubeconfig;
use crate::kube::releases;
use crate::kube::source::BinaryChoice;
use crate::model::component::Component;
use crate::model::names::ClusterName;
use crate::model::ranges::{Cidr, NodeSubnet};
use crate::model::ranges6::{Cidr6, IpFamily, NodeSubnet6};
use crate::model::settings::{ComponentSettings, ImageSource, NodeSettings};

/// What every verb shares: where clusters are kept, and whether it waits for a busy cluster.
#[derive(Debug, Clone)]
pub struct Common {
    pub state_dir: PathBuf,
    pub wait: Wait,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UpRequest {
    pub name: ClusterName,
    /// Each node's labels, extra mounts and limits, in node order: one entry a node.
    pub nodes: Vec<NodeSettings>,
    /// How many of the nodes (the first ones) are control planes; with more than one, a load
    /// balancer node is made in front of them.
    pub control_planes: usize,
    /// `--subnet`; None: a free one is picked.
    pub subnet: Option<NodeSubnet>,
    pub pod_subnet: Cidr,
    pub service_subnet: Cidr,
    /// The families Kubernetes speaks (`--ip-family`).
    pub ip_family: IpFamily,
    /// The IPv6 ranges asked for, when the family has IPv6.
    pub ipv6: Option<Ipv6Request>,
    pub masquerade: bool,
    /// Resolvers the nodes use (`--dns`); empty: the host's, as a node can reach them.
    pub dns: Vec<std::net::IpAddr>,
    pub image: ImageSource,
    pub boot_timeout: Duration,
    /// Kubernetes binaries to record for `init` (checked, or downloaded, before anything is made).
    pub binaries: BinaryChoice,
    /// What `init` is to tell the components, recorded in the state.
    pub components: ComponentSettings,
    /// Keep what was created when `up` fails (to debug it).
    pub retain: bool,
}

/// The IPv6 ranges of an `up`, checked in themselves (unique local, sizes); against the host at
/// the claim.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ipv6Request {
    /// None: one derived from the cluster's name.
    pub subnet: Option<NodeSubnet6>,
    pub pods: Cidr6,
    pub services: Cidr6,
}

#[derive(Debug, Clone)]
pub struct InitRequest {
    pub name: ClusterName,
    pub binaries: BinaryChoice,
    /// The release used when no binaries are given or recorded anywhere.
    pub default_release: releases::Request,
    /// kubeadm patch files (`--kubeadm-patch`), checked to be named as kubeadm reads them.
    pub patches: Vec<PathBuf>,
    /// From `init --config`: what the components are told, replacing what `up` recorded.
    pub components: Option<ComponentSettings>,
    /// From `init --config`: each node's labels, replacing what `up` recorded.
    pub labels: Option<Vec<BTreeMap<String, String>>>,
    /// From `init --config`: how many control planes the file describes; must be what `up` made.
    pub control_planes: Option<usize>,
    /// How long to wait for all nodes Ready (zero: do not wait).
    pub wait: Duration,
    /// The user's kubeconfig to merge the cluster's context into.
    pub kubeconfig: kubeconfig::Target,
}

#[derive(Debug, Clone)]
pub struct UpdateRequest {
    pub name: ClusterName,
    pub binaries: BinaryChoice,
    /// Components to consider; empty: all.
    pub only: Vec<Component>,
    pub rollback: bool,
    /// How long a replaced component may take to become healthy.
    pub wait: Duration,
}

/// Where `e2e` finds e2e.test and ginkgo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProgramsFrom {
    /// `--e2e-bin DIR`.
    E2eBin(PathBuf),
    /// `--kube-root TREE`: its build output (built there first with `--build`).
    Tree(PathBuf),
    /// Neither: beside the cluster's binaries (a tree's build output when it was made from one).
    Cluster,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct E2eRequest {
    pub name: ClusterName,
    pub programs: ProgramsFrom,
    /// `make` the suite in the tree first.
    pub build: bool,
    pub selection: Selection,
    /// ginkgo's parallel processes.
    pub parallel: u32,
    /// Where the reports, ginkgo's output and (on failure) the cluster's logs go; absolute.
    pub artifacts: PathBuf,
    /// Image archives to load into the nodes first.
    pub images: Option<PathBuf>,
    /// Export the cluster's logs even when every spec passed.
    pub keep_logs: bool,
    /// ginkgo's `--timeout`, for each run.
    pub timeout: Duration,
    /// More flags for e2e.test.
    pub extra: Vec<String>,
    /// Who is to own what the verb writes and builds (the user behind `sudo`).
    pub owner: Option<(u32, u32)>,
}
