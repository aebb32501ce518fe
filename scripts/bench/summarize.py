#!/usr/bin/env python3
"""make bench: turns the raw outputs of scripts/bench.sh (RAW dir) into a table (stdout) and JSON."""
import json, os, re, statistics, sys

raw, out_json = sys.argv[1], sys.argv[2]
meta = dict(kv.split("=", 1) for line in open(f"{raw}/meta.txt") for kv in line.split() if "=" in kv)
clk = int(meta.get("clk_tck", "100"))


def ms(text):
    m = re.match(r"([\d.]+)(us|ms|s)$", text)
    v = float(m.group(1))
    return {"us": v / 1000, "ms": v, "s": v * 1000}[m.group(2)]


def wrk(path):
    t = open(path).read()
    r = {"rps": 0.0, "requests": 0, "p50": None, "p99": None, "non2xx": 0, "errors": 0}
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+)", t)
    if m:
        r["requests"] = int(m.group(1))
    m = re.search(r"Requests/sec:\s+([\d.]+)", t)
    if m:
        r["rps"] = float(m.group(1))
    for p in ("50", "99"):
        m = re.search(rf"^\s+{p}%\s+(\S+)", t, re.M)
        if m:
            r["p" + p] = ms(m.group(1))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
    if m:
        r["non2xx"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", t)
    if m:
        r["errors"] = sum(int(x) for x in m.groups())
    return r


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


runs = {}  # pair -> list of (round, label, wrk, nginx_ticks, resp_ticks)
for line in open(f"{raw}/runs.tsv"):
    rnd, pair, label, path, nt, rt = line.rstrip("\n").split("\t")
    w = wrk(os.path.join(raw, os.path.basename(path)))
    w["nginx_us"] = int(nt) * 1e6 / clk / w["requests"] if w["requests"] else None
    w["resp_us"] = int(rt) * 1e6 / clk / w["requests"] if w["requests"] else None
    runs.setdefault(pair, []).append((int(rnd), label, w))


def pair_stats(pair):
    rs = runs.get(pair, [])
    plain = [w for _, l, w in rs if l == "plain"]
    gated = [w for _, l, w in rs if l == "gated"]
    ratios = [g["rps"] / p["rps"] for p, g in zip(plain, gated) if p["rps"]]
    return {
        "plain_rps": med([w["rps"] for w in plain]), "gated_rps": med([w["rps"] for w in gated]),
        "ratio": med(ratios), "ratios": [round(x, 3) for x in ratios],
        "plain_p50_ms": med([w["p50"] for w in plain]), "plain_p99_ms": med([w["p99"] for w in plain]),
        "p50_ms": med([w["p50"] for w in gated]), "p99_ms": med([w["p99"] for w in gated]),
        "responder_us_per_req": med([w["resp_us"] for w in gated]),
        "nginx_us_per_req": med([w["nginx_us"] for w in gated]),
        "nginx_us_per_req_plain": med([w["nginx_us"] for w in plain]),
        "gated_non2xx": sum(w["non2xx"] for w in gated), "gated_requests": sum(w["requests"] for w in gated),
        "socket_errors": sum(w["errors"] for w in plain + gated), "rounds": len(gated),
    }


result = {"meta": meta, "checks": open(f"{raw}/checks.txt").read().strip()}
labels = {
    "ceiling": "auth_request -> internal return 204 (ceiling)",
    "user1": "user token, micro-cache OFF",
    "user1nometrics": "user token, micro-cache OFF, AUTH_METRICS=off",
    "user1cache": "user token, micro-cache ON (hot token)",
    "httpuser1": "HTTP door (keep-alive): user token, cache OFF",
    "httpuser1cache": "HTTP door (keep-alive): user token, cache ON (hot token)",
    "httpnocred": "HTTP door (keep-alive): no credential (401 floor)",
    "cookie1": "browser: access cookie, micro-cache OFF",
    "cookie1cache": "browser: access cookie, micro-cache ON (hot token)",
    "user1000": "1,000 distinct user tokens, cache OFF",
    "user1000cache": "1,000 distinct user tokens, cache ON",
    "apikey": "API key, cache OFF",
    "node": "node key, cache OFF",
    "tls1": "TLS: user token, cache OFF",
    "tls1cache": "TLS: user token, cache ON",
    "light": "light load wrk -c4: user token, cache OFF",
    "nocred": "no credential (401 floor), cache OFF",
    "apache_user1": "Apache httpd (prefork, mod_authnz_fcgi over TCP): user token",
    "apache_apikey": "Apache httpd: API key",
    "apache_nocred": "Apache httpd: no credential (401)",
    "lighttpd_user1": "lighttpd (mod_fastcgi authorizer, Unix socket): user token",
    "lighttpd_apikey": "lighttpd: API key",
    "lighttpd_nocred": "lighttpd: no credential (401)",
    "pg_user1": "PostgreSQL store (host A of two): user token, cache OFF",
    "pg_user1cache": "PostgreSQL store: user token, cache ON",
    "pg_apikey": "PostgreSQL store: API key, cache OFF",
}
gate = {k: pair_stats(k) for k in labels if k in runs}
result["gated"] = gate


def f(v, d=0):
    return "-" if v is None else f"{v:,.{d}f}"


print(f"\nAuthgate bench  {meta.get('date')}  quick={meta.get('quick')}  {meta.get('rounds')} rounds x {meta.get('dur')}s  "
      f"nproc={meta.get('nproc')}  nginx {meta.get('nginx')} (1 worker)  wrk -t1 -c32 (light: -c4)")
print(f"checks: {result['checks']}\n")
print("| what (same small file) | plain req/s | gated req/s | gated/plain | p50 ms | p99 ms | plain p99 ms | responder µs/req | nginx µs/req | non-2xx |")
print("|---|---|---|---|---|---|---|---|---|---|")
for k, name in labels.items():
    if k not in gate:
        continue
    s = gate[k]
    print(f"| {name} | {f(s['plain_rps'])} | {f(s['gated_rps'])} | {f(s['ratio'], 3)} | {f(s['p50_ms'], 3)} | "
          f"{f(s['p99_ms'], 3)} | {f(s['plain_p99_ms'], 3)} | {f(s['responder_us_per_req'], 1)} | "
          f"{f(s['nginx_us_per_req'], 1)} | {s['gated_non2xx']}/{s['gated_requests']} |")

# The peers (../shared/peers/bench-all.sh, run by bench.sh right after the rounds above, same
# machine): their rows in the same table. Its nginx has access_log off and serves a 3-byte file,
# so compare ratios (gated/plain of the same nginx), not req/s.
peer_labels = {"c-http": "peer: C verifier over HTTP/1.1 keep-alive (httpd.c)", "c-nokeep": "peer: C libfcgi, FastCGI",
               "ceiling": "peer: auth_request -> return 204 (the ceiling)", "c-keep": "peer: C libfcgi, keep_conn on",
               "c-cp0": "peer: C libfcgi, close-poll 0", "php": "peer: php-fpm", "njs": "peer: njs inside nginx",
               "c-noverify": "peer: C libfcgi, no verification", "njs-set": "peer: njs (js_set)"}
peers = {}
try:
    for line in open(f"{raw}/peers.txt"):
        m = re.match(r'(\S+)\s+(\d+)\s+(\d+)\s+\d+\.\.\d+\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+[\d.]+\s+([\d.]+)\s+([\d.na]+)', line)
        if m and m[1] != "peer":
            peers[m[1]] = {"rps": float(m[3]), "ratio": float(m[4]), "p50_ms": float(m[5]), "p99_ms": float(m[6]),
                           "nginx_us_per_req": float(m[7]), "backend_us_per_req": None if m[8] == "nan" else float(m[8])}
except FileNotFoundError:
    pass
result["peers"] = peers
plain_peer = peers.get("plain")
for k, p in peers.items():
    if k == "plain":
        continue
    print(f"| {peer_labels.get(k, 'peer: ' + k)} | {f(plain_peer and plain_peer['rps'])} | {f(p['rps'])} | {f(p['ratio'], 3)} | "
          f"{f(p['p50_ms'], 3)} | {f(p['p99_ms'], 3)} | {f(plain_peer and plain_peer['p99_ms'], 3)} | "
          f"{f(p['backend_us_per_req'], 1)} | {f(p['nginx_us_per_req'], 1)} | - |")
if "c-http" in peers and "httpuser1" in gate and gate["httpuser1"]["ratio"]:
    mine, theirs = gate["httpuser1"]["ratio"], peers["c-http"]["ratio"]
    result["http_door_vs_c_http"] = mine / theirs
    print(f"\nHTTP door (cache off) / C keep-alive peer, gated/plain ratios of this run: {f(mine, 3)} / {f(theirs, 3)} "
          f"= {f(mine / theirs, 2)} (target >= 0.9)")
elif not peers:
    print("\n(peers: not run; ../shared/peers/bench-all.sh was missing, failed or skipped)")

if "user1" in gate and "user1nometrics" in gate:
    on, off = gate["user1"], gate["user1nometrics"]
    result["metrics_cost"] = {
        "ratio_on": on["ratio"], "ratio_off": off["ratio"],
        "responder_us_on": on["responder_us_per_req"], "responder_us_off": off["responder_us_per_req"],
    }
    print(f"\nverify counters (same rounds, alternated): gated/plain {f(on['ratio'], 3)} with AUTH_METRICS=on vs "
          f"{f(off['ratio'], 3)} off; responder {f(on['responder_us_per_req'], 1)} vs {f(off['responder_us_per_req'], 1)} µs/verify")

cpu = {}
if "user1" in gate and "nocred" in gate and gate["nocred"]["responder_us_per_req"]:
    a, z = gate["user1"]["responder_us_per_req"], gate["nocred"]["responder_us_per_req"]
    cpu = {"allowed_us": a, "no_credential_us": z, "ratio": a / z}
if "light" in gate:
    cpu["light_p99_added_ms"] = gate["light"]["p99_ms"] - gate["light"]["plain_p99_ms"]
result["responder_cpu"] = cpu
if cpu:
    print(f"\nresponder CPU per allowed verify {f(cpu.get('allowed_us'), 1)} µs vs no-credential 401 floor "
          f"{f(cpu.get('no_credential_us'), 1)} µs: ratio {f(cpu.get('ratio'), 3)} (target <= 1.10); "
          f"p99 added by the gate at -c4: {f(cpu.get('light_p99_added_ms'), 3)} ms (target < 1 ms)")

core = json.load(open(f"{raw}/core.json"))
result["core"] = core
if core: print(f"core in process: verify {f(core['verify_calls_per_s'])}/s ({core['verify_us']} µs), no credential "
      f"{core['no_credential_us']} µs, the same token as the access cookie {core.get('verify_cookie_us', '-')} µs, JWT.verify alone {f(core['jwt_verify_per_s'])}/s ({core['jwt_verify_us']} µs), "
      f"scrypt {core['scrypt_params']} {core['scrypt_ms_median']} ms")

mfa = json.load(open(f"{raw}/mfa.json")) if os.path.exists(f"{raw}/mfa.json") else {}
result["mfa"] = mfa
if mfa: print(f"second factor in process ({mfa['users']} users, scrypt {mfa['scrypt_params']}): password step "
      f"{mfa['mfa_password_step_ms_median']} ms + code step {mfa['mfa_code_step_ms_median']} ms = "
      f"{mfa['mfa_login_total_ms_median']} ms; the code check alone (AES-GCM open + TOTP) {mfa['code_check_us']} µs")

login = {}
for k in ("login1", "loginN"):
    if k in runs:
        w = runs[k][0][2]
        login[k] = {"rps": w["rps"], "p50_ms": w["p50"], "p99_ms": w["p99"], "non2xx": w["non2xx"], "requests": w["requests"]}
result["login"] = login
if login:
    l1, ln = login.get("login1", {}), login.get("loginN", {})
    hj = json.load(open(f"{raw}/hash.json")) if os.path.exists(f"{raw}/hash.json") else {}
    h = hj.get("scrypt_ms_median", core.get("scrypt_ms_median", 0))
    result["login_hash_alone"] = hj
    print(f"login (default scrypt): 1 client median {f(l1.get('p50_ms'), 1)} ms p99 {f(l1.get('p99_ms'), 1)} ms "
          f"(hash alone, measured just before: {h} ms: overhead {f((l1.get('p50_ms') or 0) - h, 1)} ms, target < 5); "
          f"8 clients {f(ln.get('rps'), 1)} logins/s p50 {f(ln.get('p50_ms'), 1)} ms p99 {f(ln.get('p99_ms'), 1)} ms; "
          f"non-2xx {l1.get('non2xx')}+{ln.get('non2xx')}")

if "refresh" in runs:
    w = runs["refresh"][0][2]
    pool = sum(1 for _ in open(f"{raw}/../raw/pool.txt")) if os.path.exists(f"{raw}/pool.txt") else None
    conc_codes = open(f"{raw}/conc-codes.txt").read().strip()
    t0, t1 = (float(x) for x in open(f"{raw}/conc-time.txt").read().split())
    result["refresh"] = {"rps": w["rps"], "p50_ms": w["p50"], "p99_ms": w["p99"], "non2xx": w["non2xx"],
                         "requests": w["requests"], "method": "pool of fresh sessions, one rotation each",
                         "concurrent16_codes": conc_codes, "concurrent16_wall_ms": (t1 - t0) * 1000}
    r = result["refresh"]
    print(f"refresh (pool of fresh sessions, each rotated once): {f(r['rps'])} req/s p50 {f(r['p50_ms'], 2)} ms "
          f"p99 {f(r['p99_ms'], 2)} ms non-2xx {r['non2xx']}/{r['requests']}; 16 concurrent refreshes of one "
          f"session: {conc_codes}in {f(r['concurrent16_wall_ms'], 1)} ms (incl. curl start)")

ws = {}
for line in open(f"{raw}/ws.tsv"):
    rnd, c, v, js = line.rstrip("\n").split("\t", 3)
    ws.setdefault(c, {}).setdefault(v, []).append(json.loads(js))
wsr = {}
for c, d in ws.items():
    direct, comp = d.get("direct", []), d.get("companion", [])
    ratios = [b["msgs_per_s"] / a["msgs_per_s"] for a, b in zip(direct, comp) if a["msgs_per_s"]]
    wsr[c] = {"direct_msgs_per_s": med([x["msgs_per_s"] for x in direct]),
              "companion_msgs_per_s": med([x["msgs_per_s"] for x in comp]), "ratio": med(ratios),
              "direct_rtt_p50_us": med([x["rtt_p50_us"] for x in direct]),
              "companion_rtt_p50_us": med([x["rtt_p50_us"] for x in comp]),
              "direct_rtt_p99_us": med([x["rtt_p99_us"] for x in direct]),
              "companion_rtt_p99_us": med([x["rtt_p99_us"] for x in comp]),
              "failures": sum(x["failures"] for x in direct + comp)}
result["websocket"] = wsr
for c, s in sorted(wsr.items(), key=lambda kv: int(kv[0])):
    print(f"websocket echo, {c} conn(s), 128 B: nginx direct {f(s['direct_msgs_per_s'])} msg/s, through the companion "
          f"{f(s['companion_msgs_per_s'])} msg/s: ratio {f(s['ratio'], 3)} (target >= 0.80); rtt p50 "
          f"{f(s['direct_rtt_p50_us'])} -> {f(s['companion_rtt_p50_us'])} µs (added "
          f"{f((s['companion_rtt_p50_us'] or 0) - (s['direct_rtt_p50_us'] or 0))} µs/message); failures {s['failures']}")
try:
    idle = json.load(open(f"{raw}/idle.json"))
except Exception:
    idle = {"error": "ws-idle produced no result"}
result["idle"] = idle
if not idle:
    pass
elif "open" in idle:
    print(f"idle authenticated WebSockets on the companion: {idle['open']:,}/{idle['requested']:,} open "
          f"(failed {idle['failed']} {idle['first_error']}), companion RSS {idle['rss_before_kib'] / 1024:.1f} -> "
          f"{idle['rss_after_mib']} MiB ({idle['bytes_per_conn']:,} B/conn; target < 100 MiB at 10k)")
else:
    print(f"idle WebSockets: {idle}")
rev = dict(kv.split("=", 1) for kv in open(f"{raw}/revocation.txt").read().split())
result["revocation"] = rev
print(f"revocation via the CLI (another process): gated/cached before {rev['before']}; cache OFF right after: "
      f"{rev['nocache_after']}, denied after {rev.get('nocache_denied_after_ms', '?')} ms; cache ON denied after "
      f"{rev['cache_denied_after_ms']} ms (bound: 1 s)")

revload = {}
if os.path.exists(f"{raw}/revload.tsv"):
    lat = json.load(open(f"{raw}/revload-latency.json")) if os.path.exists(f"{raw}/revload-latency.json") else {}
    for line in open(f"{raw}/revload.tsv"):
        label, rss_r, rss_ws, state, db_revoked = line.rstrip("\n").split("\t")
        st = pair_stats("rev" + label)
        l = lat.get(label, {})
        flat = lambda k: [x for x in l.get(k, []) if x is not None]
        revload[label] = {
            "revoked_in_db": int(db_revoked), "state_entries": int(state.split()[0]), "state_fresh": state.split()[1],
            "plain_rps": st["plain_rps"], "gated_rps": st["gated_rps"], "ratio": st["ratio"], "ratios": st["ratios"],
            "gated_non2xx": st["gated_non2xx"], "responder_rss_mib": int(rss_r) / 1024, "companion_rss_mib": int(rss_ws) / 1024,
            "logouts": sum(flat("logouts")), "errors": sum(flat("errors")),
            "denied_on_first_verify": sum(flat("first_verify_denied")),
            "nocache_ms_p50": med(flat("nocache_ms_p50")), "nocache_ms_p99": max(flat("nocache_ms_p99"), default=None),
            "cache_ms_p50": med(flat("cache_ms_p50")), "cache_ms_p99": max(flat("cache_ms_p99"), default=None),
            "cache_ms_max": max(flat("cache_ms_max"), default=None),
        }
result["revocation_load"] = revload
if revload:
    print("\n| revocation load (logouts at 10/s during every run) | revoked in DB | state entries | plain req/s | gated req/s | "
          "gated/plain | responder RSS MiB | companion RSS MiB | logouts | denied on the next verify | ms to denial, cache off p50/p99 | cache on p50/p99/max |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for label, r in revload.items():
        print(f"| {label} | {r['revoked_in_db']:,} | {r['state_entries']:,} | {f(r['plain_rps'])} | {f(r['gated_rps'])} | "
              f"{f(r['ratio'], 3)} | {f(r['responder_rss_mib'], 1)} | {f(r['companion_rss_mib'], 1)} | {r['logouts']} "
              f"(errors {r['errors']}) | {r['denied_on_first_verify']}/{r['logouts']} | {f(r['nocache_ms_p50'], 2)} / "
              f"{f(r['nocache_ms_p99'], 2)} | {f(r['cache_ms_p50'], 1)} / {f(r['cache_ms_p99'], 1)} / {f(r['cache_ms_max'], 1)} |")
    if "0" in revload and "1M" in revload and revload["0"]["ratio"]:
        k = revload["1M"]["ratio"] / revload["0"]["ratio"]
        result["revocation_load_ratio_1M_vs_0"] = k
        print(f"gated/plain with the revoked sessions vs without, same run: {f(k, 3)} (target >= 0.95)")

if os.path.exists(f"{raw}/servers.txt"):
    result["servers"] = open(f"{raw}/servers.txt").read().strip()
    print(f"web servers: {result['servers']} (their rows above: 'nginx µs/req' is that server's own CPU)")
try:
    cgi = json.load(open(f"{raw}/cgi.json"))
except Exception:
    cgi = {}
result["cgi"] = cgi
if cgi:
    print(f"plain CGI mode, one process per request ({cgi['runs']} runs): verify decision {cgi['verify_ms']} ms, "
          f"GET /auth/me {cgi['me_ms']} ms per request (exec of /bin/true: {cgi['exec_true_ms']} ms; answers "
          f"{cgi['verify_status']!r} / {cgi['me_status']!r}); through Apache mod_cgi (wrk -c4): "
          f"{f(cgi.get('apache_mod_cgi_me_rps'))} req/s, p50 {cgi.get('apache_mod_cgi_me_p50')}, non-2xx {cgi.get('apache_mod_cgi_non2xx')}")
pg = {}
if "pg_user1" in gate or os.path.exists(f"{raw}/pg-propagation.json"):
    for store, k in (("sqlite", "user1"), ("postgres", "pg_user1"), ("sqlite_cache", "user1cache"), ("postgres_cache", "pg_user1cache")):
        if k in gate:
            pg[store + "_ratio"] = gate[k]["ratio"]
    for k in ("login1", "loginN", "refresh", "pg_login1", "pg_loginN", "pg_refresh"):
        if k in runs:
            w = runs[k][0][2]
            pg[k] = {"rps": w["rps"], "p50_ms": w["p50"], "p99_ms": w["p99"], "non2xx": w["non2xx"], "requests": w["requests"]}
    try:
        pg["propagation"] = json.load(open(f"{raw}/pg-propagation.json"))
    except Exception:
        pg["propagation"] = {}
    result["postgres"] = pg
    def rr(k):
        return pg.get(k) or {}
    print(f"\nPostgreSQL vs SQLite, same run: gated/plain cache off {f(pg.get('postgres_ratio'), 3)} vs {f(pg.get('sqlite_ratio'), 3)}, "
          f"cache on {f(pg.get('postgres_cache_ratio'), 3)} vs {f(pg.get('sqlite_cache_ratio'), 3)}")
    for name, a, b in (("login, 1 client", "pg_login1", "login1"), ("login, 8 clients", "pg_loginN", "loginN"),
                       ("refresh, 32 clients", "pg_refresh", "refresh")):
        print(f"  {name}: PostgreSQL {f(rr(a).get('rps'), 1)}/s p99 {f(rr(a).get('p99_ms'), 1)} ms (non-2xx {rr(a).get('non2xx')}) "
              f"vs SQLite {f(rr(b).get('rps'), 1)}/s p99 {f(rr(b).get('p99_ms'), 1)} ms")
    pr = pg["propagation"]
    print(f"  revocation propagation, logout on host A -> first 401 on host B: {pr.get('trials')} trials, p50 {pr.get('p50_ms')} ms, "
          f"p99 {pr.get('p99_ms')} ms, max {pr.get('max_ms')} ms (errors {pr.get('errors')}, over 5 s {pr.get('timeouts')}; "
          f"denied on B's first verify after A's answer: {pr.get('first_poll_denied')})")

if os.path.exists(f"{raw}/revoked-memory.json"):
    mem = json.load(open(f"{raw}/revoked-memory.json"))
    result["revoked_memory"] = mem
    mib = lambda k: f"{k / 1024:.1f}"
    print("\n| verify state memory (issue 24) | revoked | idle RSS MiB fcgi / ws | arrival: peak MiB fcgi / ws | after | start (full load): peak MiB fcgi / ws | load ms |")
    print("|---|---|---|---|---|---|---|")
    for m in mem:
        a, s = m["arrival"], m["start"]
        print(f"| {m['store']} | {m['count']:,} | {mib(m['idle_rss_kib']['fcgi'])} / {mib(m['idle_rss_kib']['ws'])} | "
              f"{mib(a['peak_kib']['fcgi'])} / {mib(a['peak_kib']['ws'])} | {mib(a['rss_kib']['fcgi'])} / {mib(a['rss_kib']['ws'])} | "
              f"{mib(s['peak_kib']['fcgi'])} / {mib(s['peak_kib']['ws'])} | {s['ms']} |")
print(f"\n{meta.get('nginx_errors', '?')} nginx error-log lines, {meta.get('fcgi_errors', '?')} responder error lines; "
      f"raw wrk outputs: {raw}/")
json.dump(result, open(out_json, "w"), indent=1, default=str)
print(f"JSON: {out_json}")
