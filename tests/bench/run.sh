#!/usr/bin/env bash
# make bench: installs what it needs, brings the lab up, runs every benchmark and prints its figures.
# Nothing here is asserted; the figures go into the closing notes. KEEP_LAB=1 leaves the lab running.
# Usage: tests/bench/run.sh [containerize|corpus|traffic|converged ...]   (default: all)
set -uo pipefail
source "$(dirname "$0")/../lab/lib/common.sh"
cd "$REPO_DIR" || exit 1
benches=("$@")
((${#benches[@]})) || benches=(containerize corpus traffic converged)
bash tests/lab/install.sh || die "installing the requirements failed"
was_up=0
bash tests/lab/lab.sh status >/dev/null 2>&1 && was_up=1
bash tests/lab/lab.sh up || die "the lab did not come up"
rc=0
for b in "${benches[@]}"; do
  echo "== $b"
  bash "tests/bench/$b.sh" || rc=1
done
if [[ ${KEEP_LAB:-0} != 1 && $was_up == 0 ]]; then bash tests/lab/lab.sh down; fi
exit $rc
