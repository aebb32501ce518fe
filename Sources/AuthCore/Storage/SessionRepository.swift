public struct Session: Sendable, Equatable {
    public var id: String
    public var userID: String
    public var createdAt: Int64
    public var refreshedAt: Int64
    public var revokedAt: Int64?
    public var revokedReason: String?
    /// The refresh counter: the live refresh token carries this value.
    public var counter: Int64
    public var rotatedAt: Int64
    public var userAgent: String
    public var ip: String
    /// Assurance level (1: password; 2: password and a second factor) and the RFC 8176 methods.
    public var aal: Int64
    public var amr: [String]

    public var isRevoked: Bool { revokedAt != nil }

    static let columns = "id, user_id, created_at, refreshed_at, revoked_at, revoked_reason, counter, rotated_at, user_agent, ip, aal, amr"

    init(row: Row) {
        id = row.text(0)
        userID = row.text(1)
        createdAt = row.int(2)
        refreshedAt = row.int(3)
        revokedAt = row.optionalInt(4)
        revokedReason = row.optionalText(5)
        counter = row.int(6)
        rotatedAt = row.int(7)
        userAgent = row.text(8)
        ip = row.text(9)
        aal = row.int(10)
        amr = row.text(11).split(separator: " ").map(String.init)
    }
}

public struct SessionRepository {
    let connection: Connection

    /// A new live session with counter 1. Not logged in verify_changes (new sessions are valid).
    public func create(userID: String, now: Int64, userAgent: String = "", ip: String = "",
                       aal: Int64 = 1, amr: [String] = ["pwd"]) throws -> Session {
        let sql = """
            INSERT INTO sessions(id, user_id, created_at, refreshed_at, counter, rotated_at, user_agent, ip, aal, amr)
            VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?) RETURNING \(Session.columns)
            """
        let args: [SQLValue] = [.text(StorageIDs.random()), .text(userID), .int(now), .int(now), .int(now),
                                .text(userAgent), .text(ip), .int(aal), .text(amr.joined(separator: " "))]
        guard let session = try connection.queryFirst(sql, args, Session.init) else { throw StorageError.notFound("session") }
        return session
    }

    public func byID(_ id: String) throws -> Session? {
        try connection.queryFirst("SELECT \(Session.columns) FROM sessions WHERE id = ?", [.text(id)], Session.init)
    }

    /// `byID` inside a write transaction that will decide on the row (the refresh rotation):
    /// PostgreSQL locks the row (`FOR UPDATE`) so racing refreshes of one session, from any
    /// host, decide one after another as they do under SQLite's write lock.
    public func byIDForUpdate(_ id: String) throws -> Session? {
        let lock = connection.dialect == .postgres ? " FOR UPDATE" : ""
        return try connection.queryFirst("SELECT \(Session.columns) FROM sessions WHERE id = ?" + lock, [.text(id)], Session.init)
    }

    /// Not revoked and created within `maxAge` seconds of `now`; most recently refreshed first.
    public func listLive(userID: String, now: Int64, maxAge: Int64) throws -> [Session] {
        try connection.query("""
            SELECT \(Session.columns) FROM sessions
            WHERE user_id = ? AND revoked_at IS NULL AND created_at > ?
            ORDER BY refreshed_at DESC, created_at DESC
            """, [.text(userID), .int(now - maxAge)], Session.init)
    }

    /// Revokes a live session; an already revoked one keeps its first date and reason.
    /// Returns true when this call revoked it. Logged in verify_changes (the verify state applies it).
    @discardableResult
    public func revoke(id: String, reason: String, now: Int64) throws -> Bool {
        try connection.execute(
            "UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE id = ? AND revoked_at IS NULL",
            [.int(now), .text(reason), .text(id)]) > 0
    }

    /// Revokes every live session of the user but `except` (the caller's own, for
    /// `scope=others`); returns how many. Logged in verify_changes (the verify state applies it).
    @discardableResult
    public func revokeAll(userID: String, reason: String, now: Int64, except: String? = nil) throws -> Int {
        try connection.execute("""
            UPDATE sessions SET revoked_at = ?, revoked_reason = ?
            WHERE user_id = ? AND revoked_at IS NULL AND (CAST(? AS TEXT) IS NULL OR id <> ?)
            """, [.int(now), .text(reason), .text(userID), .text(except), .text(except)])
    }

    /// Revokes every live session of every user (CLI `session revoke --all`); returns how many.
    @discardableResult
    public func revokeEverything(reason: String, now: Int64) throws -> Int {
        try connection.execute("UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE revoked_at IS NULL",
                               [.int(now), .text(reason)])
    }

    /// Compare-and-swap rotation: counter `from` -> `from + 1`, refreshed_at = rotated_at = now,
    /// only while the session is live. True for exactly one of several racing callers.
    public func advance(id: String, from counter: Int64, now: Int64) throws -> Bool {
        try connection.execute("""
            UPDATE sessions SET counter = counter + 1, rotated_at = ?, refreshed_at = ?
            WHERE id = ? AND counter = ? AND revoked_at IS NULL
            """, [.int(now), .int(now), .text(id), .int(counter)]) == 1
    }

    /// Deletes sessions whose last activity (refresh or revocation) is older than `before`.
    /// Pass a cut-off further back than the access-token lifetime + leeway (e.g. now minus
    /// the refresh TTL), so no access token naming a deleted session can still be valid.
    @discardableResult
    public func pruneExpired(before: Int64) throws -> Int {
        try connection.execute(
            "DELETE FROM sessions WHERE refreshed_at < ?1 AND (revoked_at IS NULL OR revoked_at < ?1)",
            [.int(before)])
    }
}
