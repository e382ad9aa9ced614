#!/usr/bin/env bash
# Prints the replace block for build/kubernetes/go.mod: every k8s.io staging module that
# k8s.io/kubernetes@$KUBERNETES_VERSION replaces with ./staging/... mapped to its published v0.X.Y.
# Usage: gen-replaces.sh [VERSION]   (downloads only that version's go.mod through the module proxy)
set -euo pipefail
source "$(dirname "$0")/../lib/common.sh"
v=${1:-$KUBERNETES_VERSION}
staging=v0.${v#v1.}
mod=$(cd "$LAB_DIR/k8s/build/kubernetes" && go mod download -json "k8s.io/kubernetes@$v" | jq -r .GoMod)
echo "replace ("
grep -oE '^\s*k8s\.io/[a-z0-9-]+ => \./staging/src/k8s\.io/[a-z0-9-]+' "$mod" | awk '{print $1}' | sort -u |
  while read -r m; do printf '\t%s => %s %s\n' "$m" "$m" "$staging"; done
echo ")"
