#!/usr/bin/env bash
# Runs the molecule scenarios of the roles (roles/<role>/molecule/<scenario>/molecule.yml) against the
# running lab: `molecule test -s <scenario>` from each role's directory, one scenario at a time, with
# the shared config .config/molecule/config.yml (default driver, unmanaged: the lab is the instance).
# Each scenario: syntax, cleanup, prepare, converge, idempotence, verify, cleanup, destroy (a no-op).
# Needs the lab up (tests/lab/lab.sh up) and the virtual environment (tests/lab/install.sh).
# Usage: tests/molecule.sh [ROLE | ROLE/SCENARIO ...]   Prints one line per scenario and a closing count;
# the full log of a failed scenario is kept in tests/output/molecule/.
set -uo pipefail
source "$(dirname "$0")/lab/lib/common.sh"
cd "$REPO_DIR" || exit 1

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# molecule runs `ansible-playbook` from PATH, and points ANSIBLE_CONFIG at the ansible.cfg it writes, so
# the repository's ansible.cfg does not apply: the collection is found through ANSIBLE_COLLECTIONS_PATH,
# here a link made for this run (works from a clean checkout, whatever .lab/collections holds).
mkdir -p "$work/collections/ansible_collections/replatform"
ln -s "$REPO_DIR" "$work/collections/ansible_collections/replatform/kubernetes"
export PATH=$LAB_VENV/bin:$PATH
export ANSIBLE_COLLECTIONS_PATH=$work/collections
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 PY_COLORS=0 NO_COLOR=1
unset MOLECULE_GLOB MOLECULE_PROJECT_DIRECTORY MOLECULE_EPHEMERAL_DIRECTORY

scenarios=()
if (($#)); then
  for arg in "$@"; do
    if [[ $arg == */* ]]; then
      scenarios+=("$arg")
    else
      for f in roles/"$arg"/molecule/*/molecule.yml; do
        [[ -e $f ]] && scenarios+=("$(basename "$(dirname "$(dirname "$(dirname "$f")")")")/$(basename "$(dirname "$f")")")
      done
    fi
  done
else
  for f in roles/*/molecule/*/molecule.yml; do
    [[ -e $f ]] && scenarios+=("$(basename "$(dirname "$(dirname "$(dirname "$f")")")")/$(basename "$(dirname "$f")")")
  done
fi
((${#scenarios[@]})) || { echo "no molecule scenario found" >&2; echo "molecule: 0 passed, 1 failed"; exit 1; }

passed=0 failed=0
for s in "${scenarios[@]}"; do
  role=${s%%/*} scenario=${s#*/}
  log=$work/${role}-${scenario}.log
  if [[ ! -f roles/$role/molecule/$scenario/molecule.yml ]]; then
    echo "FAIL  $s (no roles/$role/molecule/$scenario/molecule.yml)"; failed=$((failed + 1)); continue
  fi
  t0=$SECONDS
  # A fresh ephemeral directory per scenario and run: no state left from an earlier run or checkout.
  if (cd "roles/$role" &&
      MOLECULE_EPHEMERAL_DIRECTORY=$work/ephemeral/$role-$scenario \
        molecule --base-config "$REPO_DIR/.config/molecule/config.yml" test --scenario-name "$scenario") > "$log" 2>&1; then
    echo "PASS  $s ($((SECONDS - t0))s)"; passed=$((passed + 1))
  else
    echo "FAIL  $s ($((SECONDS - t0))s)  full log: tests/output/molecule/$role-$scenario.log"; failed=$((failed + 1))
    mkdir -p tests/output/molecule && cp "$log" "tests/output/molecule/$role-$scenario.log"
    sed 's/^/    /' "$log" | tail -80
  fi
done
echo "molecule: $passed passed, $failed failed"
((failed == 0))
