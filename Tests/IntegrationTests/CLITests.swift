import AuthCore
import AuthCrypto
import Foundation
import TestSupport
import Testing

/// Every CLI command of CONTRACT.md against the real binary and a fresh database.
private func isUUID(_ s: String) -> Bool { UUID(uuidString: s) != nil && s == s.lowercased() }

@Suite struct CLITests {
    @Test func initIsIdempotent() throws {
        let cli = try CLIHarness()
        let first = try cli.ok(["init"])
        #expect(first.out.contains("initialized"))
        let second = try cli.ok(["init"])
        #expect(second.out.contains("already initialized"))
        let tenants = try cli.ok(["tenant", "list", "--json"]).jsonArray
        #expect(tenants.count == 1)
        #expect(tenants.first?["domain"] as? String == "platform.local")
        #expect(tenants.first?["is_platform"] as? Bool == true)
        #expect(tenants.first?["name"] as? String == "Platform")
        let keys = try cli.ok(["keys", "list", "--json"]).jsonArray
        #expect(keys.count == 1, "init twice must not rotate twice")
        let attrs = try FileManager.default.attributesOfItem(atPath: cli.keysPath)
        #expect((attrs[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        if cli.databaseURL == nil {
            let dbAttrs = try FileManager.default.attributesOfItem(atPath: cli.dbPath)
            #expect((dbAttrs[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        }
    }

    @Test func concurrentInitsAgree() throws {
        let cli = try CLIHarness()
        let processes = try (0..<4).map { _ in try cli.start(["init"]) }
        let statuses = try processes.map { try $0.wait(timeout: 60, for: "a concurrent authgate init") }
        #expect(statuses == [0, 0, 0, 0])
        let tenants = try cli.ok(["tenant", "list", "--json"]).jsonArray
        #expect(tenants.filter { $0["is_platform"] as? Bool == true }.count == 1)
        #expect(try !cli.ok(["keys", "list", "--json"]).jsonArray.isEmpty)
    }

    @Test func tenants() throws {
        let cli = try CLIHarness()
        try cli.ok(["init"])
        let created = try cli.ok(["tenant", "create", "--name", "Acme Corp", "--domain", "Acme.Test"])
        #expect(created.lines.count == 1 && isUUID(created.lines[0]))
        let json = try cli.ok(["tenant", "create", "--name", "Beta", "--domain", "beta.test", "--json"]).jsonObject
        #expect(json["domain"] as? String == "beta.test")
        let list = try cli.ok(["tenant", "list", "--json"]).jsonArray
        #expect(Set(list.compactMap { $0["domain"] as? String }) == ["platform.local", "acme.test", "beta.test"])
        #expect(list.first { $0["domain"] as? String == "acme.test" }?["id"] as? String == created.lines[0])
        let text = try cli.ok(["tenant", "list"])
        #expect(text.out.contains("acme.test") && text.out.contains("Acme Corp"))
        try cli.fails(["tenant", "create", "--name", "Again", "--domain", "acme.test"])
        try cli.fails(["tenant", "create", "--name", "Bad", "--domain", "bad domain\r\n"])
        try cli.fails(["tenant", "create", "--name", "Bad\u{07}Name", "--domain", "bad.test"])
        try cli.fails(["tenant", "create", "--name", "NoDomain"], status: 2)
    }

    @Test func userCreate() throws {
        let cli = try CLIHarness()
        let (tenantID, aliceID) = try cli.seed()
        #expect(isUUID(aliceID))

        // Generated password: printed once, on the second line, and it verifies.
        let generated = try cli.ok(["user", "create", "--tenant", "acme.test", "--email", "Bob@Acme.test", "--role", "admin"])
        #expect(generated.lines.count == 2)
        let bobID = generated.lines[0], password = generated.lines[1]
        #expect(isUUID(bobID) && password.count >= 12)
        let db = try cli.database()
        let bob = try #require(try db.users.byID(bobID))
        #expect(bob.email == "bob@acme.test" && bob.role == "admin" && bob.tenantID == tenantID)
        #expect(PasswordHash.verify(password: password, encoded: bob.passwordHash))
        #expect(!bob.passwordHash.contains(password))

        // --password-stdin: never echoed.
        let secret = "a very long passphrase 42"
        let carol = try cli.ok(["user", "create", "--tenant", "acme.test", "--email", "carol@acme.test", "--role", "supervisor",
                                "--password-stdin", "--must-change-password", "--json"], stdin: secret + "\n")
        #expect(!carol.out.contains(secret) && !carol.err.contains(secret))
        #expect(carol.jsonObject["password"] == nil)
        let carolUser = try #require(try db.users.byID(carol.jsonObject["id"] as? String ?? ""))
        #expect(carolUser.mustChangePassword)
        #expect(PasswordHash.verify(password: secret, encoded: carolUser.passwordHash))

        // Refusals: weak password, password = email, control characters, duplicates, roles.
        let weak = try cli.fails(["user", "create", "--tenant", "acme.test", "--email", "dan@acme.test", "--role", "agent",
                                  "--password-stdin"], stdin: "short\n")
        #expect(weak.err.contains("weak password") && !weak.err.contains("short\n"))
        try cli.fails(["user", "create", "--tenant", "acme.test", "--email", "longenough@acme.test", "--role", "agent",
                       "--password-stdin"], stdin: "LongEnough@acme.test\n")
        for bad in ["eve\u{01}@acme.test", "eve@acme.test\r\nX-Auth-Role: admin", "eve@acme.test\n", "eve\u{7F}@acme.test",
                    "no-at-sign", "two words@acme.test"] {
            try cli.fails(["user", "create", "--tenant", "acme.test", "--email", bad, "--role", "agent"])
        }
        try cli.fails(["user", "create", "--tenant", "acme.test", "--email", "ALICE@ACME.TEST", "--role", "agent"])
        try cli.fails(["user", "create", "--tenant", "acme.test", "--email", "root@acme.test", "--role", "platform_admin"])
        try cli.fails(["user", "create", "--tenant", "acme.test", "--email", "x@acme.test", "--role", "superuser"])
        try cli.fails(["user", "create", "--tenant", "nowhere.test", "--email", "x@acme.test", "--role", "agent"])
        try cli.ok(["user", "create", "--tenant", "platform.local", "--email", "root@platform.local", "--role", "platform_admin"])

        let users = try cli.ok(["user", "list", "--tenant", "acme.test", "--json"]).jsonArray
        #expect(Set(users.compactMap { $0["email"] as? String }) == ["alice@acme.test", "bob@acme.test", "carol@acme.test"])
        #expect(users.allSatisfy { $0["password_hash"] == nil })
        let text = try cli.ok(["user", "list", "--tenant", "acme.test"]).out
        #expect(text.contains("bob@acme.test") && !text.contains("$scrypt$"))
    }

    @Test func userLifecycleRevokesSessions() throws {
        let cli = try CLIHarness()
        let (_, aliceID) = try cli.seed()
        let db = try cli.database()
        let user = ["--tenant", "acme.test", "--email", "alice@acme.test"]
        func newSession() throws -> String {
            try db.sessions.create(userID: aliceID, now: Time.now(), userAgent: "test", ip: "127.0.0.1").id
        }
        func revoked(_ id: String) throws -> Bool { try db.sessions.byID(id)?.revokedAt != nil }

        let s1 = try newSession()
        let listed = try cli.ok(["session", "list"] + user + ["--json"]).jsonArray
        #expect(listed.map { $0["id"] as? String } == [s1])
        try cli.ok(["user", "disable"] + user)
        #expect(try revoked(s1))
        #expect(try db.users.byID(aliceID)?.status == "disabled")
        try cli.ok(["user", "enable"] + user)
        #expect(try db.users.byID(aliceID)?.status == "active")

        for _ in 0..<3 { _ = try db.users.recordFailure(userID: aliceID, now: Time.now(), threshold: 2, lockSeconds: 900) }
        #expect(try db.users.byID(aliceID)?.lockedUntil != nil)
        try cli.ok(["user", "unlock"] + user)
        let unlocked = try #require(try db.users.byID(aliceID))
        #expect(unlocked.failedAttempts == 0 && (unlocked.lockedUntil ?? 0) <= Time.now())

        let s2 = try newSession()
        try cli.ok(["user", "set-role"] + user + ["--role", "supervisor"])
        #expect(try revoked(s2))
        #expect(try db.users.byID(aliceID)?.role == "supervisor")
        try cli.fails(["user", "set-role"] + user + ["--role", "platform_admin"])

        let s3 = try newSession()
        try cli.fails(["user", "set-password"] + user + ["--password-stdin"], stdin: "tiny\n")
        #expect(try !revoked(s3))
        let pw = "another long passphrase"
        let set = try cli.ok(["user", "set-password"] + user + ["--password-stdin"], stdin: pw + "\n")
        #expect(!set.out.contains(pw))
        #expect(try revoked(s3))
        #expect(PasswordHash.verify(password: pw, encoded: try db.users.byID(aliceID)?.passwordHash ?? ""))
        try cli.fails(["user", "set-password"] + user, status: 2)

        // session revoke by session, by user, all.
        let s4 = try newSession(), s5 = try newSession(), s6 = try newSession()
        try cli.ok(["session", "revoke", "--session", s4])
        #expect(try revoked(s4) && !revoked(s5))
        let byUser = try cli.ok(["session", "revoke", "--user", aliceID, "--json"]).jsonObject
        #expect(byUser["revoked"] as? Int == 2)
        #expect(try revoked(s5) && revoked(s6))
        let s7 = try newSession()
        try cli.ok(["session", "revoke", "--all"])
        #expect(try revoked(s7))
        try cli.fails(["session", "revoke"], status: 2)
        try cli.fails(["session", "revoke", "--all", "--user", aliceID], status: 2)
        try cli.fails(["session", "revoke", "--session", UUIDs.random()])

        let s8 = try newSession()
        try cli.ok(["user", "delete"] + user)
        #expect(try db.users.byID(aliceID) == nil)
        // The deleted user's session stays as a revoked row (README: kept until pruned).
        let s8row = try #require(try db.sessions.byID(s8))
        #expect(s8row.revokedAt != nil)
        try cli.fails(["user", "disable"] + user)
    }

    @Test func keysRotateAndList() throws {
        let cli = try CLIHarness()
        try cli.ok(["init"])
        let rotated = try cli.ok(["keys", "rotate"])
        #expect(rotated.lines.count == 1)
        let kid = rotated.lines[0]
        let list = try cli.ok(["keys", "list", "--json"]).jsonArray
        #expect(list.count == 2)
        #expect(list.last?["kid"] as? String == kid && list.last?["signing"] as? Bool == true)
        #expect(list.first?["signing"] as? Bool == false)
        let text = try cli.ok(["keys", "list"])
        let attrs = try FileManager.default.attributesOfItem(atPath: cli.keysPath)
        #expect((attrs[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let file = try String(contentsOfFile: cli.keysPath, encoding: .utf8)
        let secrets = file.split(separator: "\n").compactMap { $0.split(separator: ":").last.map(String.init) }
        #expect(secrets.count == 2)
        for secret in secrets {
            #expect(!rotated.out.contains(secret) && !text.out.contains(secret) && !rotated.err.contains(secret))
        }
        let ring = try KeyRing.load(path: cli.keysPath)
        #expect(ring.signing.kid == kid)
    }

    @Test func projectsAPIKeysNodes() throws {
        let cli = try CLIHarness()
        let (tenantID, _) = try cli.seed()
        let project = try cli.ok(["project", "create", "--tenant", "acme.test", "--name", "Ingest"])
        let projectID = try #require(project.lines.first)
        #expect(project.lines.count == 1 && isUUID(projectID))
        let projects = try cli.ok(["project", "list", "--tenant", "acme.test", "--json"]).jsonArray
        #expect(projects.count == 1 && projects.first?["tenant_id"] as? String == tenantID)
        try cli.fails(["project", "create", "--tenant", "acme.test", "--name", "bad\nname"])

        let created = try cli.ok(["apikey", "create", "--project", projectID, "--name", "ci"])
        #expect(created.lines.count == 2)
        let keyID = created.lines[0], raw = created.lines[1]
        #expect(raw.hasPrefix("2s_live_"))
        let db = try cli.database()
        #expect(try db.apiKeys.byHash(CredentialKeys.digest(raw))?.id == keyID)
        let listed = try cli.ok(["apikey", "list", "--project", projectID])
        let listedJSON = try cli.ok(["apikey", "list", "--project", projectID, "--json"])
        #expect(!listed.out.contains(raw) && !listedJSON.out.contains(raw))
        #expect(listedJSON.jsonArray.count == 1 && listedJSON.jsonArray.first?["key"] == nil)
        #expect(listedJSON.jsonArray.first?["prefix"] as? String == String(raw.prefix(12)))
        let second = try cli.ok(["apikey", "create", "--project", projectID, "--json"]).jsonObject
        #expect((second["key"] as? String)?.hasPrefix("2s_live_") == true)
        try cli.ok(["apikey", "revoke", "--id", keyID])
        #expect(try db.apiKeys.byID(keyID)?.revokedAt != nil)
        try cli.fails(["apikey", "revoke", "--id", keyID])
        try cli.fails(["apikey", "create", "--project", UUIDs.random()])

        let node = try cli.ok(["node", "create", "--tenant", "acme.test", "--name", "edge-1"])
        #expect(node.lines.count == 2)
        let nodeID = node.lines[0], nodeKey = node.lines[1]
        #expect(nodeKey.hasPrefix("node_"))
        #expect(try db.nodes.byHash(CredentialKeys.digest(nodeKey))?.id == nodeID)
        let nodes = try cli.ok(["node", "list", "--tenant", "acme.test", "--json"])
        #expect(!nodes.out.contains(nodeKey) && nodes.jsonArray.count == 1)
        try cli.ok(["node", "revoke", "--id", nodeID])
        #expect(try db.nodes.byID(nodeID)?.revokedAt != nil)
        try cli.fails(["node", "revoke", "--id", nodeID])
    }

    @Test func auditListsEvents() throws {
        let cli = try CLIHarness()
        let before = Time.now()
        let (tenantID, _) = try cli.seed()
        try cli.ok(["user", "disable", "--tenant", "acme.test", "--email", "alice@acme.test"])
        let all = try cli.ok(["audit", "--json"]).jsonArray
        let names = Set(all.compactMap { $0["event"] as? String })
        #expect(names.isSuperset(of: ["tenant_created", "user_created", "user_disabled", "signing_key_rotated"]))
        #expect(all.allSatisfy { $0["actor"] as? String == "cli" })
        let scoped = try cli.ok(["audit", "--tenant", "acme.test", "--json"]).jsonArray
        #expect(!scoped.isEmpty && scoped.allSatisfy { $0["tenant_id"] as? String == tenantID })
        #expect(try cli.ok(["audit", "--limit", "1", "--json"]).jsonArray.count == 1)
        #expect(try cli.ok(["audit", "--since", String(Time.now() + 3600), "--json"]).jsonArray.isEmpty)
        #expect(try cli.ok(["audit", "--since", Time.rfc3339(before - 1), "--json"]).jsonArray.count == all.count)
        #expect(try cli.ok(["audit", "--since", "2000-01-01T00:00:00+02:00", "--json"]).jsonArray.count == all.count)
        #expect(try cli.ok(["audit"]).out.contains("user_disabled"))
        try cli.fails(["audit", "--since", "yesterday"], status: 2)
        try cli.fails(["audit", "--limit", "-3"], status: 2)
    }

    @Test func usageErrors() throws {
        let cli = try CLIHarness()
        try cli.fails(["frobnicate"], status: 2)
        try cli.fails([], status: 2)
        try cli.fails(["tenant"], status: 2)
        try cli.fails(["tenant", "list", "--bogus"], status: 2)
        try cli.fails(["user", "create", "--tenant"], status: 2)
        try cli.fails(["tenant", "list", "stray"], status: 2)
        #expect(try cli.ok(["--help"]).out.contains("apikey create"))
        #expect(try cli.ok(["user", "create", "--help"]).out.contains("--password-stdin"))
    }

    @Test(.enabled(if: TestBackend.isSQLite, "--db names a SQLite file"))
    func dbFlagOverridesEnvironment() throws {
        let cli = try CLIHarness()
        let other = cli.dir.appendingPathComponent("other.db").path
        try cli.ok(["init", "--db", other])
        #expect(!FileManager.default.fileExists(atPath: cli.dbPath), "--db must win over AUTH_DB_PATH")
        try cli.ok(["init"])
        try cli.ok(["tenant", "create", "--db", other, "--name", "Other", "--domain", "other.test"])
        let there = try cli.ok(["tenant", "list", "--db", other, "--json"]).jsonArray
        #expect(there.contains { $0["domain"] as? String == "other.test" })
        let here = try cli.ok(["tenant", "list", "--json"]).jsonArray
        #expect(!here.contains { $0["domain"] as? String == "other.test" })
    }
}
