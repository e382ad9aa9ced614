# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Discovery of a legacy systemd service: what it runs, listens on, ships in, reads and keeps.

Private to this collection (the leading underscore): importable and unit-testable without Ansible,
stdlib only, Python 3.9+ syntax, because it runs on the legacy host. The parsers take the text of
``systemctl cat``, ``systemctl show``, ``ss -ltnupH``, ``dpkg -S``, ``dpkg-query -W``, cgroup.procs
and config files; ``build_profile`` turns all of that raw input into the service profile, so the
whole profile is testable from captured text. ``collect`` is the only part that touches the host.

Error policy (documented, tested):

* ``systemctl cat``: text before the first ``# /path`` header and a line continuation still open at
  the end of the output raise DiscoveryError; lines that are not ``Key=Value`` inside a fragment are
  skipped with a warning (systemd itself ignores them).
* ``ss``: a header line is skipped; any other line that is not a socket raises DiscoveryError.
* ``dpkg -S``: ``no path found`` answers mark a path unpackaged, diversion lines are skipped, any other
  line raises DiscoveryError.
* Secret values never enter the profile: a line recognised as holding a secret contributes only its
  location, key and kind; it is not scanned for IP addresses or paths, and secret environment values
  and command line arguments are replaced by ``REDACTED``.
"""

from __future__ import annotations

import grp
import ipaddress
import os
import pwd
import re
import shlex
import shutil
import stat
import typing as t

from ansible_collections.replatform.kubernetes.plugins.module_utils._secrets import (
    compile_patterns,
    env_allowed,
    is_reference,
    line_secrets,
    secret_kind,
)

REDACTED = "REDACTED"

DEFAULT_MAX_FILES = 200
DEFAULT_MAX_FILE_SIZE = 1024 * 1024

# Unit settings whose values accumulate; an empty assignment resets them.
LIST_SETTINGS = frozenset(
    (
        "ExecStart", "ExecStartPre", "ExecStartPost", "ExecReload", "ExecStop", "ExecStopPost",
        "Environment", "EnvironmentFile", "StateDirectory", "LogsDirectory", "RuntimeDirectory",
        "CacheDirectory", "ConfigurationDirectory", "ReadWritePaths",
        "ConditionPathExists", "ConditionFileNotEmpty", "ConditionPathIsReadWrite",
        "AssertPathExists", "AssertFileNotEmpty", "AssertPathIsReadWrite",
    )
)

# systemd's *Directory= settings and the directory their relative names live under.
DIRECTORY_SETTINGS = {
    "StateDirectory": "/var/lib",
    "LogsDirectory": "/var/log",
    "RuntimeDirectory": "/run",
    "CacheDirectory": "/var/cache",
    "ConfigurationDirectory": "/etc",
}

_HEADER = re.compile(r"^# (/\S+)$")
_UNIT_NAME = re.compile(r"^[A-Za-z0-9_.:@\\-]+$")
_PEM_BEGIN = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
_PEM_END = re.compile(r"-----END [A-Z ]*PRIVATE KEY-----")
_SS_USER = re.compile(r'\("((?:[^"\\]|\\.)*)",pid=(\d+),fd=\d+\)')
_IP_TOKEN = re.compile(r"[0-9A-Fa-f:.]+")
_MAP_REFERENCE = re.compile(r"^[a-z_]+:/")
_DPKG_NOT_FOUND = re.compile(r"^dpkg-query: no path found matching pattern (.+)$")
_DPKG_DIVERSION = re.compile(r"^(local )?diversion (by \S+ )?(from|to): ")
_PATH_TOKEN = re.compile(r"(/var/(?:log|lib|spool)/[^\s;,'\"()<>$`{}*?\[\]]+)")
# Files under /etc a config line names (myorigin = /etc/mailname, alias_maps = hash:/etc/aliases).
_ETC_TOKEN = re.compile(r"(?<![\w$.-])(/etc/[A-Za-z0-9._+-]+(?:/[A-Za-z0-9._+-]+)*)(?![A-Za-z0-9._+/$*?{\[-])")
# Directories a web server serves files from: nginx root/alias, Apache DocumentRoot/Alias (last argument).
_CONTENT_DIRECTIVE = re.compile(
    r"^(?:(?:root|alias|DocumentRoot|(?:Script)?Alias\s+\S+)\s+|server\.document-root\s*=\s*)[\"']?(/[^\s;\"']*)[\"']?\s*;?\s*$"
)


class DiscoveryError(Exception):
    """Input that the discovery cannot understand, or a service it cannot profile."""


# --- systemd -------------------------------------------------------------------------------------


def unit_name(name: str) -> str:
    """The unit for a service name: ``.service`` appended when no unit suffix is given."""
    name = name.strip()
    if not name or name.startswith("-") or not _UNIT_NAME.match(name):
        raise DiscoveryError("name: %r is not a valid systemd unit name" % name)
    if re.search(r"\.(service|socket|target|timer|mount|path|scope|slice)$", name):
        return name
    return name + ".service"


def service_base_name(unit: str) -> str:
    """``postfix@-.service`` -> ``postfix``; ``esp-api.service`` -> ``esp-api``."""
    base = unit.rsplit(".", 1)[0]
    return base.split("@", 1)[0]


def _split_words(value: str, what: str) -> list[str]:
    try:
        return shlex.split(value)
    except ValueError as exc:
        raise DiscoveryError("cannot split %s %r: %s" % (what, value, exc)) from exc


def _specifiers(value: str, unit: str) -> str:
    """Resolve the common unit specifiers (%n %N %p %i %I %%)."""
    base = unit.rsplit(".", 1)[0]
    prefix, _sep, instance = base.partition("@")
    table = {"n": unit, "N": base, "p": prefix, "i": instance, "I": instance, "%": "%"}
    return re.sub(r"%([nNpiI%])", lambda m: table[m.group(1)], value)


def parse_systemctl_cat(text: str) -> dict[str, t.Any]:
    """Parse ``systemctl cat UNIT`` (fragment and drop-ins, each after a ``# /path`` header).

    Returns ``{"fragments": [paths], "settings": {section: {key: value or [values]}}, "warnings": [...]}``
    where list settings (LIST_SETTINGS) accumulate across fragments and an empty assignment resets
    them, and any other setting keeps its last assignment.
    """
    fragments: list[str] = []
    settings: dict[str, dict[str, t.Any]] = {}
    warnings: list[str] = []
    section: str | None = None
    pending = ""
    pending_start = 0
    current = ""
    lines = text.splitlines()
    for number, raw in enumerate(lines, start=1):
        header = _HEADER.match(raw)
        if header and (number == 1 or not lines[number - 2].strip()) and not pending:
            fragments.append(header.group(1))
            current = header.group(1)
            section = None
            continue
        if header and pending:
            raise DiscoveryError(
                "systemctl cat: truncated line continuation at line %d (%s) before %s" % (pending_start, current, raw[2:])
            )
        stripped = raw.strip()
        if not fragments:
            if stripped:
                raise DiscoveryError("systemctl cat: no '# /path' header before line %d: %r" % (number, raw))
            continue
        if stripped.startswith(("#", ";")):
            continue  # comments, also inside a continuation (as systemd does)
        if pending:
            line = pending + " " + stripped
        else:
            line = stripped
            pending_start = number
        if line.endswith("\\"):
            pending = line[:-1].rstrip()
            continue
        pending = ""
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            settings.setdefault(section, {})
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key or " " in key or section is None:
            warnings.append("%s line %d: not a setting, skipped: %r" % (current, pending_start, line[:80]))
            continue
        value = value.strip()
        target = settings[section]
        if key in LIST_SETTINGS:
            if value:
                target.setdefault(key, []).append(value)
            else:
                target[key] = []
        else:
            target[key] = value
    if pending:
        raise DiscoveryError("systemctl cat: truncated line continuation at line %d (%s)" % (pending_start, current))
    return {"fragments": fragments, "settings": settings, "warnings": warnings}


def parse_exec(value: str, unit: str = "") -> dict[str, t.Any]:
    """One ExecStart= value: prefixes (``-@:+!``) stripped and reported, argv split like systemd."""
    stripped = value.strip()
    command = stripped.lstrip("-@:+!")
    prefixes = stripped[: len(stripped) - len(command)]
    argv = _split_words(_specifiers(command, unit) if unit else command, "ExecStart")
    if not argv:
        raise DiscoveryError("ExecStart: empty command %r" % value)
    if "@" in prefixes and len(argv) > 1:
        argv = [argv[0]] + argv[2:]  # @: the second word is argv[0], not an argument
    return {"argv": argv, "path": argv[0], "prefixes": prefixes, "ignore_failure": "-" in prefixes}


def parse_environment(values: t.Iterable[str]) -> dict[str, str]:
    """Environment= assignments (quoted, several per line) into a dict; later ones win."""
    env: dict[str, str] = {}
    for value in values:
        for word in _split_words(value, "Environment"):
            name, sep, val = word.partition("=")
            if sep and name:
                env[name] = val
    return env


def parse_unit(text: str, unit: str = "") -> dict[str, t.Any]:
    """The service-relevant settings of ``systemctl cat`` output."""
    parsed = parse_systemctl_cat(text)
    service = parsed["settings"].get("Service", {})
    result: dict[str, t.Any] = {
        "fragments": parsed["fragments"],
        "warnings": parsed["warnings"],
        "type": service.get("Type", "simple"),
        "exec_start": [parse_exec(v, unit) for v in service.get("ExecStart", [])],
        "user": service.get("User"),
        "group": service.get("Group"),
        "working_directory": service.get("WorkingDirectory", "").lstrip("-") or None,
        "environment": parse_environment(service.get("Environment", [])),
        "environment_files": [
            {"path": v[1:] if v.startswith("-") else v, "optional": v.startswith("-")}
            for v in service.get("EnvironmentFile", [])
        ],
    }
    # Files the unit requires (ConditionPathExists=/etc/rsyncd.conf): a daemon's compiled-in config.
    result["condition_paths"] = sorted({
        value.lstrip("|") for key, values in parsed["settings"].get("Unit", {}).items()
        if re.match(r"^(Condition|Assert)(PathExists|FileNotEmpty|PathIsReadWrite)$", key)
        for value in values if value.lstrip("|").startswith("/")
    })
    for setting, root in DIRECTORY_SETTINGS.items():
        dirs = []
        for value in service.get(setting, []):
            for word in value.split():
                name = word.split(":", 1)[0]
                dirs.append(name if name.startswith("/") else os.path.join(root, name))
        result[_snake(setting)] = dirs
    return result


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def parse_show(text: str) -> dict[str, str]:
    """``systemctl show -p A,B UNIT`` (``Key=Value`` lines) into a dict."""
    props = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            props[key.strip()] = value.strip()
    return props


# --- processes and sockets -----------------------------------------------------------------------


def cgroup_procs_paths(control_group: str) -> list[str]:
    """Where cgroup.procs of a unit's ControlGroup can be: unified (v2), hybrid, or v1 name=systemd."""
    group = control_group.strip().lstrip("/")
    if not group:
        return []
    return [os.path.join(root, group, "cgroup.procs") for root in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd")]


def parse_pids(text: str) -> list[int]:
    """cgroup.procs: one PID per line."""
    pids = []
    for line in text.split():
        if not line.isdigit():
            raise DiscoveryError("cgroup.procs: not a PID: %r" % line)
        pids.append(int(line))
    return sorted(set(pids))


def descendants(main_pid: int, ppids: dict[int, int]) -> list[int]:
    """main_pid and all its descendants, from a {pid: ppid} map (read from /proc/<pid>/stat)."""
    if main_pid <= 0:
        return []
    found = {main_pid}
    changed = True
    while changed:
        changed = False
        for pid, ppid in ppids.items():
            if ppid in found and pid not in found:
                found.add(pid)
                changed = True
    return sorted(found)


def parse_proc_stat_ppid(text: str) -> int:
    """The parent PID from /proc/<pid>/stat (the command name may contain spaces and parentheses)."""
    rest = text[text.rfind(")") + 1:].split()
    if len(rest) < 2 or not rest[1].isdigit():
        raise DiscoveryError("/proc stat: unexpected %r" % text[:80])
    return int(rest[1])


def _split_address(value: str) -> tuple[str, int | None, str | None]:
    host, sep, port = value.rpartition(":")
    if not sep or not host:
        raise DiscoveryError("ss: not an address:port: %r" % value)
    interface = None
    if "%" in host:
        host, _pct, interface = host.partition("%")  # [fe80::1]%eth0 or [fe80::1%eth0]
        interface = interface.rstrip("]")
    host = host.strip("[]")
    if host == "*":
        host = "0.0.0.0"
    return host, (int(port) if port.isdigit() else None), interface


def parse_ss(text: str) -> list[dict[str, t.Any]]:
    """``ss -ltnpH`` or ``ss -ltnupH`` (netid column optional) into listeners.

    Each: proto, address, port, interface, pids, processes. Without privileges ss prints no process
    column; pids and processes are then empty.
    """
    listeners = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split()
        if fields[0] in ("State", "Netid"):
            continue  # a header line (ss without -H)
        proto = "tcp"
        if fields[0] in ("tcp", "udp", "raw", "sctp", "u_str", "u_dgr", "u_seq", "p_raw", "p_dgr", "nl", "mptcp"):
            proto = fields.pop(0)
        if len(fields) < 5 or not (fields[1].isdigit() and fields[2].isdigit()):
            raise DiscoveryError("ss: line %d is not a socket: %r" % (number, line))
        address, port, interface = _split_address(fields[3])
        process = " ".join(fields[5:])
        users = _SS_USER.findall(process)
        pids = sorted({int(pid) for _name, pid in users})
        names = sorted({name for name, _pid in users})
        listeners.append(
            {"proto": proto, "address": address, "port": port, "interface": interface, "pids": pids, "processes": names}
        )
    return listeners


def service_listeners(listeners: t.Iterable[dict[str, t.Any]], pids: t.Iterable[int]) -> list[dict[str, t.Any]]:
    """The listeners owned by any of the service's PIDs (deduplicated, sorted by port)."""
    own = set(pids)
    seen = set()
    result = []
    for item in listeners:
        if not own.intersection(item["pids"]):
            continue
        key = (item["proto"], item["address"], item["port"])
        if key in seen:
            continue
        seen.add(key)
        result.append(dict(item))
    return sorted(result, key=lambda i: (i["port"] or 0, i["proto"], i["address"]))


# --- packages ------------------------------------------------------------------------------------


def parse_dpkg_search(stdout: str, stderr: str = "") -> tuple[dict[str, list[str]], list[str]]:
    """``dpkg -S PATH...``: ({path: [packages]}, [paths no package owns]).

    ``pkg1, pkg2:amd64: /path`` lines give owners (architecture qualifiers dropped); diversion lines are
    skipped; ``no path found`` lines on stderr give unpackaged paths; anything else raises.
    """
    owners: dict[str, list[str]] = {}
    for line in stdout.splitlines():
        if not line.strip() or _DPKG_DIVERSION.match(line):
            continue
        packages, sep, path = line.partition(": ")
        if not sep or not path.startswith("/") or not packages or " " in packages.replace(", ", ","):
            raise DiscoveryError("dpkg -S: unexpected answer %r" % line)
        names = [p.strip().split(":", 1)[0] for p in packages.split(",") if p.strip()]
        owners.setdefault(path.strip(), [])
        owners[path.strip()].extend(n for n in names if n not in owners[path.strip()])
    missing = []
    for line in stderr.splitlines():
        match = _DPKG_NOT_FOUND.match(line.strip())
        if match:
            missing.append(match.group(1))
    return owners, missing


def parse_dpkg_status(text: str) -> dict[str, dict[str, t.Any]]:
    """``dpkg-query -W -f '${Package}\\t${Version}\\t${db:Status-Abbrev}\\t${Pre-Depends}\\t${Depends}\\n'``.

    Returns installed packages: {name: {version, depends: [(name, op, version)]}}.
    """
    packages: dict[str, dict[str, t.Any]] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 3:
            raise DiscoveryError("dpkg-query: unexpected line %r" % line)
        fields += [""] * (5 - len(fields))
        name, version, status = fields[0].strip(), fields[1].strip(), fields[2].strip()
        if not status.startswith("ii"):
            continue
        depends = []
        for clause in (fields[3] + "," + fields[4]).split(","):
            for alternative in clause.split("|"):
                match = re.match(r"^\s*([a-z0-9][a-z0-9+.\-]*)(?::\S+)?\s*(?:\(\s*([<>=]+)\s*([^)\s]+)\s*\))?\s*$", alternative)
                if match:
                    depends.append((match.group(1), match.group(2), match.group(3)))
        packages[name] = {"version": version, "depends": depends}
    return packages


def companion_packages(owners: t.Iterable[str], installed: dict[str, dict[str, t.Any]]) -> dict[str, str]:
    """Installed packages that depend on an owner at exactly the owner's version.

    That ties the user-facing package to the one shipping the file: ``python3`` to ``python3-minimal``
    (/usr/bin/python3), ``nginx-light`` to ``nginx`` (/usr/sbin/nginx). Returns {companion: owner}.
    """
    result = {}
    for owner in owners:
        version = installed.get(owner, {}).get("version")
        if not version:
            continue
        for name, info in sorted(installed.items()):
            if name == owner:
                continue
            for dep, op, dep_version in info["depends"]:
                if dep == owner and op in ("=", ">=") and dep_version == version:
                    result.setdefault(name, owner)
    return result


# --- config files --------------------------------------------------------------------------------


def _is_credential_map(path: str) -> bool:
    base = os.path.basename(path).lower()
    return any(word in base for word in ("passwd", "password", "credentials", "secrets")) and not base.endswith((".db", ".lmdb", ".cdb"))


def scan_config(path: str, text: str, patterns: t.Any = None) -> dict[str, list[dict[str, t.Any]]]:
    """Secrets (location, key and kind only), IP literals and /var paths of one config file.

    Full-line comments (``#``, ``;``, ``//``, ``<!--``) are not scanned. A line that holds a secret is
    not scanned for anything else, so no part of its value can reach the result. ``patterns`` are the
    secret key patterns (``_secrets.compile_patterns``); the defaults when not given.
    """
    secrets: list[dict[str, t.Any]] = []
    ips: list[dict[str, t.Any]] = []
    paths: list[dict[str, t.Any]] = []
    content: list[dict[str, t.Any]] = []
    in_pem = False
    credential_map = _is_credential_map(path)
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if in_pem:
            if _PEM_END.search(stripped):
                in_pem = False
            continue
        if _PEM_BEGIN.search(stripped):
            secrets.append({"file": path, "line": number, "key": "PEM private key", "kind": "private_key"})
            in_pem = not _PEM_END.search(stripped)
            continue
        if not stripped or stripped.startswith(("#", ";", "//", "<!--")):
            continue
        if credential_map and len(stripped.split()) >= 2 or credential_map and ":" in stripped:
            key = stripped.split()[0] if len(stripped.split()) >= 2 else stripped.split(":", 1)[0]
            secrets.append({"file": path, "line": number, "key": key, "kind": "credential_map"})
            _scan_ips(path, number, key, ips)
            continue
        found = line_secrets(stripped, patterns)
        if found:
            secrets += [{"file": path, "line": number, "key": key, "kind": kind} for key, kind in found]
            continue
        _scan_ips(path, number, stripped, ips)
        for found_path in _PATH_TOKEN.findall(stripped) + _ETC_TOKEN.findall(stripped):
            paths.append({"file": path, "line": number, "path": found_path.rstrip(".:")})
        served = _CONTENT_DIRECTIVE.match(stripped)
        if served:
            content.append({"file": path, "line": number, "path": os.path.normpath(served.group(1))})
    return {"secrets": secrets, "ip_addresses": ips, "paths": paths, "content": content}


def _scan_ips(path: str, number: int, text: str, out: list[dict[str, t.Any]]) -> None:
    seen = set()
    for token in _IP_TOKEN.findall(text):
        token = token.strip(".")
        if token.count(".") != 3 and token.count(":") < 2:
            continue
        address = _ip(token)
        if address is None and ":" in token:
            token = token.rsplit(":", 1)[0]  # 10.0.0.1:8081
            address = _ip(token)
        if address is None or str(address) in seen:
            continue
        seen.add(str(address))
        out.append(
            {
                "file": path, "line": number, "value": token, "version": address.version,
                "loopback": address.is_loopback, "unspecified": address.is_unspecified,
            }
        )


def _ip(token: str) -> t.Any:
    try:
        return ipaddress.ip_address(token)
    except ValueError:
        return None


def exec_config_paths(exec_start: t.Iterable[dict[str, t.Any]]) -> list[str]:
    """Absolute paths among ExecStart arguments (``/x`` and ``--opt=/x``), not the executable."""
    found = []
    for command in exec_start:
        for arg in command["argv"][1:]:
            candidate = arg.split("=", 1)[1] if arg.startswith("-") and "=" in arg else arg
            if candidate.startswith("/") and candidate not in found:
                found.append(candidate)
    return found


def script_path(exec_start: t.Sequence[dict[str, t.Any]]) -> str | None:
    """The script an interpreter runs (``python3 /opt/x/app.py``), when the executable is one."""
    if not exec_start:
        return None
    argv = exec_start[0]["argv"]
    interpreter = re.match(r"^(python[0-9.]*|perl|ruby[0-9.]*|node(js)?|php[0-9.]*|bash|sh|java)$", os.path.basename(argv[0]))
    if interpreter and len(argv) > 1 and argv[1].startswith("/"):
        return argv[1]
    return None


# --- the profile ---------------------------------------------------------------------------------


def redact_exec(exec_start: list[dict[str, t.Any]], unit_path: str, patterns: t.Any = None) -> tuple[list[dict[str, t.Any]], list[dict[str, t.Any]]]:
    """Replace secret arguments by REDACTED and report them as secrets.

    ``--password=x``, ``--api-key x`` (a secret-looking option name, ``_secrets`` rules) and any
    argument holding URL credentials (``postgres://u:p@db/x``) are replaced; the container gets the
    value from a Kubernetes Secret instead (``_containerfile.foreground_command``).
    """
    secrets = []
    result = []
    for command in exec_start:
        argv = list(command["argv"])
        for index in range(1, len(argv)):
            arg = argv[index]
            if REDACTED in arg:
                continue
            if line_secrets(arg, patterns) and (not arg.startswith("-") or "=" in arg) and "://" in arg:
                argv[index] = REDACTED if not arg.startswith("-") else arg.split("=", 1)[0] + "=" + REDACTED
                secrets.append({"file": unit_path, "line": None, "key": "ExecStart argument %d" % index, "kind": "url_credentials"})
                continue
            if not arg.startswith("-"):
                continue
            name, sep, value = arg.lstrip("-").partition("=")
            kind = secret_kind(name, patterns)
            if not kind:
                continue
            if sep and value and not is_reference(value):
                argv[index] = arg.split("=", 1)[0] + "=" + REDACTED
                secrets.append({"file": unit_path, "line": None, "key": "ExecStart " + arg.split("=", 1)[0], "kind": kind})
            elif not sep and index + 1 < len(argv) and not argv[index + 1].startswith("-") and not is_reference(argv[index + 1]):
                argv[index + 1] = REDACTED
                secrets.append({"file": unit_path, "line": None, "key": "ExecStart " + arg, "kind": kind})
        result.append(dict(command, argv=argv, path=argv[0]))
    return result, secrets


def parse_environment_file(text: str) -> list[tuple[int, str, str]]:
    """(line, name, value) of an EnvironmentFile's assignments (comments, ``export`` and quotes handled as systemd does)."""
    values = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("export "):
            line = line[7:].strip()
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
            continue
        value = value.strip()
        try:
            words = shlex.split(value) if value else [""]
        except ValueError:
            words = [value]
        values.append((number, name, " ".join(words)))
    return values


def profile_environment(unit: dict[str, t.Any], fragment: str, files: dict[str, dict[str, str]], allow: t.Iterable[str] = ()
                        ) -> tuple[dict[str, str], list[dict[str, t.Any]]]:
    """The service's environment (Environment=, then its EnvironmentFiles, as systemd merges them).

    Deny by default: a value whose name is not allowed (``_secrets.env_allowed``) is ``REDACTED`` and
    reported as a secret (it goes to a Kubernetes Secret); allowed values are kept.
    """
    assigned: dict[str, tuple[str, str, int | None]] = {name: (value, fragment, None) for name, value in unit["environment"].items()}
    for item in unit["environment_files"]:
        info = files.get(item["path"])
        if info:
            for number, name, value in parse_environment_file(info["text"]):
                assigned[name] = (value, item["path"], number)
    environment: dict[str, str] = {}
    secrets: list[dict[str, t.Any]] = []
    for name, (value, where, number) in sorted(assigned.items()):
        if not value or env_allowed(name, allow) and not line_secrets("%s=%s" % (name, value)):
            environment[name] = value
            continue
        environment[name] = REDACTED
        key = ("Environment " + name) if number is None else name
        secrets.append({"file": where, "line": number, "key": key, "kind": secret_kind(name) or "environment"})
    return environment, secrets


# Where a service's data, runtime files and the system live: never its code.
_NOT_CODE_PREFIXES = ("/etc/", "/var/", "/run/", "/tmp/", "/proc/", "/sys/", "/dev/", "/boot/", "/usr/")
_CODE_ALLOWED_PREFIXES = ("/usr/local/", "/var/www/", "/var/opt/")


def is_log_path(path: str) -> bool:
    """A log file or directory: under /var/log, or named like a log (never copied into an image)."""
    return path.startswith("/var/log/") or bool(re.search(r"(\.log|\.log\.[0-9]+|\.err|\.out)$|(^|/)logs?$", path))


def _code_location(path: str) -> bool:
    """A path that may hold a service's own code: /opt, /srv, /home, /usr/local, /var/www, ..."""
    path = path.rstrip("/") + "/"
    return path != "/" and (path.startswith(_CODE_ALLOWED_PREFIXES) or not path.startswith(_NOT_CODE_PREFIXES))


def app_dirs(unit: dict[str, t.Any], path_info: dict[str, dict[str, t.Any]]) -> list[dict[str, t.Any]]:
    """Unpackaged directories whose files the service runs: its WorkingDirectory and directories its command line names.

    Only directories that exist and are in a place for code (not /etc, /var/lib, /run, a package's
    /usr): their files are copied into the image with owner and mode.
    """
    candidates = []
    if unit["working_directory"]:
        candidates.append((unit["working_directory"], "working_directory"))
    candidates += [(p, "exec_start") for p in exec_config_paths(unit["exec_start"])]
    found = []
    for path, source in candidates:
        path = os.path.normpath(path)
        info = path_info.get(path) or {}
        if info.get("is_dir") and _code_location(path) and not is_log_path(path) and path not in [f["path"] for f in found]:
            found.append({"path": path, "source": source, "owner": info.get("owner"), "group": info.get("group"),
                          "mode": "%04o" % info["mode"] if isinstance(info.get("mode"), int) else None})
    return found


def config_candidates(unit: dict[str, t.Any], names: t.Iterable[str], extra: t.Iterable[str] = ()) -> list[tuple[str, str]]:
    """(path, source) of the files and directories to read as configuration, in priority order."""
    script = script_path(unit["exec_start"])
    candidates = []
    for path in exec_config_paths(unit["exec_start"]):
        if path != script and not is_log_path(path):
            candidates.append((path, "exec_start"))
    candidates += [(item["path"], "environment_file") for item in unit["environment_files"]]
    candidates += [(d, "configuration_directory") for d in unit["configuration_directory"]]
    candidates += [(path, "config_paths") for path in extra]
    candidates += [(path, "unit_condition") for path in unit.get("condition_paths", []) if path.startswith("/etc/")]
    for name in names:
        candidates.append(("/etc/" + name, "etc_dir"))
        # The conventional names of a daemon's own config file (/etc/memcached.conf, /etc/rsyncd.conf).
        candidates += [("/etc/%s%s.conf" % (name, suffix), "etc_dir") for suffix in ("", "d")]
    return candidates


def build_profile(raw: dict[str, t.Any]) -> dict[str, t.Any]:
    """The service profile from raw inputs (all text, as captured on the host).

    ``raw`` keys: requested, unit, followed_from, show (systemctl show text), cat (systemctl cat text),
    ss (ss text), pids (list of PIDs) and pid_source, dpkg_search ({stdout, stderr}), dpkg_status
    (text), files ({path: {"source", "text"}}), skipped_files ([{path, reason}]), paths ({path:
    {exists, is_dir, owner, group, mode}}) for log and data candidates, and package_names (names used
    for /etc, /var/log and /var/lib, e.g. the unit's base name).
    """
    unit_id = raw["unit"]
    show = parse_show(raw.get("show", ""))
    unit = parse_unit(raw["cat"], unit_id)
    fragment = unit["fragments"][0] if unit["fragments"] else unit_id
    patterns = compile_patterns(raw.get("secret_keys") or ())
    exec_start, secrets = redact_exec(unit["exec_start"], fragment, patterns)
    environment, env_secrets = profile_environment(unit, fragment, raw.get("files", {}), raw.get("env_allow") or ())
    secrets += env_secrets
    env_files = {item["path"] for item in unit["environment_files"]}

    pids = list(raw.get("pids") or [])
    listeners = service_listeners(parse_ss(raw.get("ss", "")), pids)

    # Packages: owners of the executable (and its resolved path), the script and the config files.
    owners, unpackaged = parse_dpkg_search(raw.get("dpkg_search", {}).get("stdout", ""), raw.get("dpkg_search", {}).get("stderr", ""))
    installed = parse_dpkg_status(raw.get("dpkg_status", ""))
    packages: dict[str, dict[str, t.Any]] = {}
    for path, names in sorted(owners.items()):
        for name in names:
            entry = packages.setdefault(name, {"name": name, "version": installed.get(name, {}).get("version"), "relation": "owner", "paths": []})
            entry["paths"].append(path)
    executables = [p for p in (raw.get("executables") or []) if p in owners]
    exe_owners = sorted({name for path in executables for name in owners[path]})
    for name, owner in sorted(companion_packages(exe_owners, installed).items()):
        if name not in packages:
            packages[name] = {"name": name, "version": installed[name]["version"], "relation": "depends_on_" + owner, "paths": []}

    config_files = []
    ips: list[dict[str, t.Any]] = []
    config_paths: list[dict[str, t.Any]] = []
    content_paths: list[dict[str, t.Any]] = []
    for path, info in raw.get("files", {}).items():
        scan = scan_config(path, info["text"], patterns)
        # An EnvironmentFile's secrets are its variables (profile_environment): one entry per name.
        secrets += [] if path in env_files else scan["secrets"]
        ips += scan["ip_addresses"]
        config_paths += scan["paths"]
        content_paths += scan["content"]
        config_files.append(
            {"path": path, "source": info["source"], "size": len(info["text"].encode("utf-8", "replace")), "packages": owners.get(path, [])}
        )

    path_info = raw.get("paths", {})
    names = raw.get("package_names") or [service_base_name(unit_id)]
    logs = _locations(
        [(d, "logs_directory") for d in unit["logs_directory"]]
        + [(p["path"], "config") for p in config_paths if p["path"].startswith("/var/log/")]
        + [(p, "exec_start") for p in exec_config_paths(unit["exec_start"]) if is_log_path(p)]
        + [("/var/log/" + n, "default") for n in names],
        path_info,
    )
    data_candidates = [(d, "state_directory") for d in unit["state_directory"]]
    data_candidates += [(p["path"], "config") for p in config_paths if p["path"].startswith(("/var/lib/", "/var/spool/"))]
    code = app_dirs(unit, path_info)
    workdir = unit["working_directory"]
    if workdir and workdir not in [c["path"] for c in code] and _writable_by(path_info.get(workdir), unit["user"], unit["group"]):
        data_candidates.append((workdir, "working_directory"))
    data_candidates += [("/var/lib/" + n, "default") for n in names] + [("/var/spool/" + n, "default") for n in names]
    data_candidates = [(p, "operator") for p in raw.get("data_dirs") or ()] + data_candidates
    data = _locations(data_candidates_dirs(data_candidates, path_info), path_info)
    for location in data:
        if "size" in path_info.get(location["path"], {}):
            location["size"] = path_info[location["path"]]["size"]
    # Served content that exists on the host and is not a package's (/usr/share/nginx/html and the like).
    content = [
        loc for loc in _locations([(p["path"], "config") for p in content_paths if not p["path"].startswith("/usr/")], path_info)
        if loc["exists"] and loc["is_dir"]
    ]

    return {
        "requested": raw.get("requested", unit_id),
        "unit": unit_id,
        "followed_from": raw.get("followed_from"),
        "description": show.get("Description"),
        "state": {"load": show.get("LoadState"), "active": show.get("ActiveState"), "sub": show.get("SubState")},
        "fragments": unit["fragments"],
        "type": unit["type"],
        "exec_start": exec_start,
        "executable": exec_start[0]["path"] if exec_start else None,
        "script": script_path(exec_start),
        "user": unit["user"] or "root",
        "group": unit["group"],
        "working_directory": unit["working_directory"],
        "environment": environment,
        "environment_files": unit["environment_files"],
        "directories": {_snake(s): unit[_snake(s)] for s in DIRECTORY_SETTINGS},
        "main_pid": int(show.get("MainPID") or 0),
        "control_group": show.get("ControlGroup") or None,
        "pids": pids,
        "pid_source": raw.get("pid_source"),
        "listeners": listeners,
        "packages": sorted(packages.values(), key=lambda p: (p["relation"] != "owner", p["name"])),
        "unpackaged_files": sorted(set(unpackaged)),
        "config_files": config_files,
        "skipped_files": list(raw.get("skipped_files", [])),
        "secrets": secrets,
        "ip_addresses": ips,
        "log_paths": logs,
        "data_dirs": data,
        "content_dirs": content,
        "app_dirs": code,
        "config_links": sorted(raw.get("links") or [], key=lambda link: link["path"]),
        "warnings": unit["warnings"],
    }


def _writable_by(info: dict[str, t.Any] | None, user: str | None, group: str | None) -> bool:
    if not info or not info.get("exists") or not info.get("is_dir"):
        return False
    mode = info.get("mode") or 0
    return bool(
        (info.get("owner") == (user or "root") and mode & stat.S_IWUSR)
        or (group and info.get("group") == group and mode & stat.S_IWGRP)
        or mode & stat.S_IWOTH
    )


def data_candidates_dirs(candidates: list[tuple[str, str]], path_info: dict[str, dict[str, t.Any]]) -> list[tuple[str, str]]:
    """Data locations as directories: a file a config names (a database file) stands for its directory.

    A guessed default that is a file is no data directory and is dropped; a directory the operator
    named (``data_dirs``) was checked on the host before (``check_data_dirs``).
    """
    result = []
    for path, source in candidates:
        info = path_info.get(os.path.normpath(path), {})
        if info.get("exists") and not info.get("is_dir"):
            if source == "default":
                continue
            if source != "operator":
                path, source = os.path.dirname(os.path.normpath(path)), source + "_file"
        result.append((path, source))
    return result


def check_data_dirs(data_dirs: t.Sequence[str], path_info: t.Callable[[str], dict[str, t.Any]]) -> None:
    """Refuse, before anything is read or built, a data directory the operator named that is not one."""
    for index, path in enumerate(data_dirs):
        field = "data_dirs[%d]" % index
        if not isinstance(path, str) or not path.startswith("/") or os.path.normpath(path) != path or path == "/":
            raise DiscoveryError("%s: %r is not a normalised absolute path below / (a directory of the service's data)" % (field, path))
        info = path_info(path)
        if not info.get("exists"):
            raise DiscoveryError("%s: %s does not exist on this host; name a directory the service keeps its data in" % (field, path))
        if not info.get("is_dir"):
            raise DiscoveryError("%s: %s is not a directory on this host; a data directory becomes a volume, so name the"
                                 " directory that holds the file (%s)" % (field, path, os.path.dirname(path)))


def _locations(candidates: t.Iterable[tuple[str, str]], path_info: dict[str, dict[str, t.Any]]) -> list[dict[str, t.Any]]:
    """Deduplicated {path, source, exists}; defaults that do not exist are left out."""
    result = []
    seen = set()
    for path, source in candidates:
        path = os.path.normpath(path)
        if path in seen:
            continue
        info = path_info.get(path, {})
        exists = bool(info.get("exists"))
        if source == "default" and not exists:
            continue
        seen.add(path)
        result.append({"path": path, "source": source, "exists": exists, "is_dir": bool(info.get("is_dir"))})
    return result


# --- collection on the host ----------------------------------------------------------------------

Runner = t.Callable[[t.List[str]], t.Tuple[int, str, str]]


def _run(run: Runner, argv: list[str], ok: tuple[int, ...] = (0,)) -> tuple[str, str]:
    rc, out, err = run(argv)
    if rc not in ok:
        raise DiscoveryError("%s failed (rc=%s): %s" % (" ".join(argv), rc, (err or out).strip()[:500]))
    return out, err


def _read(path: str, limit: int) -> str:
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    if b"\0" in data[:8192]:
        raise ValueError("binary")
    return data.decode("utf-8", "replace")


def resolve_unit(run: Runner, name: str) -> tuple[str, str | None, str]:
    """(unit to profile, unit it was followed from or None, its systemctl show text).

    Fails, naming the ``name`` option, when the unit is unknown, not loaded or not running. A
    oneshot wrapper without processes (``postfix.service``) is followed to the single running unit it
    consists of (``postfix@-.service``).
    """
    unit = unit_name(name)
    props = "Id,LoadState,ActiveState,SubState,Type,MainPID,ControlGroup,ConsistsOf,Description"
    out, _err = _run(run, ["systemctl", "show", "-p", props, "--", unit])
    show = parse_show(out)
    if show.get("LoadState") != "loaded":
        raise DiscoveryError("name: unit %s is not loaded (LoadState=%s)" % (unit, show.get("LoadState") or "unknown"))
    if show.get("ActiveState") != "active":
        raise DiscoveryError("name: unit %s is not running (ActiveState=%s)" % (unit, show.get("ActiveState")))
    if int(show.get("MainPID") or 0) == 0 and not show.get("ControlGroup"):
        parts = show.get("ConsistsOf", "").split()
        running = []
        for part in parts:
            part_out, _err = _run(run, ["systemctl", "show", "-p", props, "--", part])
            if parse_show(part_out).get("ActiveState") == "active" and parse_show(part_out).get("ControlGroup"):
                running.append((part, part_out))
        if len(running) == 1:
            return running[0][0], unit, running[0][1]
        if not running:
            raise DiscoveryError(
                "name: unit %s is %s/%s but runs no process and consists of no running unit" % (unit, show.get("ActiveState"), show.get("SubState"))
            )
        raise DiscoveryError(
            "name: unit %s runs no process itself; it consists of %s: ask for one of them" % (unit, ", ".join(p for p, _o in running))
        )
    return unit, None, out


def service_pids(show: dict[str, str], read: t.Callable[[str], str]) -> tuple[list[int], str]:
    """PIDs of the service from its cgroup, else MainPID and its children from /proc."""
    for path in cgroup_procs_paths(show.get("ControlGroup", "")):
        try:
            pids = parse_pids(read(path))
        except (OSError, DiscoveryError):
            continue
        if pids:
            return pids, "cgroup"
    ppids = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppids[int(entry)] = parse_proc_stat_ppid(read("/proc/%s/stat" % entry))
            except (OSError, DiscoveryError):
                continue
    return descendants(int(show.get("MainPID") or 0), ppids), "proc"


def collect(run: Runner, name: str, config_paths: t.Sequence[str] = (), max_files: int = DEFAULT_MAX_FILES,
            max_file_size: int = DEFAULT_MAX_FILE_SIZE, secret_keys: t.Sequence[str] = (), env_allow: t.Sequence[str] = (),
            data_dirs: t.Sequence[str] = ()) -> dict[str, t.Any]:
    """Gather the raw inputs on this host and build the profile (read-only).

    ``secret_keys`` (regexes) extend the names that mark a secret; ``env_allow`` (fnmatch patterns)
    the environment variables whose values may go into the image (``_secrets``); ``data_dirs`` are
    directories of the service's data that discovery would not find (each must be a directory here).
    """
    compile_patterns(secret_keys)  # a bad pattern fails before anything is read
    check_data_dirs(data_dirs, _path_info)
    unit, followed_from, show_text = resolve_unit(run, name)
    show = parse_show(show_text)
    cat, _err = _run(run, ["systemctl", "cat", "--", unit])
    parsed = parse_unit(cat, unit)

    def read_small(path: str) -> str:
        return _read(path, 65536)

    pids, pid_source = service_pids(show, read_small)
    ss, _err = _run(run, ["ss", "-ltnupH"])

    executables = []
    if parsed["exec_start"]:
        exe = parsed["exec_start"][0]["path"]
        if not exe.startswith("/"):  # systemd looks bare names up in its PATH
            exe = shutil.which(exe, path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") or exe
        executables = [exe]
        real = os.path.realpath(exe)
        if real != exe:
            executables.append(real)
    script = script_path(parsed["exec_start"])

    # Who ships the executable (and the script): their names also name /etc, /var/log, /var/lib dirs.
    first = [p for p in executables + ([script] if script else []) if not re.search(r"[*?\[\]\\]", p)]
    exe_out, exe_err = _run(run, ["dpkg", "-S", "--"] + first, ok=(0, 1)) if first else ("", "")
    owners, _missing = parse_dpkg_search(exe_out, exe_err)
    names = [service_base_name(unit)]
    if not script:  # an interpreter's package (python3-minimal) says nothing about the service
        names += [p for path in executables for p in owners.get(path, []) if p not in names]

    files: dict[str, dict[str, str]] = {}
    skipped: list[dict[str, str]] = []
    seen_real: set[str] = set()

    def add_file(path: str, source: str) -> None:
        real = os.path.realpath(path)
        if real in seen_real or path in files:
            return
        if len(files) >= max_files:
            skipped.append({"path": path, "reason": "over max_files (%d)" % max_files})
            return
        try:
            size = os.stat(path).st_size
            if size > max_file_size:
                skipped.append({"path": path, "reason": "larger than max_file_size (%d bytes)" % size})
                return
            text = _read(path, max_file_size)
        except ValueError:
            skipped.append({"path": path, "reason": "binary"})
            return
        except OSError as exc:
            skipped.append({"path": path, "reason": exc.strerror or str(exc)})
            return
        seen_real.add(real)
        files[path] = {"source": source, "text": text}

    links: list[dict[str, str]] = []
    for path, source in config_candidates(parsed, names, config_paths):
        if os.path.isdir(path):
            for root, dirs, filenames in os.walk(path):
                dirs.sort()
                # Symlinks (nginx sites-enabled, modules-enabled): recorded as links, their targets read as files.
                links += [{"path": os.path.join(root, n), "target": os.readlink(os.path.join(root, n))}
                          for n in sorted(dirs + filenames) if os.path.islink(os.path.join(root, n))]
                for filename in sorted(filenames):
                    add_file(os.path.join(root, filename), source)
        elif os.path.isfile(path):
            add_file(path, source)
        elif source == "exec_start" and not re.search(r"\.(conf|cfg|cnf|ini|ya?ml|json|toml|properties|env)$", path):
            continue  # arguments that are not config files (sockets, pid files, output directories)
        elif source != "etc_dir":
            skipped.append({"path": path, "reason": "not found"})

    # Files under /etc that the config names (one level: /etc/mailname, /etc/aliases, TLS files).
    for path, info in list(files.items()):
        for found in scan_config(path, info["text"])["paths"]:
            ref = os.path.normpath(found["path"])
            if ref.startswith("/etc/") and ref not in files and os.path.isfile(ref):
                add_file(ref, "referenced")

    queries = [p for p in sorted(files) if not re.search(r"[*?\[\]\\]", p)]
    dpkg_out, dpkg_err = _run(run, ["dpkg", "-S", "--"] + queries, ok=(0, 1)) if queries else ("", "")
    dpkg_out, dpkg_err = exe_out + dpkg_out, exe_err + dpkg_err
    package_names = names
    status, _err = _run(run, ["dpkg-query", "-W", "-f", "${Package}\\t${Version}\\t${db:Status-Abbrev}\\t${Pre-Depends}\\t${Depends}\\n"])

    # Existence and ownership of log and data candidates (build_profile decides which ones).
    probe = build_profile({"unit": unit, "cat": cat, "files": files, "package_names": package_names, "data_dirs": list(data_dirs)})
    candidates = {loc["path"] for loc in probe["log_paths"] + probe["data_dirs"]}
    candidates.update(p["path"] for f, info in files.items() for p in scan_config(f, info["text"])["content"])
    candidates.update("/var/%s/%s" % (kind, n) for kind in ("log", "lib", "spool") for n in package_names)
    if parsed["working_directory"]:
        candidates.add(parsed["working_directory"])
    candidates.update(os.path.normpath(p) for p in exec_config_paths(parsed["exec_start"]))
    paths = {}
    for path in sorted(candidates):
        paths[path] = _path_info(path)
    for location in probe["data_dirs"]:
        info = paths.get(location["path"], {})
        if info.get("exists") and not info.get("is_dir"):  # a file a config names: its directory holds the data
            parent = os.path.dirname(location["path"])
            paths[parent] = _path_info(parent)
            location = {"path": parent}
        if paths.get(location["path"], {}).get("is_dir"):
            paths[location["path"]]["size"] = _dir_size(location["path"])
    return build_profile(
        {
            "requested": name, "unit": unit, "followed_from": followed_from, "show": show_text, "cat": cat, "ss": ss,
            "pids": pids, "pid_source": pid_source, "dpkg_search": {"stdout": dpkg_out, "stderr": dpkg_err},
            "dpkg_status": status, "files": files, "skipped_files": skipped, "paths": paths,
            "package_names": package_names, "executables": executables, "links": links,
            "secret_keys": list(secret_keys), "env_allow": list(env_allow), "data_dirs": list(data_dirs),
        }
    )


def _dir_size(path: str, limit: int = 100000) -> int:
    """Bytes of the regular files under ``path`` (at most ``limit`` files are counted)."""
    total = 0
    count = 0
    for root, _dirs, names in os.walk(path):
        for name in names:
            count += 1
            if count > limit:
                return total
            try:
                st = os.lstat(os.path.join(root, name))
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                total += st.st_size
    return total


def _path_info(path: str) -> dict[str, t.Any]:
    try:
        st = os.stat(path)
    except OSError:
        return {"exists": False}
    try:
        owner = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        owner = str(st.st_uid)
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    return {"exists": True, "is_dir": stat.S_ISDIR(st.st_mode), "owner": owner, "group": group, "mode": stat.S_IMODE(st.st_mode)}
