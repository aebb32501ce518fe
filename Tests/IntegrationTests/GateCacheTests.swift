import Foundation
import TestSupport
import Testing

/// The verify micro-cache through real nginx, observed at the responder (its log has one line per
/// verify request): a hit never reaches it, the entry dies at the next second boundary
/// (`X-Accel-Expires: @<now>`), and with the cache off (AUTH_VERIFY_CACHE_SECONDS=0) every
/// request reaches it and a revocation is denied on the very next request.
@Suite("Gate: verify micro-cache through nginx")
struct GateCacheTests {
    static func now() -> Double { Date().timeIntervalSince1970 }

    /// Waits for the start of a second that begins after this call (so no entry stored by an
    /// earlier request can still be fresh), leaving room for several requests before its end.
    static func startOfASecond() throws {
        let called = floor(now())
        try waitFor("the start of a new second", timeout: 3, every: 2_000) {
            floor(now()) > called && now().truncatingRemainder(dividingBy: 1) < 0.2
        }
    }

    @Test(arguments: GateDoor.allCases) func cacheHitSkipsTheResponderAndDiesAtTheNextSecond(door: GateDoor) throws {
        var options = Stack.Options()
        options.verifyCacheSeconds = 1
        try Stack.with(door.options(options)) { stack in
            _ = try stack.makeTenant("demo.local")
            try stack.makeUser("ann@demo.local", tenant: "demo.local")
            let token = try stack.tokens("ann@demo.local").access
            // A hit needs the miss and the repeat in one second: retry when the clock ticked between.
            var proved = false
            for _ in 0..<4 where !proved {
                try Self.startOfASecond()
                let second = floor(Self.now())
                let before = try stack.responderLogSettled()
                #expect(try stack.get("/demo/gated", token: token).status == 200)   // miss: stored
                let hit = try stack.get("/demo/gated", token: token)
                let repeatEnded = Self.now()
                #expect(hit.status == 200)
                let afterHit = try stack.responderLogSettled()
                guard repeatEnded < second + 1 else { continue }
                #expect(afterHit == before + 1, "the repeat within the second reached the responder: \(afterHit - before) verifies")

                // The next second: the entry is gone, the responder answers again.
                try waitFor("the next second", timeout: 2, every: 1_000) { Self.now() >= second + 1 }
                let next = try stack.get("/demo/gated", token: token)
                #expect(next.status == 200)
                let reached = try stack.responderLogSettled()
                // Only a request answered within that next second shows where the entry died.
                guard next.answeredAt < second + 2 else { continue }
                #expect(reached == afterHit + 1, "a cached allow outlived its second")
                proved = true
            }
            #expect(proved, "never got a miss and a repeat into the same second")
        }
    }

    @Test(arguments: GateDoor.allCases) func cacheOffEveryVerifyReachesTheResponderAndRevocationIsImmediate(door: GateDoor) throws {
        var options = Stack.Options()
        options.verifyCacheSeconds = 0
        options.threads = 4
        try Stack.with(door.options(options)) { stack in
            _ = try stack.makeTenant("demo.local")
            try stack.makeUser("ann@demo.local", tenant: "demo.local")
            let ann = try stack.tokens("ann@demo.local")
            try Self.startOfASecond()
            let before = try stack.responderLogSettled()
            for _ in 0..<3 { #expect(try stack.get("/demo/gated", token: ann.access).status == 200) }
            #expect(try stack.responderLogSettled() == before + 3, "with the cache off every verify reaches the responder")

            // Revocations: denied on the very next request, on every worker.
            let sid = try #require(try stack.get("/demo/echo", token: ann.access).echoedHeaders["x-auth-session-id"])
            try stack.cliOK(["session", "revoke", "--session", sid])
            for _ in 0..<4 { #expect(try stack.get("/demo/gated", token: ann.access).status == 401) }
            let again = try stack.tokens("ann@demo.local")
            #expect(try stack.get("/demo/echo", token: again.access).status == 200)
            #expect(try stack.post("/api/v1/auth/logout", token: again.access).status == 200)
            for _ in 0..<4 { #expect(try stack.get("/demo/echo", token: again.access).status == 401) }
        }
    }
}
