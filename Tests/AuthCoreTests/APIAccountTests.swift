import AuthCrypto
import Foundation
import TestSupport
import Testing
@testable import AuthCore

@Suite struct APIAccountTests {
    @Test func meInBothProfiles() throws {
        let h = try APIHarness()
        let t = try h.tenant("acme.test")
        let u = try h.user("me@acme.test", tenant: t, role: "supervisor")
        let (a, _) = h.login("me@acme.test")
        let me = h.call("GET", "/api/v1/auth/me", bearer: a)
        #expect(me.json?.data == .object([("id", .string(u.id)), ("email", .string("me@acme.test")),
                                          ("tenant_id", .string(t.id)), ("role", .string("supervisor"))]))
        let g = try APIHarness(profile: "get2dial")
        let gt = try g.tenant("acme.test")
        try g.user("me@acme.test", tenant: gt)
        let (ga, _) = g.login("me@acme.test")
        let gme = g.call("GET", "/api/v1/auth/me", bearer: ga)
        #expect(gme.json?.data?["created_at"]?.stringValue?.hasSuffix("Z") == true)
        #expect(g.call("GET", "/api/v1/auth/me").status == 401)
        #expect(g.call("GET", "/api/v1/auth/me").response.header("WWW-Authenticate") == "Bearer")
        #expect(g.call("GET", "/api/v1/auth/me", bearer: "garbage").response.header("WWW-Authenticate")
                == "Bearer error=\"invalid_token\"")
    }

    @Test func changePasswordRules() throws {
        let h = try APIHarness()
        let t = try h.tenant("acme.test")
        try h.user("pw@acme.test", tenant: t)
        let (a, _) = h.login("pw@acme.test")
        let (other, _) = h.login("pw@acme.test")
        func change(_ cur: String, _ new: String) -> (status: Int, json: JSON?, response: Response) {
            h.call("POST", "/api/v1/auth/me/password", json: #"{"current_password":"\#(cur)","new_password":"\#(new)"}"#, bearer: a)
        }
        #expect(change("correct horse battery", "short").json?.errorCode == "weak_password")
        #expect(change("correct horse battery", "pw@acme.test").json?.errorCode == "weak_password")
        #expect(change("correct horse battery", "correct horse battery").json?.errorCode == "weak_password")
        #expect(change("wrong current pw", "a brand new password").status == 401)
        #expect(h.call("POST", "/api/v1/auth/me/password", json: "{}", bearer: a).status == 400)
        #expect(change("correct horse battery", "a brand new password").status == 200)
        #expect(h.call("GET", "/api/v1/auth/me", bearer: a).status == 200)      // the caller's session stays
        #expect(h.call("GET", "/api/v1/auth/me", bearer: other).status == 401)  // every other one is revoked
        #expect(h.call("POST", "/api/v1/auth/login", json: #"{"email":"pw@acme.test","password":"correct horse battery"}"#).status == 401)
        #expect(h.login("pw@acme.test", "a brand new password").0.hasPrefix("eyJ"))
    }

    @Test func mustChangePasswordConfinesTheSession() throws {
        let h = try APIHarness()
        let t = try h.tenant("acme.test")
        try h.user("new@acme.test", tenant: t, mustChange: true)
        let (a, _) = h.login("new@acme.test")
        #expect(h.call("GET", "/api/v1/auth/me", bearer: a).status == 200)
        let s = h.call("GET", "/api/v1/auth/sessions", bearer: a)
        #expect(s.status == 403 && s.json?.errorCode == "password_change_required")
        let v = h.call("GET", "/anything", bearer: a, verify: GatePolicy())
        #expect(v.status == 403)
        #expect(h.call("POST", "/api/v1/auth/me/password",
                       json: #"{"current_password":"correct horse battery","new_password":"now a good password"}"#, bearer: a).status == 200)
        #expect(h.call("GET", "/api/v1/auth/sessions", bearer: a).status == 200)
        #expect(h.call("GET", "/anything", bearer: a, verify: GatePolicy()).status == 204)
    }

    @Test func sessionsListAndRevoke() throws {
        let h = try APIHarness()
        let t = try h.tenant("acme.test")
        try h.user("ses@acme.test", tenant: t)
        try h.user("other@acme.test", tenant: t)
        let (a, _) = h.login("ses@acme.test")
        let (b, _) = h.login("ses@acme.test")
        let (o, _) = h.login("other@acme.test")
        let list = try #require(h.call("GET", "/api/v1/auth/sessions", bearer: a).json?.data?.arrayValue)
        #expect(list.count == 2)
        #expect(list.filter { $0["current"] == .bool(true) }.count == 1)
        let otherID = try #require(list.first { $0["current"] == .bool(false) }?["id"]?.stringValue)
        // Someone else's session is not found, not revoked.
        #expect(h.call("DELETE", "/api/v1/auth/sessions/\(otherID)", bearer: o).status == 404)
        #expect(h.call("DELETE", "/api/v1/auth/sessions/\(otherID)", bearer: a).status == 200)
        #expect(h.call("GET", "/api/v1/auth/me", bearer: b).status == 401)
        #expect(h.call("DELETE", "/api/v1/auth/sessions/\(otherID)", bearer: a).status == 404)
    }

    /// AUTH_HASH_QUEUE 0 explicitly, or 64 lowered to 1 because AUTH_THREADS is 4 (logins may hold at most half the threads).
    @Test(arguments: [["AUTH_HASH_QUEUE": "0"], ["AUTH_HASH_QUEUE": "64", "AUTH_THREADS": "4"]])
    func hashQueueFullAnswers503(_ extra: [String: String]) throws {
        let h = try APIHarness(env: ["AUTH_HASH_CONCURRENCY": "1", "AUTH_SCRYPT": "ln=14,r=8,p=1"].merging(extra) { $1 })
        let t = try h.tenant("acme.test")
        try h.user("busy@acme.test", tenant: t)
        nonisolated(unsafe) let app = h.app
        let statuses = try onThreads(6) { _ -> Int in
            let w = try app.makeWorker()
            let r = w.handle(Request(method: "POST", path: "/api/v1/auth/login",
                                     body: Array(#"{"email":"busy@acme.test","password":"correct horse battery"}"#.utf8)))
            if r.status == 503 { #expect(r.header("Retry-After") != nil) }
            return r.status
        }.map { try $0.get() }
        #expect(statuses.contains(503))
        #expect(statuses.contains(200))
        #expect(statuses.allSatisfy { $0 == 200 || $0 == 503 })
    }
}

@Suite struct MaintenanceTests {
    @Test func prunesOldAuditRowsAndDeadSessions() throws {
        let h = try APIHarness(env: ["AUTH_AUDIT_RETENTION_DAYS": "90", "AUTH_REFRESH_TTL_SECONDS": "100"])
        let t = try h.tenant("acme.test")
        let u = try h.user("old@acme.test", tenant: t)
        let now = Time.now()
        try h.db.audit.record("ancient", tenantID: t.id, actor: nil, ip: nil, detail: nil, at: now - 91 * 86_400)
        try h.db.audit.record("recent", tenantID: t.id, actor: nil, ip: nil, detail: nil, at: now - 89 * 86_400)
        let dead = try h.db.sessions.create(userID: u.id, now: now - 10_000, userAgent: "", ip: "")
        let live = try h.db.sessions.create(userID: u.id, now: now, userAgent: "", ip: "")
        let pruned = h.app.runMaintenance(db: h.db, now: now)
        #expect(pruned.audit == 1 && pruned.sessions == 1)
        #expect(try h.db.sessions.byID(dead.id) == nil)
        #expect(try h.db.sessions.byID(live.id) != nil)
        #expect(try h.db.audit.list(tenantID: t.id, since: nil, limit: 10).map(\.event) == ["recent"])
    }
}
