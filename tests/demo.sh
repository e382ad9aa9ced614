#!/usr/bin/env bash
# make demo: install what is missing, bring the lab up, and migrate the lab's web service (nginx on
# legacy-web1/2) end to end with the collection's main job, replatform.kubernetes.migrate:
# discover -> containerize -> deploy -> verify -> shift traffic (gated steps) -> DNS cutover.
# Then print the service's ledger record, stage by stage. Give it back with
#   ansible-playbook -i inventories/lab replatform.kubernetes.rollback -e service=web
set -euo pipefail
source "$(dirname "$0")/lab/lib/common.sh"
cd "$REPO_DIR" || exit 1
bash tests/lab/lab.sh up
export ANSIBLE_COLLECTIONS_PATH=$LAB_STATE/collections
playbook=("$LAB_VENV/bin/ansible-playbook" -i inventories/lab)
"${playbook[@]}" replatform.kubernetes.rbac
"${playbook[@]}" replatform.kubernetes.migrate -e service=web
echo
echo "== the ledger of web (ConfigMap replatform-ledger-web in namespace replatform-lab): what happened, in order"
bash tests/lab/k8s/kubectl.sh -n replatform-lab get configmap replatform-ledger-web -o jsonpath='{.data.record\.json}' |
  python3 -c 'import json, sys
r = json.load(sys.stdin)
for e in r.get("history", []):
    print("  %s  %-12s %s" % (e["time"], e["stage"], e["event"]))
print("now: stage %s, image %s, %s%% of be_web on %s" % (r.get("stage"), r.get("image"),
      r.get("haproxy", {}).get("percent", 0), r.get("haproxy", {}).get("new_server")))'
