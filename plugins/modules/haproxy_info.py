#!/usr/bin/python
# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: haproxy_info
short_description: Read backends, servers, weights and health from HAProxy's runtime API
version_added: 0.1.0
description:
  - Reads C(show stat) and C(show servers state) over HAProxy's runtime API and returns, per backend,
    each server's state, current and initial weight, health check status and traffic counters.
  - Written because M(community.general.haproxy) changes one server at a time and returns no weights or
    statistics; the traffic shift and its gate need both.
author:
  - Replatform Team (@replatform)
extends_documentation_fragment:
  - replatform.kubernetes.haproxy
  - replatform.kubernetes.attributes
options:
  backends:
    description:
      - Only return these backends. All backends when empty.
      - A name that HAProxy does not know fails the module, with the known names in the message.
    type: list
    elements: str
    default: []
  servers_state:
    description:
      - Also return the text of C(show servers state), as HAProxy's server-state-file holds it, in
        RV(servers_state); write it to that file (M(ansible.builtin.copy)) before a reload so the reload
        keeps runtime weights.
    type: bool
    default: false
notes:
  - Reads only; it never changes HAProxy.
"""

EXAMPLES = r"""
- name: Read the web backend
  replatform.kubernetes.haproxy_info:
    socket: /run/haproxy/admin.sock
    backends: [be_web]
  register: lb

- name: Show the weight of each web server
  ansible.builtin.debug:
    msg: "{{ lb.backends.be_web.servers | dict2items | map(attribute='value.weight') }}"
"""

RETURN = r"""
servers_state:
  description: The text of C(show servers state) (format version 1), when O(servers_state) is true.
  returned: when O(servers_state) is true
  type: str
backends:
  description: Backends by name.
  returned: success
  type: dict
  contains:
    status:
      description: Backend status (C(UP) or C(DOWN)).
      type: str
    weight:
      description: Sum of the weights of the backend's active servers.
      type: int
    mode:
      description: C(http) or C(tcp).
      type: str
    servers:
      description: Servers by name.
      type: dict
      contains:
        status:
          description: C(UP), C(DOWN), C(MAINT), C(DRAIN), C(NOLB) and transitions such as C(UP 1/2).
          type: str
        weight:
          description: Current (runtime) weight.
          type: int
        initial_weight:
          description: Weight from the configuration.
          type: int
        address:
          description: C(ip:port) of the server.
          type: str
        check_status:
          description: Last health check result (for example C(L7OK), C(L4CON)).
          type: str
        current_sessions:
          description: Sessions open now.
          type: int
        total_sessions:
          description: Sessions since start.
          type: int
        hrsp_5xx:
          description: HTTP 5xx responses since start (None in TCP mode).
          type: int
        connection_errors:
          description: Failed connections to the server.
          type: int
        response_errors:
          description: Failed or aborted responses from the server.
          type: int
        response_time_ms:
          description: Average response time over the last 1024 requests.
          type: int
  sample:
    be_web:
      status: UP
      weight: 200
      mode: http
      servers:
        legacy-web1:
          status: UP
          weight: 100
          initial_weight: 100
          address: 10.0.0.11:80
          check_status: L7OK
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.replatform.kubernetes.plugins.module_utils._common import HAPROXY_ARGSPEC, merged_argspec, run
from ansible_collections.replatform.kubernetes.plugins.module_utils._haproxy import HAProxyError, RuntimeAPI, parse_servers_state, read_backends


def main() -> None:
    module = AnsibleModule(
        argument_spec=merged_argspec(HAPROXY_ARGSPEC, {
            "backends": {"type": "list", "elements": "str", "default": []},
            "servers_state": {"type": "bool", "default": False},
        }),
        supports_check_mode=True,
    )
    api = RuntimeAPI(module.params["socket"], timeout=module.params["timeout"])

    def action(m: AnsibleModule) -> dict:
        result = {"changed": False, "backends": read_backends(api, m.params["backends"])}
        if m.params["servers_state"]:
            text = api.command("show servers state")
            parse_servers_state(text)
            result["servers_state"] = text if text.endswith("\n") else text + "\n"
        return result

    run(module, action, (HAProxyError,))


if __name__ == "__main__":
    main()
