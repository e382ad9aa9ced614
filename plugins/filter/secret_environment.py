# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: secret_environment
short_description: The values of a service's secret environment, for its Kubernetes Secret
version_added: 0.1.0
author:
  - Replatform Team (@replatform)
description:
  - Secrets are denied by default; discovery C(REDACTED) every C(Environment=) and C(EnvironmentFile=) value
    whose name is not on the allow list, and every ExecStart argument that holds a secret.
  - From the unit files and EnvironmentFiles read on the legacy host (the C(env_sources) of
    P(replatform.kubernetes.image_sources#filter), read under C(no_log)), returns the values of exactly those,
    the content of the Secret C(<service>-env) that the container takes with C(envFrom). A secret argument
    is passed as the variable C(REPLATFORM_EXEC_ARG_<index>).
  - Use it only in tasks with C(no_log), and never register or print its result.
options:
  _input:
    description: The service profile.
    type: dict
    required: true
  texts:
    description: Absolute path on the host to the file's content, for each of C(env_sources).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Deploy with the secret environment (no_log)
  ansible.builtin.include_role:
    name: replatform.kubernetes.deploy
  vars:
    deploy_secret_env: "{{ discover_profile | replatform.kubernetes.secret_environment(env_texts) }}"
  no_log: true
"""

RETURN = r"""
_value:
  description: Variable name to value. Secret values, never to be logged.
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.replatform.kubernetes.plugins.module_utils._containerfile import ContainerfileError, secret_environment as _secret_environment


def secret_environment(profile, texts):
    try:
        return _secret_environment(profile, texts)
    except (ContainerfileError, ValueError, TypeError, KeyError) as exc:
        raise AnsibleFilterError("secret_environment: %s" % exc) from exc


class FilterModule:
    def filters(self):
        return {"secret_environment": secret_environment}
