#!/usr/bin/python
# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: haproxy_shift
short_description: Give a share of a HAProxy backend's traffic to new servers, persist it, and watch a gate
version_added: 0.1.0
description:
  - Sets the weights of B(all) servers of a backend in one runtime API call, so that the new servers get
    O(percent) of the traffic and the legacy servers share the rest in proportion to their weights before
    the shift (O(base), by default the weights of the configuration).
  - Saves C(show servers state) to the server-state-file (O(state_file)) after every change, so a reload
    or restart of HAProxy keeps the weights (with C(load-server-state-from-file) in its configuration).
  - With O(watch), reads HAProxy's statistics every C(interval) seconds of O(gate) for O(watch) seconds and
    compares the new servers with the legacy ones over a sliding window (5xx share, connection and
    response errors, response time, health check). When the gate fails, all weight goes back to the
    legacy servers at once and the module fails with the reasons; RV(aborted) is true.
  - The watch fails closed. When the statistics cannot be read (the runtime socket gone, HAProxy restarting,
    an answer that does not parse), all weight goes back to the legacy servers before the module fails; when
    HAProxy refuses even that, the message says that traffic may still be on the new servers. A counter that
    goes down (a reload starts a new worker from zero) starts the window again instead of passing it.
  - Weight 0 drains a server, it does not cut it. HAProxy sends it no new requests or connections, and
    lets those in progress finish.
  - Written because M(community.general.haproxy) sets the weight of one server per call, cannot return
    weights to several servers at once when a gate fails, does not persist weights across a reload, and
    does not support check mode.
author:
  - Replatform Team (@replatform)
extends_documentation_fragment:
  - replatform.kubernetes.attributes.changes
  - replatform.kubernetes.haproxy
options:
  backend:
    description: The backend; a name HAProxy does not know fails, listing the known backends.
    type: str
    required: true
  new_servers:
    description:
      - The servers of the new platform in the backend (already in its configuration, usually with weight 0).
      - Every other server of the backend is a legacy server.
    type: list
    elements: str
    required: true
  percent:
    description:
      - The new servers' share of the backend's traffic, from 0 to 100.
      - V(0) gives the legacy servers their O(base) weights back (the rollback); V(100) drains the legacy servers.
    type: int
    required: true
  base:
    description:
      - The legacy servers' weights before the shift began, by server name (from the migration ledger).
      - Servers not named here use the weight of HAProxy's configuration.
    type: dict
  state_file:
    description: The server-state-file of HAProxy's C(global) section; written after every change when set.
    type: path
  watch:
    description: Seconds to watch the gate after the change; V(0) does not watch.
    type: float
    default: 0
  gate:
    description:
      - The gate's thresholds; missing keys take the defaults.
      - C(max_5xx_rate) (0.01), C(max_error_rate) (0.01), C(max_rtime_factor) (3.0), C(min_rtime_ms) (100),
        C(min_requests) (20), C(errors_abort_below_min) (3), C(interval) (0.5 s) and C(window) (10 s).
      - C(min_step_requests) (20) and C(wait_for_requests) (120 s). A step passes only when the new servers got
        at least C(min_step_requests) requests (sessions in TCP mode) while it was watched; when O(watch) ends
        with fewer, it is watched up to C(wait_for_requests) seconds longer, then it fails and all weight goes
        back. V(0) lets a step without traffic pass; RV(step_requests) says how many there were.
    type: dict
    default: {}
  require_up:
    description: Refuse to give traffic to a new server that does not pass HAProxy's health check.
    type: bool
    default: true
notes:
  - Needs the runtime API at level admin. Run it where that socket is (the load balancer, or the controller for a TCP socket).
  - In diff mode, the weights of the backend's servers before and after.
"""

EXAMPLES = r"""
- name: Give the cluster 5 percent of the web traffic and watch it for a minute
  replatform.kubernetes.haproxy_shift:
    socket: /run/haproxy/admin.sock
    state_file: /var/lib/haproxy/server-state
    backend: be_web
    new_servers: [k8s-web]
    percent: 5
    watch: 60

- name: Give all web traffic back to the legacy servers
  replatform.kubernetes.haproxy_shift:
    socket: /run/haproxy/admin.sock
    state_file: /var/lib/haproxy/server-state
    backend: be_web
    new_servers: [k8s-web]
    percent: 0
"""

RETURN = r"""
previous:
  description: The weights of the backend's servers before the call.
  returned: success
  type: dict
  sample: {legacy-web1: 1, legacy-web2: 1, k8s-web: 0}
weights:
  description: The weights after the call (after the abort when RV(aborted)).
  returned: success
  type: dict
  sample: {legacy-web1: 95, legacy-web2: 95, k8s-web: 10}
share:
  description: The new servers' share of traffic that RV(weights) give, in percent.
  returned: success
  type: float
base:
  description: The legacy servers' weights a rollback gives back.
  returned: success
  type: dict
aborted:
  description: Whether the gate failed and all weight went back to the legacy servers.
  returned: always
  type: bool
gate:
  description:
    - The last gate evaluation (null without O(watch)), with C(ok), C(reasons) and, for C(new) and
      C(legacy), the window's C(requests), C(5xx), C(errors), C(sessions), their rates and C(rtime).
  returned: success
  type: dict
watched:
  description: Seconds the gate was watched.
  returned: success
  type: float
window_restarts:
  description: How often the gate's window started again because HAProxy's counters went down (a reload or restart).
  returned: when watched
  type: int
step_requests:
  description: Requests (sessions in TCP mode) the new servers got while the step was watched, counters resets included.
  returned: when watched
  type: int
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.replatform.kubernetes.plugins.module_utils._common import HAPROXY_ARGSPEC, merged_argspec
from ansible_collections.replatform.kubernetes.plugins.module_utils._gate import gate_settings
from ansible_collections.replatform.kubernetes.plugins.module_utils._haproxy import RuntimeAPI
from ansible_collections.replatform.kubernetes.plugins.module_utils._shift import ERRORS, shift_step


def main() -> None:
    module = AnsibleModule(
        argument_spec=merged_argspec(HAPROXY_ARGSPEC, {
            "backend": {"type": "str", "required": True},
            "new_servers": {"type": "list", "elements": "str", "required": True},
            "percent": {"type": "int", "required": True},
            "base": {"type": "dict"},
            "state_file": {"type": "path"},
            "watch": {"type": "float", "default": 0},
            "gate": {"type": "dict", "default": {}},
            "require_up": {"type": "bool", "default": True},
        }),
        supports_check_mode=True,
    )
    p = module.params
    try:
        settings = gate_settings(p["gate"])
        base = None
        if p["base"] is not None:
            base = {str(k): int(v) for k, v in p["base"].items()}
        result = shift_step(
            RuntimeAPI(p["socket"], timeout=p["timeout"]), p["backend"], p["new_servers"], p["percent"], settings,
            base=base, watch=p["watch"], state_file=p["state_file"], require_up=p["require_up"], check_mode=module.check_mode,
        )
    except ERRORS + (ValueError, TypeError) as exc:
        module.fail_json(msg=str(exc))
    if module._diff:
        result["diff"] = {
            "before": "".join("%s %d\n" % kv for kv in sorted(result["previous"].items())),
            "after": "".join("%s %d\n" % kv for kv in sorted(result["weights"].items())),
            "before_header": "weights of %s" % p["backend"], "after_header": "weights of %s" % p["backend"],
        }
    if result["aborted"]:
        module.fail_json(msg="gate failed after %.1f s at %d%%: %s; all traffic is back on the legacy servers (%s)" % (
            result["watched"], p["percent"], "; ".join(result["gate"]["reasons"]),
            ", ".join("%s=%d" % kv for kv in sorted(result["weights"].items()))), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
