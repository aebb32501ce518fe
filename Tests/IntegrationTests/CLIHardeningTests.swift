import AuthCrypto
import Foundation
import Testing
@testable import AuthCore

/// CLI writes are all-or-nothing with their audit row; the key ring can be retired from,
/// refuses loose modes, and is rewritten under a lock keeping its owner and mode.
@Suite struct CLIHardeningTests {
    /// With the audit insert failing, every mutating command fails and changes nothing.
    @Test func changesAndTheirAuditRowAreAllOrNothing() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let (tenantID, aliceID) = try cli.seed()
        let db = try cli.database()
        let before = try #require(try db.users.byID(aliceID))
        let session = try db.sessions.create(userID: aliceID, now: Time.now(), userAgent: "t", ip: "127.0.0.1")
        try db.connection.execScript("""
            CREATE TRIGGER audit_down BEFORE INSERT ON audit_events
            BEGIN SELECT RAISE(ABORT, 'audit store down'); END;
            """)
        let user = ["--tenant", "acme.test", "--email", "alice@acme.test"]
        try cli.fails(["user", "disable"] + user)
        try cli.fails(["user", "set-role"] + user + ["--role", "supervisor"])
        try cli.fails(["user", "set-password"] + user + ["--password-stdin"], stdin: "another long passphrase\n")
        try cli.fails(["user", "delete"] + user)
        try cli.fails(["session", "revoke", "--all"])
        try cli.fails(["session", "revoke", "--user", aliceID])
        try cli.fails(["user", "create", "--tenant", "acme.test", "--email", "bob@acme.test", "--role", "agent"])
        try cli.fails(["tenant", "create", "--name", "Beta", "--domain", "beta.test"])
        try cli.fails(["project", "create", "--tenant", "acme.test", "--name", "ingest"])
        try cli.fails(["node", "create", "--tenant", "acme.test", "--name", "edge"])

        let after = try #require(try db.users.byID(aliceID))
        #expect(after == before)
        #expect(try db.sessions.byID(session.id)?.revokedAt == nil)
        #expect(try db.users.byEmail(tenantID: tenantID, email: "bob@acme.test") == nil)
        #expect(try db.tenants.byDomain("beta.test") == nil)
        #expect(try db.projects.list(tenantID: tenantID).isEmpty)
        #expect(try db.nodes.list(tenantID: tenantID).isEmpty)

        try db.connection.execScript("DROP TRIGGER audit_down;")
        try cli.ok(["user", "disable"] + user)
        #expect(try db.sessions.byID(session.id)?.revokedAt != nil)
        #expect(try db.audit.list(tenantID: tenantID).contains { $0.event == "user_disabled" })
    }
}
