# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Captures from the lab's legacy hosts, shared by the unit tests (fixtures/ holds the raw text)."""

from __future__ import annotations

import os

from ansible_collections.replatform.kubernetes.plugins.module_utils import _discovery as d

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")

API_KEY = "esp_live_7f3c9a1e5b2d4c8f90ab1c2d3e4f5a6b"
DB_PASSWORD = "Wint3r-Relay-2019!"
HMAC_SECRET = "9c41d7e2b86a4f05a3e1c7d9f02b6e84d5a1c3f7e9b2d4a6"
SASL_PASSWORD = "Rl4y-Xq93-mT7w-2019"


def fixture(name: str) -> str:
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as f:
        return f.read()


def esp_api_raw() -> dict:
    return {
        "requested": "esp-api",
        "unit": "esp-api.service",
        "show": fixture("web1_systemctl_show_esp-api.txt"),
        "cat": fixture("web1_systemctl_cat_esp-api.txt"),
        "ss": fixture("web1_ss_ltnupH.txt"),
        "pids": d.parse_pids(fixture("web1_cgroup_procs_esp-api.txt")),
        "pid_source": "cgroup",
        "dpkg_search": {"stdout": fixture("web1_dpkg_S_esp-api.stdout"), "stderr": fixture("web1_dpkg_S_esp-api.stderr")},
        "dpkg_status": fixture("web1_dpkg_query_status.txt"),
        "executables": ["/usr/bin/python3", "/usr/bin/python3.11"],
        "files": {
            "/etc/esp-api/esp-api.conf": {"source": "exec_start", "text": fixture("web1_esp-api.conf")},
            "/etc/default/esp-api": {"source": "environment_file", "text": fixture("web1_default_esp-api")},
        },
        "paths": {
            "/var/log/esp-api": {"exists": True, "is_dir": True},
            "/var/log/esp-api/access.log": {"exists": True, "is_dir": False},
            "/var/lib/esp-api": {"exists": True, "is_dir": True, "owner": "espapi", "group": "espapi", "mode": 0o750},
            "/opt/esp-api": {"exists": True, "is_dir": True, "owner": "root", "group": "root", "mode": 0o755},
        },
    }


def esp_api_profile() -> dict:
    """The esp-api profile as legacy-service_facts builds it on legacy-web1."""
    return d.build_profile(esp_api_raw())
