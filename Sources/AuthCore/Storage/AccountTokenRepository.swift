/// A single-use account token (password reset, invite, email change): only its SHA-256 is stored.
public struct AccountToken: Sendable, Equatable {
    public var tokenHash: String
    public var userID: String
    public var purpose: String
    public var newEmail: String?
    public var createdAt: Int64
    public var expiresAt: Int64
    public var usedAt: Int64?

    static let columns = "token_hash, user_id, purpose, new_email, created_at, expires_at, used_at"

    init(row: Row) {
        tokenHash = row.text(0)
        userID = row.text(1)
        purpose = row.text(2)
        newEmail = row.optionalText(3)
        createdAt = row.int(4)
        expiresAt = row.int(5)
        usedAt = row.optionalInt(6)
    }
}

/// Reset, invite and email-change tokens on both stores. At most one per user and purpose
/// (`create` deletes the older one in the caller's transaction); `consume` is the one
/// compare-and-swap UPDATE: of racing callers, on one host or several, exactly one wins.
public struct AccountTokenRepository {
    let connection: Connection

    /// Replaces the user's token of this purpose (the older one dies at once).
    public func create(hash: String, userID: String, purpose: String, newEmail: String? = nil,
                       now: Int64, ttl: Int64) throws {
        try connection.execute("DELETE FROM account_tokens WHERE user_id = ? AND purpose = ?", [.text(userID), .text(purpose)])
        try connection.execute("""
            INSERT INTO account_tokens(token_hash, user_id, purpose, new_email, created_at, expires_at)
            VALUES (?, ?, ?, ?, ?, ?)
            """, [.text(hash), .text(userID), .text(purpose), newEmail.map(SQLValue.text) ?? .null, .int(now), .int(now + ttl)])
    }

    /// The live token with this hash and purpose (unused, not expired), or nil.
    public func live(hash: String, purpose: String, now: Int64) throws -> AccountToken? {
        try connection.queryFirst("""
            SELECT \(AccountToken.columns) FROM account_tokens
            WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?
            """, [.text(hash), .text(purpose), .int(now)], AccountToken.init)
    }

    /// Marks the token used; true for exactly one caller, and only while it is live.
    public func consume(hash: String, purpose: String, now: Int64) throws -> AccountToken? {
        try connection.queryFirst("""
            UPDATE account_tokens SET used_at = ?
            WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?
            RETURNING \(AccountToken.columns)
            """, [.int(now), .text(hash), .text(purpose), .int(now)], AccountToken.init)
    }

    /// Kills the user's tokens of `purpose` (nil: every purpose).
    @discardableResult
    public func revoke(userID: String, purpose: String?) throws -> Int {
        if let purpose {
            return try connection.execute("DELETE FROM account_tokens WHERE user_id = ? AND purpose = ?", [.text(userID), .text(purpose)])
        }
        return try connection.execute("DELETE FROM account_tokens WHERE user_id = ?", [.text(userID)])
    }

    public func forUser(_ userID: String) throws -> [AccountToken] {
        try connection.query("SELECT \(AccountToken.columns) FROM account_tokens WHERE user_id = ? ORDER BY created_at",
                             [.text(userID)], AccountToken.init)
    }

    /// Expired or used tokens older than `before` (maintenance).
    @discardableResult
    public func prune(before: Int64) throws -> Int {
        try connection.execute("DELETE FROM account_tokens WHERE expires_at < ? OR (used_at IS NOT NULL AND used_at < ?)",
                               [.int(before), .int(before)])
    }
}
