#!/usr/bin/env bash
# Builds the lab node's binaries from the pinned wrapper modules under tests/lab/node/build/:
#   kubernetes-node/: kubelet, kube-proxy (k8s.io/kubernetes $KUBERNETES_VERSION) and lab-cri (CRI cleanup)
#   containerd/:      containerd, containerd-shim-runc-v2, ctr (github.com/containerd/containerd/v2 $CONTAINERD_VERSION)
# into $LAB_CACHE/bin/<key>/, where <key> is the versions plus a hash of those two modules' files: a warm
# start finds them there and builds nothing. Prints the bin folder on stdout; progress goes to stderr.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

BUILD_DIR=$NODE_DIR/build
MODULES=(kubernetes-node containerd)
key_hash=$(cd "$BUILD_DIR" && find "${MODULES[@]}" -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-12)
BIN_DIR=$LAB_CACHE/bin/node-k8s-$KUBERNETES_VERSION-containerd-$CONTAINERD_VERSION-$key_hash
BINARIES=(kubelet kube-proxy lab-cri containerd containerd-shim-runc-v2 ctr)

have_all() { local b; for b in "${BINARIES[@]}"; do [[ -x $BIN_DIR/$b ]] || return 1; done; }

if have_all; then
  echo "$BIN_DIR"
  exit 0
fi

# The wrapper modules must pin the versions this lab says it runs.
grep -q "k8s.io/kubernetes $KUBERNETES_VERSION\$" "$BUILD_DIR/kubernetes-node/go.mod" ||
  die "build/kubernetes-node/go.mod does not require k8s.io/kubernetes $KUBERNETES_VERSION"
grep -q "github.com/containerd/containerd/v2 $CONTAINERD_VERSION\$" "$BUILD_DIR/containerd/go.mod" ||
  die "build/containerd/go.mod does not require github.com/containerd/containerd/v2 $CONTAINERD_VERSION"

# One build at a time per cache (the same lock as tests/lab/k8s/build.sh: two cores), then look again:
# another build.sh may have built what we need meanwhile.
mkdir -p "$LAB_CACHE/bin"
exec 8>"$LAB_CACHE/bin/.build.lock"
if ! flock -n 8; then
  log "waiting for another build in $LAB_CACHE/bin (lock $LAB_CACHE/bin/.build.lock)"
  flock 8
fi
if have_all; then
  echo "$BIN_DIR"
  exit 0
fi

rm -rf "$BIN_DIR.tmp"
mkdir -p "$BIN_DIR.tmp"
export CGO_ENABLED=0 GOFLAGS=${GOFLAGS:--buildvcs=false}

# build MODULE_DIR OUTPUT PACKAGE LDFLAGS [TAGS]: one binary, with a progress line every minute.
build() {
  local dir=$1 out=$2 pkg=$3 ldflags=$4 tags=${5:-} t0=$SECONDS ticker rc=0
  log "building $out from $pkg ..."
  (while sleep 60; do log "  ... still building $out ($((SECONDS - t0))s)"; done) &
  ticker=$!
  (cd "$BUILD_DIR/$dir" && go build -trimpath ${tags:+-tags "$tags"} -ldflags "$ldflags" -o "$BIN_DIR.tmp/$out" "$pkg") || rc=$?
  kill "$ticker" 2>/dev/null || true
  wait "$ticker" 2>/dev/null || true
  ((rc == 0)) || die "building $out failed (exit $rc)"
  log "built $out in $((SECONDS - t0))s ($(du -m "$BIN_DIR.tmp/$out" | cut -f1) MB)"
}

# Same version stamping as tests/lab/k8s/build.sh.
kv=$KUBERNETES_VERSION
kmaj=${kv#v}; kmaj=${kmaj%%.*}
kmin=${kv#v*.}; kmin=${kmin%%.*}
kldflags="-s -w -X k8s.io/component-base/version.gitVersion=$kv -X k8s.io/component-base/version.gitMajor=$kmaj"
kldflags+=" -X k8s.io/component-base/version.gitMinor=$kmin -X k8s.io/component-base/version.gitTreeState=clean"
kldflags+=" -X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z"
kldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$kv -X k8s.io/client-go/pkg/version.gitMajor=$kmaj"
kldflags+=" -X k8s.io/client-go/pkg/version.gitMinor=$kmin"

cpkg=github.com/containerd/containerd/v2
cldflags="-s -w -X $cpkg/version.Version=$CONTAINERD_VERSION -X $cpkg/version.Revision=replatform-lab -X $cpkg/version.Package=$cpkg"
ctags="no_btrfs no_devmapper no_zfs"

t_all=$SECONDS
log "building the lab node (Kubernetes $KUBERNETES_VERSION, containerd $CONTAINERD_VERSION) into $BIN_DIR"
build kubernetes-node kubelet k8s.io/kubernetes/cmd/kubelet "$kldflags"
build kubernetes-node kube-proxy k8s.io/kubernetes/cmd/kube-proxy "$kldflags"
build kubernetes-node lab-cri ./lab-cri "-s -w"
build containerd containerd "$cpkg/cmd/containerd" "$cldflags" "$ctags"
build containerd containerd-shim-runc-v2 "$cpkg/cmd/containerd-shim-runc-v2" "$cldflags" "$ctags"
build containerd ctr "$cpkg/cmd/ctr" "$cldflags" "$ctags"
rm -rf "$BIN_DIR"
mv "$BIN_DIR.tmp" "$BIN_DIR"
log "node binaries built in $((SECONDS - t_all))s into $BIN_DIR"
echo "$BIN_DIR"
