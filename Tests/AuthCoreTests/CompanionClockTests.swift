import AuthCrypto
import Foundation
import TestSupport
import Testing
@testable import AuthCore
@testable import AuthWS

/// Review hardening: the companion checked `iat` with no leeway, so a token from a host whose
/// clock runs a second ahead was refused at the WebSocket upgrade for that second, while the
/// HTTP gate (AUTH_CLOCK_LEEWAY_SECONDS) accepted it. Same leeway now; expiry still refuses.
@Suite struct CompanionClockTests {
    @Test func iatUsesTheClockLeeway() throws {
        let h = try APIHarness(env: ["AUTH_CLOCK_LEEWAY_SECONDS": "30"])
        let t = try h.tenant("acme.test")
        try h.user("ws@acme.test", tenant: t)
        let (access, _) = h.login("ws@acme.test")
        let authorizer = try Authorizer(settings: h.app.settings)
        let route = WSRoute(path: "/ws/agent", upstream: .unix("/nonexistent.sock"), roles: ["agent"])
        let now = Time.now()
        // This host's clock 1 s and 20 s behind the one that issued the token: accepted.
        for behind: Int64 in [0, 1, 20] {
            let r = authorizer.authorize(token: access, route: route, now: now - behind)
            #expect((try? r.get()) != nil, "\(behind) s behind: \(r)")
        }
        // Beyond the leeway: refused.
        if case .success = authorizer.authorize(token: access, route: route, now: now - 120) {
            Issue.record("a token issued 120 s in this host's future was accepted")
        }
        // Expired, or expiring within the leeway: refused whatever the leeway.
        let claims = try #require(try? JWT.verify(access, ring: h.app.keys.current, issuer: h.app.settings.issuer,
                                                 audience: h.app.settings.audience, now: now, leeway: 0).get())
        if case .success = authorizer.authorize(token: access, route: route, now: claims.exp - 10) {
            Issue.record("a token expiring within the leeway was accepted")
        }
        if case .success = authorizer.authorize(token: access, route: route, now: claims.exp + 5) {
            Issue.record("an expired token was accepted")
        }
    }
}
