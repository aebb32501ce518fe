import Foundation
import Testing
@testable import AuthCore

@Suite struct StorageRepositoryTests {
    @Test func tenants() throws {
        let db = try StorageTestDirectory().open()
        let platform = try db.tenants.create(name: "Platform", domain: "platform.local", isPlatform: true, now: 1)
        let acme = try db.tenants.create(name: "Acme", domain: "Acme.Test", isPlatform: false, now: 2)
        #expect(platform.isPlatform && !acme.isPlatform)
        #expect(acme.id.count == 36 && acme.id == acme.id.lowercased())
        #expect(try db.tenants.byDomain("acme.test") == acme)
        #expect(try db.tenants.byID(acme.id) == acme)
        #expect(try db.tenants.byDomain("nope.test") == nil)
        #expect(try db.tenants.list().map(\.id) == [platform.id, acme.id])
        #expect(try db.tenants.platform() == platform)
        let duplicate = #expect(throws: StorageError.self) {
            _ = try db.tenants.create(name: "Again", domain: "ACME.test", isPlatform: false, now: 3)
        }
        #expect(duplicate?.isUniqueViolation == true && duplicate?.isConstraint == true)
        #expect(throws: StorageError.self) {
            _ = try db.tenants.create(name: "P2", domain: "p2.local", isPlatform: true, now: 3)
        }
    }

    @Test func users() throws {
        let db = try StorageTestDirectory().open()
        let f = try StorageFixture(db)
        let other = try db.tenants.create(name: "Other", domain: "other.test", isPlatform: false, now: 5)
        #expect(f.user.email == "Alice@Acme.test" && f.user.status == "active" && f.user.failedAttempts == 0)
        #expect(try db.users.byEmail(tenantID: f.tenant.id, email: "alice@acme.TEST") == f.user)
        #expect(try db.users.byEmail(tenantID: other.id, email: "alice@acme.test") == nil)
        #expect(try db.users.byID(f.user.id) == f.user)

        // Unique per tenant, case-insensitively; the same email may live in another tenant.
        let duplicate = #expect(throws: StorageError.self) {
            _ = try db.users.create(tenantID: f.tenant.id, email: "ALICE@acme.test", passwordHash: "h",
                                    role: "agent", mustChangePassword: false, now: 2)
        }
        #expect(duplicate?.isUniqueViolation == true)
        let twin = try db.users.create(tenantID: other.id, email: "alice@acme.test", passwordHash: "h",
                                       role: "admin", mustChangePassword: true, now: 6)
        #expect(twin.mustChangePassword)
        #expect(try db.users.withEmail("ALICE@ACME.TEST", limit: 3).map(\.id) == [twin.id, f.user.id])
        #expect(try db.users.withEmail("alice@acme.test", limit: 1).map(\.id) == [twin.id])
        #expect(try db.users.list(tenantID: other.id).map(\.id) == [twin.id])
        let orphan = #expect(throws: StorageError.self) {
            _ = try db.users.create(tenantID: "missing", email: "x@y", passwordHash: "h", role: "agent",
                                    mustChangePassword: false, now: 1)
        }
        #expect(orphan?.isNotFound == true)

        #expect(try db.users.setPassword(userID: f.user.id, hash: "new", mustChange: true, now: 10))
        #expect(try db.users.setStatus(userID: f.user.id, status: "disabled", now: 11))
        #expect(try db.users.setRole(userID: f.user.id, role: "admin", now: 12))
        let changed = try #require(try db.users.byID(f.user.id))
        #expect(changed.passwordHash == "new" && changed.mustChangePassword && changed.status == "disabled")
        #expect(changed.role == "admin" && changed.updatedAt == 12 && changed.createdAt == f.user.createdAt)
        #expect(throws: StorageError.self) { try db.users.setStatus(userID: f.user.id, status: "weird", now: 13) }
        #expect(try db.users.setRole(userID: "missing", role: "admin", now: 12) == false)

        let session = try db.sessions.create(userID: f.user.id, now: 20, userAgent: "ua", ip: "1.2.3.4")
        #expect(try db.users.delete(userID: f.user.id))
        #expect(try db.users.byID(f.user.id) == nil)
        let tombstone = try #require(try db.sessions.byID(session.id))
        #expect(tombstone.isRevoked && tombstone.revokedReason == "user_deleted")
        #expect(try db.users.delete(userID: f.user.id) == false)
    }

    @Test func lockout() throws {
        let db = try StorageTestDirectory().open()
        let f = try StorageFixture(db)
        var user = f.user
        for attempt in 1...2 {
            user = try db.users.recordFailure(userID: f.user.id, now: 100, threshold: 3, lockSeconds: 60)
            #expect(user.failedAttempts == attempt && user.lockedUntil == nil)
        }
        user = try db.users.recordFailure(userID: f.user.id, now: 101, threshold: 3, lockSeconds: 60)
        #expect(user.failedAttempts == 3 && user.lockedUntil == 161 && user.isLocked(now: 160) && !user.isLocked(now: 161))
        // While locked: counted, lock not extended.
        user = try db.users.recordFailure(userID: f.user.id, now: 150, threshold: 3, lockSeconds: 60)
        #expect(user.failedAttempts == 4 && user.lockedUntil == 161)
        // Lock expired: the count restarts.
        user = try db.users.recordFailure(userID: f.user.id, now: 161, threshold: 3, lockSeconds: 60)
        #expect(user.failedAttempts == 1 && user.lockedUntil == nil)
        try db.users.resetFailures(userID: f.user.id)
        #expect(try db.users.byID(f.user.id)?.failedAttempts == 0)
        for _ in 1...3 { _ = try db.users.recordFailure(userID: f.user.id, now: 200, threshold: 3, lockSeconds: 60) }
        #expect(try db.users.byID(f.user.id)?.lockedUntil == 260)
        #expect(try db.users.unlock(userID: f.user.id))
        let unlocked = try #require(try db.users.byID(f.user.id))
        #expect(unlocked.failedAttempts == 0 && unlocked.lockedUntil == nil)
        #expect(throws: StorageError.self) {
            _ = try db.users.recordFailure(userID: "missing", now: 1, threshold: 3, lockSeconds: 1)
        }
    }

    @Test func sessions() throws {
        let db = try StorageTestDirectory().open()
        let f = try StorageFixture(db)
        let s1 = try db.sessions.create(userID: f.user.id, now: 100, userAgent: "curl", ip: "10.0.0.1")
        let s2 = try db.sessions.create(userID: f.user.id, now: 200, userAgent: "", ip: "")
        let s3 = try db.sessions.create(userID: f.user.id, now: 300)
        #expect(s1.counter == 1 && s1.refreshedAt == 100 && s1.rotatedAt == 100 && s1.revokedAt == nil)
        #expect(s1.userAgent == "curl" && s1.ip == "10.0.0.1")
        #expect(try db.sessions.byID(s1.id) == s1)

        #expect(try db.sessions.advance(id: s1.id, from: 1, now: 400))
        #expect(try db.sessions.advance(id: s1.id, from: 1, now: 401) == false)
        let advanced = try #require(try db.sessions.byID(s1.id))
        #expect(advanced.counter == 2 && advanced.refreshedAt == 400 && advanced.rotatedAt == 400)

        #expect(try db.sessions.listLive(userID: f.user.id, now: 500, maxAge: 1000).map(\.id) == [s1.id, s3.id, s2.id])
        #expect(try db.sessions.listLive(userID: f.user.id, now: 500, maxAge: 350).map(\.id) == [s3.id, s2.id])

        #expect(try db.sessions.revoke(id: s2.id, reason: "logout", now: 600))
        #expect(try db.sessions.revoke(id: s2.id, reason: "again", now: 700) == false)
        let revoked = try #require(try db.sessions.byID(s2.id))
        #expect(revoked.revokedAt == 600 && revoked.revokedReason == "logout")
        #expect(try db.sessions.advance(id: s2.id, from: 1, now: 800) == false)

        #expect(try db.sessions.revokeAll(userID: f.user.id, reason: "others", now: 900, except: s1.id) == 1)
        #expect(try db.sessions.listLive(userID: f.user.id, now: 1000, maxAge: 10_000).map(\.id) == [s1.id])
        #expect(try db.sessions.revokeAll(userID: f.user.id, reason: "global", now: 1000) == 1)
        #expect(try db.sessions.listLive(userID: f.user.id, now: 1000, maxAge: 10_000).isEmpty)

        let live = try db.sessions.create(userID: f.user.id, now: 950)
        // s1 refreshed 400, revoked 1000: kept; s2 revoked 600, s3 revoked 900: deleted before 950.
        #expect(try db.sessions.pruneExpired(before: 950) == 2)
        #expect(try db.sessions.byID(s1.id) != nil && db.sessions.byID(s2.id) == nil && db.sessions.byID(live.id) != nil)
        #expect(try db.sessions.revokeEverything(reason: "all", now: 2000) == 1)
    }

    @Test func projectsAndAPIKeys() throws {
        let db = try StorageTestDirectory().open()
        let f = try StorageFixture(db)
        let project = try db.projects.create(tenantID: f.tenant.id, name: "Ingest", now: 10)
        #expect(try db.projects.byID(project.id) == project)
        #expect(try db.projects.list(tenantID: f.tenant.id) == [project])
        #expect(throws: StorageError.self) { _ = try db.projects.create(tenantID: "missing", name: "x", now: 1) }

        let key = try db.apiKeys.create(projectID: project.id, name: "ci", prefix: "2s_live_abcd", keyHash: "aa11", now: 20)
        #expect(key.tenantID == f.tenant.id && key.projectID == project.id && key.name == "ci")
        #expect(key.lastUsedAt == nil && key.revokedAt == nil)
        #expect(try db.apiKeys.byHash("aa11") == key && db.apiKeys.byID(key.id) == key)
        let missing = #expect(throws: StorageError.self) {
            _ = try db.apiKeys.create(projectID: "missing", name: "", prefix: "p", keyHash: "bb", now: 1)
        }
        #expect(missing?.isNotFound == true)
        let duplicate = #expect(throws: StorageError.self) {
            _ = try db.apiKeys.create(projectID: project.id, name: "", prefix: "p", keyHash: "aa11", now: 1)
        }
        #expect(duplicate?.isUniqueViolation == true)

        let second = try db.apiKeys.create(projectID: project.id, name: "", prefix: "2s_live_efgh", keyHash: "cc22", now: 30)
        try db.apiKeys.touch(ids: [key.id, second.id], at: 40)
        try db.apiKeys.touch(ids: [key.id], at: 35)  // never moves backwards
        #expect(try db.apiKeys.byID(key.id)?.lastUsedAt == 40)
        #expect(try db.apiKeys.revoke(id: key.id, now: 50))
        #expect(try db.apiKeys.revoke(id: key.id, now: 60) == false)
        #expect(try db.apiKeys.list(projectID: project.id).map(\.revokedAt) == [50, nil])
    }

    @Test func nodes() throws {
        let db = try StorageTestDirectory().open()
        let f = try StorageFixture(db)
        let node = try db.nodes.create(tenantID: f.tenant.id, name: "edge-1", keyHash: "dd33", now: 10)
        #expect(node.tenantID == f.tenant.id && node.name == "edge-1" && node.revokedAt == nil)
        #expect(try db.nodes.byHash("dd33") == node && db.nodes.byID(node.id) == node)
        #expect(try db.nodes.list(tenantID: f.tenant.id) == [node])
        #expect(throws: StorageError.self) { _ = try db.nodes.create(tenantID: "missing", name: "x", keyHash: "ee", now: 1) }
        #expect(throws: StorageError.self) { _ = try db.nodes.create(tenantID: f.tenant.id, name: "x", keyHash: "dd33", now: 1) }
        #expect(try db.nodes.revoke(id: node.id, now: 20))
        #expect(try db.nodes.revoke(id: node.id, now: 30) == false)
        #expect(try db.nodes.byID(node.id)?.revokedAt == 20)
    }

    @Test func audit() throws {
        let db = try StorageTestDirectory().open()
        let f = try StorageFixture(db)
        try db.audit.record("login.failed", tenantID: f.tenant.id, actor: "alice", ip: "1.1.1.1", detail: "{}", at: 100)
        try db.audit.record("tenant.created", at: 200)
        try db.audit.record("login.ok", tenantID: f.tenant.id, actor: f.user.id, at: 300)
        #expect(try db.audit.list(limit: 10).map(\.event) == ["login.ok", "tenant.created", "login.failed"])
        #expect(try db.audit.list(tenantID: f.tenant.id, limit: 10).map(\.event) == ["login.ok", "login.failed"])
        #expect(try db.audit.list(since: 200, limit: 10).count == 2)
        #expect(try db.audit.list(limit: 1).map(\.at) == [300])
        let first = try #require(try db.audit.list(tenantID: f.tenant.id, since: 0, limit: 10).last)
        #expect(first.actor == "alice" && first.ip == "1.1.1.1" && first.detail == "{}")
        let global = try #require(try db.audit.list(since: 200, limit: 10).last)
        #expect(global.tenantID == nil && global.actor == nil)
        #expect(try db.audit.prune(before: 250) == 2)
        #expect(try db.audit.list(limit: 10).map(\.event) == ["login.ok"])
    }
}
