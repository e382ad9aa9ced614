# shellcheck shell=bash disable=SC2034  # variables used by the scripts that source this file
# Shared by tests/lab/k8s/{up,down,status,pki,smoke}.sh: paths, fixed cluster settings and small helpers.
# shellcheck source=../lib/common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/common.sh"

K8S_DIR=$LAB_DIR/k8s                 # this folder (committed scripts and kwok stages)
K8S_STATE=$LAB_STATE/k8s             # runtime state: pki, kubeconfigs, etcd data (down.sh --purge removes it)
K8S_PKI=$K8S_STATE/pki
K8S_ETCD_DATA=$K8S_STATE/etcd
LAB_LOGS=$LAB_STATE/logs             # <component>.log and <component>.pid

# Cluster-internal ranges: fake, never routed; chosen not to overlap LAB_NET_SUBNET.
K8S_SERVICE_CIDR=10.96.0.0/16
K8S_SERVICE_FIRST_IP=10.96.0.1       # the `kubernetes` Service; must be in the apiserver certificate
K8S_CLUSTER_DOMAIN=cluster.local
K8S_SA_ISSUER=https://kubernetes.default.svc.$K8S_CLUSTER_DOMAIN
# Fake nodes managed by kwok: name:InternalIP:podCIDR
K8S_NODES=(kwok-node-0:10.240.0.10:10.244.0.0/24 kwok-node-1:10.240.0.11:10.244.1.0/24)
K8S_NODE_CPU=16 K8S_NODE_MEMORY=64Gi K8S_NODE_PODS=110

# Start order (down.sh stops in reverse).
K8S_COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

K8S_API=https://127.0.0.1:$LAB_K8S_API_PORT

need() { local c; for c in "$@"; do command -v "$c" >/dev/null || die "$c is required (apt-get install $c)"; done; }

pidfile() { echo "$LAB_LOGS/$1.pid"; }

# running NAME: NAME's pid file points at a live process whose executable is NAME (guards against
# a recycled pid after a reboot or a crash).
running() {
  local f pid exe
  f=$(pidfile "$1")
  pid_alive "$f" || return 1
  pid=$(cat "$f")
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  [[ ${exe##*/} == "$1" || ${exe##*/} == "$1 (deleted)" ]]
}

# kapi [curl args...] PATH: call the apiserver as the lab admin (client certificate).
kapi() {
  local args=("$@") n=$#
  local path=${args[n - 1]}
  unset 'args[n-1]'
  curl -sS --fail-with-body --max-time 20 --cacert "$K8S_PKI/ca.crt" \
    --cert "$K8S_PKI/admin.crt" --key "$K8S_PKI/admin.key" "${args[@]}" "$K8S_API$path"
}

# kapply PATH < YAML: server-side apply (creates or updates; a no-op when nothing changed).
kapply() {
  kapi -X PATCH -H 'Content-Type: application/apply-patch+yaml' --data-binary @- \
    "$1?fieldManager=replatform-lab&force=true" >/dev/null
}

# Number of Nodes labelled type=kwok whose Ready condition is True.
ready_nodes() {
  kapi '/api/v1/nodes?labelSelector=type%3Dkwok' 2>/dev/null |
    jq '[.items[] | select(any(.status.conditions[]?; .type == "Ready" and .status == "True"))] | length'
}
