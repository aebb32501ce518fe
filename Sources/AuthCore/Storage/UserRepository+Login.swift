extension UserRepository {
    /// Takes back one counted failure: a login without `tenant_domain` counts an attempt on every
    /// account of the email before hashing, and the accounts it was not for must not pay for it.
    public func undoFailure(userID: String) throws {
        try connection.execute(
            "UPDATE users SET failed_attempts = failed_attempts - 1 WHERE id = ? AND failed_attempts > 0 AND locked_until IS NULL",
            [.text(userID)])
    }
}

extension UserRepository {
    /// The lazy hash upgrade after a login, as a compare-and-swap: replaces the hash only while
    /// it is still the one the login verified (a password change in between wins), and never
    /// touches `must_change_password`. True when it was replaced.
    @discardableResult
    public func upgradePasswordHash(userID: String, from verified: String, to upgraded: String, now: Int64) throws -> Bool {
        try connection.execute(
            "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ? AND password_hash = ?",
            [.text(upgraded), .int(now), .text(userID), .text(verified)]) > 0
    }
}
