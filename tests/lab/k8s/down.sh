#!/usr/bin/env bash
# Stops the lab's Kubernetes control plane (reverse start order). Keeps PKI, kubeconfigs and etcd data,
# so up.sh restarts the same cluster; --purge also removes $LAB_STATE/k8s (a fresh cluster next time).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

purge=false
case ${1:-} in
  '') ;;
  --purge) purge=true ;;
  *) die "usage: $0 [--purge]" ;;
esac

mkdir -p "$LAB_LOGS"
exec 9>"$LAB_STATE/k8s.lock"
flock -w 120 9 || die "another tests/lab/k8s/up.sh or down.sh holds $LAB_STATE/k8s.lock"

declare -A port=([etcd]=$LAB_ETCD_CLIENT_PORT [kube-apiserver]=$LAB_K8S_API_PORT
  [kube-controller-manager]=$LAB_KCM_PORT [kube-scheduler]=$LAB_SCHEDULER_PORT [kwok]=$LAB_KWOK_PORT)

for ((i = ${#K8S_COMPONENTS[@]} - 1; i >= 0; i--)); do
  c=${K8S_COMPONENTS[i]}
  f=$(pidfile "$c")
  if running "$c"; then
    log "stopping $c (pid $(cat "$f"))"
    stop_pidfile "$f" "$c"
  else
    rm -f "$f"
  fi
  # A listener we have no pid file for (started by hand, or an older state dir): say so, leave it.
  listening() { [[ -n $(ss -Hltn "sport = :${port[$c]}" 2>/dev/null) ]]; }
  for _ in 1 2 3 4 5 6 7 8 9 10; do listening || break; sleep 0.3; done # sockets close just after exit
  if listening; then
    log "WARNING: 127.0.0.1:${port[$c]} ($c) is still in use by a process this lab did not start: $(ss -Hltnp "sport = :${port[$c]}")"
  fi
done

if $purge; then
  log "removing $K8S_STATE (pki, kubeconfigs, etcd data)"
  rm -rf "$K8S_STATE"
fi
log "k8s lab stopped"
