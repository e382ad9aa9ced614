#!/usr/bin/env bash
# One line per legacy host, e.g.
#   legacy-web1  10.231.7.11  ssh=up nginx=up esp-api=up esp-tracker=up
#   legacy-mail1  10.231.7.21  ssh=up postfix=up
#   legacy-corpus1  10.231.7.41  ssh=up ftp=up portal=up shortener=up ... cgi=up
# ssh: root login with the lab key and pinned host key; services: probed from this machine (HTTP 200
# on / and /healthz, :8081/healthz, :8082/healthz; SMTP banner "220 mail.esp.test ESMTP").
# Exits 1 when anything is down.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=./lib.sh
source "$LAB_DIR/hosts/lib.sh"

rc=0
for h in "${LAB_HOSTS[@]}"; do
  name=$(host_name "$h") ip=$(host_ip "$h") role=$(host_role "$h")
  line="$name  $ip "
  state=$(podman inspect --format '{{.State.Status}}' "$name" 2>/dev/null || echo absent)
  if [[ $state != running ]]; then
    # Nothing to probe (and probing an absent address only waits for timeouts).
    line+=" container=$state ssh=down"
    for svc in $(role_services "$role"); do line+=" $svc=down"; done
    printf '%s\n' "$line"
    rc=1
    continue
  fi
  if [[ -s $LAB_SSH_KEY && -s $LAB_SSH_KNOWN_HOSTS ]] && lab_ssh "$ip" true </dev/null 2>/dev/null; then
    line+=" ssh=up"
  else
    line+=" ssh=down"; rc=1
  fi
  for svc in $(role_services "$role"); do
    if service_probe "$role" "$svc" "$ip"; then line+=" $svc=up"; else line+=" $svc=down"; rc=1; fi
  done
  printf '%s\n' "$line"
done
exit $rc
