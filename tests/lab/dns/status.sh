#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# One line for the lab's named; exit 1 if it does not answer the zone's SOA (UDP and TCP).
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if serial=$(dns_serial) && dns_serial +tcp >/dev/null; then
  echo "dns  $LAB_DNS_ADDR:$LAB_DNS_PORT zone=$LAB_DNS_ZONE serial=$serial  up"
else
  echo "dns  $LAB_DNS_ADDR:$LAB_DNS_PORT zone=$LAB_DNS_ZONE  down"
  exit 1
fi
