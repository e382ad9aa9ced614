#!/usr/bin/env bash
# Builds etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl and kwok from the pinned Go
# modules under tests/lab/k8s/build/, into $LAB_CACHE/bin/<key>/, where <key> is the versions plus a hash
# of the wrapper modules' go.mod/go.sum: a warm start finds them there and builds nothing.
# Prints the bin folder on stdout.
set -euo pipefail
source "$(dirname "$0")/../lib/common.sh"

BUILD_DIR=$LAB_DIR/k8s/build
key_hash=$(cat "$BUILD_DIR"/*/go.mod "$BUILD_DIR"/*/go.sum | sha256sum | cut -c1-12)
BIN_DIR=$LAB_CACHE/bin/k8s-$KUBERNETES_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION-$key_hash
BINARIES=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok)

have_all() { local b; for b in "${BINARIES[@]}"; do [[ -x $BIN_DIR/$b ]] || return 1; done; }

if have_all; then
  echo "$BIN_DIR"
  exit 0
fi

# One build at a time per cache (LAB_CACHE is shared by every checkout): wait for another build.sh,
# which may have built what we need meanwhile.
mkdir -p "$LAB_CACHE/bin"
exec 8>"$LAB_CACHE/bin/.build.lock"
flock 8
if have_all; then
  echo "$BIN_DIR"
  exit 0
fi

rm -rf "$BIN_DIR.tmp"
mkdir -p "$BIN_DIR.tmp"
export CGO_ENABLED=0 GOFLAGS=${GOFLAGS:--buildvcs=false}
# Two cores: let the Go toolchain use both, one package graph at a time.
build() { # build MODULE_DIR OUTPUT PACKAGE LDFLAGS
  local dir=$1 out=$2 pkg=$3 ldflags=$4 t0=$SECONDS
  log "building $out from $pkg (cold: several minutes) ..."
  (cd "$BUILD_DIR/$dir" && go build -trimpath -ldflags "$ldflags" -o "$BIN_DIR.tmp/$out" "$pkg")
  log "built $out in $((SECONDS - t0))s"
}

kv=$KUBERNETES_VERSION
kmaj=${kv#v}; kmaj=${kmaj%%.*}
kmin=${kv#v*.}; kmin=${kmin%%.*}
kldflags="-s -w -X k8s.io/component-base/version.gitVersion=$kv -X k8s.io/component-base/version.gitMajor=$kmaj"
kldflags+=" -X k8s.io/component-base/version.gitMinor=$kmin -X k8s.io/component-base/version.gitTreeState=clean"
kldflags+=" -X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z"
kldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$kv -X k8s.io/client-go/pkg/version.gitMajor=$kmaj"
kldflags+=" -X k8s.io/client-go/pkg/version.gitMinor=$kmin"

t_all=$SECONDS
build etcd etcd go.etcd.io/etcd/server/v3 "-s -w"
build kwok kwok sigs.k8s.io/kwok/cmd/kwok "-s -w"
for c in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
  build kubernetes "$c" "k8s.io/kubernetes/cmd/$c" "$kldflags"
done
rm -rf "$BIN_DIR"
mv "$BIN_DIR.tmp" "$BIN_DIR"
log "control plane built in $((SECONDS - t_all))s into $BIN_DIR"
echo "$BIN_DIR"
