#!/usr/bin/python
# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: migration_lock
short_description: Take, renew or give back the lock of a service's migration (a Lease in the migration namespace)
version_added: 0.1.0
description:
  - One run at a time may change a service. The lock is the coordination.k8s.io/v1 Lease
    C(replatform-lock-<service>) in O(namespace); its holder is the run's id (O(holder)), the AWX job and the
    playbook are annotations, and a run renews it at every stage.
  - With O(state=present), takes the lock, or renews it when O(holder) holds it already. Another run's lock is
    refused, saying who holds it, since when and until when, unless O(break_reason) is given (it is returned in
    RV(broken), for the ledger). A lock not renewed within its duration is stale (its run is gone); O(break_stale)
    breaks such a lock without a reason (the rollback playbook uses it).
  - With O(state=absent), gives the lock back when O(holder) holds it; another run's lock is left alone.
  - Every write carries the Lease's resourceVersion, so of two runs that read the same Lease only one gets it.
  - Written because M(kubernetes.core.k8s) cannot create an object only if it is absent or replace it only if
    it is unchanged, which is what a lock needs.
author:
  - Replatform Team (@replatform)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
options:
  service:
    description: The service (its name in C(replatform_services)).
    type: str
    required: true
  namespace:
    description: The migration namespace.
    type: str
    required: true
  holder:
    description: The run's id (letters, digits and C(-_.:@)); the same for every task of one run.
    type: str
    required: true
  job:
    description: The AWX job id, when run from AWX.
    type: str
    default: ""
  playbook:
    description: What holds the lock (C(migrate), C(rollback)), shown to a run that is refused.
    type: str
    default: ""
  duration:
    description: Seconds the lock holds without a renewal (60 to 86400).
    type: int
    default: 1800
  break_reason:
    description: Why another run's lock may be broken. Without it another run's lock is refused.
    type: str
    default: ""
  break_stale:
    description: Break another run's lock without a reason when it is stale (not renewed within its duration).
    type: bool
    default: false
  state:
    description: V(present) takes or renews the lock, V(absent) gives it back.
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    description: Reads the lock and refuses as a real run would; takes or gives back nothing.
    support: full
  diff_mode:
    description: Not supported.
    support: none
notes:
  - The ServiceAccount needs get, create, update and delete on leases in the namespace
    (C(extensions/kubernetes/rbac.yml.j2)).
requirements:
  - kubernetes >= 24.2.0
seealso:
  - module: kubernetes.core.k8s
"""

EXAMPLES = r"""
- name: Take the lock of web for this run
  replatform.kubernetes.migration_lock:
    kubeconfig: "{{ replatform_kubeconfig }}"
    namespace: replatform
    service: web
    holder: "{{ replatform_run_id }}"
    job: "{{ awx_job_id | default('') }}"
    playbook: migrate
"""

RETURN = r"""
action:
  description: C(create), C(renew), C(take) (another run's lock, broken), C(release), C(none) (not ours or not there).
  returned: success
  type: str
holder:
  description: Who holds the lock now (C(holder), C(job), C(playbook), C(since), C(renewed), C(expires)); null when free.
  returned: success
  type: dict
broken:
  description: The lock that was broken (its holder, job, playbook, since, renewed, expires, C(stale), C(reason)); null when none.
  returned: success
  type: dict
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

from ansible_collections.replatform.kubernetes.plugins.module_utils._lock import LockError, check, decide, holder_of, lease_body, lease_name


def _public(who: dict | None) -> dict | None:
    return {k: v for k, v in who.items() if not k.startswith("_")} if who else None


def _read(client, resource, namespace: str, name: str) -> dict | None:
    try:
        return client.get(resource, name=name, namespace=namespace).to_dict()
    except NotFoundError:
        return None


def _acquire(module, client, resource, p: dict, lease: dict | None) -> dict:
    now = _dt.datetime.now(_dt.timezone.utc)
    plan = decide(lease, p["holder"], now, p["break_reason"], p["break_stale"], p["service"])
    if plan["action"] == "refuse":
        module.fail_json(msg=plan["msg"], holder=_public(holder_of(lease)), action="refuse")
    body = lease_body(p["service"], p["namespace"], p["holder"], p["job"], p["playbook"], p["duration"], now, lease)
    result = {"changed": True, "action": plan["action"], "broken": plan["broken"], "holder": _public(holder_of(body))}
    if module.check_mode:
        return result
    try:
        if lease is None:
            client.create(resource, body, namespace=p["namespace"])
        else:
            client.replace(resource, body, name=body["metadata"]["name"], namespace=p["namespace"])
    except ConflictError:
        module.fail_json(msg="service %s: another run took or changed the lock between reading and writing it; nothing was "
                         "changed, run again" % p["service"], action="refuse")
    return result


def _release(module, client, resource, p: dict, lease: dict | None) -> dict:
    who = holder_of(lease)
    if lease is None or who is None or who["holder"] != p["holder"]:
        return {"changed": False, "action": "none", "broken": None, "holder": _public(who)}
    if not module.check_mode:
        try:
            client.delete(resource, name=lease["metadata"]["name"], namespace=p["namespace"],
                          body={"preconditions": {"resourceVersion": lease["metadata"]["resourceVersion"]}})
        except (ConflictError, NotFoundError):
            return {"changed": False, "action": "none", "broken": None, "holder": None}
    return {"changed": True, "action": "release", "broken": None, "holder": None}


def main() -> None:
    argument_spec = dict(
        AUTH_ARG_SPEC,
        service={"type": "str", "required": True},
        namespace={"type": "str", "required": True},
        holder={"type": "str", "required": True},
        job={"type": "str", "default": ""},
        playbook={"type": "str", "default": ""},
        duration={"type": "int", "default": 1800},
        break_reason={"type": "str", "default": ""},
        break_stale={"type": "bool", "default": False},
        state={"type": "str", "choices": ["present", "absent"], "default": "present"},
    )
    module = AnsibleK8SModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    try:
        check(p["holder"], p["duration"], p["break_reason"])
    except LockError as exc:
        module.fail_json(msg=str(exc))
    try:
        client = get_api_client(module)
        resource = client.resource("Lease", "coordination.k8s.io/v1")
        lease = _read(client, resource, p["namespace"], lease_name(p["service"]))
        action = _acquire if p["state"] == "present" else _release
        module.exit_json(**action(module, client, resource, p, lease))
    except CoreException as exc:
        module.fail_from_exception(exc)
    except Exception as exc:  # pylint: disable=broad-except  # the API's errors (unreachable, forbidden) end the task, named
        module.fail_json(msg="service %s: the lock (Lease %s in namespace %s) cannot be read or written: %s"
                         % (p["service"], lease_name(p["service"]), p["namespace"], str(exc).splitlines()[0][:300]))


if __name__ == "__main__":
    main()
