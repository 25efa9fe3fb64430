//! [`StandInHost`]: an ordinary systemd host for the host-matrix tier (#27), made from a container.
//!
//! The machines this project runs on have no systemd as PID 1; users' machines do, with machined,
//! and kubeadm-nspawn must work there too. A KVM VM is not available here, so the stand-in is a
//! Debian root (debootstrap, [`HOST_PACKAGES`]) booted with systemd-nspawn: systemd 252 is PID 1
//! inside, machined and dbus run, and the workspace's binaries and the node base image are bound
//! in, so the product runs inside it as on a user's machine, and its nodes are nested containers.
//!
//! - The root is built once into a shared cache, like the node base:
//!   `/var/lib/kubeadm-nspawn/hosts/<key>/rootfs`, key = sha256 of the package list, the host
//!   configuration and [`HOST_RECIPE_VERSION`]; built in a staging directory and renamed into
//!   place, under a lock (a second build of the same key waits, then finds it).
//! - Each host boots on an overlay of that root (upper/work in the test's work directory), from a
//!   cgroup of its own in every hierarchy (`/sys/fs/cgroup/<h>/kubeadm-nspawn/<name>`, where the
//!   leak check and the sweeper look), with a private network (the nested nodes reach nothing
//!   outside the host: their bridge is inside it).
//! - Two [`View`]s of the machine's cgroups: [`View::Hybrid`] (what this kernel's host has: the v1
//!   controllers plus a controller-less v2 `unified` tree) and [`View::Unified`]
//!   (`SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1`: a pure cgroup2 /sys/fs/cgroup, which on this hybrid
//!   kernel has no cpu/memory/pids/io controllers: no kubelet can run there, but everything up to
//!   a booted node can be tested).
//! - Inside: the workspace's binaries (or `$KNS_STAND_IN_BIN`) read-only at [`HOST_BIN_DIR`]; the
//!   node base image cache read-only at its usual place (`rootfs-builder build` inside finds the
//!   same key and builds nothing); `/var/lib/kubeadm-nspawn` itself a plain directory of the
//!   test's (node overlays and containerd's snapshots cannot have their upper dirs on the host's
//!   overlay root).
//! - [`StandInHost::run`] runs a command as a user of that host would: through its systemd, in a
//!   unit of its own (`systemd-run --wait --pipe`), not from outside its cgroup tree.
//! - Dropping it powers the host off (SIGKILL of everything in its cgroups after a timeout),
//!   unmounts its root and removes its cgroups.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use kns_plumbing::child::spawn_with_input;
use sha2::{Digest, Sha256};

use crate::leak::list_dir;
use crate::{bin_dir, reap_orphans, run, stdout_of_success, PrefixSweeper};

/// The shared cache of stand-in host roots.
pub const HOSTS_CACHE: &str = "/var/lib/kubeadm-nspawn/hosts";
/// The node base image cache, bound read-only into every host at the same path.
pub const NODE_IMAGES: &str = "/var/lib/kubeadm-nspawn/images";
/// Where the workspace's binaries (`target/<profile>`) are, inside a host.
pub const HOST_BIN_DIR: &str = "/opt/kubeadm-nspawn/bin";
/// Bumped whenever the host configuration below changes in a way the key cannot see.
pub const HOST_RECIPE_VERSION: u32 = 1;
pub const SUITE: &str = "bookworm";

/// A Debian host with systemd, machined (systemd-container), dbus and what kubeadm-nspawn needs of
/// its host (CNI plugins, iproute2, iptables); nothing else.
pub const HOST_PACKAGES: &[&str] = &[
    "systemd",
    "systemd-sysv",
    "dbus",
    "systemd-container",
    "containernetworking-plugins",
    "iproute2",
    "iptables",
    "iputils-ping",
    "kmod",
    "procps",
    "ca-certificates",
];

/// Units that would reach off the machine or do housekeeping no test wants.
const MASKED_UNITS: &[&str] = &[
    "systemd-timesyncd.service",
    "apt-daily.timer",
    "apt-daily.service",
    "apt-daily-upgrade.timer",
    "apt-daily-upgrade.service",
    "dpkg-db-backup.timer",
    "e2scrub_all.timer",
    "fstrim.timer",
    "man-db.timer",
    "logrotate.timer",
    "systemd-firstboot.service",
    "getty.target",
    "console-getty.service",
];

/// nspawn mounts the v1 controller hierarchies read-only in the host container; the nested nodes
/// (their launcher's cgroups, kubelet's pods) must write there, as on a real host.
const CGROUP_RW_UNIT: &str = "\
[Unit]
Description=Remount the cgroup hierarchies read-write (kubeadm-nspawn stand-in host)
DefaultDependencies=no
After=local-fs.target
Before=sysinit.target
ConditionVirtualization=container

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/lib/kns-host/cgroup-rw

[Install]
WantedBy=sysinit.target
";

const CGROUP_RW_SCRIPT: &str = r#"#!/bin/sh
# "bind" changes only this mount's flag; a plain remount would change the hierarchy's superblock.
set -eu
awk '$3 == "cgroup" || $3 == "cgroup2" || ($2 == "/sys/fs/cgroup" && $3 == "tmpfs") { print $2, $4 }' /proc/mounts |
while read -r target options; do
  case ",$options," in
    *,ro,*) mount -o remount,bind,rw "$target" ;;
  esac
done
"#;

/// The cgroup layout a host sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// This machine's own layout: v1 controller hierarchies, `name=systemd`, and a v2 `unified`
    /// tree without controllers (systemd's hybrid mode).
    Hybrid,
    /// `SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1`: /sys/fs/cgroup is cgroup2, systemd runs in unified
    /// mode. On this hybrid kernel the v2 tree has no cpu, memory, pids or io controllers.
    Unified,
}

impl View {
    pub fn all() -> [View; 2] {
        [View::Hybrid, View::Unified]
    }
}

/// A built stand-in host root in the shared cache.
#[derive(Debug, Clone)]
pub struct HostImage {
    pub key: String,
    pub rootfs: PathBuf,
    pub packages: Vec<String>,
    /// How long the build took (0 when it came from the cache).
    pub build_seconds: f64,
}

impl HostImage {
    /// The standard host ([`HOST_PACKAGES`]), built on first use.
    pub fn standard() -> HostImage {
        HostImage::with_packages(&[])
    }

    /// A variant with more packages (`systemd-resolved`; `network-manager` with `libpam-systemd`:
    /// debootstrap does not resolve polkitd's virtual `default-logind`), its own cache entry.
    pub fn with_packages(extra: &[&str]) -> HostImage {
        let mut packages: Vec<String> = HOST_PACKAGES.iter().map(|p| p.to_string()).collect();
        packages.extend(extra.iter().map(|p| p.to_string()));
        let mirror = std::env::var("KNS_HOST_MIRROR").ok();
        let key = host_key(&packages, mirror.as_deref());
        let cache = Path::new(HOSTS_CACHE);
        let entry = cache.join(&key);
        let image = |build_seconds| HostImage {
            key: key.clone(),
            rootfs: entry.join("rootfs"),
            packages: packages.clone(),
            build_seconds,
        };
        if entry.join("host.json").exists() {
            return image(0.0);
        }
        std::fs::create_dir_all(cache.join(".locks")).expect("create the hosts cache");
        let _lock = lock(&cache.join(".locks").join(format!("{key}.lock")));
        if entry.join("host.json").exists() {
            return image(0.0);
        }
        let started = Instant::now();
        // Leftovers of an interrupted build of this key (no one else holds its lock).
        for name in list_dir(cache) {
            if name.starts_with(&format!(".build-{key}-")) {
                let _ = std::fs::remove_dir_all(cache.join(name));
            }
        }
        let staging = cache.join(format!(".build-{key}-{}", std::process::id()));
        let rootfs = staging.join("rootfs");
        std::fs::create_dir_all(&rootfs).unwrap();
        eprintln!(
            "stand-in host: debootstrap of {} ({} packages, key {key}), once per machine",
            SUITE,
            packages.len()
        );
        let mut args = vec![
            "--variant=minbase".to_string(),
            format!("--include={}", packages.join(",")),
            SUITE.to_string(),
            rootfs.display().to_string(),
        ];
        // Debootstrap's default mirror unless told otherwise.
        args.extend(mirror);
        let log = staging.join("debootstrap.log");
        let status = Command::new("debootstrap")
            .args(&args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(staging.join("debootstrap.err")).unwrap())
            .status()
            .expect("run debootstrap (apt-get install debootstrap)");
        if !status.success() {
            let tail = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = tail.lines().rev().take(15).collect();
            let _ = std::fs::remove_dir_all(&staging);
            panic!(
                "debootstrap of the stand-in host failed ({status}):\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        configure(&rootfs);
        let seconds = started.elapsed().as_secs_f64();
        let info = serde_json::json!({
            "key": key, "suite": SUITE, "packages": packages,
            "recipe_version": HOST_RECIPE_VERSION, "build_seconds": seconds,
        });
        std::fs::write(staging.join("host.json"), info.to_string()).unwrap();
        std::fs::rename(&staging, &entry).expect("move the built host into the cache");
        eprintln!("stand-in host: built in {seconds:.0} s");
        image(seconds)
    }
}

/// sha256 of everything that makes a host root: packages, suite, mirror and configuration.
pub fn host_key(packages: &[String], mirror: Option<&str>) -> String {
    let mut h = Sha256::new();
    h.update(format!(
        "kns-stand-in-host v{HOST_RECIPE_VERSION}\nsuite {SUITE}\nmirror {}\npackages {}\nmasked {}\n",
        mirror.unwrap_or("debootstrap default"),
        packages.join(","),
        MASKED_UNITS.join(",")
    ));
    h.update(CGROUP_RW_UNIT);
    h.update(CGROUP_RW_SCRIPT);
    kns_plumbing::hex::encode(&h.finalize())
}

/// The host configuration on top of debootstrap's root.
fn configure(root: &Path) {
    let system = root.join("etc/systemd/system");
    for unit in MASKED_UNITS {
        let link = system.join(unit);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink("/dev/null", &link).unwrap();
    }
    let script = root.join("usr/lib/kns-host/cgroup-rw");
    std::fs::create_dir_all(script.parent().unwrap()).unwrap();
    std::fs::write(&script, CGROUP_RW_SCRIPT).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(system.join("kns-host-cgroup-rw.service"), CGROUP_RW_UNIT).unwrap();
    let wants = system.join("sysinit.target.wants");
    std::fs::create_dir_all(&wants).unwrap();
    let _ = std::fs::remove_file(wants.join("kns-host-cgroup-rw.service"));
    std::os::unix::fs::symlink(
        "/etc/systemd/system/kns-host-cgroup-rw.service",
        wants.join("kns-host-cgroup-rw.service"),
    )
    .unwrap();
    // Mount points of what every host gets bound in.
    for dir in [HOST_BIN_DIR, "/var/lib/kubeadm-nspawn"] {
        std::fs::create_dir_all(root.join(dir.trim_start_matches('/'))).unwrap();
    }
    // No machine ID: each boot gets nspawn's (the container's UUID), as a first boot would.
    let _ = std::fs::write(root.join("etc/machine-id"), "");
}

/// An exclusive flock on `path`, held until dropped.
struct FileLock(std::fs::File);

fn lock(path: &Path) -> FileLock {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    // SAFETY: flock on a file descriptor we own.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
    assert_eq!(rc, 0, "flock {}", path.display());
    FileLock(file)
}

impl Drop for FileLock {
    fn drop(&mut self) {
        // SAFETY: unlock of our own descriptor (closing it would do the same).
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

/// What to boot.
#[derive(Debug, Clone)]
pub struct HostOptions {
    pub view: View,
    /// Packages beyond [`HOST_PACKAGES`] (a variant image).
    pub extra_packages: Vec<String>,
    /// More host paths bound in: (host, inside, read-only).
    pub binds: Vec<(PathBuf, String, bool)>,
}

impl HostOptions {
    pub fn new(view: View) -> Self {
        HostOptions {
            view,
            extra_packages: vec![],
            binds: vec![],
        }
    }
}

/// A booted stand-in host (see the module's documentation).
pub struct StandInHost {
    /// Machine name and hostname: `<prefix>-h<i>`.
    pub name: String,
    pub view: View,
    pub image: HostImage,
    /// `<workdir>/<name>`: upper, work, rootfs (the overlay), var-lib (its /var/lib/kubeadm-nspawn),
    /// log.
    pub dir: PathBuf,
    pub root: PathBuf,
    pub log: PathBuf,
    nspawn: Child,
    /// Its cgroup directory in every hierarchy of this machine.
    cgroups: Vec<PathBuf>,
    /// Seconds from nspawn's start to `running` (set by [`StandInHost::wait_booted`]).
    pub boot_seconds: f64,
    started: Instant,
    down: bool,
}

/// The binaries bound into every host at [`HOST_BIN_DIR`]: `$KNS_STAND_IN_BIN` (e.g. a
/// `target/release`, or another build of the tools), else the workspace's `target/<profile>`.
pub fn host_bin_dir() -> PathBuf {
    std::env::var_os("KNS_STAND_IN_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(bin_dir)
}

/// Every cgroup hierarchy mounted under /sys/fs/cgroup (v1 controllers and the v2 one).
pub fn hierarchies() -> Vec<PathBuf> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(" - cgroup ") || l.contains(" - cgroup2 "))
        .filter_map(|l| l.split(' ').nth(4).map(PathBuf::from))
        .filter(|p| p.starts_with("/sys/fs/cgroup"))
        .collect()
}

impl StandInHost {
    /// Boots the standard host in `view`, named `<prefix>-h`.
    pub fn boot(sweeper: &PrefixSweeper, view: View) -> StandInHost {
        Self::boot_with(sweeper, "h", HostOptions::new(view))
    }

    /// Boots a host named `<prefix>-<suffix>` as `opts` says. It has not finished booting yet:
    /// see [`StandInHost::wait_booted`].
    pub fn boot_with(sweeper: &PrefixSweeper, suffix: &str, opts: HostOptions) -> StandInHost {
        let extra: Vec<&str> = opts.extra_packages.iter().map(String::as_str).collect();
        let image = HostImage::with_packages(&extra);
        let name = format!("{}-{suffix}", sweeper.prefix);
        let dir = sweeper.workdir.join(&name);
        let (upper, work, root) = (dir.join("upper"), dir.join("work"), dir.join("rootfs"));
        let var_lib = dir.join("var-lib");
        for d in [&upper, &work, &root, &var_lib.join("images")] {
            std::fs::create_dir_all(d).unwrap();
        }
        crate::mount_overlay(&image.rootfs, &upper, &work, &root);
        // A host has its own name (debootstrap copied this machine's /etc/hostname, which the host's
        // systemd would set over nspawn's --hostname).
        std::fs::write(root.join("etc/hostname"), format!("{name}\n")).unwrap();
        let cgroups = create_cgroups(&name);
        let procs: Vec<CString> = cgroups
            .iter()
            .map(|c| CString::new(c.join("cgroup.procs").as_os_str().as_bytes()).unwrap())
            .collect();
        let mut args = vec![
            "-D".to_string(),
            root.display().to_string(),
            // This machine has no systemd to register with or to ask for a scope.
            "--register=no".into(),
            "--keep-unit".into(),
            "--boot".into(),
            format!("--machine={name}"),
            format!("--hostname={name}"),
            // The nested nodes' bridge is inside the host; nothing needs to reach outside.
            "--private-network".into(),
            "--console=read-only".into(),
            // The nested nspawn, runc and iptables need them, as on a real host.
            "--capability=all".into(),
            "--system-call-filter=@keyring bpf".into(),
            "--private-users=no".into(),
            // Nested kubelets' OOM watchers read the kernel log.
            "--bind=/dev/kmsg".into(),
            format!("--bind-ro={}:{HOST_BIN_DIR}", host_bin_dir().display()),
            // A plain directory: overlay upper dirs cannot live on the host's overlay root.
            format!("--bind={}:/var/lib/kubeadm-nspawn", var_lib.display()),
        ];
        if Path::new(NODE_IMAGES).is_dir() {
            args.push(format!("--bind-ro={NODE_IMAGES}:{NODE_IMAGES}"));
        }
        for (host, inside, ro) in &opts.binds {
            let flag = if *ro { "--bind-ro" } else { "--bind" };
            args.push(format!("{flag}={}:{inside}", host.display()));
        }
        let log = dir.join("log");
        let mut cmd = Command::new("systemd-nspawn");
        cmd.args(&args)
            .env("SYSTEMD_NSPAWN_API_VFS_WRITABLE", "1")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(dir.join("nspawn.err")).unwrap());
        if opts.view == View::Unified {
            cmd.env("SYSTEMD_NSPAWN_UNIFIED_HIERARCHY", "1");
        }
        kns_node::nspawn::start_in_cgroups(&mut cmd, procs);
        let started = Instant::now();
        let nspawn = cmd.spawn().expect("run systemd-nspawn");
        StandInHost {
            name,
            view: opts.view,
            image,
            dir,
            root,
            log,
            nspawn,
            cgroups,
            boot_seconds: 0.0,
            started,
            down: false,
        }
    }

    /// The host's systemd (PID 1 inside), once nspawn has started it.
    pub fn node(&self) -> Option<kns_node::Node> {
        kns_node::Node::from_nspawn(&self.name, Some(self.nspawn.id())).ok()
    }

    pub fn leader(&self) -> u32 {
        self.node().expect("the stand-in host runs").leader
    }

    pub fn nspawn_pid(&self) -> u32 {
        self.nspawn.id()
    }

    /// Waits until the host's systemd is `running` (no unit failed); returns the seconds since
    /// nspawn started.
    ///
    /// In the hybrid view the host's systemd is then re-executed once: nspawn mounts the v1
    /// controller hierarchies read-only, so at boot systemd found them unusable and runs its units
    /// in `name=systemd` and the v2 tree only (a unit's MemoryMax= had no memory cgroup). After the
    /// remount (kns-host-cgroup-rw.service) and `daemon-reexec` it uses them as a hybrid host's
    /// systemd does (measured: a unit with MemoryMax= gets memory, cpu, pids and devices cgroups).
    pub fn wait_booted(&mut self, timeout: Duration) -> f64 {
        let state = kns_node::boot::wait(&*self, timeout, Duration::from_millis(100))
            .unwrap_or_else(|e| panic!("stand-in host {}: {e}", self.name));
        assert_eq!(state, "running", "stand-in host {}", self.name);
        if self.view == View::Hybrid {
            self.exec_ok(&["systemctl", "daemon-reexec"]);
            let state = kns_node::boot::wait(&*self, timeout, Duration::from_millis(50))
                .unwrap_or_else(|e| panic!("stand-in host {} after daemon-reexec: {e}", self.name));
            assert_eq!(state, "running", "stand-in host {}", self.name);
        }
        self.boot_seconds = self.started.elapsed().as_secs_f64();
        self.boot_seconds
    }

    /// Runs `argv` in all of the host's namespaces, straight from outside (root, but in no unit of
    /// the host: its cgroup is this test's). For looking at the host, not for the product.
    pub fn exec(&self, argv: &[&str]) -> Output {
        self.node()
            .expect("the stand-in host runs")
            .command(argv)
            .stdin(Stdio::null())
            .output()
            .expect("run nsenter")
    }

    /// [`StandInHost::exec`] that must succeed; its stdout.
    pub fn exec_ok(&self, argv: &[&str]) -> String {
        let what = format!("{} in {}", argv.join(" "), self.name);
        stdout_of_success(&self.exec(argv), &what)
    }

    /// Runs `argv` as a user of the host would: started by its systemd in a transient unit of its
    /// own (`systemd-run --wait --pipe --collect`; a login shell's commands are in a session scope,
    /// the point is the same: a unit, inside the host's cgroup tree), with stdout, stderr and the
    /// exit status passed back. `env` is set in the unit (its PATH is systemd's default).
    pub fn run_env(&self, env: &[(&str, &str)], argv: &[&str]) -> Output {
        self.run_unit(&[], env, argv)
    }

    /// [`StandInHost::run_env`] with unit properties (`MemoryMax=100M`) on the command's unit.
    pub fn run_unit(&self, properties: &[&str], env: &[(&str, &str)], argv: &[&str]) -> Output {
        self.unit_command(properties, env, argv)
            .stdin(Stdio::null())
            .output()
            .expect("run nsenter")
    }

    /// The command [`StandInHost::run_unit`] runs, to be started as the caller needs (with input).
    pub fn unit_command(
        &self,
        properties: &[&str],
        env: &[(&str, &str)],
        argv: &[&str],
    ) -> Command {
        let mut all: Vec<String> = vec![
            "systemd-run".into(),
            "--quiet".into(),
            "--wait".into(),
            "--pipe".into(),
            "--collect".into(),
            "--service-type=exec".into(),
            // A hung command must not hang the test for ever.
            "--property=RuntimeMaxSec=900".into(),
        ];
        for property in properties {
            all.push(format!("--property={property}"));
        }
        for (k, v) in env {
            all.push(format!("--setenv={k}={v}"));
        }
        all.push("--".into());
        all.extend(argv.iter().map(|a| a.to_string()));
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        self.node().expect("the stand-in host runs").command(&all)
    }

    pub fn run(&self, argv: &[&str]) -> Output {
        self.run_env(&[], argv)
    }

    /// [`StandInHost::run`] that must succeed; its stdout.
    pub fn run_ok(&self, argv: &[&str]) -> String {
        let what = format!("{} (as a unit) in {}", argv.join(" "), self.name);
        stdout_of_success(&self.run(argv), &what)
    }

    /// A workspace binary as a path inside the host.
    pub fn bin(&self, name: &str) -> String {
        let outside = host_bin_dir().join(name);
        assert!(
            outside.exists(),
            "{} is missing: build the workspace first",
            outside.display()
        );
        format!("{HOST_BIN_DIR}/{name}")
    }

    /// Writes `contents` to `path` inside the host (through its root in /proc: the overlay's view
    /// plus the binds).
    pub fn write_file(&self, path: &str, contents: &str) {
        let mut cat = self.node().expect("the stand-in host runs").command(&[
            "sh",
            "-c",
            "cat > \"$0\"",
            path,
        ]);
        let written = spawn_with_input(&mut cat, Some(contents.as_bytes()))
            .and_then(|child| child.wait_with_output())
            .unwrap();
        stdout_of_success(&written, &format!("write {path} in the host"));
    }

    /// Every PID in the host's cgroups (any depth, any hierarchy): the host and all it started.
    pub fn pids(&self) -> Vec<i32> {
        let mut pids: Vec<i32> = self.cgroups.iter().flat_map(|c| procs_under(c)).collect();
        pids.sort_unstable();
        pids.dedup();
        pids
    }

    /// Clean poweroff (SIGRTMIN+4 to its systemd), then SIGKILL of everything left in its cgroups
    /// after `timeout`; then its root is unmounted and its cgroups removed. Returns whether the
    /// poweroff was clean (nspawn exited within the timeout). Idempotent.
    pub fn poweroff(&mut self, timeout: Duration) -> bool {
        if self.down {
            return true;
        }
        self.down = true;
        if let Some(node) = self.node() {
            node.signal(libc::SIGRTMIN() + 4);
        }
        let start = Instant::now();
        let mut clean = false;
        while start.elapsed() < timeout {
            if let Ok(Some(_)) = self.nspawn.try_wait() {
                clean = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if !clean {
            if let Some(node) = self.node() {
                // The host's PID 1: its whole PID namespace (and the nested nodes') goes with it.
                node.signal(libc::SIGKILL);
            }
            let _ = self.nspawn.kill();
            let _ = self.nspawn.wait();
        }
        self.kill_cgroup_members();
        let root = self.root.to_str().unwrap_or_default().to_owned();
        if crate::leak::mount_points().contains(&root) && !run("umount", &[&root]).status.success()
        {
            let _ = run("umount", &["-l", &root]);
        }
        for cgroup in &self.cgroups {
            remove_cgroup_tree(cgroup);
            if let Some(parent) = cgroup.parent() {
                let _ = std::fs::remove_dir(parent); // only once nothing else is in it
            }
        }
        let _ = std::fs::remove_file(Path::new("/run/systemd/nspawn/propagate").join(&self.name));
        let _ = std::fs::remove_dir(Path::new("/run/systemd/nspawn/propagate"));
        clean
    }

    fn kill_cgroup_members(&mut self) {
        for _ in 0..200 {
            let pids = self.pids();
            if pids.is_empty() {
                return;
            }
            for pid in pids {
                // SAFETY: kill(2) of a process in this host's own cgroup: the test started it all.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            reap_orphans();
            let _ = self.nspawn.try_wait();
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("{}: {:?} survive SIGKILL", self.name, self.pids());
    }

    /// The end of the host's console log and nspawn's stderr, for errors.
    pub fn log_tail(&self) -> String {
        let mut text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.push_str(&std::fs::read_to_string(self.dir.join("nspawn.err")).unwrap_or_default());
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl kns_node::boot::Booting for StandInHost {
    type Node = kns_node::Node;
    fn node(&self) -> Option<kns_node::Node> {
        StandInHost::node(self)
    }
    fn alive(&self) -> bool {
        kns_node::liveness::is_running(self.nspawn.id(), &self.name)
    }
    fn log_tail(&self) -> String {
        StandInHost::log_tail(self)
    }
    fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for StandInHost {
    fn drop(&mut self) {
        self.poweroff(Duration::from_secs(20));
    }
}

/// `/sys/fs/cgroup/<h>/kubeadm-nspawn/<name>` in every hierarchy (cpuset given its parent's CPUs
/// and memory nodes, without which it refuses tasks).
fn create_cgroups(name: &str) -> Vec<PathBuf> {
    let mut dirs = vec![];
    for hierarchy in hierarchies() {
        let parent = hierarchy.join("kubeadm-nspawn");
        let dir = parent.join(name);
        for d in [&parent, &dir] {
            if d.exists() {
                continue;
            }
            std::fs::create_dir(d).unwrap_or_else(|e| panic!("create {}: {e}", d.display()));
            if hierarchy.ends_with("cpuset") {
                for file in ["cpuset.cpus", "cpuset.mems"] {
                    let value = std::fs::read_to_string(d.parent().unwrap().join(file)).unwrap();
                    std::fs::write(d.join(file), value.trim()).unwrap();
                }
            }
        }
        dirs.push(dir);
    }
    dirs
}

fn procs_under(dir: &Path) -> Vec<i32> {
    let mut pids: Vec<i32> = std::fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    for name in list_dir(dir) {
        let sub = dir.join(name);
        if sub.is_dir() {
            pids.extend(procs_under(&sub));
        }
    }
    pids
}

/// rmdir of a cgroup and everything under it, children first (cgroup directories go with rmdir
/// only; they are empty once their processes are gone).
fn remove_cgroup_tree(dir: &Path) {
    for name in list_dir(dir) {
        let sub = dir.join(name);
        if sub.is_dir() {
            remove_cgroup_tree(&sub);
        }
    }
    let _ = std::fs::remove_dir(dir);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_keys_follow_the_packages_and_the_mirror() {
        let base: Vec<String> = HOST_PACKAGES.iter().map(|p| p.to_string()).collect();
        let mut more = base.clone();
        more.push("systemd-resolved".into());
        let k = host_key(&base, None);
        assert_eq!(k.len(), 64);
        assert_eq!(k, host_key(&base, None));
        assert_ne!(k, host_key(&more, None));
        assert_ne!(k, host_key(&base, Some("file:///mirror")));
    }
}
