import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Counters and latencies of the soak (shared by all client threads, one lock).
final class SoakStats: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var counts: [String: Int] = [:]
    private(set) var unexpected: [String] = []
    private(set) var serverErrors = 0
    private var gate: [(Double, Double)] = []     // (time since start, seconds)
    private var login: [Double] = []
    private(set) var samples: [String: [(Int, Int)]] = [:]   // name -> [(rss KiB, fds)]
    var burst: ClosedRange<Double> = 0...0
    var burstLogins = 0
    let start = Deadline.now()

    var now: Double { Double(Deadline.now() - start) / 1e9 }

    func record(_ kind: String, status: Int, expected: Set<Int>, elapsed: Double, retryAfter: Bool = true) {
        lock.withLock {
            counts[kind, default: 0] += 1
            if kind.hasPrefix("gate") { gate.append((now, elapsed)) }
            if kind == "login ok" && status == 200 { login.append(elapsed) }
            if status == 503 && kind.hasPrefix("login") && retryAfter { counts["login shed (503 + Retry-After)", default: 0] += 1; return }
            if status >= 500 { serverErrors += 1 }
            if !expected.contains(status), unexpected.count < 200 { unexpected.append("\(kind): \(status)") }
        }
    }
    func failure(_ what: String) { lock.withLock { if unexpected.count < 200 { unexpected.append(what) }; counts["transport errors", default: 0] += 1 } }
    func warmFDs() -> [String: Int] { lock.withLock { samples.mapValues { $0[$0.count / 5].1 } } }
    func sample(_ name: String, rss: Int, fds: Int) { lock.withLock { samples[name, default: []].append((rss, fds)) } }

    static func p99(_ v: [Double]) -> Double {
        guard !v.isEmpty else { return .infinity }
        let s = v.sorted()
        return s[min(s.count - 1, Int(Double(s.count) * 0.99))]
    }

    struct Report { var table: String; var flat: [(String, Bool)]; var gateP99Burst: Double; var burstLogins: Int }

    func report(pids: [String: pid_t]) throws -> Report {
        try lock.withLock {
            var lines = ["soak: \(SoakTests.clients) clients, \(Int(now)) s"]
            for (k, v) in counts.sorted(by: { $0.key < $1.key }) { lines.append("  " + k.padding(toLength: 34, withPad: " ", startingAt: 0) + String(repeating: " ", count: max(0, 10 - String(v).count)) + String(v)) }
            let gateAll = gate.map(\.1)
            let gateBurst = gate.filter { burst.contains($0.0) }.map(\.1)
            lines.append(String(format: "  gate p99 %.1f ms overall, %.1f ms during the 500-login burst (%d gate requests)",
                                Self.p99(gateAll) * 1000, Self.p99(gateBurst) * 1000, gateBurst.count))
            lines.append(String(format: "  login p99 under load %.1f ms (%d logins)", Self.p99(login) * 1000, login.count))
            lines.append("  5xx other than login shedding: \(serverErrors); unexpected statuses: \(unexpected.count)")
            var flat: [(String, Bool)] = []
            for name in pids.keys.sorted() {
                guard let s = samples[name], s.count >= 4 else { throw StackError("too few samples of \(name)") }
                let warm = s[s.count / 5]   // after the first fifth (warm-up)
                let peakRSS = s.map(\.0).max()!, peakFDs = s.map(\.1).max()!
                let end = s.last!
                lines.append("  \(name): RSS KiB start \(s[0].0) warm \(warm.0) peak \(peakRSS) end \(end.0); fds start \(s[0].1) warm \(warm.1) peak \(peakFDs) end \(end.1)")
                // Flat: the end sample (after the last client, connections closed) holds at most a
                // quarter + 8 MiB more RSS than after warm-up, and at most 8 more fds.
                flat.append(("\(name) RSS", end.0 <= warm.0 + warm.0 / 4 + 8192))
                flat.append(("\(name) fds", end.1 <= warm.1 + 8))
            }
            return Report(table: lines.joined(separator: "\n"), flat: flat, gateP99Burst: Self.p99(gateBurst), burstLogins: burstLogins)
        }
    }
}

enum SoakClient {
    static func run(_ i: Int, port: Int, stats: SoakStats, until end: Date, valid: [String], expired: String, revoked: String,
                    login: @Sendable (Int) throws -> (String, String)) throws {
        var session: (String, String)?
        var n = 0
        while Date() < end {
            n += 1
            do {
                switch (i + n) % 10 {
                case 0...4:
                    let pick = n % 10
                    let (kind, token, want) = pick < 7 ? ("gate valid", valid[(i + n) % valid.count], 200)
                        : pick == 7 ? ("gate expired", expired, 401) : pick == 8 ? ("gate revoked", revoked, 401)
                        : ("gate garbage", "garbage\(n).x.y", 401)
                    let r = try PlainHTTP.request(port: port, "GET", "/demo/gated", headers: [("Authorization", "Bearer \(token)")])
                    stats.record(kind, status: r.status, expected: [want], elapsed: r.elapsed)
                case 5:
                    let r = try PlainHTTP.json(port: port, "/api/v1/auth/login", ["email": "u\(i % 20)@soak.test", "password": GateFixture.password])
                    stats.record("login ok", status: r.status, expected: [200], elapsed: r.elapsed, retryAfter: r.header("retry-after") != nil)
                case 6:
                    let r = try PlainHTTP.json(port: port, "/api/v1/auth/login", ["email": "victim@soak.test", "password": "wrong password 123"])
                    stats.record("login wrong", status: r.status, expected: [401], elapsed: r.elapsed, retryAfter: r.header("retry-after") != nil)
                case 7:
                    if session == nil {
                        // A login of its own first; shed by the hash queue (503 + Retry-After) is
                        // the documented answer under load, counted as such: retry next round.
                        let r = try PlainHTTP.json(port: port, "/api/v1/auth/login", ["email": "u\(i % 20)@soak.test", "password": GateFixture.password])
                        stats.record("login ok", status: r.status, expected: [200], elapsed: r.elapsed, retryAfter: r.header("retry-after") != nil)
                        if r.status == 200, let a = r.data["access_token"] as? String, let t = r.data["refresh_token"] as? String { session = (a, t) }
                    }
                    guard let s = session else { continue }
                    let r = try PlainHTTP.json(port: port, "/api/v1/auth/refresh", ["refresh_token": s.1])
                    stats.record("refresh", status: r.status, expected: [200], elapsed: r.elapsed)
                    if r.status == 200, let a = r.data["access_token"] as? String, let t = r.data["refresh_token"] as? String { session = (a, t) } else { session = nil }
                default:
                    let c = try WSTestClient(tcpPort: port, timeoutSeconds: 10)
                    let reply = try c.upgrade("/ws/agent?token=\(valid[(i + n) % valid.count])")
                    stats.record("ws connect", status: reply.status, expected: [101], elapsed: 0)
                    guard reply.status == 101 else { continue }
                    try c.sendText("soak \(i) \(n)")
                    let echo = try c.receive()
                    stats.record("ws message", status: echo?.payload == Array("soak \(i) \(n)".utf8) ? 200 : 0, expected: [200], elapsed: 0)
                    try c.send(opcode: 8, [3, 232])
                    stats.record("ws close", status: (try? c.awaitClose())??.opcode == 8 ? 200 : 0, expected: [200], elapsed: 0)
                }
            } catch {
                stats.failure("client \(i): \(error)")
            }
        }
    }
}

enum SoakProbe {
    /// The stack's responder and companion: children of this process running those binaries
    /// with this stack's database.
    static func processes(of stack: Stack) throws -> [String: pid_t] {
        var found: [String: pid_t] = [:]
        let me = getpid()
        for task in try FileManager.default.contentsOfDirectory(atPath: "/proc/\(me)/task") {
            let children = (try? String(contentsOfFile: "/proc/\(me)/task/\(task)/children", encoding: .utf8)) ?? ""
            for pid in children.split(separator: " ").compactMap({ pid_t($0) }) {
                let comm = ((try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
                guard comm == "authgate-fcgi" || comm == "authgate-ws",
                      let env = FileManager.default.contents(atPath: "/proc/\(pid)/environ"),
                      String(decoding: env, as: UTF8.self).contains("AUTH_DB_PATH=\(stack.dbPath)") else { continue }
                found[comm] = pid
            }
        }
        guard found.count == 2 else { throw StackError("responder and companion not found among children: \(found)") }
        return found
    }

    static func sampleAndBurst(stack: Stack, pids: [String: pid_t], stats: SoakStats, duration: Double) throws {
        let end = Deadline(duration)
        var burstDone = false
        while !end.passed {
            for (name, pid) in pids { stats.sample(name, rss: try residentKiB(pid: pid), fds: try Stack.openFDs(pid: pid)) }
            if !burstDone && stats.now >= duration / 2 {
                burstDone = true
                let from = stats.now
                let port = stack.plainPort
                let burst = try onThreads(100, timeout: 120) { (i: Int) throws -> Int in
                    var n = 0
                    for k in 0..<5 {
                        let r = try PlainHTTP.json(port: port, "/api/v1/auth/login", ["email": "u\((i + k) % 20)@soak.test", "password": GateFixture.password])
                        stats.record("login burst", status: r.status, expected: [200], elapsed: r.elapsed, retryAfter: r.header("retry-after") != nil)
                        n += 1
                    }
                    return n
                }
                stats.burst = from...stats.now
                stats.burstLogins = try burst.reduce(0) { $0 + (try $1.get()) }
            }
            usleep(1_000_000)   // the sampling period
        }
    }

    /// After the last client: waits (bounded) for the connections still closing to go, then
    /// takes the end sample. A descriptor that stays is a leak and fails the flat check.
    static func settle(pids: [String: pid_t], stats: SoakStats) throws {
        let warm = stats.warmFDs()
        try? waitFor("responder and companion fds back near their warm-up counts \(warm)", timeout: 15, every: 100_000) {
            try pids.allSatisfy { name, pid in try Stack.openFDs(pid: pid) <= (warm[name] ?? 0) + 8 }
        }
        for (name, pid) in pids { stats.sample(name, rss: try residentKiB(pid: pid), fds: try Stack.openFDs(pid: pid)) }
    }
}
