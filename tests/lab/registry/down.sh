#!/usr/bin/env bash
# Stop the lab registry. Its storage ($LAB_STATE/registry/data) is kept, so pushed images survive.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

REG_PID=$LAB_STATE/registry.pid
if pid_alive "$REG_PID"; then
  log "stopping registry (pid $(cat "$REG_PID"))"
  stop_pidfile "$REG_PID" registry
else
  rm -f "$REG_PID"
  log "registry not running"
fi
if [[ ${1:-} == --purge ]]; then
  log "removing registry storage $LAB_STATE/registry"
  rm -rf "$LAB_STATE/registry"
fi
