#!/usr/bin/env bash
# Remove the legacy-host containers. Images, the SSH key pair and the podman network are kept (so the
# next up.sh is fast); --purge also removes the network. The registry is left alone
# (tests/lab/registry/down.sh stops it).
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=./lib.sh
source "$LAB_DIR/hosts/lib.sh"

names=()
for h in "${LAB_HOSTS[@]}"; do
  name=$(host_name "$h")
  podman container exists "$name" && names+=("$name")
done
if ((${#names[@]})); then
  log "removing ${names[*]}"
  podman rm -f -t 10 "${names[@]}" >/dev/null
else
  log "no legacy host containers"
fi
# Host keys are regenerated on the next start: drop the pinned ones.
rm -f "$LAB_SSH_KNOWN_HOSTS"
if [[ ${1:-} == --purge ]] && podman network exists "$LAB_NET_NAME"; then
  log "removing network $LAB_NET_NAME"
  podman network rm "$LAB_NET_NAME" >/dev/null
fi
log "legacy hosts down"
