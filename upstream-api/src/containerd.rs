//! containerd's `/etc/containerd/config.toml`, strictly for what a kubeadm-nspawn node uses, in
//! the two layouts containerd reads:
//!
//! - **version 2** (containerd 1.6/1.7; containerd 2.x migrates it on every start): the CRI
//!   plugin is one table, `[plugins."io.containerd.grpc.v1.cri"]` ([`CriPluginV2`]:
//!   `sandbox_image`, `[...cri.containerd]` with snapshotter and runtimes, `[...cri.cni]`,
//!   `[...cri.registry]` …), from `pkg/cri/config/config.go` of every 1.6.x and 1.7.x tag;
//! - **version 3** (containerd 2.0+): the CRI plugin is split in three, from
//!   `internal/cri/config/config.go` of every 2.0.x–2.3.x tag:
//!   `[plugins."io.containerd.cri.v1.runtime"]` ([`RuntimeConfigV3`]: runtimes, cni, the
//!   security and cgroup switches), `[plugins."io.containerd.cri.v1.images"]`
//!   ([`ImageConfigV3`]: snapshotter, `pinned_images.sandbox` — where the sandbox image moved —,
//!   registry) and what remains of `[plugins."io.containerd.grpc.v1.cri"]` ([`ServerConfigV3`]:
//!   the TCP service and streaming server).
//!
//! The top level is the server's `Config` (`services/server/config/config.go` in 1.x,
//! `cmd/containerd/server/config/config.go` in 2.x). Other plugin tables are accepted, as opaque
//! TOML, only if named in [`OPAQUE_PLUGINS_V2`] / [`OPAQUE_PLUGINS_V3`]. Fields that only some
//! releases have are listed in [`TOP_VERSIONED`], [`V2_VERSIONED`] and [`V3_VERSIONED`], by
//! release (several came in a patch release); [`parse`] applies them.
//!
//! What containerd itself does with a field it does not know: 1.6/1.7 decode with go-toml v1's
//! `Unmarshal`, which ignores it silently; 2.x decodes with `DisallowUnknownFields` and, on an
//! unknown key, logs "Ignoring unknown key in TOML" (top level) or "Ignoring unknown key in TOML
//! for plugin" and decodes again ignoring it. Either way the setting has no effect, which is why
//! this mirror refuses it.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize};

use crate::kubelet::component_base::{parse_go_duration, shorten};
use crate::Result;

/// A containerd release, e.g. `Release(1, 6, 20)` (Debian 12's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Release(pub u32, pub u32, pub u32);

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// `text` as containerd `major.minor` reads it, for the series' first release (`x.y.0`): a field
/// that came in a later patch of the series is refused (use [`parse_release`] for one release).
pub fn parse(text: &str, containerd: (u32, u32)) -> Result<ContainerdConfig> {
    parse_release(text, Release(containerd.0, containerd.1, 0))
}

/// `text` as containerd `release` reads it: decoded strictly in the layout its `version` names,
/// the CRI plugin tables strictly too, and every field checked against the release.
pub fn parse_release(text: &str, release: Release) -> Result<ContainerdConfig> {
    let table: toml::Table = text
        .parse()
        .map_err(|e| format!("containerd config: not TOML: {e}"))?;
    let root = toml::Value::Table(table);
    let top: TopLevel = strict_toml("containerd config", &root)?;
    let version = match top.version {
        Some(v) => v,
        None => {
            return Err(
                "containerd config: no `version` (version 1, the 1.0 layout, is not mirrored)"
                    .to_string(),
            )
        }
    };
    let layout = match version {
        2 => Layout::V2,
        3 if release >= Release(2, 0, 0) => Layout::V3,
        3 => {
            return Err(format!(
                "containerd config: version 3 needs containerd 2.0 (this is {release}; 1.6.32+ \
                 and 1.7.17+ refuse it, older 1.x releases ignore its CRI tables)"
            ))
        }
        other => {
            return Err(format!(
                "containerd config: version {other} is not read by containerd {release} (2 or 3)"
            ))
        }
    };
    check_release("containerd config", &root, TOP_VERSIONED, release)?;
    for (name, list) in [
        ("disabled_plugins", &top.disabled_plugins),
        ("required_plugins", &top.required_plugins),
    ] {
        for plugin in list.iter().flatten() {
            if plugin.split('.').count() < 4 || !plugin.starts_with("io.containerd.") {
                return Err(format!(
                    "containerd config: {name}: {plugin:?} is not a plugin URI io.containerd.x.vx.id"
                ));
            }
        }
    }
    let mut plugins = top.plugins.clone().unwrap_or_default();
    let cri = match layout {
        Layout::V2 => {
            for v3_only in [RUNTIME_V3, IMAGES_V3] {
                if plugins.contains_key(v3_only) {
                    return Err(format!(
                        "containerd config: plugins.{v3_only:?} is a version-3 table in a version-2 file"
                    ));
                }
            }
            check_release("containerd config", &root, V2_VERSIONED, release)?;
            CriPlugins::V2(take_strict::<CriPluginV2>(&mut plugins, CRI_V2)?)
        }
        Layout::V3 => {
            check_release("containerd config", &root, V3_VERSIONED, release)?;
            let runtime = take_strict::<RuntimeConfigV3>(&mut plugins, RUNTIME_V3)?;
            let images = take_strict::<ImageConfigV3>(&mut plugins, IMAGES_V3)?;
            let server = take_strict::<ServerConfigV3>(&mut plugins, CRI_V2)?;
            CriPlugins::V3 {
                runtime,
                images,
                server,
            }
        }
    };
    for runtime in cri.runtimes() {
        check_runc_options(runtime.name, runtime.runtime_type, runtime.options, release)?;
    }
    let allowed = match layout {
        Layout::V2 => OPAQUE_PLUGINS_V2,
        Layout::V3 => OPAQUE_PLUGINS_V3,
    };
    for name in plugins.keys() {
        if !allowed.contains(&name.as_str()) {
            return Err(format!(
                "containerd config: plugins.{name:?} is not a plugin table this mirror knows for version {version}"
            ));
        }
    }
    Ok(ContainerdConfig {
        top,
        cri,
        other_plugins: plugins,
    })
}

/// What containerd `release` logs at start for a file of `config`'s layout beyond unknown keys:
/// containerd 2.x migrates a version-2 file on every start and warns "Configuration migrated from
/// version 2, use `containerd config migrate` to avoid migration"
/// (`cmd/containerd/server/server.go`); the plugins' `ConfigMigration` moves the CRI fields to
/// the three version-3 tables (`plugins/cri/{runtime,images}/plugin.go`, `plugins/cri/cri.go`).
pub fn migration_warning(config: &ContainerdConfig, release: Release) -> Option<String> {
    (release >= Release(2, 0, 0) && matches!(config.cri, CriPlugins::V2(_))).then(|| {
        "Configuration migrated from version 2, use `containerd config migrate` to avoid migration"
            .to_string()
    })
}

enum Layout {
    V2,
    V3,
}

/// The version-2 CRI plugin; in version 3 the same name holds only [`ServerConfigV3`].
pub const CRI_V2: &str = "io.containerd.grpc.v1.cri";
pub const RUNTIME_V3: &str = "io.containerd.cri.v1.runtime";
pub const IMAGES_V3: &str = "io.containerd.cri.v1.images";

/// Plugin tables a version-2 file may hold as opaque TOML: those `containerd config default`
/// of 1.6 prints, and the 1.7 plugins with a config (NRI, transfer, image verifier).
pub const OPAQUE_PLUGINS_V2: &[&str] = &[
    "io.containerd.gc.v1.scheduler",
    "io.containerd.internal.v1.opt",
    "io.containerd.internal.v1.restart",
    "io.containerd.internal.v1.tracing",
    "io.containerd.metadata.v1.bolt",
    "io.containerd.monitor.v1.cgroups",
    "io.containerd.runtime.v1.linux",
    "io.containerd.runtime.v2.task",
    "io.containerd.service.v1.diff-service",
    "io.containerd.service.v1.tasks-service",
    "io.containerd.snapshotter.v1.aufs",
    "io.containerd.snapshotter.v1.blockfile",
    "io.containerd.snapshotter.v1.btrfs",
    "io.containerd.snapshotter.v1.devmapper",
    "io.containerd.snapshotter.v1.native",
    "io.containerd.snapshotter.v1.overlayfs",
    "io.containerd.snapshotter.v1.zfs",
    "io.containerd.tracing.processor.v1.otlp",
    "io.containerd.nri.v1.nri",
    "io.containerd.transfer.v1.local",
    "io.containerd.image-verifier.v1.bindir",
];

/// Plugin tables a version-3 file may hold as opaque TOML: the 2.x plugins that register a
/// config (`plugins/types.go` names; the monitor plugins were renamed in 2.0).
pub const OPAQUE_PLUGINS_V3: &[&str] = &[
    "io.containerd.gc.v1.scheduler",
    "io.containerd.internal.v1.opt",
    "io.containerd.internal.v1.tracing",
    "io.containerd.metadata.v1.bolt",
    "io.containerd.monitor.task.v1.cgroups",
    "io.containerd.monitor.container.v1.restart",
    "io.containerd.nri.v1.nri",
    "io.containerd.runtime.v2.task",
    "io.containerd.service.v1.diff-service",
    "io.containerd.service.v1.tasks-service",
    "io.containerd.shim.v1.manager",
    "io.containerd.image-verifier.v1.bindir",
    "io.containerd.transfer.v1.local",
    "io.containerd.tracing.processor.v1.otlp",
    "io.containerd.snapshotter.v1.blockfile",
    "io.containerd.snapshotter.v1.btrfs",
    "io.containerd.snapshotter.v1.devmapper",
    "io.containerd.snapshotter.v1.erofs",
    "io.containerd.snapshotter.v1.native",
    "io.containerd.snapshotter.v1.overlayfs",
    "io.containerd.snapshotter.v1.zfs",
    "io.containerd.differ.v1.erofs",
    "io.containerd.mount-handler.v1.erofs",
];

/// A parsed `config.toml`.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerdConfig {
    /// The top level (its `plugins` still holds every plugin table as TOML).
    pub top: TopLevel,
    /// The CRI plugin tables, strictly typed.
    pub cri: CriPlugins,
    /// The allow-listed other plugin tables.
    pub other_plugins: BTreeMap<String, toml::Value>,
}

/// The CRI plugin tables of either layout (`None`: the table is absent, containerd's defaults).
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // one per parsed file
pub enum CriPlugins {
    V2(Option<CriPluginV2>),
    V3 {
        runtime: Option<RuntimeConfigV3>,
        images: Option<ImageConfigV3>,
        server: Option<ServerConfigV3>,
    },
}

impl ContainerdConfig {
    /// The sandbox (pause) image: `sandbox_image` in version 2, `pinned_images.sandbox` of the
    /// images plugin in version 3.
    pub fn sandbox_image(&self) -> Option<&str> {
        match &self.cri {
            CriPlugins::V2(cri) => cri.as_ref()?.sandbox_image.as_deref(),
            CriPlugins::V3 { images, .. } => images
                .as_ref()?
                .pinned_images
                .as_ref()?
                .get("sandbox")
                .map(String::as_str),
        }
    }

    /// The `options` table of runtime `name` (e.g. `runc`) in either layout.
    pub fn runtime_options(&self, name: &str) -> Option<&toml::Table> {
        self.cri
            .runtimes()
            .into_iter()
            .find(|runtime| runtime.name == name)?
            .options
            .as_ref()
    }
}

/// A runtime of `[...containerd.runtimes]` in either layout ([`RuntimeV2`], [`RuntimeV3`]), as
/// the runc checks and [`ContainerdConfig::runtime_options`] read it.
struct RuntimeHandler<'a> {
    name: &'a str,
    runtime_type: &'a str,
    options: &'a Option<toml::Table>,
}

impl CriPlugins {
    fn runtimes(&self) -> Vec<RuntimeHandler<'_>> {
        match self {
            CriPlugins::V2(cri) => cri
                .iter()
                .flat_map(|cri| &cri.containerd.runtimes)
                .map(|(name, runtime)| RuntimeHandler {
                    name,
                    runtime_type: &runtime.runtime_type,
                    options: &runtime.options,
                })
                .collect(),
            CriPlugins::V3 { runtime, .. } => runtime
                .iter()
                .flat_map(|runtime| &runtime.containerd.runtimes)
                .map(|(name, runtime)| RuntimeHandler {
                    name,
                    runtime_type: &runtime.runtime_type,
                    options: &runtime.options,
                })
                .collect(),
        }
    }
}

/// A field that only some releases have: `path` is a list of TOML keys from the root (`*` for
/// any key of a map, e.g. any runtime name), present in the half-open release ranges of
/// `present`.
#[derive(Debug, Clone, Copy)]
pub struct ReleaseVersioned {
    pub path: &'static [&'static str],
    pub present: &'static [(Release, Option<Release>)],
}

/// Fails when `root` holds a field of `table` that `release` does not have.
pub fn check_release(
    what: &str,
    root: &toml::Value,
    table: &[ReleaseVersioned],
    release: Release,
) -> Result<()> {
    for field in table {
        let present = field
            .present
            .iter()
            .any(|(since, until)| *since <= release && until.is_none_or(|u| release < u));
        if !present && toml_has_path(root, field.path) {
            let ranges: Vec<String> = field
                .present
                .iter()
                .map(|(since, until)| match until {
                    Some(u) => format!("{since} up to {u}"),
                    None => format!("{since} on"),
                })
                .collect();
            return Err(format!(
                "{what}: {} is not read by containerd {release} (only {})",
                show_path(field.path),
                ranges.join(", ")
            ));
        }
    }
    Ok(())
}

fn show_path(path: &[&str]) -> String {
    path.iter()
        .map(|k| {
            if k.contains('.') {
                format!("{k:?}")
            } else {
                k.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Whether `value` has a key at `path` (`*`: any key of that table).
pub fn toml_has_path(value: &toml::Value, path: &[&str]) -> bool {
    let Some((head, rest)) = path.split_first() else {
        return true;
    };
    let Some(table) = value.as_table() else {
        return false;
    };
    if *head == "*" {
        table.values().any(|child| toml_has_path(child, rest))
    } else {
        table
            .get(*head)
            .is_some_and(|child| toml_has_path(child, rest))
    }
}

const fn r(major: u32, minor: u32, patch: u32) -> Release {
    Release(major, minor, patch)
}

/// Present from `since` on.
macro_rules! since {
    ($path:expr, $since:expr) => {
        ReleaseVersioned {
            path: $path,
            present: &[($since, None)],
        }
    };
}

/// Top-level fields (the server `Config`) that not every 1.6.0–2.3.x release has.
pub const TOP_VERSIONED: &[ReleaseVersioned] = &[
    ReleaseVersioned {
        path: &["plugin_dir"],
        present: &[(r(1, 0, 0), Some(r(2, 1, 0)))],
    },
    since!(&["grpc", "tcp_tls_common_name"], r(2, 2, 0)),
    since!(&["debug", "log_trace_id"], r(2, 3, 0)),
    ReleaseVersioned {
        path: &["proxy_plugins", "*", "exports"],
        present: &[(r(1, 6, 32), Some(r(1, 7, 0))), (r(1, 7, 16), None)],
    },
    ReleaseVersioned {
        path: &["proxy_plugins", "*", "platform"],
        present: &[(r(1, 6, 32), Some(r(1, 7, 0))), (r(1, 7, 16), None)],
    },
    since!(&["proxy_plugins", "*", "capabilities"], r(1, 7, 23)),
];

const CRI: &str = CRI_V2;

/// Version-2 CRI fields that not every release reading version 2 has. "Up to 2.0.0" marks a
/// field that containerd 2.x's migration drops or that 2.x's version-3 tables no longer have:
/// on 2.x it is ignored with a warning.
pub const V2_VERSIONED: &[ReleaseVersioned] = &[
    since!(
        &[
            "plugins",
            CRI,
            "containerd",
            "runtimes",
            "*",
            "privileged_without_host_devices_all_devices_allowed"
        ],
        r(1, 7, 0)
    ),
    since!(
        &["plugins", CRI, "containerd", "runtimes", "*", "snapshotter"],
        r(1, 7, 0)
    ),
    ReleaseVersioned {
        path: &[
            "plugins",
            CRI,
            "containerd",
            "runtimes",
            "*",
            "sandbox_mode",
        ],
        present: &[(r(1, 7, 0), None)], // 2.x migrates it to `sandboxer`
    },
    since!(
        &[
            "plugins",
            CRI,
            "containerd",
            "ignore_blockio_not_enabled_errors"
        ],
        r(1, 7, 0)
    ),
    since!(&["plugins", CRI, "cni", "setup_serially"], r(1, 7, 0)),
    // Keys of 2.x's runtime `cni` that its migration copies over from a version-2 file.
    since!(&["plugins", CRI, "cni", "bin_dirs"], r(2, 1, 0)),
    since!(
        &["plugins", CRI, "cni", "use_internal_loopback"],
        r(2, 0, 0)
    ),
    since!(&["plugins", CRI, "enable_cdi"], r(1, 7, 0)),
    since!(&["plugins", CRI, "cdi_spec_dirs"], r(1, 7, 0)),
    since!(&["plugins", CRI, "image_pull_progress_timeout"], r(1, 7, 0)),
    since!(&["plugins", CRI, "drain_exec_sync_io_timeout"], r(1, 6, 29)),
    since!(&["plugins", CRI, "image_pull_with_sync_fs"], r(1, 7, 14)),
    ReleaseVersioned {
        path: &["plugins", CRI, "ignore_deprecation_warnings"],
        present: &[(r(1, 6, 29), Some(r(1, 7, 0))), (r(1, 7, 14), None)],
    },
    until_2(&["plugins", CRI, "systemd_cgroup"]),
    until_2(&["plugins", CRI, "disable_cgroup"]),
    until_2(&["plugins", CRI, "containerd", "no_pivot"]),
    until_2(&["plugins", CRI, "containerd", "default_runtime"]),
    until_2(&["plugins", CRI, "containerd", "untrusted_workload_runtime"]),
    until_2(&[
        "plugins",
        CRI,
        "containerd",
        "runtimes",
        "*",
        "runtime_engine",
    ]),
    until_2(&[
        "plugins",
        CRI,
        "containerd",
        "runtimes",
        "*",
        "runtime_root",
    ]),
    until_2(&["plugins", CRI, "registry", "configs", "*", "tls"]),
];

const fn until_2(path: &'static [&'static str]) -> ReleaseVersioned {
    ReleaseVersioned {
        path,
        present: &[(Release(1, 0, 0), Some(Release(2, 0, 0)))],
    }
}

/// Version-3 fields that not every 2.x release has.
pub const V3_VERSIONED: &[ReleaseVersioned] = &[
    since!(&["plugins", RUNTIME_V3, "cni", "bin_dirs"], r(2, 1, 0)),
    since!(
        &[
            "plugins",
            RUNTIME_V3,
            "containerd",
            "runtimes",
            "*",
            "cgroup_writable"
        ],
        r(2, 1, 0)
    ),
    since!(
        &["plugins", IMAGES_V3, "concurrent_layer_fetch_buffer"],
        r(2, 1, 0)
    ),
    since!(&["plugins", IMAGES_V3, "use_local_image_pull"], r(2, 1, 0)),
    since!(&["plugins", RUNTIME_V3, "stats_collect_period"], r(2, 3, 0)),
    since!(
        &["plugins", RUNTIME_V3, "stats_retention_period"],
        r(2, 3, 0)
    ),
    ReleaseVersioned {
        path: &["plugins", RUNTIME_V3, "enable_criu"],
        present: &[(r(2, 2, 7), Some(r(2, 3, 0))), (r(2, 3, 4), None)],
    },
    ReleaseVersioned {
        path: &[
            "plugins",
            RUNTIME_V3,
            "enable_experimental_restore_via_create",
        ],
        present: &[(r(2, 2, 7), Some(r(2, 3, 0))), (r(2, 3, 4), None)],
    },
];

/// The runc shim's `options` (`io.containerd.runc.v2`; `runtime/v2/runc/options` `Options` in
/// 1.6 and 1.7.0–1.7.24, `api/types/runc/options` from 1.7.25 and in 2.x). containerd decodes it
/// without an unknown-key check (go-toml matches Go field names, case-insensitively in 2.x);
/// this mirror wants the exact names `containerd config default` prints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuncOptions {
    #[serde(
        rename = "NoPivotRoot",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub no_pivot_root: Option<bool>,
    #[serde(
        rename = "NoNewKeyring",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub no_new_keyring: Option<bool>,
    #[serde(
        rename = "ShimCgroup",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub shim_cgroup: Option<String>,
    #[serde(rename = "IoUid", default, skip_serializing_if = "Option::is_none")]
    pub io_uid: Option<u32>,
    #[serde(rename = "IoGid", default, skip_serializing_if = "Option::is_none")]
    pub io_gid: Option<u32>,
    #[serde(
        rename = "BinaryName",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub binary_name: Option<String>,
    #[serde(rename = "Root", default, skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
    /// 1.6 and 1.7.0–1.7.24 only.
    #[serde(rename = "CriuPath", default, skip_serializing_if = "Option::is_none")]
    pub criu_path: Option<String>,
    #[serde(
        rename = "SystemdCgroup",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub systemd_cgroup: Option<bool>,
    #[serde(
        rename = "CriuImagePath",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub criu_image_path: Option<String>,
    #[serde(
        rename = "CriuWorkPath",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub criu_work_path: Option<String>,
    /// 1.7.25+ and 2.x.
    #[serde(
        rename = "TaskApiAddress",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub task_api_address: Option<String>,
    /// 1.7.25+ and 2.x.
    #[serde(
        rename = "TaskApiVersion",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub task_api_version: Option<u32>,
}

/// The runc shim's runtime types.
pub const RUNC_RUNTIME_TYPES: &[&str] = &["io.containerd.runc.v2", "io.containerd.runc.v1"];

/// `options` of runtime `name`, strictly as [`RuncOptions`] when the runtime is runc, and each
/// option against `release`.
pub fn check_runc_options(
    name: &str,
    runtime_type: &str,
    options: &Option<toml::Table>,
    release: Release,
) -> Result<()> {
    let Some(options) = options else {
        return Ok(());
    };
    if !RUNC_RUNTIME_TYPES.contains(&runtime_type) {
        return Ok(());
    }
    let what = format!("containerd config: runtimes.{name}.options");
    let parsed: RuncOptions = strict_toml(&what, &toml::Value::Table(options.clone()))?;
    let old_api = release < Release(1, 7, 25);
    if parsed.criu_path.is_some() && !old_api {
        return Err(format!(
            "{what}: CriuPath is not read by containerd {release} (only before 1.7.25)"
        ));
    }
    for (key, set) in [
        ("TaskApiAddress", parsed.task_api_address.is_some()),
        ("TaskApiVersion", parsed.task_api_version.is_some()),
    ] {
        if set && old_api {
            return Err(format!(
                "{what}: {key} is not read by containerd {release} (only 1.7.25 on)"
            ));
        }
    }
    Ok(())
}

/// `value` deserialized strictly into `T`; an error names the key's path.
fn strict_toml<T: DeserializeOwned>(what: &str, value: &toml::Value) -> Result<T> {
    serde_path_to_error::deserialize(value.clone()).map_err(|e| {
        // toml's messages span lines ("…\nin `key`\n"): one line here.
        let inner = e.inner().to_string();
        let inner: Vec<&str> = inner
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        shorten(format!("{what}: {}: {}", e.path(), inner.join(" ")))
    })
}

fn take_strict<T: DeserializeOwned>(
    plugins: &mut BTreeMap<String, toml::Value>,
    name: &str,
) -> Result<Option<T>> {
    match plugins.remove(name) {
        None => Ok(None),
        Some(value) => {
            strict_toml(&format!("containerd config: plugins.{name:?}"), &value).map(Some)
        }
    }
}

/// A duration string as containerd's config takes it: empty (the default), or Go's
/// `time.ParseDuration` syntax (checked as containerd's validation checks it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct GoDuration(pub String);

impl<'de> Deserialize<'de> for GoDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if !text.is_empty() {
            parse_go_duration(&text).map_err(de::Error::custom)?;
        }
        Ok(GoDuration(text))
    }
}

// ---------------------------------------------------------------------------------------------
// The top level.

/// The server `Config`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopLevel {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temp: Option<String>,
    /// Removed in 2.1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grpc: Option<GrpcConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttrpc: Option<TtrpcConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debug: Option<DebugConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<MetricsConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_plugins: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_plugins: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugins: Option<BTreeMap<String, toml::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oom_score: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<CgroupConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_plugins: Option<BTreeMap<String, ProxyPlugin>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeouts: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imports: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_processors: Option<BTreeMap<String, StreamProcessor>>,
}

/// `[grpc]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrpcConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_tls_ca: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_tls_cert: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_tls_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_recv_message_size: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_send_message_size: Option<i64>,
    /// Since 2.2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_tls_common_name: Option<String>,
}

/// `[ttrpc]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TtrpcConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<i64>,
}

/// `[debug]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DebugConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Since 2.3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_trace_id: Option<bool>,
}

/// `[metrics]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grpc_histogram: Option<bool>,
}

/// `[cgroup]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CgroupConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// `[proxy_plugins.NAME]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyPlugin {
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub plugin_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exports: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Vec<String>>,
}

/// `[stream_processors.NAME]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamProcessor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepts: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub returns: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
}

// ---------------------------------------------------------------------------------------------
// The CRI tables' shared field groups.

/// Declares a strict CRI table: the struct as written, its body opened by `shared:` and the
/// field groups it has, each written once below. containerd 2.x split 1.x's one CRI table into
/// three without changing the fields it kept (its `ConfigMigration` moves them key for key), so
/// a group is the same upstream fields in both layouts; what only one layout has stays in that
/// table's own fields. A group with an argument takes the type its fields differ by.
macro_rules! cri_table {
    (
        $(#[$attr:meta])*
        pub struct $name:ident {
            shared: $($group:ident $(($arg:ty))?),+;
            $($own:tt)*
        }
    ) => {
        // A macro cannot expand in a field list, so each `@group` rule appends its fields to the
        // body and recurses on the remaining groups; `[own ..]`, last, closes the struct.
        cri_table!(
            @group [$(#[$attr])* pub struct $name] []
            $([$group $(($arg))?])+ [own $($own)*]
        );
    };
    (@group [$($head:tt)*] [$($body:tt)*] [own $($own:tt)*]) => {
        $($head)* { $($body)* $($own)* }
    };
    // `[...containerd]`: which runtime runs a pod, and the runtimes.
    (@group $head:tt [$($body:tt)*] [runtime_choice($runtime:ty)] $($rest:tt)+) => {
        cri_table!(@group $head [$($body)*
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub default_runtime_name: Option<String>,
            #[serde(default)]
            pub runtimes: BTreeMap<String, $runtime>,
            /// Since 1.7.0 in version 2.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub ignore_blockio_not_enabled_errors: Option<bool>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub ignore_rdt_not_enabled_errors: Option<bool>,
        ] $($rest)+);
    };
    // `[...containerd.runtimes.NAME]`: the fields of a runtime both layouts have.
    (@group $head:tt [$($body:tt)*] [runtime_handler] $($rest:tt)+) => {
        cri_table!(@group $head [$($body)*
            #[serde(default)]
            pub runtime_type: String,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub runtime_path: Option<String>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub pod_annotations: Option<Vec<String>>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub container_annotations: Option<Vec<String>>,
            /// The shim's options; strict [`RuncOptions`] for runc.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub options: Option<toml::Table>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub privileged_without_host_devices: Option<bool>,
            /// Since 1.7.0 in version 2.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub privileged_without_host_devices_all_devices_allowed: Option<bool>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub base_runtime_spec: Option<String>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub cni_conf_dir: Option<String>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub cni_max_conf_num: Option<i64>,
            /// Since 1.7.0 in version 2.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub snapshotter: Option<String>,
        ] $($rest)+);
    };
    // The security and cgroup switches of the CRI runtime (2.x's runtime plugin).
    (@group $head:tt [$($body:tt)*] [runtime_switches] $($rest:tt)+) => {
        cri_table!(@group $head [$($body)*
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub enable_selinux: Option<bool>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub selinux_category_range: Option<i64>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub max_container_log_line_size: Option<i64>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub disable_apparmor: Option<bool>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub restrict_oom_score_adj: Option<bool>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub disable_proc_mount: Option<bool>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub unset_seccomp_profile: Option<String>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub tolerate_missing_hugetlb_controller: Option<bool>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub disable_hugetlb_controller: Option<bool>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub device_ownership_from_security_context: Option<bool>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub ignore_image_defined_volumes: Option<bool>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub netns_mounts_under_state_dir: Option<bool>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub enable_unprivileged_ports: Option<bool>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub enable_unprivileged_icmp: Option<bool>,
            /// Since 1.7.0 in version 2.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub enable_cdi: Option<bool>,
            /// Since 1.7.0 in version 2.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub cdi_spec_dirs: Option<Vec<String>>,
            /// Since 1.6.29 (1.6 line) and 1.7.0 in version 2.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub drain_exec_sync_io_timeout: Option<GoDuration>,
            /// Since 1.6.29 (1.6 line) and 1.7.14 in version 2.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub ignore_deprecation_warnings: Option<Vec<String>>,
        ] $($rest)+);
    };
    // The snapshots image pulls unpack to (2.x's images plugin; 1.x's `[...cri.containerd]`).
    (@group $head:tt [$($body:tt)*] [snapshots] $($rest:tt)+) => {
        cri_table!(@group $head [$($body)*
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub snapshotter: Option<String>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub disable_snapshot_annotations: Option<bool>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub discard_unpacked_layers: Option<bool>,
        ] $($rest)+);
    };
    // How images are pulled (2.x's images plugin).
    (@group $head:tt [$($body:tt)*] [image_pulls] $($rest:tt)+) => {
        cri_table!(@group $head [$($body)*
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub image_decryption: Option<ImageDecryption>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub max_concurrent_downloads: Option<i64>,
            /// Since 1.7.0 in version 2.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub image_pull_progress_timeout: Option<GoDuration>,
            /// Since 1.7.14 in version 2.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub image_pull_with_sync_fs: Option<bool>,
            /// Seconds (the version-3 runtime plugin's own is a duration).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub stats_collect_period: Option<i64>,
        ] $($rest)+);
    };
    // The TCP service and streaming server (what 2.x left in `io.containerd.grpc.v1.cri`).
    (@group $head:tt [$($body:tt)*] [streaming_server] $($rest:tt)+) => {
        cri_table!(@group $head [$($body)*
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub disable_tcp_service: Option<bool>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub stream_server_address: Option<String>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub stream_server_port: Option<String>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub stream_idle_timeout: Option<GoDuration>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub enable_tls_streaming: Option<bool>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub x509_key_pair_streaming: Option<X509KeyPairStreaming>,
        ] $($rest)+);
    };
}

// ---------------------------------------------------------------------------------------------
// Version 2: `[plugins."io.containerd.grpc.v1.cri"]` of containerd 1.6/1.7 (`PluginConfig`).

cri_table! {
    /// `PluginConfig` of `pkg/cri/config/config.go` (1.6.x, 1.7.x).
    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct CriPluginV2 {
        shared: streaming_server, runtime_switches, image_pulls;
        #[serde(default)]
        pub containerd: ContainerdSectionV2,
        #[serde(default)]
        pub cni: CniConfig,
        #[serde(default)]
        pub registry: RegistryV2,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub sandbox_image: Option<String>,
        /// Gone in 2.0 (use the runc runtime's `options.SystemdCgroup`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub systemd_cgroup: Option<bool>,
        /// Gone in 2.0.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub disable_cgroup: Option<bool>,
    }
}

cri_table! {
    /// `[...cri.containerd]` (`ContainerdConfig`, 1.x).
    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct ContainerdSectionV2 {
        shared: runtime_choice(RuntimeV2), snapshots;
        /// Deprecated in 1.x, gone in 2.0.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub default_runtime: Option<RuntimeV2>,
        /// Deprecated in 1.x, gone in 2.0.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub untrusted_workload_runtime: Option<RuntimeV2>,
        /// Gone in 2.0.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub no_pivot: Option<bool>,
    }
}

cri_table! {
    /// `[...cri.containerd.runtimes.NAME]` (`Runtime`, 1.x).
    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct RuntimeV2 {
        shared: runtime_handler;
        /// Deprecated, gone in 2.0.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub runtime_engine: Option<String>,
        /// Deprecated, gone in 2.0.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub runtime_root: Option<String>,
        /// Since 1.7.0 (2.x migrates it to `sandboxer`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub sandbox_mode: Option<String>,
    }
}

/// `[...cni]` (`CniConfig`; the union of 1.6–2.3: `setup_serially` since 1.7, `bin_dirs` since
/// 2.1 and `use_internal_loopback` since 2.0, version 3 only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CniConfig {
    /// Deprecated in 2.1 for `bin_dirs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bin_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bin_dirs: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conf_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_conf_num: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup_serially: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conf_template: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_pref: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_internal_loopback: Option<bool>,
}

/// `[...registry]` (`Registry`): the same table in both layouts but for what a host's
/// `configs` entry may hold ([`RegistryConfigV2`], [`RegistryConfigV3`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registry<HostConfig> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_path: Option<String>,
    /// Deprecated for `config_path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirrors: Option<BTreeMap<String, Mirror>>,
    /// Deprecated for `config_path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configs: Option<BTreeMap<String, HostConfig>>,
    /// Deprecated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auths: Option<BTreeMap<String, AuthConfig>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, Vec<String>>>,
}

/// `[...cri.registry]` of version 2.
pub type RegistryV2 = Registry<RegistryConfigV2>;

/// `[...images.registry]` of version 3 (no `tls` under `configs`).
pub type RegistryV3 = Registry<RegistryConfigV3>;

/// `[...registry.configs.HOST]` of version 2.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryConfigV2 {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthConfig>,
    /// Gone in 2.0 (hosts.toml under `config_path`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsConfig>,
}

/// `Mirror`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mirror {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<Vec<String>>,
}

/// `AuthConfig`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identitytoken: Option<String>,
}

/// `TLSConfig` (1.x).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure_skip_verify: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
}

/// `ImageDecryption`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageDecryption {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_model: Option<String>,
}

/// `X509KeyPairStreaming`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct X509KeyPairStreaming {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_cert_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_key_file: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Version 3 (containerd 2.x).

cri_table! {
    /// `[plugins."io.containerd.cri.v1.runtime"]` (`RuntimeConfig`).
    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct RuntimeConfigV3 {
        shared: runtime_switches;
        #[serde(default)]
        pub containerd: ContainerdSectionV3,
        #[serde(default)]
        pub cni: CniConfig,
        /// Since 2.3 (a duration string here; the images plugin's is seconds).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub stats_collect_period: Option<GoDuration>,
        /// Since 2.3.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub stats_retention_period: Option<GoDuration>,
        /// 2.2.7+ and 2.3.4+.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub enable_criu: Option<bool>,
        /// 2.2.7+ and 2.3.4+.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub enable_experimental_restore_via_create: Option<bool>,
    }
}

cri_table! {
    /// `[...runtime.containerd]` (`ContainerdConfig`, 2.x: the snapshot fields moved to the
    /// images plugin).
    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct ContainerdSectionV3 {
        shared: runtime_choice(RuntimeV3);
    }
}

cri_table! {
    /// `[...runtime.containerd.runtimes.NAME]` (`Runtime`, 2.x).
    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct RuntimeV3 {
        shared: runtime_handler;
        /// Since 2.1.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub cgroup_writable: Option<bool>,
        /// `podsandbox` (the default) or `shim`; was `sandbox_mode` in 1.7.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub sandboxer: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub io_type: Option<String>,
    }
}

cri_table! {
    /// `[plugins."io.containerd.cri.v1.images"]` (`ImageConfig`).
    #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct ImageConfigV3 {
        shared: snapshots, image_pulls;
        /// `sandbox` names the pause image (version 2's `sandbox_image`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub pinned_images: Option<BTreeMap<String, String>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub runtime_platforms: Option<BTreeMap<String, ImagePlatform>>,
        #[serde(default)]
        pub registry: RegistryV3,
        /// Since 2.1.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub concurrent_layer_fetch_buffer: Option<i64>,
        /// Since 2.1.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub use_local_image_pull: Option<bool>,
    }
}

/// `ImagePlatform`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImagePlatform {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshotter: Option<String>,
}

/// `[...images.registry.configs.HOST]` (2.x).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryConfigV3 {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthConfig>,
}

cri_table! {
    /// `[plugins."io.containerd.grpc.v1.cri"]` of version 3 (`ServerConfig`).
    #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct ServerConfigV3 {
        shared: streaming_server;
    }
}

#[cfg(test)]
mod tests;
