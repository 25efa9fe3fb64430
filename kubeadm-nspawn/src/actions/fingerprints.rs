//! Steps of `init`: the binaries' fingerprints, taken on a thread of their own while the cluster
//! comes up (hashing some 500 MB costs about a second) and recorded once it is initialized, so
//! `update` knows what the cluster runs.

use std::collections::BTreeMap;
use std::thread::JoinHandle;

use crate::error::Result;
use crate::kube::binaries::KubeBinaries;
use crate::kube::fingerprint::{self, Fingerprint};
use crate::model::component::Component;

/// Every component's fingerprint, by component.
pub type Fingerprints = BTreeMap<Component, Fingerprint>;

/// Fingerprints under way.
pub struct Hashing(JoinHandle<Result<Fingerprints>>);

/// Step: start fingerprinting every component binary `kube` has.
pub fn start(kube: &KubeBinaries) -> Hashing {
    let kube = kube.clone();
    Hashing(std::thread::spawn(move || of(&kube, &BTreeMap::new())))
}

/// Every component binary's fingerprint; `known` ones are reused for unchanged files.
pub fn of(kube: &KubeBinaries, known: &Fingerprints) -> Result<Fingerprints> {
    Component::ALL
        .into_iter()
        .filter_map(|c| kube.of(c).map(|path| (c, path)))
        .map(|(c, path)| Ok((c, fingerprint::of(&path, known.get(&c))?)))
        .collect()
}

impl Hashing {
    /// Step: wait for the fingerprints.
    pub fn finish(self) -> Result<Fingerprints> {
        self.0.join().map_err(|panic| {
            kns_plumbing::parallel::Panicked::of("fingerprinting the binaries", &*panic)
        })?
    }
}
