#!/usr/bin/env bash
# Prints figures as `name value unit` lines: base image cache hit, `up` of 1 and 3 nodes from a warm
# cache, `down`, memory of an idle booted node (its cgroup), extra disk per node, and image-pusher:
# a ~50 MB image pushed to 1 node and to 3 nodes, and a repeat push (skipped by config digest).
# With KUBE_BIN and KUBE_EXTRA_BIN set (see README): `init` of a 3-node cluster, time to all nodes
# Ready after `up`, memory per node of the running cluster, `down` with the cluster running. Needs root and a
# built workspace (scripts/setup-host). Figures only: nothing here passes or fails on a timing.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-target/release}
[ -x "$bin/kubeadm-nspawn" ] || { echo "error: $bin/kubeadm-nspawn is missing: run scripts/setup-host first" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "error: scripts/bench.sh boots nodes: run it as root" >&2; exit 1; }

state=$(mktemp -d /tmp/kns-bench.XXXXXX)
kns() { "$bin/kubeadm-nspawn" --state-dir "$state" "$@"; }
cleanup() { kns down --all >/dev/null 2>&1 || true; rm -rf "$state"; }
trap cleanup EXIT

now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc -l | xargs printf '%.3f'; }
# memory NAME NODE: the node's cgroup usage (page cache included) and RSS.
memory() {
  local cg=/sys/fs/cgroup/memory/kubeadm-nspawn/$2
  echo "${1}_memory_usage_$2 $(($(cat "$cg/memory.usage_in_bytes") / 1048576)) MiB"
  echo "${1}_memory_rss_$2 $(($(awk '$1 == "total_rss" { print $2 }' "$cg/memory.stat") / 1048576)) MiB"
}

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
    t=$(now); "$bin/image-pusher" push "${nodes3[@]}" --archive "$state/bench-three.tar" >/dev/null 2>&1
    echo "push_50MB_3_nodes $(since "$t") s"
    t=$(now); "$bin/image-pusher" push "${nodes3[@]}" --archive "$state/bench-three.tar" >/dev/null 2>&1
    echo "push_50MB_3_nodes_repeat $(since "$t") s"
  fi
  t=$(now); kns down --name knsbench >/dev/null 2>&1
  echo "down_${n}_nodes $(since "$t") s"
done

if [ -n "${KUBE_BIN:-}" ] && [ -n "${KUBE_EXTRA_BIN:-}" ]; then
  export KUBECONFIG=$state/kubeconfig
  t0=$(now); kns up --nodes 3 --name knsbench --subnet 10.253.0.0/24 --no-masquerade >/dev/null 2>&1
  t=$(now); kns init --name knsbench --kube-bin "$KUBE_BIN" --extra-bin "$KUBE_EXTRA_BIN" --wait 5m \
    > "$state/init.json" 2>"$state/init.log"
  echo "init_3_nodes_to_ready $(since "$t") s"
  echo "up_plus_init_3_nodes_to_ready $(since "$t0") s"
  sed 's/,"/\n"/g; s/[{}]/\n/g' "$state/init.json" | awk -F'":' '/^"[A-Z]/ { gsub(/"/, "", $1); gsub(/[^A-Za-z0-9]+/, "_", $1); printf "init_step_%s %.1f s\n", $1, $2 }'
  sleep 20   # let the control plane settle
  for i in 0 1 2; do
    memory running_cluster "knsbench-n$i"
  done
  t=$(now); kns down --name knsbench >/dev/null 2>&1
  echo "down_3_nodes_running_kubernetes $(since "$t") s"
fi
