import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// N complete Authgate hosts (issue 24: eight) on one PostgreSQL: each host a `Stack` of its own
/// (nginx on its own TLS and plain ports, responder, companion, demo upstream, own sockets),
/// all with one key ring, on one database of `server`. Started in parallel; always stopped.
final class ManyHosts: @unchecked Sendable {
    let server: PostgresServer
    let database: String
    let hosts: [Stack]
    /// AUTH_DB_POOL_IDLE_SECONDS of every host.
    static let poolIdleSeconds = 5

    private init(server: PostgresServer, database: String, hosts: [Stack]) {
        self.server = server
        self.database = database
        self.hosts = hosts
    }

    /// nginx config added to every host: `/demo/echo-nocache`, the demo echo behind a verify
    /// location without the micro-cache (the stack's own `/demo/echo` keeps it): one run measures
    /// both.
    static let uncachedLocation = """
        location = /demo/echo-nocache {
            auth_request /_authgate/verify-nocache;
            include snippets/authgate-protect-proxy.conf;
            proxy_pass http://authgate_demo_upstream;
        }
        location = /_authgate/verify-nocache {
            internal;
            include snippets/authgate-fastcgi-params.conf;
            fastcgi_pass_request_body off;
            fastcgi_param CONTENT_LENGTH "";
            fastcgi_param AUTH_VERIFY 1;
            fastcgi_param AUTH_ALLOW user;
            fastcgi_param AUTH_ROLES "";
            fastcgi_pass authgate_fcgi;
        }
        """

    static func with<T>(count: Int, server: PostgresServer, _ body: (ManyHosts) throws -> T) throws -> T {
        let database = try server.makeDatabase(prefix: "hosts")
        let ring = Stack.randomKeyRing()
        let secrets = Stack.randomKeyRing()
        var stacks: [Stack] = []
        for _ in 0..<count {
            var o = Stack.Options()
            o.threads = 4
            o.verifyCacheSeconds = 1
            o.plainHTTP = true
            o.keyRing = ring
            o.secrets = secrets
            o.extraServerConfig = uncachedLocation
            o.environment["AUTH_DB_URL"] = server.url(database: database)
            o.environment["AUTH_STATE_MAX_STALE_SECONDS"] = "1"
            // The pools shrink to nothing 5 s after their last use (default 30): the test waits for it.
            o.environment["AUTH_DB_POOL_IDLE_SECONDS"] = "\(poolIdleSeconds)"
            // Hashing set aside: the login figures are the server's work, not scrypt's.
            o.environment["AUTH_SCRYPT"] = "ln=4,r=8,p=1"
            o.environment["AUTH_RATE_LIMIT"] = "off"
            stacks.append(try Stack(o))
        }
        defer { for s in stacks { s.stop() } }
        let all = stacks
        let started = try onThreads(count, timeout: 240) { i in try all[i].start() }
        for r in started { try r.get() }
        return try body(ManyHosts(server: server, database: database, hosts: stacks))
    }

    /// One SQL answer from the hosts' database (psql, unaligned).
    func sql(_ query: String) throws -> String {
        try server.psql(query, database: database).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Server connections by state: (total, of them on the hosts' database).
    func connections() throws -> (total: Int, hosts: Int) {
        let row = try sql("""
            SELECT count(*) FILTER (WHERE backend_type = 'client backend'),
                   count(*) FILTER (WHERE backend_type = 'client backend' AND datname = current_database()
                                    AND pid <> pg_backend_pid())
            FROM pg_stat_activity
            """).split(separator: "|").map { Int($0) ?? -1 }
        return (row[0] - 1, row[1])
    }
}

/// The server's own counters at one instant: pg_stat_statements (loaded by the test's server,
/// updated as each statement ends) and the WAL position. Statements of the verify refreshers
/// (the change-log reads every host makes 4 times a second, whatever the traffic) are counted
/// apart, and the probe's own never.
struct PGCounters {
    var statements = 0        // every statement but the refreshers', BEGIN/COMMIT/ROLLBACK and probes
    var writes = 0            // INSERT / UPDATE / DELETE among them
    var commits = 0           // COMMIT statements outside the refreshers (read transactions included)
    var writeTransactions = 0 // BEGIN (a write transaction: reads begin REPEATABLE READ)
    var refresher = 0         // the verify refreshers' statements (change log, counter)
    var walBytes = 0          // pg_current_wal_lsn

    static func read(_ h: ManyHosts) throws -> PGCounters {
        let f = try h.sql("""
            WITH s AS (SELECT s.query, s.calls FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
                       WHERE d.datname = current_database() AND s.query !~* 'pg_stat|pg_current_wal|pg_database')
            SELECT
              coalesce((SELECT sum(calls) FROM s WHERE query !~* 'verify_changes|verify_seq|^(BEGIN|COMMIT|ROLLBACK|LISTEN|UNLISTEN)'), 0),
              coalesce((SELECT sum(calls) FROM s WHERE query ~* '^(INSERT|UPDATE|DELETE)'), 0),
              coalesce((SELECT sum(calls) FROM s WHERE query ~* '^COMMIT'), 0),
              coalesce((SELECT sum(calls) FROM s WHERE query ~* '^BEGIN$'), 0),
              coalesce((SELECT sum(calls) FROM s WHERE query ~* 'verify_changes|verify_seq'), 0),
              (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint
            """).split(separator: "|").map { Int($0) ?? -1 }
        return PGCounters(statements: f[0], writes: f[1], commits: f[2], writeTransactions: f[3], refresher: f[4], walBytes: f[5])
    }

    static func - (a: PGCounters, b: PGCounters) -> PGCounters {
        PGCounters(statements: a.statements - b.statements, writes: a.writes - b.writes, commits: a.commits - b.commits,
                   writeTransactions: a.writeTransactions - b.writeTransactions, refresher: a.refresher - b.refresher,
                   walBytes: a.walBytes - b.walBytes)
    }

    /// Per operation, for the table. Commits are not shown per operation: the refreshers' read
    /// transactions commit too, 64 a second for eight hosts, whatever the traffic; a write
    /// transaction is one commit that writes WAL and waits for its flush.
    func per(_ n: Int, _ what: String) -> String {
        let d = Double(max(n, 1))
        return String(format: "%-8@ %5.2f statements (%4.2f INSERT/UPDATE/DELETE) in %4.2f write transactions, %5.0f WAL bytes",
                      what as NSString, Double(statements) / d, Double(writes) / d, Double(writeTransactions) / d,
                      Double(walBytes) / d)
    }
}

/// pg_stat_wal (records, bytes, fsyncs) and pg_stat_database commits: flushed by each backend at
/// most once a second and, once idle, up to 10 s later: read after `settle`.
struct PGWALStats {
    var records = 0, bytes = 0, syncs = 0, xactCommit = 0

    static func read(_ h: ManyHosts) throws -> PGWALStats {
        let f = try h.sql("""
            SELECT wal_records, wal_bytes, wal_sync,
                   (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()) FROM pg_stat_wal
            """).split(separator: "|").map { Int($0) ?? -1 }
        return PGWALStats(records: f[0], bytes: f[1], syncs: f[2], xactCommit: f[3])
    }

    static func - (a: PGWALStats, b: PGWALStats) -> PGWALStats {
        PGWALStats(records: a.records - b.records, bytes: a.bytes - b.bytes, syncs: a.syncs - b.syncs,
                   xactCommit: a.xactCommit - b.xactCommit)
    }
}

/// Latency figures of a sample (seconds in, milliseconds out).
struct Percentiles: CustomStringConvertible {
    var count: Int, p50: Double, p99: Double, max: Double

    init(_ seconds: [Double]) {
        let s = seconds.sorted()
        count = s.count
        func at(_ q: Double) -> Double { s.isEmpty ? .nan : s[min(s.count - 1, Int((Double(s.count - 1) * q).rounded()))] * 1000 }
        p50 = at(0.5)
        p99 = at(0.99)
        self.max = (s.last ?? .nan) * 1000
    }

    var description: String { String(format: "p50 %7.1f ms  p99 %7.1f ms  max %7.1f ms  (n=%d)", p50, p99, max, count) }
}

extension ManyHosts {
    /// Logs in `email` on host `i` through its plain port; (access, refresh).
    func login(_ email: String, on i: Int) throws -> (access: String, refresh: String) {
        let r = try PlainHTTP.json(port: hosts[i].plainPort, "/api/v1/auth/login",
                                   ["email": email, "password": GateFixture.password])
        guard r.status == 200, let a = r.data["access_token"] as? String, let f = r.data["refresh_token"] as? String else {
            throw StackError("login \(email) on host \(i): \(r.status) \(r.text.prefix(300))")
        }
        return (a, f)
    }

    func refresh(_ token: String, on i: Int) throws -> (access: String, refresh: String) {
        let r = try PlainHTTP.json(port: hosts[i].plainPort, "/api/v1/auth/refresh", ["refresh_token": token])
        guard r.status == 200, let a = r.data["access_token"] as? String, let f = r.data["refresh_token"] as? String else {
            throw StackError("refresh on host \(i): \(r.status) \(r.text.prefix(300))")
        }
        return (a, f)
    }

    func logout(_ access: String, on i: Int) throws {
        let r = try PlainHTTP.request(port: hosts[i].plainPort, "POST", "/api/v1/auth/logout",
                                      headers: [("Authorization", "Bearer \(access)")])
        guard r.status == 200 else { throw StackError("logout on host \(i): \(r.status) \(r.text.prefix(300))") }
    }

    func status(_ path: String, _ token: String, on i: Int) throws -> Int {
        try PlainHTTP.request(port: hosts[i].plainPort, "GET", path, headers: [("Authorization", "Bearer \(token)")],
                              timeout: 10).status
    }

    /// One propagation trial: `token` is allowed everywhere (both paths, so each cache holds the
    /// allow), host `from` logs it out, and every other host polls both paths until each answers
    /// 401. Seconds from the logout's answer to each path's first 401, per host: (uncached, cached).
    func propagation(_ token: String, from: Int) throws -> [(nocache: Double, cache: Double)] {
        for i in hosts.indices {
            for path in ["/demo/echo-nocache", "/demo/echo"] where try status(path, token, on: i) != 200 {
                throw StackError("trial: \(path) on host \(i) did not allow the fresh session")
            }
        }
        try logout(token, on: from)
        let out = Date()
        let others = hosts.indices.filter { $0 != from }
        let results = try onThreads(others.count * 2, timeout: 30) { k -> Double in
            let host = others[k / 2], path = k % 2 == 0 ? "/demo/echo-nocache" : "/demo/echo"
            let deadline = Deadline(10)
            while !deadline.passed {
                let s = try self.status(path, token, on: host)
                if s == 401 { return Date().timeIntervalSince(out) }
                if s != 200 { throw StackError("\(path) on host \(host): \(s) while waiting for 401") }
            }
            throw StackError("\(path) on host \(host) still allowed the session 10 s after the logout on host \(from)")
        }
        let seconds = try results.map { try $0.get() }
        return others.indices.map { (seconds[$0 * 2], seconds[$0 * 2 + 1]) }
    }
}
