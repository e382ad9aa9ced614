#!/usr/bin/env bash
# The test command (make test): installs what it needs, then runs
#   lint         ansible-lint over the collection
#   sanity       ansible-test sanity on a copy laid out as ansible_collections/replatform/kubernetes
#   unit         pytest tests/unit
#   integration  brings the lab up, runs tests/integration/targets and the roles' molecule scenarios
#                (tests/molecule.sh) against it, takes the lab down
# Usage: tests/run.sh [lint|sanity|unit|integration ...]   (default: all four)
# KEEP_LAB=1 leaves the lab running after the integration stage.
set -uo pipefail
source "$(dirname "$0")/lab/lib/common.sh"
cd "$REPO_DIR" || exit 1

stages=("$@")
((${#stages[@]})) || stages=(lint sanity unit integration)

bash tests/lab/install.sh || die "installing the test requirements failed"
export PATH=$LAB_VENV/bin:$PATH
export ANSIBLE_COLLECTIONS_PATH=$LAB_STATE/collections
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 PY_COLORS=0

passed=0 failed=0 results=()
count() { # count NAME PASSED FAILED
  passed=$((passed + $2)); failed=$((failed + $3))
  results+=("$(printf '%-12s %s passed, %s failed  (%ss)' "$1" "$2" "$3" "$4")")
}

run_lint() {
  local t0=$SECONDS
  local rc=0
  ansible-lint --offline || rc=1
  # The lab's scripts (not part of the collection, so not in ansible-test's shellcheck).
  git ls-files -z --cached --others --exclude-standard -- 'tests/lab/*.sh' | xargs -0 shellcheck -x --severity=warning || rc=1
  if ((rc == 0)); then count lint 1 0 $((SECONDS - t0)); else count lint 0 1 $((SECONDS - t0)); fi
}

run_sanity() {
  local t0=$SECONDS tree version
  tree=$(mktemp -d)/ansible_collections/replatform/kubernetes
  mkdir -p "$tree"
  # The files git would commit (tracked, and new ones not ignored), as a collection tree; without the
  # lab, which does not ship (galaxy.yml build_ignore) and is checked by shellcheck in the lint stage.
  git ls-files -z --cached --others --exclude-standard -- . ':!tests/lab' |
    rsync -a --from0 --files-from=- ./ "$tree/"
  # The collections ours imports from (galaxy.yml dependencies), beside it as ansible-test expects them.
  cp -r "$LAB_VENV/lib/python3.11/site-packages/ansible_collections/kubernetes" "${tree%/replatform/kubernetes}/"
  # ansible-test downloads a pip bootstrap script from a host that cannot be reached from here.
  version=$(python -c 'from ansible_test._internal.python_requirements import get_venv_packages as g
from ansible_test._internal.host_configs import NativePythonConfig as N
print(g(N(version="3.11", path="/"))["pip"])' 2>/dev/null || echo 24.2)
  mkdir -p ~/.ansible/test/cache
  cp tests/tools/get_pip_offline.py ~/.ansible/test/cache/"get_pip_${version//./_}.py"
  if (cd "$tree" && ansible-test sanity --venv --python 3.11 --color no --truncate 0); then
    count sanity 1 0 $((SECONDS - t0))
  else
    count sanity 0 1 $((SECONDS - t0))
  fi
  rm -rf "${tree%/ansible_collections/*}"
}

run_unit() {
  local t0=$SECONDS out summary p f
  out=$(mktemp)
  PYTHONPATH=$ANSIBLE_COLLECTIONS_PATH python -m pytest -p no:cacheprovider tests/unit 2>&1 | tee "$out"
  summary=$(tail -1 "$out")
  p=$(grep -oE '[0-9]+ passed' <<<"$summary" | grep -oE '[0-9]+' || echo 0)
  f=$(grep -oE '[0-9]+ (failed|error|errors)' <<<"$summary" | grep -oE '[0-9]+' | paste -sd+ | bc 2>/dev/null || echo 0)
  [[ ${PIPESTATUS[0]} == 0 && $p -gt 0 ]] || { ((f > 0)) || f=1; }
  count unit "$p" "${f:-0}" $((SECONDS - t0))
  rm -f "$out"
}

run_integration() {
  local t0=$SECONDS out p f
  if ! bash tests/lab/lab.sh up; then
    count integration 0 1 $((SECONDS - t0))
    [[ ${KEEP_LAB:-0} == 1 ]] || bash tests/lab/lab.sh down
    return
  fi
  out=$(mktemp)
  bash tests/integration/run.sh | tee "$out"
  p=$(grep -oE '^integration: [0-9]+ passed' "$out" | grep -oE '[0-9]+' || echo 0)
  f=$(grep -oE '[0-9]+ failed' "$out" | tail -1 | grep -oE '[0-9]+' || echo 1)
  count integration "$p" "$f" $((SECONDS - t0))
  # The roles' molecule scenarios, against the same lab (they need it up).
  t0=$SECONDS
  bash tests/molecule.sh | tee "$out"
  p=$(sed -nE 's/^molecule: ([0-9]+) passed, [0-9]+ failed$/\1/p' "$out")
  f=$(sed -nE 's/^molecule: [0-9]+ passed, ([0-9]+) failed$/\1/p' "$out")
  count molecule "${p:-0}" "${f:-1}" $((SECONDS - t0))
  rm -f "$out"
  [[ ${KEEP_LAB:-0} == 1 ]] || bash tests/lab/lab.sh down
}

for s in "${stages[@]}"; do
  case $s in
    lint|sanity|unit|integration) log "=== $s"; "run_$s" ;;
    *) die "unknown stage '$s' (allowed: lint, sanity, unit, integration)" ;;
  esac
done

echo
printf '%s\n' "${results[@]}"
echo "tests: $passed passed, $failed failed"
((failed == 0))
