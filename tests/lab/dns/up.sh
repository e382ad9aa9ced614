#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Start the lab's BIND: authoritative for $LAB_DNS_ZONE on $LAB_DNS_ADDR:$LAB_DNS_PORT (UDP+TCP),
# dynamic updates with TSIG key $LAB_TSIG_KEY_NAME. Idempotent: a running named is left alone;
# a fresh start resets the zone to the committed template (journal removed).
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

t0=$(date +%s%N)
if dns_named_live; then
  if dns_answers; then
    log "named already running (pid $(cat "$DNS_PID")), zone $LAB_DNS_ZONE serial $(dns_serial): leaving it"
    exit 0
  fi
  log "named pid $(cat "$DNS_PID") alive but not answering on $LAB_DNS_ADDR:$LAB_DNS_PORT: restarting it"
  "$DNS_SRC/down.sh"
fi

command -v named >/dev/null || die "named is not installed (apt-get install bind9 bind9-utils bind9-dnsutils)"
id bind >/dev/null 2>&1 || die "user bind missing (it comes with the bind9 package)"
[[ -f $DNS_ZONE_TEMPLATE ]] || die "no zone template $DNS_ZONE_TEMPLATE for zone $LAB_DNS_ZONE"

# named reads everything after dropping to user bind: key and config root:bind 0640,
# zone dir (journal, temp files) and run dir (pid, session key) writable by bind.
install -d -m 0755 "${DNS_DIR%/*}"
install -d -o root -g bind -m 0750 "$DNS_DIR"
[[ -L $DNS_LINK || ! -e $DNS_LINK ]] || rm -rf "$DNS_LINK"   # a folder from an older lab layout
[[ $(readlink "$DNS_LINK" 2>/dev/null) == "$DNS_DIR" ]] || ln -sfn "$DNS_DIR" "$DNS_LINK"
install -d -o root -g bind -m 0770 "$DNS_ZONE_DIR"
install -d -o bind -g bind -m 0750 "$DNS_RUN_DIR"

# TSIG key: generated once, kept across restarts (Ansible reads tsig.json).
if [[ ! -s $DNS_KEY_FILE ]] || ! grep -q "^key \"$LAB_TSIG_KEY_NAME\"" "$DNS_KEY_FILE"; then
  log "generating TSIG key $LAB_TSIG_KEY_NAME (hmac-sha256)"
  tmp=$(mktemp "$DNS_KEY_FILE.XXXXXX")
  tsig-keygen -a hmac-sha256 "$LAB_TSIG_KEY_NAME" >"$tmp"
  mv -f "$tmp" "$DNS_KEY_FILE"
fi
chown root:bind "$DNS_KEY_FILE"
chmod 0640 "$DNS_KEY_FILE"
secret=$(dns_key_secret)
[[ -n $secret ]] || die "no secret in $DNS_KEY_FILE"
tmp=$(mktemp "$DNS_KEY_JSON.XXXXXX")
jq -n --arg name "$LAB_TSIG_KEY_NAME" --arg secret "$secret" \
  '{name: $name, algorithm: "hmac-sha256", secret: $secret}' >"$tmp"
chmod 0600 "$tmp"
if cmp -s "$tmp" "$DNS_KEY_JSON"; then rm -f "$tmp"; else mv -f "$tmp" "$DNS_KEY_JSON"; fi

# Config and a fresh zone from the templates.
dns_render "$DNS_CONF_TEMPLATE" "$DNS_CONF"
chown root:bind "$DNS_CONF"
chmod 0640 "$DNS_CONF"
rm -f "$DNS_JOURNAL" "$DNS_ZONE_FILE".jbk "$DNS_PID" "$DNS_ZONE_DIR"/tmp-*
dns_render "$DNS_ZONE_TEMPLATE" "$DNS_ZONE_FILE"
chown bind:bind "$DNS_ZONE_FILE"
chmod 0644 "$DNS_ZONE_FILE"

out=$(named-checkconf "$DNS_CONF" 2>&1) || { printf '%s\n' "$out" >&2; die "named-checkconf failed on $DNS_CONF"; }
out=$(named-checkzone -q "$LAB_DNS_ZONE" "$DNS_ZONE_FILE" 2>&1) ||
  { named-checkzone "$LAB_DNS_ZONE" "$DNS_ZONE_FILE" >&2 || true; die "zone $DNS_ZONE_FILE is invalid"; }
# A state dir that user bind cannot reach (e.g. under a 0700 home) fails only after the
# privilege drop; say so plainly.
runuser -u bind -- test -r "$DNS_CONF" -a -r "$DNS_KEY_FILE" -a -w "$DNS_ZONE_DIR" -a -w "$DNS_RUN_DIR" ||
  die "user bind cannot read/write under $DNS_DIR (every parent directory needs o+x)"

log "starting named on $LAB_DNS_ADDR:$LAB_DNS_PORT (zone $LAB_DNS_ZONE, log $DNS_LOG)"
printf '=== %s up.sh start\n' "$(date -Is)" >>"$DNS_LOG"
# -g: foreground, logs on stderr (captured); setsid: its own session, outlives this script.
(cd / && exec setsid named -g -c "$DNS_CONF" -u bind) >>"$DNS_LOG" 2>&1 </dev/null &
pid=$!
ready() { proc_live "$pid" && dns_answers; }
if ! wait_for 20 "named on $LAB_DNS_ADDR:$LAB_DNS_PORT" ready; then
  tail -n 25 "$DNS_LOG" >&2
  proc_live "$pid" && kill "$pid" 2>/dev/null
  die "named did not come up (log: $DNS_LOG)"
fi
# named writes its own pid file; make sure it names the process we started.
[[ $(cat "$DNS_PID" 2>/dev/null) == "$pid" ]] || echo "$pid" >"$DNS_PID"
log "named up in $(( ($(date +%s%N) - t0) / 1000000 )) ms: pid $pid, zone $LAB_DNS_ZONE serial $(dns_serial), key $DNS_KEY_JSON"
