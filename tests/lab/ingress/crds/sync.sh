#!/usr/bin/env bash
# Re-copies the CRDs in this folder from the Go module proxy (see README.md). Usage: crds/sync.sh
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
need go jq

GATEWAY_API_MOD=sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION
OPENSHIFT_API_MOD=github.com/openshift/api@v0.0.0-20260709102940-580f1c1ba691
dir=$INGRESS_DIR/crds
moddir() { (cd "$INGRESS_DIR/build/traefik" && GOFLAGS=-mod=mod go mod download -json "$1" | jq -er .Dir); }

g=$(moddir "$GATEWAY_API_MOD")/config/crd/experimental
rm -f "$dir"/gateway-api/*.yaml
sed -n 's/^- //p' "$g/kustomization.yaml" | while read -r f; do install -m 644 "$g/$f" "$dir/gateway-api/$f"; done
o=$(moddir "$OPENSHIFT_API_MOD")/route/v1/zz_generated.crd-manifests/routes.crd.yaml
install -m 644 "$o" "$dir/openshift-route/routes.route.openshift.io.yaml"
log "copied $(find "$dir" -name '*.yaml' | wc -l) CRDs from $GATEWAY_API_MOD and $OPENSHIFT_API_MOD"
