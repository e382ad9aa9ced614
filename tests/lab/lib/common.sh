# shellcheck shell=bash
# Shared settings of the local lab. Sourced by every tests/lab script; nothing here ships to users.
# Every address is on loopback or on the lab's own podman network (its own network namespaces).

LAB_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_DIR=$(cd "$LAB_LIB_DIR/.." && pwd)
REPO_DIR=$(cd "$LAB_DIR/../.." && pwd)

# Per-checkout runtime state (kubeconfig, certificates, sockets, logs, keys): gitignored.
LAB_STATE=${LAB_STATE:-$REPO_DIR/.lab}
# Built binaries and the base rootfs, shared by every checkout on the machine, keyed by version.
LAB_CACHE=${LAB_CACHE:-$HOME/.cache/replatform-lab}
# Python virtual environment with Ansible and the test tools.
LAB_VENV=${LAB_VENV:-$REPO_DIR/.venv}
# Admin kubeconfig of the lab cluster (written by tests/lab/k8s/up.sh).
LAB_KUBECONFIG=$LAB_STATE/k8s/admin.kubeconfig

# Pinned versions (the Go modules under k8s/build pin the same ones in go.mod/go.sum).
KUBERNETES_VERSION=v1.36.3
ETCD_VERSION=v3.6.16
KWOK_VERSION=v0.8.0

# Addresses.
LAB_K8S_API_PORT=6443
LAB_ETCD_CLIENT_PORT=12379
LAB_ETCD_PEER_PORT=12380
LAB_KCM_PORT=10257        # kube-controller-manager https /healthz
LAB_SCHEDULER_PORT=10259  # kube-scheduler https /healthz
LAB_KWOK_PORT=10247       # kwok http /healthz
LAB_REGISTRY=127.0.0.1:5000
LAB_HAPROXY_HTTP=127.0.0.1:8080
LAB_HAPROXY_SMTP=127.0.0.1:2525
LAB_HAPROXY_STATS=127.0.0.1:8404
LAB_DNS_ADDR=127.0.0.1
LAB_DNS_PORT=5353
LAB_DNS_ZONE=esp.test
LAB_TSIG_KEY_NAME=replatform-lab
LAB_NET_NAME=replatform-lab
LAB_NET_SUBNET=10.231.7.0/24
LAB_NET_GATEWAY=10.231.7.1
LAB_POD_SUPERNET=10.244.0.0/16   # every pod CIDR of the lab (kwok nodes, the real node)
# Legacy hosts: name=ip:role
LAB_HOSTS=(legacy-web1=10.231.7.11:web legacy-web2=10.231.7.12:web legacy-mail1=10.231.7.21:mail
  legacy-corpus1=10.231.7.41:corpus)
LAB_BASE_IMAGE=$LAB_REGISTRY/base/debian:bookworm
LAB_DEBIAN_MIRROR=${LAB_DEBIAN_MIRROR:-http://deb.debian.org/debian}

# Containers: runc (crun fails on this machine's hybrid cgroups) and ulimits under the hard limit.
export CONTAINERS_CONF=${CONTAINERS_CONF:-$LAB_DIR/containers/containers.conf}

log() { printf '%s [lab] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '%s [lab] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2; exit 1; }

# wait_for SECONDS DESCRIPTION COMMAND...: poll COMMAND every 0.2 s until it succeeds.
wait_for() {
  local timeout=$1 what=$2; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      log "timed out after ${timeout}s waiting for $what"
      return 1
    fi
    sleep 0.2
  done
}

# proc_live PID: running and not a zombie. PID 1 of this VM reaps orphans about a second late,
# so `kill -0` still succeeds on a daemon that has already exited.
proc_live() {
  local st
  st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $st && $st != Z ]]
}

# pid_alive PIDFILE: the process in PIDFILE is running.
pid_alive() { [[ -s $1 ]] && proc_live "$(cat "$1")"; }

# lab_route_guard: traffic to the lab subnet never leaves this machine. Until the podman bridge
# exists (its own route, metric 0, wins), packets to 10.231.7.x would follow the default route out;
# this unreachable route with a high metric makes them fail here instead.
lab_route_guard() {
  ip route show table main | grep -q "^unreachable $LAB_NET_SUBNET .*metric 4242" ||
    ip route replace unreachable "$LAB_NET_SUBNET" metric 4242
  # Pod IPs (kwok's fake pods 10.244.0-1.x, the real node's 10.244.8.0/24 has its own, more specific
  # route): the ingress controller dials them, and without this they would follow the default route out.
  ip route show table main | grep -q "^unreachable $LAB_POD_SUPERNET .*metric 4242" ||
    ip route replace unreachable "$LAB_POD_SUPERNET" metric 4242
}

# stop_pidfile PIDFILE [NAME]: TERM, then KILL after 10 s; removes the file.
stop_pidfile() {
  local f=$1 name=${2:-$1} pid i
  [[ -s $f ]] || { rm -f "$f"; return 0; }
  pid=$(cat "$f")
  if proc_live "$pid"; then
    kill "$pid" 2>/dev/null || true
    for i in $(seq 50); do proc_live "$pid" || break; sleep 0.2; done
    if proc_live "$pid"; then log "$name did not stop on TERM, killing"; kill -9 "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$f"
}

mkdir -p "$LAB_STATE" "$LAB_CACHE"
