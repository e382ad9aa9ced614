#!/usr/bin/env bash
# Figures for discover -> containerize -> deploy of each lab service (printed, never asserted):
#   cold       no local image layers, tag not in the registry, no Deployment: the whole migrate run,
#              the containerize role (build, validate, push) and the deploy role (apply + rollout to
#              Available on the lab's kwok nodes)
#   warm       rebuild of the same context with the layer cache (replatform_force_build=true)
#   unchanged  a second run: the tag is in the registry, nothing is built (the whole run and the role)
#   size       the image's size as podman reports it
# Usage: tests/bench/containerize.sh [SERVICE...]   (default: web api tracker mail; the lab must be up)
set -uo pipefail
source "$(dirname "$0")/../lab/lib/common.sh"
cd "$REPO_DIR" || exit 1
export PATH=$LAB_VENV/bin:$PATH ANSIBLE_COLLECTIONS_PATH=$LAB_STATE/collections ANSIBLE_NOCOLOR=1
export ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_roles

services=("$@")
((${#services[@]})) || services=(web api tracker mail)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
kubectl=(bash tests/lab/k8s/kubectl.sh)
ns=replatform-lab
registry=$LAB_REGISTRY

ansible-playbook playbooks/rbac.yml -e "replatform_namespace=$ns" >"$work/rbac.log" 2>&1 || { tail -20 "$work/rbac.log"; die "rbac failed"; }

role_time() { # role_time LOG ROLE -> seconds the role took (profile_roles)
  awk -v r="$2" '$1 == r && $NF ~ /s$/ { sub(/s$/, "", $NF); print $NF }' "$1" | tail -1
}
migrate() { # migrate SERVICE LOG [extra args] -> wall seconds
  local t0 t1
  t0=$(date +%s.%N)
  ansible-playbook playbooks/migrate.yml -e "service=$1" -e migrate_until=deploy -e "replatform_work_dir=$work/mig" "${@:3}" >"$2" 2>&1 || { tail -30 "$2" >&2; return 1; }
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc
}

printf '%-8s %10s %12s %10s %10s %12s %12s %9s\n' service "cold run" containerize "deploy" "warm build" "unchanged" "(role)" "size MB"
for svc in "${services[@]}"; do
  # Cold: no image of the service, here or in the registry, and no Deployment.
  for ref in $(podman images --format '{{.Repository}}:{{.Tag}}' --filter "reference=$registry/replatform/$svc"); do
    podman rmi -f "$ref" >/dev/null 2>&1
  done
  podman image prune -f >/dev/null 2>&1
  for tag in $(curl -s "http://$registry/v2/replatform/$svc/tags/list" | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin).get("tags") or []))' 2>/dev/null); do
    digest=$(curl -sI -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "http://$registry/v2/replatform/$svc/manifests/$tag" | awk 'tolower($1)=="docker-content-digest:" {print $2}' | tr -d '\r')
    [[ -n $digest ]] && curl -s -X DELETE "http://$registry/v2/replatform/$svc/manifests/$digest" >/dev/null
  done
  "${kubectl[@]}" -n "$ns" delete deployment "$svc" --ignore-not-found --wait=true >/dev/null 2>&1

  cold=$(migrate "$svc" "$work/$svc-cold.log") || { echo "$svc: cold run failed"; continue; }
  c_role=$(role_time "$work/$svc-cold.log" containerize)
  d_role=$(role_time "$work/$svc-cold.log" deploy)
  image=$(grep -oE "$registry/replatform/$svc:[0-9a-f]{12}" "$work/$svc-cold.log" | head -1)
  size=$(podman image inspect --format '{{.Size}}' "$image" 2>/dev/null | awk '{printf "%.0f", $1 / 1000000}')
  migrate "$svc" "$work/$svc-warm.log" -e replatform_force_build=true >/dev/null || { echo "$svc: warm run failed"; continue; }
  w_role=$(role_time "$work/$svc-warm.log" containerize)
  unchanged=$(migrate "$svc" "$work/$svc-again.log") || { echo "$svc: unchanged run failed"; continue; }
  u_role=$(role_time "$work/$svc-again.log" containerize)
  changed=$(awk '/^localhost/ { for (i = 1; i <= NF; i++) if ($i ~ /^changed=/) print $i }' "$work/$svc-again.log")
  printf '%-8s %9.1fs %11.1fs %9.1fs %9.1fs %11.1fs %11.1fs %9s   %s (%s)\n' "$svc" "$cold" "$c_role" "$d_role" "$w_role" "$unchanged" "$u_role" "$size" "$image" "$changed"
done
