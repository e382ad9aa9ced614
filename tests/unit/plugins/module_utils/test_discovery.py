# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Discovery parsers and the service profile. Fixtures are answers and files captured from the lab's legacy hosts."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.replatform.kubernetes.plugins.module_utils import _discovery as d

from ansible_collections.replatform.kubernetes.tests.unit.plugins.module_utils.lab_captures import (
    API_KEY,
    DB_PASSWORD,
    HMAC_SECRET,
    SASL_PASSWORD,
    esp_api_raw,
    fixture,
)


# --- systemctl cat ---


def test_unit_of_esp_api():
    unit = d.parse_unit(fixture("web1_systemctl_cat_esp-api.txt"), "esp-api.service")
    assert unit["fragments"] == ["/etc/systemd/system/esp-api.service"]
    assert unit["exec_start"][0]["argv"] == ["/usr/bin/python3", "/opt/esp-api/app.py", "--config", "/etc/esp-api/esp-api.conf"]
    assert (unit["user"], unit["group"], unit["working_directory"]) == ("espapi", "espapi", "/opt/esp-api")
    assert unit["environment"] == {"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    assert unit["environment_files"] == [{"path": "/etc/default/esp-api", "optional": False}]
    assert unit["warnings"] == []


def test_template_unit_specifiers_are_resolved():
    unit = d.parse_unit(fixture("mail1_systemctl_cat_postfix_instance.txt"), "postfix@-.service")
    assert unit["type"] == "forking"
    assert unit["exec_start"][0]["argv"] == ["/usr/sbin/postmulti", "-i", "-", "-p", "start"]


DROPINS = """# /lib/systemd/system/demo.service
[Unit]
Description=demo

[Service]
User=nobody
ExecStart=/usr/bin/demo --first
Environment="GREETING=hello world" MODE=a
EnvironmentFile=-/etc/default/demo
StateDirectory=demo demo/cache
LogsDirectory=demo

# /etc/systemd/system/demo.service.d/override.conf
[Service]
; a comment
User=demo
ExecStart=
ExecStart=-@/usr/bin/demo demo-argv0 --config /etc/demo/demo.conf \\
    # a comment inside the continuation
    --verbose
Environment=MODE=b
WorkingDirectory=-/srv/demo
"""


def test_dropins_override_and_reset():
    unit = d.parse_unit(DROPINS, "demo.service")
    assert unit["fragments"] == ["/lib/systemd/system/demo.service", "/etc/systemd/system/demo.service.d/override.conf"]
    assert unit["user"] == "demo"
    assert len(unit["exec_start"]) == 1
    command = unit["exec_start"][0]
    assert command["argv"] == ["/usr/bin/demo", "--config", "/etc/demo/demo.conf", "--verbose"]
    assert command["prefixes"] == "-@" and command["ignore_failure"] is True
    assert unit["environment"] == {"GREETING": "hello world", "MODE": "b"}
    assert unit["environment_files"] == [{"path": "/etc/default/demo", "optional": True}]
    assert unit["state_directory"] == ["/var/lib/demo", "/var/lib/demo/cache"]
    assert unit["logs_directory"] == ["/var/log/demo"]
    assert unit["working_directory"] == "/srv/demo"


def test_garbage_lines_are_skipped_with_a_warning():
    text = "# /etc/systemd/system/x.service\n[Service]\nthis is not a setting\nExecStart=/bin/x\n%%%%\n"
    unit = d.parse_unit(text, "x.service")
    assert unit["exec_start"][0]["argv"] == ["/bin/x"]
    assert len(unit["warnings"]) == 2
    assert "line 3" in unit["warnings"][0]


def test_missing_header_is_refused():
    with pytest.raises(d.DiscoveryError, match="no '# /path' header"):
        d.parse_systemctl_cat("[Service]\nExecStart=/bin/x\n")


def test_truncated_continuation_is_refused():
    with pytest.raises(d.DiscoveryError, match="truncated line continuation at line 3"):
        d.parse_systemctl_cat("# /etc/systemd/system/x.service\n[Service]\nExecStart=/bin/x \\\n")


def test_unbalanced_quotes_are_refused():
    with pytest.raises(d.DiscoveryError, match="ExecStart"):
        d.parse_unit("# /etc/systemd/system/x.service\n[Service]\nExecStart=/bin/x 'open\n", "x.service")


@pytest.mark.parametrize(
    "name, unit",
    [("esp-api", "esp-api.service"), ("postfix@-", "postfix@-.service"), ("nginx.service", "nginx.service"), ("x.socket", "x.socket")],
)
def test_unit_names(name, unit):
    assert d.unit_name(name) == unit


@pytest.mark.parametrize("name", ["", "--all", "a b", "x;reboot"])
def test_bad_unit_names_name_the_field(name):
    with pytest.raises(d.DiscoveryError, match="^name: "):
        d.unit_name(name)


def test_service_base_name():
    assert d.service_base_name("postfix@-.service") == "postfix"
    assert d.service_base_name("esp-api.service") == "esp-api"


# --- processes and sockets ---


def test_ss_with_and_without_netid():
    with_netid = d.parse_ss(fixture("web1_ss_ltnupH.txt"))
    without = d.parse_ss(fixture("web1_ss_ltnpH.txt"))
    assert with_netid == without
    api = next(item for item in with_netid if item["port"] == 8081)
    assert api == {"proto": "tcp", "address": "0.0.0.0", "port": 8081, "interface": None, "pids": [29], "processes": ["python3"]}
    nginx = next(item for item in with_netid if item["port"] == 80)
    assert nginx["pids"] == [35, 36, 37]
    assert {item["address"] for item in with_netid if item["port"] == 22} == {"0.0.0.0", "::"}


def test_ss_forms():
    text = (
        "udp UNCONN 0 0 127.0.0.53%lo:53 0.0.0.0:*\n"
        "tcp LISTEN 0 4096 [fe80::1]%eth0:8080 [::]:*\n"
        "tcp LISTEN 0 511 *:443 *:* users:((\"my proc\",pid=7,fd=3))\n"
    )
    items = d.parse_ss(text)
    assert items[0] == {"proto": "udp", "address": "127.0.0.53", "port": 53, "interface": "lo", "pids": [], "processes": []}
    assert (items[1]["address"], items[1]["interface"], items[1]["port"]) == ("fe80::1", "eth0", 8080)
    assert (items[2]["address"], items[2]["processes"]) == ("0.0.0.0", ["my proc"])


def test_ss_header_is_skipped_and_garbage_refused():
    assert d.parse_ss("State Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n") == []
    with pytest.raises(d.DiscoveryError, match="line 2 is not a socket"):
        d.parse_ss(fixture("web1_ss_ltnpH.txt").splitlines()[0] + "\nCannot open netlink socket\n")


def test_service_listeners_by_cgroup_pids():
    listeners = d.parse_ss(fixture("mail1_ss_ltnupH.txt"))
    own = d.service_listeners(listeners, [334, 335, 336, 337, 403, 404, 405])
    assert [(item["address"], item["port"]) for item in own] == [("0.0.0.0", 25), ("::", 25)]
    assert own[0]["processes"] == ["master", "smtpd"]


def test_pids_and_proc_fallback():
    assert d.parse_pids(fixture("web1_cgroup_procs_esp-api.txt")) == [29]
    with pytest.raises(d.DiscoveryError, match="not a PID"):
        d.parse_pids("12\nabc\n")
    assert d.descendants(334, {334: 1, 335: 334, 403: 334, 500: 403, 93: 1}) == [334, 335, 403, 500]
    assert d.descendants(0, {1: 0}) == []
    assert d.parse_proc_stat_ppid("403 (smtpd) S 334 334 334 0 -1") == 334
    assert d.parse_proc_stat_ppid("9 (a (b) c) S 1 9 9 0") == 1


def test_cgroup_layouts():
    paths = d.cgroup_procs_paths("/libpod_parent/x/system.slice/esp-api.service")
    assert paths[0] == "/sys/fs/cgroup/libpod_parent/x/system.slice/esp-api.service/cgroup.procs"
    assert "/sys/fs/cgroup/systemd/libpod_parent/x/system.slice/esp-api.service/cgroup.procs" in paths
    assert d.cgroup_procs_paths("") == []


# --- packages ---


def test_dpkg_search():
    owners, missing = d.parse_dpkg_search(fixture("web1_dpkg_S_esp-api.stdout"), fixture("web1_dpkg_S_esp-api.stderr"))
    assert owners == {"/usr/bin/python3": ["python3-minimal"], "/usr/bin/python3.11": ["python3.11-minimal"]}
    assert missing == ["/opt/esp-api/app.py", "/etc/default/esp-api", "/etc/esp-api/esp-api.conf"]


def test_dpkg_search_forms_and_unknown_answer():
    owners, _missing = d.parse_dpkg_search(
        "diversion by dash from: /bin/sh\nlibc6:amd64, libc6-dev:amd64: /usr/lib/x\n"
    )
    assert owners == {"/usr/lib/x": ["libc6", "libc6-dev"]}
    with pytest.raises(d.DiscoveryError, match="dpkg -S: unexpected answer"):
        d.parse_dpkg_search("dpkg: error: something went wrong\n")


def test_companion_packages():
    installed = d.parse_dpkg_status(fixture("web1_dpkg_query_status.txt"))
    assert installed["python3"]["version"] == installed["python3-minimal"]["version"]
    assert d.companion_packages(["python3-minimal"], installed) == {"python3": "python3-minimal"}
    assert d.companion_packages(["nginx"], installed) == {"nginx-light": "nginx"}
    with pytest.raises(d.DiscoveryError, match="dpkg-query"):
        d.parse_dpkg_status("garbage\n")


# --- config ---


def test_scan_esp_api_config():
    scan = d.scan_config("/etc/esp-api/esp-api.conf", fixture("web1_esp-api.conf"))
    assert [(s["key"], s["kind"], s["line"]) for s in scan["secrets"]] == [("api_key", "api_key", 10), ("db_password", "password", 17)]
    ips = {ip["value"]: ip for ip in scan["ip_addresses"]}
    assert ips["10.231.7.21"]["loopback"] is False and ips["10.231.7.21"]["unspecified"] is False
    assert ips["127.0.0.1"]["loopback"] is True
    assert ips["0.0.0.0"]["unspecified"] is True
    assert {p["path"] for p in scan["paths"]} == {"/var/log/esp-api/access.log", "/var/lib/esp-api"}
    assert API_KEY not in json.dumps(scan) and DB_PASSWORD not in json.dumps(scan)


def test_scan_tracker_config():
    scan = d.scan_config("/etc/esp-tracker/tracker.conf", fixture("web1_tracker.conf"))
    assert [(s["key"], s["kind"]) for s in scan["secrets"]] == [("hmac_secret", "secret")]
    assert [ip["value"] for ip in scan["ip_addresses"]] == ["0.0.0.0", "127.0.0.1", "10.231.7.11", "10.231.7.12", "10.231.7.11"]
    assert HMAC_SECRET not in json.dumps(scan)


def test_scan_postfix_sasl_map_and_main_cf():
    scan = d.scan_config("/etc/postfix/sasl_passwd", fixture("mail1_sasl_passwd"))
    assert scan["secrets"] == [{"file": "/etc/postfix/sasl_passwd", "line": 2, "key": "[10.231.7.1]:2526", "kind": "credential_map"}]
    assert SASL_PASSWORD not in json.dumps(scan) and "esp-outbound" not in json.dumps(scan)
    main = d.scan_config("/etc/postfix/main.cf", fixture("mail1_main.cf"))
    # smtp_sasl_password_maps names a map, it holds no secret.
    assert main["secrets"] == []
    values = [ip["value"] for ip in main["ip_addresses"]]
    assert "10.231.7.1" in values and "::1" in values and "::ffff:127.0.0.0" in values and "10.231.7.0" in values
    assert "/var/log/postfix.log" in [p["path"] for p in main["paths"]]


def test_scan_pem_url_and_not_ips():
    text = (
        "password =\n"
        "token = $TOKEN_FROM_ENV\n"
        "upstream = https://user:s3cr3t@10.0.0.5/x\n"
        "-----BEGIN RSA PRIVATE KEY-----\nMIIE10.1.1.1\n-----END RSA PRIVATE KEY-----\n"
        "version = 1.22.1 mac 02:4c:0a:e7:07:0b time 12:30:45\n"
        "listen [::]:80 ipv6only=on;\n"
    )
    scan = d.scan_config("/etc/x.conf", text)
    assert [(s["kind"], s["line"]) for s in scan["secrets"]] == [("url_credentials", 3), ("private_key", 4)]
    assert [ip["value"] for ip in scan["ip_addresses"]] == ["::"]
    assert "s3cr3t" not in json.dumps(scan)


# --- the profile ---


def test_esp_api_profile():
    profile = d.build_profile(esp_api_raw())
    assert profile["unit"] == "esp-api.service" and profile["requested"] == "esp-api"
    assert profile["executable"] == "/usr/bin/python3" and profile["script"] == "/opt/esp-api/app.py"
    assert profile["user"] == "espapi" and profile["main_pid"] == 29
    assert [(item["proto"], item["address"], item["port"]) for item in profile["listeners"]] == [("tcp", "0.0.0.0", 8081)]
    packages = {p["name"]: p for p in profile["packages"]}
    assert packages["python3-minimal"]["relation"] == "owner"
    assert packages["python3"]["relation"] == "depends_on_python3-minimal"
    assert "/opt/esp-api/app.py" in profile["unpackaged_files"]
    assert [c["path"] for c in profile["config_files"]] == ["/etc/esp-api/esp-api.conf", "/etc/default/esp-api"]
    # Deny by default: ESP_API_ENV (not on the allow list) is a secret of its EnvironmentFile.
    assert {s["key"] for s in profile["secrets"]} == {"api_key", "db_password", "ESP_API_ENV"}
    assert profile["environment"]["ESP_API_ENV"] == d.REDACTED and profile["environment"]["ESP_API_LOG_LEVEL"] == "info"
    assert any(ip["value"] == "10.231.7.21" for ip in profile["ip_addresses"])
    assert [(p["path"], p["source"]) for p in profile["log_paths"]] == [("/var/log/esp-api/access.log", "config"), ("/var/log/esp-api", "default")]
    # /opt/esp-api belongs to root: not data; /var/lib/esp-api is.
    assert [p["path"] for p in profile["data_dirs"]] == ["/var/lib/esp-api"]


def test_profile_never_contains_secret_values():
    raw = esp_api_raw()
    raw["cat"] += "\n# /etc/systemd/system/esp-api.service.d/secret.conf\n[Service]\nEnvironment=DB_PASSWORD=hunter2 MODE=x\n"
    raw["cat"] += "ExecStart=\nExecStart=/usr/bin/python3 /opt/esp-api/app.py --token abc123tok --api-key=zzkey99\n"
    raw["files"]["/etc/esp-tracker/tracker.conf"] = {"source": "config_paths", "text": fixture("web1_tracker.conf")}
    raw["files"]["/etc/postfix/sasl_passwd"] = {"source": "config_paths", "text": fixture("mail1_sasl_passwd")}
    profile = d.build_profile(raw)
    dumped = json.dumps(profile)
    for value in (API_KEY, DB_PASSWORD, HMAC_SECRET, SASL_PASSWORD, "hunter2", "abc123tok", "zzkey99"):
        assert value not in dumped
    assert profile["environment"] == {"DB_PASSWORD": d.REDACTED, "MODE": d.REDACTED, "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1",
                                      "ESP_API_ENV": d.REDACTED, "ESP_API_LOG_LEVEL": "info"}
    kinds = {s["key"]: s["kind"] for s in profile["secrets"]}
    assert kinds["Environment DB_PASSWORD"] == "password"
    assert kinds["ExecStart --token"] == "token" and kinds["ExecStart --api-key"] == "api_key"
    assert kinds["hmac_secret"] == "secret" and kinds["[10.231.7.1]:2526"] == "credential_map"


def test_working_directory_is_code_or_data_by_where_it_is():
    raw = esp_api_raw()
    raw["paths"]["/opt/esp-api"]["owner"] = "espapi"
    profile = d.build_profile(raw)
    # Under /opt: code, copied into the image (with its owner), even when the service can write it.
    assert [(p["path"], p["source"], p["owner"]) for p in profile["app_dirs"]] == [("/opt/esp-api", "working_directory", "espapi")]
    assert "/opt/esp-api" not in [p["path"] for p in profile["data_dirs"]]
    raw["cat"] = raw["cat"].replace("WorkingDirectory=/opt/esp-api", "WorkingDirectory=/var/lib/esp-api")
    raw["paths"]["/var/lib/esp-api"] = dict(raw["paths"]["/opt/esp-api"], size=42)
    profile = d.build_profile(raw)
    # Under /var/lib: data, a volume; the profile reports its size.
    assert profile["app_dirs"] == []
    assert ("/var/lib/esp-api", 42) in [(p["path"], p.get("size")) for p in profile["data_dirs"]]


def test_a_data_file_stands_for_its_directory_and_operator_dirs_come_first():
    raw = esp_api_raw()
    # A database file a config names under /var/lib is data: its directory becomes the volume.
    raw["files"]["/etc/esp-api/esp-api.conf"]["text"] += "\ndb_file = /var/lib/esp-db/main.sqlite\n"
    raw["paths"]["/var/lib/esp-db/main.sqlite"] = {"exists": True, "is_dir": False, "owner": "espapi", "group": "espapi", "mode": 0o640}
    raw["paths"]["/var/lib/esp-db"] = {"exists": True, "is_dir": True, "owner": "espapi", "group": "espapi", "mode": 0o750}
    raw["paths"]["/var/spool/esp-api"] = {"exists": True, "is_dir": False}  # a guess that is a file: not data
    raw["paths"]["/srv/esp-uploads"] = {"exists": True, "is_dir": True, "owner": "espapi", "group": "espapi", "mode": 0o750}
    raw["data_dirs"] = ["/srv/esp-uploads"]
    profile = d.build_profile(raw)
    dirs = [(p["path"], p["source"], p["is_dir"]) for p in profile["data_dirs"]]
    assert dirs[0] == ("/srv/esp-uploads", "operator", True)
    assert ("/var/lib/esp-db", "config_file", True) in dirs
    assert "/var/spool/esp-api" not in [p for p, _s, _d in dirs]
    assert not [p for p, _s, is_dir in dirs if not is_dir and p != "/var/lib/esp-api"]


@pytest.mark.parametrize("path, message", [
    ("relative/dir", "data_dirs[0]: 'relative/dir' is not a normalised absolute path"),
    ("/", "data_dirs[0]: '/' is not a normalised absolute path"),
    ("/srv/missing", "data_dirs[0]: /srv/missing does not exist on this host"),
    ("/srv/file.db", "data_dirs[0]: /srv/file.db is not a directory on this host; a data directory becomes a volume, "
                     "so name the directory that holds the file (/srv)"),
])
def test_operator_data_dir_that_is_not_a_directory_is_refused(path, message):
    info = {"/srv/file.db": {"exists": True, "is_dir": False}}
    with pytest.raises(d.DiscoveryError) as exc:
        d.check_data_dirs([path], lambda p: info.get(p, {"exists": False}))
    assert str(exc.value).startswith(message)


def test_collect_refuses_a_data_dir_before_reading_anything(tmp_path):
    calls = []
    target = tmp_path / "data.db"
    target.write_text("x")
    with pytest.raises(d.DiscoveryError, match=r"data_dirs\[0\]: .* is not a directory"):
        d.collect(lambda argv: calls.append(argv) or (0, "", ""), "esp-api", data_dirs=[str(target)])
    assert calls == []


# --- unit resolution (the runner is a fake systemctl) ---


class FakeSystemctl:
    def __init__(self, units: dict):
        self.units = units

    def __call__(self, argv):
        unit = argv[-1]
        if unit not in self.units:
            return 0, "Id=%s\nLoadState=not-found\nActiveState=inactive\nSubState=dead\nMainPID=0\nControlGroup=\n" % unit, ""
        return 0, self.units[unit], ""


POSTFIX_UNITS = {
    "postfix.service": "Id=postfix.service\nLoadState=loaded\nActiveState=active\nSubState=exited\nType=oneshot\n"
    "MainPID=0\nControlGroup=\nConsistsOf=postfix@-.service\n",
    "postfix@-.service": "Id=postfix@-.service\nLoadState=loaded\nActiveState=active\nSubState=running\nType=forking\n"
    "MainPID=0\nControlGroup=/system.slice/system-postfix.slice/postfix@-.service\nConsistsOf=\n",
}


def test_oneshot_wrapper_is_followed():
    unit, followed, _show = d.resolve_unit(FakeSystemctl(POSTFIX_UNITS), "postfix")
    assert (unit, followed) == ("postfix@-.service", "postfix.service")
    unit, followed, _show = d.resolve_unit(FakeSystemctl(POSTFIX_UNITS), "postfix@-")
    assert (unit, followed) == ("postfix@-.service", None)


def test_unknown_and_stopped_units_name_the_field():
    with pytest.raises(d.DiscoveryError, match=r"^name: unit nope\.service is not loaded \(LoadState=not-found\)"):
        d.resolve_unit(FakeSystemctl({}), "nope")
    stopped = {"x.service": "LoadState=loaded\nActiveState=inactive\nSubState=dead\nMainPID=0\nControlGroup=\n"}
    with pytest.raises(d.DiscoveryError, match=r"^name: unit x\.service is not running"):
        d.resolve_unit(FakeSystemctl(stopped), "x")


def test_several_running_parts_are_refused():
    units = dict(POSTFIX_UNITS)
    units["postfix.service"] = units["postfix.service"].replace("ConsistsOf=postfix@-.service", "ConsistsOf=postfix@-.service postfix@out.service")
    units["postfix@out.service"] = units["postfix@-.service"].replace("postfix@-", "postfix@out")
    with pytest.raises(d.DiscoveryError, match=r"^name: unit postfix\.service runs no process itself; it consists of postfix@-\.service, postfix@out"):
        d.resolve_unit(FakeSystemctl(units), "postfix")


@pytest.mark.parametrize(
    "line, key",
    [
        ('  "db_password": "j50n-v4lue",', "db_password"),
        ("  apiKey: y4ml-v4lue", "apiKey"),
        ("export AUTH_TOKEN='sh-v4lue'", "AUTH_TOKEN"),
        ("client_secret j50n-v4lue;", "client_secret"),
    ],
)
def test_secret_forms(line, key):
    scan = d.scan_config("/etc/x", line + "\n")
    assert [s["key"] for s in scan["secrets"]] == [key]
    assert "v4lue" not in json.dumps(scan)


@pytest.mark.parametrize("line", ['password = ""', "password =", "smtp_sasl_password_maps = hash:/etc/postfix/sasl_passwd", "token_file = /run/x"])
def test_not_secrets(line):
    assert d.scan_config("/etc/x", line + "\n")["secrets"] == []


def test_collect_with_a_fake_host(tmp_path):
    """collect() end to end: fake commands, real files under tmp_path, PIDs from /proc (no such cgroup)."""
    conf = tmp_path / "demo.conf"
    conf.write_text("api_key = c0llect-v4lue\nupstream = 10.231.7.21:25\nlog = /var/log/demo-collect/x.log\n")
    (tmp_path / "big.conf").write_text("x" * 300)
    (tmp_path / "blob.bin").write_bytes(b"\0\1\2")
    pid = os.getpid()
    answers = {
        "show": "Id=demo.service\nLoadState=loaded\nActiveState=active\nSubState=running\nType=simple\nMainPID=%d\n"
        "ControlGroup=/no/such/cgroup/demo.service\nConsistsOf=\n" % pid,
        "cat": "# /etc/systemd/system/demo.service\n[Service]\nUser=demo\n"
        "ExecStart=/usr/bin/python3 /opt/demo/app.py --config %s --extra=%s\n" % (conf, tmp_path / "missing.conf"),
        "ss": "tcp LISTEN 0 5 0.0.0.0:8099 0.0.0.0:* users:((\"python3\",pid=%d,fd=4))\n"
        "tcp LISTEN 0 5 0.0.0.0:22 0.0.0.0:* users:((\"sshd\",pid=1,fd=3))\n" % pid,
    }
    calls = []

    def runner(argv):
        calls.append(argv)
        if argv[:2] == ["systemctl", "show"]:
            return 0, answers["show"], ""
        if argv[:2] == ["systemctl", "cat"]:
            return 0, answers["cat"], ""
        if argv[0] == "ss":
            return 0, answers["ss"], ""
        if argv[:2] == ["dpkg", "-S"]:
            found = [p for p in argv[3:] if p.startswith("/usr/bin/python3")]
            missing = [p for p in argv[3:] if p not in found]
            out = "".join("python3-minimal: %s\n" % p for p in found)
            return (1 if missing else 0), out, "".join("dpkg-query: no path found matching pattern %s\n" % p for p in missing)
        if argv[0] == "dpkg-query":
            return 0, "python3-minimal\t3.11.2-1+b1\tii \t\t\npython3\t3.11.2-1+b1\tii \tpython3-minimal (= 3.11.2-1+b1)\t\n", ""
        return 1, "", "unexpected command"

    profile = d.collect(runner, "demo", config_paths=[str(tmp_path)], max_file_size=200)
    assert all(argv[0] in ("systemctl", "ss", "dpkg", "dpkg-query") for argv in calls)
    assert profile["unit"] == "demo.service" and profile["pid_source"] == "proc" and pid in profile["pids"]
    assert [item["port"] for item in profile["listeners"]] == [8099]
    assert [p["name"] for p in profile["packages"]] == ["python3-minimal", "python3"]
    assert [c["path"] for c in profile["config_files"]] == [str(conf)]
    assert {s["path"]: s["reason"] for s in profile["skipped_files"]} == {
        str(tmp_path / "missing.conf"): "not found",
        str(tmp_path / "big.conf"): "larger than max_file_size (300 bytes)",
        str(tmp_path / "blob.bin"): "binary",
    }
    assert [s["key"] for s in profile["secrets"]] == ["api_key"]
    assert [ip["value"] for ip in profile["ip_addresses"]] == ["10.231.7.21"]
    assert profile["log_paths"] == [{"path": "/var/log/demo-collect/x.log", "source": "config", "exists": False, "is_dir": False}]
    assert "c0llect-v4lue" not in json.dumps(profile)


def test_dpkg_search_nginx():
    owners, missing = d.parse_dpkg_search(fixture("web1_dpkg_S_nginx.stdout"), fixture("web1_dpkg_S_nginx.stderr"))
    assert owners == {"/usr/sbin/nginx": ["nginx"], "/etc/nginx/nginx.conf": ["nginx-common"]}
    assert missing == ["/etc/nginx/sites-available/www.esp.test"]


def test_scan_served_content_and_etc_references():
    nginx = d.scan_config(
        "/etc/nginx/sites-available/www.esp.test", "server {\n  root /var/www/esp;\n  location /img/ {\n    alias /srv/img/;\n  }\n}\n"
    )
    assert [(c["line"], c["path"]) for c in nginx["content"]] == [(2, "/var/www/esp"), (4, "/srv/img")]
    apache = d.scan_config("/etc/apache2/sites-available/site.conf", 'DocumentRoot "/var/www/site"\nAlias /static /srv/static\n# root /nope;\n')
    assert [c["path"] for c in apache["content"]] == ["/var/www/site", "/srv/static"]
    main = d.scan_config("/etc/postfix/main.cf", fixture("mail1_main.cf"))
    referenced = {p["path"] for p in main["paths"] if p["path"].startswith("/etc/")}
    # Named by main.cf outside comments; $variables and URLs are not paths.
    assert {"/etc/aliases", "/etc/mailname", "/etc/postfix/sasl_passwd"} <= referenced
    assert not d.scan_config("/etc/x.conf", "url = http://host/etc/passwd\nx = $dir/etc/y\n")["paths"]


def test_profile_content_dirs_and_links():
    raw = esp_api_raw()
    raw["files"]["/etc/nginx/sites-available/www.esp.test"] = {
        "source": "etc_dir", "text": "root /var/www/esp;\nroot /usr/share/nginx/html;\nroot /var/www/gone;\n"
    }
    raw["paths"]["/var/www/esp"] = {"exists": True, "is_dir": True}
    raw["paths"]["/usr/share/nginx/html"] = {"exists": True, "is_dir": True}
    raw["links"] = [{"path": "/etc/nginx/sites-enabled/www.esp.test", "target": "/etc/nginx/sites-available/www.esp.test"}]
    profile = d.build_profile(raw)
    # Only existing directories, and not a package's (/usr).
    assert profile["content_dirs"] == [{"path": "/var/www/esp", "source": "config", "exists": True, "is_dir": True}]
    assert profile["config_links"] == raw["links"]


def test_collect_records_links_and_reads_referenced_etc_files(tmp_path):
    site = tmp_path / "sites-available"
    site.mkdir()
    (site / "www").write_text("root %s;\n" % (tmp_path / "www"))
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "index.html").write_text("hi\n")
    enabled = tmp_path / "sites-enabled"
    enabled.mkdir()
    os.symlink(str(site / "www"), str(enabled / "www"))
    (tmp_path / "main.conf").write_text("hosts = /etc/hostname\n")
    answers = {
        "show": "Id=web.service\nLoadState=loaded\nActiveState=active\nSubState=running\nType=simple\nMainPID=%d\n"
        "ControlGroup=/no/such/cgroup/web.service\nConsistsOf=\n" % os.getpid(),
        "cat": "# /etc/systemd/system/web.service\n[Service]\nExecStart=/usr/sbin/web\n",
    }

    def runner(argv):
        if argv[:2] == ["systemctl", "show"]:
            return 0, answers["show"], ""
        if argv[:2] == ["systemctl", "cat"]:
            return 0, answers["cat"], ""
        if argv[0] in ("ss", "dpkg-query"):
            return 0, "", ""
        if argv[:2] == ["dpkg", "-S"]:
            return 1, "", "".join("dpkg-query: no path found matching pattern %s\n" % p for p in argv[3:])
        return 1, "", "unexpected command"

    profile = d.collect(runner, "web", config_paths=[str(tmp_path)])
    assert profile["config_links"] == [{"path": str(enabled / "www"), "target": str(site / "www")}]
    assert profile["content_dirs"] == [{"path": str(tmp_path / "www"), "source": "config", "exists": True, "is_dir": True}]
    paths = {c["path"]: c["source"] for c in profile["config_files"]}
    assert paths.get("/etc/hostname") == "referenced"
    assert str(enabled / "www") not in paths  # the link's target was read once, under its own name


def test_paths_with_shell_variables_are_cut_before_the_variable():
    scan = d.scan_config("/etc/apache2/envvars", "export APACHE_LOG_DIR=/var/log/apache2$SUFFIX\ninclude /etc/apache2/conf-$X/*.conf\n")
    assert [p["path"] for p in scan["paths"]] == ["/var/log/apache2"]


def test_a_compiled_in_config_file_is_found_by_the_units_condition_and_by_convention():
    """rsync --daemon reads /etc/rsyncd.conf without naming it; its unit requires it (ConditionPathExists)."""
    unit = d.parse_unit("# /lib/systemd/system/rsync.service\n[Unit]\nConditionPathExists=/etc/rsyncd.conf\n"
                        "ConditionPathExists=!/run/nologin\n[Service]\nExecStart=/usr/bin/rsync --daemon --no-detach\n")
    assert unit["condition_paths"] == ["/etc/rsyncd.conf"]
    candidates = d.config_candidates(unit, ["rsync"])
    assert ("/etc/rsyncd.conf", "unit_condition") in candidates and ("/etc/rsyncd.conf", "etc_dir") in candidates
    assert ("/etc/rsync.conf", "etc_dir") in candidates
