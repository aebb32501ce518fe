import AuthCrypto
import Foundation
import TestSupport
import Testing
@testable import AuthCore

/// Multi-statement writes are one transaction: a failure between two statements leaves
/// nothing half done, and a busy database answers 503 `unavailable`, not 500.
@Suite struct AtomicWriteTests {
    static let oldPassword = "correct horse battery"
    static let newPassword = "a brand new password"
    static let change = #"{"current_password":"correct horse battery","new_password":"a brand new password"}"#

    /// A trigger that makes `event` (`INSERT`, `UPDATE OF col`) on `table` fail: TEMP on this
    /// worker's own SQLite connection (nobody else sees it); on PostgreSQL a PL/pgSQL one (the
    /// test's database is its own).
    static func injectFailure(_ h: APIHarness, before event: String, on table: String) throws {
        if TestBackend.isSQLite {
            try h.db.connection.execScript("""
                CREATE TEMP TRIGGER inject_failure BEFORE \(event) ON main.\(table)
                BEGIN SELECT RAISE(ABORT, 'injected failure'); END;
                """)
        } else {
            try h.db.connection.execScript("""
                CREATE FUNCTION inject_failure() RETURNS trigger LANGUAGE plpgsql
                AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$;
                CREATE TRIGGER inject_failure BEFORE \(event) ON \(table) FOR EACH ROW EXECUTE FUNCTION inject_failure();
                """)
        }
    }

    static func removeFailure(_ h: APIHarness, on table: String) throws {
        try h.db.connection.execScript(TestBackend.isSQLite ? "DROP TRIGGER temp.inject_failure;"
                                       : "DROP TRIGGER inject_failure ON \(table); DROP FUNCTION inject_failure();")
    }

    /// A trigger on this worker's own connection (TEMP: nobody else sees it) makes the last
    /// statement of the password change (revoking the other sessions) fail.
    @Test func passwordChangeIsAllOrNothing() throws {
        let h = try APIHarness()
        let t = try h.tenant("acme.test")
        let user = try h.user("pw@acme.test", tenant: t)
        let (mine, _) = h.login("pw@acme.test")
        let (other, _) = h.login("pw@acme.test")
        try Self.injectFailure(h, before: "UPDATE OF revoked_at", on: "sessions")
        let failed = h.call("POST", "/api/v1/auth/me/password", json: Self.change, bearer: mine)
        #expect(failed.status == 500 && failed.json?.errorCode == "internal")
        // Nothing happened: the old hash is in place and every session is live.
        #expect(try h.db.users.byID(user.id)?.passwordHash == user.passwordHash)
        #expect(h.call("GET", "/api/v1/auth/me", bearer: other).status == 200)
        #expect(try h.db.audit.list(tenantID: t.id).contains { $0.event == "password_changed" } == false)
        try Self.removeFailure(h, on: "sessions")
        let refused = h.call("POST", "/api/v1/auth/login",
                             json: #"{"email":"pw@acme.test","password":"a brand new password"}"#)
        #expect(refused.status == 401)
        #expect(h.login("pw@acme.test", Self.oldPassword).0.hasPrefix("eyJ"))

        // All of it: the new password, the other sessions revoked, the caller's kept.
        #expect(h.call("POST", "/api/v1/auth/me/password", json: Self.change, bearer: mine).status == 200)
        #expect(h.call("GET", "/api/v1/auth/me", bearer: other).status == 401)
        #expect(h.call("GET", "/api/v1/auth/me", bearer: mine).status == 200)
        #expect(h.login("pw@acme.test", Self.newPassword).0.hasPrefix("eyJ"))
        #expect(try h.db.audit.list(tenantID: t.id).contains { $0.event == "password_changed" })
    }

    /// Another connection holds the write lock past the busy handler's 5 s: 503 with
    /// Retry-After, nothing written; once it lets go the same request succeeds.
    @Test(.enabled(if: TestBackend.isSQLite, "SQLite's write lock (BEGIN IMMEDIATE) past the busy handler"))
    func busyDatabaseAnswers503NotA500() throws {
        let h = try APIHarness()
        let t = try h.tenant("acme.test")
        let user = try h.user("busy@acme.test", tenant: t)
        let (mine, _) = h.login("busy@acme.test")
        let (other, _) = h.login("busy@acme.test")
        let blocker = try Database(path: h.app.settings.dbPath)
        try blocker.connection.execute("BEGIN IMMEDIATE")
        let busy = h.call("POST", "/api/v1/auth/me/password", json: Self.change, bearer: mine)
        try blocker.connection.execute("ROLLBACK")
        #expect(busy.status == 503 && busy.json?.errorCode == "unavailable")
        #expect(busy.response.header("Retry-After") == "1")
        #expect(try h.db.users.byID(user.id)?.passwordHash == user.passwordHash)
        #expect(h.call("GET", "/api/v1/auth/me", bearer: other).status == 200)
        #expect(h.call("POST", "/api/v1/auth/me/password", json: Self.change, bearer: mine).status == 200)
        #expect(h.call("GET", "/api/v1/auth/me", bearer: other).status == 401)
    }

    /// PostgreSQL: another connection holds the user's row lock past `lock_timeout` (5 s): the
    /// password change answers 503 with Retry-After (not 500), writes nothing, and succeeds
    /// once the lock is gone.
    @Test(.enabled(if: TestBackend.isPostgres, "PostgreSQL row locks and lock_timeout"))
    func lockedRowAnswers503NotA500() throws {
        let h = try APIHarness()
        let t = try h.tenant("acme.test")
        let user = try h.user("busy@acme.test", tenant: t)
        let (mine, _) = h.login("busy@acme.test")
        let (other, _) = h.login("busy@acme.test")
        let blocker = try h.openDatabase()
        let holding = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) let holder = blocker
        let userID = user.id
        let thread = Thread {
            defer { done.signal() }
            try? holder.transaction {
                _ = try holder.connection.queryFirst("SELECT id FROM users WHERE id = ? FOR UPDATE", [.text(userID)]) { $0.text(0) }
                holding.signal()
                _ = release.wait(timeout: .now() + 30)
            }
        }
        thread.start()
        try holding.wait(seconds: 10, for: "another connection to hold the user's row lock")
        let busy = h.call("POST", "/api/v1/auth/me/password", json: Self.change, bearer: mine)
        release.signal()
        try done.wait(seconds: 10, for: "the row lock to be released")
        #expect(busy.status == 503 && busy.json?.errorCode == "unavailable", "\(busy.status) \(String(decoding: busy.response.body, as: UTF8.self))")
        #expect(busy.response.header("Retry-After") != nil)
        #expect(try h.db.users.byID(user.id)?.passwordHash == user.passwordHash)
        #expect(h.call("GET", "/api/v1/auth/me", bearer: other).status == 200)
        #expect(h.call("POST", "/api/v1/auth/me/password", json: Self.change, bearer: mine).status == 200)
        #expect(h.call("GET", "/api/v1/auth/me", bearer: other).status == 401)
    }

    /// A login's success writes (reset counts, undo the other tenants' counts, the session,
    /// the audit rows) commit together: a failing session insert leaves the counted attempts
    /// as they were and no audit row claiming a login.
    @Test func loginSuccessWritesAreOneTransaction() throws {
        let h = try APIHarness()
        let a = try h.tenant("a.test")
        let b = try h.tenant("b.test")
        let mine = try h.user("twin@x.test", tenant: a)
        let twin = try h.user("twin@x.test", tenant: b, password: "another password 42")
        try Self.injectFailure(h, before: "INSERT", on: "sessions")
        let r = h.call("POST", "/api/v1/auth/login", json: #"{"email":"twin@x.test","password":"correct horse battery"}"#)
        #expect(r.status == 500)
        #expect(try h.db.users.byID(mine.id)?.failedAttempts == 1)
        #expect(try h.db.users.byID(twin.id)?.failedAttempts == 1)
        let events = try h.db.audit.list().map(\.event)
        #expect(!events.contains("login_succeeded") && !events.contains("login_tenant_resolved"))
        try Self.removeFailure(h, on: "sessions")
        #expect(h.login("twin@x.test").0.hasPrefix("eyJ"))
        #expect(try h.db.users.byID(mine.id)?.failedAttempts == 0)
        #expect(try h.db.users.byID(twin.id)?.failedAttempts == 1)   // the first request's count stays
        #expect(try h.db.audit.list().map(\.event).contains("login_tenant_resolved"))
    }
}
