#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Stop the lab HAProxy (master from the pid file, then its workers) and remove its sockets.
# Keeps the rendered config and the server-state file for inspection (up.sh starts fresh).
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# No pid file but a master that still answers: take its pid from `show proc`.
if ! hap_master_live && [[ -S $HAP_MASTER_SOCK ]]; then
  pid=$(hap_master "show proc" 2>/dev/null | awk '$2 == "master" {print $1; exit}') || true
  [[ -n ${pid:-} ]] && echo "$pid" >"$HAP_PID"
fi

if hap_master_live; then
  master=$(cat "$HAP_PID")
  # Every worker, current and old, so none outlives the master.
  mapfile -t workers < <(hap_master "show proc" 2>/dev/null | awk '$2 == "worker" {print $1}' || true)
  log "stopping haproxy (master $master${workers[*]:+, workers ${workers[*]}})"
  # Workers and master together; wait until each is gone or a zombie (see proc_live),
  # KILL after 10 s.
  kill -TERM "${workers[@]}" "$master" 2>/dev/null || true
  for pid in "$master" "${workers[@]}"; do
    for _ in $(seq 200); do proc_live "$pid" || break; sleep 0.05; done
    if proc_live "$pid"; then log "haproxy process $pid did not stop on TERM: killing"; kill -9 "$pid" 2>/dev/null || true; fi
  done
else
  log "haproxy is not running"
fi
rm -f "$HAP_PID" "$HAP_ADMIN_SOCK" "$HAP_MASTER_SOCK"
