#!/usr/bin/python
# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: dns_update
short_description: Change several RRsets of a zone in one signed RFC 2136 UPDATE, all or nothing
version_added: 0.1.0
description:
  - Sends O(changes) to the zone's primary as one UPDATE signed with O(tsig); the server applies all of them
    or none, so no reader ever sees a name half switched (its A record gone, its CNAME not there yet).
  - With O(require), the UPDATE applies only if those RRsets still hold exactly the values given (RFC 2136
    value-dependent prerequisites), so records someone changed since they were read are not overwritten.
  - With O(rollback_record), the same UPDATE also writes (or removes) the TXT record that holds what a
    rollback needs, so the zone never holds a cutover without its way back.
  - Written because M(community.general.nsupdate) sends one RRset per message; a cutover that deletes an A
    record and adds a CNAME with it is two messages, and a failure between them leaves the name without an
    answer.
author:
  - Replatform Team (@replatform)
extends_documentation_fragment:
  - replatform.kubernetes.attributes.CHANGES
options:
  server:
    description: The zone's primary (an IP address), where updates go.
    type: str
    required: true
  port:
    description: Its DNS port.
    type: int
    default: 53
  zone:
    description: The zone (C(esp.test)).
    type: str
    required: true
  tsig:
    description: The TSIG key the update is signed with.
    type: dict
    required: true
    suboptions:
      name:
        description: The key's name.
        type: str
        required: true
      algorithm:
        description: The key's algorithm, one of V(hmac-md5), V(hmac-sha1), V(hmac-sha224), V(hmac-sha256), V(hmac-sha384), V(hmac-sha512).
        type: str
        required: true
      secret:
        description: The base64 secret.
        type: str
        required: true
  changes:
    description:
      - The changes, in order. Each is a dict with C(record) (or C(name)), C(type), C(state) (V(present) replaces
        the RRset with C(values) and C(ttl), V(absent) removes the RRset), C(values) and C(ttl).
      - The C(plan.switch) list M(replatform.kubernetes.dns_records_info) returns has this shape; so do its record
        lists (C(name), C(type), C(values), C(ttl)), which are set.
    type: list
    elements: dict
    default: []
  require:
    description:
      - RRsets as they were read (C(name), C(type), C(values)); each must still hold exactly these values, or the
        server refuses the whole UPDATE and the module fails saying so, nothing changed.
    type: list
    elements: dict
    default: []
  rollback_record:
    description:
      - The TXT record that holds what a rollback needs, written or removed in the same UPDATE.
    type: dict
    suboptions:
      name:
        description: Its name (C(web._replatform.esp.test)).
        type: str
        required: true
      data:
        description: What it holds (JSON); omitted, the record is removed.
        type: dict
  timeout:
    description: Seconds to wait for the answer.
    type: float
    default: 10
notes:
  - Sends nothing when there is nothing to change (the task reports no change), and nothing in check mode.
  - The caller plans the changes from what the servers answer (M(replatform.kubernetes.dns_records_info)), so
    a second run plans none and changes nothing.
requirements:
  - dnspython >= 2.0
seealso:
  - module: replatform.kubernetes.dns_records_info
  - module: community.general.nsupdate
"""

EXAMPLES = r"""
- name: Switch www.esp.test from its A record to a CNAME, in one UPDATE
  replatform.kubernetes.dns_update:
    server: 192.0.2.53
    zone: esp.test
    tsig: "{{ replatform_dns_tsig }}"
    require:
      - {name: www.esp.test., type: A, values: [192.0.2.10]}
    changes:
      - {record: www.esp.test., type: A, state: absent}
      - {record: www.esp.test., type: CNAME, state: present, values: [web.ingress.esp.test.], ttl: 60}
"""

RETURN = r"""
changes:
  description: The changes sent (or, in check mode, that would be), the rollback record's included.
  returned: always
  type: list
  elements: dict
status:
  description: C(ok), the server's rcode, or why there was none (C(unreachable), C(BADSIG), ...); C(not sent) when nothing was sent.
  returned: always
  type: str
diff:
  description: The changes as zone lines (after) and the RRsets they replace (before).
  returned: when diff mode is on
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.replatform.kubernetes.plugins.module_utils._common import run
from ansible_collections.replatform.kubernetes.plugins.module_utils._dns import (
    HAS_DNSPYTHON, Authority, DNSClientError, check_servers, check_tsig, check_zone, encode_state, record, zone_lines, describe,
)


def _changes(items: list[dict]) -> list[dict]:
    """The changes normalised: record lists and plan operations alike, values in server form."""
    out = []
    for item in items:
        name = item.get("record") or item.get("name")
        state = item.get("state", "present")
        if state == "absent":
            out.append({"record": record(name, item["type"], [], 0)["name"], "type": str(item["type"]).upper(),
                        "state": "absent", "values": [], "ttl": 0})
        else:
            rec = record(name, item["type"], item["values"], item["ttl"])
            out.append({"record": rec["name"], "type": rec["type"], "state": "present", "values": rec["values"], "ttl": rec["ttl"]})
    return out


def _rollback_change(rollback: dict | None) -> list[dict]:
    if not rollback:
        return []
    if rollback.get("data") is None:
        return [{"record": record(rollback["name"], "TXT", [], 0)["name"], "type": "TXT", "state": "absent", "values": [], "ttl": 0}]
    rec = encode_state(rollback["name"], rollback["data"])
    return [{"record": rec["name"], "type": "TXT", "state": "present", "values": rec["values"], "ttl": rec["ttl"]}]


def apply(m: AnsibleModule) -> dict:
    p = m.params
    problems = check_servers([p["server"]], p["port"]) + check_zone(p["zone"]) + check_tsig(p["tsig"])
    if problems:
        m.fail_json(msg="; ".join("%s: %s" % (x["option"], x["msg"]) for x in problems) + ". Nothing was changed.")
    try:
        changes = _changes(p["changes"]) + _rollback_change(p["rollback_record"])
        require = [record(r["name"], r["type"], r["values"], r.get("ttl", 0)) for r in p["require"]]
    except (KeyError, ValueError) as exc:
        m.fail_json(msg="changes: %s. Nothing was changed." % exc)
    result: dict = {"changed": bool(changes), "changes": changes, "status": "not sent"}
    if m._diff:
        result["diff"] = {"before": "\n".join(describe(r) for r in require) + "\n",
                          "after": "\n".join(zone_lines([{"name": c["record"], "type": c["type"], "values": c["values"],
                                                          "ttl": c["ttl"]} for c in changes if c["state"] == "present"])) + "\n"}
    if not changes or m.check_mode:
        return result
    sent = Authority(p["server"], p["port"], p["timeout"]).update(p["zone"], p["tsig"], changes, require)
    result["status"] = sent["status"]
    if sent["status"] != "ok":
        m.fail_json(msg="%s. Nothing was changed: an UPDATE applies all its changes or none." % sent["msg"], **result)
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "server": {"type": "str", "required": True},
            "port": {"type": "int", "default": 53},
            "zone": {"type": "str", "required": True},
            "tsig": {"type": "dict", "required": True, "options": {
                "name": {"type": "str", "required": True},
                "algorithm": {"type": "str", "required": True},
                "secret": {"type": "str", "required": True, "no_log": True},
            }},
            "changes": {"type": "list", "elements": "dict", "default": []},
            "require": {"type": "list", "elements": "dict", "default": []},
            "rollback_record": {"type": "dict", "options": {
                "name": {"type": "str", "required": True},
                "data": {"type": "dict"},
            }},
            "timeout": {"type": "float", "default": 10.0},
        },
        supports_check_mode=True,
    )
    if not HAS_DNSPYTHON:
        module.fail_json(msg=missing_required_lib("dnspython"))
    run(module, apply, (DNSClientError,))


if __name__ == "__main__":
    main()
