//! Every error of image-pusher, printed as its `main` prints it: nodes, images and archives named
//! plainly, no Rust Debug text (kns_plumbing::plain).

use kns_plumbing::every_variant;
use kns_plumbing::plain::assert_plain;

use crate::docker::Daemon;
use crate::error::Error;
use crate::install::BinaryCopy;
use crate::reference::ImageRef;

fn samples() -> Vec<(Error, &'static str)> {
    every_variant!(Error {
        Error::InvalidArgument(..) => (
            ImageRef::parse("Not A Ref").unwrap_err(),
            "--name \"Not A Ref\" is not an image reference (repository[:tag], lower-case)",
        ), (
            BinaryCopy::parse("/usr/bin/crictl:../etc/x").unwrap_err(),
            "--binary \"/usr/bin/crictl:../etc/x\": the destination must be an absolute path in the node",
        );
        Error::CorruptArchive { .. } => (
            Error::CorruptArchive {
                archive: "/tmp/images/pause.tar".into(),
                what: "\"sha256:abc\" is not a sha256 digest".into(),
            },
            "/tmp/images/pause.tar: not a usable image archive: \"sha256:abc\" is not a sha256 digest",
        );
        Error::Docker { .. } => (
            Daemon::connect("tcp://10.0.0.1:2375", "the host's Docker (tcp://10.0.0.1:2375)")
                .err()
                .unwrap(),
            "the host's Docker (tcp://10.0.0.1:2375): \"tcp://10.0.0.1:2375\" is not a local socket: give unix:///path/to/docker.sock",
        );
        Error::Node { .. } => (
            Error::Node {
                node: "dev-n0".into(),
                what: "containerd is not running in it (no /run/containerd/containerd.sock); is the node booted?".into(),
            },
            "node \"dev-n0\": containerd is not running in it",
        );
        Error::Reach(..) => (
            Error::Reach(kns_node::Error::NotRunning { node: "dev-n0".into() }),
            "node \"dev-n0\" is not running (no systemd-nspawn --machine=dev-n0)\nhint: `kubeadm-nspawn list`",
        );
        Error::Io(_) => (
            Error::io(
                "open archive",
                "/tmp/images/pause.tar",
                std::io::Error::from_raw_os_error(2),
            ),
            "error: open archive /tmp/images/pause.tar: No such file or directory (os error 2)\n",
        );
    })
}

#[test]
fn every_error_names_things_plainly() {
    assert_plain(samples());
}
