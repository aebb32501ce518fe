import AuthCore
import AuthCrypto
import Foundation
import Testing
import TestSupport

/// Issue 19 items 5 and 6 through nginx with the demo config (micro-cache on): the review's
/// findings 3, 8 and 9 and the hardening suggestions for browser locations.
@Suite("Gate: browser locations hardened (micro-cache, renewal, cookies)")
struct GateBrowserHardeningTests {
    typealias B = BrowserSessionTests

    func signIn(_ stack: Stack, _ email: String) throws -> [String: String] {
        let r = try BrowserSessionTests().signIn(stack, email)
        try #require(r.status == 303, "login \(email): \(r.status) \(r.text)")
        return B.cookies(r)
    }

    func sessionCounter(_ stack: Stack, _ refresh: String) throws -> (id: String, counter: Int64) {
        let sid = try #require(RefreshToken.parse(refresh, ring: try stack.keyRing())?.sessionID)
        let db = try stack.database()
        let session = try #require(try db.sessions.byID(sid))
        return (sid, session.counter)
    }

    /// Finding 3: a cached allow of a same-origin POST never serves a cross-origin POST.
    @Test(arguments: GateDoor.allCases) func unsafeMethodAllowsAreNeverCached(door: GateDoor) throws {
        try Stack.with(door.options()) { stack in
            _ = try stack.makeTenant("demo.local")
            _ = try stack.makeUser("alice@demo.local", tenant: "demo.local")
            let access = try #require(try signIn(stack, "alice@demo.local")["__Host-authgate"])
            // The review's two curls, within one second, several times over (each pair in a
            // fresh second would prove nothing, so every round checks the second came fast).
            for round in 0..<5 {
                let started = Date()
                let same = try stack.client.request("POST", "/demo/dashboard/a", headers: [
                    "Cookie": "__Host-authgate=\(access)", "Origin": stack.baseURL], body: Array("x".utf8))
                #expect(same.status == 200, "round \(round): same origin \(same.status)")
                let evil = try stack.client.request("POST", "/demo/dashboard/b", headers: [
                    "Cookie": "__Host-authgate=\(access)", "Origin": "https://evil.example", "Accept": "application/json"],
                    body: Array("x".utf8))
                print("round \(round): cross-origin POST \(evil.status) \(Int(Date().timeIntervalSince(started) * 1000)) ms after the same-origin one")
                #expect(evil.status == 403, "round \(round): cross-origin POST after a same-origin one: \(evil.status)")
            }
            // GET allows are still cached (the micro-cache keeps its purpose): the access log
            // shows no second verify upstream call is needed; here simply: both pass.
            for _ in 0..<2 {
                #expect(try stack.client.get("/demo/dashboard/", headers: ["Cookie": "__Host-authgate=\(access)"]).status == 200)
            }
        }
    }

    /// Finding 8: a denial at a browser location never rotates, so no renewal is lost and the
    /// next one, past the reuse window, renews instead of revoking the session.
    @Test(arguments: GateDoor.allCases) func aDenialNeverThrowsARotationAway(door: GateDoor) throws {
        var options = Stack.Options()
        options.environment = ["AUTH_REFRESH_REUSE_SECONDS": "1"]
        try Stack.with(door.options(options)) { stack in
            _ = try stack.makeTenant("demo.local")
            let other = try stack.cliLines(["tenant", "create", "--name", "other.local", "--domain", "other.local"])[0]
            _ = try stack.makeUser("alice@demo.local", tenant: "demo.local")
            let refresh = try #require(try signIn(stack, "alice@demo.local")["__Host-authgate-refresh"])
            let before = try sessionCounter(stack, refresh)
            let denied = try stack.client.get("/demo/dashboard/?tenant_id=\(other)", headers: [
                "Cookie": "__Host-authgate-refresh=\(refresh)", "Accept": "application/json"])
            #expect(denied.status == 403 && denied.headers("set-cookie").isEmpty, "\(denied.status) \(denied.headerList)")
            #expect(try sessionCounter(stack, refresh).counter == before.counter, "the denial rotated the session")
            let deniedAt = Date()
            try waitFor("the refresh reuse window (1 s) and the renewal throttle (1 s) to pass", timeout: 5) {
                Date().timeIntervalSince(deniedAt) > 2.1
            }
            let renew = try stack.client.get("/demo/dashboard/", headers: ["Cookie": "__Host-authgate-refresh=\(refresh)"])
            #expect(renew.status == 200, "renewal after a denial: \(renew.status) \(renew.text)")
            let jar = B.cookies(renew)
            #expect(jar["__Host-authgate"]?.hasPrefix("eyJ") == true && jar["__Host-authgate-refresh"] != nil, "\(renew.headerList)")
            #expect(try stack.client.get("/demo/dashboard/", headers: ["Cookie": B.cookieHeader(jar)]).status == 200)
            let events = try stack.database().audit.list().map(\.event)
            #expect(!events.contains("refresh_token_reused"), "\(events)")
        }
    }

    /// Finding 9: a revoked session's refresh cookie is refused from memory (the test holds the
    /// database's write lock, or the session's row lock on PostgreSQL, and every answer still
    /// comes at once); a live session rotates at most once a second however often it is asked;
    /// a normal renewal still works.
    @Test(arguments: GateDoor.allCases) func renewalFloodsDoNotReachTheDatabase(door: GateDoor) throws {
        try Stack.with(door.options()) { stack in
            _ = try stack.makeTenant("demo.local")
            _ = try stack.makeUser("alice@demo.local", tenant: "demo.local")
            // A logged-out session's refresh cookie.
            let gone = try signIn(stack, "alice@demo.local")
            let out = try stack.client.request("POST", "/api/v1/auth/session/logout", headers: [
                "Cookie": B.cookieHeader(gone), "Origin": stack.baseURL, "Content-Type": "application/x-www-form-urlencoded"], body: [])
            #expect(out.status == 303)
            let goneRefresh = try #require(gone["__Host-authgate-refresh"])
            let goneSession = try sessionCounter(stack, goneRefresh).id
            let db = try stack.database()
            var slowest = 0.0
            try db.transaction(immediate: true) {
                _ = try db.sessions.byIDForUpdate(goneSession)
                for i in 0..<20 {
                    let started = Date()
                    let r = try stack.client.request("GET", "/demo/dashboard/", headers: [
                        "Cookie": "__Host-authgate-refresh=\(goneRefresh)", "Accept": "application/json"], timeout: 15)
                    let took = Date().timeIntervalSince(started)
                    slowest = max(slowest, took)
                    #expect(r.status == 401, "request \(i): \(r.status)")
                    if took > 3 { Issue.record("request \(i) waited \(took) s on the database lock the test holds"); break }
                }
            }
            print("revoked refresh cookie, 20 requests while the test held the write lock: slowest \(Int(slowest * 1000)) ms")

            // A live session, its refresh cookie followed through every rotation (the access
            // cookie dropped each time to force a renewal): at most one rotation a second.
            var refresh = try #require(try signIn(stack, "alice@demo.local")["__Host-authgate-refresh"])
            let start = try sessionCounter(stack, refresh)
            let began = Date()
            var statuses: [Int] = []
            for _ in 0..<12 {
                let r = try stack.client.get("/demo/dashboard/", headers: ["Cookie": "__Host-authgate-refresh=\(refresh)", "Accept": "application/json"])
                statuses.append(r.status)
                if let next = B.cookies(r)["__Host-authgate-refresh"] { refresh = next }
            }
            let elapsed = Date().timeIntervalSince(began)
            let rotations = try sessionCounter(stack, refresh).counter - start.counter
            print("12 renewals in \(Int(elapsed * 1000)) ms: \(rotations) rotation(s), statuses \(statuses)")
            #expect(rotations >= 1 && Double(rotations) <= elapsed.rounded(.up) + 1, "\(rotations) rotations in \(elapsed) s")
            #expect(statuses.first == 200)

            // A normal renewal still works once the second has passed, and its response is
            // never stored by a shared cache.
            let after = Date()
            try waitFor("the renewal throttle (1 s) to pass", timeout: 5) { Date().timeIntervalSince(after) > 1.1 }
            let renew = try stack.client.get("/demo/dashboard/", headers: ["Cookie": "__Host-authgate-refresh=\(refresh)"])
            #expect(renew.status == 200 && B.cookies(renew)["__Host-authgate"] != nil, "\(renew.status) \(renew.headerList)")
            #expect(renew.header("cache-control")?.contains("no-store") == true
                    && renew.headers("cache-control").joined().contains("private"), "\(renew.headerList)")
        }
    }

    /// Hardening: apps behind the protect snippets never receive Authgate's two cookies.
    @Test(arguments: GateDoor.allCases) func appsNeverSeeAuthgateCookies(door: GateDoor) throws {
        try Stack.with(door.options()) { stack in
            _ = try stack.makeTenant("demo.local")
            _ = try stack.makeUser("alice@demo.local", tenant: "demo.local")
            let jar = try signIn(stack, "alice@demo.local")
            let a = try #require(jar["__Host-authgate"]), r = try #require(jar["__Host-authgate-refresh"])
            let spellings = [
                ("a=1; __Host-authgate=\(a); b=2; __Host-authgate-refresh=\(r)", "a=1; b=2;"),
                ("__Host-authgate-refresh=\(r); __Host-authgate=\(a)", nil),
                ("__Host-authgate=\(a);__Host-authgate-refresh=\(r);theme=dark", "theme=dark"),
                ("x__Host-authgate=keep; __Host-authgate=\(a); __Host-authgate-refresh=\(r)", "x__Host-authgate=keep;"),
            ]
            for (cookie, expected) in spellings {
                let dash = try stack.client.get("/demo/dashboard/api/whoami", headers: ["Cookie": cookie])
                #expect(dash.status == 200, "\(dash.status)")
                let seen = dash.echoedHeaders["cookie"]
                #expect(seen?.trimmingCharacters(in: .whitespaces) == expected, "\(cookie) -> \(seen ?? "(none)")")
                #expect(!(seen ?? "").contains(a) && !(seen ?? "").contains(r))
            }
            // A third copy of a name: the app gets no Cookie at all rather than a token.
            let three = try stack.client.get("/demo/dashboard/", headers: [
                "Cookie": "__Host-authgate=\(a); __Host-authgate=\(a); __Host-authgate=\(a); k=v"])
            #expect(three.status == 200 && three.echoedHeaders["cookie"] == nil, "\(three.echoedHeaders["cookie"] ?? "")")
            // Bearer locations, proxy and FastCGI: the same.
            let bearer = try stack.tokens("alice@demo.local").access
            let echo = try stack.client.get("/demo/echo", headers: ["Authorization": "Bearer \(bearer)", "Cookie": "k=v; __Host-authgate-refresh=\(r)"])
            #expect(echo.status == 200 && echo.echoedHeaders["cookie"] == "k=v;", "\(echo.echoedHeaders["cookie"] ?? "(none)")")
            let fcgi = try stack.client.get("/demo/fcgi-echo", headers: ["Authorization": "Bearer \(bearer)", "Cookie": "__Host-authgate=\(a); k=v"])
            #expect(fcgi.status == 200 && fcgi.echoedParams["HTTP_COOKIE"] == " k=v", "\(fcgi.echoedParams["HTTP_COOKIE"] ?? "(none)")")
        }
    }
}
