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
