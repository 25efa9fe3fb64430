//! A Docker daemon for a test, on the host: Debian's dockerd with all of its state under the
//! test's work directory (data root, exec root, socket, PID file, trust key), and nothing that
//! reaches the host's network setup: no iptables rules, no bridge, no IP forwarding or masquerade
//! changes. vfs storage, since the tests only load, save and inspect images. Stopped by PID on
//! drop (it stops the containerd it started itself).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// dockerd flags that keep a test daemon off the network setup of the machine it runs on (the
/// host, or a node): no iptables rules, no bridge, no forwarding or masquerade changes; vfs
/// storage, which works on any filesystem (a node's root is an overlay).
pub const ISOLATION_FLAGS: &[&str] = &[
    "--iptables=false",
    "--ip6tables=false",
    "--ip-forward=false",
    "--ip-masq=false",
    "--bridge=none",
    "--storage-driver=vfs",
];

pub struct TestDockerd {
    child: Child,
    pub dir: PathBuf,
    pub socket: PathBuf,
}

impl TestDockerd {
    /// Starts dockerd with its state in `dir` (which should carry the test prefix) and waits until
    /// it answers.
    pub fn start(dir: &Path) -> TestDockerd {
        std::fs::create_dir_all(dir).unwrap();
        let socket = dir.join("docker.sock");
        // The trust key goes to /etc/docker/key.json unless the config file moves it.
        let config = dir.join("daemon.json");
        std::fs::write(
            &config,
            serde_json::json!({ "deprecated-key-path": dir.join("key.json") }).to_string(),
        )
        .unwrap();
        let log = std::fs::File::create(dir.join("dockerd.log")).unwrap();
        let child = Command::new("dockerd")
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("dockerd.pid"))
            .arg("--config-file")
            .arg(&config)
            .arg("-H")
            .arg(format!("unix://{}", socket.display()))
            .args(ISOLATION_FLAGS)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("run dockerd (Debian's docker.io; scripts/setup-host installs it)");
        let dockerd = TestDockerd {
            child,
            dir: dir.to_owned(),
            socket,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !dockerd.docker(&["version"]).status.success() {
            assert!(
                Instant::now() < deadline,
                "dockerd did not answer in 30 s: {}",
                std::fs::read_to_string(dir.join("dockerd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        dockerd
    }

    /// The DOCKER_HOST of this daemon.
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// The docker CLI against this daemon.
    pub fn docker(&self, args: &[&str]) -> Output {
        Command::new("docker")
            .arg("-H")
            .arg(self.host())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run the docker CLI")
    }
}

impl Drop for TestDockerd {
    fn drop(&mut self) {
        let pid = self.child.id() as i32;
        // SAFETY: kill(2) of the dockerd this fixture started, by its PID.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
