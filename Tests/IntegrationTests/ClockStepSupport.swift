import AuthCore
import AuthCrypto
import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The host's wall clock, stepped for one stack: Debian's libfaketime (`faketime` package)
/// preloaded into the stack's servers (nginx and its workers, the responder, the companion),
/// reading its offset from a file the test rewrites while traffic runs (`FAKETIME_NO_CACHE=1`:
/// every clock read sees the file as it is). Not into the CLI or the demo upstream: under
/// libfaketime 0.9.10 a Swift program's `CommandLine.arguments` comes out empty (the servers
/// take no arguments here). The test's own clock is the real one; `now` adds the offset.
///
/// Only `CLOCK_REALTIME` moves (`FAKETIME_DONT_FAKE_MONOTONIC=1`): that is what a real NTP step
/// (or an operator's `date -s`) does on Linux. `CLOCK_MONOTONIC` never jumps, and the design
/// relies on that (wall time for claims, monotonic time for staleness and timeouts); faking both
/// would model a clock no kernel has.
final class FakeClock: @unchecked Sendable {
    static let library = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
    static var available: Bool { access(library, R_OK) == 0 }

    private let temp: TempDir
    let path: String
    private let lock = NSLock()
    private var current: Int64 = 0

    init() throws {
        // Never a skip: make test's deps step installs it, so its absence is a broken setup.
        guard Self.available else {
            throw StackError("\(Self.library) is missing: scripts/deps.sh installs Debian's faketime package")
        }
        temp = try TempDir("authgate-clock", parent: "/tmp")
        // nginx's workers (www-data) read the file too.
        chmod(temp.path, 0o755)
        path = temp.path + "/faketime.rc"
        try step(to: 0)
    }

    /// The offset (seconds) every process of the stack now adds to the real time.
    var offset: Int64 { lock.withLock { current } }
    /// The stack's wall clock, as its processes read it now.
    var now: Int64 { Time.now() + offset }

    /// Rewrites the file atomically (a rename: a process never reads it half-written).
    func step(to seconds: Int64) throws {
        let tmp = path + ".tmp"
        try ((seconds >= 0 ? "+" : "") + "\(seconds)\n").write(toFile: tmp, atomically: false, encoding: .utf8)
        chmod(tmp, 0o644)
        guard rename(tmp, path) == 0 else { throw StackError("rename \(tmp): errno \(errno)") }
        lock.withLock { current = seconds }
    }

    /// The environment that puts a process on this clock.
    var environment: [String: String] {
        ["LD_PRELOAD": Self.library, "FAKETIME_TIMESTAMP_FILE": path, "FAKETIME_NO_CACHE": "1",
         "FAKETIME_DONT_FAKE_MONOTONIC": "1"]
    }

    /// nginx clears its workers' environment; libfaketime reads these names at each clock read.
    static let nginxMainConfig = "env FAKETIME_TIMESTAMP_FILE;\nenv FAKETIME_NO_CACHE;\nenv FAKETIME_DONT_FAKE_MONOTONIC;"

    /// Stack options for a stack on this clock. Short lifetimes and a lockout the test can
    /// reach; the leeway small enough that a WebSocket token can live a few seconds.
    func stackOptions() -> Stack.Options {
        var o = Stack.Options()
        o.serverEnvironment = environment
        o.environment["AUTH_JWT_TTL_SECONDS"] = String(ClockRules.ttl)
        o.environment["AUTH_CLOCK_LEEWAY_SECONDS"] = String(ClockRules.leeway)
        o.environment["AUTH_REFRESH_REUSE_SECONDS"] = String(ClockRules.reuse)
        o.environment["AUTH_REFRESH_TTL_SECONDS"] = String(ClockRules.refreshTTL)
        o.environment["AUTH_LOCKOUT_THRESHOLD"] = "3"
        o.environment["AUTH_LOCKOUT_SECONDS"] = String(ClockRules.lockout)
        o.nginxMainConfig = Self.nginxMainConfig
        return o
    }
}

/// The settings the clock stacks run with, and the README's rules as an oracle.
enum ClockRules {
    static let ttl: Int64 = 900
    static let leeway: Int64 = 5
    static let reuse: Int64 = 10
    static let refreshTTL: Int64 = 43_200
    static let lockout: Int64 = 600
    static let hour: Int64 = 3_600
    static let day: Int64 = 86_400

    /// What the gate must answer for a token: `exp`/`iat` with the leeway, and never a revoked
    /// session. nil: too close to a boundary to call.
    static func gate(iat: Int64, exp: Int64, revoked: Bool, now: Int64) -> Int? {
        if revoked { return 401 }
        let margin: Int64 = 3
        if abs(exp - (now - leeway)) < margin || abs(iat - (now + leeway)) < margin { return nil }
        return exp > now - leeway && iat <= now + leeway ? 200 : 401
    }

    /// What the companion must answer at the upgrade: `iat` with no leeway, and `exp` more than
    /// the leeway ahead (README "WebSockets").
    static func upgrade(iat: Int64, exp: Int64, revoked: Bool, now: Int64) -> Int? {
        if revoked { return 401 }
        let margin: Int64 = 3
        if abs(exp - now - leeway) < margin || abs(iat - now) < margin { return nil }
        return exp - now > leeway && iat <= now ? 101 : 401
    }
}

/// A token the test holds, with the claims it was issued with.
struct HeldToken {
    var access: String
    var refresh: String
    var iat: Int64
    var exp: Int64
    var revoked = false
    var label: String

    /// The claims of an access token (payload only; the gate verifies the signature).
    static func claims(_ token: String) -> (iat: Int64, exp: Int64)? {
        let parts = token.split(separator: ".")
        guard parts.count == 3, let raw = Base64URL.decode(String(parts[1])),
              let json = try? JSONSerialization.jsonObject(with: Data(raw)) as? [String: Any],
              let iat = (json["iat"] as? NSNumber)?.int64Value, let exp = (json["exp"] as? NSNumber)?.int64Value
        else { return nil }
        return (iat, exp)
    }
}

/// Requests through nginx while the clock steps: logins, gated requests, refreshes, logouts and
/// WebSocket upgrades on the companion's socket. Any 5xx, or any request that got no answer,
/// is a failure; other statuses are counted (401s around a step are expected).
final class ClockTraffic: @unchecked Sendable {
    private let stack: Stack
    private let email: String
    private let lock = NSLock()
    private var statuses: [String: Int] = [:]
    private(set) var failures: [String] = []
    private var stopping = false
    private let done = DispatchSemaphore(value: 0)

    init(_ stack: Stack, email: String) {
        self.stack = stack
        self.email = email
    }

    func start() {
        let thread = Thread { [self] in
            while !lock.withLock({ stopping }) { round() }
            done.signal()
        }
        thread.start()
    }

    /// Stops after the current round; returns the counts ("login 200" → n).
    func stop() throws -> [String: Int] {
        lock.withLock { stopping = true }
        try done.wait(seconds: 60, for: "the clock traffic thread to finish its round")
        return lock.withLock { statuses }
    }

    var total: Int { lock.withLock { statuses.values.reduce(0, +) } }

    private func record(_ what: String, _ status: Int) {
        lock.withLock {
            statuses["\(what) \(status)", default: 0] += 1
            if status >= 500 || status == 0 { failures.append("\(what) answered \(status)") }
        }
    }

    private func round() {
        do {
            let login = try stack.login(email)
            record("login", login.status)
            guard login.status == 200, let access = login.data["access_token"] as? String,
                  let refresh = login.data["refresh_token"] as? String else { return }
            record("gate", try stack.get("/demo/echo", token: access).status)
            let ws = try WSTestClient(socketPath: stack.wsSocketPath).upgrade("/ws/agent?token=\(access)")
            record("upgrade", ws.status)
            let renewed = try stack.post("/api/v1/auth/refresh", json: ["refresh_token": refresh])
            record("refresh", renewed.status)
            let next = renewed.data["access_token"] as? String ?? access
            record("gate", try stack.get("/demo/echo", token: next).status)
            record("logout", try stack.post("/api/v1/auth/logout", json: ["refresh_token": renewed.data["refresh_token"] as? String ?? refresh]).status)
        } catch {
            lock.withLock { failures.append("no answer: \(error)") }
        }
    }
}

extension Stack {
    /// The gate's answer for `token` on a location of the demo (200 allowed, 401 refused).
    func gateStatus(_ token: String) throws -> Int { try get("/demo/echo", token: token).status }

    /// The companion's answer to an upgrade with `token` (101 or the refusal's status).
    func upgradeStatus(_ token: String) throws -> Int {
        try WSTestClient(socketPath: wsSocketPath).upgrade("/ws/agent?token=\(token)").status
    }

    func refreshToken(_ token: String) throws -> HTTPSResult {
        try post("/api/v1/auth/refresh", json: ["refresh_token": token])
    }

    /// A login through nginx as a held token (its claims read back from the access token).
    func heldToken(_ email: String, label: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> HeldToken {
        let (access, refresh) = try tokens(email, sourceLocation: sourceLocation)
        let c = try #require(HeldToken.claims(access), sourceLocation: sourceLocation)
        return HeldToken(access: access, refresh: refresh, iat: c.iat, exp: c.exp, label: label)
    }

    /// The responder's own figure (metrics, straight on its socket): revoked sessions its verify
    /// state holds.
    func revokedSessionsHeld() throws -> Int? {
        let scrape = try FastCGIWire.exchange(socketPath, FastCGIWire.request(uri: "/api/v1/metrics"))
        let line = scrape.text.split(separator: "\n").first { $0.hasPrefix("authgate_verify_state_revoked_sessions ") }
        return line.flatMap { Int($0.split(separator: " ").last ?? "") }
    }

    /// Every process of the stack still runs (a crash would show here).
    func requireAllAlive(_ when: String, sourceLocation: SourceLocation = #_sourceLocation) {
        for p in processes where !p.isRunning {
            Issue.record("\(p.name) died \(when)", sourceLocation: sourceLocation)
        }
    }
}
