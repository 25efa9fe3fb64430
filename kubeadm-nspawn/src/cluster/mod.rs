//! A cluster on this host: its recorded state and its nodes, live.

pub mod node;
