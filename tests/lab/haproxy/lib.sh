# shellcheck shell=bash disable=SC2034  # variables are used by the scripts that source this
# Shared by tests/lab/haproxy/*.sh (after lib/common.sh): paths, config rendering, socket talk.

HAP_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HAP_TEMPLATE=$HAP_SRC/haproxy.cfg.tmpl
HAP_DIR=$LAB_STATE/haproxy
HAP_CFG=$HAP_DIR/haproxy.cfg
HAP_PID=$HAP_DIR/haproxy.pid
HAP_ADMIN_SOCK=$HAP_DIR/admin.sock
HAP_MASTER_SOCK=$HAP_DIR/master.sock
HAP_STATE_FILE=$HAP_DIR/server-state
HAP_LOG=$LAB_STATE/logs/haproxy.log
# Debian's python3, not a pyenv shim on PATH: only the standard library is used.
HAP_PY=/usr/bin/python3
[[ -x $HAP_PY ]] || HAP_PY=python3

# Socket talk without socat: send one command, print the whole answer (HAProxy closes the
# connection after answering a non-interactive command; the master closes it on `reload`).
HAP_CLI_PY='
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(float(sys.argv[3]))
try:
    s.connect(sys.argv[1])
    s.sendall(sys.argv[2].encode() + b"\n")
    out = []
    while True:
        try:
            d = s.recv(65536)
        except ConnectionResetError:
            break
        if not d:
            break
        out.append(d)
except OSError as e:
    sys.stderr.write("%s: %s\n" % (sys.argv[1], e))
    sys.exit(1)
sys.stdout.write(b"".join(out).decode("utf-8", "replace"))
'

# hap_cli SOCKET COMMAND [TIMEOUT]: run one runtime-API command, answer on stdout.
hap_cli() { "$HAP_PY" -c "$HAP_CLI_PY" "$1" "$2" "${3:-5}"; }
hap_admin() { hap_cli "$HAP_ADMIN_SOCK" "$@"; }
# The 2.6 master CLI answers but keeps the connection open: `; quit` closes it.
hap_master() { hap_cli "$HAP_MASTER_SOCK" "$1; quit" "${@:2}"; }


# hap_master_live: the master in the pid file is running.
hap_master_live() { [[ -s $HAP_PID ]] && proc_live "$(cat "$HAP_PID")"; }

# hap_running: master alive and a worker answers on the admin socket.
hap_running() { hap_master_live && [[ -S $HAP_ADMIN_SOCK ]] && hap_admin "show info" 2>/dev/null | grep -q '^Pid: '; }

# hap_worker_pid: pid of the current worker, from the master's `show proc`.
hap_worker_pid() {
  hap_master "show proc" 2>/dev/null | awk '/^# workers/ {w=1; next} /^#/ {w=0} w && $2 == "worker" {print $1; exit}'
}
# hap_admin_pid: pid of the worker that answers on the admin socket.
hap_admin_pid() { hap_admin "show info" 2>/dev/null | awk '/^Pid: / {print $2; exit}'; }

# hap_render OUT: the config from the template, with servers from LAB_HOSTS.
hap_render() {
  local out=$1 line ind role port entry name rest ip hrole n
  {
    while IFS= read -r line || [[ -n $line ]]; do
      if [[ $line =~ ^([[:space:]]*)#@servers[[:space:]]+([A-Za-z0-9_-]+)[[:space:]]+([0-9]+)@[[:space:]]*$ ]]; then
        ind=${BASH_REMATCH[1]} role=${BASH_REMATCH[2]} port=${BASH_REMATCH[3]} n=0
        for entry in "${LAB_HOSTS[@]}"; do
          name=${entry%%=*} rest=${entry#*=}
          ip=${rest%%:*} hrole=${rest#*:}
          [[ $hrole == "$role" ]] || continue
          printf '%sserver %s %s:%s check weight 100\n' "$ind" "$name" "$ip" "$port"
          n=$((n + 1))
        done
        ((n > 0)) || die "haproxy template: no LAB_HOSTS entry with role '$role'"
        continue
      fi
      line=${line//@HAP_DIR@/$HAP_DIR}
      line=${line//@ADMIN_SOCK@/$HAP_ADMIN_SOCK}
      line=${line//@STATE_FILE@/$HAP_STATE_FILE}
      line=${line//@HTTP_BIND@/$LAB_HAPROXY_HTTP}
      line=${line//@SMTP_BIND@/$LAB_HAPROXY_SMTP}
      line=${line//@STATS_BIND@/$LAB_HAPROXY_STATS}
      line=${line//@ZONE@/$LAB_DNS_ZONE}
      line=${line//@NET_GATEWAY@/$LAB_NET_GATEWAY}
      printf '%s\n' "$line"
    done <"$HAP_TEMPLATE"
  } >"$out"
  if grep -nE '@[A-Z_]+@' "$out" >&2; then die "haproxy template: unknown placeholder(s) above"; fi
}

# hap_checks_settled: every legacy server has finished a check and is not in transition
# (HAProxy starts servers UP, before any check, and "UP 1/2" still takes traffic).
hap_checks_settled() {
  hap_admin "show stat" | awk -F, '
    NR == 1 { sub(/^# /, ""); for (i = 1; i <= NF; i++) col[$i] = i; next }
    $1 ~ /^be_/ && $2 != "BACKEND" {
      chk = $col["check_status"]; sub(/^\* /, "", chk)
      if (chk == "" || chk == "INI" || $col["status"] ~ /[0-9]+\/[0-9]+/) bad = 1
    }
    END { exit bad }'
}

# hap_lab_net_up: the lab network's gateway address is on this machine (its bridge exists).
hap_lab_net_up() { [[ -n $(ip -o -4 addr show to "$LAB_NET_GATEWAY/32" 2>/dev/null) ]]; }

# hap_validate FILE: haproxy -c, output shown only on failure.
hap_validate() {
  local out
  out=$(haproxy -c -f "$1" 2>&1) || { printf '%s\n' "$out" >&2; return 1; }
}

# hap_save_state: `show servers state` of the running worker into the server-state-file.
hap_save_state() {
  local tmp
  tmp=$(mktemp "$HAP_STATE_FILE.XXXXXX")
  if ! hap_admin "show servers state" >"$tmp" || [[ $(head -n1 "$tmp") != 1 ]]; then
    rm -f "$tmp"; die "could not read 'show servers state' from $HAP_ADMIN_SOCK"
  fi
  chmod 600 "$tmp"
  mv -f "$tmp" "$HAP_STATE_FILE"
}

# hap_install_config: render + validate into HAP_CFG; sets HAP_CFG_CHANGED=1 if HAP_CFG
# changed (or was missing), 0 if it was already identical. Dies on an invalid config.
HAP_CFG_CHANGED=0
hap_install_config() {
  local tmp
  tmp=$(mktemp "$HAP_CFG.XXXXXX")
  hap_render "$tmp"
  if [[ -f $HAP_CFG ]] && cmp -s "$tmp" "$HAP_CFG"; then
    rm -f "$tmp"
    HAP_CFG_CHANGED=0
    return 0
  fi
  if ! hap_validate "$tmp"; then
    rm -f "$tmp"
    die "rendered haproxy config is invalid (template $HAP_TEMPLATE); the running one is left as is"
  fi
  chmod 600 "$tmp"
  mv -f "$tmp" "$HAP_CFG"
  HAP_CFG_CHANGED=1
}

mkdir -p "$HAP_DIR" "$LAB_STATE/logs"
chmod 700 "$HAP_DIR"
