import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The test PostgreSQL server itself (issue 14): started unprivileged, reachable by the Unix
/// socket and TCP URLs it hands out, survives a SIGKILL + restart with its data, stops cleanly.
@Suite("PostgreSQL test server")
struct PostgresServerTests {
    /// `psql -d <url>`: proves a URL the server hands out is one libpq accepts.
    static func query(_ server: PostgresServer, url: String, _ sql: String) throws -> String {
        let r = try Child.run(server.binDirectory + "/psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                                                              "-d", url, "-c", sql], timeout: 30)
        guard r.status == 0 else { throw SupportError("psql \(url): \(r.stderr)") }
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func uid(of pid: pid_t) throws -> uid_t {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Uid:") }),
              let uid = UInt32(line.split(separator: "\t").dropFirst().first ?? "") else {
            throw SupportError("no Uid in /proc/\(pid)/status")
        }
        return uid
    }

    @Test func startKillRestartStop() throws {
        let server = try PostgresServer(prefix: "authgate-pg-selftest")
        try server.start()
        let pid = try #require(server.pid)
        if geteuid() == 0 { #expect(try Self.uid(of: pid) != 0, "postgres must not run as root") }
        let name = try server.makeDatabase(prefix: "selftest")
        _ = try Self.query(server, url: server.url(database: name), "CREATE TABLE t (v int); INSERT INTO t VALUES (42)")
        #expect(try Self.query(server, url: server.tcpURL(database: name), "SELECT v FROM t") == "42")
        #expect(try Self.query(server, url: server.keywordConnInfo(database: name), "SELECT count(*) FROM t") == "1")
        let port = server.port

        server.kill()
        #expect(!server.isRunning)
        #expect(try !server.acceptsConnections())
        // SIGKILL went to the whole process group: no backend of the old server is left.
        try waitFor("postgres process group \(pid) to be gone", timeout: 10) { Glibc.kill(-pid, 0) != 0 }

        try server.start()
        #expect(server.port == port, "a restart keeps the port clients' URLs name")
        #expect(try Self.query(server, url: server.url(database: name), "SELECT v FROM t") == "42",
                "an acknowledged commit survives the crash")

        let again = try #require(server.pid)
        server.stop()
        #expect(!server.isRunning)
        #expect(try !server.acceptsConnections())
        try waitFor("postgres process group \(again) to be gone after stop()", timeout: 10) { Glibc.kill(-again, 0) != 0 }
        let log = try String(contentsOfFile: server.logPath, encoding: .utf8)
        #expect(log.contains("database system is shut down"), "fast shutdown completes: \(log.suffix(500))")
    }

    @Test func sharedServerServesFreshDatabases() throws {
        let server = try PostgresServer.shared
        #expect(server.isRunning)
        let a = try server.makeDatabase(), b = try server.makeDatabase()
        #expect(a != b)
        _ = try Self.query(server, url: server.url(database: a), "CREATE TABLE only_in_a (v int)")
        #expect(try Self.query(server, url: server.url(database: b),
                               "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'") == "0")
    }
}
