import AuthCrypto
import Foundation
import TestSupport
import Testing
@testable import AuthCore

/// The verify state over a real SQLite database: what it sees, from which writer, at what cost.
@Suite struct VerifyStateTests {
    static let bounds = VerifyState.Bounds(retainSeconds: 3600, maxTokenLifetime: 3600, maxStaleSeconds: 1)

    static func state(_ dir: StorageTestDirectory, bounds: VerifyState.Bounds = bounds) throws -> (VerifyState, CountingStore) {
        let store = CountingStore(try SQLiteVerifyStore(path: dir.dbPath))
        return (VerifyState(store: store, bounds: bounds), store)
    }

    @Test func seesRevocationThroughAnotherConnection() throws {
        let dir = try StorageTestDirectory(backend: .sqlite)
        let cli = try dir.open()
        let f = try StorageFixture(cli)
        let session = try cli.sessions.create(userID: f.user.id, now: 10)
        let (state, _) = try Self.state(dir)
        let reader = state.makeReader()
        #expect(reader.check(session.id, f.user.id) == .ok)
        try cli.sessions.revoke(id: session.id, reason: "admin", now: Time.now())
        state.refreshIfChanged()
        #expect(reader.check(session.id, f.user.id) == .revoked)
    }

    @Test func seesAnotherProcess() throws {
        let dir = try StorageTestDirectory(backend: .sqlite)
        let db = try dir.open()
        let f = try StorageFixture(db)
        let session = try db.sessions.create(userID: f.user.id, now: 10)
        let (state, _) = try Self.state(dir)
        let reader = state.makeReader()
        #expect(reader.check(session.id, f.user.id) == .ok)
        let sqlite = "/usr/bin/sqlite3"
        try #require(FileManager.default.isExecutableFile(atPath: sqlite), "make deps installs the sqlite3 CLI")
        let r = try Child.run(sqlite, [dir.dbPath, "UPDATE sessions SET revoked_at = \(Time.now()) WHERE id = '\(session.id)'"])
        #expect(r.status == 0, "\(r.stderr)")
        state.refreshIfChanged()
        #expect(reader.check(session.id, f.user.id) == .revoked)
    }

    @Test func userStates() throws {
        let dir = try StorageTestDirectory(backend: .sqlite)
        let cli = try dir.open()
        let f = try StorageFixture(cli)
        let session = try cli.sessions.create(userID: f.user.id, now: 10)
        let (state, _) = try Self.state(dir)
        let reader = state.makeReader()
        let now = Time.now()
        #expect(reader.check(session.id, f.user.id) == .ok)

        try cli.users.setPassword(userID: f.user.id, hash: "h2", mustChange: true, now: now)
        state.refreshIfChanged()
        #expect(reader.check(session.id, f.user.id) == .passwordChangeRequired)

        try cli.users.setStatus(userID: f.user.id, status: "disabled", now: now)
        state.refreshIfChanged()
        #expect(reader.check(session.id, f.user.id) == .userDisabled)

        try cli.users.setStatus(userID: f.user.id, status: "active", now: now)
        try cli.users.setPassword(userID: f.user.id, hash: "h3", mustChange: false, now: now)
        state.refreshIfChanged()
        #expect(reader.check(session.id, f.user.id) == .ok)

        try cli.users.delete(userID: f.user.id)
        state.refreshIfChanged()
        #expect(reader.check(session.id, f.user.id) == .revoked)
        // A full rebuild agrees with the incremental one.
        let (fresh, _) = try Self.state(dir)
        #expect(fresh.makeReader().check(session.id, f.user.id) == .revoked)
    }

    @Test func apiKeysAndNodes() throws {
        let dir = try StorageTestDirectory(backend: .sqlite)
        let cli = try dir.open()
        let f = try StorageFixture(cli)
        let (state, store) = try Self.state(dir)
        let reader = state.makeReader()
        let project = try cli.projects.create(tenantID: f.tenant.id, name: "P", now: 1)
        let key = try cli.apiKeys.create(projectID: project.id, name: "k", prefix: "2s_live_xxxx", keyHash: "k1", now: 2)
        let node = try cli.nodes.create(tenantID: f.tenant.id, name: "edge", keyHash: "n1", now: 3)
        #expect(reader.apiKey(digest: "k1") == nil)  // not refreshed yet
        state.refreshIfChanged()
        #expect(reader.apiKey(digest: "k1") == APIKeyIdentity(keyID: key.id, projectID: project.id, tenantID: f.tenant.id))
        #expect(reader.node(digest: "n1") == NodeIdentity(nodeID: node.id, tenantID: f.tenant.id, name: "edge"))
        #expect(reader.apiKey(digest: "n1") == nil && reader.node(digest: "k1") == nil)

        try cli.apiKeys.touch(ids: [key.id], at: 5)
        let watermark = state.health.watermark
        state.refreshIfChanged()
        #expect(state.health.watermark == watermark)  // last_used_at is not a verification change
        #expect(store.loads == 1)

        try cli.apiKeys.revoke(id: key.id, now: 6)
        try cli.nodes.revoke(id: node.id, now: 6)
        state.refreshIfChanged()
        #expect(reader.apiKey(digest: "k1") == nil)
        #expect(reader.node(digest: "n1") == nil)
        #expect(store.loads == 1, "applied incrementally, never reloaded")
    }

    @Test func changeLogOnlyForVerificationWrites() throws {
        let db = try StorageTestDirectory(backend: .sqlite).open()
        let f = try StorageFixture(db)
        var seq = db.verifyChangeSeq()
        #expect(seq == 0)
        func logged(_ body: () throws -> Void) rethrows -> Bool {
            try body()
            let now = db.verifyChangeSeq()
            defer { seq = now }
            return now > seq
        }
        let session = try db.sessions.create(userID: f.user.id, now: 1)
        #expect(db.verifyChangeSeq() == seq, "session create")
        #expect(try !logged { _ = try db.sessions.advance(id: session.id, from: 1, now: 2) })
        #expect(try !logged { _ = try db.users.recordFailure(userID: f.user.id, now: 2, threshold: 5, lockSeconds: 1) })
        #expect(try !logged { try db.users.resetFailures(userID: f.user.id) })
        #expect(try !logged { try db.audit.record("x", at: 1) })
        #expect(try logged { try db.sessions.revoke(id: session.id, reason: "r", now: 3) })
        #expect(try !logged { try db.sessions.revoke(id: session.id, reason: "r", now: 4) })
        _ = try db.sessions.create(userID: f.user.id, now: 5)
        #expect(try logged { try db.sessions.revokeAll(userID: f.user.id, reason: "r", now: 5) })
        #expect(try logged { try db.users.setRole(userID: f.user.id, role: "admin", now: 6) })
        #expect(try !logged { try db.users.setRole(userID: f.user.id, role: "admin", now: 7) })
        #expect(try logged { try db.users.setStatus(userID: f.user.id, status: "disabled", now: 8) })
        #expect(try logged { try db.users.setPassword(userID: f.user.id, hash: "z", mustChange: false, now: 9) })
        #expect(try logged { try db.users.delete(userID: f.user.id) })
    }

    /// Nothing committed: no store read at all (the WAL-index header did not move).
    @Test func refreshIsFreeWhenNothingChanged() throws {
        let dir = try StorageTestDirectory(backend: .sqlite)
        _ = try StorageFixture(dir.open())
        let (state, store) = try Self.state(dir)
        for _ in 0..<1000 { state.refreshIfChanged() }
        #expect(store.loads == 1)
        #expect(store.reads <= 1, "\(store.reads) change reads with nothing committed")
        #expect(state.health.fresh && state.health.error == nil)
    }

    /// Revoked sessions whose tokens have all expired are never loaded, applied or kept.
    @Test func onlySessionsWithLiveTokensAreKept() throws {
        let dir = try StorageTestDirectory(backend: .sqlite)
        let db = try dir.open()
        let f = try StorageFixture(db)
        let now = Time.now()
        let bounds = VerifyState.Bounds(retainSeconds: 100, maxTokenLifetime: 60, maxStaleSeconds: 1, compactionSeconds: 0)
        let old = try db.sessions.create(userID: f.user.id, now: now - 500)
        let recent = try db.sessions.create(userID: f.user.id, now: now - 500)
        try db.sessions.revoke(id: old.id, reason: "r", now: now - 101)
        try db.sessions.revoke(id: recent.id, reason: "r", now: now - 99)
        let (state, _) = try Self.state(dir, bounds: bounds)
        #expect(state.health.revokedSessions == 1, "full load")
        #expect(state.makeReader().check(recent.id, f.user.id) == .revoked)

        // Incremental: a revocation that is already past its bound is not kept either.
        let late = try db.sessions.create(userID: f.user.id, now: now - 500)
        try db.sessions.revoke(id: late.id, reason: "r", now: now - 200)
        state.refreshIfChanged()
        #expect(state.health.revokedSessions == 1)

        // Compaction drops entries as their bound passes.
        let soon = try db.sessions.create(userID: f.user.id, now: now)
        try db.sessions.revoke(id: soon.id, reason: "r", now: Time.now() - 99)
        state.refreshIfChanged()
        #expect(state.health.revokedSessions == 2)
        try waitFor("the entry of a session revoked 99 s ago to expire (bound 100 s)", timeout: 5) {
            try db.audit.record("tick", at: Time.now())   // any commit moves the marker
            state.refreshIfChanged()
            return state.health.revokedSessions == 0
        }
    }

    /// A token living longer than the TTL the bound assumes cannot have its revocation
    /// honoured after the bound: it is refused outright.
    @Test func tokensOutlivingTheBoundAreRefused() throws {
        let dir = try StorageTestDirectory(backend: .sqlite)
        let f = try StorageFixture(dir.open())
        let (state, _) = try Self.state(dir)
        let reader = state.makeReader()
        #expect(reader.sessionCheck(sid: "s", userID: f.user.id, iat: 1_000, exp: 1_000 + 3600) == .ok)
        #expect(reader.sessionCheck(sid: "s", userID: f.user.id, iat: 1_000, exp: 1_000 + 3601) == .revoked)
    }

    /// Changes after the watermark were pruned before this state read them: it rebuilds.
    @Test func lostWatermarkRebuilds() throws {
        let dir = try StorageTestDirectory(backend: .sqlite)
        let db = try dir.open()
        let f = try StorageFixture(db)
        let s1 = try db.sessions.create(userID: f.user.id, now: 1)
        let s2 = try db.sessions.create(userID: f.user.id, now: 1)
        let (state, store) = try Self.state(dir)
        let reader = state.makeReader()
        try db.sessions.revoke(id: s1.id, reason: "r", now: Time.now())
        try db.sessions.revoke(id: s2.id, reason: "r", now: Time.now())
        #expect(try db.pruneVerifyChanges(before: Time.now() + 10) == 1, "keeps the newest row")
        state.refreshIfChanged()
        #expect(store.loads == 2, "rebuilt")
        #expect(reader.check(s1.id, f.user.id) == .revoked && reader.check(s2.id, f.user.id) == .revoked)
        // A database with fewer changes than seen (restored from a backup) also rebuilds.
        try db.connection.execScript("UPDATE sqlite_sequence SET seq = 1 WHERE name = 'verify_changes'")
        try db.audit.record("moved", at: 1)
        state.refreshIfChanged()
        #expect(store.loads == 3)
    }

    /// A long backlog is applied in batches, never as a reload.
    @Test func backlogIsAppliedInBatches() throws {
        let dir = try StorageTestDirectory(backend: .sqlite)
        let db = try dir.open()
        let f = try StorageFixture(db)
        let (state, store) = try Self.state(dir)
        let now = Time.now()
        let count = VerifyState.batch + 500
        var ids: [String] = []
        try db.transaction {
            for _ in 0..<count {
                let s = try db.sessions.create(userID: f.user.id, now: now)
                try db.sessions.revoke(id: s.id, reason: "r", now: now)
                ids.append(s.id)
            }
        }
        state.refreshIfChanged()
        #expect(store.loads == 1)
        #expect(state.health.revokedSessions == count)
        let reader = state.makeReader()
        #expect(ids.allSatisfy { reader.check($0, f.user.id) == .revoked })
    }

    /// Readers on several threads while the writer applies revocations one by one: a
    /// revocation a reader saw never disappears, and every one is seen at the end.
    @Test func concurrentReadersDuringUpdates() throws {
        let dir = try StorageTestDirectory(backend: .sqlite)
        let db = try dir.open()
        let f = try StorageFixture(db)
        let sessions = try (0..<300).map { _ in try db.sessions.create(userID: f.user.id, now: 1).id }
        let (state, _) = try Self.state(dir)
        let userID = f.user.id
        let path = dir.dbPath
        let results = try onThreads(5) { index -> Int in
            if index == 0 {
                let writer = try Database(path: path)
                for sid in sessions {
                    try writer.sessions.revoke(id: sid, reason: "r", now: Time.now())
                    state.refreshIfChanged()
                }
                return 0
            }
            let reader = state.makeReader()
            var seen = 0, regressions = 0
            let deadline = Deadline(60)
            while seen < sessions.count && !deadline.passed {
                for (i, sid) in sessions.enumerated() {
                    let revoked = reader.check(sid, userID) == .revoked
                    if i < seen && !revoked { regressions += 1 }
                    if i == seen && revoked { seen += 1 }
                }
            }
            return regressions == 0 && seen == sessions.count ? 0 : 1 + regressions
        }
        for r in results { #expect(try r.get() == 0) }
    }

    @Test func sessionKeysAreExact() {
        let id = "0123abcd-4567-89ef-0123-456789abcdef"
        #expect(SessionKey(id) != nil)
        #expect(SessionKey(id) == SessionKey(id))
        #expect(SessionKey(id) != SessionKey("0123abcd-4567-89ef-0123-456789abcdee"))
        for bad in ["0123ABCD-4567-89ef-0123-456789abcdef", "0123abcd-4567-89ef-0123-456789abcde", "0123abcd04567-89ef-0123-456789abcdef", ""] {
            #expect(SessionKey(bad) == nil, "\(bad)")
        }
        // Odd ids still work, as exact strings.
        let set = RevokedSessions.empty.merging(revokedSessions([("odd-id", 100), (id, 100)], cutoff: 0).0, cutoff: 0)
        #expect(set.contains("odd-id") && set.contains(id) && !set.contains("ODD-ID") && set.keys.count == 1)
    }
}

extension VerifyReader {
    /// `sessionCheck` for a token issued now with a 10-minute lifetime.
    func check(_ sid: String, _ userID: String) -> SessionCheck {
        let now = Time.now()
        return sessionCheck(sid: sid, userID: userID, iat: now, exp: now + 600)
    }
}

/// Counts the calls a state makes to a real store.
final class CountingStore: VerifyStore, @unchecked Sendable {
    let inner: any VerifyStore
    private(set) var loads = 0
    private(set) var reads = 0
    init(_ inner: any VerifyStore) { self.inner = inner }
    func changeMarker() -> VerifyChangeMarker? { inner.changeMarker() }
    func loadAll(revokedSince: Int64, disabledSince: Int64) throws -> VerifyLoad {
        loads += 1
        return try inner.loadAll(revokedSince: revokedSince, disabledSince: disabledSince)
    }
    func changes(after watermark: Int64, limit: Int, disabledSince: Int64) throws -> VerifyDelta {
        reads += 1
        return try inner.changes(after: watermark, limit: limit, disabledSince: disabledSince)
    }
}
