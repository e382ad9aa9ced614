#!/usr/bin/env bash
# End-to-end check of the lab's Traefik, with no kubelet needed: in namespace ingress-smoke, Services
# without selector and hand-made EndpointSlices point at the legacy hosts (nginx on legacy-web1
# 10.231.7.11:80, postfix on legacy-mail1 10.231.7.21:25); then an Ingress (smoke.esp.test), an
# HTTPRoute (smoke2.esp.test) and a TCPRoute (smtp listener) on Gateway lab-ingress/lab must answer like
# the hosts themselves, and get their status. Also stores an OpenShift Route (accepted by the API server
# only: no OpenShift router runs). Deletes the namespace at the end (--keep leaves it).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need curl jq cmp

keep=false
[[ ${1:-} == --keep ]] && keep=true
NS=ingress-smoke WEB=10.231.7.11 MAIL=10.231.7.21
GW=http://$INGRESS_HOST:$INGRESS_WEB_PORT
kubectl=$("$LAB_DIR/k8s/build.sh")/kubectl
k() { "$kubectl" --kubeconfig="$LAB_KUBECONFIG" "$@"; }
fails=0
ok() { log "ok: $*"; }
bad() { log "FAIL: $*"; fails=$((fails + 1)); }
cleanup() { $keep || k delete namespace "$NS" --wait=false >/dev/null 2>&1 || true; }
trap cleanup EXIT

bash "$INGRESS_DIR/status.sh" >/dev/null || die "traefik is not up (tests/lab/ingress/up.sh)"
# A namespace left Terminating by the previous run refuses new objects: wait until it is gone.
if [[ $(k get namespace "$NS" -o jsonpath='{.status.phase}' 2>/dev/null) == Terminating ]]; then
  log "waiting for the previous namespace $NS to be deleted"
  k wait --for=delete "namespace/$NS" --timeout=120s >/dev/null
fi
k apply --server-side --field-manager=replatform-lab-smoke -f - >/dev/null <<EOF2
apiVersion: v1
kind: Namespace
metadata: {name: $NS}
---
apiVersion: v1
kind: Service
metadata: {name: legacy-web, namespace: $NS}
spec:
  ports: [{name: http, port: 80, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: legacy-web-manual
  namespace: $NS
  labels: {kubernetes.io/service-name: legacy-web, endpointslice.kubernetes.io/managed-by: replatform-lab-smoke}
addressType: IPv4
endpoints: [{addresses: ["$WEB"], conditions: {ready: true}}]
ports: [{name: http, port: 80, protocol: TCP}]
---
apiVersion: v1
kind: Service
metadata: {name: legacy-mail, namespace: $NS}
spec:
  ports: [{name: smtp, port: 25, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: legacy-mail-manual
  namespace: $NS
  labels: {kubernetes.io/service-name: legacy-mail, endpointslice.kubernetes.io/managed-by: replatform-lab-smoke}
addressType: IPv4
endpoints: [{addresses: ["$MAIL"], conditions: {ready: true}}]
ports: [{name: smtp, port: 25, protocol: TCP}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: smoke, namespace: $NS}
spec:
  ingressClassName: traefik # not the default class: Traefik serves only Ingresses of class traefik
  rules:
  - host: smoke.esp.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: legacy-web, port: {number: 80}}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: smoke2, namespace: $NS}
spec:
  parentRefs: [{name: lab, namespace: lab-ingress, sectionName: web}]
  hostnames: [smoke2.esp.test]
  rules:
  - backendRefs: [{name: legacy-web, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: {name: smtp, namespace: $NS}
spec:
  parentRefs: [{name: lab, namespace: lab-ingress, sectionName: smtp}]
  rules:
  - backendRefs: [{name: legacy-mail, port: 25}]
---
apiVersion: route.openshift.io/v1
kind: Route
metadata: {name: smoke3, namespace: $NS}
spec:
  host: smoke3.esp.test
  to: {kind: Service, name: legacy-web, weight: 100}
  port: {targetPort: http}
  tls: {termination: edge, insecureEdgeTerminationPolicy: Redirect}
EOF2
log "applied the smoke objects in namespace $NS"

# fetch URL FILE [curl args]: prints the status code, the body goes to FILE.
fetch() { curl -s --max-time 5 -o "$2" -w '%{http_code}' "${@:3}" "$1" || true; }
direct=$(mktemp) via=$(mktemp)
want_code=$(fetch "http://$WEB/" "$direct")
log "direct http://$WEB/: $want_code, $(wc -c <"$direct") bytes"
for host in smoke.esp.test smoke2.esp.test; do
  t1=$SECONDS
  until code=$(fetch "$GW/" "$via" -H "Host: $host") && [[ $code == "$want_code" ]] || ((SECONDS - t1 > 30)); do sleep 0.5; done
  if [[ $code == "$want_code" ]] && cmp -s "$direct" "$via"; then
    ok "curl -H 'Host: $host' $GW/: $code, the same $(wc -c <"$via") bytes as http://$WEB/ (after $((SECONDS - t1))s)"
  else
    bad "curl -H 'Host: $host' $GW/: $code, $(wc -c <"$via") bytes (want $want_code and the body of http://$WEB/)"
  fi
done
code=$(fetch "$GW/" "$via" -H "Host: nothing.esp.test")
if [[ $code == 404 ]]; then ok "unknown host: 404"; else bad "unknown host: $code (want 404)"; fi
rm -f "$direct" "$via"

# Status written by Traefik (within a few seconds).
# settle SECONDS WANT COMMAND...: run COMMAND until it prints WANT; prints its last output.
settle() {
  local deadline=$((SECONDS + $1)) want=$2 out; shift 2
  until out=$("$@" 2>&1) && [[ $out == "$want" ]] || ((SECONDS >= deadline)); do sleep 0.5; done
  printf '%s\n' "$out"
}
lb=$(settle 20 "traefik $INGRESS_HOST" k -n "$NS" get ingress smoke -o jsonpath='{.spec.ingressClassName} {.status.loadBalancer.ingress[0].ip}')
if [[ $lb == "traefik $INGRESS_HOST" ]]; then ok "Ingress smoke: class and status: $lb"; else bad "Ingress smoke: class and status '$lb'"; fi
conditions() {
  k -n "$NS" get "$1" -o json | jq -r '[.status.parents[]?.conditions[]? | select(.type == "Accepted" or .type == "ResolvedRefs")
    | "\(.type)=\(.status)"] | sort | join(",")'
}
for r in httproute/smoke2 tcproute/smtp; do
  c=$(settle 20 "Accepted=True,ResolvedRefs=True" conditions "$r")
  if [[ $c == "Accepted=True,ResolvedRefs=True" ]]; then ok "$r: $c"; else bad "$r: conditions '$c'"; fi
done

# TCPRoute: the SMTP banner through Traefik's smtp entryPoint equals postfix's own.
banner() { # banner IP PORT: the first line the server sends
  local l=
  { exec 3<>"/dev/tcp/$1/$2"; } 2>/dev/null || return 0
  IFS= read -r -t 5 l <&3 || true
  printf 'QUIT\r\n' >&3 || true
  exec 3>&-
  printf '%s\n' "${l%$'\r'}"
}
# (TCPRoute status is written before the new TCP router is live: until then Traefik closes the connection)
want=$(banner "$MAIL" 25) t1=$SECONDS
until got=$(banner "$INGRESS_HOST" "$INGRESS_SMTP_PORT") && [[ -n $want && $got == "$want" ]] || ((SECONDS - t1 > 20)); do
  sleep 0.5
done
if [[ -n $want && $got == "$want" ]]; then
  ok "SMTP banner via $INGRESS_HOST:$INGRESS_SMTP_PORT: $got (after $((SECONDS - t1))s)"
else
  bad "SMTP banner via Traefik '$got' (direct from $MAIL:25: '$want')"
fi

# OpenShift Route: stored and read back (no OpenShift router: no status, no traffic).
h=$(k -n "$NS" get route.route.openshift.io smoke3 -o jsonpath='{.spec.host} {.spec.tls.termination}')
if [[ $h == "smoke3.esp.test edge" ]]; then ok "route.openshift.io/v1 Route smoke3 stored: $h"; else bad "Route smoke3: '$h'"; fi

bash "$INGRESS_DIR/status.sh"
((fails == 0)) || die "$fails check(s) failed"
log "ingress smoke passed"
