#!/usr/bin/env bash
# The traffic shift under load, through the lab's real HAProxy (printed, never asserted):
#   1. HTTP baseline: wrk on the web frontend without a shift (requests, failed, p50, p99).
#   2. HTTP cutover: the same load while shift_traffic moves web 0 -> 100 % (1, 5, 25, 50, 100, gated
#      pauses) and rollback.yml moves it back.
#   3. SMTP baseline and cutover: sessions (banner, EHLO, QUIT) while mail moves 0 -> 100 % and back.
#   4. Faults: the web stand-in answers 500, then refuses connections, one second into the first step:
#      time from the fault to all weight on the legacy servers, and the requests that failed meanwhile.
# The new platform is the LAB STAND-IN (tests/lab/standin): the services' images run with podman.
# Usage: tests/bench/traffic.sh   (the lab must be up; about 6 minutes)
set -uo pipefail
source "$(dirname "$0")/../lab/lib/common.sh"
cd "$REPO_DIR" || exit 1
export PATH=$LAB_VENV/bin:$PATH ANSIBLE_COLLECTIONS_PATH=$LAB_STATE/collections ANSIBLE_NOCOLOR=1
work=$(mktemp -d)
standin=(bash tests/lab/standin/standin.sh)
declare -A endpoint=([web]=10.231.7.31/80 [mail]=10.231.7.34/25)  # replatform_services.*.new_endpoint
PAUSE=${BENCH_PAUSE:-5}
WRK=(wrk -t1 -c8 --latency -H "Host: www.$LAB_DNS_ZONE" "http://$LAB_HAPROXY_HTTP/")

cleanup() {
  for s in web mail; do
    "${standin[@]}" fault "$s" ok >/dev/null 2>&1
    ansible-playbook playbooks/rollback.yml -e "service=$s" >/dev/null 2>&1
  done
  rm -rf "$work"
}
trap cleanup EXIT

play() { # play LOG ARGS...: ansible-playbook, log kept; prints wall seconds
  local log=$1 t0
  shift
  t0=$(date +%s.%N)
  ansible-playbook "$@" >"$log" 2>&1
  local rc=$?
  printf '%.1f' "$(echo "$(date +%s.%N) - $t0" | bc)"
  return $rc
}
# wrk_summary FILE -> "requests failed p50 p99 rps"
wrk_summary() {
  awk '
    / requests in / { req = $1 }
    /Non-2xx or 3xx responses:/ { bad += $NF }
    /Socket errors:/ { for (i = 3; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) { v = $i; sub(",", "", v); bad += v } }
    $1 == "50%" { p50 = $2 } $1 == "99%" { p99 = $2 }
    /^Requests\/sec:/ { rps = $2 }
    END { printf "%s %d %s %s %s", req, bad, p50, p99, rps }' "$1"
}
smtp_summary() { # smtp_summary FILE -> "sessions failed p50 p99"
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["sessions"], d["failed"], "%sms" % d["p50_ms"], "%sms" % d["p99_ms"])' "$1"
}
row() { printf '%-34s %10s %8s %10s %10s %10s  %s\n' "$@"; }

echo "preparing: web and mail deployed (migrate.yml up to deploy), their stand-ins up, all traffic on the legacy hosts"
for s in web mail; do
  play "$work/migrate-$s.log" playbooks/migrate.yml -e "service=$s" -e migrate_until=deploy >/dev/null || { tail -20 "$work/migrate-$s.log"; die "migrate $s failed"; }
  # The lab's stand-in watcher runs the Deployment's image on the service's new_endpoint.
  wait_for 60 "the stand-in of $s" bash -c "</dev/tcp/${endpoint[$s]}" || die "stand-in $s did not start"
  play "$work/rollback-$s.log" playbooks/rollback.yml -e "service=$s" >/dev/null
done
sleep 2

echo
row "HTTP (wrk, 1 thread, 8 connections)" requests failed p50 p99 req/s "shift / rollback"
"${WRK[@]}" -d20s >"$work/base.txt" 2>&1
read -r req bad p50 p99 rps <<<"$(wrk_summary "$work/base.txt")"
row "baseline, no shift (20 s)" "$req" "$bad" "$p50" "$p99" "$rps" ""

"${WRK[@]}" -d$((8 * PAUSE + 45))s >"$work/cut.txt" 2>&1 &
load=$!
sleep 3
t_shift=$(play "$work/shift-web.log" tests/bench/shift.yml -e service=web -e "pause=$PAUSE") || { tail -30 "$work/shift-web.log"; }
sleep 3
t_back=$(play "$work/rollback-web2.log" playbooks/rollback.yml -e service=web)
wait "$load"
read -r req bad p50 p99 rps <<<"$(wrk_summary "$work/cut.txt")"
row "cutover 0->100% and rollback" "$req" "$bad" "$p50" "$p99" "$rps" "${t_shift}s / ${t_back}s"

echo
row "SMTP (8 clients: banner, EHLO, QUIT)" sessions failed p50 p99 "" "shift / rollback"
python3 tests/bench/smtp_load.py 127.0.0.1 "${LAB_HAPROXY_SMTP##*:}" 8 15 >"$work/smtp-base.json"
read -r req bad p50 p99 <<<"$(smtp_summary "$work/smtp-base.json")"
row "baseline, no shift (15 s)" "$req" "$bad" "$p50" "$p99" "" ""
python3 tests/bench/smtp_load.py 127.0.0.1 "${LAB_HAPROXY_SMTP##*:}" 8 $((8 * PAUSE + 40)) >"$work/smtp-cut.json" &
load=$!
sleep 3
t_shift=$(play "$work/shift-mail.log" tests/bench/shift.yml -e service=mail -e "pause=$PAUSE") || { tail -30 "$work/shift-mail.log"; }
sleep 3
t_back=$(play "$work/rollback-mail2.log" playbooks/rollback.yml -e service=mail)
wait "$load"
read -r req bad p50 p99 <<<"$(smtp_summary "$work/smtp-cut.json")"
row "cutover 0->100% and rollback" "$req" "$bad" "$p50" "$p99" "" "${t_shift}s / ${t_back}s"
python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["errors"]; e and print("  SMTP errors:", "; ".join(e))' "$work/smtp-cut.json"

echo
row "Faults in the new endpoint (web)" requests failed "" "" "" "fault -> all weight on legacy"
for mode in 5xx refuse; do
  "${standin[@]}" fault-when-weighted web "$mode" 1 >"$work/inject-$mode.json" 2>"$work/inject-$mode.err" &
  injector=$!
  "${WRK[@]}" -d25s >"$work/fault-$mode.txt" 2>&1 &
  load=$!
  sleep 2
  play "$work/shift-fault-$mode.log" tests/bench/shift.yml -e service=web -e "pause=$PAUSE" -e '{"steps": [5, 25, 100]}' >/dev/null
  wait "$injector"
  wait "$load"
  "${standin[@]}" fault web ok >/dev/null
  read -r req bad p50 p99 rps <<<"$(wrk_summary "$work/fault-$mode.txt")"
  reaction=$(python3 -c 'import json,sys; print("%.2fs" % json.load(open(sys.argv[1]))["weight_zero_after"])' "$work/inject-$mode.json" 2>/dev/null || echo "?")
  reason=$(grep -o 'gate failed[^;]*;[^;]*' "$work/shift-fault-$mode.log" | head -1)
  row "$mode (25 s of load)" "$req" "$bad" "" "" "" "$reaction  ($reason)"
  play "$work/rollback-fault-$mode.log" playbooks/rollback.yml -e service=web >/dev/null
  sleep 2
done
