import AuthCore
import Foundation
import TestSupport
import Testing

/// Issue 24: Debian's real pgbouncer (1.18: no prepared-statement support) in transaction mode
/// between the hosts and PostgreSQL. `AUTH_DB_POOLER=transaction` runs every statement unnamed
/// and sends no session options; `AUTH_DB_LISTEN_URL` takes LISTEN straight to the server.
@Suite("PgBouncer in transaction mode")
struct PgBouncerTests {
    /// What the issue measured ("prepared statement "s1" already exists"), and the switch that ends
    /// it: two clients of a pgbouncer with one server connection, each preparing its statements.
    @Test func namedStatementsCollideBehindThePoolerAndTheSwitchEndsIt() throws {
        let server = try PostgresServer.shared
        let database = try server.makeDatabase(prefix: "bouncer")
        try Database(url: server.url(database: database)).migrate()
        let bouncer = try PgBouncer(server: server, poolSize: 1)
        defer { bouncer.stop() }
        // Distinct URLs: distinct pools, as two processes would have.
        func url(_ app: String) -> String { bouncer.url(database: database) + "&application_name=\(app)" }

        var options = PostgresOptions()
        options.idleSeconds = 0
        let a = try Database(url: url("prepared_a"), options: options)
        let b = try Database(url: url("prepared_b"), options: options)
        #expect(a.isReachable())    // prepares s1 on the one server connection
        var failure = "none"
        do { _ = try b.tenants.list() } catch { failure = "\(error)" }
        #expect(failure.contains("prepared statement"), "without AUTH_DB_POOLER the second client's statement: \(failure)")

        options.transactionPooler = true
        let c = try Database(url: url("pooled_c"), options: options)
        let d = try Database(url: url("pooled_d"), options: options)
        for _ in 0..<20 {
            #expect(c.isReachable())
            #expect(try d.tenants.list().isEmpty)
            try d.transaction { _ = try d.tenants.list() }
            #expect(try c.tenants.byDomain("nowhere.example") == nil)
        }
        print("note: pgbouncer without AUTH_DB_POOLER: \(failure.prefix(160))")
    }

    /// Two hosts' stacks through one pgbouncer: start (migrations), login, refresh, logout on one
    /// host, 401 on the other within a second (LISTEN goes direct: AUTH_DB_LISTEN_URL).
    @Test func twoHostsThroughPgBouncer() throws {
        let server = try PostgresServer.shared
        let bouncer = try PgBouncer(server: server, poolSize: 2)
        defer { bouncer.stop() }
        try TwoHosts.with(server: server, configure: { o in
            o.environment["AUTH_DB_POOLER"] = "transaction"
        }, hostBURL: { _, database in bouncer.url(database: database) }, hostAURL: { _, database in bouncer.url(database: database) },
        listenURL: { server, database in server.url(database: database) }) { h in
            try h.world(users: ["ann@demo.local"])
            let first = try h.a.tokens("ann@demo.local")
            #expect(try h.b.get("/demo/echo", token: first.access).status == 200)
            let rotated = try #require(try h.b.refresh(first.refresh).pair, "refresh on B through pgbouncer")
            let onward = try #require(try h.a.refresh(rotated.refresh).pair, "refresh on A through pgbouncer")
            for _ in 0..<3 { #expect(try h.b.get("/demo/echo", token: onward.access).status == 200) }
            let out = try h.a.post("/api/v1/auth/logout", json: ["refresh_token": onward.refresh])
            #expect(out.status == 200, "logout on A: \(out.status) \(out.text)")
            let took = try h.b.secondsUntil("/demo/echo", token: onward.access, answers: 401)
            #expect(took != nil && took! < TwoHostTests.bound, "B let the logged-out session through for \(took.map { "\($0)" } ?? "ever") s")
            #expect(try h.b.refresh(onward.refresh).result.status == 401)
            let held = try PostgresBudgetTests.connections(server, h.database)
            // pgbouncer's 2 server connections at most, and each host's two LISTEN connections.
            #expect(held <= 2 + 4, "server connections for the database: \(held)")
            print("note: two hosts through pgbouncer (transaction mode, default_pool_size 2): logout on A -> 401 on B in \(String(format: "%.3f", took ?? -1)) s; server connections \(held)")
        }
    }
}
