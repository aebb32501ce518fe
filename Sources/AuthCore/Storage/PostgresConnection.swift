import AuthCrypto
import CLibpq
import CSQLite
import Foundation

/// One libpq connection (`PGconn*`) and its prepared statements, used by one thread at a time
/// (a pool hands it out: PostgresPool). Every statement is prepared once per connection
/// (`?` / `?N` rewritten to `$N`) and run with its values bound in text format, never
/// interpolated. A broken connection is reset on its next use, at most every 250 ms, so a
/// PostgreSQL outage answers at once (503) instead of queueing reconnects.
/// Behind a transaction-mode pooler (`Behaviour.transactionPooler`, issue 24) nothing outlives a
/// transaction: statements are unnamed (PQexecParams: parsed per call, nothing left on the
/// server connection for another client to trip over) and the startup packet carries no
/// `options`; the timeouts a session would set go with each writing transaction instead.
final class PostgresConnection: Connection {
    var dialect: SQLDialect { .postgres }
    let url: String
    let path: String
    private(set) var conn: OpaquePointer?
    private var prepared: [String: String] = [:]
    private var savepointDepth = 0
    /// Between BEGIN and COMMIT/ROLLBACK: a lost connection is then NOT replaced, so the rest
    /// of a transaction can never run, committed piecemeal, on a new session.
    private var transactionOpen = false
    private var lastAttempt: Double = 0
    /// Statements run after every (re)connect, e.g. `LISTEN` for the verify store.
    private let onConnect: [String]
    /// Moves on every successful (re)connect: what was sent while disconnected is unknown.
    private(set) var generation: UInt64 = 0
    let behaviour: Behaviour
    /// Set by the notice receiver when the server sends a WARNING (read around COMMIT).
    let warned = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
    /// When this connection was last checked in (the pool closes long-idle ones).
    var idleSince: Double = 0

    /// What this connection may rely on, and what every writing transaction sets.
    struct Behaviour: Sendable {
        /// A transaction-mode pooler in between: no named statements, no session state.
        var transactionPooler = false
        /// `synchronous_commit` for writing transactions (nil: the server's).
        var syncCommit: String?
        /// How long a writing COMMIT may wait for the synchronous standby before it is cancelled
        /// (the server's statement_timeout does not cover that wait) and answered 503.
        var syncTimeout: Double = 5

        init(transactionPooler: Bool = false, syncCommit: String? = nil) {
            self.transactionPooler = transactionPooler
            self.syncCommit = syncCommit
        }

        init(_ options: PostgresOptions) {
            self.init(transactionPooler: options.transactionPooler, syncCommit: options.syncCommit)
            syncTimeout = options.syncTimeout
        }

        /// Sent with BEGIN (one round trip) when the transaction writes.
        var writeSettings: String {
            var sql = ""
            if let level = syncCommit { sql += "; SET LOCAL synchronous_commit = \(level)" }
            // Behind a pooler the startup packet's options are gone: a sync wait, a lock or a
            // statement must still not hang a worker for ever.
            if transactionPooler { sql += "; SET LOCAL statement_timeout = 10000; SET LOCAL lock_timeout = 5000" }
            return sql
        }
    }

    /// Keywords placed before the URL's own (which win): short timeouts so an unreachable
    /// server fails a request within seconds instead of hanging it.
    static let defaults: [(String, String)] = [
        ("connect_timeout", "3"), ("application_name", "authgate"),
        ("keepalives", "1"), ("keepalives_idle", "5"), ("keepalives_interval", "2"), ("keepalives_count", "2"),
        ("tcp_user_timeout", "6000"),
        ("options", "-c client_min_messages=warning -c statement_timeout=10000 -c lock_timeout=5000 -c idle_in_transaction_session_timeout=60000"),
    ]

    init(url: String, onConnect: [String] = [], behaviour: Behaviour = Behaviour()) throws {
        self.url = url
        self.path = PostgresURL.redacted(url)
        self.onConnect = onConnect
        self.behaviour = behaviour
        warned.initialize(to: 0)
        // (A throw from here still runs deinit: every property is set, so it frees `warned`.)
        try connect()
    }

    deinit {
        if let conn { PQfinish(conn) }
        warned.deallocate()
    }

    private func connect() throws {
        lastAttempt = Self.monotonic()
        if let old = conn { PQfinish(old); conn = nil }
        prepared.removeAll()
        savepointDepth = 0
        let defaults = behaviour.transactionPooler ? Self.defaults.filter { $0.0 != "options" } : Self.defaults
        let pairs = defaults + [("dbname", url)]
        let keys = pairs.map { strdup($0.0) }
        let values = pairs.map { strdup($0.1) }
        defer { keys.forEach { free($0) }; values.forEach { free($0) } }
        var k: [UnsafePointer<CChar>?] = keys.map { UnsafePointer($0) } + [nil]
        var v: [UnsafePointer<CChar>?] = values.map { UnsafePointer($0) } + [nil]
        let c = PQconnectdbParams(&k, &v, 1)
        guard let c, PQstatus(c) == CONNECTION_OK else {
            let message = c.map { String(cString: PQerrorMessage($0)) } ?? "out of memory"
            if let c { PQfinish(c) }
            let said = PostgresURL.scrubbed(message.trimmingCharacters(in: .whitespacesAndNewlines), url: url)
            // Refused (a full server, no primary, ...): counted, and a 503 with Retry-After.
            let refusal = PostgresRefusal.classify(message)
            refusal.count()
            throw StorageError(code: .busy, sqlstate: refusal.sqlstate, message: "cannot connect to PostgreSQL \(path): \(said)")
        }
        conn = c
        // The server's notices and warnings (e.g. "terminating connection due to immediate
        // shutdown") would go to stderr unformatted; the errors that matter are thrown. A
        // WARNING is remembered: at COMMIT it is the server saying it stopped waiting for the
        // synchronous standby ("canceling wait for synchronous replication").
        PQsetNoticeReceiver(c, { arg, result in
            guard let arg, let result, let severity = PQresultErrorField(result, authgate_pg_diag_severity_nonlocalized()),
                  String(cString: severity) == "WARNING" else { return }
            arg.assumingMemoryBound(to: Int32.self).pointee = 1
        }, UnsafeMutableRawPointer(warned))
        for sql in onConnect { try execScript(sql) }
        generation &+= 1
    }

    /// The open connection, reconnecting a broken one (at most every 250 ms).
    private func open() throws -> OpaquePointer {
        if let conn, PQstatus(conn) == CONNECTION_OK { return conn }
        if transactionOpen {
            throw StorageError.unavailable("the connection to PostgreSQL \(path) was lost inside a transaction (rolled back by the server)")
        }
        if Self.monotonic() - lastAttempt < 0.25 {
            throw StorageError.unavailable("PostgreSQL \(path) is unreachable (reconnect attempted under 250 ms ago)")
        }
        try connect()
        return conn!
    }

    /// Drops the link (a COMMIT that answered nothing, not even its cancel): the next use reconnects.
    func abandon() {
        if let conn { PQfinish(conn) }
        conn = nil
    }

    var isOpen: Bool { conn.map { PQstatus($0) == CONNECTION_OK } ?? false }

    /// Whether the server closed this idle connection meanwhile (a restart, a kill,
    /// `pg_terminate_backend`, `idle_session_timeout`): an idle pooled connection has nothing to
    /// read, so a readable socket (the server's FATAL message, or the end of the stream) means it
    /// is gone, which libpq's status only learns at the next statement. One poll(2) with no wait.
    /// The pool drops such a connection at checkout, so the statement runs on another or a new
    /// one instead of failing the client's request with a 503.
    var closedWhileIdle: Bool {
        guard let conn, PQstatus(conn) == CONNECTION_OK else { return false }
        var p = pollfd(fd: PQsocket(conn), events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, 0) > 0
    }

    /// The socket, for polling notifications (-1 when closed).
    var socket: Int32 { conn.map { PQsocket($0) } ?? -1 }

    /// Reads what the server sent (notifications) without blocking; counts and frees them.
    /// Nil when the connection is broken.
    func drainNotifications() -> Int? {
        guard let conn, PQstatus(conn) == CONNECTION_OK else { return nil }
        guard PQconsumeInput(conn) == 1 else { return nil }
        var count = 0
        while let n = PQnotifies(conn) {
            count += 1
            PQfreemem(n)
        }
        return PQstatus(conn) == CONNECTION_OK ? count : nil
    }

    // MARK: statements

    /// Behind a transaction-mode pooler: the translated text, run as an unnamed statement.
    private var translated: [String: String] = [:]

    private func statementName(_ sql: String, _ c: OpaquePointer) throws -> String {
        if let name = prepared[sql] { return name }
        let name = "s\(prepared.count + 1)"
        let result = PQprepare(c, name, PostgresSQL.translate(sql), 0, nil)
        defer { PQclear(result) }
        try check(result, sql: sql)
        prepared[sql] = name
        return name
    }

    /// Runs `sql` with `arguments` bound; the caller clears the result.
    private func run(_ sql: String, _ arguments: [SQLValue]) throws -> OpaquePointer {
        let c = try open()
        let name = behaviour.transactionPooler ? nil : try statementName(sql, c)
        var owned: [UnsafeMutablePointer<CChar>?] = []
        owned.reserveCapacity(arguments.count)
        defer { owned.forEach { free($0) } }
        for value in arguments {
            switch value {
            case let .text(text):
                // A NUL would end the C string early: refuse rather than store or compare a prefix.
                if text.utf8.contains(0) {
                    throw StorageError(code: .misuse, message: "text value contains a NUL byte", sql: sql)
                }
                owned.append(strdup(text))
            case let .int(int): owned.append(strdup(String(int)))
            case .null: owned.append(nil)
            }
        }
        var params: [UnsafePointer<CChar>?] = owned.map { $0.map { UnsafePointer($0) } }
        let result = params.withUnsafeMutableBufferPointer { buf in
            if let name { return PQexecPrepared(c, name, Int32(arguments.count), buf.baseAddress, nil, nil, 0) }
            let text: String
            if let known = translated[sql] { text = known } else {
                text = PostgresSQL.translate(sql)
                translated[sql] = text
            }
            return PQexecParams(c, text, Int32(arguments.count), nil, buf.baseAddress, nil, nil, 0)
        }
        do { try check(result, sql: sql) } catch { PQclear(result); throw error }
        return result!
    }

    func check(_ result: OpaquePointer?, sql: String?) throws {
        let status = result.map { PQresultStatus($0) } ?? PGRES_FATAL_ERROR
        if status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK { return }
        let state = result.flatMap { PQresultErrorField($0, authgate_pg_diag_sqlstate()) }.map { String(cString: $0) }
        var message = result.map { String(cString: PQresultErrorMessage($0)) } ?? ""
        if message.isEmpty, let conn { message = String(cString: PQerrorMessage(conn)) }
        let broken = conn.map { PQstatus($0) != CONNECTION_OK } ?? true
        // Every error the server sends has a SQLSTATE; one without it is libpq's own (the
        // connection was lost, often before PQstatus says so).
        throw StorageError(sqlstate: broken ? "08006" : (state ?? "08006"),
                           message: message.trimmingCharacters(in: .whitespacesAndNewlines), sql: sql)
    }

    @discardableResult
    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
        let result = try run(sql, arguments)
        defer { PQclear(result) }
        return Int(String(cString: PQcmdTuples(result))) ?? 0
    }

    func query<T>(_ sql: String, _ arguments: [SQLValue], _ decode: (Row) throws -> T) throws -> [T] {
        let result = try run(sql, arguments)
        defer { PQclear(result) }
        let n = PQntuples(result)
        var rows: [T] = []
        rows.reserveCapacity(Int(n))
        for i in 0..<n { rows.append(try decode(Row(postgres: result, row: i))) }
        return rows
    }

    func forEachRow(_ sql: String, _ arguments: [SQLValue], _ body: (Row) throws -> Void) throws {
        let result = try run(sql, arguments)
        defer { PQclear(result) }
        for i in 0..<PQntuples(result) { try body(Row(postgres: result, row: i)) }
    }

    func queryFirst<T>(_ sql: String, _ arguments: [SQLValue], _ decode: (Row) throws -> T) throws -> T? {
        let result = try run(sql, arguments)
        defer { PQclear(result) }
        return PQntuples(result) > 0 ? try decode(Row(postgres: result, row: 0)) : nil
    }

    func execScript(_ sql: String) throws {
        let c = try open()
        let result = PQexec(c, sql)
        defer { PQclear(result) }
        try check(result, sql: sql)
    }

    // MARK: transactions

    var isInTransaction: Bool {
        guard let conn else { return false }
        let s = PQtransactionStatus(conn)
        return s == PQTRANS_INTRANS || s == PQTRANS_INERROR || s == PQTRANS_ACTIVE
    }

    func transaction<T>(immediate: Bool, _ body: () throws -> T) throws -> T {
        if isInTransaction {
            savepointDepth += 1
            let name = "sp\(savepointDepth)"
            defer { savepointDepth -= 1 }
            try execScript("SAVEPOINT \(name)")
            do {
                let result = try body()
                try execScript("RELEASE SAVEPOINT \(name)")
                return result
            } catch {
                _ = try? execScript("ROLLBACK TO SAVEPOINT \(name)")
                _ = try? execScript("RELEASE SAVEPOINT \(name)")
                throw error
            }
        }
        // Writers: READ COMMITTED with row locks (FOR UPDATE) and conditional updates, the
        // PostgreSQL way; a read (immediate: false) is one snapshot.
        // A writer's durability (AUTH_DB_SYNC_COMMIT) rides with its BEGIN: one round trip.
        try execScript(immediate ? "BEGIN" + behaviour.writeSettings : "BEGIN ISOLATION LEVEL REPEATABLE READ")
        transactionOpen = true
        defer { transactionOpen = false }
        do {
            let result = try body()
            if immediate && behaviour.syncCommit != nil { try commitSynchronously() } else { try execScript("COMMIT") }
            return result
        } catch {
            if isInTransaction { _ = try? execScript("ROLLBACK") }
            throw error
        }
    }

    static func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
