# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: pod_security_refusal
short_description: Why a namespace's Pod Security level would refuse a service's pods
version_added: 0.1.0
author:
  - Replatform Team (@replatform)
description:
  - A service that runs as a user gets pods that pass Pod Security C(restricted); one that runs as root keeps root and
    passes C(baseline) at most.
  - Returns the reason a namespace that enforces a stricter level (its C(pod-security.kubernetes.io/enforce) label)
    would refuse the pods, naming the service, the namespace and the level; empty when it admits them.
  - Used before the image is built, so that a service the namespace cannot run is refused before anything is pushed.
options:
  _input:
    description: The service profile (legacy_service_facts).
    type: dict
    required: true
  namespace:
    description: The namespace's name, for the message.
    type: str
    required: true
  labels:
    description: The namespace's labels.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Refuse a root service in a restricted namespace
  ansible.builtin.fail:
    msg: "{{ reason }}"
  vars:
    reason: "{{ profile | replatform.kubernetes.pod_security_refusal(namespace='apps', labels=ns.resources[0].metadata.labels) }}"
  when: reason | length > 0
"""

RETURN = r"""
_value:
  description: The reason, or an empty string.
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.replatform.kubernetes.plugins.module_utils._manifests import pod_security_refusal as _refusal


def pod_security_refusal(profile, namespace, labels=None):
    if not isinstance(profile, dict):
        raise AnsibleFilterError("pod_security_refusal: the input must be a service profile (a dict), got %s" % type(profile).__name__)
    return _refusal(profile, str(namespace), dict(labels or {}))


class FilterModule:
    def filters(self):
        return {"pod_security_refusal": pod_security_refusal}
