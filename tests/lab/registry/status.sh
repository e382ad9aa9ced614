#!/usr/bin/env bash
# Print `registry  http://127.0.0.1:5000  up|down`; exit 1 when GET /v2/ does not answer 200.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

url=http://$LAB_REGISTRY
code=$(curl -s -o /dev/null -m 3 -w '%{http_code}' "$url/v2/" || true)
if [[ $code == 200 ]]; then
  printf 'registry  %s  up\n' "$url"
else
  printf 'registry  %s  down\n' "$url"
  exit 1
fi
