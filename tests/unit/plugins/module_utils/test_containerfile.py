# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Containerfile renderer, on profiles built from the lab captures (tests/unit/.../fixtures) and small hand-made ones."""

from __future__ import annotations

import copy
import json
import os

import pytest

from ansible_collections.replatform.kubernetes.plugins.module_utils import _containerfile as c
from ansible_collections.replatform.kubernetes.plugins.module_utils import _discovery as d
from ansible_collections.replatform.kubernetes.tests.unit.plugins.module_utils.lab_captures import esp_api_profile, fixture

BASE = "127.0.0.1:5000/base/debian:bookworm"

API_KEY = "esp_live_7f3c9a1e5b2d4c8f90ab1c2d3e4f5a6b"
DB_PASSWORD = "Wint3r-Relay-2019!"
SASL_PASSWORD = "Rl4y-Xq93-mT7w-2019"

APP_PY = "#!/usr/bin/env python3\nimport configparser\ncfg = {'api_key': cp.get('auth', 'api_key')}\n"

NGINX_UNIT = """# /lib/systemd/system/nginx.service
[Unit]
Description=A high performance web server and a reverse proxy server

[Service]
Type=forking
PIDFile=/run/nginx.pid
ExecStartPre=/usr/sbin/nginx -t -q -g 'daemon on; master_process on;'
ExecStart=/usr/sbin/nginx -g 'daemon on; master_process on;'
ExecReload=/usr/sbin/nginx -g 'daemon on; master_process on;' -s reload
"""


def esp_api_files() -> dict:
    return {
        "/etc/esp-api/esp-api.conf": fixture("web1_esp-api.conf"),
        "/etc/default/esp-api": fixture("web1_default_esp-api"),
        "/opt/esp-api/app.py": APP_PY,
    }


def postfix_profile() -> dict:
    return d.build_profile(
        {
            "requested": "postfix",
            "unit": "postfix@-.service",
            "followed_from": "postfix.service",
            "cat": fixture("mail1_systemctl_cat_postfix_instance.txt"),
            "ss": fixture("mail1_ss_ltnupH.txt"),
            "pids": [334, 554],
            "files": {
                "/etc/postfix/main.cf": {"source": "etc_dir", "text": fixture("mail1_main.cf")},
                "/etc/postfix/sasl_passwd": {"source": "etc_dir", "text": fixture("mail1_sasl_passwd")},
            },
            "package_names": ["postfix"],
        }
    )


def nginx_profile() -> dict:
    return d.build_profile(
        {
            "unit": "nginx.service",
            "cat": NGINX_UNIT,
            "ss": fixture("web1_ss_ltnupH.txt"),
            "pids": [35, 36, 37],
            "dpkg_search": {"stdout": fixture("web1_dpkg_S_nginx.stdout"), "stderr": fixture("web1_dpkg_S_nginx.stderr")},
            "dpkg_status": fixture("web1_dpkg_query_status.txt"),
            "executables": ["/usr/sbin/nginx"],
            "files": {"/etc/nginx/nginx.conf": {"source": "etc_dir", "text": "user www-data;\nevents {}\n"}},
        }
    )


def minimal_profile(**extra) -> dict:
    profile = {
        "unit": "demo.service",
        "type": "simple",
        "exec_start": [{"argv": ["/usr/local/bin/demo", "--port", "9000"], "path": "/usr/local/bin/demo"}],
        "executable": "/usr/local/bin/demo",
        "script": None,
        "user": "root",
        "group": None,
        "working_directory": None,
        "environment": {},
        "listeners": [{"proto": "tcp", "address": "0.0.0.0", "port": 9000}],
        "packages": [],
        "config_files": [],
        "secrets": [],
        "log_paths": [],
        "data_dirs": [],
    }
    profile.update(extra)
    return profile


# --- esp-api, from the lab captures ---


def test_esp_api_containerfile_lines():
    result = c.render_context(esp_api_profile(), BASE, esp_api_files())
    lines = result["containerfile"].splitlines()
    assert lines[1] == "FROM 127.0.0.1:5000/base/debian:bookworm"
    assert (
        "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends"
        " python3 python3-minimal python3.11 python3.11-minimal tini && rm -rf /var/lib/apt/lists/*"
    ) in lines
    # A fixed UID/GID, so the Deployment can run the pod as that user (runAsNonRoot needs a number).
    assert any(line.startswith("RUN (getent group espapi >/dev/null || groupadd --system --gid 10001 espapi)")
               and "useradd --system --uid 10001 --gid espapi" in line for line in lines)
    # A user the package made (redis, memcache) keeps its name and is moved to the fixed ID, files and all.
    assert any('usermod -u 10001 -g espapi espapi && find / -xdev -uid "$ou" -exec chown -h espapi {} +' in line for line in lines)
    assert 'RUN for d in /var/lib/esp-api /var/log/esp-api; do [ -e "$d" ] || install -d -o espapi -g espapi -m 0750 "$d"; done' in lines
    assert "RUN ln -sf /dev/stdout /var/log/esp-api/access.log" in lines
    # Deny by default: ESP_API_ENV is not on the allow list, so its file is not copied and its value
    # comes from a Secret; ESP_API_LOG_LEVEL matches *_LOG_LEVEL and goes into the image.
    assert "COPY rootfs/etc/default/esp-api /etc/default/esp-api" not in lines
    assert "COPY rootfs/opt/esp-api/ /opt/esp-api/" in lines
    assert "ENV PYTHONUNBUFFERED=\"1\"" in lines and "ENV ESP_API_LOG_LEVEL=\"info\"" in lines
    assert "ESP_API_ENV" not in result["containerfile"] and "production" not in result["containerfile"]
    assert "WORKDIR /opt/esp-api" in lines
    assert "EXPOSE 8081" in lines
    assert "USER espapi" in lines
    assert 'HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 CMD ["bash", "-c", "</dev/tcp/127.0.0.1/8081"]' in lines
    assert lines[-1] == 'CMD ["/usr/bin/python3", "/opt/esp-api/app.py", "--config", "/etc/esp-api/esp-api.conf"]'
    assert sorted(result["files"]) == ["rootfs/opt/esp-api/app.py"]
    assert result["files"]["rootfs/opt/esp-api/app.py"] == APP_PY.encode()
    assert len(result["tag"]) == 12 and int(result["tag"], 16) >= 0


def test_esp_api_secret_config_is_excluded_and_nowhere_in_the_output():
    result = c.render_context(esp_api_profile(), BASE, esp_api_files())
    assert {"path": "/etc/esp-api/esp-api.conf", "reason": c.SECRET_REASON} in result["excluded"]
    assert "rootfs/etc/esp-api/esp-api.conf" not in result["files"]
    dumped = result["containerfile"] + json.dumps([v.decode() for v in result["files"].values()]) + json.dumps(result["excluded"])
    for value in (API_KEY, DB_PASSWORD, "smtp_relay", "10.231.7.21"):
        assert value not in dumped
    assert "COPY rootfs/etc/esp-api" not in result["containerfile"]


def test_secret_found_in_content_even_if_the_profile_missed_it():
    profile = esp_api_profile()
    profile["secrets"] = []
    result = c.render_context(profile, BASE, esp_api_files())
    assert {"path": "/etc/esp-api/esp-api.conf", "reason": c.SECRET_REASON} in result["excluded"]
    assert API_KEY not in result["containerfile"]


def test_determinism_and_tag():
    first = c.render_context(esp_api_profile(), BASE, esp_api_files())
    again = c.render_context(esp_api_profile(), BASE, esp_api_files())
    assert first == again
    changed_app = esp_api_files()
    changed_app["/opt/esp-api/app.py"] += "# a change\n"
    assert c.render_context(esp_api_profile(), BASE, changed_app)["tag"] != first["tag"]
    changed_env = esp_api_files()
    changed_env["/etc/default/esp-api"] = changed_env["/etc/default/esp-api"].encode()  # bytes or str: same content
    assert c.render_context(esp_api_profile(), BASE, changed_env)["tag"] == first["tag"]
    changed_secret = esp_api_files()
    changed_secret["/etc/esp-api/esp-api.conf"] = changed_secret["/etc/esp-api/esp-api.conf"].replace(API_KEY, "rotated-key-value")
    assert c.render_context(esp_api_profile(), BASE, changed_secret) == first
    assert c.render_context(esp_api_profile(), "127.0.0.1:5000/base/debian:trixie", esp_api_files())["tag"] != first["tag"]


def test_context_tag_is_over_sorted_paths_and_contents():
    tag = c.context_tag("FROM x\n", {"b": b"2", "a": b"1"})
    assert tag == c.context_tag("FROM x\n", {"a": b"1", "b": b"2"})
    assert tag != c.context_tag("FROM x\n", {"a": b"12", "b": b""})


def test_redacted_environment_is_skipped_and_listed():
    profile = esp_api_profile()
    profile["environment"]["DB_PASSWORD"] = d.REDACTED
    result = c.render_context(profile, BASE, esp_api_files())
    assert "DB_PASSWORD" not in result["containerfile"] and d.REDACTED not in result["containerfile"]
    assert {"path": "Environment=DB_PASSWORD", "reason": c.SECRET_ENV_REASON} in result["excluded"]


def test_missing_unrelated_binary_and_large_files():
    files = esp_api_files()
    del files["/etc/default/esp-api"]
    files["/srv/other"] = "x"
    files["/opt/esp-api/big.dat"] = b"y" * 2000
    profile = esp_api_profile()
    profile["config_files"].append({"path": "/etc/esp-api/blob", "source": "config_paths"})
    files["/etc/esp-api/blob"] = b"\0\1\2"
    result = c.render_context(profile, BASE, files, max_file_size=1000)
    reasons = {e["path"]: e["reason"] for e in result["excluded"]}
    assert reasons["/etc/default/esp-api"] == c.SECRET_REASON
    assert reasons["/srv/other"] == "not a config file, served content or under the app directory of the profile"
    assert reasons["/opt/esp-api/big.dat"] == "larger than max_file_size (2000 bytes)"
    assert reasons["/etc/esp-api/blob"] == "binary"
    assert "ESP_API_ENV" not in result["containerfile"]


def test_script_is_required():
    files = esp_api_files()
    del files["/opt/esp-api/app.py"]
    with pytest.raises(c.ContainerfileError, match=r"^files: the script /opt/esp-api/app.py cannot be copied into the image \(not provided in files\)"):
        c.render_context(esp_api_profile(), BASE, files)


# --- forking daemons ---


def test_postfix_from_the_lab_captures():
    result = c.render_context(
        postfix_profile(), BASE, {"/etc/postfix/main.cf": fixture("mail1_main.cf"), "/etc/postfix/sasl_passwd": fixture("mail1_sasl_passwd")}
    )
    lines = result["containerfile"].splitlines()
    # sasl_passwd is a secret: its hash table is compiled from the Secret when the container starts.
    assert json.loads(lines[-1][4:]) == [
        "/bin/sh", "-ec", "if [ -f /etc/postfix/sasl_passwd ]; then postmap /etc/postfix/sasl_passwd; fi; exec /usr/sbin/postfix start-fg"
    ]
    assert "apt-get install -y --no-install-recommends postfix tini &&" in result["containerfile"]
    assert "EXPOSE 25" in lines
    assert 'HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 CMD ["bash", "-c", "</dev/tcp/127.0.0.1/25"]' in lines
    assert "USER root" in lines and any(line.startswith("# The unit runs as root") for line in lines)
    assert "useradd" not in result["containerfile"]
    assert "RUN ln -sf /dev/stdout /var/log/postfix.log" in lines
    assert "COPY rootfs/etc/postfix/ /etc/postfix/" in lines and "rootfs/etc/postfix/main.cf" in result["files"]
    assert {"path": "/etc/postfix/sasl_passwd", "reason": c.SECRET_REASON} in result["excluded"]
    assert SASL_PASSWORD not in json.dumps([result["containerfile"]] + [v.decode() for v in result["files"].values()])


def test_nginx_daemon_off():
    result = c.render_context(nginx_profile(), BASE, {"/etc/nginx/nginx.conf": "user www-data;\nevents {}\n"})
    lines = result["containerfile"].splitlines()
    assert lines[-1] == 'CMD ["/usr/sbin/nginx", "-g", "daemon off; master_process on;"]'
    assert "EXPOSE 80" in lines
    assert "nginx nginx-common nginx-light" in result["containerfile"]
    assert c.foreground_command({"exec_start": [{"argv": ["/usr/sbin/nginx"]}]}) == ["/usr/sbin/nginx", "-g", "daemon off;"]


def test_unknown_forking_service_needs_command():
    profile = minimal_profile(type="forking")
    with pytest.raises(c.ContainerfileError, match=r"^profile.type: forking service /usr/local/bin/demo has no foreground rule \(known: apache2, .*"
                       r"add one to containerize_foreground \(for example \{demo: \{append: \[--foreground\]\}\}"):
        c.render_context(profile, BASE)
    result = c.render_context(profile, BASE, command=["/usr/local/bin/demo", "--foreground"])
    assert result["containerfile"].splitlines()[-1] == 'CMD ["/usr/local/bin/demo", "--foreground"]'


# --- small hand-made profiles ---


def test_minimal_profile():
    result = c.render_context(minimal_profile(), "registry.example.com/base/debian@sha256:" + "a" * 64)
    lines = result["containerfile"].splitlines()
    assert lines[1] == "FROM registry.example.com/base/debian@sha256:" + "a" * 64
    # Only the init (tini) is installed: the profile names no package.
    assert [line for line in lines if line.startswith(("RUN", "COPY", "ENV", "WORKDIR"))] == [
        "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*"
    ]
    assert lines[-6:] == [
        "EXPOSE 9000",
        "# The unit runs as root (no User=): so does the image; set User= on the legacy host first to change that.",
        "USER root",
        'HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 CMD ["bash", "-c", "</dev/tcp/127.0.0.1/9000"]',
        'ENTRYPOINT ["/usr/bin/tini", "--"]',
        'CMD ["/usr/local/bin/demo", "--port", "9000"]',
    ]
    assert result["files"] == {} and result["excluded"] == []


def test_ports_deduplicated_sorted_and_health_port_choice():
    listeners = [
        {"proto": "tcp", "address": "::", "port": 9000},
        {"proto": "tcp", "address": "0.0.0.0", "port": 9000},
        {"proto": "tcp", "address": "::", "port": 8080},
        {"proto": "udp", "address": "0.0.0.0", "port": 53},
    ]
    lines = c.render_context(minimal_profile(listeners=listeners), BASE)["containerfile"].splitlines()
    assert "EXPOSE 53/udp 8080 9000" in lines
    assert any(line.endswith('"</dev/tcp/::1/8080"]') for line in lines)
    lines = c.render_context(minimal_profile(listeners=listeners), BASE, health_check_port=9000)["containerfile"].splitlines()
    assert any(line.endswith('"</dev/tcp/127.0.0.1/9000"]') for line in lines)
    assert not any(line.startswith("HEALTHCHECK") for line in c.render_context(minimal_profile(listeners=[]), BASE)["containerfile"].splitlines())


def test_user_with_other_group_and_env_quoting():
    profile = minimal_profile(user="svc", group="daemons", environment={"GREETING": 'say "hi" $HOME \\o/', "EMPTY": ""})
    text = c.render_context(profile, BASE)["containerfile"]
    assert "(getent group daemons >/dev/null || groupadd --system --gid 10001 daemons)" in text
    assert "useradd --system --uid 10001 --gid daemons --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin svc)" in text
    assert 'ENV GREETING="say \\"hi\\" \\$HOME \\\\o/"' in text.splitlines()
    assert 'ENV EMPTY=""' in text.splitlines()
    assert "USER svc" in text.splitlines()


# --- bad input ---


@pytest.mark.parametrize(
    "image",
    ["Foo:bar", "debian:bookworm", "127.0.0.1:5000/Base/debian:bookworm", "127.0.0.1:5000/base/debian:", "reg.example.com/x@sha256:abc", "", None],
)
def test_bad_base_image(image):
    with pytest.raises(c.ContainerfileError, match=r"^base_image: .* is not a valid image reference \(registry\[:port\]/name\[:tag"):
        c.render_context(minimal_profile(), image)


@pytest.mark.parametrize("image", ["localhost/x", "127.0.0.1:5000/base/debian:bookworm", "quay.io/a/b-c__d.e:v1.2_3"])
def test_good_base_image(image):
    assert c.validate_image(image) == image


@pytest.mark.parametrize(
    "change, message",
    [
        ({"listeners": [{"proto": "tcp", "address": "0.0.0.0", "port": 70000}]}, r"^profile.listeners\[0\].port: 70000 is out of range 1-65535$"),
        ({"listeners": [{"proto": "tcp", "port": "80"}]}, r"^profile.listeners\[0\].port: '80' is not an integer port"),
        ({"listeners": [{"proto": "sctp", "port": 80}]}, r"^profile.listeners\[0\].proto: 'sctp' is not one of tcp, udp"),
        ({"packages": [{"name": "Python3"}]}, r"^profile.packages\[0\].name: 'Python3' is not a Debian package name"),
        ({"packages": [{"name": "x;rm -rf /"}]}, r"^profile.packages\[0\].name: "),
        ({"user": "Bad User"}, r"^profile.user: 'Bad User' is not a valid user or group name"),
        ({"environment": {"A-B": "1"}}, r"^profile.environment: 'A-B' is not a valid variable name"),
        ({"environment": {"A": "line\nbreak"}}, r"^profile.environment: the value of A must be a string without control characters"),
        ({"working_directory": "relative/dir"}, r"^profile.working_directory: 'relative/dir' is not an absolute, normalized path"),
        ({"config_files": [{"path": "/etc/../x"}]}, r"^profile.config_files\[0\].path: "),
        ({"exec_start": []}, r"^profile.exec_start: the unit has no ExecStart; pass command"),
    ],
)
def test_bad_profiles_name_the_field(change, message):
    with pytest.raises(c.ContainerfileError, match=message):
        c.render_context(minimal_profile(**change), BASE)


def test_bad_options():
    with pytest.raises(c.ContainerfileError, match=r"^health_check_port: 0 is out of range 1-65535"):
        c.render_context(minimal_profile(), BASE, health_check_port=0)
    with pytest.raises(c.ContainerfileError, match=r"^command: must be a non-empty list"):
        c.render_context(minimal_profile(), BASE, command=[])
    with pytest.raises(c.ContainerfileError, match=r"^files\['relative'\]: 'relative' is not an absolute"):
        c.render_context(minimal_profile(), BASE, files={"relative": "x"})
    with pytest.raises(c.ContainerfileError, match=r"^profile: must be a dict"):
        c.render_context([], BASE)  # type: ignore[arg-type]
    profile = copy.deepcopy(esp_api_profile())
    files = esp_api_files()
    files["/opt/esp-api/app.py"] = 12
    with pytest.raises(c.ContainerfileError, match=r"^files\['/opt/esp-api/app.py'\]: content must be bytes or str, not int"):
        c.render_context(profile, BASE, files)


def test_script_that_cannot_be_copied_and_registry_port():
    files = esp_api_files()
    files["/opt/esp-api/app.py"] = "x" * 50
    with pytest.raises(c.ContainerfileError, match=r"^files: the script /opt/esp-api/app.py cannot be copied into the image \(larger than max_file_size"):
        c.render_context(esp_api_profile(), BASE, files, max_file_size=40)
    with pytest.raises(c.ContainerfileError, match=r"^base_image: registry port 99999 is out of range 1-65535"):
        c.validate_image("127.0.0.1:99999/base/debian:bookworm")


# --- postfix lookup tables, config links, served content, package directories ---------------------


def test_postfix_tables_compiled_at_build_or_start():
    files = {"/etc/postfix/main.cf": fixture("mail1_main.cf"), "/etc/aliases": "postmaster: root\nabuse: bounces\n"}
    profile = postfix_profile()
    profile["config_files"].append({"path": "/etc/aliases", "source": "referenced", "size": 30, "packages": []})
    assert c.postfix_tables(profile, files) == {"build": ["/etc/aliases"], "start": ["/etc/postfix/sasl_passwd"]}
    result = c.render_context(profile, BASE, files)
    lines = result["containerfile"].splitlines()
    assert lines.index("RUN postalias /etc/aliases") > lines.index("COPY rootfs/etc/aliases /etc/aliases")
    # A commented-out table is not one.
    assert c.postfix_tables(profile, {"/etc/postfix/main.cf": "#alias_maps = hash:/etc/aliases\n"})["build"] == []


def test_postfix_without_secret_tables_runs_start_fg():
    profile = postfix_profile()
    profile["secrets"] = []
    result = c.render_context(profile, BASE, {"/etc/postfix/main.cf": "myhostname = mail.example.net\n"})
    assert result["containerfile"].splitlines()[-1] == 'CMD ["/usr/sbin/postfix", "start-fg"]'


def test_config_links_made_as_links_not_copied():
    profile = nginx_profile()
    profile["config_files"] += [
        {"path": "/etc/nginx/sites-available/www.esp.test", "source": "etc_dir"},
        {"path": "/etc/nginx/modules-enabled/50-mod-http-echo.conf", "source": "etc_dir"},
    ]
    profile["config_links"] = [
        {"path": "/etc/nginx/sites-enabled/www.esp.test", "target": "/etc/nginx/sites-available/www.esp.test"},
        {"path": "/etc/nginx/modules-enabled/50-mod-http-echo.conf", "target": "/usr/share/nginx/modules-available/mod-http-echo.conf"},
    ]
    files = {
        "/etc/nginx/nginx.conf": "include /etc/nginx/sites-enabled/*;\n",
        "/etc/nginx/sites-available/www.esp.test": "server { root /var/www/esp; }\n",
        "/etc/nginx/modules-enabled/50-mod-http-echo.conf": "load_module modules/ngx_http_echo_module.so;\n",
    }
    result = c.render_context(profile, BASE, files)
    lines = result["containerfile"].splitlines()
    # One COPY per directory (a layer per file would pass overlay's limit of 128 layers).
    assert "COPY rootfs/etc/nginx/ /etc/nginx/" in lines and "rootfs/etc/nginx/sites-available/www.esp.test" in result["files"]
    assert "rootfs/etc/nginx/modules-enabled/50-mod-http-echo.conf" not in result["files"]
    assert {"path": "/etc/nginx/modules-enabled/50-mod-http-echo.conf", "reason": "a symlink on the host: made as the same link"} in result["excluded"]
    link_line = next(line for line in lines if "ln -sfn" in line)
    # The package's own links (sites-enabled/default) are removed; the host's are made; after the COPY lines.
    assert ("mkdir -p /etc/nginx/sites-enabled && find /etc/nginx/sites-enabled -maxdepth 1 -type l -delete && "
            "ln -sfn /etc/nginx/sites-available/www.esp.test /etc/nginx/sites-enabled/www.esp.test") in link_line
    assert "ln -sfn /usr/share/nginx/modules-available/mod-http-echo.conf /etc/nginx/modules-enabled/50-mod-http-echo.conf" in link_line
    assert lines.index(link_line) > max(i for i, line in enumerate(lines) if line.startswith("COPY "))
    bad = copy.deepcopy(profile)
    bad["config_links"][0]["target"] = "evil\nRUN rm -rf /"
    with pytest.raises(c.ContainerfileError, match=r"^profile.config_links\[0\].target: "):
        c.render_context(bad, BASE, files)


def test_served_content_is_copied_whole():
    profile = nginx_profile()
    profile["content_dirs"] = [{"path": "/var/www/esp", "source": "config", "exists": True, "is_dir": True}]
    files = {
        "/etc/nginx/nginx.conf": "user www-data;\n",
        "/var/www/esp/index.html": "<h1>ESP</h1>\n",
        "/var/www/esp/img/logo.png": b"\x89PNG\r\n\x1a\n\0\0",
        "/var/www/other.html": "x",
    }
    result = c.render_context(profile, BASE, files)
    assert "COPY rootfs/var/www/esp/ /var/www/esp/" in result["containerfile"].splitlines()
    # Binary content is content: copied (binary is left out only among config files).
    assert result["files"]["rootfs/var/www/esp/img/logo.png"].startswith(b"\x89PNG")
    assert "rootfs/var/www/other.html" not in result["files"]


def test_data_directories_created_only_when_missing():
    profile = minimal_profile(data_dirs=[
        {"path": "/var/spool/postfix", "source": "default", "exists": True, "is_dir": True},
        {"path": "/var/lib/demo", "source": "state_directory", "exists": False, "is_dir": False},
    ])
    line = next(line for line in c.render_context(profile, BASE)["containerfile"].splitlines() if "install -d" in line)
    # A package's directory keeps its owner and mode: install -d only runs for a missing one.
    assert line == 'RUN for d in /var/lib/demo /var/spool/postfix; do [ -e "$d" ] || install -d -o root -g root -m 0750 "$d"; done'


def test_secret_file_not_fetched_is_reported_as_secret():
    result = c.render_context(postfix_profile(), BASE, {"/etc/postfix/main.cf": fixture("mail1_main.cf")})
    assert {"path": "/etc/postfix/sasl_passwd", "reason": c.SECRET_REASON} in result["excluded"]
    assert "# Not in the image (%s): /etc/postfix/sasl_passwd" % c.SECRET_REASON in result["containerfile"].splitlines()


# --- image_sources: what the containerize role fetches ------------------------------------------


def test_image_sources_esp_api():
    sources = c.image_sources(esp_api_profile())
    assert sources["secret_files"] == ["/etc/esp-api/esp-api.conf"]
    assert "/etc/esp-api/esp-api.conf" not in sources["config_files"]
    # Its EnvironmentFile holds a value not on the allow list: read for the Secret, never fetched or mounted.
    assert "/etc/default/esp-api" not in sources["config_files"] + sources["secret_files"]
    assert sources["env_sources"] == ["/etc/default/esp-api"]
    assert sources["directories"] == ["/opt/esp-api"]
    assert sources["probe"] == {"port": 8081, "check": "http"}


def test_image_sources_postfix_and_links():
    profile = postfix_profile()
    profile["config_links"] = [{"path": "/etc/postfix/makedefs.out", "target": "/usr/share/postfix/makedefs.out"}]
    profile["config_files"].append({"path": "/etc/postfix/makedefs.out", "source": "etc_dir"})
    sources = c.image_sources(profile)
    assert sources["probe"] == {"port": 25, "check": "smtp"}
    assert sources["config_files"] == ["/etc/postfix/main.cf"]
    assert sources["secret_files"] == ["/etc/postfix/sasl_passwd"]
    assert c.image_sources(minimal_profile())["probe"] == {"port": 9000, "check": "tcp"}
    assert c.image_sources(minimal_profile(listeners=[]))["probe"] is None
    with pytest.raises(c.ContainerfileError, match=r"^health_check_port: 70000 is out of range 1-65535"):
        c.image_sources(minimal_profile(), 70000)
    with pytest.raises(c.ContainerfileError, match=r"^profile: must be a dict"):
        c.image_sources(["not", "a", "profile"])


# --- the context directory on the build host ----------------------------------------------------


def test_write_context_is_idempotent_and_removes_stale_files(tmp_path):
    dest = str(tmp_path / "context")
    context = c.render_context(esp_api_profile(), BASE, esp_api_files())
    assert c.write_context(dest, context, check_mode=True) == {
        "added": ["Containerfile"] + sorted(context["files"]), "updated": [], "removed": []}
    assert not (tmp_path / "context").exists()
    c.write_context(dest, context)
    assert (tmp_path / "context" / "Containerfile").read_text() == context["containerfile"]
    assert c.write_context(dest, context) == {"added": [], "updated": [], "removed": []}
    smaller = dict(context, files={k: v for k, v in context["files"].items() if not k.endswith("app.py")})
    smaller["files"]["rootfs/etc/default/esp-api"] = b"ESP_API_ENV=staging\n"
    changes = c.write_context(dest, smaller)
    assert changes == {"added": ["rootfs/etc/default/esp-api"], "updated": [], "removed": ["rootfs/opt/esp-api/app.py"]}
    assert not (tmp_path / "context" / "rootfs" / "opt").exists()


def test_read_files_names_the_missing_path(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "a.conf").write_bytes(b"x=1\n")
    assert c.read_files(str(tmp_path), ["/etc/a.conf"]) == {"/etc/a.conf": b"x=1\n"}
    with pytest.raises(c.ContainerfileError, match=r"^paths: /etc/b.conf was not fetched to "):
        c.read_files(str(tmp_path), ["/etc/a.conf", "/etc/b.conf"])
    with pytest.raises(c.ContainerfileError, match=r"^paths\['etc/x'\]: "):
        c.read_files(str(tmp_path), ["etc/x"])


def test_served_files_keep_their_host_modification_time():
    profile = nginx_profile()
    profile["content_dirs"] = [{"path": "/var/www/esp", "source": "config", "exists": True, "is_dir": True}]
    files = {"/etc/nginx/nginx.conf": "user www-data;\n", "/var/www/esp/index.html": "<h1>ESP</h1>\n", "/var/www/esp/a.css": "x{}\n"}
    mtimes = {"/var/www/esp/index.html": 1764152321.7, "/var/www/esp/a.css": 1764152000.0, "/etc/nginx/nginx.conf": 1.0}
    result = c.render_context(profile, BASE, files, mtimes=mtimes)
    lines = result["containerfile"].splitlines()
    touch = "RUN touch -m -d @1764152000 /var/www/esp/a.css && touch -m -d @1764152321 /var/www/esp/index.html"
    assert touch in lines
    assert lines.index(touch) > lines.index("COPY rootfs/var/www/esp/ /var/www/esp/")
    # The times are part of the Containerfile, so of the tag: a touched page gives a new image.
    assert result["tag"] != c.render_context(profile, BASE, files)["tag"]
    assert "touch" not in c.render_context(profile, BASE, files)["containerfile"]


def test_secret_arguments_come_from_the_environment():
    """A REDACTED ExecStart argument is passed from a variable of the env Secret, by a shell that execs the service."""
    profile = minimal_profile(exec_start=[{"argv": ["/usr/bin/perl", "/opt/x/x.pl", "--api-key", d.REDACTED, "--db=" + d.REDACTED]}])
    argv = c.foreground_command(profile)
    assert argv == ["/bin/sh", "-c", 'exec /usr/bin/perl /opt/x/x.pl --api-key "$REPLATFORM_EXEC_ARG_3" --db="$REPLATFORM_EXEC_ARG_4"']
    unit = "[Service]\nExecStart=/usr/bin/perl /opt/x/x.pl --api-key k3y-v4lue --db=postgres://u:pw@db/x\nEnvironment=HMAC=h-v4lue LANG=C\n"
    profile.update(fragments=["/etc/systemd/system/x.service"], environment={"HMAC": d.REDACTED, "LANG": "C"}, unit="x.service")
    values = c.secret_environment(profile, {"/etc/systemd/system/x.service": unit})
    assert values == {"HMAC": "h-v4lue", "REPLATFORM_EXEC_ARG_3": "k3y-v4lue", "REPLATFORM_EXEC_ARG_4": "postgres://u:pw@db/x"}
    with pytest.raises(c.ContainerfileError, match=r"^profile.environment.HMAC: its value is in none of the files read"):
        c.secret_environment(profile, {})


@pytest.mark.parametrize(
    "executable, unit_argv, expected",
    [
        ("/usr/sbin/proftpd", ["-c", "/etc/proftpd/proftpd.conf"], ["-c", "/etc/proftpd/proftpd.conf", "--nodaemon"]),
        ("/usr/sbin/apachectl", ["start"], ["-DFOREGROUND"]),
        ("/usr/bin/tinyproxy", [], ["-d"]),
        ("/usr/bin/memcached", ["-d", "-m", "64"], ["-m", "64"]),
        ("/usr/sbin/php-fpm8.2", ["--fpm-config", "/etc/php/8.2/fpm/php-fpm.conf"], ["--fpm-config", "/etc/php/8.2/fpm/php-fpm.conf", "--nodaemonize"]),
        ("/usr/bin/redis-server", ["/etc/redis/redis.conf", "--daemonize", "no"], ["/etc/redis/redis.conf", "--daemonize", "no"]),
    ],
)
def test_forking_daemons_run_in_the_foreground_by_their_rule(executable, unit_argv, expected):
    profile = minimal_profile(type="forking", exec_start=[{"argv": [executable] + unit_argv}])
    assert c.foreground_command(profile) == [executable] + expected


def test_foreground_rules_are_data_a_user_extends():
    profile = minimal_profile(type="forking", exec_start=[{"argv": ["/opt/acme/bin/acmed", "--pidfile", "/run/acmed.pid"]}])
    rules = {"acmed": {"append": ["--foreground"], "remove": ["--pidfile"]}}
    assert c.foreground_command(profile, rules=rules) == ["/opt/acme/bin/acmed", "/run/acmed.pid", "--foreground"]
    # The user's rule wins over the built-in one.
    proftpd = minimal_profile(type="forking", exec_start=[{"argv": ["/usr/sbin/proftpd"]}])
    assert c.foreground_command(proftpd, rules={"proftpd": {"append": ["-n"]}}) == ["/usr/sbin/proftpd", "-n"]
    # A simple (non-forking) unit keeps its command: it already runs in the foreground.
    assert c.foreground_command(minimal_profile(exec_start=[{"argv": ["/usr/sbin/proftpd"]}])) == ["/usr/sbin/proftpd"]
    for bad, message in (
        ({"acmed": {"apend": ["-f"]}}, r"^containerize_foreground\['acmed'\]: unknown key apend \(allowed: argv, remove"),
        ({"acmed": {"append": "-f"}}, r"^containerize_foreground\['acmed'\].append: must be a list of non-empty strings"),
        ({"acmed": "-f"}, r"^containerize_foreground\['acmed'\]: must be a dict"),
        (["acmed"], r"^containerize_foreground: must be a dict"),
    ):
        with pytest.raises(c.ContainerfileError, match=message):
            c.foreground_command(profile, rules=bad)


def test_code_in_the_working_directory_is_copied_with_owner_and_mode_and_logs_are_not():
    profile = minimal_profile(
        user="shortener", working_directory="/srv/shortener",
        exec_start=[{"argv": ["/usr/bin/gunicorn", "--access-logfile", "/var/log/shortener/access.log", "app:application"]}],
        app_dirs=[{"path": "/srv/shortener", "source": "working_directory", "owner": "shortener", "group": "shortener", "mode": "0750"}],
        log_paths=[{"path": "/var/log/shortener/access.log", "source": "exec_start", "exists": True, "is_dir": False}],
    )
    files = {"/srv/shortener/app.py": "print('hi')\n", "/srv/shortener/run.sh": "#!/bin/sh\n", "/srv/shortener/debug.log": "old log\n"}
    modes = {"/srv/shortener/app.py": {"mode": "0640", "owner": "shortener", "group": "shortener"},
             "/srv/shortener/run.sh": {"mode": "0755", "owner": "root", "group": "root"}}
    result = c.render_context(profile, BASE, files, modes=modes)
    lines = result["containerfile"].splitlines()
    assert "COPY rootfs/srv/shortener/ /srv/shortener/" in lines
    assert sorted(result["files"]) == ["rootfs/srv/shortener/app.py", "rootfs/srv/shortener/run.sh"]
    assert {"path": "/srv/shortener/debug.log", "reason": c.LOG_REASON} in result["excluded"]
    chown = next(line for line in lines if line.startswith("RUN chown"))
    assert "chown -h root:root /srv/shortener/run.sh && chmod 0755 /srv/shortener/run.sh" in chown
    assert "chown -h shortener:shortener /srv/shortener/app.py && chmod 0640 /srv/shortener/app.py" in chown
    assert "chown -h shortener:shortener /srv/shortener && chmod 0750 /srv/shortener" in chown
    assert "RUN ln -sf /dev/stdout /var/log/shortener/access.log" in lines


@pytest.mark.parametrize(
    "argv, script",
    [
        # systemd expands $NAME (split into words, gone when empty) and ${NAME} (one word); so does the shell.
        (["/usr/sbin/proftpd", "-c", "$CONFIG_FILE", "$OPTIONS"], "exec /usr/sbin/proftpd -c $CONFIG_FILE $OPTIONS"),
        (["/x", "--dir=${STATE}/db", "a$$b"], "exec /x --dir=\"${STATE}\"/db a'$'b"),
    ],
)
def test_systemd_variables_in_execstart_expand_in_the_container(argv, script):
    assert c.foreground_command(minimal_profile(exec_start=[{"argv": argv}])) == ["/bin/sh", "-c", script]


def test_context_directories_are_traversable(tmp_path):
    """A COPY keeps the context's directory modes: they must let the service's user in (0755)."""
    dest = str(tmp_path / "work" / "svc" / "context")  # its parents do not exist yet either
    c.write_context(dest, {"containerfile": "FROM x\n", "files": {"rootfs/srv/app/templates/index.html": b"<p>hi</p>\n"}})
    for directory in ("rootfs", "rootfs/srv", "rootfs/srv/app", "rootfs/srv/app/templates"):
        assert os.stat(os.path.join(dest, directory)).st_mode & 0o777 == 0o755


def test_a_daemon_that_refuses_log_links_keeps_its_log_files():
    logs = [{"path": "/var/log/proftpd/proftpd.log", "source": "config", "exists": True, "is_dir": False}]
    proftpd = minimal_profile(type="forking", exec_start=[{"argv": ["/usr/sbin/proftpd"]}], log_paths=logs)
    lines = c.render_context(proftpd, BASE)["containerfile"].splitlines()
    assert not any("ln -sf /dev/stdout" in line for line in lines)
    assert "# Logs stay files (proftpd refuses a log that is a link): in a directory the service can write." in lines
    other = minimal_profile(log_paths=logs)
    assert "RUN ln -sf /dev/stdout /var/log/proftpd/proftpd.log" in c.render_context(other, BASE)["containerfile"].splitlines()


def test_many_config_files_make_few_layers():
    """apache2's 160 config files: one COPY per directory two levels deep, not one per file."""
    files = {"/etc/apache2/mods-available/m%03d.load" % i: "LoadModule m%d\n" % i for i in range(200)}
    files["/etc/apache2/apache2.conf"] = "ServerRoot /etc/apache2\n"
    files["/etc/mailname"] = "portal.example\n"
    profile = minimal_profile(config_files=[{"path": p, "source": "etc_dir"} for p in files])
    copies = [line for line in c.render_context(profile, BASE, files)["containerfile"].splitlines() if line.startswith("COPY ")]
    assert copies == ["COPY rootfs/etc/apache2/ /etc/apache2/", "COPY rootfs/etc/mailname /etc/mailname"]


def test_data_directories_are_made_empty_and_a_file_is_refused_before_the_build():
    profile = esp_api_profile()
    assert c.data_directories(profile) == ["/var/lib/esp-api"]
    assert "/var/lib/esp-api" in "\n".join(c.render_context(profile, BASE, esp_api_files())["containerfile"].splitlines()[:12])
    profile["data_dirs"].append({"path": "/var/lib/esp-api/cache.db", "source": "operator", "exists": True, "is_dir": False})
    with pytest.raises(c.ContainerfileError, match=r"^profile.data_dirs\[1\].path: /var/lib/esp-api/cache.db is not a directory"):
        c.render_context(profile, BASE, esp_api_files())
    profile["data_dirs"] = [{"path": "/opt/esp-api/state", "source": "operator", "exists": True, "is_dir": True}]
    assert c.data_directories(profile) == []  # inside the code: the code's, not data
