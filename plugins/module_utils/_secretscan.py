# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The secret scan of an image build context: a finding stops the build before anything is pushed.

Private to this collection (the leading underscore): importable and unit-testable without Ansible,
stdlib only. ``scan_context(files, allow)`` scans every file of the context (path -> bytes) and
returns the findings and the findings an operator allowed (``containerize_secret_allow``, each entry
with a reason). ``format_findings`` renders them for a failure message.

Rules (documented in ``RULES``, tested):

* A finding names the file, the line, the rule and, where there is one, the key the value is assigned
  to. It never holds the value, nor any part of it: a key that shares four characters with the value
  is reported as ``None``.
* ``private_key`` and the known token formats (``aws_access_key`` ... ``authorization_header``) are
  looked for everywhere, comments and binary files included (a file with a NUL byte in its first
  8 KiB is binary, decoded as latin-1, and only these rules apply). A private key is reported once, on
  its BEGIN line, and the lines of its block are not scanned further; a BEGIN marker without a key
  body (code that looks for the marker) is not a finding.
* ``url_credentials``, ``entropy_assignment`` and ``secret_assignment`` apply to text files outside
  comments (lines starting with ``#``, ``;``, ``//``, ``<!--``, ``/*``), at most one finding per rule
  and line, and not on a line that already has a token or private key finding.
* Values in assignment position: ``key = value``, ``key: value``, ``KEY=value``, ``export KEY=value``,
  ``ENV KEY value``, ``"key": "value"``, ``'key' => 'value'``, ``$key = 'value'``,
  ``define('KEY', 'value')``, ``<key>value</key>``, ``key="value"`` attributes,
  ``<add key="K" value="V"/>``, ``--key=value`` flags, ``key value`` (this form and flags only for a
  secret-looking key) and ``host user:password`` lines of a file whose name looks secret
  (``sasl_passwd``). In code files (.py .pl .pm .php .rb .js .ts, or a script whose shebang names
  one of these languages) only quoted literals count: ``password = os.environ.get("X")`` or
  ``password = None`` are expressions, not values. Shell scripts and config files take unquoted values.
* A value that names or stands for a secret is never a finding: paths, ``$VAR``, ``${VAR}``,
  ``$(cmd)``, ``%(x)s``, ``{{ x }}``, ``<password>``, ``***``, ``xxx``, ``file:``/``env:``/``vault:``
  references, URLs without credentials (``NOT_LITERAL``).
* ``entropy_assignment``: a single-token value of at least 16 characters with a Shannon entropy of at
  least 3.5 bits per character (hex-only: 32 characters and 3.0 bits), not a number, version, dotted
  name or digest (``NOT_SECRET_VALUES``), a UUID only under a secret-looking key. Under any other key
  the value must also look like a token (letters, digits, ``+/=_-.~``, upper and lower case and
  digits), and keys that hold public hashes (``NO_ENTROPY_KEYS``: checksum, commit, ...) are skipped.
* ``secret_assignment``: a secret-looking key (it contains one of ``SECRET_WORDS`` and matches none of
  ``NOT_SECRET_KEYS``: ``password_file``, ``keys_zone``, ``proxy_pass`` ...) with a literal of at least
  6 characters that is not a plain word (``PLAIN_WORDS``: true, none, required ...), a number or an
  environment variable name.
"""

from __future__ import annotations

import collections
import math
import os
import re
import typing as t

from ansible_collections.replatform.kubernetes.plugins.module_utils._secrets import compile_patterns

ALLOW_OPTION = "containerize_secret_allow"
BINARY_SNIFF = 8192

RULES: tuple[tuple[str, str], ...] = (
    ("private_key", "PEM (RSA, EC, DSA, OPENSSH, ENCRYPTED, PKCS#8) or PGP private key block with a key body"),
    ("aws_access_key", "AWS access key ID: AKIA or ASIA and 16 upper-case letters or digits"),
    ("github_token", "GitHub token: ghp_, gho_, ghu_, ghs_ or ghr_ and 36 letters or digits, or github_pat_..."),
    ("slack_token", "Slack token: xoxa-, xoxb-, xoxp-, xoxr- or xoxs-..."),
    ("stripe_key", "Stripe live secret or restricted key: sk_live_ or rk_live_ and 24 or more letters or digits"),
    ("google_api_key", "Google API key: AIza and 35 letters, digits, _ or -"),
    ("jwt", "JSON Web Token: three base64url segments, the first starting eyJ"),
    ("sendgrid_key", "SendGrid API key: SG.<id>.<secret>"),
    ("authorization_header", "credential in an Authorization header: Bearer, Basic or Token and a literal"),
    ("url_credentials", "password in a URL (scheme://user:password@host) or a secret query parameter (?password=...)"),
    ("entropy_assignment", "high-entropy value in assignment position (>= 16 chars and >= 3.5 bits/char; hex >= 32 and >= 3.0)"),
    ("secret_assignment", "literal value of >= 6 characters assigned to a secret-looking key"),
)
RULE_IDS = tuple(rule for rule, _description in RULES)
# How format_findings names each rule ("<label> of '<key>'").
LABELS = {
    "private_key": "private key block", "aws_access_key": "AWS access key ID", "github_token": "GitHub token",
    "slack_token": "Slack token", "stripe_key": "Stripe secret key", "google_api_key": "Google API key",
    "jwt": "JSON Web Token", "sendgrid_key": "SendGrid API key", "authorization_header": "credential in an Authorization header",
    "url_credentials": "credentials in a URL", "entropy_assignment": "high-entropy value", "secret_assignment": "literal secret value",
}

PEM_BEGIN_RE = re.compile(r"-{4,5} ?BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)? ?-{4,5}")
PEM_END_RE = re.compile(r"-{4,5} ?END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)? ?-{4,5}")
PEM_BODY_RE = re.compile(r"[A-Za-z0-9+/]{32,}")
PEM_BODY_WINDOW = 400

# Known token formats, (rule, regex); a group "v" is the secret, else the whole match.
TOKENS: tuple[tuple[str, re.Pattern[str]], ...] = tuple((rule, re.compile(pattern)) for rule, pattern in (
    ("aws_access_key", r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])"),
    ("github_token", r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})"),
    ("slack_token", r"(?<![A-Za-z0-9])xox[abprs]-[A-Za-z0-9-]{10,}"),
    ("stripe_key", r"(?<![A-Za-z0-9_])[sr]k_live_[A-Za-z0-9]{24,}"),
    ("google_api_key", r"(?<![A-Za-z0-9_-])AIza[A-Za-z0-9_-]{35}(?![A-Za-z0-9_-])"),
    ("jwt", r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*"),
    ("sendgrid_key", r"(?<![A-Za-z0-9_-])SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}"),
    ("authorization_header", r"(?i)authorization[\"']?(?:\s*[:=]\s*[\"']?|\s+[\"'])(?:bearer|basic|token)\s+(?P<v>[A-Za-z0-9._~+/=-]{8,})"),
))

URL_CREDENTIALS_RE = re.compile(r"(?<![\w+.-])[A-Za-z][A-Za-z0-9+.-]*://[^\s:/?#@'\"<>]*:(?P<v>[^\s/@'\"<>]+)@[\w.\[\]%${}-]+")
URL_RE = re.compile(r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
URL_QUERY_RE = re.compile(r"[?&;](?P<k>[\w.-]+)=(?P<v>[^&#\s'\"<>;]+)")

COMMENT_PREFIXES = ("#", ";", "//", "<!--", "/*")
CODE_EXTENSIONS = (".py", ".pl", ".pm", ".php", ".rb", ".js", ".mjs", ".cjs", ".ts")
CODE_SHEBANG_RE = re.compile(r"#!.*\b(?:python[0-9.]*|perl|php|ruby|node)\b")

_QUOTED_VALUE = r"(?P<q>[\"'])(?P<v>(?:\\.|(?!(?P=q)).)*)(?P=q)"
# Quoted literals in assignment position, every language: each regex has the groups "k" and "v".
QUOTED_FORMS: tuple[re.Pattern[str], ...] = tuple(re.compile(pattern) for pattern in (
    # <add key="DbPassword" value="..."/>, <property name="password" value="..."/>
    r"\b(?:key|name)\s*=\s*(?P<q1>[\"'])(?P<k>[^\"'<>\s]{1,80})(?P=q1)\s+value\s*=\s*" + _QUOTED_VALUE,
    # define('DB_PASSWORD', '...') (PHP)
    r"\bdefine\s*\(\s*(?P<q1>[\"'])(?P<k>\w{1,80})(?P=q1)\s*,\s*" + _QUOTED_VALUE,
    # "key": "value" (JSON, Python), 'key' => 'value' (PHP, Perl, Ruby)
    r"(?P<q1>[\"'])(?P<k>[A-Za-z_][\w.\-]{0,79})(?P=q1)\s*(?::|=>)\s*" + _QUOTED_VALUE,
    # key = "value", key: 'value', $key = '...', my $key = "...", key="value" (XML attributes), :key => '...'
    r"(?<![\w.$@\-\"'])[$@:]?(?P<k>[A-Za-z_][\w.\-]{0,79})\s*(?::=|=>|=|:)\s*" + _QUOTED_VALUE,
    # <key>value</key>
    r"<(?P<k>[A-Za-z_][\w.\-]{0,79})(?:\s[^<>]*)?>(?P<v>[^<>]+)</(?P=k)\s*>",
))
_PREFIX = r"(?:(?:export|set|setenv|ENV|my|our|local|var|let|const|readonly|declare)\s+)?"
# Unquoted values (config files and shell only): key = value, key: value, KEY=value.
LINE_RE = re.compile(r"\s*(?:-\s+)?" + _PREFIX + r"[$@%]?(?P<k>[A-Za-z_][\w.\-]{0,79})\s*(?::=|=>|=|:)\s*(?P<v>.*)")
# key value (config files and shell only, secret-looking key only): requirepass x, ENV DB_PASSWORD x.
SPACE_RE = re.compile(r"\s*" + _PREFIX + r"(?P<k>[A-Za-z_][\w.\-]{0,79})\s+(?P<v>\"[^\"]*\"|'[^']*'|[^\s\"';]+)\s*;?\s*")
# --key=value, --key value (secret-looking key only).
FLAG_RE = re.compile(r"(?:^|\s)--(?P<k>[A-Za-z][\w-]{0,79})(?:=|\s+)(?P<v>\"[^\"]*\"|'[^']*'|[^\s\"']+)")
# host user:password, in a file whose name looks secret (postfix sasl_passwd).
CREDENTIAL_MAP_RE = re.compile(r"\s*\S+\s+[^\s:]+:(?P<v>\S+)\s*")
INLINE_COMMENT_RE = re.compile(r"\s+(?:#|;|//).*$")

# A key looks secret when it contains one of these words ...
SECRET_WORDS = ("pass", "pwd", "secret", "token", "key", "auth", "cred", "salt", "signature", "private")
# ... and matches none of these (searched in the key lower-cased, camelCase, - and . turned into _):
# keys that name where a secret is, or a property of it, or are not about secrets at all.
NOT_SECRET_KEYS: tuple[re.Pattern[str], ...] = tuple(re.compile(pattern) for pattern in (
    r"(?:file|files|path|paths|dir|directory|folder|command|cmd)$",
    r"(?:^|_)(?:url|urls|uri|endpoint|location|program|script|socket|server|servers|address|addr|domain|service|class)$",
    r"(?:^|_)(?:type|types|method|methods|mode|algorithm|algorithms|alg|cipher|ciphers|digest|format|encoding|encryption)$",
    r"(?:^|_)(?:provider|providers|backend|backends|policy|level|dialog|scheme|store|engine|plugin|module)$",
    r"(?:^|_)(?:length|len|size|bits|count|min|max|timeout|ttl|interval|lifetime|age|expiry|expires|expiration)$",
    r"(?:^|_)(?:retries|attempts|period|delay|rounds|iterations|cost|limit|threshold)$",
    r"(?:^|_)(?:name|names|field|fields|header|headers|param|parameter|prefix|suffix|label|id|ids|user|username)$",
    r"(?:^|_)(?:login|host|hosts|port|realm|env|var|variable|description|comment|help|doc|title|message|text)$",
    r"(?:^|_)(?:prompt|hint|pattern|regex|column|table|enabled|enable|disabled|disable|required|require|allowed)$",
    r"(?:^|_)(?:allow|only|authentication|authorization|auth_basic|check|verify|validation|map|maps)$",
    r"(?:^|_)(?:proxy|fastcgi|uwsgi|scgi|grpc|memcached)_pass(?:_|$)",
    r"passwordless|pass_?through|bypass|passive|passenger|compass|keepalive|keys_zone|keyspace|keyboard|keyword|authenticat",
    r"hotkey|monkey|tokeni[sz]|(?:^|_)authors?$",
    r"(?:^|_)(?:primary|sort|foreign|partition|cache|index|unique|shard|routing|composite|row|lookup|group|order)_?keys?$",
    r"^keys?$|(?:^|_)(?:public|pub)_?keys?$|(?:^|_)(?:ssl|tls)_(?:certificate_)?keys?$|certificate_keys?$",
))
# Keys whose values are public hashes or identifiers: no entropy finding unless the key looks secret.
NO_ENTROPY_KEYS: tuple[re.Pattern[str], ...] = tuple(re.compile(pattern) for pattern in (
    r"(?:^|_)(?:integrity|checksum|checksums|sha\d*|md5|hash|digest|etag|commit|revision|rev|fingerprint)$",
    r"(?:^|_)(?:version|uuid|guid|id|nonce|build|serial|public_?key|pubkey)$",
))
# Values that name or stand for a secret rather than hold it (full match): never a finding.
NOT_LITERAL: tuple[re.Pattern[str], ...] = tuple(re.compile(pattern) for pattern in (
    r"[/~].*|\.\.?/.*|[A-Za-z]:\\.*",
    r"\$\{[^}]*\}(?:/.*)?|\$[A-Za-z_]\w*(?:/.*)?|\$\(.*\)|`.*`|\$\w+(?:\{.*\}|\[.*\]);?",
    r"%\(\w+\)[sdr]|%s|%\w+%|\{\w*\}|#\{[^}]*\}|@\w+@",
    r"\{\{.*\}\}|\{%.*%\}|<[^<>]*>",
    r"(?:file|env|vault):.*|[a-z][a-z0-9]*:/(?!/).*",
    r"[A-Za-z][A-Za-z0-9+.-]*://\S*",
    r"[xX*]{3,}(?:-[xX*]{3,})*|\.{3}|REDACTED|redacted|\*[A-Za-z_]\w*",
))
# Values that are not secrets even when random-looking (full match): no entropy finding.
NOT_SECRET_VALUES: tuple[re.Pattern[str], ...] = tuple(re.compile(pattern) for pattern in (
    r"[-+]?\d+(?:[.,_]\d+)*[A-Za-z%]{0,3}",
    r"v?\d+(?:\.\d+)+(?:[-+~][\w.]+)?",
    r"[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)+",
    r"(?:sha(?:1|224|256|384|512)|md5)[:-][A-Za-z0-9+/=]+",
))
PLAIN_WORDS = ("true", "false", "yes", "no", "on", "off", "none", "null", "nil", "required", "optional")
NUMBER_RE = re.compile(r"[-+]?\d+(?:[.,_]\d+)*")
ENV_NAME_RE = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")
UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
HEX_RE = re.compile(r"[0-9a-fA-F]+")
TOKEN_CHARS_RE = re.compile(r"[A-Za-z0-9+/=_\-.~]+")
SAFE_KEY_RE = re.compile(r"[\w.\-]{1,80}")
# The operator's own secret-name patterns: (compiled regex, kind), as _secrets.compile_patterns returns them.
Extra = t.Sequence[t.Tuple[t.Pattern[str], str]]


class SecretScanError(ValueError):
    """An invalid containerize_secret_allow entry; the message names the field."""


def _norm_key(key: str) -> str:
    """The key lower-cased, camelCase split and - and . turned into _ (SSLPassPhraseDialog: ssl_pass_phrase_dialog)."""
    key = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key.lstrip("$@%:"))
    return key.lower().replace("-", "_").replace(".", "_")


def operator_patterns(secret_keys: t.Iterable[str]) -> list[tuple[t.Pattern[str], str]]:
    """The operator's own patterns only (``_secrets.compile_patterns`` validates them, naming the entry).

    The built-in vocabulary of ``_secrets`` is left out on purpose: the scan has its own words and
    exceptions, and a built-in name pattern such as ``auth`` would bypass them (WWW-Authenticate).
    """
    return [(rx, kind) for rx, kind in compile_patterns(secret_keys) if kind == "configured"]


def is_secret_key(key: str, extra: Extra = ()) -> bool:
    """True for a key that looks like it holds a secret (password, api_key, requirepass; not password_file).

    ``extra`` are the operator's own patterns (``replatform_secret_keys``, compiled by
    ``_secrets.compile_patterns``): a key one of them matches is secret whatever the built-in words say.
    """
    norm = _norm_key(key)
    if any(rx.search(key.lower()) or rx.search(norm) for rx, _kind in extra):
        return True
    return any(word in norm for word in SECRET_WORDS) and not any(rx.search(norm) for rx in NOT_SECRET_KEYS)


def _entropy(value: str) -> float:
    """Shannon entropy of value, in bits per character."""
    counts = collections.Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def _not_literal(value: str) -> bool:
    """True for a value that names or stands for a secret (path, variable, placeholder, plain URL)."""
    return any(rx.fullmatch(value) for rx in NOT_LITERAL)


def _high_entropy(value: str, secretish: bool) -> bool:
    """True for a single-token random-looking value (see the module docstring)."""
    if re.search(r"\s", value) or any(rx.fullmatch(value) for rx in NOT_SECRET_VALUES):
        return False
    if UUID_RE.fullmatch(value):
        return secretish
    if HEX_RE.fullmatch(value):
        return len(value) >= 32 and _entropy(value) >= 3.0
    if len(value) < 16 or _entropy(value) < 3.5:
        return False
    if secretish:
        return True
    classes = sum(1 for rx in (r"[a-z]", r"[A-Z]", r"[0-9]") if re.search(rx, value))
    return bool(TOKEN_CHARS_RE.fullmatch(value)) and classes == 3


def _literal_secret(value: str) -> bool:
    """True for a literal that can be a password: >= 6 characters, not a plain word, number or variable name."""
    return (len(value) >= 6 and value.lower() not in PLAIN_WORDS and not NUMBER_RE.fullmatch(value)
            and not ENV_NAME_RE.fullmatch(value))


def _judge(key: str, value: str, secret_key_only: bool, extra: Extra = ()) -> str | None:
    """The rule a value assigned to key breaks (entropy_assignment, secret_assignment) or None."""
    secretish = is_secret_key(key, extra)
    if secret_key_only and not secretish:
        return None
    value = value.strip()
    if not value or _not_literal(value):
        return None
    if _high_entropy(value, secretish) and (secretish or not any(rx.search(_norm_key(key)) for rx in NO_ENTROPY_KEYS)):
        return "entropy_assignment"
    if secretish and _literal_secret(value):
        return "secret_assignment"
    return None


def _unquote(value: str) -> str:
    """value without one pair of surrounding quotes."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _candidates(line: str, code: bool, secret_file: str | None) -> list[tuple[str, str, bool]]:
    """(key, value, secret_key_only) for every value in assignment position on line."""
    found = [(m["k"], m["v"], False) for rx in QUOTED_FORMS for m in rx.finditer(line)]
    if not code:
        m = LINE_RE.fullmatch(line)
        if m and m["v"][:1] not in ("'", '"'):
            found.append((m["k"], INLINE_COMMENT_RE.sub("", m["v"]).rstrip(";,"), False))
        m = SPACE_RE.fullmatch(line)
        if m:
            found.append((m["k"], _unquote(m["v"]), True))
        m = CREDENTIAL_MAP_RE.fullmatch(line) if secret_file else None
        if m:
            found.append((secret_file, m["v"], True))
    found += [(m["k"], _unquote(m["v"]), True) for m in FLAG_RE.finditer(line)]
    return found


def _safe_key(key: str | None, secret: str) -> str | None:
    """key, or None when it could reveal part of secret (shares 4 characters with it) or is not a plain name."""
    if key is None or not SAFE_KEY_RE.fullmatch(key):
        return None
    low, sec = key.lower(), secret.lower()
    if any(sec[i:i + 4] in low for i in range(max(len(sec) - 3, 1))):
        return None
    return key


def _key_for(candidates: list[tuple[str, str, bool]], secret: str) -> str | None:
    """The key of the first candidate whose value holds secret, made safe."""
    for key, value, _secret_key_only in candidates:
        if secret in value:
            return _safe_key(key.lstrip("$@%:"), secret)
    return None


def _tokens(line: str) -> list[tuple[str, str]]:
    """(rule, secret) for the known token formats on line, one per rule."""
    hits = []
    for rule, rx in TOKENS:
        for m in rx.finditer(line):
            value = m["v"] if "v" in rx.groupindex else m.group(0)
            if not _not_literal(value):
                hits.append((rule, value))
                break
    return hits


def _url_secret(line: str, extra: Extra = ()) -> str | None:
    """The password of a URL with credentials on line, or a secret query parameter's value."""
    for m in URL_CREDENTIALS_RE.finditer(line):
        if not _not_literal(m["v"]):
            return m["v"]
    for url in URL_RE.finditer(line):
        for m in URL_QUERY_RE.finditer(url.group(0)):
            if is_secret_key(m["k"], extra) and not _not_literal(m["v"]) and _literal_secret(m["v"]):
                return m["v"]
    return None


def _scan_line(line: str, code: bool, secret_file: str | None, comment: bool, extra: Extra = ()) -> list[tuple[str, str | None]]:
    """(rule, key) findings of one text line that is not in a private key block."""
    tokens = _tokens(line)
    if comment:
        return [(rule, None) for rule, _secret in tokens]
    candidates = _candidates(line, code, secret_file)
    if tokens:
        return [(rule, _key_for(candidates, secret)) for rule, secret in tokens]
    secret = _url_secret(line, extra)
    if secret is not None:
        return [("url_credentials", _key_for(candidates, secret))]
    found: dict[str, str | None] = {}
    for key, value, secret_key_only in candidates:
        rule = _judge(key, value, secret_key_only, extra)
        if rule and rule not in found:
            found[rule] = _safe_key(key.lstrip("$@%:"), value.strip())
    return list(found.items())


def _private_keys(text: str) -> tuple[list[int], set[int]]:
    """The line of each private key's BEGIN marker (with a key body after it) and the lines of the blocks."""
    begins: list[int] = []
    inside: set[int] = set()
    for m in PEM_BEGIN_RE.finditer(text):
        if not PEM_BODY_RE.search(text, m.end(), m.end() + PEM_BODY_WINDOW):
            continue
        first = text.count("\n", 0, m.start()) + 1
        end = PEM_END_RE.search(text, m.end())
        last = text.count("\n", 0, end.start()) + 1 if end else first
        begins.append(first)
        inside.update(range(first, last + 1))
    return begins, inside


def _decode(data: bytes | str) -> tuple[str, bool]:
    """(text, binary): a NUL byte in the first 8 KiB makes data binary (decoded as latin-1)."""
    if isinstance(data, str):
        return data, "\0" in data[:BINARY_SNIFF]
    if b"\0" in data[:BINARY_SNIFF]:
        return data.decode("latin-1"), True
    try:
        return data.decode("utf-8").lstrip("\ufeff"), False
    except UnicodeDecodeError:
        return data.decode("latin-1"), False


def _is_code(path: str, text: str) -> bool:
    """True for a program whose unquoted right-hand sides are expressions (Python, Perl, PHP, Ruby, JS)."""
    return path.lower().endswith(CODE_EXTENSIONS) or bool(CODE_SHEBANG_RE.match(text[:200]))


def scan_text(path: str, data: bytes, extra: Extra = ()) -> list[dict[str, t.Any]]:
    """Findings {"file", "line", "rule", "key"} for one file of the build context; never the value."""
    text, binary = _decode(data)
    code = _is_code(path, text)
    base = os.path.basename(path)
    secret_file = base if is_secret_key(base, extra) and SAFE_KEY_RE.fullmatch(base) else None
    begins, inside = _private_keys(text)
    findings = [{"file": path, "line": number, "rule": "private_key", "key": None} for number in begins]
    for number, line in enumerate(text.split("\n"), 1):
        if number in inside:
            continue
        line = line.rstrip("\r")
        comment = binary or line.lstrip().startswith(COMMENT_PREFIXES)
        for rule, key in _scan_line(line, code, secret_file, comment, extra):
            findings.append({"file": path, "line": number, "rule": rule, "key": key})
    return sorted(findings, key=lambda f: (f["line"], RULE_IDS.index(f["rule"])))


def _field(index: int, name: str | None = None) -> str:
    """The option path of an allow entry's field: containerize_secret_allow[2].reason."""
    return "%s[%d]%s" % (ALLOW_OPTION, index, "." + name if name else "")


def _validate_entry(index: int, entry: t.Any) -> dict[str, t.Any]:
    """One allow entry, checked and normalized (reason stripped)."""
    if not isinstance(entry, dict):
        raise SecretScanError("%s: must be a dict with file and reason, not %s" % (_field(index), type(entry).__name__))
    unknown = sorted(str(name) for name in entry if name not in ("file", "line", "rule", "reason"))
    if unknown:
        raise SecretScanError("%s: unknown field %s (allowed: file, line, rule, reason)" % (_field(index), ", ".join(unknown)))
    path = entry.get("file")
    if not isinstance(path, str) or not path.startswith("/"):
        raise SecretScanError("%s: %r is not an absolute path (the file of the build context)" % (_field(index, "file"), path))
    reason = entry.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise SecretScanError("%s: a reason is required (why this is not a secret)" % _field(index, "reason"))
    result: dict[str, t.Any] = {"file": path, "reason": reason.strip()}
    line = entry.get("line")
    if line is not None:
        if isinstance(line, bool) or not isinstance(line, int) or line < 1:
            raise SecretScanError("%s: %r is not a positive line number" % (_field(index, "line"), line))
        result["line"] = line
    rule = entry.get("rule")
    if rule is not None:
        if rule not in RULE_IDS:
            raise SecretScanError("%s: %r is not one of %s" % (_field(index, "rule"), rule, ", ".join(RULE_IDS)))
        result["rule"] = rule
    return result


def validate_allow(allow: t.Any) -> list[dict[str, t.Any]]:
    """The containerize_secret_allow entries, checked: file (absolute) and reason required, line and rule optional."""
    if allow is None:
        return []
    if not isinstance(allow, (list, tuple)):
        raise SecretScanError("%s: must be a list of {file, reason, line, rule} entries, not %s" % (ALLOW_OPTION, type(allow).__name__))
    return [_validate_entry(index, entry) for index, entry in enumerate(allow)]


def _allowed_by(finding: dict[str, t.Any], allow: list[dict[str, t.Any]]) -> dict[str, t.Any] | None:
    """The first allow entry that matches finding: same file, and same line and rule where given."""
    for entry in allow:
        if entry["file"] == finding["file"] and entry.get("line", finding["line"]) == finding["line"] \
                and entry.get("rule", finding["rule"]) == finding["rule"]:
            return entry
    return None


def _order(finding: dict[str, t.Any]) -> tuple[str, int, str]:
    """The sort key of a finding: file, line, rule."""
    return (finding["file"], finding["line"], finding["rule"])


def scan_context(files: dict[str, bytes], allow: list[dict[str, t.Any]] | None = None, extra: Extra = ()) -> dict[str, list[dict[str, t.Any]]]:
    """Scan every file of a build context: {"findings": [...], "allowed": [... with "reason"]}, sorted by file, line, rule."""
    entries = validate_allow(allow)
    findings: list[dict[str, t.Any]] = []
    allowed: list[dict[str, t.Any]] = []
    for path in sorted(files):
        for finding in scan_text(path, files[path], extra):
            entry = _allowed_by(finding, entries)
            if entry is None:
                findings.append(finding)
            else:
                allowed.append(dict(finding, reason=entry["reason"]))
    return {"findings": sorted(findings, key=_order), "allowed": sorted(allowed, key=_order)}


def format_findings(findings: list[dict[str, t.Any]]) -> str:
    """One line per finding: '/etc/app/app.ini line 12: high-entropy value of 'signing_key' (entropy_assignment)'."""
    lines = []
    for finding in findings:
        text = "%s line %d: %s" % (finding["file"], finding["line"], LABELS.get(finding["rule"], finding["rule"]))
        if finding.get("key"):
            text += " of '%s'" % finding["key"]
        text += " (%s)" % finding["rule"]
        if finding.get("reason"):
            text += ", allowed: %s" % finding["reason"]
        lines.append(text)
    return "\n".join(lines)


def scan_built_context(context: dict[str, t.Any], allow: list[dict[str, t.Any]] | None = None,
                       extra: Extra = ()) -> dict[str, list[dict[str, t.Any]]]:
    """Scan a rendered build context (``_containerfile.render_context``) before it is written or built.

    Context files are named by their path on the host (``rootfs/etc/x`` -> ``/etc/x``), the
    Containerfile as ``Containerfile``. Raises SecretScanError listing every finding not allowed, by
    file, line and rule (never a value), naming the option that marks a false positive.
    """
    files = {"Containerfile": context["containerfile"].encode("utf-8")}
    files.update({(name[len("rootfs"):] if name.startswith("rootfs/") else name): data for name, data in context["files"].items()})
    result = scan_context(files, allow, extra)
    if result["findings"]:
        raise SecretScanError(
            "the build context holds what looks like a secret, so nothing was built or pushed:\n%s\n"
            "Keep such a file out of the image with containerize_secret_files (it is then mounted from a Kubernetes "
            "Secret), or, if it is not a secret, add {file, line, rule, reason} to %s." % (format_findings(result["findings"]), ALLOW_OPTION)
        )
    return result
