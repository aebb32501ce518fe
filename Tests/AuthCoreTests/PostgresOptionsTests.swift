import Foundation
import Testing
@testable import AuthCore

/// Issue 24: the PostgreSQL settings (pool budget, pooler mode, LISTEN URL, commit durability) and
/// the classification of a refused connection from libpq's message (it gives no SQLSTATE).
@Suite struct PostgresOptionsTests {
    @Test func defaultsAndValues() throws {
        let d = try PostgresOptions(environment: [:])
        #expect(d.poolSize == 8 && d.idleSeconds == 30 && !d.transactionPooler && d.listenURL == nil
                && d.syncCommit == "on" && d.syncTimeout == 5)
        let s = try PostgresOptions(environment: [
            "AUTH_DB_POOL": "3", "AUTH_DB_POOL_IDLE_SECONDS": "0", "AUTH_DB_POOLER": "transaction",
            "AUTH_DB_LISTEN_URL": "host=/run/postgresql dbname=authgate", "AUTH_DB_SYNC_COMMIT": "server",
            "AUTH_DB_SYNC_TIMEOUT_SECONDS": "2.5",
        ])
        #expect(s.poolSize == 3 && s.idleSeconds == 0 && s.transactionPooler && s.syncCommit == nil && s.syncTimeout == 2.5)
        #expect(s.listenURL == "host=/run/postgresql dbname=authgate")
        let settings = try Settings(environment: ["AUTH_DB_URL": "postgresql://u@pgbouncer:6432/a", "AUTH_DB_LISTEN_URL": "postgresql://u@db/a"])
        #expect(settings.dbListenURL == "postgresql://u@db/a")
        #expect(try Settings(environment: ["AUTH_DB_URL": "postgresql://u@db/a"]).dbListenURL == "postgresql://u@db/a")
        #expect(try Settings(environment: [:]).dbListenURL == nil)
    }

    @Test func badValuesAreRefusedByName() {
        for (key, value) in [("AUTH_DB_POOL_IDLE_SECONDS", "-1"), ("AUTH_DB_POOL_IDLE_SECONDS", "soon"), ("AUTH_DB_POOLER", "session"),
                             ("AUTH_DB_SYNC_COMMIT", "off"), ("AUTH_DB_SYNC_TIMEOUT_SECONDS", "0"), ("AUTH_DB_LISTEN_URL", "/var/db"),
                             ("AUTH_DB_POOLER", "transaction")] {   // (without AUTH_DB_LISTEN_URL)
            do {
                _ = try PostgresOptions(environment: [key: value])
                Issue.record("\(key)=\(value) accepted")
            } catch {
                #expect("\(error)".contains(key), "\(key)=\(value): \(error)")
            }
        }
    }

    @Test func refusalsAreClassifiedFromLibpqsMessage() {
        let table: [(String, PostgresRefusal)] = [
            ("connection to server on socket \"/tmp/s/.s.PGSQL.5432\" failed: FATAL:  sorry, too many clients already", .tooManyClients),
            ("FATAL:  remaining connection slots are reserved for non-replication superuser connections", .tooManyClients),
            ("FATAL:  too many connections for role \"authgate\"", .tooManyClients),
            ("connection to server at \"a\" failed: session is read-only\nconnection to server at \"b\" failed: No such file or directory", .noPrimary),
            ("FATAL:  the database system is not yet accepting connections", .noPrimary),
            ("FATAL:  the database system is starting up", .notAcceptingNow),
            ("FATAL:  the database system is shutting down", .notAcceptingNow),
            ("connection to server on socket \"/x/.s.PGSQL.1\" failed: No such file or directory", .unreachable),
            ("FATAL:  password authentication failed for user \"authgate\"", .unreachable),
        ]
        for (message, reason) in table { #expect(PostgresRefusal.classify(message) == reason, "\(message)") }
        // A full server is the one worth naming even when another host of the URL failed first.
        #expect(PostgresRefusal.classify("failed: session is read-only\nfailed: FATAL:  sorry, too many clients already") == .tooManyClients)
        #expect(PostgresRefusal.tooManyClients.sqlstate == "53300")
    }

    @Test func writesAreRecognisedForTheirOwnSynchronousTransaction() {
        #expect(PooledPostgresConnection.writes("UPDATE sessions SET revoked_at = ?"))
        #expect(PooledPostgresConnection.writes("\n            INSERT INTO audit"))
        #expect(PooledPostgresConnection.writes("delete from x"))
        #expect(!PooledPostgresConnection.writes("SELECT 1"))
        #expect(!PooledPostgresConnection.writes("WITH x AS (SELECT 1) SELECT * FROM x"))
    }
}
