//! Support for the workspace's privileged integration tests.
