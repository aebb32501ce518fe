import AuthCrypto
import Foundation
import Testing
@testable import AuthCore

/// Issue 19 items 5 and 6 in process: which cookie allows nginx may cache, silent renewal's
/// order (revoked set, one attempt a second per session, the policy before any write), and the
/// plain-HTTP origins refused in the settings.
@Suite("Browser rules: renewal and caching hardened")
struct BrowserRenewalRulesTests {
    static let browser = GatePolicy(kinds: [.user, .browser])
    static let site = ["origin": "https://auth.example", "host": "auth.example"]

    /// Logs in by cookie; returns (access cookie pair, refresh cookie pair, session id).
    func cookieLogin(_ h: APIHarness, _ email: String) throws -> (access: String, refresh: String, session: String) {
        let login = h.call("POST", "/api/v1/auth/session", json: #"{"email":"\#(email)","password":"correct horse battery"}"#,
                           headers: Self.site).response
        try #require(login.status == 200)
        let set = login.headers.filter { $0.0 == "Set-Cookie" }.map { String($0.1.split(separator: ";")[0]) }
        let refresh = set[1]
        let sid = try #require(RefreshToken.parse(String(refresh.split(separator: "=", maxSplits: 1)[1]), ring: h.app.keys.current)?.sessionID)
        return (set[0], refresh, sid)
    }

    func counter(_ h: APIHarness, _ sid: String) throws -> Int64 { try #require(try h.db.sessions.byID(sid)).counter }

    @Test func onlyGetAndHeadAllowsMayBeCached() throws {
        let h = try APIHarness()
        try h.user("alice@demo.local", tenant: try h.tenant("demo.local"))
        let c = try cookieLogin(h, "alice@demo.local")
        for method in ["GET", "HEAD"] {
            let r = h.call(method, "/app", headers: ["cookie": c.access], verify: Self.browser).response
            #expect(r.status == 204 && r.header("x-accel-expires")?.hasPrefix("@") == true, "\(method)")
        }
        for method in ["POST", "PUT", "PATCH", "DELETE"] {
            let r = h.call(method, "/app", headers: Self.site.merging(["cookie": c.access]) { $1 }, verify: Self.browser).response
            #expect(r.status == 204 && r.header("x-accel-expires") == "0", "\(method): \(r.headers)")
        }
    }

    @Test func aPolicyDenialNeverRotates() throws {
        let h = try APIHarness()
        let demo = try h.tenant("demo.local"), other = try h.tenant("other.local")
        try h.user("alice@demo.local", tenant: demo)
        try h.user("pat@demo.local", tenant: demo, mustChange: true)
        let alice = try cookieLogin(h, "alice@demo.local")
        let before = try counter(h, alice.session)
        let admins = GatePolicy(kinds: [.user, .browser], roles: ["admin"])
        let denials: [(String, GatePolicy, String)] = [
            ("/app", admins, "forbidden"), ("/app?tenant_id=\(other.id)", Self.browser, "forbidden"),
        ]
        for (target, policy, code) in denials {
            let r = h.call("GET", target, headers: ["cookie": alice.refresh], verify: policy).response
            #expect(r.status == 403 && r.header("x-auth-error") == code && r.header("x-auth-set-cookie") == nil, "\(target): \(r.headers)")
        }
        #expect(try counter(h, alice.session) == before, "a denial rotated the session")
        // The same refresh cookie at a location that admits alice, right after: renewed.
        let allowed = h.call("GET", "/app", headers: ["cookie": alice.refresh], verify: Self.browser).response
        #expect(allowed.status == 204 && allowed.header("x-auth-set-cookie") != nil, "\(allowed.headers)")
        #expect(try counter(h, alice.session) == before + 1)
        let pat = try cookieLogin(h, "pat@demo.local")
        let patBefore = try counter(h, pat.session)
        let pending = h.call("GET", "/app", headers: ["cookie": pat.refresh], verify: Self.browser).response
        #expect(pending.status == 403 && pending.header("x-auth-error") == "password_change_required")
        #expect(try counter(h, pat.session) == patBefore)
    }

    @Test func aRevokedSessionIsRefusedFromMemory() throws {
        let h = try APIHarness()
        try h.user("alice@demo.local", tenant: try h.tenant("demo.local"))
        let c = try cookieLogin(h, "alice@demo.local")
        #expect(h.call("POST", "/api/v1/auth/session/logout", json: "{}", headers: Self.site.merging(["cookie": c.access + "; " + c.refresh]) { $1 }).status == 200)
        // Another connection holds the write lock (the session's row lock on PostgreSQL):
        // a renewal that went to the database would wait for it.
        let other = try h.openDatabase()
        var took: [Double] = []
        try other.transaction(immediate: true) {
            _ = try other.sessions.byIDForUpdate(c.session)
            for _ in 0..<5 {
                let started = Date()
                let r = h.call("GET", "/app", headers: ["cookie": c.refresh], verify: Self.browser)
                took.append(Date().timeIntervalSince(started))
                #expect(r.status == 401)
            }
        }
        print("revoked refresh cookie while another connection held the lock: \(took.map { Int($0 * 1000) }) ms")
        #expect(took.allSatisfy { $0 < 2.5 }, "\(took)")
    }

    @Test func oneRotationASecondPerSession() throws {
        let h = try APIHarness(env: ["AUTH_REFRESH_REUSE_SECONDS": "10"])
        try h.user("alice@demo.local", tenant: try h.tenant("demo.local"))
        let c = try cookieLogin(h, "alice@demo.local")
        let before = try counter(h, c.session)
        let first = h.call("GET", "/app", headers: ["cookie": c.refresh], verify: Self.browser).response
        let again = h.call("GET", "/app", headers: ["cookie": c.refresh], verify: Self.browser).response
        #expect(first.status == 204 && again.status == 204)
        // The racing request with the same refresh cookie gets the very same renewal.
        #expect(first.header("x-auth-set-refresh-cookie") != nil
                && first.header("x-auth-set-refresh-cookie") == again.header("x-auth-set-refresh-cookie"))
        #expect(first.header("x-auth-cache-control") == "private, no-store")
        // The new refresh cookie alone, within the same second: refused without a rotation.
        let next = String(try #require(first.header("x-auth-set-refresh-cookie")).split(separator: ";")[0])
        let started = Date()
        let throttled = h.call("GET", "/app", headers: ["cookie": next], verify: Self.browser).response
        let elapsed = Date().timeIntervalSince(started)
        if elapsed < 0.9 { #expect(throttled.status == 401) }
        #expect(try counter(h, c.session) == before + (throttled.status == 204 ? 2 : 1))
    }

    @Test func throttleMemoryIsBounded() {
        let throttle = RenewalThrottle(maxPerStripe: 20)
        let claims = AccessClaims(iss: "i", aud: "a", sub: "u", tid: "t", email: "e", role: "agent", sid: "s", jti: "j",
                                  iat: 1, exp: 2)
        let renewal = RenewalThrottle.Renewal(accessToken: "a", claims: claims, cookies: nil)
        func attempt(_ i: Int, at now: Int64) -> Bool {
            (try? throttle.renew(sessionID: "s\(i)", counter: 1, now: now, admit: { _ in }) { _ in renewal }) != nil
        }
        // 64 stripes of at most 20 live entries: of 1,281 sessions within one second, some are refused.
        let first = (0..<1281).filter { attempt($0, at: 1_000) }.count
        #expect(first < 1281 && first <= 64 * 20, "\(first)")
        // A second later every entry has expired: room again for all of them.
        let later = (0..<1281).filter { attempt($0, at: 1_000 + RenewalThrottle.windowNanos) }.count
        #expect(later == first, "\(later) vs \(first)")
        // Within the second, the same token is handed the same renewal; another is refused.
        #expect((try? throttle.renew(sessionID: "x", counter: 7, now: 5_000_000_000, admit: { _ in }) { _ in renewal })?.accessToken == "a")
        #expect((try? throttle.renew(sessionID: "x", counter: 7, now: 5_000_000_001, admit: { _ in }) { _ in
            Issue.record("rotated twice within the second"); return renewal })?.accessToken == "a")
        #expect((try? throttle.renew(sessionID: "x", counter: 8, now: 5_000_000_002, admit: { _ in }) { _ in renewal }) == nil)
    }

    @Test func plainHTTPOriginsOnlyOnLoopback() throws {
        for bad in ["http://app.example.com", "http://10.0.0.1", "http://127.0.0.1.evil.example", "http://[::2]", "http://localhost.evil.example"] {
            #expect(throws: ConfigError.self, "\(bad)") { try BrowserSettings(environment: ["AUTH_CORS_ORIGINS": bad]) }
            #expect(throws: ConfigError.self, "\(bad)") { try BrowserSettings(environment: ["AUTH_SITE_ORIGIN": bad]) }
        }
        do {
            _ = try BrowserSettings(environment: ["AUTH_SITE_ORIGIN": "http://app.example.com"])
        } catch {
            #expect("\(error)".contains("plain http://") && "\(error)".contains("AUTH_SITE_ORIGIN"), "\(error)")
        }
        for ok in ["http://localhost", "http://localhost:8080", "http://127.0.0.1:3000", "http://[::1]:8443", "https://app.example.com"] {
            #expect(throws: Never.self, "\(ok)") { try BrowserSettings(environment: ["AUTH_CORS_ORIGINS": ok, "AUTH_SITE_ORIGIN": ok]) }
        }
    }
}
