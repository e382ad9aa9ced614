#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2015  # ok/nok never fail: A && ok || nok is safe
# Checks the running lab named: SOA over UDP+TCP, the template's records, and TSIG on
# dynamic updates (signed add + delete work; unsigned is REFUSED; a wrong key is rejected).
# Leaves the zone as it found it (the test record is deleted again).
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

"$DNS_SRC/status.sh" >/dev/null || die "named is not running (tests/lab/dns/up.sh)"
passed=0 failed=0
ok() { passed=$((passed + 1)); log "ok   $*"; }
nok() { failed=$((failed + 1)); log "FAIL $*"; }
q() { dig @"$LAB_DNS_ADDR" -p "$LAB_DNS_PORT" +short +time=2 +tries=1 "$@"; }
# upd KEYSPEC|"" COMMANDS...: nsupdate (output on stdout), status = nsupdate's.
upd() {
  local key=$1; shift
  { printf 'server %s %s\nzone %s\n' "$LAB_DNS_ADDR" "$LAB_DNS_PORT" "$LAB_DNS_ZONE"
    printf '%s\n' "$@" send; } | nsupdate -t 5 ${key:+-y "$key"} 2>&1
}

key=$(jq -r '"\(.algorithm):\(.name):\(.secret)"' "$DNS_KEY_JSON")
bad="hmac-sha256:$LAB_TSIG_KEY_NAME:$(head -c 32 /dev/urandom | base64)"
name=selftest-$$.$LAB_DNS_ZONE
z=$LAB_DNS_ZONE

[[ $(q SOA "$z" +tcp) == "$(q SOA "$z")" ]] && ok "SOA over UDP and TCP" || nok "SOA over UDP and TCP"
[[ $(q A "www.$z") == "lb.$z."$'\n'"${LAB_HAPROXY_HTTP%:*}" ]] && ok "www CNAME lb -> ${LAB_HAPROXY_HTTP%:*}" || nok "www -> lb"
[[ $(q MX "$z") == "10 mail.$z." ]] && ok "MX 10 mail.$z." || nok "MX"
for entry in "${LAB_HOSTS[@]}"; do
  h=${entry%%=*} rest=${entry#*=}
  [[ $(q A "$h.$z") == "${rest%%:*}" ]] && ok "$h A ${rest%%:*}" || nok "$h A ${rest%%:*}"
done
dig @"$LAB_DNS_ADDR" -p "$LAB_DNS_PORT" +time=2 +tries=1 A example.com | grep -q 'status: REFUSED' &&
  ok "no recursion (example.com REFUSED)" || nok "no recursion"

serial0=$(dns_serial)
out=$(upd "$key" "update add $name 60 TXT \"lab-selftest\"") && ok "signed update accepted" || nok "signed update: $out"
[[ $(q TXT "$name") == '"lab-selftest"' ]] && ok "dig sees the TXT record" || nok "dig does not see the TXT record"
serial1=$(dns_serial)
((serial1 > serial0)) && ok "serial $serial0 -> $serial1" || nok "serial did not increase ($serial0 -> $serial1)"

out=$(upd "" "update add unsigned-$name 60 TXT \"x\"") && nok "unsigned update accepted" ||
  { [[ $out == *REFUSED* ]] && ok "unsigned update REFUSED" || nok "unsigned update failed but not REFUSED: $out"; }
out=$(upd "$bad" "update add badkey-$name 60 TXT \"x\"") && nok "wrong-key update accepted" ||
  { [[ $out == *"tsig verify failure"* || $out == *BADSIG* || $out == *BADKEY* ]] && ok "wrong key rejected (${out//$'\n'/ })" || nok "wrong key failed oddly: $out"; }
[[ -z $(q TXT "unsigned-$name") && -z $(q TXT "badkey-$name") ]] && ok "rejected updates left no record" || nok "a rejected update left a record"

out=$(upd "$key" "update delete $name TXT") && [[ -z $(q TXT "$name") ]] && ok "signed delete" || nok "signed delete: $out"

printf 'dns: %d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
