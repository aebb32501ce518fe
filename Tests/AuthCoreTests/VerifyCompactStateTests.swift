import AuthCrypto
import Foundation
import TestSupport
import Testing
@testable import AuthCore

/// Issue 24: the verify state holds its revoked sessions in the compact table (20 bytes of id and
/// revoked_at an entry, a bucket index beside it), loaded from the store row by row. On the run's
/// store (SQLite, or PostgreSQL through its cursor) with 100,000 sessions revoked within the last
/// ten minutes: the table's own accounting, every lookup right, expired entries dropped.
@Suite(.serialized) struct VerifyCompactStateTests {
    static let count = 100_000
    static let expiring = 1_000
    static let retain: Int64 = 3600

    /// The id of row `i`: a lowercase UUID both stores can write in SQL.
    static func id(_ i: Int) -> String {
        let a = String(i, radix: 16), b = String(i &* 2_654_435_761 % 0xffff_ffff_ffff, radix: 16)
        return String(repeating: "0", count: 8 - a.count) + a + "-0000-4000-8000-" + String(repeating: "0", count: 12 - b.count) + b
    }

    /// `n` revoked sessions from `first`, revoked at `at` (SQL of `I`, the row number), 10,000 a
    /// statement (PostgreSQL's change log numbers a statement's rows at once since its v5).
    static func insert(_ db: Database, user: String, first: Int, n: Int, at: String) throws {
        let batch = 10_000
        var from = first
        while from < first + n {
            let k = min(batch, first + n - from)
            try insertBatch(db, user: user, first: from, n: k, at: at)
            from += k
        }
    }

    static func insertBatch(_ db: Database, user: String, first: Int, n: Int, at: String) throws {
        let sql: String
        switch db.connection.dialect {
        case .postgres:
            sql = """
                INSERT INTO sessions(id, user_id, created_at, refreshed_at, revoked_at, revoked_reason, counter, rotated_at)
                SELECT lpad(to_hex(i), 8, '0') || '-0000-4000-8000-' || lpad(to_hex((i::bigint * 2654435761) % 281474976710655), 12, '0'),
                       '\(user)', 1, 1, \(at.replacingOccurrences(of: "I", with: "i")), 'logout', 1, 1
                FROM generate_series(\(first), \(first + n - 1)) AS g(i)
                """
        default:
            sql = """
                WITH RECURSIVE n(i) AS (SELECT \(first) UNION ALL SELECT i + 1 FROM n WHERE i < \(first + n - 1))
                INSERT INTO sessions(id, user_id, created_at, refreshed_at, revoked_at, revoked_reason, counter, rotated_at)
                SELECT printf('%08x-0000-4000-8000-%012x', i, (i * 2654435761) % 281474976710655),
                       '\(user)', 1, 1, \(at.replacingOccurrences(of: "I", with: "i")), 'logout', 1, 1
                FROM n
                """
        }
        try db.connection.execScript(sql)
    }

    static func state(_ dir: StorageTestDirectory, compaction: Int64 = 60) throws -> VerifyState {
        let bounds = VerifyState.Bounds(retainSeconds: retain, maxTokenLifetime: 3600, maxStaleSeconds: 5,
                                        compactionSeconds: compaction)
        let store: any VerifyStore
        switch dir.location {
        case let .sqlite(path): store = try SQLiteVerifyStore(path: path)
        case let .postgres(url): store = try PostgresVerifyStore(url: url)
        }
        return VerifyState(store: store, bounds: bounds)
    }

    @Test func hundredThousandRevocationsAreCompactAndExact() throws {
        let dir = try StorageTestDirectory()
        let db = try dir.open()
        let f = try StorageFixture(db)
        let now = Time.now()
        // Revoked within the last ten minutes; then some long enough ago that they no longer matter.
        try Self.insert(db, user: f.user.id, first: 1, n: Self.count, at: "\(now) - (I % 600)")
        try Self.insert(db, user: f.user.id, first: Self.count + 1, n: Self.expiring, at: "\(now - Self.retain - 120)")
        let state = try Self.state(dir)
        let reader = state.makeReader()
        #expect(state.health.revokedSessions == Self.count, "the expired ones are not loaded")

        let base = state.cell.current.base
        let perEntry = Double(base.memoryBytes) / Double(base.count)
        print("verify state: \(base.count) revoked sessions in \(base.memoryBytes) bytes = "
              + "\(String(format: "%.2f", perEntry)) bytes/entry (entry \(MemoryLayout<RevokedEntry>.stride) bytes, "
              + "\(RevokedBase.shardCount) shards)")
        #expect(MemoryLayout<RevokedEntry>.stride == 20)
        #expect(base.count == Self.count && perEntry <= 22, "20 bytes an entry + the index and each shard's last page")

        var wrong: [String] = []
        for i in stride(from: 1, through: Self.count, by: 7) where reader.check(Self.id(i), f.user.id) != .revoked {
            wrong.append("revoked \(Self.id(i)) reads allowed")
        }
        for i in (Self.count + 1)...(Self.count + Self.expiring) where reader.check(Self.id(i), f.user.id) != .ok {
            wrong.append("expired \(Self.id(i)) reads revoked")
        }
        for _ in 0..<5_000 {
            let other = UUID().uuidString.lowercased()
            if reader.check(other, f.user.id) != .ok { wrong.append("never revoked \(other) reads revoked") }
        }
        #expect(wrong.isEmpty, "\(wrong.count) wrong lookups, first: \(wrong.prefix(3))")

        // A live session revoked now (the incremental path), then merged into the table.
        let live = try db.sessions.create(userID: f.user.id, now: now)
        #expect(reader.check(live.id, f.user.id) == .ok)
        try db.sessions.revoke(id: live.id, reason: "logout", now: Time.now())
        state.refreshIfChanged(force: true)
        #expect(reader.check(live.id, f.user.id) == .revoked)
        #expect(state.health.revokedSessions == Self.count + 1)
    }

    /// Entries whose tokens have all expired leave the table at the next compaction; the others
    /// stay, and a lookup for a dropped one reads allowed.
    @Test func expiryDropsEntries() throws {
        let dir = try StorageTestDirectory()
        let db = try dir.open()
        let f = try StorageFixture(db)
        let now = Time.now()
        try Self.insert(db, user: f.user.id, first: 1, n: 5_000, at: "\(now)")
        // Expire about two seconds from now.
        try Self.insert(db, user: f.user.id, first: 5_001, n: 5_000, at: "\(now - Self.retain + 2)")
        let state = try Self.state(dir, compaction: 1)
        let reader = state.makeReader()
        #expect(state.health.revokedSessions == 10_000)
        #expect(reader.check(Self.id(5_001), f.user.id) == .revoked)
        let deadline = Deadline(20)
        while state.health.revokedSessions != 5_000 && !deadline.passed {
            state.refreshIfChanged(force: true)
            usleep(100_000)
        }
        #expect(state.health.revokedSessions == 5_000, "waited for the 5,000 expired entries to be dropped")
        #expect(reader.check(Self.id(5_001), f.user.id) == .ok && reader.check(Self.id(10_000), f.user.id) == .ok)
        #expect(reader.check(Self.id(1), f.user.id) == .revoked && reader.check(Self.id(5_000), f.user.id) == .revoked)
        let base = state.cell.current.base
        #expect(base.count == 5_000)
    }

    /// The table itself: build from unsorted keys with duplicates, merge, remove, drop by cutoff.
    @Test func tableMergeAndRemove() {
        let keys = (0..<3_000).map { SessionKey(Self.id($0))! }
        let b = RevokedTableBuilder(capacity: 10)   // grows past its reservation
        for (i, k) in keys.enumerated().reversed() { b.append(k, revokedAt: Int64(1_000 + i)) }
        b.append(keys[5], revokedAt: 9_999)           // a duplicate: the later revoked_at wins
        let t = b.finish(sorted: false, cutoff: 1_010)  // drops 0...9 but not 5 (9,999)
        #expect(t.count == 2_991)
        #expect(t.find(TableKey(keys[5])) == 9_999 && t.find(TableKey(keys[4])) == nil && t.find(TableKey(keys[2_999])) == 3_999)
        let extra = (3_000..<3_100).map { (TableKey(SessionKey(Self.id($0))!), UInt32(5_000)) }.sorted { $0.0 < $1.0 }
        let m = t.merging(extra[...], removed: [TableKey(keys[600])], cutoff: 1_500)
        #expect(m.count == 2_991 - 490 - 1 + 100, "1,010...1,499 dropped, one removed, 100 added")
        #expect(m.find(TableKey(keys[600])) == nil && m.find(TableKey(keys[100])) == nil && m.find(TableKey(keys[500])) == 1_500 && m.find(extra[7].0) == 5_000)
        #expect(m.find(TableKey(keys[5])) == 9_999)
        var sorted = true
        for i in 1..<m.count where !(m.entries[i - 1].key < m.entries[i].key) { sorted = false }
        #expect(sorted)
    }
}
