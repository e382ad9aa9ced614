#!/usr/bin/env bash
# Start the lab's "legacy hosts" (LAB_HOSTS): podman containers booting real systemd, each with its own
# hostname and fixed IP on the podman network $LAB_NET_NAME ($LAB_NET_SUBNET), reachable over SSH as
# root with the lab key ($LAB_STATE/ssh/id_ed25519, host keys pinned in $LAB_STATE/ssh/known_hosts).
# Idempotent: a running, healthy host on the current image is kept; stale or outdated ones are recreated.
# Env: LAB_HOSTS_RECREATE=1 recreates every host.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=./lib.sh
source "$LAB_DIR/hosts/lib.sh"
# shellcheck source=../registry/lib.sh
source "$LAB_DIR/registry/lib.sh"
PODMAN_LOG=$LAB_STATE/logs/podman-hosts.log

t0=$SECONDS
"$LAB_DIR/registry/up.sh"
"$LAB_DIR/images/legacy.sh" >/dev/null   # also runs images/base.sh
declare -A IMAGE
while read -r role ref; do IMAGE[$role]=$ref; done <"$LAB_IMAGES_ENV"

# --- lab SSH key (generated once per checkout) ---------------------------------------------------
mkdir -p "$LAB_SSH_DIR"; chmod 700 "$LAB_SSH_DIR"
if [[ ! -s $LAB_SSH_KEY || ! -s $LAB_SSH_KEY.pub ]]; then
  log "generating lab SSH key $LAB_SSH_KEY"
  rm -f "$LAB_SSH_KEY" "$LAB_SSH_KEY.pub"
  ssh-keygen -q -t ed25519 -N '' -C "replatform-lab@$(hostname)" -f "$LAB_SSH_KEY"
fi

# --- network -------------------------------------------------------------------------------------
# Traffic to the lab subnet must never follow the default route (common.sh guard, when present).
if declare -F lab_route_guard >/dev/null; then lab_route_guard; fi
if podman network exists "$LAB_NET_NAME"; then
  have=$(podman network inspect --format '{{range .Subnets}}{{.Subnet}} {{.Gateway}}{{end}}' "$LAB_NET_NAME")
  if [[ $have != "$LAB_NET_SUBNET $LAB_NET_GATEWAY" ]]; then
    log "network $LAB_NET_NAME has '$have', want '$LAB_NET_SUBNET $LAB_NET_GATEWAY': recreating it"
    for h in "${LAB_HOSTS[@]}"; do podman rm -f -t 5 "$(host_name "$h")" >/dev/null 2>&1 || true; done
    podman network rm "$LAB_NET_NAME" >/dev/null
  else
    log "network $LAB_NET_NAME ($LAB_NET_SUBNET) present"
  fi
fi
if ! podman network exists "$LAB_NET_NAME"; then
  log "creating network $LAB_NET_NAME ($LAB_NET_SUBNET, gateway $LAB_NET_GATEWAY)"
  podman network create --subnet "$LAB_NET_SUBNET" --gateway "$LAB_NET_GATEWAY" \
    --label lab=replatform "$LAB_NET_NAME" >/dev/null
fi

# --- containers ----------------------------------------------------------------------------------
# host_healthy NAME ROLE: running, booted, expected units active, lab key installed.
host_healthy() {
  local units
  units=$(role_units "$2")
  # shellcheck disable=SC2086
  podman exec "$1" sh -c "systemctl is-active --quiet $units && grep -qF '$(cut -d' ' -f2 "$LAB_SSH_KEY.pub")' /root/.ssh/authorized_keys" 2>/dev/null
}

# Bump when the run options below change, so that kept containers get recreated.
HOST_SPEC=3
started=()
for h in "${LAB_HOSTS[@]}"; do
  name=$(host_name "$h") ip=$(host_ip "$h") role=$(host_role "$h")
  image=${IMAGE[$role]:?no image for role $role}
  if podman container exists "$name"; then
    state=$(podman inspect --format '{{.State.Status}} {{.ImageName}} {{index .Config.Labels "lab.ip"}} {{index .Config.Labels "lab.spec"}}' "$name")
    if [[ ${LAB_HOSTS_RECREATE:-0} != 1 && $state == "running $image $ip $HOST_SPEC" ]] && host_healthy "$name" "$role"; then
      log "$name: running on current image, kept"
      continue
    fi
    log "$name: removing stale container ($state)"
    podman rm -f -t 10 "$name" >/dev/null
  fi
  log "$name: starting $image at $ip"
  # SYS_PTRACE: root inside sees every process's sockets (`ss -ltnp`), as on a VM.
  # A MAC derived from the IP: a recreated host keeps its MAC, so neighbours' ARP caches stay valid.
  # shellcheck disable=SC2086
  mac=$(printf '02:4c:%02x:%02x:%02x:%02x' ${ip//./ })
  podman create --name "$name" --hostname "$name" \
    --network "$LAB_NET_NAME" --ip "$ip" --mac-address "$mac" --systemd=always --cap-add SYS_PTRACE \
    --label lab=replatform --label "lab.role=$role" --label "lab.ip=$ip" --label "lab.spec=$HOST_SPEC" \
    "$image" >/dev/null
  # Before the first boot: a machine-id of its own (systemd would otherwise derive the same one on
  # every container) and the lab's public key for root.
  seed=$(mktemp -d)
  od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$seed/machine-id"; echo >>"$seed/machine-id"
  install -m 600 "$LAB_SSH_KEY.pub" "$seed/authorized_keys"
  chmod 444 "$seed/machine-id"
  podman cp "$seed/machine-id" "$name:/etc/machine-id"
  podman cp "$seed/authorized_keys" "$name:/root/.ssh/authorized_keys"
  rm -rf "$seed"
  # conmon and aardvark-dns (the network's DNS) outlive `podman start` and keep its stdout/stderr
  # and any inherited descriptor: give them a log file only, or a caller piping our output hangs.
  # (aardvark-dns also complains there that there is no syslog here: harmless.)
  if ! (close_inherited_fds; exec podman start "$name") >>"$PODMAN_LOG" 2>&1 </dev/null; then
    tail -n 5 "$PODMAN_LOG" >&2
    die "$name: podman start failed (log $PODMAN_LOG)"
  fi
  started+=("$name")
done

# --- wait for boot -----------------------------------------------------------------------------
boot_state() { podman exec "$1" systemctl is-system-running 2>/dev/null || true; }
booted() { [[ $(boot_state "$1") == running || $(boot_state "$1") == degraded ]]; }
for h in "${LAB_HOSTS[@]}"; do
  name=$(host_name "$h") role=$(host_role "$h")
  wait_for 90 "$name to finish booting" booted "$name" || {
    podman exec "$name" systemctl list-jobs --no-pager >&2 || true
    die "$name did not boot (state: $(boot_state "$name"))"
  }
  state=$(boot_state "$name")
  if [[ $state == degraded ]]; then
    log "$name: system degraded; failed units:"
    podman exec "$name" systemctl --failed --no-legend --plain --no-pager >&2 || true
  fi
  units=$(role_units "$role")
  # shellcheck disable=SC2086
  wait_for 30 "$name units active ($units)" podman exec "$name" systemctl is-active --quiet $units || {
    # shellcheck disable=SC2086
    podman exec "$name" systemctl status --no-pager -n 20 $units >&2 || true
    die "$name: expected units not active"
  }
  log "$name: booted ($state), units active: $units"
done

# --- known_hosts (ssh-keyscan, cross-checked against the keys inside each container) ------------
tmp_kh=$(mktemp "$LAB_SSH_DIR/.known_hosts.XXXXXX")
for h in "${LAB_HOSTS[@]}"; do
  name=$(host_name "$h") ip=$(host_ip "$h")
  scanned=""
  for _ in $(seq 20); do
    scanned=$(ssh-keyscan -T 5 -t ed25519,ecdsa,rsa "$ip" 2>/dev/null | sort) || true
    [[ $(grep -c . <<<"$scanned") -eq 3 ]] && break
    sleep 0.5
  done
  [[ $(grep -c . <<<"$scanned") -eq 3 ]] || die "ssh-keyscan $ip returned no/partial keys"
  inside=$(podman exec "$name" sh -c 'cat /etc/ssh/ssh_host_ed25519_key.pub' | awk '{print $2}')
  grep -qF "$inside" <<<"$scanned" || die "$name: scanned ed25519 key differs from the one in the container"
  printf '%s\n' "$scanned" >>"$tmp_kh"
done
chmod 644 "$tmp_kh"; mv "$tmp_kh" "$LAB_SSH_KNOWN_HOSTS"

# ssh -F $LAB_STATE/ssh/config legacy-web1   (convenience for humans)
{
  echo "# Generated by tests/lab/hosts/up.sh"
  for h in "${LAB_HOSTS[@]}"; do
    printf 'Host %s\n  HostName %s\n' "$(host_name "$h")" "$(host_ip "$h")"
  done
  printf 'Host *\n  User root\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n  GlobalKnownHostsFile /dev/null\n' \
    "$LAB_SSH_KEY" "$LAB_SSH_KNOWN_HOSTS"
} >"$LAB_SSH_CONFIG"

# --- verify over real SSH and from this machine --------------------------------------------------
for h in "${LAB_HOSTS[@]}"; do
  name=$(host_name "$h") ip=$(host_ip "$h") role=$(host_role "$h")
  units=$(role_units "$role")
  out=$(lab_ssh "$ip" "hostname; systemctl is-active $units | sort -u; ss -ltnH | awk '{print \$4}' | sort -u | tr '\n' ' '") ||
    die "$name: SSH as root@$ip with the lab key failed"
  { read -r got_name; read -r active; read -r ports; } <<<"$out"
  [[ $got_name == "$name" ]] || die "$ip: hostname is '$got_name', expected $name"
  [[ $active == active ]] || die "$name: over SSH, units not all active: $active"
  for svc in $(role_services "$role"); do
    wait_for 15 "$name $svc answering" service_probe "$role" "$svc" "$ip" || die "$name: $svc does not answer on $ip"
  done
  log "$name: ssh ok, services answer ($(role_services "$role")); listening: $ports"
done

# Old hash tags that were still in use when images/legacy.sh ran can go now.
for ref in "${IMAGE[@]}"; do
  repo=${ref%:*}
  for old in $(podman images --format '{{.Repository}}:{{.Tag}}' --filter "reference=$repo" | sort -u); do
    [[ $old == "$ref" || $old == "$repo:latest" ]] && continue
    if podman rmi "$old" >/dev/null 2>&1; then log "removed old image $old"; fi
  done
done

log "legacy hosts up in $((SECONDS - t0))s${started[*]:+ (started: ${started[*]})}"
log "ssh -F $LAB_SSH_CONFIG legacy-web1   (or: ssh -i $LAB_SSH_KEY -o UserKnownHostsFile=$LAB_SSH_KNOWN_HOSTS root@IP)"
"$LAB_DIR/hosts/status.sh"
