import AuthCrypto
import Foundation
import TestSupport
import Testing
@testable import AuthCore

/// Issue 23's token rules through the core router, on both stores (scripts/test.sh runs the
/// API*Tests suites on PostgreSQL too): single use, expiry, replaced by a newer request, dead
/// after any password change, opening the page consumes nothing, racing resets consume once; a
/// reset clears the lockout, revokes every session and keeps a second factor; invites; the
/// tenants' require_verified_email.
@Suite struct APIMailTokenTests {
    static let env = ["AUTH_PUBLIC_URL": "https://auth.test", "AUTH_LOCKOUT_THRESHOLD": "3"]
    static let newPassword = "a brand new passphrase 42"

    /// The token of the newest outbox message (the stored mail, as the sender would deliver it).
    static func mailedToken(_ h: APIHarness, page: String = "reset") throws -> String {
        let message = try #require(try h.db.outbox.recent(limit: 1).first?.message)
        let m = try #require(message.firstMatch(of: try Regex("https://auth.test/auth/\(page)#token=([A-Z2-7]{32})")))
        return try #require(m.output[1].substring.map(String.init))
    }

    static func forgot(_ h: APIHarness, _ email: String) {
        let r = h.call("POST", "/api/v1/auth/password/forgot", json: #"{"email":"\#(email)"}"#)
        #expect(r.status == 202)
    }

    static func reset(_ h: APIHarness, _ token: String, _ password: String = newPassword) -> (status: Int, code: String?) {
        let r = h.call("POST", "/api/v1/auth/password/reset", json: #"{"token":"\#(token)","new_password":"\#(password)"}"#)
        return (r.status, r.json?.errorCode)
    }

    @Test func singleUseAndOpeningThePageConsumesNothing() throws {
        let h = try APIHarness(env: Self.env)
        let t = try h.tenant("mail.test")
        let user = try h.user("ann@mail.test", tenant: t)
        Self.forgot(h, "ann@mail.test")
        let token = try Self.mailedToken(h)
        let stored = try h.db.accountTokens.forUser(user.id)
        #expect(stored.count == 1 && stored[0].tokenHash == AccountTokenCode.hash(token) && stored[0].tokenHash != token,
                "stored as a hash only")
        #expect(stored[0].expiresAt - stored[0].createdAt == 1800, "AUTH_RESET_TTL_SECONDS default")
        for _ in 0..<3 { #expect(h.call("GET", "/auth/reset").status == 200) }
        #expect(try h.db.accountTokens.live(hash: AccountTokenCode.hash(token), purpose: "reset", now: Time.now()) != nil)
        #expect(Self.reset(h, token).status == 200)
        #expect(Self.reset(h, token, "another fine passphrase").code == "invalid_link")
        _ = h.login("ann@mail.test", Self.newPassword)
        #expect(try h.db.users.byID(user.id)?.emailVerifiedAt != nil, "a completed reset proves the address")
    }

    @Test func expiryAndTTLSetting() throws {
        let h = try APIHarness(env: Self.env.merging(["AUTH_RESET_TTL_SECONDS": "60"]) { $1 })
        let t = try h.tenant("mail.test")
        let user = try h.user("ann@mail.test", tenant: t)
        Self.forgot(h, "ann@mail.test")
        let token = try Self.mailedToken(h)
        let row = try #require(try h.db.accountTokens.forUser(user.id).first)
        #expect(row.expiresAt - row.createdAt == 60)
        _ = try h.db.connection.execute("UPDATE account_tokens SET expires_at = ?", [.int(Time.now())])
        #expect(Self.reset(h, token).code == "invalid_link", "expired")
        _ = h.login("ann@mail.test")
    }

    @Test func aNewerRequestReplacesTheOlderToken() throws {
        let h = try APIHarness(env: Self.env)
        let t = try h.tenant("mail.test")
        try h.user("ann@mail.test", tenant: t)
        Self.forgot(h, "ann@mail.test")
        let first = try Self.mailedToken(h)
        Self.forgot(h, "ann@mail.test")
        let second = try Self.mailedToken(h)
        #expect(first != second)
        #expect(Self.reset(h, first).code == "invalid_link")
        #expect(Self.reset(h, second).status == 200)
    }

    @Test func deadAfterAnyPasswordChange() throws {
        let h = try APIHarness(env: Self.env)
        let t = try h.tenant("mail.test")
        try h.user("ann@mail.test", tenant: t)
        Self.forgot(h, "ann@mail.test")
        let token = try Self.mailedToken(h)
        let (access, _) = h.login("ann@mail.test")
        let changed = h.call("POST", "/api/v1/auth/me/password",
                             json: #"{"current_password":"correct horse battery","new_password":"changed the usual way 1"}"#, bearer: access)
        #expect(changed.status == 200)
        #expect(Self.reset(h, token).code == "invalid_link")
    }

    @Test func resetClearsTheLockRevokesSessionsKeepsTheFactor() throws {
        let h = try APIHarness.withSecrets(env: Self.env)
        let t = try h.tenant("mail.test")
        try h.user("ann@mail.test", tenant: t)
        let (level1, _) = h.login("ann@mail.test")
        let enrolled = try h.enrolTOTP(level1)
        for _ in 0..<3 {
            _ = h.call("POST", "/api/v1/auth/login", json: #"{"email":"ann@mail.test","password":"not the password"}"#)
        }
        #expect(h.call("POST", "/api/v1/auth/login", json: #"{"email":"ann@mail.test","password":"correct horse battery"}"#).status == 401,
                "locked")
        Self.forgot(h, "ann@mail.test")   // a locked account still gets its link
        #expect(Self.reset(h, try Self.mailedToken(h)).status == 200)
        #expect(h.call("GET", "/api/v1/auth/me", bearer: enrolled.access).status == 401, "every session revoked")
        let login = h.call("POST", "/api/v1/auth/login", json: #"{"email":"ann@mail.test","password":"\#(Self.newPassword)"}"#)
        #expect(login.status == 200 && login.json?.data?["mfa_required"] == .bool(true), "unlocked, and the factor stays")
        let audit = try h.db.audit.list(limit: 50).map(\.event)
        #expect(audit.contains("password_reset"))
    }

    @Test func racingResetsConsumeOnce() throws {
        let h = try APIHarness(env: Self.env)
        let t = try h.tenant("mail.test")
        try h.user("ann@mail.test", tenant: t)
        Self.forgot(h, "ann@mail.test")
        let token = try Self.mailedToken(h)
        let app = h.app
        // Forced, not hoped for: every submission has found the token live before any consumes it.
        let arrived = Locked(0)
        h.app.testHooks.afterTokenCheck = { _ in
            arrived.withLock { $0 += 1 }
            let deadline = Date().addingTimeInterval(10)
            while arrived.withLock({ $0 }) < 6 && Date() < deadline { usleep(1000) }
        }
        defer { h.app.testHooks.afterTokenCheck = nil }
        let statuses = try onThreads(6) { i -> Int in
            let w = try app.makeWorker()
            let body = #"{"token":"\#(token)","new_password":"racing passphrase \#(i)x"}"#
            let req = Request(method: "POST", path: "/api/v1/auth/password/reset", query: "",
                              headers: ["content-type": "application/json"], body: Array(body.utf8), remoteAddress: "127.0.0.1")
            return w.handle(req).status
        }.map { try $0.get() }
        #expect(statuses.filter { $0 == 200 }.count == 1 && statuses.filter { $0 == 400 }.count == 5, "\(statuses)")
        #expect(arrived.withLock { $0 } == 6, "all six passed the live check before the first consume")
    }

    @Test func invitesAndRequireVerifiedEmail() throws {
        let h = try APIHarness(env: Self.env)
        let t = try h.tenant("mail.test")
        try h.user("old@mail.test", tenant: t)
        let invited = try Invites.invite(db: h.db, settings: h.app.settings, tenantID: t.id, email: "new@mail.test", role: "agent", mail: true)
        let token = try Self.mailedToken(h, page: "invite")
        #expect(invited.link == "https://auth.test/auth/invite#token=" + token)
        #expect(try h.db.outbox.recent(limit: 1).first?.recipient == "new@mail.test")
        // Re-sent: the older link dies.
        let resent = try Invites.invite(db: h.db, settings: h.app.settings, tenantID: t.id, email: "new@mail.test", role: "agent", mail: false)
        let accept = { (token: String) in
            h.call("POST", "/api/v1/auth/invite/accept", json: #"{"token":"\#(token)","password":"\#(Self.newPassword)"}"#)
        }
        #expect(accept(token).json?.errorCode == "invalid_link")
        try h.db.tenants.setRequireVerifiedEmail(tenantID: t.id, true)
        let ok = accept(String(resent.link.split(separator: "=").last!))
        #expect(ok.status == 200 && ok.json?.data?["access_token"]?.stringValue != nil)
        _ = h.login("new@mail.test", Self.newPassword)
        // An unverified account: the right password gets the stable code, a wrong one the usual 401.
        let refused = h.call("POST", "/api/v1/auth/login", json: #"{"email":"old@mail.test","password":"correct horse battery"}"#)
        #expect(refused.status == 403 && refused.json?.errorCode == "email_not_verified")
        let wrong = h.call("POST", "/api/v1/auth/login", json: #"{"email":"old@mail.test","password":"wrong wrong wrong"}"#)
        #expect(wrong.status == 401 && wrong.json?.errorCode == "invalid_credentials")
        // Revoked: the link is dead, the account stays without a password.
        let third = try Invites.invite(db: h.db, settings: h.app.settings, tenantID: t.id, email: "third@mail.test", role: "agent", mail: false)
        #expect(try Invites.revoke(db: h.db, userID: third.user.id))
        #expect(accept(String(third.link.split(separator: "=").last!)).json?.errorCode == "invalid_link")
    }
}

extension APIMailTokenTests {
    /// The hourly maintenance: used or expired tokens after a day, sent rows' metadata and dead
    /// rows' text after the audit retention.
    @Test func maintenancePrunesTokensAndOldOutboxRows() throws {
        let h = try APIHarness(env: Self.env)
        let t = try h.tenant("mail.test")
        let user = try h.user("ann@mail.test", tenant: t)
        Self.forgot(h, "ann@mail.test")
        Self.forgot(h, "nobody@mail.test")
        let row = try #require(try h.db.outbox.recent(limit: 1).first)
        try h.db.outbox.markSent(id: row.id, now: Time.now())
        #expect(try h.db.outbox.byID(row.id)?.message == nil, "sent: the text is gone at once")
        _ = h.app.runMaintenance(db: h.db, now: Time.now() + 2 * 86_400)
        #expect(try h.db.accountTokens.forUser(user.id).isEmpty, "an expired token after a day")
        #expect(try h.db.outbox.byID(row.id) != nil, "metadata kept within the retention")
        _ = h.app.runMaintenance(db: h.db, now: Time.now() + 91 * 86_400)
        #expect(try h.db.outbox.byID(row.id) == nil)
    }
}

extension APIMailTokenTests {
    /// Both API profiles: the same routes and statuses, each profile's envelope; an accepted invite
    /// answers with the profile's login answer (Get2Dial's user object has its `status`; 2Signal's
    /// gains nothing).
    @Test(arguments: ["2signal", "get2dial"])
    func bothProfiles(profile: String) throws {
        let h = try APIHarness(profile: profile, env: Self.env)
        let t = try h.tenant("mail.test")
        try h.user("ann@mail.test", tenant: t)
        let asked = h.call("POST", "/api/v1/auth/password/forgot", json: #"{"email":"ann@mail.test"}"#)
        let nobody = h.call("POST", "/api/v1/auth/password/forgot", json: #"{"email":"nobody@mail.test"}"#)
        #expect(asked.status == 202 && asked.response.body == nobody.response.body)
        if profile == "get2dial" { #expect(asked.json?["status"]?.stringValue == "success") } else { #expect(asked.json?["error"] == .null) }
        #expect(Self.reset(h, try Self.mailedToken(h)).status == 200)
        let bad = h.call("POST", "/api/v1/auth/password/reset", json: #"{"token":"AAAA","new_password":"x"}"#)
        #expect(bad.status == 400 && bad.json?.errorCode == "invalid_link")
        let invited = try Invites.invite(db: h.db, settings: h.app.settings, tenantID: t.id, email: "new@mail.test", role: "agent", mail: false)
        let token = String(invited.link.split(separator: "=").last!)
        let accepted = h.call("POST", "/api/v1/auth/invite/accept", json: #"{"token":"\#(token)","password":"\#(Self.newPassword)"}"#)
        #expect(accepted.status == 200)
        let data = try #require(accepted.json?.data)
        let user = try #require(data["user"])
        if profile == "get2dial" {
            #expect(data["token"]?.stringValue != nil && user["status"]?.stringValue == "active")
        } else {
            #expect(data["access_token"]?.stringValue != nil && user["status"] == nil && user["email_verified_at"] == nil)
        }
    }
}
