#!/usr/bin/env bash
# Runs the integration targets (tests/integration/targets/<name>/tasks/main.yml, ansible-test layout)
# against the running lab, each as a play on the controller with the lab inventory, so a target can
# also reach the legacy hosts over SSH (delegate_to). Targets whose aliases say `disabled` are skipped.
# Usage: tests/integration/run.sh [TARGET...]   Prints one line per target and a closing count.
set -uo pipefail
source "$(dirname "$0")/../lab/lib/common.sh"
cd "$REPO_DIR" || exit 1

targets=("$@")
if ((${#targets[@]} == 0)); then
  for d in tests/integration/targets/*/; do targets+=("$(basename "$d")"); done
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0 skipped=0 failures=() flaky=()
run_target() { "$LAB_VENV/bin/ansible-playbook" -i inventories/lab "$work/$1.yml" > "$work/$1.log" 2>&1; }
keep_log() { mkdir -p "$LAB_STATE/logs" && cp "$work/$1.log" "$LAB_STATE/logs/integration-$1.$2.log"; }
show_failure() { # the failed tasks first (what CI's excerpt must show), then the log's end
  grep -B2 -A12 -E '^fatal:|^\[ERROR\]' "$work/$1.log" | cut -c1-400 | head -80 | sed 's/^/    /'
  sed 's/^/    /' "$work/$1.log" | tail -30
}
for t in "${targets[@]}"; do
  dir=$REPO_DIR/tests/integration/targets/$t
  [[ -d $dir ]] || { echo "unknown target: $t" >&2; failed=$((failed + 1)); failures+=("$t"); continue; }
  if grep -qx 'disabled' "$dir/aliases" 2>/dev/null; then
    echo "SKIP  $t (disabled)"; skipped=$((skipped + 1)); continue
  fi
  cat > "$work/$t.yml" <<PLAY
---
- name: Integration target $t
  hosts: controller
  gather_facts: false
  roles:
    - role: $dir
PLAY
  t0=$SECONDS
  if run_target "$t"; then
    echo "PASS  $t ($((SECONDS - t0))s)"; passed=$((passed + 1))
    continue
  fi
  keep_log "$t" first
  echo "FAIL  $t ($((SECONDS - t0))s) on its first try, log kept: $LAB_STATE/logs/integration-$t.first.log"
  show_failure "$t"
  # One more try, said as such: a target that passes only on its second try is reported FLAKY with
  # the first try's log kept, so the failure is visible and can be mended, not hidden.
  t0=$SECONDS
  if run_target "$t"; then
    echo "FLAKY $t ($((SECONDS - t0))s): passed on its second try; the first try's log: $LAB_STATE/logs/integration-$t.first.log"
    passed=$((passed + 1)); flaky+=("$t")
  else
    keep_log "$t" second
    echo "FAIL  $t ($((SECONDS - t0))s) on its second try too, log kept: $LAB_STATE/logs/integration-$t.second.log"
    show_failure "$t"
    failed=$((failed + 1)); failures+=("$t")
  fi
done
echo "integration: $passed passed ($((${#flaky[@]})) of them on a second try: ${flaky[*]:-none}), $failed failed (${failures[*]:-none}), $skipped skipped"
((failed == 0))
