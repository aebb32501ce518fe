/// Passkeys (issue 22): SQLite v4 and PostgreSQL v3. Only new tables (the email issue's
/// migration applies on top without touching them).
/// - `webauthn_credentials`: one row per registered credential; `credential_id` and
///   `public_key` (COSE) base64url; `sign_count` the last counter seen; `transports` as the
///   browser reported them (space-separated); the backup flags of the registration (BE decides
///   `hwk` / `swk` in `amr`, BS updated at each use).
/// - `webauthn_user_handles`: the per-user random user handle (32 bytes, base64url) given to
///   authenticators instead of the email, so a discoverable credential names no address.
/// - `webauthn_challenges`: single-use ceremony challenges as SHA-256 digests, each for one
///   purpose (`register`, `mfa`, `passkey`), bound to a user (register) or an mfa_token digest
///   (mfa); taken with one `DELETE … RETURNING`, so exactly one of racing callers gets it.
extension Migrations {
    static let v4 = """
        CREATE TABLE webauthn_user_handles (
            user_id    TEXT PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            handle     TEXT NOT NULL UNIQUE,
            created_at INTEGER NOT NULL
        );

        CREATE TABLE webauthn_credentials (
            id              TEXT PRIMARY KEY NOT NULL,
            user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            credential_id   TEXT NOT NULL UNIQUE,
            public_key      TEXT NOT NULL,
            alg             INTEGER NOT NULL,
            sign_count      INTEGER NOT NULL DEFAULT 0,
            transports      TEXT NOT NULL DEFAULT '',
            backup_eligible INTEGER NOT NULL DEFAULT 0,
            backup_state    INTEGER NOT NULL DEFAULT 0,
            aaguid          TEXT NOT NULL DEFAULT '',
            name            TEXT NOT NULL,
            created_at      INTEGER NOT NULL,
            last_used_at    INTEGER
        );
        CREATE INDEX webauthn_credentials_user ON webauthn_credentials(user_id, created_at);

        CREATE TABLE webauthn_challenges (
            challenge_hash TEXT PRIMARY KEY NOT NULL,
            purpose        TEXT NOT NULL CHECK (purpose IN ('register', 'mfa', 'passkey')),
            user_id        TEXT REFERENCES users(id) ON DELETE CASCADE,
            mfa_hash       TEXT,
            created_at     INTEGER NOT NULL,
            expires_at     INTEGER NOT NULL
        );
        CREATE INDEX webauthn_challenges_expires ON webauthn_challenges(expires_at);
        """
}

extension PostgresMigrations {
    /// Equivalent to SQLite's v4.
    static let v3 = """
        CREATE TABLE webauthn_user_handles (
            user_id    TEXT PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            handle     TEXT NOT NULL UNIQUE,
            created_at BIGINT NOT NULL
        );

        CREATE TABLE webauthn_credentials (
            id              TEXT PRIMARY KEY NOT NULL,
            user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            credential_id   TEXT NOT NULL UNIQUE,
            public_key      TEXT NOT NULL,
            alg             BIGINT NOT NULL,
            sign_count      BIGINT NOT NULL DEFAULT 0,
            transports      TEXT NOT NULL DEFAULT '',
            backup_eligible BIGINT NOT NULL DEFAULT 0,
            backup_state    BIGINT NOT NULL DEFAULT 0,
            aaguid          TEXT NOT NULL DEFAULT '',
            name            TEXT NOT NULL,
            created_at      BIGINT NOT NULL,
            last_used_at    BIGINT
        );
        CREATE INDEX webauthn_credentials_user ON webauthn_credentials(user_id, created_at);

        CREATE TABLE webauthn_challenges (
            challenge_hash TEXT PRIMARY KEY NOT NULL,
            purpose        TEXT NOT NULL CHECK (purpose IN ('register', 'mfa', 'passkey')),
            user_id        TEXT REFERENCES users(id) ON DELETE CASCADE,
            mfa_hash       TEXT,
            created_at     BIGINT NOT NULL,
            expires_at     BIGINT NOT NULL
        );
        CREATE INDEX webauthn_challenges_expires ON webauthn_challenges(expires_at);
        """
}
