#!/usr/bin/env python3
"""make bench, PostgreSQL column: revocation propagation between hosts. For each fresh session
token: a gated request on host B (allowed, and with the micro-cache on, cached), a logout on host
A, then host B is polled until it first denies the token: on /gated (micro-cache off) and on
/gated-cache (micro-cache on: bounded by the cache's second). Milliseconds from the logout's 200
to B's first 401. With A = B (the SQLite stack, one host) it measures the same thing on one host.
The cache-on figure is taken on every 4th trial, each started at a random point of its second (a
cached allow lives until its second ends: trials run back to back would all start just after a
boundary and all wait a whole second).

usage: propagation.py A_URL B_URL TOKENS_FILE TRIALS OUT_JSON"""
import http.client
import json
import random
import sys
import time
import urllib.parse


def connect(base):
    u = urllib.parse.urlsplit(base)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=10)


def main():
    a_url, b_url, tokens_file, trials, out = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
    tokens = [t.strip() for t in open(tokens_file) if t.strip()][:trials]
    a, b = connect(a_url), connect(b_url)

    def call(conn, method, path, token):
        conn.request(method, path, headers={"Authorization": "Bearer " + token, "Content-Length": "0"})
        r = conn.getresponse()
        r.read()
        return r.status

    nocache_ms, cache_ms, tries_first = [], [], []
    errors = 0
    for i, token in enumerate(tokens):
        check_cache = i % 4 == 0
        if check_cache:
            time.sleep(random.random())
        if call(b, "GET", "/gated", token) != 200 or (check_cache and call(b, "GET", "/gated-cache", token) != 200):
            errors += 1
            continue
        if call(a, "POST", "/api/v1/auth/logout", token) != 200:
            errors += 1
            continue
        t0 = time.monotonic()
        tries = 0
        while call(b, "GET", "/gated", token) != 401:
            tries += 1
            if time.monotonic() - t0 > 5:
                errors += 1
                break
        nocache_ms.append((time.monotonic() - t0) * 1000)
        tries_first.append(tries == 0)
        if not check_cache:
            continue
        while call(b, "GET", "/gated-cache", token) != 401:
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
        "trials": len(nocache_ms), "cache_trials": len(cache_ms), "errors": errors, "denied_on_first_verify": sum(tries_first),
        "nocache_ms_p50": pct(nocache_ms, 0.5), "nocache_ms_p99": pct(nocache_ms, 0.99),
        "nocache_ms_max": round(max(nocache_ms), 2) if nocache_ms else None,
        "cache_ms_p50": pct(cache_ms, 0.5), "cache_ms_p99": pct(cache_ms, 0.99),
        "cache_ms_max": round(max(cache_ms), 2) if cache_ms else None,
    }, open(out, "w"))


main()
