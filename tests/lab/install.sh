#!/usr/bin/env bash
# Installs what the lab and the tests need on a fresh Debian bookworm machine (run as root):
# Debian packages, then a Python virtual environment with pinned Ansible and test tools, then the
# collection linked into a collections path. Idempotent: a second run takes about a second.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

APT_PACKAGES=(
  podman buildah runc netavark aardvark-dns containernetworking-plugins   # images, legacy hosts
  docker-registry debootstrap                                             # registry, base image
  haproxy bind9 bind9-utils bind9-dnsutils                                # load balancer, DNS
  openssh-client iproute2 curl jq rsync make shellcheck wrk               # tools used by tests
  python3-venv
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # The packages' own services (haproxy, named, docker-registry) are not used: the lab runs its own.
  apt-get install -y -qq "${missing[@]}" >/dev/null
  for svc in haproxy named bind9 docker-registry; do
    if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
      systemctl stop "$svc" || true
    fi
  done
fi

# Go builds the control plane (tests/lab/k8s/build.sh); the machine image brings Go 1.26.
command -v go >/dev/null || die "Go 1.26 or newer is needed to build the lab's Kubernetes (go not found on PATH)"

PYTHON=${PYTHON:-python3}
req_hash=$(cat "$REPO_DIR"/requirements/*.txt | sha256sum | cut -c1-16)
stamp=$LAB_VENV/.requirements-$req_hash
if [[ ! -e $stamp ]]; then
  log "creating the Python environment $LAB_VENV (pinned requirements, about 2 minutes cold)"
  [[ -x $LAB_VENV/bin/python ]] || "$PYTHON" -m venv "$LAB_VENV"
  "$LAB_VENV/bin/pip" install -q -r "$REPO_DIR/requirements/test.txt" -c "$REPO_DIR/requirements/constraints.txt"
  rm -f "$LAB_VENV"/.requirements-*
  touch "$stamp"
fi

# The collection, found by Ansible as replatform.kubernetes (ansible.cfg points collections_path here).
coll=$LAB_STATE/collections/ansible_collections/replatform
mkdir -p "$coll"
[[ -L $coll/kubernetes && $(readlink "$coll/kubernetes") == "$REPO_DIR" ]] || ln -sfn "$REPO_DIR" "$coll/kubernetes"
