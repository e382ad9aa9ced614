# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: gate_problems
short_description: What is wrong with a traffic shift's gate settings and steps
version_added: 0.1.0
author:
  - Replatform Team (@replatform)
description:
  - Checks gate thresholds (known keys, numbers, ranges) and, when given, the steps (percentages from 1 to 100,
    strictly increasing) with the same code M(replatform.kubernetes.haproxy_shift) uses, so a bad value is
    refused before any change, in the same words.
  - Returns one message per problem, each naming its field (with O(prefix)); empty when all is well.
options:
  _input:
    description: The gate settings.
    type: raw
    required: true
  steps:
    description: The steps, checked too when given.
    type: raw
  prefix:
    description: Put before each field name (C(shift_traffic_) gives C(shift_traffic_gate.window)).
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Refuse bad gate settings before anything changes
  ansible.builtin.fail:
    msg: "{{ problems | join('; ') }}"
  vars:
    problems: "{{ replatform_shift_gate | replatform.kubernetes.gate_problems(steps=replatform_shift_steps, prefix='replatform_shift_') }}"
  when: problems | length > 0
"""

RETURN = r"""
_value:
  description: One message per problem.
  type: list
  elements: str
"""

from ansible_collections.replatform.kubernetes.plugins.module_utils._gate import problems


class FilterModule:
    def filters(self):
        return {"gate_problems": problems}
