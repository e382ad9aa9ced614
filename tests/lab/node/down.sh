#!/usr/bin/env bash
# Stops the lab's real worker node and leaves nothing of it on the machine: kube-proxy (and its rules),
# kubelet, every pod sandbox and container (stopped through CRI while containerd still runs, then any
# leftover process killed), containerd; then unmounts everything under $LAB_STATE/node, removes the
# kubepods cgroups, the CNI bridge and veths, the KUBE-*/CNI-*/LABNODE-* iptables rules and chains (IPv4
# and IPv6), the /etc/hosts line, the files containerd and the kubelet put in fixed places, and puts back
# the kernel settings saved by up.sh, and the nftables tables iptables-nft added for them. Deletes the Node object (--keep-node: keep it, NotReady).
# Keeps $LAB_STATE/node (certificates, pulled images) for a quick restart; --purge removes it too.
# Does not touch the control plane, podman's networks (netavark's rules) or anything else.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

purge=false keep_node=false
for a in "$@"; do
  case $a in
    --purge) purge=true ;;
    --keep-node) keep_node=true ;;
    *) die "usage: $0 [--purge] [--keep-node]" ;;
  esac
done

mkdir -p "$LAB_LOGS"
exec 9>"$LAB_STATE/node.lock"
flock -w 120 9 || die "another tests/lab/node/up.sh or down.sh holds $LAB_STATE/node.lock"

# The binaries of the running processes (the build key may have changed since they started).
exe_of() { readlink "/proc/$(cat "$(pidfile "$1")")/exe" 2>/dev/null | sed 's/ (deleted)$//'; }
bin=
for c in "${NODE_COMPONENTS[@]}"; do
  if running "$c"; then bin=$(dirname "$(exe_of "$c")"); break; fi
done
[[ -n $bin ]] || bin=$("$NODE_DIR/build.sh" 2>/dev/null) || bin=

stop() {
  local f
  f=$(pidfile "$1")
  if running "$1"; then
    log "stopping $1 (pid $(cat "$f"))"
    stop_pidfile "$f" "$1"
  else
    rm -f "$f"
  fi
}

# --- kube-proxy first (its rules go with it), then the kubelet (nothing restarts containers any more).
stop kube-proxy
if [[ -x $bin/kube-proxy ]]; then
  "$bin/kube-proxy" --cleanup >>"$LAB_LOGS/kube-proxy.log" 2>&1 || log "kube-proxy --cleanup failed (log: $LAB_LOGS/kube-proxy.log)"
fi
stop kubelet

# --- pods: through CRI (containers killed, CNI DEL: veth and IP released, netns unmounted), then containerd.
if running containerd && [[ -x $bin/lab-cri ]]; then
  "$bin/lab-cri" -endpoint "$CRI_ENDPOINT" -timeout 90s rm-all >&2 || log "WARNING: some pod sandboxes could not be removed through CRI; killing what is left"
fi
stop containerd

# Anything that survived: shims of this node's containerd, then every process in the kubepods cgroups.
for p in /proc/[0-9]*; do
  exe=$(readlink "$p/exe" 2>/dev/null) || continue
  [[ ${exe##*/} == containerd-shim-runc-v2* ]] || continue
  tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF -- "-address $CONTAINERD_SOCK" || continue
  log "killing leftover shim ${p#/proc/}"
  kill -9 "${p#/proc/}" 2>/dev/null || true
done
kubepods_dirs() { local c; for c in /sys/fs/cgroup/*/kubepods; do if [[ -d $c ]]; then echo "$c"; fi; done; }
for _ in 1 2 3 4 5; do
  pids=$(kubepods_dirs | while read -r d; do find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null; done | sort -u)
  [[ -n $pids ]] || break
  log "killing leftover pod processes: $(echo "$pids" | tr '\n' ' ')"
  for p in $pids; do kill -9 "$p" 2>/dev/null || true; done
  sleep 0.5
done

# --- mounts under the node's state (overlay rootfs, shm, netns, kubelet volumes, the kubelet's rshared
# bind mount of its root): deepest first, until none is left (propagation can show one mount twice).
node_mounts() { findmnt -rn -o TARGET | awk -v s="$NODE_STATE" '$0 == s || index($0, s "/") == 1' | awk '{print length, $0}' | sort -rn | cut -d' ' -f2-; }
for _ in 1 2 3 4 5; do
  m=$(node_mounts)
  [[ -n $m ]] || break
  while read -r t; do
    umount "$t" 2>/dev/null || umount -l "$t" 2>/dev/null || true
  done <<<"$m"
done
[[ -z $(node_mounts) ]] || log "WARNING: still mounted: $(node_mounts | tr '\n' ' ')"

# --- cgroups made by the kubelet (cgroupfs driver), in every hierarchy.
while read -r d; do
  [[ -n $d ]] || continue
  find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
  [[ ! -d $d ]] || log "WARNING: could not remove cgroup $d"
done < <(kubepods_dirs)

# --- network: veths on the bridge (their netns are gone, so normally none), the bridge.
if ip link show "$NODE_BRIDGE" >/dev/null 2>&1; then
  for v in $(ip -o link show master "$NODE_BRIDGE" | awk -F': ' '{print $2}' | cut -d@ -f1); do
    ip link del "$v" 2>/dev/null || true
  done
  log "removing bridge $NODE_BRIDGE"
  ip link del "$NODE_BRIDGE"
fi
# Network namespaces: containerd keeps them under its state dir (netns_mounts_under_state_dir, unmounted
# above); any under /run/netns that CRI would have made (cni-*) would be this node's too.
for ns in /run/netns/cni-*; do
  [[ -e $ns ]] || continue
  log "removing network namespace ${ns##*/}"
  ip netns del "${ns##*/}" 2>/dev/null || true
done

# --- iptables: rules that jump to, and chains named, KUBE-*, CNI-*, LABNODE-* (kube-proxy, the kubelet's
# canaries, portmap, up.sh's kubelet port guard), for IPv4 and IPv6. netavark's NETAVARK* stay.
sweep_iptables() { # sweep_iptables iptables|ip6tables
  local cmd=$1 table script ours='^(KUBE-|CNI-|LABNODE-)'
  for table in filter nat mangle raw security; do
    "$cmd-save" -t "$table" >/dev/null 2>&1 || continue
    script=$("$cmd-save" -t "$table" | awk -v ours="$ours" '
      /^:/ { c = substr($1, 2); if (c ~ ours) chains[++n] = c; next }
      /^-A / { if ($2 !~ ours && match($0, / -j [^ ]+/) && substr($0, RSTART + 4, RLENGTH - 4) ~ ours) { sub(/^-A/, "-D"); print } }
      END { for (i = 1; i <= n; i++) print "-F " chains[i]; for (i = 1; i <= n; i++) print "-X " chains[i] }')
    [[ -n $script ]] || continue
    log "$cmd: removing $(grep -c '^-X' <<<"$script" || true) chains and $(grep -c '^-D' <<<"$script" || true) jump rules from table $table"
    printf '*%s\n%s\nCOMMIT\n' "$table" "$script" | "$cmd-restore" -w --noflush
  done
}
sweep_iptables iptables
sweep_iptables ip6tables
# nftables tables that iptables-nft created for them (not there before the node first ran), now empty.
if [[ -s $NODE_STATE/nft-tables.orig ]]; then
  while read -r _ family name; do
    grep -qx "table $family $name" "$NODE_STATE/nft-tables.orig" && continue
    [[ $(nft -j list table "$family" "$name" | jq '[.nftables[] | select(.rule or (.chain and (.chain.hook | not)))] | length') == 0 ]] || continue
    log "nft: removing empty table $family $name"
    nft delete table "$family" "$name"
  done < <(nft list tables)
  rm -f "$NODE_STATE/nft-tables.orig"
fi

# --- fixed places outside $NODE_STATE.
if grep -qF "$HOSTS_MARK" /etc/hosts; then
  log "/etc/hosts: removing $NODE_NAME"
  hosts=$(grep -vF "$HOSTS_MARK" /etc/hosts || true)
  printf '%s\n' "$hosts" >/etc/hosts
fi
if [[ -d $KUBELET_CONTAINER_LOGS ]]; then
  find "$KUBELET_CONTAINER_LOGS" -maxdepth 1 -type l -lname "$NODE_STATE/*" -delete
fi
# Shim sockets: the shims are gone, so are their sockets normally.
if [[ -d $SHIM_SOCKET_DIR ]] && ! pgrep -x containerd >/dev/null; then
  find "$SHIM_SOCKET_DIR" -mindepth 1 -maxdepth 1 -type s -delete
fi
for d in "${NODE_FIXED_DIRS[@]}"; do
  m=$NODE_STATE/created-${d//\//_}
  [[ -e $m ]] || continue
  if [[ -d $d ]]; then
    case $d in
      # libcni's cache of containerd's CNI calls: this node's network and CRI's loopback network only.
      /var/lib/cni) find "$d" \( -name "$NODE_CNI_NETWORK-*" -o -name "cni-loopback-*" \) -delete 2>/dev/null || true ;;
      # The kubelet's device-plugin socket and checkpoint (a fixed path, whatever --root-dir says).
      /var/lib/kubelet) rm -f "$d/device-plugins/kubelet.sock" "$d/device-plugins/kubelet_internal_checkpoint" ;;
    esac
    find "$d" -depth -type d -empty -delete 2>/dev/null || true
  fi
  if [[ -e $d ]]; then log "WARNING: $d is not empty, left in place"; else rm -f "$m"; fi
done

# --- kernel settings, as they were before the node first ran.
restore_sysctls
rm -f "$NODE_STATE/sysctl.orig"

# --- the Node object (its pods are deleted by the pod garbage collector); the control plane stays up.
if ! $keep_node && kapi "/api/v1/nodes/$NODE_NAME" >/dev/null 2>&1; then
  log "deleting Node $NODE_NAME"
  kapi -X DELETE "/api/v1/nodes/$NODE_NAME" >/dev/null || log "WARNING: could not delete Node $NODE_NAME"
fi

if $purge; then
  log "removing $NODE_STATE (pki, configs, containerd's images and snapshots)"
  rm -rf "$NODE_STATE"
fi
log "lab node stopped"
