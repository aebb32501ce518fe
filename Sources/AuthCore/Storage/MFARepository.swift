/// A second factor of a user (TOTP only for now). `secret` is sealed (SecretBox), never plain.
public struct MFAFactor: Sendable, Equatable {
    public var id: String
    public var userID: String
    public var kind: String
    public var secret: String
    /// The last TOTP step this factor accepted (-1: none yet).
    public var lastStep: Int64
    public var createdAt: Int64
    public var confirmedAt: Int64?
    public var lastUsedAt: Int64?

    public var isActive: Bool { confirmedAt != nil }

    static let columns = "id, user_id, kind, secret, last_step, created_at, confirmed_at, last_used_at"

    init(row: Row) {
        id = row.text(0)
        userID = row.text(1)
        kind = row.text(2)
        secret = row.text(3)
        lastStep = row.int(4)
        createdAt = row.int(5)
        confirmedAt = row.optionalInt(6)
        lastUsedAt = row.optionalInt(7)
    }
}

/// Factors, recovery codes and the single-use login challenges (`mfa_token`), on both stores.
/// Every "use once" is a compare-and-swap UPDATE: of racing callers, on one host or several,
/// exactly one changes the row.
public struct MFARepository {
    let connection: Connection

    public func createFactor(id: String, userID: String, kind: String, sealedSecret: String, now: Int64) throws -> MFAFactor {
        let sql = """
            INSERT INTO mfa_factors(id, user_id, kind, secret, created_at) VALUES (?, ?, ?, ?, ?)
            RETURNING \(MFAFactor.columns)
            """
        guard let f = try connection.queryFirst(sql, [.text(id), .text(userID), .text(kind), .text(sealedSecret), .int(now)],
                                                MFAFactor.init) else { throw StorageError.notFound("factor") }
        return f
    }

    public func factors(userID: String) throws -> [MFAFactor] {
        try connection.query("SELECT \(MFAFactor.columns) FROM mfa_factors WHERE user_id = ? ORDER BY created_at, id",
                             [.text(userID)], MFAFactor.init)
    }

    public func activeFactors(userID: String) throws -> [MFAFactor] {
        try factors(userID: userID).filter(\.isActive)
    }

    public func hasActiveFactor(userID: String) throws -> Bool {
        // A passkey (issue 22) is an active factor too.
        try connection.queryFirst("""
            SELECT 1 FROM mfa_factors WHERE user_id = ? AND confirmed_at IS NOT NULL
            UNION ALL SELECT 1 FROM webauthn_credentials WHERE user_id = ? LIMIT 1
            """, [.text(userID), .text(userID)]) { $0.int(0) } != nil
    }

    public func factor(id: String) throws -> MFAFactor? {
        try connection.queryFirst("SELECT \(MFAFactor.columns) FROM mfa_factors WHERE id = ?", [.text(id)], MFAFactor.init)
    }

    /// Pending -> active, consuming `step` (the confirming code cannot log in afterwards).
    public func confirm(id: String, step: Int64, now: Int64) throws -> Bool {
        try connection.execute("""
            UPDATE mfa_factors SET confirmed_at = ?, last_step = ?, last_used_at = ?
            WHERE id = ? AND confirmed_at IS NULL AND last_step < ?
            """, [.int(now), .int(step), .int(now), .text(id), .int(step)]) == 1
    }

    /// The code-once rule: moves `last_step` forward to `step`, true for exactly one of several
    /// racing callers presenting the same step (or an older one).
    public func consumeStep(id: String, step: Int64, now: Int64) throws -> Bool {
        try connection.execute("""
            UPDATE mfa_factors SET last_step = ?, last_used_at = ?
            WHERE id = ? AND confirmed_at IS NOT NULL AND last_step < ?
            """, [.int(step), .int(now), .text(id), .int(step)]) == 1
    }

    @discardableResult
    public func deleteFactor(id: String, userID: String) throws -> Bool {
        try connection.execute("DELETE FROM mfa_factors WHERE id = ? AND user_id = ?", [.text(id), .text(userID)]) > 0
    }

    /// Pending factors older than `before` (never confirmed) are dropped at the next enrolment.
    public func deletePending(userID: String, before: Int64) throws {
        try connection.execute("DELETE FROM mfa_factors WHERE user_id = ? AND confirmed_at IS NULL AND created_at < ?",
                               [.text(userID), .int(before)])
    }

    /// Every factor (passkeys too), recovery code and pending challenge of the user (CLI reset);
    /// how many factors.
    @discardableResult
    public func deleteAll(userID: String) throws -> Int {
        try connection.execute("DELETE FROM mfa_recovery_codes WHERE user_id = ?", [.text(userID)])
        try connection.execute("DELETE FROM mfa_challenges WHERE user_id = ?", [.text(userID)])
        let passkeys = try WebAuthnRepository(connection: connection).deleteAll(userID: userID)
        return passkeys + (try connection.execute("DELETE FROM mfa_factors WHERE user_id = ?", [.text(userID)]))
    }

    /// Re-seals every factor's secret (secrets-file rotation); `reseal` returns nil to keep a row.
    public func resealAll(_ reseal: (MFAFactor) throws -> String?) throws -> Int {
        var changed = 0
        for f in try connection.query("SELECT \(MFAFactor.columns) FROM mfa_factors", [], MFAFactor.init) {
            guard let sealed = try reseal(f) else { continue }
            changed += try connection.execute("UPDATE mfa_factors SET secret = ? WHERE id = ? AND secret = ?",
                                              [.text(sealed), .text(f.id), .text(f.secret)])
        }
        return changed
    }

    /// The kids the sealed secrets name (a key still in use cannot be retired).
    public func sealingKids() throws -> Set<String> {
        var kids = Set<String>()
        try connection.forEachRow("SELECT secret FROM mfa_factors", []) { row in
            let parts = row.text(0).split(separator: ".")
            if parts.count == 3 { kids.insert(String(parts[1])) }
        }
        return kids
    }

    // MARK: recovery codes (SHA-256 digests, hex)

    public func replaceRecoveryCodes(userID: String, digests: [String], now: Int64) throws {
        try connection.execute("DELETE FROM mfa_recovery_codes WHERE user_id = ?", [.text(userID)])
        for d in digests {
            try connection.execute("INSERT INTO mfa_recovery_codes(user_id, code_hash, created_at) VALUES (?, ?, ?)",
                                   [.text(userID), .text(d), .int(now)])
        }
    }

    public func useRecoveryCode(userID: String, digest: String, now: Int64) throws -> Bool {
        try connection.execute("""
            UPDATE mfa_recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL
            """, [.int(now), .text(userID), .text(digest)]) == 1
    }

    public func remainingRecoveryCodes(userID: String) throws -> Int {
        Int(try connection.queryFirst("SELECT count(*) FROM mfa_recovery_codes WHERE user_id = ? AND used_at IS NULL",
                                      [.text(userID)]) { $0.int(0) } ?? 0)
    }

    // MARK: login challenges (the mfa_token, as a SHA-256 digest)

    public func createChallenge(digest: String, userID: String, now: Int64, expiresAt: Int64) throws {
        try connection.execute("DELETE FROM mfa_challenges WHERE expires_at < ?", [.int(now - 3600)])
        try connection.execute("INSERT INTO mfa_challenges(token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
                               [.text(digest), .text(userID), .int(now), .int(expiresAt)])
    }

    /// The user of a live (unused, unexpired) challenge.
    public func challengeUser(digest: String, now: Int64) throws -> String? {
        try connection.queryFirst("""
            SELECT user_id FROM mfa_challenges WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?
            """, [.text(digest), .int(now)]) { $0.text(0) }
    }

    /// Uses the challenge up: true for exactly one caller.
    public func consumeChallenge(digest: String, now: Int64) throws -> Bool {
        try connection.execute("""
            UPDATE mfa_challenges SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?
            """, [.int(now), .text(digest), .int(now)]) == 1
    }
}
