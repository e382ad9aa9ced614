# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Which services of replatform_services may share a new_endpoint (the cluster's entry point).

An Ingress/Gateway controller routes HTTP by the Host header, so HTTP services (those with an
http_path) share its address and port as long as no host name is claimed twice. Every other service
(SMTP, TCP) owns its address and port (a node port, a TCP entry point): a second one there would get
the first one's traffic.
"""

from __future__ import annotations

import typing as t


def _names(entry: dict[str, t.Any]) -> set[str]:
    return {str(n).lower().rstrip(".") for n in entry.get("dns_names") or []}


def _routed_by_host(entry: dict[str, t.Any]) -> bool:
    return "http_path" in entry and bool(_names(entry))


def _clash(entry: dict[str, t.Any], other: dict[str, t.Any]) -> str:
    """Why two services on one endpoint clash, or '' when the entry point tells them apart by host name."""
    if not (_routed_by_host(entry) and _routed_by_host(other)):
        return "two services on one address and port would get each other's traffic (only HTTP services with dns_names share one)"
    common = sorted(_names(entry) & _names(other))
    return "both claim the host name %s" % ", ".join(common) if common else ""


def endpoint_clashes(services: dict[str, dict[str, t.Any]], name: str) -> list[str]:
    """One message per other service whose new_endpoint the service named cannot share."""
    entry = (services or {}).get(name) or {}
    endpoint = str(entry.get("new_endpoint") or "")
    if not endpoint:
        return []
    found = []
    for other_name in sorted(services):
        other = services[other_name] or {}
        if other_name == name or str(other.get("new_endpoint") or "") != endpoint:
            continue
        reason = _clash(entry, other)
        if reason:
            found.append("replatform_services.%s.new_endpoint: %s is also the new_endpoint of %s: %s" % (name, endpoint, other_name, reason))
    return found
