# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: redact_values
short_description: Mask known secret values in a text before it is shown
version_added: 0.1.0
author:
  - Replatform Team (@replatform)
description:
  - Replaces every occurrence of each of O(values) (and of each word of at least 8 characters in O(files), the
    contents of files that hold secrets, but plain lower-case words of up to 12 letters) in the input by C(***).
  - Used before a program's own output (the last lines of a container that did not answer) is put into an error
    message, since a service may print its configuration, secrets included.
options:
  _input:
    description: The text.
    type: str
    required: true
  values:
    description: Secret values to mask.
    type: list
    elements: str
    default: []
  files:
    description: Contents of files that hold secrets; each of their words of 8 or more characters is masked.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Show a container's output without the service's secrets
  ansible.builtin.debug:
    msg: "{{ logs.stdout | replatform.kubernetes.redact_values(values=secret_env.values() | list) }}"
"""

RETURN = r"""
_value:
  description: The text with the values masked.
  type: str
"""

import re


def redact_values(text, values=(), files=()):
    words = [str(v) for v in values or () if v and len(str(v)) >= 4]
    for content in files or ():
        # Every word that can be a credential; short plain lower-case words (names, keys) are left, so the text stays readable.
        words += [w for w in re.split(r"[\s=:,;\"'<>/@\[\]]+", str(content)) if len(w) >= 8 and not re.fullmatch(r"[a-z_.-]{8,12}", w)]
    text = str(text)
    for word in sorted(set(words), key=len, reverse=True):
        text = text.replace(word, "***")
    return text


class FilterModule:
    def filters(self):
        return {"redact_values": redact_values}
