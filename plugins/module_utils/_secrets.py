# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Which names, lines and environment variables of a legacy service hold secrets: the rules as data.

Private to this collection, stdlib only, Python 3.9+ syntax (it runs on the legacy host as part of
discovery). The policy is deny by default, because a credential in an image is the worst outcome:

* A config line holds a secret when a secret-looking name (``SECRET_KEY_PATTERNS``, extended by the
  caller's ``extra`` patterns) is given a literal value, in any of the syntaxes services use:
  ``key value``, ``key = value``, ``key: value``, ``"key": "value"``, ``KEY=value``, ``$key = 'value'``,
  ``define('KEY', 'value')``, XML elements ``<key>value</key>`` and attributes ``key="value"``, and a
  directive whose later word is such a name (``SetEnv DB_PASSWORD value``). Names that contain such a
  word but name no secret (``password_file``, ``keepalive``) are ``NOT_SECRET_KEY_PATTERNS``. A value
  that refers to where the secret is (a path, ``$VAR``, ``%(x)s``, ``{{ x }}``, a ``hash:/`` map) is not
  a secret itself.
* Credentials in URLs (``scheme://user:password@host``) anywhere in a line.
* Every environment variable (``Environment=``, ``EnvironmentFile=``) is a secret unless its name is on
  the allow list (``DEFAULT_ENV_ALLOW``, extended by the caller): its value goes to a Kubernetes Secret.

The functions return names and kinds, never values.
"""

from __future__ import annotations

import fnmatch
import re
import typing as t

# (regex over the lower-cased name, kind). The first match gives the kind.
SECRET_KEY_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"private[-_.]?key|privkey", "private_key"),
    (r"api[-_.]?key|apikey|access[-_.]?key", "api_key"),
    (r"pass(word|wd|phrase)?|pwd", "password"),
    (r"secret", "secret"),
    (r"token", "token"),
    (r"auth", "auth"),
    (r"cred", "credential"),
    (r"hmac|signing|signature|salt", "signing_key"),
    (r"dsn", "dsn"),
    (r"(^|[-_.])key$", "key"),
)

# Names that match a pattern above but hold no secret: a file or path of one, a switch, a count.
NOT_SECRET_KEY_PATTERNS: tuple[str, ...] = (
    r"([-_. ]|^)(file|files|path|dir|directory|location|maps?|db|database_name|length|size|len|timeout|ttl|type|method|mode|"
    r"mechanisms?|users?|required|enabled?|disabled?|cmd|command|program|algorithm|cipher|format|header|url_path|expire|lifetime)s?$",
    r"^(keepalive|keep_alive)", r"keys?_zone", r"passive", r"passenger", r"bypass", r"pass[-_]?through", r"compass",
    r"^(no|use|require|allow|disable|enable)[-_]", r"^auth_basic$", r"realm",
    r"^auth(or|ority|orized_keys)", r"passwordless", r"tokenizer", r"authenticat", r"unauth",
    r"^(primary|sort|foreign|partition|shard|cache|routing|hash)[-_]?key$", r"^key[-_]?(id|name|alias)$",
)

# Values that are switches or placeholders, never credentials.
NOT_SECRET_VALUES = frozenset(("true", "false", "yes", "no", "on", "off", "none", "null", "nil", "required", "optional", "enabled", "disabled"))

# Environment variables whose values may go into the image (fnmatch patterns); all others go to a Secret.
DEFAULT_ENV_ALLOW: tuple[str, ...] = (
    "LANG", "LANGUAGE", "LC_*", "TZ", "PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "TMPDIR",
    "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "PYTHONPATH", "PYTHONIOENCODING", "PERL5LIB", "RUBYLIB",
    "NODE_ENV", "NODE_OPTIONS", "GOMAXPROCS", "GODEBUG", "JAVA_HOME", "JAVA_OPTS", "MALLOC_ARENA_MAX",
    "*_LOG_LEVEL", "LOG_LEVEL", "DEBIAN_FRONTEND",
)

_URL_CREDENTIALS = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]+:([^/\s@]+)@")
_REFERENCE = re.compile(r"^(/|\$|%|\{\{|[a-z_]+:/|file:|env:|vault:|<[^>]*>$|\*+$|x{3,}$)", re.I)
_NAME = r"[A-Za-z_$][A-Za-z0-9_.\-$]*"
_ASSIGNMENT = re.compile(
    r"^\s*(?:export\s+|set\s+|var\s+|let\s+|const\s+|my\s+|our\s+)?[\"']?(" + _NAME + r"(?:\s+[a-z][a-z0-9_]*)*?)[\"']?\s*(=>|=|:)\s*(.*?)\s*[;,]?\s*$"
)
_DIRECTIVE = re.compile(r"^\s*(" + _NAME + r")\s+(.+?)\s*;?\s*$")
_DEFINE = re.compile(r"""define\s*\(\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*,\s*(['"][^'"]*['"])""")
_XML_ELEMENT = re.compile(r"<([A-Za-z_][\w.\-:]*)(?:\s[^>]*)?>([^<]*)</\1\s*>")
_NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?[smhdkKMG]?$")
_CODE = re.compile(r"[(\[{]|^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$")
_XML_ATTRIBUTE = re.compile(r"""\s([A-Za-z_][\w.\-:]*)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


class SecretRuleError(ValueError):
    """A user-given pattern that is not a valid regex or name; the message names the field."""


def compile_patterns(extra: t.Iterable[str] = (), field: str = "secret_keys") -> list[tuple[re.Pattern, str]]:
    """The key patterns, the caller's first (kind ``configured``)."""
    result = []
    for index, pattern in enumerate(extra or ()):
        try:
            result.append((re.compile(pattern, re.I), "configured"))
        except (re.error, TypeError) as exc:
            raise SecretRuleError("%s[%d]: %r is not a valid regular expression (%s)" % (field, index, pattern, exc)) from None
    return result + [(re.compile(p), kind) for p, kind in SECRET_KEY_PATTERNS]


_DEFAULT_PATTERNS = compile_patterns()
_NOT_SECRET = [re.compile(p) for p in NOT_SECRET_KEY_PATTERNS]


def secret_kind(key: str, patterns: t.Sequence[tuple[re.Pattern, str]] | None = None) -> str | None:
    """The kind of secret a name marks, or None."""
    lowered = key.lower().strip("$\"' ")
    for pattern, kind in patterns or _DEFAULT_PATTERNS:
        if pattern.search(lowered):
            if kind != "configured" and any(n.search(lowered) for n in _NOT_SECRET):
                return None
            return kind
    return None


def is_reference(value: str) -> bool:
    """A value that names where a secret is (a path, a variable, a map, a placeholder) rather than holding it."""
    return bool(_REFERENCE.match(value.strip().strip("'\"").strip()))


def is_literal(value: str) -> bool:
    """A value that can be a credential: not empty, not a switch, a number, a reference or code."""
    value = value.strip().rstrip(";,").strip()
    bare = value.strip("'\"").strip()
    if not bare or bare.lower() in NOT_SECRET_VALUES or _NUMBER.match(bare) or is_reference(bare):
        return False
    if value[:1] not in ("'", '"') and (_CODE.search(value) or bare in ("None", "undef", "nil")):
        return False  # code, not a literal: os.environ["X"], getenv('X'), $ENV{X}, cfg.password
    return True


def line_secrets(line: str, patterns: t.Sequence[tuple[re.Pattern, str]] | None = None) -> list[tuple[str | None, str]]:
    """(key, kind) of each secret one config line holds, in any syntax; empty when it holds none."""
    found: list[tuple[str | None, str]] = []
    stripped = line.strip()
    if _URL_CREDENTIALS.search(stripped) and not all(is_reference(m) for m in _URL_CREDENTIALS.findall(stripped)):
        found.append((None, "url_credentials"))
    for key, value in _candidates(stripped):
        kind = secret_kind(key, patterns)
        if kind and is_literal(value) and (key, kind) not in found:
            found.append((key.strip("$"), kind))
    return found


def _candidates(line: str) -> list[tuple[str, str]]:
    """(name, value) pairs a line assigns, in every syntax it may be written in."""
    pairs = [(m.group(1), m.group(2)) for m in _DEFINE.finditer(line)]
    pairs += [(m.group(1), m.group(2)) for m in _XML_ELEMENT.finditer(line)]
    if line.startswith("<"):
        pairs += [(m.group(1), m.group(2) if m.group(2) is not None else m.group(3)) for m in _XML_ATTRIBUTE.finditer(line)]
        return pairs
    match = _ASSIGNMENT.match(line)
    if match:
        pairs.append((match.group(1), match.group(3)))
    directive = _DIRECTIVE.match(line)
    if directive and not match:
        pairs.append((directive.group(1), directive.group(2)))
    if directive and not match:
        words = directive.group(2).split()
        # A later word that names a secret, followed by its value: SetEnv DB_PASSWORD x, SQLConnectInfo ... user pass.
        pairs += [(words[i], words[i + 1]) for i in range(len(words) - 1) if re.match(r"^" + _NAME + "$", words[i])]
    return pairs


def env_allowed(name: str, allow: t.Iterable[str] = ()) -> bool:
    """Whether an environment variable's value may go into the image (DEFAULT_ENV_ALLOW and ``allow``)."""
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in tuple(DEFAULT_ENV_ALLOW) + tuple(allow or ()))
