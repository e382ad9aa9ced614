#!/usr/bin/env bash
# Figures for the corpus of ordinary services (tests/corpus/services.yml), printed, never asserted:
#   cold       no image of the service here or in the registry, no Deployment: migrate.yml up to verify
#              (discover, build, validate, push, deploy to Available, verify against the legacy host)
#   unchanged  the same run again: the tag is in the registry, nothing is built (changed=0 expected)
#   size       the image's size as podman reports it
#   verdict    verify's verdict (ok, warn, fail) from the service's ledger record
# Usage: tests/bench/corpus.sh [SERVICE...]   (default: every corpus service; the lab must be up)
set -uo pipefail
source "$(dirname "$0")/../lab/lib/common.sh"
cd "$REPO_DIR" || exit 1
export PATH=$LAB_VENV/bin:$PATH ANSIBLE_COLLECTIONS_PATH=$LAB_STATE/collections ANSIBLE_NOCOLOR=1

services=("$@")
if ((${#services[@]} == 0)); then
  mapfile -t services < <(python3 -c 'import sys, yaml; print("\n".join(s["name"] for s in yaml.safe_load(open(sys.argv[1]))))' tests/corpus/services.yml)
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
kubectl=(bash tests/lab/k8s/kubectl.sh)
ns=replatform-lab
registry=$LAB_REGISTRY

ansible-playbook playbooks/rbac.yml -e "replatform_namespace=$ns" >"$work/rbac.log" 2>&1 || { tail -20 "$work/rbac.log"; die "rbac failed"; }

run() { # run SERVICE LOG -> wall seconds
  local t0 t1
  t0=$(date +%s.%N)
  ansible-playbook playbooks/migrate.yml -e "service=$1" -e migrate_until=verify -e "replatform_work_dir=$work/mig" >"$2" 2>&1 || { tail -5 "$2" >&2; return 1; }
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc
}

forget() { # forget SERVICE: no image of it here or in the registry, no Deployment
  local ref tag digest
  for ref in $(podman images --format '{{.Repository}}:{{.Tag}}' --filter "reference=$registry/replatform/$1"); do podman rmi -f "$ref" >/dev/null 2>&1; done
  for tag in $(curl -s "http://$registry/v2/replatform/$1/tags/list" | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin).get("tags") or []))' 2>/dev/null); do
    digest=$(curl -sI -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "http://$registry/v2/replatform/$1/manifests/$tag" | awk 'tolower($1)=="docker-content-digest:" {print $2}' | tr -d '\r')
    [[ -n $digest ]] && curl -s -X DELETE "http://$registry/v2/replatform/$1/manifests/$digest" >/dev/null
  done
  "${kubectl[@]}" -n "$ns" delete deployment "$1" --ignore-not-found --wait=true >/dev/null 2>&1
  "${kubectl[@]}" -n "$ns" delete configmap "replatform-ledger-$1" --ignore-not-found >/dev/null 2>&1
}

printf '%-12s %10s %10s %9s %8s  %s\n' service "cold" "unchanged" "size MB" verdict "second run"
for svc in "${services[@]}"; do
  forget "$svc"
  cold=$(run "$svc" "$work/$svc-cold.log") || { printf '%-12s %10s\n' "$svc" "FAILED"; continue; }
  image=$(grep -oE "$registry/replatform/$svc:[0-9a-f]{12}" "$work/$svc-cold.log" | head -1)
  size=$(podman image inspect --format '{{.Size}}' "$image" 2>/dev/null | awk '{printf "%.0f", $1 / 1000000}')
  again=$(run "$svc" "$work/$svc-again.log") || { printf '%-12s %9.1fs %10s\n' "$svc" "$cold" "FAILED"; continue; }
  changed=$(awk '/ : ok=/ { for (i = 1; i <= NF; i++) if ($i ~ /^changed=/) c = c " " $1 ":" $i } END { print c }' "$work/$svc-again.log")
  verdict=$("${kubectl[@]}" -n "$ns" get configmap "replatform-ledger-$svc" -o jsonpath='{.data.record\.json}' | python3 -c 'import json,sys; print(json.load(sys.stdin).get("verify", {}).get("verdict", "-"))')
  printf '%-12s %9.1fs %9.1fs %9s %8s %s\n' "$svc" "$cold" "$again" "$size" "$verdict" "$changed"
done
