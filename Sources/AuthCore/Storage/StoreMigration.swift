import Foundation

/// `authgate migrate --from-sqlite PATH`: copies a SQLite database into an empty PostgreSQL
/// one, every table a user's accounts depend on (tenants, users with their hashes, sessions
/// with their refresh counters, projects, API keys, nodes, audit), in one transaction, in
/// insertion order, then checks every table's row count. Live sessions keep working after
/// the move: their ids and counters are the same rows. The verify change log is not copied: a
/// responder loads the whole state at start, and one already watching rebuilds (see below).
public enum StoreMigration {
    /// Tables in foreign-key order with the columns copied.
    static let tables: [(name: String, columns: String)] = [
        ("tenants", "id, name, domain, is_platform, created_at, require_verified_email"),
        ("users", "id, tenant_id, email, password_hash, role, status, must_change_password, failed_attempts, locked_until, created_at, updated_at, email_verified_at"),
        ("sessions", "id, user_id, created_at, refreshed_at, revoked_at, revoked_reason, counter, rotated_at, user_agent, ip, aal, amr"),
        ("projects", "id, tenant_id, name, created_at"),
        ("api_keys", "id, project_id, tenant_id, name, prefix, key_hash, created_at, last_used_at, revoked_at"),
        ("nodes", "id, tenant_id, name, api_key_hash, created_at, revoked_at"),
        ("audit_events", "id, at, tenant_id, actor, event, ip, detail"),
        ("mfa_factors", "id, user_id, kind, secret, last_step, created_at, confirmed_at, last_used_at"),
        ("mfa_recovery_codes", "user_id, code_hash, created_at, used_at"),
        ("webauthn_user_handles", "user_id, handle, created_at"),
        ("webauthn_credentials", "id, user_id, credential_id, public_key, alg, sign_count, transports, backup_eligible, backup_state, aaguid, name, created_at, last_used_at"),
        // Issue 23: live reset/invite/email links keep working after the move; the outbox too.
        ("account_tokens", "token_hash, user_id, purpose, new_email, created_at, expires_at, used_at"),
        ("mail_outbox", "id, kind, recipient, subject, message, status, attempts, next_attempt_ms, created_at, sent_at, last_error"),
    ]

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Copies `source` (a SQLite file, migrated first) into `target` (PostgreSQL, migrated,
    /// and empty: refused otherwise). `progress` gets a line every 10,000 rows and per table.
    /// Returns the row count of each table, equal on both sides.
    public static func copy(fromSQLite path: String, to target: Database,
                            progress: (String) -> Void = { _ in }) throws -> [(table: String, rows: Int)] {
        guard target.isPostgres else { throw Failure(description: "the target is not PostgreSQL (set AUTH_DB_URL)") }
        var st = stat()
        guard stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            throw Failure(description: "no SQLite database at \(path)")
        }
        let source = try Database(path: path)
        try source.migrate()
        try target.migrate()
        for table in tables {
            let n = try target.connection.queryFirst("SELECT count(*) FROM \(table.name)") { $0.int(0) } ?? 0
            if n > 0 {
                throw Failure(description: "the PostgreSQL database is not empty (\(table.name) has \(n) row(s)); migrate only into a fresh one")
            }
        }
        var counts: [(String, Int)] = []
        try target.transaction {
            // The change-log triggers stay off while copying (one counter update per revoked row
            // made 100,000 sessions take 26 s); transactional DDL: no other session ever sees
            // them off. A process already watching the empty database rebuilds instead: the log
            // gets one entry whose number skips one, which reads as "watermark lost".
            for t in ["sessions", "users", "api_keys", "nodes"] {
                try target.connection.execScript("ALTER TABLE \(t) DISABLE TRIGGER USER")
            }
            for table in tables {
                let width = table.columns.split(separator: ",").count
                // Multi-row INSERTs of `batch` rows (one prepared statement, reused): a round trip
                // per row made 1,000,000 sessions take about 25 minutes.
                let batch = 500
                let one = "(" + Array(repeating: "?", count: width).joined(separator: ", ") + ")"
                func insert(_ rows: Int) -> String {
                    "INSERT INTO \(table.name)(\(table.columns)) VALUES " + Array(repeating: one, count: rows).joined(separator: ", ")
                }
                let full = insert(batch)
                var pending: [SQLValue] = []
                pending.reserveCapacity(batch * width)
                var copied = 0
                try source.connection.forEachRow("SELECT \(table.columns) FROM \(table.name) ORDER BY rowid") { row in
                    for c in 0..<Int32(width) { pending.append(row.value(c)) }
                    copied += 1
                    if pending.count == batch * width {
                        try target.connection.execute(full, pending)
                        pending.removeAll(keepingCapacity: true)
                    }
                    if copied % 50_000 == 0 { progress("\(table.name): \(copied) rows") }
                }
                if !pending.isEmpty { try target.connection.execute(insert(pending.count / width), pending) }
                let there = try target.connection.queryFirst("SELECT count(*) FROM \(table.name)") { $0.int(0) } ?? -1
                let here = try source.connection.queryFirst("SELECT count(*) FROM \(table.name)") { $0.int(0) } ?? -2
                guard there == here, there == Int64(copied) else {
                    throw Failure(description: "\(table.name): \(here) rows in SQLite but \(there) in PostgreSQL; nothing was committed")
                }
                progress("\(table.name): \(copied) rows copied")
                counts.append((table.name, copied))
            }
            for t in ["sessions", "users", "api_keys", "nodes"] {
                try target.connection.execScript("ALTER TABLE \(t) ENABLE TRIGGER USER")
            }
            try target.connection.execScript("""
                UPDATE verify_seq SET seq = seq + 2;
                INSERT INTO verify_changes(seq, kind, ref) SELECT seq, 3, 'migrated' FROM verify_seq;
                NOTIFY authgate_verify;
                """)
            // The audit ids were copied: the sequence continues after them.
            try target.connection.execScript("SELECT setval(pg_get_serial_sequence('audit_events', 'id'), greatest((SELECT max(id) FROM audit_events), 1))")
            try target.connection.execScript("SELECT setval(pg_get_serial_sequence('mail_outbox', 'id'), greatest((SELECT max(id) FROM mail_outbox), 1))")
        }
        return counts
    }
}
