#!/usr/bin/env bash
# Stops the lab's Traefik and checks that its ports are free. Keeps its client certificate, kubeconfig
# and the cluster objects (CRDs, RBAC, classes, Gateway), so up.sh starts it again in seconds;
# --purge also removes $LAB_STATE/ingress.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

purge=false
case ${1:-} in
  '') ;;
  --purge) purge=true ;;
  *) die "usage: $0 [--purge]" ;;
esac

mkdir -p "$LAB_LOGS"
exec 9>"$LAB_STATE/ingress.lock"
flock -w 120 9 || die "another tests/lab/ingress/up.sh or down.sh holds $LAB_STATE/ingress.lock"

if running traefik; then
  log "stopping traefik (pid $(cat "$INGRESS_PID"))"
  stop_pidfile "$INGRESS_PID" traefik
else
  rm -f "$INGRESS_PID"
fi
# A listener we have no pid file for (started by hand, or an older state dir): say so, leave it.
for p in "$INGRESS_WEB_PORT" "$INGRESS_SMTP_PORT" "${INGRESS_ADMIN##*:}"; do
  for _ in 1 2 3 4 5 6 7 8 9 10; do port_free "$p" && break; sleep 0.3; done
  port_free "$p" || log "WARNING: port $p is still in use by a process this lab did not start: $(ss -Hltnp "sport = :$p")"
done
if $purge; then
  log "removing $INGRESS_STATE (client certificate, kubeconfig, rendered config)"
  rm -rf "$INGRESS_STATE"
fi
log "ingress stopped"
