#!/usr/bin/env python3
"""esp-api - message submission and status API of the ESP platform.

Plain Python 3 standard library (no third-party packages on this host).
Usage: app.py --config /etc/esp-api/esp-api.conf
"""
import argparse
import configparser
import hmac
import json
import logging
import logging.handlers
import os
import socket
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

SERVICE = "esp-api"
VERSION = "1.4.2"
STARTED = time.time()

log = logging.getLogger(SERVICE)
access = logging.getLogger(SERVICE + ".access")


class Api(BaseHTTPRequestHandler):
    server_version = "%s/%s" % (SERVICE, VERSION)
    protocol_version = "HTTP/1.1"
    # Buffered: headers and body leave in one write. Unbuffered (the default), the body waited for the
    # ACK of the headers on a kept-alive connection, 40 ms of delayed ACK behind any reusing proxy
    # (verify found it through the lab's Ingress controller).
    wbufsize = -1

    def version_string(self):
        return self.server_version

    # -- helpers -------------------------------------------------------------------------------
    def _json(self, code, payload, headers=None):
        body = (json.dumps(payload, sort_keys=True) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-API-Version", VERSION)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self._status = code
        self._size = len(body)

    def _authorized(self):
        given = self.headers.get("X-API-Key", "")
        return bool(given) and hmac.compare_digest(given, self.server.cfg["api_key"])

    def _outbox(self):
        return os.path.join(self.server.cfg["data_dir"], "outbox")

    def log_request(self, code="-", size="-"):
        pass  # written once per request by _access_log

    def log_message(self, fmt, *args):
        log.warning("%s %s", self.address_string(), fmt % args)

    def _access_log(self, started):
        key = self.headers.get("X-API-Key") if self.headers else None
        access.info('%s - %s [%s] "%s" %s %s "%s" %.3f',
                    self.client_address[0], "key:" + key[:6] + "..." if key else "-",
                    time.strftime("%d/%b/%Y:%H:%M:%S %z"), self.requestline,
                    getattr(self, "_status", "-"), getattr(self, "_size", "-"),
                    self.headers.get("User-Agent", "-") if self.headers else "-",
                    time.time() - started)

    def handle_one_request(self):
        started = time.time()
        self._status = None
        super().handle_one_request()
        if self._status is not None:
            self._access_log(started)

    # -- routes --------------------------------------------------------------------------------
    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        path = urlsplit(self.path).path
        if path == "/healthz":
            return self._json(200, {"status": "ok"})
        if path == "/v1/status":
            return self._json(200, {
                "service": SERVICE, "version": VERSION, "host": socket.gethostname(),
                "environment": os.environ.get("ESP_API_ENV", "development"),
                "uptime_seconds": int(time.time() - STARTED),
                "smtp_relay": "%s:%s" % (self.server.cfg["smtp_relay"], self.server.cfg["smtp_port"]),
            })
        if path == "/v1/messages":
            if not self._authorized():
                return self._json(401, {"error": "missing or invalid X-API-Key"},
                                  {"WWW-Authenticate": 'ApiKey realm="esp-api"'})
            messages = []
            try:
                names = sorted(os.listdir(self._outbox()))[-50:]
            except FileNotFoundError:
                names = []
            for name in names:
                try:
                    with open(os.path.join(self._outbox(), name)) as f:
                        messages.append(json.load(f))
                except (OSError, ValueError):
                    continue
            return self._json(200, {"messages": messages, "count": len(messages)})
        return self._json(404, {"error": "not found", "path": path})

    def do_POST(self):
        path = urlsplit(self.path).path
        if path != "/v1/messages":
            return self._json(404, {"error": "not found", "path": path})
        if not self._authorized():
            return self._json(401, {"error": "missing or invalid X-API-Key"},
                              {"WWW-Authenticate": 'ApiKey realm="esp-api"'})
        try:
            length = int(self.headers.get("Content-Length", "0"))
            msg = json.loads(self.rfile.read(min(length, 1 << 20)) or b"{}")
            if not isinstance(msg, dict) or not msg.get("to"):
                raise ValueError("field 'to' is required")
        except ValueError as e:
            return self._json(400, {"error": str(e)})
        msg_id = time.strftime("%Y%m%d%H%M%S") + "-" + uuid.uuid4().hex[:12]
        record = {"id": msg_id, "to": msg["to"], "subject": msg.get("subject", ""),
                  "status": "queued", "relay": self.server.cfg["smtp_relay"],
                  "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        os.makedirs(self._outbox(), exist_ok=True)
        tmp = os.path.join(self._outbox(), "." + msg_id)
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(self._outbox(), msg_id + ".json"))
        return self._json(202, record)


def load_config(path):
    cp = configparser.ConfigParser()
    if not cp.read(path):
        sys.exit("esp-api: cannot read config %s" % path)
    return {
        "listen": cp.get("server", "listen", fallback="127.0.0.1"),
        "port": cp.getint("server", "port", fallback=8081),
        "access_log": cp.get("server", "access_log", fallback="/var/log/esp-api/access.log"),
        "data_dir": cp.get("server", "data_dir", fallback="/var/lib/esp-api"),
        "api_key": cp.get("auth", "api_key"),
        "smtp_relay": cp.get("mail", "smtp_relay"),
        "smtp_port": cp.getint("mail", "smtp_port", fallback=25),
    }


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        log.warning("%s: %s", client_address[0], sys.exc_info()[1])


def main():
    ap = argparse.ArgumentParser(description="ESP message API")
    ap.add_argument("--config", default="/etc/esp-api/esp-api.conf")
    args = ap.parse_args()
    cfg = load_config(args.config)

    logging.basicConfig(stream=sys.stderr, level=os.environ.get("ESP_API_LOG_LEVEL", "INFO").upper(),
                        format="%(name)s: %(levelname)s %(message)s")
    handler = logging.handlers.WatchedFileHandler(cfg["access_log"])
    handler.setFormatter(logging.Formatter("%(message)s"))
    access.addHandler(handler)
    access.propagate = False
    access.setLevel(logging.INFO)

    os.makedirs(os.path.join(cfg["data_dir"], "outbox"), exist_ok=True)
    server = Server((cfg["listen"], cfg["port"]), Api)
    server.cfg = cfg
    log.info("%s %s listening on %s:%d (env=%s, relay=%s:%d, data=%s)", SERVICE, VERSION, cfg["listen"],
             cfg["port"], os.environ.get("ESP_API_ENV", "development"), cfg["smtp_relay"],
             cfg["smtp_port"], cfg["data_dir"])
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
