#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Reload the running lab HAProxy without losing runtime state (weights, drain, maint):
#   1. save `show servers state` (admin socket) into the server-state-file,
#   2. validate the config on disk (as `systemctl reload haproxy` would: it is not re-rendered, so
#      servers the collection added to a backend stay; `lab.sh up` on a stopped lab renders it afresh),
#   3. `reload` on the master socket,
#   4. wait until a new worker answers on the admin socket.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

hap_running || die "haproxy is not running (start it with $HAP_SRC/up.sh)"
t0=$(date +%s%N)
old=$(hap_worker_pid)
[[ -n $old ]] || die "no current worker in the master's 'show proc' ($HAP_MASTER_SOCK)"

hap_save_state
log "saved server state of worker $old to $HAP_STATE_FILE"

if [[ -f $HAP_CFG ]]; then
  hap_validate "$HAP_CFG" || die "$HAP_CFG is invalid; the running haproxy is left as is"
else
  hap_install_config
fi

# The master re-executes itself and drops the connection; 2.6 answers nothing.
hap_master "reload" >/dev/null || true

new_worker_ready() {
  local new
  new=$(hap_worker_pid) && [[ -n $new && $new != "$old" ]] && [[ $(hap_admin_pid) == "$new" ]]
}
if ! wait_for 20 "a new haproxy worker on $HAP_ADMIN_SOCK" new_worker_ready; then
  hap_master "show proc" >&2 || true
  tail -n 20 "$HAP_LOG" >&2
  die "haproxy reload did not produce a new worker"
fi
log "haproxy reloaded in $(( ($(date +%s%N) - t0) / 1000000 )) ms: worker $old -> $(hap_admin_pid)"
