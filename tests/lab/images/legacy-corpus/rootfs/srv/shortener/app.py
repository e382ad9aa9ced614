"""URL shortener: a small WSGI app run by gunicorn from /srv/shortener (app:application).

GET /healthz -> "ok"; GET / -> templates/index.html; POST /api/links?url=... -> a short code
(stored in <data_dir>/links.tsv); GET /<code> -> 302 to the stored URL.
"""
import configparser
import hashlib
import hmac
import os
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIG_PATH = os.environ.get("SHORTENER_CONFIG", "/etc/shortener/shortener.ini")

config = configparser.ConfigParser()
if not config.read(CONFIG_PATH):
    raise SystemExit(f"cannot read {CONFIG_PATH}")
DB_URL = os.environ["SHORTENER_DB_URL"]
SIGNING_KEY = os.environ["SHORTENER_SIGNING_KEY"].encode()
DB_PASSWORD = config.get("database", "password")
QUEUE_HOST = urlsplit(config.get("queue", "url")).hostname
DATA_DIR = config.get("server", "data_dir", fallback="/var/lib/shortener")
BASE_URL = config.get("server", "base_url", fallback="/")
PARTNERS = [p.get("id") for p in ET.parse(config.get("partners", "file")).getroot().iter("partner")]
LINKS = os.path.join(DATA_DIR, "links.tsv")

with open(os.path.join(HERE, "templates", "index.html"), encoding="utf-8") as f:
    INDEX = f.read()


def _code(url):
    return hmac.new(SIGNING_KEY, url.encode(), hashlib.sha256).hexdigest()[:8]


def _lookup(code):
    try:
        with open(LINKS, encoding="utf-8") as f:
            for line in f:
                c, _, url = line.rstrip("\n").partition("\t")
                if c == code:
                    return url
    except FileNotFoundError:
        pass
    return None


def application(environ, start_response):
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "/")

    def reply(status, body, ctype="text/plain; charset=utf-8", headers=()):
        data = body.encode()
        start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(data))), *headers])
        return [data]

    if path == "/healthz":
        return reply("200 OK", "ok\n")
    if path == "/" and method in ("GET", "HEAD"):
        page = INDEX.replace("{{partners}}", str(len(PARTNERS))).replace("{{queue}}", QUEUE_HOST or "-")
        page = page.replace("{{db}}", "yes" if DB_URL and DB_PASSWORD else "no")
        return reply("200 OK", page, "text/html; charset=utf-8")
    if path == "/api/links" and method == "POST":
        url = parse_qs(environ.get("QUERY_STRING", "")).get("url", [""])[0]
        if not url.startswith(("http://", "https://")):
            return reply("400 Bad Request", "url must be http(s)\n")
        code = _code(url)
        if _lookup(code) is None:
            with open(LINKS, "a", encoding="utf-8") as f:
                f.write(f"{code}\t{url}\n")
        return reply("201 Created", BASE_URL + code + "\n")
    url = _lookup(path.lstrip("/")) if method == "GET" else None
    if url:
        return reply("302 Found", "", headers=[("Location", url)])
    return reply("404 Not Found", "not found\n")
