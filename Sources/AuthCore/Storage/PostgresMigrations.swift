/// The PostgreSQL schema: the same tables, columns and meaning as the SQLite one (Migrations.v1
/// + v2), in PostgreSQL's words. Versions are recorded in `authgate_schema`; each pending one is
/// applied in one transaction under an advisory lock, so two hosts starting at once apply it
/// once. Only ever append a migration; never edit or drop one that shipped.
///
/// Differences from SQLite, each on purpose:
/// - `COLLATE NOCASE` is the ICU collation `authgate_nocase` (case-insensitive, accent-sensitive,
///   nondeterministic): the same `email = ?` queries match case-insensitively, and the UNIQUE
///   constraints hold case-insensitively.
/// - `rowid` is an explicit BIGSERIAL column, so "oldest first, then insertion order" sorts the same.
/// - The change log's numbers come from the one-row `verify_seq` counter, taken under its row
///   lock in the writing transaction: gapless and in commit order (a SEQUENCE is neither), so a
///   reader's watermark never skips a change committed late. Every logged change also sends
///   `NOTIFY authgate_verify` (delivered at commit; duplicates in one transaction fold into one).
///   Since v5 (Migrations+ChangeLog.swift) the counter moves once a statement, not once a row.
enum PostgresMigrations {
    static let all: [String] = [v1, v2, v3, v4, v5]
    /// pg_advisory_xact_lock key: "authgate" in ASCII.
    static let lockKey: Int64 = 0x6175_7468_6761_7465

    static func apply(_ connection: Connection) throws {
        for (index, script) in all.enumerated() {
            let version = Int64(index + 1)
            try connection.transaction(immediate: true) {
                try connection.execute("SELECT pg_advisory_xact_lock(?)", [.int(lockKey)])
                try connection.execScript("CREATE TABLE IF NOT EXISTS authgate_schema (version BIGINT NOT NULL)")
                let current = try connection.queryFirst("SELECT max(version) FROM authgate_schema") { $0.optionalInt(0) } ?? nil
                guard (current ?? 0) < version else { return }
                try connection.execScript(script)
                try connection.execute("INSERT INTO authgate_schema(version) VALUES (?)", [.int(version)])
            }
        }
    }

    /// Equivalent to SQLite's v1 + v2.
    static let v1 = """
        CREATE COLLATION IF NOT EXISTS authgate_nocase (provider = icu, locale = 'und-u-ks-level2', deterministic = false);

        CREATE TABLE tenants (
            rowid       BIGSERIAL,
            id          TEXT PRIMARY KEY NOT NULL,
            name        TEXT NOT NULL,
            domain      TEXT NOT NULL COLLATE authgate_nocase UNIQUE,
            is_platform BIGINT NOT NULL DEFAULT 0,
            created_at  BIGINT NOT NULL
        );
        CREATE UNIQUE INDEX tenants_one_platform ON tenants(is_platform) WHERE is_platform = 1;

        CREATE TABLE users (
            rowid                BIGSERIAL,
            id                   TEXT PRIMARY KEY NOT NULL,
            tenant_id            TEXT NOT NULL REFERENCES tenants(id),
            email                TEXT NOT NULL COLLATE authgate_nocase,
            password_hash        TEXT NOT NULL,
            role                 TEXT NOT NULL,
            status               TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
            must_change_password BIGINT NOT NULL DEFAULT 0,
            failed_attempts      BIGINT NOT NULL DEFAULT 0,
            locked_until         BIGINT,
            created_at           BIGINT NOT NULL,
            updated_at           BIGINT NOT NULL,
            UNIQUE (tenant_id, email)
        );
        CREATE INDEX users_email ON users(email, created_at);
        CREATE INDEX users_blocked ON users(id) WHERE status <> 'active' OR must_change_password <> 0;

        -- No foreign key to users on purpose (see the SQLite schema): revoked tombstones stay.
        CREATE TABLE sessions (
            id             TEXT PRIMARY KEY NOT NULL,
            user_id        TEXT NOT NULL,
            created_at     BIGINT NOT NULL,
            refreshed_at   BIGINT NOT NULL,
            revoked_at     BIGINT,
            revoked_reason TEXT,
            counter        BIGINT NOT NULL DEFAULT 1,
            rotated_at     BIGINT NOT NULL,
            user_agent     TEXT NOT NULL DEFAULT '',
            ip             TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX sessions_user ON sessions(user_id, created_at);
        CREATE INDEX sessions_revoked ON sessions(revoked_at) WHERE revoked_at IS NOT NULL;
        CREATE INDEX sessions_refreshed ON sessions(refreshed_at);

        CREATE TABLE projects (
            rowid      BIGSERIAL,
            id         TEXT PRIMARY KEY NOT NULL,
            tenant_id  TEXT NOT NULL REFERENCES tenants(id),
            name       TEXT NOT NULL,
            created_at BIGINT NOT NULL
        );
        CREATE INDEX projects_tenant ON projects(tenant_id, created_at);

        CREATE TABLE api_keys (
            rowid        BIGSERIAL,
            id           TEXT PRIMARY KEY NOT NULL,
            project_id   TEXT NOT NULL REFERENCES projects(id),
            tenant_id    TEXT NOT NULL REFERENCES tenants(id),
            name         TEXT NOT NULL DEFAULT '',
            prefix       TEXT NOT NULL,
            key_hash     TEXT NOT NULL UNIQUE,
            created_at   BIGINT NOT NULL,
            last_used_at BIGINT,
            revoked_at   BIGINT
        );
        CREATE INDEX api_keys_project ON api_keys(project_id, created_at);
        CREATE INDEX api_keys_live ON api_keys(key_hash) WHERE revoked_at IS NULL;

        CREATE TABLE nodes (
            rowid        BIGSERIAL,
            id           TEXT PRIMARY KEY NOT NULL,
            tenant_id    TEXT NOT NULL REFERENCES tenants(id),
            name         TEXT NOT NULL,
            api_key_hash TEXT NOT NULL UNIQUE,
            created_at   BIGINT NOT NULL,
            revoked_at   BIGINT
        );
        CREATE INDEX nodes_tenant ON nodes(tenant_id, created_at);
        CREATE INDEX nodes_live ON nodes(api_key_hash) WHERE revoked_at IS NULL;

        CREATE TABLE audit_events (
            id        BIGSERIAL PRIMARY KEY,
            at        BIGINT NOT NULL,
            tenant_id TEXT,
            actor     TEXT,
            event     TEXT NOT NULL,
            ip        TEXT,
            detail    TEXT
        );
        CREATE INDEX audit_at ON audit_events(at);
        CREATE INDEX audit_tenant ON audit_events(tenant_id, at);

        -- kind: 1 session revoked (at = revoked_at), 2 user state, 3 API keys or nodes.
        CREATE TABLE verify_changes (
            seq     BIGINT PRIMARY KEY,
            kind    BIGINT NOT NULL,
            ref     TEXT NOT NULL,
            at      BIGINT,
            created BIGINT NOT NULL DEFAULT (extract(epoch FROM now())::bigint)
        );
        CREATE INDEX verify_changes_created ON verify_changes(created);
        CREATE TABLE verify_seq (
            one BOOLEAN PRIMARY KEY DEFAULT true CHECK (one),
            seq BIGINT NOT NULL
        );
        INSERT INTO verify_seq(one, seq) VALUES (true, 0);

        CREATE FUNCTION authgate_log_change(k BIGINT, r TEXT, a BIGINT) RETURNS void LANGUAGE plpgsql AS $$
        DECLARE s BIGINT;
        BEGIN
            UPDATE verify_seq SET seq = seq + 1 RETURNING seq INTO s;
            INSERT INTO verify_changes(seq, kind, ref, at) VALUES (s, k, r, a);
            PERFORM pg_notify('authgate_verify', '');
        END $$;

        CREATE FUNCTION authgate_sessions_log() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                IF NEW.revoked_at IS NOT NULL THEN PERFORM authgate_log_change(1, NEW.id, NEW.revoked_at); END IF;
            ELSIF OLD.revoked_at IS DISTINCT FROM NEW.revoked_at THEN
                PERFORM authgate_log_change(1, NEW.id, NEW.revoked_at);
            END IF;
            RETURN NULL;
        END $$;
        CREATE TRIGGER sessions_log AFTER INSERT OR UPDATE OF revoked_at ON sessions
            FOR EACH ROW EXECUTE FUNCTION authgate_sessions_log();

        CREATE FUNCTION authgate_users_log() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                IF NEW.status <> 'active' OR NEW.must_change_password <> 0 THEN
                    PERFORM authgate_log_change(2, NEW.id, NULL);
                END IF;
            ELSIF TG_OP = 'DELETE' THEN
                PERFORM authgate_log_change(2, OLD.id, NULL);
            ELSIF OLD.status IS DISTINCT FROM NEW.status OR OLD.role IS DISTINCT FROM NEW.role
                  OR OLD.password_hash IS DISTINCT FROM NEW.password_hash
                  OR OLD.must_change_password IS DISTINCT FROM NEW.must_change_password THEN
                PERFORM authgate_log_change(2, NEW.id, NULL);
            END IF;
            RETURN NULL;
        END $$;
        CREATE TRIGGER users_log AFTER INSERT OR DELETE OR UPDATE OF status, role, password_hash, must_change_password
            ON users FOR EACH ROW EXECUTE FUNCTION authgate_users_log();

        CREATE FUNCTION authgate_credentials_log() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                PERFORM authgate_log_change(3, NEW.id, NULL);
            ELSIF TG_OP = 'DELETE' THEN
                PERFORM authgate_log_change(3, OLD.id, NULL);
            ELSIF OLD.revoked_at IS DISTINCT FROM NEW.revoked_at THEN
                PERFORM authgate_log_change(3, NEW.id, NULL);
            END IF;
            RETURN NULL;
        END $$;
        CREATE TRIGGER api_keys_log AFTER INSERT OR DELETE OR UPDATE OF revoked_at ON api_keys
            FOR EACH ROW EXECUTE FUNCTION authgate_credentials_log();
        CREATE TRIGGER nodes_log AFTER INSERT OR DELETE OR UPDATE OF revoked_at ON nodes
            FOR EACH ROW EXECUTE FUNCTION authgate_credentials_log();
        """

    /// Equivalent to SQLite's v3: the second factor (see Migrations.v3).
    static let v2 = """
        ALTER TABLE sessions ADD COLUMN aal BIGINT NOT NULL DEFAULT 1;
        ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';

        CREATE TABLE mfa_factors (
            rowid        BIGSERIAL,
            id           TEXT PRIMARY KEY NOT NULL,
            user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            kind         TEXT NOT NULL CHECK (kind IN ('totp')),
            secret       TEXT NOT NULL,
            last_step    BIGINT NOT NULL DEFAULT -1,
            created_at   BIGINT NOT NULL,
            confirmed_at BIGINT,
            last_used_at BIGINT
        );
        CREATE INDEX mfa_factors_user ON mfa_factors(user_id, created_at);

        CREATE TABLE mfa_recovery_codes (
            user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            code_hash  TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            used_at    BIGINT,
            PRIMARY KEY (user_id, code_hash)
        );

        CREATE TABLE mfa_challenges (
            token_hash TEXT PRIMARY KEY NOT NULL,
            user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            used_at    BIGINT
        );
        CREATE INDEX mfa_challenges_expires ON mfa_challenges(expires_at);
        """
}
