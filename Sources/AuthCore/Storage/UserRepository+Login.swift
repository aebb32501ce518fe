extension UserRepository {
    /// Takes back one counted failure: a login without `tenant_domain` counts an attempt on every
    /// account of the email before hashing, and the accounts it was not for must not pay for it.
    public func undoFailure(userID: String) throws {
        try connection.execute(
            "UPDATE users SET failed_attempts = failed_attempts - 1 WHERE id = ? AND failed_attempts > 0 AND locked_until IS NULL",
            [.text(userID)])
    }
}
