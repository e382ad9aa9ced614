#!/usr/bin/python
# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: dns_records_info
short_description: Read DNS records and TTLs from a zone's authoritative servers, test a TSIG key, plan a DNS cutover
version_added: 0.1.0
description:
  - Asks each of O(servers) directly (no recursion, no cache; UDP, TCP when truncated) whether it is
    authoritative for O(zone), and reads every record at O(names) with the TTL the server holds.
  - With O(tsig), tests the key on the first server (the primary, where updates go) with a signed
    RFC 2136 UPDATE that holds one always-true prerequisite (the zone's SOA exists) and no change, so a
    wrong secret (C(BADSIG)), an unknown key (C(BADKEY)) or a key that may not update the zone
    (C(REFUSED)) shows before anything is changed.
  - With O(cutover) or O(restore), returns the plan the P(replatform.kubernetes.dns_cutover#role) role
    carries out with M(replatform.kubernetes.dns_update); with O(expect), compares every server's answer.
  - Never changes anything. Bad input and servers that are not authoritative for the zone are returned in
    RV(problems), each naming its option, not failed on, so the caller can say which of its own settings
    is wrong; a server that cannot be reached while records are read fails the module.
  - Written because the existing plugins cannot do this. The M(community.general.dig) lookup asks for one
    type at a time, cannot sign a request (so it cannot test a TSIG key), and reports C(REFUSED) or
    C(NOTAUTH) only inside an error string. M(community.dns.nameserver_record_info) finds the name servers
    through the NS records and a resolver on port 53, so it cannot be pointed at given servers or ports.
    M(community.general.nsupdate) tests nothing without a record to change.
author:
  - Replatform Team (@replatform)
extends_documentation_fragment:
  - replatform.kubernetes.attributes
options:
  servers:
    description:
      - The zone's authoritative servers, as IP addresses. The first one is the primary, where the key is
        tested and whose records the plan starts from; every one is read and compared.
    type: list
    elements: str
    required: true
  port:
    description: The servers' DNS port.
    type: int
    default: 53
  zone:
    description: The zone (C(esp.test)).
    type: str
    required: true
  names:
    description: Names whose records are read (absolute; a trailing dot is optional).
    type: list
    elements: str
    default: []
  mx_owners:
    description:
      - Names whose MX records are read with O(cutover), to find MX records that point at one of O(names).
      - Defaults to the zone's apex.
    type: list
    elements: str
  tsig:
    description: The TSIG key for updates, tested on the first server. Not tested when omitted.
    type: dict
    suboptions:
      name:
        description: The key's name. Checked with the other fields, so a missing one shows in RV(problems).
        type: str
      algorithm:
        description: The key's algorithm, one of V(hmac-md5), V(hmac-sha1), V(hmac-sha224), V(hmac-sha256), V(hmac-sha384), V(hmac-sha512).
        type: str
      secret:
        description: The base64 secret.
        type: str
  cutover:
    description:
      - Plan a cutover of O(names) to a CNAME to O(cutover.target), returned in RV(plan).
    type: dict
    suboptions:
      target:
        description: The hostname the names will point at. Never an IP address.
        type: str
        required: true
      low_ttl:
        description: The TTL (1 to 3600) the records are lowered to before the switch.
        type: int
        default: 60
      saved:
        description:
          - The RV(plan.previous) list of an earlier run that this one resumes (from the migration ledger).
            Its records and TTLs are the previous ones, whatever the servers hold now.
        type: list
        elements: dict
        default: []
  restore:
    description:
      - Plan putting exactly these records back (a RV(plan.previous) list of an earlier cutover), returned in
        RV(plan). Each is a dict with C(name), C(type) (C(CNAME), C(A), C(AAAA) or C(MX)), C(values) and C(ttl).
    type: list
    elements: dict
  expect:
    description:
      - Records every server must answer (same shape as O(restore)); the result is in RV(verified) and
        RV(mismatches).
    type: list
    elements: dict
  expect_ttl:
    description: Compare the TTLs too with O(expect).
    type: bool
    default: true
  rollback_record:
    description:
      - The name of a rollback record (the TXT record M(replatform.kubernetes.dns_update) writes beside a cutover)
        to read from the first server, decoded in RV(rollback).
      - With O(cutover) and no O(cutover.saved), the previous records it holds are the saved ones, so a
        cutover resumed or run again plans from what the zone says it replaced, never from its own CNAME.
    type: str
  timeout:
    description: Seconds to wait for each answer.
    type: float
    default: 5
notes:
  - Reads only; the signed key test changes nothing (BIND leaves the zone and its serial alone when an
    update holds no change).
requirements:
  - dnspython >= 2.0
seealso:
  - module: community.general.nsupdate
"""

EXAMPLES = r"""
- name: Read www.esp.test from both authoritative servers and test the key
  replatform.kubernetes.dns_records_info:
    servers: [192.0.2.53, 198.51.100.53]
    zone: esp.test
    names: [www.esp.test]
    tsig: "{{ replatform_dns_tsig }}"
  register: dns_now

- name: Plan moving www.esp.test to the cluster's ingress
  replatform.kubernetes.dns_records_info:
    servers: [192.0.2.53]
    zone: esp.test
    names: [www.esp.test]
    cutover:
      target: web.ingress.esp.test
      low_ttl: 60
  register: dns_plan

- name: Wait until every server answers the records of the plan
  replatform.kubernetes.dns_records_info:
    servers: [192.0.2.53, 198.51.100.53]
    zone: esp.test
    expect: "{{ dns_plan.plan.desired }}"
  register: dns_check
  until: dns_check.verified
  retries: 30
  delay: 2
"""

RETURN = r"""
rollback:
  description:
    - The rollback record at O(rollback_record), decoded (C(previous) the records a cutover replaced, normalised;
      C(target), C(service)); null when there is none or it cannot be used (then RV(rollback_problem) says why).
  returned: when O(rollback_record) is set and the servers could be asked
  type: dict
rollback_problem:
  description: Why the rollback record cannot be used (not JSON, another version, unusable records); empty when it can or there is none.
  returned: when O(rollback_record) is set and the servers could be asked
  type: str
servers:
  description: Per server, whether it is authoritative for the zone.
  returned: always
  type: list
  elements: dict
  contains:
    server:
      description: The address asked.
      type: str
    port:
      description: The port asked.
      type: int
    status:
      description: C(ok), the answer's rcode (C(REFUSED), C(NOTAUTH), C(SERVFAIL)...), C(not authoritative) or C(unreachable).
      type: str
    serial:
      description: The zone's SOA serial on that server.
      type: int
    msg:
      description: Why the server cannot be used, when it cannot.
      type: str
  sample: [{server: 127.0.0.1, port: 5353, status: ok, serial: 7, msg: ""}]
key:
  description: The result of the key test; C(status) is C(ok), C(BADSIG), C(BADKEY), C(BADTIME), C(REFUSED), C(NOTAUTH) or C(not tested).
  returned: always
  type: dict
  sample: {status: ok, msg: "127.0.0.1 port 5353 accepts updates of zone esp.test. signed with key replatform-lab (hmac-sha256)"}
records:
  description: The records at O(names) on the first server, one per name and type.
  returned: always
  type: list
  elements: dict
  sample: [{name: www.esp.test., type: CNAME, values: [lb.esp.test.], ttl: 300}]
by_server:
  description: The records at O(names) (or at the names of O(expect)) on each server, by address.
  returned: always
  type: dict
problems:
  description: Bad input and unusable servers or key, each C({option, msg}); nothing was read when there are input problems.
  returned: always
  type: list
  elements: dict
  sample: [{option: target, msg: "'10.0.0.1' is an IP address; the names are pointed at a hostname ..."}]
plan:
  description: With O(cutover) or O(restore), what to do, in the order the dns_cutover role does it.
  returned: with O(cutover) or O(restore) and no input problems
  type: dict
  contains:
    mode:
      description: C(cutover) or C(restore).
      type: str
    current:
      description: The records the run replaces, as the primary holds them now.
      type: list
      elements: dict
    previous:
      description:
        - The records the run replaces, to save for a rollback (the migration ledger). With O(cutover.saved),
          the saved ones.
      type: list
      elements: dict
    desired:
      description: The end state, with the normal TTLs.
      type: list
      elements: dict
    lower:
      description: Records to set again with the low TTL, values unchanged (empty for a restore).
      type: list
      elements: dict
    wait:
      description: C(seconds) (the longest old TTL, uncapped), C(for) (the records) and C(lines) (the same, as text).
      type: dict
    switch:
      description:
        - Ordered changes for M(replatform.kubernetes.dns_update) (one UPDATE) C({record, type, state, values, ttl}). MX records are
          repointed before a name they point at becomes a CNAME, and restored after it holds addresses again.
      type: list
      elements: dict
    switched:
      description: What every server must answer right after the switch (low TTLs).
      type: list
      elements: dict
    final:
      description: Records to set again with their normal TTL once every server answers the switch.
      type: list
      elements: dict
    hardcoded:
      description: Address records (A, AAAA) among the names, which are hard-coded IPs; the cutover replaces them.
      type: list
      elements: dict
    hardcoded_lines:
      description: The same, as text.
      type: list
      elements: str
    mx_repointed:
      description: MX records whose exchange was one of the names, C({name, previous, values}).
      type: list
      elements: dict
    unchanged:
      description: Names already in their end state.
      type: list
      elements: str
    changes:
      description: Whether anything is to be changed.
      type: bool
    diff:
      description: C(before) and C(after), zone-file lines of RV(plan.current) and RV(plan.desired).
      type: dict
    summary:
      description: "Per name, C(name: before -> after)."
      type: list
      elements: str
    problems:
      description: What prevents the plan (a name holding other data, a name server, a target that does not exist).
      type: list
      elements: dict
verified:
  description: With O(expect), whether every server answers exactly the expected records.
  returned: with O(expect)
  type: bool
mismatches:
  description: With O(expect), what differs, C({server, msg}).
  returned: with O(expect)
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.replatform.kubernetes.plugins.module_utils._common import run
from ansible_collections.replatform.kubernetes.plugins.module_utils._dns import (
    HAS_DNSPYTHON, READ_TYPES, Authority, DNSClientError, check_records, check_servers, check_tsig,
    check_zone, check_cutover, compare, decode_state, fqdn, in_zone, plan_cutover, plan_restore,
)


def read_zone(m: AnsibleModule) -> dict:
    p = m.params
    cutover, restore, expect = p["cutover"], p["restore"], p["expect"]
    zone = p["zone"]
    mx_owners = p["mx_owners"] if p["mx_owners"] is not None else [zone]
    result: dict = {"changed": False, "servers": [], "key": {"status": "not tested", "msg": ""},
                    "records": [], "by_server": {}, "problems": []}
    problems = check_servers(p["servers"], p["port"]) + check_zone(zone)
    if p["tsig"] is not None:
        problems += check_tsig(p["tsig"])
    saved = restored = expected = []
    if cutover:
        problems += check_cutover(zone, p["names"], cutover["target"], cutover["low_ttl"], mx_owners)
        saved, more = check_records("saved", cutover["saved"], zone)
        problems += more
    if restore is not None:
        restored, more = check_records("restore", restore, zone)
        problems += more + ([] if restore else [{"option": "restore", "msg": "is empty: nothing to restore"}])
    if expect is not None:
        expected, more = check_records("expect", expect, zone, READ_TYPES)
        problems += more
    if problems:
        return dict(result, problems=problems)

    servers = [Authority(s, p["port"], p["timeout"]) for s in p["servers"]]
    primary = servers[0]
    result["servers"] = [s.zone_status(zone) for s in servers]
    problems = [{"option": "servers" if s["status"] == "unreachable" else "zone", "msg": s["msg"]}
                for s in result["servers"] if s["status"] != "ok"]
    if not problems and p["tsig"] is not None:
        result["key"] = primary.check_key(zone, p["tsig"])
        if result["key"]["status"] != "ok":
            problems.append({"option": "tsig", "msg": result["key"]["msg"]})
    if problems:
        return dict(result, problems=problems)

    if p["rollback_record"]:
        found = primary.read([p["rollback_record"]], ("TXT",))
        result["rollback"], result["rollback_problem"] = decode_state(found[0] if found else None, zone)

    if restore is not None:
        names = [r["name"] for r in restored]
    elif expect is not None:
        names = [r["name"] for r in expected]
    else:
        names = [fqdn(n) for n in p["names"]]
    result["by_server"] = {str(s): s.read(names) for s in servers}
    result["records"] = result["by_server"][str(primary)]
    for server in servers[1:]:
        differs = compare(result["records"], result["by_server"][str(server)])
        if differs and expect is None:
            m.warn("%s does not answer as the primary %s does yet: %s" % (server, primary, "; ".join(differs)))

    if cutover:
        target = fqdn(cutover["target"])
        result["plan"] = plan_cutover(
            result["records"], primary.read(mx_owners, ("MX",)),
            [v for r in primary.read([zone], ("NS",)) for v in r["values"]],
            primary.read([target]) if in_zone(target, zone) else None,
            p["names"], target, zone, cutover["low_ttl"], saved or (result.get("rollback") or {}).get("previous", []))
        result["problems"] = result["plan"]["problems"]
    elif restore is not None:
        result["plan"] = plan_restore(result["records"], restored)
        result["problems"] = result["plan"]["problems"]
    if expect is not None:
        result["mismatches"] = [{"server": name, "msg": msg} for name, records in result["by_server"].items()
                                for msg in compare(expected, records, p["expect_ttl"])]
        result["verified"] = not result["mismatches"]
    return result


def main() -> None:
    records = {"type": "list", "elements": "dict"}
    module = AnsibleModule(
        argument_spec={
            "servers": {"type": "list", "elements": "str", "required": True},
            "port": {"type": "int", "default": 53},
            "zone": {"type": "str", "required": True},
            "names": {"type": "list", "elements": "str", "default": []},
            "mx_owners": {"type": "list", "elements": "str"},
            "tsig": {"type": "dict", "options": {
                "name": {"type": "str"},
                "algorithm": {"type": "str"},
                "secret": {"type": "str", "no_log": True},
            }},
            "cutover": {"type": "dict", "options": {
                "target": {"type": "str", "required": True},
                "low_ttl": {"type": "int", "default": 60},
                "saved": dict(records, default=[]),
            }},
            "restore": dict(records),
            "expect": dict(records),
            "expect_ttl": {"type": "bool", "default": True},
            "rollback_record": {"type": "str"},
            "timeout": {"type": "float", "default": 5.0},
        },
        mutually_exclusive=[("cutover", "restore", "expect")],
        supports_check_mode=True,
    )
    if not HAS_DNSPYTHON:
        module.fail_json(msg=missing_required_lib("dnspython"))
    run(module, read_zone, (DNSClientError,))


if __name__ == "__main__":
    main()
