# shellcheck shell=bash
# Helpers of the legacy-host lab, sourced after lib/common.sh.

LAB_SSH_DIR=$LAB_STATE/ssh
LAB_SSH_KEY=$LAB_SSH_DIR/id_ed25519
LAB_SSH_KNOWN_HOSTS=$LAB_SSH_DIR/known_hosts
LAB_SSH_CONFIG=$LAB_SSH_DIR/config
LAB_IMAGES_ENV=$LAB_STATE/images/legacy.env

# host_name / host_ip / host_role ENTRY: fields of a LAB_HOSTS entry (name=ip:role).
host_name() { printf '%s' "${1%%=*}"; }
host_ip() { local r=${1#*=}; printf '%s' "${r%%:*}"; }
host_role() { printf '%s' "${1##*:}"; }

# role_units ROLE: systemd units that must be active on a host of ROLE.
role_units() {
  case $1 in
    web) echo "ssh.service nginx.service esp-api.service esp-tracker.service" ;;
    mail) echo "ssh.service postfix.service postfix@-.service" ;;
    corpus) echo "ssh.service proftpd.service apache2.service shortener.service unsubscribe.service" \
      "redis-server.service memcached.service rsync.service lighttpd.service" ;;
    *) die "unknown host role: $1" ;;
  esac
}

# role_services ROLE: the service names status.sh reports for ROLE (after ssh).
role_services() {
  case $1 in
    web) echo "nginx esp-api esp-tracker" ;;
    mail) echo "postfix" ;;
    corpus) echo "ftp portal shortener unsubscribe redis memcached rsync cgi" ;;
    *) die "unknown host role: $1" ;;
  esac
}

# lab_ssh IP COMMAND...: run COMMAND as root on IP with the lab key and strict host key checking.
lab_ssh() {
  local ip=$1; shift
  ssh -i "$LAB_SSH_KEY" -o BatchMode=yes -o ConnectTimeout=5 -o IdentitiesOnly=yes \
    -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$LAB_SSH_KNOWN_HOSTS" \
    -o GlobalKnownHostsFile=/dev/null -o LogLevel=ERROR "root@$ip" "$@"
}

# http_code URL: the HTTP status code of GET URL ("000" when nothing answers).
http_code() { curl -s -o /dev/null -m 3 -w '%{http_code}' "$1" || true; }

# smtp_banner IP [PORT]: the first line the SMTP server on IP:PORT sends (then QUIT).
smtp_banner() {
  # shellcheck disable=SC2016  # expanded by the inner bash
  timeout 5 bash -c '
    exec 3<>"/dev/tcp/$1/$2" || exit 1
    IFS= read -r -t 4 line <&3 || exit 1
    printf "QUIT\r\n" >&3
    printf "%s\n" "${line%$'"'"'\r'"'"'}"
  ' _ "$1" "${2:-25}" 2>/dev/null
}

# tcp_reply IP PORT [SEND]: the first line (without CR) a TCP server on IP:PORT answers, after SEND
# (printf %b escapes, e.g. 'PING\r\n') when given, else its banner.
tcp_reply() {
  # shellcheck disable=SC2016  # expanded by the inner bash
  timeout 5 bash -c '
    exec 3<>"/dev/tcp/$1/$2" || exit 1
    if [[ -n $3 ]]; then printf "%b" "$3" >&3; fi
    IFS= read -r -t 4 line <&3 || exit 1
    printf "%s\n" "${line%$'"'"'\r'"'"'}"
  ' _ "$1" "$2" "${3:-}" 2>/dev/null
}

# service_probe ROLE SERVICE IP: the service answers from this machine (the lab's own addresses only).
service_probe() {
  local ip=$3
  case $2 in
    nginx) [[ $(http_code "http://$ip/") == 200 && $(http_code "http://$ip/healthz") == 200 ]] ;;
    esp-api) [[ $(http_code "http://$ip:8081/healthz") == 200 ]] ;;
    esp-tracker) [[ $(http_code "http://$ip:8082/healthz") == 200 ]] ;;
    postfix) [[ $(smtp_banner "$ip" 25) == "220 mail.esp.test ESMTP"* ]] ;;
    # corpus (tests/corpus/services.yml)
    ftp) [[ $(tcp_reply "$ip" 21) == "220 "* ]] ;;
    portal) [[ $(http_code "http://$ip/") == 200 && $(http_code "http://$ip/healthz.php") == 200 ]] ;;
    shortener) [[ $(http_code "http://$ip:8090/") == 200 && $(http_code "http://$ip:8090/healthz") == 200 ]] ;;
    unsubscribe) [[ $(http_code "http://$ip:8091/") == 200 && $(http_code "http://$ip:8091/healthz") == 200 ]] ;;
    redis) [[ $(tcp_reply "$ip" 6379 'PING\r\n') == "-NOAUTH"* ]] ;;
    memcached) [[ $(tcp_reply "$ip" 11211 'version\r\n') == "VERSION "* ]] ;;
    rsync) [[ $(tcp_reply "$ip" 873) == "@RSYNCD: "* ]] ;;
    cgi) [[ $(http_code "http://$ip:8093/healthz") == 200 && $(http_code "http://$ip:8093/cgi/status.cgi") == 200 ]] ;;
    *) return 1 ;;
  esac
}
