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
passed=0 failed=0 skipped=0 failures=()
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
  if "$LAB_VENV/bin/ansible-playbook" -i inventories/lab "$work/$t.yml" > "$work/$t.log" 2>&1; then
    echo "PASS  $t ($((SECONDS - t0))s)"; passed=$((passed + 1))
  else
    echo "FAIL  $t ($((SECONDS - t0))s), whole log kept: $LAB_STATE/logs/integration-$t.log"; failed=$((failed + 1)); failures+=("$t")
    mkdir -p "$LAB_STATE/logs" && cp "$work/$t.log" "$LAB_STATE/logs/integration-$t.log"
    sed 's/^/    /' "$work/$t.log" | tail -60
  fi
done
echo "integration: $passed passed, $failed failed, $skipped skipped"
((failed == 0))
