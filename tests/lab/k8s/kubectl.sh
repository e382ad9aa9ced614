#!/usr/bin/env bash
# kubectl of the lab (built by build.sh) against the lab cluster: tests/lab/k8s/kubectl.sh get nodes
set -euo pipefail
source "$(dirname "$0")/../lib/common.sh"
bin=$("$LAB_DIR/k8s/build.sh")
exec "$bin/kubectl" --kubeconfig="${KUBECONFIG:-$LAB_KUBECONFIG}" "$@"
