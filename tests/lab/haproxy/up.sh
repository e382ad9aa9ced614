#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Start the lab's HAProxy (master-worker) in front of the legacy hosts.
# Idempotent: running + unchanged config -> nothing; running + changed config -> reload.sh;
# not running -> fresh start (stale sockets and server state removed).
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

t0=$(date +%s%N)
if hap_running; then
  hap_install_config
  if ((HAP_CFG_CHANGED == 0)); then
    log "haproxy already running (master $(cat "$HAP_PID")), config unchanged: nothing to do"
    exit 0
  fi
  log "haproxy config changed: reloading"
  # reload.sh renders again (same result) and keeps runtime state.
  exec "$HAP_SRC/reload.sh"
fi

if hap_master_live; then
  log "haproxy master $(cat "$HAP_PID") alive but its admin socket does not answer: restarting it"
  "$HAP_SRC/down.sh"
fi

command -v haproxy >/dev/null || die "haproxy is not installed (apt-get install haproxy)"
hap_install_config
hap_validate "$HAP_CFG" || die "haproxy config $HAP_CFG is invalid"
# A fresh start begins from the weights in the config, not from an old run's runtime state.
# (An empty state file, version line only: no "Can't open server state file" warning.)
rm -f "$HAP_ADMIN_SOCK" "$HAP_MASTER_SOCK" "$HAP_PID"
echo 1 >"$HAP_STATE_FILE"
chmod 600 "$HAP_STATE_FILE"

log "starting haproxy (http=$LAB_HAPROXY_HTTP smtp=$LAB_HAPROXY_SMTP stats=$LAB_HAPROXY_STATS)"
printf '=== %s up.sh start\n' "$(date -Is)" >>"$HAP_LOG"
# -D: the parent returns once the master has started; errors before that land in the log.
if ! haproxy -W -D -S "$HAP_MASTER_SOCK,mode,600" -f "$HAP_CFG" -p "$HAP_PID" >>"$HAP_LOG" 2>&1; then
  tail -n 20 "$HAP_LOG" >&2
  die "haproxy failed to start (log: $HAP_LOG)"
fi
if ! wait_for 15 "haproxy admin socket $HAP_ADMIN_SOCK" hap_running; then
  tail -n 20 "$HAP_LOG" >&2
  die "haproxy did not come up (log: $HAP_LOG)"
fi
# Settle the first health checks so status.sh and tests see real UP/DOWN states.
wait_for 5 "first health checks" hap_checks_settled || true
hap_lab_net_up || log "note: lab network gateway $LAB_NET_GATEWAY is not on this machine yet: servers stay DOWN and nothing is sent to $LAB_NET_SUBNET until it is"
log "haproxy up in $(( ($(date +%s%N) - t0) / 1000000 )) ms: master $(cat "$HAP_PID"), worker $(hap_admin_pid), admin=$HAP_ADMIN_SOCK master=$HAP_MASTER_SOCK"
