#!/bin/sh
# Host status page, served by lighttpd's mod_cgi.
printf 'Content-Type: text/plain\r\n\r\n'
printf 'status: ok\n'
printf 'host: %s\n' "$(cat /etc/hostname 2>/dev/null || echo unknown)"
printf 'uptime: %s\n' "$(cut -d' ' -f1 /proc/uptime)"
printf 'load: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
