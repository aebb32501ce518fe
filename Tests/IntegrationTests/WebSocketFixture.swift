import AuthCore
import AuthCrypto
import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A real companion + real demo upstream on temporary sockets, with a temp database and key ring.
final class WSFixture {
    let dir: String
    let wsSocket: String
    let upstreamSocket: String
    let db: Database
    let key: SigningKey
    var companion: Child?
    var upstream: Child?
    let tenantID: String
    var companionLog: String { dir + "/ws.log" }

    init(routes: String? = nil, leeway: Int = 1, startUpstream: Bool = true) throws {
        var buf = Array("/tmp/agws-XXXXXX".utf8CString)
        guard let made = buf.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else { throw WSTestError("mkdtemp") }
        dir = String(cString: made)
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
            try Self.waitForSocket(upstreamSocket)
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
        try Self.waitForSocket(wsSocket)
    }

    /// The environment the companion runs with (a second companion gets the same).
    private(set) var companionEnvironment: [String: String] = [:]

    /// Starts a companion on this fixture's socket and database, logging to `companionLog`.
    func startCompanion() throws -> Child {
        try Child.spawn(try Binaries.require("authgate-ws"), [], environment: companionEnvironment,
                        stdout: companionLog, stderr: companionLog)
    }

    deinit { stop() }

    func stop() {
        for p in [companion, upstream].compactMap({ $0 }) { p.stop(grace: 3) }
        try? FileManager.default.removeItem(atPath: dir)
    }

    static func waitForSocket(_ path: String, timeout: Double = 10) throws {
        try waitFor("\(path) to accept connections", timeout: timeout) { UnixSocket.canConnect(path) }
    }

    struct Account { var userID: String; var sessionID: String; var role: String; var email: String }

    func account(role: String, mustChange: Bool = false) throws -> Account {
        let email = "\(role)-\(UUIDs.random().prefix(8))@acme.test"
        let user = try db.users.create(tenantID: tenantID, email: email, passwordHash: "x", role: role,
                                       mustChangePassword: mustChange, now: Time.now())
        let session = try db.sessions.create(userID: user.id, now: Time.now())
        return Account(userID: user.id, sessionID: session.id, role: role, email: email)
    }

    func token(_ a: Account, ttl: Int64 = 600, exp: Int64? = nil, key: SigningKey? = nil) -> String {
        let now = Time.now()
        let claims = AccessClaims(iss: "authgate", aud: "2signal", sub: a.userID, tid: tenantID, email: a.email,
                                  role: a.role, sid: a.sessionID, jti: UUIDs.random(), iat: now, exp: exp ?? now + ttl)
        return JWT.sign(claims, key: key ?? self.key)
    }

    func client() throws -> WSTestClient { try WSTestClient(socketPath: wsSocket) }

    /// Resident set size of the companion, in KiB (throws when it cannot be read).
    func companionRSSKiB() throws -> Int {
        guard let companion, companion.isRunning else { throw WSTestError("the companion is not running") }
        return try residentKiB(pid: companion.pid)
    }
}
