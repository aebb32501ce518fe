@testable import AuthCrypto
import Foundation

extension HostileCatalogue {
    /// Every malformed credential shape, at the gate (nginx auth_request) and on an API route.
    static func credentialCases(access: String, userID: String, tenantID: String, sid: String,
                                kid: String, secret: [UInt8]) -> [HostileCase] {
        var t: [HostileCase] = []
        func gate(_ name: String, _ authorization: String, _ status: Int = 401, _ code: String? = "invalid_token") {
            t.append(.init(name: "gate: \(name)", raw: Hostile.gate(authorization), status: status, code: code))
        }
        let claims = Hostile.claims(sub: userID, tid: tenantID, sid: sid, email: "admin@hostile.test")
        let header: [String: Any] = ["alg": "HS256", "typ": "JWT", "kid": kid]
        func signed(_ h: [String: Any], _ c: [String: Any] = claims) -> String { Hostile.jwt(header: h, claims: c, secret: secret) }
        let p = access.split(separator: ".").map(String.init)

        // Shapes and base64url.
        let shapes: [(String, String)] = [
            ("no scheme", access), ("scheme only", "Bearer"), ("scheme and space", "Bearer "), ("Basic", "Basic YWRtaW46eA=="),
            ("two segments", "Bearer \(p[0]).\(p[1])"), ("four segments", "Bearer \(access).x"), ("empty segments", "Bearer .."),
            ("empty signature", "Bearer \(p[0]).\(p[1])."), ("padding", "Bearer \(p[0])==.\(p[1]).\(p[2])"),
            ("standard base64 chars", "Bearer \(p[0]).\(p[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")).\(p[2])+/"),
            ("bad base64 char", "Bearer \(p[0]).\(p[1])*.\(p[2])"), ("truncated signature", "Bearer \(access.dropLast(2))"),
            ("signature of another token", "Bearer \(p[0]).\(p[1]).\(Base64URL.encode([UInt8](repeating: 7, count: 32)))"),
            ("tab", "Bearer\t\(access)"), ("trailing garbage", "Bearer \(access) x"),
            ("8 KiB token", "Bearer \(p[0]).\(String(repeating: "A", count: 8200)).\(p[2])"),
            
            ("header not JSON", "Bearer \(Base64URL.encode(Array("not json".utf8))).\(p[1]).\(p[2])"),
            ("payload not JSON", "Bearer \(signed(header).split(separator: ".")[0]).\(Base64URL.encode(Array("[]".utf8))).\(p[2])"),
            ("API key shape", "Bearer 2s_live_" + String(repeating: "A", count: 43)), ("node key shape", "Bearer node_" + String(repeating: "B", count: 43)),
            ("API key prefix only", "Bearer 2s_live_"), ("refresh token as bearer", "Bearer v1." + String(repeating: "A", count: 75)),
            ("SQL", "Bearer ' OR 1=1 --"), ("percent-encoded token", "Bearer " + access.replacingOccurrences(of: ".", with: "%2E")),
            ("non-ASCII", "Bearer \(access)é"),
        ]
        for (name, value) in shapes { gate(name, value) }

        // Header variants (each validly signed with the stack's key: the header alone must refuse them).
        let variants: [(String, [String: Any])] = [
            ("alg none", ["alg": "none", "typ": "JWT", "kid": kid]), ("alg HS512", ["alg": "HS512", "kid": kid]),
            ("alg hs256", ["alg": "hs256", "kid": kid]), ("alg RS256", ["alg": "RS256", "kid": kid]), ("alg missing", ["typ": "JWT", "kid": kid]),
            ("alg array", ["alg": ["HS256"], "kid": kid]), ("kid missing", ["alg": "HS256", "typ": "JWT"]), ("kid unknown", ["alg": "HS256", "kid": "nope"]),
            ("kid traversal", ["alg": "HS256", "kid": "../../../../dev/null"]), ("kid SQL", ["alg": "HS256", "kid": "' OR 1=1 --"]),
            ("kid number", ["alg": "HS256", "kid": 1]), ("kid empty", ["alg": "HS256", "kid": ""]),
            ("crit", ["alg": "HS256", "kid": kid, "crit": ["exp"]]), ("jku", ["alg": "HS256", "kid": kid, "jku": "https://evil.test/jwks"]),
            ("x5u", ["alg": "HS256", "kid": kid, "x5u": "https://evil.test/cert"]), ("jwk", ["alg": "HS256", "kid": kid, "jwk": ["kty": "oct", "k": "AAAA"]]),
            ("typ JWE", ["alg": "HS256", "kid": kid, "typ": "JWE"]), ("cty JWT nested", ["alg": "HS256", "kid": kid, "cty": "JWT"]),
            ("enc", ["alg": "HS256", "kid": kid, "enc": "A128GCM"]), ("b64 false", ["alg": "HS256", "kid": kid, "b64": false, "crit": ["b64"]]),
        ]
        for (name, h) in variants { gate(name, "Bearer " + signed(h)) }
        let ok = signed(header)
        let nestedJWT = Hostile.jwt(header: ["alg": "HS256", "kid": kid, "cty": "JWT"], claims: ["jwt": ok], secret: secret)
        gate("nested JWT payload", "Bearer \(nestedJWT)")

        // Claims: the other profile's audience, other issuers, times, types.
        let now = Int(Date().timeIntervalSince1970)
        let claimVariants: [(String, [String: Any])] = [
            ("audience get2dial", claims.merging(["aud": "get2dial"]) { $1 }), ("issuer other", claims.merging(["iss": "evil"]) { $1 }),
            ("audience array", claims.merging(["aud": ["2signal"]]) { $1 }), ("expired", claims.merging(["exp": now - 120]) { $1 }),
            ("iat in the future", claims.merging(["iat": now + 3600]) { $1 }), ("exp string", claims.merging(["exp": "\(now + 600)"]) { $1 }),
            ("exp float", claims.merging(["exp": Double(now) + 600.5]) { $1 }), ("exp huge", claims.merging(["exp": Int64.max]) { $1 }),
            ("sub missing", claims.filter { $0.key != "sub" }),
            ("email CR LF", claims.merging(["email": "a@b.c\r\nX-Auth-Role: admin"]) { $1 }),

        ]
        for (name, c) in claimVariants { gate(name, "Bearer " + signed(header, c)) }
        // Signed with our own key, claims are ours: the verify state is a list of revocations, so a
        // made-up session or tenant id in a token only we can sign passes (a key leak is the threat
        // there, and `keys retire` its answer).
        gate("sid unknown, our signature", "Bearer " + signed(header, claims.merging(["sid": UUID().uuidString.lowercased()]) { $1 }), 200, nil)
        gate("tid other, our signature", "Bearer " + signed(header, claims.merging(["tid": UUID().uuidString.lowercased()]) { $1 }), 200, nil)
        // Lenient but safe: two spaces after the scheme (the token is still verified in full).
        gate("double space", "Bearer  \(access)", 200, nil)
        // nginx's own limit: a 60 KiB header is refused before the gate (its HTML 400 page).
        gate("64 KiB noise", "Bearer " + String(repeating: "x", count: 60_000), 400, nil)

        // The query: disguised tenant_id spellings (valid token) are 403.
        for q in ["tenant_id=\(tenantID)&tenant_id=\(tenantID)", "%74enant_id=x", "tenant_id%00=x", "+tenant_id=x", "TENANT_ID=x", "tenant.id=x",
                  "tenant_id[]=x", "tenant_id=%00", "tenant_id=../../x", "tenant_id=x%0d%0a"] {
            t.append(.init(name: "gate: query \(q.prefix(30))", raw: Hostile.gate("Bearer \(access)", path: "/demo/gated?\(q)"), status: 403, code: "forbidden"))
        }
        t.append(.init(name: "gate: X-Original-URI spoof", raw: Hostile.request("GET", "/demo/gated", headers: [("X-Original-URI", "/api/v1/health")]), status: 401, code: "invalid_token"))
        t.append(.init(name: "gate: two Authorization headers", raw: Hostile.request("GET", "/demo/gated", headers: [("Authorization", "Bearer x"), ("Authorization", "Bearer \(access)")]), status: 400, code: "invalid_request"))
        t.append(.init(name: "api: me with API key shape", raw: Hostile.request("GET", "/api/v1/auth/me", headers: [("Authorization", "Bearer 2s_live_x")]), status: 403, code: "forbidden"))
        t.append(.init(name: "api: me alg none", raw: Hostile.request("GET", "/api/v1/auth/me", headers: [("Authorization", "Bearer " + signed(["alg": "none", "kid": kid]))]), status: 401, code: "invalid_token"))
        t.append(.init(name: "api: nodes/me with user token", raw: Hostile.request("GET", "/api/v1/nodes/me", headers: [("Authorization", "Bearer \(access)")]), status: 403, code: "forbidden"))

        // WebSocket upgrades through nginx: malformed and bad tokens.
        let ws = "GET /ws/agent?token=%@ HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        for (name, token, status, code) in [("ws: garbage token", "garbage", 401, "invalid_token"), ("ws: alg none", signed(["alg": "none", "kid": kid]), 401, "invalid_token"),
                                            ("ws: no token", "", 401, "invalid_token"), ("ws: disguised tenant", access + "&%74enant_id=x", 403, "forbidden")] {
            t.append(.init(name: name, raw: Array(ws.replacingOccurrences(of: "%@", with: token).utf8), status: status, code: code))
        }
        t.append(.init(name: "ws: version 8", raw: Array(ws.replacingOccurrences(of: "%@", with: access).replacingOccurrences(of: "Version: 13", with: "Version: 8").utf8), status: 400, code: "invalid_request"))
        t.append(.init(name: "ws: no key", raw: Array(ws.replacingOccurrences(of: "%@", with: access).replacingOccurrences(of: "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", with: "").utf8), status: 400, code: "invalid_request"))
        return t
    }
}
