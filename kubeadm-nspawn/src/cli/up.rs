//! `up`'s command line, and the one request it makes of the flags over the config file.

use std::path::PathBuf;
use std::time::Duration;

use super::binaries::{self, KubeArgs, ReleaseArgs};
use super::{config_file, print_nodes, Global};
use crate::actions::request::{Ipv6Request, UpRequest};
use crate::model::config::Networking;
use crate::model::config::{Config, ImageMethod};
use crate::model::names::{ClusterName, DEFAULT_CLUSTER};
use crate::model::ranges::{Cidr, NodeSubnet, DEFAULT_POD_SUBNET, DEFAULT_SERVICE_SUBNET};
use crate::model::ranges6::{
    check_pods, check_services, IpFamily, NodeSubnet6, RangePair, DEFAULT_POD_SUBNET6,
    DEFAULT_SERVICE_SUBNET6,
};
use crate::model::settings::{ComponentSettings, ImageSource, KubeProxyMode, NodeSettings};

pub const AFTER_HELP: &str = "Examples:\n  sudo kubeadm-nspawn up --nodes 3\n  \
    sudo kubeadm-nspawn up --name dev --nodes 2 --subnet 10.30.0.0/24 --no-masquerade\n  \
    sudo kubeadm-nspawn up --nodes 3 --kube-root ~/go/src/k8s.io/kubernetes --extra-bin ~/extra\n  \
    sudo kubeadm-nspawn up --nodes 3 --kube-version stable-1.28\n  \
    sudo kubeadm-nspawn up --nodes 4 --control-planes 3   # HA: 3 control planes, 1 worker, a load balancer\n  \
    sudo kubeadm-nspawn up --nodes 3 --ip-family dual   # or ipv6: IPv6 ranges of fd00::/8\n  \
    sudo kubeadm-nspawn up --config docs/cluster.yaml   # see docs/config.md";

#[derive(clap::Args, Debug, Clone)]
pub struct UpArgs {
    /// A cluster config file (YAML, kubeadm-nspawn/v1alpha1; docs/config.md): nodes with their
    /// labels, mounts and limits, networking, base image, binaries, feature gates, runtime
    /// config, kubeadm patches. `init` then uses what it recorded. Flags given win over it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Number of nodes, 1 to 50 [default: 1, or the config file's nodes].
    #[arg(long)]
    pub nodes: Option<usize>,
    /// How many of the nodes are control planes: 1, or an odd number up to 7 for a highly
    /// available control plane (stacked etcd; a load balancer node, `<name>-lb` at .9 of the
    /// subnet, runs haproxy in front of the API servers) [default: 1, or the config file's].
    #[arg(long, value_name = "K")]
    pub control_planes: Option<usize>,
    /// Cluster name [default: default].
    #[arg(long)]
    pub name: Option<String>,
    /// How to get the base image (see rootfs-builder --help) [default: debootstrap].
    #[arg(long, value_enum)]
    pub image_method: Option<ImageMethod>,
    /// Tarball for --image-method download.
    #[arg(long, value_name = "URL")]
    pub image_url: Option<String>,
    /// sha256 of --image-url.
    #[arg(long, value_name = "HEX")]
    pub image_sha256: Option<String>,
    /// The families Kubernetes speaks: ipv4, ipv6, or dual (IPv4 primary) [default: ipv4, or
    /// the config file's networking.ipFamily].
    #[arg(long, value_enum, value_name = "FAMILY")]
    pub ip_family: Option<IpFamily>,
    /// The nodes' subnet on the host bridge: gateway at .1, node i at .(10+i). Default: 10.22.0.0/16
    /// when free, else the next free /16. Checked against the host's addresses and routes, the
    /// other clusters and the pod and service ranges. With IPv6, an IPv6 /64 of fd00::/8 too,
    /// comma-separated (default: one derived from the cluster's name).
    #[arg(long, value_name = "CIDR[,CIDR6]")]
    pub subnet: Option<String>,
    /// The pods' range inside the nodes (node i gets the i-th /24 of it) [default: 10.244.0.0/16;
    /// IPv6: fd00:10:244::/56, node i its i-th /64; dual: both, comma-separated, IPv4 first].
    #[arg(long, value_name = "CIDR[,CIDR6]")]
    pub pod_subnet: Option<String>,
    /// The services' (ClusterIP) range [default: 10.96.0.0/12; IPv6: fd00:10:96::/112].
    #[arg(long, value_name = "CIDR[,CIDR6]")]
    pub service_subnet: Option<String>,
    /// Give the nodes no route off the host and no NAT (nothing they send can leave the machine).
    #[arg(long)]
    pub no_masquerade: bool,
    /// A resolver (an address) for the nodes, instead of the host's (which is used as a node can
    /// reach it: systemd-resolved's upstream servers instead of its 127.0.0.53 stub). Repeatable.
    #[arg(long, value_name = "ADDRESS")]
    pub dns: Vec<std::net::IpAddr>,
    /// kube-proxy's mode: iptables, ipvs (the host's kernel must have IPVS), nftables (Kubernetes
    /// 1.29+), or none (no kube-proxy, for a pod network that replaces it) [default: iptables, or
    /// the config file's networking.kubeProxyMode].
    #[arg(long, value_enum, value_name = "MODE")]
    pub kube_proxy_mode: Option<KubeProxyMode>,
    /// Install no pod network (no CNI config, no pod routes in the nodes): `init` then waits for
    /// the API only, and the nodes are NotReady until you apply yours (docs/config.md).
    #[arg(long)]
    pub disable_default_cni: bool,
    /// Keep what was created when `up` fails (for debugging).
    #[arg(long)]
    pub retain: bool,
    /// How long a node may take to boot.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub boot_timeout: u64,
    /// Kubernetes binaries to record for a later `init` (checked now).
    #[command(flatten)]
    pub kube: KubeArgs,
    #[command(flatten)]
    pub release: ReleaseArgs,
}

impl UpArgs {
    /// The request: the flags over the config file (a flag given wins; `--nodes N` keeps the
    /// file's first N nodes' settings and adds plain nodes after them), defaults filled in, every
    /// value checked.
    pub fn request(&self, config: Option<&Config>) -> crate::Result<UpRequest> {
        let net = config.map(|c| c.raw.networking.clone()).unwrap_or_default();
        let mut nodes: Vec<NodeSettings> = config.map(|c| c.nodes.clone()).unwrap_or_default();
        let count = self.nodes.unwrap_or(nodes.len().max(1));
        nodes.resize(count, NodeSettings::default());
        let name = match self
            .name
            .as_deref()
            .or(config.and_then(|c| c.raw.name.as_deref()))
        {
            Some(name) => ClusterName::new(name)?,
            None => ClusterName::new(DEFAULT_CLUSTER)?,
        };
        let ranges = self.ranges(&net, count)?;
        Ok(UpRequest {
            name,
            nodes,
            control_planes: self
                .control_planes
                .or(config.map(|c| c.control_planes))
                .unwrap_or(1),
            subnet: ranges.subnet,
            pod_subnet: ranges.pod_subnet,
            service_subnet: ranges.service_subnet,
            ip_family: ranges.ip_family,
            ipv6: ranges.ipv6,
            masquerade: !self.no_masquerade && net.masquerade.unwrap_or(true),
            dns: if self.dns.is_empty() {
                net.dns.clone()
            } else {
                self.dns.clone()
            },
            image: self.image(config)?,
            boot_timeout: Duration::from_secs(self.boot_timeout),
            binaries: binaries::choice(&self.kube, &self.release, config)?,
            components: self.components(config),
            retain: self.retain,
        })
    }

    /// The file's component settings, the networking flags over them.
    fn components(&self, config: Option<&Config>) -> ComponentSettings {
        let mut components = config.map(|c| c.components.clone()).unwrap_or_default();
        if let Some(mode) = self.kube_proxy_mode {
            components.kube_proxy_mode = mode;
        }
        components.disable_default_cni |= self.disable_default_cni;
        components
    }

    /// The family and the ranges, flags over the file: each range list is one range a family
    /// (`10.244.0.0/16,fd00:10:244::/56`), checked to fit the family; what is not given is the
    /// default (the IPv6 node subnet: derived from the name when `up` claims it).
    fn ranges(&self, net: &Networking, nodes: usize) -> crate::Result<Ranges> {
        let ip_family = self.ip_family.or(net.ip_family).unwrap_or_default();
        let pair = |flag: &Option<String>, file: &Option<String>, what: &str, field: &str| {
            let (text, what) = match (flag, file) {
                (Some(text), _) => (Some(text), what.to_owned()),
                (None, Some(text)) => (Some(text), format!("networking.{field}")),
                (None, None) => (None, what.to_owned()),
            };
            let pair = text
                .map(|t| RangePair::parse(t, &what))
                .transpose()?
                .unwrap_or_default();
            pair.check_family(ip_family, &what, field == "subnet")?;
            Ok::<_, crate::Error>(pair)
        };
        let subnet = pair(&self.subnet, &net.subnet, "--subnet", "subnet")?;
        let pods = pair(
            &self.pod_subnet,
            &net.pod_subnet,
            "--pod-subnet",
            "podSubnet",
        )?;
        let services = pair(
            &self.service_subnet,
            &net.service_subnet,
            "--service-subnet",
            "serviceSubnet",
        )?;
        let ipv6 = ip_family
            .has_ipv6()
            .then(|| {
                Ok::<_, crate::Error>(Ipv6Request {
                    subnet: subnet.v6.map(NodeSubnet6::new).transpose()?,
                    pods: check_pods(pods.v6.unwrap_or(DEFAULT_POD_SUBNET6), nodes)?,
                    services: check_services(services.v6.unwrap_or(DEFAULT_SERVICE_SUBNET6))?,
                })
            })
            .transpose()?;
        Ok(Ranges {
            ip_family,
            subnet: subnet.v4.map(NodeSubnet::new).transpose()?,
            pod_subnet: pods.v4.unwrap_or(DEFAULT_POD_SUBNET),
            service_subnet: services.v4.unwrap_or(DEFAULT_SERVICE_SUBNET),
            ipv6,
        })
    }

    /// The image flags replace the file's image whole.
    fn image(&self, config: Option<&Config>) -> crate::Result<ImageSource> {
        if self.image_method.is_none() && self.image_url.is_none() && self.image_sha256.is_none() {
            return Ok(config.and_then(|c| c.image.clone()).unwrap_or_default());
        }
        let method = self.image_method.unwrap_or(ImageMethod::Debootstrap);
        method
            .source(self.image_url.clone(), self.image_sha256.clone())
            .ok_or_else(|| {
                crate::model::Error::Invalid(
                    "--image-url (and --image-sha256) go with --image-method download, which needs \
                     --image-url"
                        .into(),
                )
                .into()
            })
    }

    pub fn run(&self, global: &Global) -> crate::Result<i32> {
        let config = config_file(self.config.as_deref())?;
        let request = self.request(config.as_ref())?;
        let started = std::time::Instant::now();
        let (cluster, _timings) = crate::verbs::up::run(&global.common(), request, global.host())?;
        let name = cluster.name();
        eprintln!(
            "\nCluster \"{name}\" is up ({:.1} s):",
            started.elapsed().as_secs_f64()
        );
        print_nodes(&cluster.state, &cluster.paths);
        eprintln!(
            "\nNext: kubeadm-nspawn exec {} -- systemctl status   |   kubeadm-nspawn down --name {name}",
            cluster.first_control_plane()?.name()
        );
        Ok(0)
    }
}

/// The ranges of a request, checked.
struct Ranges {
    ip_family: IpFamily,
    subnet: Option<NodeSubnet>,
    pod_subnet: Cidr,
    service_subnet: Cidr,
    ipv6: Option<Ipv6Request>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::Parser;

    fn up(args: &[&str]) -> UpArgs {
        match crate::cli::tests::command("up", args) {
            crate::cli::Command::Up(up) => up,
            _ => unreachable!(),
        }
    }

    fn config(text: &str) -> Config {
        use crate::model::config::tests::{parse_ok, HEAD};
        parse_ok(&format!("{HEAD}{text}"))
    }

    #[test]
    fn a_minimal_file_is_one_default_node() {
        let request = up(&[]).request(Some(&config(""))).unwrap();
        assert_eq!(request.name.as_str(), "default");
        assert_eq!(request.nodes, vec![NodeSettings::default()]);
        assert!(request.masquerade);
        assert_eq!(request.image, ImageSource::Debootstrap);
        assert_eq!(request.pod_subnet, DEFAULT_POD_SUBNET);
        assert_eq!(request.control_planes, 1);
        assert_eq!(request.components.kube_proxy_mode, KubeProxyMode::Iptables);
        assert!(!request.components.disable_default_cni);
    }

    #[test]
    fn the_proxy_mode_and_the_pod_network_come_from_the_file_or_the_flags() {
        let c = config("networking:\n  kubeProxyMode: none\n  disableDefaultCNI: true\n");
        let request = up(&[]).request(Some(&c)).unwrap();
        assert_eq!(request.components.kube_proxy_mode, KubeProxyMode::None);
        assert!(request.components.disable_default_cni);
        let request = up(&["--kube-proxy-mode", "ipvs"])
            .request(Some(&c))
            .unwrap();
        assert_eq!(request.components.kube_proxy_mode, KubeProxyMode::Ipvs);
        assert!(request.components.disable_default_cni);
        let request = up(&["--kube-proxy-mode", "nftables", "--disable-default-cni"])
            .request(None)
            .unwrap();
        assert_eq!(request.components.kube_proxy_mode, KubeProxyMode::Nftables);
        assert!(request.components.disable_default_cni);
        let mut all = vec!["kubeadm-nspawn", "up", "--kube-proxy-mode", "userspace"];
        let err = Cli::try_parse_from(all.drain(..)).unwrap_err().to_string();
        assert!(err.contains("iptables, ipvs, nftables, none"), "{err}");
    }

    #[test]
    fn flags_override_the_file() {
        let c = config(
            "name: dev\nnodes:\n- labels: {a: b}\n- labels: {c: d}\n- {}\nnetworking:\n  subnet: 10.30.0.0/24\n  masquerade: false\nimage:\n  method: download\n  url: http://x/y.tar\n  sha256: ab\nkubernetes:\n  kubeBin: bin\n  extraBin: /extra\n",
        );
        let request = up(&[]).request(Some(&c)).unwrap();
        assert_eq!(request.name.as_str(), "dev");
        assert_eq!(request.nodes.len(), 3);
        assert!(!request.masquerade);
        assert_eq!(request.subnet.unwrap().to_string(), "10.30.0.0/24");
        assert!(matches!(request.image, ImageSource::Download { .. }));
        use crate::kube::source::BinarySource;
        assert_eq!(
            request.binaries.source,
            BinarySource::Build(crate::kube::binaries::Build::Dir("/base/bin".into()))
        );
        let request = up(&[
            "--name",
            "other",
            "--nodes",
            "1",
            "--image-method",
            "debootstrap",
            "--extra-bin",
            "/mine",
        ])
        .request(Some(&c))
        .unwrap();
        assert_eq!(request.name.as_str(), "other");
        assert_eq!(request.nodes.len(), 1);
        assert_eq!(request.nodes[0].labels["a"], "b");
        assert_eq!(
            request.image,
            ImageSource::Debootstrap,
            "the image flags replace the file's image whole"
        );
        assert_eq!(
            request.binaries.source,
            BinarySource::Build(crate::kube::binaries::Build::Dir("/base/bin".into()))
        );
        assert_eq!(request.binaries.extra_bin, Some("/mine".into()));
        let request = up(&["--nodes", "5", "--kube-version", "v1.28.7"])
            .request(Some(&c))
            .unwrap();
        assert_eq!(request.nodes.len(), 5);
        assert_eq!(request.nodes[4], NodeSettings::default());
        assert!(matches!(request.binaries.source, BinarySource::Release(_)));
        assert_eq!(request.binaries.extra_bin, None);
        let three = config(
            "nodes:\n- role: control-plane\n- role: control-plane\n- role: control-plane\n- {}\n",
        );
        assert_eq!(up(&[]).request(Some(&three)).unwrap().control_planes, 3);
        assert_eq!(
            up(&["--control-planes", "1"])
                .request(Some(&three))
                .unwrap()
                .control_planes,
            1
        );
    }

    #[test]
    fn families_take_their_ranges_from_flags_and_file() {
        let r = up(&["--ip-family", "dual"]).request(None).unwrap();
        assert_eq!(r.ip_family, IpFamily::Dual);
        let v6 = r.ipv6.unwrap();
        assert_eq!(v6.subnet, None, "derived at the claim");
        assert_eq!(v6.pods, DEFAULT_POD_SUBNET6);
        assert_eq!(v6.services, DEFAULT_SERVICE_SUBNET6);
        assert_eq!(r.pod_subnet, DEFAULT_POD_SUBNET);
        assert!(up(&[]).request(None).unwrap().ipv6.is_none());
        let c = config(
            "networking:\n  ipFamily: ipv6\n  subnet: 10.30.0.0/24,fd01:2:3:4::/64\n  podSubnet: fd00:20::/56\n",
        );
        let r = up(&[]).request(Some(&c)).unwrap();
        assert_eq!(r.ip_family, IpFamily::Ipv6);
        assert_eq!(r.subnet.unwrap().to_string(), "10.30.0.0/24");
        let v6 = r.ipv6.unwrap();
        assert_eq!(v6.subnet.unwrap().to_string(), "fd01:2:3:4::/64");
        assert_eq!(v6.pods.to_string(), "fd00:20::/56");
        // The file's field is named when the file is wrong.
        let c = config("networking:\n  ipFamily: dual\n  serviceSubnet: fd00:10:96::/112\n");
        let e = up(&[]).request(Some(&c)).unwrap_err().to_string();
        assert!(
            e.starts_with("networking.serviceSubnet: fd00:10:96::/112 alone"),
            "{e}"
        );
        let r = up(&["--ip-family", "ipv4"]).request(Some(&c));
        assert!(r.is_err(), "the flag's family, the file's IPv6 range");
    }

    #[test]
    fn bad_values_are_named_before_anything_is_made() {
        for (args, says) in [
            (
                &["--name", "Bad_Name"][..],
                "invalid cluster name \"Bad_Name\"",
            ),
            (&["--subnet", "10.0.0.1/16"][..], "host bits"),
            (&["--subnet", "10.0.0.0/29"][..], "between /8 and /28"),
            (&["--pod-subnet", "x"][..], "invalid --pod-subnet \"x\""),
            (&["--image-url", "http://x"][..], "--image-method download"),
            (
                &["--ip-family", "dual", "--pod-subnet", "10.244.0.0/16"][..],
                "--pod-subnet: 10.244.0.0/16 alone: a dual-stack cluster takes one range of each family",
            ),
            (
                &["--pod-subnet", "fd00:10:244::/56"][..],
                "--pod-subnet: fd00:10:244::/56 is IPv6 and the cluster is ipv4",
            ),
            (
                &["--ip-family", "ipv6", "--subnet", "2001:db8::/64"][..],
                "--subnet 2001:db8::/64 is not a unique local range (fd00::/8)",
            ),
            (
                &["--ip-family", "ipv6", "--service-subnet", "10.96.0.0/12"][..],
                "10.96.0.0/12 is IPv4 and the cluster is ipv6",
            ),
        ] {
            let err = up(args).request(None).unwrap_err().to_string();
            assert!(err.contains(says), "{args:?}: {err}");
        }
    }
}
