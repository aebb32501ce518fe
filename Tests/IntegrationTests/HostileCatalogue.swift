@testable import AuthCrypto
import Foundation

/// The table of the hostile-input catalogue (HostileCatalogueTests).
enum HostileCatalogue {
    static func cases(access: String, refresh: String, userID: String, tenantID: String, sid: String,
                      kid: String, secret: [UInt8]) -> [HostileCase] {
        var t: [HostileCase] = []
        func add(_ name: String, _ raw: [UInt8], _ status: Int, _ code: String?) { t.append(.init(name: name, raw: raw, status: status, code: code)) }
        let login = "/api/v1/auth/login"
        let pw = GateFixture.password

        // 1. Login bodies: malformed, truncated, wrong types, nesting, numbers, encodings.
        let badLogin: [(String, String)] = [
            ("empty", ""), ("open brace", "{"), ("truncated string", #"{"email":"admin@hos"#),
            ("truncated after colon", #"{"email":"#), ("array", "[]"), ("null", "null"), ("number", "1"),
            ("string", #""x""#), ("empty object", "{}"), ("trailing comma", #"{"email":"a@b.c","password":"x",}"#),
            ("single quotes", "{'email':'a@b.c','password':'x'}"), ("unquoted keys", "{email:1,password:2}"),
            ("email number", #"{"email":1,"password":"x"}"#), ("email bool", #"{"email":true,"password":"x"}"#),
            ("email array", #"{"email":["a@b.c"],"password":"x"}"#), ("email object", #"{"email":{"$ne":null},"password":"x"}"#),
            ("password null", #"{"email":"a@b.c","password":null}"#), ("password number", #"{"email":"a@b.c","password":12345678901234}"#),
            ("tenant number", #"{"email":"a@b.c","password":"x","tenant_domain":7}"#),
            ("huge exponent", #"{"email":1e999999,"password":"x"}"#), ("huge integer", #"{"email":123456789012345678901234567890,"password":"x"}"#),
            ("NaN", #"{"email":NaN,"password":"x"}"#), ("leading zero", #"{"email":"a@b.c","password":"x","n":012}"#),
            ("duplicate email", #"{"email":"admin@hostile.test","email":"x@y.z","password":"x"}"#),
            ("duplicate password", "{\"email\":\"admin@hostile.test\",\"password\":\"x\",\"password\":\"\(pw)\"}"),
            ("lone surrogate", #"{"email":"\ud800@b.c","password":"x"}"#), ("bad escape", #"{"email":"\q","password":"x"}"#),
            ("comment", #"{"email":"a@b.c",/*x*/"password":"x"}"#), ("two documents", #"{"email":"a@b.c","password":"x"}{}"#),
            ("missing password", #"{"email":"admin@hostile.test"}"#), ("missing email", #"{"password":"x"}"#),
            ("deep arrays", #"{"email":"# + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000) + "}"),
            ("deep objects", String(repeating: #"{"a":"#, count: 200) + "1" + String(repeating: "}", count: 200)),
        ]
        for (name, body) in badLogin { add("login: \(name)", Hostile.json(login, body), 400, "invalid_request") }
        let rawBodies: [(String, [UInt8])] = [
            ("invalid UTF-8 in email", Array(#"{"email":""#.utf8) + [0xC3, 0x28] + Array(#"","password":"x"}"#.utf8)),
            ("overlong UTF-8", Array(#"{"email":""#.utf8) + [0xC0, 0xAF] + Array(#"","password":"x"}"#.utf8)),
            ("raw NUL in string", Array(#"{"email":"a"#.utf8) + [0] + Array(#"b@c.d","password":"x"}"#.utf8)),
            ("raw NUL outside", Array(#"{"email":"a@b.c","password":"x"}"#.utf8) + [0]),
            ("raw CR LF in string", Array(#"{"email":"a"#.utf8) + [13, 10] + Array(#"@b.c","password":"x"}"#.utf8)),
            ("raw tab in string", Array(#"{"email":"a"#.utf8) + [9] + Array(#"@b.c","password":"x"}"#.utf8)),
            ("UTF-16 body", Array(#"{"email":"a@b.c","password":"x"}"#.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] })),
            ("BOM", [0xEF, 0xBB, 0xBF] + Array(#"{"email":"a@b.c","password":"x"}"#.utf8)),
        ]
        for (name, body) in rawBodies { add("login: \(name)", Hostile.json(login, body), 400, "invalid_request") }

        // 2. Login values that parse: every one is just a failed login.
        let long = String(repeating: "a", count: 10_000)
        let failing: [(String, String, String)] = [
            ("SQL in email", "' OR '1'='1' --@hostile.test", "x"), ("SQL in password", "admin@hostile.test", "' OR 1=1 --"),
            ("SQL union", "x@y.z' UNION SELECT password_hash FROM users --", "x"), ("LIKE wildcard", "%@hostile.test", pw),
            ("underscore wildcard", "_dmin@hostile.test", pw), ("escaped NUL", "admin@hostile.test\\u0000x", pw),
            ("escaped CR LF", "admin@hostile.test\\r\\nX-Auth-Role: admin", pw), ("escaped ESC", "\\u001b[31madmin@hostile.test", "x"),
            ("overlong email", long + "@hostile.test", "x"), ("overlong password", "admin@hostile.test", long),
            ("unicode lookalike", "аdmin@hostile.test", pw), ("trailing dot", "admin@hostile.test.", pw),
            ("wrong password", "admin@hostile.test", "wrong password 123"), ("empty email", "", "x"), ("empty password", "admin@hostile.test", ""),
            ("control chars", "\\u0007\\u0008@b.c", "\\u0000"), ("quote and backslash", "a\\\"b\\\\c@d.e", "x"),
        ]
        for (name, email, password) in failing {
            // Empty or overlong (> the field limits) is a bad request; anything else a failed login.
            let missing = email.isEmpty || password.isEmpty || email.count > 1000 || password.count > 1000
            add("login: \(name)", Hostile.json(login, "{\"email\":\"\(email)\",\"password\":\"\(password)\"}"),
                missing ? 400 : 401, missing ? "invalid_request" : "invalid_credentials")
        }
        let tenants = ["../../etc/passwd", "hostile.test' --", "%00", "hostile.test\\r\\nSet-Cookie: x", "*", String(repeating: "d", count: 5000)]
        for d in tenants {
            let tooLong = d.count > 1000
            add("login: tenant_domain \(d.prefix(24))", Hostile.json(login, "{\"email\":\"admin@hostile.test\",\"password\":\"\(pw)\",\"tenant_domain\":\"\(d)\"}"),
                tooLong ? 400 : 401, tooLong ? "invalid_request" : "invalid_credentials")
        }

        // 3. Content types, methods, framing.
        let good = "{\"email\":\"admin@hostile.test\",\"password\":\"wrong password 123\"}"
        // The body is parsed as strict JSON whatever the Content-Type says (CONTRACT: routes read
        // JSON bodies): a JSON body under another type is still just a failed login. Tokens come back
        // in the body, never as cookies, so a cross-site "simple" POST gains nothing.
        for type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json; charset=utf-16", "application/xml"] {
            add("login: content type \(type)", Hostile.json(login, good, type: type), 401, "invalid_credentials")
        }
        add("login: no content type", Hostile.json(login, good, type: nil), 401, "invalid_credentials")
        add("login: form body", Hostile.json(login, "email=admin%40hostile.test&password=x", type: "application/x-www-form-urlencoded"), 400, "invalid_request")
        add("login: body too large", Hostile.json(login, "{\"email\":\"" + String(repeating: "x", count: 70_000) + "\"}"), 413, "payload_too_large")
        add("login: chunked", Hostile.request("POST", login, headers: [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")],
                                              body: Array("\(String(good.utf8.count, radix: 16))\r\n\(good)\r\n0\r\n\r\n".utf8), contentLength: false), 401, "invalid_credentials")
        add("login: bad chunk size", Hostile.request("POST", login, headers: [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")],
                                                     body: Array("zz\r\nxx\r\n0\r\n\r\n".utf8), contentLength: false), 400, nil)
        add("login: content-length and chunked", Hostile.request("POST", login, headers: [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked"), ("Content-Length", "3")],
                                                                 body: Array("0\r\n\r\n".utf8), contentLength: false), 400, nil)
        for m in ["GET", "PUT", "DELETE", "PATCH"] { add("login: method \(m)", Hostile.request(m, login), 405, "method_not_allowed") }
        add("health: DELETE", Hostile.request("DELETE", "/api/v1/health"), 405, "method_not_allowed")
        add("health: body on GET", Hostile.request("GET", "/api/v1/health", headers: [("Content-Type", "application/json")], body: Array("{\"x\":1}".utf8)), 200, nil)
        add("me: body on GET", Hostile.request("GET", "/api/v1/auth/me", headers: [("Authorization", "Bearer \(access)")], body: Array("garbage".utf8)), 200, nil)
        add("me: PATCH", Hostile.request("PATCH", "/api/v1/auth/me", headers: [("Authorization", "Bearer \(access)")]), 405, "method_not_allowed")
        add("request line: bad method", Array("G@T /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8), 400, "invalid_request")
        add("request line: HTTP/9", Array("GET /api/v1/health HTTP/9.9\r\nHost: x\r\nConnection: close\r\n\r\n".utf8), 400, "invalid_request")
        add("header: NUL", Array("GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\nConnection: close\r\n\r\n".utf8), 400, nil)
        add("header: bare LF continuation", Array("GET /api/v1/health HTTP/1.1\r\nHost: x\r\n X-A: folded\r\nConnection: close\r\n\r\n".utf8), 400, nil)
        add("header: 100 KiB", Hostile.request("GET", "/api/v1/health", headers: [("X-Big", String(repeating: "b", count: 100_000))]), 400, nil)
        add("header: 200 headers", Hostile.request("GET", "/api/v1/health", headers: (0..<200).map { ("X-H\($0)", "v") }), 200, nil)

        add("path /api/v1/auth/login%00", Hostile.request("POST", "/api/v1/auth/login%00", headers: [("Content-Type", "application/json")], body: Array(good.utf8)), 400, "invalid_request")
        // 4. Ids: traversal, SQL, odd encodings.
        let ids = ["..%2F..%2Fetc%2Fpasswd", "%2e%2e", "1%27%20OR%201%3D1", "%00", "%0d%0aX-Auth-Role:%20admin", String(repeating: "9", count: 3000),
                   "%C0%AE%C0%AE", "%E2%80%AE", "00000000-0000-0000-0000-000000000000", "\(sid.uppercased())x", "%25", "*"]
        for id in ids {
            // nginx refuses a NUL in the decoded path itself (400), before any route sees it.
            let (status, code) = id == "%00" ? (400, "invalid_request") : (404, "not_found")
            add("session delete id \(id.prefix(20))", Hostile.request("DELETE", "/api/v1/auth/sessions/\(id)", headers: [("Authorization", "Bearer \(access)")]), status, code)
            add("project keys id \(id.prefix(20))", Hostile.request("GET", "/api/v1/projects/\(id)/api-keys", headers: [("Authorization", "Bearer \(access)")]), status, code)
        }
        for path in ["/api/trpc/auth.login", "/api/v1/auth/login/", "/api/v1/auth/LOGIN", "/api/v1/auth/./me/..%2fme", "/api/v2/auth/login"] {
            add("path \(path)", Hostile.request("POST", path, headers: [("Content-Type", "application/json")], body: Array(good.utf8)), 404, "not_found")
        }

        // 5. Refresh tokens.
        let badRefresh = ["", "v1.", "v1." + String(repeating: "A", count: 75), "v2." + refresh.dropFirst(3), refresh + "A", String(refresh.dropLast()),
                          "v1.+" + refresh.dropFirst(4), refresh + "=", " " + refresh, refresh.uppercased(), access, String(repeating: "v1.", count: 4000), "v1.\\u0000"]
        for (i, token) in badRefresh.enumerated() {
            add("refresh: bad token \(i)", Hostile.json("/api/v1/auth/refresh", "{\"refresh_token\":\"\(token)\"}"), token.isEmpty || token.utf8.count > 8192 ? 400 : 401,
                token.isEmpty || token.utf8.count > 8192 ? "invalid_request" : "invalid_token")
        }
        add("refresh: token number", Hostile.json("/api/v1/auth/refresh", "{\"refresh_token\":1}"), 400, "invalid_request")
        add("refresh: token array", Hostile.json("/api/v1/auth/refresh", "{\"refresh_token\":[\"\(refresh)\"]}"), 400, "invalid_request")
        add("password: wrong types", Hostile.json("/api/v1/auth/me/password", "{\"current_password\":1,\"new_password\":[]}", bearer: access), 400, "invalid_request")
        add("password: no token", Hostile.json("/api/v1/auth/me/password", "{\"current_password\":\"a\",\"new_password\":\"b\"}"), 401, "invalid_token")
        add("logout: garbage body, no token", Hostile.json("/api/v1/auth/logout", "{\"refresh_token\":{\"a\":1}}"), 400, "invalid_request")
        add("logout: bad scope", Hostile.request("POST", "/api/v1/auth/logout?scope=%00all", headers: [("Authorization", "Bearer \(access)")]), 400, "invalid_request")
        add("projects: name with CR LF", Hostile.json("/api/v1/projects", "{\"name\":\"a\\r\\nX-Auth: 1\"}", bearer: access), 400, "invalid_request")
        add("projects: name 10k", Hostile.json("/api/v1/projects", "{\"name\":\"\(long)\"}", bearer: access), 400, "invalid_request")
        add("nodes: name NUL", Hostile.json("/api/v1/admin/nodes", "{\"name\":\"a\\u0000b\"}", bearer: access), 400, "invalid_request")

        t += credentialCases(access: access, userID: userID, tenantID: tenantID, sid: sid, kid: kid, secret: secret)

        // ---- Issue 19, items 5 and 6: browser locations and cookie-session routes (HostileBrowserGate.swift) ----
        t += browserGateCases(access: access, tenantID: tenantID)
        // ---- Issue 19 (i19-core): review findings 10, 15 and the email hardening ----
        for ch in ["%C2%AD", "%E2%80%8B", "%E2%80%8D", "%EF%BB%BF", "%E2%80%AE"] {
            let email = "al" + (ch.removingPercentEncoding ?? "") + "ice@demo.local"
            add("login: invisible \(ch) in the email", Hostile.json("/api/v1/auth/login", "{\"email\":\"\(email)\",\"password\":\"wrong password\"}"),
                401, "invalid_credentials")
        }
        add("ready: DELETE", Hostile.request("DELETE", "/api/v1/ready"), 405, "method_not_allowed")
        add("ready: query ignored", Hostile.request("GET", "/api/v1/ready?verbose=1&details=all"), 200, nil)
        add("health: query ignored", Hostile.request("GET", "/api/v1/health?details=1"), 200, nil)
        // ---- end of issue 19 (i19-core) ----
        // ---- Issue 21: the second factor's routes (the catalogue's user has no factor) ----
        let verify = "/api/v1/auth/mfa/verify"
        for (name, body) in [("empty", "{}"), ("mfa_token number", #"{"mfa_token":1,"code":"123456"}"#),
                             ("no code", #"{"mfa_token":"mfa_x"}"#), ("code and recovery code", #"{"mfa_token":"mfa_x","code":"123456","recovery_code":"abcde-fghij"}"#),
                             ("code array", #"{"mfa_token":"mfa_x","code":["123456"]}"#), ("empty code", #"{"mfa_token":"mfa_x","code":""}"#),
                             ("mfa_token 10k", "{\"mfa_token\":\"\(long)\",\"code\":\"123456\"}"),
                             // An access token is far longer than any mfa_token (256 bytes at most).
                             ("access token as mfa_token", "{\"mfa_token\":\"\(access)\",\"code\":\"123456\"}")] {
            add("mfa verify: \(name)", Hostile.json(verify, body), 400, "invalid_request")
        }
        for (name, token) in [("unknown mfa_token", "mfa_AAAA"), ("refresh token as mfa_token", refresh),
                              ("SQL in mfa_token", "x' OR '1'='1"), ("NUL in mfa_token", "mfa_\\u0000")] {
            add("mfa verify: \(name)", Hostile.json(verify, "{\"mfa_token\":\"\(token)\",\"code\":\"123456\"}"), 401, "invalid_token")
        }
        add("mfa verify: GET", Hostile.request("GET", verify), 405, "method_not_allowed")
        add("mfa enrol: no token", Hostile.request("POST", "/api/v1/auth/mfa/totp"), 401, "invalid_token")
        add("mfa enrol: api key", Hostile.request("POST", "/api/v1/auth/mfa/totp", headers: [("Authorization", "Bearer 2s_live_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")]), 403, "forbidden")
        add("mfa confirm: unknown factor", Hostile.json("/api/v1/auth/mfa/totp/confirm", #"{"factor_id":"00000000-0000-0000-0000-000000000000","code":"123456"}"#, bearer: access), 404, "not_found")
        add("mfa confirm: missing code", Hostile.json("/api/v1/auth/mfa/totp/confirm", #"{"factor_id":"x"}"#, bearer: access), 400, "invalid_request")
        add("mfa confirm: factor id SQL", Hostile.json("/api/v1/auth/mfa/totp/confirm", #"{"factor_id":"x' OR 1=1 --","code":"123456"}"#, bearer: access), 404, "not_found")
        for id in ["..%2F..%2Fetc%2Fpasswd", "1%27%20OR%201%3D1", "%0d%0aX-Auth-Role:%20admin"] {
            add("mfa delete id \(id.prefix(20))", Hostile.request("DELETE", "/api/v1/auth/mfa/totp/\(id)", headers: [("Authorization", "Bearer \(access)")]), 404, "not_found")
        }
        add("mfa recovery codes: no factor", Hostile.request("POST", "/api/v1/auth/mfa/recovery-codes", headers: [("Authorization", "Bearer \(access)")]), 400, "invalid_request")
        add("mfa list: no token", Hostile.request("GET", "/api/v1/auth/mfa"), 401, "invalid_token")
        add("mfa session verify: no Origin", Hostile.json("/api/v1/auth/session/mfa", #"{"mfa_token":"mfa_x","code":"123456"}"#), 403, "forbidden")
        add("mfa session verify: another site", Hostile.request("POST", "/api/v1/auth/session/mfa", headers: [("Origin", "https://evil.example"),
            ("Content-Type", "application/json")], body: Array(#"{"mfa_token":"mfa_x","code":"123456"}"#.utf8)), 403, "forbidden")
        add("mfa session verify: Origin null, cross-site", Hostile.request("POST", "/api/v1/auth/session/mfa", headers: [("Origin", "null"), ("Sec-Fetch-Site", "cross-site"),
            ("Content-Type", "application/json")], body: Array(#"{"mfa_token":"mfa_x","code":"123456"}"#.utf8)), 403, "forbidden")
        // ---- end of issue 21 ----
        // ---- Issue 20 (i20-door): the keep-alive HTTP verify door through nginx (/demo/gated-http) ----
        let strangerTenant = "00000000-0000-4000-8000-000000000000"
        add("http door: user token", Hostile.request("GET", "/demo/gated-http", headers: [("Authorization", "Bearer \(access)")]), 200, nil)
        add("http door: no token, own policy header", Hostile.request("GET", "/demo/gated-http", headers: [
            ("X-Authgate-Allow", "user api_key node browser"), ("X-Authgate-Roles", "")]), 401, "invalid_token")
        add("http door: X-Original-URI hides tenant_id", Hostile.request("GET", "/demo/gated-http?tenant_id=\(strangerTenant)", headers: [
            ("Authorization", "Bearer \(access)"), ("X-Original-URI", "/demo/gated-http"), ("X-Forwarded-Uri", "/demo/gated-http")]), 403, "forbidden")
        add("http door: chunked body on a GET", Hostile.request("GET", "/demo/gated-http", headers: [
            ("Authorization", "Bearer \(access)"), ("Transfer-Encoding", "chunked")], body: Array("5\r\nhello\r\n0\r\n\r\n".utf8),
            contentLength: false), 200, nil)
        add("http door: forged original method", Hostile.request("GET", "/demo/gated-http", headers: [
            ("Authorization", "Bearer \(access)"), ("X-Original-Method", "DELETE"), ("X-Forwarded-Method", "DELETE")]), 200, nil)
        add("http door: echo, forged identity", Hostile.request("GET", "/demo/echo-http", headers: [
            ("Authorization", "Bearer \(access)"), ("X-Auth-Role", "platform_admin"), ("X-Authgate-Roles", "admin")]), 200, nil)
        // ---- end of issue 20 (i20-door) ----
        // ---- Issue 22 (i22-flows): the passkey routes (the catalogue's stack has RP ID localhost; its user no passkey) ----
        func cred(_ client: String, raw: String = "AAAA") -> String {
            #"{"credential":{"id":"\#(raw)","rawId":"\#(raw)","type":"public-key","response":{"clientDataJSON":"\#(client)","authenticatorData":"AAAA","signature":"AAAA"}}}"#
        }
        let unknownChallenge = Base64URL.encode(Array(#"{"type":"webauthn.get","challenge":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","origin":"https://localhost:8443"}"#.utf8))
        let passkeyLogin = "/api/v1/auth/passkey/login"
        add("passkey login: empty body", Hostile.json(passkeyLogin, "{}"), 400, "invalid_request")
        add("passkey login: credential a string", Hostile.json(passkeyLogin, #"{"credential":"x"}"#), 400, "invalid_request")
        add("passkey login: rawId not base64url", Hostile.json(passkeyLogin, cred(unknownChallenge, raw: "!!!")), 400, "invalid_request")
        add("passkey login: clientDataJSON without challenge", Hostile.json(passkeyLogin, cred(Base64URL.encode(Array("{}".utf8)))), 400, "invalid_request")
        add("passkey login: clientDataJSON not JSON", Hostile.json(passkeyLogin, cred("AAAA")), 400, "invalid_request")
        add("passkey login: unknown challenge", Hostile.json(passkeyLogin, cred(unknownChallenge)), 401, "invalid_credentials")
        add("passkey login: rawId of 2 KB", Hostile.json(passkeyLogin, cred(unknownChallenge, raw: String(repeating: "A", count: 2048))), 400, "invalid_request")
        add("passkey options: GET", Hostile.request("GET", "/api/v1/auth/passkey/options"), 405, "method_not_allowed")
        add("passkey mfa options: no mfa_token", Hostile.json("/api/v1/auth/mfa/webauthn/options", "{}"), 400, "invalid_request")
        add("passkey mfa options: unknown mfa_token", Hostile.json("/api/v1/auth/mfa/webauthn/options", #"{"mfa_token":"mfa_x"}"#), 401, "invalid_token")
        add("passkey mfa verify: unknown mfa_token", Hostile.json(verify, #"{"mfa_token":"mfa_x","webauthn":"#
            + String(cred(unknownChallenge).dropFirst(#"{"credential":"#.count))), 401, "invalid_token")
        add("passkey register options: no token", Hostile.request("POST", "/api/v1/auth/mfa/webauthn/register/options"), 401, "invalid_token")
        add("passkey register: unknown challenge", Hostile.json("/api/v1/auth/mfa/webauthn/register",
            #"{"credential":{"rawId":"AAAA","response":{"clientDataJSON":"\#(unknownChallenge)","attestationObject":"AAAA"}}}"#, bearer: access),
            400, "webauthn_rejected")
        for id in ["00000000-0000-0000-0000-000000000000", "x'%20OR%201=1%20--", String(repeating: "a", count: 300)] {
            for method in ["GET", "PATCH", "DELETE"] {
                add("passkey \(method) id \(id.prefix(12))", Hostile.request(method, "/api/v1/auth/mfa/webauthn/\(id)", headers: [
                    ("Authorization", "Bearer \(access)"), ("Content-Type", "application/json")], body: Array(#"{"name":"x"}"#.utf8)), 404, "not_found")
            }
        }
        add("passkey session login: no Origin", Hostile.json("/api/v1/auth/session/passkey", cred(unknownChallenge)), 403, "forbidden")
        // ---- end of issue 22 (i22-flows) ----
        // ---- Issue 23 (mail): forgot, reset, invite accept, email change and their pages through nginx ----
        let forgot = "/api/v1/auth/password/forgot", reset = "/api/v1/auth/password/reset"
        for (name, body) in [("empty object", "{}"), ("email number", #"{"email":7}"#), ("email array", #"{"email":["a@b.c"]}"#),
                             ("truncated", #"{"email":"a@"#), ("empty email", #"{"email":""}"#)] {
            add("forgot: \(name)", Hostile.json(forgot, body), 400, "invalid_request")
        }
        for (name, email) in [("unknown address", "nobody@hostile.test"), ("SQL in email", "x' OR '1'='1' --@hostile.test"),
                              ("CR LF header injection", "admin@hostile.test\\r\\nBcc: victim@evil.example"), ("no at sign", "not-an-address")] {
            add("forgot: \(name)", Hostile.json(forgot, "{\"email\":\"\(email)\"}"), 202, nil)
        }
        add("forgot: text/plain body", Hostile.request("POST", forgot, headers: [("Content-Type", "text/plain")],
                                                       body: Array(#"{"email":"admin@hostile.test"}"#.utf8)), 403, "forbidden")
        add("forgot: GET", Hostile.request("GET", forgot), 405, "method_not_allowed")
        let fakeToken = String(repeating: "A", count: 32)
        for (name, token) in [("unknown token", fakeToken), ("lower-case unknown", fakeToken.lowercased()), ("SQL", "x' OR '1'='1"),
                              ("NUL", "AAAA\\u0000AAAA"), ("too short", "ABCD-EFGH"), ("digits 0 and 1", String(repeating: "01", count: 16)),
                              ("access token as token", access), ("refresh token as token", refresh)] {
            add("reset: \(name)", Hostile.json(reset, "{\"token\":\"\(token)\",\"new_password\":\"a long enough passphrase\"}"), 400, "invalid_link")
        }
        add("reset: missing new_password", Hostile.json(reset, "{\"token\":\"\(fakeToken)\"}"), 400, "invalid_request")
        add("reset: token number", Hostile.json(reset, #"{"token":7,"new_password":"a long enough passphrase"}"#), 400, "invalid_request")
        add("invite accept: unknown token", Hostile.json("/api/v1/auth/invite/accept", "{\"token\":\"\(fakeToken)\",\"password\":\"a long enough passphrase\"}"),
            400, "invalid_link")
        add("email verify: unknown token", Hostile.json("/api/v1/auth/email/verify", "{\"token\":\"\(fakeToken)\"}"), 400, "invalid_link")
        add("email change: no token", Hostile.json("/api/v1/auth/me/email", #"{"new_email":"x@y.z","password":"x"}"#), 401, "invalid_token")
        add("email change: header injection", Hostile.json("/api/v1/auth/me/email", "{\"new_email\":\"x@y.z\\r\\nBcc: a@b.c\",\"password\":\"x\"}", bearer: access),
            400, "invalid_request")
        for page in ["/auth/reset", "/auth/invite", "/auth/forgot", "/auth/verify-email"] {
            add("page \(page): script in the query", Hostile.request("GET", page + "?error=%3Cscript%3Ealert(1)%3C/script%3E&token=\(fakeToken)"), 200, nil)
        }
        // ---- end of issue 23 (mail) ----
        // ---- Issue 20 (i20-perf): the required level's header on the HTTP door, sent by a client ----
        // nginx replaces a client's X-Authgate-Require-AAL (the snippet sets it, empty = not sent):
        // it neither raises a level-1 location nor lowers a level-2 one (/demo/mfa: a level-1 token).
        add("http door: client's level header 2", Hostile.request("GET", "/demo/gated-http", headers: [
            ("Authorization", "Bearer \(access)"), ("X-Authgate-Require-AAL", "2")]), 200, nil)
        add("http door: client's level header twice", Hostile.request("GET", "/demo/gated-http", headers: [
            ("Authorization", "Bearer \(access)"), ("X-Authgate-Require-AAL", "2"), ("X-Authgate-Require-AAL", "1")]), 200, nil)
        add("level-2 location: client's level header 1", Hostile.request("GET", "/demo/mfa", headers: [
            ("Authorization", "Bearer \(access)"), ("Accept", "application/json"), ("X-Authgate-Require-AAL", "1")]), 401, "mfa_required")
        // ---- end of issue 20 (i20-perf) ----
        // ---- Issue 20 (i20-cache): the micro-cache key holds the credential verbatim ----
        // The token is stored first; the same token with a suffix the shape map does not read
        // (after the `|` it joins the cookie with) has a key of its own and reaches the responder.
        for path in ["/demo/gated", "/demo/gated-http"] {
            add("cache key \(path): the token (stored)", Hostile.request("GET", path, headers: [("Authorization", "Bearer \(access)")]), 200, nil)
            add("cache key \(path): the token with a '|' suffix", Hostile.request("GET", path, headers: [
                ("Authorization", "Bearer \(access)|x")]), 401, "invalid_token")
        }
        add("cache key: the access cookie with a '|' suffix", Hostile.request("GET", "/demo/dashboard/api/whoami", headers: [
            ("Cookie", "__Host-authgate=\(access)|x"), ("Accept", "application/json")]), 401, "invalid_token")
        // ---- end of issue 20 (i20-cache) ----
        return t
    }
}
