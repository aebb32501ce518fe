import AuthCrypto
import Foundation
import TestSupport
import Testing
@testable import AuthCore

/// Issue 19, item 1: one classification of storage failures (StorageError.Failure) for both
/// stores, and what a client, the metrics and the log see of it.
@Suite struct StorageOutageTests {
    @Test func sqliteCodesAreClassified() {
        func kind(_ code: Int32) -> StorageError.Failure { StorageError(code: ResultCode(rawValue: code), message: "").failure }
        #expect(kind(13) == .full)                     // SQLITE_FULL
        #expect(kind(10) == .io)                       // SQLITE_IOERR
        #expect(kind(10 | (3 << 8)) == .io)            // SQLITE_IOERR_WRITE
        #expect(kind(10 | (4 << 8)) == .io)            // SQLITE_IOERR_FSYNC
        #expect(kind(10 | (13 << 8)) == .io)           // SQLITE_IOERR_ACCESS: every extended I/O code
        #expect(kind(8) == .readonly)                  // SQLITE_READONLY
        #expect(kind(8 | (4 << 8)) == .readonly)       // SQLITE_READONLY_DBMOVED
        #expect(kind(14) == .cantopen)                 // SQLITE_CANTOPEN
        #expect(kind(7) == .nomem)
        #expect(kind(5) == .busy && kind(6) == .busy && kind(5 | (2 << 8)) == .busy)
        #expect(kind(19) == .other && kind(1) == .other && kind(11) == .other)   // constraint, error, corrupt: bugs
    }

    @Test func postgresStatesAreClassified() {
        func kind(_ state: String) -> StorageError.Failure { StorageError(sqlstate: state, message: "").failure }
        #expect(kind("53100") == .full)       // disk_full
        #expect(kind("53200") == .nomem)      // out_of_memory
        #expect(kind("53400") == .full)       // configuration_limit_exceeded
        #expect(kind("53000") == .full)       // insufficient_resources
        #expect(kind("53300") == .full)       // the server's too_many_connections
        #expect(kind("25006") == .readonly)   // read_only_sql_transaction (a standby)
        #expect(kind("40001") == .busy && kind("55P03") == .busy && kind("08006") == .busy)
        #expect(kind("23505") == .other && kind("42601") == .other)
        // The pool's own wait for a free connection is contention, not an outage.
        #expect(StorageError(code: .busy, sqlstate: "53300", message: "pool").failure == .busy)
    }

    /// PostgreSQL out of disk (53100, raised by a trigger exactly as the server raises it),
    /// read-only (25006) and out of another resource (53400), end to end through the API: 503
    /// `storage_unavailable` with Retry-After in both profiles' envelopes, nothing written, the
    /// metrics count them, and the same requests succeed once the condition is gone.
    @Test(.enabled(if: TestBackend.isPostgres, "PL/pgSQL triggers raising the server's SQLSTATEs"))
    func postgresOutagesAnswer503() throws {
        for profile in ["2signal", "get2dial"] {
            let h = try APIHarness(profile: profile)
            let t = try h.tenant("acme.test")
            let user = try h.user("pg@acme.test", tenant: t)
            let (access, _) = h.login("pg@acme.test")
            let login = #"{"email":"pg@acme.test","password":"correct horse battery"}"#
            func inject(_ state: String, before event: String) throws {
                try h.db.connection.execScript("""
                    CREATE FUNCTION inject_outage() RETURNS trigger LANGUAGE plpgsql
                    AS $$ BEGIN RAISE EXCEPTION 'injected %', '\(state)' USING ERRCODE = '\(state)'; END $$;
                    CREATE TRIGGER inject_outage BEFORE \(event) ON sessions FOR EACH ROW EXECUTE FUNCTION inject_outage();
                    """)
            }
            func remove() throws {
                try h.db.connection.execScript("DROP TRIGGER inject_outage ON sessions; DROP FUNCTION inject_outage();")
            }
            func expect503(_ r: (status: Int, json: JSON?, response: Response), _ what: String) {
                let code = r.json?["error"]?["code"]?.stringValue
                #expect(r.status == 503 && code == "storage_unavailable", "\(profile) \(what): \(r.status) \(String(decoding: r.response.body, as: UTF8.self))")
                #expect(r.response.header("Retry-After") != nil, "\(profile) \(what)")
            }
            let sessions = try h.db.sessions.listLive(userID: user.id, now: Time.now(), maxAge: 86_400).count
            try inject("53100", before: "INSERT")
            expect503(h.call("POST", "/api/v1/auth/login", json: login), "login on a full disk (53100)")
            #expect(try h.db.sessions.listLive(userID: user.id, now: Time.now(), maxAge: 86_400).count == sessions)
            try remove()
            try inject("25006", before: "UPDATE")
            expect503(h.call("POST", "/api/v1/auth/logout", bearer: access), "logout on a read-only server (25006)")
            #expect(h.call("GET", "/api/v1/auth/me", bearer: access).status == 200)   // not revoked, not claimed
            try remove()
            try inject("53400", before: "UPDATE")
            expect503(h.call("POST", "/api/v1/auth/logout?scope=global", bearer: access), "logout-all (53400)")
            try remove()
            let metrics = String(decoding: h.call("GET", "/api/v1/metrics").response.body, as: UTF8.self)
            #expect(metrics.contains("authgate_storage_errors_total{kind=\"full\"} 2"), "\(profile)")
            #expect(metrics.contains("authgate_storage_errors_total{kind=\"readonly\"} 1"), "\(profile)")
            #expect(h.call("POST", "/api/v1/auth/login", json: login).status == 200)
            #expect(h.call("POST", "/api/v1/auth/logout", bearer: access).status == 200)
            #expect(h.call("GET", "/api/v1/auth/me", bearer: access).status == 401)
        }
    }

    /// A browser logout whose session cannot even be looked up (the store failing: 53100 on
    /// every read of `sessions`, through a view over the renamed table) answers 503 and keeps
    /// the cookies; it never clears them and says "logged out" while the session lives on.
    @Test(.enabled(if: TestBackend.isPostgres, "a PL/pgSQL failure on reading sessions"))
    func browserLogoutNeverClaimsSuccessWhenTheStoreFails() throws {
        let h = try APIHarness()
        let t = try h.tenant("acme.test")
        _ = try h.user("cookie@acme.test", tenant: t)
        let (access, refresh) = h.login("cookie@acme.test")
        let cookie = "\(h.worker.settings.browser.refreshCookie)=\(refresh)"
        func logout() -> (status: Int, json: JSON?, response: Response) {
            h.call("POST", "/api/v1/auth/session/logout", json: "{}",
                   headers: ["cookie": cookie, "sec-fetch-site": "same-origin"])
        }
        try h.db.connection.execScript("""
            CREATE FUNCTION fail_read() RETURNS boolean LANGUAGE plpgsql
            AS $$ BEGIN RAISE EXCEPTION 'injected disk full' USING ERRCODE = '53100'; END $$;
            ALTER TABLE sessions RENAME TO sessions_hidden;
            CREATE VIEW sessions AS SELECT * FROM sessions_hidden WHERE fail_read();
            """)
        let failed = logout()
        try h.db.connection.execScript("""
            DROP VIEW sessions; ALTER TABLE sessions_hidden RENAME TO sessions; DROP FUNCTION fail_read();
            """)
        #expect(failed.status == 503 && failed.json?.errorCode == "storage_unavailable",
                "\(failed.status) \(String(decoding: failed.response.body, as: UTF8.self))")
        #expect(!failed.response.headers.contains { $0.0 == "Set-Cookie" }, "cookies cleared by a logout that did not happen")
        #expect(h.call("GET", "/api/v1/auth/me", bearer: access).status == 200)
        let done = logout()
        #expect(done.status == 200 && done.response.headers.contains { $0.0 == "Set-Cookie" })
        #expect(h.call("GET", "/api/v1/auth/me", bearer: access).status == 401)
    }

    /// The audit row of a write is part of it: when its insert fails (53100 on audit_events),
    /// the password change answers 503 and changes nothing. (Swallowed, the error left an
    /// aborted PostgreSQL transaction whose COMMIT quietly rolled back: a 200 for a password
    /// change that never happened, with the other sessions still live.)
    @Test(.enabled(if: TestBackend.isPostgres, "a PL/pgSQL failure on the audit insert"))
    func failingAuditRowFailsItsWrite() throws {
        let h = try APIHarness()
        let t = try h.tenant("acme.test")
        let user = try h.user("audit@acme.test", tenant: t)
        let (mine, _) = h.login("audit@acme.test")
        let (other, _) = h.login("audit@acme.test")
        try h.db.connection.execScript("""
            CREATE FUNCTION inject_outage() RETURNS trigger LANGUAGE plpgsql
            AS $$ BEGIN RAISE EXCEPTION 'injected disk full' USING ERRCODE = '53100'; END $$;
            CREATE TRIGGER inject_outage BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION inject_outage();
            """)
        let change = #"{"current_password":"correct horse battery","new_password":"a brand new password"}"#
        let failed = h.call("POST", "/api/v1/auth/me/password", json: change, bearer: mine)
        let keyless = h.call("POST", "/api/v1/auth/logout", bearer: other)
        try h.db.connection.execScript("DROP TRIGGER inject_outage ON audit_events; DROP FUNCTION inject_outage();")
        #expect(failed.status == 503 && failed.json?.errorCode == "storage_unavailable",
                "\(failed.status) \(String(decoding: failed.response.body, as: UTF8.self))")
        #expect(keyless.status == 503, "logout whose audit row failed: \(keyless.status)")
        #expect(try h.db.users.byID(user.id)?.passwordHash == user.passwordHash)
        #expect(h.call("GET", "/api/v1/auth/me", bearer: other).status == 200)
        #expect(h.call("POST", "/api/v1/auth/me/password", json: change, bearer: mine).status == 200)
        #expect(h.call("GET", "/api/v1/auth/me", bearer: other).status == 401)
    }
}

/// The log of a failing store: the first failure in full, then at most one summary line per
/// interval however many requests fail, then one line when a write succeeds again.
@Suite struct StorageFailureLogTests {
    @Test func oneLinePerBurstNotPerRequest() {
        let burst = StorageFailureLog(interval: 5)
        let log = Logger()
        var lines: [String] = []
        for i in 0..<1000 {   // 1000 failures over 12 s
            if let line = burst.note(kind: i % 2 == 0 ? "full" : "io", what: "SQLite error 13", log: log, now: 100 + Double(i) * 0.012) {
                lines.append(line)
            }
        }
        #expect(lines.count == 3, "\(lines)")
        #expect(lines[0].hasPrefix("storage unavailable (full): SQLite error 13"))
        #expect(lines[1].contains("more failure(s) in the last 5.0 s (full: "))
        let recovered = burst.recovered(log: log, now: 113)
        #expect(recovered?.hasPrefix("storage writable again after 1000 failure(s) in 13.0 s") == true, "\(recovered ?? "nil")")
        #expect(burst.recovered(log: log, now: 114) == nil)
        #expect(burst.note(kind: "full", what: "again", log: log, now: 115)?.hasPrefix("storage unavailable (full): again") == true)
    }
}
