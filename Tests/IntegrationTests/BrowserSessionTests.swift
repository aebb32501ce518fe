import Foundation
import Testing
import TestSupport

/// Issue 13 through nginx with curl: cookie login (form and JSON), the cookie gate and its
/// redirect, silent renewal with the reuse window, must_change_password, logout, CSRF.
@Suite("Browser: cookie sessions through nginx")
struct BrowserSessionTests {
    static func form(_ pairs: [(String, String)]) -> [UInt8] {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        return Array(pairs.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed)!)" }
            .joined(separator: "&").utf8)
    }

    static func cookies(_ r: HTTPSResult) -> [String: String] {
        var out: [String: String] = [:]
        for line in r.headers("set-cookie") {
            let pair = line.split(separator: ";")[0]
            let eq = pair.firstIndex(of: "=")!
            out[String(pair[..<eq])] = String(pair[pair.index(after: eq)...])
        }
        return out
    }

    static func cookieHeader(_ c: [String: String]) -> String {
        c.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")
    }

    func signIn(_ stack: Stack, _ email: String, returnTo: String = "/demo/dashboard/") throws -> HTTPSResult {
        try stack.client.request("POST", "/api/v1/auth/session", headers: [
            "Origin": stack.baseURL, "Content-Type": "application/x-www-form-urlencoded"],
            body: Self.form([("email", email), ("password", GateFixture.password), ("return_to", returnTo)]))
    }

    @Test func formLoginCookiesGateRedirectAndLogout() throws {
        try Stack.with { stack in
            _ = try stack.makeTenant("demo.local")
            _ = try stack.makeUser("alice@demo.local", tenant: "demo.local")
            let origin = stack.baseURL

            // No cookie: a page load is sent to the login page; a script gets the JSON 401.
            let away = try stack.client.get("/demo/dashboard/?tab=1&x=%2F")
            #expect(away.status == 302 && away.header("location")?.hasSuffix("/auth/login?return_to=/demo/dashboard/%3Ftab%3D1%26x%3D%252F") == true,
                    "\(away.status) \(away.header("location") ?? "")")
            for h in [["Accept": "application/json"], ["X-Requested-With": "XMLHttpRequest"], ["Sec-Fetch-Mode": "cors"]] {
                let xhr = try stack.client.get("/demo/dashboard/", headers: h)
                #expect(xhr.status == 401 && xhr.errorCode == "invalid_token", "\(h): \(xhr.status) \(xhr.text)")
            }
            let page = try stack.client.get("/auth/login?return_to=/demo/dashboard/")
            #expect(page.status == 200 && page.text.contains(#"value="/demo/dashboard/""#) && page.text.contains("<label for=\"email\">"))
            #expect(page.header("content-security-policy")?.contains("default-src 'none'") == true)

            // Wrong password without JavaScript: 303 back to the page with the error code, no cookie.
            let wrong = try stack.client.request("POST", "/api/v1/auth/session", headers: [
                "Origin": origin, "Content-Type": "application/x-www-form-urlencoded"],
                body: Self.form([("email", "alice@demo.local"), ("password", "nope nope nope"), ("return_to", "/demo/dashboard/")]))
            #expect(wrong.status == 303 && wrong.header("location") == "/auth/login?error=invalid_credentials&return_to=/demo/dashboard/")
            #expect(wrong.headers("set-cookie").isEmpty)
            let shown = try stack.client.get("/auth/login?error=invalid_credentials")
            #expect(shown.text.contains("Wrong email or password"))

            // The right one: 303 to return_to with both cookies and their flags.
            let ok = try signIn(stack, "alice@demo.local")
            #expect(ok.status == 303 && ok.header("location") == "/demo/dashboard/", "\(ok.status) \(ok.text)")
            let lines = ok.headers("set-cookie")
            #expect(lines.contains { $0.hasPrefix("__Host-authgate=eyJ") && $0.contains("; Path=/; Max-Age=3600; Secure; HttpOnly; SameSite=Lax") }, "\(lines)")
            #expect(lines.contains { $0.hasPrefix("__Host-authgate-refresh=v1.") && $0.contains("Secure; HttpOnly; SameSite=Strict") }, "\(lines)")
            let jar = Self.cookies(ok)

            // The cookie passes the browser gate with the identity headers; twice (the micro-cache).
            for _ in 0..<2 {
                let dash = try stack.client.get("/demo/dashboard/api/whoami", headers: ["Cookie": Self.cookieHeader(jar)])
                #expect(dash.status == 200 && dash.echoedHeaders["x-auth-email"] == "alice@demo.local", "\(dash.status) \(dash.text)")
            }
            // A bearer-only location does not take the cookie.
            let bearerOnly = try stack.client.get("/demo/echo", headers: ["Cookie": Self.cookieHeader(jar)])
            #expect(bearerOnly.status == 401)

            // A cookie-authenticated state change from another site is refused at the gate.
            let csrf = try stack.client.request("POST", "/demo/dashboard/api/do", headers: [
                "Cookie": Self.cookieHeader(jar), "Origin": "https://evil.example", "Accept": "application/json"], body: [])
            #expect(csrf.status == 403, "\(csrf.status)")
            let sameSite = try stack.client.request("POST", "/demo/dashboard/api/do", headers: [
                "Cookie": Self.cookieHeader(jar), "Origin": origin], body: [])
            #expect(sameSite.status == 200, "\(sameSite.status)")

            // Logout: GET only asks; a cross-site POST is refused; the real one revokes and clears.
            let ask = try stack.client.get("/auth/logout", headers: ["Cookie": Self.cookieHeader(jar)])
            #expect(ask.status == 200 && ask.text.contains(#"action="/api/v1/auth/session/logout""#))
            let evil = try stack.client.request("POST", "/api/v1/auth/session/logout", headers: [
                "Cookie": Self.cookieHeader(jar), "Origin": "https://evil.example",
                "Content-Type": "application/x-www-form-urlencoded"], body: [])
            #expect(evil.status == 403 && evil.errorCode == "forbidden")
            #expect(try stack.client.get("/demo/dashboard/", headers: ["Cookie": Self.cookieHeader(jar)]).status == 200)
            let out = try stack.client.request("POST", "/api/v1/auth/session/logout", headers: [
                "Cookie": Self.cookieHeader(jar), "Sec-Fetch-Site": "same-origin",
                "Content-Type": "application/x-www-form-urlencoded"], body: [])
            #expect(out.status == 303 && out.header("location") == "/auth/login?logged_out=1")
            #expect(out.headers("set-cookie").filter { $0.contains("Max-Age=0") }.count == 2)
            // A cached allow lives to the next second boundary at most (AUTH_VERIFY_CACHE_SECONDS).
            try waitFor("the revoked cookie to be refused at the gate (micro-cache <= 1 s)", timeout: 3) {
                try stack.client.get("/demo/dashboard/", headers: ["Cookie": Self.cookieHeader(jar)]).status == 302
            }
        }
    }

    @Test func jsonLoginCSRFRulesAndReturnTo() throws {
        try Stack.with { stack in
            _ = try stack.makeTenant("demo.local")
            _ = try stack.makeUser("alice@demo.local", tenant: "demo.local")
            let json = Array(#"{"email":"alice@demo.local","password":"\#(GateFixture.password)","return_to":"/x"}"#.utf8)
            let good = try stack.client.request("POST", "/api/v1/auth/session", headers: [
                "Origin": stack.baseURL, "Content-Type": "application/json"], body: json)
            #expect(good.status == 200 && good.data["redirect_to"] as? String == "/x" && good.data["access_token"] == nil, "\(good.text)")
            #expect(Self.cookies(good).count == 2)
            // CSRF: no Origin and no Sec-Fetch-Site, another origin, a text/plain body: 403.
            for (headers, why) in [(["Content-Type": "application/json"], "no origin"),
                                   (["Origin": "https://evil.example", "Content-Type": "application/json"], "other origin"),
                                   (["Sec-Fetch-Site": "cross-site", "Content-Type": "application/json"], "cross-site"),
                                   (["Origin": "null", "Content-Type": "application/json"], "null origin"),
                                   (["Origin": stack.baseURL, "Content-Type": "text/plain"], "text/plain")] {
                let r = try stack.client.request("POST", "/api/v1/auth/session", headers: headers, body: json)
                #expect(r.status == 403 && r.errorCode == "forbidden", "\(why): \(r.status) \(r.text)")
            }
            // Open-redirect bypasses all end at "/".
            let bad = ["//evil.example/", "/\\evil.example", "\\\\evil.example", "https://evil.example/", "/%2F%2Fevil.example",
                       "/%5Cevil.example", "/%252F%252Fevil.example", "%2F%2Fevil.example", "/\t/evil.example",
                       "javascript:alert(1)", "/%0d%0aLocation:%20https://evil.example", " /x", "//%09/evil.example"]
            for target in bad {
                let r = try signIn(stack, "alice@demo.local", returnTo: target)
                #expect(r.status == 303 && r.header("location") == "/", "\(target) -> \(r.header("location") ?? "")")
            }
            let kept = try signIn(stack, "alice@demo.local", returnTo: "/app/page?a=1&b=%20")
            #expect(kept.header("location") == "/app/page?a=1&b=%20")
        }
    }

    @Test func rateLimitedFormLoginShowsItsMessage() throws {
        var options = Stack.Options()
        options.environment["AUTH_LOGIN_RATE"] = "1r/s"
        options.environment["AUTH_LOGIN_BURST"] = "1"
        try Stack.with(options) { stack in
            _ = try stack.makeTenant("demo.local")
            _ = try stack.makeUser("alice@demo.local", tenant: "demo.local")
            let answers = try (0..<4).map { _ in try signIn(stack, "alice@demo.local") }
            let limited = answers.filter { $0.header("location")?.hasSuffix("/auth/login?error=rate_limited") == true }
            #expect(!limited.isEmpty && limited.allSatisfy { $0.status == 303 }, "\(answers.map { $0.header("location") ?? "" })")
            let page = try stack.client.get("/auth/login?error=rate_limited")
            #expect(page.text.contains("Too many sign-in attempts") && page.text.contains(#"role="alert""#))
        }
    }

    @Test func silentRenewalRotatesWithTheReuseWindow() throws {
        var options = Stack.Options()
        options.environment = ["AUTH_REFRESH_REUSE_SECONDS": "1"]
        try Stack.with(options) { stack in
            _ = try stack.makeTenant("demo.local")
            _ = try stack.makeUser("alice@demo.local", tenant: "demo.local")
            let jar = Self.cookies(try signIn(stack, "alice@demo.local"))
            let oldRefresh = try #require(jar["__Host-authgate-refresh"])
            // The browser dropped the expired access cookie: the refresh cookie alone renews.
            let renew = try stack.client.get("/demo/dashboard/", headers: ["Cookie": "__Host-authgate-refresh=\(oldRefresh)"])
            #expect(renew.status == 200, "\(renew.status)")
            let renewed = Self.cookies(renew)
            #expect(renewed["__Host-authgate"]?.hasPrefix("eyJ") == true && renewed["__Host-authgate-refresh"] != oldRefresh, "\(renew.headerList)")
            // A second tab racing with the old refresh cookie within the window: served, same pair.
            let tab = try stack.client.get("/demo/dashboard/", headers: ["Cookie": "__Host-authgate-refresh=\(oldRefresh)"])
            #expect(tab.status == 200 && Self.cookies(tab)["__Host-authgate-refresh"] == renewed["__Host-authgate-refresh"])
            // Past the window the old refresh token is dead, and presenting it ends the session.
            let rotatedAt = Date()
            try waitFor("the refresh reuse window (1 s) to pass", timeout: 5) { Date().timeIntervalSince(rotatedAt) > 2.1 }
            let replay = try stack.client.get("/demo/dashboard/", headers: ["Cookie": "__Host-authgate-refresh=\(oldRefresh)", "Accept": "application/json"])
            #expect(replay.status == 401)
            let current = try stack.client.get("/demo/dashboard/", headers: ["Cookie": Self.cookieHeader(renewed), "Accept": "application/json"])
            #expect(current.status == 401, "reuse revokes the whole session: \(current.status)")
        }
    }

    @Test func mustChangePasswordGoesToThePasswordPage() throws {
        try Stack.with { stack in
            _ = try stack.makeTenant("demo.local")
            _ = try stack.cliOK(["user", "create", "--tenant", "demo.local", "--email", "new@demo.local", "--role", "agent",
                                 "--password-stdin", "--must-change-password"], stdin: GateFixture.password + "\n")
            let login = try signIn(stack, "new@demo.local")
            #expect(login.status == 303 && login.header("location") == "/auth/password?return_to=/demo/dashboard/", "\(login.header("location") ?? "")")
            let jar = Self.cookies(login)
            let gated = try stack.client.get("/demo/dashboard/", headers: ["Cookie": Self.cookieHeader(jar)])
            #expect(gated.status == 302 && gated.header("location")?.hasSuffix("/auth/password?return_to=/demo/dashboard/") == true)
            let page = try stack.client.get("/auth/password?return_to=/demo/dashboard/", headers: ["Cookie": Self.cookieHeader(jar)])
            #expect(page.status == 200 && page.text.contains("new_password"))
            let change = try stack.client.request("POST", "/api/v1/auth/session/password", headers: [
                "Cookie": Self.cookieHeader(jar), "Origin": stack.baseURL, "Content-Type": "application/x-www-form-urlencoded"],
                body: Self.form([("current_password", GateFixture.password), ("new_password", "a brand new passphrase 42"),
                                 ("return_to", "/demo/dashboard/")]))
            #expect(change.status == 303 && change.header("location") == "/demo/dashboard/", "\(change.status) \(change.header("location") ?? "")")
            let now = try stack.client.get("/demo/dashboard/", headers: ["Cookie": Self.cookieHeader(jar)])
            #expect(now.status == 200, "\(now.status)")
        }
    }
}
