/// Issue 24 (many hosts): the PostgreSQL change log written once a STATEMENT, not once a row.
///
/// v1's row-level triggers called `authgate_log_change` for every changed row, and each call
/// updated the one-row `verify_seq` counter. Within one transaction every update of that row
/// leaves a version the next update must step over (none can be pruned before the commit), so
/// a bulk revocation cost O(rows²): a million sessions revoked in one statement had not finished
/// after 17 minutes. Here each table has one statement-level trigger per event, with transition
/// tables (`REFERENCING ... TABLE`): the trigger counts the rows whose verify meaning changed,
/// moves the counter ONCE by that count (one row lock, one new version), inserts the rows with
/// the consecutive numbers, and sends one `NOTIFY`. A statement that changes nothing that
/// matters (a refresh, a login's last-used update) touches neither the counter nor the log.
///
/// What readers rely on is unchanged: numbers are gapless and handed out in commit order,
/// because the counter's row lock is still held from the first logging statement of a
/// transaction until its commit (a SEQUENCE would hand out numbers that a later commit could
/// make visible before an earlier one's, and a reader's watermark would skip the late one).
/// Concurrent revoking transactions still queue on that lock until the holder commits; what
/// changed is that a statement takes it once and holds it from the END of the statement (an
/// AFTER STATEMENT trigger), not from its first row.
///
/// Transition tables allow no column list on an UPDATE trigger and one event per trigger, hence
/// three triggers a table and the comparison of old and new rows inside the function. SQLite
/// keeps its row-level triggers: its AUTOINCREMENT costs the same for every row (no versions to
/// step over), and it has one writer anyway.
extension PostgresMigrations {
    static let v5 = """
        DROP TRIGGER sessions_log ON sessions;
        DROP TRIGGER users_log ON users;
        DROP TRIGGER api_keys_log ON api_keys;
        DROP TRIGGER nodes_log ON nodes;
        DROP FUNCTION authgate_sessions_log();
        DROP FUNCTION authgate_users_log();
        DROP FUNCTION authgate_credentials_log();
        DROP FUNCTION authgate_log_change(BIGINT, TEXT, BIGINT);

        -- The numbering: `n` changes, already counted, take seq (s - n, s]; the caller inserts them.
        CREATE FUNCTION authgate_take_seq(n BIGINT) RETURNS BIGINT LANGUAGE plpgsql AS $$
        DECLARE s BIGINT;
        BEGIN
            UPDATE verify_seq SET seq = seq + n RETURNING seq INTO s;
            PERFORM pg_notify('authgate_verify', '');
            RETURN s;
        END $$;

        CREATE FUNCTION authgate_sessions_log() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE n BIGINT; s BIGINT;
        BEGIN
            IF TG_OP = 'INSERT' THEN
                SELECT count(*) INTO n FROM new_rows WHERE revoked_at IS NOT NULL;
                IF n = 0 THEN RETURN NULL; END IF;
                s := authgate_take_seq(n);
                INSERT INTO verify_changes(seq, kind, ref, at)
                SELECT s - n + row_number() OVER (), 1, id, revoked_at FROM new_rows WHERE revoked_at IS NOT NULL;
            ELSE
                SELECT count(*) INTO n FROM new_rows nr JOIN old_rows o ON o.id = nr.id
                WHERE o.revoked_at IS DISTINCT FROM nr.revoked_at;
                IF n = 0 THEN RETURN NULL; END IF;
                s := authgate_take_seq(n);
                INSERT INTO verify_changes(seq, kind, ref, at)
                SELECT s - n + row_number() OVER (), 1, nr.id, nr.revoked_at FROM new_rows nr JOIN old_rows o ON o.id = nr.id
                WHERE o.revoked_at IS DISTINCT FROM nr.revoked_at;
            END IF;
            RETURN NULL;
        END $$;
        CREATE TRIGGER sessions_log_insert AFTER INSERT ON sessions
            REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION authgate_sessions_log();
        CREATE TRIGGER sessions_log_update AFTER UPDATE ON sessions
            REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION authgate_sessions_log();

        -- kind 2 (users) and 3 (API keys, nodes) log the row's id only.
        CREATE FUNCTION authgate_ids_log() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE k BIGINT := TG_ARGV[0]::bigint; n BIGINT; s BIGINT; ids TEXT[];
        BEGIN
            IF TG_OP = 'INSERT' AND k = 2 THEN
                SELECT array_agg(id) INTO ids FROM new_rows WHERE status <> 'active' OR must_change_password <> 0;
            ELSIF TG_OP = 'INSERT' THEN
                SELECT array_agg(id) INTO ids FROM new_rows;
            ELSIF TG_OP = 'DELETE' THEN
                SELECT array_agg(id) INTO ids FROM old_rows;
            ELSIF k = 2 THEN
                SELECT array_agg(nr.id) INTO ids FROM new_rows nr JOIN old_rows o ON o.id = nr.id
                WHERE o.status IS DISTINCT FROM nr.status OR o.role IS DISTINCT FROM nr.role
                   OR o.password_hash IS DISTINCT FROM nr.password_hash
                   OR o.must_change_password IS DISTINCT FROM nr.must_change_password;
            ELSE
                SELECT array_agg(nr.id) INTO ids FROM new_rows nr JOIN old_rows o ON o.id = nr.id
                WHERE o.revoked_at IS DISTINCT FROM nr.revoked_at;
            END IF;
            n := coalesce(array_length(ids, 1), 0);
            IF n = 0 THEN RETURN NULL; END IF;
            s := authgate_take_seq(n);
            INSERT INTO verify_changes(seq, kind, ref) SELECT s - n + o, k, r FROM unnest(ids) WITH ORDINALITY AS t(r, o);
            RETURN NULL;
        END $$;
        CREATE TRIGGER users_log_insert AFTER INSERT ON users
            REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION authgate_ids_log(2);
        CREATE TRIGGER users_log_update AFTER UPDATE ON users
            REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION authgate_ids_log(2);
        CREATE TRIGGER users_log_delete AFTER DELETE ON users
            REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION authgate_ids_log(2);
        CREATE TRIGGER api_keys_log_insert AFTER INSERT ON api_keys
            REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION authgate_ids_log(3);
        CREATE TRIGGER api_keys_log_update AFTER UPDATE ON api_keys
            REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION authgate_ids_log(3);
        CREATE TRIGGER api_keys_log_delete AFTER DELETE ON api_keys
            REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION authgate_ids_log(3);
        CREATE TRIGGER nodes_log_insert AFTER INSERT ON nodes
            REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION authgate_ids_log(3);
        CREATE TRIGGER nodes_log_update AFTER UPDATE ON nodes
            REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION authgate_ids_log(3);
        CREATE TRIGGER nodes_log_delete AFTER DELETE ON nodes
            REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION authgate_ids_log(3);
        """
}
