#!/usr/bin/env bash
# Generates the lab cluster's PKI with openssl into $LAB_STATE/k8s/pki and writes the kubeconfigs into
# $LAB_STATE/k8s. Idempotent: existing files are kept (a new CA, when ca.crt is missing, re-issues all).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need openssl

DAYS=3650
mkdir -p "$K8S_PKI"
chmod 700 "$K8S_STATE" "$K8S_PKI"
cd "$K8S_PKI"
umask 077

newkey() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null; }

# issue NAME SUBJECT EXTENSIONS [CA]: NAME.key + NAME.crt signed by CA (default: ca), unless they exist.
issue() {
  local name=$1 subj=$2 ext=$3 ca=${4:-ca}
  [[ -s $name.crt && -s $name.key ]] && return 0
  log "pki: issuing $name ($subj)"
  newkey "$name.key"
  openssl req -new -key "$name.key" -subj "$subj" -out "$name.csr"
  openssl x509 -req -in "$name.csr" -CA "$ca.crt" -CAkey "$ca.key" -set_serial "0x$(openssl rand -hex 16)" \
    -days "$DAYS" -sha256 -extfile <(printf '%s\n' "$ext") -out "$name.crt" 2>/dev/null
  rm -f "$name.csr"
}

# newca NAME CN: a self-signed CA, unless it exists.
newca() {
  [[ -s $1.crt && -s $1.key ]] && return 0
  log "pki: creating CA $1 ($2) in $K8S_PKI"
  newkey "$1.key"
  openssl req -x509 -new -key "$1.key" -subj "/CN=$2" -days "$DAYS" -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -addext "subjectKeyIdentifier=hash" -out "$1.crt"
}

# A new cluster CA invalidates everything issued before.
if [[ ! -s ca.crt || ! -s ca.key ]]; then
  rm -f ./*.crt ./*.key ./*.pub "$K8S_STATE"/*.kubeconfig
fi
newca ca replatform-lab-ca
# Aggregation layer: the apiserver proxies to extension apiservers as front-proxy-client, and
# controller-manager/scheduler (delegated authentication) read this CA from the apiserver.
newca front-proxy-ca replatform-lab-front-proxy-ca

base="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
authorityKeyIdentifier=keyid"
client="$base
extendedKeyUsage=clientAuth"
server="$base
extendedKeyUsage=serverAuth"

issue apiserver "/CN=kube-apiserver" "$server
subjectAltName=IP:127.0.0.1,IP:$K8S_SERVICE_FIRST_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.$K8S_CLUSTER_DOMAIN"
issue kube-controller-manager-serving "/CN=kube-controller-manager" "$server
subjectAltName=IP:127.0.0.1,DNS:localhost"
issue kube-scheduler-serving "/CN=kube-scheduler" "$server
subjectAltName=IP:127.0.0.1,DNS:localhost"

# Client identities (CN = user, O = group).
issue admin "/O=system:masters/CN=lab-admin" "$client"
issue kube-controller-manager "/CN=system:kube-controller-manager" "$client"
issue kube-scheduler "/CN=system:kube-scheduler" "$client"
issue kwok "/CN=kwok-controller" "$client" # bound to ClusterRole kwok-controller by up.sh
issue front-proxy-client "/CN=front-proxy-client" "$client" front-proxy-ca
# The API server's identity towards kubelets (exec, logs, port-forward): bound to system:kubelet-api-admin by up.sh.
issue apiserver-kubelet-client "/CN=kube-apiserver-kubelet-client" "$client"

# Service-account token signing key pair (apiserver signs and verifies, controller-manager signs legacy tokens).
if [[ ! -s sa.key || ! -s sa.pub ]]; then
  log "pki: creating the service-account key pair"
  newkey sa.key
  openssl pkey -in sa.key -pubout -out sa.pub
fi
chmod 600 ./*.key
chmod 644 ./*.crt sa.pub

# kubeconfig USER: $K8S_STATE/USER.kubeconfig with embedded certificates.
kubeconfig() {
  local user=$1 out=$K8S_STATE/$1.kubeconfig
  [[ -s $out ]] && return 0
  log "pki: writing $out"
  cat >"$out.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: replatform-lab
  cluster:
    server: $K8S_API
    certificate-authority-data: $(base64 -w0 ca.crt)
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 "$user.crt")
    client-key-data: $(base64 -w0 "$user.key")
contexts:
- name: $user@replatform-lab
  context:
    cluster: replatform-lab
    user: $user
current-context: $user@replatform-lab
preferences: {}
EOF
  mv "$out.tmp" "$out"
}
for u in admin kube-controller-manager kube-scheduler kwok; do kubeconfig "$u"; done
