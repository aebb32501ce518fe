import Foundation
import Testing
@testable import AuthCore
@testable import AuthCrypto

/// One `exp`/`iat` rule (`AccessClaims.timeError`) and one credential-shape rule
/// (`CredentialKind` in AuthCrypto), used by JWT.verify, the responder's memo and the verify route.
@Suite struct VerifyRulesTests {
    static let now: Int64 = 1_782_907_200
    static let key = SigningKey(kid: "kr", secret: Crypto.randomBytes(32))
    static let ring = KeyRing(keys: [key])

    static func claims(iat: Int64, exp: Int64) -> AccessClaims {
        AccessClaims(iss: "authgate", aud: "2signal", sub: "u", tid: "t", email: "a@b.test", role: "agent",
                     sid: "s", jti: "j", iat: iat, exp: exp)
    }

    @Test func timeRuleBoundaries() {
        let n = Self.now, l: Int64 = 30
        let cases: [(iat: Int64, exp: Int64, now: Int64, leeway: Int64, expected: JWTError?)] = [
            (n, n + 3600, n, l, nil),
            (n, n - l, n, l, .expired),             // exp exactly at now - leeway: expired
            (n, n - l + 1, n, l, nil),
            (n + l, n + 3600, n, l, nil),           // iat exactly at now + leeway: accepted
            (n + l + 1, n + 3600, n, l, .notYetValid),
            (n, n, n, 0, .expired),                 // no leeway (the companion): exp == now is expired
            (n, n + 1, n, 0, nil),
            (n + 1, n + 3600, n, 0, .notYetValid),
            (n + l + 1, n - l, n, l, .expired),     // both wrong: expiry is reported first
            // Saturation instead of overflow.
            (.min, .min + 1, .min, 1, nil),         // now - leeway saturates at .min
            (.min, .min, .min, 1, .expired),
            (.max, .max, .max, 1, nil),             // now + leeway saturates at .max
            (.max, 1, .max, .max, nil),
            (.max, 0, .max, .max, .expired),
            (.min, .max, 0, .max, nil),
            (0, 1, 0, .min, .expired),              // a negative leeway narrows the window; saturates at .max
            (.max, .max, .max, -1, .expired),
        ]
        for c in cases {
            let claims = Self.claims(iat: c.iat, exp: c.exp)
            #expect(claims.timeError(now: c.now, leeway: c.leeway) == c.expected, "\(c)")
            // JWT.verify answers by the same rule.
            let token = JWT.sign(claims, key: Self.key)
            let verified = JWT.verify(token, ring: Self.ring, issuer: "authgate", audience: "2signal",
                                      now: c.now, leeway: c.leeway)
            switch (verified, c.expected) {
            case (.success, nil): break
            case let (.failure(error), expected?): #expect(error == expected, "\(c)")
            default: Issue.record("JWT.verify \(verified) for \(c)")
            }
        }
    }

    /// The responder's check (fresh, then from its memo) accepts a live token and refuses one
    /// past `exp` (leeway 0 here), by the rule above.
    @Test func memoizedTokenObeysTheSameRule() throws {
        let h = try APIHarness(env: ["AUTH_CLOCK_LEEWAY_SECONDS": "0"])
        let t = try h.tenant("rule.test")
        let u = try h.user("agent@rule.test", tenant: t)
        let session = try h.db.sessions.create(userID: u.id, now: Time.now())
        let ring = h.app.keys.current
        let now = Time.now()
        func token(exp: Int64) -> String {
            JWT.sign(AccessClaims(iss: h.app.settings.issuer, aud: h.app.settings.audience, sub: u.id, tid: t.id,
                                  email: u.email, role: u.role, sid: session.id, jti: UUIDs.random(),
                                  iat: now - 10, exp: exp), key: ring.signing)
        }
        let live = token(exp: now + 3600)
        let leeway = h.app.settings.clockLeeway
        #expect(try h.worker.gate.accessClaims(live, now: now, leeway: leeway).sub == u.id)
        #expect(try h.worker.gate.accessClaims(live, now: now, leeway: leeway).sub == u.id)   // the memo
        let expired = token(exp: now - 1)
        #expect(throws: AuthError.self) { try h.worker.gate.accessClaims(expired, now: Time.now(), leeway: leeway) }
    }

    static let samples = ["", "a", "a.b", "a.b.c", ".b.c", "a..c", "a.b.", "a.b.c.d", "2s_live_", "2s_live_x", "node_",
                          "node_abc", "2s_live_\u{301}x", "node_\u{301}", "2s_live", "nod", "é.b.c", "a.b.c\u{301}",
                          "..", "a.b.c.", "2s_live_a.b.c", "node_a.b.c", "Node_x", "2S_live_x", "\u{0}.\u{0}.\u{0}"]

    @Test func classifyAndInitializerAreOneRule() {
        var rng = SplitMix(state: 0xC1A5_51F1)
        let alphabet: [String] = ["a", "Z", "0", ".", ".", "_", "-", "2s_live_", "node_", "\u{301}", "é", "\u{0}", " "]
        var inputs = Self.samples
        for _ in 0..<4000 {
            let count = Int.random(in: 0...8, using: &rng)
            inputs.append((0..<count).map { _ in alphabet.randomElement(using: &rng)! }.joined())
        }
        for s in inputs {
            let fast = CredentialKind.classify(s)
            #expect(fast == CredentialKind(credential: s), "\(s.debugDescription)")
            #expect(fast == CredentialKind(credential: Substring(s)), "\(s.debugDescription)")
            // A bridged/non-contiguous copy takes the same path to the same answer.
            #expect(fast == CredentialKind.classify(String(s.unicodeScalars)), "\(s.debugDescription)")
        }
        #expect(CredentialKind.classify("2s_live_abc") == .apiKey)
        #expect(CredentialKind.classify("node_abc") == .node)
        #expect(CredentialKind.classify("aaa.bbb.ccc") == .jwt)
        #expect(CredentialKind.classify("2s_live_\u{301}x") == .unknown)
        #expect(CredentialKind.classify("2s_live_\u{301}.b.c") == .jwt)
    }
}
