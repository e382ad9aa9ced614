#!/usr/bin/env bash
# Builds the lab node's small images FROM scratch, each a static Go program of build/<dir>/, and pushes them
# to the lab registry, only when the registry lacks the tag (a hash of the program's folder and the Go
# version): images.sh pause  -> $LAB_REGISTRY/lab/pause:<hash>       (containerd's pinned sandbox image)
#           images.sh smoke  -> $LAB_REGISTRY/lab/node-smoke:<hash>  (smoke.sh's workload)
# Prints the image reference on stdout.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
# shellcheck source=../registry/lib.sh
source "$LAB_DIR/registry/lib.sh"
need curl podman go

case ${1:-} in
  pause) dir=pause repo=lab/pause bin=pause ;;
  smoke) dir=smoke repo=lab/node-smoke bin=node-smoke ;;
  *) die "usage: $0 pause|smoke" ;;
esac
src=$NODE_DIR/build/$dir
# The toolchain's version from its VERSION file (quicker than go env on a busy machine).
goroot=$(dirname "$(dirname "$(readlink -f "$(command -v go)")")")
goversion=$(head -1 "$goroot/VERSION" 2>/dev/null) || goversion=""
[[ $goversion == go* ]] || goversion=$(go env GOVERSION)
tag=$({
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$src" -cf - .
  echo "$goversion CGO_ENABLED=0 -trimpath -ldflags=-s -w"
} | sha256sum | cut -c1-12)
ref=$LAB_REGISTRY/$repo:$tag

if registry_has "$ref"; then
  echo "$ref"
  exit 0
fi

curl -sf -m 5 -o /dev/null "http://$LAB_REGISTRY/v2/" || die "the lab registry $LAB_REGISTRY does not answer (tests/lab/registry/up.sh)"
t0=$SECONDS
ctx=$(mktemp -d "${TMPDIR:-/tmp}/lab-node-image.XXXXXX")
trap 'rm -rf "$ctx"' EXIT
log "$repo: building $ref"
(cd "$src" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -ldflags '-s -w' -o "$ctx/$bin" .)
cp "$src/Containerfile" "$ctx/Containerfile"
# CONTAINERS_CONF (lib/common.sh): runc, ulimits under the hard limit.
podman build -q --pull=never --timestamp 0 -f "$ctx/Containerfile" -t "$ref" "$ctx" >/dev/null
podman push -q --tls-verify=false "$ref"
log "$repo: built and pushed $ref in $((SECONDS - t0))s"
echo "$ref"
