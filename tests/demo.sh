#!/usr/bin/env bash
# make demo: install what is missing, bring the lab up, and migrate the lab's web service (nginx on
# legacy-web1/2) and its mail service (postfix on legacy-mail1) end to end with the collection's main
# job, replatform.kubernetes.migrate: discover -> containerize -> deploy -> verify -> shift traffic
# (gated steps) -> DNS cutover. Their pods run on the lab's real node (lab-node-0); HAProxy sends web's
# traffic to Traefik and mail's to its node port. Then print the pods and each service's ledger record,
# stage by stage. Give them back with
#   ansible-playbook -i inventories/lab replatform.kubernetes.rollback -e service=web   (and service=mail)
set -euo pipefail
source "$(dirname "$0")/lab/lib/common.sh"
cd "$REPO_DIR" || exit 1
bash tests/lab/lab.sh up
export ANSIBLE_COLLECTIONS_PATH=$LAB_STATE/collections
playbook=("$LAB_VENV/bin/ansible-playbook" -i inventories/lab)
"${playbook[@]}" replatform.kubernetes.rbac
for service in web mail; do
  "${playbook[@]}" replatform.kubernetes.migrate -e service="$service"
done
echo
echo "== the pods (on the real node, lab-node-0)"
bash tests/lab/k8s/kubectl.sh -n replatform-lab get pods -o wide -l 'replatform.kubernetes/service in (web, mail)'
for service in web mail; do
  echo
  echo "== the ledger of $service (ConfigMap replatform-ledger-$service in namespace replatform-lab): what happened, in order"
  bash tests/lab/k8s/kubectl.sh -n replatform-lab get configmap "replatform-ledger-$service" -o jsonpath='{.data.record\.json}' |
    python3 -c 'import json, sys
r = json.load(sys.stdin)
for e in r.get("history", []):
    print("  %s  %-12s %s" % (e["time"], e["stage"], e["event"]))
print("now: stage %s, image %s, %s%% of %s on %s" % (r.get("stage"), r.get("image"), r.get("haproxy", {}).get("percent", 0),
      r.get("haproxy", {}).get("backend"), r.get("haproxy", {}).get("new_server")))'
done
