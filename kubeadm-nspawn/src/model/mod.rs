//! What a cluster is, without touching the host: its names and places, address ranges, recorded
//! state, the cluster config file, the components and binaries it runs. Nothing here does I/O;
//! what a check needs of the host comes through [`config::HostView`].

pub mod binaries;
pub mod cidr;
pub mod collisions;
pub mod component;
pub mod config;
pub mod error;
pub mod family;
pub mod layout;
pub mod names;
pub mod ranges;
pub mod ranges6;
pub mod settings;
pub mod state;

pub use error::{Error, Result};
