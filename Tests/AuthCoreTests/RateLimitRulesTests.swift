import AuthCrypto
import Foundation
import Testing
@testable import AuthCore

/// AUTH_RATE_LIMIT in process (issue 19 item 6, review finding 4): the setting, the bucket, and
/// the routes it covers with the answer each gets, in both profiles.
@Suite("Rate limit: the responder's own, per client address")
struct RateLimitRulesTests {
    @Test func settingParsesLikeNginxAndRefusesGarbage() throws {
        #expect(try RateLimit.parse("10r/s burst=20") == RateLimit(perSecond: 10, burst: 21))
        #expect(try RateLimit.parse("30r/m") == RateLimit(perSecond: 0.5, burst: 1))
        #expect(try RateLimit.parse("5r/s,burst=0") == RateLimit(perSecond: 5, burst: 1))
        #expect(try RateLimit.parse("off") == nil)
        for bad in ["", "10", "10r/h", "0r/s", "-1r/s", "10r/s burst=-1", "10r/s burst", "10r/s bust=3", "10r/s burst=1 x"] {
            #expect(throws: ConfigError.self, "\(bad)") { try RateLimit.parse(bad) }
        }
        #expect(try Settings(environment: [:]).rateLimit == .default)
        #expect(try Settings(environment: ["AUTH_RATE_LIMIT": "off"]).rateLimit == nil)
        #expect(throws: ConfigError.self) { try Settings(environment: ["AUTH_RATE_LIMIT": "lots"]) }
        #expect(ConfigFile.keys.contains { $0.name == "AUTH_RATE_LIMIT" && $0.fallback == "10r/s burst=20" })
    }

    @Test func bucketRefillsPerAddressAndStaysBounded() {
        let limiter = AddressRateLimiter(RateLimit(perSecond: 2, burst: 3), maxAddresses: 4)
        for _ in 0..<3 { #expect(limiter.take("10.0.0.1", now: 100) == nil) }
        #expect(limiter.take("10.0.0.1", now: 100) == 1)          // Retry-After: 1 s (a token every 0.5 s)
        #expect(limiter.take("10.0.0.2", now: 100) == nil)        // another address has its own bucket
        #expect(limiter.take("10.0.0.1", now: 100.5) == nil)      // refilled one
        #expect(limiter.take("10.0.0.1", now: 100.5) != nil)
        // Past maxAddresses, new addresses share the overflow bucket until full buckets are swept.
        for i in 3...8 { _ = limiter.take("10.0.0.\(i)", now: 100.6) }
        #expect(limiter.trackedAddresses <= 5)
        #expect(limiter.take("10.0.0.99", now: 200) == nil)       // all full again: swept, room made
        #expect(limiter.trackedAddresses <= 4)
    }

    @Test(arguments: ["2signal", "get2dial"])
    func everyPasswordRouteAnswers429(_ profile: String) throws {
        let h = try APIHarness(profile: profile, env: ["AUTH_RATE_LIMIT": "1r/m burst=1"])
        let t = try h.tenant("demo.local")
        try h.user("alice@demo.local", tenant: t)
        let origin = ["origin": "https://auth.example", "host": "auth.example"]
        let routes: [(String, String)] = [
            ("/api/v1/auth/login", #"{"email":"alice@demo.local","password":"nope nope nope"}"#),
            ("/api/v1/auth/me/password", #"{"current_password":"a","new_password":"b"}"#),
            ("/api/v1/auth/session", #"{"email":"alice@demo.local","password":"nope nope nope"}"#),
            ("/api/v1/auth/session/password", #"{"current_password":"a","new_password":"b"}"#),
            ("/api/v1/auth/session/renew", "{}"),
        ]
        // One address: two requests pass the bucket (burst 1 + the first), then every route is refused.
        var passed = 0
        for (path, body) in routes + routes {
            let r = h.call("POST", path, json: body, headers: origin)
            if r.status != 429 { passed += 1; continue }
            #expect(r.json?.errorCode == "rate_limited", "\(path): \(String(decoding: r.response.body, as: UTF8.self))")
            #expect(r.response.header("retry-after").flatMap(Int.init).map { $0 >= 1 } == true, "\(path)")
            if profile == "get2dial" { #expect(r.json?["status"]?.stringValue == "error") }
        }
        #expect(passed == 2, "requests let through: \(passed)")
        // A plain form post of the login page goes back to its page with the message.
        let form = Request(method: "POST", path: "/api/v1/auth/session", headers: origin.merging(
            ["content-type": "application/x-www-form-urlencoded"]) { $1 }, body: Array("email=a%40b.c&password=x".utf8),
            remoteAddress: "127.0.0.1")
        let page = h.worker.handle(form)
        #expect(page.status == 303 && page.header("location") == "/auth/login?error=rate_limited" && page.header("retry-after") != nil)
        // Other routes and other addresses are untouched.
        #expect(h.call("GET", "/api/v1/health").status == 200)
        let elsewhere = Request(method: "POST", path: "/api/v1/auth/login", headers: ["content-type": "application/json"],
                                body: Array(#"{"email":"alice@demo.local","password":"correct horse battery"}"#.utf8),
                                remoteAddress: "192.0.2.7")
        #expect(h.worker.handle(elsewhere).status == 200)
    }

    @Test func offLimitsNothing() throws {
        let h = try APIHarness(env: ["AUTH_RATE_LIMIT": "off"])
        _ = try h.tenant("demo.local")
        for _ in 0..<30 {
            #expect(h.call("POST", "/api/v1/auth/login", json: #"{"email":"x@demo.local","password":"nope nope nope"}"#).status == 401)
        }
    }
}
