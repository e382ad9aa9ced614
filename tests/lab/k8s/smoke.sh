#!/usr/bin/env bash
# Proves the lab cluster schedules and "runs" workloads: a 2-replica Deployment and a Service in the
# namespace lab-smoke must become Available (2 ready replicas, 2 ready endpoints), then are deleted.
# --keep leaves them in place. Prints the timings on stdout.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need curl jq

NS=lab-smoke TIMEOUT=${SMOKE_TIMEOUT:-120}
keep=false
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
[[ ${1:-} == --keep ]] && keep=true

[[ $(kapi /readyz 2>/dev/null) == ok ]] || die "the apiserver at $K8S_API is not ready: run tests/lab/k8s/up.sh"

log "smoke: applying namespace $NS, Deployment smoke (2 replicas) and Service smoke"
kapply "/api/v1/namespaces/$NS" <<EOF2
apiVersion: v1
kind: Namespace
metadata:
  name: $NS
EOF2
t0=$EPOCHREALTIME
kapply "/apis/apps/v1/namespaces/$NS/deployments/smoke" <<EOF2
apiVersion: apps/v1
kind: Deployment
metadata:
  name: smoke
  namespace: $NS
spec:
  replicas: 2
  selector:
    matchLabels: {app: smoke}
  template:
    metadata:
      labels: {app: smoke}
    spec:
      containers:
      - name: web
        image: $LAB_REGISTRY/lab/smoke:1   # never pulled: kwok fakes the pods
        ports:
        - containerPort: 8080
        resources:
          requests: {cpu: 100m, memory: 64Mi}
EOF2
kapply "/api/v1/namespaces/$NS/services/smoke" <<EOF2
apiVersion: v1
kind: Service
metadata:
  name: smoke
  namespace: $NS
spec:
  selector: {app: smoke}
  ports:
  - {port: 80, targetPort: 8080}
EOF2

available() {
  kapi "/apis/apps/v1/namespaces/$NS/deployments/smoke" | jq -e '
    .status.readyReplicas == 2 and .status.availableReplicas == 2 and .status.updatedReplicas == 2 and
    any(.status.conditions[]?; .type == "Available" and .status == "True")'
}
wait_for "$TIMEOUT" "Deployment $NS/smoke Available" available || {
  kapi "/api/v1/namespaces/$NS/pods" | jq -r '.items[] | "\(.metadata.name) \(.spec.nodeName) \(.status.phase)"' >&2 || true
  die "smoke: Deployment not Available within ${TIMEOUT}s"
}
t_avail=$(since "$t0")
endpoints() {
  kapi "/apis/discovery.k8s.io/v1/namespaces/$NS/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dsmoke" |
    jq -e '[.items[].endpoints[]? | select(.conditions.ready)] | length == 2'
}
wait_for 30 "Service $NS/smoke with 2 ready endpoints" endpoints || die "smoke: Service has no 2 ready endpoints"
kapi "/api/v1/namespaces/$NS/pods?labelSelector=app%3Dsmoke" |
  jq -r '.items[] | "  pod \(.metadata.name) node=\(.spec.nodeName) phase=\(.status.phase) ip=\(.status.podIP)"' >&2
log "smoke: Service smoke clusterIP=$(kapi "/api/v1/namespaces/$NS/services/smoke" | jq -r .spec.clusterIP)"
printf 'deployment_available_seconds=%s\n' "$t_avail"

if ! $keep; then
  t1=$EPOCHREALTIME
  kapi -X DELETE "/api/v1/namespaces/$NS" >/dev/null
  gone() { ! kapi "/api/v1/namespaces/$NS" >/dev/null 2>&1; }
  wait_for "$TIMEOUT" "namespace $NS deleted" gone || die "smoke: namespace $NS not deleted within ${TIMEOUT}s"
  printf 'namespace_deleted_seconds=%s\n' "$(since "$t1")"
fi
log "smoke: OK"
