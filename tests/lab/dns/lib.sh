# shellcheck shell=bash disable=SC2034  # variables are used by the scripts that source this
# Shared by tests/lab/dns/*.sh (after lib/common.sh): paths, rendering, key handling.

DNS_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DNS_CONF_TEMPLATE=$DNS_SRC/named.conf.tmpl
DNS_ZONE_TEMPLATE=$DNS_SRC/db.$LAB_DNS_ZONE
# named drops privileges to user bind, which cannot reach a checkout under a 0700 folder (a CI
# clone in a mktemp dir, a home): its files live under /var/lib, one folder per lab state, and
# $LAB_STATE/dns links there so the inventory finds tsig.json in the usual place.
DNS_DIR=/var/lib/replatform-lab/dns-$(printf '%s' "$LAB_STATE" | sha256sum | cut -c1-12)
DNS_LINK=$LAB_STATE/dns
DNS_CONF=$DNS_DIR/named.conf
DNS_ZONE_DIR=$DNS_DIR/zones
DNS_ZONE_FILE=$DNS_ZONE_DIR/db.$LAB_DNS_ZONE
DNS_JOURNAL=$DNS_ZONE_FILE.jnl
DNS_RUN_DIR=$DNS_DIR/run
DNS_PID=$DNS_RUN_DIR/named.pid
DNS_KEY_FILE=$DNS_DIR/tsig.key
DNS_KEY_JSON=$DNS_DIR/tsig.json
DNS_LOG=$LAB_STATE/logs/named.log

dns_named_live() { [[ -s $DNS_PID ]] && proc_live "$(cat "$DNS_PID")"; }

# dns_serial [dig options]: SOA serial as served (empty + failure when no answer).
dns_serial() {
  local soa
  soa=$(dig @"$LAB_DNS_ADDR" -p "$LAB_DNS_PORT" "$LAB_DNS_ZONE" SOA +short +time=1 +tries=1 "$@" 2>/dev/null) || return 1
  [[ $soa =~ ^[^[:space:]]+\ [^[:space:]]+\ ([0-9]+)\  ]] || return 1
  printf '%s\n' "${BASH_REMATCH[1]}"
}
dns_answers() { dns_serial >/dev/null && dns_serial +tcp >/dev/null; }

# dns_subst: common placeholders on stdin -> stdout.
dns_subst() {
  local line
  while IFS= read -r line || [[ -n $line ]]; do
    line=${line//@DNS_DIR@/$DNS_DIR}
    line=${line//@DNS_ADDR@/$LAB_DNS_ADDR}
    line=${line//@DNS_PORT@/$LAB_DNS_PORT}
    line=${line//@ZONE@/$LAB_DNS_ZONE}
    line=${line//@KEY_NAME@/$LAB_TSIG_KEY_NAME}
    line=${line//@LB_ADDR@/${LAB_HAPROXY_HTTP%:*}}
    line=${line//@SMTP_ADDR@/${LAB_HAPROXY_SMTP%:*}}
    line=${line//@NODE_ADDR@/$LAB_NET_GATEWAY}
    if [[ $line == ';@legacy-hosts@' ]]; then
      local entry name rest
      for entry in "${LAB_HOSTS[@]}"; do
        name=${entry%%=*} rest=${entry#*=}
        printf '%-15s IN A    %s\n' "$name" "${rest%%:*}"
      done
      continue
    fi
    printf '%s\n' "$line"
  done
}

# dns_render TEMPLATE OUT
dns_render() {
  dns_subst <"$1" >"$2"
  if grep -nE '@[A-Z_]+@' "$2" >&2; then die "unknown placeholder(s) above in $1"; fi
}

# dns_key_secret: the base64 secret from tsig.key.
dns_key_secret() { sed -n 's/^[[:space:]]*secret "\(.*\)";.*/\1/p' "$DNS_KEY_FILE"; }

mkdir -p "$LAB_STATE/logs"
