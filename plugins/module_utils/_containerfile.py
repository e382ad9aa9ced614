# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The image build context of a legacy service, rendered from its profile (no hand-written Dockerfile).

Private to this collection (the leading underscore): importable and unit-testable without Ansible,
stdlib only. ``render_context(profile, base_image, files)`` takes the profile built by
``_discovery.build_profile`` and the contents of the service's files (config files and its own
script/app directory, read by the caller) and returns the Containerfile, the files of the context,
what was left out and why, and a content tag.

Rules (documented, tested):

* Config files are copied to their absolute paths, except files that hold a secret (listed in the
  profile's ``secrets`` or found again by the config scanner in the content given): those are left
  out and mounted from a Kubernetes Secret at deploy time. Binary and oversized files are left out too.
  Files of the app directory are copied unless oversized or listed in the profile's ``secrets`` (the
  config scanner is not run on code: ``cfg["api_key"]`` is not a secret).
* Environment values that discovery ``REDACTED`` are never written; they are listed in ``excluded``.
* A forking daemon must run in the foreground in a container: ``FOREGROUND`` is a small explicit
  table of known daemons and the command that keeps them in the foreground; any other forking
  service needs the ``command`` option.
* The output is deterministic: the same profile and files give a byte-identical Containerfile and
  the same tag (the first 12 hex digits of a sha256 over the Containerfile and every context file,
  path and content, in sorted order). A left-out file never reaches the tag.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import stat
import typing as t

from ansible_collections.replatform.kubernetes.plugins.module_utils._discovery import (
    REDACTED,
    is_log_path,
    parse_environment_file,
    parse_unit,
    scan_config,
)
from ansible_collections.replatform.kubernetes.plugins.module_utils._foreground import ForegroundError, apply_rule, find_rule, known_names

DEFAULT_MAX_FILE_SIZE = 1024 * 1024
# The service user's fixed UID/GID in every image, so the Deployment can say runAsUser (Kubernetes'
# runAsNonRoot cannot check a user name) and files the image owns stay the pod's.
SERVICE_UID = 10001
# PID 1 in the container: forwards SIGTERM to the service and reaps zombies, so pods stop gracefully
# (connections drain) instead of being killed after the grace period.
INIT = "/usr/bin/tini"
INIT_PACKAGE = "tini"

# Ports that look like HTTP: the health check prefers them (the check itself is a TCP connect).
HTTP_PORTS = (80, 443, 8080, 8081, 8082)
SMTP_PORTS = (25, 587)

SECRET_REASON = "holds secrets: mounted from a Kubernetes Secret at deploy time"
LOG_REASON = "a log file: logs go to the container's output, never into the image"
SECRET_ENV_REASON = "secret value (REDACTED by discovery): set from a Kubernetes Secret at deploy time"

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_PART = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)"
_IMAGE = re.compile(
    r"^(?P<registry>(?:%s(?:\.%s)*(?::[0-9]{1,5})?))/(?P<name>%s(?:/%s)*)(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
    % (_DOMAIN_PART, _DOMAIN_PART, _COMPONENT, _COMPONENT)
)
_DEBIAN_PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")
_USER_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PATH = re.compile(r"^/[A-Za-z0-9._+@%=:,~-]+(?:/[A-Za-z0-9._+@%=:,~-]+)*/?$")


class ContainerfileError(Exception):
    """A profile, file or option the Containerfile cannot be rendered from; the message names the field."""


# --- validation ----------------------------------------------------------------------------------


def validate_image(value: t.Any, field: str = "base_image") -> str:
    """A fully qualified image reference: registry[:port]/name[:tag][@sha256:digest], lower-case name."""
    registry = value.split("/", 1)[0] if isinstance(value, str) else ""
    if not isinstance(value, str) or not _IMAGE.match(value) or ("." not in registry and ":" not in registry and registry != "localhost"):
        raise ContainerfileError(
            "%s: %r is not a valid image reference (registry[:port]/name[:tag|@sha256:digest], lower-case name)" % (field, value)
        )
    port = registry.rpartition(":")[2] if ":" in registry else ""
    if port and not 1 <= int(port) <= 65535:
        raise ContainerfileError("%s: registry port %s is out of range 1-65535" % (field, port))
    return value


def _path(value: t.Any, field: str) -> str:
    if not isinstance(value, str) or not _PATH.match(value) or "/../" in value + "/" or "/./" in value + "/" or "//" in value:
        raise ContainerfileError("%s: %r is not an absolute, normalized path of letters, digits and ._+@%%=:,~-" % (field, value))
    return value.rstrip("/") or "/"


def _port(value: t.Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ContainerfileError("%s: %r is not an integer port" % (field, value))
    if not 1 <= value <= 65535:
        raise ContainerfileError("%s: %d is out of range 1-65535" % (field, value))
    return value


def _user(value: t.Any, field: str) -> str:
    if not isinstance(value, str) or not _USER_NAME.match(value):
        raise ContainerfileError("%s: %r is not a valid user or group name ([a-z_][a-z0-9_-]*, at most 32)" % (field, value))
    return value


def _env_value(name: str, value: t.Any, field: str) -> str:
    if not isinstance(value, str) or re.search(r"[\x00-\x1f\x7f]", value):
        raise ContainerfileError("%s: the value of %s must be a string without control characters" % (field, name))
    return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")


def _as_bytes(content: t.Any, field: str) -> bytes:
    if isinstance(content, bytes):
        return content
    if isinstance(content, str):
        return content.encode("utf-8")
    raise ContainerfileError("%s: content must be bytes or str, not %s" % (field, type(content).__name__))


# --- pieces --------------------------------------------------------------------------------------


DATA_SOURCES = ("state_directory", "config", "config_file", "default", "operator")


def data_directories(profile: dict[str, t.Any]) -> list[str]:
    """The data directories the image makes (empty) and the Deployment mounts a volume on.

    One that exists on the legacy host as a file is refused: it would become a volume over a file.
    Directories inside code (``app_directories``) are the code's, not data.
    """
    code = app_directories(profile)
    result = []
    for index, item in enumerate(profile.get("data_dirs") or []):
        field = "profile.data_dirs[%d].path" % index
        path = _path(item.get("path") if isinstance(item, dict) else None, field)
        if path == "/":
            raise ContainerfileError("%s: '/' cannot be a data directory" % field)
        if item.get("exists") and not item.get("is_dir"):
            raise ContainerfileError("%s: %s is not a directory on the legacy host; a data directory becomes a volume "
                                     "(discover again: a file a config names stands for its directory)" % (field, path))
        if not (item.get("is_dir") or item.get("source") in DATA_SOURCES):
            continue
        if any(path == d or path.startswith(d + "/") for d in code) or path in result:
            continue
        result.append(path)
    return result


def app_directories(profile: dict[str, t.Any]) -> list[str]:
    """Where the service's own code lives, copied into the image.

    The WorkingDirectory holding the script, else the script's directory; and the profile's
    ``app_dirs`` (an unpackaged WorkingDirectory, directories the command line names). Nested
    directories are left out (their parent is copied whole).
    """
    found = []
    script = profile.get("script")
    if script:
        script = _path(script, "profile.script")
        workdir = profile.get("working_directory")
        if workdir and workdir != "/" and script.startswith(_path(workdir, "profile.working_directory").rstrip("/") + "/"):
            found.append(workdir.rstrip("/"))
        else:
            found.append(os.path.dirname(script))
    for index, item in enumerate(profile.get("app_dirs") or []):
        found.append(_path(item.get("path") if isinstance(item, dict) else item, "profile.app_dirs[%d].path" % index))
    found = sorted(set(found))
    return [d for d in found if not any(d.startswith(o + "/") for o in found if o != d)]


def exec_secret_env(index: int) -> str:
    """The environment variable that carries the value of ExecStart argument ``index`` when it is a secret."""
    return "REPLATFORM_EXEC_ARG_%d" % index


_VARIABLE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def _shell_word(arg: str, index: int) -> str:
    """One ExecStart argument as a /bin/sh word that expands like systemd does.

    REDACTED -> the variable of the secret argument; a lone ``$NAME`` -> unquoted (split into words,
    gone when empty, as systemd splits it); ``${NAME}`` -> one word; ``$$`` -> a literal ``$``.
    """
    if REDACTED in arg:
        prefix = arg.partition(REDACTED)[0]
        return (shlex.quote(prefix) if prefix else "") + '"$%s"' % exec_secret_env(index)
    lone = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", arg)
    if lone:
        return "$" + lone.group(1)
    words, last = [], 0
    for match in _VARIABLE.finditer(arg):
        words.append(shlex.quote(arg[last:match.start()]) if match.start() > last else "")
        words.append("'$'" if match.group(0) == "$$" else '"${%s}"' % (match.group(1) or match.group(2)))
        last = match.end()
    words.append(shlex.quote(arg[last:]) if last < len(arg) or not words else "")
    return "".join(words)


def _with_secret_args(argv: list[str]) -> list[str]:
    """argv run by /bin/sh when it holds a secret (REDACTED) or a systemd ``$VARIABLE``, else as it is.

    The variables come from the image's ENV and the secret environment (a Kubernetes Secret).
    """
    if not any(REDACTED in a or _VARIABLE.search(a) for a in argv):
        return argv
    return ["/bin/sh", "-c", "exec " + " ".join(_shell_word(arg, index) for index, arg in enumerate(argv))]


def foreground_command(profile: dict[str, t.Any], command: t.Sequence[str] | None = None, files: dict[str, t.Any] | None = None,
                       rules: dict[str, dict[str, t.Any]] | None = None) -> list[str]:
    """The container's command (JSON exec form argv): ``command`` if given, else the main ExecStart made foreground.

    A forking unit's daemon runs with its foreground rule (``_foreground``: the defaults and ``rules``);
    one without a rule is refused. Secret arguments (REDACTED by discovery) come from the environment.
    """
    if command is not None:
        if not command or not all(isinstance(a, str) and a for a in command):
            raise ContainerfileError("command: must be a non-empty list of non-empty strings")
        return list(command)
    exec_start = profile.get("exec_start") or []
    if not exec_start or not exec_start[0].get("argv"):
        raise ContainerfileError("profile.exec_start: the unit has no ExecStart; pass command")
    argv = list(exec_start[0]["argv"])
    for index, arg in enumerate(argv):
        if not isinstance(arg, str):
            raise ContainerfileError("profile.exec_start[0].argv[%d]: %r is not a string" % (index, arg))
    try:
        found = find_rule(argv[0], rules)
    except ForegroundError as exc:
        raise ContainerfileError(str(exc)) from None
    rule = found[1] if found else None
    forking = profile.get("type") == "forking"
    if rule and rule.get("postmap"):
        maps = postfix_tables(profile, files or {})["start"]
        if maps:
            # hash: maps are built from the text file at start: the text comes from a Kubernetes Secret.
            script = "".join('if [ -f %s ]; then postmap %s; fi; ' % (shlex.quote(m), shlex.quote(m)) for m in maps)
            return ["/bin/sh", "-ec", script + "exec " + " ".join(shlex.quote(a) for a in rule["argv"])]
    if rule and rule.get("nginx_g"):
        return _with_secret_args(_nginx_foreground(argv))
    if rule and (forking or rule.get("always") or rule.get("argv")):
        return _with_secret_args(apply_rule(argv, rule))
    if forking:
        raise ContainerfileError(
            "profile.type: forking service %s has no foreground rule (known: %s); add one to containerize_foreground "
            "(for example {%s: {append: [--foreground]}}, the daemon's own flag) or set containerize_command"
            % (argv[0], ", ".join(known_names(rules)), os.path.basename(argv[0]))
        )
    return _with_secret_args(argv)


_POSTFIX_TABLE = re.compile(r"\b(?:hash|btree|lmdb|cdb|dbm):(/[A-Za-z0-9._/+-]+)")


def postfix_tables(profile: dict[str, t.Any], files: dict[str, t.Any]) -> dict[str, list[str]]:
    """Indexed lookup tables of postfix's main.cf (``hash:/etc/aliases``), whose compiled files must match the text.

    ``build``: tables whose text is in the image (compiled with postmap/postalias when the image is built);
    ``start``: tables that hold secrets (sasl_passwd; compiled when the container starts, from the Secret).
    """
    secret_files = {s.get("file") for s in profile.get("secrets") or [] if isinstance(s, dict)}
    skipped_db = {item.get("path")[:-3] for item in profile.get("skipped_files") or [] if isinstance(item, dict) and str(item.get("path")).endswith(".db")}
    tables = set(p for p in skipped_db if p in secret_files)
    for path, content in files.items():
        if os.path.basename(path) == "main.cf":
            text = content.decode("utf-8", "replace") if isinstance(content, bytes) else str(content)
            lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
            tables.update(_POSTFIX_TABLE.findall("\n".join(lines)))
    return {
        "build": sorted(p for p in tables if p in files and p not in secret_files),
        "start": sorted(p for p in tables if p in secret_files),
    }


def _nginx_foreground(argv: list[str]) -> list[str]:
    """nginx argv with ``-g`` directives holding ``daemon off;`` (a later -g replaces an earlier one)."""
    directives: list[str] = []
    rest = [argv[0]]
    index = 1
    while index < len(argv):
        if argv[index] == "-g" and index + 1 < len(argv):
            directives = [d.strip() for d in argv[index + 1].split(";") if d.strip()]
            index += 2
            continue
        rest.append(argv[index])
        index += 1
    kept = [d for d in directives if not re.match(r"^daemon\s", d)]
    return rest + ["-g", " ".join(d + ";" for d in ["daemon off"] + kept)]


def health_port(listeners: list[dict[str, t.Any]], hint: int | None = None) -> tuple[int, str] | None:
    """(port, address) to check: the hint, else an HTTP-looking port, else SMTP, else the lowest TCP port."""
    tcp = [item for item in listeners if item["proto"] == "tcp"]
    if not tcp:
        return None
    ports = sorted({item["port"] for item in tcp})
    if hint is not None:
        port = hint
    else:
        port = next((p for p in ports if p in HTTP_PORTS), None) or next((p for p in ports if p in SMTP_PORTS), None) or ports[0]
    addresses = {item["address"] for item in tcp if item["port"] == port}
    address = "::1" if addresses and all(":" in a for a in addresses) else "127.0.0.1"
    return port, address


# --- the context ---------------------------------------------------------------------------------


def render_context(
    profile: dict[str, t.Any],
    base_image: str,
    files: dict[str, t.Any] | None = None,
    command: t.Sequence[str] | None = None,
    health_check_port: int | None = None,
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    mtimes: dict[str, float] | None = None,
    modes: dict[str, dict[str, t.Any]] | None = None,
    rules: dict[str, dict[str, t.Any]] | None = None,
) -> dict[str, t.Any]:
    """The build context of the service's image.

    ``modes`` (host path -> {mode, owner, group}) gives code and content files their mode and owner on
    the host; ``rules`` are the user's foreground rules (``_foreground``).

    ``files`` maps absolute paths to their content (bytes or str): the profile's config files and the
    files of its script/app directory. ``mtimes`` (host path -> modification time) gives served files
    their time on the host: web servers derive Last-Modified and ETag from it, and a COPY does not keep
    it reliably (the layer cache ignores times). Returns ``{"containerfile": text, "files": {context path: bytes},
    "excluded": [{"path", "reason"}], "tag": 12 hex digits}``.
    """
    if not isinstance(profile, dict):
        raise ContainerfileError("profile: must be a dict (the legacy_service profile)")
    image = validate_image(base_image)
    files = dict(files or {})
    for path in files:
        _path(path, "files[%r]" % path)
    if health_check_port is not None:
        _port(health_check_port, "health_check_port")
    unit = profile.get("unit") or "service"
    argv = foreground_command(profile, command, files, rules)

    # Packages.
    packages = set()
    for index, package in enumerate(profile.get("packages") or []):
        name = package.get("name") if isinstance(package, dict) else package
        if not isinstance(name, str) or not _DEBIAN_PACKAGE.match(name):
            raise ContainerfileError("profile.packages[%d].name: %r is not a Debian package name ([a-z0-9][a-z0-9+.-]+)" % (index, name))
        packages.add(name)
    first = ((profile.get("exec_start") or [{}])[0].get("argv") or [profile.get("executable") or ""])[0]
    known = (find_rule(str(first), rules) or (None, None))[1]
    if known and known.get("package") and not packages:
        packages.add(known["package"])
    packages.add(INIT_PACKAGE)

    # User and group.
    user = _user(profile.get("user") or "root", "profile.user")
    group = _user(profile.get("group"), "profile.group") if profile.get("group") else None
    if user != "root" and not group:
        group = user

    # Listeners.
    listeners = []
    for index, item in enumerate(profile.get("listeners") or []):
        proto = item.get("proto", "tcp")
        if proto not in ("tcp", "udp"):
            raise ContainerfileError("profile.listeners[%d].proto: %r is not one of tcp, udp" % (index, proto))
        listeners.append({"proto": proto, "port": _port(item.get("port"), "profile.listeners[%d].port" % index),
                          "address": str(item.get("address") or "0.0.0.0")})
    exposed = sorted({(item["port"], item["proto"]) for item in listeners})

    excluded: list[dict[str, str]] = []
    context: dict[str, bytes] = {}
    copies: list[tuple[str, str]] = []
    secret_files = {s.get("file") for s in profile.get("secrets") or [] if isinstance(s, dict)}

    def take(path: str, content: bytes, kind: str) -> bool:
        if is_log_path(path):
            excluded.append({"path": path, "reason": LOG_REASON})
            return False
        if len(content) > max_file_size:
            excluded.append({"path": path, "reason": "larger than max_file_size (%d bytes)" % len(content)})
            return False
        binary = b"\0" in content[:8192]
        if binary and kind == "config":
            excluded.append({"path": path, "reason": "binary"})
            return False
        if path in secret_files or (kind == "config" and not binary and scan_config(path, content.decode("utf-8", "replace"))["secrets"]):
            excluded.append({"path": path, "reason": SECRET_REASON})
            return False
        context["rootfs" + path] = content
        return True

    # Symlinks of the config directories: made as links, not copied as files.
    links = []
    for index, link in enumerate(profile.get("config_links") or []):
        if not isinstance(link, dict):
            raise ContainerfileError("profile.config_links[%d]: must be a dict with path and target" % index)
        path = _path(link.get("path"), "profile.config_links[%d].path" % index)
        target = link.get("target")
        if not isinstance(target, str) or not target or re.search(r"[\x00-\x1f\x7f]", target):
            raise ContainerfileError("profile.config_links[%d].target: %r is not a link target" % (index, target))
        links.append((path, target))
    link_paths = {path for path, _target in links}

    # Config files.
    config_paths = []
    for index, config in enumerate(profile.get("config_files") or []):
        config_paths.append(_path(config.get("path") if isinstance(config, dict) else config, "profile.config_files[%d].path" % index))
    for path in sorted(set(config_paths)):
        if path in link_paths:
            excluded.append({"path": path, "reason": "a symlink on the host: made as the same link"})
            continue
        if path in secret_files:
            excluded.append({"path": path, "reason": SECRET_REASON})
            continue
        if path not in files:
            excluded.append({"path": path, "reason": "content not provided in files"})
            continue
        content = _as_bytes(files[path], "files[%r]" % path)
        if take(path, content, "config"):
            copies.append(("rootfs" + path, path))

    # Served content (web roots): copied as it is.
    content_dirs = []
    for index, item in enumerate(profile.get("content_dirs") or []):
        content_dirs.append(_path(item.get("path") if isinstance(item, dict) else item, "profile.content_dirs[%d].path" % index))
    content_files = sorted(
        p for p in files if p not in config_paths and any(p.startswith(d.rstrip("/") + "/") for d in content_dirs)
    )
    for path in content_files:
        take(path, _as_bytes(files[path], "files[%r]" % path), "content")
    for directory in sorted(set(content_dirs)):
        if any(name.startswith("rootfs" + directory.rstrip("/") + "/") for name in context):
            copies.append(("rootfs" + directory.rstrip("/") + "/", directory.rstrip("/") + "/"))

    # The service's own code: its script/app directories, with owner and mode; never its logs.
    app_dirs = app_directories(profile)
    app_files = sorted(
        p for p in files if any(p.startswith(d + "/") for d in app_dirs) and p not in config_paths and p not in content_files
    )
    taken = [path for path in app_files if take(path, _as_bytes(files[path], "files[%r]" % path), "app")]
    script = profile.get("script")
    if script and script not in taken:
        reason = next((e["reason"] for e in excluded if e["path"] == script), "not provided in files")
        raise ContainerfileError("files: the script %s cannot be copied into the image (%s)" % (script, reason))
    for directory in app_dirs:
        if any(p.startswith(directory + "/") for p in taken):
            copies.append(("rootfs" + directory + "/", directory + "/"))
    for path in sorted(set(files) - set(config_paths) - set(app_files) - set(content_files)):
        excluded.append({"path": path, "reason": "not a config file, served content or under the app directory of the profile"})
    ownership = _ownership(profile, sorted(set(taken) | {p for p in content_files if "rootfs" + p in context}), modes or {}, user, group)

    # Environment: Environment= then EnvironmentFile= (which overrides it, as in systemd).
    environment: dict[str, str] = {}
    for name, value in sorted((profile.get("environment") or {}).items()):
        if not isinstance(name, str) or not _ENV_NAME.match(name):
            raise ContainerfileError("profile.environment: %r is not a valid variable name ([A-Za-z_][A-Za-z0-9_]*)" % (name,))
        if value == REDACTED:
            excluded.append({"path": "Environment=" + name, "reason": SECRET_ENV_REASON})
            continue
        environment[name] = value

    # Logs and data directories.
    log_files, make_dirs = [], []
    for index, item in enumerate(profile.get("log_paths") or []):
        path = _path(item.get("path"), "profile.log_paths[%d].path" % index)
        if not path.startswith("/var/log/") and item.get("source") != "exec_start":
            continue
        if item.get("is_dir"):
            make_dirs.append(path)
        elif item.get("exists") or item.get("source") == "config":
            log_files.append(path)
    make_dirs += data_directories(profile)
    make_dirs += [os.path.dirname(p) for p in log_files if os.path.dirname(p) != "/var/log" and not any(
        os.path.dirname(p) == d or os.path.dirname(p).startswith(d + "/") for d in app_dirs)]
    make_dirs = sorted(set(make_dirs))

    lines = [
        "# Generated by replatform.kubernetes from the profile of %s; do not edit, render again." % unit,
        "FROM %s" % image,
    ]
    if packages:
        lines.append(
            "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends %s && rm -rf /var/lib/apt/lists/*"
            % " ".join(sorted(packages))
        )
    if user != "root":
        lines.append("# The service's user and group get the fixed ID the Deployment runs as; a package's own user (redis) is moved to it.")
        lines.append(
            "RUN (getent group {g} >/dev/null || groupadd --system --gid {uid} {g}) && (id -u {u} >/dev/null 2>&1 || useradd --system"
            " --uid {uid} --gid {g} --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin {u})"
            " && og=$(getent group {g} | cut -d: -f3) && if [ \"$og\" != {uid} ]; then groupmod -g {uid} {g}"
            " && find / -xdev -gid \"$og\" -exec chgrp -h {g} {{}} +; fi"
            " && ou=$(id -u {u}) && if [ \"$ou\" != {uid} ]; then usermod -u {uid} -g {g} {u}"
            " && find / -xdev -uid \"$ou\" -exec chown -h {u} {{}} +; fi".format(u=user, g=group, uid=SERVICE_UID)
        )
    if make_dirs:
        # Only missing ones: a package's own directories (/var/spool/postfix) keep their owners and modes.
        lines.append(
            "RUN for d in %s; do [ -e \"$d\" ] || install -d -o %s -g %s -m 0750 \"$d\"; done"
            % (" ".join(shlex.quote(d) for d in make_dirs), user, group or "root")
        )
    if log_files and known is not None and known.get("log_links") is False:
        lines.append("# Logs stay files (%s refuses a log that is a link): in a directory the service can write." % os.path.basename(str(first)))
        log_files = []
    if log_files:
        lines.append("# Logs go to the container's output.")
        lines.append("RUN " + " && ".join("ln -sf /dev/stdout %s" % shlex.quote(p) for p in sorted(set(log_files))))
    for item in sorted(excluded, key=lambda e: e["path"]):
        if item["reason"] == SECRET_REASON:
            lines.append("# Not in the image (%s): %s" % (SECRET_REASON, item["path"]))
    for source, target in _grouped(copies):
        lines.append("COPY %s %s" % (source, target))
    if ownership:
        lines.append("# Code and content keep their owner and mode on the host.")
        lines.append("RUN " + " && ".join(
            "chown -h %s %s && chmod %s %s" % (owner, " ".join(map(shlex.quote, paths)), mode, " ".join(map(shlex.quote, paths)))
            for (owner, mode), paths in sorted(ownership.items())))
    served = sorted(p for p in content_files if "rootfs" + p in context and p in (mtimes or {}))
    if served:
        by_time: dict[int, list[str]] = {}
        for path in served:
            by_time.setdefault(int(mtimes[path]), []).append(path)  # type: ignore[index]
        lines.append("# Served files keep their modification time on the host (Last-Modified, ETag).")
        lines.append("RUN " + " && ".join(
            "touch -m -d @%d %s" % (when, " ".join(shlex.quote(p) for p in paths)) for when, paths in sorted(by_time.items())))
    if known and known.get("postmap"):
        # Lookup tables whose compiled .db discovery skipped as binary: compiled again from the copied text.
        copied = {target for _source, target in copies}
        tables = [p for p in postfix_tables(profile, files)["build"] if p in copied]
        if tables:
            lines.append("RUN " + " && ".join(
                ("postalias %s" if os.path.basename(p) == "aliases" else "postmap %s") % shlex.quote(p) for p in tables))
    if links:
        by_dir: dict[str, list[tuple[str, str]]] = {}
        for path, target in sorted(links):
            by_dir.setdefault(os.path.dirname(path), []).append((path, target))
        lines.append("# The config directories' links as on the host (a package's own links there are replaced).")
        lines.append("RUN " + " && ".join(
            "mkdir -p {d} && find {d} -maxdepth 1 -type l -delete && {ln}".format(
                d=shlex.quote(directory), ln=" && ".join("ln -sfn %s %s" % (shlex.quote(tg), shlex.quote(p)) for p, tg in entries))
            for directory, entries in sorted(by_dir.items())
        ))
    for name in sorted(environment):
        lines.append("ENV %s=%s" % (name, _env_value(name, environment[name], "profile.environment")))
    if profile.get("working_directory"):
        lines.append("WORKDIR %s" % _path(profile["working_directory"], "profile.working_directory"))
    if exposed:
        lines.append("EXPOSE %s" % " ".join("%d" % p if proto == "tcp" else "%d/%s" % (p, proto) for p, proto in exposed))
    if user == "root":
        lines.append("# The unit runs as root (no User=): so does the image; set User= on the legacy host first to change that.")
        lines.append("USER root")
    else:
        lines.append("USER %s" % user)
    check = health_port(listeners, health_check_port)
    if check:
        lines.append(
            "HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 CMD %s"
            % json.dumps(["bash", "-c", "</dev/tcp/%s/%d" % (check[1], check[0])])
        )
    lines.append("ENTRYPOINT %s" % json.dumps([INIT, "--"]))
    lines.append("CMD %s" % json.dumps(argv))
    containerfile = "\n".join(lines) + "\n"

    return {
        "containerfile": containerfile,
        "files": dict(sorted(context.items())),
        "excluded": sorted(excluded, key=lambda e: (e["path"], e["reason"])),
        "tag": context_tag(containerfile, context),
    }


# Users every Debian base image has (base-passwd): a file the host gives one of them keeps it.
BASE_USERS = frozenset(("root", "daemon", "bin", "sys", "games", "man", "lp", "mail", "news", "uucp", "proxy", "www-data",
                        "backup", "list", "irc", "nobody", "staff", "adm", "users", "nogroup"))


def _grouped(copies: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """COPY pairs, a file in a directory at least two levels deep copied with its directory.

    Every file under ``rootfs/`` is one of the context's, so ``COPY rootfs/etc/apache2/ /etc/apache2/``
    copies exactly those; one COPY per file made a layer per file, and overlay storage refuses more than
    128 (apache2's config alone has 160 files).
    """
    result = set()
    for source, target in copies:
        parts = target.strip("/").split("/")
        if len(parts) >= 3 and not target.endswith("/"):
            directory = "/" + "/".join(parts[:2]) + "/"
            result.add(("rootfs" + directory, directory))
        else:
            result.add((source, target))
    tops = sorted(result)
    return [(s, t) for s, t in tops if not any(t != o and t.startswith(o) and o.endswith("/") for _s, o in tops)]


def _ownership(profile: dict[str, t.Any], paths: list[str], modes: dict[str, dict[str, t.Any]], user: str, group: str | None
               ) -> dict[tuple[str, str], list[str]]:
    """{(owner:group, mode): paths} for files (and app directories) whose host owner or mode differs from COPY's root 0644.

    The service's user keeps its files (as the image's fixed UID); base-image users keep theirs; any
    other owner becomes root. Set-id and sticky bits are dropped (Pod Security restricted).
    """
    def name(value: t.Any, own: str | None) -> str:
        value = str(value or "root")
        return value if value in BASE_USERS or value == own else "root"

    result: dict[tuple[str, str], list[str]] = {}
    entries = [(p, modes.get(p)) for p in paths]
    entries += [(d["path"], d) for d in profile.get("app_dirs") or [] if isinstance(d, dict) and d.get("mode") is not None]
    for path, info in entries:
        if not isinstance(info, dict):
            continue
        mode = info.get("mode")
        try:
            bits = (int(mode, 8) if isinstance(mode, str) else int(mode)) & 0o777
        except (TypeError, ValueError):
            raise ContainerfileError("modes[%r].mode: %r is not an octal file mode" % (path, mode)) from None
        owner = "%s:%s" % (name(info.get("owner"), user), name(info.get("group"), group or user))
        default = 0o755 if path in [d.get("path") for d in profile.get("app_dirs") or [] if isinstance(d, dict)] else 0o644
        if owner != "root:root" or bits != default:
            result.setdefault((owner, "%04o" % bits), []).append(_path(path, "modes"))
    return result


def context_tag(containerfile: str, files: dict[str, bytes]) -> str:
    """First 12 hex digits of sha256 over the Containerfile and each file (path and content), sorted by path."""
    digest = hashlib.sha256()
    for path, content in [("Containerfile", containerfile.encode("utf-8"))] + sorted(files.items()):
        name = path.encode("utf-8")
        digest.update(b"%d:%s%d:%s" % (len(name), name, len(content), content))
    return digest.hexdigest()[:12]


# --- on the controller: the fetched files in, the context directory out --------------------------


def read_files(files_dir: str, paths: t.Iterable[str]) -> dict[str, bytes]:
    """``{absolute path: content}`` of the host files fetched under ``files_dir`` (laid out by absolute path)."""
    result = {}
    for path in sorted(set(paths)):
        _path(path, "paths[%r]" % path)
        local = os.path.join(files_dir, path.lstrip("/"))
        try:
            with open(local, "rb") as handle:
                result[path] = handle.read()
        except OSError as exc:
            raise ContainerfileError("paths: %s was not fetched to %s (%s)" % (path, local, exc.strerror or exc)) from None
    return result


def _make_dirs(dest: str, directory: str) -> None:
    """Create ``directory`` and its parents; those in ``dest`` mode 0755 (a COPY keeps the context's directory modes)."""
    missing = []
    probe = directory
    while not os.path.isdir(probe) and probe.startswith(dest):
        missing.append(probe)
        probe = os.path.dirname(probe)
    os.makedirs(directory, exist_ok=True)
    for path in missing:
        os.chmod(path, 0o755)


def write_context(dest: str, context: dict[str, t.Any], check_mode: bool = False) -> dict[str, list[str]]:
    """Make ``dest`` hold exactly the Containerfile and ``rootfs/`` files of ``context``.

    Files are written only when their content differs (atomically: a temp file renamed into place) and
    files under ``rootfs/`` that are no longer part of the context are removed, so the directory is
    always a faithful build context and an unchanged one is not touched. Returns the relative paths
    ``{"added": [...], "updated": [...], "removed": [...]}``; in check mode nothing is written.
    """
    wanted = {"Containerfile": context["containerfile"].encode("utf-8")}
    wanted.update(context["files"])
    present = set()
    if os.path.isfile(os.path.join(dest, "Containerfile")):
        present.add("Containerfile")
    rootfs = os.path.join(dest, "rootfs")
    for root, _dirs, names in os.walk(rootfs):
        for name in names:
            present.add(os.path.relpath(os.path.join(root, name), dest))
    changes: dict[str, list[str]] = {"added": [], "updated": [], "removed": []}
    for rel, content in sorted(wanted.items()):
        target = os.path.join(dest, rel)
        if rel in present:
            with open(target, "rb") as handle:
                if handle.read() == content:
                    continue
            changes["updated"].append(rel)
        else:
            changes["added"].append(rel)
        if not check_mode:
            _make_dirs(dest, os.path.dirname(target))
            temp = target + ".replatform-tmp"
            with open(temp, "wb") as handle:
                handle.write(content)
            os.chmod(temp, 0o644)
            os.replace(temp, target)
    for rel in sorted(present - set(wanted)):
        changes["removed"].append(rel)
        if not check_mode:
            os.unlink(os.path.join(dest, rel))
    if not check_mode:
        for root, _dirs, _names in os.walk(rootfs, topdown=False):
            if root != rootfs and not os.listdir(root):
                os.rmdir(root)
            elif stat.S_IMODE(os.stat(root).st_mode) != 0o755:
                os.chmod(root, 0o755)  # a COPY keeps it: the service's user must get in
    return changes


def image_sources(profile: dict[str, t.Any], health_check_port: int | None = None) -> dict[str, t.Any]:
    """What to fetch from the legacy host for the image, and how to check the image answers.

    ``config_files``: config paths to fetch (secret files and links are not fetched);
    ``secret_files``: files that hold secrets, mounted from a Kubernetes Secret (read under no_log);
    ``env_sources``: the unit files and EnvironmentFiles whose secret values become environment
    variables from a Kubernetes Secret (read under no_log, never mounted; ``secret_environment``);
    ``directories``: the app directories and served content directories, fetched whole;
    ``probe``: ``{port, check}`` with check ``http``, ``smtp`` or ``tcp`` (None without a TCP listener).
    """
    if not isinstance(profile, dict):
        raise ContainerfileError("profile: must be a dict (the legacy_service profile)")
    env_files = {e.get("path") for e in profile.get("environment_files") or [] if isinstance(e, dict)}
    fragments = set(profile.get("fragments") or [])
    holders = {s["file"] for s in profile.get("secrets") or [] if isinstance(s, dict) and s.get("file")}
    secret_files = sorted(holders - env_files - fragments)
    # The unit files when a secret is in Environment= or ExecStart (reported against the first of them).
    env_sources = sorted((fragments if holders & fragments else set()) | (env_files & holders))
    links = {link.get("path") for link in profile.get("config_links") or [] if isinstance(link, dict)}
    config = sorted({
        _path(c.get("path") if isinstance(c, dict) else c, "profile.config_files[%d].path" % i)
        for i, c in enumerate(profile.get("config_files") or [])
    } - set(secret_files) - set(env_sources) - links)
    directories = list(app_directories(profile))
    for index, item in enumerate(profile.get("content_dirs") or []):
        directories.append(_path(item.get("path") if isinstance(item, dict) else item, "profile.content_dirs[%d].path" % index))
    listeners = [
        {"proto": item.get("proto", "tcp"), "port": _port(item.get("port"), "profile.listeners[%d].port" % i), "address": str(item.get("address") or "")}
        for i, item in enumerate(profile.get("listeners") or [])
    ]
    if health_check_port is not None:
        _port(health_check_port, "health_check_port")
    found = health_port(listeners, health_check_port)
    probe = None
    if found:
        port = found[0]
        probe = {"port": port, "check": "http" if port in HTTP_PORTS else "smtp" if port in SMTP_PORTS else "tcp"}
    return {"config_files": config, "secret_files": secret_files, "env_sources": env_sources,
            "directories": sorted(set(directories)), "probe": probe}


def secret_environment(profile: dict[str, t.Any], texts: dict[str, t.Any]) -> dict[str, str]:
    """The values of the service's secret environment, from its unit files and EnvironmentFiles as read on the host.

    ``texts`` maps the paths of ``image_sources(profile)["env_sources"]`` to their contents (read under
    no_log). Returns ``{name: value}`` for every REDACTED variable of the profile and every REDACTED
    ExecStart argument (as ``exec_secret_env(index)``): what the Kubernetes Secret of the environment holds.
    """
    texts = {p: (v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)) for p, v in (texts or {}).items()}
    fragments = [p for p in profile.get("fragments") or [] if p in texts]
    raw: dict[str, str] = {}
    argv: list[str] = []
    if fragments:
        unit = parse_unit("\n".join("# %s\n%s\n" % (p, texts[p]) for p in fragments), str(profile.get("unit") or ""))
        raw.update(unit["environment"])
        argv = unit["exec_start"][0]["argv"] if unit["exec_start"] else []
    for item in profile.get("environment_files") or []:
        if isinstance(item, dict) and item.get("path") in texts:
            raw.update({name: value for _n, name, value in parse_environment_file(texts[item["path"]])})
    values = {}
    for name, value in sorted((profile.get("environment") or {}).items()):
        if value == REDACTED:
            if name not in raw:
                raise ContainerfileError("profile.environment.%s: its value is in none of the files read (%s)" % (name, ", ".join(sorted(texts))))
            values[name] = raw[name]
    redacted = (profile.get("exec_start") or [{}])[0].get("argv") or []
    for index, arg in enumerate(redacted):
        if REDACTED in arg:
            if index >= len(argv):
                raise ContainerfileError("profile.exec_start[0].argv[%d]: the unit read from the host has no such argument" % index)
            prefix = arg.partition(REDACTED)[0]
            values[exec_secret_env(index)] = argv[index][len(prefix):]
    return values
