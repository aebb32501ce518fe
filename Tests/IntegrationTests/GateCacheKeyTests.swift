import Foundation
import TestSupport
import Testing

/// Issue 20: the micro-cache made cheaper for nginx. Its key names the Authorization header and
/// the access cookie directly (no second map over the token), the second comes from
/// `$time_iso8601`, and a hit reads its file through nginx's open file cache. Whatever the
/// cache answers, it answers for that very credential, and a hot entry whose file nginx holds
/// open still dies within the 1 s bound of a revocation.
@Suite("Gate: micro-cache key and open file cache through nginx")
struct GateCacheKeyTests {
    static func options(_ door: GateDoor) -> Stack.Options {
        var o = Stack.Options()
        o.verifyCacheSeconds = 1
        o.threads = 4
        return door.options(o)
    }

    /// Two users, each by access cookie and by bearer token, alternating within the same seconds:
    /// every answer carries the identity of its own credential. A key without the cookie hands
    /// the first cookie's allow to every cookie in that second.
    @Test(arguments: GateDoor.allCases) func everyCredentialGetsItsOwnEntry(door: GateDoor) throws {
        try Stack.with(Self.options(door)) { stack in
            _ = try stack.makeTenant("demo.local")
            try stack.makeUser("ann@demo.local", tenant: "demo.local")
            try stack.makeUser("bob@demo.local", tenant: "demo.local")
            let ann = try stack.tokens("ann@demo.local").access, bob = try stack.tokens("bob@demo.local").access
            let annID = try #require(try stack.get("/demo/echo", token: ann).echoedHeaders["x-auth-user-id"])
            let bobID = try #require(try stack.get("/demo/echo", token: bob).echoedHeaders["x-auth-user-id"])
            #expect(annID != bobID)
            let before = try stack.responderLogSettled()
            for _ in 0..<3 {
                for (token, id) in [(ann, annID), (bob, bobID), (ann, annID), (bob, bobID)] {
                    let byCookie = try stack.client.get("/demo/dashboard/api/whoami", headers: [
                        "Cookie": "__Host-authgate=\(token)", "Accept": "application/json"])
                    #expect(byCookie.status == 200 && byCookie.echoedHeaders["x-auth-user-id"] == id,
                            "by cookie: \(byCookie.status) as \(byCookie.echoedHeaders["x-auth-user-id"] ?? "nobody"), expected \(id)")
                    let byBearer = try stack.get("/demo/echo", token: token)
                    #expect(byBearer.status == 200 && byBearer.echoedHeaders["x-auth-user-id"] == id,
                            "by bearer: \(byBearer.status) as \(byBearer.echoedHeaders["x-auth-user-id"] ?? "nobody"), expected \(id)")
                }
            }
            // The cache served some of those 24 (same credential, location and second): it was on.
            let verifies = try stack.responderLogSettled() - before
            print("GateCacheKeyTests[\(door)]: 24 requests, \(verifies) reached the responder")
            #expect(verifies < 24, "the micro-cache answered none of 24 repeated verifies")
        }
    }

    /// A hot entry: many hits within its second (nginx holds its file open), then a revocation by
    /// another process; the token is denied within 1 s, as without the open file cache.
    @Test(arguments: GateDoor.allCases) func aHotEntryStillDiesWithinOneSecondOfARevocation(door: GateDoor) throws {
        try Stack.with(Self.options(door)) { stack in
            _ = try stack.makeTenant("demo.local")
            try stack.makeUser("ann@demo.local", tenant: "demo.local")
            let ann = try stack.tokens("ann@demo.local").access
            let sid = try #require(try stack.get("/demo/echo", token: ann).echoedHeaders["x-auth-session-id"])
            for _ in 0..<40 { #expect(try stack.get("/demo/gated", token: ann).status == 200) }
            try stack.cliOK(["session", "revoke", "--session", sid])
            let took = try stack.secondsUntil("/demo/gated", token: ann, answers: 401)
            print("GateCacheKeyTests[\(door)]: hot entry allowed until \(took.map { String(format: "%.3f", $0) } ?? "never denied") s after the revocation")
            #expect(took != nil && took! < GateRevocationTests.bound,
                    "allowed until \(took.map { String($0) } ?? "forever") s after the revocation")
        }
    }
}
