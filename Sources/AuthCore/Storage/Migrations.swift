/// Schema versions, applied in order; `PRAGMA user_version` records the last one applied.
/// Only ever append a migration; never edit or drop one that shipped.
enum Migrations {
    static let all: [String] = [v1, v2, v3, v4, v5]

    /// Each pending migration runs in its own BEGIN IMMEDIATE transaction, and the version
    /// is re-read under that lock, so two processes starting together apply it once.
    static func apply(_ connection: Connection) throws {
        for (index, script) in all.enumerated() {
            let version = index + 1
            try connection.transaction(immediate: true) {
                let current = try connection.queryFirst("PRAGMA user_version") { $0.int(0) } ?? 0
                guard current < version else { return }
                try connection.execScript(script)
                try connection.execScript("PRAGMA user_version = \(version)")
            }
        }
    }

    static let v1 = """
        CREATE TABLE tenants (
            id          TEXT PRIMARY KEY NOT NULL,
            name        TEXT NOT NULL,
            domain      TEXT NOT NULL COLLATE NOCASE UNIQUE,
            is_platform INTEGER NOT NULL DEFAULT 0,
            created_at  INTEGER NOT NULL
        );
        CREATE UNIQUE INDEX tenants_one_platform ON tenants(is_platform) WHERE is_platform = 1;

        CREATE TABLE users (
            id                   TEXT PRIMARY KEY NOT NULL,
            tenant_id            TEXT NOT NULL REFERENCES tenants(id),
            email                TEXT NOT NULL COLLATE NOCASE,
            password_hash        TEXT NOT NULL,
            role                 TEXT NOT NULL,
            status               TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
            must_change_password INTEGER NOT NULL DEFAULT 0,
            failed_attempts      INTEGER NOT NULL DEFAULT 0,
            locked_until         INTEGER,
            created_at           INTEGER NOT NULL,
            updated_at           INTEGER NOT NULL,
            UNIQUE (tenant_id, email COLLATE NOCASE)
        );
        CREATE INDEX users_email ON users(email COLLATE NOCASE, created_at);
        CREATE INDEX users_blocked ON users(id) WHERE status <> 'active' OR must_change_password <> 0;

        -- user_id has no foreign key on purpose: deleting a user first revokes its sessions,
        -- and the rows stay as revoked tombstones (until pruned) so VerifyState still
        -- rejects access tokens that name them.
        CREATE TABLE sessions (
            id             TEXT PRIMARY KEY NOT NULL,
            user_id        TEXT NOT NULL,
            created_at     INTEGER NOT NULL,
            refreshed_at   INTEGER NOT NULL,
            revoked_at     INTEGER,
            revoked_reason TEXT,
            counter        INTEGER NOT NULL DEFAULT 1,
            rotated_at     INTEGER NOT NULL,
            user_agent     TEXT NOT NULL DEFAULT '',
            ip             TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX sessions_user ON sessions(user_id, created_at);
        CREATE INDEX sessions_revoked ON sessions(revoked_at) WHERE revoked_at IS NOT NULL;
        CREATE INDEX sessions_refreshed ON sessions(refreshed_at);

        CREATE TABLE projects (
            id         TEXT PRIMARY KEY NOT NULL,
            tenant_id  TEXT NOT NULL REFERENCES tenants(id),
            name       TEXT NOT NULL,
            created_at INTEGER NOT NULL
        );
        CREATE INDEX projects_tenant ON projects(tenant_id, created_at);

        -- tenant_id is copied from the project at creation so verify needs no join.
        CREATE TABLE api_keys (
            id           TEXT PRIMARY KEY NOT NULL,
            project_id   TEXT NOT NULL REFERENCES projects(id),
            tenant_id    TEXT NOT NULL REFERENCES tenants(id),
            name         TEXT NOT NULL DEFAULT '',
            prefix       TEXT NOT NULL,
            key_hash     TEXT NOT NULL UNIQUE,
            created_at   INTEGER NOT NULL,
            last_used_at INTEGER,
            revoked_at   INTEGER
        );
        CREATE INDEX api_keys_project ON api_keys(project_id, created_at);
        CREATE INDEX api_keys_live ON api_keys(key_hash) WHERE revoked_at IS NULL;

        CREATE TABLE nodes (
            id           TEXT PRIMARY KEY NOT NULL,
            tenant_id    TEXT NOT NULL REFERENCES tenants(id),
            name         TEXT NOT NULL,
            api_key_hash TEXT NOT NULL UNIQUE,
            created_at   INTEGER NOT NULL,
            revoked_at   INTEGER
        );
        CREATE INDEX nodes_tenant ON nodes(tenant_id, created_at);
        CREATE INDEX nodes_live ON nodes(api_key_hash) WHERE revoked_at IS NULL;

        CREATE TABLE audit_events (
            id        INTEGER PRIMARY KEY,
            at        INTEGER NOT NULL,
            tenant_id TEXT,
            actor     TEXT,
            event     TEXT NOT NULL,
            ip        TEXT,
            detail    TEXT
        );
        CREATE INDEX audit_at ON audit_events(at);
        CREATE INDEX audit_tenant ON audit_events(tenant_id, at);

        CREATE TABLE meta (
            key   TEXT PRIMARY KEY NOT NULL,
            value
        );
        INSERT INTO meta(key, value) VALUES ('verify_epoch', 0);

        -- verify_epoch moves in the same statement as every write that changes what
        -- verification answers, whoever writes (responder, companion, CLI). Session
        -- creation and last_used_at / failed_attempts updates do not move it.
        CREATE TRIGGER sessions_revoked_epoch AFTER UPDATE OF revoked_at ON sessions
            WHEN OLD.revoked_at IS NOT NEW.revoked_at
            BEGIN UPDATE meta SET value = value + 1 WHERE key = 'verify_epoch'; END;
        CREATE TRIGGER users_changed_epoch
            AFTER UPDATE OF status, role, password_hash, must_change_password ON users
            WHEN OLD.status IS NOT NEW.status OR OLD.role IS NOT NEW.role
              OR OLD.password_hash IS NOT NEW.password_hash
              OR OLD.must_change_password IS NOT NEW.must_change_password
            BEGIN UPDATE meta SET value = value + 1 WHERE key = 'verify_epoch'; END;
        CREATE TRIGGER users_created_epoch AFTER INSERT ON users
            WHEN NEW.status <> 'active' OR NEW.must_change_password <> 0
            BEGIN UPDATE meta SET value = value + 1 WHERE key = 'verify_epoch'; END;
        CREATE TRIGGER users_deleted_epoch AFTER DELETE ON users
            BEGIN UPDATE meta SET value = value + 1 WHERE key = 'verify_epoch'; END;
        CREATE TRIGGER api_keys_created_epoch AFTER INSERT ON api_keys
            BEGIN UPDATE meta SET value = value + 1 WHERE key = 'verify_epoch'; END;
        CREATE TRIGGER api_keys_revoked_epoch AFTER UPDATE OF revoked_at ON api_keys
            WHEN OLD.revoked_at IS NOT NEW.revoked_at
            BEGIN UPDATE meta SET value = value + 1 WHERE key = 'verify_epoch'; END;
        CREATE TRIGGER api_keys_deleted_epoch AFTER DELETE ON api_keys
            BEGIN UPDATE meta SET value = value + 1 WHERE key = 'verify_epoch'; END;
        CREATE TRIGGER nodes_created_epoch AFTER INSERT ON nodes
            BEGIN UPDATE meta SET value = value + 1 WHERE key = 'verify_epoch'; END;
        CREATE TRIGGER nodes_revoked_epoch AFTER UPDATE OF revoked_at ON nodes
            WHEN OLD.revoked_at IS NOT NEW.revoked_at
            BEGIN UPDATE meta SET value = value + 1 WHERE key = 'verify_epoch'; END;
        CREATE TRIGGER nodes_deleted_epoch AFTER DELETE ON nodes
            BEGIN UPDATE meta SET value = value + 1 WHERE key = 'verify_epoch'; END;
        """

    /// The verify state's change log (VerifyState, SQLiteVerifyStore). Every write that can
    /// change a verify answer appends a row in the same statement (a trigger), so in the same
    /// transaction; `seq` only grows (AUTOINCREMENT: never reused, even after a prune). A
    /// process applies the rows after its watermark instead of reloading everything, and
    /// rebuilds only when the rows after its watermark were pruned. `at`: the session's
    /// revoked_at (kind 1). `created`: when the row was written (for the prune).
    /// kind: 1 session revoked, 2 user state, 3 API keys or nodes.
    /// The v1 verify_epoch triggers are replaced (one bookkeeping write per change, not two).
    static let v2 = """
        CREATE TABLE verify_changes (
            seq     INTEGER PRIMARY KEY AUTOINCREMENT,
            kind    INTEGER NOT NULL,
            ref     TEXT NOT NULL,
            at      INTEGER,
            created INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER))
        );
        CREATE INDEX verify_changes_created ON verify_changes(created);
        INSERT INTO sqlite_sequence(name, seq) VALUES ('verify_changes', 0);

        DROP TRIGGER sessions_revoked_epoch;
        DROP TRIGGER users_changed_epoch;
        DROP TRIGGER users_created_epoch;
        DROP TRIGGER users_deleted_epoch;
        DROP TRIGGER api_keys_created_epoch;
        DROP TRIGGER api_keys_revoked_epoch;
        DROP TRIGGER api_keys_deleted_epoch;
        DROP TRIGGER nodes_created_epoch;
        DROP TRIGGER nodes_revoked_epoch;
        DROP TRIGGER nodes_deleted_epoch;

        CREATE TRIGGER sessions_revoked_log AFTER UPDATE OF revoked_at ON sessions
            WHEN OLD.revoked_at IS NOT NEW.revoked_at
            BEGIN INSERT INTO verify_changes(kind, ref, at) VALUES (1, NEW.id, NEW.revoked_at); END;
        CREATE TRIGGER sessions_inserted_revoked_log AFTER INSERT ON sessions
            WHEN NEW.revoked_at IS NOT NULL
            BEGIN INSERT INTO verify_changes(kind, ref, at) VALUES (1, NEW.id, NEW.revoked_at); END;
        CREATE TRIGGER users_changed_log
            AFTER UPDATE OF status, role, password_hash, must_change_password ON users
            WHEN OLD.status IS NOT NEW.status OR OLD.role IS NOT NEW.role
              OR OLD.password_hash IS NOT NEW.password_hash
              OR OLD.must_change_password IS NOT NEW.must_change_password
            BEGIN INSERT INTO verify_changes(kind, ref) VALUES (2, NEW.id); END;
        CREATE TRIGGER users_created_log AFTER INSERT ON users
            WHEN NEW.status <> 'active' OR NEW.must_change_password <> 0
            BEGIN INSERT INTO verify_changes(kind, ref) VALUES (2, NEW.id); END;
        CREATE TRIGGER users_deleted_log AFTER DELETE ON users
            BEGIN INSERT INTO verify_changes(kind, ref) VALUES (2, OLD.id); END;
        CREATE TRIGGER api_keys_created_log AFTER INSERT ON api_keys
            BEGIN INSERT INTO verify_changes(kind, ref) VALUES (3, NEW.id); END;
        CREATE TRIGGER api_keys_revoked_log AFTER UPDATE OF revoked_at ON api_keys
            WHEN OLD.revoked_at IS NOT NEW.revoked_at
            BEGIN INSERT INTO verify_changes(kind, ref) VALUES (3, NEW.id); END;
        CREATE TRIGGER api_keys_deleted_log AFTER DELETE ON api_keys
            BEGIN INSERT INTO verify_changes(kind, ref) VALUES (3, OLD.id); END;
        CREATE TRIGGER nodes_created_log AFTER INSERT ON nodes
            BEGIN INSERT INTO verify_changes(kind, ref) VALUES (3, NEW.id); END;
        CREATE TRIGGER nodes_revoked_log AFTER UPDATE OF revoked_at ON nodes
            WHEN OLD.revoked_at IS NOT NEW.revoked_at
            BEGIN INSERT INTO verify_changes(kind, ref) VALUES (3, NEW.id); END;
        CREATE TRIGGER nodes_deleted_log AFTER DELETE ON nodes
            BEGIN INSERT INTO verify_changes(kind, ref) VALUES (3, OLD.id); END;
        """

    /// The second factor (issue 21). A session records its assurance level and the methods that
    /// made it (`aal` 1 or 2, `amr` a space-separated RFC 8176 list) so a refresh keeps them.
    /// `mfa_factors.secret`: the TOTP seed sealed with AES-256-GCM under AUTH_SECRETS_FILE
    /// (SecretBox); `last_step`: the last TOTP step this factor accepted (a code works once: the
    /// verify advances it with a compare-and-swap in the transaction that makes the session).
    /// `confirmed_at` NULL: pending (enrolled, not yet confirmed with a code). Recovery codes and
    /// MFA login tokens are stored as SHA-256 digests only.
    static let v3 = """
        ALTER TABLE sessions ADD COLUMN aal INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';

        CREATE TABLE mfa_factors (
            id           TEXT PRIMARY KEY NOT NULL,
            user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            kind         TEXT NOT NULL CHECK (kind IN ('totp')),
            secret       TEXT NOT NULL,
            last_step    INTEGER NOT NULL DEFAULT -1,
            created_at   INTEGER NOT NULL,
            confirmed_at INTEGER,
            last_used_at INTEGER
        );
        CREATE INDEX mfa_factors_user ON mfa_factors(user_id, created_at);

        CREATE TABLE mfa_recovery_codes (
            user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            code_hash  TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            used_at    INTEGER,
            PRIMARY KEY (user_id, code_hash)
        );

        CREATE TABLE mfa_challenges (
            token_hash TEXT PRIMARY KEY NOT NULL,
            user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            used_at    INTEGER
        );
        CREATE INDEX mfa_challenges_expires ON mfa_challenges(expires_at);
        """
}
