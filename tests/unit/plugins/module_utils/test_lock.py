# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The per-service lock's decisions: free, ours, another run's (live or stale), broken with a reason."""

from __future__ import annotations

import datetime as dt

import pytest

from ansible_collections.replatform.kubernetes.plugins.module_utils._lock import (
    LockError, check, decide, holder_of, lease_body, micro_time, parse_time,
)

NOW = dt.datetime(2026, 12, 2, 19, 30, tzinfo=dt.timezone.utc)


def lease(holder="run-a", renewed=NOW - dt.timedelta(minutes=5), duration=1800, job="41", playbook="migrate"):
    body = lease_body("web", "replatform", holder, job, playbook, duration, renewed, None)
    body["metadata"]["resourceVersion"] = "17"
    return body


def test_a_free_service_is_locked_by_creating_its_lease():
    assert decide(None, "run-b", NOW)["action"] == "create"
    body = lease_body("web", "replatform", "run-b", "42", "migrate", 600, NOW, None)
    assert body["metadata"]["name"] == "replatform-lock-web" and "resourceVersion" not in body["metadata"]
    assert body["spec"] == {"holderIdentity": "run-b", "leaseDurationSeconds": 600,
                            "acquireTime": "2026-12-02T19:30:00.000000Z", "renewTime": "2026-12-02T19:30:00.000000Z"}
    assert body["metadata"]["annotations"] == {"replatform.kubernetes/job": "42", "replatform.kubernetes/playbook": "migrate"}


def test_our_own_lock_is_renewed_keeping_when_we_took_it_and_the_precondition():
    held = lease("run-b")
    assert decide(held, "run-b", NOW)["action"] == "renew"
    body = lease_body("web", "replatform", "run-b", "42", "migrate", 1800, NOW, held)
    assert body["spec"]["acquireTime"] == held["spec"]["acquireTime"] != body["spec"]["renewTime"]
    assert body["metadata"]["resourceVersion"] == "17"


def test_another_runs_live_lock_is_refused_saying_who_since_when_and_how_to_break_it():
    plan = decide(lease(), "run-b", NOW, service="web")
    assert plan["action"] == "refuse"
    assert plan["msg"].startswith("service web is locked by run run-a (migrate, AWX job 41) since 2026-12-02T19:25:00.000000Z; "
                                  "it holds the lock until 2026-12-02T19:55:00.000000Z unless it renews it. Nothing was changed.")
    assert "replatform_lock_break_reason" in plan["msg"]


def test_a_stale_lock_is_still_refused_without_a_reason_but_says_the_run_is_gone():
    plan = decide(lease(renewed=NOW - dt.timedelta(hours=1)), "run-b", NOW, service="web")
    assert plan["action"] == "refuse" and "its lock expired at 2026-12-02T19:00:00.000000Z: that run is gone" in plan["msg"]


def test_a_rollback_breaks_a_stale_lock_by_itself_and_says_so():
    plan = decide(lease(renewed=NOW - dt.timedelta(hours=1)), "run-b", NOW, break_stale=True)
    assert plan["action"] == "take"
    assert plan["broken"]["holder"] == "run-a" and plan["broken"]["stale"] and plan["broken"]["job"] == "41"
    assert plan["broken"]["reason"].startswith("stale: not renewed since 2026-12-02T18:30:00.000000Z")
    assert decide(lease(), "run-b", NOW, break_stale=True)["action"] == "refuse", "break_stale never breaks a live lock"


def test_any_lock_is_broken_with_a_reason_which_is_kept():
    plan = decide(lease(), "run-b", NOW, break_reason="AWX job 41 was cancelled, its pod is gone")
    assert plan["action"] == "take" and not plan["broken"]["stale"]
    assert plan["broken"]["reason"] == "AWX job 41 was cancelled, its pod is gone"
    body = lease_body("web", "replatform", "run-b", "", "migrate", 1800, NOW, lease())
    assert body["spec"]["acquireTime"] == micro_time(NOW), "a taken lock is ours from now"


def test_a_released_lease_without_holder_is_free():
    empty = lease()
    empty["spec"]["holderIdentity"] = ""
    assert holder_of(empty) is None and decide(empty, "run-b", NOW)["action"] == "renew"


@pytest.mark.parametrize("holder, duration, reason, field", [
    ("", 600, "", "holder"), ("run id with spaces", 600, "", "holder"), ("r" * 129, 600, "", "holder"),
    ("run-a", 59, "", "duration"), ("run-a", 86401, "", "duration"), ("run-a", True, "", "duration"),
    ("run-a", 600, "x" * 501, "break_reason"),
])
def test_bad_input_names_the_field(holder, duration, reason, field):
    with pytest.raises(LockError, match="^%s: " % field):
        check(holder, duration, reason)


def test_times_parse_in_both_forms():
    assert parse_time("2026-12-02T19:30:00.000000Z") == NOW == parse_time("2026-12-02T19:30:00Z")
    assert parse_time("yesterday") is None and parse_time(None) is None
