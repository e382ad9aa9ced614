# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The traffic shift's arithmetic: weights for a percentage, and the gate over HAProxy's statistics.

Private to this collection; importable and unit-testable without Ansible, stdlib only. The gate
compares the new servers of a backend with its legacy servers over a window of ``show stat``
samples (counters are cumulative, so a window is the difference of two samples) and says whether
the shift may go on, and if not, why.
"""

from __future__ import annotations

import math
import typing as t

MAX_WEIGHT = 256

# Safe defaults: abort when the new platform answers worse than the old one by a clear margin.
DEFAULT_GATE: dict[str, t.Any] = {
    # Share of the new servers' HTTP responses that may be 5xx (and never more than this many times
    # the legacy servers' share, when theirs is higher).
    "max_5xx_rate": 0.01,
    # Share of the new servers' sessions that may end in a connection or response error (econ, eresp), or
    # that HAProxy retried on another server (wretr, wredis).
    "max_error_rate": 0.01,
    # The new servers' average response time may be at most this factor of the legacy servers' ...
    "max_rtime_factor": 3.0,
    # ... unless it is below this many milliseconds (noise on fast services).
    "min_rtime_ms": 100,
    # Rates are judged only over at least this many requests (or sessions) to the new servers; a
    # single error among fewer still aborts when "errors_abort_below_min" is true.
    "min_requests": 20,
    "errors_abort_below_min": 3,
    # Seconds between two reads of the statistics while a step is watched, and the window length.
    "interval": 0.5,
    "window": 10.0,
    # A step passes only when the new servers got at least this many requests (or sessions) while it
    # was watched: a gate that saw no traffic has judged nothing. When the pause ends with fewer, the
    # step is watched up to "wait_for_requests" seconds longer, then fails (all weight back).
    "min_step_requests": 20,
    "wait_for_requests": 120.0,
}
_GATE_TYPES = {
    "max_5xx_rate": float, "max_error_rate": float, "max_rtime_factor": float, "min_rtime_ms": float,
    "min_requests": int, "errors_abort_below_min": int, "interval": float, "window": float,
    "min_step_requests": int, "wait_for_requests": float,
}
_HEALTHY = ("UP", "no check")


class GateError(ValueError):
    """Bad gate settings, weights or percentages; the message names the field."""


def gate_settings(values: dict[str, t.Any] | None) -> dict[str, t.Any]:
    """The gate's settings: the defaults, updated with ``values`` (checked: known keys, ranges)."""
    settings = dict(DEFAULT_GATE)
    for key, value in (values or {}).items():
        if key not in _GATE_TYPES:
            raise GateError("gate.%s: unknown setting (known: %s)" % (key, ", ".join(sorted(_GATE_TYPES))))
        try:
            number = _GATE_TYPES[key](value)
        except (TypeError, ValueError):
            raise GateError("gate.%s: %r is not a number" % (key, value)) from None
        if isinstance(value, bool) or number < 0 or (key in ("max_5xx_rate", "max_error_rate") and number > 1):
            raise GateError("gate.%s: %r is out of range (%s)" % (key, value, "0 to 1" if key.startswith("max_") and key.endswith("rate") else ">= 0"))
        settings[key] = number
    if settings["interval"] <= 0 or settings["window"] < settings["interval"]:
        raise GateError("gate.interval: must be > 0 and at most gate.window (%s, %s)" % (settings["interval"], settings["window"]))
    if settings["max_rtime_factor"] < 1:
        raise GateError("gate.max_rtime_factor: %r must be at least 1" % settings["max_rtime_factor"])
    return settings


def check_steps(steps: t.Any) -> list[int]:
    """Percentages of traffic for the new servers: integers in 1..100, strictly increasing."""
    if not isinstance(steps, (list, tuple)) or not steps:
        raise GateError("steps: must be a non-empty list of percentages (for example 1, 5, 25, 50, 100)")
    result = []
    for index, step in enumerate(steps):
        if isinstance(step, bool) or not isinstance(step, int) or not 1 <= step <= 100:
            raise GateError("steps[%d]: %r is not a percentage from 1 to 100" % (index, step))
        if result and step <= result[-1]:
            raise GateError("steps[%d]: %d does not increase (after %d); steps must be strictly increasing" % (index, step, result[-1]))
        result.append(step)
    return result


def plan_weights(base: dict[str, int], legacy: t.Sequence[str], new: t.Sequence[str], percent: int) -> dict[str, int]:
    """Weights that give the new servers ``percent`` of the backend's traffic.

    ``base`` holds the legacy servers' weights before the shift (their share is split in proportion
    to them; all zero counts as equal). The new servers share their part equally. Weights are
    integers from 0 to 256; a server with a non-zero share keeps at least 1, so at 1 percent the new
    servers still get traffic. At 0 percent the legacy servers get exactly ``base`` back.
    """
    if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
        raise GateError("percent: %r is not a percentage from 0 to 100" % (percent,))
    if not legacy:
        raise GateError("legacy servers: the backend has no server besides the new ones")
    if not new:
        raise GateError("new_servers: at least one is needed")
    for name in legacy:
        weight = base.get(name)
        if isinstance(weight, bool) or not isinstance(weight, int) or not 0 <= weight <= MAX_WEIGHT:
            raise GateError("weights.%s: %r is not a weight from 0 to %d" % (name, weight, MAX_WEIGHT))
    if percent == 0:
        return dict({name: base[name] for name in legacy}, **{name: 0 for name in new})
    legacy_base = {name: base[name] for name in legacy} if any(base[name] for name in legacy) else {name: 1 for name in legacy}
    total = sum(legacy_base.values())
    raw = {name: weight * (100 - percent) * len(new) for name, weight in legacy_base.items()}
    raw.update({name: total * percent for name in new})
    nonzero = [w for w in raw.values() if w]
    divisor = 0
    for weight in nonzero:
        divisor = math.gcd(divisor, weight)
    raw = {name: weight // divisor if weight else 0 for name, weight in raw.items()}
    top = max(raw.values())
    if top > MAX_WEIGHT:
        raw = {name: max(1, round(weight * MAX_WEIGHT / top)) if weight else 0 for name, weight in raw.items()}
    return raw


def share(weights: dict[str, int], new: t.Sequence[str]) -> float:
    """The new servers' share of traffic (0..100) that these weights give."""
    total = sum(weights.values())
    return 100.0 * sum(weights.get(name, 0) for name in new) / total if total else 0.0


def _group(rows: dict[str, dict[str, t.Any]], names: t.Sequence[str]) -> dict[str, t.Any]:
    requests = errors = fivexx = sessions = retried = 0
    rtimes = []
    for name in names:
        row = rows.get(name) or {}
        responses = sum((row.get(k) or 0) for k in ("hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other"))
        requests += responses
        fivexx += row.get("hrsp_5xx") or 0
        # A request HAProxy tried again (wretr) or sent to another server (wredis) failed here first, even
        # when the client got an answer from elsewhere: an error of this server.
        retried += (row.get("wretr") or 0) + (row.get("wredis") or 0)
        errors += (row.get("econ") or 0) + (row.get("eresp") or 0) + (row.get("wretr") or 0) + (row.get("wredis") or 0)
        sessions += row.get("stot") or 0
        if row.get("rtime") is not None and responses:
            rtimes.append(row["rtime"])
    return {"requests": requests, "5xx": fivexx, "errors": errors, "retried": retried, "sessions": sessions,
            "rtime": max(rtimes) if rtimes else None}


def _delta(after: dict[str, t.Any], before: dict[str, t.Any]) -> dict[str, t.Any]:
    out = {k: max(0, after[k] - before[k]) for k in ("requests", "5xx", "errors", "retried", "sessions")}
    out["rtime"] = after["rtime"]
    return out


def evaluate(before: dict[str, dict[str, t.Any]], after: dict[str, dict[str, t.Any]], legacy: t.Sequence[str],
             new: t.Sequence[str], settings: dict[str, t.Any], mode: str = "http") -> dict[str, t.Any]:
    """Judge a window: ``before`` and ``after`` are ``show stat`` server rows by server name.

    Returns ``{"ok": bool, "reasons": [...], "new": {...}, "legacy": {...}}`` with, per side, the
    window's requests, 5xx, connection/response errors, sessions, their rates and the response time.
    """
    reasons = []
    sides = {}
    for side, names in (("new", new), ("legacy", legacy)):
        window = _delta(_group(after, names), _group(before, names))
        volume = window["requests"] if mode == "http" else window["sessions"]
        window["volume"] = volume
        window["5xx_rate"] = window["5xx"] / window["requests"] if window["requests"] else 0.0
        window["error_rate"] = window["errors"] / max(volume, window["errors"]) if (volume or window["errors"]) else 0.0
        sides[side] = window

    for name in new:
        status = str((after.get(name) or {}).get("status") or "missing")
        if not status.startswith(_HEALTHY):
            reasons.append("server %s is %s (HAProxy's health check: %s)" % (name, status, (after.get(name) or {}).get("check_status") or "none"))
    fresh, old = sides["new"], sides["legacy"]
    enough = fresh["volume"] >= settings["min_requests"]
    if mode == "http" and fresh["5xx"]:
        limit = max(settings["max_5xx_rate"], old["5xx_rate"] * 2)
        if (enough and fresh["5xx_rate"] > limit) or (not enough and fresh["5xx"] >= settings["errors_abort_below_min"]):
            reasons.append("5xx from the new servers: %d of %d responses (%.1f%%; legacy %.1f%%, limit %.1f%%)"
                           % (fresh["5xx"], fresh["requests"], 100 * fresh["5xx_rate"], 100 * old["5xx_rate"], 100 * limit))
    if fresh["errors"]:
        limit = max(settings["max_error_rate"], old["error_rate"] * 2)
        if (enough and fresh["error_rate"] > limit) or (not enough and fresh["errors"] >= settings["errors_abort_below_min"]):
            reasons.append("connection/response errors on the new servers: %d in %d %s (%.1f%%; legacy %.1f%%, limit %.1f%%)%s"
                           % (fresh["errors"], fresh["volume"], "requests" if mode == "http" else "sessions",
                              100 * fresh["error_rate"], 100 * old["error_rate"], 100 * limit,
                              ", %d of them retried on another server" % fresh["retried"] if fresh["retried"] else ""))
    if enough and fresh["rtime"] is not None and old["rtime"] is not None:
        limit = max(settings["min_rtime_ms"], old["rtime"] * settings["max_rtime_factor"])
        if fresh["rtime"] > limit:
            reasons.append("response time of the new servers %d ms is above %d ms (legacy %d ms x %.1f, at least %d ms)"
                           % (fresh["rtime"], limit, old["rtime"], settings["max_rtime_factor"], settings["min_rtime_ms"]))
    return {"ok": not reasons, "reasons": reasons, "new": fresh, "legacy": old}


def problems(gate: t.Any, steps: t.Any = None, prefix: str = "") -> list[str]:
    """What is wrong with gate settings (and steps, when given), each message naming its field with ``prefix``.

    The one check of these inputs: the shift role's preflight and migrate.yml's first play call it
    through the ``gate_problems`` filter, and ``haproxy_shift`` through ``gate_settings``.
    """
    found = []
    if not isinstance(gate, dict):
        found.append("%sgate: must be a dict of thresholds (known: %s)" % (prefix, ", ".join(sorted(_GATE_TYPES))))
    else:
        try:
            gate_settings(gate)
        except GateError as exc:
            found.append(prefix + str(exc))
    if steps is not None:
        try:
            check_steps(list(steps) if isinstance(steps, (list, tuple)) else steps)
        except GateError as exc:
            found.append(prefix + str(exc))
    return found
