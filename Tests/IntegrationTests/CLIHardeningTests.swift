import AuthCrypto
import Foundation
import TestSupport
import Testing
@testable import AuthCore

/// CLI writes are all-or-nothing with their audit row; the key ring can be retired from,
/// refuses loose modes, and is rewritten under a lock keeping its owner and mode.
@Suite struct CLIHardeningTests {
    /// With the audit insert failing, every mutating command fails and changes nothing.
    @Test func changesAndTheirAuditRowAreAllOrNothing() throws {
        let cli = try CLIHarness()
        let (tenantID, aliceID) = try cli.seed()
        let db = try cli.database()
        let before = try #require(try db.users.byID(aliceID))
        let session = try db.sessions.create(userID: aliceID, now: Time.now(), userAgent: "t", ip: "127.0.0.1")
        // The same failure on either store: a trigger that refuses every audit row.
        if cli.databaseURL == nil {
            try db.connection.execScript("""
                CREATE TRIGGER audit_down BEFORE INSERT ON audit_events
                BEGIN SELECT RAISE(ABORT, 'audit store down'); END;
                """)
        } else {
            try db.connection.execScript("""
                CREATE FUNCTION audit_down() RETURNS trigger LANGUAGE plpgsql
                AS $$ BEGIN RAISE EXCEPTION 'audit store down'; END $$;
                CREATE TRIGGER audit_down BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_down();
                """)
        }
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

        try db.connection.execScript(cli.databaseURL == nil ? "DROP TRIGGER audit_down;"
                                     : "DROP TRIGGER audit_down ON audit_events; DROP FUNCTION audit_down();")
        try cli.ok(["user", "disable"] + user)
        #expect(try db.sessions.byID(session.id)?.revokedAt != nil)
        #expect(try db.audit.list(tenantID: tenantID).contains { $0.event == "user_disabled" })
    }

    @Test func keysRetire() throws {
        let cli = try CLIHarness()
        try cli.ok(["init"])
        let first = try #require(try cli.ok(["keys", "list", "--json"]).jsonArray.first?["kid"] as? String)
        let second = try #require(try cli.ok(["keys", "rotate"]).lines.first)
        let signing = try cli.fails(["keys", "retire", second])
        #expect(signing.err.contains("signing key"))
        let unknown = try cli.fails(["keys", "retire", "knope"])
        #expect(unknown.err.contains("no key with kid 'knope'"))
        try cli.fails(["keys", "retire"], status: 2)
        try cli.fails(["keys", "retire", first, second], status: 2)
        #expect(try cli.ok(["keys", "list", "--json"]).jsonArray.count == 2)

        let retired = try cli.ok(["keys", "retire", first, "--json"]).jsonObject
        #expect(retired["retired"] as? String == first)
        let list = try cli.ok(["keys", "list", "--json"]).jsonArray
        #expect(list.map { $0["kid"] as? String } == [second])
        #expect(try KeyRing.load(path: cli.keysPath).key(kid: first) == nil)
        let attrs = try FileManager.default.attributesOfItem(atPath: cli.keysPath)
        #expect((attrs[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(try cli.database().audit.list().contains { $0.event == "signing_key_retired" && $0.detail == "kid \(first)" })
        #expect(try cli.ok(["--help"]).out.contains("keys retire KID"))
    }

    @Test func keyRingWithLooseModeIsRefused() throws {
        let cli = try CLIHarness()
        try cli.ok(["init"])
        chmod(cli.keysPath, 0o644)
        let refused = try cli.fails(["keys", "list"])
        #expect(refused.err.contains(cli.keysPath) && refused.err.contains("0644"))
        try cli.fails(["init"])
        chmod(cli.keysPath, 0o600)
        try cli.ok(["keys", "list"])
    }

    /// Concurrent `keys rotate` processes: every one of them lands in the ring.
    @Test func concurrentRotateProcessesLoseNothing() throws {
        let cli = try CLIHarness()
        try cli.ok(["init"])
        let processes = try (0..<6).map { _ in try cli.start(["keys", "rotate"]) }
        let statuses = try processes.map { try $0.wait(timeout: 60, for: "a concurrent keys rotate") }
        #expect(statuses == [0, 0, 0, 0, 0, 0])
        #expect(try KeyRing.load(path: cli.keysPath).keys.count == 7)
    }
}
