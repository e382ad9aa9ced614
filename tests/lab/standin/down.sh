#!/usr/bin/env bash
# Stop the stand-in watcher and remove every stand-in and injected fault.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

stop_pidfile "$LAB_STATE/standin/watch.pid" "stand-in watcher"
for s in web api tracker mail; do python3 "$LAB_DIR/standin/standin.py" down "$s" 2>/dev/null || true; done
log "stand-ins removed"
