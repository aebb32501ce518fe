import AuthCore
import Foundation
import TestSupport
import Testing

/// Issue 19, item 1, the real thing: the database (and its WAL) on a 16 MiB tmpfs the test
/// fills to the last byte, behind the real stack (nginx + responder). While full: login, refresh
/// and logout answer 503 `storage_unavailable` with Retry-After (never 500), issued tokens keep
/// passing the gate and revoked ones keep failing, ready says 503, the metrics count, the log
/// says it once per burst, and the CLI exits non-zero with a plain message. Once space is back:
/// everything works again and nothing was lost (integrity_check ok, refresh chains intact).
@Suite(.enabled(if: TestBackend.isSQLite, "a SQLite file on a small file system"))
struct DiskFullTests {
    static func metric(_ stack: Stack, _ name: String) throws -> Int {
        let scrape = try FastCGIWire.exchange(stack.socketPath, FastCGIWire.request(uri: "/api/v1/metrics"))
        let line = scrape.text.split(separator: "\n").first { $0.hasPrefix(name + " ") }
        return line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? -1
    }

    static func ready(_ stack: Stack) throws -> Int {
        try FastCGIWire.exchange(stack.socketPath, FastCGIWire.request(uri: "/api/v1/ready"), timeout: 20).status
    }

    static func expectStorageUnavailable(_ r: HTTPSResult, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == 503 && r.errorCode == "storage_unavailable", "\(what): \(r.status) \(r.text)", sourceLocation: sourceLocation)
        #expect(r.header("Retry-After") != nil, "\(what): no Retry-After", sourceLocation: sourceLocation)
    }

    @Test func fullDiskAnswers503AndLosesNothing() throws {
        let temp = try TempDir("authgate-diskfull")
        let mount = try TmpfsMount(at: temp.path + "/db", size: "16m")
        defer { mount.unmount() }
        let dbPath = mount.path + "/authgate.db"
        var options = Stack.Options()
        options.environment["AUTH_DB_PATH"] = dbPath
        options.threads = 4
        try Stack.with(options) { stack in
            _ = try stack.makeTenant("demo.local")
            try stack.makeUser("full@demo.local", tenant: "demo.local", role: "admin")
            let kept = try stack.tokens("full@demo.local")          // used while full, then refreshed after
            let spare = try stack.tokens("full@demo.local")         // logged out while full (refused), then after
            let revoked = try stack.tokens("full@demo.local")
            #expect(try stack.post("/api/v1/auth/logout", token: revoked.access).status == 200)
            let sessionsBefore = try Database(path: dbPath).sessions.listLive(userID: try userID(stack, kept.access),
                                                                               now: Int64(Date().timeIntervalSince1970), maxAge: 86_400).count
            // An empty WAL, so the next commit must grow it: then fill the file system.
            #expect(try Self.sqlite(dbPath, "PRAGMA wal_checkpoint(TRUNCATE);").hasPrefix("0|"))
            let filled = try mount.fill(mount.path + "/filler")
            print("disk full: wrote \(filled) bytes of filler; \(mount.freeBytes) bytes left")
            #expect(mount.freeBytes == 0)

            var failures = 0
            let started = Date()
            for i in 0..<10 {
                Self.expectStorageUnavailable(try stack.login("full@demo.local"), "login \(i)")
                Self.expectStorageUnavailable(try stack.post("/api/v1/auth/refresh", json: ["refresh_token": kept.refresh]), "refresh \(i)")
                Self.expectStorageUnavailable(try stack.post("/api/v1/auth/logout", token: spare.access), "logout \(i)")
                failures += 3
            }
            // The gate works from memory: issued tokens pass, the revoked one does not.
            #expect(try stack.get("/demo/echo", token: kept.access).status == 200)
            #expect(try stack.get("/demo/echo", token: spare.access).status == 200)   // its logout was refused, not half done
            #expect(try stack.get("/demo/echo", token: revoked.access).status == 401)
            #expect(try Self.ready(stack) == 503)
            let full = try Self.metric(stack, "authgate_storage_errors_total{kind=\"full\"}")
            #expect(full >= failures, "authgate_storage_errors_total{kind=\"full\"} \(full) after \(failures) refused writes")
            #expect(try Self.metric(stack, "authgate_storage_errors_total{kind=\"other\"}") == 0)
            let log = stack.log("authgate-fcgi").split(separator: "\n")
            let storageLines = log.filter { $0.contains("storage unavailable") || $0.contains("storage still unavailable") }
            let elapsed = Date().timeIntervalSince(started)
            print("disk full: \(failures) requests refused in \(String(format: "%.1f", elapsed)) s; \(full) storage errors counted; "
                  + "\(storageLines.count) log line(s) about it")
            #expect(storageLines.first?.contains("storage unavailable (full)") == true, "\(storageLines)")
            #expect(storageLines.count <= 2 + Int(elapsed / 5), "one line per burst, not per request: \(storageLines.count)")
            #expect(!log.contains { $0.contains("internal") }, "a 500 was logged")

            // The CLI: a clear message, a non-zero exit, no crash.
            let cli = try stack.cli(["user", "create", "--tenant", "demo.local", "--email", "late@demo.local",
                                     "--role", "agent", "--password-stdin"], stdin: GateFixture.password + "\n")
            #expect(cli.status == 75 && cli.stderr.contains("storage unavailable: the database's storage is full"),
                    "CLI on a full disk: exit \(cli.status), \(cli.stderr)")
            let revoke = try stack.cli(["session", "revoke", "--all"])
            #expect(revoke.status == 75, "session revoke --all on a full disk: exit \(revoke.status), \(revoke.stderr)")
            #expect(try stack.get("/demo/echo", token: kept.access).status == 200)

            // Space back: everything works again, nothing was lost.
            try FileManager.default.removeItem(atPath: mount.path + "/filler")
            try waitFor("ready to say 200 once space is back", timeout: 20, every: 100_000) { try Self.ready(stack) == 200 }
            let db = try Database(path: dbPath)
            #expect(try Self.sqlite(dbPath, "PRAGMA integrity_check;") == "ok")
            let live = try db.sessions.listLive(userID: try userID(stack, kept.access), now: Int64(Date().timeIntervalSince1970),
                                                maxAge: 86_400).count
            #expect(live == sessionsBefore, "live sessions \(sessionsBefore) before, \(live) after")
            let rotated = try stack.post("/api/v1/auth/refresh", json: ["refresh_token": kept.refresh])
            #expect(rotated.status == 200, "the refresh chain survived: \(rotated.status) \(rotated.text)")
            let next = rotated.data["refresh_token"] as? String ?? ""
            #expect(try stack.post("/api/v1/auth/refresh", json: ["refresh_token": next]).status == 200)
            #expect(try stack.post("/api/v1/auth/logout", token: spare.access).status == 200)
            #expect(try stack.secondsUntil("/demo/echo", token: spare.access, answers: 401) != nil)
            #expect(try stack.login("full@demo.local").status == 200)
            try stack.cliOK(["user", "create", "--tenant", "demo.local", "--email", "late@demo.local", "--role", "agent",
                             "--password-stdin"], stdin: GateFixture.password + "\n")
            #expect(stack.log("authgate-fcgi").contains("storage writable again"))
        }
        withExtendedLifetime(temp) {}
    }

    /// The sqlite3 shell on the file (another process, as an operator would look).
    static func sqlite(_ path: String, _ sql: String) throws -> String {
        let r = try Child.run("/usr/bin/sqlite3", [path, sql], timeout: 30)
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func userID(_ stack: Stack, _ access: String) throws -> String {
        try #require(try stack.get("/demo/echo", token: access).echoedHeaders["x-auth-user-id"])
    }
}
