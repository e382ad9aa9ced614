#!/usr/bin/env bash
# Starts the lab's Kubernetes control plane on 127.0.0.1: etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler and kwok (fake nodes kwok-node-0/1, whose pods kwok marks Ready).
# Idempotent: running components are left alone; a stopped lab restarts with its PKI and etcd data;
# if a running component has other arguments or binaries than this script wants (a script or version
# change), the whole control plane is restarted.
# Admin kubeconfig: $LAB_STATE/k8s/admin.kubeconfig. Logs and pid files: $LAB_STATE/logs/<component>.{log,pid}.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need curl jq openssl setsid flock ss

t0=$SECONDS
mkdir -p "$LAB_LOGS"
exec 9>"$LAB_STATE/k8s.lock"
flock -w 120 9 || die "another tests/lab/k8s/up.sh or down.sh holds $LAB_STATE/k8s.lock"

BIN=$("$K8S_DIR/build.sh")
[[ -x $BIN/kube-apiserver ]] || die "build.sh printed '$BIN', which has no kube-apiserver"
"$K8S_DIR/pki.sh"
P=$K8S_PKI

# argv NAME: sets ARGV to the full command line of component NAME.
argv() {
  local kc
  case $1 in
    etcd) # plain http on loopback; data survives restarts
      ARGV=(--name=replatform-lab --data-dir="$K8S_ETCD_DATA"
        --listen-client-urls="http://127.0.0.1:$LAB_ETCD_CLIENT_PORT"
        --advertise-client-urls="http://127.0.0.1:$LAB_ETCD_CLIENT_PORT"
        --listen-peer-urls="http://127.0.0.1:$LAB_ETCD_PEER_PORT"
        --initial-advertise-peer-urls="http://127.0.0.1:$LAB_ETCD_PEER_PORT"
        --initial-cluster="replatform-lab=http://127.0.0.1:$LAB_ETCD_PEER_PORT"
        --initial-cluster-token=replatform-lab --initial-cluster-state=new
        --log-level=warn) ;;
    kube-apiserver)
      # --endpoint-reconciler-type=none: the default reconciler would publish the advertise address
      # (127.0.0.1) as the endpoint of Service default/kubernetes, which is rejected (loopback) every 10 s.
      # shellcheck disable=SC2054 # Node,RBAC is one argument
      ARGV=(--advertise-address=127.0.0.1 --bind-address=127.0.0.1 --secure-port="$LAB_K8S_API_PORT"
        --etcd-servers="http://127.0.0.1:$LAB_ETCD_CLIENT_PORT"
        --tls-cert-file="$P/apiserver.crt" --tls-private-key-file="$P/apiserver.key"
        --client-ca-file="$P/ca.crt"
        --service-cluster-ip-range="$K8S_SERVICE_CIDR"
        --service-account-issuer="$K8S_SA_ISSUER"
        --service-account-key-file="$P/sa.pub" --service-account-signing-key-file="$P/sa.key"
        --authorization-mode=Node,RBAC
        --requestheader-client-ca-file="$P/front-proxy-ca.crt" --requestheader-allowed-names=front-proxy-client
        --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group
        --requestheader-extra-headers-prefix=X-Remote-Extra-
        --proxy-client-cert-file="$P/front-proxy-client.crt" --proxy-client-key-file="$P/front-proxy-client.key"
        --endpoint-reconciler-type=none
        --kubelet-client-certificate="$P/apiserver-kubelet-client.crt" --kubelet-client-key="$P/apiserver-kubelet-client.key"
        --kubelet-certificate-authority="$P/ca.crt"
        --kubelet-preferred-address-types=InternalIP,Hostname,InternalDNS,ExternalDNS,ExternalIP
        --allow-privileged=true --profiling=false) ;;
    kube-controller-manager) # secure port only; /healthz is readable anonymously
      kc=$K8S_STATE/kube-controller-manager.kubeconfig
      ARGV=(--kubeconfig="$kc" --authentication-kubeconfig="$kc" --authorization-kubeconfig="$kc"
        --bind-address=127.0.0.1 --secure-port="$LAB_KCM_PORT"
        --tls-cert-file="$P/kube-controller-manager-serving.crt"
        --tls-private-key-file="$P/kube-controller-manager-serving.key"
        --client-ca-file="$P/ca.crt"
        --use-service-account-credentials=true
        --service-account-private-key-file="$P/sa.key" --root-ca-file="$P/ca.crt"
        --cluster-signing-cert-file="$P/ca.crt" --cluster-signing-key-file="$P/ca.key"
        --cluster-name=replatform-lab --leader-elect=false --controllers='*' --profiling=false) ;;
    kube-scheduler)
      kc=$K8S_STATE/kube-scheduler.kubeconfig
      ARGV=(--kubeconfig="$kc" --authentication-kubeconfig="$kc" --authorization-kubeconfig="$kc"
        --bind-address=127.0.0.1 --secure-port="$LAB_SCHEDULER_PORT"
        --tls-cert-file="$P/kube-scheduler-serving.crt" --tls-private-key-file="$P/kube-scheduler-serving.key"
        --client-ca-file="$P/ca.crt"
        --leader-elect=false --profiling=false) ;;
    kwok) # manages only the nodes annotated kwok.x-k8s.io/node=fake, with the stages in ./kwok
      ARGV=(--kubeconfig="$K8S_STATE/kwok.kubeconfig"
        --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake
        --node-lease-duration-seconds=40 --server-address="127.0.0.1:$LAB_KWOK_PORT")
      # The stages are copied to a folder named by their hash: edited stages change the command line,
      # so a running kwok is restarted with them.
      local s stages=(node-initialize node-heartbeat-with-lease pod-ready pod-complete pod-delete) h d
      h=$(cd "$K8S_DIR/kwok" && cat "${stages[@]/%/.yaml}" | sha256sum | cut -c1-12)
      d=$K8S_STATE/kwok-stages-$h
      if [[ ! -d $d ]]; then
        mkdir -p "$d.tmp" && for s in "${stages[@]}"; do cp "$K8S_DIR/kwok/$s.yaml" "$d.tmp/"; done && mv "$d.tmp" "$d"
      fi
      for s in "${stages[@]}"; do ARGV+=(--config="$d/$s.yaml"); done ;;
    *) die "unknown component $1" ;;
  esac
  ARGV=("$BIN/$1" "${ARGV[@]}")
}
declare -A PORT=([etcd]=$LAB_ETCD_CLIENT_PORT [kube-apiserver]=$LAB_K8S_API_PORT
  [kube-controller-manager]=$LAB_KCM_PORT [kube-scheduler]=$LAB_SCHEDULER_PORT [kwok]=$LAB_KWOK_PORT)

port_in_use() { [[ -n $(ss -Hltn "sport = :$1") ]]; }

# A kwok that starts while the node Leases still name its predecessor as holder waits for them to
# expire (40 s) before it manages the nodes (and their pods). Nothing else holds them: delete them.
release_node_leases() {
  local n
  for n in "${K8S_NODES[@]}"; do
    kapi -X DELETE "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${n%%:*}" >/dev/null 2>&1 || true
  done
}

# start NAME: start NAME in its own session unless it is running.
start() {
  local name=$1 logf=$LAB_LOGS/$1.log
  if running "$name"; then
    log "$name already running (pid $(cat "$(pidfile "$name")"))"
    return 0
  fi
  if port_in_use "${PORT[$name]}"; then
    die "$name is not running from $(pidfile "$name") but 127.0.0.1:${PORT[$name]} is taken: $(ss -Hltnp "sport = :${PORT[$name]}")"
  fi
  [[ $name != kwok ]] || release_node_leases
  argv "$name"
  log "starting $name (log: $logf)"
  printf '\n===== %s starting %s\n' "$(date -u +%FT%TZ)" "${ARGV[*]}" >>"$logf"
  # 9>&-: the daemon must not inherit (and hold forever) this script's flock.
  setsid "${ARGV[@]}" >>"$logf" 2>&1 </dev/null 9>&- &
  echo $! >"$(pidfile "$name")"
}

# healthy NAME SECONDS COMMAND...: wait for COMMAND, failing at once (with the log's tail) if NAME dies.
healthy() {
  local name=$1 timeout=$2; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ! running "$name"; then
      tail -n 25 "$LAB_LOGS/$name.log" >&2
      die "$name exited during startup (log: $LAB_LOGS/$name.log)"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 25 "$LAB_LOGS/$name.log" >&2
      die "$name not healthy after ${timeout}s (log: $LAB_LOGS/$name.log)"
    fi
    sleep 0.3
  done
}

etcd_ok() { curl -sf --max-time 3 "http://127.0.0.1:$LAB_ETCD_CLIENT_PORT/health" | jq -e '.health == "true"'; }
https_ok() { curl -sf --max-time 3 --cacert "$P/ca.crt" "https://127.0.0.1:$1/healthz" | grep -qx ok; }

# --- A component running with another command line (new binaries, changed flags): restart them all,
# stopping in reverse order like down.sh (quicker and cleaner than restarting one under live clients).
stale=()
for c in "${K8S_COMPONENTS[@]}"; do
  running "$c" || continue
  argv "$c"
  [[ $(tr '\0' '\n' <"/proc/$(cat "$(pidfile "$c")")/cmdline") == "$(printf '%s\n' "${ARGV[@]}")" ]] || stale+=("$c")
done
if ((${#stale[@]})); then
  log "running with other binaries or arguments: ${stale[*]}: restarting the control plane"
  for ((i = ${#K8S_COMPONENTS[@]} - 1; i >= 0; i--)); do
    c=${K8S_COMPONENTS[i]}
    if running "$c"; then log "stopping $c"; stop_pidfile "$(pidfile "$c")" "$c"; fi
  done
fi

# --- etcd, kube-apiserver
mkdir -p "$K8S_ETCD_DATA" && chmod 700 "$K8S_ETCD_DATA"
start etcd
healthy etcd 60 etcd_ok
start kube-apiserver
healthy kube-apiserver 180 kapi /readyz

# kwok's identity (user kwok-controller): kwok's own ClusterRole, bound to that user.
kapply /apis/rbac.authorization.k8s.io/v1/clusterroles/kwok-controller <"$K8S_DIR/kwok/clusterrole.yaml"
kapply /apis/rbac.authorization.k8s.io/v1/clusterrolebindings/kwok-controller <<'EOF'
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: kwok-controller
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: kwok-controller
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: User
  name: kwok-controller
EOF

# The API server's kubelet client (exec, logs, port-forward on a real node: tests/lab/node).
kapply /apis/rbac.authorization.k8s.io/v1/clusterrolebindings/kube-apiserver-kubelet-client <<'EOF'
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: kube-apiserver-kubelet-client
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:kubelet-api-admin
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: User
  name: kube-apiserver-kubelet-client
EOF

# --- kube-controller-manager, kube-scheduler, kwok
start kube-controller-manager
start kube-scheduler
start kwok
healthy kube-controller-manager 60 https_ok "$LAB_KCM_PORT"
healthy kube-scheduler 60 https_ok "$LAB_SCHEDULER_PORT"
healthy kwok 60 curl -sf --max-time 3 "http://127.0.0.1:$LAB_KWOK_PORT/healthz"

# --- fake nodes: created with their capacity (status is only taken on create; later applies are no-ops)
for n in "${K8S_NODES[@]}"; do
  IFS=: read -r name ip cidr <<<"$n"
  kapply "/api/v1/nodes/$name" <<EOF
apiVersion: v1
kind: Node
metadata:
  name: $name
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    type: kwok
    kubernetes.io/hostname: $name
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    node-role.kubernetes.io/agent: ""
spec:
  podCIDR: $cidr
  podCIDRs: [$cidr]
status:
  addresses:
  - {type: InternalIP, address: $ip}
  - {type: Hostname, address: $name}
  capacity: {cpu: "$K8S_NODE_CPU", memory: $K8S_NODE_MEMORY, pods: "$K8S_NODE_PODS"}
  allocatable: {cpu: "$K8S_NODE_CPU", memory: $K8S_NODE_MEMORY, pods: "$K8S_NODE_PODS"}
EOF
done

# Ready and schedulable (the not-ready taint that admission puts on new nodes is gone), and managed:
# kwok renewed the node's Lease in the last 40 s.
schedulable_nodes() {
  kapi '/api/v1/nodes?labelSelector=type%3Dkwok' |
    jq '[.items[] | select(any(.status.conditions[]?; .type == "Ready" and .status == "True"))
                  | select(all(.spec.taints[]?; .effect != "NoSchedule" and .effect != "NoExecute"))] | length'
}
managed_nodes() {
  kapi /apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases |
    jq --argjson names "$(printf '%s\n' "${K8S_NODES[@]%%:*}" | jq -R . | jq -s .)" '
      [.items[] | select(.metadata.name as $n | $names | index($n))
                | select(.spec.renewTime != null)
                | select((now - (.spec.renewTime | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601)) < 40)] | length'
}
want=${#K8S_NODES[@]}
nodes_up() { [[ $(schedulable_nodes) == "$want" && $(managed_nodes) == "$want" ]]; }
healthy kwok 120 nodes_up

log "control plane up in $((SECONDS - t0))s: $want kwok nodes Ready; export KUBECONFIG=$LAB_KUBECONFIG"
