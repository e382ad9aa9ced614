#!/usr/bin/env bash
# End-to-end check of the lab's real node, in its own namespace node-smoke (Pod Security "restricted"),
# deleted at the end (--keep: leave it): a pod of the node-smoke image (images.sh smoke) that tolerates the
# node's taint and selects its label becomes Ready on it; the host gets HTTP 200 from the pod IP and from a
# ClusterIP Service (kube-proxy); kubectl exec and kubectl logs work; the container runs non-root with
# seccomp RuntimeDefault, no capabilities, no_new_privs; a pod breaking "restricted" is refused; the pod
# cannot reach the kubelet's port (the up.sh guard).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need curl jq

keep=false
case ${1:-} in
  '') ;;
  --keep) keep=true ;;
  *) die "usage: $0 [--keep]" ;;
esac
NS="node-smoke"
k() { "$LAB_DIR/k8s/kubectl.sh" "$@"; }
t0=$SECONDS
fails=0
ok() { log "ok: $*"; }
bad() { log "FAIL: $*"; fails=$((fails + 1)); }

bash "$NODE_DIR/status.sh" >/dev/null || die "the node is not up: tests/lab/node/up.sh"
image=$("$NODE_DIR/images.sh" smoke)
BIN=$("$NODE_DIR/build.sh")

k apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Namespace
metadata:
  name: $NS
  labels:
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/enforce-version: latest
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: $NS}
spec:
  selector: {app: node-smoke}
  ports: [{port: 80, targetPort: 8080}]
YAML

pod() { # pod NAME [EXTRA-POD-SPEC-YAML]: the smoke pod's manifest
  cat <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $1, namespace: $NS, labels: {app: node-smoke}}
spec:
  nodeSelector: {$NODE_LABEL_KEY: $NODE_LABEL_VALUE}
  tolerations: [{key: $NODE_TAINT_KEY, operator: Equal, value: "$NODE_TAINT_VALUE", effect: $NODE_TAINT_EFFECT}]
  terminationGracePeriodSeconds: 5${2:-}
  securityContext:
    runAsNonRoot: true
    runAsUser: 65532
    runAsGroup: 65532
    seccompProfile: {type: RuntimeDefault}
  containers:
  - name: web
    image: $image
    ports: [{containerPort: 8080}]
    readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 2}
    resources: {requests: {cpu: 10m, memory: 16Mi}, limits: {memory: 64Mi}}
    securityContext:
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      capabilities: {drop: [ALL]}
YAML
}

# Pod Security admission is live in the namespace: a variant in the host's network namespace is refused.
if out=$(pod bad $'\n  hostNetwork: true' | k apply --dry-run=server -f - 2>&1); then
  bad "a hostNetwork pod was admitted in $NS: $out"
elif grep -q 'violates PodSecurity "restricted' <<<"$out"; then
  ok "Pod Security restricted refuses a hostNetwork pod: ${out##*: }"
else
  bad "hostNetwork pod refused for another reason: $out"
fi

pod web | k apply -f - >/dev/null
t_pod=$SECONDS
log "waiting for pod $NS/web on $NODE_NAME (image $image)"
if k -n "$NS" wait --for=condition=Ready pod/web --timeout=120s >/dev/null; then
  ok "pod Ready $((SECONDS - t_pod))s after it was created"
else
  k -n "$NS" describe pod web | tail -20 >&2
  die "pod $NS/web did not become Ready"
fi
podjson=$(k -n "$NS" get pod web -o json)
node=$(jq -r .spec.nodeName <<<"$podjson")
ip=$(jq -r .status.podIP <<<"$podjson")
phase=$(jq -r .status.phase <<<"$podjson")
if [[ $node == "$NODE_NAME" ]]; then ok "scheduled on $node"; else bad "scheduled on $node, not $NODE_NAME"; fi
if [[ $phase == Running ]]; then ok "phase Running, pod IP $ip"; else bad "phase $phase"; fi

check_http() { # check_http WHAT URL [TRIES]: the smoke server's answer on URL
  local what=$1 url=$2 tries=${3:-1} body="" i
  for ((i = 0; i < tries; i++)); do
    body=$(curl -sS --max-time 3 "$url" 2>&1) && break
    sleep 0.4
  done
  if [[ $body == "node-smoke ok web" ]]; then ok "HTTP from the host to $what: $body"; else bad "HTTP to $what ($url): $body"; fi
}
check_http "the pod IP" "http://$ip:8080/"
cip=$(k -n "$NS" get svc web -o jsonpath='{.spec.clusterIP}')
check_http "ClusterIP $cip:80 (kube-proxy)" "http://$cip/" 25 # kube-proxy syncs a new endpoint within seconds

if out=$(k -n "$NS" exec web -- /node-smoke id 2>&1) && [[ $out == "uid=65532 gid=65532 hostname=web" ]]; then
  ok "kubectl exec: $out"
else
  bad "kubectl exec: $out"
fi
if out=$(k -n "$NS" logs web 2>&1) && grep -q 'node-smoke listening on :8080' <<<"$out" && grep -q 'GET /' <<<"$out"; then
  ok "kubectl logs: $(wc -l <<<"$out") lines, first: '$(head -1 <<<"$out")'"
else
  bad "kubectl logs: $out"
fi

# What the container's process really got (not just what the spec asked for).
cid=$(jq -r '.status.containerStatuses[0].containerID' <<<"$podjson")
cid=${cid#containerd://}
pid=$("$BIN/ctr" --address "$CONTAINERD_SOCK" -n k8s.io tasks ls 2>/dev/null | awk -v id="$cid" '$1 == id {print $2}')
if [[ -n $pid && -r /proc/$pid/status ]]; then
  st=$(awk '/^(Uid|Gid|CapEff|CapBnd|Seccomp|NoNewPrivs):/ {printf "%s%s ", $1, $2}' "/proc/$pid/status")
  if [[ $st == *"Uid:65532"* && $st == *"CapEff:0000000000000000"* && $st == *"Seccomp:2"* && $st == *"NoNewPrivs:1"* ]]; then
    ok "container process $pid: $st"
  else
    bad "container process $pid: $st"
  fi
else
  bad "no process found for container $cid"
fi

# The kubelet's port answers local clients only (up.sh's guard: a TCP reset, "connection refused" for the
# client), though the pod reaches the node IP; the host (the API server's side) gets an answer.
url="https://$(jq -r .status.hostIP <<<"$podjson"):$NODE_KUBELET_PORT/healthz"
if out=$(k -n "$NS" exec web -- /node-smoke get "$url" 2>&1); then
  bad "the pod reached the kubelet at $url: $out"
elif grep -q 'connection refused' <<<"$out" && [[ $(curl -sk --max-time 3 "$url") == ok ]]; then
  ok "the kubelet's port refuses the pod and answers the host ($url)"
else
  bad "pod -> kubelet $url: $out; host: $(curl -sk --max-time 3 "$url" 2>&1)"
fi

if $keep; then
  log "kept namespace $NS"
elif k delete namespace "$NS" --wait=true --timeout=120s >/dev/null; then
  ok "namespace $NS deleted"
else
  bad "deleting namespace $NS"
fi
((fails == 0)) || die "$fails check(s) failed"
log "node smoke test passed in $((SECONDS - t0))s"
