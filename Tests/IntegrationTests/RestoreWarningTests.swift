import AuthCore
import AuthCrypto
import Foundation
import TestSupport
import Testing

/// Review hardening: `authgate restore` brings back sessions revoked after the backup (logouts,
/// password changes, `session revoke`); it says so, with how many, and how to cut them.
@Suite("restore warns about revived sessions")
struct RestoreWarningTests {
    @Test func restoreNamesTheSessionsItRevives() throws {
        let world = try OpsWorld()
        #expect(try world.cli(["init"]).status == 0)
        do {
            let db = try Database(path: world.dbPath)
            let tenant = try db.tenants.create(name: "acme", domain: "acme.test", isPlatform: false, now: Time.now())
            let hash = try PasswordHash.make(password: "correct horse battery", parameters: ScryptParameters(ln: 4, r: 8, p: 1))
            let user = try db.users.create(tenantID: tenant.id, email: "a@acme.test", passwordHash: hash, role: "agent",
                                           mustChangePassword: false, now: Time.now())
            for _ in 0..<3 { _ = try db.sessions.create(userID: user.id, now: Time.now()) }
        }
        let backup = world.path + "/before.db"
        #expect(try world.cli(["backup", "--to", backup]).status == 0)
        let revoke = try world.cli(["session", "revoke", "--all"])
        #expect(revoke.status == 0, "\(revoke.stderr)")
        let restored = try world.cli(["restore", "--from", backup])
        #expect(restored.status == 0, "\(restored.stderr)")
        #expect(restored.stderr.contains("warning: 3 session(s) revoked or ended since the backup are live again"), "\(restored.stderr)")
        #expect(restored.stderr.contains("authgate session revoke --all"), "\(restored.stderr)")
        #expect(try Database(path: world.dbPath).sessions.unrevokedIDs().count == 3)
    }
}
