#!/usr/bin/env python3
"""Sends N FastCGI verify requests, one per connection, to a responder's Unix socket, with the
params nginx's verify location sends for a browser request (the headers a real client carries:
User-Agent, Accept*, a cookie). For instruction counts under callgrind (scripts/bench/callgrind-verify.sh):
no nginx, no wrk, the same bytes every time.
usage: fcgi-verify-load.py SOCKET TOKEN N [expect_status]
TOKEN "-": no Authorization param at all (the no-credential 401)."""
import socket, struct, sys


def record(kind, content, request_id=1):
    pad = (-len(content)) % 8
    return struct.pack(">BBHHBB", 1, kind, request_id, len(content), pad, 0) + content + b"\0" * pad


def pair(name, value):
    n, v = name.encode(), value.encode()
    def length(x):
        return bytes([len(x)]) if len(x) < 128 else struct.pack(">I", len(x) | 0x80000000)
    return length(n) + length(v) + n + v


def request(token):
    params = [
        ("REQUEST_METHOD", "GET"), ("REQUEST_URI", "/app/orders?page=2"), ("DOCUMENT_URI", "/_authgate/verify/user"),
        ("QUERY_STRING", ""), ("CONTENT_TYPE", ""), ("CONTENT_LENGTH", ""), ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("REQUEST_SCHEME", "https"), ("HTTPS", "on"), ("REMOTE_ADDR", "203.0.113.7"),
        ("AUTH_REQUEST_ID", "8c1f9d2ab34e4c5f9a0b1c2d3e4f5a6b"), ("HTTP_PROXY", ""),
        ("AUTH_VERIFY", "1"), ("AUTH_ALLOW", "user"), ("AUTH_ROLES", ""),
        ("HTTP_HOST", "app.example.com"),
        ("HTTP_USER_AGENT", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"),
        ("HTTP_ACCEPT", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
        ("HTTP_ACCEPT_ENCODING", "gzip, deflate, br"), ("HTTP_ACCEPT_LANGUAGE", "en-GB,en;q=0.9"),
        ("HTTP_COOKIE", "theme=dark; _ga=GA1.1.123456789.1700000000; lang=en"),
    ]
    if token != "-":
        params.append(("HTTP_AUTHORIZATION", "Bearer " + token))
    body = b"".join(pair(k, v) for k, v in params)
    return (record(1, struct.pack(">HB5x", 1, 0)) + record(4, body) + record(4, b"") + record(5, b""))


def main():
    path, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    expect = sys.argv[4] if len(sys.argv) > 4 else "204"
    payload = request(token)
    bad = 0
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect(path)
        s.sendall(payload)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        if b"Status: " + expect.encode() not in data:
            bad += 1
    print(f"sent {n}, unexpected {bad}")
    sys.exit(1 if bad else 0)


main()
