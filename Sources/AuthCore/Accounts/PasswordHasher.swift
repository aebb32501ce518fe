import AuthCrypto

/// Password hashes under the process's hashing limiter (a 503 `unavailable` when too many
/// already wait): checking one, making one, the equalizing run of a login without an account,
/// and the upgrade of a hash made with other parameters than AUTH_SCRYPT.
struct PasswordHasher {
    let app: App

    /// Verifies under the hashing limiter; 503 `unavailable` when too many hashes already wait.
    func check(_ password: String, against encoded: String) throws(AuthError) -> Bool {
        do {
            return try app.hashLimiter.run {
                app.countPasswordHash()
                return PasswordHash.verify(password: password, encoded: encoded)
            }
        } catch {
            throw AuthError.unavailable(retryAfter: 1)
        }
    }

    func make(_ password: String) throws(AuthError) -> String {
        do {
            return try app.hashLimiter.run {
                app.countPasswordHash()
                return try PasswordHash.make(password: password, parameters: app.scrypt)
            }
        } catch is HashLimiterBusy {
            throw AuthError.unavailable(retryAfter: 1)
        } catch {
            throw AuthError.internalError("hash: \(error)")
        }
    }

    /// No account to check (unknown email, every candidate locked or disabled): one scrypt run
    /// at AUTH_SCRYPT's cost anyway, as verifying a known account's hash costs, so the timing
    /// tells none of them apart. Making a hash costs what verifying one does (same parameters),
    /// and needs no dummy hash made beforehand (a CGI process would have paid for two: review
    /// finding 10).
    func equalize(_ password: String) throws(AuthError) {
        do {
            try app.hashLimiter.run {
                app.countPasswordHash()
                _ = try? PasswordHash.make(password: password, parameters: app.scrypt)
            }
        } catch {
            throw AuthError.unavailable(retryAfter: 1)
        }
    }

    /// A hash made with other parameters than AUTH_SCRYPT is replaced after a successful login:
    /// the new hash of the password just checked, or nil when none is due (or making it failed:
    /// the login goes on with the old hash, which still verifies).
    func upgraded(for user: User, password: String) -> String? {
        guard PasswordHash.parameters(of: user.passwordHash) != app.scrypt else { return nil }
        do {
            return try make(password)
        } catch {
            if error.status != 503 { app.log.error("password hash upgrade failed: \(error)") }
            return nil
        }
    }
}
