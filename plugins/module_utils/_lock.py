# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The per-service lock: a coordination.k8s.io/v1 Lease in the migration namespace.

One run at a time may change a service: ``migrate.yml`` and ``rollback.yml`` take the service's Lease
(``replatform-lock-<service>``) before they change anything and give it back when they end. The holder
is the run's id; the AWX job, the playbook and the start time are annotations. A run renews the Lease
at every stage, so a Lease whose ``renewTime + leaseDurationSeconds`` is past belongs to a run that is
gone (killed, cancelled, cut off from the cluster): it is *stale*.

``decide`` is pure: given the Lease as read (or None), who asks and what they allow, it says what to
do. Another run's lock is never taken silently: a live one only with a reason, a stale one with a
reason or (for a rollback) ``break_stale``. The module writes with the Lease's resourceVersion as a
precondition, so two runs that read the same Lease cannot both win.
"""

from __future__ import annotations

import datetime as _dt
import re
import typing as t

PREFIX = "replatform-lock-"
ANNOTATION = "replatform.kubernetes/"
DURATION_MIN, DURATION_MAX = 60, 86400
_HOLDER = re.compile(r"^[A-Za-z0-9][-A-Za-z0-9_.:@]{0,127}$")


class LockError(ValueError):
    """Bad input to the lock; the message names the field."""


def lease_name(service: str) -> str:
    return PREFIX + service


def check(holder: t.Any, duration: t.Any, break_reason: t.Any) -> None:
    """Raise LockError naming the first bad field."""
    if not isinstance(holder, str) or not _HOLDER.match(holder):
        raise LockError("holder: %r is not a run id (letters, digits and -_.:@, at most 128)" % (holder,))
    if isinstance(duration, bool) or not isinstance(duration, int) or not DURATION_MIN <= duration <= DURATION_MAX:
        raise LockError("duration: %r is out of range (%d to %d seconds)" % (duration, DURATION_MIN, DURATION_MAX))
    if not isinstance(break_reason, str) or len(break_reason) > 500:
        raise LockError("break_reason: must be text of at most 500 characters")


def micro_time(when: _dt.datetime) -> str:
    """The Lease's MicroTime format."""
    return when.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: t.Any) -> _dt.datetime | None:
    if not isinstance(text, str) or not text:
        return None
    for fmt in ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return _dt.datetime.strptime(text, fmt).replace(tzinfo=_dt.timezone.utc)
        except ValueError:
            continue
    return None


def holder_of(lease: dict[str, t.Any] | None) -> dict[str, t.Any] | None:
    """Who holds a Lease as read: holder, job, playbook, since, renewed, expires (None when free)."""
    if not lease:
        return None
    spec = lease.get("spec") or {}
    holder = spec.get("holderIdentity") or ""
    if not holder:
        return None
    notes = (lease.get("metadata") or {}).get("annotations") or {}
    renewed = parse_time(spec.get("renewTime")) or parse_time(spec.get("acquireTime"))
    duration = int(spec.get("leaseDurationSeconds") or 0)
    expires = renewed + _dt.timedelta(seconds=duration) if renewed else None
    return {
        "holder": holder,
        "job": notes.get(ANNOTATION + "job", ""),
        "playbook": notes.get(ANNOTATION + "playbook", ""),
        "since": spec.get("acquireTime") or "",
        "renewed": spec.get("renewTime") or "",
        "expires": micro_time(expires) if expires else "",
        "_expires": expires,
    }


def describe(who: dict[str, t.Any]) -> str:
    """``run 20261202-1 (migrate, AWX job 12) since 2026-12-02T19:00:00.000000Z``"""
    what = [w for w in (who.get("playbook"), "AWX job %s" % who["job"] if who.get("job") else "") if w]
    return "run %s%s since %s" % (who["holder"], " (%s)" % ", ".join(what) if what else "", who["since"] or "an unknown time")


def decide(lease: dict[str, t.Any] | None, holder: str, now: _dt.datetime, break_reason: str = "",
           break_stale: bool = False, service: str = "") -> dict[str, t.Any]:
    """What to do to hold the lock: C(create), C(renew) (ours), C(take) (another's, broken) or C(refuse)."""
    who = holder_of(lease)
    if lease is None:
        return {"action": "create", "broken": None, "msg": ""}
    if who is None or who["holder"] == holder:
        return {"action": "renew", "broken": None, "msg": ""}
    stale = who["_expires"] is not None and who["_expires"] <= now
    public = {k: v for k, v in who.items() if not k.startswith("_")}
    if break_reason or (stale and break_stale):
        reason = break_reason or "stale: not renewed since %s, expired %s" % (who["renewed"], who["expires"])
        return {"action": "take", "broken": dict(public, stale=stale, reason=reason), "msg": ""}
    state = ("its lock expired at %s: that run is gone (killed, cancelled or cut off from the cluster)" % who["expires"]
             if stale else "it holds the lock until %s unless it renews it" % who["expires"])
    return {"action": "refuse", "broken": None, "msg": (
        "service %s is locked by %s; %s. Nothing was changed. Wait for that run to end, or, if it is gone, run again "
        "with replatform_lock_break_reason set to why it may be broken (recorded in the ledger)"
        % (service or "?", describe(who), state))}


def lease_body(service: str, namespace: str, holder: str, job: str, playbook: str, duration: int, now: _dt.datetime,
               lease: dict[str, t.Any] | None) -> dict[str, t.Any]:
    """The Lease that says ``holder`` holds the lock from now (acquireTime kept on a renewal of ours)."""
    mine = holder_of(lease) is not None and holder_of(lease)["holder"] == holder
    metadata: dict[str, t.Any] = {
        "name": lease_name(service), "namespace": namespace,
        "labels": {"app.kubernetes.io/managed-by": "replatform.kubernetes", ANNOTATION + "service": service},
        "annotations": {ANNOTATION + "job": job, ANNOTATION + "playbook": playbook},
    }
    if lease is not None:
        metadata["resourceVersion"] = lease["metadata"]["resourceVersion"]
    stamp = micro_time(now)
    return {
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": metadata,
        "spec": {
            "holderIdentity": holder, "leaseDurationSeconds": duration,
            "acquireTime": (lease or {}).get("spec", {}).get("acquireTime") if mine else stamp,
            "renewTime": stamp,
        },
    }
