#!/usr/bin/env python3
"""LAB STAND-IN for the cluster's entry point of a migrated service (tests/lab only, never shipped).

The lab's Kubernetes nodes are kwok nodes: pods are scheduled and reported Ready, but no container
runs. Until the lab runs real pods, the "new endpoint" HAProxy and the verify stage talk to is this
stand-in: the very image and Secret/ConfigMap files of the service's Deployment, read from the lab
cluster, run with podman on an address of its own on the lab network (as a pod would run them).

  standin.py up SERVICE       start (or replace) the stand-in from the Deployment's current spec
  standin.py down SERVICE     remove it
  standin.py fault SERVICE MODE   MODE: 5xx (the web stand-in answers 500), refuse (TCP resets), ok
  standin.py fault-when-weighted SERVICE MODE DELAY [SOCKET BACKEND SERVER]
                              wait until HAProxy gives the stand-in's server weight, wait DELAY
                              seconds, inject MODE; print the time until its weight is 0 again
  standin.py watch            keep the stand-ins in line with the Deployments in the namespace, as a
                              cluster keeps its pods: start one when a service's Deployment is
                              available, replace it when its pod template changes, remove it when
                              the Deployment is scaled to zero or deleted (lab.sh up runs this)
  standin.py status           one line per stand-in
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys

LAB_STATE = os.environ.get("LAB_STATE") or os.path.join(os.path.dirname(__file__), "..", "..", "..", ".lab")
KUBECONFIG = os.path.join(LAB_STATE, "k8s", "admin.kubeconfig")
NETWORK = os.environ.get("LAB_NET_NAME", "replatform-lab")
NAMESPACE = os.environ.get("STANDIN_NAMESPACE", "replatform-lab")
INVENTORY_VARS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "inventories", "lab", "group_vars", "all.yml")


def inventory_addresses(path: str = INVENTORY_VARS) -> dict:
    """service -> (address, port): each service's new_endpoint in the lab inventory (its replatform_services)."""
    import re

    found, service, inside = {}, None, False
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if re.match(r"^replatform_services:", line):
                inside = True
                continue
            if inside and re.match(r"^\S", line):
                inside = False
            key = re.match(r"^  ([a-z0-9][-a-z0-9]*):\s*$", line) if inside else None
            if key:
                service = key.group(1)
            endpoint = re.match(r"^    new_endpoint:\s*([0-9.]+):([0-9]+)\s*$", line) if inside and service else None
            if endpoint:
                found[service] = (endpoint.group(1), int(endpoint.group(2)))
    return found


# service -> (address, port): the stand-in's own address on the lab network (the inventory's new_endpoint).
ADDRESSES = inventory_addresses()
FAULT_NGINX = "server { listen 80 default_server; location / { return 500 'stand-in fault: 500\\n'; } }\n"


def sh(argv: list[str], check: bool = True, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=check, text=True, capture_output=True, **kw)


def kubectl_json(*args: str) -> dict:
    kubectl = os.environ.get("LAB_KUBECTL") or shutil.which("kubectl") or "kubectl"
    out = sh([kubectl, "--kubeconfig", KUBECONFIG, "-n", NAMESPACE, "-o", "json", "get", *args]).stdout
    return json.loads(out)


def name(service: str) -> str:
    return "replatform-standin-" + service


def template_hash(deploy: dict) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(deploy["spec"]["template"], sort_keys=True).encode()).hexdigest()[:12]


def up(service: str, deploy: dict | None = None) -> None:
    address, port = ADDRESSES[service]
    deploy = deploy or kubectl_json("deployment", service)
    pod = deploy["spec"]["template"]["spec"]
    container = pod["containers"][0]
    files_dir = os.path.join(LAB_STATE, "standin", service)
    shutil.rmtree(files_dir, ignore_errors=True)
    os.makedirs(files_dir, mode=0o700)
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    run_as = str(pod.get("securityContext", {}).get("runAsUser", container.get("securityContext", {}).get("runAsUser", 0)))
    mounts = []
    for index, mount in enumerate(container.get("volumeMounts", [])):
        volume = volumes[mount["name"]]
        if "secret" in volume:
            data = {k: base64.b64decode(v) for k, v in kubectl_json("secret", volume["secret"]["secretName"]).get("data", {}).items()}
        elif "configMap" in volume:
            data = {k: v.encode() for k, v in kubectl_json("configmap", volume["configMap"]["name"]).get("data", {}).items()}
        elif "emptyDir" in volume or "persistentVolumeClaim" in volume:
            # A data volume: a fresh anonymous podman volume, which podman fills with the image's content
            # at that path (its copy-up). That stands in for the pod's seed-data init container.
            mounts += ["--mount", "type=volume,destination=%s" % mount["mountPath"]]
            continue
        else:
            continue
        local = os.path.join(files_dir, "%d" % index)
        with open(local, "wb") as handle:
            handle.write(data[mount["subPath"]])
        os.chmod(local, 0o400)
        os.chown(local, int(run_as), 0)
        mounts += ["-v", "%s:%s:ro" % (local, mount["mountPath"])]
    env = []
    for item in container.get("env", []):
        if "value" in item:
            env += ["-e", "%s=%s" % (item["name"], item["value"])]
    for item in container.get("envFrom", []):
        if "secretRef" in item:
            # The secret environment, from a file only root reads (never on a command line).
            data = kubectl_json("secret", item["secretRef"]["name"]).get("data", {})
            local = os.path.join(files_dir, "env-" + item["secretRef"]["name"])
            with open(os.open(local, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
                for key, value in sorted(data.items()):
                    handle.write("%s=%s\n" % (key, base64.b64decode(value).decode("utf-8")))
            env += ["--env-file", local]
    sh(["podman", "rm", "-f", "-v", "-t", "5", name(service)], check=False)
    # The lab registry speaks plain HTTP: pull from it without TLS when the image is not here yet.
    sh(["podman", "run", "-d", "--tls-verify=false", "--name", name(service), "--network", NETWORK, "--ip", address,
        "--label", "replatform.lab/standin=" + service, "--label", "replatform.lab/template=" + template_hash(deploy)] + env + mounts + [container["image"]] + container.get("args", []))
    print("%s: %s on %s:%d (stand-in for the cluster's entry point)" % (service, container["image"], address, port))


def down(service: str) -> None:
    fault(service, "ok", quiet=True)
    sh(["podman", "rm", "-f", "-v", "-t", "5", name(service)], check=False)
    shutil.rmtree(os.path.join(LAB_STATE, "standin", service), ignore_errors=True)


def _reject_rule(service: str) -> list[str]:
    address, port = ADDRESSES[service]
    return ["OUTPUT", "-d", address, "-p", "tcp", "--dport", str(port), "-j", "REJECT", "--reject-with", "tcp-reset",
            "-m", "comment", "--comment", "replatform-standin-fault"]


def fault(service: str, mode: str, quiet: bool = False) -> None:
    rule = _reject_rule(service)
    while sh(["iptables", "-C"] + rule, check=False).returncode == 0:
        sh(["iptables", "-D"] + rule)
    if service == "web" and sh(["podman", "container", "exists", name(service)], check=False).returncode == 0:
        sh(["podman", "exec", name(service), "sh", "-c",
            "if [ -d /etc/nginx/standin-saved ]; then rm -f /etc/nginx/conf.d/zz-standin-fault.conf;"
            " mv /etc/nginx/standin-saved/* /etc/nginx/sites-enabled/ 2>/dev/null; rmdir /etc/nginx/standin-saved; nginx -s reload; fi"], check=False)
    if mode == "refuse":
        sh(["iptables", "-I"] + rule)
    elif mode == "5xx":
        if service != "web":
            sys.exit("fault 5xx: only the web stand-in (nginx) can answer 500")
        sh(["podman", "exec", name(service), "sh", "-c",
            "mkdir /etc/nginx/standin-saved && mv /etc/nginx/sites-enabled/* /etc/nginx/standin-saved/"
            " && printf %s \"$0\" > /etc/nginx/conf.d/zz-standin-fault.conf && nginx -s reload", FAULT_NGINX])
    elif mode != "ok":
        sys.exit("fault: MODE must be one of 5xx, refuse, ok")
    if not quiet:
        print("%s: fault %s" % (service, mode))


def haproxy_weight(sock_path: str, backend: str, server: str) -> int:
    import socket

    sock = socket.socket(socket.AF_UNIX)
    sock.connect(sock_path)
    sock.sendall(b"show stat\n")
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    sock.close()
    lines = data.decode().splitlines()
    header = lines[0][2:].split(",")
    for line in lines[1:]:
        row = dict(zip(header, line.split(",")))
        if row.get("pxname") == backend and row.get("svname") == server:
            return int(row.get("weight") or 0)
    return 0


def fault_when_weighted(service: str, mode: str, delay: float, sock_path: str, backend: str, server: str, timeout: float = 300) -> None:
    import time

    start = time.time()
    while haproxy_weight(sock_path, backend, server) == 0:
        if time.time() - start > timeout:
            sys.exit("%s/%s never got weight within %d s" % (backend, server, timeout))
        time.sleep(0.05)
    time.sleep(delay)
    injected = time.time()
    fault(service, mode, quiet=True)
    while haproxy_weight(sock_path, backend, server) != 0:
        if time.time() - injected > timeout:
            sys.exit("weight of %s/%s not back to 0 within %d s" % (backend, server, timeout))
        time.sleep(0.01)
    print(json.dumps({"fault": mode, "injected_at": injected, "weight_zero_after": round(time.time() - injected, 3)}))


def watch(interval: float = 2.0) -> None:
    import time

    while True:
        try:
            items = {d["metadata"]["name"]: d for d in kubectl_json("deployments").get("items", [])}
        except (subprocess.CalledProcessError, ValueError) as exc:
            print("watch: cannot read the Deployments: %s" % str(exc)[:200], flush=True)
            time.sleep(interval)
            continue
        for service in ADDRESSES:
            deploy = items.get(service)
            wanted = bool(deploy and deploy["spec"].get("replicas", 1) and deploy.get("status", {}).get("availableReplicas"))
            state = sh(["podman", "inspect", "--format", '{{index .Config.Labels "replatform.lab/template"}} {{.State.Running}}',
                        name(service)], check=False)
            running = state.returncode == 0 and state.stdout.split()[-1:] == ["true"]
            current = state.stdout.split()[0] if running and state.stdout.split() else ""
            try:
                if wanted and (not running or current != template_hash(deploy)):
                    up(service, deploy)
                    print("watch: %s follows its Deployment (template %s)" % (service, template_hash(deploy)), flush=True)
                elif not wanted and state.returncode == 0:
                    down(service)
                    print("watch: %s removed (its Deployment is %s)" % (service, "scaled to zero" if deploy else "gone"), flush=True)
            except subprocess.CalledProcessError as exc:
                print("watch: %s: %s" % (service, (exc.stderr or str(exc))[:300]), flush=True)
        time.sleep(interval)


def status() -> int:
    out = sh(["podman", "ps", "-a", "--filter", "label=replatform.lab/standin", "--format", "{{.Names}} {{.Status}} {{.Image}}"], check=False).stdout
    print(out.strip() or "no stand-ins")
    return 0


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] in ("up", "down", "fault", "fault-when-weighted") and argv[1] not in ADDRESSES:
        sys.exit("SERVICE: %r is not one of %s" % (argv[1], ", ".join(sorted(ADDRESSES))))
    if argv[:1] == ["up"] and len(argv) == 2:
        up(argv[1])
    elif argv[:1] == ["down"] and len(argv) == 2:
        down(argv[1])
    elif argv[:1] == ["fault"] and len(argv) == 3:
        fault(argv[1], argv[2])
    elif argv[:1] == ["fault-when-weighted"] and len(argv) in (4, 7):
        backends = {"web": "be_web", "api": "be_api", "tracker": "be_track", "mail": "be_smtp"}
        sock_path, backend, server = argv[4:7] if len(argv) == 7 else (
            os.path.join(LAB_STATE, "haproxy", "admin.sock"), backends[argv[1]], "k8s-" + argv[1])
        fault_when_weighted(argv[1], argv[2], float(argv[3]), sock_path, backend, server)
    elif argv[:1] == ["watch"]:
        watch()
    elif argv[:1] == ["status"]:
        return status()
    else:
        sys.exit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
