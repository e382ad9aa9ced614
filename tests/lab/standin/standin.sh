#!/usr/bin/env bash
# LAB STAND-IN for the cluster's entry point of a migrated service: see standin.py.
# Usage: tests/lab/standin/standin.sh up|down SERVICE | fault SERVICE 5xx|refuse|ok | status
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
LAB_KUBECTL=$("$LAB_DIR/k8s/build.sh" | tail -1)/kubectl
export LAB_STATE LAB_NET_NAME LAB_KUBECTL
exec python3 "$LAB_DIR/standin/standin.py" "$@"
