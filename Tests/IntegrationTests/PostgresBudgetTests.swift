import AuthCrypto
import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 24: the connection budget. A host's pool grows with a burst and shrinks back when idle
/// (AUTH_DB_POOL_IDLE_SECONDS), so an idle host holds only its two LISTEN connections (responder
/// and companion); a server out of connections (SQLSTATE 53300) is a 503 with Retry-After,
/// counted (`authgate_db_connect_refused_total`) and named by `authgate doctor`.
@Suite("PostgreSQL connection budget", .serialized)
struct PostgresBudgetTests {
    /// Client backends connected to `database` now, as the server counts them.
    static func connections(_ server: PostgresServer, _ database: String) throws -> Int {
        let out = try server.psql("SELECT count(*) FROM pg_stat_activity WHERE datname = '\(database)' AND backend_type = 'client backend'")
        return Int(out.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    static func host(_ url: String, idleSeconds: Int, threads: Int = 8) throws -> Stack {
        var o = Stack.Options()
        o.threads = threads
        o.environment["AUTH_DB_URL"] = url
        o.environment["AUTH_DB_POOL"] = "8"
        o.environment["AUTH_DB_POOL_IDLE_SECONDS"] = String(idleSeconds)
        return try Stack(o)
    }

    /// A pooled connection the server closed while it sat idle (here `pg_terminate_backend`; a
    /// restart or a kill does the same) is replaced at checkout: the next request runs on a new
    /// connection instead of failing with 503 (seen after a PostgreSQL restart: the first login on
    /// each host used a dead pooled connection, `TwoHostTests`).
    @Test func aConnectionTheServerClosedWhileIdleIsReplaced() throws {
        let server = try PostgresServer.shared
        let database = try server.makeDatabase(prefix: "idleclosed")
        let stack = try Self.host(server.url(database: database), idleSeconds: 300, threads: 2)
        defer { stack.stop() }
        try stack.start()
        _ = try stack.makeTenant("demo.local")
        try stack.makeUser("blink@demo.local", tenant: "demo.local")
        for round in 0..<3 {
            let warm = try stack.login("blink@demo.local")
            #expect(warm.status == 200, "round \(round), before: \(warm.status) \(warm.text)")
            // Every client backend of the database, the pool's idle ones among them.
            let listed = try server.psql("SELECT string_agg(pid::text, ',') FROM pg_stat_activity "
                + "WHERE datname = '\(database)' AND backend_type = 'client backend' AND pid <> pg_backend_pid()")
            let pids = listed.trimmingCharacters(in: .whitespacesAndNewlines)
            try #require(!pids.isEmpty, "round \(round): no backend of the pool to close")
            _ = try server.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid IN (\(pids))")
            try waitFor("the terminated backends (\(pids)) to be gone", timeout: 10, every: 20_000) {
                let left = try server.psql("SELECT count(*) FROM pg_stat_activity WHERE pid IN (\(pids))")
                return left.trimmingCharacters(in: .whitespacesAndNewlines) == "0"
            }
            let r = try stack.login("blink@demo.local")
            #expect(r.status == 200, "round \(round): a login right after the server closed the pool's idle connections: \(r.status) \(r.text)")
            if r.status != 200 { print(stack.log("authgate-fcgi").suffix(3000)) }
        }
    }

    @Test func thePoolGrowsWithABurstAndShrinksBackWhenIdle() throws {
        let server = try PostgresServer.shared
        let database = try server.makeDatabase(prefix: "budget")
        let stack = try Self.host(server.url(database: database), idleSeconds: 2)
        defer { stack.stop() }
        try stack.start()
        _ = try stack.makeTenant("demo.local")
        try stack.makeUser("burst@demo.local", tenant: "demo.local")
        // Idle: the responder's and the companion's LISTEN connections, nothing pooled.
        var idle = -1
        try waitFor("the idle host to hold only its 2 LISTEN connections", timeout: 30, every: 100_000) {
            idle = try Self.connections(server, database)
            return idle == 2
        }
        let sessions = try (0..<8).map { _ in try stack.tokens("burst@demo.local") }
        // The burst: 8 clients refreshing in parallel while a sampler watches pg_stat_activity.
        let peak = Locked(0)
        let stop = Locked(false)
        let sampler = Thread {
            while !stop.withLock({ $0 }) {
                if let n = try? Self.connections(server, database) { peak.withLock { $0 = max($0, n) } }
                usleep(50_000)
            }
        }
        sampler.start()
        let failures = Locked<[String]>([])
        DispatchQueue.concurrentPerform(iterations: sessions.count) { i in
            var refresh = sessions[i].refresh
            for _ in 0..<12 {
                guard let r = try? stack.refresh(refresh), let pair = r.pair else {
                    failures.withLock { $0.append("client \(i): refresh failed") }
                    return
                }
                refresh = pair.refresh
            }
        }
        let burstEnded = Date()
        stop.withLock { $0 = true }
        let burstPeak = max(peak.withLock { $0 }, try Self.connections(server, database))
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        #expect(burstPeak > 2, "the pool never grew: peak \(burstPeak)")
        #expect(burstPeak <= 2 + 8 + 1, "more than AUTH_DB_POOL (8) pooled connections plus the two LISTENs (and the companion's): \(burstPeak)")
        // Back down: every pooled connection closed about AUTH_DB_POOL_IDLE_SECONDS (2) after its last use.
        var after = -1
        try waitFor("the pool to shrink back to the 2 LISTEN connections", timeout: 20, every: 100_000) {
            after = try Self.connections(server, database)
            return after == 2
        }
        let shrunk = Date().timeIntervalSince(burstEnded)
        // And it grows again on demand.
        #expect(try stack.login("burst@demo.local").status == 200)
        let scrape = try FastCGIWire.exchange(stack.socketPath, FastCGIWire.request(uri: "/api/v1/metrics"))
        #expect(scrape.text.contains("authgate_db_pool_connections{state=\"idle\"}"), "\(scrape.text.suffix(800))")
        print("note: one host's connections on PostgreSQL: idle \(idle), burst peak \(burstPeak) (8 clients refreshing, AUTH_THREADS 8, AUTH_DB_POOL 8), back to \(after) \(String(format: "%.1f", shrunk)) s after the burst (AUTH_DB_POOL_IDLE_SECONDS 2)")
    }

    @Test func aFullServerIsA503WithRetryAfterCountedAndNamedByDoctor() throws {
        let server = try PostgresServer(prefix: "authgate-pg-full")
        // 12 slots, none kept back for superusers (every test role is one): the fillers below take
        // every slot the host does not hold.
        // (client_connection_check_interval: a filler SIGKILLed mid-pg_sleep frees its slot at once.)
        server.extraSettings = ["max_connections=12", "superuser_reserved_connections=0", "max_wal_senders=2",
                                "client_connection_check_interval=200"]
        defer { server.stop() }
        try server.start()
        let database = try server.makeDatabase(prefix: "full")
        let stack = try Self.host(server.url(database: database), idleSeconds: 1, threads: 4)
        defer { stack.stop() }
        try stack.start()
        _ = try stack.makeTenant("demo.local")
        try stack.makeUser("full@demo.local", tenant: "demo.local")
        let live = try stack.tokens("full@demo.local")
        try waitFor("the host's pool to close its idle connections", timeout: 30, every: 100_000) {
            try Self.connections(server, database) == 2
        }
        // Fill the server: psql sessions that sleep, until one is refused.
        var fillers: [Child] = []
        defer { for f in fillers { _ = f.stop(grace: 1, signal: SIGKILL) } }
        let logDir = try TempDir("authgate-fillers")
        for i in 0..<10 {
            fillers.append(try Child.spawn(server.binDirectory + "/psql", [
                "-X", "-q", "-h", server.socketDirectory, "-p", String(server.port), "-U", PostgresServer.superuser,
                "-d", "postgres", "-c", "SELECT pg_sleep(300)",
            ], environment: ["PATH": "/usr/bin:/bin"], stdout: logDir.path + "/\(i).log", stderr: logDir.path + "/\(i).log"))
            guard i < 9 else { break }
            // (The counting session takes a slot too: the last filler is checked by refusal.)
            try waitFor("filler \(i + 1) to connect", timeout: 20, every: 50_000) {
                let out = try server.psql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")
                return Int(out.trimmingCharacters(in: .whitespacesAndNewlines)) == 2 + i + 2
            }
        }
        var refusedSays = ""
        try waitFor("the server to refuse a new session (too many clients)", timeout: 20, every: 50_000) {
            do { try server.psql("SELECT 1"); return false } catch { refusedSays = "\(error)" }
            return refusedSays.contains("too many clients")
        }
        // A login needs a new connection: refused by the server, answered 503 + Retry-After.
        let login = Answer(host: "A", what: "login", try stack.login("full@demo.local"))
        #expect(login.isDocumented503, "login on a full server: \(login)")
        let refresh = Answer(host: "A", what: "refresh", try stack.refresh(live.refresh).result)
        #expect(refresh.isDocumented503, "refresh on a full server: \(refresh)")
        // The gate does not need the database: a live token still passes.
        #expect(try stack.get("/demo/echo", token: live.access).status == 200)
        let scrape = try FastCGIWire.exchange(stack.socketPath, FastCGIWire.request(uri: "/api/v1/metrics"))
        let refused = scrape.text.split(separator: "\n").first { $0.hasPrefix("authgate_db_connect_refused_total{reason=\"too_many_clients\"}") }
        #expect(refused.map { (Int($0.split(separator: " ").last ?? "") ?? 0) >= 2 } ?? false,
                "refusals not counted: \(refused.map(String.init) ?? "no line") in \(scrape.text.suffix(1200))")
        let doctor = try stack.cli(["doctor", "--no-nginx"])
        let said = doctor.stdout + doctor.stderr
        #expect(doctor.status != 0 && said.contains("too_many_clients") && said.contains("max_connections"),
                "doctor on a full server: \(said.suffix(1500))")
        // The fillers leave: everything comes back by itself.
        for f in fillers { _ = f.stop(grace: 1, signal: SIGKILL) }
        let released = Date()
        try waitFor("a login to succeed once the server has room", timeout: 20, every: 50_000) {
            try stack.login("full@demo.local").status == 200
        }
        let back = Date().timeIntervalSince(released)
        print("note: full server (max_connections 12): login \(login), refresh \(refresh); \(refused ?? "-"); back \(String(format: "%.2f", back)) s after the fillers left")
    }
}
