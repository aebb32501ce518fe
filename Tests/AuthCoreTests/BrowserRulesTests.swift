import AuthCrypto
import Foundation
import Testing
@testable import AuthCore
@testable import AuthWS

/// Issue 13, in process: return_to, cookie parsing, CORS, the CSRF rule, cookie verify.
@Suite("Browser rules")
struct BrowserRulesTests {
    @Test(arguments: [
        "//evil.example", "//evil.example/x", "/\\evil.example", "\\\\evil.example", "\\/evil.example",
        "https://evil.example", "http:/evil.example", "javascript:alert(1)", "evil.example", "",
        "/%2F%2Fevil.example", "/%2f/evil.example", "/%5Cevil.example", "%2F%2Fevil.example",
        "/%252F%252Fevil.example", "/%25252F%25252Fevil.example", "/\t/evil.example", "/\n/evil.example",
        "/ /evil.example", " /x", "/x\r\nSet-Cookie: a=b", "/%0d%0aSet-Cookie:a=b", "/%00", "/caf\u{e9}",
        "/%", "/%zz", "/%E2%82", "/%2525252525252F",
    ])
    func returnToRefuses(_ target: String) {
        #expect(ReturnTo.validate(target) == nil, "\(target.debugDescription)")
    }

    @Test(arguments: ["/", "/demo/dashboard/", "/app?a=1&b=%20", "/%E2%82%AC", "/a//b", "/a/%2F/b", "/@evil.example", "/.well-known/x"])
    func returnToKeeps(_ target: String) {
        #expect(ReturnTo.validate(target) == target)
    }

    @Test func returnToEncodesForAQueryValue() {
        #expect(ReturnTo.encode("/a b?x=1&y=/") == "/a%20b%3Fx%3D1%26y%3D/")
        #expect(ReturnTo.validate(Query.decode(Substring(ReturnTo.encode("/a?x=1&y=2")))) == "/a?x=1&y=2")
    }

    @Test func cookieValueFirstWinsAndPrefixesDoNotMatch() {
        let h = "other=1; __Host-authgate-refresh=r1; __Host-authgate=a1; __Host-authgate=a2"
        #expect(Cookies.value("__Host-authgate", in: h) == "a1")
        #expect(Cookies.value("__Host-authgate-refresh", in: h) == "r1")
        #expect(Cookies.value("authgate", in: h) == nil && Cookies.value("x", in: nil) == nil)
        #expect(Cookies.value("a", in: "a=") == nil)
        #expect(Cookies.removing(["__Host-authgate", "__Host-authgate-refresh"], from: h) == "other=1")
        #expect(Cookies.removing(["__Host-authgate"], from: "__Host-authgate=x") == nil)
    }

    @Test func settingsRefuseBadNamesAndOrigins() {
        #expect(throws: ConfigError.self) { try BrowserSettings(environment: ["AUTH_COOKIE_NAME": "a;b"]) }
        #expect(throws: ConfigError.self) { try BrowserSettings(environment: ["AUTH_CORS_ORIGINS": "*"]) }
        #expect(throws: ConfigError.self) { try BrowserSettings(environment: ["AUTH_CORS_ORIGINS": "https://a.example/path"]) }
        #expect(throws: ConfigError.self) {
            try BrowserSettings(environment: ["AUTH_COOKIE_NAME": "same", "AUTH_REFRESH_COOKIE_NAME": "same"])
        }
        let ok = try? BrowserSettings(environment: ["AUTH_CORS_ORIGINS": "https://a.example https://b.example:8443"])
        #expect(ok?.corsOrigins == ["https://a.example", "https://b.example:8443"])
    }

    @Test func sameOriginRule() {
        let o = Origins(try! BrowserSettings(environment: ["AUTH_CORS_ORIGINS": "https://app.example"]))
        #expect(o.allowsCookieWrite(origin: "https://auth.example", secFetchSite: nil, host: "auth.example"))
        #expect(o.allowsCookieWrite(origin: "https://app.example", secFetchSite: "cross-site", host: "auth.example"))
        #expect(!o.allowsCookieWrite(origin: "https://evil.example", secFetchSite: "same-origin", host: "auth.example"))
        #expect(!o.allowsCookieWrite(origin: "http://auth.example", secFetchSite: nil, host: "auth.example"))
        #expect(!o.allowsCookieWrite(origin: "null", secFetchSite: nil, host: "auth.example"))
        // Issue 21: Chromium's plain form post from a no-referrer page (Origin: null) is judged by
        // Sec-Fetch-Site; an opaque page of another site says cross-site there.
        #expect(o.allowsCookieWrite(origin: "null", secFetchSite: "same-origin", host: "auth.example"))
        #expect(!o.allowsCookieWrite(origin: "null", secFetchSite: "cross-site", host: "auth.example"))
        #expect(!o.allowsCookieWrite(origin: "null", secFetchSite: "same-site", host: "auth.example"))
        #expect(o.allowsCookieWrite(origin: nil, secFetchSite: "same-origin", host: "auth.example"))
        #expect(!o.allowsCookieWrite(origin: nil, secFetchSite: "same-site", host: "auth.example"))
        #expect(!o.allowsCookieWrite(origin: nil, secFetchSite: nil, host: "auth.example"))
        #expect(!o.allowsUpgrade(origin: nil, host: "auth.example"))
        #expect(o.allowsUpgrade(origin: "https://auth.example:8443", host: "auth.example:8443"))
    }

    @Test func corsOnlyForListedOriginsNeverStar() throws {
        let h = try APIHarness(env: ["AUTH_CORS_ORIGINS": "https://app.example"])
        let pre = h.call("OPTIONS", "/api/v1/auth/me", headers: [
            "origin": "https://app.example", "access-control-request-method": "GET",
            "access-control-request-headers": "authorization"]).response
        #expect(pre.status == 204 && pre.header("access-control-allow-origin") == "https://app.example")
        #expect(pre.header("access-control-allow-credentials") == "true" && pre.header("vary") == "Origin")
        let unlisted = h.call("OPTIONS", "/api/v1/auth/me", headers: [
            "origin": "https://evil.example", "access-control-request-method": "GET"]).response
        #expect(unlisted.status == 403 && unlisted.header("access-control-allow-origin") == nil)
        let get = h.call("GET", "/api/v1/health", headers: ["origin": "https://app.example"]).response
        #expect(get.header("access-control-allow-origin") == "https://app.example" && get.header("vary") == "Origin")
        let other = h.call("GET", "/api/v1/health", headers: ["origin": "https://evil.example"]).response
        #expect(other.header("access-control-allow-origin") == nil && other.header("vary") == "Origin")
        // Default: no CORS at all.
        let plain = try APIHarness()
        let none = plain.call("GET", "/api/v1/health", headers: ["origin": "https://app.example"]).response
        #expect(none.header("access-control-allow-origin") == nil && none.header("vary") == nil)
        #expect(!(pre.headers + get.headers).contains { $0.1 == "*" })
    }

    @Test func cookieVerifyNeedsTheBrowserKindAndRenews() throws {
        let h = try APIHarness(env: ["AUTH_REFRESH_REUSE_SECONDS": "10"])
        let t = try h.tenant("demo.local")
        try h.user("alice@demo.local", tenant: t)
        let login = h.call("POST", "/api/v1/auth/session", json: #"{"email":"alice@demo.local","password":"correct horse battery"}"#,
                           headers: ["origin": "https://auth.example", "host": "auth.example"]).response
        #expect(login.status == 200)
        let set = login.headers.filter { $0.0 == "Set-Cookie" }.map { $0.1.split(separator: ";")[0] }
        #expect(set.count == 2)
        let jar = set.joined(separator: "; ")
        let refresh = String(set[1])
        let browser = GatePolicy(kinds: [.user, .browser])
        let ok = h.call("GET", "/app", headers: ["cookie": jar], verify: browser).response
        #expect(ok.status == 204 && ok.header("x-auth-email") == "alice@demo.local" && ok.header("x-auth-set-cookie") == nil)
        #expect(h.call("GET", "/app", headers: ["cookie": jar], verify: GatePolicy()).status == 401)
        let away = h.call("GET", "/app?x=1", verify: browser).response
        #expect(away.status == 401 && away.header("x-auth-login") == "/auth/login?return_to=/app%3Fx%3D1")
        #expect(h.call("GET", "/app", headers: ["accept": "application/json"], verify: browser).response.header("x-auth-login") == nil)
        // Only the refresh cookie: renewed, never cached.
        let renewed = h.call("GET", "/app", headers: ["cookie": refresh], verify: browser).response
        #expect(renewed.status == 204 && renewed.header("x-accel-expires") == "0")
        #expect(renewed.header("x-auth-set-cookie")?.hasPrefix("__Host-authgate=eyJ") == true)
        #expect(renewed.header("x-auth-set-refresh-cookie")?.contains("SameSite=Strict") == true)
        // Unsafe method from another site: 403.
        let post = h.call("POST", "/app", headers: ["cookie": jar, "origin": "https://evil.example", "host": "auth.example"],
                          verify: browser).response
        #expect(post.status == 403)
    }
}

@Suite("Browser rules: companion")
struct BrowserCompanionRulesTests {
    @Test func forwardedUpgradeDropsAuthgateCookies() {
        var p = HTTPUpgradeParser()
        let text = "GET /ws/agent HTTP/1.1\r\nHost: x\r\nCookie: theme=dark; __Host-authgate=a.b.c; __Host-authgate-refresh=v1.x\r\n\r\n"
        guard case let .complete(head, _) = p.feed(Array(text.utf8)) else {
            Issue.record("not complete")
            return
        }
        let id = WSIdentity(userID: "u1", tenantID: "t1", role: "agent", email: "a@b.c", sessionID: "s1", iat: 0, exp: 0)
        let out = String(decoding: Companion.forwardedRequest(head, path: "/ws/agent", query: "", identity: id,
                                                              dropCookies: ["__Host-authgate", "__Host-authgate-refresh"]),
                         as: UTF8.self)
        #expect(out.contains("Cookie: theme=dark\r\n") && !out.contains("a.b.c") && !out.contains("v1.x"))
    }
}
