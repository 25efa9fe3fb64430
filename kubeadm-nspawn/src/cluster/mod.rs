//! A cluster on this host: its recorded state, its directory, its nodes, and (for a verb that
//! changes it) its lock. [`Cluster::open`] is the one way a verb loads a cluster; what the verb
//! needs of it is asked with typed preconditions ([`Cluster::require_running`],
//! [`Cluster::require_initialized`]), each failing with the command that fixes it.

pub mod error;
pub mod lock;
pub mod node;

use std::path::Path;

pub use error::{Error, Result};
pub use node::ClusterNode;

use crate::host::error::Io;
use crate::model::layout::{clusters_dir, ClusterPaths};
use crate::model::names::ClusterName;
use crate::model::state::{ClusterState, Initialized, Kubernetes, Transition};

/// How a verb uses a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads it (list, kubeconfig, export logs, exec): never waits for the lock.
    Read,
    /// Changes it (up, init, update, stop, start, down, load): holds the lock for its run.
    Change {
        verb: &'static str,
        wait: lock::Wait,
    },
}

/// A loaded cluster.
pub struct Cluster {
    pub paths: ClusterPaths,
    pub state: ClusterState,
    _lock: Option<lock::ClusterLock>,
}

impl Cluster {
    /// Loads cluster `name` of `state_dir`; with [`Access::Change`], takes its lock first (so
    /// the state read is the one the holder before left).
    pub fn open(state_dir: &Path, name: &ClusterName, access: Access) -> Result<Cluster> {
        let paths = ClusterPaths::new(state_dir, name);
        if !paths.state_file().exists() {
            return Err(Error::NoCluster(name.clone()));
        }
        let lock = take_lock(&paths, name, access)?;
        // The verb that held the lock may have removed the cluster (a `down`, an `up` undoing
        // itself).
        if !paths.state_file().exists() {
            return Err(Error::NoCluster(name.clone()));
        }
        let state = load(&paths, name)?;
        // What a killed `up` left is for `down` only.
        if let (Some(Transition::Making), Access::Change { verb, .. }) = (&state.transition, access)
        {
            if verb != "down" {
                return Err(Error::Unmade(name.clone()));
            }
        }
        Ok(Cluster {
            paths,
            state,
            _lock: lock,
        })
    }

    /// A cluster `up` makes: its directory (mode 0700) and first state written, its lock taken.
    /// The caller holds the clusters directory's lock, so no other `up` claims the name or the
    /// ranges meanwhile.
    pub fn create(state_dir: &Path, state: ClusterState, verb: &'static str) -> Result<Cluster> {
        use std::os::unix::fs::DirBuilderExt;
        let paths = ClusterPaths::new(state_dir, &state.name);
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&paths.dir)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => Error::Exists(state.name.clone()),
                _ => Io::new("create", &paths.dir, e).into(),
            })?;
        let access = Access::Change {
            verb,
            wait: lock::Wait::NoWait,
        };
        let lock = take_lock(&paths, &state.name, access)?;
        let cluster = Cluster {
            paths,
            state,
            _lock: lock,
        };
        cluster.save()?;
        Ok(cluster)
    }

    pub fn name(&self) -> &ClusterName {
        &self.state.name
    }

    /// Writes the state, whole (a temporary file renamed over it).
    pub fn save(&self) -> Result<()> {
        let bytes = self.state.to_json().map_err(|e| Error::Unwritable {
            cluster: self.state.name.clone(),
            message: e.to_string(),
        })?;
        let path = self.paths.state_file();
        kns_plumbing::atomic_file::write(&path, &bytes, 0o600)
            .map_err(|e| Io::new("write", path, e).into())
    }

    pub fn phase(&self) -> &Kubernetes {
        &self.state.kubernetes
    }

    /// Every node, the load balancer last.
    pub fn nodes(&self) -> Vec<ClusterNode> {
        self.state.nodes.iter().map(|n| self.node_of(n)).collect()
    }

    /// The Kubernetes nodes (no load balancer), control planes first.
    pub fn kubernetes_nodes(&self) -> Vec<ClusterNode> {
        self.state
            .kubernetes_nodes()
            .map(|n| self.node_of(n))
            .collect()
    }

    pub fn control_planes(&self) -> Vec<ClusterNode> {
        self.state
            .control_planes()
            .map(|n| self.node_of(n))
            .collect()
    }

    pub fn workers(&self) -> Vec<ClusterNode> {
        self.state.workers().map(|n| self.node_of(n)).collect()
    }

    /// The first control plane, where `kubeadm init` runs and the admin credentials are.
    pub fn first_control_plane(&self) -> Result<ClusterNode> {
        self.state
            .first_control_plane()
            .map(|n| self.node_of(n))
            .ok_or_else(|| Error::NoNodes(self.state.name.clone()))
    }

    /// Where the API is served (see [`ClusterState::api_endpoint`]).
    pub fn api_endpoint(&self) -> Result<std::net::Ipv4Addr> {
        self.state
            .api_endpoint()
            .ok_or_else(|| Error::NoNodes(self.state.name.clone()))
    }

    pub fn node(&self, index: usize) -> ClusterNode {
        self.node_of(&self.state.nodes[index])
    }

    fn node_of(&self, state: &crate::model::state::NodeState) -> ClusterNode {
        ClusterNode::new(&self.state.name, &self.paths, state)
    }

    /// How many nodes run.
    pub fn running(&self) -> usize {
        self.nodes().iter().filter(|n| n.is_running()).count()
    }

    /// Fails unless every node runs.
    pub fn require_running(&self) -> Result<()> {
        let running = self.running();
        if running == self.state.nodes.len() {
            return Ok(());
        }
        Err(Error::Stopped {
            cluster: self.state.name.clone(),
            running,
            total: self.state.nodes.len(),
        })
    }

    /// The initialized cluster's Kubernetes, or why there is none.
    pub fn require_initialized(&self) -> Result<&Initialized> {
        match &self.state.kubernetes {
            Kubernetes::Initialized(k) => Ok(k),
            _ => Err(Error::NotInitialized(self.state.name.clone())),
        }
    }
}

fn take_lock(
    paths: &ClusterPaths,
    name: &ClusterName,
    access: Access,
) -> Result<Option<lock::ClusterLock>> {
    match access {
        Access::Read => Ok(None),
        Access::Change { verb, wait } => lock::acquire(&paths.lock_file(), name, verb, wait, |h| {
            kns_plumbing::say!("waiting for {h} on cluster \"{name}\"");
        })
        .map(Some),
    }
}

fn load(paths: &ClusterPaths, name: &ClusterName) -> Result<ClusterState> {
    let path = paths.state_file();
    let bytes = std::fs::read(&path).map_err(|e| Io::new("read", &path, e))?;
    ClusterState::from_json(&bytes).map_err(|reason| Error::CorruptState {
        cluster: name.clone(),
        path,
        reason,
    })
}

/// A cluster directory of the state dir, as `list` sees it.
pub enum Listed {
    Readable(Box<ClusterState>),
    /// Its state.json is there but not readable as a state (`down` still removes it).
    Unreadable {
        name: String,
        error: Error,
    },
}

/// Every cluster of `state_dir`, by name. Never waits: a cluster being changed is listed as its
/// last saved state says.
pub fn list(state_dir: &Path) -> Result<Vec<Listed>> {
    let dir = clusters_dir(state_dir);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(Io::new("read", &dir, e).into()),
    };
    let mut listed = vec![];
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Ok(name) = ClusterName::new(&file_name) else {
            continue;
        };
        let paths = ClusterPaths::new(state_dir, &name);
        if !paths.state_file().exists() {
            continue;
        }
        listed.push(match load(&paths, &name) {
            Ok(state) => Listed::Readable(Box::new(state)),
            Err(error) => Listed::Unreadable {
                name: file_name,
                error,
            },
        });
    }
    listed.sort_by(|a, b| a.name().cmp(b.name()));
    Ok(listed)
}

impl Listed {
    pub fn name(&self) -> &str {
        match self {
            Listed::Readable(state) => state.name.as_str(),
            Listed::Unreadable { name, .. } => name,
        }
    }
}

/// The readable clusters of `state_dir`.
pub fn states(state_dir: &Path) -> Result<Vec<ClusterState>> {
    Ok(list(state_dir)?
        .into_iter()
        .filter_map(|l| match l {
            Listed::Readable(state) => Some(*state),
            Listed::Unreadable { .. } => None,
        })
        .collect())
}

/// The node named `node` of any cluster of `state_dir`, with its cluster's state.
pub fn find_node(state_dir: &Path, node: &str) -> Result<(ClusterState, ClusterNode)> {
    for state in states(state_dir)? {
        if let Some(n) = state.nodes.iter().find(|n| n.name == node) {
            let paths = ClusterPaths::new(state_dir, &state.name);
            let found = ClusterNode::new(&state.name, &paths, n);
            return Ok((state, found));
        }
    }
    Err(Error::NoNode(node.to_owned()))
}
