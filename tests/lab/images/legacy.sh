#!/usr/bin/env bash
# Build the legacy-host images FROM $LAB_BASE_IMAGE, only when their build context changed:
#   legacy-common  (systemd, sshd, python3, ...)           images/legacy-common/
#   legacy-web     (nginx + esp-api + esp-tracker)           images/legacy-web/
#   legacy-mail    (postfix)                                 images/legacy-mail/
#   legacy-corpus  (8 ordinary services, tests/corpus/)      images/legacy-corpus/
# Each is tagged $LAB_REGISTRY/lab/legacy-<name>:<hash>, the hash covering its context (files and
# modes), its build args and its parent (base rootfs layer, or the common image's tag), and pushed to
# the lab registry. Present locally: nothing to do; only in the registry: pulled; else built + pushed.
# Prints "ROLE IMAGE" lines (common, web, mail, corpus) on stdout and writes them to $LAB_STATE/images/legacy.env.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=../registry/lib.sh
source "$LAB_DIR/registry/lib.sh"
# shellcheck source=../hosts/lib.sh
source "$LAB_DIR/hosts/lib.sh"

IMAGES_DIR=$LAB_DIR/images
mkdir -p "$LAB_STATE/logs" "$(dirname "$LAB_IMAGES_ENV")"

"$IMAGES_DIR/base.sh"

# context_hash DIR EXTRA...: 12 hex digits over DIR's files (content, names, modes; no Python
# caches, which .containerignore keeps out of the build too) and EXTRA strings.
context_hash() {
  local dir=$1; shift
  {
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
      --exclude=__pycache__ --exclude='*.pyc' -C "$dir" -cf - .
    printf '%s\n' "$@"
  } | sha256sum | cut -c1-12
}

# ensure_image NAME REF BUILD-ARG...: make REF exist locally and in the registry.
ensure_image() {
  local name=$1 ref=$2; shift 2
  local repo=${ref%:*} args=() a old
  if podman image exists "$ref"; then
    log "$name: $ref up to date"
    registry_has "$ref" || { log "$name: pushing $ref"; podman push -q --tls-verify=false "$ref"; }
  elif registry_has "$ref"; then
    log "$name: pulling $ref from the lab registry"
    podman pull -q --tls-verify=false "$ref" >/dev/null
  else
    for a in "$@"; do args+=(--build-arg "$a"); done
    local blog=$LAB_STATE/logs/build-$name.log started=$SECONDS
    log "$name: building $ref (log $blog)"
    if ! podman build --tls-verify=false --pull=missing --layers "${args[@]}" \
      -f "$IMAGES_DIR/$name/Containerfile" -t "$ref" "$IMAGES_DIR/$name" >"$blog" 2>&1; then
      tail -n 30 "$blog" >&2
      die "$name: build failed (full log: $blog)"
    fi
    log "$name: built in $((SECONDS - started))s, pushing"
    podman push -q --tls-verify=false "$ref"
  fi
  podman tag "$ref" "$repo:latest"
  # Drop older hash tags of this repository that no container uses any more.
  for old in $(podman images --format '{{.Repository}}:{{.Tag}}' --filter "reference=$repo" | sort -u); do
    [[ $old == "$ref" || $old == "$repo:latest" ]] && continue
    if podman rmi "$old" >/dev/null 2>&1; then log "$name: removed old image $old"; fi
  done
}

# Addresses baked into the role images' configs come from LAB_HOSTS / the lab network.
mail_ip="" web_ips=()
for h in "${LAB_HOSTS[@]}"; do
  case $(host_role "$h") in
    mail) [[ -n $mail_ip ]] || mail_ip=$(host_ip "$h") ;;
    web) web_ips+=("$(host_ip "$h")") ;;
  esac
done
[[ -n $mail_ip && ${#web_ips[@]} -ge 2 ]] || die "LAB_HOSTS needs a mail host and two web hosts"

base_layers=$(podman image inspect --format '{{range .RootFS.Layers}}{{.}} {{end}}' "$LAB_BASE_IMAGE")
common_ref=$LAB_REGISTRY/lab/legacy-common:$(context_hash "$IMAGES_DIR/legacy-common" "$base_layers")
ensure_image legacy-common "$common_ref" "BASE_IMAGE=$LAB_BASE_IMAGE"

web_args=("COMMON_IMAGE=$common_ref" "MAIL_IP=$mail_ip" "WEB1_IP=${web_ips[0]}" "WEB2_IP=${web_ips[1]}")
web_ref=$LAB_REGISTRY/lab/legacy-web:$(context_hash "$IMAGES_DIR/legacy-web" "${web_args[@]}")
ensure_image legacy-web "$web_ref" "${web_args[@]}"

mail_args=("COMMON_IMAGE=$common_ref" "LAB_SUBNET=$LAB_NET_SUBNET" "RELAY_IP=$LAB_NET_GATEWAY")
mail_ref=$LAB_REGISTRY/lab/legacy-mail:$(context_hash "$IMAGES_DIR/legacy-mail" "${mail_args[@]}")
ensure_image legacy-mail "$mail_ref" "${mail_args[@]}"

corpus_args=("COMMON_IMAGE=$common_ref")
corpus_ref=$LAB_REGISTRY/lab/legacy-corpus:$(context_hash "$IMAGES_DIR/legacy-corpus" "${corpus_args[@]}")
ensure_image legacy-corpus "$corpus_ref" "${corpus_args[@]}"

printf 'common %s\nweb %s\nmail %s\ncorpus %s\n' "$common_ref" "$web_ref" "$mail_ref" "$corpus_ref" | tee "$LAB_IMAGES_ENV.tmp"
mv "$LAB_IMAGES_ENV.tmp" "$LAB_IMAGES_ENV"
