#!/usr/bin/env python3
"""One FastCGI GET to a responder's Unix socket; prints the response body.
usage: fcgi-get.py SOCKET PATH"""
import socket, struct, sys


def record(kind, content, request_id=1):
    pad = (-len(content)) % 8
    return struct.pack(">BBHHBB", 1, kind, request_id, len(content), pad, 0) + content + b"\0" * pad


def pair(name, value):
    n, v = name.encode(), value.encode()
    length = lambda x: bytes([len(x)]) if len(x) < 128 else struct.pack(">I", len(x) | 0x80000000)
    return length(n) + length(v) + n + v


path, uri = sys.argv[1], sys.argv[2]
params = [("REQUEST_METHOD", "GET"), ("REQUEST_URI", uri), ("DOCUMENT_URI", uri), ("QUERY_STRING", ""),
          ("SERVER_PROTOCOL", "HTTP/1.1"), ("REMOTE_ADDR", "127.0.0.1"), ("HTTP_HOST", "localhost")]
body = b"".join(pair(k, v) for k, v in params)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(path)
s.sendall(record(1, struct.pack(">HB5x", 1, 0)) + record(4, body) + record(4, b"") + record(5, b""))
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
s.close()
out = b""
i = 0
while i + 8 <= len(data):
    _, kind, _, clen, plen, _ = struct.unpack(">BBHHBB", data[i:i + 8])
    if kind == 6:
        out += data[i + 8:i + 8 + clen]
    i += 8 + clen + plen
sys.stdout.write(out.split(b"\r\n\r\n", 1)[-1].decode(errors="replace"))
