#!/usr/bin/env bash
# One line for the lab's Traefik: address, ready, number of routers; exits 1 if it is down.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need curl jq

addr=http://$INGRESS_HOST:$INGRESS_WEB_PORT
pidinfo() { running traefik && echo "pid $(cat "$INGRESS_PID")" || echo "not running"; }
if running traefik && [[ $(curl -sf --max-time 3 "http://$INGRESS_ADMIN/ping" 2>/dev/null) == OK ]]; then
  api() { curl -sf --max-time 3 "http://$INGRESS_ADMIN/api/$1" 2>/dev/null; }
  v=$(api version | jq -r '.Version // "?"' 2>/dev/null || echo '?')
  # Routers from the Kubernetes providers (not Traefik's own ping and api routers): "TOTAL IN_ERROR".
  count() {
    api "$1/routers?per_page=10000" |
      jq -r '[.[] | select(.provider != "internal")] | "\(length) \([.[] | select(.status != "enabled")] | length)"' 2>/dev/null ||
      echo '? ?'
  }
  read -r http http_err <<<"$(count http)"
  read -r tcp tcp_err <<<"$(count tcp)"
  routers="$http http + $tcp tcp routers"
  errors=$http_err
  [[ $http_err == 0 && $tcp_err == 0 ]] || errors="$http_err http + $tcp_err tcp"
  printf '%-24s %-26s %s\n' traefik "$addr" "up ($v, ready, $routers, $errors in error, smtp :$INGRESS_SMTP_PORT, $(pidinfo))"
else
  printf '%-24s %-26s %s\n' traefik "$addr" "down ($(pidinfo))"
  exit 1
fi
