import AuthCrypto
import Foundation
import TestSupport
import Testing
@testable import AuthCore

/// Review finding 5 (issue 19 item 7): a login that verified the old password while a password
/// change committed. The race is forced, not hoped for: `TestHooks.afterPasswordCheck` runs the
/// change on a second worker (its own connection, as another responder thread would) at the one
/// point where the login has checked the password and written nothing yet. On both stores.
@Suite struct APILoginRaceTests {
    static let old = "correct horse battery"
    static let new = "a brand new passphrase"

    /// A request on another worker of the same app: another responder thread.
    static func call(_ worker: Worker, _ method: String, _ path: String, json: String, bearer: String) -> Response {
        worker.handle(Request(method: method, path: path, query: "",
                              headers: ["authorization": "Bearer \(bearer)", "content-type": "application/json"],
                              body: Array(json.utf8), remoteAddress: "127.0.0.1"))
    }

    /// Arms the hook to run `body` on the next login's password check, once.
    static func once(_ h: APIHarness, _ body: @escaping @Sendable (String) -> Void) -> Locked<Int> {
        let fired = Locked(0)
        h.app.testHooks.afterPasswordCheck = { userID in
            guard fired.withLock({ count in count += 1; return count == 1 }) else { return }
            body(userID)
        }
        return fired
    }

    /// The password change through the API, from the user's existing session, mid-login.
    static func changePasswordMidLogin(_ h: APIHarness, token: String) throws -> Locked<Int> {
        let changer = try h.app.makeWorker()
        let status = Locked(0)
        nonisolated(unsafe) let worker = changer
        let body = #"{"current_password":"\#(old)","new_password":"\#(new)"}"#
        h.app.testHooks.afterPasswordCheck = { _ in
            let done = status.withLock { $0 != 0 }
            guard !done else { return }
            let r = call(worker, "POST", "/api/v1/auth/me/password", json: body, bearer: token)
            status.withLock { $0 = r.status }
        }
        return status
    }

    @Test func loginThatCheckedTheOldPasswordGetsNoSession() throws {
        let h = try APIHarness()
        let t = try h.tenant("acme.test")
        let u = try h.user("race@acme.test", tenant: t, password: Self.old)
        let (mine, _) = h.login("race@acme.test", Self.old)
        let changed = try Self.changePasswordMidLogin(h, token: mine)

        let racing = h.call("POST", "/api/v1/auth/login", json: #"{"email":"race@acme.test","password":"\#(Self.old)"}"#)
        #expect(changed.withLock { $0 } == 200, "the password change ran inside the login")
        #expect(racing.status == 401 && racing.json?.errorCode == "invalid_credentials",
                "a login that proved the old password after the change: \(racing.status)")
        h.app.testHooks.afterPasswordCheck = nil

        // The only live session is the one that changed the password; the new password works.
        let live = try h.db.sessions.listLive(userID: u.id, now: Time.now(), maxAge: 86_400)
        #expect(live.count == 1, "live sessions after the race: \(live.count)")
        #expect(h.call("GET", "/api/v1/auth/me", bearer: mine).status == 200)
        #expect(h.call("POST", "/api/v1/auth/login", json: #"{"email":"race@acme.test","password":"\#(Self.old)"}"#).status == 401)
        let (fresh, _) = h.login("race@acme.test", Self.new)
        #expect(!fresh.isEmpty)
    }

    /// The AUTH_SCRYPT-changed variant: the login's lazy hash upgrade must not write the old
    /// password's hash over the new one.
    @Test func hashUpgradeNeverWritesTheOldPasswordBack() throws {
        let h = try APIHarness()
        let t = try h.tenant("acme.test")
        let stale = try PasswordHash.make(password: Self.old, parameters: ScryptParameters(ln: 5, r: 8, p: 1))
        let u = try h.db.users.create(tenantID: t.id, email: "up@acme.test", passwordHash: stale, role: "agent",
                                      mustChangePassword: false, now: Time.now())
        let (mine, _) = h.login("up@acme.test", Self.old)   // upgrades to AUTH_SCRYPT (no race)
        let upgradedOnce = try #require(try h.db.users.byID(u.id)).passwordHash
        #expect(PasswordHash.parameters(of: upgradedOnce) == h.app.scrypt)
        // Back to the stale parameters, so the racing login upgrades again.
        _ = try h.db.users.setPassword(userID: u.id, hash: stale, mustChange: false, now: Time.now())
        let changed = try Self.changePasswordMidLogin(h, token: mine)

        let racing = h.call("POST", "/api/v1/auth/login", json: #"{"email":"up@acme.test","password":"\#(Self.old)"}"#)
        h.app.testHooks.afterPasswordCheck = nil
        #expect(changed.withLock { $0 } == 200)
        #expect(racing.status == 401, "racing login: \(racing.status)")
        let stored = try #require(try h.db.users.byID(u.id)).passwordHash
        #expect(PasswordHash.verify(password: Self.new, encoded: stored), "the new password was overwritten")
        #expect(!PasswordHash.verify(password: Self.old, encoded: stored), "the old password came back")
        #expect(h.call("POST", "/api/v1/auth/login", json: #"{"email":"up@acme.test","password":"\#(Self.new)"}"#).status == 200)
    }

    /// The upgrade is a compare-and-swap on the hash alone: an admin's must-change flag set
    /// mid-login stays set (the old upgrade wrote the flag it had read before hashing).
    @Test func hashUpgradeKeepsAMustChangeFlagSetMeanwhile() throws {
        let h = try APIHarness()
        let t = try h.tenant("acme.test")
        let stale = try PasswordHash.make(password: Self.old, parameters: ScryptParameters(ln: 5, r: 8, p: 1))
        let u = try h.db.users.create(tenantID: t.id, email: "flag@acme.test", passwordHash: stale, role: "agent",
                                      mustChangePassword: false, now: Time.now())
        let admin = try h.openDatabase()
        nonisolated(unsafe) let adminDB = admin
        let fired = Self.once(h) { userID in
            _ = try? adminDB.users.setPassword(userID: userID, hash: stale, mustChange: true, now: Time.now())
        }
        let r = h.call("POST", "/api/v1/auth/login", json: #"{"email":"flag@acme.test","password":"\#(Self.old)"}"#)
        h.app.testHooks.afterPasswordCheck = nil
        #expect(fired.withLock { $0 } == 1)
        #expect(r.status == 200, "the hash did not change, so the login stands: \(r.status)")
        let user = try #require(try h.db.users.byID(u.id))
        #expect(user.mustChangePassword, "the upgrade wrote back a stale must_change_password")
        #expect(PasswordHash.parameters(of: user.passwordHash) == h.app.scrypt, "the upgrade did not happen")
        #expect(PasswordHash.verify(password: Self.old, encoded: user.passwordHash))
    }
}
