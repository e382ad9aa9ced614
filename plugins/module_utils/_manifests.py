# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Kubernetes manifests for a migrated service, rendered from its discovered profile.

Private to this collection; importable and unit-testable without Ansible. The output is a list of
plain dicts (Deployment, Service, Ingress, ConfigMap, Secret, PodDisruptionBudget) for
kubernetes.core.k8s to apply. Everything carries the labels the collection finds its objects by.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import posixpath
import re
import typing as t

from ansible_collections.replatform.kubernetes.plugins.module_utils._containerfile import SERVICE_UID, ContainerfileError, data_directories, validate_image

MANAGED_BY = "replatform.kubernetes"
LABEL_SERVICE = "replatform.kubernetes/service"
ANNOTATION_CONFIG_HASH = "replatform.kubernetes/config-hash"
DEFAULT_REPLICAS = 2
DEFAULT_RESOURCES = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}}
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_NAME = re.compile(r"^(\*\.)?([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


class ManifestError(ValueError):
    """Input that cannot be rendered; the message names the field and what is allowed."""


def _check(condition: bool, field: str, message: str) -> None:
    if not condition:
        raise ManifestError("%s: %s" % (field, message))


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def k8s_name(value: str) -> str:
    """A DNS-1123 label from a unit or service name (esp-api.service -> esp-api, postfix@- -> postfix)."""
    name = value.rsplit(".service", 1)[0] if value.endswith(".service") else value
    name = re.sub(r"@.*$", "", name).lower()
    name = re.sub(r"[^a-z0-9-]+", "-", name).strip("-")
    return name[:63].rstrip("-")


def content_hash(data: t.Any) -> str:
    """First 12 hex digits of sha256 over canonical JSON."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:12]


def _key_for(path: str) -> str:
    """A ConfigMap/Secret key for an absolute file path (keys allow [-._a-zA-Z0-9])."""
    return re.sub(r"[^-._a-zA-Z0-9]", "_", path.strip("/"))


def tcp_ports(profile: dict[str, t.Any]) -> list[int]:
    ports = sorted({int(listener["port"]) for listener in profile.get("listeners") or [] if listener.get("proto", "tcp") == "tcp"})
    for index, port in enumerate(ports):
        _check(1 <= port <= 65535, "profile.listeners[%d].port" % index, "%r is out of range 1-65535" % port)
    return ports


DATA_VOLUME_TYPES = ("emptyDir", "persistentVolumeClaim", "none")
SEED_ROOT = "/replatform-seed"
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")


def _volume_name(path: str) -> str:
    """A volume name (DNS label) for a data directory: data-var-lib-redis; long paths end in a hash."""
    base = "data-" + re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")
    if len(base) > 63:
        base = base[:54].rstrip("-") + "-" + hashlib.sha256(path.encode("utf-8")).hexdigest()[:8]
    return base


def data_volumes(profile: dict[str, t.Any], overrides: dict[str, t.Any] | None = None) -> list[dict[str, t.Any]]:
    """Each data directory as {path, name, volume}: an emptyDir unless ``overrides`` says otherwise.

    ``overrides`` maps a path (a discovered data directory or another one) to ``{type: emptyDir,
    size_limit: 2Gi}``, ``{type: persistentVolumeClaim, claim: NAME}`` or ``{type: none}`` (no
    volume: the directory stays in the container's own layer and is lost with it).
    """
    overrides = dict(overrides or {})
    try:
        paths = data_directories(profile)
    except ContainerfileError as exc:
        raise ManifestError(str(exc)) from exc
    for path in overrides:
        _check(isinstance(path, str) and posixpath.isabs(path) and posixpath.normpath(path) == path and path != "/",
               "data_volumes", "%r is not a normalised absolute path below /" % (path,))
        if path not in paths:
            paths.append(path)
    result = []
    for path in paths:
        spec = overrides.get(path) or {}
        field = "data_volumes[%s]" % path
        _check(isinstance(spec, dict), field, "must be a dict with type (%s)" % ", ".join(DATA_VOLUME_TYPES))
        unknown = sorted(set(spec) - {"type", "claim", "size_limit"})
        _check(not unknown, field, "unknown keys %s; allowed: type, claim, size_limit" % ", ".join(unknown))
        kind = spec.get("type", "emptyDir")
        _check(kind in DATA_VOLUME_TYPES, field + ".type", "%r is not one of %s" % (kind, ", ".join(DATA_VOLUME_TYPES)))
        if kind == "none":
            continue
        if kind == "persistentVolumeClaim":
            claim = spec.get("claim")
            _check(isinstance(claim, str) and bool(_DNS_LABEL.match(claim)), field + ".claim",
                   "%r must name a PersistentVolumeClaim in the namespace (a DNS label)" % (claim,))
            volume: dict[str, t.Any] = {"persistentVolumeClaim": {"claimName": claim}}
        else:
            _check("claim" not in spec, field + ".claim", "only for type persistentVolumeClaim")
            volume = {"emptyDir": {}}
            if "size_limit" in spec:
                _check(bool(_QUANTITY.match(str(spec["size_limit"]))), field + ".size_limit",
                       "%r is not a Kubernetes quantity (for example 512Mi, 2Gi)" % (spec["size_limit"],))
                volume["emptyDir"]["sizeLimit"] = str(spec["size_limit"])
        result.append({"path": path, "name": _volume_name(path), "volume": volume})
    return result


def seed_container(image: str, volumes: list[dict[str, t.Any]], security: dict[str, t.Any]) -> dict[str, t.Any]:
    """An init container that fills each empty data volume with what the image has at its path.

    A volume hides the image's directory (a package's files, the directories a daemon expects); the
    copy runs only into an empty volume, so a persistent volume's data is never overwritten.
    """
    steps = []
    for item in volumes:
        seed = "%s/%s" % (SEED_ROOT, item["name"])
        # Entry by entry (find): `cp -a DIR/. SEED/` would also set the mount point's own mode and times,
        # which a non-root user may not on a volume root (kubelet makes it root's, group fsGroup).
        steps.append("if [ -d %s ] && [ -z \"$(ls -A %s)\" ]; then find %s -mindepth 1 -maxdepth 1 -exec cp -a {} %s/ \\;; fi" % (
            _sh(item["path"]), seed, _sh(item["path"]), seed))
    return {
        "name": "seed-data",
        "image": image,
        "command": ["/bin/sh", "-c", "set -e; " + "; ".join(steps)],
        "securityContext": security,
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "500m", "memory": "128Mi"}},
        "volumeMounts": [{"name": item["name"], "mountPath": "%s/%s" % (SEED_ROOT, item["name"])} for item in volumes],
    }


ROUTE_KINDS = ("ingress", "httproute", "route")
# The lowest port a non-root user may bind without a capability; below it the pod sets this sysctl.
UNPRIVILEGED_PORT_SYSCTL = "net.ipv4.ip_unprivileged_port_start"


def pod_security_contexts(profile: dict[str, t.Any], ports: list[int], run_as_user: int) -> tuple[dict[str, t.Any], dict[str, t.Any]]:
    """(container, pod) security contexts; Pod Security ``restricted`` for a service that runs as a user.

    Every pod gets the RuntimeDefault seccomp profile and no privilege escalation. A service run as a
    user runs as ``run_as_user``, non-root, with every capability dropped. To bind a port below 1024
    it gets the namespaced sysctl ``net.ipv4.ip_unprivileged_port_start`` (allowed by ``restricted``)
    rather than ``NET_BIND_SERVICE``: a capability the pod adds reaches a non-root process only
    through file capabilities or ambient ones, which container runtimes do not set.
    A service that ran as root keeps root (it drops privileges itself) and passes ``baseline`` only.
    """
    user = profile.get("user")
    security: dict[str, t.Any] = {"allowPrivilegeEscalation": False}
    pod: dict[str, t.Any] = {"seccompProfile": {"type": "RuntimeDefault"}}
    if bool(user) and user != "root":
        pod.update({"runAsNonRoot": True, "runAsUser": run_as_user, "runAsGroup": run_as_user, "fsGroup": run_as_user})
        security["capabilities"] = {"drop": ["ALL"]}
        low = [port for port in ports if port < 1024]
        if low:
            pod["sysctls"] = [{"name": UNPRIVILEGED_PORT_SYSCTL, "value": str(min(low))}]
    return security, pod


_PSS_ORDER = {"privileged": 0, "baseline": 1, "restricted": 2}


def pod_security_level(profile: dict[str, t.Any]) -> str:
    """The strictest Pod Security level the service's pods pass: restricted when it runs as a user, else baseline."""
    user = profile.get("user")
    return "restricted" if bool(user) and user != "root" else "baseline"


def pod_security_refusal(profile: dict[str, t.Any], namespace: str, labels: dict[str, str] | None) -> str:
    """Why the namespace's enforced Pod Security level would refuse the service's pods, or ''."""
    enforce = (labels or {}).get("pod-security.kubernetes.io/enforce")
    level = pod_security_level(profile)
    if enforce not in _PSS_ORDER or _PSS_ORDER[enforce] <= _PSS_ORDER[level]:
        return ""
    return ("%s runs as root (its unit sets no User=, or User=root), so its pods pass Pod Security %s at most; namespace %s "
            "enforces %s, which admits no root container: migrate it into a namespace that enforces %s (replatform_pod_security) "
            "or run the service as a user on its legacy hosts first" % (profile.get("unit") or "the service", level, namespace, enforce, level))


def _route_input(route: str, gateway: dict[str, t.Any] | None, ingress_class: str | None, hosts: t.Sequence[str]) -> dict[str, t.Any]:
    _check(route in ROUTE_KINDS, "route", "%r is not one of %s" % (route, ", ".join(ROUTE_KINDS)))
    spec: dict[str, t.Any] = {"kind": route}
    if ingress_class is not None:
        _check(route == "ingress", "ingress_class", "only for route ingress (route is %s)" % route)
        _check(bool(_DNS_LABEL.match(ingress_class or "") or _DNS_NAME.match(ingress_class or "")), "ingress_class",
               "%r is not an IngressClass name" % (ingress_class,))
        spec["ingress_class"] = ingress_class
    if route == "httproute":
        gateway = dict(gateway or {})
        unknown = sorted(set(gateway) - {"name", "namespace", "section"})
        _check(not unknown, "gateway", "unknown keys %s; allowed: name, namespace, section" % ", ".join(unknown))
        for key in ("name", "namespace"):
            _check(bool(_DNS_LABEL.match(str(gateway.get(key) or ""))), "gateway.%s" % key,
                   "%r must name the Gateway the HTTPRoute attaches to (a DNS label)" % (gateway.get(key),))
        if gateway.get("section") is not None:
            _check(bool(_DNS_LABEL.match(str(gateway["section"]))), "gateway.section", "%r is not a listener name" % (gateway["section"],))
        spec["gateway"] = gateway
    else:
        _check(not gateway, "gateway", "only for route httproute (route is %s)" % route)
    if route == "route":
        _check(len(hosts) <= 1, "hosts", "an OpenShift Route serves one host; got %d (route httproute or ingress serve several)" % len(hosts))
    return spec


_LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$")
_TOLERATION_KEYS = {"key", "operator", "value", "effect", "tolerationSeconds"}


_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|[kMGTPE]i?)?$")


def _resources(resources: dict[str, t.Any] | None) -> dict[str, t.Any]:
    """The container's requests and limits (cpu, memory as Kubernetes quantities); empty: the defaults."""
    if not resources:
        return DEFAULT_RESOURCES
    _check(isinstance(resources, dict), "resources", "%r must be a dict with requests and/or limits" % (resources,))
    for part, values in resources.items():
        _check(part in ("requests", "limits"), "resources", "unknown %r (allowed: requests, limits)" % (part,))
        _check(isinstance(values, dict), "resources.%s" % part, "%r must be a dict of cpu and/or memory" % (values,))
        for key, value in values.items():
            field = "resources.%s.%s" % (part, key)
            _check(key in ("cpu", "memory"), "resources.%s" % part, "unknown %r (allowed: cpu, memory)" % (key,))
            _check(not isinstance(value, bool) and bool(_QUANTITY.match(str(value))), field, "%r is not a quantity (e.g. 100m, 0.5, 128Mi)" % (value,))
    return {part: {key: str(value) for key, value in values.items()} for part, values in resources.items()}


def _placement(node_selector: dict[str, str] | None, tolerations: list[dict[str, t.Any]] | None) -> dict[str, t.Any]:
    """nodeSelector and tolerations for the pod: where it may run (a node pool for migrated services)."""
    result: dict[str, t.Any] = {}
    for key, value in (node_selector or {}).items():
        _check(bool(_LABEL_KEY.match(str(key))) and isinstance(value, str) and bool(_LABEL_VALUE.match(value)),
               "node_selector", "%r: %r is not a label key and value" % (key, value))
    if node_selector:
        result["nodeSelector"] = dict(sorted(node_selector.items()))
    for index, item in enumerate(tolerations or []):
        field = "tolerations[%d]" % index
        _check(isinstance(item, dict) and not set(item) - _TOLERATION_KEYS, field,
               "must be a dict with %s" % ", ".join(sorted(_TOLERATION_KEYS)))
        _check(item.get("operator", "Equal") in ("Equal", "Exists"), field + ".operator", "%r is not Equal or Exists" % (item.get("operator"),))
        _check(item.get("effect") in (None, "NoSchedule", "PreferNoSchedule", "NoExecute"), field + ".effect",
               "%r is not NoSchedule, PreferNoSchedule or NoExecute" % (item.get("effect"),))
    if tolerations:
        result["tolerations"] = [dict(item) for item in tolerations]
    return result


def _node_ports(node_ports: dict[int, int] | None, ports: list[int]) -> dict[int, int]:
    result = {}
    for port, node_port in (node_ports or {}).items():
        _check(port in ports, "node_ports", "port %r is not one the service listens on (%s)" % (port, ", ".join(map(str, ports))))
        _check(isinstance(node_port, int) and not isinstance(node_port, bool) and 30000 <= node_port <= 32767,
               "node_ports[%s]" % port, "%r is not a node port (30000-32767, the API server's default range)" % (node_port,))
        result[port] = node_port
    _check(len(set(result.values())) == len(result), "node_ports", "two ports share a node port")
    return result


def route_objects(spec: dict[str, t.Any], meta: t.Callable[[str], dict[str, t.Any]], name: str, hosts: list[str], port: int) -> list[dict[str, t.Any]]:
    """The object that routes the hosts to the Service: Ingress, HTTPRoute or OpenShift Route."""
    if spec["kind"] == "httproute":
        parent: dict[str, t.Any] = {"group": "gateway.networking.k8s.io", "kind": "Gateway",
                                    "name": spec["gateway"]["name"], "namespace": spec["gateway"]["namespace"]}
        if spec["gateway"].get("section"):
            parent["sectionName"] = spec["gateway"]["section"]
        return [{
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": meta(name),
            "spec": {
                "parentRefs": [parent],
                "hostnames": hosts,
                "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                           "backendRefs": [{"name": name, "port": port}]}],
            },
        }]
    if spec["kind"] == "route":
        return [{
            "apiVersion": "route.openshift.io/v1",
            "kind": "Route",
            "metadata": meta(name),
            "spec": {"host": hosts[0], "to": {"kind": "Service", "name": name, "weight": 100},
                     "port": {"targetPort": "p%d" % port}},
        }]
    ingress: dict[str, t.Any] = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": meta(name),
        "spec": {
            "rules": [
                {"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix",
                                                   "backend": {"service": {"name": name, "port": {"number": port}}}}]}}
                for host in hosts
            ]
        },
    }
    if spec.get("ingress_class"):
        ingress["spec"]["ingressClassName"] = spec["ingress_class"]
    return [ingress]


def _sh(word: str) -> str:
    return "'" + word.replace("'", "'\\''") + "'"


def render(
    profile: dict[str, t.Any],
    image: str,
    namespace: str,
    *,
    name: str | None = None,
    hosts: t.Sequence[str] = (),
    replicas: int = DEFAULT_REPLICAS,
    http_paths: dict[int, str] | None = None,
    config_files: dict[str, str] | None = None,
    secret_files: dict[str, str] | None = None,
    secret_env: dict[str, str] | None = None,
    resources: dict[str, t.Any] | None = None,
    run_as_user: int = SERVICE_UID,
    data_volume_overrides: dict[str, t.Any] | None = None,
    route: str = "ingress",
    gateway: dict[str, t.Any] | None = None,
    ingress_class: str | None = None,
    node_ports: dict[int, int] | None = None,
    node_selector: dict[str, str] | None = None,
    tolerations: list[dict[str, t.Any]] | None = None,
) -> list[dict[str, t.Any]]:
    """Render the service's objects.

    ``config_files`` and ``secret_files`` map absolute paths to contents (the secret ones are files in
    which discovery found secrets; the caller reads them under no_log). ``http_paths`` maps a port to
    the path its HTTP probes use; other ports are probed by TCP connect. ``secret_env`` holds the
    values of the service's secret environment (``_containerfile.secret_environment``): they go to a
    Secret ``<name>-env`` that the container takes with ``envFrom``, never into the image or a ConfigMap. ``hosts`` are the DNS names
    the route serves; without hosts there is no route. ``route`` chooses the route object (``ROUTE_KINDS``:
    an Ingress, a Gateway API HTTPRoute attached to ``gateway`` {name, namespace, section}, or an
    OpenShift Route). ``node_ports`` maps a port to the node port a NodePort Service opens for it (TCP
    services the entry point does not route by name). Each data directory gets a volume
    (``data_volumes``; ``data_volume_overrides`` chooses its type), filled from the image first.
    Pods pass Pod Security ``restricted`` when the service runs as a user (``pod_security``).
    """
    name = name or k8s_name(profile.get("requested") or profile.get("unit") or "")
    _check(bool(_DNS_LABEL.match(name or "")), "name", "%r is not a DNS label (lower-case letters, digits, '-', at most 63)" % name)
    _check(bool(_DNS_LABEL.match(namespace or "")), "namespace", "%r is not a DNS label (lower-case letters, digits, '-', at most 63)" % namespace)
    try:
        validate_image(image, "image")  # one definition of a valid image reference, shared with the Containerfile
    except ContainerfileError as exc:
        raise ManifestError(str(exc)) from exc
    _check(isinstance(replicas, int) and 1 <= replicas <= 100, "replicas", "%r must be an integer from 1 to 100" % (replicas,))
    for index, host in enumerate(hosts):
        _check(bool(_DNS_NAME.match(host)) and not _is_ip(host), "hosts[%d]" % index, "%r is not a DNS name; hostnames only, never IP addresses" % host)
    http_paths = dict(http_paths or {})
    config_files = dict(config_files or {})
    secret_files = dict(secret_files or {})
    for field, files in (("config_files", config_files), ("secret_files", secret_files)):
        for path in files:
            _check(posixpath.isabs(path) and posixpath.normpath(path) == path, field, "%r is not a normalised absolute path" % path)
    secret_env = dict(secret_env or {})
    for key, value in secret_env.items():
        _check(bool(re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", str(key))) and isinstance(value, str), "secret_env",
               "%r must be an environment variable name ([A-Za-z_][A-Za-z0-9_]*) with a string value" % (key,))
    overlap = sorted(set(config_files) & set(secret_files))
    _check(not overlap, "secret_files", "%s also in config_files; a file is either config or secret" % ", ".join(overlap))

    ports = tcp_ports(profile)
    _check(bool(ports), "profile.listeners", "the service listens on no TCP port; nothing to route traffic to")
    route_spec = _route_input(route, gateway, ingress_class, hosts)
    placement = _placement(node_selector, tolerations)
    node_ports = _node_ports(node_ports, ports)
    for port in http_paths:
        _check(port in ports, "http_paths", "port %r is not one the service listens on (%s)" % (port, ", ".join(map(str, ports))))

    labels = {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/managed-by": MANAGED_BY,
        LABEL_SERVICE: name,
    }
    selector = {"app.kubernetes.io/name": name, LABEL_SERVICE: name}

    def meta(kind_name: str) -> dict[str, t.Any]:
        return {"name": kind_name, "namespace": namespace, "labels": dict(labels)}

    objects: list[dict[str, t.Any]] = []
    volumes: list[dict[str, t.Any]] = []
    mounts: list[dict[str, t.Any]] = []
    for kind, files, volume in (("ConfigMap", config_files, "config"), ("Secret", secret_files, "secrets")):
        if not files:
            continue
        obj_name = "%s-%s" % (name, volume)
        data = {_key_for(path): content for path, content in sorted(files.items())}
        obj: dict[str, t.Any] = {"apiVersion": "v1", "kind": kind, "metadata": meta(obj_name)}
        if kind == "Secret":
            obj["type"] = "Opaque"
            obj["stringData"] = data
            volumes.append({"name": volume, "secret": {"secretName": obj_name, "defaultMode": 0o440}})
        else:
            obj["data"] = data
            volumes.append({"name": volume, "configMap": {"name": obj_name}})
        objects.append(obj)
        for path in sorted(files):
            mounts.append({"name": volume, "mountPath": path, "subPath": _key_for(path), "readOnly": True})

    env_from = []
    if secret_env:
        objects.append({"apiVersion": "v1", "kind": "Secret", "metadata": meta("%s-env" % name), "type": "Opaque",
                        "stringData": dict(sorted(secret_env.items()))})
        env_from.append({"secretRef": {"name": "%s-env" % name}})

    first = ports[0]
    if first in http_paths:
        handler: dict[str, t.Any] = {"httpGet": {"path": http_paths[first], "port": first}}
    else:
        handler = {"tcpSocket": {"port": first}}
    security, pod_security = pod_security_contexts(profile, ports, run_as_user)

    container = {
        "name": name,
        "image": image,
        "ports": [{"name": "p%d" % port, "containerPort": port, "protocol": "TCP"} for port in ports],
        "readinessProbe": dict(handler, periodSeconds=2, failureThreshold=3),
        "livenessProbe": dict(handler, initialDelaySeconds=10, periodSeconds=10, failureThreshold=3),
        "resources": _resources(resources),
        "securityContext": security,
    }
    data = data_volumes(profile, data_volume_overrides)
    for item in data:
        volumes.append(dict(item["volume"], name=item["name"]))
        mounts.append({"name": item["name"], "mountPath": item["path"]})
    if mounts:
        container["volumeMounts"] = mounts
    if env_from:
        container["envFrom"] = env_from
    # A config change must roll the pods: the hash of what is mounted goes into the pod template.
    mounted: dict[str, t.Any] = {"config": config_files, "secrets": secret_files}
    if secret_env:
        mounted["env"] = secret_env
    annotations = {ANNOTATION_CONFIG_HASH: content_hash(mounted)}
    pod_spec: dict[str, t.Any] = {"containers": [container], "terminationGracePeriodSeconds": 30}
    pod_spec.update(placement)
    if data:
        pod_spec["initContainers"] = [seed_container(image, data, security)]
    if pod_security:
        pod_spec["securityContext"] = pod_security
    if volumes:
        pod_spec["volumes"] = volumes
    objects.append({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(name),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": selector},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {"metadata": {"labels": dict(labels), "annotations": annotations}, "spec": pod_spec},
        },
    })
    service_ports = []
    for port in ports:
        entry = {"name": "p%d" % port, "port": port, "targetPort": port, "protocol": "TCP"}
        if port in node_ports:
            entry["nodePort"] = node_ports[port]
        service_ports.append(entry)
    objects.append({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(name),
        "spec": {"type": "NodePort" if node_ports else "ClusterIP", "selector": selector, "ports": service_ports},
    })
    if hosts:
        web_port = next((port for port in ports if port in http_paths), first)
        objects += route_objects(route_spec, meta, name, list(hosts), web_port)
    objects.append({
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": meta(name),
        "spec": {"selector": {"matchLabels": selector}, ("minAvailable" if replicas > 1 else "maxUnavailable"): 1},
    })
    return objects
