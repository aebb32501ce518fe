#!/usr/bin/env python3
"""Writes the seed corpora of Tests/Fuzz/corpus/<target>/ (checked in; rerun to regenerate).
Seeds are shaped like real requests: the fuzz key ring is kid k1/k2 with 32 bytes of 'A'/'B'."""
import base64, hashlib, hmac, json, os, struct

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
def b64(b): return base64.urlsafe_b64encode(b).rstrip(b"=")
def put(target, name, data):
    d = os.path.join(root, target); os.makedirs(d, exist_ok=True)
    open(os.path.join(d, name), "wb").write(data if isinstance(data, bytes) else data.encode())

secret = b"A" * 32
def jwt(header, claims, key=secret):
    s = b64(json.dumps(header, separators=(",", ":")).encode()) + b"." + b64(json.dumps(claims, separators=(",", ":")).encode())
    return s + b"." + b64(hmac.new(key, s, hashlib.sha256).digest())
claims = {"iss": "authgate", "aud": "2signal", "sub": "11111111-2222-3333-4444-555555555555", "tid": "11111111-2222-3333-4444-666666666666",
          "email": "a@b.test", "role": "agent", "sid": "11111111-2222-3333-4444-777777777777", "iat": 1799990000, "exp": 1800003600,
          "jti": "j1"}
hdr = {"alg": "HS256", "typ": "JWT", "kid": "k1"}
put("jwt", "valid", jwt(hdr, claims))
put("jwt", "kid2", jwt({**hdr, "kid": "k2"}, claims, b"B" * 32))
put("jwt", "none", jwt({"alg": "none", "typ": "JWT", "kid": "k1"}, claims))
put("jwt", "crit", jwt({**hdr, "crit": ["exp"]}, claims))
put("jwt", "expired", jwt(hdr, {**claims, "exp": 1700000000}))
put("jwt", "aud", jwt(hdr, {**claims, "aud": "get2dial"}))
put("jwt", "segments", b"eyJhbGciOiJIUzI1NiJ9..sig")

refresh_key = hmac.new(secret, b"authgate refresh-token key v1", hashlib.sha256).digest()
body = bytes.fromhex("11111111222233334444777777777777") + struct.pack(">Q", 7)
put("credential", "refresh", b"v1." + b64(body + hmac.new(refresh_key, body, hashlib.sha256).digest()))
put("credential", "apikey", "2s_live_" + "a" * 43)
put("credential", "node", "node_" + "b" * 43)
put("credential", "jwt", jwt(hdr, claims))
put("credential", "odd", "Bearer  2s_live_\u00e9x")

put("json", "login", '{"email":"a@b.test","password":"correct horse battery","tenant_domain":"b.test"}')
put("json", "nested", '{"a":[1,-2.5e3,true,false,null,{"b":"\\u00e9\\ud83d\\ude00\\n"}],"c":""}')
put("json", "numbers", '[0,-0,1e308,123456789012345678,0.1,-1E-7]')
put("json", "dup", '{"a":1,"a":2}')
put("json", "scalar", '"x"')

for i, b in enumerate(['{"email":"admin@fuzz.test","password":"correct horse battery"}', '{"refresh_token":"v1.AAAA"}',
                       '{"refresh_token":"x"}', '{"current_password":"correct horse battery","new_password":"another long password"}',
                       '{"name":"proj"}', '{"name":"edge-1"}', '', '{"name":"sdk"}']):
    put("body", "route%d" % i, bytes([i]) + b.encode())

put("query", "tenant", "tenant_id=abc&x=1")
put("query", "tricks", "+tenant_id=1;%2574enant_id=2&tenant.id[]=3&TENANT_ID&tenant_id%00x=4&a=%zz")

def envp(*kv): return b"\0".join(k.encode() for k in kv) + b"\0"
put("fcgi_params", "verify", envp("REQUEST_METHOD=GET", "REQUEST_URI=/x?tenant_id=t", "DOCUMENT_URI=/_authgate/verify/user",
                                   "AUTH_VERIFY=1", "AUTH_ALLOW=user api_key", "HTTP_AUTHORIZATION=Bearer " + jwt(hdr, claims).decode(),
                                   "REMOTE_ADDR=127.0.0.1"))
put("fcgi_params", "api", envp("REQUEST_METHOD=POST", "REQUEST_URI=/api/v1/auth/me", "CONTENT_TYPE=application/json",
                                "CONTENT_LENGTH=0", "HTTP_X_AUTH_KIND=user", "HTTP_USER_AGENT=curl"))

req = (b"GET /ws/agent?token=abc HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
res = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n\x81\x02hi")
put("ws_upgrade", "request", b"\x07" + req)
put("ws_upgrade", "response", b"\x03" + res)

def frame(op, payload, fin=True, mask=None):
    b = bytes([(0x80 if fin else 0) | op]); n = len(payload); m = 0x80 if mask else 0
    if n < 126: b += bytes([m | n])
    elif n < 65536: b += bytes([m | 126]) + struct.pack(">H", n)
    else: b += bytes([m | 127]) + struct.pack(">Q", n)
    if mask: b += mask; payload = bytes(p ^ mask[i % 4] for i, p in enumerate(payload))
    return b + payload
k = b"\x01\x02\x03\x04"
put("ws_frame", "client", b"\x05" + frame(1, b"hello", mask=k) + frame(9, b"", mask=k) + frame(8, b"\x03\xe8bye", mask=k))
put("ws_frame", "fragmented", b"\x09" + frame(1, b"he", fin=False, mask=k) + frame(10, b"p", mask=k) + frame(0, b"llo", mask=k))
put("ws_frame", "server", b"\x02" + frame(2, b"x" * 200) + frame(1, b"y" * 70000)[:300])
