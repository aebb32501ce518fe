import AuthCrypto
import Foundation

/// A connection that checks one out of the process's pool for each statement, and keeps it
/// for the whole of a transaction. What `Database` uses for PostgreSQL, so the responder's
/// 64 threads share `AUTH_DB_POOL` server connections instead of holding 64.
final class PooledPostgresConnection: Connection {
    var dialect: SQLDialect { .postgres }
    let pool: PostgresPool
    private var pinned: PostgresConnection?

    init(pool: PostgresPool) { self.pool = pool }
    var path: String { pool.description }

    private func with<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        if let pinned { return try body(pinned) }
        let c = try pool.checkout()
        defer { pool.checkin(c) }
        return try body(c)
    }

    @discardableResult
    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int { try with { try $0.execute(sql, arguments) } }
    func query<T>(_ sql: String, _ arguments: [SQLValue], _ decode: (Row) throws -> T) throws -> [T] {
        try with { try $0.query(sql, arguments, decode) }
    }
    func forEachRow(_ sql: String, _ arguments: [SQLValue], _ body: (Row) throws -> Void) throws {
        try with { try $0.forEachRow(sql, arguments, body) }
    }
    func queryFirst<T>(_ sql: String, _ arguments: [SQLValue], _ decode: (Row) throws -> T) throws -> T? {
        try with { try $0.queryFirst(sql, arguments, decode) }
    }
    func execScript(_ sql: String) throws { try with { try $0.execScript(sql) } }
    var isInTransaction: Bool { pinned?.isInTransaction ?? false }

    func transaction<T>(immediate: Bool, _ body: () throws -> T) throws -> T {
        if let pinned { return try pinned.transaction(immediate: immediate, body) }
        let c = try pool.checkout()
        pinned = c
        defer {
            pinned = nil
            pool.checkin(c)
        }
        return try c.transaction(immediate: immediate, body)
    }
}

/// The process's PostgreSQL connections for one URL: at most `size`, opened on demand; a
/// caller waits up to 5 s for a free one, then gets 503 (`busy`).
final class PostgresPool: @unchecked Sendable, CustomStringConvertible {
    let url: String
    let size: Int
    private var idle: [PostgresConnection] = []
    private var open = 0
    private var mutex = pthread_mutex_t()
    private var cond = pthread_cond_t()

    init(url: String, size: Int) {
        self.url = url
        self.size = max(1, size)
        pthread_mutex_init(&mutex, nil)
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        pthread_cond_init(&cond, &attr)
        pthread_condattr_destroy(&attr)
    }

    var description: String { PostgresURL.redacted(url) }

    func checkout() throws -> PostgresConnection {
        pthread_mutex_lock(&mutex)
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        deadline.tv_sec += 5
        while idle.isEmpty && open >= size {
            if pthread_cond_timedwait(&cond, &mutex, &deadline) == ETIMEDOUT && idle.isEmpty && open >= size {
                pthread_mutex_unlock(&mutex)
                throw StorageError(code: .busy, sqlstate: "53300", message: "all \(size) PostgreSQL connections (AUTH_DB_POOL) busy for 5 s")
            }
        }
        if let c = idle.popLast() {
            pthread_mutex_unlock(&mutex)
            return c
        }
        open += 1
        pthread_mutex_unlock(&mutex)
        do {
            return try PostgresConnection(url: url)
        } catch {
            pthread_mutex_lock(&mutex)
            open -= 1
            pthread_cond_signal(&cond)
            pthread_mutex_unlock(&mutex)
            throw error
        }
    }

    func checkin(_ c: PostgresConnection) {
        // A connection left inside a transaction (a bug, or a dropped link) is not reused as is.
        if c.isInTransaction { _ = try? c.execScript("ROLLBACK") }
        pthread_mutex_lock(&mutex)
        idle.append(c)
        pthread_cond_signal(&cond)
        pthread_mutex_unlock(&mutex)
    }

    private static let pools = Locked<[String: PostgresPool]>([:])

    /// One pool per URL per process.
    static func shared(url: String, size: Int) -> PostgresPool {
        pools.withLock { pools in
            if let p = pools[url] { return p }
            let p = PostgresPool(url: url, size: size)
            pools[url] = p
            return p
        }
    }
}
