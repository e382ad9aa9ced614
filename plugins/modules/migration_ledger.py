#!/usr/bin/python
# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: migration_ledger
short_description: Read a service's migration record, or merge an update into it and write it, in one call
version_added: 0.1.0
description:
  - The ledger is one ConfigMap per service, C(replatform-ledger-<service>), in the migration namespace; its key
    C(record.json) holds the record (stage, image, HAProxy and DNS state to roll back to, gate results, history).
  - With O(state=read), returns the record. A record that is not JSON or whose fields are not what this collection
    writes is not used; RV(problems) names each field, and RV(usable) is false.
  - With O(state=write), reads the record, merges O(update) into it (mappings recursively, anything else
    replaced), appends O(event) to its history and writes it with the ConfigMap's resourceVersion as a
    precondition. When another writer changed it in between, it reads and merges again (up to three times), so
    no update is lost and none is silently overwritten. An update that changes no field writes nothing.
  - Refuses to write over a record that is not usable (the evidence stays for a person to look at).
  - Written because M(kubernetes.core.k8s) applies a whole object (the last writer wins) and cannot merge into a
    JSON value or write only if the object is unchanged.
author:
  - Replatform Team (@replatform)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
options:
  service:
    description: The service (a DNS label, the key of C(replatform_services)).
    type: str
    required: true
  namespace:
    description: The migration namespace.
    type: str
    required: true
  state:
    description: V(read) or V(write).
    type: str
    choices: [read, write]
    default: read
  update:
    description: What to merge into the record (O(state=write)).
    type: dict
    default: {}
  event:
    description: A line for the record's history, written with the update (O(state=write)).
    type: str
    default: ""
  job:
    description: The AWX job id, kept with the event.
    type: str
    default: ""
  history_max:
    description: How many history events the record keeps.
    type: int
    default: 50
attributes:
  check_mode:
    description: Reads, and says whether a write would change the record; writes nothing.
    support: full
  diff_mode:
    description: The record before and after a write.
    support: full
requirements:
  - kubernetes >= 24.2.0
seealso:
  - module: kubernetes.core.k8s
"""

EXAMPLES = r"""
- name: Record the step in the ledger
  replatform.kubernetes.migration_ledger:
    kubeconfig: "{{ replatform_kubeconfig }}"
    namespace: replatform
    service: web
    state: write
    update: {haproxy: {percent: 5}}
    event: 5% on k8s-web, gate ok
"""

RETURN = r"""
record:
  description: The record (as written, for a write); empty when there is none or it is not usable.
  returned: success
  type: dict
usable:
  description: False when the record holds something this collection does not write (see RV(problems)).
  returned: success
  type: bool
problems:
  description: What in the record is not usable, one message per field.
  returned: success
  type: list
  elements: str
resource_version:
  description: The ConfigMap's resourceVersion after the call (empty when there is none).
  returned: success
  type: str
"""

import datetime as _dt

try:
    from kubernetes.dynamic.exceptions import ConflictError, NotFoundError
except ImportError:  # pragma: no cover - reported by AnsibleK8SModule
    ConflictError = NotFoundError = Exception

from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException

from ansible_collections.replatform.kubernetes.plugins.module_utils import _ledger

_TRIES = 3


def _read(client, resource, p: dict) -> tuple[dict | None, dict, list]:
    """(the ConfigMap or None, the record, problems)."""
    try:
        obj = client.get(resource, name=_ledger.name(p["service"]), namespace=p["namespace"]).to_dict()
    except NotFoundError:
        return None, {}, []
    record, found = _ledger.parse(((obj.get("data") or {}).get(_ledger.KEY)))
    return obj, record, found


def _body(p: dict, record: dict, obj: dict | None) -> dict:
    metadata = {
        "name": _ledger.name(p["service"]), "namespace": p["namespace"],
        "labels": {"app.kubernetes.io/managed-by": "replatform.kubernetes", "replatform.kubernetes/service": p["service"],
                   "replatform.kubernetes/ledger": "true"},
    }
    if obj is not None:
        metadata["resourceVersion"] = obj["metadata"]["resourceVersion"]
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": {_ledger.KEY: _ledger.dump(record)}}


def _write(module, client, resource, p: dict) -> dict:
    for _attempt in range(_TRIES):
        obj, record, found = _read(client, resource, p)
        if found:
            module.fail_json(msg="ledger: the record of %s (ConfigMap %s) is not usable, so it is not written over: %s"
                             % (p["service"], _ledger.name(p["service"]), "; ".join(found)), problems=found, usable=False)
        now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        nxt, changed = _ledger.next_record(record, p["service"], p["update"], p["event"], p["job"], now, p["history_max"])
        bad = _ledger.problems(nxt)
        if bad:
            module.fail_json(msg="ledger: update: %s; nothing was written" % "; ".join(bad), problems=bad, usable=True)
        result = {"changed": changed, "record": nxt, "usable": True, "problems": [],
                  "resource_version": (obj or {}).get("metadata", {}).get("resourceVersion", "")}
        if module._diff:
            result["diff"] = {"before": _ledger.dump(record) + "\n", "after": _ledger.dump(nxt) + "\n"}
        if not changed or module.check_mode:
            return result
        try:
            if obj is None:
                written = client.create(resource, _body(p, nxt, None), namespace=p["namespace"])
            else:
                written = client.replace(resource, _body(p, nxt, obj), name=_ledger.name(p["service"]), namespace=p["namespace"])
        except ConflictError:
            continue  # someone wrote in between: read and merge again
        result["resource_version"] = written.metadata.resourceVersion
        return result
    module.fail_json(msg="ledger: the record of %s changed %d times while it was being written; nothing was written, run again"
                     % (p["service"], _TRIES))
    return {}


def main() -> None:
    argument_spec = dict(
        AUTH_ARG_SPEC,
        service={"type": "str", "required": True},
        namespace={"type": "str", "required": True},
        state={"type": "str", "choices": ["read", "write"], "default": "read"},
        update={"type": "dict", "default": {}},
        event={"type": "str", "default": ""},
        job={"type": "str", "default": ""},
        history_max={"type": "int", "default": 50},
    )
    module = AnsibleK8SModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    try:
        client = get_api_client(module)
        resource = client.resource("ConfigMap", "v1")
        if p["state"] == "write":
            module.exit_json(**_write(module, client, resource, p))
        obj, record, found = _read(client, resource, p)
        module.exit_json(changed=False, record=record, usable=not found, problems=found,
                         resource_version=(obj or {}).get("metadata", {}).get("resourceVersion", ""))
    except CoreException as exc:
        module.fail_from_exception(exc)
    except Exception as exc:  # pylint: disable=broad-except  # the API's errors (unreachable, forbidden) end the task, named
        module.fail_json(msg="ledger: the record of %s (ConfigMap %s in namespace %s) cannot be read or written: %s"
                         % (p["service"], _ledger.name(p["service"]), p["namespace"], str(exc).splitlines()[0][:300]))


if __name__ == "__main__":
    main()
