//! Docker as a place images come from and go to, through its Engine API (bollard): the host's
//! daemon hands an image out (`docker save`), a node's daemon takes images in (`docker load`) over
//! the socket inside the node's root. bollard is async and image-pusher is threads and pipes, so
//! each call runs on a current-thread tokio runtime of its own; the client keeps no idle
//! connections between them.

use std::fs::File;
use std::future::Future;
use std::io::{self, Write};
use std::path::Path;
use std::thread::JoinHandle;

use bollard::query_parameters::ImportImageOptionsBuilder;
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::archive::{Archive, ArchivedImage};
use crate::error::{Error, Result};
use crate::image::normalize_name;

/// Where a node's Docker listens, relative to the node's root (`/var/run` is a symlink to `/run`,
/// and an absolute one, which would lead out of the node when followed from the host).
pub const NODE_SOCKET: &str = "run/docker.sock";
/// The host's Docker when neither `--docker-host` nor `DOCKER_HOST` says otherwise.
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";
/// A save or load of a large image takes longer than bollard's default of two minutes.
const TIMEOUT_SECONDS: u64 = 3600;
/// Chunks a load may lag behind its writer (as fanout's queues).
const WINDOW: usize = 16;

/// A Docker daemon reached over its unix socket.
#[derive(Clone)]
pub struct Daemon {
    client: bollard::Docker,
    /// How errors name it: "the host's Docker (unix:///var/run/docker.sock)", "Docker in node \"dev-n0\"".
    label: String,
}

impl Daemon {
    /// Connects to `address` (`unix:///path` or `/path`) and agrees on an API version with it,
    /// which also proves that it answers.
    pub fn connect(address: &str, label: impl Into<String>) -> Result<Daemon> {
        let label = label.into();
        let socket = socket_path(address).map_err(|what| Error::Docker {
            daemon: label.clone(),
            what,
        })?;
        let unreachable = |what: String| Error::Docker {
            daemon: label.clone(),
            what: format!("cannot reach it: {what}; is dockerd running?"),
        };
        let client = bollard::Docker::connect_with_unix(
            &socket,
            TIMEOUT_SECONDS,
            bollard::API_DEFAULT_VERSION,
        )
        .map_err(|e| unreachable(e.to_string()))?;
        let client = block_on(client.negotiate_version())
            .map_err(|e| unreachable(e.to_string()))?
            .map_err(|e| unreachable(e.to_string()))?;
        Ok(Daemon { client, label })
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    /// `future` run to completion on a runtime of its own (see the module comment).
    fn block_on<F: Future>(&self, future: F) -> Result<F::Output> {
        block_on(future).map_err(|e| self.error(format!("starting an async runtime: {e}")))
    }

    fn error(&self, what: impl Into<String>) -> Error {
        Error::Docker {
            daemon: self.label.clone(),
            what: what.into(),
        }
    }

    /// The ID (config digest) of the image `reference` names, or None when the daemon has none.
    pub fn image_id(&self, reference: &str) -> Result<Option<String>> {
        let inspected = self.block_on(self.client.inspect_image(reference))?;
        match inspected {
            Ok(image) => Ok(image.id),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(None),
            Err(e) => Err(self.error(format!("inspect {reference}: {e}"))),
        }
    }

    /// The image `reference` names in this daemon, as a push plans with it before saving it.
    pub fn image(&self, reference: &str) -> Result<DockerImage> {
        if is_image_id(reference) {
            return Err(Error::InvalidArgument(format!(
                "--docker-image {reference}: give the image's name (repository:tag), not its ID; \
                 nodes find images by name"
            )));
        }
        // Saved under its full name with a tag, so the archive names exactly one image.
        let name = normalize_name(reference);
        match self.image_id(&name)? {
            Some(id) => Ok(DockerImage {
                reference: reference.to_owned(),
                image: ArchivedImage {
                    names: vec![name],
                    config_digest: id,
                },
            }),
            None => Err(self.error(format!(
                "has no image {reference} (`docker images` lists what it has; build or load it first)"
            ))),
        }
    }

    /// `docker save` of `image` into a temporary file, indexed as an archive; fails if what came
    /// out is not the image that was planned with (the tag moved in between).
    pub fn save(&self, image: &DockerImage) -> Result<Archive> {
        let name = &image.image.names[0];
        let mut spool = tempfile::Builder::new()
            .prefix("image-pusher-save-")
            .tempfile()
            .map_err(|e| Error::io("create a temporary file in", std::env::temp_dir(), e))?;
        let written = self.block_on(async {
            let mut stream = self.client.export_image(name);
            let file: &mut File = spool.as_file_mut();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| self.error(format!("save {name}: {e}")))?;
                file.write_all(&chunk)
                    .map_err(|e| Error::io("write", std::env::temp_dir(), e))?;
            }
            Ok::<_, Error>(())
        })?;
        written?;
        let label = format!("docker image {}", image.reference);
        let archive = Archive::open_temporary(spool.into_temp_path(), &label)?;
        if !archive.images.contains(&image.image) {
            return Err(self.error(format!(
                "saved {} but it is no longer image {} (was it retagged during the push?)",
                image.reference, image.image.config_digest
            )));
        }
        Ok(archive)
    }

    /// Starts a `docker load`: the returned writer feeds the request body; [`Load::wait`] ends it
    /// (after the writer is dropped) with the names the daemon reports loaded.
    pub fn start_load(&self) -> (LoadWriter, Load) {
        let (sender, receiver) = mpsc::channel::<Bytes>(WINDOW);
        let daemon = self.clone();
        let thread = std::thread::spawn(move || daemon.block_on(daemon.load(receiver))?);
        (LoadWriter { sender }, Load { thread })
    }

    async fn load(&self, receiver: mpsc::Receiver<Bytes>) -> Result<Vec<String>> {
        let body = futures_util::stream::unfold(receiver, |mut receiver| async move {
            let chunk = receiver.recv().await?;
            Some((Ok::<_, io::Error>(chunk), receiver))
        });
        let options = ImportImageOptionsBuilder::default().quiet(true).build();
        let mut responses = self.client.import_image_stream(options, body, None);
        let mut loaded = vec![];
        while let Some(response) = responses.next().await {
            let info = response.map_err(|e| self.error(format!("docker load: {e}")))?;
            // Quiet loads answer "Loaded image: NAME" (or "Loaded image ID: ..." for untagged).
            if let Some(name) = info
                .stream
                .as_deref()
                .and_then(|s| s.trim().strip_prefix("Loaded image: "))
            {
                loaded.push(name.to_owned());
            }
        }
        Ok(loaded)
    }
}

/// An image in the host's Docker, known by name and ID before anything is saved: a node that
/// already has it is skipped without `docker save` running at all.
#[derive(Debug, Clone)]
pub struct DockerImage {
    /// As the user gave it.
    pub reference: String,
    pub image: ArchivedImage,
}

/// The body of a running `docker load`; dropping it ends the upload.
pub struct LoadWriter {
    sender: mpsc::Sender<Bytes>,
}

impl Write for LoadWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.sender
            .blocking_send(Bytes::copy_from_slice(buf))
            .map_err(|_| {
                io::Error::new(io::ErrorKind::BrokenPipe, "docker load stopped reading")
            })?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A running `docker load`.
pub struct Load {
    thread: JoinHandle<Result<Vec<String>>>,
}

impl Load {
    /// Waits for the daemon's answer; call after the [`LoadWriter`] is dropped.
    pub fn wait(self) -> Result<Vec<String>> {
        self.thread
            .join()
            .unwrap_or_else(|_| Err(Error::InvalidArgument("docker load thread panicked".into())))
    }
}

/// The socket path of a Docker address; only local unix sockets are supported.
fn socket_path(address: &str) -> std::result::Result<String, String> {
    match address.split_once("://") {
        None if address.starts_with('/') => Ok(address.to_owned()),
        Some(("unix", path)) if path.starts_with('/') => Ok(path.to_owned()),
        _ => Err(format!(
            "\"{address}\" is not a local socket: give unix:///path/to/docker.sock"
        )),
    }
}

/// `sha256:<hex>` or a bare hex ID (full or the short form `docker images` shows).
fn is_image_id(reference: &str) -> bool {
    let hex = reference.strip_prefix("sha256:").unwrap_or(reference);
    (12..=64).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Whether a node runs Docker: its socket exists in the node's root.
pub fn runs_in(node_root: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(node_root.join(NODE_SOCKET)).is_ok_and(|m| m.file_type().is_socket())
}

fn block_on<F: Future>(future: F) -> io::Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(runtime.block_on(future))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_sockets_are_addresses() {
        assert_eq!(
            socket_path("unix:///var/run/docker.sock").unwrap(),
            "/var/run/docker.sock"
        );
        assert_eq!(socket_path("/tmp/d.sock").unwrap(), "/tmp/d.sock");
        for bad in [
            "tcp://10.0.0.1:2375",
            "ssh://host",
            "docker.sock",
            "unix://rel",
        ] {
            let err = socket_path(bad).unwrap_err();
            assert!(err.contains("not a local socket"), "{bad}: {err}");
        }
    }

    #[test]
    fn image_ids_are_told_from_names() {
        for id in [
            "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "0123456789ab",
        ] {
            assert!(is_image_id(id), "{id}");
        }
        for name in [
            "busybox",
            "busybox:1.36",
            "deadbeef:1",
            "registry.local/x/y:v1",
        ] {
            assert!(!is_image_id(name), "{name}");
        }
    }

    #[test]
    fn a_missing_daemon_is_a_clear_error() {
        let err = Daemon::connect("unix:///nonexistent/knst-docker.sock", "the host's Docker")
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.starts_with("the host's Docker: cannot reach it:")
                && err.contains("is dockerd running?"),
            "{err}"
        );
    }
}
