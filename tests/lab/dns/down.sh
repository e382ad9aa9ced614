#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Stop the lab's named (pid file). Keeps the key, config and zone for inspection;
# up.sh resets the zone on the next start.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if dns_named_live; then
  pid=$(cat "$DNS_PID")
  log "stopping named (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 200); do proc_live "$pid" || break; sleep 0.05; done
  if proc_live "$pid"; then log "named $pid did not stop on TERM: killing"; kill -9 "$pid" 2>/dev/null || true; fi
else
  log "named is not running"
fi
rm -f "$DNS_PID"
