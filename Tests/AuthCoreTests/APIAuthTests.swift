import AuthCrypto
import Foundation
import Testing
@testable import AuthCore

@Suite struct APIAuthTests {
    @Test func healthAndUnknownRoutes() throws {
        let h = try APIHarness()
        #expect(h.call("GET", "/api/v1/health").json?.data?["database"] == .bool(true))
        let trpc = h.call("GET", "/api/trpc/organization.list")
        #expect(trpc.status == 404 && trpc.json?.errorCode == "not_found")
        #expect(h.call("GET", "/api/v1/auth/login").status == 405)
        // Non-canonical paths match no route (the nginx rate-limit regex sees exactly what is served).
        for path in ["/api/v1/auth/login/", "/api/v1//auth/login", "//api/v1/auth/refresh", "api/v1/health"] {
            #expect(h.call("POST", path, json: "{}").status == 404, "\(path)")
        }
        let big = h.call("POST", "/api/v1/auth/login", json: String(repeating: " ", count: 70_000))
        #expect(big.status == 413 && big.json?.errorCode == "payload_too_large")
    }

    @Test func loginShapes2signal() throws {
        let h = try APIHarness()
        let t = try h.tenant("acme.test")
        let u = try h.user("alice@acme.test", tenant: t)
        let r = h.call("POST", "/api/v1/auth/login", json: #"{"email":"  Alice@ACME.test ","password":"correct horse battery"}"#)
        #expect(r.status == 200)
        let d = try #require(r.json?.data)
        #expect(r.json?["error"] == .null)
        #expect(d["access_token"]?.stringValue?.hasPrefix("eyJ") == true)
        #expect(d["refresh_token"]?.stringValue?.hasPrefix("v1.") == true)
        #expect(d["expires_at"]?.intValue.map { $0 > Time.now() } == true)
        #expect(d["user"] == .object([("id", .string(u.id)), ("email", .string("alice@acme.test"))]))
    }

    @Test func loginShapesGet2dial() throws {
        let h = try APIHarness(profile: "get2dial")
        let t = try h.tenant("acme.get2dial.com")
        try h.user("agent@example.com", tenant: t)
        let r = h.call("POST", "/api/v1/auth/login",
                       json: #"{"email":"agent@example.com","password":"correct horse battery","tenant_domain":"acme.get2dial.com"}"#)
        #expect(r.status == 200)
        #expect(r.json?["status"]?.stringValue == "success")
        let d = try #require(r.json?.data)
        #expect(d["token"]?.stringValue?.hasPrefix("eyJ") == true)
        let exp = try #require(d["expires_at"]?.stringValue)
        #expect(exp.hasSuffix("Z") && exp.count == 20)
        #expect(d["user"]?["must_change_password"] == .bool(false))
        #expect(d["user"]?["status"]?.stringValue == "active")
        #expect(d["user"]?["role"]?.stringValue == "agent")
        // The error envelope of this profile.
        let bad = h.call("POST", "/api/v1/auth/login", json: #"{"email":"agent@example.com","password":"nope"}"#)
        #expect(bad.status == 401 && bad.json?["status"]?.stringValue == "error")
        #expect(bad.json?["error"]?["message"]?.stringValue == "invalid credentials")
    }

    @Test func loginInputErrors() throws {
        let h = try APIHarness()
        for body in [#"{"email":"a@b.c"}"#, #"{"password":"x"}"#, #"{"email":"","password":"x"}"#, "not json", "[1]",
                     #"{"email":5,"password":"x"}"#, "\u{FF}\u{FE}"] {
            let r = h.call("POST", "/api/v1/auth/login", json: body)
            #expect(r.status == 400, "\(body)")
            #expect(r.json?.errorCode == "invalid_request")
        }
        let missing = h.call("POST", "/api/v1/auth/login", json: #"{"email":"a@b.c"}"#)
        #expect(missing.json?["error"]?["message"]?.stringValue == "missing email or password")
    }

    /// A NUL inside a JSON string (`\u0000`) is client input: never a 500, on either store
    /// (PostgreSQL text cannot hold one; the store refuses the value instead of cutting it), and
    /// never read as the text before it.
    @Test func nulInJSONStringsIsNeverA500() throws {
        let h = try APIHarness()
        let t = try h.tenant("nul.test")
        try h.user("ann@nul.test", tenant: t)
        let (access, refresh) = h.login("ann@nul.test")
        func post(_ path: String, _ body: String, _ bearer: String? = nil) -> Int {
            let r = h.call("POST", path, json: body, bearer: bearer)
            #expect(r.status < 500, "\(path) \(body): \(r.status) \(String(decoding: r.response.body, as: UTF8.self))")
            return r.status
        }
        for (path, body) in [
            ("/api/v1/auth/login", #"{"email":"ann@nul.test\u0000x","password":"correct horse battery"}"#),
            ("/api/v1/auth/login", #"{"email":"ann@nul.test","password":"correct horse battery","tenant_domain":"nul.test\u0000"}"#),
            ("/api/v1/auth/refresh", #"{"refresh_token":"\#(refresh)\u0000"}"#),
            ("/api/v1/auth/logout", #"{"refresh_token":"\#(refresh)\u0000"}"#),
        ] {
            #expect(post(path, body) != 200, "\(path) \(body) was accepted as the text before the NUL")
        }
        _ = post("/api/v1/projects", #"{"name":"p\u0000q"}"#, access)
        #expect(h.call("GET", "/api/v1/auth/me", bearer: access).status == 200, "a logout cut at the NUL")
        // A NUL inside a password is kept (only trailing NULs are equivalent: scrypt keys HMAC
        // with the password, and HMAC pads short keys with zeros, RFC 2104).
        #expect(post("/api/v1/auth/login", #"{"email":"ann@nul.test","password":"correct horse battery\u0000x"}"#) == 401)
        #expect(post("/api/v1/auth/me/password",
                     #"{"current_password":"correct horse battery\u0000x","new_password":"new long password"}"#, access) != 200)
        #expect(h.login("ann@nul.test").0.hasPrefix("eyJ"))
    }

    @Test func everyLoginFailureLooksTheSame() throws {
        let h = try APIHarness()
        let t = try h.tenant("acme.test")
        let u = try h.user("bob@acme.test", tenant: t)
        try h.user("dis@acme.test", tenant: t)
        try h.db.users.setStatus(userID: try #require(try h.db.users.byEmail(tenantID: t.id, email: "dis@acme.test")).id,
                                 status: "disabled", now: Time.now())
        let answers = [
            h.call("POST", "/api/v1/auth/login", json: #"{"email":"nobody@acme.test","password":"whatever12345"}"#),
            h.call("POST", "/api/v1/auth/login", json: #"{"email":"bob@acme.test","password":"wrong password!"}"#),
            h.call("POST", "/api/v1/auth/login", json: #"{"email":"dis@acme.test","password":"correct horse battery"}"#),
            h.call("POST", "/api/v1/auth/login", json: #"{"email":"bob@acme.test","password":"correct horse battery","tenant_domain":"nope.test"}"#),
        ]
        for a in answers {
            #expect(a.status == 401)
            #expect(a.response.body == answers[0].response.body)
        }
        _ = u
    }

    @Test func lockoutAfterThresholdAndReset() throws {
        let h = try APIHarness(env: ["AUTH_LOCKOUT_THRESHOLD": "3", "AUTH_LOCKOUT_SECONDS": "900"])
        let t = try h.tenant("acme.test")
        try h.user("carol@acme.test", tenant: t)
        let good = #"{"email":"carol@acme.test","password":"correct horse battery"}"#
        let bad = #"{"email":"carol@acme.test","password":"wrong wrong wrong"}"#
        #expect(h.call("POST", "/api/v1/auth/login", json: bad).status == 401)
        #expect(h.call("POST", "/api/v1/auth/login", json: good).status == 200) // success resets the count
        for _ in 0..<3 { #expect(h.call("POST", "/api/v1/auth/login", json: bad).status == 401) }
        // Locked: even the right password fails, with the same answer.
        let locked = h.call("POST", "/api/v1/auth/login", json: good)
        #expect(locked.status == 401 && locked.json?.errorCode == "invalid_credentials")
        let u = try #require(try h.db.users.byEmail(tenantID: t.id, email: "carol@acme.test"))
        try h.db.users.unlock(userID: u.id)
        #expect(h.call("POST", "/api/v1/auth/login", json: good).status == 200)
    }

    @Test func tenantResolutionWithoutDomain() throws {
        let h = try APIHarness()
        let a = try h.tenant("a.test")
        let b = try h.tenant("b.test")
        try h.user("dup@x.test", tenant: a, password: "password of a!!")
        let ub = try h.user("dup@x.test", tenant: b, password: "password of b!!")
        let r = h.call("POST", "/api/v1/auth/login", json: #"{"email":"dup@x.test","password":"password of b!!"}"#)
        #expect(r.status == 200)
        #expect(r.json?.data?["user"]?["id"]?.stringValue == ub.id)
        // The account in tenant a did not pay for b's login.
        #expect(try h.db.users.byID(try #require(try h.db.users.byEmail(tenantID: a.id, email: "dup@x.test")).id)?.failedAttempts == 0)
    }

    @Test func refreshRotationAndReuse() throws {
        let h = try APIHarness(env: ["AUTH_REFRESH_REUSE_SECONDS": "10"])
        let t = try h.tenant("acme.test")
        try h.user("dan@acme.test", tenant: t)
        let (_, r1) = h.login("dan@acme.test")
        let first = h.call("POST", "/api/v1/auth/refresh", json: #"{"refresh_token":"\#(r1)"}"#)
        #expect(first.status == 200)
        let r2 = try #require(first.json?.data?["refresh_token"]?.stringValue)
        #expect(r2 != r1)
        // A replay of the just-rotated token within the window: the same current token, no fork.
        let replay = h.call("POST", "/api/v1/auth/refresh", json: #"{"refresh_token":"\#(r1)"}"#)
        #expect(replay.status == 200)
        #expect(replay.json?.data?["refresh_token"]?.stringValue == r2)
        let second = h.call("POST", "/api/v1/auth/refresh", json: #"{"refresh_token":"\#(r2)"}"#)
        let r3 = try #require(second.json?.data?["refresh_token"]?.stringValue)
        let access3 = try #require(second.json?.data?["access_token"]?.stringValue)
        // r1 is now two behind: reuse revokes the whole session.
        let reuse = h.call("POST", "/api/v1/auth/refresh", json: #"{"refresh_token":"\#(r1)"}"#)
        #expect(reuse.status == 401 && reuse.json?.errorCode == "invalid_token")
        #expect(h.call("POST", "/api/v1/auth/refresh", json: #"{"refresh_token":"\#(r3)"}"#).status == 401)
        #expect(h.call("GET", "/api/v1/auth/me", bearer: access3).status == 401)
        #expect(try h.db.audit.list(tenantID: nil, since: nil, limit: 100).contains { $0.event == "refresh_token_reused" })
    }

    @Test func refreshReuseAfterWindowRevokes() throws {
        let h = try APIHarness(env: ["AUTH_REFRESH_REUSE_SECONDS": "0"])
        let t = try h.tenant("acme.test")
        try h.user("eve@acme.test", tenant: t)
        let (_, r1) = h.login("eve@acme.test")
        #expect(h.call("POST", "/api/v1/auth/refresh", json: #"{"refresh_token":"\#(r1)"}"#).status == 200)
        // Window 0: wait until the second changes so the replay is strictly after it.
        let start = Time.now()
        while Time.now() == start { usleep(20_000) }
        #expect(h.call("POST", "/api/v1/auth/refresh", json: #"{"refresh_token":"\#(r1)"}"#).status == 401)
    }

    @Test func refreshInputErrors() throws {
        let h = try APIHarness()
        #expect(h.call("POST", "/api/v1/auth/refresh", json: "{}").status == 400)
        #expect(h.call("POST", "/api/v1/auth/refresh", json: #"{"refresh_token":"v1.garbage"}"#).status == 401)
        #expect(h.call("POST", "/api/v1/auth/refresh", json: #"{"refresh_token":7}"#).status == 400)
    }

    @Test func sessionMaxAgeEndsRefresh() throws {
        let h = try APIHarness(env: ["AUTH_SESSION_MAX_SECONDS": "1"])
        let t = try h.tenant("acme.test")
        try h.user("max@acme.test", tenant: t)
        let (access, r1) = h.login("max@acme.test")
        #expect(try JWTPeek.exp(access) <= Time.now() + 1)
        let start = Time.now()
        while Time.now() < start + 2 { usleep(50_000) }
        #expect(h.call("POST", "/api/v1/auth/refresh", json: #"{"refresh_token":"\#(r1)"}"#).status == 401)
    }

    @Test func logoutScopes() throws {
        let h = try APIHarness()
        let t = try h.tenant("acme.test")
        try h.user("fay@acme.test", tenant: t)
        let (a1, _) = h.login("fay@acme.test")
        let (a2, _) = h.login("fay@acme.test")
        let (a3, r3) = h.login("fay@acme.test")
        // others: every session but the caller's.
        #expect(h.call("POST", "/api/v1/auth/logout?scope=others", bearer: a1).status == 200)
        #expect(h.call("GET", "/api/v1/auth/me", bearer: a1).status == 200)
        #expect(h.call("GET", "/api/v1/auth/me", bearer: a2).status == 401)
        #expect(h.call("GET", "/api/v1/auth/me", bearer: a3).status == 401)
        #expect(h.call("POST", "/api/v1/auth/refresh", json: #"{"refresh_token":"\#(r3)"}"#).status == 401)
        // local, no body and no content type (the 2Signal client sends none).
        let out = h.call("POST", "/api/v1/auth/logout", bearer: a1)
        #expect(out.status == 200 && out.json?.data == .object([("success", .bool(true))]))
        #expect(h.call("GET", "/api/v1/auth/me", bearer: a1).status == 401)
        #expect(h.call("POST", "/api/v1/auth/logout", bearer: a1).status == 401)
        let (b1, _) = h.login("fay@acme.test")
        let (b2, _) = h.login("fay@acme.test")
        #expect(h.call("POST", "/api/v1/auth/logout?scope=global", bearer: b1).status == 200)
        #expect(h.call("GET", "/api/v1/auth/me", bearer: b2).status == 401)
        #expect(h.call("POST", "/api/v1/auth/logout?scope=bogus", bearer: b2).status == 400)
        #expect(h.call("POST", "/api/v1/auth/logout").status == 401)
    }

    @Test func logoutWithRefreshTokenOnly() throws {
        let h = try APIHarness()
        let t = try h.tenant("acme.test")
        try h.user("gil@acme.test", tenant: t)
        let (a, r) = h.login("gil@acme.test")
        #expect(h.call("POST", "/api/v1/auth/logout", json: #"{"refresh_token":"\#(r)"}"#, bearer: "eyJ.expired.x").status == 200)
        #expect(h.call("GET", "/api/v1/auth/me", bearer: a).status == 401)
    }
}

/// Reads `exp` from a token without verifying it (tests only).
enum JWTPeek {
    static func exp(_ token: String) throws -> Int64 {
        let parts = token.split(separator: ".")
        let payload = try #require(Base64URL.decode(parts[1]))
        return try #require(JSONParser.parse(payload)?["exp"]?.intValue)
    }
}
