#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Run one command on the lab HAProxy's master socket and print the answer:
#   tests/lab/haproxy/master-cmd.sh 'COMMAND'
# (the master CLI: show proc, reload, @1 show info ...). Socket talk with Debian's python3, no socat needed.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

(($# == 1)) || die "usage: $0 'COMMAND'"
hap_master "$1"
