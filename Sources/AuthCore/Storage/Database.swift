import CSQLite
import Foundation

/// One SQLite connection with its repositories. NOT shared between threads: every worker
/// thread, the WebSocket companion and the CLI open their own.
public final class Database {
    let connection: Connection

    /// Creates the file 0600 (SQLite gives -wal/-shm the same mode), WAL,
    /// a 5 s busy handler, foreign_keys=ON, synchronous=NORMAL.
    public init(path: String) throws {
        connection = try Connection(path: path)
    }

    public var path: String { connection.path }

    /// Applies pending migrations (versioned by `PRAGMA user_version`).
    public func migrate() throws { try Migrations.apply(connection) }

    public func isReachable() -> Bool {
        (try? connection.queryFirst("SELECT 1") { $0.int(0) }) == 1
    }

    /// Runs `body` in a transaction (`BEGIN IMMEDIATE` by default: takes the write lock at
    /// once, so concurrent writers wait on the busy handler instead of failing on upgrade).
    /// Nested calls become savepoints.
    public func transaction<T>(immediate: Bool = true, _ body: () throws -> T) throws -> T {
        try connection.transaction(immediate: immediate, body)
    }

    /// `PRAGMA data_version`: moves when ANOTHER connection (thread or process) commits.
    public func dataVersion() -> Int64 {
        (try? connection.queryFirst("PRAGMA data_version") { $0.int(0) }) ?? -1
    }

    /// Rows changed through THIS connection since it opened (data_version ignores them).
    public func totalChanges() -> Int64 { sqlite3_total_changes64(connection.handle) }

    /// The last `verify_changes.seq` written (triggers append one row, in the writing
    /// statement, for every write that affects verification); -1 when unreadable.
    public func verifyChangeSeq() -> Int64 {
        (try? connection.queryFirst("SELECT seq FROM sqlite_sequence WHERE name = 'verify_changes'") { $0.int(0) }) ?? -1
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
}

enum StorageIDs {
    /// Lowercase random (v4) UUID.
    static func random() -> String { UUID().uuidString.lowercased() }
}
