/// The SQLite side of the verify seam: one connection of its own, the trigger-written
/// `verify_changes` log (Migrations.v2) and the WAL-index header as the change marker, so a
/// refresh with nothing committed costs a 96-byte compare and no read transaction.
public final class SQLiteVerifyStore: VerifyStore {
    let db: Database
    private lazy var watch = WALChangeWatch(handle: db.sqlite!.handle)

    /// Opens its own connection (`Database` is not shared between threads).
    public init(path: String) throws {
        db = try Database(path: path)
    }

    public init(database: Database) {
        db = database
    }

    public func changeMarker() -> VerifyChangeMarker? {
        guard let h = watch.header() else { return nil }
        return VerifyChangeMarker([h.0, h.1, h.2, h.3, h.4, h.5, h.6, h.7, h.8, h.9, h.10, h.11])
    }

    public func loadAll(revokedSince: Int64, disabledSince: Int64) throws -> VerifyLoad {
        try VerifyChangeLog.loadAll(db.connection, revokedSince: revokedSince, disabledSince: disabledSince)
    }

    public func changes(after watermark: Int64, limit: Int, disabledSince: Int64) throws -> VerifyDelta {
        try VerifyChangeLog.changes(db.connection, after: watermark, limit: limit, disabledSince: disabledSince)
    }
}

/// The change-log reads both stores share (the SQL is the same; only where the last
/// sequence number lives differs).
enum VerifyChangeLog {
    static func loadAll(_ c: Connection, revokedSince: Int64, disabledSince: Int64) throws -> VerifyLoad {
        return try c.transaction(immediate: false) {
            let watermark = try Self.lastSeq(c)
            let revoked = try Self.revokedRows(c, since: revokedSince)
            var blocked: [VerifyUserChange] = []
            try c.forEachRow("""
                SELECT id, status <> 'active' FROM users
                WHERE must_change_password <> 0 OR (status <> 'active' AND updated_at >= ?)
                """, [.int(disabledSince)]) { row in
                blocked.append(VerifyUserChange(userID: row.text(0), check: row.bool(1) ? .userDisabled : .passwordChangeRequired))
            }
            let keys = try Self.liveCredentials(c)
            return VerifyLoad(watermark: watermark, revoked: revoked, blockedUsers: blocked,
                              apiKeys: keys.apiKeys, nodes: keys.nodes)
        }
    }

    static func changes(_ c: Connection, after watermark: Int64, limit: Int, disabledSince: Int64) throws -> VerifyDelta {
        return try c.transaction(immediate: false) {
            let last = try Self.lastSeq(c)
            if last == watermark { return .changes(watermark: watermark, revokedSessions: [], users: [], keys: nil) }
            // Fewer changes than we have seen: another database (restored, replaced).
            if last < watermark { return .lost }
            // The first change after the watermark must still be there (seq never skips).
            let first = try c.queryFirst("SELECT min(seq) FROM verify_changes WHERE seq > ?", [.int(watermark)]) {
                $0.optionalInt(0)
            } ?? nil
            guard first == watermark + 1 else { return .lost }
            var seq = watermark
            var sessions: [(String, Int64)] = []
            var users: [VerifyUserChange] = []
            var keysChanged = false
            try c.forEachRow("""
                SELECT c.seq, c.kind, c.ref, c.at, u.id IS NOT NULL, u.status <> 'active', u.must_change_password <> 0,
                       u.updated_at
                FROM verify_changes c LEFT JOIN users u ON c.kind = 2 AND u.id = c.ref
                WHERE c.seq > ? ORDER BY c.seq LIMIT ?
                """, [.int(watermark), .int(Int64(max(1, limit)))]) { row in
                seq = row.int(0)
                switch row.int(1) {
                case 1:
                    // A NULL revoked_at (never written today) reads as "not revoked".
                    sessions.append((row.text(2), row.optionalInt(3) ?? Int64.min))
                case 2:
                    var check: SessionCheck?
                    if row.bool(4) {
                        if row.bool(5) {
                            check = row.int(7) >= disabledSince ? .userDisabled : (row.bool(6) ? .userDisabled : nil)
                        } else if row.bool(6) {
                            check = .passwordChangeRequired
                        }
                    }
                    users.append(VerifyUserChange(userID: row.text(2), check: check))
                default:
                    keysChanged = true
                }
            }
            return .changes(watermark: seq, revokedSessions: sessions, users: users,
                            keys: keysChanged ? try Self.liveCredentials(c) : nil)
        }
    }

    /// The sessions revoked at or after `since`, straight into the compact table's builder,
    /// sized by a count first (the same snapshot: the transaction is open). SQLite steps the
    /// statement row by row; PostgreSQL would hold a whole result in libpq's memory (about 80
    /// bytes a row), so it reads through a cursor, 10,000 rows at a time.
    static let fetchRows = 10_000

    private static func revokedRows(_ c: Connection, since: Int64) throws -> RevokedRows {
        let expected = try c.queryFirst("SELECT count(*) FROM sessions WHERE revoked_at >= ?", [.int(since)]) {
            $0.int(0)
        } ?? 0
        let rows = RevokedRows(capacity: Int(expected))
        let add = { (row: Row) in row.withTextBytes(0) { rows.append(utf8: $0, revokedAt: row.int(1)) } }
        guard c.dialect == .postgres else {
            try c.forEachRow("SELECT id, revoked_at FROM sessions WHERE revoked_at >= ?", [.int(since)], add)
            return rows
        }
        // `since` is an integer: written into the statement, which then needs no parameter
        // (a cursor is declared through the simple protocol).
        try c.execScript("DECLARE authgate_verify_revoked NO SCROLL CURSOR FOR "
                         + "SELECT id, revoked_at FROM sessions WHERE revoked_at >= \(since)")
        while true {
            var fetched = 0
            try c.forEachRow("FETCH \(fetchRows) FROM authgate_verify_revoked", []) { row in
                fetched += 1
                add(row)
            }
            if fetched < fetchRows { break }
        }
        try c.execScript("CLOSE authgate_verify_revoked")
        return rows
    }

    private static func lastSeq(_ c: Connection) throws -> Int64 {
        // PostgreSQL: a one-row counter the triggers update under its row lock, so numbers are
        // handed out in commit order with no gaps (a sequence would hand them out at insert
        // time: a later commit could show seq 6 before seq 5 appears).
        let sql = c.dialect == .postgres ? "SELECT seq FROM verify_seq"
            : "SELECT seq FROM sqlite_sequence WHERE name = 'verify_changes'"
        return try c.queryFirst(sql) { $0.int(0) } ?? 0
    }

    private static func liveCredentials(_ c: Connection) throws
        -> (apiKeys: [String: APIKeyIdentity], nodes: [String: NodeIdentity]) {
        var keys: [String: APIKeyIdentity] = [:]
        try c.forEachRow("SELECT key_hash, id, project_id, tenant_id FROM api_keys WHERE revoked_at IS NULL") { row in
            keys[row.text(0)] = APIKeyIdentity(keyID: row.text(1), projectID: row.text(2), tenantID: row.text(3))
        }
        var nodes: [String: NodeIdentity] = [:]
        try c.forEachRow("SELECT api_key_hash, id, tenant_id, name FROM nodes WHERE revoked_at IS NULL") { row in
            nodes[row.text(0)] = NodeIdentity(nodeID: row.text(1), tenantID: row.text(2), name: row.text(3))
        }
        return (keys, nodes)
    }
}
