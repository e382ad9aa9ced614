#!/usr/bin/env python3
"""Faults on the real pods of a migrated service, for the lab's tests and benchmark (never shipped).

The pods run on the lab's real node (tests/lab/node) behind Traefik (HTTP) or a node port (TCP); each
fault acts on them or on their Deployment, so what HAProxy and the gate see is what a cluster gives:

  fault.py SERVICE 5xx          every pod answers 500 on every path (nginx pods: a config that returns
                                500, reloaded in the running container; the readiness probe fails too)
  fault.py SERVICE down         no pod: the Deployment scaled to zero (its replicas kept in an
                                annotation). Through Traefik: 503; on a node port: connection refused
  fault.py SERVICE ok           undo both: the saved config back and reloaded, the replicas restored
  fault.py when-weighted SERVICE MODE DELAY [SOCKET BACKEND SERVER]
                                wait until HAProxy gives the service's new server weight, wait DELAY
                                seconds, inject MODE; print (JSON) the time until its weight is 0 again
  fault.py wait-weighted SERVICE [SOCKET BACKEND SERVER]
                                return once HAProxy gives the service's new server weight
  fault.py kill SERVICE         SIGKILL the service's container in one pod (containerd, on the node):
                                the kubelet restarts it; prints the pod, the container and its restarts
  fault.py delete-pod SERVICE   delete one pod (graceful): the Deployment replaces it; prints its name
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

LAB_STATE = os.environ.get("LAB_STATE") or os.path.join(os.path.dirname(__file__), "..", "..", "..", ".lab")
KUBECONFIG = os.environ.get("LAB_KUBECONFIG") or os.path.join(LAB_STATE, "k8s", "admin.kubeconfig")
NAMESPACE = os.environ.get("FAULT_NAMESPACE", "replatform-lab")
SAVED = "replatform.lab/fault-replicas"
FAULT_NGINX = "server { listen %d default_server; location / { return 500 'lab fault: 500\\n'; } }\n"
# Swap the sites for the 500 server, or put them back (a no-op in a container that never had the fault).
NGINX_FAULT = ("command -v nginx >/dev/null || { echo 'fault 5xx: the pod runs no nginx' >&2; exit 3; };"
               " [ -d /etc/nginx/lab-fault-saved ] || { mkdir /etc/nginx/lab-fault-saved && mv /etc/nginx/sites-enabled/* /etc/nginx/lab-fault-saved/"
               " && printf %s \"$0\" > /etc/nginx/conf.d/zz-lab-fault.conf && nginx -s reload; }")
NGINX_OK = ("if [ -d /etc/nginx/lab-fault-saved ]; then rm -f /etc/nginx/conf.d/zz-lab-fault.conf;"
            " mv /etc/nginx/lab-fault-saved/* /etc/nginx/sites-enabled/ 2>/dev/null; rmdir /etc/nginx/lab-fault-saved; nginx -s reload; fi")
BACKENDS = {"web": "be_web", "api": "be_api", "tracker": "be_track", "mail": "be_smtp"}


def sh(argv: list[str], check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=check, text=True, capture_output=True)


def kubectl(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return sh([os.environ.get("LAB_KUBECTL", "kubectl"), "--kubeconfig", KUBECONFIG, "-n", NAMESPACE, *args], check=check)


def deployment(service: str) -> dict:
    found = kubectl("get", "deployment", service, "-o", "json", check=False)
    if found.returncode != 0:
        sys.exit("SERVICE: %s has no Deployment in namespace %s (%s)" % (service, NAMESPACE, found.stderr.strip()))
    return json.loads(found.stdout)


def running_pods(service: str) -> list[dict]:
    pods = json.loads(kubectl("get", "pods", "-l", "replatform.kubernetes/service=" + service, "-o", "json").stdout)["items"]
    return [p for p in pods if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")]


def _http_port(deploy: dict) -> int:
    ports = deploy["spec"]["template"]["spec"]["containers"][0].get("ports") or [{"containerPort": 80}]
    return int(ports[0]["containerPort"])


def _each_pod(service: str, script: str, *args: str) -> None:
    container = deployment(service)["spec"]["template"]["spec"]["containers"][0]["name"]
    for pod in running_pods(service):
        done = kubectl("exec", pod["metadata"]["name"], "-c", container, "--", "sh", "-c", script, *args, check=False)
        if done.returncode == 3:
            sys.exit(done.stderr.strip())
        if done.returncode != 0:
            print("%s: %s" % (pod["metadata"]["name"], (done.stderr or done.stdout).strip()[:300]), file=sys.stderr)


def _scale_down(service: str) -> None:
    deploy = deployment(service)
    replicas = deploy["spec"].get("replicas", 1)
    if replicas:
        kubectl("annotate", "--overwrite", "deployment", service, "%s=%d" % (SAVED, replicas))
        kubectl("scale", "deployment", service, "--replicas=0")


def _scale_back(service: str) -> None:
    saved = deployment(service)["metadata"].get("annotations", {}).get(SAVED)
    if saved:
        kubectl("scale", "deployment", service, "--replicas=" + saved)
        kubectl("annotate", "deployment", service, SAVED + "-")


def fault(service: str, mode: str, quiet: bool = False) -> None:
    if mode not in ("5xx", "down", "ok"):
        sys.exit("MODE: %r is not one of 5xx, down, ok" % mode)
    if mode == "5xx":
        _each_pod(service, NGINX_FAULT, FAULT_NGINX % _http_port(deployment(service)))
    elif mode == "down":
        _scale_down(service)
    elif kubectl("get", "deployment", service, "-o", "name", check=False).returncode != 0:
        print("%s: no Deployment, no fault to undo" % service)
        return
    else:
        _scale_back(service)
        _each_pod(service, NGINX_OK)
    if not quiet:
        print("%s: fault %s" % (service, mode))


def haproxy_weight(sock_path: str, backend: str, server: str) -> int:
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


def wait_weighted(sock_path: str, backend: str, server: str, timeout: float = 300) -> None:
    start = time.time()
    while haproxy_weight(sock_path, backend, server) == 0:
        if time.time() - start > timeout:
            sys.exit("%s/%s never got weight within %d s" % (backend, server, timeout))
        time.sleep(0.05)


def when_weighted(service: str, mode: str, delay: float, sock_path: str, backend: str, server: str, timeout: float = 300) -> None:
    wait_weighted(sock_path, backend, server, timeout)
    time.sleep(delay)
    injected = time.time()
    fault(service, mode, quiet=True)
    while haproxy_weight(sock_path, backend, server) != 0:
        if time.time() - injected > timeout:
            sys.exit("weight of %s/%s not back to 0 within %d s" % (backend, server, timeout))
        time.sleep(0.01)
    print(json.dumps({"fault": mode, "injected_at": injected, "weight_zero_after": round(time.time() - injected, 3)}))


def kill(service: str) -> None:
    pods = running_pods(service)
    if not pods:
        sys.exit("kill: %s has no running pod" % service)
    pod = pods[0]
    status = pod["status"]["containerStatuses"][0]
    cid = status["containerID"].split("://", 1)[-1]
    sh([os.environ.get("LAB_CTR", "ctr"), "--address", os.environ["CONTAINERD_SOCK"], "-n", "k8s.io", "tasks", "kill", "-s", "SIGKILL", cid])
    print(json.dumps({"pod": pod["metadata"]["name"], "container": status["name"], "restarts_before": status.get("restartCount", 0),
                      "killed_at": time.time()}))


def delete_pod(service: str) -> None:
    pods = running_pods(service)
    if not pods:
        sys.exit("delete-pod: %s has no running pod" % service)
    name = pods[0]["metadata"]["name"]
    kubectl("delete", "pod", name, "--wait=false")
    print(json.dumps({"pod": name, "deleted_at": time.time()}))


def _haproxy_args(service: str, rest: list[str]) -> tuple[str, str, str]:
    """SOCKET BACKEND SERVER as given, or the lab's socket and the service's backend and new server."""
    if len(rest) == 3:
        return rest[0], rest[1], rest[2]
    return os.path.join(LAB_STATE, "haproxy", "admin.sock"), BACKENDS.get(service, ""), "k8s-" + service


def main(argv: list[str]) -> int:
    if argv[:1] == ["wait-weighted"] and len(argv) in (2, 5):
        wait_weighted(*_haproxy_args(argv[1], argv[2:]))
    elif len(argv) == 2 and argv[0] == "kill":
        kill(argv[1])
    elif len(argv) == 2 and argv[0] == "delete-pod":
        delete_pod(argv[1])
    elif argv[:1] == ["when-weighted"] and len(argv) in (4, 7):
        when_weighted(argv[1], argv[2], float(argv[3]), *_haproxy_args(argv[1], argv[4:]))
    elif len(argv) == 2:
        fault(argv[0], argv[1])
    else:
        sys.exit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
