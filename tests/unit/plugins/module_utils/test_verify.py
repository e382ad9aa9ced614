# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Old against new: input checks, body comparison, header diff, percentiles, latency levels, verdicts.

The probes are tested against small servers on 127.0.0.1 started here; everything else is fed samples.
"""

from __future__ import annotations

import http.server
import socket
import socketserver
import threading

import pytest

from ansible_collections.replatform.kubernetes.plugins.module_utils._verify import (
    VerifyInputError,
    body_view,
    confirm_latency,
    first_difference,
    header_diffs,
    http_probe,
    json_path_get,
    LATENCY_ALPHA,
    latency_report,
    slower_p_value,
    parse_compare,
    parse_ehlo,
    parse_endpoint,
    percentile,
    report_http_request,
    report_smtp,
    smtp_probe,
    validate,
    verify,
)
from ansible_collections.replatform.kubernetes.plugins.module_utils import _verify as v

BASE = {
    "protocol": "http",
    "legacy_endpoints": ["10.0.0.11:80", "10.0.0.12:80"],
    "new_endpoint": "10.0.1.31:80",
    "host_header": "www.example.com",
    "requests": [{"path": "/", "method": "GET", "compare": "exact", "headers": {}}],
    "allowed_methods": ["GET", "HEAD"],
    "repeat": 3,
    "warmup": 1,
    "ignore_headers": [],
    "latency_warn_factor": 1.5,
    "latency_fail_factor": 3.0,
    "latency_floor_ms": 10.0,
    "latency_confirm": True,
    "timeout": 2.0,
    "ehlo_name": "localhost",
}


def params(**changes):
    merged = dict(BASE)
    merged.update(changes)
    return merged


def sample(endpoint="10.0.0.11:80", status=200, body=b"ok\n", headers=(("Server", "nginx/1.22.1"),), ms=1.0, error=None):
    return {"endpoint": endpoint, "status": status, "body": body, "headers": list(headers), "ms": ms, "error": error}


def request(compare="exact", method="GET", path="/"):
    kind, json_path = parse_compare(compare, "compare")
    return {"method": method, "path": path, "compare": compare, "kind": kind, "json_path": json_path, "headers": {}}


# --- input -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [
    ("10.231.7.11:80", ("10.231.7.11", 80)),
    ("api.esp.test:8081", ("api.esp.test", 8081)),
    ("[fd00::1]:25", ("fd00::1", 25)),
])
def test_endpoints_parse(value, expected):
    assert parse_endpoint(value, "new_endpoint") == expected


@pytest.mark.parametrize("value", ["10.231.7.11", "10.231.7.11:0", "10.231.7.11:65536", ":80", "host:http", "a b:80", None, 80])
def test_bad_endpoints_name_the_field(value):
    with pytest.raises(VerifyInputError, match=r"^new_endpoint: .* is not host:port"):
        parse_endpoint(value, "new_endpoint")


@pytest.mark.parametrize("value, expected", [
    ("exact", ("exact", [])),
    ("hash", ("hash", [])),
    ("json", ("json", [])),
    ("json:status", ("json", ["status"])),
    ("json:data.items.0.id", ("json", ["data", "items", "0", "id"])),
])
def test_compare_modes(value, expected):
    assert parse_compare(value, "requests[0].compare") == expected


@pytest.mark.parametrize("value", ["sha1", "json:", "json:a..b", "JSON:x", "", None])
def test_unknown_compare_modes_name_the_field(value):
    with pytest.raises(VerifyInputError, match=r"^requests\[0\]\.compare: .* is not a compare mode"):
        parse_compare(value, "requests[0].compare")


def test_validate_normalises():
    config = validate(params(requests=[{"path": "/healthz", "method": "head", "compare": "json:status", "headers": {"Accept": "application/json"}}]))
    assert config["legacy"] == [("10.0.0.11", 80), ("10.0.0.12", 80)]
    assert config["new"] == ("10.0.1.31", 80)
    (only,) = config["requests"]
    assert only["method"] == "HEAD"
    assert only["kind"] == "json" and only["json_path"] == ["status"]
    assert only["headers"]["Host"] == "www.example.com"
    assert only["headers"]["Accept"] == "application/json"
    assert only["headers"]["Connection"] == "close"
    # Date, and the hop-by-hop headers: a proxy on the new side (Traefik) answers "Connection: close" to the
    # client's "Connection: close" where the legacy server says nothing.
    assert config["ignore"] == ["connection", "date", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"]


@pytest.mark.parametrize("changes, message", [
    ({"requests": [{"path": "/", "method": "POST"}]}, r"^requests\[0\]\.method: 'POST' is not allowed \(allowed: GET, HEAD\)"),
    ({"requests": [{"path": "/"}, {"path": "/x", "compare": "regex"}]}, r"^requests\[1\]\.compare: 'regex'"),
    ({"requests": [{"path": "healthz"}]}, r"^requests\[0\]\.path: 'healthz' must start with /"),
    ({"requests": [{"path": "/", "verb": "GET"}]}, r"^requests\[0\]: unknown keys verb"),
    ({"requests": []}, r"^requests: at least one"),
    ({"legacy_endpoints": []}, r"^legacy_endpoints: at least one"),
    ({"legacy_endpoints": ["10.0.0.11:80", "10.0.0.11"]}, r"^legacy_endpoints\[1\]: '10.0.0.11' is not host:port"),
    ({"legacy_endpoints": ["10.0.0.11:80", "10.0.0.11:80"]}, r"^legacy_endpoints: .* names an endpoint twice"),
    ({"new_endpoint": "10.0.1.31:http"}, r"^new_endpoint: "),
    ({"protocol": "ftp"}, r"^protocol: 'ftp' is not one of http, smtp, tcp"),
    ({"repeat": 0}, r"^repeat: 0 must be at least 1"),
    ({"latency_fail_factor": 1.2}, r"^latency_fail_factor: 1.2 is below latency_warn_factor 1.5"),
    ({"latency_warn_factor": 0.5}, r"^latency_warn_factor: 0.5 must be at least 1"),
    ({"latency_floor_ms": -1}, r"^latency_floor_ms: -1 must be at least 0"),
    ({"ignore_headers": ["Set Cookie"]}, r"^ignore_headers\[0\]: 'Set Cookie' is not a header name"),
    ({"host_header": "www example"}, r"^host_header: "),
])
def test_bad_input_names_the_field(changes, message):
    with pytest.raises(VerifyInputError, match=message):
        validate(params(**changes))


def test_a_listed_method_is_allowed():
    config = validate(params(requests=[{"path": "/search", "method": "POST"}], allowed_methods=["GET", "POST"]))
    assert config["requests"][0]["method"] == "POST"


def test_smtp_needs_no_requests_and_checks_the_ehlo_name():
    assert validate(params(protocol="smtp", requests=None))["requests"] == []
    with pytest.raises(VerifyInputError, match=r"^ehlo_name: "):
        validate(params(protocol="smtp", ehlo_name="not a name"))


def test_bad_input_sends_nothing():
    calls = []
    with pytest.raises(VerifyInputError):
        verify(params(requests=[{"path": "/", "method": "DELETE"}]), http=lambda *a: calls.append(a))
    assert calls == []


# --- bodies ------------------------------------------------------------------------------------------


def test_json_path_follows_keys_and_indexes():
    doc = {"data": {"items": [{"id": 7}, {"id": 9}]}, "status": "ok"}
    assert json_path_get(doc, ["status"]) == (True, "ok")
    assert json_path_get(doc, ["data", "items", "1", "id"]) == (True, 9)
    assert json_path_get(doc, ["data", "items", "-1", "id"]) == (True, 9)
    assert json_path_get(doc, ["data", "items", "2"]) == (False, None)
    assert json_path_get(doc, ["status", "x"]) == (False, None)
    assert json_path_get(doc, []) == (True, doc)
    assert json_path_get({"a": None}, ["a"]) == (True, None)


def test_exact_and_hash_compare_bytes():
    a, b = body_view(b"hello", "exact", []), body_view(b"hello", "exact", [])
    assert a["key"] == b["key"] and a["preview"] == "hello" and a["length"] == 5
    assert body_view(b"hello ", "exact", [])["key"] != a["key"]
    hashed = body_view(b"hello", "hash", [])
    assert hashed["key"] == a["key"] and "preview" not in hashed
    assert hashed["sha256"] == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"


def test_json_ignores_key_order_and_space_and_compares_the_path_only():
    one = b'{"status": "ok", "version": "1.4.2", "time": 1}'
    two = b'{"time":2,"version":"1.4.2","status":"ok"}'
    assert body_view(one, "json", [])["key"] != body_view(two, "json", [])["key"]
    assert body_view(one, "json", ["version"])["key"] == body_view(two, "json", ["version"])["key"]
    assert body_view(one, "json", ["version"])["value"] == "1.4.2"
    assert body_view(b'{"a": 1, "b": [1, 2]}', "json", [])["key"] == body_view(b'{"b":[1,2],"a":1}', "json", [])["key"]


def test_json_errors_are_reported_as_mismatches():
    assert body_view(b"<html>", "json", ["status"])["error"].startswith("not JSON")
    assert body_view(b'{"a": 1}', "json", ["b"])["error"] == "the JSON has no b"


def test_first_difference():
    assert first_difference(b"abc", b"abc") is None
    assert first_difference(b"abc", b"abd") == 2
    assert first_difference(b"abc", b"abcdef") == 3


# --- headers -----------------------------------------------------------------------------------------


def test_header_diff_ignores_date_and_case_and_reports_each_kind():
    legacy = [sample(headers=[("Server", "nginx/1.18.0"), ("Date", "Mon"), ("X-Api-Version", "1.4.2"), ("Via", "1.1 old")])]
    new = [sample(headers=[("server", "nginx/1.22.1"), ("Date", "Tue"), ("X-API-Version", "1.4.2"), ("X-Powered-By", "k8s")])]
    diffs = {d["header"]: d for d in header_diffs(legacy, new, ["date"])}
    assert sorted(diffs) == ["Server", "Via", "X-Powered-By"]
    assert diffs["Server"] == {"header": "Server", "legacy": ["nginx/1.18.0"], "new": ["nginx/1.22.1"], "change": "value differs"}
    assert diffs["Via"]["change"] == "missing on new" and diffs["Via"]["new"] == []
    assert diffs["X-Powered-By"]["change"] == "added on new" and diffs["X-Powered-By"]["legacy"] == []


def test_header_diff_accepts_a_value_of_any_legacy_host_and_honours_ignores():
    legacy = [sample(headers=[("ETag", '"a"')]), sample(endpoint="10.0.0.12:80", headers=[("ETag", '"b"')])]
    assert header_diffs(legacy, [sample(headers=[("ETag", '"b"')])], ["date"]) == []
    assert [d["header"] for d in header_diffs(legacy, [sample(headers=[("ETag", '"c"')])], ["date"])] == ["ETag"]
    assert header_diffs(legacy, [sample(headers=[("ETag", '"c"')])], ["date", "etag"]) == []


def test_a_header_sent_twice_is_one_value():
    legacy = [sample(headers=[("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")])]
    assert header_diffs(legacy, [sample(headers=[("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")])], []) == []
    (diff,) = header_diffs(legacy, [sample(headers=[("Set-Cookie", "a=1")])], [])
    assert diff["legacy"] == ["a=1, b=2"] and diff["new"] == ["a=1"]


# --- percentiles and latency levels ------------------------------------------------------------------


def test_percentile_nearest_rank():
    assert percentile([], 50) is None
    assert percentile([5.0], 99) == 5.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.0
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50) == 3.0
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    # Below 100 samples p99 is the slowest one.
    assert percentile([float(v) for v in range(1, 21)], 99) == 20.0
    with pytest.raises(ValueError):
        percentile(values, 0)


def test_latency_levels():
    old = [10.0] * 20
    assert latency_report(old, [14.0] * 20, 1.5, 3.0, 1.0)["level"] == "ok"
    warn = latency_report(old, [20.0] * 20, 1.5, 3.0, 1.0)
    assert warn["level"] == "warn" and warn["factor"] == {"p50": 2.0, "p99": 2.0}
    assert warn["reasons"][0].startswith("latency p50: 20.0 ms on the new endpoint against 10.0 ms on legacy, 2.00x (warn above 1.5x, rank test p=")
    fail = latency_report(old, [35.0] * 20, 1.5, 3.0, 1.0)
    assert fail["level"] == "fail" and len(fail["reasons"]) == 2
    # Exactly at a factor is not beyond it.
    assert latency_report(old, [30.0] * 20, 1.5, 3.0, 1.0)["level"] == "warn"
    assert latency_report(old, [15.0] * 20, 1.5, 3.0, 1.0)["level"] == "ok"


def test_latency_floor_keeps_fast_noise_out():
    # 0.4 ms against 0.1 ms is four times slower, and 0.3 ms: noise.
    assert latency_report([0.1] * 20, [0.4] * 20, 1.5, 3.0, 10.0)["level"] == "ok"
    # One slow sample on the new side decides p99 alone; the floor keeps 9 ms of it out.
    assert latency_report([1.0] * 20, [1.0] * 19 + [10.0], 1.5, 3.0, 10.0)["level"] == "ok"
    spike = latency_report([1.0] * 20, [1.0] * 19 + [15.0], 1.5, 3.0, 10.0)
    assert spike["level"] == "fail" and spike["reasons"][0].startswith("latency p99: 15.0 ms")
    assert latency_report([], [1.0], 1.5, 3.0, 10.0)["level"] == "unknown"


def test_rank_test_p_value():
    old = [10.0 + i for i in range(20)]
    assert slower_p_value(old, [v * 3 for v in old]) < 1e-6
    assert slower_p_value(old, old) > 0.4
    assert slower_p_value(old, [v / 3 for v in old]) > 0.999
    assert slower_p_value([5.0] * 10, [5.0] * 10) == 1.0
    assert slower_p_value([], [1.0]) == 1.0


def test_bimodal_median_flip_is_not_a_slowdown():
    # ProFTPD answers about 30 % of banners after a 200 ms delayed ACK, on both sides. In 20 samples
    # the new side drew 11 slow ones, legacy 5: the new p50 is 200 ms against 4 ms, 50x, and the same
    # service. The rank test says it could well be chance (p about 0.03), so no slowdown is reported.
    legacy = [3.0 + 0.1 * i for i in range(15)] + [199.0 + i for i in range(5)]
    new = [3.05 + 0.15 * i for i in range(9)] + [199.5 + i for i in range(11)]
    report = latency_report(legacy, new, 1.5, 3.0, 10.0)
    assert report["factor"]["p50"] > 40 and report["p_value"] > LATENCY_ALPHA
    assert report["level"] == "ok", report["reasons"]
    # Every answer 200 ms slower is a slowdown, bimodal or not.
    slow = latency_report(legacy, [v + 200.0 for v in legacy], 1.5, 3.0, 10.0)
    assert slow["level"] == "fail" and slow["p_value"] < LATENCY_ALPHA


def test_latency_from_zero():
    assert latency_report([0.0] * 3, [0.0] * 3, 1.5, 3.0, 0.0)["factor"]["p50"] == 1.0
    assert latency_report([0.0] * 3, [5.0] * 3, 1.5, 3.0, 1.0)["level"] == "fail"


def test_a_slowdown_must_be_seen_twice():
    first = latency_report([1.0] * 20, [1.0] * 19 + [30.0], 1.5, 3.0, 10.0)
    noise = confirm_latency(first, latency_report([1.0] * 20, [1.0] * 20, 1.5, 3.0, 10.0))
    assert noise["level"] == "ok" and noise["reasons"] == [] and "taken as noise" in noise["note"]
    assert noise["confirmation"]["level"] == "ok"
    slow = confirm_latency(latency_report([10.0] * 20, [40.0] * 20, 1.5, 3.0, 1.0), latency_report([10.0] * 20, [25.0] * 20, 1.5, 3.0, 1.0))
    assert slow["level"] == "warn"
    assert slow["reasons"][-1].startswith("confirmed by a second measurement: latency p99: 25.0 ms")


# --- verdicts ----------------------------------------------------------------------------------------


def test_equal_answers_are_ok():
    entry = report_http_request(request(), [sample(), sample(endpoint="10.0.0.12:80")], [sample(endpoint="10.0.1.31:80")], ["date"])
    assert entry["status_match"] and entry["body_match"]
    assert entry["fail_reasons"] == [] and entry["warn_reasons"] == []
    assert entry["body"]["new"][0]["preview"] == "ok\n" and "key" not in entry["body"]["new"][0]


def test_a_status_mismatch_fails():
    entry = report_http_request(request(), [sample()], [sample(status=500, body=b"test fault: 500\n")], ["date"])
    assert entry["status_match"] is False and entry["body_match"] is False
    assert entry["fail_reasons"][0] == "GET /: status 500 on the new endpoint, 200 on legacy"
    assert entry["fail_reasons"][1] == "GET /: body differs (16 bytes on the new endpoint, 3 on legacy; first difference at byte 0)"


def test_json_path_mismatch_names_the_values():
    legacy = [sample(body=b'{"version": "1.4.2"}')]
    new = [sample(body=b'{"version": "1.5.0"}')]
    entry = report_http_request(request("json:version"), legacy, new, ["date"])
    assert entry["fail_reasons"] == ['GET /: body differs (version: "1.5.0" on the new endpoint, "1.4.2" on legacy)']
    assert report_http_request(request("json:status"), legacy, new, ["date"])["fail_reasons"] == ["GET /: body differs (the JSON has no status)"]


def test_hash_mismatch_shows_digests_only():
    entry = report_http_request(request("hash"), [sample(body=b"a")], [sample(body=b"b")], ["date"])
    assert "sha256" in entry["fail_reasons"][0] and "preview" not in entry["body"]["new"][0]


def test_header_differences_only_warn():
    entry = report_http_request(request(), [sample(headers=[("Server", "nginx/1.18.0")])], [sample(headers=[("Server", "nginx/1.22.1")])], ["date"])
    assert entry["fail_reasons"] == []
    assert entry["warn_reasons"] == ["GET /: header Server value differs (legacy: nginx/1.18.0; new: nginx/1.22.1)"]


def test_unreachable_endpoints():
    down = sample(endpoint="10.0.1.31:80", status=None, body=b"", ms=None, error="ConnectionRefusedError: [Errno 111] Connection refused")
    entry = report_http_request(request(), [sample()], [down], ["date"])
    assert entry["fail_reasons"] == ["GET /: the new endpoint did not answer (10.0.1.31:80: ConnectionRefusedError: [Errno 111] Connection refused)"]
    assert entry["status_match"] is None
    one_down = dict(down, endpoint="10.0.0.12:80")
    entry = report_http_request(request(), [sample(), one_down], [sample()], ["date"])
    assert entry["fail_reasons"] == [] and "compared with 10.0.0.11:80" in entry["warn_reasons"][0]
    entry = report_http_request(request(), [one_down], [sample()], ["date"])
    assert entry["fail_reasons"][0].startswith("GET /: no legacy endpoint answered")


def test_legacy_hosts_that_disagree_warn_and_either_answer_matches():
    legacy = [sample(body=b"web1\n"), sample(endpoint="10.0.0.12:80", body=b"web2\n")]
    entry = report_http_request(request(), legacy, [sample(body=b"web2\n")], ["date"])
    assert entry["body_match"] and entry["fail_reasons"] == []
    assert "answer differently among themselves" in entry["warn_reasons"][0]


def smtp_sample(endpoint="10.0.0.21:25", banner="mail.example.com ESMTP Postfix (Debian/GNU)", code=220,
                ehlo=("mail.example.com", "PIPELINING", "SIZE 20480000", "STARTTLS", "8BITMIME"), ms=1.0):
    return {"endpoint": endpoint, "status": code, "banner": banner, "ehlo_code": 250, "ehlo": list(ehlo), "ms": ms, "error": None}


def test_parse_ehlo():
    assert parse_ehlo(["mail.example.com", "SIZE 20480000", "starttls", "AUTH PLAIN LOGIN"]) == (
        "mail.example.com", {"SIZE": "20480000", "STARTTLS": "", "AUTH": "PLAIN LOGIN"})
    assert parse_ehlo([]) == ("", {})


def test_smtp_same_answers_are_ok():
    config = validate(params(protocol="smtp", legacy_endpoints=["10.0.0.21:25"], new_endpoint="10.0.1.34:25"))
    entries, extra = report_smtp(config, {"legacy": [smtp_sample()], "new": [smtp_sample(endpoint="10.0.1.34:25")]})
    assert entries[0]["fail_reasons"] == [] and entries[0]["warn_reasons"] == [] and extra["smtp"]["differences"] == []
    assert extra["smtp"]["new"]["capabilities"]["SIZE"] == ["20480000"]


def test_smtp_differences():
    config = validate(params(protocol="smtp", legacy_endpoints=["10.0.0.21:25"], new_endpoint="10.0.1.34:25"))
    new = smtp_sample(endpoint="10.0.1.34:25", banner="mail-7d9f ESMTP Postfix", ehlo=("mail-7d9f", "PIPELINING", "SIZE 10240000", "8BITMIME", "SMTPUTF8"))
    (entry,), extra = report_smtp(config, {"legacy": [smtp_sample()], "new": [new]})
    assert entry["fail_reasons"] == ["SMTP: capability STARTTLS is announced by legacy and not by the new endpoint"]
    assert {d["item"]: d["change"] for d in extra["smtp"]["differences"]} == {
        "banner": "text differs", "ehlo_greeting": "text differs", "SIZE": "parameters differ",
        "SMTPUTF8": "added on new", "STARTTLS": "missing on new",
    }
    assert "SMTP: banner text differs (legacy: mail.example.com ESMTP Postfix (Debian/GNU); new: mail-7d9f ESMTP Postfix)" in entry["warn_reasons"]
    (entry,), _extra = report_smtp(config, {"legacy": [smtp_sample()], "new": [smtp_sample(code=554)]})
    assert entry["fail_reasons"] == ["SMTP: banner code 554 on the new endpoint, 220 on legacy"]


def test_verify_round_robin_warmup_and_verdict():
    calls = []

    def probe(host, port, method, path, headers, timeout):
        calls.append((host, path))
        if host == "10.0.1.31":
            return sample(status=500 if path == "/" else 200)
        return sample()

    report = verify(params(requests=[{"path": "/"}, {"path": "/healthz"}], repeat=2, warmup=1), http=probe)
    # (warmup + repeat) rounds x 2 requests x 3 endpoints, legacy hosts first in each round.
    assert len(calls) == 3 * 2 * 3
    assert calls[:3] == [("10.0.0.11", "/"), ("10.0.0.12", "/"), ("10.0.1.31", "/")]
    assert report["verdict"] == "fail"
    assert report["fail_reasons"][0] == "GET /: status 500 on the new endpoint, 200 on legacy"
    assert report["requests"][1]["fail_reasons"] == []
    assert report["latency"]["legacy"]["samples"] == 8 and report["latency"]["new"]["samples"] == 4
    assert report["latency"]["confirmation"] is None


def test_a_failed_endpoint_is_not_asked_again_and_its_error_is_kept_even_in_warmup():
    calls = []

    def probe(host, port, method, path, headers, timeout):
        calls.append(host)
        if host == "10.0.1.31":
            return sample(status=None, body=b"", ms=None, error="timed out")
        return sample()

    report = verify(params(repeat=5, warmup=1), http=probe)
    assert calls.count("10.0.1.31") == 1 and calls.count("10.0.0.11") == 6
    assert report["fail_reasons"] == ["GET /: the new endpoint did not answer (10.0.1.31:80: timed out)"]
    assert report["latency"]["level"] == "unknown"

    smtp_calls = []

    def smtp(host, port, ehlo_name, timeout):
        smtp_calls.append(host)
        if host == "10.0.0.12":
            return {"status": None, "banner": None, "ehlo_code": None, "ehlo": [], "ms": None, "error": "timed out"}
        return smtp_sample(endpoint=host)

    report = verify(params(protocol="smtp", repeat=3, warmup=0), smtp=smtp)
    assert smtp_calls.count("10.0.0.12") == 1 and smtp_calls.count("10.0.1.31") == 3
    assert report["verdict"] == "warn" and report["fail_reasons"] == []
    assert report["warn_reasons"] == ["SMTP: a legacy endpoint did not answer (10.0.0.12:80: timed out); compared with 10.0.0.11:80"]


def test_verify_measures_again_before_failing_on_latency():
    rounds = {"n": 0}

    def probe(host, port, method, path, headers, timeout):
        rounds["n"] += 1
        slow = host == "10.0.1.31" and rounds["n"] <= 3
        return sample(ms=50.0 if slow else 1.0)

    report = verify(params(repeat=1, warmup=0, latency_floor_ms=1.0), http=probe)
    # First measurement: new at 50 ms; second: equal. Noise, so ok, and both are kept.
    assert rounds["n"] == 6
    assert report["verdict"] == "ok"
    assert report["latency"]["factor"]["p50"] == 50.0
    assert report["latency"]["confirmation"]["level"] == "ok"

    report = verify(params(repeat=1, warmup=0, latency_floor_ms=1.0, latency_confirm=False),
                    http=lambda host, *a: sample(ms=50.0 if host == "10.0.1.31" else 1.0))
    # One sample a side: the rank test cannot show a shift of the median, the maximum (p99) fails.
    assert report["verdict"] == "fail" and report["fail_reasons"][0].startswith("latency p99: 50.0 ms")


# --- probes against servers on loopback --------------------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    server_version = "unit/1"

    def do_GET(self):  # noqa: N802 (http.server's name)
        body = ("host=%s path=%s\n" % (self.headers.get("Host"), self.path)).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Test", "1")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def http_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_http_probe(http_server):
    got = http_probe("127.0.0.1", http_server, "GET", "/x?y=1", {"Host": "www.example.com", "Connection": "close"}, 2.0)
    assert got["error"] is None and got["status"] == 200
    assert got["body"] == b"host=www.example.com path=/x?y=1\n"
    assert ("X-Test", "1") in got["headers"] and got["ms"] > 0


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_http_probe_reports_a_refused_connection():
    got = http_probe("127.0.0.1", _free_port(), "GET", "/", {}, 2.0)
    assert got["status"] is None and "Connection refused" in got["error"]


class _SMTPHandler(socketserver.StreamRequestHandler):
    commands: list[str] = []

    def handle(self):
        self.wfile.write(b"220 mail.unit.test ESMTP unit\r\n")
        for raw in self.rfile:
            line = raw.decode().strip()
            type(self).commands.append(line.split(" ")[0].upper())
            if line.upper().startswith("EHLO"):
                self.wfile.write(b"250-mail.unit.test\r\n250-SIZE 1000\r\n250 STARTTLS\r\n")
            elif line.upper() == "QUIT":
                self.wfile.write(b"221 2.0.0 Bye\r\n")
                return
            else:
                self.wfile.write(b"502 5.5.2 no\r\n")


def test_smtp_probe_reads_banner_and_ehlo_and_sends_nothing_else():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        _SMTPHandler.commands = []
        got = smtp_probe("127.0.0.1", server.server_address[1], "verify.unit.test", 2.0)
    finally:
        server.shutdown()
        server.server_close()
    assert got["error"] is None
    assert got["status"] == 220 and got["banner"] == "mail.unit.test ESMTP unit"
    assert got["ehlo_code"] == 250 and got["ehlo"] == ["mail.unit.test", "SIZE 1000", "STARTTLS"]
    assert _SMTPHandler.commands == ["EHLO", "QUIT"]


def test_smtp_probe_reports_a_refused_connection():
    got = smtp_probe("127.0.0.1", _free_port(), "localhost", 2.0)
    assert got["status"] is None and "refused" in got["error"]


# --- tcp: protocols other than HTTP and SMTP -----------------------------------------------------------


def _tcp_params(**changes):
    params = {"protocol": "tcp", "legacy_endpoints": ["10.0.0.41:6379"], "new_endpoint": "10.0.1.52:6379",
              "tcp_send": "PING\r\n", "tcp_expect": r"^(\+PONG|-NOAUTH)", "repeat": 3, "warmup": 0, "latency_confirm": False,
              "timeout": 1.0, "latency_warn_factor": 1.5, "latency_fail_factor": 3.0, "latency_floor_ms": 10.0}
    params.update(changes)
    return params


def _tcp_probe(answers):
    def probe(host, port, send, timeout):
        assert send == b"PING\r\n"
        line = answers[host]
        if line is None:
            return {"status": None, "line": None, "ms": None, "error": "ConnectionRefusedError: refused"}
        return {"status": "answered", "line": line, "ms": 1.0, "error": None}
    return probe


def test_tcp_probe_same_answer_is_ok():
    report = v.verify(_tcp_params(), tcp=_tcp_probe({"10.0.0.41": "-NOAUTH Authentication required.", "10.0.1.52": "-NOAUTH Authentication required."}))
    assert report["verdict"] == "ok" and report["tcp"]["new"] == ["-NOAUTH Authentication required."]


def test_tcp_probe_wrong_answer_or_none_fails_and_other_text_warns():
    wrong = v.verify(_tcp_params(), tcp=_tcp_probe({"10.0.0.41": "+PONG", "10.0.1.52": "-ERR unknown command"}))
    assert wrong["verdict"] == "fail" and "does not match tcp_expect" in wrong["fail_reasons"][0]
    down = v.verify(_tcp_params(), tcp=_tcp_probe({"10.0.0.41": "+PONG", "10.0.1.52": None}))
    assert down["verdict"] == "fail" and down["fail_reasons"][0].startswith("TCP: the new endpoint did not answer")
    other = v.verify(_tcp_params(tcp_expect="^VERSION ", tcp_send="PING\r\n"),
                     tcp=_tcp_probe({"10.0.0.41": "VERSION 1.6.18", "10.0.1.52": "VERSION 1.6.21"}))
    assert other["verdict"] == "warn" and "answer text differs" in other["warn_reasons"][0]


def test_answers_of_several_pods_read_the_same_in_any_order():
    # Two pods behind one node port answer with their own addresses, in whatever order the balancing gives.
    def pods(order):
        answers = iter(order * 10)

        def probe(host, port, send, timeout):
            line = "220 ProFTPD Server [10.0.0.41]" if host == "10.0.0.41" else next(answers)
            return {"status": "answered", "line": line, "ms": 1.0, "error": None}
        return probe

    first = v.verify(_tcp_params(tcp_expect="^220 "), tcp=pods(["220 ProFTPD Server [10.244.8.3]", "220 ProFTPD Server [10.244.8.2]"]))
    second = v.verify(_tcp_params(tcp_expect="^220 "), tcp=pods(["220 ProFTPD Server [10.244.8.2]", "220 ProFTPD Server [10.244.8.3]"]))
    assert first["warn_reasons"] == second["warn_reasons"] == [
        "TCP: answer text differs (legacy: 220 ProFTPD Server [10.0.0.41]; new: 220 ProFTPD Server [10.244.8.2] | 220 ProFTPD Server [10.244.8.3])"]


@pytest.mark.parametrize("changes, message", [
    ({"tcp_expect": None}, r"^tcp_expect: a regular expression"),
    ({"tcp_expect": "("}, r"^tcp_expect: '\(' is not a valid regular expression"),
    ({"tcp_send": "x" * 2000}, r"^tcp_send: "),
])
def test_tcp_bad_input_names_the_field(changes, message):
    with pytest.raises(v.VerifyInputError, match=message):
        v.validate(_tcp_params(**changes))
