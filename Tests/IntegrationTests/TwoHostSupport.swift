import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Two complete Authgate hosts on one PostgreSQL database (issue 14): each its own temp dir,
/// nginx (own TLS port), responder, companion and demo upstream, each with a copy of one key
/// ring. What a load balancer in front of two boxes sees. Host A reaches the database through
/// the Unix socket URL, host B through TCP (both libpq URI forms in use).
final class TwoHosts: @unchecked Sendable {
    let server: PostgresServer
    let database: String
    let a: Stack
    let b: Stack
    var hosts: [Stack] { [a, b] }

    /// The staleness bound the hosts run with (AUTH_STATE_MAX_STALE_SECONDS).
    static let maxStaleSeconds = 1.0

    private init(server: PostgresServer, database: String, a: Stack, b: Stack) {
        self.server = server
        self.database = database
        self.a = a
        self.b = b
    }

    /// Starts both hosts on a fresh database of `server` (the process's shared one by default),
    /// runs `body`, always stops both.
    /// `hostBURL`: host B's URL for the database (default: TCP straight to the server), e.g.
    /// through a `TCPProxy` a test can cut.
    static func with<T>(server: PostgresServer? = nil, configure: (inout Stack.Options) -> Void = { _ in },
                        hostBURL: ((PostgresServer, String) -> String)? = nil,
                        hostAURL: ((PostgresServer, String) -> String)? = nil,
                        listenURL: ((PostgresServer, String) -> String)? = nil,
                        _ body: (TwoHosts) throws -> T) throws -> T {
        let server = try server ?? PostgresServer.shared
        let database = try server.makeDatabase(prefix: "twohost")
        let ring = Stack.randomKeyRing()
        let secrets = Stack.randomKeyRing()
        func options(_ url: String) -> Stack.Options {
            var o = Stack.Options()
            o.threads = 4
            o.verifyCacheSeconds = 1
            o.keyRing = ring
            o.secrets = secrets     // one AUTH_SECRETS_FILE: a factor enrolled on A opens on B
            o.environment["AUTH_DB_URL"] = url
            if let listenURL { o.environment["AUTH_DB_LISTEN_URL"] = listenURL(server, database) }
            o.environment["AUTH_STATE_MAX_STALE_SECONDS"] = String(Int(maxStaleSeconds))
            configure(&o)
            return o
        }
        let a = try Stack(options(hostAURL?(server, database) ?? server.url(database: database)))
        let b = try Stack(options(hostBURL?(server, database) ?? server.tcpURL(database: database)))
        defer {
            a.stop()
            b.stop()
        }
        try a.start()
        try b.start()
        return try body(TwoHosts(server: server, database: database, a: a, b: b))
    }

    /// `init` and a tenant (through host A's CLI) and users (alternating A's and B's CLI: both
    /// write the same database).
    func world(tenant: String = "demo.local", users: [String]) throws {
        _ = try a.makeTenant(tenant)
        for (i, email) in users.enumerated() {
            try (i % 2 == 0 ? a : b).makeUser(email, tenant: tenant)
        }
    }
}

/// A status with what a client needs to judge it (an error's code, Retry-After).
struct Answer: Sendable, CustomStringConvertible {
    var host: String
    var what: String
    var status: Int
    var code: String?
    var retryAfter: String?
    var at: Double

    init(host: String, what: String, _ r: HTTPSResult) {
        self.host = host
        self.what = what
        status = r.status
        code = r.errorCode
        retryAfter = r.header("Retry-After")
        at = Date().timeIntervalSince1970
    }

    init(host: String, what: String, failure: any Error) {
        self.host = host
        self.what = what
        status = -1
        code = "\(failure)"
        at = Date().timeIntervalSince1970
    }

    var description: String {
        "\(host) \(what) \(status)\(code.map { " \($0)" } ?? "")\(retryAfter.map { " Retry-After: \($0)" } ?? "")"
    }

    /// The documented outage answer: 503 `unavailable` with a Retry-After.
    var isDocumented503: Bool { status == 503 && code == "unavailable" && (retryAfter.flatMap(Int.init) ?? 0) > 0 }
}

extension Stack {
    /// POST /api/v1/auth/refresh; the result and, on 200, the (access, refresh) pair.
    func refresh(_ token: String) throws -> (result: HTTPSResult, pair: (access: String, refresh: String)?) {
        let r = try post("/api/v1/auth/refresh", json: ["refresh_token": token])
        guard r.status == 200, let access = r.data[accessField] as? String, let refresh = r.data["refresh_token"] as? String else {
            return (r, nil)
        }
        return (r, (access, refresh))
    }

    /// Opens a WebSocket through this host's nginx (TLS) on `/ws/agent?token=`; 101 required.
    func openWebSocket(_ token: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> (WSTestClient, Child) {
        let (c, proc) = try WSTestClient.tls(port: port, caFile: certPath)
        let reply = try c.upgrade("/ws/agent?token=\(token)")
        guard reply.status == 101 else {
            proc.stop(grace: 1)
            Issue.record("WebSocket upgrade on port \(port): \(reply.status)", sourceLocation: sourceLocation)
            throw StackError("WebSocket upgrade refused: \(reply.status)")
        }
        return (c, proc)
    }
}

extension WSTestClient {
    /// Sends a text frame and requires the demo upstream's echo: the relay is alive. False
    /// (with what happened) on a close frame, EOF or a socket error.
    func echo(_ text: String) -> (alive: Bool, why: String) {
        do {
            try sendText(text)
            while let f = try receive() {
                if f.opcode == 8 { return (false, "close frame \(f.closeCode.map(String.init) ?? "-")") }
                if f.opcode == 1 { return (String(decoding: f.payload, as: UTF8.self) == text, "echo") }
            }
            return (false, "EOF")
        } catch {
            return (false, "\(error)")
        }
    }

    func echoes(_ text: String) -> Bool { echo(text).alive }
}

struct RefreshAnswer: Sendable, CustomStringConvertible {
    var status: Int
    var refresh: String?
    var access: String?
    var code: String?
    var description: String { "\(status) \(code ?? "") \(refresh.map { String($0.prefix(12)) } ?? "-")" }
}

/// Everything the traffic threads saw.
final class AnswerLog: @unchecked Sendable {
    private let lock = NSLock()
    private var answers: [Answer] = []
    func append(_ a: Answer) { lock.withLock { answers.append(a) } }
    func append(_ a: [Answer]) { lock.withLock { answers += a } }
    var all: [Answer] { lock.withLock { answers } }
    var count: Int { lock.withLock { answers.count } }
}

/// Threads that repeat one round of requests until stopped; a round that throws (curl itself
/// failed: no HTTP answer at all) is logged as status -1.
final class TrafficThreads: @unchecked Sendable {
    private let log: AnswerLog
    private let lock = NSLock()
    private var stopped = false
    private var running: [DispatchSemaphore] = []

    init(_ log: AnswerLog) { self.log = log }

    func start(_ round: @escaping @Sendable () throws -> [Answer]) {
        let done = DispatchSemaphore(value: 0)
        lock.withLock { running.append(done) }
        let thread = Thread { [self] in
            defer { done.signal() }
            while !lock.withLock({ stopped }) {
                do { log.append(try round()) } catch { log.append(Answer(host: "?", what: "round", failure: error)) }
            }
        }
        thread.start()
    }

    /// Stops and joins every thread (a round in flight finishes: curl bounds each request).
    func stop() {
        let all = lock.withLock { () -> [DispatchSemaphore] in
            stopped = true
            defer { running = [] }
            return running
        }
        for done in all { try? done.wait(seconds: 90, for: "a traffic thread to finish its round") }
    }
}

/// Waits on another thread for a WebSocket's close frame, timed from a given instant.
final class CloseWatcher: @unchecked Sendable {
    struct Closed: CustomStringConvertible {
        var code: UInt16?
        var seconds: Double
        var description: String { "close \(code.map(String.init) ?? "none (EOF or error)") after \(String(format: "%.3f", seconds)) s" }
    }
    private let client: WSTestClient
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var closed: Closed?
    private var failure: (any Error)?

    init(_ client: WSTestClient) { self.client = client }

    func start(from instant: Date) {
        let thread = Thread { [self] in
            defer { done.signal() }
            do {
                let frame = try client.awaitClose()
                lock.withLock { closed = Closed(code: frame?.closeCode, seconds: Date().timeIntervalSince(instant)) }
            } catch {
                lock.withLock { failure = error }
            }
        }
        thread.start()
    }

    func result(timeout: Double) throws -> Closed {
        try done.wait(seconds: timeout, for: "a WebSocket close frame")
        return try lock.withLock {
            if let failure { throw failure }
            return closed!
        }
    }
}
