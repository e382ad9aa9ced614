#!/usr/bin/env python3
"""esp-tracker - click and open tracking endpoint of the ESP platform.

  GET /c/<token>?u=<url>   302 to <url>, one line appended to the click log
  GET /o/<token>.gif       1x1 transparent GIF, one line appended to the open log
  GET /healthz             200

Tokens are "<message-id>.<signature>", signature = first 16 hex digits of
HMAC-SHA256(hmac_secret, message-id). Unsigned tokens are still redirected (old
newsletters are out there) but logged with sig=bad.
Usage: tracker.py --config /etc/esp-tracker/tracker.conf
"""
import argparse
import base64
import configparser
import hashlib
import hmac
import json
import logging
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlsplit

SERVICE = "esp-tracker"
VERSION = "0.9.7"
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
log = logging.getLogger(SERVICE)
_lock = threading.Lock()


def append(path, line):
    with _lock, open(path, "a") as f:
        f.write(line + "\n")


class Tracker(BaseHTTPRequestHandler):
    server_version = "%s/%s" % (SERVICE, VERSION)
    protocol_version = "HTTP/1.1"
    # Buffered: headers and body leave in one write. Unbuffered (the default), the body waited for the
    # ACK of the headers on a kept-alive connection, 40 ms of delayed ACK behind any reusing proxy
    # (verify found it through the lab's Ingress controller).
    wbufsize = -1

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        log.info("%s %s", self.client_ip(), fmt % args)

    def client_ip(self):
        peer = self.client_address[0]
        fwd = self.headers.get("X-Forwarded-For") if getattr(self, "headers", None) else None
        if fwd and peer in self.server.cfg["trusted_proxies"]:
            return fwd.split(",")[0].strip()
        return peer

    def signature_ok(self, token):
        msg_id, _, sig = token.partition(".")
        want = hmac.new(self.server.cfg["hmac_secret"].encode(), msg_id.encode(), hashlib.sha256).hexdigest()[:16]
        return bool(sig) and hmac.compare_digest(sig, want)

    def reply(self, code, body=b"", ctype="application/json", headers=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def event(self, logfile, token, extra):
        ts = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        ua = self.headers.get("User-Agent", "-").replace("\t", " ")
        sig = "ok" if self.signature_ok(token) else "bad"
        append(logfile, "\t".join([ts, self.client_ip(), token, extra, "sig=" + sig, ua]))

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        parts = urlsplit(self.path)
        path = parts.path
        cfg = self.server.cfg
        if path == "/healthz":
            return self.reply(200, json.dumps({"status": "ok", "service": SERVICE, "version": VERSION}).encode() + b"\n")
        if path.startswith("/c/") and len(path) > 3:
            token = path[3:]
            url = (parse_qs(parts.query).get("u") or [""])[0]
            if urlsplit(url).scheme not in cfg["allowed_schemes"] or not urlsplit(url).netloc:
                return self.reply(400, b'{"error": "missing or invalid u parameter"}\n')
            self.event(cfg["click_log"], token, url)
            return self.reply(302, b"", "text/plain", {"Location": quote(url, safe=":/?#[]@!$&'()*+,;=%~")})
        if path.startswith("/o/") and path.endswith(".gif") and len(path) > 7:
            token = path[3:-4]
            self.event(cfg["open_log"], token, "open")
            return self.reply(200, PIXEL, "image/gif")
        return self.reply(404, b'{"error": "not found"}\n')


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        log.warning("%s: %s", client_address[0], sys.exc_info()[1])


def main():
    ap = argparse.ArgumentParser(description="ESP click/open tracker")
    ap.add_argument("--config", default="/etc/esp-tracker/tracker.conf")
    args = ap.parse_args()
    cp = configparser.ConfigParser()
    if not cp.read(args.config):
        sys.exit("esp-tracker: cannot read config %s" % args.config)
    t = cp["tracker"]
    cfg = {
        "listen": t.get("listen", "0.0.0.0"),
        "port": t.getint("port", 8082),
        "hmac_secret": t["hmac_secret"],
        "click_log": t.get("click_log", "/var/log/esp-tracker/clicks.log"),
        "open_log": t.get("open_log", "/var/log/esp-tracker/opens.log"),
        "allowed_schemes": [s.strip() for s in t.get("allowed_schemes", "http,https").split(",")],
        "trusted_proxies": [s.strip() for s in t.get("trusted_proxies", "127.0.0.1").split(",")],
    }
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(name)s: %(message)s")
    server = Server((cfg["listen"], cfg["port"]), Tracker)
    server.cfg = cfg
    log.info("%s %s listening on %s:%d, clicks -> %s, opens -> %s", SERVICE, VERSION, cfg["listen"],
             cfg["port"], cfg["click_log"], cfg["open_log"])
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
