#!/usr/bin/env bash
# Builds Traefik from the pinned wrapper module build/traefik/ into $LAB_CACHE/bin/<key>/traefik, where
# <key> is the version plus a hash of go.mod/go.sum: a warm start finds it there and builds nothing.
# Prints the bin folder on stdout. Cold: 6 to 25 minutes on 2 cores, depending on what else builds
# (measured: 22 min 46 s beside other builds; a 170 MB static binary).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need go flock sha256sum

MOD_DIR=$INGRESS_DIR/build/traefik
grep -qE "^[[:space:]]*github\.com/traefik/traefik/v3 $TRAEFIK_VERSION( |$)" "$MOD_DIR/go.mod" ||
  die "build/traefik/go.mod does not require github.com/traefik/traefik/v3 $TRAEFIK_VERSION (lib.sh pins it)"
key_hash=$(cat "$MOD_DIR/go.mod" "$MOD_DIR/go.sum" | sha256sum | cut -c1-12)
BIN_DIR=$LAB_CACHE/bin/traefik-$TRAEFIK_VERSION-$key_hash

if [[ -x $BIN_DIR/traefik ]]; then
  echo "$BIN_DIR"
  exit 0
fi

# One build at a time per cache (shared with tests/lab/k8s/build.sh and every checkout): wait for
# another build, which may have built what we need meanwhile.
mkdir -p "$LAB_CACHE/bin"
exec 8>"$LAB_CACHE/bin/.build.lock"
if ! flock -n 8; then
  log "waiting for another lab build (lock $LAB_CACHE/bin/.build.lock) ..."
  flock 8
fi
if [[ -x $BIN_DIR/traefik ]]; then
  echo "$BIN_DIR"
  exit 0
fi

rm -rf "$BIN_DIR.tmp"
mkdir -p "$BIN_DIR.tmp"
export CGO_ENABLED=0 GOFLAGS=${GOFLAGS:--buildvcs=false}
t0=$SECONDS
log "building traefik $TRAEFIK_VERSION from github.com/traefik/traefik/v3/cmd/traefik (cold: several minutes) ..."
ldflags="-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=$TRAEFIK_VERSION"
ldflags+=" -X github.com/traefik/traefik/v3/pkg/version.BuildDate=1970-01-01T00:00:00Z"
# Progress: a line every 30 s while the compiler runs (the go command itself is silent).
(cd "$MOD_DIR" && go build -trimpath -ldflags "$ldflags" -o "$BIN_DIR.tmp/traefik" \
  github.com/traefik/traefik/v3/cmd/traefik) &
go_pid=$!
while proc_live "$go_pid"; do
  for _ in $(seq 150); do proc_live "$go_pid" || break; sleep 0.2; done
  proc_live "$go_pid" && log "still building traefik ($((SECONDS - t0))s) ..."
done
wait "$go_pid" || die "go build of traefik failed after $((SECONDS - t0))s (see above)"
"$BIN_DIR.tmp/traefik" version >/dev/null || die "the built traefik does not run"
rm -rf "$BIN_DIR"
mv "$BIN_DIR.tmp" "$BIN_DIR"
log "built traefik $TRAEFIK_VERSION in $((SECONDS - t0))s into $BIN_DIR ($(du -h "$BIN_DIR/traefik" | cut -f1))"
echo "$BIN_DIR"
