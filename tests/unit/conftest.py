# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Make ``ansible_collections.replatform.kubernetes`` importable when pytest runs from the checkout."""

from __future__ import annotations

import os
import sys

_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
_COLLECTIONS = os.path.join(_ROOT, ".lab", "collections")

if os.path.basename(os.path.dirname(os.path.dirname(_ROOT))) == "ansible_collections":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(_ROOT))))
elif os.path.isdir(_COLLECTIONS):
    sys.path.insert(0, _COLLECTIONS)
