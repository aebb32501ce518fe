import AuthCore
import AuthCrypto
import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A real companion + real demo upstream on temporary sockets, with a temp database and key ring.
final class WSFixture {
    private let temp: TempDir
    var dir: String { temp.path }
    let wsSocket: String
    let upstreamSocket: String
    let db: Database
    let key: SigningKey
    var companion: Child?
    var upstream: Child?
    let tenantID: String
    var companionLog: String { dir + "/ws.log" }

    init(routes: String? = nil, leeway: Int = 1, startUpstream: Bool = true) throws {
        temp = try TempDir("agws", parent: "/tmp")
        let dir = temp.path
        wsSocket = dir + "/ws.sock"
        upstreamSocket = dir + "/up.sock"
        let secret = Crypto.randomBytes(32)
        key = SigningKey(kid: "k1", secret: secret)
        let keysPath = dir + "/keys"
        _ = FileManager.default.createFile(atPath: keysPath, contents: Data("k1:\(Base64URL.encode(secret))\n".utf8),
                                       attributes: [.posixPermissions: 0o600])
        db = try Database(path: dir + "/authgate.db")
        try db.migrate()
        tenantID = try db.tenants.create(name: "Acme", domain: "acme.test", isPlatform: false, now: Time.now()).id

        let upBin = try Binaries.require("authgate-demo-upstream")
        if startUpstream {
            upstream = try Child.spawn(upBin, ["--socket", upstreamSocket], stderr: dir + "/upstream.log")
            try UnixSocket.waitUntilAccepting(upstreamSocket, served: upstream)
        }
        var env = ProcessInfo.processInfo.environment
        env["AUTH_DB_PATH"] = dir + "/authgate.db"
        env["AUTH_KEYS_FILE"] = keysPath
        env["AUTH_WS_SOCKET"] = wsSocket
        env["AUTH_WS_UPSTREAM"] = "unix:" + upstreamSocket
        env["AUTH_CLOCK_LEEWAY_SECONDS"] = String(leeway)
        env["AUTH_API_PROFILE"] = "2signal"
        env["AUTH_WS_ROUTES"] = routes
        companionEnvironment = env
        companion = try startCompanion()
        try UnixSocket.waitUntilAccepting(wsSocket, served: companion, log: { self.companionLogText })
    }

    /// The environment the companion runs with (a second companion gets the same).
    private(set) var companionEnvironment: [String: String] = [:]

    /// Starts a companion on this fixture's socket and database, logging to `companionLog`.
    func startCompanion() throws -> Child {
        try Child.spawn(try Binaries.require("authgate-ws"), [], environment: companionEnvironment,
                        stdout: companionLog, stderr: companionLog)
    }

    deinit { stop() }

    /// Stops the processes (the directory goes with `temp`).
    func stop() {
        for p in [companion, upstream].compactMap({ $0 }) { p.stop(grace: 3) }
    }

    /// The companion's log so far ("" before its first line).
    var companionLogText: String { (try? String(contentsOfFile: companionLog, encoding: .utf8)) ?? "" }

    func account(role: String, mustChange: Bool = false) throws -> TestAccount {
        try TestAccount.make(db, tenantID: tenantID, role: role, mustChange: mustChange)
    }

    /// A token for `a` signed with the fixture's key (or `key`), through `mintAccessToken`.
    func token(_ a: TestAccount, ttl: Int64 = 600, exp: Int64? = nil, key: SigningKey? = nil) -> String {
        mintAccessToken(key: key ?? self.key, sub: a.userID, tid: a.tenantID, email: a.email, role: a.role,
                        sid: a.sessionID, ttl: ttl, exp: exp)
    }

    func client(timeoutSeconds: Int = 5) throws -> WSTestClient {
        try WSTestClient(socketPath: wsSocket, timeoutSeconds: timeoutSeconds)
    }

    /// Resident set size of the companion, in KiB (throws when it cannot be read).
    func companionRSSKiB() throws -> Int {
        guard let companion, companion.isRunning else { throw WSTestError("the companion is not running") }
        return try residentKiB(pid: companion.pid)
    }
}
