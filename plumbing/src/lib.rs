//! The plumbing every kubeadm-nspawn tool shares. A library, not a tool: the tools still compose by
//! fork/exec and JSON lines; this crate only keeps them from carrying their own copies of the same
//! small mechanisms.
//!
//! - [`signals`]: termination signals recorded, so a tool stops at a step boundary and cleans up;
//! - [`report`]: the one stderr error format of all four tools (`error:` / `  |` / `hint:`), written
//!   by each `main` and read back by the orchestrator;
//! - [`plain`]: what every tool's tests check of its messages (no Rust Debug text, every variant);
//! - [`child`]: children that end with the verb that started them (killed or not), and a long
//!   program supervised in a group of its own (its output streamed, a recorded signal passed on);
//! - [`cluster_name`]: the rule for cluster names, checked by kubeadm-nspawn and kubetest2-nspawn;
//! - [`atomic_file`]: files replaced whole (temp file, fsync, rename);
//! - [`hex`]: lower-case hex of digests;
//! - [`path_io`]: the `<op> <path>: <why>` error every tool's `Io` variant carries;
//! - [`privileges`]: the root check done before anything is touched;
//! - [`terminal`]: what a person sees of long steps (one live status line, its text updatable,
//!   [`say!`] above it);
//! - [`parallel`]: work on every item at once, a panic being that item's failure;
//! - [`undo`]: a failure whose undo failed too, both said;
//! - [`poll`]: every wait bounded, stopped by a signal, ended by what it waits on being gone.

pub mod atomic_file;
pub mod child;
pub mod cluster_name;
pub mod hex;
pub mod parallel;
pub mod path_io;
pub mod plain;
pub mod poll;
pub mod privileges;
pub mod report;
pub mod signals;
pub mod terminal;
pub mod undo;
