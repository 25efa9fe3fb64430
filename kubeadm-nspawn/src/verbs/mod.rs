//! One file per verb of the command line; `main.rs` only parses arguments and calls these.

pub mod down;
pub mod exec;
pub mod export;
pub mod init;
pub mod kubeconfig;
pub mod list;
pub mod load;
pub mod releases;
pub mod start;
pub mod stop;
pub mod up;
pub mod update;
