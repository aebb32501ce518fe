import AuthCore
import AuthCrypto
import Foundation
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
    var companion: Process?
    var upstream: Process?
    let tenantID: String
    var companionLog: String { dir + "/ws.log" }

    static func binary(_ name: String) -> String? {
        let fm = FileManager.default
        var candidates: [String] = []
        if let arg0 = CommandLine.arguments.first {
            let exe = URL(fileURLWithPath: arg0).resolvingSymlinksInPath()
            candidates.append(exe.deletingLastPathComponent().appendingPathComponent(name).path)
        }
        candidates.append(Bundle.main.bundleURL.appendingPathComponent(name).path)
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent(name).path)
        if let self_ = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: self_).deletingLastPathComponent().appendingPathComponent(name).path)
        }
        return candidates.first { fm.isExecutableFile(atPath: $0) }
    }

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

        guard let wsBin = Self.binary("authgate-ws"), let upBin = Self.binary("authgate-demo-upstream") else {
            throw WSTestError("authgate-ws / authgate-demo-upstream not built")
        }
        if startUpstream {
            let up = Process()
            up.executableURL = URL(fileURLWithPath: upBin)
            up.arguments = ["--socket", upstreamSocket]
            up.standardError = FileHandle.nullDevice
            try up.run()
            upstream = up
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
        let ws = Process()
        ws.executableURL = URL(fileURLWithPath: wsBin)
        ws.environment = env
        _ = FileManager.default.createFile(atPath: companionLog, contents: nil)
        ws.standardError = FileHandle(forWritingAtPath: companionLog)
        try ws.run()
        companion = ws
        try Self.waitForSocket(wsSocket)
    }

    deinit { stop() }

    func stop() {
        for p in [companion, upstream].compactMap({ $0 }) where p.isRunning {
            p.terminate()
            let end = Date().addingTimeInterval(3)
            while p.isRunning && Date() < end { usleep(10_000) }
            if p.isRunning { kill(p.processIdentifier, SIGKILL) }
            p.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: dir)
    }

    static func waitForSocket(_ path: String, timeout: Double = 10) throws {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if (try? WSTestClient(socketPath: path)) != nil { return }
            usleep(20_000)
        }
        throw WSTestError("\(path) never accepted connections")
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

    /// Resident set size of the companion, in KiB.
    func companionRSSKiB() -> Int? {
        guard let pid = companion?.processIdentifier,
              let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ").dropFirst().first ?? "")
        }
        return nil
    }
}
