import AuthCrypto
import Foundation
import TestSupport
import Testing
@testable import AuthCore

/// Issue 24: a bulk revocation in ONE statement (an operator revoking every session of a breached
/// tenant, say). On PostgreSQL the change log's one-row counter used to move once a row, and
/// within one transaction each move stepped over every version the earlier ones left: 10,000
/// rows took 1.7 s, 20,000 took 4.8 s, 100,000 minutes, a million did not finish in 17 minutes.
/// Since PostgreSQL v5 (Migrations+ChangeLog.swift) it moves once a statement. On the run's
/// store: 200,000 live sessions revoked by one UPDATE within a generous bound, numbered without
/// a gap, applied by a running verify state through its incremental path; a statement that
/// changes no verify answer (a refresh of every row) logs nothing.
@Suite(.serialized) struct VerifyBulkRevocationTests {
    static let count = 200_000

    @Test func twoHundredThousandRevokedInOneStatement() throws {
        let dir = try StorageTestDirectory()
        let db = try dir.open()
        let f = try StorageFixture(db)
        // Live sessions (revoked_at NULL): logging nothing, so the state starts empty.
        try VerifyCompactStateTests.insertBatch(db, user: f.user.id, first: 1, n: Self.count, at: "NULL")
        let state = try VerifyCompactStateTests.state(dir)
        let reader = state.makeReader()
        #expect(state.health.revokedSessions == 0)
        let before = db.verifyChangeSeq()

        // Every row updated, no verify answer changed: no change logged, the counter not moved.
        _ = try db.connection.execute("UPDATE sessions SET refreshed_at = refreshed_at + 1 WHERE user_id = ?", [.text(f.user.id)])
        #expect(db.verifyChangeSeq() == before, "a refresh of every session logged a change")

        let now = Time.now()
        // The bound is also PostgreSQL's statement_timeout: without v5 the statement fails there
        // (SQLSTATE 57014) instead of running on for many minutes.
        if db.isPostgres { try db.connection.execScript("SET statement_timeout = '120s'") }
        let started = Date()
        let n = try db.connection.execute("""
            UPDATE sessions SET revoked_at = ?, revoked_reason = 'logout' WHERE user_id = ? AND revoked_at IS NULL
            """, [.int(now), .text(f.user.id)])
        let took = Date().timeIntervalSince(started)
        if db.isPostgres { try db.connection.execScript("RESET statement_timeout") }
        print("bulk revocation (\(db.isPostgres ? "PostgreSQL" : "SQLite")): \(n) sessions in one statement in "
              + String(format: "%.1f", took) + " s")
        #expect(n == Self.count)
        #expect(took < 120, "200,000 revocations in one statement took \(took) s (once a row, PostgreSQL took minutes)")

        // Numbered without a gap: exactly `count` rows after the old counter, up to the new one.
        let after = db.verifyChangeSeq()
        #expect(after == before + Int64(Self.count))
        let logged = try db.connection.queryFirst("""
            SELECT count(*), min(seq), max(seq), count(DISTINCT ref) FROM verify_changes WHERE seq > ? AND kind = 1
            """, [.int(before)]) { [$0.int(0), $0.int(1), $0.int(2), $0.int(3)] } ?? []
        #expect(logged == [Int64(Self.count), before + 1, after, Int64(Self.count)], "\(logged)")

        // The running state applies them from its watermark (no rebuild), every one of them.
        let applied = Date()
        let deadline = Deadline(120)
        while state.health.revokedSessions < Self.count && !deadline.passed { state.refreshIfChanged(force: true) }
        print("bulk revocation: the verify state applied them in " + String(format: "%.1f", Date().timeIntervalSince(applied)) + " s")
        #expect(state.health.revokedSessions == Self.count, "waited for the state to hold the \(Self.count) revocations")
        var wrong: [String] = []
        for i in stride(from: 1, through: Self.count, by: 13) where reader.check(VerifyCompactStateTests.id(i), f.user.id) != .revoked {
            wrong.append(VerifyCompactStateTests.id(i))
        }
        let other = UUID().uuidString.lowercased()
        #expect(reader.check(other, f.user.id) == .ok)
        #expect(wrong.isEmpty, "\(wrong.count) revoked sessions read allowed, first: \(wrong.prefix(3))")
    }
}
