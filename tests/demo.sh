#!/usr/bin/env bash
# make demo: install what is missing, bring the lab up, run the collection's main job against it.
# At this stage the main job is the smoke playbook (real cluster, HAProxy, DNS and legacy hosts);
# later it becomes the full migration (playbooks/migrate.yml).
set -euo pipefail
source "$(dirname "$0")/lab/lib/common.sh"
cd "$REPO_DIR" || exit 1
bash tests/lab/lab.sh up
export ANSIBLE_COLLECTIONS_PATH=$LAB_STATE/collections
"$LAB_VENV/bin/ansible-playbook" -i inventories/lab replatform.kubernetes.smoke
