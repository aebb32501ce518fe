#!/usr/bin/env python3
"""make bench, PostgreSQL rows: revocation propagation between two hosts on one PostgreSQL. For
each fresh session: its token is allowed on host B, then logged out on host A, then host B's gate
(micro-cache off) is asked again and again until it answers 401; the time from A's logout answer
to B's first 401 is one trial.

usage: propagation.py URL_A URL_B TOKENS_FILE OUT_JSON
Each line of TOKENS_FILE is a fresh session's access token (authgate-bench tokens)."""
import http.client
import json
import statistics
import sys
import time
import urllib.parse


def conn(url):
    u = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=10)


def main():
    url_a, url_b, tokens_file, out = sys.argv[1:5]
    tokens = [t.strip() for t in open(tokens_file) if t.strip()]
    a, b = conn(url_a), conn(url_b)

    def call(c, method, path, token):
        c.request(method, path, headers={"Authorization": "Bearer " + token, "Content-Length": "0"})
        r = c.getresponse()
        r.read()
        return r.status

    ms, polls, errors, timeouts = [], [], 0, 0
    for token in tokens:
        if call(b, "GET", "/gated", token) != 200:
            errors += 1
            continue
        if call(a, "POST", "/api/v1/auth/logout", token) != 200:
            errors += 1
            continue
        t0 = time.monotonic()
        n = 0
        while True:
            n += 1
            status = call(b, "GET", "/gated", token)
            if status == 401:
                ms.append((time.monotonic() - t0) * 1000)
                polls.append(n)
                break
            if status != 200:
                errors += 1
                break
            if time.monotonic() - t0 > 5:
                timeouts += 1
                break
    ms.sort()

    def pct(p):
        return round(ms[min(len(ms) - 1, max(0, int(round(p / 100 * len(ms) + 0.5)) - 1))], 2) if ms else None

    json.dump({"trials": len(ms), "errors": errors, "timeouts": timeouts, "p50_ms": pct(50), "p99_ms": pct(99),
               "max_ms": round(ms[-1], 2) if ms else None, "mean_ms": round(statistics.mean(ms), 2) if ms else None,
               "first_poll_denied": sum(1 for n in polls if n == 1)}, open(out, "w"))


main()
