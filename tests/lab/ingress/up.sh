#!/usr/bin/env bash
# Starts the lab's Ingress + Gateway API controller: Traefik, a host process with its own kubeconfig
# (client certificate CN=replatform-lab-traefik), routing straight to endpoint (pod) IPs.
#   web  (HTTP: Ingresses, HTTPRoutes)  http://10.231.7.1:8000   (the lab bridge's host address)
#   smtp (TCP: TCPRoutes)               10.231.7.1:2527
#   ping + read-only API                http://127.0.0.1:9100/ping, /api/overview
# Needs the control plane (tests/lab/k8s/up.sh); applies the Gateway API and OpenShift Route CRDs, the
# RBAC, IngressClass/GatewayClass `traefik` and Gateway lab-ingress/lab.
# Idempotent: running and unchanged, it does nothing (< 1 s); a new binary or a changed static config
# (or a re-issued client certificate) restarts Traefik.
# Log: $LAB_STATE/logs/traefik.log (access log: traefik-access.log), pid: $LAB_STATE/logs/traefik.pid.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need curl jq openssl setsid flock ss ip sha256sum

t0=$SECONDS
mkdir -p "$LAB_LOGS" "$INGRESS_STATE"
exec 9>"$LAB_STATE/ingress.lock"
flock -w 120 9 || die "another tests/lab/ingress/up.sh or down.sh holds $LAB_STATE/ingress.lock"

kapi /readyz >/dev/null 2>&1 || die "the lab API server $K8S_API is not ready (start it with tests/lab/k8s/up.sh)"
# (not `ip | grep -q`: with pipefail, grep's early exit can fail the pipeline with SIGPIPE)
[[ $(ip -4 -o addr show) == *" inet $INGRESS_HOST/"* ]] ||
  die "$INGRESS_HOST (host side of podman network $LAB_NET_NAME) is not on any interface (start the lab's hosts first)"

BIN=$("$INGRESS_DIR/build.sh")
[[ -x $BIN/traefik ]] || die "build.sh printed '$BIN', which has no traefik"
"$INGRESS_DIR/pki.sh"

# --- static config, rendered under a name that is its own hash
kc_sha=$(sha256sum <"$INGRESS_KUBECONFIG" | cut -c1-12)
rendered=$(sed -e "s|@HOST@|$INGRESS_HOST|g" -e "s|@WEB_PORT@|$INGRESS_WEB_PORT|g" \
  -e "s|@SMTP_PORT@|$INGRESS_SMTP_PORT|g" -e "s|@ADMIN@|$INGRESS_ADMIN|g" \
  -e "s|@ACCESS_LOG@|$INGRESS_ACCESS_LOG|g" -e "s|@KUBECONFIG_SHA@|kubeconfig sha256 $kc_sha|g" \
  "$INGRESS_DIR/traefik.yaml")
CONF=$INGRESS_STATE/traefik-$(printf '%s\n' "$rendered" | sha256sum | cut -c1-12).yaml
if [[ ! -s $CONF ]]; then
  printf '%s\n' "$rendered" >"$CONF.tmp"
  mv "$CONF.tmp" "$CONF"
fi
ARGV=("$BIN/traefik" "--configFile=$CONF")

# --- cluster objects. The CRDs (1.2 MB, about 5 s to apply) when the committed files changed or the
# Gateway is missing (a new cluster); RBAC, classes and Gateway also before every (re)start of Traefik.
manifests_sha=$(cat "$INGRESS_DIR"/crds/*/*.yaml "$INGRESS_DIR/rbac.yaml" "$INGRESS_DIR/classes.yaml" | sha256sum | cut -c1-12)
stamp=$INGRESS_STATE/applied.sha
GW_PATH=/apis/gateway.networking.k8s.io/v1/namespaces/lab-ingress/gateways/lab
gateway_exists() { kapi "$GW_PATH" >/dev/null 2>&1; }
applied() { [[ $(cat "$stamp" 2>/dev/null) == "$manifests_sha" ]] && gateway_exists; }
apply_objects() {
  local kubectl t1=$SECONDS crds=(-f "$INGRESS_DIR/crds/gateway-api/" -f "$INGRESS_DIR/crds/openshift-route/")
  kubectl=$("$LAB_DIR/k8s/build.sh")/kubectl
  k() { "$kubectl" --kubeconfig="$LAB_KUBECONFIG" "$@"; }
  if ! applied; then
    log "applying the CRDs: Gateway API $GATEWAY_API_VERSION (experimental channel), OpenShift Route"
    k apply --server-side --force-conflicts --field-manager=replatform-lab "${crds[@]}" >/dev/null
    k wait --for=condition=Established --timeout=60s "${crds[@]}" >/dev/null
  fi
  log "applying RBAC (ClusterRole+Binding replatform-lab-traefik), IngressClass/GatewayClass traefik, Gateway lab-ingress/lab"
  k apply --server-side --force-conflicts --field-manager=replatform-lab \
    -f "$INGRESS_DIR/rbac.yaml" -f "$INGRESS_DIR/classes.yaml" >/dev/null
  echo "$manifests_sha" >"$stamp"
  log "applied in $((SECONDS - t1))s"
}

same_cmdline() { [[ $(tr '\0' '\n' <"/proc/$(cat "$INGRESS_PID")/cmdline") == "$(printf '%s\n' "${ARGV[@]}")" ]]; }
if running traefik; then
  if same_cmdline; then
    if applied; then
      log "traefik already running (pid $(cat "$INGRESS_PID")), nothing changed"
      exit 0
    fi
    apply_objects # Traefik watches them: no restart needed
    log "traefik running (pid $(cat "$INGRESS_PID")); cluster objects re-applied in $((SECONDS - t0))s"
    exit 0
  fi
  log "traefik runs with another binary or config: restarting it"
  stop_pidfile "$INGRESS_PID" traefik
fi

apply_objects

# --- start
for a in "$INGRESS_HOST:$INGRESS_WEB_PORT" "$INGRESS_HOST:$INGRESS_SMTP_PORT" "$INGRESS_ADMIN"; do
  # (a just-stopped Traefik's sockets close a moment after it exits)
  for _ in $(seq 25); do port_free "${a##*:}" && break; sleep 0.2; done
  port_free "${a##*:}" || die "traefik is not running from $INGRESS_PID but port ${a##*:} is taken: $(ss -Hltnp "sport = :${a##*:}")"
done
# Traefik writes a Gateway's status only when it differs from what is stored: mark it Pending, so that
# Programmed=True afterwards proves that this Traefik synced and may write status.
gen=$(kapi "$GW_PATH" | jq -e .metadata.generation)
kapi -X PATCH -H 'Content-Type: application/merge-patch+json' --data-binary @- "$GW_PATH/status" >/dev/null <<EOF
{"status": {"conditions": [{"type": "Programmed", "status": "Unknown", "reason": "Pending",
  "message": "Waiting for controller (tests/lab/ingress/up.sh is starting Traefik)",
  "observedGeneration": $gen, "lastTransitionTime": "$(date -u +%FT%TZ)"}]}}
EOF
log "starting traefik $TRAEFIK_VERSION (config: $CONF, log: $INGRESS_LOG)"
printf '\n===== %s starting KUBECONFIG=%s %s\n' "$(date -u +%FT%TZ)" "$INGRESS_KUBECONFIG" "${ARGV[*]}" >>"$INGRESS_LOG"
t_start=$EPOCHREALTIME
# 9>&-: the daemon must not inherit (and hold forever) this script's flock.
KUBECONFIG=$INGRESS_KUBECONFIG setsid "${ARGV[@]}" >>"$INGRESS_LOG" 2>&1 </dev/null 9>&- &
echo $! >"$INGRESS_PID"

# healthy SECONDS DESCRIPTION COMMAND...: wait for COMMAND, failing at once (with the log's tail) if Traefik dies.
healthy() {
  local timeout=$1 what=$2; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ! running traefik; then
      tail -n 25 "$INGRESS_LOG" >&2
      die "traefik exited during startup (log: $INGRESS_LOG)"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 25 "$INGRESS_LOG" >&2
      die "traefik: no $what after ${timeout}s (log: $INGRESS_LOG)"
    fi
    sleep 0.2
  done
}
ping_ok() { [[ $(curl -sf --max-time 2 "http://$INGRESS_ADMIN/ping") == OK ]]; }
# The Gateway provider has synced and written status with the RBAC it was given.
gateway_programmed() {
  kapi "$GW_PATH" | jq -e '.metadata.generation as $g
    | any(.status.conditions[]?; .type == "Programmed" and .status == "True" and .observedGeneration == $g)'
}
healthy 60 "answer on http://$INGRESS_ADMIN/ping" ping_ok
healthy 60 "Programmed condition on Gateway lab-ingress/lab" gateway_programmed
log "traefik ready (ping, Gateway Programmed) $(awk -v a="$t_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')s after its start (pid $(cat "$INGRESS_PID"))"

# Older renderings of the static config are no longer used.
find "$INGRESS_STATE" -maxdepth 1 -name 'traefik-*.yaml' ! -path "$CONF" -delete
log "ingress up in $((SECONDS - t0))s: http://$INGRESS_HOST:$INGRESS_WEB_PORT (IngressClass/GatewayClass traefik, Gateway lab-ingress/lab), smtp $INGRESS_HOST:$INGRESS_SMTP_PORT"
