#!/usr/bin/env python3
"""Sends N verify requests to the responder's HTTP door (AUTH_VERIFY_HTTP_SOCKET) over kept-alive
connections, one request at a time, with the headers nginx's authgate-verify-http-location.conf
sends for a browser request (its proxy_set_header lines first, then the client's own headers:
User-Agent, Accept*, a cookie), the same client as fcgi-verify-load.py. For instruction counts
under callgrind (scripts/bench/callgrind-verify.sh DOOR=http): no nginx, no wrk, the same bytes
every time. A connection is reopened whenever the door closes it (AUTH_VERIFY_HTTP_MAX_REQUESTS).
usage: http-verify-load.py SOCKET TOKEN N [expect_status]
TOKEN "-": no Authorization header at all (the no-credential 401)."""
import socket, sys


def request(token):
    headers = [
        ("Host", "app.example.com"), ("X-Original-URI", "/app/orders?page=2"), ("X-Original-Method", "GET"),
        ("X-Authgate-Allow", "user"), ("X-Real-IP", "203.0.113.7"),
        ("X-Request-Id", "8c1f9d2ab34e4c5f9a0b1c2d3e4f5a6b"),
        ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"),
        ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
        ("Accept-Encoding", "gzip, deflate, br"), ("Accept-Language", "en-GB,en;q=0.9"),
        ("Cookie", "theme=dark; _ga=GA1.1.123456789.1700000000; lang=en"),
    ]
    if token != "-":
        headers.append(("Authorization", "Bearer " + token))
    head = "GET /verify HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    return head.encode()


def main():
    path, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    expect = ("HTTP/1.1 " + (sys.argv[4] if len(sys.argv) > 4 else "204") + " ").encode()
    payload = request(token)
    bad = 0
    s = None
    for _ in range(n):
        if s is None:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(30)
            s.connect(path)
        s.sendall(payload)
        data = b""
        while b"\r\n\r\n" not in data:   # every door answer is a head with Content-Length: 0
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        if not data.startswith(expect):
            bad += 1
        if not data or b"\r\nconnection: close\r\n" in data.lower():
            s.close()
            s = None
    if s is not None:
        s.close()
    print(f"sent {n}, unexpected {bad}")
    sys.exit(1 if bad else 0)


main()
