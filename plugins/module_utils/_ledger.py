# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The migration ledger: one record per service, what it may hold, and how an update goes into it.

The record is JSON in the key ``record.json`` of the ConfigMap ``replatform-ledger-<service>``. Every
known field is checked against ``SCHEMA`` when the record is read and before it is written: a record
that someone edited into something else is reported field by field and not used (a rollback then
falls back as when the cluster cannot be read; a stage refuses to write over it). Unknown fields are
kept as they are, so a newer collection's record survives an older one's write.

Pure: no Kubernetes client here (the ``migration_ledger`` module reads and writes).
"""

from __future__ import annotations

import copy
import json
import re
import typing as t

PREFIX = "replatform-ledger-"
KEY = "record.json"
STAGES = ("deployed", "verified", "shifting", "shifted", "aborted", "shift_failed", "migrated", "rolled_back")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$")
_STAMPS = ("updated", "job", "history")

Check = t.Callable[[t.Any], t.Optional[str]]


def _text(value: t.Any) -> str | None:
    return None if isinstance(value, str) else "%s is not text" % json.dumps(value)


def _int_range(low: int, high: int) -> Check:
    def check(value: t.Any) -> str | None:
        ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
        return None if ok else "%s is not a whole number from %d to %d" % (json.dumps(value), low, high)
    return check


def _one_of(choices: t.Sequence[str]) -> Check:
    def check(value: t.Any) -> str | None:
        return None if value in choices else "%s is not one of %s" % (json.dumps(value), ", ".join(choices))
    return check


def _weights(value: t.Any) -> str | None:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
                                              and 0 <= v <= 256 for k, v in value.items()):
        return "%s is not server names with weights from 0 to 256" % json.dumps(value)
    return None


def _records(value: t.Any) -> str | None:
    if not isinstance(value, list):
        return "%s is not a list of records" % json.dumps(value)
    for index, item in enumerate(value):
        if not (isinstance(item, dict) and isinstance(item.get("name"), str) and isinstance(item.get("type"), str)
                and isinstance(item.get("values"), list) and isinstance(item.get("ttl"), int)):
            return "[%d] %s is not a record {name, type, values, ttl}" % (index, json.dumps(item))
    return None


def _history(value: t.Any) -> str | None:
    if not isinstance(value, list) or not all(isinstance(e, dict) and isinstance(e.get("event", ""), str) for e in value):
        return "is not a list of events {time, stage, event, job}"
    return None


def _mapping(value: t.Any) -> str | None:
    return None if isinstance(value, dict) else "%s is not a mapping" % json.dumps(value)


# field path -> check; a dict's own check comes with its fields' (haproxy, then haproxy.percent).
SCHEMA: dict[str, Check] = {
    "service": lambda v: None if isinstance(v, str) and _LABEL.match(v) else "%s is not a service name" % json.dumps(v),
    "stage": _one_of(STAGES),
    "image": _text, "unit": _text, "updated": _text, "job": _text,
    "haproxy": _mapping, "haproxy.backend": _text, "haproxy.new_server": _text, "haproxy.new_endpoint": _text,
    "haproxy.base": _weights, "haproxy.percent": _int_range(0, 100),
    "dns": _mapping, "dns.previous": _records, "dns.target": _text,
    "verify": _mapping, "gate": _mapping, "lock": _mapping,
    "history": _history,
}


def name(service: str) -> str:
    """The ConfigMap that holds a service's record."""
    return PREFIX + service


def problems(record: t.Any) -> list[str]:
    """What in a record is not what this collection writes, by field; empty when it is usable."""
    if not isinstance(record, dict):
        return ["%s: the record is %s, not a mapping" % (KEY, type(record).__name__)]
    found = []
    for path, check in SCHEMA.items():
        parent, _dot, leaf = path.rpartition(".")
        holder = record.get(parent) if parent else record
        if not isinstance(holder, dict) or leaf not in holder:
            continue
        why = check(holder[leaf])
        if why:
            found.append("%s: %s" % (path, why))
    return found


def parse(text: t.Any) -> tuple[dict[str, t.Any], list[str]]:
    """(record, problems) from the ConfigMap's ``record.json``; an empty record when there is none."""
    if text in (None, ""):
        return {}, []
    try:
        record = json.loads(text)
    except ValueError as exc:
        return {}, ["%s: not JSON (%s)" % (KEY, exc)]
    found = problems(record)
    return (record if not found else {}), found


def merge(record: dict[str, t.Any], update: dict[str, t.Any]) -> dict[str, t.Any]:
    """``update`` merged into a copy of ``record``: mappings recursively, anything else replaced."""
    out = copy.deepcopy(record)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def next_record(record: dict[str, t.Any], service: str, update: dict[str, t.Any], event: str, job: str, now: str,
                history_max: int = 50) -> tuple[dict[str, t.Any], bool]:
    """(the record to write, whether it differs from ``record``): the update merged, the event appended.

    Nothing is written (and the event not appended) when the update changes no field, so a converged
    stage writes nothing and reports no change.
    """
    merged = merge(record, dict(update, service=service))
    fields_changed = {k: v for k, v in merged.items() if k not in _STAMPS} != {k: v for k, v in record.items() if k not in _STAMPS}
    if not fields_changed:
        return record, False
    history = list(record.get("history") or [])
    if event:
        history.append({"time": now, "stage": merged.get("stage", ""), "event": event, "job": job})
    merged.update(updated=now, job=job, history=history[-history_max:] if history_max > 0 else [])
    return merged, True


def dump(record: dict[str, t.Any]) -> str:
    return json.dumps(record, indent=2, sort_keys=True)
