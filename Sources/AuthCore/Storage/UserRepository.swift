import Foundation

public struct User: Sendable, Equatable {
    public var id: String
    public var tenantID: String
    public var email: String
    public var passwordHash: String
    public var role: String
    /// `active` or `disabled`.
    public var status: String
    public var mustChangePassword: Bool
    public var failedAttempts: Int
    public var lockedUntil: Int64?
    public var createdAt: Int64
    public var updatedAt: Int64
    /// Issue 23: when the address was proven (an invite accepted, a reset or an email change
    /// completed from a mailed link); nil: never.
    public var emailVerifiedAt: Int64?

    static let columns = """
        id, tenant_id, email, password_hash, role, status, must_change_password, \
        failed_attempts, locked_until, created_at, updated_at, email_verified_at
        """

    init(row: Row) {
        id = row.text(0)
        tenantID = row.text(1)
        email = row.text(2)
        passwordHash = row.text(3)
        role = row.text(4)
        status = row.text(5)
        mustChangePassword = row.bool(6)
        failedAttempts = Int(row.int(7))
        lockedUntil = row.optionalInt(8)
        createdAt = row.int(9)
        updatedAt = row.int(10)
        emailVerifiedAt = row.optionalInt(11)
    }

    /// Locked out at `now` (the lock ends at `lockedUntil`).
    public func isLocked(now: Int64) -> Bool { lockedUntil.map { $0 > now } ?? false }
}

public struct UserRepository {
    let connection: Connection

    /// Emails are unique per tenant, case-insensitively: a duplicate throws a StorageError
    /// with `isUniqueViolation`; an unknown tenant throws `isNotFound`.
    public func create(tenantID: String, email: String, passwordHash: String, role: String,
                       mustChangePassword: Bool = false, now: Int64) throws -> User {
        let sql = """
            INSERT INTO users(id, tenant_id, email, password_hash, role, status, must_change_password, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, 'active', ?, ?, ?) RETURNING \(User.columns)
            """
        let args: [SQLValue] = [.text(StorageIDs.random()), .text(tenantID), .text(email), .text(passwordHash),
                                .text(role), .bool(mustChangePassword), .int(now), .int(now)]
        guard let user = try connection.queryFirst(sql, args, User.init) else { throw StorageError.notFound("user") }
        return user
    }

    /// Case-insensitive email match within the tenant.
    public func byEmail(tenantID: String, email: String) throws -> User? {
        try connection.queryFirst("SELECT \(User.columns) FROM users WHERE tenant_id = ? AND email = ?",
                                  [.text(tenantID), .text(email)], User.init)
    }

    /// `byID` inside a write transaction that decides on the row: PostgreSQL locks it
    /// (`FOR UPDATE`), so a login's session and a delete of the user, on any host, happen one
    /// after the other (SQLite's write lock does the same).
    public func byIDForUpdate(_ id: String) throws -> User? {
        let lock = connection.dialect == .postgres ? " FOR UPDATE" : ""
        return try connection.queryFirst("SELECT \(User.columns) FROM users WHERE id = ?" + lock, [.text(id)], User.init)
    }

    public func byID(_ id: String) throws -> User? {
        try connection.queryFirst("SELECT \(User.columns) FROM users WHERE id = ?", [.text(id)], User.init)
    }

    /// Accounts with this email (case-insensitive) in every tenant, oldest first.
    public func withEmail(_ email: String, limit: Int) throws -> [User] {
        try connection.query("SELECT \(User.columns) FROM users WHERE email = ? ORDER BY created_at, rowid LIMIT ?",
                             [.text(email), .int(Int64(max(0, limit)))], User.init)
    }

    /// Oldest first.
    public func list(tenantID: String) throws -> [User] {
        try connection.query("SELECT \(User.columns) FROM users WHERE tenant_id = ? ORDER BY created_at, rowid",
                             [.text(tenantID)], User.init)
    }

    /// Sets the hash and the must-change flag. Does NOT revoke sessions (the caller
    /// decides which to keep). Returns false for an unknown user. Voids the user's pending
    /// second-factor challenges: an `mfa_token` proved the old password, and must not make a
    /// session after the change (issue 21; as review finding 5 for a plain login).
    @discardableResult
    public func setPassword(userID: String, hash: String, mustChange: Bool, now: Int64) throws -> Bool {
        try connection.execute("DELETE FROM mfa_challenges WHERE user_id = ?", [.text(userID)])
        // Issue 23: a reset link dies with any password change (whoever made it).
        try connection.execute("DELETE FROM account_tokens WHERE user_id = ? AND purpose = 'reset'", [.text(userID)])
        return try connection.execute(
            "UPDATE users SET password_hash = ?, must_change_password = ?, updated_at = ? WHERE id = ?",
            [.text(hash), .bool(mustChange), .int(now), .text(userID)]) > 0
    }

    /// Issue 23: the address is proven (an invite accepted, a reset completed, an email change verified).
    public func markEmailVerified(userID: String, now: Int64) throws {
        try connection.execute("UPDATE users SET email_verified_at = ? WHERE id = ? AND email_verified_at IS NULL",
                               [.int(now), .text(userID)])
    }

    /// Issue 23: a verified email change (unique per tenant: a taken address throws `isUniqueViolation`).
    public func changeEmail(userID: String, to email: String, now: Int64) throws -> Bool {
        try connection.execute("UPDATE users SET email = ?, email_verified_at = ?, updated_at = ? WHERE id = ?",
                               [.text(email), .int(now), .int(now), .text(userID)]) > 0
    }

    /// `active` or `disabled` (anything else violates a CHECK constraint).
    @discardableResult
    public func setStatus(userID: String, status: String, now: Int64) throws -> Bool {
        try connection.execute("UPDATE users SET status = ?, updated_at = ? WHERE id = ?",
                               [.text(status), .int(now), .text(userID)]) > 0
    }

    @discardableResult
    public func setRole(userID: String, role: String, now: Int64) throws -> Bool {
        try connection.execute("UPDATE users SET role = ?, updated_at = ? WHERE id = ?",
                               [.text(role), .int(now), .text(userID)]) > 0
    }

    /// Revokes the user's live sessions (reason `user_deleted`), then deletes the row, in one
    /// transaction. Session rows have no foreign key to users and stay behind as revoked
    /// tombstones, so VerifyState keeps rejecting access tokens that carry their ids.
    @discardableResult
    public func delete(userID: String, now: Int64 = Int64(time(nil))) throws -> Bool {
        try connection.transaction(immediate: true) {
            // The row lock first: a login committing a session for this user finishes before the
            // revocation below reads the sessions, or starts after the user is gone.
            guard try byIDForUpdate(userID) != nil else { return false }
            try connection.execute(
                "UPDATE sessions SET revoked_at = ?, revoked_reason = 'user_deleted' WHERE user_id = ? AND revoked_at IS NULL",
                [.int(now), .text(userID)])
            try connection.execute("DELETE FROM account_tokens WHERE user_id = ?", [.text(userID)])
            return try connection.execute("DELETE FROM users WHERE id = ?", [.text(userID)]) > 0
        }
    }

    /// One atomic UPDATE … RETURNING, so parallel failures never slip past the threshold:
    /// an expired lock restarts the count; the count goes up by one; reaching `threshold`
    /// sets `locked_until = now + lockSeconds`. A lock still running is kept as it is (not
    /// extended). Throws `isNotFound` for an unknown user.
    @discardableResult
    public func recordFailure(userID: String, now: Int64, threshold: Int, lockSeconds: Int64) throws -> User {
        // All SET expressions read the row as it was before this UPDATE.
        let sql = """
            UPDATE users SET
              failed_attempts = CASE WHEN locked_until IS NOT NULL AND locked_until <= ?1 THEN 1
                                     ELSE failed_attempts + 1 END,
              locked_until = CASE
                WHEN locked_until IS NOT NULL AND locked_until > ?1 THEN locked_until
                WHEN (CASE WHEN locked_until IS NOT NULL THEN 1 ELSE failed_attempts + 1 END) >= ?2
                  THEN ?1 + ?3
                ELSE NULL END
            WHERE id = ?4
            RETURNING \(User.columns)
            """
        let args: [SQLValue] = [.int(now), .int(Int64(threshold)), .int(lockSeconds), .text(userID)]
        guard let user = try connection.queryFirst(sql, args, User.init) else { throw StorageError.notFound("user") }
        return user
    }

    /// After a successful login: count back to zero (and any expired lock cleared).
    public func resetFailures(userID: String) throws {
        try connection.execute(
            "UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE id = ? AND (failed_attempts <> 0 OR locked_until IS NOT NULL)",
            [.text(userID)])
    }

    /// Admin unlock: clears the lock and the count.
    @discardableResult
    public func unlock(userID: String) throws -> Bool {
        try connection.execute("UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE id = ?",
                               [.text(userID)]) > 0
    }
}
