#!/usr/bin/env bash
# Issues Traefik's client certificate (CN=replatform-lab-traefik, clientAuth) from the lab cluster CA
# ($LAB_STATE/k8s/pki/ca.{crt,key}, made by tests/lab/k8s/pki.sh) and writes $LAB_STATE/ingress/
# traefik.kubeconfig with it embedded. Idempotent: kept while it still verifies against the current CA.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need openssl base64

[[ -s $K8S_PKI/ca.crt && -s $K8S_PKI/ca.key ]] || die "no lab CA in $K8S_PKI (run tests/lab/k8s/up.sh first)"
mkdir -p "$INGRESS_STATE"
chmod 700 "$INGRESS_STATE"
cd "$INGRESS_STATE"
umask 077

crt=traefik-client.crt key=traefik-client.key
if [[ -s $crt && -s $key ]] && openssl verify -CAfile "$K8S_PKI/ca.crt" "$crt" >/dev/null 2>&1; then
  [[ -s $INGRESS_KUBECONFIG ]] && exit 0
else
  log "pki: issuing $crt (/CN=$INGRESS_USER) from $K8S_PKI/ca.crt"
  rm -f "$INGRESS_KUBECONFIG"
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$key" 2>/dev/null
  openssl req -new -key "$key" -subj "/CN=$INGRESS_USER" -out traefik-client.csr
  openssl x509 -req -in traefik-client.csr -CA "$K8S_PKI/ca.crt" -CAkey "$K8S_PKI/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days 3650 -sha256 -out "$crt" 2>/dev/null -extfile <(printf '%s\n' \
    "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
    "authorityKeyIdentifier=keyid" "extendedKeyUsage=clientAuth")
  rm -f traefik-client.csr
fi

log "pki: writing $INGRESS_KUBECONFIG"
cat >"$INGRESS_KUBECONFIG.tmp" <<KC
apiVersion: v1
kind: Config
clusters:
- name: replatform-lab
  cluster:
    server: $K8S_API
    certificate-authority-data: $(base64 -w0 "$K8S_PKI/ca.crt")
users:
- name: $INGRESS_USER
  user:
    client-certificate-data: $(base64 -w0 "$crt")
    client-key-data: $(base64 -w0 "$key")
contexts:
- name: $INGRESS_USER@replatform-lab
  context:
    cluster: replatform-lab
    user: $INGRESS_USER
current-context: $INGRESS_USER@replatform-lab
preferences: {}
KC
mv "$INGRESS_KUBECONFIG.tmp" "$INGRESS_KUBECONFIG"
