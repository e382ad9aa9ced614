# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""How a forking daemon runs in the foreground in a container: rules as data a user extends.

Private to this collection, stdlib only. A container's main process must not fork into the
background: PID 1 (tini) would exit and the container with it. systemd units of ``Type=forking``
start daemons that do; each daemon has its own flag to stay in the foreground. ``DEFAULT_RULES``
holds those flags for common daemons, keyed by the executable's name (shell patterns allowed,
``php-fpm*``); the ``containerize_foreground`` variable adds rules or replaces these, and a forking
daemon without a rule is refused before anything is built, naming that variable.

A rule is a dict with any of:

* ``argv``: the command to run instead (``postfix start-fg``);
* ``remove``: arguments dropped (``-d``, ``--daemonize``);
* ``replace``: ``{argument: replacement}`` (``apachectl start`` -> ``apachectl -DFOREGROUND``);
* ``append``: arguments added when not already there (``-n``, ``--nodaemon``);
* ``always``: apply even when the unit is not ``Type=forking`` (default: forking units only);
* ``package``: the Debian package to install when the profile names none;
* ``log_links``: false for a daemon that refuses to write a log file that is a symbolic link
  (proftpd): its log files stay files, in a directory the service can write, instead of links to
  the container's output;
* ``nginx_g`` / ``postmap``: the two built-in special forms (nginx's ``-g "daemon off;"``; postfix
  lookup tables compiled at start);
* ``doc``: where the flag is documented.
"""

from __future__ import annotations

import fnmatch
import os
import re
import typing as t

RULE_KEYS = ("argv", "remove", "replace", "append", "always", "package", "nginx_g", "postmap", "log_links", "doc")

DEFAULT_RULES: dict[str, dict[str, t.Any]] = {
    "nginx": {"nginx_g": True, "package": "nginx", "doc": "nginx -g 'daemon off;' (nginx.org/en/docs/ngx_core_module.html#daemon)"},
    "postfix": {"argv": ["/usr/sbin/postfix", "start-fg"], "package": "postfix", "postmap": True, "doc": "postfix(1) start-fg"},
    "postmulti": {"argv": ["/usr/sbin/postfix", "start-fg"], "package": "postfix", "postmap": True, "doc": "postfix(1) start-fg"},
    "apachectl": {"replace": {"start": "-DFOREGROUND"}, "doc": "apache2ctl(8): other arguments go to apache2; apache2 -DFOREGROUND"},
    "apache2ctl": {"replace": {"start": "-DFOREGROUND"}, "doc": "apache2ctl(8): other arguments go to apache2; apache2 -DFOREGROUND"},
    "apache2": {"append": ["-DFOREGROUND"], "doc": "apache2(8) -DFOREGROUND"},
    "httpd": {"append": ["-DFOREGROUND"], "doc": "httpd(8) -DFOREGROUND"},
    "proftpd": {"append": ["--nodaemon"], "log_links": False,
                "doc": "proftpd(8) -n, --nodaemon; it refuses to open a log file that is a symbolic link"},
    "tinyproxy": {"append": ["-d"], "doc": "tinyproxy(8) -d: do not daemonize"},
    "dnsmasq": {"append": ["--keep-in-foreground"], "doc": "dnsmasq(8) -k, --keep-in-foreground"},
    "named": {"append": ["-f"], "doc": "named(8) -f: run in the foreground"},
    "sshd": {"append": ["-D"], "doc": "sshd(8) -D: does not detach"},
    "squid": {"append": ["-N"], "doc": "squid(8) -N: no daemon mode"},
    "lighttpd": {"append": ["-D"], "doc": "lighttpd(8) -D: do not go to background"},
    "memcached": {"remove": ["-d", "--daemon"], "doc": "memcached(1) -d runs it as a daemon: dropped"},
    "redis-server": {"append": ["--daemonize", "no"], "doc": "redis.conf daemonize no"},
    "haproxy": {"remove": ["-D"], "doc": "haproxy(1) -D daemonizes: dropped (-W master-worker stays in the foreground)"},
    "exim4": {"replace": {"-bd": "-bdf"}, "doc": "exim(8) -bdf: daemon in the foreground"},
    "exim": {"replace": {"-bd": "-bdf"}, "doc": "exim(8) -bdf: daemon in the foreground"},
    "php-fpm*": {"append": ["--nodaemonize"], "doc": "php-fpm(8) -F, --nodaemonize"},
    "dovecot": {"append": ["-F"], "doc": "dovecot(1) -F: foreground"},
    "smbd": {"append": ["--foreground", "--no-process-group"], "doc": "smbd(8) -F, --foreground"},
    "nmbd": {"append": ["--foreground", "--no-process-group"], "doc": "nmbd(8) -F, --foreground"},
    "cupsd": {"append": ["-f"], "doc": "cupsd(8) -f: run in the foreground"},
    "rsyslogd": {"append": ["-n"], "doc": "rsyslogd(8) -n: do not auto-background"},
    "ntpd": {"append": ["-n"], "doc": "ntpd(8) -n: do not fork"},
    "opendkim": {"append": ["-f"], "doc": "opendkim(8) -f: do not fork"},
    "slapd": {"append": ["-d", "0"], "doc": "slapd(8) -d: stay in the foreground"},
    "gunicorn": {"remove": ["-D", "--daemon"], "doc": "gunicorn -D daemonizes: dropped"},
    "uwsgi": {"remove": ["--daemonize", "-d"], "doc": "uwsgi --daemonize: dropped"},
    "pure-ftpd*": {"remove": ["-B", "--daemonize"], "doc": "pure-ftpd(8) -B daemonizes: dropped"},
    "vsftpd": {"append": [], "doc": "vsftpd stays in the foreground with background=NO (Debian's default)"},
    "xinetd": {"append": ["-dontfork"], "doc": "xinetd(8) -dontfork"},
    "inetd": {"append": ["-d"], "doc": "inetd(8) -d: debug, in the foreground"},
}


class ForegroundError(ValueError):
    """A rule that is not well formed, or a forking daemon without one; the message names the field."""


def validate_rules(rules: t.Any, field: str = "containerize_foreground") -> dict[str, dict[str, t.Any]]:
    """The user's rules, checked: {name: rule}, each key one of RULE_KEYS with the right type."""
    if rules is None:
        return {}
    if not isinstance(rules, dict):
        raise ForegroundError("%s: must be a dict of executable name -> rule, not %s" % (field, type(rules).__name__))
    for name, rule in rules.items():
        where = "%s[%r]" % (field, name)
        if not isinstance(name, str) or not re.match(r"^[A-Za-z0-9_.*?+\[\]-]+$", name):
            raise ForegroundError("%s: the key must be an executable's name (letters, digits, ._+- and shell patterns)" % where)
        if not isinstance(rule, dict):
            raise ForegroundError("%s: must be a dict with any of %s" % (where, ", ".join(RULE_KEYS)))
        unknown = sorted(set(rule) - set(RULE_KEYS))
        if unknown:
            raise ForegroundError("%s: unknown key %s (allowed: %s)" % (where, ", ".join(unknown), ", ".join(RULE_KEYS)))
        for key in ("argv", "remove", "append"):
            if key in rule and not (isinstance(rule[key], list) and all(isinstance(a, str) and a for a in rule[key])):
                raise ForegroundError("%s.%s: must be a list of non-empty strings" % (where, key))
        if "argv" in rule and not rule["argv"]:
            raise ForegroundError("%s.argv: must not be empty" % where)
        if "replace" in rule and not (isinstance(rule["replace"], dict) and all(isinstance(v, str) for v in rule["replace"].values())):
            raise ForegroundError("%s.replace: must be a dict of argument -> replacement (strings)" % where)
    return rules


def find_rule(executable: str, rules: dict[str, dict[str, t.Any]] | None = None) -> tuple[str, dict[str, t.Any]] | None:
    """(name, rule) for an executable: the user's rules first, then DEFAULT_RULES; exact names before patterns."""
    base = os.path.basename(executable)
    for table in (validate_rules(rules), DEFAULT_RULES):
        if base in table:
            return base, table[base]
        for name in sorted(table):
            if fnmatch.fnmatchcase(base, name):
                return name, table[name]
    return None


def apply_rule(argv: list[str], rule: dict[str, t.Any]) -> list[str]:
    """argv with the rule's argv, remove, replace and append applied (nginx_g is _containerfile's)."""
    if rule.get("argv"):
        return list(rule["argv"])
    result = [argv[0]] + [rule.get("replace", {}).get(a, a) for a in argv[1:] if a not in rule.get("remove", [])]
    append = list(rule.get("append", []))
    if append and not any(result[i:i + len(append)] == append for i in range(1, len(result))):
        result += append  # not twice: a unit that already passes the flag keeps one
    return result


def known_names(rules: dict[str, dict[str, t.Any]] | None = None) -> list[str]:
    """Names of every rule, for the refusal message."""
    return sorted(set(DEFAULT_RULES) | set(validate_rules(rules)))
