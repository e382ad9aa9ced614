# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""SMTP session load for the benchmark: THREADS clients open sessions (banner, EHLO, QUIT) to HOST:PORT for
SECONDS; prints one JSON line: sessions, failed (with the first errors), p50 and p99 session time in ms.
Run with python3 (tests/bench/traffic.sh does).
Usage: smtp_load.py HOST PORT THREADS SECONDS"""

import json
import socket
import sys
import threading
import time


def session(host, port):
    with socket.create_connection((host, port), timeout=10) as sock:
        f = sock.makefile("rwb")
        line = f.readline()
        if not line.startswith(b"220"):
            raise RuntimeError("banner %r" % line[:80])
        f.write(b"EHLO bench.esp.test\r\n")
        f.flush()
        while True:
            line = f.readline()
            if not line.startswith(b"250"):
                raise RuntimeError("EHLO answer %r" % line[:80])
            if line[3:4] == b" ":
                break
        f.write(b"QUIT\r\n")
        f.flush()
        line = f.readline()
        if not line.startswith(b"221"):
            raise RuntimeError("QUIT answer %r" % line[:80])


def main():
    host, port, threads, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    times, errors, lock = [], [], threading.Lock()
    stop = time.monotonic() + seconds

    def worker():
        while time.monotonic() < stop:
            t0 = time.monotonic()
            try:
                session(host, port)
                with lock:
                    times.append(time.monotonic() - t0)
            except Exception as exc:  # every failure counts, whatever it is
                with lock:
                    errors.append(str(exc)[:120])

    pool = [threading.Thread(target=worker) for _index in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    times.sort()

    def pct(p):
        return round(1000 * times[min(len(times) - 1, int(p / 100.0 * len(times)))], 2) if times else None

    print(json.dumps({"sessions": len(times) + len(errors), "failed": len(errors), "p50_ms": pct(50), "p99_ms": pct(99),
                      "errors": sorted(set(errors))[:5]}))


if __name__ == "__main__":
    main()
