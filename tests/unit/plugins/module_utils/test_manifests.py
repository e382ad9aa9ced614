# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Manifests rendered from the esp-api profile discovered on the lab's legacy-web1."""

from __future__ import annotations

import json

import pytest

from ansible_collections.replatform.kubernetes.plugins.module_utils import _manifests as m
from ansible_collections.replatform.kubernetes.tests.unit.plugins.module_utils.lab_captures import (
    API_KEY,
    esp_api_profile,
    fixture,
)

IMAGE = "127.0.0.1:5000/replatform/esp-api:3f9a0c1b2d4e"


def render(**kwargs):
    args = {"profile": esp_api_profile(), "image": IMAGE, "namespace": "esp-migrated"}
    args.update(kwargs)
    return {obj["kind"]: obj for obj in m.render(**args)}


def test_objects_and_labels():
    objects = render(hosts=["api.esp.test"], config_files={"/etc/default/esp-api": "X=1\n"},
                     secret_files={"/etc/esp-api/esp-api.conf": fixture("web1_esp-api.conf")})
    assert sorted(objects) == ["ConfigMap", "Deployment", "Ingress", "PodDisruptionBudget", "Secret", "Service"]
    for obj in objects.values():
        assert obj["metadata"]["namespace"] == "esp-migrated"
        assert obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "replatform.kubernetes"
        assert obj["metadata"]["labels"]["replatform.kubernetes/service"] == "esp-api"


def test_deployment_from_profile():
    deployment = render(http_paths={8081: "/healthz"})["Deployment"]
    spec = deployment["spec"]
    assert deployment["metadata"]["name"] == "esp-api"
    assert spec["replicas"] == 2
    assert spec["strategy"]["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}
    pod = spec["template"]["spec"]
    container = pod["containers"][0]
    assert container["image"] == IMAGE
    assert [p["containerPort"] for p in container["ports"]] == [8081]
    assert container["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": 8081}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": 8081}
    # The unit runs as espapi: the pod runs as a non-root user and drops every capability.
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()


def test_tcp_probe_without_http_path():
    container = render()["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["tcpSocket"] == {"port": 8081}


def test_root_service_gets_no_run_as_non_root():
    profile = esp_api_profile()
    profile["user"] = None
    pod = render(profile=profile)["Deployment"]["spec"]["template"]["spec"]
    assert pod["securityContext"] == {"seccompProfile": {"type": "RuntimeDefault"}}


def test_secret_files_go_to_a_secret_and_are_mounted_read_only():
    conf = fixture("web1_esp-api.conf")
    objects = render(secret_files={"/etc/esp-api/esp-api.conf": conf})
    assert objects["Secret"]["stringData"] == {"etc_esp-api_esp-api.conf": conf}
    assert "ConfigMap" not in objects
    pod = objects["Deployment"]["spec"]["template"]["spec"]
    assert pod["containers"][0]["volumeMounts"][0] == {
        "name": "secrets", "mountPath": "/etc/esp-api/esp-api.conf", "subPath": "etc_esp-api_esp-api.conf", "readOnly": True}
    # The secret value is only in the Secret object, never in the Deployment.
    assert API_KEY not in json.dumps(objects["Deployment"])


def test_data_directories_become_volumes_seeded_from_the_image():
    pod = render()["Deployment"]["spec"]["template"]["spec"]
    assert pod["volumes"] == [{"name": "data-var-lib-esp-api", "emptyDir": {}}]
    assert pod["containers"][0]["volumeMounts"] == [{"name": "data-var-lib-esp-api", "mountPath": "/var/lib/esp-api"}]
    seed = pod["initContainers"][0]
    assert seed["name"] == "seed-data" and seed["image"] == IMAGE
    assert seed["securityContext"] == pod["containers"][0]["securityContext"]
    assert seed["volumeMounts"] == [{"name": "data-var-lib-esp-api", "mountPath": "/replatform-seed/data-var-lib-esp-api"}]
    # Only into an empty volume: a persistent volume's data is never overwritten.
    assert ("if [ -d '/var/lib/esp-api' ] && [ -z \"$(ls -A /replatform-seed/data-var-lib-esp-api)\" ]; then find '/var/lib/esp-api' "
            "-mindepth 1 -maxdepth 1 -exec cp -a {} /replatform-seed/data-var-lib-esp-api/ \\;; fi") in seed["command"][2]


def test_data_volume_overrides():
    pod = render(data_volume_overrides={
        "/var/lib/esp-api": {"type": "persistentVolumeClaim", "claim": "esp-api-data"},
        "/srv/uploads": {"size_limit": "2Gi"},
    })["Deployment"]["spec"]["template"]["spec"]
    assert pod["volumes"] == [{"name": "data-var-lib-esp-api", "persistentVolumeClaim": {"claimName": "esp-api-data"}},
                              {"name": "data-srv-uploads", "emptyDir": {"sizeLimit": "2Gi"}}]
    pod = render(data_volume_overrides={"/var/lib/esp-api": {"type": "none"}})["Deployment"]["spec"]["template"]["spec"]
    assert "volumes" not in pod and "initContainers" not in pod
    long = "/" + "/".join(["a-very-long-directory-name"] * 4)
    name = m.data_volumes({"data_dirs": [{"path": long, "exists": True, "is_dir": True}]})[0]["name"]
    assert len(name) <= 63 and m._DNS_LABEL.match(name)


@pytest.mark.parametrize("overrides, message", [
    ({"/var/lib/esp-api": {"type": "hostPath"}}, "data_volumes[/var/lib/esp-api].type: 'hostPath' is not one of emptyDir, persistentVolumeClaim, none"),
    ({"/var/lib/esp-api": {"type": "persistentVolumeClaim"}}, "data_volumes[/var/lib/esp-api].claim: None must name a PersistentVolumeClaim"),
    ({"/var/lib/esp-api": {"claim": "x"}}, "data_volumes[/var/lib/esp-api].claim: only for type persistentVolumeClaim"),
    ({"/var/lib/esp-api": {"size_limit": "lots"}}, "data_volumes[/var/lib/esp-api].size_limit: 'lots' is not a Kubernetes quantity"),
    ({"/var/lib/esp-api": {"mode": "0700"}}, "data_volumes[/var/lib/esp-api]: unknown keys mode; allowed: type, claim, size_limit"),
    ({"var/lib": {}}, "data_volumes: 'var/lib' is not a normalised absolute path"),
])
def test_bad_data_volume_names_the_field(overrides, message):
    with pytest.raises(m.ManifestError) as exc:
        render(data_volume_overrides=overrides)
    assert str(exc.value).startswith(message)


def test_a_data_dir_that_is_a_file_is_refused():
    profile = esp_api_profile()
    profile["data_dirs"] = [{"path": "/var/lib/esp-api/db.sqlite", "source": "config", "exists": True, "is_dir": False}]
    with pytest.raises(m.ManifestError, match=r"profile.data_dirs\[0\].path: /var/lib/esp-api/db.sqlite is not a directory"):
        render(profile=profile)


def test_config_change_rolls_the_pods():
    def config_hash(content):
        deployment = render(config_files={"/etc/default/esp-api": content})["Deployment"]
        return deployment["spec"]["template"]["metadata"]["annotations"]["replatform.kubernetes/config-hash"]

    assert config_hash("A=1\n") == config_hash("A=1\n")
    assert config_hash("A=1\n") != config_hash("A=2\n")


def test_rendering_is_deterministic():
    assert m.render(esp_api_profile(), IMAGE, "ns") == m.render(esp_api_profile(), IMAGE, "ns")


def test_pdb_and_single_replica():
    assert render()["PodDisruptionBudget"]["spec"]["minAvailable"] == 1
    assert render(replicas=1)["PodDisruptionBudget"]["spec"]["maxUnavailable"] == 1


def test_no_hosts_no_ingress():
    assert "Ingress" not in render()


@pytest.mark.parametrize("unit, name", [("esp-api.service", "esp-api"), ("postfix@-.service", "postfix"), ("My_App", "my-app")])
def test_k8s_name(unit, name):
    assert m.k8s_name(unit) == name


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"image": "Foo:bar"}, "image: 'Foo:bar' is not a valid image reference"),
        ({"namespace": "Esp_Migrated"}, "namespace: 'Esp_Migrated' is not a DNS label"),
        ({"name": "-bad"}, "name: '-bad' is not a DNS label"),
        ({"replicas": 0}, "replicas: 0 must be an integer from 1 to 100"),
        ({"hosts": ["10.231.7.11"]}, r"hosts\[0\]: '10.231.7.11' is not a DNS name; hostnames only"),
        ({"http_paths": {9999: "/"}}, "http_paths: port 9999 is not one the service listens on"),
        ({"config_files": {"etc/x": ""}}, "config_files: 'etc/x' is not a normalised absolute path"),
        ({"config_files": {"/etc/x": ""}, "secret_files": {"/etc/x": ""}}, "secret_files: /etc/x also in config_files"),
    ],
)
def test_bad_input_names_the_field(kwargs, message):
    with pytest.raises(m.ManifestError, match=message):
        render(**kwargs)


def test_service_without_listeners_is_refused():
    profile = esp_api_profile()
    profile["listeners"] = []
    with pytest.raises(m.ManifestError, match="profile.listeners: the service listens on no TCP port"):
        render(profile=profile)


def test_port_out_of_range_is_refused():
    profile = esp_api_profile()
    profile["listeners"] = [{"proto": "tcp", "port": 70000}]
    with pytest.raises(m.ManifestError, match=r"profile.listeners\[0\].port: 70000 is out of range"):
        render(profile=profile)


def test_pods_pass_pod_security_restricted():
    pod = render()["Deployment"]["spec"]["template"]["spec"]
    assert pod["securityContext"] == {"seccompProfile": {"type": "RuntimeDefault"}, "runAsNonRoot": True, "runAsUser": 10001,
                                      "runAsGroup": 10001, "fsGroup": 10001}
    for container in pod["containers"] + pod["initContainers"]:
        assert container["securityContext"] == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    # A user's service on port 80 binds it through the namespaced sysctl restricted allows, not a capability.
    profile = esp_api_profile()
    profile["listeners"] = [dict(profile["listeners"][0], port=80), dict(profile["listeners"][0], port=8443)]
    pod = render(profile=profile)["Deployment"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["sysctls"] == [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "80"}]


def test_route_kinds():
    ingress = render(hosts=["api.esp.test"], ingress_class="traefik")["Ingress"]
    assert ingress["spec"]["ingressClassName"] == "traefik"
    assert ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"] == {"name": "esp-api", "port": {"number": 8081}}
    objects = render(hosts=["api.esp.test", "api2.esp.test"], route="httproute", gateway={"name": "lab", "namespace": "lab-ingress", "section": "web"})
    assert "Ingress" not in objects
    route = objects["HTTPRoute"]
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert route["spec"]["parentRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "lab", "namespace": "lab-ingress",
                                            "sectionName": "web"}]
    assert route["spec"]["hostnames"] == ["api.esp.test", "api2.esp.test"]
    assert route["spec"]["rules"][0]["backendRefs"] == [{"name": "esp-api", "port": 8081}]
    openshift = render(hosts=["api.esp.test"], route="route")["Route"]
    assert openshift["apiVersion"] == "route.openshift.io/v1"
    assert openshift["spec"] == {"host": "api.esp.test", "to": {"kind": "Service", "name": "esp-api", "weight": 100}, "port": {"targetPort": "p8081"}}


def test_node_port_service():
    service = render(node_ports={8081: 30081})["Service"]
    assert service["spec"]["type"] == "NodePort"
    assert service["spec"]["ports"] == [{"name": "p8081", "port": 8081, "targetPort": 8081, "protocol": "TCP", "nodePort": 30081}]
    assert render()["Service"]["spec"]["type"] == "ClusterIP"


@pytest.mark.parametrize("kwargs, message", [
    ({"route": "gateway"}, "route: 'gateway' is not one of ingress, httproute, route"),
    ({"route": "httproute", "hosts": ["a.esp.test"]}, "gateway.name: None must name the Gateway"),
    ({"route": "httproute", "gateway": {"name": "lab", "namespace": "x", "port": 1}}, "gateway: unknown keys port"),
    ({"gateway": {"name": "lab", "namespace": "x"}}, "gateway: only for route httproute (route is ingress)"),
    ({"route": "route", "ingress_class": "traefik"}, "ingress_class: only for route ingress"),
    ({"route": "route", "hosts": ["a.esp.test", "b.esp.test"]}, "hosts: an OpenShift Route serves one host; got 2"),
    ({"node_ports": {80: 30080}}, "node_ports: port 80 is not one the service listens on (8081)"),
    ({"node_ports": {8081: 8081}}, "node_ports[8081]: 8081 is not a node port (30000-32767"),
])
def test_bad_route_input_names_the_field(kwargs, message):
    with pytest.raises(m.ManifestError) as exc:
        render(**kwargs)
    assert str(exc.value).startswith(message)


def test_placement_on_a_node_pool():
    pod = render(node_selector={"replatform.lab/node": "real"},
                 tolerations=[{"key": "replatform.lab/real-node", "operator": "Equal", "value": "true", "effect": "NoSchedule"}],
                 )["Deployment"]["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"replatform.lab/node": "real"}
    assert pod["tolerations"] == [{"key": "replatform.lab/real-node", "operator": "Equal", "value": "true", "effect": "NoSchedule"}]
    assert "nodeSelector" not in render()["Deployment"]["spec"]["template"]["spec"]
    with pytest.raises(m.ManifestError, match=r"^tolerations\[0\].effect: 'NoRun' is not NoSchedule"):
        render(tolerations=[{"key": "a", "effect": "NoRun"}])
    with pytest.raises(m.ManifestError, match=r"^node_selector: 'a b'"):
        render(node_selector={"a b": "c"})


def test_resources_default_and_override():
    container = render()["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"] == m.DEFAULT_RESOURCES
    small = {"requests": {"cpu": "20m", "memory": "32Mi"}, "limits": {"memory": 0.5}}
    container = render(resources=small)["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"] == {"requests": {"cpu": "20m", "memory": "32Mi"}, "limits": {"memory": "0.5"}}


@pytest.mark.parametrize("resources, message", [
    ({"request": {"cpu": "1"}}, "resources: unknown 'request' (allowed: requests, limits)"),
    ({"limits": {"gpu": "1"}}, "resources.limits: unknown 'gpu' (allowed: cpu, memory)"),
    ({"limits": {"memory": "lots"}}, "resources.limits.memory: 'lots' is not a quantity"),
    ({"requests": {"cpu": True}}, "resources.requests.cpu: True is not a quantity"),
    ({"requests": "100m"}, "resources.requests: '100m' must be a dict of cpu and/or memory"),
])
def test_bad_resources_name_the_field(resources, message):
    with pytest.raises(m.ManifestError) as exc:
        render(resources=resources)
    assert str(exc.value).startswith(message)


@pytest.mark.parametrize("user, enforce, refused", [
    ("root", "restricted", True), ("", "restricted", True), ("esp", "restricted", False),
    ("root", "baseline", False), ("root", None, False), ("root", "privileged", False), ("esp", "baseline", False),
])
def test_pod_security_refusal(user, enforce, refused):
    labels = {"pod-security.kubernetes.io/enforce": enforce} if enforce else {}
    reason = m.pod_security_refusal({"unit": "nginx.service", "user": user}, "apps", labels)
    assert bool(reason) == refused
    if refused:
        assert reason.startswith("nginx.service runs as root (its unit sets no User=, or User=root), so its pods pass Pod Security baseline at most; "
                                 "namespace apps enforces restricted")
