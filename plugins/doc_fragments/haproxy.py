# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # Paired with HAPROXY_ARGSPEC in plugins/module_utils/_common.py: change both together.
    DOCUMENTATION = r"""
options:
  socket:
    description:
      - Address of HAProxy's runtime API (C(stats socket ... level admin) in its C(global) section).
      - An absolute path for a UNIX socket, or C(host:port) for a TCP socket.
    type: str
    required: true
  timeout:
    description:
      - Seconds to wait for HAProxy to answer one command.
    type: float
    default: 5.0
"""
