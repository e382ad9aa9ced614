#!/usr/bin/env bash
# Print `standin  watcher up|down  <running stand-ins>`; exit 1 when the watcher is not running.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

running=$(podman ps --filter label=replatform.lab/standin --format '{{index .Labels "replatform.lab/standin"}}' 2>/dev/null | sort | paste -sd, -)
if pid_alive "$LAB_STATE/standin/watch.pid"; then
  printf 'standin   watcher up  (LAB STAND-IN for the cluster entry point: %s)\n' "${running:-none running}"
else
  printf 'standin   watcher down\n'
  exit 1
fi
