import AuthCrypto
import Foundation
import TestSupport
import Testing
@testable import AuthCore

/// The verify hot path's shortcuts (per-worker verified-token memo, per-worker key ring
/// snapshot, wal-index change watch) must never change an answer.
@Suite struct VerifyFastPathTests {
    let user = GatePolicy()

    @Test func memoizedTokenStillSeesRevocationFromAnotherConnection() throws {
        let h = try APIHarness()
        let t = try h.tenant("fast.test")
        try h.user("agent@fast.test", tenant: t)
        let (token, _) = h.login("agent@fast.test")
        for _ in 0..<3 { #expect(h.call("GET", "/x", bearer: token, verify: user).status == 204) }  // memo hits
        let cli = try h.openDatabase()
        let found = try cli.users.byEmail(tenantID: t.id, email: "agent@fast.test")
        let agent = try #require(found)
        _ = try cli.sessions.revokeAll(userID: agent.id, reason: "admin", now: Time.now())
        // Another connection's revocation reaches the process's state through its refresher
        // (every 10 ms), well inside the promised second.
        try waitFor("a revocation by another connection to be denied", timeout: 1, every: 2_000) {
            h.call("GET", "/x", bearer: token, verify: user).status == 401
        }
        #expect(h.call("GET", "/api/v1/auth/me", bearer: token).status == 401)
    }

    @Test func memoizedTokenDiesWithItsKey() throws {
        let h = try APIHarness()
        let t = try h.tenant("keys.test")
        try h.user("agent@keys.test", tenant: t)
        let (token, _) = h.login("agent@keys.test")
        #expect(h.call("GET", "/x", bearer: token, verify: user).status == 204)
        #expect(h.call("GET", "/x", bearer: token, verify: user).status == 204)
        // Replace the ring with a single new key: the old token's kid is gone.
        let path = h.app.settings.keysFile
        try FileManager.default.removeItem(atPath: path)
        _ = try KeyRing.rotate(path: path)
        h.app.keys.reload()
        // The ring store re-stats at most once per second; wait for the next second at most twice.
        var status = 204
        for _ in 0..<30 where status == 204 {
            usleep(100_000)
            status = h.call("GET", "/x", bearer: token, verify: user).status
        }
        #expect(status == 401)
    }

    @Test func tamperedVariantOfAMemoizedTokenIsRefused() throws {
        let h = try APIHarness()
        let t = try h.tenant("tamper.test")
        try h.user("agent@tamper.test", tenant: t)
        let (token, _) = h.login("agent@tamper.test")
        #expect(h.call("GET", "/x", bearer: token, verify: user).status == 204)
        #expect(h.call("GET", "/x", bearer: token + "x", verify: user).status == 401)
        #expect(h.call("GET", "/x", bearer: String(token.dropLast()), verify: user).status == 401)
    }

    @Test func classifyAgreesWithTheGenericInitializer() {
        let samples = ["", "a", "a.b", "a.b.c", ".b.c", "a..c", "a.b.", "a.b.c.d", "2s_live_", "2s_live_x", "node_", "node_abc",
                       "2s_live_\u{301}x", "node_\u{301}", "2s_live", "nod", "é.b.c", "a.b.c\u{301}"]
        for s in samples {
            #expect(CredentialKind.classify(s) == CredentialKind(credential: s), "\(s)")
        }
    }

    @Test func ringSnapshotFollowsReloads() throws {
        let temp = try TempDir("authgate-ring")   // this one was left behind in /tmp before
        defer { withExtendedLifetime(temp) {} }
        let path = temp.path + "/keys"
        let first = try KeyRing.rotate(path: path)
        let store = try KeyRingStore(path: path)
        var cache = KeyRingStore.Snapshot()
        #expect(store.current(cache: &cache).signing.kid == first)
        let second = try KeyRing.rotate(path: path)
        store.reload()
        #expect(store.current(cache: &cache).signing.kid == second)
        #expect(store.current.signing.kid == second)
    }
}
