//! What a cluster is, without touching the host: its names, address ranges, recorded state, the
//! cluster config file and the components it runs.

pub mod component;
pub mod config;
pub mod names;
pub mod ranges;
pub mod state;
