#!/usr/bin/env bash
# Prints figures as `name value unit` lines: base image cache hit, `up` of 1 and 3 nodes from a warm
# cache, `down`, memory of an idle booted node (its cgroup), extra disk per node, and image-pusher:
# a ~50 MB image pushed to 1 node and to 3 nodes (with the CPU it costs), a repeat push (skipped by
# config digest), and with Debian's docker.io: the same from a host dockerd (--docker-image) and
# into a node that runs Docker.
# With KUBE_BIN and KUBE_EXTRA_BIN set (see README): `init` of a 3-node cluster, time to all nodes
# Ready after `up`, memory per node of the running cluster, `down` with the cluster running, `up` +
# `init` again three times with the images cached (as after a user's first cluster), and a
# release (`releases get`) from a local mirror of those binaries: cold, and from the cache; and a highly
# available cluster (3 control planes + 1 worker): to Ready, memory per node, the API after losing a
# control plane (`scripts/bench.sh ha`: only that). `scripts/bench.sh compare BASE_BIN`: only `up` +
# `init` of 3 nodes and the update figures, of this build and of an older one (BASE_BIN: the
# target/release of a worktree at an earlier commit), alternately, three rounds each, so that both
# are measured on the same machine in the same run. Needs root and a
# built workspace (scripts/setup-host). Figures only: nothing here passes or fails on a timing.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-target/release}
[ -x "$bin/kubeadm-nspawn" ] || { echo "error: $bin/kubeadm-nspawn is missing: run scripts/setup-host first" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "error: scripts/bench.sh boots nodes: run it as root" >&2; exit 1; }

state=$(mktemp -d /tmp/kns-bench.XXXXXX)
kns() { "$bin/kubeadm-nspawn" --state-dir "$state" "$@"; }
cleanup() {
  if [ -n "${compare_bin:-}" ]; then
    "$compare_bin/kubeadm-nspawn" --state-dir "$state/base" down --all >/dev/null 2>&1 || true
    "$bin/kubeadm-nspawn" --state-dir "$state/this" down --all >/dev/null 2>&1 || true
  fi
  if [ -n "${mirror_pid:-}" ]; then kill "$mirror_pid"; wait "$mirror_pid" 2>/dev/null || true; fi
  if [ -n "$dockerd_pid" ]; then kill "$dockerd_pid"; wait "$dockerd_pid" 2>/dev/null || true; fi
  kns down --all >/dev/null 2>&1 || true
  rm -rf "$state"
}
trap cleanup EXIT

now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc -l | xargs printf '%.3f'; }
# memory NAME NODE: the node's cgroup usage (page cache included) and RSS.
memory() {
  local cg=/sys/fs/cgroup/memory/kubeadm-nspawn/$2
  echo "${1}_memory_usage_$2 $(($(cat "$cg/memory.usage_in_bytes") / 1048576)) MiB"
  echo "${1}_memory_rss_$2 $(($(awk '$1 == "total_rss" { print $2 }' "$cg/memory.stat") / 1048576)) MiB"
}

# CPU nanoseconds used so far by the bench cluster's nodes.
node_cpu() { cat /sys/fs/cgroup/cpuacct/kubeadm-nspawn/knsbench-n*/cpuacct.usage | paste -sd+ | bc; }

# Docker: a dockerd of the bench's own (state in $state/dockerd; no iptables, bridge or forwarding
# changes) as the image source, and the same dockerd binary run inside node 2 as a sink.
dockerd_pid=""
docker_figures() {
  local d=$state/dockerd host ref=kubeadm-nspawn.local/bench:docker
  mkdir -p "$d"; host=unix://$d/docker.sock
  echo "{\"deprecated-key-path\": \"$d/key.json\"}" > "$d/daemon.json"
  dockerd --data-root "$d/data" --exec-root "$d/exec" --pidfile "$d/pid" --config-file "$d/daemon.json" \
    -H "$host" --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false --bridge=none \
    --storage-driver=vfs >"$d/log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 100); do docker -H "$host" version >/dev/null 2>&1 && break; sleep 0.1; done
  head -c 50000000 /dev/urandom > "$state/blob-docker"
  "$bin/image-pusher" build --name "$ref" --binary "$state/blob-docker:/blob" -o "$state/bench-docker.tar" >/dev/null
  docker -H "$host" load -i "$state/bench-docker.tar" >/dev/null
  t=$(now); "$bin/image-pusher" push "${nodes3[@]}" --docker-image "$ref" --docker-host "$host" >/dev/null 2>&1
  echo "push_50MB_docker_image_3_nodes $(since "$t") s"
  t=$(now); "$bin/image-pusher" push "${nodes3[@]}" --docker-image "$ref" --docker-host "$host" >/dev/null 2>&1
  echo "push_50MB_docker_image_3_nodes_repeat $(since "$t") s"
  "$bin/image-pusher" push --node knsbench-n2 --binary /usr/sbin/dockerd:/usr/local/bin/dockerd >/dev/null 2>&1
  # The host's copies of the libraries dockerd loads that the node lacks (a trixie node has no
  # libdevmapper, libgcrypt, libgpg-error), into its /usr/local/lib.
  local libs=() lib
  for lib in $(kns exec knsbench-n2 -- ldd /usr/local/bin/dockerd | awk '/not found/ { print $1 }'); do
    libs+=(--binary "$(ldd /usr/sbin/dockerd | awk -v l="$lib" '$1 == l { print $3 }'):/usr/local/lib/$lib")
  done
  if [ ${#libs[@]} -gt 0 ]; then
    "$bin/image-pusher" push --node knsbench-n2 "${libs[@]}" >/dev/null 2>&1
    kns exec knsbench-n2 -- ldconfig
  fi
  kns exec knsbench-n2 -- systemd-run --unit kns-bench-dockerd /usr/local/bin/dockerd \
    --containerd=/run/containerd/containerd.sock --iptables=false --ip6tables=false --ip-forward=false \
    --ip-masq=false --bridge=none --storage-driver=vfs -H unix:///run/docker.sock >/dev/null 2>&1
  for _ in $(seq 100); do kns exec knsbench-n2 -- test -S /run/docker.sock && break; sleep 0.1; done
  t=$(now); "$bin/image-pusher" push --node knsbench-n2 --archive "$state/bench-one.tar" >/dev/null 2>&1
  echo "push_50MB_into_a_node_docker $(since "$t") s"
  kill "$dockerd_pid"; wait "$dockerd_pid" 2>/dev/null || true; dockerd_pid=""
}

# A highly available cluster: 3 control planes + 1 worker behind the load balancer node. Time to all
# Ready, memory per node, and how long the API (through the load balancer) is away after the first
# control plane is SIGKILLed (every process of the node, as a crash).
ha_figures() {
  local kubectl="$KUBE_BIN/kubectl --kubeconfig $state/clusters/knsha/kubeconfig" t0 pids i
  t0=$(now); kns up --nodes 4 --control-planes 3 --name knsha --subnet 10.253.1.0/24 --no-masquerade >/dev/null 2>&1
  kns init --name knsha --kube-bin "$KUBE_BIN" --extra-bin "$KUBE_EXTRA_BIN" --wait 5m > "$state/init-ha.json" 2>"$state/init-ha.log"
  echo "ha_up_plus_init_3_control_planes_1_worker_to_ready $(since "$t0") s"
  sed 's/,"/\n"/g; s/[{}]/\n/g' "$state/init-ha.json" | awk -F'":' '/^"[A-Z]/ { gsub(/"/, "", $1); gsub(/[^A-Za-z0-9]+/, "_", $1); printf "ha_init_step_%s %.1f s\n", $1, $2 }'
  sleep 20   # let the control planes settle
  for node in knsha-n0 knsha-n1 knsha-n2 knsha-n3 knsha-lb; do memory ha "$node"; done
  pids() { cat /sys/fs/cgroup/*/kubeadm-nspawn/knsha-n0/cgroup.procs /sys/fs/cgroup/*/kubeadm-nspawn/knsha-n0/*/cgroup.procs 2>/dev/null | sort -u; }
  t=$(now)
  for _ in 1 2 3 4 5; do pids | xargs -r kill -9 2>/dev/null || true; sleep 0.05; done
  for i in $(seq 1 200); do $kubectl get --raw /readyz --request-timeout=2s >/dev/null 2>&1 && break; sleep 0.1; done
  echo "ha_api_back_after_killing_a_control_plane $(since "$t") s"
  t=$(now); kns down --name knsha >/dev/null 2>&1
  echo "ha_down $(since "$t") s"
}

# compare_round LABEL BIN: `up` + `init` of 3 nodes to Ready, then an update of each of three
# rebuilt components and of nothing, with the kubeadm-nspawn of BIN and a state directory of its own.
compare_round() {
  local label=$1 b=$2 s=$state/$1 t t0 component
  mkdir -p "$s/kube"; cp "$KUBE_BIN"/* "$s/kube/"
  k() { "$b/kubeadm-nspawn" --state-dir "$s" "$@"; }
  t0=$(now); k up --nodes 3 --name knsbench --subnet 10.253.0.0/24 --no-masquerade >/dev/null 2>&1
  k init --name knsbench --kube-bin "$s/kube" --extra-bin "$KUBE_EXTRA_BIN" --wait 5m >/dev/null 2>"$s/init.log" \
    || { echo "init with $b failed:" >&2; cat "$s/init.log" >&2; exit 1; }
  echo "${label}_up_plus_init_3_nodes_to_ready $(since "$t0") s"
  sleep 20   # let the control plane settle
  for component in kubelet kube-apiserver kube-scheduler; do
    printf '\0bench rebuild %s\n' "$(date +%s%N)" >> "$s/kube/$component"
    t=$(now); k update --name knsbench >/dev/null 2>"$s/update.log" \
      || { echo "update of $component with $b failed:" >&2; cat "$s/update.log" >&2; exit 1; }
    echo "${label}_update_${component//-/_}_3_nodes $(since "$t") s"
  done
  t=$(now); k update --name knsbench >/dev/null 2>&1
  echo "${label}_update_nothing_changed $(since "$t") s"
  k down --name knsbench >/dev/null 2>&1
  rm -rf "$s"
}

if [ "${1:-}" = compare ]; then
  [ -n "${KUBE_BIN:-}" ] || { echo "error: scripts/bench.sh compare needs KUBE_BIN and KUBE_EXTRA_BIN" >&2; exit 1; }
  compare_bin=${2:?usage: scripts/bench.sh compare BASE_BIN}
  [ -x "$compare_bin/kubeadm-nspawn" ] || { echo "error: $compare_bin/kubeadm-nspawn is missing" >&2; exit 1; }
  # Each build's node base, built before anything is timed.
  "$compare_bin/rootfs-builder" build >/dev/null
  "$bin/rootfs-builder" build >/dev/null
  for round in 1 2 3; do
    compare_round base "$compare_bin"
    compare_round this "$bin"
  done
  exit 0
fi

if [ "${1:-}" = ha ]; then
  [ -n "${KUBE_BIN:-}" ] || { echo "error: scripts/bench.sh ha needs KUBE_BIN and KUBE_EXTRA_BIN" >&2; exit 1; }
  ha_figures
  exit 0
fi

"$bin/rootfs-builder" build >/dev/null        # warm the cache (builds on first use)
t=$(now); "$bin/rootfs-builder" build >/dev/null; echo "rootfs_cache_hit $(since "$t") s"

for n in 1 3; do
  t=$(now); kns up --nodes "$n" --name knsbench --subnet 10.253.0.0/24 --no-masquerade >/dev/null 2>&1
  echo "up_${n}_nodes_warm $(since "$t") s"
  if [ "$n" -eq 3 ]; then
    sleep 5   # let the nodes settle to idle
    for i in 0 1 2; do
      node=knsbench-n$i
      memory idle_node "$node"
      dir=$state/clusters/knsbench/nodes/$node
      echo "extra_disk_$node $(du -smx "$dir/upper" "$dir/containerd" "$dir/kubelet" | awk '{ s += $1 } END { print s }') MiB"
    done
    # Two different 50 MB images (random bytes: nothing to share or compress), so the 3-node push
    # is a first push everywhere.
    for img in one three; do
      head -c 50000000 /dev/urandom > "$state/blob-$img"
      "$bin/image-pusher" build --name "kubeadm-nspawn.local/bench:$img" --binary "$state/blob-$img:/blob" \
        -o "$state/bench-$img.tar" >/dev/null
    done
    nodes3=(--node knsbench-n0 --node knsbench-n1 --node knsbench-n2)
    t=$(now); "$bin/image-pusher" push --node knsbench-n0 --archive "$state/bench-one.tar" >/dev/null 2>&1
    echo "push_50MB_1_node $(since "$t") s"
    c0=$(node_cpu); TIMEFORMAT='%U %S'
    t=$(now); { time "$bin/image-pusher" push "${nodes3[@]}" --archive "$state/bench-three.tar" >/dev/null 2>&1; } 2>"$state/cpu"
    echo "push_50MB_3_nodes $(since "$t") s"
    # Pushes are CPU-bound (ctr hashes and sends, containerd hashes, writes and unpacks): with fewer
    # cores than nodes they queue. CPU seconds: the nodes' cgroups (containerd) and image-pusher
    # with its ctr clients.
    echo "push_50MB_3_nodes_cpu_in_nodes $(echo "($(node_cpu) - $c0) / 1000000000" | bc -l | xargs printf '%.2f') s"
    echo "push_50MB_3_nodes_cpu_image_pusher_and_ctr $(awk '{ printf "%.2f", $1 + $2 }' "$state/cpu") s"
    echo "cores $(nproc)"
    t=$(now); "$bin/image-pusher" push "${nodes3[@]}" --archive "$state/bench-three.tar" >/dev/null 2>&1
    echo "push_50MB_3_nodes_repeat $(since "$t") s"
    if command -v dockerd >/dev/null; then docker_figures; fi
  fi
  t=$(now); kns down --name knsbench >/dev/null 2>&1
  echo "down_${n}_nodes $(since "$t") s"
done

# A release mirror of KUBE_BIN/KUBE_EXTRA_BIN in the upstream layouts, served on 127.0.0.1 by the
# tests' kns-release-mirror: `releases get` cold (download, verify, unpack, check) and from the cache.
mirror_pid=""
release_figures() {
  local m=$state/mirror v etcd coredns minor
  v=$("$KUBE_BIN/kubeadm" version -o short); minor=$(echo "$v" | cut -d. -f1,2)
  etcd=$("$KUBE_BIN/kubeadm" config images list --kubernetes-version "$v" | sed -n 's|.*/etcd:\([0-9.]*\)-.*|\1|p')
  coredns=$("$KUBE_BIN/kubeadm" config images list --kubernetes-version "$v" | sed -n 's|.*/coredns:v\(.*\)|\1|p')
  mkdir -p "$m/release/$v/bin/linux/amd64" "$m/kubernetes-sigs/cri-tools/releases/download/$minor.0" \
    "$m/etcd-io/etcd/releases/download/v$etcd/etcd-v$etcd-linux-amd64" "$m/coredns/coredns/releases/download/v$coredns"
  for b in kubeadm kubelet kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy; do
    ln -s "$KUBE_BIN/$b" "$m/release/$v/bin/linux/amd64/$b"
    sha256sum "$KUBE_BIN/$b" | cut -d' ' -f1 > "$m/release/$v/bin/linux/amd64/$b.sha256"
  done
  local d=$m/kubernetes-sigs/cri-tools/releases/download/$minor.0
  tar -czf "$d/crictl-$minor.0-linux-amd64.tar.gz" -C "$KUBE_EXTRA_BIN" crictl
  sha256sum "$d/crictl-$minor.0-linux-amd64.tar.gz" | cut -d' ' -f1 > "$d/crictl-$minor.0-linux-amd64.tar.gz.sha256"
  d=$m/etcd-io/etcd/releases/download/v$etcd
  cp "$KUBE_EXTRA_BIN/etcd" "$d/etcd-v$etcd-linux-amd64/"
  tar -czf "$d/etcd-v$etcd-linux-amd64.tar.gz" -C "$d" "etcd-v$etcd-linux-amd64"
  (cd "$d" && sha256sum "etcd-v$etcd-linux-amd64.tar.gz" > SHA256SUMS)
  d=$m/coredns/coredns/releases/download/v$coredns
  tar -czf "$d/coredns_${coredns}_linux_amd64.tgz" -C "$KUBE_EXTRA_BIN" coredns
  (cd "$d" && sha256sum "coredns_${coredns}_linux_amd64.tgz" > "coredns_${coredns}_linux_amd64.tgz.sha256")
  "$bin/kns-release-mirror" "$m" "$state/mirror.log" > "$state/mirror.port" &
  mirror_pid=$!
  for _ in $(seq 50); do [ -s "$state/mirror.port" ] && break; sleep 0.1; done
  local url=http://127.0.0.1:$(cat "$state/mirror.port")
  t=$(now); kns releases get "$v" --release-mirror "$url" --release-cache "$state/releases" >/dev/null 2>&1
  echo "release_cold_download_verify_unpack $(since "$t") s"
  echo "release_cold_download_bytes $(($(du -sbL "$state/releases" | cut -f1) / 1000000)) MB"
  t=$(now); kns releases get "$v" --release-mirror "$url" --release-cache "$state/releases" >/dev/null 2>&1
  echo "release_cache_hit $(since "$t") s"
  kill "$mirror_pid"; wait "$mirror_pid" 2>/dev/null || true; mirror_pid=""
}

if [ -n "${KUBE_BIN:-}" ] && [ -n "${KUBE_EXTRA_BIN:-}" ]; then
  export KUBECONFIG=$state/kubeconfig
  # A copy of the binaries, which the update figures below "rebuild" (bytes appended: the programs
  # run unchanged, their hashes change).
  mkdir -p "$state/kube"; cp "$KUBE_BIN"/* "$state/kube/"
  t0=$(now); kns up --nodes 3 --name knsbench --subnet 10.253.0.0/24 --no-masquerade >/dev/null 2>&1
  t=$(now); kns init --name knsbench --kube-bin "$state/kube" --extra-bin "$KUBE_EXTRA_BIN" --wait 5m \
    > "$state/init.json" 2>"$state/init.log"
  echo "init_3_nodes_to_ready $(since "$t") s"
  echo "up_plus_init_3_nodes_to_ready $(since "$t0") s"
  sed 's/,"/\n"/g; s/[{}]/\n/g' "$state/init.json" | awk -F'":' '/^"[A-Z]/ { gsub(/"/, "", $1); gsub(/[^A-Za-z0-9]+/, "_", $1); printf "init_step_%s %.1f s\n", $1, $2 }'
  sleep 20   # let the control plane settle
  for i in 0 1 2; do
    memory running_cluster "knsbench-n$i"
  done
  # update of a rebuilt component, and of nothing
  for component in kubelet kube-apiserver kube-scheduler; do
    printf '\0bench rebuild %s\n' "$(date +%s%N)" >> "$state/kube/$component"
    t=$(now); kns update --name knsbench > "$state/update.json" 2>"$state/update.log" \
      || { echo "update of $component failed:" >&2; cat "$state/update.log" >&2; exit 1; }
    echo "update_${component//-/_}_3_nodes $(since "$t") s"
  done
  t=$(now); kns update --name knsbench >/dev/null 2>&1
  echo "update_nothing_changed $(since "$t") s"
  # stop / start of the initialized cluster (start waits until every node reports Ready again).
  for round in 1 2; do
    t=$(now); kns stop --name knsbench > "$state/stop.json" 2>/dev/null
    echo "stop_3_nodes_initialized $(since "$t") s"
    t=$(now); kns start --name knsbench --wait 5m > "$state/start.json" 2>"$state/start.log"
    echo "start_3_nodes_to_ready $(since "$t") s"
    sed 's/,"/\n"/g; s/[{}]/\n/g' "$state/start.json" | awk -F'":' '/^"[A-Z]/ { gsub(/"/, "", $1); gsub(/[^A-Za-z0-9]+/, "_", $1); printf "start_step_%s %.1f s\n", $1, $2 }'
  done
  t=$(now); kns down --name knsbench >/dev/null 2>&1
  echo "down_3_nodes_running_kubernetes $(since "$t") s"
  # The same cluster again: the images are in the state directory's cache now (as for every cluster
  # after a user's first with these binaries), so this is `up` + `init` without "Preparing images".
  for run in 1 2 3; do
    t0=$(now); kns up --nodes 3 --name knsbench --subnet 10.253.0.0/24 --no-masquerade >/dev/null 2>&1
    kns init --name knsbench --kube-bin "$state/kube" --extra-bin "$KUBE_EXTRA_BIN" --wait 5m \
      > "$state/init-warm.json" 2>"$state/init-warm.log"
    echo "up_plus_init_3_nodes_to_ready_cached_images_run_$run $(since "$t0") s"
    sleep 5
    for i in 0 1 2; do memory "cached_images_run_$run" "knsbench-n$i"; done
    kns down --name knsbench >/dev/null 2>&1
  done
  sed 's/,"/\n"/g; s/[{}]/\n/g' "$state/init-warm.json" | awk -F'":' '/^"[A-Z]/ { gsub(/"/, "", $1); gsub(/[^A-Za-z0-9]+/, "_", $1); printf "init_cached_images_step_%s %.1f s\n", $1, $2 }'
  release_figures
  ha_figures
fi
