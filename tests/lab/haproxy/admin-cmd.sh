#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Run one command on the lab HAProxy's admin socket and print the answer:
#   tests/lab/haproxy/admin-cmd.sh 'COMMAND'
# (the admin runtime API: show stat, get weight be_web/legacy-web1, set weight ...). Socket talk with Debian's python3, no socat needed.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

(($# == 1)) || die "usage: $0 'COMMAND'"
hap_admin "$1"
