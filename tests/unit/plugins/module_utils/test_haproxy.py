# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Parsers of HAProxy's runtime API answers. Fixtures are answers captured from the lab's HAProxy 2.6."""

from __future__ import annotations

import os

import pytest

from ansible_collections.replatform.kubernetes.plugins.module_utils._haproxy import (
    HAProxyError,
    RuntimeAPI,
    backends_from_stats,
    parse_servers_state,
    parse_show_stat,
)

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def fixture(name: str) -> str:
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as f:
        return f.read()


def test_show_stat_rows_have_kinds_and_numbers():
    rows = parse_show_stat(fixture("show_stat.csv"))
    kinds = {row["kind"] for row in rows}
    assert kinds == {"frontend", "backend", "server"}
    web1 = next(r for r in rows if r["pxname"] == "be_web" and r["svname"] == "legacy-web1")
    assert web1["weight"] == 100
    assert web1["addr"] == "10.231.7.11:80"
    assert isinstance(web1["econ"], int)
    assert web1["mode"] == "http"


def test_show_stat_empty_fields_become_none():
    rows = parse_show_stat(fixture("show_stat.csv"))
    frontend = next(r for r in rows if r["kind"] == "frontend")
    assert frontend["addr"] is None
    assert frontend["weight"] is None


def test_backends_group_servers():
    backends = backends_from_stats(parse_show_stat(fixture("show_stat.csv")))
    # "listen stats" is a proxy with a backend side too, without servers.
    assert sorted(backends) == ["be_api", "be_smtp", "be_track", "be_web", "stats"]
    assert backends["stats"]["servers"] == {}
    assert sorted(backends["be_web"]["servers"]) == ["legacy-web1", "legacy-web2"]
    assert backends["be_smtp"]["mode"] == "tcp"
    assert backends["be_smtp"]["servers"]["legacy-mail1"]["hrsp_5xx"] is None


def test_show_stat_without_header_is_refused():
    with pytest.raises(HAProxyError, match="header"):
        parse_show_stat("be_web,legacy-web1,0,0\n")


def test_show_stat_short_line_is_refused():
    text = fixture("show_stat.csv").splitlines()
    broken = "\n".join([text[0], "be_web,legacy-web1,0"])
    with pytest.raises(HAProxyError, match="line 2 has 3 fields"):
        parse_show_stat(broken)


def test_show_stat_error_answer_is_refused():
    with pytest.raises(HAProxyError):
        parse_show_stat("Unknown command. Please enter one of the following commands only :\n")


def test_servers_state():
    servers = parse_servers_state(fixture("show_servers_state.txt"))
    assert len(servers) == 7
    web1 = next(s for s in servers if s["be_name"] == "be_web" and s["srv_name"] == "legacy-web1")
    assert web1["srv_iweight"] == "100"
    assert web1["srv_addr"] == "10.231.7.11"
    assert web1["srv_port"] == "80"


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty"),
        ("2\n# be_id be_name\n", "format version"),
        ("1\nbe_id be_name\n", "header"),
        ("1\n# be_id be_name srv_id\n4 be_web\n", "unexpected"),
    ],
)
def test_servers_state_malformed(text, message):
    with pytest.raises(HAProxyError, match=message):
        parse_servers_state(text)


@pytest.mark.parametrize("address", ["localhost", "host:port", ":9999"])
def test_runtime_api_rejects_bad_addresses(address):
    with pytest.raises(HAProxyError, match="neither a socket path nor host:port"):
        RuntimeAPI(address).command("show info")


def test_runtime_api_refuses_chained_commands():
    with pytest.raises(HAProxyError, match="more than one command"):
        RuntimeAPI("/nonexistent.sock").command("set weight be/s 0; set weight be/t 0")


def test_runtime_api_names_the_socket_it_cannot_reach(tmp_path):
    with pytest.raises(HAProxyError, match="cannot connect to HAProxy runtime API at .*missing.sock"):
        RuntimeAPI(str(tmp_path / "missing.sock")).command("show info")


@pytest.mark.parametrize("weight", [-1, 257])
def test_set_weight_range(weight):
    with pytest.raises(HAProxyError, match="between 0 and 256"):
        RuntimeAPI("/nonexistent.sock").set_weight("be_web", "legacy-web1", weight)
