# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Old against new: the same read-only requests to the legacy hosts and to the new endpoint, compared.

Private to this collection (the leading underscore): importable and unit-testable without Ansible,
standard library only (http.client, smtplib). The flow is:

1. ``validate(params)`` checks every input and raises ``VerifyInputError`` naming the field, before
   any connection is made;
2. ``collect_http`` / ``collect_smtp`` send the requests (round-robin over the endpoints, one new
   connection per request, timed from connect to the last byte read) and keep the raw samples;
3. ``report_http`` / ``report_smtp`` compare the samples (pure functions: the unit tests feed them
   samples) and ``finish`` adds the latency comparison and the verdict.

A sample is a dict: ``endpoint``, ``status`` (int, None when the request failed), ``headers`` (list of
``(name, value)``), ``body`` (bytes), ``ms`` (float) and ``error`` (str or None). SMTP samples have
``banner`` and ``ehlo`` (reply code and lines) instead of ``headers`` and ``body``.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import math
import re
import smtplib
import socket
import time
import typing as t

DEFAULT_ALLOWED_METHODS = ("GET", "HEAD")
# Never compared: Date differs on every answer; the hop-by-hop headers (RFC 9110 section 7.6.1) belong to one
# connection, and the load balancer in front of both platforms makes its own towards the client.
ALWAYS_IGNORED_HEADERS = ("date", "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade")
USER_AGENT = "replatform-verify/1"
PREVIEW_CHARS = 160

_HOST_RE = re.compile(r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)$")
_HEADER_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_JSON_KEY_RE = re.compile(r"^[^.]+$")

Sample = t.Dict[str, t.Any]


class VerifyInputError(Exception):
    """Bad input; the message names the field. Raised before any request is sent."""


# --- input -------------------------------------------------------------------------------------------


def parse_endpoint(value: t.Any, field: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port`` for IPv6) to ``(host, port)``; a bad value names ``field``."""
    if not isinstance(value, str) or ":" not in value:
        raise VerifyInputError("%s: %r is not host:port" % (field, value))
    host, _sep, port = value.rpartition(":")
    if not _HOST_RE.match(host) or not port.isdigit() or not 0 < int(port) < 65536:
        raise VerifyInputError("%s: %r is not host:port (a host name or address, and a port from 1 to 65535)" % (field, value))
    return host.strip("[]"), int(port)


def parse_compare(value: t.Any, field: str) -> tuple[str, list[str]]:
    """``exact``, ``hash``, ``json`` (the whole document) or ``json:<dotted.path>`` to ``(kind, path)``."""
    if value in ("exact", "hash", "json"):
        return value, []
    if isinstance(value, str) and value.startswith("json:"):
        path = value[len("json:"):].split(".")
        if all(_JSON_KEY_RE.match(part) for part in path):
            return "json", path
    raise VerifyInputError(
        "%s: %r is not a compare mode (exact, hash, json, or json:<dotted path> such as json:data.items.0.id)" % (field, value)
    )


def _number(params: dict[str, t.Any], name: str, minimum: float, integer: bool = False) -> t.Any:
    value = params.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
        raise VerifyInputError("%s: %r is not a %s" % (name, value, "whole number" if integer else "number"))
    if value < minimum:
        raise VerifyInputError("%s: %r must be at least %s" % (name, value, minimum))
    return value


def validate(params: dict[str, t.Any]) -> dict[str, t.Any]:
    """Check and normalise the module's parameters; raise VerifyInputError naming the first bad field."""
    protocol = params.get("protocol", "http")
    if protocol not in ("http", "smtp", "tcp"):
        raise VerifyInputError("protocol: %r is not one of http, smtp, tcp" % (protocol,))
    legacy = params.get("legacy_endpoints")
    if not isinstance(legacy, list) or not legacy:
        raise VerifyInputError("legacy_endpoints: at least one host:port is needed")
    config: dict[str, t.Any] = {
        "protocol": protocol,
        "legacy": [parse_endpoint(e, "legacy_endpoints[%d]" % i) for i, e in enumerate(legacy)],
        "new": parse_endpoint(params.get("new_endpoint"), "new_endpoint"),
        "repeat": _number(params, "repeat", 1, integer=True),
        "warmup": _number(params, "warmup", 0, integer=True),
        "timeout": _number(params, "timeout", 0.001),
        "warn_factor": _number(params, "latency_warn_factor", 1),
        "fail_factor": _number(params, "latency_fail_factor", 1),
        "floor_ms": _number(params, "latency_floor_ms", 0),
        "confirm": bool(params.get("latency_confirm", True)),
    }
    if config["fail_factor"] < config["warn_factor"]:
        raise VerifyInputError(
            "latency_fail_factor: %r is below latency_warn_factor %r" % (config["fail_factor"], config["warn_factor"])
        )
    labels = ["%s:%d" % e for e in config["legacy"]]
    if len(set(labels)) != len(labels):
        raise VerifyInputError("legacy_endpoints: %s names an endpoint twice" % ", ".join(labels))
    ignore = params.get("ignore_headers") or []
    for i, name in enumerate(ignore):
        if not isinstance(name, str) or not _HEADER_RE.match(name):
            raise VerifyInputError("ignore_headers[%d]: %r is not a header name" % (i, name))
    config["ignore"] = sorted(set(ALWAYS_IGNORED_HEADERS) | {n.lower() for n in ignore})
    if protocol == "tcp":
        config.update(_tcp_config(params))
        return config
    if protocol == "smtp":
        ehlo = params.get("ehlo_name") or "localhost"
        if not isinstance(ehlo, str) or not _HOST_RE.match(ehlo):
            raise VerifyInputError("ehlo_name: %r is not a host name" % (ehlo,))
        config["ehlo_name"] = ehlo
        config["requests"] = []
        return config
    allowed = [m.upper() for m in (params.get("allowed_methods") or DEFAULT_ALLOWED_METHODS)]
    host_header = params.get("host_header")
    if host_header is not None and (not isinstance(host_header, str) or not _HOST_RE.match(host_header.rsplit(":", 1)[0])):
        raise VerifyInputError("host_header: %r is not a host name" % (host_header,))
    requests = params.get("requests")
    if not isinstance(requests, list) or not requests:
        raise VerifyInputError("requests: at least one request is needed")
    config["requests"] = []
    for i, request in enumerate(requests):
        field = "requests[%d]" % i
        if not isinstance(request, dict):
            raise VerifyInputError("%s: %r is not a dict with path, method and compare" % (field, request))
        unknown = sorted(set(request) - {"path", "method", "compare", "headers"})
        if unknown:
            raise VerifyInputError("%s: unknown keys %s (known: path, method, compare, headers)" % (field, ", ".join(unknown)))
        path = request.get("path")
        if not isinstance(path, str) or not path.startswith("/") or any(c in path for c in " \r\n\t"):
            raise VerifyInputError("%s.path: %r must start with / and hold no spaces" % (field, path))
        method = request.get("method") or "GET"
        if not isinstance(method, str) or method.upper() not in allowed:
            raise VerifyInputError(
                "%s.method: %r is not allowed (allowed: %s): verification must not change data; add it to "
                "allowed_methods only for a request known to be read-only" % (field, method, ", ".join(allowed))
            )
        compare = request.get("compare") or "exact"
        kind, json_path = parse_compare(compare, field + ".compare")
        headers = request.get("headers") or {}
        if not isinstance(headers, dict) or not all(isinstance(k, str) and _HEADER_RE.match(k) for k in headers):
            raise VerifyInputError("%s.headers: %r is not a dict of header names to values" % (field, headers))
        send = {"User-Agent": USER_AGENT, "Accept": "*/*", "Connection": "close"}
        if host_header:
            send["Host"] = host_header
        send.update({k: str(v) for k, v in headers.items()})
        config["requests"].append({
            "method": method.upper(), "path": path, "compare": compare, "kind": kind, "json_path": json_path, "headers": send,
        })
    return config


def _tcp_config(params: dict[str, t.Any]) -> dict[str, t.Any]:
    """tcp_send (what to send, may be empty for a protocol whose server speaks first) and tcp_expect (a regex)."""
    send = params.get("tcp_send") or ""
    if not isinstance(send, str) or len(send) > 1024:
        raise VerifyInputError("tcp_send: %r must be a string of at most 1024 characters" % (send,))
    expect = params.get("tcp_expect")
    if not isinstance(expect, str) or not expect:
        raise VerifyInputError("tcp_expect: a regular expression the first line of the answer must match is needed for protocol tcp")
    try:
        pattern = re.compile(expect)
    except re.error as exc:
        raise VerifyInputError("tcp_expect: %r is not a valid regular expression (%s)" % (expect, exc)) from None
    return {"tcp_send": send.encode("utf-8"), "tcp_expect": pattern, "requests": []}


# --- probes (the only code that talks to the network) ------------------------------------------------


def tcp_probe(host: str, port: int, send: bytes, timeout: float) -> Sample:
    """Connect, send ``send`` (if any), read the first line of the answer; timed from connect to that line."""
    start = time.perf_counter()
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            if send:
                sock.sendall(send)
            data = b""
            while b"\n" not in data and len(data) < 4096:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        elapsed = (time.perf_counter() - start) * 1000.0
        return {"status": "answered", "line": data.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", "replace"), "ms": elapsed, "error": None}
    except OSError as exc:
        return {"status": None, "line": None, "ms": None, "error": _error_text(exc)}


def http_probe(host: str, port: int, method: str, path: str, headers: dict[str, str], timeout: float) -> Sample:
    """One request on a new connection, timed from connect to the last byte of the body."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    start = time.perf_counter()
    try:
        conn.request(method, path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        elapsed = (time.perf_counter() - start) * 1000.0
        return {"status": response.status, "headers": list(response.getheaders()), "body": body, "ms": elapsed, "error": None}
    except (OSError, http.client.HTTPException) as exc:
        return {"status": None, "headers": [], "body": b"", "ms": None, "error": _error_text(exc)}
    finally:
        conn.close()


def smtp_probe(host: str, port: int, ehlo_name: str, timeout: float) -> Sample:
    """Banner, EHLO and QUIT on a new connection, timed from connect to the answer to QUIT.

    Never sends MAIL FROM, RCPT TO or DATA: nothing is queued or delivered.
    """
    client = smtplib.SMTP(local_hostname=ehlo_name, timeout=timeout)
    start = time.perf_counter()
    try:
        banner_code, banner = client.connect(host, port)
        ehlo_code, ehlo = client.ehlo(ehlo_name)
        try:
            client.quit()
        except smtplib.SMTPServerDisconnected:
            pass
        elapsed = (time.perf_counter() - start) * 1000.0
        return {
            "status": banner_code, "banner": banner.decode("utf-8", "replace"),
            "ehlo_code": ehlo_code, "ehlo": ehlo.decode("utf-8", "replace").split("\n"), "ms": elapsed, "error": None,
        }
    except (OSError, smtplib.SMTPException) as exc:
        return {"status": None, "banner": None, "ehlo_code": None, "ehlo": [], "ms": None, "error": _error_text(exc)}
    finally:
        client.close()


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout):
        return "timed out"
    return "%s: %s" % (type(exc).__name__, exc) if str(exc) else type(exc).__name__


def _label(endpoint: tuple[str, int]) -> str:
    host, port = endpoint
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


def collect_http(config: dict[str, t.Any], probe: t.Callable[..., Sample] = http_probe) -> list[dict[str, t.Any]]:
    """Send every request to every endpoint; samples per request as ``{'legacy': [...], 'new': [...]}``.

    Round-robin (legacy hosts, then new, request after request, round after round) so that a slow
    moment of the machine falls on both sides alike. Warm-up rounds are sent and not kept, except a
    failed request: that is kept, and that request is not sent to that endpoint again (one timeout
    is enough to fail, and waiting for it in every round would take minutes).
    """
    collected: list[dict[str, list[Sample]]] = [{"legacy": [], "new": []} for _request in config["requests"]]
    endpoints = [("legacy", e) for e in config["legacy"]] + [("new", config["new"])]
    failed: set[tuple[int, tuple[str, int]]] = set()
    for round_number in range(config["warmup"] + config["repeat"]):
        for index, request in enumerate(config["requests"]):
            for side, endpoint in endpoints:
                if (index, endpoint) in failed:
                    continue
                sample = probe(endpoint[0], endpoint[1], request["method"], request["path"], request["headers"], config["timeout"])
                sample["endpoint"] = _label(endpoint)
                if sample.get("error"):
                    failed.add((index, endpoint))
                if round_number >= config["warmup"] or sample.get("error"):
                    collected[index][side].append(sample)
    return collected


def _collect_sessions(config: dict[str, t.Any], session: t.Callable[[str, int], Sample]) -> dict[str, list[Sample]]:
    """One session per endpoint and round, round-robin, like ``collect_http``: {'legacy': [...], 'new': [...]}."""
    collected: dict[str, list[Sample]] = {"legacy": [], "new": []}
    endpoints = [("legacy", e) for e in config["legacy"]] + [("new", config["new"])]
    failed: set[tuple[str, int]] = set()
    for round_number in range(config["warmup"] + config["repeat"]):
        for side, endpoint in endpoints:
            if endpoint in failed:
                continue
            sample = session(endpoint[0], endpoint[1])
            sample["endpoint"] = _label(endpoint)
            if sample.get("error"):
                failed.add(endpoint)
            if round_number >= config["warmup"] or sample.get("error"):
                collected[side].append(sample)
    return collected


def collect_smtp(config: dict[str, t.Any], probe: t.Callable[..., Sample] = smtp_probe) -> dict[str, list[Sample]]:
    """Banner and EHLO from every endpoint."""
    return _collect_sessions(config, lambda host, port: probe(host, port, config["ehlo_name"], config["timeout"]))


def collect_tcp(config: dict[str, t.Any], probe: t.Callable[..., Sample] = tcp_probe) -> dict[str, list[Sample]]:
    """The first answer line of every endpoint."""
    return _collect_sessions(config, lambda host, port: probe(host, port, config["tcp_send"], config["timeout"]))


# --- comparison (pure) -------------------------------------------------------------------------------


def json_path_get(document: t.Any, path: list[str]) -> tuple[bool, t.Any]:
    """Follow a dotted path (list segments are indexes); ``(found, value)``."""
    value = document
    for part in path:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and re.match(r"^-?[0-9]+$", part) and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            return False, None
    return True, value


def body_view(body: bytes, kind: str, json_path: list[str]) -> dict[str, t.Any]:
    """What is compared of a body, and what the report shows of it.

    ``key`` is what must be equal: the bytes' SHA-256 (exact, hash) or the canonical JSON of the
    selected value (json); None when the body is not JSON or lacks the path, which never matches.
    ``exact`` shows a preview of the body, ``hash`` only its digest and length (for large bodies or
    bodies that must not be written to the ledger), ``json`` the selected value.
    """
    digest = hashlib.sha256(body).hexdigest()
    view: dict[str, t.Any] = {"sha256": digest, "length": len(body)}
    if kind in ("exact", "hash"):
        view["key"] = digest
        if kind == "exact":
            view["preview"] = body[:PREVIEW_CHARS].decode("utf-8", "replace")
        return view
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        view["key"] = None
        view["error"] = "not JSON: %s" % exc
        view["preview"] = body[:PREVIEW_CHARS].decode("utf-8", "replace")
        return view
    found, value = json_path_get(document, json_path)
    if not found:
        view["key"] = None
        view["error"] = "the JSON has no %s" % ".".join(json_path)
        return view
    view["key"] = json.dumps(value, sort_keys=True, separators=(",", ":"))
    view["value"] = value
    return view


def first_difference(a: bytes, b: bytes) -> int | None:
    """Offset of the first byte that differs (the shorter length when one is a prefix), None if equal."""
    if a == b:
        return None
    for offset, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return offset
    return min(len(a), len(b))


def header_values(samples: list[Sample], ignore: list[str]) -> dict[str, dict[str, t.Any]]:
    """Per lower-case header name: the name as sent and the distinct values over the samples.

    A header sent more than once in one answer (Set-Cookie) counts as one value, joined with ', '.
    """
    found: dict[str, dict[str, t.Any]] = {}
    for sample in samples:
        if sample.get("error"):
            continue
        per_answer: dict[str, list[str]] = {}
        names: dict[str, str] = {}
        for name, value in sample.get("headers", []):
            key = name.lower()
            if key in ignore:
                continue
            names.setdefault(key, name)
            per_answer.setdefault(key, []).append(value.strip())
        for key, values in per_answer.items():
            entry = found.setdefault(key, {"name": names[key], "values": set()})
            entry["values"].add(", ".join(values))
    return found


def header_diffs(legacy: list[Sample], new: list[Sample], ignore: list[str]) -> list[dict[str, t.Any]]:
    """Headers that differ: present on one side only, or a value on the new side no legacy host sent.

    A value the new endpoint shares with one legacy host is not a difference, so legacy hosts that
    disagree among themselves (an ETag per host) do not make every new answer differ.
    """
    old = header_values(legacy, ignore)
    now = header_values(new, ignore)
    diffs = []
    for key in sorted(set(old) | set(now)):
        old_values = old.get(key, {}).get("values", set())
        new_values = now.get(key, {}).get("values", set())
        if old_values and new_values and new_values <= old_values:
            continue
        diffs.append({
            "header": (old.get(key) or now.get(key))["name"],
            "legacy": sorted(old_values),
            "new": sorted(new_values),
            "change": "missing on new" if not new_values else "added on new" if not old_values else "value differs",
        })
    return diffs


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least p% of the values at or below it.

    No interpolation, so it is always a latency that was measured; with fewer than 100 values p99 is
    the maximum. None for no values.
    """
    if not values:
        return None
    if not 0 < p <= 100:
        raise ValueError("percentile: p must be in (0, 100]")
    ordered = sorted(values)
    rank = max(1, int(math.ceil(p / 100.0 * len(ordered))))
    return ordered[rank - 1]


# A p50 slowdown also needs the rank test to say the new side is slower at this level (one-sided).
LATENCY_ALPHA = 0.01


def slower_p_value(legacy_ms: list[float], new_ms: list[float]) -> float:
    """One-sided Mann-Whitney U test: the chance of samples this much slower if new were not slower.

    Normal approximation with tie and continuity corrections (fine from about 8 samples a side).
    The median alone flips when answers are bimodal: a service that answers 30 % of connections
    after a 200 ms delayed ACK (ProFTPD's banner does) has a p50 of 4 ms or 200 ms by chance in 20
    samples, on either side. The rank test compares the whole samples, so only a real shift counts.
    """
    if not legacy_ms or not new_ms:
        return 1.0
    values = sorted([(v, 0) for v in legacy_ms] + [(v, 1) for v in new_ms])
    ranks: list[float] = [0.0] * len(values)
    ties = 0.0
    start = 0
    while start < len(values):
        end = start
        while end + 1 < len(values) and values[end + 1][0] == values[start][0]:
            end += 1
        for i in range(start, end + 1):
            ranks[i] = (start + end) / 2.0 + 1.0
        size = end - start + 1
        ties += size ** 3 - size
        start = end + 1
    n_old, n_new = len(legacy_ms), len(new_ms)
    total = n_old + n_new
    u_new = sum(r for r, (_value, side) in zip(ranks, values) if side == 1) - n_new * (n_new + 1) / 2.0
    mean = n_old * n_new / 2.0
    variance = n_old * n_new / 12.0 * ((total + 1) - ties / (total * (total - 1) if total > 1 else 1))
    if variance <= 0:
        return 1.0 if u_new <= mean else 0.0
    z = (u_new - mean - 0.5) / math.sqrt(variance)
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def latency_report(legacy_ms: list[float], new_ms: list[float], warn_factor: float, fail_factor: float, floor_ms: float) -> dict[str, t.Any]:
    """p50 and p99 of both sides, the factors new/old and a level: ok, warn or fail.

    A percentile counts as slower only when it is above the factor AND more than ``floor_ms`` slower
    in absolute terms, so sub-millisecond noise on fast answers never warns or fails. p50 also needs
    the rank test (``slower_p_value`` below ``LATENCY_ALPHA``): a median that flipped between the
    two modes of a bimodal service is not a slowdown.
    """
    report: dict[str, t.Any] = {
        "legacy": {"samples": len(legacy_ms), "p50_ms": _round(percentile(legacy_ms, 50)), "p99_ms": _round(percentile(legacy_ms, 99))},
        "new": {"samples": len(new_ms), "p50_ms": _round(percentile(new_ms, 50)), "p99_ms": _round(percentile(new_ms, 99))},
        "factor": {}, "warn_factor": warn_factor, "fail_factor": fail_factor, "floor_ms": floor_ms, "level": "ok", "reasons": [],
    }
    if not legacy_ms or not new_ms:
        report["level"] = "unknown"
        return report
    levels = []
    p_value = slower_p_value(legacy_ms, new_ms)
    report["p_value"] = round(p_value, 6)
    for name in ("p50", "p99"):
        old = percentile(legacy_ms, int(name[1:]))
        now = percentile(new_ms, int(name[1:]))
        factor = now / old if old > 0 else (math.inf if now > 0 else 1.0)
        report["factor"][name] = round(factor, 2) if factor != math.inf else None
        if now - old <= floor_ms or (name == "p50" and p_value >= LATENCY_ALPHA):
            continue
        for level, limit in (("fail", fail_factor), ("warn", warn_factor)):
            if factor > limit:
                levels.append(level)
                report["reasons"].append(
                    "latency %s: %.1f ms on the new endpoint against %.1f ms on legacy, %.2fx (%s above %sx%s)"
                    % (name, now, old, factor, level, limit, ", rank test p=%.2g" % p_value if name == "p50" else "")
                )
                break
    report["level"] = "fail" if "fail" in levels else "warn" if levels else "ok"
    return report


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _distinct(items: list[t.Any]) -> list[t.Any]:
    """The distinct items, sorted: answers come from several pods in any order, and a report (the ledger's
    warnings) must read the same on every run, or a second run would change the record."""
    seen: list[t.Any] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    try:
        return sorted(seen)
    except TypeError:
        return sorted(seen, key=lambda item: json.dumps(item, sort_keys=True, default=str))


def _errors(samples: list[Sample]) -> list[str]:
    return _distinct(["%s: %s" % (s["endpoint"], s["error"]) for s in samples if s.get("error")])


def report_http_request(request: dict[str, t.Any], legacy: list[Sample], new: list[Sample], ignore: list[str]) -> dict[str, t.Any]:
    """Compare the answers to one request; the entry has ``fail_reasons`` and ``warn_reasons`` of its own."""
    name = "%s %s" % (request["method"], request["path"])
    failures: list[str] = []
    warnings: list[str] = []
    legacy_ok = [s for s in legacy if not s.get("error")]
    new_ok = [s for s in new if not s.get("error")]
    entry: dict[str, t.Any] = {
        "method": request["method"], "path": request["path"], "compare": request["compare"],
        "status": {"legacy": sorted({s["status"] for s in legacy_ok}), "new": sorted({s["status"] for s in new_ok})},
        "status_match": None, "body_match": None, "body": {}, "header_diffs": [],
        "errors": {"legacy": _errors(legacy), "new": _errors(new)},
        "latency_ms": {
            "legacy_p50": _round(percentile([s["ms"] for s in legacy_ok], 50)),
            "new_p50": _round(percentile([s["ms"] for s in new_ok], 50)),
        },
    }
    for error in entry["errors"]["new"]:
        failures.append("%s: the new endpoint did not answer (%s)" % (name, error))
    if entry["errors"]["legacy"]:
        answered = sorted({s["endpoint"] for s in legacy_ok})
        for error in entry["errors"]["legacy"]:
            if answered:
                warnings.append("%s: a legacy endpoint did not answer (%s); compared with %s" % (name, error, ", ".join(answered)))
            else:
                failures.append("%s: no legacy endpoint answered (%s), nothing to compare with" % (name, error))
    if legacy_ok and new_ok:
        old_status, new_status = entry["status"]["legacy"], entry["status"]["new"]
        entry["status_match"] = set(new_status) <= set(old_status)
        if not entry["status_match"]:
            failures.append("%s: status %s on the new endpoint, %s on legacy" % (
                name, "/".join(map(str, new_status)), "/".join(map(str, old_status))))
        old_views = _distinct([body_view(s["body"], request["kind"], request["json_path"]) for s in legacy_ok])
        new_views = _distinct([body_view(s["body"], request["kind"], request["json_path"]) for s in new_ok])
        old_keys = {v["key"] for v in old_views}
        entry["body_match"] = None not in old_keys and all(v["key"] in old_keys for v in new_views)
        entry["body"] = {"legacy": [_public(v) for v in old_views], "new": [_public(v) for v in new_views]}
        if not entry["body_match"]:
            failures.append("%s: body differs (%s)" % (name, _body_reason(request, legacy_ok, new_ok, old_views, new_views)))
        elif len(old_views) > 1 or len(old_status) > 1:
            warnings.append("%s: the legacy endpoints answer differently among themselves (%d bodies, status %s)" % (
                name, len(old_views), "/".join(map(str, old_status))))
        entry["header_diffs"] = header_diffs(legacy_ok, new_ok, ignore)
        for diff in entry["header_diffs"]:
            warnings.append("%s: header %s %s (legacy: %s; new: %s)" % (
                name, diff["header"], diff["change"], " | ".join(diff["legacy"]) or "-", " | ".join(diff["new"]) or "-"))
    entry["fail_reasons"] = failures
    entry["warn_reasons"] = warnings
    return entry


def _public(view: dict[str, t.Any]) -> dict[str, t.Any]:
    return {k: v for k, v in view.items() if k != "key"}


def _body_reason(request: dict[str, t.Any], legacy: list[Sample], new: list[Sample], old_views: list, new_views: list) -> str:
    kind = request["kind"]
    errors = [v["error"] for v in new_views + old_views if v.get("error")]
    if errors:
        return "; ".join(_distinct(errors))
    if kind == "json":
        return "%s: %s on the new endpoint, %s on legacy" % (
            ".".join(request["json_path"]) or "document",
            " | ".join(v["key"] for v in new_views), " | ".join(_distinct([v["key"] for v in old_views])))
    if kind == "hash":
        return "sha256 %s (%d bytes) on the new endpoint, %s on legacy" % (
            new_views[0]["sha256"][:12], new_views[0]["length"], " | ".join("%s (%d bytes)" % (v["sha256"][:12], v["length"]) for v in old_views))
    offset = first_difference(new[0]["body"], legacy[0]["body"])
    return "%d bytes on the new endpoint, %d on legacy; first difference at byte %s" % (
        len(new[0]["body"]), len(legacy[0]["body"]), offset)


def report_http(config: dict[str, t.Any], collected: list[dict[str, list[Sample]]]) -> tuple[list[dict[str, t.Any]], dict[str, t.Any]]:
    """Entries to judge and the report's own key: ``requests``, one entry per request."""
    entries = [report_http_request(r, c["legacy"], c["new"], config["ignore"]) for r, c in zip(config["requests"], collected)]
    return entries, {"requests": entries}


def timings(collected: list[dict[str, list[Sample]]] | dict[str, list[Sample]]) -> tuple[list[float], list[float]]:
    """Latencies of the answered requests: (legacy, new)."""
    groups = collected if isinstance(collected, list) else [collected]
    legacy = [s["ms"] for c in groups for s in c["legacy"] if not s.get("error")]
    new = [s["ms"] for c in groups for s in c["new"] if not s.get("error")]
    return legacy, new


def parse_ehlo(lines: list[str]) -> tuple[str, dict[str, str]]:
    """EHLO reply lines (without codes) to the greeting and ``{KEYWORD: parameters}``."""
    if not lines:
        return "", {}
    capabilities: dict[str, str] = {}
    for line in lines[1:]:
        keyword, _sep, parameters = line.strip().partition(" ")
        if keyword:
            capabilities[keyword.upper()] = parameters.strip()
    return lines[0].strip(), capabilities


def report_smtp(config: dict[str, t.Any], collected: dict[str, list[Sample]]) -> tuple[list[dict[str, t.Any]], dict[str, t.Any]]:
    """Compare banners and EHLO answers.

    A reply code that differs, or a capability the legacy hosts announce and the new endpoint does not,
    fails (a client relying on it, e.g. STARTTLS, would break). A banner or EHLO greeting text that
    differs (often only the host name), a capability only the new endpoint announces, or one whose
    parameters differ (SIZE) is reported as a warning.
    """
    legacy = [s for s in collected["legacy"] if not s.get("error")]
    new = [s for s in collected["new"] if not s.get("error")]
    failures: list[str] = []
    warnings: list[str] = []
    errors = {"legacy": _errors(collected["legacy"]), "new": _errors(collected["new"])}
    failures += ["SMTP: the new endpoint did not answer (%s)" % e for e in errors["new"]]
    if errors["legacy"]:
        answered = sorted({s["endpoint"] for s in legacy})
        for error in errors["legacy"]:
            if answered:
                warnings.append("SMTP: a legacy endpoint did not answer (%s); compared with %s" % (error, ", ".join(answered)))
            else:
                failures.append("SMTP: no legacy endpoint answered (%s), nothing to compare with" % error)

    def side(samples: list[Sample]) -> dict[str, t.Any]:
        parsed = [parse_ehlo(s["ehlo"]) for s in samples]
        capabilities: dict[str, set[str]] = {}
        for _greeting, caps in parsed:
            for keyword, parameters in caps.items():
                capabilities.setdefault(keyword, set()).add(parameters)
        return {
            "banner_code": sorted({s["status"] for s in samples}),
            "banner": _distinct([s["banner"] for s in samples]),
            "ehlo_code": sorted({s["ehlo_code"] for s in samples}),
            "ehlo_greeting": _distinct([g for g, _caps in parsed]),
            "capabilities": {k: sorted(v) for k, v in sorted(capabilities.items())},
        }

    smtp: dict[str, t.Any] = {"legacy": side(legacy), "new": side(new), "errors": errors, "differences": []}
    if legacy and new:
        old, now = smtp["legacy"], smtp["new"]
        for code in ("banner_code", "ehlo_code"):
            if not set(now[code]) <= set(old[code]):
                failures.append("SMTP: %s %s on the new endpoint, %s on legacy" % (
                    code.replace("_", " "), "/".join(map(str, now[code])), "/".join(map(str, old[code]))))
        for text in ("banner", "ehlo_greeting"):
            if not set(now[text]) <= set(old[text]):
                smtp["differences"].append({"item": text, "legacy": old[text], "new": now[text], "change": "text differs"})
        for keyword in sorted(set(old["capabilities"]) | set(now["capabilities"])):
            before, after = old["capabilities"].get(keyword), now["capabilities"].get(keyword)
            if after is None:
                smtp["differences"].append({"item": keyword, "legacy": before, "new": [], "change": "missing on new"})
                failures.append("SMTP: capability %s is announced by legacy and not by the new endpoint" % keyword)
            elif before is None:
                smtp["differences"].append({"item": keyword, "legacy": [], "new": after, "change": "added on new"})
            elif not set(after) <= set(before):
                smtp["differences"].append({"item": keyword, "legacy": before, "new": after, "change": "parameters differ"})
        for diff in smtp["differences"]:
            if diff["change"] != "missing on new":
                warnings.append("SMTP: %s %s (legacy: %s; new: %s)" % (
                    diff["item"], diff["change"], " | ".join(diff["legacy"]) or "-", " | ".join(diff["new"]) or "-"))
    smtp["fail_reasons"] = failures
    smtp["warn_reasons"] = warnings
    return [smtp], {"smtp": smtp}


def report_tcp(config: dict[str, t.Any], collected: dict[str, list[Sample]]) -> tuple[list[dict[str, t.Any]], dict[str, t.Any]]:
    """Compare first answer lines: the new endpoint must answer, and match tcp_expect wherever legacy does.

    A line that matches on both sides but differs in its text (a version, a host name) is a warning.
    """
    pattern = config["tcp_expect"]
    legacy = [s for s in collected["legacy"] if not s.get("error")]
    new = [s for s in collected["new"] if not s.get("error")]
    failures = ["TCP: the new endpoint did not answer (%s)" % e for e in _errors(collected["new"])]
    warnings: list[str] = []
    if _errors(collected["legacy"]):
        if legacy:
            warnings += ["TCP: a legacy endpoint did not answer (%s)" % e for e in _errors(collected["legacy"])]
        else:
            failures += ["TCP: no legacy endpoint answered (%s), nothing to compare with" % e for e in _errors(collected["legacy"])]
    old_lines, new_lines = _distinct([s["line"] for s in legacy]), _distinct([s["line"] for s in new])
    if legacy and not any(pattern.search(line) for line in old_lines):
        failures.append("TCP: the legacy answer %s does not match tcp_expect %r: is the probe right?" % (" | ".join(old_lines), pattern.pattern))
    bad = [line for line in new_lines if not pattern.search(line)]
    if new and bad:
        failures.append("TCP: the new endpoint answered %s, which does not match tcp_expect %r" % (" | ".join(bad), pattern.pattern))
    elif new and legacy and not set(new_lines) <= set(old_lines):
        warnings.append("TCP: answer text differs (legacy: %s; new: %s)" % (" | ".join(old_lines), " | ".join(new_lines)))
    tcp = {"legacy": old_lines, "new": new_lines, "expect": pattern.pattern, "fail_reasons": failures, "warn_reasons": warnings}
    return [tcp], {"tcp": tcp}


_LEVELS = ("ok", "warn", "fail")


def confirm_latency(first: dict[str, t.Any], second: dict[str, t.Any]) -> dict[str, t.Any]:
    """Combine two latency measurements: a slowdown counts at the lower level of the two.

    On a busy machine one scheduling hiccup of 10-20 ms lands on one side at random and, with fewer
    than 100 samples, p99 is that one sample. A real slowdown shows in both measurements.
    """
    combined = dict(first)
    combined["confirmation"] = {k: second.get(k) for k in ("legacy", "new", "factor", "p_value", "level", "reasons")}
    levels = [lv for lv in (first["level"], second["level"]) if lv in _LEVELS]
    combined["level"] = min(levels, key=_LEVELS.index) if len(levels) == 2 else second["level"]
    if combined["level"] in ("warn", "fail"):
        combined["reasons"] = first["reasons"] + ["confirmed by a second measurement: " + r for r in second["reasons"]]
    else:
        combined["reasons"] = []
        combined["note"] = "the first measurement was %s (%s); a second one was %s, so it is taken as noise" % (
            first["level"], "; ".join(first["reasons"]), second["level"])
    return combined


def finish(config: dict[str, t.Any], entries: list[dict[str, t.Any]], latency: dict[str, t.Any], extra: dict[str, t.Any]) -> dict[str, t.Any]:
    """Verdict and the lists of reasons: fail if anything failed, warn if anything warned."""
    failures = [f for e in entries for f in e["fail_reasons"]]
    warnings = [w for e in entries for w in e["warn_reasons"]]
    if latency["level"] == "fail":
        failures += latency["reasons"]
    elif latency["level"] == "warn":
        warnings += latency["reasons"]
    headers = sorted({d["header"] for e in entries for d in e.get("header_diffs", [])}, key=str.lower)
    report = {
        "verdict": "fail" if failures else "warn" if warnings else "ok",
        "fail_reasons": failures,
        "warn_reasons": warnings,
        "protocol": config["protocol"],
        "legacy_endpoints": [_label(e) for e in config["legacy"]],
        "new_endpoint": _label(config["new"]),
        "repeat": config["repeat"],
        "latency": latency,
        "headers_differing": headers,
    }
    report.update(extra)
    return report


def verify(params: dict[str, t.Any], http: t.Callable[..., Sample] = http_probe, smtp: t.Callable[..., Sample] = smtp_probe,
           tcp: t.Callable[..., Sample] = tcp_probe) -> dict[str, t.Any]:
    """Validate, send, compare, measure latency (again, to confirm a slowdown): the whole module."""
    config = validate(params)
    if config["protocol"] == "tcp":
        def collect() -> t.Any:
            return collect_tcp(config, tcp)
        compare: t.Callable[[dict[str, t.Any], t.Any], tuple[list[dict[str, t.Any]], dict[str, t.Any]]] = report_tcp
    elif config["protocol"] == "smtp":
        def collect() -> t.Any:
            return collect_smtp(config, smtp)
        compare = report_smtp
    else:
        def collect() -> t.Any:
            return collect_http(config, http)
        compare = report_http
    factors = (config["warn_factor"], config["fail_factor"], config["floor_ms"])
    collected = collect()
    entries, extra = compare(config, collected)
    latency = latency_report(*timings(collected), *factors)
    if config["confirm"] and latency["level"] in ("warn", "fail"):
        latency = confirm_latency(latency, latency_report(*timings(collect()), *factors))
    else:
        latency["confirmation"] = None
    return finish(config, entries, latency, extra)
