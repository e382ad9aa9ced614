# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The traffic shift's arithmetic: weights per percentage, the gate's judgement over a window of `show stat` rows."""

from __future__ import annotations

import pytest

from ansible_collections.replatform.kubernetes.plugins.module_utils import _gate as g
from ansible_collections.replatform.kubernetes.plugins.module_utils._haproxy import parse_show_stat
from ansible_collections.replatform.kubernetes.tests.unit.plugins.module_utils.lab_captures import fixture

LEGACY = ["legacy-web1", "legacy-web2"]
NEW = ["k8s-web"]
BASE = {"legacy-web1": 100, "legacy-web2": 100}


# --- weights ------------------------------------------------------------------------------------


@pytest.mark.parametrize("percent", [1, 5, 25, 50, 99])
def test_plan_weights_gives_the_share_asked(percent):
    weights = g.plan_weights(BASE, LEGACY, NEW, percent)
    assert all(0 <= w <= g.MAX_WEIGHT for w in weights.values())
    assert abs(g.share(weights, NEW) - percent) < 0.5
    assert weights["legacy-web1"] == weights["legacy-web2"] > 0


def test_plan_weights_ends():
    assert g.plan_weights(BASE, LEGACY, NEW, 0) == {"legacy-web1": 100, "legacy-web2": 100, "k8s-web": 0}
    assert g.plan_weights(BASE, LEGACY, NEW, 100) == {"legacy-web1": 0, "legacy-web2": 0, "k8s-web": 1}
    # 1 % with two legacy servers: 99 + 99 against 2.
    assert g.plan_weights(BASE, LEGACY, NEW, 1) == {"legacy-web1": 99, "legacy-web2": 99, "k8s-web": 2}


def test_plan_weights_keeps_legacy_proportions_and_scales_into_range():
    weights = g.plan_weights({"a": 256, "b": 64, "c": 1}, ["a", "b", "c"], ["n1", "n2"], 7)
    assert max(weights.values()) <= g.MAX_WEIGHT and min(weights.values()) >= 1
    assert weights["a"] == 4 * weights["b"] or abs(weights["a"] / weights["b"] - 4) < 0.1
    assert weights["n1"] == weights["n2"]
    assert abs(g.share(weights, ["n1", "n2"]) - 7) < 1
    # Legacy servers all at weight 0 (drained before the shift): shared equally.
    assert g.plan_weights({"a": 0, "b": 0}, ["a", "b"], ["n"], 50) == {"a": 1, "b": 1, "n": 2}


@pytest.mark.parametrize("percent, message", [
    (-1, r"^percent: -1 is not a percentage from 0 to 100"),
    (101, r"^percent: 101 is not"),
    (True, r"^percent: True is not"),
    ("5", r"^percent: '5' is not"),
])
def test_plan_weights_bad_percent(percent, message):
    with pytest.raises(g.GateError, match=message):
        g.plan_weights(BASE, LEGACY, NEW, percent)


def test_plan_weights_bad_servers():
    with pytest.raises(g.GateError, match=r"^weights.legacy-web2: 300 is not a weight from 0 to 256"):
        g.plan_weights({"legacy-web1": 1, "legacy-web2": 300}, LEGACY, NEW, 5)
    with pytest.raises(g.GateError, match=r"^legacy servers: the backend has no server besides the new ones"):
        g.plan_weights({}, [], NEW, 5)
    with pytest.raises(g.GateError, match=r"^new_servers: at least one is needed"):
        g.plan_weights(BASE, LEGACY, [], 5)


@pytest.mark.parametrize("steps, message", [
    ([], r"^steps: must be a non-empty list"),
    ([5, 1], r"^steps\[1\]: 1 does not increase \(after 5\)"),
    ([1, 1], r"^steps\[1\]: 1 does not increase"),
    ([0, 50], r"^steps\[0\]: 0 is not a percentage from 1 to 100"),
    ([50, 101], r"^steps\[1\]: 101 is not a percentage"),
    ([1.5], r"^steps\[0\]: 1.5 is not a percentage"),
])
def test_check_steps(steps, message):
    with pytest.raises(g.GateError, match=message):
        g.check_steps(steps)
    assert g.check_steps([1, 5, 25, 50, 100]) == [1, 5, 25, 50, 100]


def test_gate_settings():
    assert g.gate_settings(None) == g.DEFAULT_GATE
    assert g.gate_settings({"max_5xx_rate": "0.05", "interval": 1})["max_5xx_rate"] == 0.05
    with pytest.raises(g.GateError, match=r"^gate.max_5xx: unknown setting \(known: errors_abort_below_min, interval"):
        g.gate_settings({"max_5xx": 1})
    with pytest.raises(g.GateError, match=r"^gate.max_5xx_rate: 2 is out of range \(0 to 1\)"):
        g.gate_settings({"max_5xx_rate": 2})
    with pytest.raises(g.GateError, match=r"^gate.window: 'soon' is not a number"):
        g.gate_settings({"window": "soon"})
    with pytest.raises(g.GateError, match=r"^gate.interval: must be > 0 and at most gate.window"):
        g.gate_settings({"interval": 20})
    with pytest.raises(g.GateError, match=r"^gate.max_rtime_factor: 0.5 must be at least 1"):
        g.gate_settings({"max_rtime_factor": 0.5})


# --- the gate -----------------------------------------------------------------------------------


def row(status="UP", **counters):
    base = {"status": status, "check_status": "L7OK", "hrsp_1xx": 0, "hrsp_2xx": 0, "hrsp_3xx": 0, "hrsp_4xx": 0, "hrsp_5xx": 0,
            "hrsp_other": 0, "econ": 0, "eresp": 0, "stot": 0, "rtime": 0}
    base.update(counters)
    return base


def window(new_after, legacy_after=None, new_before=None, legacy_before=None):
    legacy_after = legacy_after or row(hrsp_2xx=10000, stot=10000, rtime=2)
    before = {"k8s-web": new_before or row(), "legacy-web1": legacy_before or row(), "legacy-web2": legacy_before or row()}
    after = {"k8s-web": new_after, "legacy-web1": legacy_after, "legacy-web2": legacy_after}
    return before, after


SETTINGS = g.gate_settings({})


def test_gate_passes_a_healthy_window():
    before, after = window(row(hrsp_2xx=500, stot=500, rtime=3))
    verdict = g.evaluate(before, after, LEGACY, NEW, SETTINGS)
    assert verdict["ok"] and verdict["reasons"] == []
    assert verdict["new"]["requests"] == 500 and verdict["legacy"]["requests"] == 20000


def test_gate_fails_on_5xx_rate_above_the_limit():
    before, after = window(row(hrsp_2xx=90, hrsp_5xx=10, stot=100, rtime=3))
    verdict = g.evaluate(before, after, LEGACY, NEW, SETTINGS)
    assert not verdict["ok"]
    assert verdict["reasons"] == ["5xx from the new servers: 10 of 100 responses (10.0%; legacy 0.0%, limit 1.0%)"]


def test_gate_tolerates_5xx_the_legacy_servers_also_give():
    legacy = row(hrsp_2xx=9500, hrsp_5xx=500, stot=10000, rtime=2)  # 5 % on the old platform too
    before, after = window(row(hrsp_2xx=96, hrsp_5xx=4, stot=100, rtime=2), legacy)
    assert g.evaluate(before, after, LEGACY, NEW, SETTINGS)["ok"]
    before, after = window(row(hrsp_2xx=85, hrsp_5xx=15, stot=100, rtime=2), legacy)
    assert not g.evaluate(before, after, LEGACY, NEW, SETTINGS)["ok"]  # 15 % > 2 x 5 %


def test_gate_acts_on_few_requests_when_errors_pile_up():
    before, after = window(row(hrsp_2xx=5, hrsp_5xx=2, stot=7))
    assert g.evaluate(before, after, LEGACY, NEW, SETTINGS)["ok"]  # 2 errors < errors_abort_below_min (3)
    before, after = window(row(hrsp_2xx=5, hrsp_5xx=3, stot=8))
    assert not g.evaluate(before, after, LEGACY, NEW, SETTINGS)["ok"]


def test_gate_counts_only_the_window():
    old = row(hrsp_2xx=1000, hrsp_5xx=500, stot=1500)  # failures before the window began
    before, after = window(row(hrsp_2xx=1100, hrsp_5xx=500, stot=1600), new_before=old)
    verdict = g.evaluate(before, after, LEGACY, NEW, SETTINGS)
    assert verdict["ok"] and verdict["new"]["5xx"] == 0 and verdict["new"]["requests"] == 100


def test_gate_fails_on_connection_errors_in_tcp_mode():
    before, after = window(row(stot=40, econ=4), row(stot=10000))
    verdict = g.evaluate(before, after, LEGACY, NEW, SETTINGS, mode="tcp")
    assert verdict["reasons"] == ["connection/response errors on the new servers: 4 in 40 sessions (10.0%; legacy 0.0%, limit 1.0%)"]


def test_gate_fails_on_health_and_slowness():
    before, after = window(row(status="DOWN", check_status="L4CON", hrsp_2xx=100, stot=100, rtime=3))
    assert g.evaluate(before, after, LEGACY, NEW, SETTINGS)["reasons"] == ["server k8s-web is DOWN (HAProxy's health check: L4CON)"]
    before, after = window(row(hrsp_2xx=100, stot=100, rtime=400), row(hrsp_2xx=10000, stot=10000, rtime=50))
    assert g.evaluate(before, after, LEGACY, NEW, SETTINGS)["reasons"] == [
        "response time of the new servers 400 ms is above 150 ms (legacy 50 ms x 3.0, at least 100 ms)"]
    # Slower by more than the factor, but under the floor: noise, not a failure.
    before, after = window(row(hrsp_2xx=100, stot=100, rtime=9), row(hrsp_2xx=10000, stot=10000, rtime=1))
    assert g.evaluate(before, after, LEGACY, NEW, SETTINGS)["ok"]


def test_gate_on_a_real_show_stat_capture():
    rows = {r["svname"]: r for r in parse_show_stat(fixture("show_stat.csv")) if r["kind"] == "server" and r["pxname"] == "be_web"}
    names = sorted(rows)
    # The capture was taken while the legacy hosts were down: taken as the "new" server, legacy-web1 fails the gate.
    verdict = g.evaluate(rows, rows, names[1:], names[:1], SETTINGS)
    assert not verdict["ok"]
    assert verdict["reasons"][0].startswith("server legacy-web1 is DOWN (HAProxy's health check: ")
    assert verdict["new"]["requests"] == 0 and verdict["new"]["5xx_rate"] == 0.0


def test_gate_counts_requests_retried_on_another_server():
    # The clients got answers (HAProxy retried them on the legacy servers), but the new server failed them first.
    before, after = window(row(hrsp_2xx=60, stot=100, wretr=30, wredis=10))
    verdict = g.evaluate(before, after, LEGACY, NEW, SETTINGS)
    assert verdict["new"]["retried"] == 40 and verdict["new"]["errors"] == 40
    assert verdict["reasons"] == ["connection/response errors on the new servers: 40 in 60 requests (66.7%; legacy 0.0%, limit 1.0%), "
                                  "40 of them retried on another server"]


@pytest.mark.parametrize("gate, steps, expected", [
    ({}, [1, 5, 100], []),
    ({"max_5xx_rate": 2.0}, None, ["p_gate.max_5xx_rate: 2.0 is out of range (0 to 1)"]),
    ({"min_step_requests": "many"}, None, ["p_gate.min_step_requests: 'many' is not a number"]),
    ({"wait_for_requests": -1}, None, ["p_gate.wait_for_requests: -1 is out of range (>= 0)"]),
    ("fast", None, ["p_gate: must be a dict of thresholds (known: errors_abort_below_min, interval, max_5xx_rate, max_error_rate, "
                    "max_rtime_factor, min_requests, min_rtime_ms, min_step_requests, wait_for_requests, window)"]),
    ({}, [50, 25], ["p_steps[1]: 25 does not increase (after 50); steps must be strictly increasing"]),
    ({}, "1,5,100", ["p_steps: must be a non-empty list of percentages (for example 1, 5, 25, 50, 100)"]),
    ({"nope": 1}, [0], ["p_gate.nope: unknown setting (known: errors_abort_below_min, interval, max_5xx_rate, max_error_rate, "
                        "max_rtime_factor, min_requests, min_rtime_ms, min_step_requests, wait_for_requests, window)",
                        "p_steps[0]: 0 is not a percentage from 1 to 100"]),
])
def test_problems_name_every_field_with_the_callers_prefix(gate, steps, expected):
    assert g.problems(gate, steps, prefix="p_") == expected
