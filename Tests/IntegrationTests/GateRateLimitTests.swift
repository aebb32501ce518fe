import Foundation
import Testing
import TestSupport

/// Issue 19 item 6, review finding 4: every route that hashes a password is rate limited
/// whatever front end serves it: nginx's snippets without authgate-browser.conf (the README's
/// install), and the responder's own AUTH_RATE_LIMIT behind nginx, Apache and lighttpd.
@Suite("Gate: rate limits on every password route, whatever the front end")
struct GateRateLimitTests {
    static let form = Array("email=nobody%40x.test&password=wrong+wrong+wrong".utf8)

    /// The review's repro: the install layout (errors, api and verify snippets only), nginx's limit
    /// lowered to 1r/s burst=5 so that a slow machine's loop still crosses it; the responder's own
    /// limit is out of the way here.
    @Test func sessionRoutesAreLimitedWithoutTheBrowserSnippet() throws {
        var options = Stack.Options()
        options.browserSnippet = false
        options.companion = false
        options.environment = ["AUTH_LOGIN_RATE": "1r/s", "AUTH_LOGIN_BURST": "5"]
        try Stack.with(options) { stack in
            _ = try stack.makeTenant("demo.local")
            var locations: [String: Int] = [:]
            for _ in 0..<60 {
                let r = try stack.client.request("POST", "/api/v1/auth/session", headers: [
                    "Origin": stack.baseURL, "Content-Type": "application/x-www-form-urlencoded"], body: Self.form)
                locations["\(r.status) \(r.header("location") ?? "")", default: 0] += 1
            }
            print("60 form logins without authgate-browser.conf, nginx at 1r/s burst=5: \(locations)")
            #expect(locations.keys.contains { $0.hasSuffix("error=rate_limited") }, "\(locations)")
            for (path, body) in [("/api/v1/auth/session", #"{"email":"nobody@x.test","password":"wrong wrong wrong"}"#),
                                 ("/api/v1/auth/session/renew", "{}"),
                                 ("/api/v1/auth/session/password", #"{"current_password":"a","new_password":"b"}"#),
                                 // Issue 21: the second factor's code routes.
                                 ("/api/v1/auth/mfa/verify", #"{"mfa_token":"mfa_x","code":"123456"}"#),
                                 ("/api/v1/auth/mfa/totp/confirm", #"{"factor_id":"x","code":"123456"}"#)] {
                let answers = try (0..<20).map { _ in
                    try stack.client.request("POST", path, headers: ["Origin": stack.baseURL, "Content-Type": "application/json"],
                                             body: Array(body.utf8))
                }
                let limited = answers.filter { $0.status == 429 || $0.header("location")?.hasSuffix("error=rate_limited") == true }
                print("\(path): \(answers.map(\.status))")
                #expect(!limited.isEmpty && limited.allSatisfy { $0.header("retry-after") != nil }, "\(path): \(answers.map(\.status))")
            }
        }
    }

    /// The responder's own limit behind a lax nginx, in both profiles: 429 `rate_limited` with
    /// Retry-After in the profile's envelope; the plain form gets its page with the message.
    @Test(arguments: ["2signal", "get2dial"])
    func theResponderLimitsByItself(_ profile: String) throws {
        var options = Stack.Options()
        options.profile = profile
        options.companion = false
        options.environment = ["AUTH_RATE_LIMIT": "1r/m burst=3"]
        try Stack.with(options) { stack in
            _ = try stack.makeTenant("demo.local")
            let answers = try (0..<12).map { _ in
                try stack.client.request("POST", "/api/v1/auth/login", headers: ["Content-Type": "application/json"],
                                         body: Array(#"{"email":"nobody@x.test","password":"wrong wrong wrong"}"#.utf8))
            }
            print("\(profile): 12 logins at AUTH_RATE_LIMIT=1r/m burst=3: \(answers.map(\.status))")
            let limited = answers.filter { $0.status == 429 }
            #expect(limited.count == 8, "\(answers.map(\.status))")   // 4 in the bucket (burst + 1), none refilled within a minute
            for r in limited {
                #expect(r.errorCode == "rate_limited" && Int(r.header("retry-after") ?? "") ?? 0 >= 1, "\(r.text) \(r.headerList)")
                if profile == "get2dial" { #expect(r.json["status"] as? String == "error") } else { #expect(r.json.keys.contains("data")) }
            }
            let page = try stack.client.request("POST", "/api/v1/auth/session", headers: [
                "Origin": stack.baseURL, "Content-Type": "application/x-www-form-urlencoded"], body: Self.form)
            #expect(page.status == 303 && page.header("location") == "/auth/login?error=rate_limited"
                    && page.header("retry-after") != nil, "\(page.status) \(page.headerList)")
            // Issue 21: the second factor's code guesses too (each also counts toward the lockout),
            // sent at once (the bucket, 1r/m burst=3, is empty by now: all of them are limited).
            let guess = try stack.postRequest("/api/v1/auth/mfa/verify", json: ["mfa_token": "mfa_x", "code": "123456"])
            let codes = try stack.client.parallel(Array(repeating: guess, count: 12)).map(\.status)
            print("\(profile): 12 concurrent code guesses at AUTH_RATE_LIMIT=1r/m burst=3: \(codes)")
            #expect(codes.filter { $0 == 429 }.count == 12, "\(codes)")
        }
    }

    /// Apache and lighttpd have no limit_req: the responder's limit covers them.
    @Test(arguments: WebServerKind.allCases.filter(WebServerFixture.available))
    func apacheAndLighttpdAreCovered(_ kind: WebServerKind) throws {
        try WebServerFixture.with(kind, environment: ["AUTH_RATE_LIMIT": "1r/m burst=3"]) { f in
            let statuses = try (0..<12).map { _ in
                try f.post("/api/v1/auth/login", json: ["email": "nobody@x.test", "password": "wrong wrong wrong"]).status
            }
            print("\(kind): 12 logins at AUTH_RATE_LIMIT=1r/m burst=3: \(statuses)")
            #expect(statuses.filter { $0 == 429 }.count == 8, "\(statuses)")
            let session = try f.request("POST", "/api/v1/auth/session", headers: [
                "Origin": "https://127.0.0.1:\(f.port)", "Content-Type": "application/json"],
                body: Array(#"{"email":"nobody@x.test","password":"wrong wrong wrong"}"#.utf8))
            #expect(session.status == 429 && session.errorCode == "rate_limited", "\(session.status) \(session.text)")
        }
    }
}
