# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: service_manifests
short_description: Kubernetes manifests for a migrated service, from its discovered profile
version_added: 0.1.0
author:
  - Replatform Team (@replatform)
description:
  - Renders the Deployment, Service, route (Ingress, HTTPRoute or OpenShift Route, when O(hosts) is given), ConfigMap, Secret and PodDisruptionBudget
    of a service from the profile that M(replatform.kubernetes.legacy_service_facts) returned.
  - Deployment with readiness and liveness probes on the service's first TCP port (HTTP GET where O(http_paths)
    names a path), a rolling update with C(maxUnavailable=0), a non-root security context when the unit ran as a
    non-root user, and an annotation with the hash of the mounted files so a config change rolls the pods.
  - Every object is labelled C(app.kubernetes.io/managed-by=replatform.kubernetes) and
    C(replatform.kubernetes/service=<name>).
  - Bad input fails naming the field and what is allowed, before anything is applied.
options:
  _input:
    description: The service profile (C(ansible_facts.legacy_service)).
    type: dict
    required: true
  image:
    description: The image reference, C(registry/name:tag) or with C(@sha256:digest).
    type: str
    required: true
  namespace:
    description: The namespace the objects go to.
    type: str
    required: true
  name:
    description: Object name; derived from the unit name when omitted (C(esp-api.service) gives C(esp-api)).
    type: str
  hosts:
    description: DNS names the Ingress serves. Hostnames only, never IP addresses. No Ingress when empty.
    type: list
    elements: str
    default: []
  replicas:
    description: Number of pods, 1 to 100.
    type: int
    default: 2
  http_paths:
    description: Port to HTTP path for the probes; other ports are probed by a TCP connect.
    type: dict
    default: {}
  config_files:
    description: Absolute path to content of config files mounted from a ConfigMap.
    type: dict
    default: {}
  secret_files:
    description:
      - Absolute path to content of files in which discovery found secrets; mounted from a Secret.
      - Read them under C(no_log) and apply the result under C(no_log).
    type: dict
    default: {}
  secret_env:
    description:
      - The service's secret environment (names to values, from the filter P(replatform.kubernetes.secret_environment#filter)),
        put in a Secret C(<name>-env) that the container takes with C(envFrom).
      - Build it under C(no_log) and apply the result under C(no_log).
    type: dict
    default: {}
  data_volumes:
    description:
      - How each data directory is mounted, by path. Every data directory of the profile (C(data_dirs)) gets a volume,
        an C(emptyDir) unless this says otherwise; a path here that the profile lacks is added.
      - Per path a dict with C(type), one of V(emptyDir), V(persistentVolumeClaim) or V(none) (no volume; the directory
        stays in the container's own layer), C(claim) (the claim's name, for V(persistentVolumeClaim)) and C(size_limit)
        (a quantity such as V(2Gi), for V(emptyDir)).
      - An init container C(seed-data) copies what the image has at each path into the volume when the volume is
        empty, so a package's directories are there and a persistent volume's data is never overwritten.
    type: dict
    default: {}
  route:
    description:
      - The object that routes O(hosts) to the Service. V(ingress) (networking.k8s.io/v1 Ingress), V(httproute)
        (gateway.networking.k8s.io/v1 HTTPRoute attached to O(gateway)) or V(route) (route.openshift.io/v1 Route, one
        host).
    type: str
    default: ingress
    choices: [ingress, httproute, route]
  gateway:
    description: For O(route=httproute), the Gateway to attach to, a dict with C(name), C(namespace) and optionally C(section) (a listener name).
    type: dict
  ingress_class:
    description: For O(route=ingress), the IngressClass (C(spec.ingressClassName)); the cluster's default class when omitted.
    type: str
  node_ports:
    description:
      - Port to node port (30000-32767). With any, the Service is of type NodePort, for TCP services (SMTP) the entry
        point does not route by host name.
    type: dict
    default: {}
  node_selector:
    description: Node labels the pods must run on (C(spec.nodeSelector)), for a node pool of migrated services.
    type: dict
    default: {}
  tolerations:
    description: Tolerations of the pods (C(key), C(operator), C(value), C(effect), C(tolerationSeconds)), for a tainted node pool.
    type: list
    elements: dict
    default: []
  resources:
    description:
      - The container's C(requests) and C(limits), each a dict of C(cpu) and C(memory) quantities.
      - Empty, the default is requests of 100m CPU and 128Mi memory and a 512Mi memory limit.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Render and apply the service's objects
  kubernetes.core.k8s:
    state: present
    apply: true
    definition: >-
      {{ ansible_facts.legacy_service | replatform.kubernetes.service_manifests(
           image='registry.example.net/esp/esp-api:3f9a0c1b2d4e', namespace='esp-migrated',
           hosts=['api.example.com'], http_paths={8081: '/healthz'}) }}
"""

RETURN = r"""
_value:
  description: The objects, in the order to apply them (ConfigMap and Secret first).
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.replatform.kubernetes.plugins.module_utils._manifests import ManifestError, render


def service_manifests(profile, image, namespace, name=None, hosts=(), replicas=2, http_paths=None, config_files=None, secret_files=None, secret_env=None,
                      data_volumes=None, route="ingress", gateway=None, ingress_class=None, node_ports=None,
                      node_selector=None, tolerations=None, resources=None):
    if not isinstance(profile, dict):
        raise AnsibleFilterError("service_manifests: the input must be a service profile (a dict), got %s" % type(profile).__name__)
    try:
        return render(
            profile, image, namespace, name=name, hosts=list(hosts or []), replicas=int(replicas),
            http_paths={int(port): path for port, path in (http_paths or {}).items()},
            config_files=config_files, secret_files=secret_files, secret_env=secret_env,
            data_volume_overrides=data_volumes, route=route, gateway=gateway, ingress_class=ingress_class,
            node_ports={int(port): int(node_port) for port, node_port in (node_ports or {}).items()},
            node_selector=node_selector, tolerations=tolerations, resources=resources or None,
        )
    except (ManifestError, ValueError, TypeError) as exc:
        raise AnsibleFilterError("service_manifests: %s" % exc) from exc


class FilterModule:
    def filters(self):
        return {"service_manifests": service_manifests}
