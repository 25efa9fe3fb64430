//! The command line and the environment made one checked [`Request`]: kubetest2's defaults
//! (the run id from `$PROW_JOB_ID` or a random UUID, ARTIFACTS from `$ARTIFACTS` or
//! `./_artifacts`, the run directory `${KUBETEST2_RUN_DIR:-./_rundir}/RUN_ID`, as
//! pkg/app/cmd.go and pkg/artifacts/paths.go make them, absolute), the tester found on PATH
//! (pkg/app/shim/testers.go: `kubetest2-tester-NAME`), kubeadm-nspawn found. Nothing is created
//! here: a refused request leaves nothing behind.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use crate::cli::{self, Args};
use crate::error::{Error, Result};

/// What the request is made from besides the command line.
pub struct Environment<'a> {
    pub var: &'a dyn Fn(&str) -> Option<OsString>,
    /// The working directory relative paths are taken from.
    pub cwd: PathBuf,
    /// The directory of this program (kubeadm-nspawn is looked for beside it first).
    pub own_dir: Option<PathBuf>,
    /// A new run id when neither --run-id nor $PROW_JOB_ID gives one.
    pub new_id: &'a dyn Fn() -> String,
}

impl Environment<'_> {
    fn text(&self, name: &str) -> Option<String> {
        (self.var)(name)
            .map(|v| v.to_string_lossy().into_owned())
            .filter(|v| !v.is_empty())
    }

    fn absolute(&self, path: &Path) -> PathBuf {
        let joined = self.cwd.join(path);
        // As Go's filepath.Abs: cleaned, `.` and `..` taken out.
        let mut clean = PathBuf::new();
        for part in joined.components() {
            match part {
                Component::ParentDir => {
                    clean.pop();
                }
                Component::CurDir => {}
                other => clean.push(other),
            }
        }
        clean
    }
}

/// The tester: kubetest2-tester-NAME and its arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Tester {
    pub name: String,
    pub program: PathBuf,
    pub args: Vec<String>,
}

/// The cluster the phases make and remove.
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    pub name: String,
    /// The kubeadm-nspawn program (None when no phase needs it: --build alone).
    pub kubeadm_nspawn: Option<PathBuf>,
    /// The one kubeconfig init writes and the tester gets.
    pub kubeconfig: PathBuf,
    /// The deployer flags, paths made absolute.
    pub flags: cli::Deployer,
}

/// A checked request: which phases, where their files go, the tester, the cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub build: bool,
    pub up: bool,
    pub down: bool,
    pub test: Option<Tester>,
    pub skip_test_junit_report: bool,
    pub run_id: String,
    pub artifacts: PathBuf,
    pub run_dir: PathBuf,
    pub pre_test_cmd: Vec<String>,
    pub post_test_cmd: Vec<String>,
    /// `$KUBETEST2_VERSION`, as kubetest2's shim sets it for the deployer (metadata.json).
    pub kubetest2_version: String,
    /// `$PATH` as this program got it (the tester's has the run directory first).
    pub path: OsString,
    pub cluster: Cluster,
}

impl Request {
    /// The environment kubetest2 adds for the tester and the pre- and post-test commands
    /// (pkg/app/app.go): the run directory first on PATH, ARTIFACTS, KUBETEST2_RUN_DIR,
    /// KUBETEST2_RUN_ID, and KUBECONFIG when the cluster's kubeconfig is there.
    pub fn tester_env(&self, kubeconfig: Option<&Path>) -> Vec<(String, OsString)> {
        let mut path = OsString::from(self.run_dir.as_os_str());
        path.push(":");
        path.push(&self.path);
        let mut env = vec![
            ("PATH".to_owned(), path),
            ("ARTIFACTS".to_owned(), self.artifacts.clone().into()),
            ("KUBETEST2_RUN_DIR".to_owned(), self.run_dir.clone().into()),
            ("KUBETEST2_RUN_ID".to_owned(), self.run_id.clone().into()),
        ];
        if let Some(kubeconfig) = kubeconfig {
            env.push(("KUBECONFIG".to_owned(), kubeconfig.into()));
        }
        env
    }

    /// Whether anything will use the cluster's kubeconfig.
    pub fn needs_kubeconfig(&self) -> bool {
        self.test.is_some() || !self.pre_test_cmd.is_empty() || !self.post_test_cmd.is_empty()
    }
}

/// The request of `args` in `env`.
pub fn request(args: &Args, env: &Environment) -> Result<Request> {
    let common = &args.common;
    let run_id = common
        .run_id
        .clone()
        .filter(|id| !id.is_empty())
        .or_else(|| env.text("PROW_JOB_ID"))
        .unwrap_or_else(|| (env.new_id)());
    let artifacts = env.absolute(
        &common
            .artifacts
            .clone()
            .or_else(|| env.text("ARTIFACTS").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("_artifacts")),
    );
    let run_dir = run_dir(common, env, &artifacts, &run_id);
    let path = (env.var)("PATH").unwrap_or_default();
    // kubetest2 runs no test for an empty --test.
    let test = match common.test.as_ref().filter(|name| !name.is_empty()) {
        Some(name) => Some(Tester {
            program: find_tester(name, &path, &env.cwd)?,
            name: name.clone(),
            args: args.tester_args.clone(),
        }),
        None => None,
    };
    let flags = deployer_flags(&args.deployer, env)?;
    if common.build && flags.kube_root.is_none() {
        return Err(Error::BuildWithoutKubeRoot);
    }
    let name = match &flags.cluster_name {
        Some(name) => name.clone(),
        None => default_name(&run_id),
    };
    check_name(&name)?;
    let needs_cluster = common.up || common.down || test.is_some();
    let kubeadm_nspawn = if needs_cluster {
        Some(find_kubeadm_nspawn(&flags, env, &path)?)
    } else {
        None
    };
    let kubeconfig = flags
        .kubeconfig
        .clone()
        .unwrap_or_else(|| run_dir.join("kubeconfig"));
    Ok(Request {
        build: common.build,
        up: common.up,
        down: common.down,
        test,
        skip_test_junit_report: common.skip_test_junit_report,
        run_id,
        artifacts,
        run_dir,
        pre_test_cmd: command(&common.pre_test_cmd),
        post_test_cmd: command(&common.post_test_cmd),
        kubetest2_version: env.text("KUBETEST2_VERSION").unwrap_or_default(),
        path,
        cluster: Cluster {
            name,
            kubeadm_nspawn,
            kubeconfig,
            flags,
        },
    })
}

/// `--rundir-in-artifacts`: ARTIFACTS/(--rundir or $KUBETEST2_RUN_DIR or _rundir)/RUN_ID, the
/// middle part taken as relative; else (--rundir or $KUBETEST2_RUN_DIR or ./_rundir)/RUN_ID.
fn run_dir(common: &cli::Common, env: &Environment, artifacts: &Path, run_id: &str) -> PathBuf {
    let given = common
        .rundir
        .clone()
        .or_else(|| env.text("KUBETEST2_RUN_DIR").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("_rundir"));
    if common.rundir_in_artifacts {
        let relative: PathBuf = given
            .components()
            .filter(|c| matches!(c, Component::Normal(_) | Component::ParentDir))
            .collect();
        env.absolute(&artifacts.join(relative).join(run_id))
    } else {
        env.absolute(&given.join(run_id))
    }
}

/// A comma-split command as pflag's string slice gives it: `--pre-test-cmd=` is none.
fn command(parts: &[String]) -> Vec<String> {
    if parts.iter().all(String::is_empty) {
        vec![]
    } else {
        parts.to_vec()
    }
}

/// kubetest2-tester-NAME, looked up on PATH as Go's exec.LookPath does (an empty entry is the
/// working directory).
pub fn find_tester(name: &str, path: &OsString, cwd: &Path) -> Result<PathBuf> {
    let program = format!("kubetest2-tester-{name}");
    let not_found = || Error::TesterNotFound {
        name: name.to_owned(),
        program: program.clone(),
    };
    if name.is_empty() || name.contains('/') {
        return Err(not_found());
    }
    look_path(&program, path, cwd).ok_or_else(not_found)
}

fn look_path(program: &str, path: &OsString, cwd: &Path) -> Option<PathBuf> {
    std::env::split_paths(path)
        .map(|dir| {
            if dir.as_os_str().is_empty() {
                cwd.to_path_buf()
            } else {
                cwd.join(dir)
            }
        })
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `--kubeadm-nspawn PATH`, else kubeadm-nspawn beside this program, else on PATH.
fn find_kubeadm_nspawn(
    flags: &cli::Deployer,
    env: &Environment,
    path: &OsString,
) -> Result<PathBuf> {
    if let Some(given) = &flags.kubeadm_nspawn {
        return if is_executable(given) {
            Ok(given.clone())
        } else {
            Err(Error::BadPath {
                flag: "kubeadm-nspawn",
                path: given.clone(),
                what: "is not an executable file",
            })
        };
    }
    let beside = env.own_dir.as_ref().map(|d| d.join("kubeadm-nspawn"));
    if let Some(beside) = beside.as_ref().filter(|b| is_executable(b)) {
        return Ok(beside.clone());
    }
    look_path("kubeadm-nspawn", path, &env.cwd).ok_or_else(|| Error::KubeadmNspawnNotFound {
        beside: env.own_dir.clone().unwrap_or_default(),
    })
}

/// The deployer flags with their paths absolute and checked.
fn deployer_flags(given: &cli::Deployer, env: &Environment) -> Result<cli::Deployer> {
    let mut flags = given.clone();
    let dir = |flag: &'static str, path: &Option<PathBuf>| -> Result<Option<PathBuf>> {
        match path {
            Some(path) if !env.absolute(path).is_dir() => Err(Error::BadPath {
                flag,
                path: path.clone(),
                what: "is not a directory",
            }),
            Some(path) => Ok(Some(env.absolute(path))),
            None => Ok(None),
        }
    };
    flags.kube_root = dir("kube-root", &given.kube_root)?;
    flags.kube_bin = dir("kube-bin", &given.kube_bin)?;
    flags.extra_bin = dir("extra-bin", &given.extra_bin)?;
    if let Some(config) = &given.config {
        if !env.absolute(config).is_file() {
            return Err(Error::BadPath {
                flag: "config",
                path: config.clone(),
                what: "is not a file",
            });
        }
        flags.config = Some(env.absolute(config));
    }
    flags.state_dir = given.state_dir.as_ref().map(|d| env.absolute(d));
    flags.kubeconfig = given.kubeconfig.as_ref().map(|f| env.absolute(f));
    flags.kubeadm_nspawn = given.kubeadm_nspawn.as_ref().map(|f| env.absolute(f));
    if let Some(nodes) = given.nodes.filter(|n| !(1..=50).contains(n)) {
        return Err(Error::BadValue {
            flag: "nodes",
            what: format!("{nodes}: a cluster has 1 to 50 nodes"),
        });
    }
    Ok(flags)
}

/// As kind names its cluster after the run (`kind-` and the run id's first 4 characters):
/// `kt2-` and the run id's first 8 lower-case letters and digits.
pub fn default_name(run_id: &str) -> String {
    let part: String = run_id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .take(8)
        .collect();
    if part.is_empty() {
        "kt2-run".to_owned()
    } else {
        format!("kt2-{part}")
    }
}

/// kubeadm-nspawn's rule for cluster names, checked before anything is made.
fn check_name(name: &str) -> Result<()> {
    if kns_plumbing::cluster_name::is_valid(name) {
        Ok(())
    } else {
        Err(Error::ClusterName(name.to_owned()))
    }
}

/// A random (version 4) UUID, as kubetest2's default run id.
pub fn random_uuid() -> String {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .is_err()
    {
        // No /dev/urandom: the time and the process id are unique enough for one machine.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        bytes[..12].copy_from_slice(&now.to_le_bytes()[..12]);
        bytes[12..].copy_from_slice(&std::process::id().to_le_bytes());
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}
