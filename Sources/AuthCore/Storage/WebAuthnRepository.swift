/// A registered passkey (WebAuthn credential). Ids and keys are base64url; no secret here (a
/// public key, a counter, flags), so nothing is sealed.
public struct WebAuthnCredential: Sendable, Equatable {
    public var id: String
    public var userID: String
    public var credentialID: String
    public var publicKey: String
    public var algorithm: Int64
    public var signCount: Int64
    public var transports: [String]
    public var backupEligible: Bool
    public var backupState: Bool
    public var aaguid: String
    public var name: String
    public var createdAt: Int64
    public var lastUsedAt: Int64?

    static let columns = """
        id, user_id, credential_id, public_key, alg, sign_count, transports, backup_eligible, backup_state, aaguid, \
        name, created_at, last_used_at
        """

    public init(id: String, userID: String, credentialID: String, publicKey: String, algorithm: Int64, signCount: Int64,
                transports: [String], backupEligible: Bool, backupState: Bool, aaguid: String, name: String,
                createdAt: Int64, lastUsedAt: Int64?) {
        self.id = id
        self.userID = userID
        self.credentialID = credentialID
        self.publicKey = publicKey
        self.algorithm = algorithm
        self.signCount = signCount
        self.transports = transports
        self.backupEligible = backupEligible
        self.backupState = backupState
        self.aaguid = aaguid
        self.name = name
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
    }

    init(row: Row) {
        id = row.text(0)
        userID = row.text(1)
        credentialID = row.text(2)
        publicKey = row.text(3)
        algorithm = row.int(4)
        signCount = row.int(5)
        transports = row.text(6).split(separator: " ").map(String.init)
        backupEligible = row.int(7) != 0
        backupState = row.int(8) != 0
        aaguid = row.text(9)
        name = row.text(10)
        createdAt = row.int(11)
        lastUsedAt = row.optionalInt(12)
    }
}

/// What a consumed ceremony challenge was bound to.
public struct WebAuthnChallengeBinding: Sendable, Equatable {
    public var purpose: String
    public var userID: String?
    public var mfaDigest: String?
}

/// Passkeys, user handles and ceremony challenges on both stores. A challenge is used once by
/// one `DELETE … RETURNING` (both SQLite ≥ 3.35 and PostgreSQL): of racing callers, on one
/// host or several, exactly one gets the row.
public struct WebAuthnRepository {
    let connection: Connection

    // MARK: credentials

    public func create(_ c: WebAuthnCredential) throws {
        try connection.execute("""
            INSERT INTO webauthn_credentials(\(WebAuthnCredential.columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [.text(c.id), .text(c.userID), .text(c.credentialID), .text(c.publicKey), .int(c.algorithm),
                  .int(c.signCount), .text(c.transports.joined(separator: " ")), .int(c.backupEligible ? 1 : 0),
                  .int(c.backupState ? 1 : 0), .text(c.aaguid), .text(c.name), .int(c.createdAt), .int(c.lastUsedAt)])
    }

    public func credentials(userID: String) throws -> [WebAuthnCredential] {
        try connection.query("""
            SELECT \(WebAuthnCredential.columns) FROM webauthn_credentials WHERE user_id = ? ORDER BY created_at, id
            """, [.text(userID)], WebAuthnCredential.init)
    }

    public func credential(id: String) throws -> WebAuthnCredential? {
        try connection.queryFirst("SELECT \(WebAuthnCredential.columns) FROM webauthn_credentials WHERE id = ?",
                                  [.text(id)], WebAuthnCredential.init)
    }

    public func credential(credentialID: String) throws -> WebAuthnCredential? {
        try connection.queryFirst("SELECT \(WebAuthnCredential.columns) FROM webauthn_credentials WHERE credential_id = ?",
                                  [.text(credentialID)], WebAuthnCredential.init)
    }

    /// The counter rule as a compare-and-swap: moves `sign_count` to `newCount` only from the
    /// value the verification saw (`seen`); false when another use got there first.
    public func recordUse(id: String, seen: Int64, newCount: Int64, backupState: Bool, now: Int64) throws -> Bool {
        try connection.execute("""
            UPDATE webauthn_credentials SET sign_count = ?, backup_state = ?, last_used_at = ?
            WHERE id = ? AND sign_count = ?
            """, [.int(newCount), .int(backupState ? 1 : 0), .int(now), .text(id), .int(seen)]) == 1
    }

    public func rename(id: String, userID: String, name: String) throws -> Bool {
        try connection.execute("UPDATE webauthn_credentials SET name = ? WHERE id = ? AND user_id = ?",
                               [.text(name), .text(id), .text(userID)]) == 1
    }

    @discardableResult
    public func delete(id: String, userID: String) throws -> Bool {
        try connection.execute("DELETE FROM webauthn_credentials WHERE id = ? AND user_id = ?", [.text(id), .text(userID)]) > 0
    }

    /// Every passkey and pending ceremony of the user (CLI `user mfa reset`); how many passkeys.
    @discardableResult
    public func deleteAll(userID: String) throws -> Int {
        try connection.execute("DELETE FROM webauthn_challenges WHERE user_id = ?", [.text(userID)])
        return try connection.execute("DELETE FROM webauthn_credentials WHERE user_id = ?", [.text(userID)])
    }

    // MARK: user handles

    public func userHandle(userID: String) throws -> String? {
        try connection.queryFirst("SELECT handle FROM webauthn_user_handles WHERE user_id = ?", [.text(userID)]) { $0.text(0) }
    }

    /// The user's handle, made on first use (racing makers: the first insert wins, all read it).
    public func ensureUserHandle(userID: String, fresh: String, now: Int64) throws -> String {
        try connection.execute("""
            INSERT INTO webauthn_user_handles(user_id, handle, created_at) VALUES (?, ?, ?) ON CONFLICT (user_id) DO NOTHING
            """, [.text(userID), .text(fresh), .int(now)])
        guard let handle = try userHandle(userID: userID) else { throw StorageError.notFound("user handle") }
        return handle
    }

    // MARK: ceremony challenges (SHA-256 digests, hex)

    public func createChallenge(digest: String, purpose: String, userID: String?, mfaDigest: String?,
                                now: Int64, expiresAt: Int64) throws {
        try connection.execute("DELETE FROM webauthn_challenges WHERE expires_at < ?", [.int(now - 3600)])
        try connection.execute("""
            INSERT INTO webauthn_challenges(challenge_hash, purpose, user_id, mfa_hash, created_at, expires_at)
            VALUES (?, ?, ?, ?, ?, ?)
            """, [.text(digest), .text(purpose), .text(userID), .text(mfaDigest), .int(now), .int(expiresAt)])
    }

    /// Takes the challenge: one statement, so exactly one caller gets the binding; an expired
    /// one is taken too (and answers nil), so it cannot be tried again either.
    public func consumeChallenge(digest: String, purpose: String, now: Int64) throws -> WebAuthnChallengeBinding? {
        let row = try connection.queryFirst("""
            DELETE FROM webauthn_challenges WHERE challenge_hash = ? AND purpose = ?
            RETURNING purpose, user_id, mfa_hash, expires_at
            """, [.text(digest), .text(purpose)]) { r in
            (WebAuthnChallengeBinding(purpose: r.text(0), userID: r.optionalText(1), mfaDigest: r.optionalText(2)), r.int(3))
        }
        guard let row, row.1 > now else { return nil }
        return row.0
    }
}
