# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The DNS cutover's logic: names, input checks, the cutover and restore plans, comparison, and the client's
reading of answers (dnspython messages built here, as the lab's BIND 9.18 sends them)."""

from __future__ import annotations

import dns.message
import dns.opcode
import dns.query
import dns.flags
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.tsig
import pytest

from ansible_collections.replatform.kubernetes.plugins.module_utils import _dns
from ansible_collections.replatform.kubernetes.plugins.module_utils._dns import (
    Authority, DNSClientError, check_cutover, check_records, check_servers, check_tsig, compare, fqdn, in_zone, is_ip,
    name_problem, normalise_value, plan_cutover, plan_restore, record, zone_lines,
)

ZONE = "esp.test"
SECRET = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I="
WWW = record("www.esp.test", "CNAME", ["lb.esp.test."], 300)
MAIL_A = record("mail.esp.test", "A", ["127.0.0.1"], 300)
APEX_MX = record("esp.test", "MX", ["10 mail.esp.test."], 300)
WEB_INGRESS = [record("web.ingress.esp.test", "A", ["10.231.7.31"], 300)]
MAIL_INGRESS = [record("mail.ingress.esp.test", "A", ["10.231.7.34"], 300)]


def options(problems):
    return [p["option"] for p in problems]


def cutover(current, names, target="web.ingress.esp.test", low_ttl=60, mx=(), ns=("ns1.esp.test.",), target_records=None,
            saved=None):
    return plan_cutover(list(current), list(mx), list(ns), WEB_INGRESS if target_records is None else target_records,
                        names, target, ZONE, low_ttl, saved)


# --- names and values -------------------------------------------------------------------------------

def test_fqdn_is_absolute_and_lower_case():
    assert fqdn("WWW.Esp.Test") == "www.esp.test."
    assert fqdn("www.esp.test.") == "www.esp.test."


@pytest.mark.parametrize("value", ["10.231.7.31", "10.231.7.31.", "2001:db8::1", "[2001:db8::1]", " 127.0.0.1 "])
def test_ip_literals_are_recognised(value):
    assert is_ip(value)


@pytest.mark.parametrize("value", ["web.ingress.esp.test", "10.231.7.31.nip.io", "", None, 10])
def test_names_are_not_ips(value):
    assert not is_ip(value)


def test_name_problems():
    assert name_problem("www.esp.test") is None
    assert name_problem("_dmarc.esp.test") is None
    assert "label '_dmarc'" in name_problem("_dmarc.esp.test", hostname=True)
    assert "IP address" in name_problem("10.0.0.1")
    assert "label '-bad'" in name_problem("-bad.esp.test")
    assert "the label ''" in name_problem("a..b")
    assert "longer than 253" in name_problem(("a" * 60 + ".") * 5)
    assert name_problem("") and name_problem(None)


def test_in_zone():
    assert in_zone("www.esp.test", "esp.test.")
    assert in_zone("ESP.TEST.", "esp.test")
    assert not in_zone("www.notesp.test", "esp.test")
    assert not in_zone("www.example.org", "esp.test")


def test_values_are_normalised_as_servers_answer():
    assert normalise_value("cname", "LB.esp.test") == "lb.esp.test."
    assert normalise_value("MX", "10   Mail.esp.test") == "10 mail.esp.test."
    assert normalise_value("SRV", "0 5 25 mail.esp.test") == "0 5 25 mail.esp.test."
    assert normalise_value("AAAA", "2001:0db8:0::1") == "2001:db8::1"
    assert normalise_value("TXT", '"v=spf1  -all"') == '"v=spf1  -all"'


@pytest.mark.parametrize("rtype, value, why", [
    ("A", "2001:db8::1", "not an IPv4"), ("AAAA", "10.0.0.1", "not an IPv6"), ("A", "lb.esp.test", "not an IP"),
    ("MX", "mail.esp.test", "preference exchange"), ("CNAME", "10.0.0.1", "not a domain name"), ("TXT", "  ", "empty"),
])
def test_bad_values(rtype, value, why):
    with pytest.raises(ValueError, match=why):
        normalise_value(rtype, value)


def test_record_sorts_and_dedupes_values():
    rec = record("Mail.esp.test", "a", ["10.0.0.2", "10.0.0.1", "10.0.0.2"], "300")
    assert rec == {"name": "mail.esp.test.", "type": "A", "values": ["10.0.0.1", "10.0.0.2"], "ttl": 300}
    assert zone_lines([rec]) == ["mail.esp.test. 300 IN A 10.0.0.1", "mail.esp.test. 300 IN A 10.0.0.2"]


# --- input checks -----------------------------------------------------------------------------------

def test_good_cutover_input_has_no_problems():
    assert check_cutover(ZONE, ["www.esp.test", "api.esp.test."], "web.ingress.esp.test", 60, [ZONE]) == []


@pytest.mark.parametrize("target", ["10.231.7.31", "2001:db8::31", "10.231.7.31."])
def test_a_target_that_is_an_ip_is_refused(target):
    problems = check_cutover(ZONE, ["www.esp.test"], target, 60, [ZONE])
    assert options(problems) == ["target"]
    assert "is an IP address" in problems[0]["msg"] and "never at an address" in problems[0]["msg"]


@pytest.mark.parametrize("target, why", [("", "needs the hostname"), ("web_ingress.esp.test", "hostname"),
                                         ("www.esp.test", "one of the names")])
def test_other_bad_targets(target, why):
    problems = check_cutover(ZONE, ["www.esp.test"], target, 60, [ZONE])
    assert options(problems) == ["target"] and why in problems[0]["msg"]


def test_names_outside_the_zone_and_the_apex_are_refused():
    problems = check_cutover(ZONE, ["www.example.org", "esp.test", "www.esp.test"], "web.ingress.esp.test", 60, [ZONE])
    assert options(problems) == ["names", "names"]
    assert "www.example.org. is outside zone esp.test." in problems[0]["msg"]
    assert "apex" in problems[1]["msg"]
    assert options(check_cutover(ZONE, [], "web.ingress.esp.test", 60, [ZONE])) == ["names"]


@pytest.mark.parametrize("low_ttl", [0, 3601, -5, "60", True, 1.5])
def test_low_ttl_out_of_range(low_ttl):
    problems = check_cutover(ZONE, ["www.esp.test"], "web.ingress.esp.test", low_ttl, [ZONE])
    assert options(problems) == ["low_ttl"]
    assert "1 to 3600 seconds" in problems[0]["msg"] or "whole number" in problems[0]["msg"]


def test_bad_zone_and_mx_owners():
    assert options(check_cutover("bad zone", ["www.esp.test"], "web.ingress.esp.test", 60, [])) == ["zone"]
    assert options(check_cutover(ZONE, ["www.esp.test"], "web.ingress.esp.test", 60, ["example.org"])) == ["mx_owners"]


def test_servers_and_port():
    assert check_servers(["127.0.0.1", "::1"], 5353) == []
    assert options(check_servers([], 53)) == ["servers"]
    assert "not an IP address" in check_servers(["ns1.esp.test"], 53)[0]["msg"]
    assert options(check_servers(["127.0.0.1"], 70000)) == ["port"]


def test_tsig_key_checks():
    assert check_tsig({"name": "replatform-lab", "algorithm": "hmac-sha256", "secret": SECRET}) == []
    assert check_tsig({"name": "k", "algorithm": "HMAC-SHA256", "secret": SECRET}) == []
    assert options(check_tsig("key")) == ["tsig"]
    assert "has no secret" in check_tsig({"name": "k", "algorithm": "hmac-sha256", "secret": None})[0]["msg"]
    assert options(check_tsig({"name": "k", "algorithm": "hmac-sha3", "secret": SECRET})) == ["tsig.algorithm"]
    assert options(check_tsig({"name": "k", "algorithm": "hmac-sha256", "secret": "not base64!"})) == ["tsig.secret"]


def test_saved_records_are_checked_and_normalised():
    saved = [{"name": "www.esp.test", "type": "cname", "values": ["lb.esp.test"], "ttl": 300},
             {"name": "esp.test.", "type": "MX", "values": ["10 mail.esp.test."], "ttl": "300"}]
    records, problems = check_records("restore", saved, ZONE)
    assert problems == []
    assert records == [WWW, APEX_MX]


@pytest.mark.parametrize("item, option, why", [
    ({"name": "www.esp.test", "type": "CNAME", "values": ["lb.esp.test."], "ttl": 2147483648}, "restore[0].ttl", "0 to 2147483647"),
    ({"name": "www.esp.test", "type": "CNAME", "values": ["lb.esp.test."], "ttl": -1}, "restore[0].ttl", "out of range"),
    ({"name": "www.esp.test", "type": "CNAME", "values": ["a.esp.test.", "b.esp.test."], "ttl": 300}, "restore[0].values", "exactly one"),
    ({"name": "www.esp.test", "type": "TXT", "values": ["x"], "ttl": 300}, "restore[0].type", "CNAME, A, AAAA, MX"),
    ({"name": "www.example.org", "type": "A", "values": ["10.0.0.1"], "ttl": 300}, "restore[0].name", "outside zone"),
    ({"name": "www.esp.test", "type": "A", "values": ["lb"], "ttl": 300}, "restore[0].values", "not an IP"),
    ({"name": "www.esp.test", "type": "A", "ttl": 300}, "restore[0]", "has no values"),
    ("www", "restore[0]", "must be a dict"),
])
def test_bad_saved_records(item, option, why):
    _records, problems = check_records("restore", [item], ZONE)
    assert options(problems) == [option] and why in problems[0]["msg"]


def test_a_cname_must_stand_alone_in_a_saved_list():
    items = [{"name": "www.esp.test", "type": "CNAME", "values": ["lb.esp.test."], "ttl": 300},
             {"name": "www.esp.test", "type": "A", "values": ["10.0.0.1"], "ttl": 300},
             {"name": "www.esp.test", "type": "A", "values": ["10.0.0.2"], "ttl": 300}]
    _records, problems = check_records("restore", items, ZONE)
    assert options(problems) == ["restore[2]", "restore"]
    assert "listed twice" in problems[0]["msg"] and "stands alone" in problems[1]["msg"]


# --- the cutover plan -------------------------------------------------------------------------------

def test_cutover_of_a_cname_lowers_waits_switches_and_restores_the_ttl():
    plan = cutover([WWW], ["www.esp.test"])
    new = {"name": "www.esp.test.", "type": "CNAME", "values": ["web.ingress.esp.test."], "ttl": 300}
    assert plan["problems"] == []
    assert plan["previous"] == [WWW] and plan["current"] == [WWW]
    assert plan["lower"] == [dict(WWW, ttl=60)]
    assert plan["wait"] == {"seconds": 300, "for": [{"name": "www.esp.test.", "type": "CNAME", "ttl": 300}],
                            "lines": ["www.esp.test. CNAME (TTL 300)"]}
    assert plan["switch"] == [{"record": "www.esp.test.", "type": "CNAME", "state": "present",
                               "values": ["web.ingress.esp.test."], "ttl": 60}]
    assert plan["switched"] == [dict(new, ttl=60)]
    assert plan["final"] == [new] and plan["desired"] == [new]
    assert plan["hardcoded"] == [] and plan["mx_repointed"] == [] and plan["changes"]
    assert plan["diff"] == {"before": ["www.esp.test. 300 IN CNAME lb.esp.test."],
                            "after": ["www.esp.test. 300 IN CNAME web.ingress.esp.test."]}
    assert plan["summary"] == ["www.esp.test.: CNAME lb.esp.test. (TTL 300) -> CNAME web.ingress.esp.test. (TTL 300)"]


def test_a_short_ttl_is_waited_out_and_restored_as_it_was():
    plan = cutover([dict(WWW, ttl=3)], ["www.esp.test"], low_ttl=1)
    assert plan["lower"] == [dict(WWW, ttl=1)]
    assert plan["wait"]["seconds"] == 3
    assert plan["switch"][0]["ttl"] == 1
    assert [r["ttl"] for r in plan["final"]] == [3]


def test_a_ttl_already_at_or_below_the_low_ttl_is_neither_lowered_nor_waited_for():
    plan = cutover([dict(WWW, ttl=30)], ["www.esp.test"], low_ttl=60)
    assert plan["lower"] == [] and plan["wait"]["seconds"] == 0
    assert plan["switch"][0]["ttl"] == 30 and plan["final"] == []
    assert plan["desired"][0]["ttl"] == 30


def test_a_name_already_switched_changes_nothing():
    switched = record("www.esp.test", "CNAME", ["web.ingress.esp.test."], 300)
    plan = cutover([switched], ["www.esp.test"])
    assert not plan["changes"]
    assert plan["lower"] == plan["switch"] == plan["final"] == [] and plan["wait"]["seconds"] == 0
    assert plan["unchanged"] == ["www.esp.test."]
    assert plan["previous"] == plan["desired"] == [switched]


def test_a_resumed_cutover_restores_the_saved_ttl_and_returns_the_saved_records():
    # Interrupted after the switch, before the TTL was restored: the ledger's list says what it was.
    switched_low = record("www.esp.test", "CNAME", ["web.ingress.esp.test."], 60)
    plan = cutover([switched_low], ["www.esp.test"], saved=[WWW])
    assert plan["previous"] == [WWW]
    assert plan["lower"] == [] and plan["switch"] == [] and plan["wait"]["seconds"] == 0
    assert plan["final"] == [dict(switched_low, ttl=300)]


def test_a_resumed_cutover_waits_out_the_saved_ttl_when_the_records_were_lowered_earlier():
    plan = cutover([dict(WWW, ttl=60)], ["www.esp.test"], saved=[WWW])
    assert plan["lower"] == []
    assert plan["wait"]["seconds"] == 300
    assert plan["final"][0]["ttl"] == 300


def test_mail_repoints_the_mx_first_and_reports_the_hard_coded_address():
    plan = cutover([MAIL_A], ["mail.esp.test"], target="mail.ingress.esp.test", mx=[APEX_MX], target_records=MAIL_INGRESS)
    assert plan["problems"] == []
    assert plan["previous"] == [APEX_MX, MAIL_A]
    assert plan["hardcoded"] == [MAIL_A] and plan["hardcoded_lines"] == ["mail.esp.test. A 127.0.0.1"]
    assert plan["mx_repointed"] == [{"name": "esp.test.", "previous": ["10 mail.esp.test."],
                                     "values": ["10 mail.ingress.esp.test."]}]
    assert [(op["record"], op["type"], op["state"]) for op in plan["switch"]] == [
        ("esp.test.", "MX", "present"), ("mail.esp.test.", "A", "absent"), ("mail.esp.test.", "CNAME", "present")]
    assert plan["switch"][0]["values"] == ["10 mail.ingress.esp.test."]
    assert sorted(r["type"] for r in plan["lower"]) == ["A", "MX"]
    assert plan["desired"] == [record("esp.test", "MX", ["10 mail.ingress.esp.test."], 300),
                               record("mail.esp.test", "CNAME", ["mail.ingress.esp.test."], 300)]


def test_an_mx_naming_other_hosts_keeps_them_and_their_preferences():
    mx = record("esp.test", "MX", ["10 mail.esp.test.", "20 backup.example.org."], 600)
    plan = cutover([MAIL_A], ["mail.esp.test"], target="mail.ingress.esp.test", mx=[mx], target_records=MAIL_INGRESS)
    assert plan["desired"][0] == record("esp.test", "MX", ["10 mail.ingress.esp.test.", "20 backup.example.org."], 600)
    assert plan["wait"]["seconds"] == 600


def test_mail_already_switched_changes_nothing():
    mx = record("esp.test", "MX", ["10 mail.ingress.esp.test."], 300)
    cname = record("mail.esp.test", "CNAME", ["mail.ingress.esp.test."], 300)
    plan = cutover([cname], ["mail.esp.test"], target="mail.ingress.esp.test", mx=[mx], target_records=MAIL_INGRESS)
    assert not plan["changes"] and plan["mx_repointed"] == []


@pytest.mark.parametrize("current, ns, why", [
    ([WWW, record("www.esp.test", "TXT", ['"x"'], 300)], (), "holds TXT records"),
    ([], (), "does not exist in zone"),
    ([record("ns1.esp.test", "A", ["127.0.0.1"], 300)], ("ns1.esp.test.",), "is a name server"),
])
def test_names_that_cannot_become_a_cname(current, ns, why):
    name = current[0]["name"] if current else "www.esp.test."
    plan = cutover(current, [name], ns=ns)
    assert options(plan["problems"]) == ["names"] and why in plan["problems"][0]["msg"]
    assert plan["switch"] == [] and not plan["changes"]


def test_a_target_that_does_not_exist_in_the_zone_is_refused():
    plan = cutover([WWW], ["www.esp.test"], target_records=[])
    assert options(plan["problems"]) == ["target"] and "does not exist in zone" in plan["problems"][0]["msg"]


def test_a_target_outside_the_zone_is_not_checked():
    plan = plan_cutover([WWW], [], [], None, ["www.esp.test"], "ingress.example.org", ZONE, 60)
    assert plan["problems"] == [] and plan["desired"][0]["values"] == ["ingress.example.org."]


def test_an_mx_cannot_be_repointed_at_a_cname_target():
    target = [record("mail.ingress.esp.test", "CNAME", ["elsewhere.example.org."], 300)]
    plan = cutover([MAIL_A], ["mail.esp.test"], target="mail.ingress.esp.test", mx=[APEX_MX], target_records=target)
    assert options(plan["problems"]) == ["target"] and "itself a CNAME" in plan["problems"][0]["msg"]


# --- the restore plan -------------------------------------------------------------------------------

def test_restore_puts_the_saved_cname_and_ttl_back():
    now = record("www.esp.test", "CNAME", ["web.ingress.esp.test."], 3)
    plan = plan_restore([now], [WWW])
    assert plan["switch"] == [{"record": "www.esp.test.", "type": "CNAME", "state": "present",
                               "values": ["lb.esp.test."], "ttl": 300}]
    assert plan["previous"] == [now] and plan["desired"] == [WWW]
    assert plan["lower"] == [] and plan["wait"]["seconds"] == 0 and plan["changes"]


def test_restore_of_mail_removes_the_cname_then_sets_the_address_then_the_mx():
    now = [record("mail.esp.test", "CNAME", ["mail.ingress.esp.test."], 300)]
    plan = plan_restore(now, [APEX_MX, MAIL_A])
    assert [(op["record"], op["type"], op["state"]) for op in plan["switch"]] == [
        ("mail.esp.test.", "CNAME", "absent"), ("mail.esp.test.", "A", "present"), ("esp.test.", "MX", "present")]


def test_restore_is_idempotent():
    plan = plan_restore([WWW, MAIL_A, APEX_MX], [APEX_MX, MAIL_A, WWW])
    assert not plan["changes"] and plan["switch"] == []
    assert sorted(plan["unchanged"]) == ["esp.test.", "mail.esp.test.", "www.esp.test."]


def test_restore_corrects_a_ttl_only():
    plan = plan_restore([dict(WWW, ttl=60)], [WWW])
    assert [op["ttl"] for op in plan["switch"]] == [300]


def test_restore_of_a_cname_refuses_to_delete_other_data():
    now = [MAIL_A, record("mail.esp.test", "TXT", ['"v=spf1 -all"'], 300)]
    plan = plan_restore(now, [record("mail.esp.test", "CNAME", ["lb.esp.test."], 300)])
    assert options(plan["problems"]) == ["restore"] and "holds TXT records" in plan["problems"][0]["msg"]
    assert plan["switch"] == []


def test_restore_of_a_cname_removes_addresses_first():
    plan = plan_restore([MAIL_A], [record("mail.esp.test", "CNAME", ["lb.esp.test."], 300)])
    assert [(op["type"], op["state"]) for op in plan["switch"]] == [("A", "absent"), ("CNAME", "present")]


# --- comparing answers ------------------------------------------------------------------------------

def test_compare():
    assert compare([WWW], [WWW]) == []
    assert compare([WWW], [dict(WWW, values=["x.esp.test."])]) == [
        "www.esp.test. CNAME: answers x.esp.test., expected lb.esp.test."]
    assert compare([WWW], [dict(WWW, ttl=60)]) == ["www.esp.test. CNAME: TTL 60, expected 300"]
    assert compare([WWW], [dict(WWW, ttl=60)], check_ttl=False) == []
    assert compare([WWW], []) == ["www.esp.test. CNAME: no answer, expected www.esp.test. CNAME lb.esp.test. (TTL 300)"]


def test_compare_sees_data_beside_a_cname_and_a_cname_left_behind():
    cname = record("mail.esp.test", "CNAME", ["mail.ingress.esp.test."], 300)
    assert compare([cname], [cname, MAIL_A]) == ["mail.esp.test.: also holds A beside the CNAME"]
    assert compare([MAIL_A], [cname]) == ["mail.esp.test. A: no answer, expected mail.esp.test. A 127.0.0.1 (TTL 300)",
                                          "mail.esp.test.: holds a CNAME, expected A"]


# --- the client, with answers built as BIND sends them ----------------------------------------------

def answer(query, rcode=dns.rcode.NOERROR, aa=True, rrsets=()):
    response = dns.message.make_response(query)
    response.set_rcode(rcode)
    if aa:
        response.flags |= dns.flags.AA
    for text in rrsets:
        name, ttl, _in, rtype, *rdata = text.split()
        response.answer.append(dns.rrset.from_text(name, int(ttl), "IN", rtype, " ".join(rdata)))
    return response


@pytest.fixture
def server(monkeypatch):
    """An Authority whose UDP/TCP exchanges are answered by ``server.zone`` (name, type) -> rrset texts."""
    auth = Authority("127.0.0.1", 5353, timeout=1)
    auth.zone = {}
    auth.asked = []
    auth.refuse = False

    def exchange(query, where, timeout=None, port=None):
        assert (where, port) == ("127.0.0.1", 5353)
        assert not query.flags & dns.flags.RD, "authoritative servers are asked without recursion"
        question = query.question[0]
        key = (question.name.to_text().lower(), dns.rdatatype.to_text(question.rdtype))
        auth.asked.append(key)
        if auth.refuse:
            return answer(query, dns.rcode.REFUSED, aa=False), False
        names = {name for name, _rtype in auth.zone}
        if key[0] not in names:
            return answer(query, dns.rcode.NXDOMAIN), False
        return answer(query, rrsets=auth.zone.get(key, [])), False

    monkeypatch.setattr(dns.query, "udp_with_fallback", exchange)
    return auth


def test_read_returns_every_type_at_the_name_with_its_ttl(server):
    server.zone = {("www.esp.test.", "CNAME"): ["www.esp.test. 3 IN CNAME lb.esp.test."],
                   # BIND adds the target's address to an A query on a CNAME: it is not www's own A record.
                   ("www.esp.test.", "A"): ["www.esp.test. 3 IN CNAME lb.esp.test.", "lb.esp.test. 300 IN A 127.0.0.1"],
                   ("esp.test.", "MX"): ["esp.test. 300 IN MX 10 mail.esp.test."]}
    assert server.read(["WWW.esp.test"]) == [record("www.esp.test", "CNAME", ["lb.esp.test."], 3)]
    assert server.read(["esp.test."], ("MX",)) == [APEX_MX]
    assert server.read(["nothing.esp.test"]) == []
    assert server.asked.count(("nothing.esp.test.", "A")) == 1 and len([a for a in server.asked if a[0] == "nothing.esp.test."]) == 1


def test_zone_status(server):
    server.zone = {("esp.test.", "SOA"): ["esp.test. 300 IN SOA ns1.esp.test. hostmaster.esp.test. 7 3600 600 86400 300"]}
    assert server.zone_status("esp.test")["status"] == "ok"
    assert server.zone_status("esp.test")["serial"] == 7
    server.refuse = True
    status = server.zone_status("nope.test")
    assert status["status"] == "REFUSED"
    assert status["msg"] == "127.0.0.1 port 5353 answers REFUSED for zone nope.test.: it is not authoritative for it"
    with pytest.raises(DNSClientError, match="answered REFUSED"):
        server.read(["www.nope.test"])


def test_zone_status_of_a_name_inside_a_zone(server):
    server.zone = {("www.esp.test.", "CNAME"): ["www.esp.test. 300 IN CNAME lb.esp.test."]}
    assert server.zone_status("www.esp.test")["status"] == "not authoritative"


def test_a_server_that_does_not_answer(monkeypatch):
    def timeout(*_args, **_kwargs):
        raise dns.exception.Timeout()

    monkeypatch.setattr(dns.query, "udp_with_fallback", timeout)
    status = Authority("192.0.2.1", timeout=0.1).zone_status("esp.test")
    assert status["status"] == "unreachable" and "did not answer within 0.1 seconds" in status["msg"]


@pytest.mark.parametrize("raised, status, why", [
    (dns.tsig.PeerBadSignature, "BADSIG", "the secret is wrong"),
    (dns.tsig.PeerBadKey, "BADKEY", "does not know key replatform-lab (hmac-sha256)"),
    (dns.tsig.PeerBadTime, "BADTIME", "clocks differ"),
])
def test_key_errors(monkeypatch, raised, status, why):
    def tcp(*_args, **_kwargs):
        raise raised()

    monkeypatch.setattr(dns.query, "tcp", tcp)
    result = Authority("127.0.0.1", 5353).check_key(ZONE, {"name": "replatform-lab", "algorithm": "hmac-sha256", "secret": SECRET})
    assert result["status"] == status and why in result["msg"]


@pytest.mark.parametrize("rcode, status", [(dns.rcode.NOERROR, "ok"), (dns.rcode.REFUSED, "REFUSED"), (dns.rcode.NOTAUTH, "NOTAUTH")])
def test_the_key_test_is_an_update_that_changes_nothing(monkeypatch, rcode, status):
    sent = []

    def tcp(update, where, timeout=None, port=None):
        sent.append(update)
        return dns.message.make_response(update) if rcode == dns.rcode.NOERROR else _rcode(update, rcode)

    def _rcode(update, code):
        response = dns.message.make_response(update)
        response.set_rcode(code)
        return response

    monkeypatch.setattr(dns.query, "tcp", tcp)
    result = Authority("127.0.0.1", 5353).check_key(ZONE, {"name": "k", "algorithm": "hmac-sha256", "secret": SECRET})
    assert result["status"] == status
    update = sent[0]
    assert update.opcode() == dns.opcode.UPDATE
    assert update.keyname.to_text() == "k.", "the key test is signed"
    assert [rrset.to_text() for rrset in update.prerequisite] == ["esp.test. ANY SOA"], "the zone's SOA exists"
    assert update.update == [], "the key test must not change anything"


def test_a_restore_can_put_back_everything_a_cutover_replaces():
    assert _dns.HAS_DNSPYTHON
    assert set(_dns.RESTORABLE) == set(_dns.SWITCHABLE) | {"MX"}


# --- one UPDATE, and the rollback record ----------------------------------------------------------------

KEY = {"name": "k", "algorithm": "hmac-sha256", "secret": SECRET}


def _capture(monkeypatch, rcode=dns.rcode.NOERROR):
    sent = []

    def tcp(update, where, timeout=None, port=None):
        sent.append(update)
        response = dns.message.make_response(update)
        response.set_rcode(rcode)
        return response

    monkeypatch.setattr(dns.query, "tcp", tcp)
    return sent


def test_a_cutover_switch_is_one_update_with_its_prerequisites(monkeypatch):
    sent = _capture(monkeypatch)
    current = [MAIL_A, APEX_MX]
    plan = plan_cutover([MAIL_A], [APEX_MX], ["ns1.esp.test."], MAIL_INGRESS, ["mail.esp.test"], "mail.ingress.esp.test", ZONE, 60, [])
    require = _dns.prerequisites(current, plan["switch"])
    result = Authority("127.0.0.1", 5353).update(ZONE, KEY, plan["switch"], require)
    assert result["status"] == "ok"
    assert len(sent) == 1, "the whole switch is one message"
    update = sent[0]
    assert update.opcode() == dns.opcode.UPDATE and update.keyname.to_text() == "k."
    assert sorted(r.to_text() for r in update.prerequisite) == ["esp.test. 0 IN MX 10 mail.esp.test.", "mail.esp.test. 0 IN A 127.0.0.1"]
    lines = [r.to_text() for r in update.update]
    # The MX is repointed first, then the A record goes and the CNAME comes, in that order.
    # (names in the zone print relative to it; on the wire they are absolute)
    assert lines == ["esp.test. ANY MX", "esp.test. 60 IN MX 10 mail.ingress", "mail.esp.test. ANY A", "mail.esp.test. ANY CNAME",
                     "mail.esp.test. 60 IN CNAME mail.ingress"]


@pytest.mark.parametrize("rcode, status, why", [
    (dns.rcode.NXRRSET, "NXRRSET", "the records changed since they were read"),
    (dns.rcode.REFUSED, "REFUSED", "allow-update"),
    (dns.rcode.SERVFAIL, "SERVFAIL", "answered SERVFAIL"),
])
def test_a_refused_update_says_why(monkeypatch, rcode, status, why):
    _capture(monkeypatch, rcode)
    result = Authority("127.0.0.1", 5353).update(ZONE, KEY, [_dns.change(WWW, "absent")])
    assert result["status"] == status and why in result["msg"]


def test_prerequisites_are_the_rrsets_the_changes_touch():
    other = record("api.esp.test", "A", ["127.0.0.2"], 300)
    changes = [_dns.change(MAIL_A, "absent"), _dns.change(record("mail.esp.test", "CNAME", ["x.esp.test."], 60))]
    assert _dns.prerequisites([MAIL_A, other], changes) == [MAIL_A]
    assert _dns.touched(changes) == {("mail.esp.test.", "A"), ("mail.esp.test.", "CNAME")}


PREVIOUS = [record("www.esp.test", "A", ["127.0.0.1", "127.0.0.2"], 300), APEX_MX]


def test_the_rollback_record_round_trips_through_the_servers_text():
    data = {"service": "web", "target": "web.ingress.esp.test.", "previous": PREVIOUS, "note": 'quote " and \\ backslash ' + "x" * 600}
    rec = _dns.encode_state(_dns.state_name("web", ZONE), data)
    assert rec["name"] == "web._replatform.esp.test." and rec["type"] == "TXT" and len(rec["values"]) == 1
    # As BIND answers it: dnspython parses the presentation text and prints it back.
    rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, rec["values"][0])
    assert all(len(s) <= 255 for s in rdata.strings) and len(rdata.strings) > 2
    decoded, problem = _dns.decode_state(dict(rec, values=[rdata.to_text()]), ZONE)
    assert problem == ""
    assert decoded["previous"] == PREVIOUS and decoded["note"] == data["note"] and decoded["v"] == 1


@pytest.mark.parametrize("value, why", [
    ('"not json"', "not JSON"),
    ('"{\\"v\\":9,\\"previous\\":[]}"', "not a rollback record of version 1"),
    ('"{\\"v\\":1,\\"previous\\":[]}"', "not usable (empty)"),
    ('"{\\"v\\":1,\\"previous\\":[{\\"name\\":\\"www.other.test\\",\\"type\\":\\"A\\",\\"values\\":[\\"1.2.3.4\\"],\\"ttl\\":60}]}"',
     "outside zone esp.test."),
])
def test_a_garbage_rollback_record_is_reported_not_used(value, why):
    decoded, problem = _dns.decode_state({"name": "web._replatform.esp.test.", "type": "TXT", "values": [value], "ttl": 300}, ZONE)
    assert decoded is None and why in problem and "web._replatform.esp.test." in problem


def test_no_rollback_record_is_no_problem():
    assert _dns.decode_state(None, ZONE) == (None, "")
