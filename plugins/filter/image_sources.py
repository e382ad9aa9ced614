# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: image_sources
short_description: What to fetch from a legacy host to build a service's image, and how to check the image
version_added: 0.1.0
author:
  - Replatform Team (@replatform)
description:
  - From a profile of M(replatform.kubernetes.legacy_service_facts), lists the config files to fetch (not
    those that hold secrets, not symlinks), the files that hold secrets (to read under C(no_log) and mount
    from a Kubernetes Secret), and the directories fetched whole (the service's app directory, served content).
  - Also names the port the image is checked on and how (C(http), C(smtp) or C(tcp)), and the unit files and
    EnvironmentFiles (C(env_sources)) whose secret values the filter P(replatform.kubernetes.secret_environment#filter)
    turns into the service's secret environment.
  - The same rules as M(replatform.kubernetes.build_context) use, so what is fetched is what the context needs.
options:
  _input:
    description: The service profile.
    type: dict
    required: true
  health_check_port:
    description: The port to check; by default an HTTP-looking port, else SMTP, else the lowest TCP port.
    type: int
"""

EXAMPLES = r"""
- name: List what the image of esp-api is built from
  ansible.builtin.debug:
    msg: "{{ discover_profile | replatform.kubernetes.image_sources }}"
"""

RETURN = r"""
_value:
  description: C(config_files), C(secret_files), C(env_sources), C(directories) (lists of absolute paths) and C(probe) (C(port), C(check)) or null.
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.replatform.kubernetes.plugins.module_utils._containerfile import ContainerfileError, image_sources as _image_sources


def image_sources(profile, health_check_port=None):
    try:
        return _image_sources(profile, None if health_check_port in (None, "") else int(health_check_port))
    except (ContainerfileError, ValueError, TypeError) as exc:
        raise AnsibleFilterError("image_sources: %s" % exc) from exc


class FilterModule:
    def filters(self):
        return {"image_sources": image_sources}
