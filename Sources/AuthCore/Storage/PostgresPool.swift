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

    /// A statement outside a transaction runs on a connection checked out for it alone. A write
    /// (`INSERT`, `UPDATE`, `DELETE`: a logout is one `UPDATE`) becomes a transaction of its own when
    /// its commit must be synchronous (`AUTH_DB_SYNC_COMMIT`): `SET LOCAL` needs one.
    private func with<T>(_ sql: String, _ body: (PostgresConnection) throws -> T) throws -> T {
        if let pinned { return try body(pinned) }
        if pool.behaviour.syncCommit != nil && Self.writes(sql) {
            return try transaction(immediate: true) { try body(pinned!) }
        }
        let c = try pool.checkout()
        defer { pool.checkin(c) }
        return try body(c)
    }

    static func writes(_ sql: String) -> Bool {
        let head = sql.utf8.drop { $0 == 32 || $0 == 10 || $0 == 9 }.prefix(6)
        let word = String(decoding: head, as: UTF8.self).uppercased()
        return word == "UPDATE" || word == "INSERT" || word == "DELETE"
    }

    @discardableResult
    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int { try with(sql) { try $0.execute(sql, arguments) } }
    func query<T>(_ sql: String, _ arguments: [SQLValue], _ decode: (Row) throws -> T) throws -> [T] {
        try with(sql) { try $0.query(sql, arguments, decode) }
    }
    func forEachRow(_ sql: String, _ arguments: [SQLValue], _ body: (Row) throws -> Void) throws {
        try with(sql) { try $0.forEachRow(sql, arguments, body) }
    }
    func queryFirst<T>(_ sql: String, _ arguments: [SQLValue], _ decode: (Row) throws -> T) throws -> T? {
        try with(sql) { try $0.queryFirst(sql, arguments, decode) }
    }
    func execScript(_ sql: String) throws { try with("") { try $0.execScript(sql) } }
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
/// caller waits up to 5 s for a free one, then gets 503 (`busy`). One closed after
/// `idleSeconds` unused (a reaper thread shared by every pool), so an idle process holds none:
/// the pool grows with a burst and shrinks back to 0 after it (issue 24).
final class PostgresPool: @unchecked Sendable, CustomStringConvertible {
    let url: String
    let size: Int
    let idleSeconds: Double
    let behaviour: PostgresConnection.Behaviour
    /// Most recently checked in last: the hot ones are reused, the cold ones age out.
    private var idle: [PostgresConnection] = []
    private var open = 0
    private var mutex = pthread_mutex_t()
    private var cond = pthread_cond_t()

    init(url: String, options: PostgresOptions) {
        self.url = url
        self.size = max(1, options.poolSize)
        self.idleSeconds = options.idleSeconds
        self.behaviour = PostgresConnection.Behaviour(options)
        pthread_mutex_init(&mutex, nil)
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        pthread_cond_init(&cond, &attr)
        pthread_condattr_destroy(&attr)
    }

    convenience init(url: String, size: Int) {
        var options = PostgresOptions()
        options.poolSize = size
        self.init(url: url, options: options)
    }

    var description: String { PostgresURL.redacted(url) }

    /// Connections open now (idle + checked out), and idle.
    var counts: (open: Int, idle: Int) {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return (open, idle.count)
    }

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
        // One the server closed while it sat here is dropped and another taken (or a new one
        // opened), so no statement of the caller is lost to it.
        while let c = idle.popLast() {
            if !c.closedWhileIdle {
                pthread_mutex_unlock(&mutex)
                return c
            }
            open -= 1
        }
        open += 1
        pthread_mutex_unlock(&mutex)
        do {
            return try PostgresConnection(url: url, behaviour: behaviour)
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
        c.idleSince = PostgresConnection.monotonic()
        pthread_mutex_lock(&mutex)
        idle.append(c)
        pthread_cond_signal(&cond)
        pthread_mutex_unlock(&mutex)
    }

    /// Takes out the connections idle longer than `idleSeconds` (closed by the caller, outside the lock).
    private func expired(now: Double) -> [PostgresConnection] {
        guard idleSeconds > 0 else { return [] }
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        let n = idle.prefix { now - $0.idleSince >= idleSeconds }.count
        guard n > 0 else { return [] }
        let old = Array(idle.prefix(n))
        idle.removeFirst(n)
        open -= n
        pthread_cond_signal(&cond)
        return old
    }

    private static let pools = Locked<[String: PostgresPool]>([:])

    /// One pool per URL per process (the first caller's options win).
    static func shared(url: String, options: PostgresOptions) -> PostgresPool {
        let pool = pools.withLock { pools in
            if let p = pools[url] { return p }
            let p = PostgresPool(url: url, options: options)
            pools[url] = p
            return p
        }
        if pool.idleSeconds > 0 { startReaper() }
        return pool
    }

    /// The pool for `url` if this process has made one.
    static func existing(url: String) -> PostgresPool? { pools.withLock { $0[url] } }

    static func shared(url: String, size: Int) -> PostgresPool {
        var options = PostgresOptions()
        options.poolSize = size
        return shared(url: url, options: options)
    }

    private static let reaperStarted = Locked(false)

    /// One thread for every pool of the process: a few times per idle period it closes what expired.
    private static func startReaper() {
        guard reaperStarted.withLock({ started in defer { started = true }; return !started }) else { return }
        let thread = Thread {
            while true {
                let all = pools.withLock { Array($0.values) }
                let shortest = all.map(\.idleSeconds).filter { $0 > 0 }.min() ?? 30
                let now = PostgresConnection.monotonic()
                for pool in all { _ = pool.expired(now: now) }   // closed (PQfinish) as the array goes
                usleep(UInt32(max(0.05, min(1, shortest / 4)) * 1_000_000))
            }
        }
        thread.name = "authgate-db-pool-reaper"
        thread.start()
    }
}
