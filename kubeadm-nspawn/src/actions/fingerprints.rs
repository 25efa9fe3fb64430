//! Steps of `init`: the binaries' fingerprints, taken on a thread of their own while the cluster
//! comes up (hashing some 500 MB costs about a second) and recorded once it is initialized, so
//! `update` knows what the cluster runs.

use std::collections::BTreeMap;
use std::thread::JoinHandle;

use crate::error::{Error, Result};
use crate::kube::binaries::KubeBinaries;
use crate::kube::fingerprint::Fingerprint;
use crate::model::component::{self, COMPONENTS};

use super::InitContext;

/// Fingerprints under way.
pub struct Hashing(JoinHandle<Result<BTreeMap<String, Fingerprint>>>);

/// Step: start fingerprinting every component binary `kube` has.
pub fn start(kube: &KubeBinaries) -> Hashing {
    let kube = kube.clone();
    Hashing(std::thread::spawn(move || of(&kube, &BTreeMap::new())))
}

/// Every component binary's fingerprint; `known` ones are reused for unchanged files.
pub fn of(
    kube: &KubeBinaries,
    known: &BTreeMap<String, Fingerprint>,
) -> Result<BTreeMap<String, Fingerprint>> {
    COMPONENTS
        .iter()
        .filter_map(|c| component::binary(kube, c.name).map(|path| (c.name, path)))
        .map(|(name, path)| Ok((name.to_owned(), Fingerprint::of(&path, known.get(name))?)))
        .collect()
}

impl Hashing {
    /// Step: wait for the fingerprints and record them in the cluster's state.
    pub fn record(self, ctx: &mut InitContext) -> Result<()> {
        let fingerprints = self.0.join().map_err(|panic| {
            Error::Internal(format!(
                "fingerprinting the binaries panicked: {}",
                kns_plumbing::parallel::panic_message(&*panic)
            ))
        })??;
        if let Some(k) = &mut ctx.state.kubernetes {
            k.fingerprints = fingerprints;
        }
        ctx.save()
    }
}
