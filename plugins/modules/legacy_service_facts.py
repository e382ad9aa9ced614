#!/usr/bin/python
# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: legacy_service_facts
short_description: Profile a running systemd service on a legacy host (unit, listeners, packages, config, secrets, IPs)
version_added: 0.1.0
description:
  - Runs on the legacy host and profiles one running systemd service from what the host itself says
    (C(systemctl show), C(systemctl cat), C(ss -ltnupH), the unit's cgroup, C(dpkg -S), C(dpkg-query -W))
    and from the service's configuration files.
  - Reports the unit's ExecStart, user, group, working directory, environment and directories; the
    sockets the service's processes listen on, taken from the kernel; the Debian packages that ship the
    executable and the config files; the config files read; secrets found in them by key name, as
    location, key and kind only, never the value; IP literals in the config; log and data paths.
  - Written because no existing module reports a service's unit, listeners, packages, secrets and IPs
    as one profile; M(ansible.builtin.service_facts) gives only each unit's state, and
    M(ansible.builtin.package_facts) and M(community.general.listen_ports_facts) each give one part of
    the host without tying it to the service.
  - A oneshot unit that runs no process but consists of exactly one running unit (C(postfix) is
    C(postfix@-)) is followed to that unit; C(followed_from) says so.
author:
  - Replatform Team (@replatform)
extends_documentation_fragment:
  - replatform.kubernetes.attributes
attributes:
  facts:
    description: Action returns an C(ansible_facts) dictionary that will update existing host facts.
    support: full
options:
  name:
    description:
      - The service, as a unit name; C(.service) is appended when no unit suffix is given.
      - The unit must be loaded and active, else the module fails naming this option.
    type: str
    required: true
  config_paths:
    description:
      - Extra files or directories to read as the service's configuration, besides those named in
        ExecStart and EnvironmentFile and the files under C(/etc/<service>) and C(/etc/<package>).
    type: list
    elements: path
    default: []
  max_files:
    description:
      - At most this many config files are read; the rest are listed in C(skipped_files).
    type: int
    default: 200
  max_file_size:
    description:
      - Config files larger than this many bytes are not read; they are listed in C(skipped_files).
      - Binary files are never read.
    type: int
    default: 1048576
  secret_keys:
    description:
      - Regular expressions (case-insensitive) of config keys, option names and environment variables that hold
        secrets, in addition to the built-in ones (names with pass, pwd, secret, token, auth, cred, key, hmac, salt, dsn).
      - For a service whose own syntax names a credential in a way no rule knows.
    type: list
    elements: str
    default: []
  env_allow:
    description:
      - Environment variables (shell patterns) whose values may go into the image, in addition to the built-in
        allow list (C(LANG), C(LC_*), C(TZ), C(PATH), C(PYTHONUNBUFFERED), ...).
      - Every other value of C(Environment=) and C(EnvironmentFile=) is C(REDACTED) in the profile and goes to a
        Kubernetes Secret; secrets are denied by default.
    type: list
    elements: str
    default: []
  data_dirs:
    description:
      - Directories (absolute paths) that hold the service's data, beside those discovery finds (C(StateDirectory=), paths
        under C(/var/lib) and C(/var/spool) its config names, C(/var/lib/<name>)).
      - Each must be a directory on the host, or the module fails naming the entry before anything is read.
      - Data directories are never copied into the image; the Deployment mounts a volume there (see the deploy role's
        C(deploy_data_volumes)). The profile reports their size.
    type: list
    elements: str
    default: []
notes:
  - Reads only; it never changes the host. Check mode returns the same profile.
  - Needs root (or read access to the config files and C(ss -p)) to see everything.
  - Debian-family hosts (dpkg) with systemd; the legacy hosts run Debian 12.
seealso:
  - module: ansible.builtin.service_facts
"""

EXAMPLES = r"""
- name: Profile esp-api on a legacy web host
  replatform.kubernetes.legacy_service_facts:
    name: esp-api
  delegate_to: legacy-web1
  register: api

- name: Show the ports esp-api listens on
  ansible.builtin.debug:
    msg: "{{ api.ansible_facts.legacy_service.listeners | map(attribute='port') | list }}"

- name: Profile postfix, reading one more file
  replatform.kubernetes.legacy_service_facts:
    name: postfix
    config_paths: [/etc/mailname]
"""

RETURN = r"""
ansible_facts:
  description: Facts to add to the host.
  returned: success
  type: complex
  contains:
    legacy_service:
      description: The service profile.
      returned: success
      type: complex
      contains:
        requested:
          description: The O(name) asked for.
          type: str
          sample: postfix
        unit:
          description: The unit profiled.
          type: str
          sample: postfix@-.service
        followed_from:
          description: The oneshot wrapper unit that was asked for and followed to RV(ansible_facts.legacy_service.unit), else null.
          type: str
          sample: postfix.service
        description:
          description: The unit's Description.
          type: str
        state:
          description: C(load), C(active) and C(sub) state of the unit.
          type: dict
          sample: {load: loaded, active: active, sub: running}
        fragments:
          description: Unit file and drop-ins, in the order systemd reads them.
          type: list
          elements: str
        type:
          description: Service Type (C(simple), C(forking), ...).
          type: str
        exec_start:
          description: ExecStart commands; C(argv) split like systemd, prefixes (C(-@:+!)) removed and listed in C(prefixes).
          type: list
          elements: dict
          sample: [{argv: [/usr/bin/python3, /opt/esp-api/app.py, --config, /etc/esp-api/esp-api.conf],
                    path: /usr/bin/python3, prefixes: "", ignore_failure: false}]
        executable:
          description: Executable of the first ExecStart.
          type: str
        script:
          description: The script when the executable is an interpreter (python, perl, sh, ...), else null.
          type: str
        user:
          description: User= (C(root) when unset).
          type: str
        group:
          description: Group=, or null.
          type: str
        working_directory:
          description: WorkingDirectory=, or null.
          type: str
        environment:
          description: Environment= as a dict; values of secret-looking names are C(REDACTED).
          type: dict
        environment_files:
          description: EnvironmentFile= entries, C(path) and C(optional) (the C(-) prefix).
          type: list
          elements: dict
        directories:
          description: C(state_directory), C(logs_directory), C(runtime_directory), C(cache_directory) and
            C(configuration_directory), as absolute paths.
          type: dict
        main_pid:
          description: MainPID (0 when systemd does not track one).
          type: int
        control_group:
          description: The unit's cgroup.
          type: str
        pids:
          description: PIDs of the service.
          type: list
          elements: int
        pid_source:
          description: C(cgroup) (cgroup.procs) or C(proc) (MainPID and its descendants).
          type: str
        listeners:
          description: Listening sockets of the service's PIDs, from the kernel (C(ss)).
          type: list
          elements: dict
          contains:
            proto:
              description: C(tcp) or C(udp).
              type: str
            address:
              description: Bound address (C(0.0.0.0), C(::), ...).
              type: str
            port:
              description: Port.
              type: int
            interface:
              description: Interface the socket is bound to, or null.
              type: str
            pids:
              description: PIDs holding the socket.
              type: list
              elements: int
            processes:
              description: Process names holding the socket.
              type: list
              elements: str
        packages:
          description: Debian packages; C(relation) is C(owner) (ships one of C(paths)) or C(depends_on_<owner>)
            (installed package that depends on an owner of the executable at its exact version, such as
            C(python3) for C(python3-minimal), C(nginx-light) for C(nginx)).
          type: list
          elements: dict
          sample: [{name: python3-minimal, version: 3.11.2-1+b1, relation: owner, paths: [/usr/bin/python3]}]
        unpackaged_files:
          description: Executable, script and config files that no package owns.
          type: list
          elements: str
        config_files:
          description: Config files read, with C(path), C(source) (C(exec_start), C(environment_file),
            C(configuration_directory), C(config_paths), C(etc_dir)), C(size) and C(packages).
          type: list
          elements: dict
        skipped_files:
          description: Files not read, with C(path) and C(reason) (binary, too large, over max_files, not found).
          type: list
          elements: dict
        secrets:
          description: Secrets found, as C(file), C(line), C(key) and C(kind) (password, secret, api_key, token,
            private_key, credential, credential_map, url_credentials). Never the value.
          type: list
          elements: dict
          sample: [{file: /etc/esp-api/esp-api.conf, line: 10, key: api_key, kind: api_key}]
        ip_addresses:
          description: IP literals in the config, with C(file), C(line), C(value), C(version), C(loopback), C(unspecified).
          type: list
          elements: dict
          sample: [{file: /etc/esp-api/esp-api.conf, line: 22, value: 10.231.7.21, version: 4, loopback: false, unspecified: false}]
        log_paths:
          description: Log files and directories (LogsDirectory, /var/log paths in the config, /var/log/<name>),
            with C(path), C(source), C(exists), C(is_dir).
          type: list
          elements: dict
        data_dirs:
          description: Data directories (C(data_dirs), StateDirectory, /var/lib and /var/spool paths in the config (a file
            there stands for its directory, source C(config_file)), a WorkingDirectory the service can write, /var/lib/<name>,
            /var/spool/<name>), with C(path), C(source), C(exists), C(is_dir) and C(size) (bytes, when it exists).
          type: list
          elements: dict
        content_dirs:
          description: Directories a web server serves files from (nginx C(root) and C(alias), Apache
            C(DocumentRoot) and C(Alias)) that exist on the host and are not under C(/usr), with C(path),
            C(source), C(exists), C(is_dir). Their files go into the image.
          type: list
          elements: dict
          sample: [{path: /var/www/esp, source: config, exists: true, is_dir: true}]
        config_links:
          description: Symbolic links found in the config directories, with C(path) and C(target) as the
            link holds it (nginx C(sites-enabled), C(modules-enabled)). The image gets the same links.
          type: list
          elements: dict
          sample: [{path: /etc/nginx/sites-enabled/www.esp.test, target: /etc/nginx/sites-available/www.esp.test}]
        warnings:
          description: Unit file lines that were skipped.
          type: list
          elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.replatform.kubernetes.plugins.module_utils._common import run
from ansible_collections.replatform.kubernetes.plugins.module_utils._discovery import DiscoveryError, collect
from ansible_collections.replatform.kubernetes.plugins.module_utils._secrets import SecretRuleError


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "config_paths": {"type": "list", "elements": "path", "default": []},
            "max_files": {"type": "int", "default": 200},
            "max_file_size": {"type": "int", "default": 1048576},
            "secret_keys": {"type": "list", "elements": "str", "default": [], "no_log": False},
            "env_allow": {"type": "list", "elements": "str", "default": []},
            "data_dirs": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )

    def command(argv: list[str]) -> tuple[int, str, str]:
        return module.run_command(argv, environ_update={"LC_ALL": "C", "SYSTEMD_PAGER": "", "SYSTEMD_COLORS": "0"})

    def action(m: AnsibleModule) -> dict:
        p = m.params
        profile = collect(command, p["name"], p["config_paths"], p["max_files"], p["max_file_size"], p["secret_keys"], p["env_allow"],
                          p["data_dirs"])
        return {"changed": False, "ansible_facts": {"legacy_service": profile}}

    run(module, action, (DiscoveryError, SecretRuleError))


if __name__ == "__main__":
    main()
