import Foundation
import TestSupport
import Testing
@testable import AuthCore

@Suite struct VerifyStateTests {
    @Test func seesRevocationThroughAnotherConnection() throws {
        let dir = try StorageTestDirectory()
        let workerDB = try dir.open()
        let cli = try dir.open()
        let f = try StorageFixture(cli)
        let session = try cli.sessions.create(userID: f.user.id, now: 10)
        let state = VerifyState(db: workerDB)
        #expect(state.sessionCheck(sid: session.id, userID: f.user.id) == .ok)

        try cli.sessions.revoke(id: session.id, reason: "admin", now: 20)
        state.refreshIfChanged()
        #expect(state.sessionCheck(sid: session.id, userID: f.user.id) == .revoked)
    }

    @Test func seesRevocationThroughItsOwnConnection() throws {
        let db = try StorageTestDirectory().open()
        let f = try StorageFixture(db)
        let session = try db.sessions.create(userID: f.user.id, now: 10)
        let state = VerifyState(db: db)
        try db.sessions.revokeAll(userID: f.user.id, reason: "logout", now: 20)
        state.refreshIfChanged()
        #expect(state.sessionCheck(sid: session.id, userID: f.user.id) == .revoked)
    }

    @Test func seesAnotherProcess() throws {
        let dir = try StorageTestDirectory()
        let db = try dir.open()
        let f = try StorageFixture(db)
        let session = try db.sessions.create(userID: f.user.id, now: 10)
        let state = VerifyState(db: db)
        let sqlite = "/usr/bin/sqlite3"
        try #require(FileManager.default.isExecutableFile(atPath: sqlite), "make deps installs the sqlite3 CLI")
        let r = try Child.run(sqlite, [dir.dbPath, "UPDATE sessions SET revoked_at = 30 WHERE id = '\(session.id)'"])
        #expect(r.status == 0, "\(r.stderr)")
        state.refreshIfChanged()
        #expect(state.sessionCheck(sid: session.id, userID: f.user.id) == .revoked)
    }

    @Test func userStates() throws {
        let dir = try StorageTestDirectory()
        let cli = try dir.open()
        let f = try StorageFixture(cli)
        let session = try cli.sessions.create(userID: f.user.id, now: 10)
        let state = VerifyState(db: try dir.open())

        try cli.users.setPassword(userID: f.user.id, hash: "h2", mustChange: true, now: 11)
        state.refreshIfChanged()
        #expect(state.sessionCheck(sid: session.id, userID: f.user.id) == .passwordChangeRequired)

        try cli.users.setStatus(userID: f.user.id, status: "disabled", now: 12)
        state.refreshIfChanged()
        #expect(state.sessionCheck(sid: session.id, userID: f.user.id) == .userDisabled)

        try cli.users.setStatus(userID: f.user.id, status: "active", now: 13)
        try cli.users.setPassword(userID: f.user.id, hash: "h3", mustChange: false, now: 13)
        state.refreshIfChanged()
        #expect(state.sessionCheck(sid: session.id, userID: f.user.id) == .ok)

        try cli.users.delete(userID: f.user.id)
        state.refreshIfChanged()
        #expect(state.sessionCheck(sid: session.id, userID: f.user.id) == .revoked)
    }

    @Test func apiKeysAndNodes() throws {
        let dir = try StorageTestDirectory()
        let cli = try dir.open()
        let f = try StorageFixture(cli)
        let state = VerifyState(db: try dir.open())
        let project = try cli.projects.create(tenantID: f.tenant.id, name: "P", now: 1)
        let key = try cli.apiKeys.create(projectID: project.id, name: "k", prefix: "2s_live_xxxx", keyHash: "k1", now: 2)
        let node = try cli.nodes.create(tenantID: f.tenant.id, name: "edge", keyHash: "n1", now: 3)
        #expect(state.apiKey(digest: "k1") == nil)  // not refreshed yet
        state.refreshIfChanged()
        #expect(state.apiKey(digest: "k1") == APIKeyIdentity(keyID: key.id, projectID: project.id, tenantID: f.tenant.id))
        #expect(state.node(digest: "n1") == NodeIdentity(nodeID: node.id, tenantID: f.tenant.id, name: "edge"))
        #expect(state.apiKey(digest: "n1") == nil && state.node(digest: "k1") == nil)

        try cli.apiKeys.touch(ids: [key.id], at: 5)
        let epoch = state.epoch
        state.refreshIfChanged()
        #expect(state.epoch == epoch)  // last_used_at is not a verification change

        try cli.apiKeys.revoke(id: key.id, now: 6)
        try cli.nodes.revoke(id: node.id, now: 6)
        state.refreshIfChanged()
        #expect(state.apiKey(digest: "k1") == nil)
        #expect(state.node(digest: "n1") == nil)
    }

    @Test func epochMovesOnlyForVerificationWrites() throws {
        let db = try StorageTestDirectory().open()
        let f = try StorageFixture(db)
        var epoch = db.verifyEpoch()
        func bumped(_ body: () throws -> Void) rethrows -> Bool {
            try body()
            let now = db.verifyEpoch()
            defer { epoch = now }
            return now > epoch
        }
        let session = try db.sessions.create(userID: f.user.id, now: 1)
        #expect(db.verifyEpoch() == epoch, "session create")
        #expect(try !bumped { _ = try db.sessions.advance(id: session.id, from: 1, now: 2) })
        #expect(try !bumped { _ = try db.users.recordFailure(userID: f.user.id, now: 2, threshold: 5, lockSeconds: 1) })
        #expect(try !bumped { try db.users.resetFailures(userID: f.user.id) })
        #expect(try !bumped { try db.audit.record("x", at: 1) })
        #expect(try bumped { try db.sessions.revoke(id: session.id, reason: "r", now: 3) })
        #expect(try !bumped { try db.sessions.revoke(id: session.id, reason: "r", now: 4) })
        _ = try db.sessions.create(userID: f.user.id, now: 5)
        #expect(try bumped { try db.sessions.revokeAll(userID: f.user.id, reason: "r", now: 5) })
        #expect(try bumped { try db.users.setRole(userID: f.user.id, role: "admin", now: 6) })
        #expect(try !bumped { try db.users.setRole(userID: f.user.id, role: "admin", now: 7) })
        #expect(try bumped { try db.users.setStatus(userID: f.user.id, status: "disabled", now: 8) })
        #expect(try bumped { try db.users.setPassword(userID: f.user.id, hash: "z", mustChange: false, now: 9) })
        #expect(try bumped { try db.users.delete(userID: f.user.id) })
    }

    @Test func refreshIsCheapWhenNothingChanged() throws {
        let db = try StorageTestDirectory().open()
        let state = VerifyState(db: db)
        let epoch = state.epoch
        for _ in 0..<1000 { state.refreshIfChanged() }
        #expect(state.epoch == epoch && state.lastError == nil)
    }
}
