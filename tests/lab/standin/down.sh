#!/usr/bin/env bash
# Stop the stand-in watcher and remove every stand-in and injected fault.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

stop_pidfile "$LAB_STATE/standin/watch.pid" "stand-in watcher"
# Every service of the inventory (standin.ADDRESSES), then any stand-in container still labelled as one.
for s in $(cd "$LAB_DIR/standin" && python3 -c 'import standin; print(" ".join(sorted(standin.ADDRESSES)))'); do
  python3 "$LAB_DIR/standin/standin.py" down "$s" 2>/dev/null || true
done
podman ps -a --filter label=replatform.lab/standin --format '{{.Names}}' | xargs -r podman rm -f -v -t 5 >/dev/null 2>&1 || true
log "stand-ins removed"
