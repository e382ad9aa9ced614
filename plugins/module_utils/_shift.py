# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One step of a traffic shift on a HAProxy backend: set the weights, persist them, watch the gate.

Private to this collection; importable without Ansible. ``shift_step`` sets the weights of every
server of the backend in one runtime API call, saves ``show servers state`` to the server-state-file
(so a reload or restart keeps them), then reads ``show stat`` every ``interval`` seconds for
``watch`` seconds. When the gate (``_gate.evaluate``) fails, it gives all weight back to the legacy
servers at once, saves the state again and reports why. Weight 0 drains a server: HAProxy sends it
no new requests or connections and lets those in progress finish.

The watch fails closed: when the statistics cannot be read (the runtime socket gone, HAProxy
restarting, an answer that does not parse), the legacy weights are restored before the step fails,
and when even that is refused the error says that traffic may still be on the new servers. A
counter that goes down (a reload or restart starts a new worker from zero) restarts the window
instead of being read as a negative, hence zero, error count.
"""

from __future__ import annotations

import time
import typing as t

from ansible_collections.replatform.kubernetes.plugins.module_utils._gate import GateError, evaluate, plan_weights, share
from ansible_collections.replatform.kubernetes.plugins.module_utils._haproxy import (
    HAProxyError,
    RuntimeAPI,
    check_name,
    parse_show_stat,
    run_commands,
    save_state,
)


class ShiftError(Exception):
    """Input that names something HAProxy does not have, or a refused change; the message names the field."""


def read_backend(api: RuntimeAPI, backend: str) -> tuple[str, dict[str, dict[str, t.Any]]]:
    """(mode, {server: show-stat row}) of one backend; fails naming the known backends."""
    rows = parse_show_stat(api.command("show stat"))
    servers = {r["svname"]: r for r in rows if r["kind"] == "server" and r["pxname"] == backend}
    mode = next((r.get("mode") for r in rows if r["kind"] == "backend" and r["pxname"] == backend), None)
    if mode is None:
        known = sorted({r["pxname"] for r in rows if r["kind"] == "backend"})
        raise ShiftError("backend: %s is not a backend of this HAProxy (known: %s)" % (backend, ", ".join(known)))
    return str(mode), servers


def initial_weights(api: RuntimeAPI, backend: str) -> dict[str, int]:
    """The weights the configuration gives the backend's servers (``srv_iweight``)."""
    from ansible_collections.replatform.kubernetes.plugins.module_utils._haproxy import parse_servers_state

    state = parse_servers_state(api.command("show servers state %s" % backend))
    return {s["srv_name"]: int(s["srv_iweight"]) for s in state if s.get("be_name") == backend}


def set_weights(api: RuntimeAPI, backend: str, weights: dict[str, int], state_file: str | None) -> None:
    """All weights in one call, then the server-state-file."""
    answer = run_commands(api, ["set weight %s/%s %d" % (backend, name, weight) for name, weight in sorted(weights.items())])
    if answer.strip():
        raise ShiftError("HAProxy refused the weights %s: %s" % (weights, answer.strip()))
    if state_file:
        save_state(api, state_file)


def shift_step(
    api: RuntimeAPI,
    backend: str,
    new_servers: t.Sequence[str],
    percent: int,
    settings: dict[str, t.Any],
    base: dict[str, int] | None = None,
    watch: float = 0.0,
    state_file: str | None = None,
    require_up: bool = True,
    check_mode: bool = False,
    clock: t.Callable[[], float] = time.monotonic,
    sleep: t.Callable[[float], None] = time.sleep,
) -> dict[str, t.Any]:
    check_name(backend, "backend")
    for index, name in enumerate(new_servers):
        check_name(name, "new_servers[%d]" % index)
    mode, rows = read_backend(api, backend)
    missing = [n for n in new_servers if n not in rows]
    if missing:
        raise ShiftError("new_servers: %s not in backend %s (its servers: %s)" % (", ".join(missing), backend, ", ".join(sorted(rows))))
    legacy = sorted(n for n in rows if n not in new_servers)
    current = {name: int(rows[name].get("weight") or 0) for name in rows}
    if base is None:
        base = initial_weights(api, backend)
    else:
        unknown = sorted(set(base) - set(legacy))
        if unknown:
            raise ShiftError("base: %s not legacy servers of %s (they are: %s)" % (", ".join(unknown), backend, ", ".join(legacy)))
        base = dict(initial_weights(api, backend), **base)
    try:
        target = plan_weights(base, legacy, new_servers, percent)
    except GateError as exc:
        raise ShiftError(str(exc)) from None
    changed = target != {name: current[name] for name in target}
    result: dict[str, t.Any] = {
        "changed": changed, "backend": backend, "mode": mode, "legacy_servers": legacy, "new_servers": list(new_servers),
        "percent": percent, "previous": current, "weights": target, "share": round(share(target, new_servers), 2),
        "base": {name: base[name] for name in legacy}, "aborted": False, "gate": None, "watched": 0.0,
    }
    if percent > 0 and require_up:
        down = ["%s is %s (check: %s)" % (n, rows[n].get("status"), rows[n].get("check_status") or "none")
                for n in new_servers if not str(rows[n].get("status") or "").startswith(("UP", "DRAIN", "no check"))]
        if down and not check_mode and any(current.get(n) for n in new_servers):
            # Already carrying traffic and now failing its health check: that is a gate failure.
            gate = {"ok": False, "reasons": ["before the step to %d%%: %s" % (percent, "; ".join(down))], "new": None, "legacy": None}
            return _abort(api, backend, result, (base, legacy, new_servers, state_file), gate, 0.0)
        if down:
            raise ShiftError("new_servers: %s; a new server must pass HAProxy's health check before it gets traffic" % "; ".join(down))
    if check_mode:
        return result
    if changed:
        set_weights(api, backend, target, state_file)
    if watch <= 0 or percent == 0:
        return result

    return _watch(api, backend, result, (base, legacy, new_servers, state_file), settings, mode, watch, clock, sleep)


def _watch(api: RuntimeAPI, backend: str, result: dict[str, t.Any], plan: tuple, settings: dict[str, t.Any], mode: str,
           watch: float, clock: t.Callable[[], float], sleep: t.Callable[[float], None]) -> dict[str, t.Any]:
    """Watch the gate for ``watch`` seconds (longer while the new servers got too few requests to judge)."""
    legacy, new_servers = plan[1], plan[2]
    start = clock()
    try:
        samples = [(start, rows_now(api, backend))]
    except WATCH_ERRORS as exc:
        return _fail_closed(api, backend, result, plan, exc, 0.0)
    segment, seen, restarts, verdict = samples[0][1], 0, 0, None

    def volume() -> int:
        return seen + evaluate(segment, samples[-1][1], legacy, new_servers, settings, mode)["new"]["volume"]

    limit = watch + settings["wait_for_requests"]
    while True:
        elapsed = clock() - start
        if elapsed >= watch and (volume() >= settings["min_step_requests"] or elapsed >= limit):
            break
        sleep(min(settings["interval"], max(0.0, (watch if elapsed < watch else limit) - elapsed)))
        now = clock()
        try:
            sample = rows_now(api, backend)
        except WATCH_ERRORS as exc:
            return _fail_closed(api, backend, result, plan, exc, now - start)
        if counters_went_down(samples[-1][1], sample):
            seen = volume()
            segment, samples, restarts = sample, [(now, sample)], restarts + 1
            continue
        samples.append((now, sample))
        while len(samples) > 2 and now - samples[1][0] >= settings["window"]:
            samples.pop(0)
        verdict = evaluate(samples[0][1], sample, legacy, new_servers, settings, mode)
        if not verdict["ok"]:
            result.update(window_restarts=restarts, step_requests=volume())
            return _abort(api, backend, result, plan, verdict, now - start)
    total = volume()
    result.update(watched=round(clock() - start, 2), window_restarts=restarts, step_requests=total)
    if total < settings["min_step_requests"]:
        reason = ("the new servers got %d %s in %.0f s, fewer than gate.min_step_requests (%d): the gate has nothing to judge "
                  "(shift while the service has traffic, give the step a longer pause, or lower min_step_requests)"
                  % (total, "requests" if mode == "http" else "sessions", clock() - start, settings["min_step_requests"]))
        return _abort(api, backend, result, plan, {"ok": False, "reasons": [reason], "new": None, "legacy": None}, clock() - start)
    result["gate"] = verdict
    return result


# What reading the statistics may raise: the socket (OSError), HAProxy's answer (HAProxyError), a row
# that lacks a column (KeyError, ValueError).
WATCH_ERRORS = (HAProxyError, OSError, KeyError, ValueError)
_COUNTERS = ("stot", "econ", "eresp", "wretr", "wredis", "hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other")


def counters_went_down(before: dict[str, dict[str, t.Any]], after: dict[str, dict[str, t.Any]]) -> bool:
    """True when a cumulative counter of a server is lower than before: HAProxy's counters were reset."""
    for name, row in after.items():
        old = before.get(name) or {}
        if any((row.get(key) or 0) < (old.get(key) or 0) for key in _COUNTERS):
            return True
    return False


def _fail_closed(api: RuntimeAPI, backend: str, result: dict[str, t.Any], plan: tuple, error: Exception, watched: float) -> dict[str, t.Any]:
    """The gate cannot see: give all weight back to the legacy servers, and report it as a failed gate."""
    reason = "the gate could not read HAProxy's statistics (%s: %s)" % (type(error).__name__, error)
    return _abort(api, backend, result, plan, {"ok": False, "reasons": [reason], "new": None, "legacy": None}, watched)


def _abort(api: RuntimeAPI, backend: str, result: dict[str, t.Any], plan: tuple, gate: dict[str, t.Any], watched: float) -> dict[str, t.Any]:
    """All weight back to the legacy servers; when HAProxy refuses even that, say where the traffic may be."""
    base, legacy, new_servers, state_file = plan
    restore = plan_weights(base, legacy, new_servers, 0)
    try:
        set_weights(api, backend, restore, state_file)
    except (ShiftError,) + WATCH_ERRORS as exc:
        raise ShiftError("%s, and giving the weight back to the legacy servers failed too (%s): traffic may still be on %s; "
                         "run the rollback playbook" % ("; ".join(gate["reasons"]), exc, ", ".join(new_servers))) from None
    result.update(aborted=True, weights=restore, share=0.0, changed=True, gate=gate, watched=round(watched, 2), aborted_after=round(watched, 2))
    return result


def rows_now(api: RuntimeAPI, backend: str) -> dict[str, dict[str, t.Any]]:
    return read_backend(api, backend)[1]


ERRORS = (ShiftError, HAProxyError, GateError)
