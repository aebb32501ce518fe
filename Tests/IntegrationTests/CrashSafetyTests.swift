@testable import AuthCore
import AuthCrypto
import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `kill -9` of the responder under real traffic through nginx, then proof that nothing answered
/// 200 was lost. AUTHGATE_CRASH_KILLS (default 20: the short version in `make test`; `make crash`
/// runs more) sets the number of kills; each kill lands at a random moment after a random number
/// of answered requests, and is followed by a restart.
@Suite(.serialized) struct CrashSafetyTests {
    static var kills: Int { Int(ProcessInfo.processInfo.environment["AUTHGATE_CRASH_KILLS"] ?? "") ?? 20 }
    static let workers = 4

    static func options() -> Stack.Options {
        var o = Stack.Options()
        o.plainHTTP = true
        o.companion = false
        // No limit_req in the way: every request must reach the responder (a 429 is no outcome to check).
        o.environment = ["AUTH_LOCKOUT_THRESHOLD": "100000", "AUTH_HASH_QUEUE": "64",
                         "AUTH_LOGIN_RATE": "100000r/s", "AUTH_LOGIN_BURST": "100000"]
        return o
    }

    @Test func responderKilledUnderTrafficLosesNothing() throws {
        try Stack.with(Self.options()) { (stack: Stack) throws in
            let tenant = "crash.test"
            _ = try stack.makeTenant(tenant)
            var ledgers: [CrashLedger.Worker] = []
            for w in 0..<Self.workers {
                try stack.makeUser("u\(w)@crash.test", tenant: tenant)
                try stack.makeUser("victim\(w)@crash.test", tenant: tenant)
                ledgers.append(CrashLedger.Worker(email: "u\(w)@crash.test", victim: "victim\(w)@crash.test",
                                                  password: GateFixture.password))
            }
            let shared = CrashLedger(ledgers)
            let port = stack.plainPort
            let started = Date()
            let results = try onThreads(Self.workers + 1, timeout: 600) { (i: Int) throws -> Int in
                if i == 0 {
                    defer { shared.stop() }
                    return try Self.killLoop(stack, shared, kills: Self.kills)
                }
                CrashTraffic.run(worker: i - 1, port: port, shared)
                return 0
            }
            for r in results { _ = try r.get() }
            let killed = try results[0].get()
            let seconds = Date().timeIntervalSince(started)
            try UnixSocket.waitUntilAccepting(stack.socketPath, served: stack.responder, log: { stack.log("authgate-fcgi") })

            // 1. The database is intact.
            let db = try stack.database()
            let integrity = try db.connection.queryFirst("PRAGMA integrity_check") { $0.text(0) }
            #expect(integrity == "ok")
            // 2. Everything answered 200 is durable.
            let checked = try CrashVerify.everything(shared, port: port, db: db)
            #expect(shared.violations.isEmpty, "\(shared.violations.prefix(10))")
            #expect(killed >= Self.kills)
            #expect(checked.sessions > 0 && checked.passwords > 0 && checked.loggedOut > 0 && checked.failures > 0,
                    "too little confirmed traffic to prove anything: \(checked)")
            print("CrashSafety: \(killed) kills in \(Int(seconds)) s, \(shared.answered) answers during the kills, checked \(checked), nothing lost")
        }
    }

    /// Kills the responder `kills` times, each after 4-40 more answers and a random 0-150 ms.
    static func killLoop(_ stack: Stack, _ shared: CrashLedger, kills: Int) throws -> Int {
        var done = 0
        while done < kills {
            let target = shared.answered + Int.random(in: 4...40)
            try waitFor("\(target - shared.answered) more answers before kill \(done + 1)", timeout: 60, every: 2_000) {
                shared.answered >= target
            }
            usleep(useconds_t.random(in: 0...150_000))
            guard let responder = stack.responder else { throw StackError("no responder") }
            responder.signal(SIGKILL)
            _ = try responder.wait(timeout: 10, for: "the killed responder (kill \(done + 1)) to be reaped")
            done += 1
            try stack.startResponder()
            try UnixSocket.waitUntilAccepting(stack.socketPath, served: stack.responder, log: { stack.log("authgate-fcgi") })
        }
        // A little traffic on the last responder too, then the workers stop.
        let target = shared.answered + 8
        try waitFor("answers after the last restart", timeout: 60, every: 2_000) { shared.answered >= target }
        return done
    }
}

/// What the clients know for certain: only answers they received. An operation without an answer
/// (connection refused or reset, nginx 502/504) may or may not have happened: its session is
/// abandoned (never checked), an unknown password change leaves two candidate passwords.
final class CrashLedger: @unchecked Sendable {
    struct Session {
        var access: String
        var refresh: String
        var previous: String?
    }
    struct Worker {
        var email: String
        var victim: String
        var password: String
        var oldPassword: String?
        var candidates: [String] = []
        var live: [Session] = []
        var loggedOut: [Session] = []
        var revokedByPassword: [Session] = []
        var victimFailures = 0
        var victimAttempts = 0
    }

    private let lock = NSLock()
    private var _workers: [Worker]
    private var _answered = 0
    private var _violations: [String] = []
    private var _stopped = false

    init(_ workers: [Worker]) { _workers = workers }
    var answered: Int { lock.withLock { _answered } }
    var violations: [String] { lock.withLock { _violations } }
    var stopped: Bool { lock.withLock { _stopped } }
    var workers: [Worker] { lock.withLock { _workers } }
    func stop() { lock.withLock { _stopped = true } }
    func answer() { lock.withLock { _answered += 1 } }
    func violation(_ s: String) { lock.withLock { _violations.append(s) } }
    /// `body` runs under the lock: it must not call back into the ledger.
    func update(_ i: Int, _ body: (inout Worker) -> Void) { lock.withLock { body(&_workers[i]) } }
    func worker(_ i: Int) -> Worker { lock.withLock { _workers[i] } }
}
