#!/usr/bin/env bash
# The lab: every component the collection talks to, for real, on this machine.
#   tests/lab/lab.sh up      install what is missing, then start everything (cold: builds; warm: seconds)
#   tests/lab/lab.sh down    stop everything (keeps caches, images and certificates)
#   tests/lab/lab.sh status  one line per component with its address; exits 1 if any is down
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

# Order matters: hosts need the registry and base image; HAProxy's checks need the hosts; the real worker
# node (tests/lab/node, docs/lab-node.md), where migrated services run, needs the control plane and the
# lab network; the ingress controller (Traefik, tests/lab/ingress, docs/lab-ingress.md) needs the control
# plane and the hosts' bridge. down stops in reverse.
COMPONENTS=(registry hosts k8s node ingress dns haproxy)

up() {
  local t0=$SECONDS k8s_log=$LAB_STATE/logs/k8s-up.log k8s_pid
  bash "$LAB_DIR/install.sh"
  lab_route_guard
  mkdir -p "$LAB_STATE/logs"
  # The control plane (a cold Go build of several minutes) starts beside the rest.
  log "starting the Kubernetes control plane in the background (log: $k8s_log)"
  bash "$LAB_DIR/k8s/up.sh" > "$k8s_log" 2>&1 &
  k8s_pid=$!
  local c rc=0
  for c in registry hosts dns haproxy; do
    log "starting $c"
    bash "$LAB_DIR/$c/up.sh" || { rc=$?; log "$c failed to start (exit $rc)"; break; }
  done
  # Show its progress meanwhile (a cold build takes minutes): its latest log line, every 30 s.
  local waited=0
  while kill -0 "$k8s_pid" 2>/dev/null; do
    sleep 1
    if ((++waited % 30 == 0)); then log "control plane still starting (${waited}s): $(tail -1 "$k8s_log" | cut -c1-160)"; fi
  done
  if ! wait "$k8s_pid"; then
    tail -40 "$k8s_log" >&2
    log "the Kubernetes control plane failed to start (log: $k8s_log)"
    rc=1
  fi
  if ((rc == 0)); then
    log "starting node"
    bash "$LAB_DIR/node/up.sh" || rc=1
  fi
  if ((rc == 0)); then
    log "starting ingress"
    bash "$LAB_DIR/ingress/up.sh" || rc=1
  fi
  ((rc == 0)) || die "lab-up failed; see the messages above and $LAB_STATE/logs"
  log "lab up in $((SECONDS - t0))s"
  status
}

down() {
  local c i rc=0
  # Ansible's SSH ControlPersist masters outlive a run by a minute: close them.
  if [[ -d $LAB_STATE/ssh/cp ]]; then
    for s in "$LAB_STATE"/ssh/cp/*; do [[ -S $s ]] && ssh -o ControlPath="$s" -O exit dummy 2>/dev/null || true; done
  fi
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
    c=${COMPONENTS[$i]}
    log "stopping $c"
    bash "$LAB_DIR/$c/down.sh" || rc=1
  done
  return $rc
}

status() {
  local c rc=0
  for c in "${COMPONENTS[@]}"; do
    bash "$LAB_DIR/$c/status.sh" || rc=1
  done
  return $rc
}

case ${1:-} in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
