#!/usr/bin/python
# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: build_context
short_description: Write the image build context of a legacy service from its discovered profile
version_added: 0.1.0
description:
  - Renders a Containerfile and the files of the build context from a profile of
    M(replatform.kubernetes.legacy_service_facts) and the service's files fetched from its host, and
    makes O(dest) hold exactly that context (C(Containerfile) and C(rootfs/<absolute path>)).
  - Runs where the image is built (the controller or a build host), not on the legacy host.
  - The image tag is a hash of the context, so an unchanged service keeps its tag and is not rebuilt.
  - In diff mode, the Containerfile's text and the list of context files, before and after.
  - Files that hold secrets, binary config files and redacted environment values are left out of the
    context and listed in RV(excluded); they are mounted from a Kubernetes Secret at deploy time.
  - Written because no template or file module renders a build context from a service profile; the
    rules (foreground commands, non-root user, log symlinks, health check) live in
    C(module_utils/_containerfile.py) and are unit-tested there.
author:
  - Replatform Team (@replatform)
extends_documentation_fragment:
  - replatform.kubernetes.attributes.changes
options:
  profile:
    description: The service profile (C(ansible_facts.legacy_service)), with or without runtime keys.
    type: dict
    required: true
  base_image:
    description: The locally built base image, fully qualified (C(registry[:port]/name[:tag])).
    type: str
    required: true
  files_dir:
    description:
      - Directory on this machine where the host's files were fetched, laid out by absolute path
        (C(<files_dir>/etc/esp-api/esp-api.conf)).
    type: path
    required: true
  paths:
    description:
      - Absolute paths (as on the host) to read from O(files_dir), that is the config files, the files of the
        app directory and those of the served content directories. Only these are considered, so a file
        deleted on the host does not linger in the image.
    type: list
    elements: str
    required: true
  dest:
    description: The build context directory to write; created when missing.
    type: path
    required: true
  command:
    description:
      - The container's command, when the unit's ExecStart cannot be used as it is (a forking daemon the
        collection does not know, or a secret on the command line).
    type: list
    elements: str
  health_check_port:
    description: The port the HEALTHCHECK connects to; by default an HTTP-looking port, else SMTP, else the lowest.
    type: int
  mtimes:
    description:
      - Modification times on the host (seconds since the epoch) by absolute path, as
        M(ansible.builtin.find) returns them. Served files (the profile's C(content_dirs)) get them in the
        image, since web servers derive C(Last-Modified) and C(ETag) from them, so the new platform then
        answers with the same values as the old one.
    type: dict
    default: {}
  max_file_size:
    description: Files larger than this many bytes are left out and reported.
    type: int
    default: 1048576
  modes:
    description:
      - Mode, owner and group on the host by absolute path, as M(ansible.builtin.find) returns them
        (C(mode), C(pw_name) or C(owner), C(gr_name) or C(group)). Code and content files keep them in the image
        (the service's user as the image's fixed UID; other owners that the base image lacks become root).
    type: dict
    default: {}
  foreground_rules:
    description:
      - How forking daemons run in the foreground, by executable name (shell patterns allowed), added to the
        built-in rules (C(module_utils/_foreground.py)) or replacing them. Each rule is a dict with any of
        C(argv) (the command instead), C(remove) (arguments dropped), C(replace) (argument to replacement),
        C(append) (arguments added), C(always) (also for units that are not C(Type=forking)), C(package).
      - A forking daemon without a rule is refused, naming this option.
    type: dict
    default: {}
  secret_allow:
    description:
      - Findings of the secret scan that are not secrets, each with C(file) (absolute path as on the host),
        C(reason) (required), and optionally C(line) and C(rule).
      - Before the context is written, every file of it and the Containerfile are scanned for private keys,
        known token formats, URL credentials and secret-looking or high-entropy values in assignment position
        (C(module_utils/_secretscan.py)). Any finding not allowed here fails the module, naming file, line and
        rule, never the value, and nothing is written.
    type: list
    elements: dict
    default: []
  secret_keys:
    description:
      - The operator's own regular expressions of secret names (as M(replatform.kubernetes.legacy_service_facts)
        O(secret_keys)). The scan treats a key they match as secret too, so one vocabulary extends both discovery
        and the scan.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Write the build context of esp-api
  replatform.kubernetes.build_context:
    profile: "{{ hostvars['legacy-web1'].discover_profile }}"
    base_image: registry.example.com/base/debian:bookworm
    files_dir: /var/tmp/replatform/esp-api/host-files
    paths: [/etc/esp-api/esp-api.conf, /etc/default/esp-api, /opt/esp-api/app.py]
    dest: /var/tmp/replatform/esp-api/context
  register: context

- name: Show the tag
  ansible.builtin.debug:
    msg: "registry.example.com/replatform/esp-api:{{ context.tag }}"
"""

RETURN = r"""
tag:
  description: First 12 hex digits of a sha256 over the Containerfile and every context file.
  returned: success
  type: str
  sample: 3f9c2a7d41b0
containerfile:
  description: The rendered Containerfile.
  returned: success
  type: str
files:
  description: Context files, relative to O(dest).
  returned: success
  type: list
  elements: str
  sample: [rootfs/etc/default/esp-api, rootfs/opt/esp-api/app.py]
excluded:
  description: What was left out of the image and why (C(path), C(reason)).
  returned: success
  type: list
  elements: dict
  sample: [{path: /etc/esp-api/esp-api.conf, reason: "holds secrets: mounted from a Kubernetes Secret at deploy time"}]
changes:
  description: Context files C(added), C(updated) and C(removed) (relative to O(dest)).
  returned: success
  type: dict
secret_scan:
  description: The secret scan of the context; C(findings) is empty on success, C(allowed) lists the findings
    O(secret_allow) let pass, with their reasons. File, line and rule only, never a value.
  returned: success
  type: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.replatform.kubernetes.plugins.module_utils._common import run
from ansible_collections.replatform.kubernetes.plugins.module_utils._containerfile import (
    ContainerfileError,
    read_files,
    render_context,
    write_context,
)
from ansible_collections.replatform.kubernetes.plugins.module_utils._secrets import SecretRuleError
from ansible_collections.replatform.kubernetes.plugins.module_utils._secretscan import SecretScanError, operator_patterns, scan_built_context


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "profile": {"type": "dict", "required": True},
            "base_image": {"type": "str", "required": True},
            "files_dir": {"type": "path", "required": True},
            "paths": {"type": "list", "elements": "str", "required": True},
            "dest": {"type": "path", "required": True},
            "command": {"type": "list", "elements": "str"},
            "health_check_port": {"type": "int"},
            "max_file_size": {"type": "int", "default": 1048576},
            "mtimes": {"type": "dict", "default": {}},
            "modes": {"type": "dict", "default": {}},
            "foreground_rules": {"type": "dict", "default": {}},
            "secret_allow": {"type": "list", "elements": "dict", "default": [], "no_log": False},
            "secret_keys": {"type": "list", "elements": "str", "default": [], "no_log": False},
        },
        supports_check_mode=True,
    )

    def action(m: AnsibleModule) -> dict:
        p = m.params
        context = render_context(
            p["profile"], p["base_image"], read_files(p["files_dir"], p["paths"]), command=p["command"],
            health_check_port=p["health_check_port"], max_file_size=p["max_file_size"],
            mtimes={str(k): float(v) for k, v in p["mtimes"].items()},
            modes={str(k): _mode(v) for k, v in p["modes"].items()}, rules=p["foreground_rules"],
        )
        scan = scan_built_context(context, p["secret_allow"], operator_patterns(p["secret_keys"]))
        before = ""
        if os.path.isfile(os.path.join(p["dest"], "Containerfile")):
            with open(os.path.join(p["dest"], "Containerfile"), encoding="utf-8") as handle:
                before = handle.read()
        changes = write_context(p["dest"], context, check_mode=m.check_mode)
        changed = any(changes.values())
        result = {
            "changed": changed, "tag": context["tag"], "containerfile": context["containerfile"],
            "files": sorted(context["files"]), "excluded": context["excluded"], "changes": changes,
            "secret_scan": scan,
        }
        if m._diff and changed:
            result["diff"] = [
                {"before_header": "Containerfile", "after_header": "Containerfile", "before": before, "after": context["containerfile"]},
                {"before_header": "context files", "after_header": "context files",
                 "before": "".join("%s\n" % f for f in sorted((set(context["files"]) - set(changes["added"])) | set(changes["removed"]))),
                 "after": "".join("%s\n" % f for f in sorted(context["files"]))},
            ]
        return result

    run(module, action, (ContainerfileError, SecretScanError, SecretRuleError))


def _mode(value: dict) -> dict:
    """mode, owner, group from a find result (pw_name, gr_name) or a plain dict."""
    value = value if isinstance(value, dict) else {}
    return {"mode": value.get("mode"), "owner": value.get("owner", value.get("pw_name")), "group": value.get("group", value.get("gr_name"))}


if __name__ == "__main__":
    main()
