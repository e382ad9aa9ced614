#!/usr/bin/env bash
# Starts the lab's real worker node on this machine: containerd (Debian's runc, CNI bridge from
# /usr/lib/cni), kubelet and kube-proxy, joined to the running control plane of tests/lab/k8s as
# $NODE_NAME, registered with taint $NODE_TAINT_KEY=$NODE_TAINT_VALUE:$NODE_TAINT_EFFECT and label
# $NODE_LABEL_KEY=$NODE_LABEL_VALUE, so that only pods that ask for it run there. See docs/lab-node.md.
# Idempotent: running components are left alone (a re-run is a no-op in well under 2 s); one running
# with another command line (new binaries or a changed config, whose file name carries its hash) is
# restarted. Does not start, stop or change the control plane.
#   LAB_NODE_TAINT=0 tests/lab/node/up.sh   register without the taint (only matters on registration)
#   LAB_NODE_KUBELET_AUTH=auto|webhook|anonymous   the kubelet's API authentication/authorization (below)
# State: $LAB_STATE/node/. Logs and pid files: $LAB_STATE/logs/{containerd,kubelet,kube-proxy}.{log,pid}.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need curl jq openssl setsid flock ss ip iptables nft podman runc findmnt
for p in bridge host-local portmap loopback; do
  [[ -x /usr/lib/cni/$p ]] || die "/usr/lib/cni/$p is missing (apt-get install containernetworking-plugins)"
done

t0=$SECONDS
mkdir -p "$LAB_LOGS" "$NODE_STATE"
exec 9>"$LAB_STATE/node.lock"
flock -w 120 9 || die "another tests/lab/node/up.sh or down.sh holds $LAB_STATE/node.lock"

kapi /readyz >/dev/null 2>&1 || die "the lab's control plane does not answer on $K8S_API: start it first (tests/lab/k8s/up.sh)"
BIN=$("$NODE_DIR/build.sh")
[[ -x $BIN/kubelet ]] || die "build.sh printed '$BIN', which has no kubelet"
SANDBOX_IMAGE=$("$NODE_DIR/images.sh" pause)
NODE_IP=$(node_ip)
[[ -n $NODE_IP ]] || die "no address in $LAB_NET_SUBNET on this machine (the bridge of podman network $LAB_NET_NAME): start the lab's hosts first (tests/lab/hosts/up.sh)"
RUNC=$(command -v runc)

# --- PKI: client and serving certificates signed by the lab CA ($K8S_PKI), in $NODE_PKI.
mkdir -p "$NODE_PKI"
chmod 700 "$NODE_STATE" "$NODE_PKI"
# cert_ok NAME [IP]: NAME.crt/key exist, chain to the current lab CA, are valid for 30 more days, and
# (serving) name IP.
cert_ok() {
  local c=$NODE_PKI/$1.crt
  [[ -s $c && -s $NODE_PKI/$1.key ]] || return 1
  openssl verify -CAfile "$K8S_PKI/ca.crt" "$c" >/dev/null 2>&1 || return 1
  openssl x509 -in "$c" -noout -checkend 2592000 >/dev/null || return 1
  [[ -z ${2:-} ]] || openssl x509 -in "$c" -noout -ext subjectAltName 2>/dev/null | grep -qE "IP Address:$2(,|$)"
}
# issue NAME SUBJECT EXTENSIONS [IP]: (re)issue NAME unless cert_ok.
issue() {
  local name=$1 subj=$2 ext=$3
  cert_ok "$name" "${4:-}" && return 0
  log "pki: issuing $name ($subj)"
  (
    umask 077
    cd "$NODE_PKI"
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$name.key" 2>/dev/null
    openssl req -new -key "$name.key" -subj "$subj" -out "$name.csr"
    openssl x509 -req -in "$name.csr" -CA "$K8S_PKI/ca.crt" -CAkey "$K8S_PKI/ca.key" \
      -set_serial "0x$(openssl rand -hex 16)" -days 3650 -sha256 -extfile <(printf '%s\n' "$ext") \
      -out "$name.crt" 2>/dev/null
    rm -f "$name.csr"
    chmod 644 "$name.crt"
  )
}
# Certificates checked once per change of the CA, the certificates or the node IP (openssl is slow here).
# (On a first start there are no certificates yet: the glob matches nothing and cat fails, which is fine.)
pki_stamp=$( { cat "$K8S_PKI/ca.crt" "$NODE_PKI"/*.crt 2>/dev/null || true; echo "$NODE_IP"; } | sha256sum | cut -c1-16)
if [[ $(cat "$NODE_PKI/.checked" 2>/dev/null) != "$pki_stamp" ]]; then
  base="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
authorityKeyIdentifier=keyid"
  issue kubelet-client "/O=system:nodes/CN=system:node:$NODE_NAME" "$base
extendedKeyUsage=clientAuth"
  issue kubelet-serving "/O=system:nodes/CN=system:node:$NODE_NAME" "$base
extendedKeyUsage=serverAuth
subjectAltName=IP:$NODE_IP,DNS:$NODE_NAME" "$NODE_IP"
  issue kube-proxy "/CN=system:kube-proxy" "$base
extendedKeyUsage=clientAuth" # bound to ClusterRole system:node-proxier by Kubernetes' default policy
  cat "$K8S_PKI/ca.crt" "$NODE_PKI"/*.crt | { cat; echo "$NODE_IP"; } | sha256sum | cut -c1-16 >"$NODE_PKI/.checked"
fi

# put FILE: stdin into FILE unless FILE already holds exactly that (keeps mtimes of unchanged files).
put() {
  local f=$1 tmp
  tmp=$(mktemp "$f.XXXXXX")
  cat >"$tmp"
  if cmp -s "$tmp" "$f"; then rm -f "$tmp"; else mv "$tmp" "$f"; fi
}
# hashed DIR PREFIX EXT: stdin into DIR/PREFIX-<hash>.EXT (a config change changes the command line);
# prints the path and removes older versions.
hashed() {
  local dir=$1 prefix=$2 ext=$3 tmp h f old
  mkdir -p "$dir"
  tmp=$(mktemp "$dir/.tmp.XXXXXX")
  cat >"$tmp"
  h=$(sha256sum "$tmp" | cut -c1-12)
  f=$dir/$prefix-$h.$ext
  if [[ -s $f ]]; then rm -f "$tmp"; else mv "$tmp" "$f"; fi
  for old in "$dir/$prefix"-*."$ext"; do [[ $old == "$f" ]] || rm -f "$old"; done
  echo "$f"
}
kubeconfig() { # kubeconfig USER CERT: kubeconfig with embedded certificates on stdout
  cat <<EOF
apiVersion: v1
kind: Config
clusters:
- name: replatform-lab
  cluster:
    server: $K8S_API
    certificate-authority-data: $(base64 -w0 "$K8S_PKI/ca.crt")
users:
- name: $1
  user:
    client-certificate-data: $(base64 -w0 "$NODE_PKI/$2.crt")
    client-key-data: $(base64 -w0 "$NODE_PKI/$2.key")
contexts:
- name: $1@replatform-lab
  context: {cluster: replatform-lab, user: $1}
current-context: $1@replatform-lab
EOF
}
(umask 077 && kubeconfig "system:node:$NODE_NAME" kubelet-client | put "$NODE_STATE/kubelet.kubeconfig")
(umask 077 && kubeconfig system:kube-proxy kube-proxy | put "$NODE_STATE/kube-proxy.kubeconfig")

# --- Host settings that the components need, each undone by down.sh.
# Before anything of the node first runs: the kernel settings the kubelet and kube-proxy may change.
# And the nftables tables there are: iptables-nft creates the ones kube-proxy and the kubelet use (ip
# mangle, ip6 filter/nat/mangle here); down.sh removes those it finds empty.
if [[ ! -s $NODE_STATE/sysctl.orig ]] && ! running kubelet && ! running kube-proxy; then
  for k in "${NODE_SYSCTLS[@]}"; do
    v=$(sysctl -n "$k" 2>/dev/null) && printf '%s=%s\n' "$k" "$v"
  done >"$NODE_STATE/sysctl.orig"
  nft list tables >"$NODE_STATE/nft-tables.orig"
fi
# Fixed paths outside $NODE_STATE that containerd and the kubelet create: remember which existed, so
# down.sh removes only what the node made.
for d in "${NODE_FIXED_DIRS[@]}"; do
  m=$NODE_STATE/created-${d//\//_}
  [[ -e $d || -e $m ]] || : >"$m"
done
# The API server reaches the kubelet at the node's first preferred address, Hostname (= node name) by
# default: make that name resolve to the node IP, for it (a Go resolver: /etc/hosts first), unless it is
# told to prefer InternalIP. Rewritten in place: /etc/hosts may be a bind mount.
apiserver_args=$(tr '\0' '\n' <"/proc/$(cat "$(pidfile kube-apiserver)")/cmdline" 2>/dev/null || true)
want_hosts="$NODE_IP $NODE_NAME $HOSTS_MARK"
grep -q '^--kubelet-preferred-address-types=InternalIP' <<<"$apiserver_args" && want_hosts=""
if [[ $(grep -F "$HOSTS_MARK" /etc/hosts || true) != "$want_hosts" ]]; then
  if [[ -n $want_hosts ]]; then log "/etc/hosts: $NODE_NAME -> $NODE_IP"; else log "/etc/hosts: removing $NODE_NAME (the API server prefers InternalIP)"; fi
  hosts=$(grep -vF "$HOSTS_MARK" /etc/hosts || true)
  printf '%s\n' "$hosts" ${want_hosts:+"$want_hosts"} >/etc/hosts
fi
# The kubelet's API (exec, logs, port-forward) answers only local clients (the API server): pods and the
# lab's containers get a TCP reset. Own chain, removed by down.sh.
want_guard=$(printf '%s\n' "-N $NODE_GUARD_CHAIN" "-A $NODE_GUARD_CHAIN -i lo -j RETURN" \
  "-A $NODE_GUARD_CHAIN -p tcp -j REJECT --reject-with tcp-reset")
if [[ $(iptables -w -S "$NODE_GUARD_CHAIN" 2>/dev/null) != "$want_guard" ]]; then
  iptables -w -N "$NODE_GUARD_CHAIN" 2>/dev/null || true
  iptables -w -F "$NODE_GUARD_CHAIN"
  iptables -w -A "$NODE_GUARD_CHAIN" -i lo -j RETURN
  iptables -w -A "$NODE_GUARD_CHAIN" -p tcp -j REJECT --reject-with tcp-reset
fi
guard_jump=(INPUT -d "$NODE_IP/32" -p tcp --dport "$NODE_KUBELET_PORT" -j "$NODE_GUARD_CHAIN")
iptables -w -C "${guard_jump[@]}" 2>/dev/null || iptables -w -I "${guard_jump[@]}"

# --- containerd: config, registry access (plain HTTP lab registry), CNI network.
mkdir -p "$NODE_RUN" "$NODE_STATE/containerd" "$NODE_STATE/tmp" "$NODE_STATE/cni/net.d" "$NODE_STATE/cni/ipam" \
  "$NODE_STATE/certs.d/$LAB_REGISTRY"
put "$NODE_STATE/certs.d/$LAB_REGISTRY/hosts.toml" <<EOF
server = "http://$LAB_REGISTRY"

[host."http://$LAB_REGISTRY"]
  capabilities = ["pull", "resolve"]
EOF
# No default route and no masquerade: pods reach each other, the host (the bridge's $NODE_POD_GATEWAY,
# and $NODE_IP) and nothing else.
put "$NODE_STATE/cni/net.d/10-$NODE_CNI_NETWORK.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$NODE_CNI_NETWORK",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$NODE_BRIDGE",
      "isGateway": true,
      "isDefaultGateway": false,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$NODE_STATE/cni/ipam",
        "ranges": [[{"subnet": "$NODE_POD_CIDR", "gateway": "$NODE_POD_GATEWAY"}]],
        "routes": [{"dst": "$NODE_IP/32"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
containerd_config=$(hashed "$NODE_STATE/etc" containerd toml <<EOF
# Written by tests/lab/node/up.sh. Everything under $NODE_STATE, nothing in /etc, /var or /opt
# (containerd's shims still put their sockets in /run/containerd/s: fixed in containerd).
version = 3
root = '$NODE_STATE/containerd'
state = '$NODE_RUN'
temp = '$NODE_STATE/tmp'
imports = []
oom_score = 0
disabled_plugins = ['io.containerd.nri.v1.nri']

[grpc]
  address = '$CONTAINERD_SOCK'

[plugins.'io.containerd.internal.v1.opt']
  path = '$NODE_STATE/opt'

[plugins.'io.containerd.image-verifier.v1.bindir']
  bin_dir = '$NODE_STATE/opt/image-verifier/bin'

[plugins.'io.containerd.transfer.v1.local']
  config_path = '$NODE_STATE/certs.d'

[plugins.'io.containerd.cri.v1.images']
  snapshotter = 'overlayfs'

  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = '$SANDBOX_IMAGE'

  [plugins.'io.containerd.cri.v1.images'.registry]
    config_path = '$NODE_STATE/certs.d'

[plugins.'io.containerd.cri.v1.runtime']
  # A process here may not lower its oom_score_adj: without this, runc fails every sandbox
  # ("can't get final child's PID from pipe: EOF").
  restrict_oom_score_adj = true
  disable_apparmor = true
  netns_mounts_under_state_dir = true
  enable_cdi = false
  cdi_spec_dirs = []

  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = 'runc'

    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = 'io.containerd.runc.v2'

      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        BinaryName = '$RUNC'
        Root = '$NODE_RUN/runc'
        SystemdCgroup = false

  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ['/usr/lib/cni']
    conf_dir = '$NODE_STATE/cni/net.d'
    max_conf_num = 1

[plugins.'io.containerd.grpc.v1.cri']
  stream_server_address = '127.0.0.1'
  stream_server_port = '0'
EOF
)

# --- kubelet: anonymous requests are allowed (AlwaysAllow) unless the API server presents a client
# certificate to kubelets (--kubelet-client-certificate, not set by tests/lab/k8s/up.sh yet): without it,
# exec and logs would be refused. The port guard above keeps everything but this machine out.
# LAB_NODE_KUBELET_AUTH=webhook|anonymous forces one or the other (default auto).
auth=${LAB_NODE_KUBELET_AUTH:-auto}
if [[ $auth == auto ]]; then
  auth=anonymous
  grep -q '^--kubelet-client-certificate=' <<<"$apiserver_args" && auth=webhook
fi
case $auth in
  webhook) kubelet_anonymous=false kubelet_authz=Webhook ;;
  anonymous) kubelet_anonymous=true kubelet_authz=AlwaysAllow ;;
  *) die "LAB_NODE_KUBELET_AUTH=$auth: want auto, webhook or anonymous" ;;
esac
taints=""
if [[ ${LAB_NODE_TAINT:-1} != 0 ]]; then
  taints="registerWithTaints:
- {key: $NODE_TAINT_KEY, value: \"$NODE_TAINT_VALUE\", effect: $NODE_TAINT_EFFECT}"
fi
oom=$(cat /proc/self/oom_score_adj) # keep the caller's: lowering it is not permitted here
# The certificates' hash in the configs: new certificates (a new lab CA) restart the kubelet and kube-proxy.
pki_stamp=$(cat "$NODE_PKI/.checked")
kubelet_config=$(hashed "$NODE_STATE/etc" kubelet yaml <<EOF
# Written by tests/lab/node/up.sh (certificates $pki_stamp).
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# This machine has cgroups v1 (hybrid): the kubelet refuses it unless told otherwise.
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: $CRI_ENDPOINT
imageServiceEndpoint: $CRI_ENDPOINT
address: $NODE_IP
port: $NODE_KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $NODE_KUBELET_HEALTHZ_PORT
tlsCertFile: $NODE_PKI/kubelet-serving.crt
tlsPrivateKeyFile: $NODE_PKI/kubelet-serving.key
rotateCertificates: false
serverTLSBootstrap: false
authentication:
  anonymous: {enabled: $kubelet_anonymous}
  webhook: {enabled: true}
  x509: {clientCAFile: $K8S_PKI/ca.crt}
authorization:
  mode: $kubelet_authz
clusterDomain: $K8S_CLUSTER_DOMAIN
resolvConf: /etc/resolv.conf
podLogsDir: $NODE_STATE/pod-logs
oomScoreAdj: $oom
maxPods: 110
registerNode: true
$taints
evictionHard:
  memory.available: 100Mi
  nodefs.available: 5%
  nodefs.inodesFree: 5%
  imagefs.available: 5%
EOF
)
kube_proxy_config=$(hashed "$NODE_STATE/etc" kube-proxy yaml <<EOF
# Written by tests/lab/node/up.sh (certificates $pki_stamp).
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: $NODE_STATE/kube-proxy.kubeconfig
hostnameOverride: $NODE_NAME
bindAddress: $NODE_IP
mode: iptables
clusterCIDR: $NODE_POD_CIDR
detectLocalMode: ClusterCIDR
# NodePorts only on the node IP; no route_localnet sysctl for NodePorts on 127.0.0.1.
nodePortAddresses: ["$NODE_IP/32"]
iptables:
  localhostNodePorts: false
  masqueradeAll: false
healthzBindAddress: 127.0.0.1:$NODE_PROXY_HEALTHZ_PORT
metricsBindAddress: 127.0.0.1:$NODE_PROXY_METRICS_PORT
oomScoreAdj: $oom
# 0: leave the machine's conntrack settings as they are.
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
EOF
)

# argv NAME: sets ARGV to the full command line of component NAME.
argv() {
  case $1 in
    containerd) ARGV=("$BIN/containerd" --config "$containerd_config") ;;
    kubelet)
      ARGV=("$BIN/kubelet" --config="$kubelet_config" --kubeconfig="$NODE_STATE/kubelet.kubeconfig"
        --root-dir="$NODE_STATE/kubelet" --hostname-override="$NODE_NAME" --node-ip="$NODE_IP"
        --node-labels="$NODE_LABEL_KEY=$NODE_LABEL_VALUE") ;;
    kube-proxy) ARGV=("$BIN/kube-proxy" --config="$kube_proxy_config") ;;
    *) die "unknown component $1" ;;
  esac
}
declare -A PORT=([containerd]="" [kubelet]=$NODE_KUBELET_HEALTHZ_PORT [kube-proxy]=$NODE_PROXY_HEALTHZ_PORT)

same_argv() { # same_argv NAME: the running NAME has exactly ARGV
  argv "$1"
  [[ $(tr '\0' '\n' <"/proc/$(cat "$(pidfile "$1")")/cmdline") == "$(printf '%s\n' "${ARGV[@]}")" ]]
}

# start NAME: start NAME in its own session unless it is running with the wanted command line.
start() {
  local name=$1 logf=$LAB_LOGS/$1.log port
  if running "$name"; then
    if same_argv "$name"; then
      log "$name already running (pid $(cat "$(pidfile "$name")"))"
      return 0
    fi
    log "$name runs with other binaries or arguments: restarting it"
    stop_pidfile "$(pidfile "$name")" "$name"
  fi
  port=${PORT[$name]}
  # A process just stopped may hold its listening socket for a moment longer.
  local _i
  for _i in $(seq 50); do
    [[ -n $port && -n $(ss -Hltn "sport = :$port") ]] || break
    sleep 0.2
  done
  if [[ -n $port && -n $(ss -Hltn "sport = :$port") ]]; then
    die "$name is not running from $(pidfile "$name") but port $port is taken: $(ss -Hltnp "sport = :$port")"
  fi
  argv "$name"
  log "starting $name (log: $logf)"
  printf '\n===== %s starting %s\n' "$(date -u +%FT%TZ)" "${ARGV[*]}" >>"$logf"
  # containerd finds containerd-shim-runc-v2 on PATH. 9>&-: the daemon must not hold this script's flock.
  setsid env PATH="$BIN:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" "${ARGV[@]}" \
    >>"$logf" 2>&1 </dev/null 9>&- &
  echo $! >"$(pidfile "$name")"
  STARTED+=("$name")
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
cri_ok() { "$BIN/lab-cri" -endpoint "$CRI_ENDPOINT" -timeout 3s ps; }
healthz_ok() { [[ $(curl -sf --max-time 3 "http://127.0.0.1:$1/healthz") == ok ]]; }
proxy_ok() { curl -sf --max-time 3 -o /dev/null "http://127.0.0.1:$NODE_PROXY_HEALTHZ_PORT/healthz"; }

STARTED=()
start containerd
healthy containerd 60 cri_ok

registered_before=true
running kubelet || [[ -n $(node_json) ]] || registered_before=false
start kubelet
healthy kubelet 60 healthz_ok "$NODE_KUBELET_HEALTHZ_PORT"
healthy kubelet 120 node_ready
if ! $registered_before && [[ " ${STARTED[*]} " == *" kubelet "* ]]; then
  log "$NODE_NAME registered and Ready $((SECONDS - t0))s after up.sh started"
fi
# The pod CIDR the CNI network hands out (no controller-manager --allocate-node-cidrs in this lab): set
# once, for kubectl's and kube-proxy's view; the API server allows setting it only while it is empty.
if [[ " ${STARTED[*]} " == *" kubelet "* && $(node_json | jq -r '.spec.podCIDR // empty') == "" ]]; then
  kapi -X PATCH -H 'Content-Type: application/merge-patch+json' \
    --data "{\"spec\":{\"podCIDR\":\"$NODE_POD_CIDR\",\"podCIDRs\":[\"$NODE_POD_CIDR\"]}}" \
    "/api/v1/nodes/$NODE_NAME" >/dev/null
fi

start kube-proxy
healthy kube-proxy 60 proxy_ok
# The kubelet sets kernel.panic=10, kernel.panic_on_oops=1 and vm.overcommit_memory=1 when it starts: on
# this shared machine an oops must not become a reboot. It does not set them again while it runs.
restore_sysctls

node_ready || true # NODE_JSON: the Node as it is now
jq -r --arg k "$NODE_TAINT_KEY" --arg t0 "$t0" --arg now "$SECONDS" --arg authz "$kubelet_authz" '
  "node \(.metadata.name) Ready (" + ([.status.addresses[] | "\(.type)=\(.address)"] | join(" "))
  + "; taint: " + ([.spec.taints[]? | select(.key == $k) | "\(.key)=\(.value):\(.effect)"] | join(",") | if . == "" then "none" else . end)
  + "; kubelet auth: \($authz)) in \(($now | tonumber) - ($t0 | tonumber))s"' <<<"$NODE_JSON" | while read -r line; do log "$line"; done
