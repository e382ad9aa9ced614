# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from ansible_collections.replatform.kubernetes.plugins.module_utils._endpoints import endpoint_clashes

ENTRY = "10.0.0.1:8000"
SERVICES = {
    "web": {"http_path": "/healthz", "dns_names": ["www.example.com"], "new_endpoint": ENTRY},
    "api": {"http_path": "/healthz", "dns_names": ["api.example.com"], "new_endpoint": ENTRY},
    "mail": {"new_endpoint": "10.0.0.1:30025"},
    "ftp": {"tcp_probe": {"send": "", "expect": "^220"}, "new_endpoint": "10.0.0.1:30021"},
}


def test_http_services_share_the_entry_point_by_host_name():
    assert endpoint_clashes(SERVICES, "web") == []
    assert endpoint_clashes(SERVICES, "api") == []


def test_a_host_name_claimed_twice_is_a_clash():
    services = dict(SERVICES, shop={"http_path": "/", "dns_names": ["WWW.example.com.", "shop.example.com"], "new_endpoint": ENTRY})
    assert endpoint_clashes(services, "shop") == ["replatform_services.shop.new_endpoint: 10.0.0.1:8000 is also the new_endpoint of web: "
                                                  "both claim the host name www.example.com"]


def test_a_tcp_service_owns_its_endpoint():
    services = dict(SERVICES, redis={"tcp_probe": {}, "new_endpoint": "10.0.0.1:30025"})
    message = endpoint_clashes(services, "redis")
    assert len(message) == 1 and message[0].startswith("replatform_services.redis.new_endpoint: 10.0.0.1:30025 is also the new_endpoint of mail: ")
    assert "would get each other's traffic" in message[0]


def test_http_without_host_names_cannot_share():
    services = dict(SERVICES, bare={"http_path": "/", "new_endpoint": ENTRY})
    assert [m.split(" of ")[1].split(":")[0] for m in endpoint_clashes(services, "bare")] == ["api", "web"]


def test_http_on_a_tcp_services_endpoint_clashes():
    services = dict(SERVICES, tracker={"http_path": "/", "dns_names": ["click.example.com"], "new_endpoint": "10.0.0.1:30025"})
    assert "new_endpoint of mail" in endpoint_clashes(services, "tracker")[0]


def test_no_endpoint_or_unknown_service_has_no_clash():
    assert endpoint_clashes(SERVICES, "nosuch") == []
    assert endpoint_clashes({"a": {"new_endpoint": ""}, "b": {"new_endpoint": ""}}, "a") == []
    assert endpoint_clashes({"a": None}, "a") == []
