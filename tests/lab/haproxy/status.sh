#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# One line for the lab HAProxy, then UP/DOWN server counts per backend from `show stat`.
# Exit 1 if HAProxy is not running; DOWN servers (legacy hosts not up) are only a warning.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

line="haproxy  http=$LAB_HAPROXY_HTTP smtp=$LAB_HAPROXY_SMTP admin=$HAP_ADMIN_SOCK"
if ! hap_running; then
  echo "$line  down"
  exit 1
fi
echo "$line  up"
stat=$(hap_admin "show stat") || { echo "  (could not read show stat)"; exit 1; }
awk -F, '
  NR == 1 { sub(/^# /, ""); for (i = 1; i <= NF; i++) col[$i] = i; next }
  $1 !~ /^be_/ || $2 == "BACKEND" || $2 == "FRONTEND" || $1 == "" { next }
  {
    be = $1; st = $col["status"]; chk = $col["check_status"]; sub(/^\* /, "", chk)
    if (!(be in seen)) { seen[be] = 1; order[++n] = be }
    if (st ~ /^UP/) up[be]++
    else if (st ~ /^DOWN/) { down[be]++; bad[be] = bad[be] " " $2 "(" chk ")" }
    else { other[be]++; bad[be] = bad[be] " " $2 "(" st ")" }
  }
  END {
    for (i = 1; i <= n; i++) {
      be = order[i]
      printf "  %-9s UP=%d DOWN=%d", be, up[be], down[be]
      if (other[be]) printf " other=%d", other[be]
      if (bad[be] != "") printf "  not up:%s", bad[be]
      printf "\n"
      tdown += down[be]
    }
    if (tdown) printf "WARNING: %d server(s) DOWN (legacy hosts not up yet?); haproxy itself is up\n", tdown
  }' <<<"$stat"
hap_lab_net_up || echo "WARNING: lab network gateway $LAB_NET_GATEWAY is not on this machine: checks cannot connect (source-address guard)"
