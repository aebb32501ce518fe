import Foundation
import TestSupport
import Testing
@testable import AuthCore

/// Text is bound with its UTF-8 byte count: an embedded NUL reaches SQLite whole. PostgreSQL
/// text cannot hold a NUL at all: such a value is refused, never cut at the NUL.
@Suite struct StorageBindingTests {
    @Test(.enabled(if: TestBackend.isSQLite, "SQLite stores a NUL inside text; PostgreSQL cannot (next test)"))
    func embeddedNULRoundTripsByteExact() throws {
        let db = try StorageTestDirectory().open()
        let name = "Acme\u{0}Evil Corp\u{0}"
        let tenant = try db.tenants.create(name: name, domain: "nul.test", isPlatform: false, now: 1)
        #expect(Array(tenant.name.utf8) == Array(name.utf8))
        let read = try #require(try db.tenants.byID(tenant.id))
        #expect(Array(read.name.utf8) == Array(name.utf8))
        let length = try db.connection.queryFirst("SELECT length(CAST(name AS BLOB)) FROM tenants WHERE id = ?",
                                                  [.text(tenant.id)]) { $0.int(0) }
        #expect(length == Int64(name.utf8.count))
    }

    @Test(.enabled(if: TestBackend.isPostgres, "PostgreSQL refuses a NUL inside text"))
    func embeddedNULIsRefusedNotTruncated() throws {
        let db = try StorageTestDirectory().open()
        #expect(throws: (any Error).self) {
            try db.tenants.create(name: "Acme\u{0}Evil Corp", domain: "nul.test", isPlatform: false, now: 1)
        }
        #expect(try db.tenants.list().isEmpty, "nothing stored, not even the prefix")
        #expect(try db.tenants.byDomain("nul.test") == nil)
    }

    /// SQLite: the lookup finds nothing. PostgreSQL: it may also refuse the value (throw); it
    /// must never find the row the text before the NUL names.
    @Test func embeddedNULNeverMatchesTheTruncatedValue() throws {
        let db = try StorageTestDirectory().open()
        let f = try StorageFixture(db)
        func neverMatches<T>(_ what: String, _ lookup: () throws -> T?) {
            do {
                #expect(try lookup() == nil, "\(what) found a row")
            } catch {
                #expect(TestBackend.isPostgres, "\(what) threw on SQLite: \(error)")
            }
        }
        // With a C-string bind this lookup was `alice@acme.test` and found Alice.
        neverMatches("byEmail") { try db.users.byEmail(tenantID: f.tenant.id, email: "alice@acme.test\u{0}@evil.test") }
        neverMatches("byID") { try db.users.byID(f.user.id + "\u{0}x") }
        neverMatches("byDomain") { try db.tenants.byDomain("acme.test\u{0}.evil") }
        #expect(try db.users.byEmail(tenantID: f.tenant.id, email: "alice@acme.test") == f.user)
    }

    @Test func emptyTextIsEmptyNotNull() throws {
        let db = try StorageTestDirectory().open()
        let f = try StorageFixture(db)
        let session = try db.sessions.create(userID: f.user.id, now: 5, userAgent: "", ip: "")
        let isNull = try db.connection.queryFirst("SELECT user_agent IS NULL, ip = '' FROM sessions WHERE id = ?",
                                                  [.text(session.id)]) { ($0.bool(0), $0.bool(1)) }
        #expect(isNull?.0 == false && isNull?.1 == true)
        // Non-ASCII text keeps its bytes too.
        let t = try db.tenants.create(name: "Zürich ✓ \u{1F512}", domain: "utf8.test", isPlatform: false, now: 1)
        #expect(try db.tenants.byID(t.id)?.name == "Zürich ✓ \u{1F512}")
    }
}
