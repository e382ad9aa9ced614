#!/usr/bin/env bash
# Build the lab's Debian bookworm base image ($LAB_BASE_IMAGE) and push it to the lab registry.
#   debootstrap --variant=minbase bookworm -> $LAB_CACHE/base/debian-bookworm-minbase.tar (kept)
#   -> podman import $LAB_BASE_IMAGE -> podman push (plain HTTP registry on loopback).
# Every step is skipped when its result is already there: warm runs take about a second.
# Env: LAB_BASE_REBUILD=1 drops the cached tar and the local image first.
#      LAB_DEBIAN_SECURITY_MIRROR (default "$LAB_DEBIAN_MIRROR-security"; empty: no security source).
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

SUITE=bookworm
BASE_TAR=$LAB_CACHE/base/debian-$SUITE-minbase.tar
SECURITY_MIRROR=${LAB_DEBIAN_SECURITY_MIRROR-${LAB_DEBIAN_MIRROR}-security}

# shellcheck source=../registry/lib.sh
source "$LAB_DIR/registry/lib.sh"

"$LAB_DIR/registry/up.sh"

if [[ ${LAB_BASE_REBUILD:-0} == 1 ]]; then
  log "LAB_BASE_REBUILD=1: dropping $BASE_TAR and local $LAB_BASE_IMAGE"
  rm -f "$BASE_TAR"
  podman rmi -f "$LAB_BASE_IMAGE" >/dev/null 2>&1 || true
fi

if podman image exists "$LAB_BASE_IMAGE" && registry_has "$LAB_BASE_IMAGE"; then
  log "base image $LAB_BASE_IMAGE present locally and in the registry"
  exit 0
fi

if [[ ${LAB_BASE_REBUILD:-0} != 1 ]] && ! podman image exists "$LAB_BASE_IMAGE" && registry_has "$LAB_BASE_IMAGE"; then
  log "pulling $LAB_BASE_IMAGE from the lab registry"
  podman pull -q --tls-verify=false "$LAB_BASE_IMAGE" >/dev/null
  exit 0
fi

build_rootfs_tar() {
  command -v debootstrap >/dev/null || die "debootstrap not installed"
  mkdir -p "$(dirname "$BASE_TAR")"
  local tmp root
  tmp=$(mktemp -d "$LAB_CACHE/base/.build.XXXXXX")
  root=$tmp/rootfs
  # debootstrap mounts /proc and /sys in the target; make sure nothing stays mounted on failure.
  # shellcheck disable=SC2064
  trap "umount -R '$root/proc' '$root/sys' '$root/dev/pts' 2>/dev/null || true; rm -rf --one-file-system '$tmp'" EXIT
  log "debootstrap --variant=minbase $SUITE from $LAB_DEBIAN_MIRROR (about 30-60 s)"
  if ! debootstrap --variant=minbase "$SUITE" "$root" "$LAB_DEBIAN_MIRROR" >"$tmp/debootstrap.out" 2>&1; then
    tail -n 30 "$tmp/debootstrap.out" >&2
    cp "$tmp/debootstrap.out" "$LAB_STATE/logs/debootstrap.log" 2>/dev/null || true
    die "debootstrap failed (log copied to $LAB_STATE/logs/debootstrap.log)"
  fi

  log "configuring apt and trimming the rootfs"
  {
    echo "deb $LAB_DEBIAN_MIRROR $SUITE main"
    echo "deb $LAB_DEBIAN_MIRROR $SUITE-updates main"
    [[ -n $SECURITY_MIRROR ]] && echo "deb $SECURITY_MIRROR $SUITE-security main"
  } >"$root/etc/apt/sources.list"
  # Keep images small: no man pages, info, non-English locales or docs (copyright files stay).
  cat >"$root/etc/dpkg/dpkg.cfg.d/01-lab-nodoc" <<'CFG'
# Lab images: keep them small.
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
CFG
  # Drop the package lists and .deb cache after every apt run, as Debian's official images do.
  cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'CFG'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CFG
  printf 'Acquire::Languages "none";\n' >"$root/etc/apt/apt.conf.d/docker-no-languages"
  find "$root/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
  find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* \
    "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
    "$root"/var/log/*.log "$root"/var/log/apt/* "$root"/debootstrap
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
  # Per-container identity is made at boot: empty machine-id, no hostname/resolv.conf of this host.
  : >"$root/etc/machine-id"
  rm -f "$root/var/lib/dbus/machine-id" "$root/etc/resolv.conf" "$root/etc/hostname"

  log "writing $BASE_TAR"
  tar --numeric-owner --xattrs -C "$root" -cf "$BASE_TAR.tmp" .
  mv "$BASE_TAR.tmp" "$BASE_TAR"
  rm -rf --one-file-system "$tmp"
  trap - EXIT
}

if ! podman image exists "$LAB_BASE_IMAGE"; then
  if [[ -s $BASE_TAR ]]; then
    log "reusing cached rootfs $BASE_TAR"
  else
    build_rootfs_tar
  fi
  log "podman import $BASE_TAR as $LAB_BASE_IMAGE"
  podman import -q \
    --change 'CMD ["/bin/bash"]' \
    --change 'ENV LANG=C.UTF-8' \
    --change "LABEL org.opencontainers.image.title=debian-$SUITE-minbase lab=replatform" \
    --message "debootstrap --variant=minbase $SUITE $LAB_DEBIAN_MIRROR" \
    "$BASE_TAR" "$LAB_BASE_IMAGE" >/dev/null
fi

log "pushing $LAB_BASE_IMAGE to the lab registry"
podman push -q --tls-verify=false "$LAB_BASE_IMAGE"
registry_has "$LAB_BASE_IMAGE" || die "push of $LAB_BASE_IMAGE did not show up in the registry"
log "base image $LAB_BASE_IMAGE ready ($(podman image inspect --format '{{.Size}}' "$LAB_BASE_IMAGE" | numfmt --to=iec))"
