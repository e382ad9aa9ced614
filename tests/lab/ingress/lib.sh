# shellcheck shell=bash disable=SC2034  # variables used by the scripts that source this file
# Shared by tests/lab/ingress/{build,up,down,status,pki}.sh: the lab's Ingress + Gateway API controller
# (Traefik, a host process like the control plane, routing straight to pod and endpoint IPs).
# shellcheck source=../lib/common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/common.sh"
# kapi/kapply/running/pidfile/need and K8S_PKI come from the control plane's helpers.
# shellcheck source=../k8s/lib.sh
source "$LAB_DIR/k8s/lib.sh"

# Pinned (build/traefik/go.mod requires the same version; build.sh checks).
TRAEFIK_VERSION=v3.6.12
GATEWAY_API_VERSION=v1.4.0 # what traefik v3.6.12's go.mod requires; CRDs in crds/ are from it

INGRESS_DIR=$LAB_DIR/ingress             # this folder (committed config, CRDs, RBAC)
INGRESS_STATE=$LAB_STATE/ingress         # rendered static config, kubeconfig, client certificate
INGRESS_PID=$LAB_STATE/logs/traefik.pid
INGRESS_LOG=$LAB_STATE/logs/traefik.log
INGRESS_ACCESS_LOG=$LAB_STATE/logs/traefik-access.log
INGRESS_KUBECONFIG=$INGRESS_STATE/traefik.kubeconfig
INGRESS_USER=replatform-lab-traefik      # client certificate CN; bound to ClusterRole replatform-lab-traefik

# Addresses: web and smtp on the lab bridge's host side (reachable from the legacy hosts and pods),
# ping + API (read-only, for status.sh) on loopback only.
INGRESS_HOST=$LAB_NET_GATEWAY            # 10.231.7.1, the host side of podman network replatform-lab
INGRESS_WEB_PORT=8000
INGRESS_SMTP_PORT=2527
INGRESS_ADMIN=127.0.0.1:9100

port_free() { [[ -z $(ss -Hltn "sport = :$1") ]]; }
