import CSQLite
import Foundation

/// One database session with its repositories: SQLite (a file) or PostgreSQL (a server,
/// through the process's connection pool). NOT shared between threads: every worker thread,
/// the WebSocket companion and the CLI open their own.
public final class Database {
    let connection: Connection

    /// SQLite. Creates the file 0600 (SQLite gives -wal/-shm the same mode), WAL,
    /// a 5 s busy handler, foreign_keys=ON, synchronous=NORMAL.
    public init(path: String) throws {
        connection = try SQLiteConnection(path: path)
    }

    /// PostgreSQL at `url` (libpq URI or keyword string), through the process's pool for it
    /// (`poolSize` connections at most; the first caller's size wins).
    public convenience init(url: String, poolSize: Int = 8) throws {
        var options = PostgresOptions()
        options.poolSize = poolSize
        try self.init(url: url, options: options)
    }

    /// PostgreSQL at `url` with the budget, pooler mode and commit durability of `options`.
    public init(url: String, options: PostgresOptions) throws {
        let pool = PostgresPool.shared(url: url, options: options)
        // Fail here, not on first use, when the server cannot be reached at all.
        pool.checkin(try pool.checkout())
        connection = PooledPostgresConnection(pool: pool)
    }

    /// The store the settings name: `AUTH_DB_URL` (PostgreSQL) when set, else `AUTH_DB_PATH`.
    public convenience init(settings: Settings) throws {
        if let url = settings.dbURL { try self.init(url: url, options: settings.postgres) } else { try self.init(path: settings.dbPath) }
    }

    /// This process's pooled connections to the database, open and idle (nil on SQLite).
    public var poolCounts: (open: Int, idle: Int)? { (connection as? PooledPostgresConnection)?.pool.counts }

    /// The SQLite handle (nil on PostgreSQL): backup, the WAL-index watch.
    var sqlite: SQLiteConnection? { connection as? SQLiteConnection }

    /// The file path, or the PostgreSQL URL without its password.
    public var path: String { connection.path }
    public var dialect: SQLDialect { connection.dialect }
    public var isPostgres: Bool { connection.dialect == .postgres }

    /// Applies pending migrations (SQLite: `PRAGMA user_version`; PostgreSQL: the
    /// `authgate_schema` table under an advisory lock, so two hosts may run it at once).
    public func migrate() throws {
        if isPostgres { try PostgresMigrations.apply(connection) } else { try Migrations.apply(connection) }
    }

    public func isReachable() -> Bool {
        (try? connection.queryFirst("SELECT 1") { $0.int(0) }) == 1
    }

    /// Runs `body` in a transaction (SQLite: `BEGIN IMMEDIATE` by default: takes the write
    /// lock at once, so concurrent writers wait on the busy handler instead of failing on
    /// upgrade; PostgreSQL: `BEGIN`, writers serialized by row locks). Nested calls become savepoints.
    public func transaction<T>(immediate: Bool = true, _ body: () throws -> T) throws -> T {
        try connection.transaction(immediate: immediate, body)
    }

    /// Inside a transaction: serializes it with every other transaction that asks for the same
    /// `key` until it ends (PostgreSQL: `pg_advisory_xact_lock`, across hosts). SQLite's write
    /// transaction (`BEGIN IMMEDIATE`) already excludes every other writer: nothing to do.
    public func serialize(on key: Int64) throws {
        guard isPostgres else { return }
        try connection.execute("SELECT pg_advisory_xact_lock(?)", [.int(key)])
    }

    /// SQLite's `PRAGMA data_version`: moves when ANOTHER connection (thread or process) commits.
    public func dataVersion() -> Int64 {
        (try? connection.queryFirst("PRAGMA data_version") { $0.int(0) }) ?? -1
    }

    /// SQLite only: rows changed through THIS connection since it opened (data_version ignores them).
    public func totalChanges() -> Int64 {
        guard let sqlite = connection as? SQLiteConnection else { return -1 }
        return sqlite3_total_changes64(sqlite.handle)
    }

    /// The last `verify_changes.seq` written (triggers append one row, in the writing
    /// statement, for every write that affects verification); -1 when unreadable.
    public func verifyChangeSeq() -> Int64 {
        let sql = isPostgres ? "SELECT seq FROM verify_seq" : "SELECT seq FROM sqlite_sequence WHERE name = 'verify_changes'"
        return (try? connection.queryFirst(sql) { $0.int(0) }) ?? -1
    }

    /// Deletes change-log rows written before `before` (a verify state whose watermark they
    /// covered rebuilds once); keeps the newest row, so the sequence is never reset.
    @discardableResult
    public func pruneVerifyChanges(before: Int64) throws -> Int {
        try connection.execute("""
            DELETE FROM verify_changes WHERE created < ? AND seq < (SELECT max(seq) FROM verify_changes)
            """, [.int(before)])
    }

    public var tenants: TenantRepository { TenantRepository(connection: connection) }
    public var users: UserRepository { UserRepository(connection: connection) }
    public var sessions: SessionRepository { SessionRepository(connection: connection) }
    public var projects: ProjectRepository { ProjectRepository(connection: connection) }
    public var apiKeys: APIKeyRepository { APIKeyRepository(connection: connection) }
    public var nodes: NodeRepository { NodeRepository(connection: connection) }
    public var audit: AuditRepository { AuditRepository(connection: connection) }
    public var mfa: MFARepository { MFARepository(connection: connection) }
    public var webauthn: WebAuthnRepository { WebAuthnRepository(connection: connection) }
    public var accountTokens: AccountTokenRepository { AccountTokenRepository(connection: connection) }
    public var outbox: OutboxRepository { OutboxRepository(connection: connection) }
}

enum StorageIDs {
    /// Lowercase random (v4) UUID.
    static func random() -> String { UUID().uuidString.lowercased() }
}
