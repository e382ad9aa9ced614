# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ledger record: its schema (a garbage record is reported by field), merging an update, the history."""

from __future__ import annotations

import json

import pytest

from ansible_collections.replatform.kubernetes.plugins.module_utils import _ledger

GOOD = {
    "service": "web", "stage": "shifted", "image": "127.0.0.1:5000/replatform/web:0123456789ab", "unit": "nginx.service",
    "haproxy": {"backend": "be_web", "new_server": "k8s-web", "base": {"legacy-web1": 100, "legacy-web2": 100}, "percent": 100},
    "dns": {"previous": [{"name": "www.esp.test.", "type": "CNAME", "values": ["lb.esp.test."], "ttl": 300}], "target": ""},
    "verify": {"verdict": "ok"}, "gate": {}, "history": [{"time": "t", "stage": "shifted", "event": "100%", "job": ""}],
    "updated": "t", "job": "", "written_by_a_newer_collection": {"kept": True},
}


def test_a_good_record_parses_and_unknown_fields_are_kept():
    record, found = _ledger.parse(json.dumps(GOOD))
    assert found == [] and record == GOOD


@pytest.mark.parametrize("text, expected", [
    ("{not json", "record.json: not JSON"),
    ("[1, 2]", "record.json: the record is list, not a mapping"),
    (json.dumps(dict(GOOD, stage="half-way")), 'stage: "half-way" is not one of deployed, verified, shifting'),
    (json.dumps(dict(GOOD, haproxy=dict(GOOD["haproxy"], percent=150))), "haproxy.percent: 150 is not a whole number from 0 to 100"),
    (json.dumps(dict(GOOD, haproxy=dict(GOOD["haproxy"], base={"legacy-web1": "heavy"}))), "haproxy.base: "),
    (json.dumps(dict(GOOD, haproxy="be_web")), 'haproxy: "be_web" is not a mapping'),
    (json.dumps(dict(GOOD, dns={"previous": [{"name": "www.esp.test."}]})), "dns.previous: [0] "),
    (json.dumps(dict(GOOD, service="Web Service")), 'service: "Web Service" is not a service name'),
    (json.dumps(dict(GOOD, history="lost")), "history: is not a list of events"),
])
def test_a_garbage_record_is_reported_by_field_and_not_used(text, expected):
    record, found = _ledger.parse(text)
    assert record == {} and len(found) == 1 and found[0].startswith(expected)


def test_no_record_is_an_empty_usable_one():
    assert _ledger.parse(None) == ({}, []) and _ledger.parse("") == ({}, [])


def test_an_update_merges_mappings_and_replaces_the_rest_and_appends_the_event():
    nxt, changed = _ledger.next_record(GOOD, "web", {"haproxy": {"percent": 0}, "stage": "rolled_back", "dns": {"previous": []}},
                                       "rolled back", "41", "2026-12-02T19:00:00Z")
    assert changed
    assert nxt["haproxy"] == dict(GOOD["haproxy"], percent=0) and nxt["dns"] == {"previous": [], "target": ""}
    assert nxt["history"][-1] == {"time": "2026-12-02T19:00:00Z", "stage": "rolled_back", "event": "rolled back", "job": "41"}
    assert nxt["updated"] == "2026-12-02T19:00:00Z" and nxt["job"] == "41"
    assert GOOD["haproxy"]["percent"] == 100, "the record read is not changed in place"


def test_an_update_that_changes_no_field_writes_nothing_even_with_an_event():
    nxt, changed = _ledger.next_record(GOOD, "web", {"stage": "shifted", "haproxy": {"percent": 100}}, "again", "", "later")
    assert not changed and nxt is GOOD


def test_the_history_keeps_the_last_events():
    record = dict(GOOD, history=[{"event": str(i)} for i in range(5)])
    nxt, _changed = _ledger.next_record(record, "web", {"stage": "migrated"}, "5", "", "now", history_max=3)
    assert [e["event"] for e in nxt["history"]] == ["3", "4", "5"]


def test_a_first_write_names_the_service():
    nxt, changed = _ledger.next_record({}, "web", {}, "", "", "now")
    assert changed and nxt["service"] == "web" and _ledger.problems(nxt) == []
