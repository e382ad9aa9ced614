#!/usr/bin/env bash
# The traffic shift under load, through the lab's real HAProxy (printed, never asserted):
#   1. HTTP baseline: wrk on the web frontend without a shift (requests, failed, p50, p99).
#   2. HTTP cutover: the same load while shift_traffic moves web 0 -> 100 % (1, 5, 25, 50, 100, gated
#      pauses) and rollback.yml moves it back.
#   3. SMTP baseline and cutover: sessions (banner, EHLO, QUIT) while mail moves 0 -> 100 % and back.
#   4. Faults on the real pods (tests/lab/faults), one second into the first step: the web pods answer
#      500, then there is no pod (Traefik answers 503): time from the fault to all weight on the legacy
#      servers, and the requests that failed meanwhile.
#   5. A pod deleted, then a container killed, during a shift: how many requests failed, and the gate's verdict.
# The new platform is real: pods on the lab's node (tests/lab/node) behind Traefik (HTTP) and a node port (SMTP).
# Usage: tests/bench/traffic.sh   (the lab must be up; about 7 minutes)
set -uo pipefail
source "$(dirname "$0")/../lab/lib/common.sh"
cd "$REPO_DIR" || exit 1
export PATH=$LAB_VENV/bin:$PATH ANSIBLE_COLLECTIONS_PATH=$LAB_STATE/collections ANSIBLE_NOCOLOR=1
work=$(mktemp -d)
fault=(bash tests/lab/faults/fault.sh)
PAUSE=${BENCH_PAUSE:-5}
WRK=(wrk -t1 -c8 --latency -H "Host: www.$LAB_DNS_ZONE" "http://$LAB_HAPROXY_HTTP/")

cleanup() {
  for s in web mail; do
    "${fault[@]}" "$s" ok >/dev/null 2>&1
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

echo "preparing: web and mail deployed (migrate.yml up to deploy), their pods ready, all traffic on the legacy hosts"
for s in web mail; do
  play "$work/migrate-$s.log" playbooks/migrate.yml -e "service=$s" -e migrate_until=deploy >/dev/null || { tail -20 "$work/migrate-$s.log"; die "migrate $s failed"; }
  play "$work/rollback-$s.log" playbooks/rollback.yml -e "service=$s" >/dev/null
done
wait_for 60 "the web pods through Traefik" curl -fsS -o /dev/null -H "Host: www.$LAB_DNS_ZONE" "http://$LAB_NET_GATEWAY:8000/healthz" || die "web does not answer through Traefik"
wait_for 60 "mail's node port" bash -c "</dev/tcp/$LAB_NET_GATEWAY/30025" || die "mail's node port does not answer"
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
row "Faults on the web pods" requests failed "" "" "" "fault -> all weight on legacy"
for mode in 5xx down; do
  "${fault[@]}" when-weighted web "$mode" 1 >"$work/inject-$mode.json" 2>"$work/inject-$mode.err" &
  injector=$!
  "${WRK[@]}" -d25s >"$work/fault-$mode.txt" 2>&1 &
  load=$!
  sleep 2
  play "$work/shift-fault-$mode.log" tests/bench/shift.yml -e service=web -e "pause=$PAUSE" -e '{"steps": [5, 25, 100]}' >/dev/null
  wait "$injector"
  wait "$load"
  "${fault[@]}" web ok >/dev/null
  wait_for 60 "the web pods again" curl -fsS -o /dev/null -H "Host: www.$LAB_DNS_ZONE" "http://$LAB_NET_GATEWAY:8000/healthz"
  read -r req bad p50 p99 rps <<<"$(wrk_summary "$work/fault-$mode.txt")"
  reaction=$(python3 -c 'import json,sys; print("%.2fs" % json.load(open(sys.argv[1]))["weight_zero_after"])' "$work/inject-$mode.json" 2>/dev/null || echo "?")
  reason=$(grep -o 'gate failed[^;]*;[^;]*' "$work/shift-fault-$mode.log" | head -1)
  row "$mode (25 s of load)" "$req" "$bad" "" "" "" "$reaction  ($reason)"
  play "$work/rollback-fault-$mode.log" playbooks/rollback.yml -e service=web >/dev/null
  sleep 2
done

echo
row "Pods lost mid-shift (web)" requests failed "" "" "" "the gate's verdict"
for chaos in delete-pod kill; do
  ( "${fault[@]}" wait-weighted web && sleep 1 && "${fault[@]}" "$chaos" web ) >"$work/chaos-$chaos.json" 2>"$work/chaos-$chaos.err" &
  injector=$!
  "${WRK[@]}" -d25s >"$work/chaos-$chaos.txt" 2>&1 &
  load=$!
  sleep 2
  play "$work/shift-chaos-$chaos.log" tests/bench/shift.yml -e service=web -e "pause=$PAUSE" -e '{"steps": [5, 25, 100]}' >/dev/null
  wait "$injector"
  wait "$load"
  read -r req bad p50 p99 rps <<<"$(wrk_summary "$work/chaos-$chaos.txt")"
  verdict=$(grep -o 'gate failed[^;]*' "$work/shift-chaos-$chaos.log" | head -1)
  label=$([[ $chaos == kill ]] && echo "container killed (SIGKILL)" || echo "pod deleted")
  row "$label (25 s of load)" "$req" "$bad" "" "" "" "${verdict:-gate ok at every step, 100% on the pods}"
  play "$work/rollback-chaos-$chaos.log" playbooks/rollback.yml -e service=web >/dev/null
  wait_for 90 "the web pods again" curl -fsS -o /dev/null -H "Host: www.$LAB_DNS_ZONE" "http://$LAB_NET_GATEWAY:8000/healthz"
  sleep 2
done
