//! The project's own pause binary (pause/pause.c, built statically by build.rs and embedded here),
//! so a cluster never needs an external pause image.

use std::path::Path;

use crate::error::Result;

pub const BINARY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/pause"));

/// Where the pause binary sits in its image, and the image's entrypoint.
pub const IMAGE_PATH: &str = "/pause";

/// Writes the binary to `path`, mode 0755, atomically.
pub fn write_binary(path: &Path) -> Result<()> {
    crate::image::write_atomically(path, BINARY, 0o755)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_embedded_pause_is_a_static_elf() {
        assert_eq!(&super::BINARY[..4], b"\x7fELF");
        // No program interpreter: nothing to load at run time.
        let interp = b"/lib64/ld-linux";
        assert!(!super::BINARY.windows(interp.len()).any(|w| w == interp));
    }
}
