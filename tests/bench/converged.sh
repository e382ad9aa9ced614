#!/usr/bin/env bash
# The converged re-run of migrate.yml (printed, never asserted): the api service is migrated end to end
# (discover, containerize, deploy, verify, shift with 1 s pauses, DNS), then migrate.yml runs again
# three times on the migrated service. Each re-run must report changed=0; its wall time is what an
# operator waits for "nothing to do". Then rollback.yml gives api back (its wall time is printed too).
# Usage: tests/bench/converged.sh   (the lab must be up; about 3 minutes)
set -uo pipefail
source "$(dirname "$0")/../lab/lib/common.sh"
cd "$REPO_DIR" || exit 1
export PATH=$LAB_VENV/bin:$PATH ANSIBLE_COLLECTIONS_PATH=$LAB_STATE/collections ANSIBLE_NOCOLOR=1
work=$(mktemp -d)
svc=${BENCH_SERVICE:-api}
cleanup() {
  ansible-playbook playbooks/rollback.yml -e "service=$svc" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

play() { # play LOG ARGS...: ansible-playbook, log kept in $work; prints wall seconds and changed=N
  local log=$1 t0 rc
  shift
  t0=$(date +%s.%N)
  ansible-playbook "$@" >"$log" 2>&1
  rc=$?
  printf '%.1f %s' "$(echo "$(date +%s.%N) - $t0" | bc)" "$(grep -oE 'localhost +: ok=[0-9]+ +changed=[0-9]+' "$log" | grep -oE 'changed=[0-9]+' | tail -1)"
  return $rc
}

row() { printf '%-44s %10s  %s\n' "$@"; }
row "migrate.yml -e service=$svc" seconds "PLAY RECAP (controller)"
read -r t c <<<"$(play "$work/first.log" playbooks/migrate.yml -e "service=$svc" -e replatform_shift_pause=1)" ||
  { tail -30 "$work/first.log"; echo "the first migration of $svc failed"; exit 1; }
row "first run (to migrated)" "$t" "$c"
for i in 1 2 3; do
  read -r t c <<<"$(play "$work/again-$i.log" playbooks/migrate.yml -e "service=$svc")" || { tail -30 "$work/again-$i.log"; exit 1; }
  row "converged re-run $i" "$t" "$c"
done
read -r t c <<<"$(play "$work/rollback.log" playbooks/rollback.yml -e "service=$svc")"
row "rollback.yml" "$t" "$c"
