/// Issue 23 (mail): the durable outbox, the single-use account tokens (password reset, invite,
/// email change), `users.email_verified_at` and the tenants' `require_verified_email`. Only new
/// tables and new columns, so it applies on top of any other issue's migration.
///
/// `account_tokens`: a token is stored as its SHA-256 only; `user_id` has no foreign key on
/// purpose (the forgot route's work for no account writes and deletes a row of no user, the
/// same statements as for an account: a key check would make the two paths differ; a user's
/// delete removes its tokens); at most one live token per user and
/// purpose (a new request deletes the older one in the same transaction); `used_at` set by the
/// one compare-and-swap that consumes it. `mail_outbox`: `message` holds the rendered RFC 5322
/// message (with its link) only until it is delivered; a sent row keeps the metadata only.
/// `next_attempt_ms`: wall clock in milliseconds (short backoffs in tests); a sender claims a row
/// by moving it forward (a lease), so a crashed sender's row is retried.
extension Migrations {
    static let v5 = """
        ALTER TABLE users ADD COLUMN email_verified_at INTEGER;
        ALTER TABLE tenants ADD COLUMN require_verified_email INTEGER NOT NULL DEFAULT 0;

        CREATE TABLE account_tokens (
            token_hash TEXT PRIMARY KEY NOT NULL,
            user_id    TEXT NOT NULL,
            purpose    TEXT NOT NULL CHECK (purpose IN ('reset', 'invite', 'email')),
            new_email  TEXT,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            used_at    INTEGER
        );
        CREATE INDEX account_tokens_user ON account_tokens(user_id, purpose);

        CREATE TABLE mail_outbox (
            id              INTEGER PRIMARY KEY,
            kind            TEXT NOT NULL,
            recipient       TEXT NOT NULL,
            subject         TEXT NOT NULL,
            message         TEXT,
            status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dead')),
            attempts        INTEGER NOT NULL DEFAULT 0,
            next_attempt_ms INTEGER NOT NULL,
            created_at      INTEGER NOT NULL,
            sent_at         INTEGER,
            last_error      TEXT
        );
        CREATE INDEX mail_outbox_due ON mail_outbox(next_attempt_ms) WHERE status = 'pending';
        """
}

extension PostgresMigrations {
    /// Equivalent to SQLite's v5 (Migrations+Mail.swift).
    static let v4 = """
        ALTER TABLE users ADD COLUMN email_verified_at BIGINT;
        ALTER TABLE tenants ADD COLUMN require_verified_email BIGINT NOT NULL DEFAULT 0;

        CREATE TABLE account_tokens (
            token_hash TEXT PRIMARY KEY NOT NULL,
            user_id    TEXT NOT NULL,
            purpose    TEXT NOT NULL CHECK (purpose IN ('reset', 'invite', 'email')),
            new_email  TEXT,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            used_at    BIGINT
        );
        CREATE INDEX account_tokens_user ON account_tokens(user_id, purpose);

        CREATE TABLE mail_outbox (
            id              BIGSERIAL PRIMARY KEY,
            kind            TEXT NOT NULL,
            recipient       TEXT NOT NULL,
            subject         TEXT NOT NULL,
            message         TEXT,
            status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dead')),
            attempts        BIGINT NOT NULL DEFAULT 0,
            next_attempt_ms BIGINT NOT NULL,
            created_at      BIGINT NOT NULL,
            sent_at         BIGINT,
            last_error      TEXT
        );
        CREATE INDEX mail_outbox_due ON mail_outbox(next_attempt_ms) WHERE status = 'pending';
        """
}
