#!/usr/bin/env bash
# One line per component of the lab's Kubernetes control plane; exits 1 if any is down.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need curl jq

P=$K8S_PKI
rc=0
line() { # line NAME ADDRESS up|down DETAIL
  printf '%-24s %-26s %s\n' "$1" "$2" "$3${4:+ ($4)}"
  [[ $3 == up ]] || rc=1
}
pidinfo() { running "$1" && echo "pid $(cat "$(pidfile "$1")")" || echo "not running"; }
get() { curl -sf --max-time 3 "$@" 2>/dev/null; }

# etcd
addr=http://127.0.0.1:$LAB_ETCD_CLIENT_PORT
if [[ $(get "$addr/health" | jq -r .health 2>/dev/null) == true ]]; then
  line etcd "$addr" up "v$(get "$addr/version" | jq -r .etcdserver), healthy, $(pidinfo etcd)"
else
  line etcd "$addr" down "$(pidinfo etcd)"
fi

# kube-apiserver
addr=$K8S_API
if [[ -s $P/admin.crt ]] && [[ $(kapi /readyz 2>/dev/null) == ok ]]; then
  line kube-apiserver "$addr" up "$(kapi /version | jq -r .gitVersion), ready, $(pidinfo kube-apiserver)"
else
  line kube-apiserver "$addr" down "$(pidinfo kube-apiserver)"
fi

# controller-manager and scheduler: anonymous https /healthz, certificate checked against the lab CA
for c in kube-controller-manager:$LAB_KCM_PORT kube-scheduler:$LAB_SCHEDULER_PORT; do
  name=${c%:*} addr=https://127.0.0.1:${c#*:}
  if [[ -s $P/ca.crt ]] && [[ $(get --cacert "$P/ca.crt" "$addr/healthz") == ok ]]; then
    line "$name" "$addr" up "healthz ok, $(pidinfo "$name")"
  else
    line "$name" "$addr" down "$(pidinfo "$name")"
  fi
done

# kwok: its healthz plus the fake nodes it keeps Ready
addr=http://127.0.0.1:$LAB_KWOK_PORT
want=${#K8S_NODES[@]}
ready=$(ready_nodes 2>/dev/null || true)
if running kwok && [[ $(get "$addr/healthz") == ok ]] && [[ $ready == "$want" ]]; then
  line kwok "$addr" up "$(pidinfo kwok), $ready/$want nodes Ready"
else
  line kwok "$addr" down "$(pidinfo kwok), ${ready:-?}/$want nodes Ready"
fi
exit $rc
