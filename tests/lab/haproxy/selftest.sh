#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2015  # ok/nok never fail: A && ok || nok is safe
# Checks the running lab HAProxy: up.sh is a no-op when nothing changed, reload.sh keeps a
# runtime weight (restored afterwards), Host routing, stats page; and, when the legacy hosts
# are UP, real answers through fe_http and the SMTP banner through fe_smtp.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

hap_running || die "haproxy is not running (tests/lab/haproxy/up.sh)"
passed=0 failed=0 skipped=0
ok() { passed=$((passed + 1)); log "ok   $*"; }
nok() { failed=$((failed + 1)); log "FAIL $*"; }
skip() { skipped=$((skipped + 1)); log "skip $*"; }
z=$LAB_DNS_ZONE

# up.sh on a running HAProxy with an unchanged config does nothing.
before="$(cat "$HAP_PID") $(hap_admin_pid)"
"$HAP_SRC/up.sh" 2>/dev/null
[[ "$(cat "$HAP_PID") $(hap_admin_pid)" == "$before" ]] && ok "up.sh is a no-op when running and unchanged" || nok "up.sh changed master/worker"

# reload.sh keeps a runtime weight.
srv="be_web/${LAB_HOSTS[0]%%=*}"
w0=$(hap_admin "get weight $srv" | awk 'NF {print $1; exit}')
hap_admin "set weight $srv 10" >/dev/null
old=$(hap_admin_pid)
"$HAP_SRC/reload.sh" 2>/dev/null
new=$(hap_admin_pid)
got=$(hap_admin "get weight $srv" | awk 'NF {print $1; exit}')
[[ $new != "$old" ]] && ok "reload.sh started a new worker ($old -> $new)" || nok "reload.sh: same worker $old"
[[ $got == 10 ]] && ok "weight of $srv still 10 after reload" || nok "weight of $srv is '$got' after reload, expected 10"
hap_admin "set weight $srv $w0" >/dev/null

# Routing by Host: the backend is in X-Lab-Server (set on HAProxy's own 503s too).
route() { curl -s -m 10 -o /dev/null -D - -H "Host: $1" "http://$LAB_HAPROXY_HTTP/healthz" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-lab-server" {split($2, a, "/"); print a[1]}'; }
for pair in "www.$z=be_web" "api.$z=be_api" "click.$z=be_track" "open.$z=be_track" "API.$z:8080=be_api" "unknown.example=be_web"; do
  got=$(route "${pair%%=*}")
  [[ $got == "${pair#*=}" ]] && ok "Host ${pair%%=*} -> ${pair#*=}" || nok "Host ${pair%%=*} -> '$got', expected ${pair#*=}"
done

code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://$LAB_HAPROXY_STATS/stats")
[[ $code == 200 ]] && ok "stats page http://$LAB_HAPROXY_STATS/stats" || nok "stats page answered $code"

# Through to the legacy hosts, when they are up.
# A backend counts as up when a server of it is UP with a passed check (not just "UP" from
# HAProxy's start, before any check ran).
wait_for 5 "health checks to settle" hap_checks_settled || true
backend_up() {
  hap_admin "show stat" | awk -F, -v b="$1" '
    NR == 1 { sub(/^# /, ""); for (i = 1; i <= NF; i++) col[$i] = i; next }
    $1 == b && $2 != "BACKEND" && $col["status"] ~ /^UP/ && $col["check_status"] ~ /OK$/ { up = 1 }
    END { exit !up }'
}
for pair in "www.$z=be_web" "api.$z=be_api" "click.$z=be_track"; do
  if backend_up "${pair#*=}"; then
    code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -H "Host: ${pair%%=*}" "http://$LAB_HAPROXY_HTTP/healthz")
    [[ $code == 200 ]] && ok "GET ${pair%%=*}/healthz via HAProxy: 200" || nok "GET ${pair%%=*}/healthz via HAProxy: $code"
  else
    skip "${pair#*=} has no UP server (legacy hosts not up?)"
  fi
done
if backend_up be_smtp; then
  banner=$(timeout 10 "$HAP_PY" -c '
import socket, sys
h, p = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((h, int(p)), timeout=8)
print(s.makefile().readline().strip()); s.sendall(b"QUIT\r\n")' "$LAB_HAPROXY_SMTP" || true)
  [[ $banner == "220 mail.$z ESMTP"* ]] && ok "SMTP banner via HAProxy: $banner" || nok "SMTP banner via HAProxy: '$banner'"
else
  skip "be_smtp has no UP server (legacy hosts not up?)"
fi

printf 'haproxy: %d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
((failed == 0))
