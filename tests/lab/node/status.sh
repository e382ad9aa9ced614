#!/usr/bin/env bash
# One line for the lab's real worker node: name, address, Ready, pods Running, component pids.
# Exits 1 if it is down (a component not running, or the Node not Ready).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need curl jq

rc=0
detail=()
for c in "${NODE_COMPONENTS[@]}"; do
  if running "$c"; then detail+=("$c pid $(cat "$(pidfile "$c")")"); else detail+=("$c not running"); rc=1; fi
done
node=$(node_json)
if [[ -z $node ]]; then
  ready="not registered" rc=1
elif jq -e 'any(.status.conditions[]?; .type == "Ready" and .status == "True")' >/dev/null <<<"$node"; then
  ready=Ready
else
  ready=NotReady rc=1
fi
ip=$(jq -r '[.status.addresses[]? | select(.type == "InternalIP") | .address][0] // empty' <<<"${node:-{\}}")
pods=$(pods_running || true)
joined=$(printf ', %s' "${detail[@]}")
state=up
((rc == 0)) || state=down
printf '%-24s %-26s %s\n' "node $NODE_NAME" "https://${ip:-?}:$NODE_KUBELET_PORT" \
  "$state ($ready, ${pods:-?} pods Running, ${joined#, })"
exit "$rc"
