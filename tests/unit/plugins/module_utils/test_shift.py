# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""shift_step against a fake runtime API: a backend whose servers take traffic by weight, and faults."""

from __future__ import annotations

import pytest

from ansible_collections.replatform.kubernetes.plugins.module_utils._gate import gate_settings
from ansible_collections.replatform.kubernetes.plugins.module_utils._haproxy import HAProxyError
from ansible_collections.replatform.kubernetes.plugins.module_utils._shift import ShiftError, counters_went_down, shift_step

COUNTERS = ("stot", "econ", "eresp", "hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other")
STAT_COLUMNS = ("pxname", "svname", "type", "mode", "status", "check_status", "weight", "rtime") + COUNTERS


class FakeHAProxy:
    """One backend, be_web: two legacy servers at weight 100 and k8s-web at 0. Every ``show stat`` first
    hands out 100 requests by weight; ``faults`` maps the number of a ``show stat`` to what happens then."""

    def __init__(self, new_5xx: float = 0.0, faults: dict | None = None):
        self.servers = {name: {"weight": w, "iweight": w, "status": "UP", **{c: 0 for c in COUNTERS}}
                        for name, w in (("legacy-web1", 100), ("legacy-web2", 100), ("k8s-web", 0))}
        self.new_5xx = new_5xx
        self.faults = faults or {}
        self.stats = 0
        self.refuse_weights = False

    def _traffic(self) -> None:
        total = sum(s["weight"] for s in self.servers.values()) or 1
        for name, server in self.servers.items():
            requests = 100 * server["weight"] // total
            bad = int(requests * self.new_5xx) if name.startswith("k8s-") else 0
            server["stot"] += requests
            server["hrsp_2xx"] += requests - bad
            server["hrsp_5xx"] += bad

    def command(self, command: str) -> str:
        if command == "show stat":
            self.stats += 1
            fault = self.faults.get(self.stats)
            if fault == "socket":
                raise OSError(2, "No such file or directory")
            if fault == "garbage":
                return "Unknown command\n"
            if fault == "reset":
                for server in self.servers.values():
                    server.update({c: 0 for c in COUNTERS})
            self._traffic()
            lines = ["# " + ",".join(STAT_COLUMNS), "be_web,BACKEND,1,http,UP,,200,0" + ",0" * len(COUNTERS)]
            for name, s in self.servers.items():
                lines.append(",".join(["be_web", name, "2", "http", s["status"], "L7OK", str(s["weight"]), "5"] + [str(s[c]) for c in COUNTERS]))
            return "\n".join(lines) + "\n"
        if command.startswith("show servers state"):
            rows = ["1", "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight"]
            rows += ["3 be_web %d %s 10.0.0.%d 2 0 %d %d" % (i, n, i, s["weight"], s["iweight"]) for i, (n, s) in enumerate(self.servers.items(), 1)]
            return "\n".join(rows) + "\n"
        raise AssertionError("unexpected command %r" % command)

    def send(self, line: str) -> str:
        if self.refuse_weights:
            raise HAProxyError("cannot connect to socket: connection refused")
        for command in line.split("; "):
            verb, target, weight = command.rsplit(" ", 2)
            assert verb == "set weight"
            self.servers[target.split("/")[1]]["weight"] = int(weight)
        return ""

    def weights(self) -> dict:
        return {n: s["weight"] for n, s in self.servers.items()}


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


SETTINGS = gate_settings({"interval": 1, "window": 5, "min_requests": 5})
LEGACY_BACK = {"legacy-web1": 100, "legacy-web2": 100, "k8s-web": 0}


def step(api, percent=50, watch=10.0, tmp_path=None, settings=None):
    clock = Clock()
    return shift_step(api, "be_web", ["k8s-web"], percent, settings or SETTINGS, watch=watch, state_file=str(tmp_path / "state") if tmp_path else None,
                      clock=clock, sleep=clock.sleep)


def test_a_healthy_step_sets_the_weights_watches_and_saves_the_state(tmp_path):
    api = FakeHAProxy()
    result = step(api, tmp_path=tmp_path)
    assert not result["aborted"] and result["gate"]["ok"]
    assert result["weights"] == api.weights() == {"legacy-web1": 1, "legacy-web2": 1, "k8s-web": 2}
    assert result["watched"] == 10.0 and result["window_restarts"] == 0
    assert (tmp_path / "state").read_text().startswith("1\n")


def test_5xx_on_the_new_server_gives_all_weight_back():
    api = FakeHAProxy(new_5xx=0.5)
    result = step(api)
    assert result["aborted"] and api.weights() == LEGACY_BACK
    assert result["gate"]["reasons"][0].startswith("5xx from the new servers")


@pytest.mark.parametrize("fault, error", [("socket", "FileNotFoundError: [Errno 2] No such file or directory"),
                                          ("garbage", "HAProxyError: unexpected 'show stat' answer")])
def test_a_watch_that_cannot_read_fails_closed(fault, error):
    api = FakeHAProxy(faults={3: fault})
    result = step(api)
    assert result["aborted"] and api.weights() == LEGACY_BACK
    assert result["gate"]["reasons"] == [result["gate"]["reasons"][0]]
    assert result["gate"]["reasons"][0].startswith("the gate could not read HAProxy's statistics (" + error)
    assert result["watched"] == 1.0


def test_when_even_the_restore_fails_the_error_says_where_traffic_may_be():
    api = FakeHAProxy(faults={3: "socket"})
    original = api.command

    def command(text):
        if text == "show stat" and api.stats == 2:
            api.refuse_weights = True
        return original(text)

    api.command = command
    with pytest.raises(ShiftError) as exc:
        step(api)
    assert "giving the weight back to the legacy servers failed too" in str(exc.value)
    assert "traffic may still be on k8s-web; run the rollback playbook" in str(exc.value)


def test_a_counter_reset_restarts_the_window_instead_of_passing_blind():
    # After a reset the new server fails: the window starts again from the reset and still sees it.
    api = FakeHAProxy(faults={4: "reset"})
    result = step(api)
    assert not result["aborted"] and result["window_restarts"] == 1
    bad = FakeHAProxy(faults={4: "reset"})
    original = bad.command

    def command(text):
        if text == "show stat" and bad.stats == 4:
            bad.new_5xx = 0.5
        return original(text)

    bad.command = command
    result = step(bad)
    assert result["aborted"] and result["window_restarts"] == 1 and bad.weights() == LEGACY_BACK


def test_counters_went_down():
    assert counters_went_down({"a": {"stot": 5}}, {"a": {"stot": 1}})
    assert not counters_went_down({"a": {"stot": 5}}, {"a": {"stot": 5}, "b": {"stot": 0}})
    assert not counters_went_down({"a": {"hrsp_5xx": None}}, {"a": {"hrsp_5xx": 0}})


def test_no_watch_means_no_gate():
    result = step(FakeHAProxy(), watch=0)
    assert result["gate"] is None and result["watched"] == 0.0


def test_a_new_server_that_fails_its_check_while_carrying_traffic_is_a_gate_failure():
    api = FakeHAProxy()
    api.servers["k8s-web"].update(weight=2, status="DOWN")
    result = step(api)
    assert result["aborted"] and result["changed"] and api.weights() == LEGACY_BACK
    assert result["gate"]["reasons"] == ["before the step to 50%: k8s-web is DOWN (check: L7OK)"]
    assert result["watched"] == 0.0 and result["aborted_after"] == 0.0 and result["share"] == 0.0
    api = FakeHAProxy()
    api.servers["k8s-web"]["status"] = "DOWN"
    with pytest.raises(ShiftError, match="a new server must pass HAProxy's health check before it gets traffic"):
        step(api)


class Quiet(FakeHAProxy):
    """A backend whose new server gets no requests until ``show stat`` number ``busy_from``."""

    def __init__(self, busy_from: int = 10 ** 9, **kwargs):
        super().__init__(**kwargs)
        self.busy_from = busy_from

    def _traffic(self) -> None:
        if self.stats >= self.busy_from:
            super()._traffic()


def test_a_step_that_saw_no_traffic_is_watched_longer_then_fails_closed():
    api = Quiet()
    settings = gate_settings({"interval": 1, "window": 5, "min_requests": 5, "min_step_requests": 20, "wait_for_requests": 30})
    result = step(api, settings=settings)
    assert result["aborted"] and api.weights() == LEGACY_BACK
    assert result["watched"] == 40.0 and result["step_requests"] == 0
    assert result["gate"]["reasons"] == [
        "the new servers got 0 requests in 40 s, fewer than gate.min_step_requests (20): the gate has nothing to judge "
        "(shift while the service has traffic, give the step a longer pause, or lower min_step_requests)"]


def test_traffic_that_comes_late_passes_once_there_is_enough():
    api = Quiet(busy_from=14)  # 50 requests per read to k8s-web from the 14th read on
    settings = gate_settings({"interval": 1, "window": 5, "min_requests": 5, "min_step_requests": 60, "wait_for_requests": 30})
    result = step(api, settings=settings)
    assert not result["aborted"] and result["gate"]["ok"]
    assert result["watched"] == 13.0 and result["step_requests"] == 100


def test_requests_before_a_counter_reset_count_for_the_step():
    api = FakeHAProxy(faults={4: "reset"})
    settings = gate_settings({"interval": 1, "window": 5, "min_requests": 5, "min_step_requests": 450})
    result = step(api, settings=settings)
    # 50 per read to k8s-web: reads 2-3 before the reset (100), 5-11 after it (the reset read is a new start).
    assert not result["aborted"] and result["window_restarts"] == 1 and result["step_requests"] == 450


def test_min_step_requests_zero_passes_a_quiet_step_and_says_how_many_it_saw():
    result = step(Quiet(), settings=gate_settings({"interval": 1, "window": 5, "min_step_requests": 0}))
    assert not result["aborted"] and result["step_requests"] == 0 and result["watched"] == 10.0
