#!/usr/bin/env python3
"""make bench, revocation rows: logs out one session after another at a fixed rate (10/s) through
nginx while wrk hammers a gated path with another token, and measures for each logout how long
after its 200 the logged-out token is first denied: on /gated (micro-cache off: must be the very
next verify) and, for every fifth logout, on /gated-cache (micro-cache on: within 1 s).

usage: revocation.py BASE_URL TOKENS_FILE SECONDS RATE OUT_JSON
Each line of TOKENS_FILE is a fresh session's access token (authgate-bench tokens)."""
import http.client
import json
import sys
import time
import urllib.parse


def main():
    base, tokens_file, seconds, rate, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
    u = urllib.parse.urlsplit(base)
    tokens = [t.strip() for t in open(tokens_file) if t.strip()]
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)

    def call(method, path, token):
        conn.request(method, path, headers={"Authorization": "Bearer " + token, "Content-Length": "0"})
        r = conn.getresponse()
        r.read()
        return r.status

    nocache_ms, nocache_tries, cache_ms = [], [], []
    logouts = errors = 0
    start = time.monotonic()
    for i, token in enumerate(tokens):
        due = start + i / rate
        now = time.monotonic()
        if due - start >= seconds:
            break
        if due > now:
            time.sleep(due - now)
        check_cache = i % 5 == 0
        if check_cache and call("GET", "/gated-cache", token) != 200:   # an allow is now cached
            errors += 1
            continue
        if call("GET", "/gated", token) != 200 or call("POST", "/api/v1/auth/logout", token) != 200:
            errors += 1
            continue
        logouts += 1
        t0 = time.monotonic()
        tries = 0
        while True:
            tries += 1
            if call("GET", "/gated", token) == 401:
                break
            if time.monotonic() - t0 > 5:
                errors += 1
                break
        nocache_ms.append((time.monotonic() - t0) * 1000)
        nocache_tries.append(tries)
        if check_cache:
            while call("GET", "/gated-cache", token) != 401:
                if time.monotonic() - t0 > 5:
                    errors += 1
                    break
                time.sleep(0.002)
            cache_ms.append((time.monotonic() - t0) * 1000)

    def pct(values, p):
        if not values:
            return None
        s = sorted(values)
        return round(s[min(len(s) - 1, max(0, int(p * len(s) + 0.999999) - 1))], 2)

    json.dump({
        "logouts": logouts, "errors": errors,
        "first_verify_denied": sum(1 for t in nocache_tries if t == 1),
        "nocache_ms_p50": pct(nocache_ms, 0.5), "nocache_ms_p99": pct(nocache_ms, 0.99),
        "nocache_tries_max": max(nocache_tries) if nocache_tries else None,
        "cache_samples": len(cache_ms), "cache_ms_p50": pct(cache_ms, 0.5), "cache_ms_p99": pct(cache_ms, 0.99),
        "cache_ms_max": round(max(cache_ms), 2) if cache_ms else None,
    }, open(out, "w"))


main()
