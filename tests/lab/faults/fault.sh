#!/usr/bin/env bash
# Faults on the real pods of a migrated service (tests and bench only): see fault.py.
# Usage: tests/lab/faults/fault.sh SERVICE 5xx|down|ok | when-weighted SERVICE MODE DELAY | kill SERVICE | delete-pod SERVICE
#        tests/lab/faults/fault.sh apiserver kill|start   (SIGKILL the lab's kube-apiserver; start it again)
set -euo pipefail
# shellcheck source=../node/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../node/lib.sh"
if [[ ${1:-} == apiserver ]]; then
  case ${2:-} in
    kill)
      f=$(pidfile kube-apiserver)
      running kube-apiserver || die "kube-apiserver is not running (no live process in $f)"
      pid=$(cat "$f")
      kill -9 "$pid"
      for _ in $(seq 50); do proc_live "$pid" || break; sleep 0.1; done
      log "kube-apiserver (pid $pid) killed with SIGKILL"
      exit 0 ;;
    start) exec bash "$LAB_DIR/k8s/up.sh" ;;
    *) die "usage: $0 apiserver kill|start" ;;
  esac
fi
LAB_KUBECTL=$("$LAB_DIR/k8s/build.sh" | tail -1)/kubectl
LAB_CTR=$("$LAB_DIR/node/build.sh" | tail -1)/ctr
export LAB_STATE LAB_KUBECONFIG LAB_KUBECTL LAB_CTR CONTAINERD_SOCK
exec python3 "$LAB_DIR/faults/fault.py" "$@"
