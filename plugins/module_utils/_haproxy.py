# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""HAProxy runtime API: a small client and parsers for its CSV and state outputs.

Private to this collection (the leading underscore): importable and unit-testable without Ansible.
The runtime API is HAProxy's own admin socket (``stats socket ... level admin``); see the
"Management Guide", section 9.3, for the commands used here.
"""

from __future__ import annotations

import socket
import typing as t

DEFAULT_TIMEOUT = 5.0

# `show stat` types (column "type"): 0 frontend, 1 backend, 2 server, 3 listener.
STAT_TYPES = {"0": "frontend", "1": "backend", "2": "server", "3": "listener"}

# Numeric `show stat` columns we convert to int (empty stays None).
_INT_COLUMNS = frozenset(
    (
        "qcur", "qmax", "scur", "smax", "slim", "stot", "bin", "bout", "dreq", "dresp", "ereq",
        "econ", "eresp", "wretr", "wredis", "weight", "act", "bck", "chkfail", "chkdown",
        "lastchg", "downtime", "lbtot", "rate", "hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx",
        "hrsp_5xx", "hrsp_other", "req_tot", "cli_abrt", "srv_abrt", "qtime", "ctime", "rtime",
        "ttime", "check_code", "check_duration", "conn_tot",
    )
)


class HAProxyError(Exception):
    """An error talking to HAProxy or an answer it refused."""


def parse_show_stat(text: str) -> list[dict[str, t.Any]]:
    """Parse the CSV answer of ``show stat`` into one dict per row.

    The header line starts with ``# `` and names the columns; numeric columns become ints,
    empty fields become None, and a ``kind`` key names the row type.
    """
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or not lines[0].startswith("# "):
        raise HAProxyError("unexpected 'show stat' answer: no '# pxname,...' header line")
    header = lines[0][2:].rstrip(",").split(",")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split(",")
        if len(fields) < len(header):
            raise HAProxyError(
                "unexpected 'show stat' answer: line %d has %d fields, header has %d"
                % (number, len(fields), len(header))
            )
        row: dict[str, t.Any] = {}
        for name, value in zip(header, fields):
            if value == "":
                row[name] = None
            elif name in _INT_COLUMNS:
                try:
                    row[name] = int(value)
                except ValueError:
                    row[name] = value
            else:
                row[name] = value
        row["kind"] = STAT_TYPES.get(str(row.get("type")), "unknown")
        rows.append(row)
    return rows


def parse_servers_state(text: str) -> list[dict[str, t.Any]]:
    """Parse ``show servers state`` (format version 1) into one dict per server."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise HAProxyError("empty 'show servers state' answer")
    if lines[0].strip() != "1":
        raise HAProxyError("unsupported 'show servers state' format version %r" % lines[0].strip())
    if len(lines) < 2 or not lines[1].startswith("# "):
        raise HAProxyError("unexpected 'show servers state' answer: no column header")
    header = lines[1][2:].split()
    servers = []
    for line in lines[2:]:
        fields = line.split()
        if len(fields) < len(header):
            raise HAProxyError("unexpected 'show servers state' line: %r" % line)
        servers.append(dict(zip(header, fields)))
    return servers


def backends_from_stats(rows: t.Iterable[dict[str, t.Any]]) -> dict[str, dict[str, t.Any]]:
    """Group `show stat` rows by backend: status and weight of the backend and of each server."""
    backends: dict[str, dict[str, t.Any]] = {}
    for row in rows:
        if row["kind"] not in ("backend", "server"):
            continue
        backend = backends.setdefault(row["pxname"], {"servers": {}})
        if row["kind"] == "backend":
            backend.update(status=row.get("status"), weight=row.get("weight"), mode=row.get("mode"))
        else:
            backend["servers"][row["svname"]] = {
                "status": row.get("status"),
                "weight": row.get("weight"),
                "address": row.get("addr"),
                "check_status": row.get("check_status"),
                "current_sessions": row.get("scur"),
                "total_sessions": row.get("stot"),
                "hrsp_5xx": row.get("hrsp_5xx"),
                "connection_errors": row.get("econ"),
                "response_errors": row.get("eresp"),
                "response_time_ms": row.get("rtime"),
            }
    return backends


class RuntimeAPI:
    """One command per connection on HAProxy's admin socket (a UNIX path or ``host:port``)."""

    def __init__(self, address: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.address = address
        self.timeout = timeout

    def _connect(self) -> socket.socket:
        if "/" in self.address:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            target: t.Any = self.address
        else:
            host, _sep, port = self.address.rpartition(":")
            if not host or not port.isdigit():
                raise HAProxyError("socket %r is neither a socket path nor host:port" % self.address)
            sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
            target = (host.strip("[]"), int(port))
        sock.settimeout(self.timeout)
        try:
            sock.connect(target)
        except OSError as exc:
            sock.close()
            raise HAProxyError("cannot connect to HAProxy runtime API at %s: %s" % (self.address, exc)) from exc
        return sock

    def command(self, command: str) -> str:
        """Send one command and return the whole answer as text."""
        if "\n" in command or ";" in command:
            raise HAProxyError("refusing to send more than one command at once: %r" % command)
        return self.send(command)

    def send(self, line: str) -> str:
        """Send one line (commands separated by ``;`` run in order, at once) and return the whole answer."""
        sock = self._connect()
        try:
            sock.sendall(line.encode() + b"\n")
            chunks = []
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except OSError as exc:
            raise HAProxyError("HAProxy runtime API at %s failed on %r: %s" % (self.address, line, exc)) from exc
        finally:
            sock.close()
        return b"".join(chunks).decode("utf-8", "replace")

    def show_stat(self) -> list[dict[str, t.Any]]:
        return parse_show_stat(self.command("show stat"))

    def show_servers_state(self) -> list[dict[str, t.Any]]:
        return parse_servers_state(self.command("show servers state"))

    def get_weight(self, backend: str, server: str) -> tuple[int, int]:
        """Return (current weight, initial weight) of a server."""
        answer = self.command("get weight %s/%s" % (backend, server)).strip()
        # "10 (initial 100)"
        try:
            current, _sep, rest = answer.partition(" (initial ")
            return int(current), int(rest.rstrip(")"))
        except ValueError as exc:
            raise HAProxyError("get weight %s/%s: %s" % (backend, server, answer)) from exc

    def set_weight(self, backend: str, server: str, weight: int) -> None:
        if not 0 <= int(weight) <= 256:
            raise HAProxyError("weight must be between 0 and 256, got %r" % weight)
        answer = self.command("set weight %s/%s %d" % (backend, server, int(weight))).strip()
        if answer:
            raise HAProxyError("set weight %s/%s %d: %s" % (backend, server, int(weight), answer))


def read_backends(api: RuntimeAPI, only: t.Sequence[str] = ()) -> dict[str, dict[str, t.Any]]:
    """Backends with their servers' state and weights (current and initial), optionally filtered.

    Unknown names in ``only`` raise HAProxyError naming the known backends.
    """
    backends = backends_from_stats(api.show_stat())
    unknown = sorted(set(only) - set(backends))
    if unknown:
        raise HAProxyError(
            "backends: unknown %s; HAProxy has: %s" % (", ".join(unknown), ", ".join(sorted(backends)))
        )
    for state in api.show_servers_state():
        server = backends.get(state.get("be_name", ""), {}).get("servers", {}).get(state.get("srv_name", ""))
        if server is not None:
            server["initial_weight"] = int(state["srv_iweight"])
    if only:
        backends = {name: backends[name] for name in only}
    return backends


def check_name(value: str, field: str) -> str:
    """A backend or server name as HAProxy accepts it (letters, digits, ``-_.:``)."""
    if not isinstance(value, str) or not value or not all(c.isalnum() or c in "-_.:" for c in value):
        raise HAProxyError("%s: %r is not a HAProxy name (letters, digits and -_.: only)" % (field, value))
    return value


def run_commands(api: "RuntimeAPI", commands: t.Sequence[str]) -> str:
    """Send several commands in one connection, separated by ``;`` (HAProxy runs them in order, at once).

    Used to change the weights of all servers of a backend in one go. No command may hold a newline
    or a ``;`` itself.
    """
    for command in commands:
        if "\n" in command or ";" in command:
            raise HAProxyError("refusing a command with a newline or ';': %r" % command)
    return api.send("; ".join(commands))


def save_state(api: "RuntimeAPI", path: str) -> None:
    """Write ``show servers state`` to the server-state-file (atomically), so a reload keeps runtime weights."""
    import os

    text = api.command("show servers state")
    parse_servers_state(text)  # refuse to write anything that is not a state file
    temp = "%s.replatform-%d" % (path, os.getpid())
    with open(temp, "w", encoding="utf-8") as handle:
        handle.write(text if text.endswith("\n") else text + "\n")
    os.chmod(temp, 0o600)
    os.replace(temp, path)
