# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.replatform.kubernetes.plugins.module_utils._common import HAPROXY_ARGSPEC, merged_argspec


def test_merged_argspec_copies_options():
    merged = merged_argspec(HAPROXY_ARGSPEC, {"backends": {"type": "list"}})
    assert sorted(merged) == ["backends", "socket", "timeout"]
    merged["socket"]["required"] = False
    assert HAPROXY_ARGSPEC["socket"]["required"] is True


def test_merged_argspec_refuses_duplicates():
    with pytest.raises(ValueError, match="'socket' defined twice"):
        merged_argspec(HAPROXY_ARGSPEC, {"socket": {"type": "str"}})
