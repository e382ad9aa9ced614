# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""DNS cutover: names, records, the cutover and restore plans, and a client for authoritative servers.

A record here is one RRset as a dict ``{name, type, values, ttl}``: the name absolute and lower-case
with its trailing dot (``www.esp.test.``), the type upper-case, the values sorted and in presentation
format with absolute names (``lb.esp.test.``, ``10 mail.esp.test.``), the TTL an int. The same shape is
what the dns_cutover role saves for rollback (``dns_cutover_previous``) and what it restores.

Everything but :class:`Authority` is pure (no network, no DNS library), so it is unit-tested directly.
:class:`Authority` asks one server with dnspython, non-recursively and never through a cache.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
import typing as t

try:
    import dns.exception
    import dns.flags
    import dns.message
    import dns.name
    import dns.query
    import dns.rcode
    import dns.rdata
    import dns.rdataclass
    import dns.rdatatype
    import dns.tsig
    import dns.tsigkeyring
    import dns.update
except ImportError:  # pragma: no cover - reported by the module with missing_required_lib
    HAS_DNSPYTHON = False
else:
    HAS_DNSPYTHON = True

Record = t.Dict[str, t.Any]
Problem = t.Dict[str, str]

# The types read at a name: enough to see every kind of data a CNAME would silently replace.
READ_TYPES = ("A", "AAAA", "CNAME", "DNAME", "MX", "NS", "TXT", "SRV", "CAA", "PTR", "NAPTR",
              "HTTPS", "SVCB", "SSHFP", "TLSA", "HINFO", "LOC")
# What a cutover replaces at a name: address records (reported: they are hard-coded IPs) or a CNAME.
SWITCHABLE = ("CNAME", "A", "AAAA")
# What a cutover writes, so what a restore may put back.
RESTORABLE = ("CNAME", "A", "AAAA", "MX")
NAME_VALUE_TYPES = ("CNAME", "DNAME", "NS", "PTR")
TTL_MAX = 2147483647  # RFC 2181 section 8
LOW_TTL_MIN, LOW_TTL_MAX = 1, 3600
TSIG_ALGORITHMS = ("hmac-md5", "hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512")

_OWNER_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")
_HOST_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


class DNSClientError(Exception):
    """A server could not be asked (timeout, connection refused, malformed answer)."""


# --- names and values -------------------------------------------------------------------------------

def fqdn(name: str) -> str:
    """``WWW.esp.test`` -> ``www.esp.test.`` (names are always taken as absolute)."""
    text = str(name).strip().lower()
    return text if text.endswith(".") else text + "."


def is_ip(value: t.Any) -> bool:
    """True for an IPv4 or IPv6 address literal (a trailing dot or brackets do not hide one)."""
    if not isinstance(value, str):
        return False
    text = value.strip().rstrip(".").strip("[]")
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def name_problem(name: t.Any, hostname: bool = False) -> str | None:
    """Why ``name`` is not a usable domain name, or None. ``hostname`` allows letters, digits and '-' only."""
    if not isinstance(name, str) or not name.strip():
        return "%s is not a domain name" % _show(name)
    if is_ip(name):
        return "%s is an IP address, not a name" % _show(name)
    text = fqdn(name)
    if text == ".":
        return "the root is not a usable name"
    if len(text) > 254:
        return "%s is longer than 253 characters" % _show(name)
    pattern = _HOST_LABEL if hostname else _OWNER_LABEL
    for label in text[:-1].split("."):
        if not pattern.match(label):
            allowed = "letters, digits and '-'" if hostname else "letters, digits, '-' and '_'"
            return "%s has the label %s (%s, 1 to 63 long, no '-' at either end)" % (_show(name), _show(label), allowed)
    return None


def in_zone(name: str, zone: str) -> bool:
    """True when ``name`` is the zone's apex or below it."""
    n, z = fqdn(name), fqdn(zone)
    return n == z or n.endswith("." + z)


def normalise_value(rtype: str, value: t.Any) -> str:
    """One value in the form servers answer with, so saved and read records compare equal."""
    rtype = rtype.upper()
    text = " ".join(str(value).split()) if rtype != "TXT" else str(value).strip()
    if not text:
        raise ValueError("an empty value")
    if rtype in NAME_VALUE_TYPES:
        if name_problem(text):
            raise ValueError("%s is not a domain name" % _show(value))
        return fqdn(text)
    if rtype == "MX":
        parts = text.split(" ")
        if len(parts) != 2 or not parts[0].isdigit() or name_problem(parts[1]):
            raise ValueError("%s is not 'preference exchange' (10 mail.example.com.)" % _show(value))
        return "%d %s" % (int(parts[0]), fqdn(parts[1]))
    if rtype == "SRV":
        parts = text.split(" ")
        if len(parts) != 4 or not all(p.isdigit() for p in parts[:3]):
            raise ValueError("%s is not 'priority weight port target'" % _show(value))
        return "%d %d %d %s" % (int(parts[0]), int(parts[1]), int(parts[2]), fqdn(parts[3]))
    if rtype in ("A", "AAAA"):
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            raise ValueError("%s is not an IP address" % _show(value)) from None
        if (address.version == 4) != (rtype == "A"):
            raise ValueError("%s is not an IPv%d address" % (_show(value), 4 if rtype == "A" else 6))
        return str(address)
    return text


def record(name: str, rtype: str, values: t.Iterable[t.Any], ttl: t.Any) -> Record:
    """A normalised record dict."""
    rtype = str(rtype).upper()
    return {
        "name": fqdn(name),
        "type": rtype,
        "values": sorted({normalise_value(rtype, v) for v in values}),
        "ttl": int(ttl),
    }


def rkey(rec: Record) -> tuple[str, str]:
    return rec["name"], rec["type"]


def mx_exchange(value: str) -> tuple[int, str]:
    pref, host = value.split(" ", 1)
    return int(pref), fqdn(host)


def describe(rec: Record, ttl: bool = True) -> str:
    """``www.esp.test. CNAME lb.esp.test. (TTL 300)``"""
    text = "%s %s %s" % (rec["name"], rec["type"], ", ".join(rec["values"]))
    return text + (" (TTL %s)" % rec["ttl"] if ttl and rec.get("ttl") is not None else "")


def zone_lines(records: t.Iterable[Record]) -> list[str]:
    """Records as zone-file lines (``www.esp.test. 300 IN CNAME lb.esp.test.``), sorted: for diffs."""
    return sorted("%s %s IN %s %s" % (r["name"], r["ttl"], r["type"], v) for r in records for v in r["values"])


def _show(value: t.Any) -> str:
    return repr(value) if not isinstance(value, str) else "'%s'" % value


def _by_name(records: t.Iterable[Record]) -> dict[str, list[Record]]:
    grouped: dict[str, list[Record]] = {}
    for rec in records:
        grouped.setdefault(rec["name"], []).append(rec)
    return grouped


def _unique(items: t.Iterable[str]) -> list[str]:
    seen: list[str] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


# --- input checks: each problem names the option it is about ----------------------------------------

def _problem(option: str, msg: str) -> Problem:
    return {"option": option, "msg": msg}


def check_int(option: str, value: t.Any, low: int, high: int, unit: str = "seconds") -> list[Problem]:
    if isinstance(value, bool) or not isinstance(value, int):
        return [_problem(option, "%s is not a whole number of %s" % (_show(value), unit))]
    if not low <= value <= high:
        return [_problem(option, "%s is out of range (%d to %d %s)" % (value, low, high, unit))]
    return []


def check_servers(servers: t.Any, port: t.Any) -> list[Problem]:
    problems: list[Problem] = []
    if not isinstance(servers, list) or not servers:
        problems.append(_problem("servers", "needs at least one authoritative server (an IP address)"))
    else:
        for server in servers:
            if not is_ip(server):
                problems.append(_problem("servers", "%s is not an IP address (give the authoritative servers' addresses)"
                                         % _show(server)))
    return problems + check_int("port", port, 1, 65535, "(a port)")


def check_zone(zone: t.Any) -> list[Problem]:
    why = name_problem(zone)
    return [_problem("zone", why)] if why else []


def check_tsig(tsig: t.Any) -> list[Problem]:
    """The key: a dict with name, algorithm (one of TSIG_ALGORITHMS) and a base64 secret."""
    if not isinstance(tsig, dict):
        return [_problem("tsig", "must be a dict with name, algorithm and secret")]
    problems: list[Problem] = []
    missing = [k for k in ("name", "algorithm", "secret") if not tsig.get(k)]
    if missing:
        problems.append(_problem("tsig", "has no %s (needs name, algorithm and secret)" % ", ".join(missing)))
    if tsig.get("name") and name_problem(tsig["name"]):
        problems.append(_problem("tsig.name", name_problem(tsig["name"]) or ""))
    algorithm = str(tsig.get("algorithm") or "").lower()
    if algorithm and algorithm not in TSIG_ALGORITHMS:
        problems.append(_problem("tsig.algorithm", "%s is not one of %s" % (_show(tsig["algorithm"]), ", ".join(TSIG_ALGORITHMS))))
    if tsig.get("secret"):
        try:
            base64.b64decode(str(tsig["secret"]), validate=True)
        except (binascii.Error, ValueError):
            problems.append(_problem("tsig.secret", "is not base64 (the secret line of the key file)"))
    return problems


def check_cutover(zone: str, names: t.Any, target: t.Any, low_ttl: t.Any, mx_owners: t.Any) -> list[Problem]:
    """The cutover's input, before anything is asked of a server."""
    problems = check_zone(zone)
    if problems:
        return problems
    if not isinstance(names, list) or not names:
        problems.append(_problem("names", "needs at least one name of zone %s to cut over" % fqdn(zone)))
    else:
        for name in names:
            why = name_problem(name)
            if why:
                problems.append(_problem("names", why))
            elif not in_zone(name, zone):
                problems.append(_problem("names", "%s is outside zone %s" % (fqdn(name), fqdn(zone))))
            elif fqdn(name) == fqdn(zone):
                problems.append(_problem("names", "%s is the zone's apex, which holds the SOA and NS records and cannot "
                                         "be a CNAME" % fqdn(name)))
    if not isinstance(target, str) or not target.strip():
        problems.append(_problem("target", "needs the hostname the names will point at (a CNAME)"))
    elif is_ip(target):
        problems.append(_problem("target", "%s is an IP address; the names are pointed at a hostname of the new "
                                 "platform (a CNAME), never at an address" % _show(target)))
    else:
        why = name_problem(target, hostname=True)
        if why:
            problems.append(_problem("target", why + "; it must be a hostname"))
        elif isinstance(names, list) and fqdn(target) in [fqdn(n) for n in names if isinstance(n, str)]:
            problems.append(_problem("target", "%s is one of the names being cut over" % fqdn(target)))
    problems += check_int("low_ttl", low_ttl, LOW_TTL_MIN, LOW_TTL_MAX)
    if not isinstance(mx_owners, list):
        problems.append(_problem("mx_owners", "must be a list of names"))
    else:
        for owner in mx_owners:
            why = name_problem(owner)
            if why or not in_zone(owner, zone):
                problems.append(_problem("mx_owners", why or "%s is outside zone %s" % (fqdn(owner), fqdn(zone))))
    return problems


def check_records(option: str, records: t.Any, zone: str, types: t.Sequence[str] = RESTORABLE) -> tuple[list[Record], list[Problem]]:
    """A saved list (``dns_cutover_previous`` from the ledger): normalised records, or the problems."""
    if not isinstance(records, list):
        return [], [_problem(option, "must be a list of {name, type, values, ttl}")]
    out: list[Record] = []
    problems: list[Problem] = []
    for i, item in enumerate(records):
        where = "%s[%d]" % (option, i)
        if not isinstance(item, dict):
            problems.append(_problem(where, "must be a dict with name, type, values and ttl"))
            continue
        missing = [k for k in ("name", "type", "values", "ttl") if item.get(k) in (None, "", [])]
        if missing:
            problems.append(_problem(where, "has no %s" % ", ".join(missing)))
            continue
        why = name_problem(item["name"])
        if why or not in_zone(item["name"], zone):
            problems.append(_problem(where + ".name", why or "%s is outside zone %s" % (fqdn(item["name"]), fqdn(zone))))
            continue
        rtype = str(item["type"]).upper()
        if rtype not in types:
            problems.append(_problem(where + ".type", "%s is not one of %s" % (_show(item["type"]), ", ".join(types))))
            continue
        values = item["values"] if isinstance(item["values"], list) else [item["values"]]
        ttl = int(item["ttl"]) if isinstance(item["ttl"], str) and item["ttl"].isdigit() else item["ttl"]
        ttl_problems = check_int(where + ".ttl", ttl, 0, TTL_MAX)
        if ttl_problems:
            problems += ttl_problems
            continue
        try:
            rec = record(item["name"], rtype, values, ttl)
        except ValueError as exc:
            problems.append(_problem(where + ".values", str(exc)))
            continue
        if rtype == "CNAME" and len(rec["values"]) != 1:
            problems.append(_problem(where + ".values", "a CNAME has exactly one value"))
        if rtype == "CNAME" and rec["name"] == fqdn(zone):
            problems.append(_problem(where + ".name", "the zone's apex cannot be a CNAME"))
        if any(rkey(o) == rkey(rec) for o in out):
            problems.append(_problem(where, "%s %s is listed twice" % rkey(rec)))
        out.append(rec)
    for name, recs in _by_name(out).items():
        if len(recs) > 1 and any(r["type"] == "CNAME" for r in recs):
            problems.append(_problem(option, "%s has a CNAME and other records; a CNAME stands alone" % name))
    return out, problems


# --- plans ------------------------------------------------------------------------------------------

def _empty_plan(mode: str) -> dict[str, t.Any]:
    return {
        "mode": mode,
        "problems": [],
        "current": [],       # the records the run replaces, as the primary holds them now
        "previous": [],      # what the run replaces: saved in the ledger, restored by a rollback
        "desired": [],       # the end state, with the normal TTLs
        "lower": [],         # records set again with the low TTL, values unchanged
        "wait": {"seconds": 0, "for": [], "lines": []},  # the old TTLs to wait out (uncapped)
        "switch": [],        # UPDATE changes (one message), in order: {record, type, state, values, ttl}
        "switched": [],      # what every server must answer right after the switch
        "final": [],         # records set again with the normal TTL once every server answers
        "hardcoded": [],     # address records among the names (hard-coded IPs) that the cutover replaces
        "mx_repointed": [],  # MX records whose exchange was one of the names
        "unchanged": [],     # names already in their end state
        "changes": False,
        "diff": {"before": [], "after": []},  # zone-file lines of current and desired, for diff mode
        "summary": [],       # per name: "www.esp.test.: CNAME lb.esp.test. (TTL 300) -> CNAME ... (TTL 300)"
        "hardcoded_lines": [],
    }


def _finish(plan: dict[str, t.Any]) -> dict[str, t.Any]:
    plan["changes"] = bool(plan["lower"] or plan["switch"] or plan["final"])
    plan["diff"] = {"before": zone_lines(plan["current"]), "after": zone_lines(plan["desired"])}
    now, end = _by_name(plan["current"]), _by_name(plan["desired"])
    plan["summary"] = [
        "%s: %s -> %s" % (name, " + ".join(describe(r)[len(name) + 1:] for r in now.get(name, [])) or "nothing",
                          " + ".join(describe(r)[len(name) + 1:] for r in recs))
        for name, recs in end.items()
    ]
    plan["hardcoded_lines"] = [describe(r, ttl=False) for r in plan["hardcoded"]]
    return plan


def _op(rec: Record, state: str = "present") -> dict[str, t.Any]:
    """One change of an UPDATE; C(absent) removes the whole RRset of that type."""
    return {"record": rec["name"], "type": rec["type"], "state": state, "values": list(rec["values"]), "ttl": rec["ttl"]}


def _lower_and_wait(plan: dict[str, t.Any], cur: Record, saved: Record | None, low_ttl: int) -> None:
    """Lower ``cur`` to the low TTL when it is above it; the old TTL is then waited out.

    A record found already at a low TTL, whose saved TTL (an earlier run's) was higher, was lowered by
    that run at an unknown time: its saved TTL is waited out again, to be safe.
    """
    old = cur["ttl"]
    if saved is not None and saved["values"] == cur["values"] and saved["ttl"] > old:
        old = saved["ttl"]
    if cur["ttl"] > low_ttl:
        plan["lower"].append(dict(cur, ttl=low_ttl))
    if old > low_ttl:
        plan["wait"]["for"].append({"name": cur["name"], "type": cur["type"], "ttl": old})


def plan_cutover(current: list[Record], mx_records: list[Record], ns_names: list[str], target_records: list[Record] | None,
                 names: list[str], target: str, zone: str, low_ttl: int, saved: list[Record] | None = None) -> dict[str, t.Any]:
    """What a cutover of ``names`` to a CNAME to ``target`` does, from what the primary answers now.

    ``current``: the records at the names; ``mx_records``: the MX records at the MX owners (the apex);
    ``ns_names``: the zone's name servers; ``target_records``: the records at the target when it is in
    the zone (None when it is not, and cannot be checked here); ``saved``: the list saved by an earlier
    run, when this one resumes it (its records and TTLs are the previous ones).

    MX targets must not be aliases (RFC 2181 10.3, RFC 5321 5.1): an MX record whose exchange is one of
    the names is repointed at the target first (its preference kept), and only then does the name
    become a CNAME, so no MX ever points at an alias. Name servers cannot be cut over at all.
    """
    plan = _empty_plan("cutover")
    zone, target = fqdn(zone), fqdn(target)
    names = _unique(fqdn(n) for n in names)
    saved = saved or []
    saved_by_key = {rkey(r): r for r in saved}
    saved_names = {r["name"] for r in saved}
    at = _by_name(current)
    name_set = set(names)
    mx_refs = [m for m in mx_records if any(mx_exchange(v)[1] in name_set for v in m["values"])]

    for name in names:
        cur = at.get(name, [])
        other = sorted({r["type"] for r in cur if r["type"] not in SWITCHABLE})
        if other:
            plan["problems"].append(_problem("names", "%s holds %s records, which cannot stay beside a CNAME (the cutover "
                                             "would delete them): move them first" % (name, ", ".join(other))))
        if not cur and name not in saved_names:
            plan["problems"].append(_problem("names", "%s does not exist in zone %s: there is nothing to cut over" % (name, zone)))
        if name in ns_names:
            plan["problems"].append(_problem("names", "%s is a name server of zone %s; NS targets must have addresses and "
                                             "cannot become a CNAME" % (name, zone)))
    if target_records is not None:
        if not target_records:
            plan["problems"].append(_problem("target", "%s does not exist in zone %s: the names would point at nothing "
                                             "(add its A/AAAA records first)" % (target, zone)))
        elif mx_refs and any(r["type"] == "CNAME" for r in target_records):
            plan["problems"].append(_problem("target", "%s is itself a CNAME, so the MX records that point at %s cannot be "
                                             "repointed to it (an MX must name a host with addresses)"
                                             % (target, ", ".join(sorted({mx_exchange(v)[1] for m in mx_refs for v in m["values"]} & name_set)))))
    if plan["problems"]:
        return plan

    name_ops: list[dict[str, t.Any]] = []
    mx_ops: list[dict[str, t.Any]] = []

    for mx in mx_records:
        saved_mx = saved_by_key.get(rkey(mx))
        if mx in mx_refs:
            prev = saved_mx or mx
            values = sorted({"%d %s" % (p, target if h in name_set else h) for p, h in map(mx_exchange, mx["values"])})
            final_ttl = prev["ttl"]
            switch_ttl = min(low_ttl, final_ttl)
            plan["current"].append(mx)
            plan["previous"].append(prev)
            plan["desired"].append({"name": mx["name"], "type": "MX", "values": values, "ttl": final_ttl})
            plan["mx_repointed"].append({"name": mx["name"], "previous": list(mx["values"]), "values": values})
            _lower_and_wait(plan, mx, saved_mx, low_ttl)
            switched = {"name": mx["name"], "type": "MX", "values": values, "ttl": switch_ttl}
            mx_ops.append(_op(switched))
            plan["switched"].append(switched)
            if final_ttl != switch_ttl:
                plan["final"].append(dict(switched, ttl=final_ttl))
        elif saved_mx is not None:
            # Repointed by the earlier run this one resumes: only its normal TTL may be missing.
            plan["current"].append(mx)
            plan["previous"].append(saved_mx)
            plan["desired"].append(dict(mx, ttl=saved_mx["ttl"]))
            if mx["ttl"] != saved_mx["ttl"]:
                plan["final"].append(dict(mx, ttl=saved_mx["ttl"]))

    for name in names:
        cur = at.get(name, [])
        prev = [r for r in saved if r["name"] == name] or cur
        final_ttl = max(r["ttl"] for r in prev)
        switch_ttl = min(low_ttl, final_ttl)
        desired = {"name": name, "type": "CNAME", "values": [target], "ttl": final_ttl}
        plan["current"] += cur
        plan["previous"] += prev
        plan["desired"].append(desired)
        plan["hardcoded"] += [r for r in prev if r["type"] in ("A", "AAAA")]
        if len(cur) == 1 and cur[0]["type"] == "CNAME" and cur[0]["values"] == [target]:
            if cur[0]["ttl"] != final_ttl:
                plan["final"].append(desired)
            else:
                plan["unchanged"].append(name)
            continue
        for rec in cur:
            _lower_and_wait(plan, rec, saved_by_key.get(rkey(rec)), low_ttl)
        name_ops += [_op(r, "absent") for r in cur if r["type"] != "CNAME"]
        switched = dict(desired, ttl=switch_ttl)
        name_ops.append(_op(switched))
        plan["switched"].append(switched)
        if final_ttl != switch_ttl:
            plan["final"].append(desired)

    # MX records first: the names become CNAMEs only once no MX points at them.
    plan["switch"] = mx_ops + name_ops
    plan["wait"]["seconds"] = max([w["ttl"] for w in plan["wait"]["for"]] or [0])
    plan["wait"]["lines"] = ["%s %s (TTL %d)" % (w["name"], w["type"], w["ttl"]) for w in plan["wait"]["for"]]
    return _finish(plan)


def plan_restore(current: list[Record], restore: list[Record]) -> dict[str, t.Any]:
    """What puts exactly the ``restore`` records (values and TTLs) back, from what the primary answers now.

    At a name whose saved records include a CNAME, the address records found there are removed first; at
    a name whose saved records have none, a CNAME found there (the cutover's) is removed first. MX records
    are set last, once the names they point at hold addresses again. Nothing is lowered or waited for:
    a rollback is wanted at once.
    """
    plan = _empty_plan("restore")
    at = _by_name(current)
    ops: list[dict[str, t.Any]] = []
    mx_ops: list[dict[str, t.Any]] = []
    for name, want in _by_name(restore).items():
        cur = at.get(name, [])
        cur_by_type = {r["type"]: r for r in cur}
        want_types = {r["type"] for r in want}
        if "CNAME" in want_types:
            blocking = sorted({r["type"] for r in cur if r["type"] not in RESTORABLE})
            if blocking:
                plan["problems"].append(_problem("restore", "%s holds %s records now, which cannot stay beside the CNAME "
                                                 "being restored: remove them first" % (name, ", ".join(blocking))))
                continue
            deletes = [r for r in cur if r["type"] != "CNAME"]
        else:
            deletes = [cur_by_type["CNAME"]] if "CNAME" in cur_by_type else []
        sets = [w for w in want if cur_by_type.get(w["type"]) is None
                or cur_by_type[w["type"]]["values"] != w["values"] or cur_by_type[w["type"]]["ttl"] != w["ttl"]]
        plan["current"] += [r for r in cur if r["type"] in want_types or r in deletes]
        ops += [_op(r, "absent") for r in deletes]
        for rec in sets:
            (mx_ops if rec["type"] == "MX" else ops).append(_op(rec))
        if not deletes and not sets:
            plan["unchanged"].append(name)
    if plan["problems"]:
        return dict(_empty_plan("restore"), problems=plan["problems"])
    plan["previous"] = list(plan["current"])
    plan["desired"] = list(restore)
    plan["switched"] = list(restore)
    plan["switch"] = ops + mx_ops
    return _finish(plan)


def compare(expected: list[Record], actual: list[Record], check_ttl: bool = True) -> list[str]:
    """How ``actual`` (one server's answer) differs from ``expected``; empty when it matches.

    A name expected to hold a CNAME must hold nothing else; a name expected without one must not hold one.
    """
    found = {rkey(r): r for r in actual}
    actual_at = _by_name(actual)
    problems: list[str] = []
    for exp in expected:
        got = found.get(rkey(exp))
        if got is None:
            problems.append("%s %s: no answer, expected %s" % (exp["name"], exp["type"], describe(exp)))
        elif got["values"] != exp["values"]:
            problems.append("%s %s: answers %s, expected %s" % (exp["name"], exp["type"], ", ".join(got["values"]),
                                                                ", ".join(exp["values"])))
        elif check_ttl and exp.get("ttl") is not None and got["ttl"] != exp["ttl"]:
            problems.append("%s %s: TTL %s, expected %s" % (exp["name"], exp["type"], got["ttl"], exp["ttl"]))
    for name, want in _by_name(expected).items():
        types = {r["type"] for r in want}
        extra = sorted({r["type"] for r in actual_at.get(name, [])} - types - {"NS"})
        if "CNAME" in types and extra:
            problems.append("%s: also holds %s beside the CNAME" % (name, ", ".join(extra)))
        elif "CNAME" not in types and "CNAME" in extra:
            problems.append("%s: holds a CNAME, expected %s" % (name, ", ".join(sorted(types))))
    return problems


# --- the rollback record: what a rollback needs, in the zone itself --------------------------------

# A TXT RRset per service at <service>._replatform.<zone>: the records a cutover replaced, written in
# the same UPDATE as the first change it makes and removed in the same UPDATE as the restore. So the
# zone never holds a cutover without the way back, and a rollback can read it with the cluster down.
STATE_LABEL = "_replatform"
STATE_VERSION = 1
STATE_TTL = 300
_TXT_CHUNK = 255
_TXT_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
_TXT_ESCAPE = re.compile(r"\\(\d{3}|.)")


def state_name(service: str, zone: str) -> str:
    """``web``, ``esp.test`` -> ``web._replatform.esp.test.``"""
    return fqdn("%s.%s.%s" % (service, STATE_LABEL, fqdn(zone)))


def encode_state(name: str, data: dict[str, t.Any]) -> Record:
    """The TXT record holding ``data`` as JSON, in strings of at most 255 characters."""
    text = json.dumps(dict(data, v=STATE_VERSION), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    chunks = [text[i:i + _TXT_CHUNK] for i in range(0, len(text), _TXT_CHUNK)]
    value = " ".join('"%s"' % c.replace("\\", "\\\\").replace('"', '\\"') for c in chunks)
    return {"name": fqdn(name), "type": "TXT", "values": [value], "ttl": STATE_TTL}


def _unescape(text: str) -> str:
    return _TXT_ESCAPE.sub(lambda m: chr(int(m.group(1))) if m.group(1).isdigit() else m.group(1), text)


def decode_state(rec: Record | None, zone: str) -> tuple[dict[str, t.Any] | None, str]:
    """(data, problem) from a TXT record as read; (None, '') when there is none.

    The data must be the version this module writes, with ``previous`` a list of records of ``zone``;
    anything else is a problem that names what is wrong, and the data is not used.
    """
    if rec is None:
        return None, ""
    if len(rec["values"]) != 1:
        return None, "%s holds %d TXT values, expected one" % (rec["name"], len(rec["values"]))
    try:
        data = json.loads("".join(_unescape(s) for s in _TXT_STRING.findall(rec["values"][0])))
    except ValueError as exc:
        return None, "%s is not a rollback record this collection wrote (not JSON: %s)" % (rec["name"], exc)
    if not isinstance(data, dict) or data.get("v") != STATE_VERSION:
        return None, "%s is not a rollback record of version %d" % (rec["name"], STATE_VERSION)
    previous, problems = check_records("previous", data.get("previous"), zone)
    if problems or not previous:
        why = "; ".join(p["msg"] for p in problems) or "empty"
        return None, "%s: its previous records are not usable (%s)" % (rec["name"], why)
    return dict(data, previous=previous), ""


# --- one UPDATE -------------------------------------------------------------------------------------

def change(rec: Record, state: str = "present") -> dict[str, t.Any]:
    """An UPDATE change from a record: C(present) replaces the RRset, C(absent) removes it."""
    return _op(rec, state)


def touched(changes: t.Iterable[dict[str, t.Any]]) -> set[tuple[str, str]]:
    """The (name, type) RRsets a list of changes replaces or removes."""
    return {(fqdn(c["record"]), str(c["type"]).upper()) for c in changes}


def prerequisites(current: t.Iterable[Record], changes: t.Iterable[dict[str, t.Any]]) -> list[Record]:
    """The RRsets as read that the changes replace or remove: the UPDATE applies only if they still are."""
    keys = touched(changes)
    return [r for r in current if rkey(r) in keys]


# --- the client -------------------------------------------------------------------------------------

class Authority:
    """One authoritative server, asked directly: no recursion, no cache, UDP with TCP on truncation."""

    def __init__(self, server: str, port: int = 53, timeout: float = 5.0) -> None:
        self.server = server
        self.port = port
        self.timeout = timeout

    def __str__(self) -> str:
        return "%s port %d" % (self.server, self.port) if self.port != 53 else self.server

    def _ask(self, message: t.Any) -> t.Any:
        try:
            response, _tcp = dns.query.udp_with_fallback(message, self.server, timeout=self.timeout, port=self.port)
        except dns.exception.Timeout:
            raise DNSClientError("%s did not answer within %s seconds" % (self, self.timeout)) from None
        except (OSError, dns.exception.DNSException) as exc:
            raise DNSClientError("%s could not be asked: %s" % (self, exc)) from None
        return response

    def query(self, name: str, rtype: str) -> tuple[str, bool, Record | None]:
        """(rcode, authoritative answer, the RRset of that type at that name or None)."""
        qname = dns.name.from_text(fqdn(name))
        rdtype = dns.rdatatype.from_text(rtype)
        message = dns.message.make_query(qname, rdtype)
        message.flags &= ~dns.flags.RD
        response = self._ask(message)
        rcode = dns.rcode.to_text(response.rcode())
        authoritative = bool(response.flags & dns.flags.AA)
        for rrset in response.answer:
            if rrset.name == qname and rrset.rdtype == rdtype:
                return rcode, authoritative, record(fqdn(name), rtype, [rd.to_text() for rd in rrset], rrset.ttl)
        return rcode, authoritative, None

    def zone_status(self, zone: str) -> dict[str, t.Any]:
        """Whether the server is authoritative for the zone: status C(ok), an rcode, or why it is not."""
        status: dict[str, t.Any] = {"server": self.server, "port": self.port, "status": "ok", "serial": None, "msg": ""}
        try:
            rcode, authoritative, soa = self.query(zone, "SOA")
        except DNSClientError as exc:
            return dict(status, status="unreachable", msg=str(exc))
        if rcode != "NOERROR":
            return dict(status, status=rcode, msg="%s answers %s for zone %s: it is not authoritative for it"
                        % (self, rcode, fqdn(zone)))
        if not authoritative or soa is None:
            return dict(status, status="not authoritative",
                        msg="%s has no SOA record for %s in authority: %s is not a zone it serves"
                        % (self, fqdn(zone), fqdn(zone)))
        status["serial"] = int(soa["values"][0].split()[2])
        return status

    def read(self, names: t.Iterable[str], types: t.Sequence[str] = READ_TYPES) -> list[Record]:
        """Every record of ``types`` at ``names``, as this server holds them (with their own TTLs)."""
        records: list[Record] = []
        for name in _unique(fqdn(n) for n in names):
            for rtype in types:
                rcode, authoritative, rec = self.query(name, rtype)
                if rcode == "NXDOMAIN":
                    break
                if rcode != "NOERROR" or not authoritative:
                    raise DNSClientError("%s answered %s%s for %s %s" % (self, rcode, "" if authoritative else " (not authoritative)",
                                                                         name, rtype))
                if rec is not None:
                    records.append(rec)
        return records

    def _signed(self, zone: str, tsig: dict[str, str]) -> tuple[t.Any, dict[str, str] | None]:
        """(an empty UPDATE of the zone signed with the key, None) or (None, the reason it cannot be)."""
        algorithm = str(tsig["algorithm"]).lower()
        try:
            keyring = dns.tsigkeyring.from_text({tsig["name"]: tsig["secret"]})
        except (binascii.Error, ValueError) as exc:
            return None, {"status": "invalid", "msg": "the secret is not a usable key: %s" % exc}
        return dns.update.UpdateMessage(fqdn(zone), keyring=keyring, keyname=tsig["name"],
                                        keyalgorithm="HMAC-MD5.SIG-ALG.REG.INT" if algorithm == "hmac-md5" else algorithm), None

    def _send(self, update: t.Any, zone: str, tsig: dict[str, str]) -> tuple[str, str]:
        """Send one UPDATE over TCP: (status, message), status an rcode or why it got none."""
        key = "key %s (%s)" % (tsig["name"], str(tsig["algorithm"]).lower())
        try:
            response = dns.query.tcp(update, self.server, timeout=self.timeout, port=self.port)
        except dns.tsig.PeerBadKey:
            return "BADKEY", "%s does not know %s: check the key's name and algorithm" % (self, key)
        except dns.tsig.PeerBadSignature:
            return "BADSIG", "%s rejected the signature of %s: the secret is wrong" % (self, key)
        except dns.tsig.PeerBadTime:
            return "BADTIME", "%s rejected the time of the signature of %s: the clocks differ" % (self, key)
        except dns.exception.Timeout:
            return "unreachable", "%s did not answer a signed update within %s seconds" % (self, self.timeout)
        except (OSError, dns.exception.DNSException) as exc:
            return "error", "%s: signed update with %s failed: %s" % (self, key, exc)
        rcode = dns.rcode.to_text(response.rcode())
        if rcode == "NOERROR":
            return rcode, "%s accepts updates of zone %s signed with %s" % (self, fqdn(zone), key)
        if rcode == "REFUSED":
            return rcode, ("%s refused an update of zone %s signed with %s: the key may not update this zone (allow-update)"
                           % (self, fqdn(zone), key))
        if rcode in ("NXRRSET", "YXRRSET", "NXDOMAIN", "YXDOMAIN"):
            return rcode, ("%s answered %s: the records changed since they were read, so the update was not applied "
                           "(nothing changed); run again to read them anew" % (self, rcode))
        return rcode, "%s answered %s to an update of zone %s signed with %s" % (self, rcode, fqdn(zone), key)

    def check_key(self, zone: str, tsig: dict[str, str]) -> dict[str, str]:
        """Test the TSIG key with a signed UPDATE that changes nothing.

        The message holds one prerequisite (the zone's SOA exists, always true) and no update: BIND checks
        the signature, then the prerequisite, then allow-update, and with nothing to change leaves the
        zone and its serial alone. NOERROR means the key is known, the secret right and updates allowed.
        """
        update, problem = self._signed(zone, tsig)
        if problem:
            return problem
        update.present(fqdn(zone), "SOA")
        status, msg = self._send(update, zone, tsig)
        return {"status": "ok" if status == "NOERROR" else status, "msg": msg}

    def update(self, zone: str, tsig: dict[str, str], changes: t.Sequence[dict[str, t.Any]],
               require: t.Sequence[Record] = ()) -> dict[str, str]:
        """Apply ``changes`` in one signed UPDATE: all of them, in order, or none.

        Each change replaces an RRset (C(present)) or removes it (C(absent)). ``require`` are RRsets as
        they were read: each must still hold exactly those values (RFC 2136 value-dependent
        prerequisites), so a zone changed by someone else in between is not overwritten.
        """
        update, problem = self._signed(zone, tsig)
        if problem:
            return problem
        for rec in require:
            rdtype = dns.rdatatype.from_text(rec["type"])
            for value in rec["values"]:
                update.present(fqdn(rec["name"]), dns.rdata.from_text(dns.rdataclass.IN, rdtype, value))
        for item in changes:
            if item["state"] == "absent":
                update.delete(fqdn(item["record"]), item["type"])
            else:
                update.replace(fqdn(item["record"]), int(item["ttl"]), item["type"], *item["values"])
        status, msg = self._send(update, zone, tsig)
        return {"status": "ok" if status == "NOERROR" else status, "msg": msg}
