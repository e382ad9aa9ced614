#!/usr/bin/env bash
# Start the stand-in watcher (standin.py watch): while it runs, every service whose Deployment in the
# lab namespace is available has its image running as a LAB STAND-IN on its own address, as a cluster
# with an ingress would serve it. Idempotent.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=../registry/lib.sh
source "$LAB_DIR/registry/lib.sh"

PIDFILE=$LAB_STATE/standin/watch.pid
LOGFILE=$LAB_STATE/logs/standin.log
mkdir -p "$LAB_STATE/standin" "$LAB_STATE/logs"
if pid_alive "$PIDFILE"; then
  log "stand-in watcher already running (pid $(cat "$PIDFILE"))"
  exit 0
fi
LAB_KUBECTL=$("$LAB_DIR/k8s/build.sh" | tail -1)/kubectl
export LAB_STATE LAB_NET_NAME LAB_KUBECTL
(
  close_inherited_fds
  exec setsid python3 -u "$LAB_DIR/standin/standin.py" watch
) >>"$LOGFILE" 2>&1 </dev/null &
echo $! >"$PIDFILE"
log "stand-in watcher started (pid $!, log $LOGFILE)"
