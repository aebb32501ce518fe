import Foundation

/// Issue 19 (review findings 3, 4, 8, 9): hostile requests at a browser location and at the
/// cookie-session routes, through nginx with the micro-cache on. Each unsafe-method pair sends
/// the allowed same-origin request first, so a cached allow would show as a 200 on the next.
/// No case renews with the catalogue's live refresh token (the table's other cases use its session).
extension HostileCatalogue {
    static func browserGateCases(access: String, tenantID: String) -> [HostileCase] {
        var t: [HostileCase] = []
        func add(_ name: String, _ raw: [UInt8], _ status: Int, _ code: String?) { t.append(.init(name: name, raw: raw, status: status, code: code)) }
        let cookie = ("Cookie", "__Host-authgate=\(access)")
        let json = ("Accept", "application/json")
        let site = "https://localhost"
        for method in ["POST", "PUT", "PATCH", "DELETE"] {
            add("browser \(method): same origin", Hostile.request(method, "/demo/dashboard/a", headers: [cookie, json, ("Origin", site)], body: []), 200, nil)
            for (what, extra) in [("other origin", [("Origin", "https://evil.example")]), ("null origin", [("Origin", "null")]),
                                  ("plain-HTTP origin", [("Origin", "http://localhost")]), ("suffix origin", [("Origin", "https://localhost.evil.example")]),
                                  ("cross-site fetch", [("Sec-Fetch-Site", "cross-site")]), ("same-site fetch", [("Sec-Fetch-Site", "same-site")]),
                                  ("no origin", [])] {
                add("browser \(method) after a cached allow: \(what)", Hostile.request(method, "/demo/dashboard/b", headers: [cookie, json] + extra, body: []), 403, "forbidden")
            }
        }
        add("browser GET: access cookie", Hostile.request("GET", "/demo/dashboard/", headers: [cookie, json]), 200, nil)
        add("browser HEAD: access cookie", Hostile.request("HEAD", "/demo/dashboard/", headers: [cookie, json]), 200, nil)
        add("browser GET: other tenant", Hostile.request("GET", "/demo/dashboard/?tenant_id=\(UUID().uuidString.lowercased())", headers: [cookie, json]), 403, "forbidden")
        add("browser GET: own tenant", Hostile.request("GET", "/demo/dashboard/?tenant_id=\(tenantID)", headers: [cookie, json]), 200, nil)
        for (i, refresh) in ["", "v1.", "v1." + String(repeating: "A", count: 75), "garbage", access].enumerated() {
            add("browser GET: bad refresh cookie \(i)", Hostile.request("GET", "/demo/dashboard/", headers: [("Cookie", "__Host-authgate-refresh=\(refresh)"), json]), 401, "invalid_token")
        }
        add("browser GET: bad access, bad refresh", Hostile.request("GET", "/demo/dashboard/", headers: [
            ("Cookie", "__Host-authgate=eyJhbGciOiJIUzI1NiJ9.e30.x; __Host-authgate-refresh=v1.x"), json]), 401, "invalid_token")
        // An unknown email: the catalogue's admin is near its lockout threshold already.
        let login = Array(#"{"email":"nobody@hostile.test","password":"wrong password 123"}"#.utf8)
        for (what, headers) in [("other origin", [("Origin", "https://evil.example"), ("Content-Type", "application/json")]),
                                ("no origin", [("Content-Type", "application/json")]),
                                ("text/plain", [("Origin", site), ("Content-Type", "text/plain")]),
                                ("multipart", [("Origin", site), ("Content-Type", "multipart/form-data; boundary=x")])] {
            add("session login: \(what)", Hostile.request("POST", "/api/v1/auth/session", headers: headers, body: login), 403, "forbidden")
            add("session renew: \(what)", Hostile.request("POST", "/api/v1/auth/session/renew", headers: headers + [cookie], body: []), 403, "forbidden")
        }
        add("session login: unknown email", Hostile.request("POST", "/api/v1/auth/session", headers: [("Origin", site), ("Content-Type", "application/json")], body: login),
            401, "invalid_credentials")
        add("session password: no cookie", Hostile.request("POST", "/api/v1/auth/session/password", headers: [("Origin", site), ("Content-Type", "application/json")],
                                                           body: Array(#"{"current_password":"a","new_password":"b"}"#.utf8)), 401, "invalid_token")
        return t
    }
}
