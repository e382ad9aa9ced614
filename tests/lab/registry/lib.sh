# shellcheck shell=bash
# Helpers about the lab registry, sourced after lib/common.sh.

# registry_has IMAGE: the lab registry ($LAB_REGISTRY) holds IMAGE's tag (manifest HEAD answers 200).
registry_has() {
  local ref=${1#"$LAB_REGISTRY"/} repo tag
  repo=${ref%:*} tag=${ref##*:}
  [[ $(curl -s -o /dev/null -m 5 -w '%{http_code}' -I \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$LAB_REGISTRY/v2/$repo/manifests/$tag") == 200 ]]
}

# close_inherited_fds: close every descriptor above 2 of the current (sub)shell. Call it in a
# subshell right before starting something long-lived (docker-registry; podman start, whose conmon
# and aardvark-dns stay behind), so that it does not hold a caller's pipe open: a caller reading our
# output through a pipe would otherwise wait for EOF forever.
close_inherited_fds() {
  local fd
  for fd in /proc/"$BASHPID"/fd/*; do
    fd=${fd##*/}
    if ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null || true; fi
  done
}
