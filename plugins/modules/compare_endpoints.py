#!/usr/bin/python
# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: compare_endpoints
short_description: Send the same read-only requests to legacy hosts and a new endpoint and compare the answers
version_added: 0.1.0
description:
  - Sends the same HTTP requests (or SMTP banner and C(EHLO)) to every legacy endpoint and to the new
    endpoint, round-robin, and compares status codes, bodies, headers and latency.
  - For HTTP, a status or body the new endpoint gives and no legacy endpoint gave is a failure; every
    header that differs (C(Server), version headers, C(Via), C(ETag), ...) is a warning, for the
    customer notice. C(Date) and the hop-by-hop headers (C(Connection), C(Keep-Alive), C(Transfer-Encoding),
    C(TE), C(Trailer), C(Upgrade), C(Proxy-Connection)) are never compared, because they belong to one connection.
  - For SMTP, reads the banner and the C(EHLO) answer, then sends C(QUIT); it never sends C(MAIL FROM),
    C(RCPT TO) or C(DATA), so nothing is queued. A reply code that differs, or a capability the legacy
    hosts announce and the new endpoint does not (for example C(STARTTLS)), is a failure; a banner or
    greeting text that differs (often the host name), a new capability or different parameters (C(SIZE))
    are warnings.
  - Latency is p50 and p99 (nearest rank) of each side over the same requests, each request on a new
    connection and timed from connect to the last byte of the answer. The new endpoint being slower by
    more than O(latency_warn_factor) is a warning, by more than O(latency_fail_factor) a failure, in
    both cases only when it is also more than O(latency_floor_ms) slower.
  - Runs where it is called (the controller); it only reads, so check mode runs it in full.
  - Written because M(ansible.builtin.uri) runs as one task, one module process, per request, which is
    far too slow for the hundreds of requests a latency comparison needs and adds the module's start-up
    to every time measured, and its C(elapsed) is whole seconds. This module times each request with a
    monotonic clock around the request alone, and needs only the Python standard library
    (C(http.client), C(smtplib)).
author:
  - Replatform Team (@replatform)
extends_documentation_fragment:
  - replatform.kubernetes.attributes
options:
  protocol:
    description:
      - C(http) requests, an C(smtp) banner and C(EHLO), or a C(tcp) probe of any other protocol (O(tcp_send),
        O(tcp_expect)).
    type: str
    choices: [http, smtp, tcp]
    default: http
  legacy_endpoints:
    description:
      - The legacy hosts, each C(host:port) (C([v6 address]:port) for IPv6).
      - An answer of the new endpoint matches when it equals the answer of any of them, so legacy hosts
        that differ among themselves (an C(ETag) per host) do not fail the comparison; such a difference
        is reported as a warning.
    type: list
    elements: str
    required: true
  new_endpoint:
    description: The new platform's entry point for the service, C(host:port).
    type: str
    required: true
  host_header:
    description:
      - The C(Host) header sent to every endpoint (the service's public name), so name-based virtual hosts
        answer as they do for customers. By default each endpoint's own address.
    type: str
  requests:
    description:
      - The HTTP requests to send, each to every endpoint, O(repeat) times.
      - Ignored when O(protocol=smtp).
    type: list
    elements: dict
    default: [{path: /}]
    suboptions:
      path:
        description: Path and query, starting with C(/).
        type: str
        required: true
      method:
        description:
          - C(GET) or C(HEAD); other methods only when listed in O(allowed_methods), since verification
            must not change data.
        type: str
        default: GET
      compare:
        description:
          - How bodies are compared.
          - V(exact) compares the bytes and shows a preview of each body in the result.
          - V(hash) compares the bytes too but shows only the SHA-256 and the length (large bodies, or bodies
            that must not be written to the migration ledger).
          - V(json) compares the parsed documents (key order and white space do not matter).
          - V(json:<dotted path>) compares one value of the parsed documents, for example V(json:status) or
            V(json:data.items.0.id) (numbers index lists); a body that is not JSON or lacks the path fails.
        type: str
        default: exact
      headers:
        description: Extra request headers (for example C(Accept)).
        type: dict
        default: {}
  allowed_methods:
    description: The HTTP methods O(requests) may use.
    type: list
    elements: str
    default: [GET, HEAD]
  repeat:
    description:
      - How many times each request (or SMTP session) is sent to each endpoint; all of them are compared
        and timed.
      - With fewer than 100 samples per side, p99 is the slowest sample.
    type: int
    default: 20
  warmup:
    description: Rounds sent before the measured ones and not kept (caches, lazily started workers).
    type: int
    default: 1
  ignore_headers:
    description: Response headers not compared (case does not matter), in addition to C(Date) and the hop-by-hop headers.
    type: list
    elements: str
    default: []
  latency_warn_factor:
    description: The new endpoint's p50 or p99 above this many times the legacy one is a warning.
    type: float
    default: 1.5
  latency_fail_factor:
    description: The new endpoint's p50 or p99 above this many times the legacy one is a failure.
    type: float
    default: 3.0
  latency_floor_ms:
    description:
      - A percentile counts as slower only when it is also more than this many milliseconds slower, so
        that noise on fast answers (scheduling, a worker process starting) never warns or fails.
    type: float
    default: 10.0
  latency_confirm:
    description:
      - When latency warns or fails, measure again (the same rounds) and keep the lower of the two
        levels; both measurements are returned.
      - A single scheduling hiccup of 10 to 20 ms, which a busy machine produces now and then, otherwise
        decides p99 whenever it falls on the new side.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for a connection or an answer; a request that times out is a failure.
    type: float
    default: 5.0
  ehlo_name:
    description: The name sent with C(EHLO) when O(protocol=smtp).
    type: str
    default: localhost
  tcp_send:
    description:
      - When O(protocol=tcp), what is sent after connecting (C(PING\r\n) for Redis, C(version\r\n) for memcached);
        empty for a protocol whose server speaks first (FTP, rsync, IMAP, POP3). Send only what reads.
    type: str
    default: ""
  tcp_expect:
    description:
      - When O(protocol=tcp), a regular expression the first line of every answer must match (C(^220 ) for FTP,
        C(^@RSYNCD:) for rsync, C(^(\+PONG|-NOAUTH)) for Redis). A new endpoint whose answer does not match fails;
        a matching answer with other text (a version, a host name) is a warning. Required for O(protocol=tcp).
    type: str
notes:
  - Reads only. C(GET) and C(HEAD) are the only methods by default; SMTP stops after C(EHLO).
  - Redirects are not followed, so a C(Location) that differs is reported as a header difference.
  - Plain HTTP only; TLS endpoints are not supported yet.
  - Bad input (an endpoint that is not C(host:port), an unknown compare mode, a method not allowed)
    fails before any request is sent, with a message naming the field.
seealso:
  - module: ansible.builtin.uri
"""

EXAMPLES = r"""
- name: Compare esp-api on the legacy hosts with the new endpoint
  replatform.kubernetes.compare_endpoints:
    legacy_endpoints: [10.0.0.11:8081, 10.0.0.12:8081]
    new_endpoint: 10.0.1.32:8081
    host_header: api.example.com
    requests:
      - path: /healthz
      - path: /v1/version
        compare: json:version
      - path: /static/big.bin
        method: HEAD
  register: comparison

- name: Stop on a failure
  ansible.builtin.fail:
    msg: "{{ comparison.fail_reasons }}"
  when: comparison.verdict == 'fail'

- name: Compare Redis on the legacy host and the new endpoint (a PING, no data read or written)
  replatform.kubernetes.compare_endpoints:
    protocol: tcp
    legacy_endpoints: [10.0.0.41:6379]
    new_endpoint: 10.0.1.52:6379
    tcp_send: "PING\r\n"
    tcp_expect: "^(\\+PONG|-NOAUTH)"

- name: Compare the SMTP banner and EHLO capabilities
  replatform.kubernetes.compare_endpoints:
    protocol: smtp
    legacy_endpoints: [10.0.0.21:25]
    new_endpoint: 10.0.1.34:25
    ehlo_name: verify.example.com
"""

RETURN = r"""
verdict:
  description: C(ok), C(warn) (headers, banner text or latency above the warning factor) or C(fail).
  returned: success
  type: str
  sample: warn
fail_reasons:
  description: Why the verdict is C(fail), one sentence each.
  returned: success
  type: list
  elements: str
  sample: ["GET /: status 500 on the new endpoint, 200 on legacy"]
warn_reasons:
  description:
    - What differs without failing, one sentence each (headers for the customer notice, latency above
      the warning factor, legacy hosts that disagree among themselves).
  returned: success
  type: list
  elements: str
  sample: ['GET /: header ETag value differs (legacy: "6b080781-1c2"; new: "6b08144c-1c2")']
headers_differing:
  description: Names of the HTTP headers that differ in any request, for the customer notice.
  returned: success
  type: list
  elements: str
  sample: [ETag, Last-Modified]
protocol:
  description: C(http) or C(smtp).
  returned: success
  type: str
legacy_endpoints:
  description: The legacy endpoints compared.
  returned: success
  type: list
  elements: str
new_endpoint:
  description: The new endpoint compared.
  returned: success
  type: str
repeat:
  description: Samples per request and endpoint.
  returned: success
  type: int
latency:
  description: The latency comparison over all requests.
  returned: success
  type: dict
  contains:
    legacy:
      description: C(samples), C(p50_ms) and C(p99_ms) of the legacy endpoints together.
      type: dict
    new:
      description: C(samples), C(p50_ms) and C(p99_ms) of the new endpoint.
      type: dict
    factor:
      description: C(p50) and C(p99) of the new endpoint divided by those of the legacy endpoints.
      type: dict
    level:
      description: C(ok), C(warn), C(fail), or C(unknown) when a side has no answers.
      type: str
    reasons:
      description: Why the level is C(warn) or C(fail).
      type: list
      elements: str
    confirmation:
      description: The second measurement (C(legacy), C(new), C(factor), C(level), C(reasons)) when the first warned or failed; else null.
      type: dict
    note:
      description: Present when the second measurement did not confirm the first.
      type: str
    warn_factor:
      description: O(latency_warn_factor).
      type: float
    fail_factor:
      description: O(latency_fail_factor).
      type: float
    floor_ms:
      description: O(latency_floor_ms).
      type: float
  sample:
    legacy: {samples: 80, p50_ms: 1.126, p99_ms: 8.672}
    new: {samples: 40, p50_ms: 1.012, p99_ms: 9.111}
    factor: {p50: 0.9, p99: 1.05}
    level: ok
    reasons: []
    confirmation: null
requests:
  description: Per HTTP request, in the order given.
  returned: when O(protocol=http)
  type: list
  elements: dict
  contains:
    method:
      description: The method sent.
      type: str
    path:
      description: The path sent.
      type: str
    compare:
      description: The compare mode.
      type: str
    status:
      description: Distinct status codes, C(legacy) and C(new).
      type: dict
    status_match:
      description: Whether every status of the new endpoint is one a legacy endpoint gave (null if a side did not answer).
      type: bool
    body_match:
      description: Whether every body of the new endpoint matches one of a legacy endpoint (null if a side did not answer).
      type: bool
    body:
      description:
        - Distinct bodies, C(legacy) and C(new), each with C(sha256) and C(length), plus C(preview) (exact),
          C(value) (json) or C(error) (not JSON, path missing).
      type: dict
    header_diffs:
      description: Headers that differ, each with C(header), C(legacy) and C(new) values and C(change).
      type: list
      elements: dict
    errors:
      description: Connection errors and timeouts, C(legacy) and C(new).
      type: dict
    latency_ms:
      description: C(legacy_p50) and C(new_p50) of this request.
      type: dict
    fail_reasons:
      description: The failures of this request.
      type: list
      elements: str
    warn_reasons:
      description: The warnings of this request.
      type: list
      elements: str
smtp:
  description: The SMTP comparison.
  returned: when O(protocol=smtp)
  type: dict
  contains:
    legacy:
      description: C(banner_code), C(banner), C(ehlo_code), C(ehlo_greeting) and C(capabilities) (keyword to parameters) of the legacy endpoints.
      type: dict
    new:
      description: The same for the new endpoint.
      type: dict
    differences:
      description: Each with C(item) (C(banner), C(ehlo_greeting) or a capability), C(legacy), C(new) and C(change).
      type: list
      elements: dict
    errors:
      description: Connection errors and timeouts, C(legacy) and C(new).
      type: dict
    fail_reasons:
      description: The SMTP failures.
      type: list
      elements: str
    warn_reasons:
      description: The SMTP warnings.
      type: list
      elements: str
  sample:
    legacy: {banner_code: [220], banner: ["mail.example.com ESMTP Postfix (Debian/GNU)"], capabilities: {STARTTLS: [""], SIZE: ["20480000"]}}
    differences: [{item: SIZE, legacy: ["20480000"], new: ["10240000"], change: parameters differ}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.replatform.kubernetes.plugins.module_utils._common import run
from ansible_collections.replatform.kubernetes.plugins.module_utils._verify import VerifyInputError, verify

ARGSPEC = {
    "protocol": {"type": "str", "choices": ["http", "smtp", "tcp"], "default": "http"},
    "legacy_endpoints": {"type": "list", "elements": "str", "required": True},
    "new_endpoint": {"type": "str", "required": True},
    "host_header": {"type": "str"},
    "requests": {
        "type": "list", "elements": "dict", "default": [{"path": "/"}],
        "options": {
            "path": {"type": "str", "required": True},
            "method": {"type": "str", "default": "GET"},
            "compare": {"type": "str", "default": "exact"},
            "headers": {"type": "dict", "default": {}},
        },
    },
    "allowed_methods": {"type": "list", "elements": "str", "default": ["GET", "HEAD"]},
    "repeat": {"type": "int", "default": 20},
    "warmup": {"type": "int", "default": 1},
    "ignore_headers": {"type": "list", "elements": "str", "default": []},
    "latency_warn_factor": {"type": "float", "default": 1.5},
    "latency_fail_factor": {"type": "float", "default": 3.0},
    "latency_floor_ms": {"type": "float", "default": 10.0},
    "latency_confirm": {"type": "bool", "default": True},
    "timeout": {"type": "float", "default": 5.0},
    "ehlo_name": {"type": "str", "default": "localhost"},
    "tcp_send": {"type": "str", "default": ""},
    "tcp_expect": {"type": "str"},
}


def main() -> None:
    module = AnsibleModule(argument_spec=ARGSPEC, supports_check_mode=True)
    run(module, lambda m: dict(verify(m.params), changed=False), (VerifyInputError,))


if __name__ == "__main__":
    main()
