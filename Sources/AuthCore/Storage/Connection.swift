import CSQLite
import Foundation

/// Owns one `sqlite3*` and its prepared-statement cache. Used by one thread at a time
/// (opened with SQLITE_OPEN_NOMUTEX); closed in `deinit` after its statements are finalized.
final class SQLiteConnection: Connection {
    var dialect: SQLDialect { .sqlite }
    let handle: OpaquePointer
    let path: String
    private var cache: [String: Statement] = [:]
    private var savepointDepth = 0

    init(path: String) throws {
        try SQLiteConnection.createPrivateFile(path)
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, SQLiteTestVFS.name(for: path))
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_close_v2(db)
            throw StorageError(code: ResultCode(rawValue: rc), message: "cannot open \(path): \(message)")
        }
        self.handle = db
        self.path = path
        sqlite3_extended_result_codes(db, 1)
        // The busy handler first: switching to WAL needs a lock another process may hold.
        // SQLite's own busy_timeout sleeps in steps of up to 100 ms, which showed as a 176 ms p99
        // when 64 workers refresh at once; this one polls every 50-200 µs for up to 5 s.
        sqlite3_busy_handler(db, { _, attempt in
            if attempt >= 25_000 { return 0 }
            usleep(attempt < 20 ? 50 : 200)
            return 1
        }, nil)
        // Several processes opening a new file at once can get SQLITE_BUSY from the switch to WAL
        // without the busy handler being asked: retry it.
        var attempt = 0
        while true {
            do {
                try execScript("PRAGMA journal_mode = WAL;")
                break
            } catch let error as StorageError where error.isBusy && attempt < 100 {
                attempt += 1
                usleep(20_000)
            }
        }
        try execScript("""
            PRAGMA synchronous = NORMAL;
            PRAGMA foreign_keys = ON;
            """)
        SQLiteConnection.restrictModes(path)
    }

    deinit {
        cache.removeAll()  // finalizes every statement before the close
        sqlite3_close_v2(handle)
    }

    // MARK: file modes

    /// Creates the database file 0600 before SQLite does, so it is never readable by
    /// others; SQLite creates -wal and -shm with the main file's mode.
    /// Never opens (and so never closes) an existing file: closing any descriptor of the
    /// database file drops every POSIX lock this process holds on it, SQLite's included (seen:
    /// a later connection's open released the responder's locks, the CLI then believed it was
    /// the last connection and deleted the -wal and -shm the responder was still using).
    private static func createPrivateFile(_ path: String) throws {
        guard isPlainPath(path) else { return }
        var info = stat()
        if stat(path, &info) == 0 { return }
        let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0 && errno == EEXIST { return }
        guard fd >= 0 else {
            throw StorageError(code: ResultCode(rawValue: SQLITE_CANTOPEN),
                               message: "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        close(fd)
    }

    /// A file that existed before readable or writable by group or others loses those bits
    /// (also -wal/-shm): 0644 becomes 0600, 0400 stays 0400.
    private static func restrictModes(_ path: String) {
        guard isPlainPath(path) else { return }
        for file in [path, path + "-wal", path + "-shm"] {
            var info = stat()
            // Only group and other bits are taken away: an owner-read-only file (0400, made so
            // on purpose) must stay read-only, never become writable because it was opened.
            if stat(file, &info) == 0, info.st_mode & 0o077 != 0 {
                _ = chmod(file, info.st_mode & 0o700)
            }
        }
    }

    private static func isPlainPath(_ path: String) -> Bool {
        !path.isEmpty && path != ":memory:" && !path.hasPrefix("file:")
    }

    // MARK: statements

    /// Runs `body` with the cached statement for `sql` (prepared once per connection),
    /// then resets it and clears its bindings, also when `body` throws.
    func withStatement<T>(_ sql: String, _ body: (Statement) throws -> T) throws -> T {
        let statement: Statement
        if let cached = cache[sql], !cached.inUse {
            statement = cached
        } else if cache[sql] != nil {
            // Re-entrant use of the same SQL: a one-off statement, finalized on release.
            statement = try Statement(db: handle, sql: sql)
        } else {
            statement = try Statement(db: handle, sql: sql)
            cache[sql] = statement
        }
        statement.inUse = true
        defer {
            statement.reset()
            statement.inUse = false
        }
        return try body(statement)
    }

    /// Executes a statement to completion; returns the number of rows it changed.
    @discardableResult
    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
        try withStatement(sql) { statement in
            try statement.bind(arguments)
            while try statement.step() {}
            return Int(sqlite3_changes64(handle))
        }
    }

    func query<T>(_ sql: String, _ arguments: [SQLValue], _ decode: (Row) throws -> T) throws -> [T] {
        try withStatement(sql) { statement in
            try statement.bind(arguments)
            var rows: [T] = []
            while try statement.step() { rows.append(try decode(statement.row)) }
            return rows
        }
    }

    /// Visits each row without collecting them.
    func forEachRow(_ sql: String, _ arguments: [SQLValue], _ body: (Row) throws -> Void) throws {
        try withStatement(sql) { statement in
            try statement.bind(arguments)
            while try statement.step() { try body(statement.row) }
        }
    }

    func queryFirst<T>(_ sql: String, _ arguments: [SQLValue], _ decode: (Row) throws -> T) throws -> T? {
        try withStatement(sql) { statement in
            try statement.bind(arguments)
            guard try statement.step() else { return nil }
            let value = try decode(statement.row)
            // A write (`UPDATE … RETURNING`) outside a transaction commits only when it runs to
            // its end: finish it here, so a failing commit (a full disk, an I/O error) is thrown
            // instead of going to sqlite3_reset and being lost with the write.
            if !statement.isReadOnly { while try statement.step() {} }
            return value
        }
    }

    /// Several statements, no arguments, not cached (pragmas, migrations).
    func execScript(_ sql: String) throws {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        if rc != SQLITE_OK {
            let message = errorMessage.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(errorMessage)
            throw StorageError(code: ResultCode(rawValue: sqlite3_extended_errcode(handle)), message: message, sql: sql)
        }
    }

    // MARK: transactions

    var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// A transaction; inside another one it becomes a savepoint, so repository methods
    /// that need several statements compose with a caller's transaction.
    func transaction<T>(immediate: Bool, _ body: () throws -> T) throws -> T {
        if isInTransaction {
            savepointDepth += 1
            let name = "sp\(savepointDepth)"
            defer { savepointDepth -= 1 }
            try execute("SAVEPOINT \(name)", [])
            do {
                let result = try body()
                try execute("RELEASE \(name)", [])
                return result
            } catch {
                _ = try? execute("ROLLBACK TO \(name)", [])
                _ = try? execute("RELEASE \(name)", [])
                throw error
            }
        }
        try execute(immediate ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED", [])
        do {
            let result = try body()
            try execute("COMMIT", [])
            return result
        } catch {
            if isInTransaction { _ = try? execute("ROLLBACK", []) }
            throw error
        }
    }
}
