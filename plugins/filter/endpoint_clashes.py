# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: endpoint_clashes
short_description: The services of replatform_services a service cannot share its new_endpoint with
version_added: 0.1.0
author:
  - Replatform Team (@replatform)
description:
  - HTTP services (those with an C(http_path) and C(dns_names)) may share the cluster's entry point, an
    Ingress or Gateway controller that routes by the Host header, unless two of them claim the same host name.
  - Any other service (SMTP, TCP) owns its C(new_endpoint) (a node port or a TCP entry point); a second
    service there is a clash.
  - Returns one message per clash, naming the field and the other service; empty when there is none.
options:
  _input:
    description: replatform_services, service name to its entry.
    type: dict
    required: true
  name:
    description: The service to check.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Refuse a service whose entry point another service already uses
  ansible.builtin.fail:
    msg: "{{ clashes | join('; ') }}"
  vars:
    clashes: "{{ replatform_services | replatform.kubernetes.endpoint_clashes(service) }}"
  when: clashes | length > 0
"""

RETURN = r"""
_value:
  description: One message per clash.
  type: list
  elements: str
"""

from ansible_collections.replatform.kubernetes.plugins.module_utils._endpoints import endpoint_clashes


class FilterModule:
    def filters(self):
        return {"endpoint_clashes": endpoint_clashes}
