#!/usr/bin/env bash
# Faults on the real pods of a migrated service (tests and bench only): see fault.py.
# Usage: tests/lab/faults/fault.sh SERVICE 5xx|down|ok | when-weighted SERVICE MODE DELAY | kill SERVICE | delete-pod SERVICE
set -euo pipefail
# shellcheck source=../node/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../node/lib.sh"
LAB_KUBECTL=$("$LAB_DIR/k8s/build.sh" | tail -1)/kubectl
LAB_CTR=$("$LAB_DIR/node/build.sh" | tail -1)/ctr
export LAB_STATE LAB_KUBECONFIG LAB_KUBECTL LAB_CTR CONTAINERD_SOCK
exec python3 "$LAB_DIR/faults/fault.py" "$@"
