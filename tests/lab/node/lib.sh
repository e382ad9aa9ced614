# shellcheck shell=bash disable=SC2034  # variables used by the scripts that source this file
# Shared by tests/lab/node/{build,images,up,down,status,smoke}.sh: the lab's real worker node (containerd,
# kubelet, kube-proxy on this machine), joined to the control plane of tests/lab/k8s.
# shellcheck source=../lib/common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/common.sh"
# The control plane's paths and helpers (K8S_PKI, kapi, kapply, pidfile, running, need, LAB_LOGS).
# shellcheck source=../k8s/lib.sh
source "$LAB_DIR/k8s/lib.sh"

NODE_DIR=$LAB_DIR/node             # this folder (committed scripts and wrapper modules)
NODE_STATE=$LAB_STATE/node         # runtime state: pki, configs, containerd and kubelet roots, pod logs
NODE_PKI=$NODE_STATE/pki
NODE_RUN=$NODE_STATE/run           # containerd's state dir and sockets (what /run/containerd would hold)

# Versions: the wrapper modules under build/ pin the same ones (build.sh checks).
CONTAINERD_VERSION=v2.2.9

NODE_NAME=lab-node-0
# Registered with these, so that nothing already in the cluster lands on it: workloads opt in with a
# toleration for the taint and a nodeSelector on the label.
NODE_TAINT_KEY=replatform.lab/real-node NODE_TAINT_VALUE=true NODE_TAINT_EFFECT=NoSchedule
NODE_LABEL_KEY=replatform.lab/node NODE_LABEL_VALUE=real

# Pod network: a bridge on this machine, no default route and no masquerade in the pods (their traffic
# stays here); must not overlap kwok's 10.244.0.0/24 and 10.244.1.0/24, LAB_NET_SUBNET or services.
NODE_POD_CIDR=10.244.8.0/24
NODE_POD_GATEWAY=10.244.8.1        # the bridge's address: the host as seen from a pod
NODE_BRIDGE=labnode0
NODE_CNI_NETWORK=lab-node

NODE_KUBELET_PORT=10250
NODE_KUBELET_HEALTHZ_PORT=10248    # 127.0.0.1
NODE_PROXY_HEALTHZ_PORT=10256      # 127.0.0.1
NODE_PROXY_METRICS_PORT=10249      # 127.0.0.1

# Start order (down.sh stops in reverse).
NODE_COMPONENTS=(containerd kubelet kube-proxy)

CONTAINERD_SOCK=$NODE_RUN/containerd.sock
CRI_ENDPOINT=unix://$CONTAINERD_SOCK
# containerd's shims put their sockets under this fixed folder (containerd's defaults.DefaultStateDir).
SHIM_SOCKET_DIR=/run/containerd/s
# The kubelet keeps one symlink per container in this fixed folder (not configurable).
KUBELET_CONTAINER_LOGS=/var/log/containers
# iptables chain (filter table) that lets only local clients reach the kubelet's port on the node IP.
NODE_GUARD_CHAIN=LABNODE-KUBELET
# Kernel settings the kubelet and kube-proxy may set at start (the kubelet does set kernel.panic=10,
# kernel.panic_on_oops=1, vm.overcommit_memory=1): up.sh saves them before the node first runs and puts
# them back as soon as the kubelet is up (it sets them once, at start); down.sh does it again.
NODE_SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys
  kernel.keys.root_maxbytes net.ipv4.conf.all.route_localnet net.netfilter.nf_conntrack_max
  net.netfilter.nf_conntrack_tcp_timeout_established net.netfilter.nf_conntrack_tcp_timeout_close_wait
  net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables net.ipv4.ip_forward)
# Fixed paths outside $NODE_STATE that containerd and the kubelet create when missing: up.sh notes the
# ones it finds missing, down.sh removes those (emptied of this node's files) again.
NODE_FIXED_DIRS=(/run/containerd /var/lib/kubelet "$KUBELET_CONTAINER_LOGS" /var/lib/cni)
# Line in /etc/hosts that makes the node name resolve for the API server (see docs/lab-node.md).
HOSTS_MARK="# replatform-lab node (tests/lab/node)"

# restore_sysctls: put back the kernel settings saved in $NODE_STATE/sysctl.orig.
restore_sysctls() {
  local k v
  [[ -s $NODE_STATE/sysctl.orig ]] || return 0
  while IFS='=' read -r k v; do
    [[ $(sysctl -n "$k" 2>/dev/null) == "$v" ]] && continue
    log "sysctl $k: back to $v (the machine's value)"
    sysctl -qw "$k=$v" || log "WARNING: could not set $k=$v"
  done <"$NODE_STATE/sysctl.orig"
}

# node_ip: the host's address on the bridge of the lab's podman network (LAB_NET_NAME, subnet
# LAB_NET_SUBNET: tests/lab/hosts/up.sh recreates the network if its subnet differs), or nothing.
node_ip() {
  ip -4 -o addr show to "$LAB_NET_SUBNET" 2>/dev/null | awk '{split($4, a, "/"); print a[1]; exit}'
}

# node_json: the Node object (empty when it is not registered).
node_json() { local j; j=$(kapi "/api/v1/nodes/$NODE_NAME" 2>/dev/null) || return 0; echo "$j"; }

# node_ready: the Node's Ready condition is True (the Node's JSON is left in NODE_JSON).
node_ready() {
  NODE_JSON=$(node_json)
  jq -e 'any(.status.conditions[]?; .type == "Ready" and .status == "True")' >/dev/null <<<"${NODE_JSON:-{\}}"
}

# pods_running: number of pods bound to the node in phase Running.
pods_running() {
  kapi "/api/v1/pods?fieldSelector=spec.nodeName%3D$NODE_NAME,status.phase%3DRunning" 2>/dev/null | jq '.items | length'
}
