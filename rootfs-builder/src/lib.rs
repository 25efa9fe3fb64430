//! Library of rootfs-builder.
