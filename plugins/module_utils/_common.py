# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Shared argument specs and the module runner that turns our exceptions into fail_json."""

from __future__ import annotations

import typing as t

# Paired with plugins/doc_fragments/haproxy.py: change both together.
HAPROXY_ARGSPEC: dict[str, dict[str, t.Any]] = {
    "socket": {"type": "str", "required": True},
    "timeout": {"type": "float", "default": 5.0},
}


def merged_argspec(*specs: dict[str, dict[str, t.Any]]) -> dict[str, dict[str, t.Any]]:
    """Merge argspec dicts; a name defined twice is a programming error."""
    merged: dict[str, dict[str, t.Any]] = {}
    for spec in specs:
        for name, option in spec.items():
            if name in merged:
                raise ValueError("option %r defined twice" % name)
            merged[name] = dict(option)
    return merged


def run(module: t.Any, action: t.Callable[[t.Any], dict[str, t.Any]], errors: tuple[type[Exception], ...]) -> None:
    """Call action(module) and exit_json with its result; the listed errors become fail_json."""
    try:
        result = action(module)
    except errors as exc:
        module.fail_json(msg=str(exc))
    else:
        module.exit_json(**result)
