import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Bad input on the responder's own socket only ever affects that one connection; start-up
/// and shutdown rules of the socket.
@Suite("Responder robustness")
struct ResponderRobustnessTests {
    static func healthDirect(_ stack: Stack) throws -> Int {
        try FastCGIWire.exchange(stack.socketPath, FastCGIWire.request(uri: "/api/v1/health")).status
    }

    @Test func garbageBytesDropOnlyThatConnection() throws {
        try Stack.with { (stack: Stack) throws in
            let socket = try UnixSocket(path: stack.socketPath)
            // Garbage from the first byte: a version other than FCGI_VERSION_1 (a random first byte
            // of 1 made a plausible header whose announced content the responder rightly awaited).
            var garbage = (0..<4096).map { _ in UInt8.random(in: 0...255) }
            garbage[0] = UInt8.random(in: 2...255)
            try socket.send(garbage)
            let answer = socket.receiveAll()
            #expect(!answer.timedOut, "the responder should drop a garbage connection")
            #expect(try stack.client.get("/api/v1/health").status == 200)
            #expect(try Self.healthDirect(stack) == 200)
        }
    }

    @Test func truncatedRecordDoesNotBlockOthers() throws {
        try Stack.with { (stack: Stack) throws in
            let socket = try UnixSocket(path: stack.socketPath)
            // A PARAMS record announcing 1000 bytes, of which 10 arrive; the client stays.
            try socket.send(FastCGIWire.beginRequest() + [1, 4, 0, 1, 0x03, 0xe8, 0, 0] + Array("0123456789".utf8))
            #expect(try stack.client.get("/api/v1/health").status == 200)
            #expect(try Self.healthDirect(stack) == 200)
            // And one whose stream ends in the middle of a record header.
            let cut = try UnixSocket(path: stack.socketPath)
            try cut.send(FastCGIWire.beginRequest() + [1, 4, 0])
            shutdown(cut.fd, Int32(SHUT_WR))
            _ = cut.receiveAll()
            #expect(try stack.client.get("/api/v1/health").status == 200)
        }
    }

    @Test func silentClientsDoNotStarveTheResponder() throws {
        var options = Stack.Options()
        options.environment["AUTH_READ_TIMEOUT_SECONDS"] = "1"
        try Stack.with(options) { (stack: Stack) throws in
            // Twice as many silent connections as worker threads.
            let silent = try (0..<(stack.options.threads * 2)).map { _ in try UnixSocket(path: stack.socketPath, receiveTimeout: 3) }
            #expect(try stack.client.get("/api/v1/health").status == 200)
            #expect(try Self.healthDirect(stack) == 200)
            // Past AUTH_READ_TIMEOUT_SECONDS the responder hangs up on them by itself.
            #expect(!silent[0].receiveAll().timedOut)
        }
    }

    @Test func eightKiBHeaderDirectly() throws {
        try Stack.with { (stack: Stack) throws in
            let request = FastCGIWire.request(uri: "/api/v1/health",
                                              headers: [("X-Big", String(repeating: "h", count: 8192))])
            #expect(try FastCGIWire.exchange(stack.socketPath, request).status == 200)
            #expect(try stack.client.get("/api/v1/health").status == 200)
        }
    }

    @Test func overCapBodyDirectlyIs413AndServingContinues() throws {
        try Stack.with { (stack: Stack) throws in
            let request = FastCGIWire.request(method: "POST", uri: "/api/v1/auth/login",
                                              body: [UInt8](repeating: 0x7b, count: 200_000))
            let answer = try FastCGIWire.exchange(stack.socketPath, request)
            #expect(answer.status == 413)
            #expect(answer.text.contains("payload_too_large"))
            #expect(try Self.healthDirect(stack) == 200)
        }
    }

    @Test func verifyRequestsIgnoreContentLengthAndAnswer401WithoutACredential() throws {
        try Stack.with { (stack: Stack) throws in
            // The original request's CONTENT_LENGTH (huge) and its REQUEST_URI (an API route)
            // must not matter: the verify route answers, with a verify status.
            let request = FastCGIWire.beginRequest() + FastCGIWire.params([
                ("REQUEST_METHOD", "POST"), ("REQUEST_URI", "/api/v1/health?tenant_id=x"),
                ("DOCUMENT_URI", "/_authgate/verify/user"), ("CONTENT_LENGTH", "99999999"),
                ("AUTH_VERIFY", "1"), ("AUTH_ALLOW", "user"),
            ]) + FastCGIWire.stdin([])
            let answer = try FastCGIWire.exchange(stack.socketPath, request)
            // No credential: exactly 401 with a plain Bearer challenge (not a 403 for the
            // tenant_id, not a 204, not a 413 for the announced body).
            #expect(answer.status == 401, "\(answer.text)")
            #expect(answer.text.contains("WWW-Authenticate: Bearer\r\n"), "\(answer.text)")
            let gated = try stack.client.request("POST", "/demo/gated", body: [UInt8](repeating: 1, count: 300_000))
            #expect(gated.status == 401)
        }
    }

    @Test func secondResponderOnTheSameSocketRefusesToStart() throws {
        var options = Stack.Options()
        options.nginx = false
        try Stack.with(options) { (stack: Stack) throws in
            let second = try stack.runResponderOnce()
            #expect(second.status != 0)
            #expect(second.stderr.contains("already serving"), "\(second.stderr)")
            #expect(try Self.healthDirect(stack) == 200)
        }
    }

    @Test func staleSocketFileIsCleanedUp() throws {
        var options = Stack.Options()
        options.nginx = false
        let stack = try Stack(options)
        defer { stack.stop() }
        // A socket file nobody listens on, as a crashed responder leaves behind.
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = UnixSocket.address(stack.socketPath)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        close(fd)
        #expect(bound == 0)
        #expect(FileManager.default.fileExists(atPath: stack.socketPath))
        try stack.start()
        #expect(try Self.healthDirect(stack) == 200)
    }

    @Test func sigtermStopsWithinTwoSeconds() throws {
        var options = Stack.Options()
        options.nginx = false
        try Stack.with(options) { (stack: Stack) throws in
            let responder = try #require(stack.responder)
            // Something in flight: a silent client and a half-sent request.
            let silent = try UnixSocket(path: stack.socketPath)
            let half = try UnixSocket(path: stack.socketPath)
            try half.send(FastCGIWire.beginRequest())
            #expect(try Self.healthDirect(stack) == 200)
            let started = Date()
            responder.signal(SIGTERM)
            let status = try responder.wait(timeout: 5, for: "the responder to stop on SIGTERM")
            let elapsed = Date().timeIntervalSince(started)
            #expect(elapsed < 2.0, "took \(elapsed) s")
            #expect(status == 0)
            #expect(!FileManager.default.fileExists(atPath: stack.socketPath))
            _ = (silent, half)
        }
    }

    /// The password-hash queue through nginx: one hashing slot, no queue, default-cost scrypt,
    /// 8 overlapping logins: the ones that find the slot busy get the responder's 503
    /// `unavailable` with `Retry-After` (nginx passes it through, JSON intact), the others 200.
    @Test func hashQueueFullIs503ThroughNginx() throws {
        var options = Stack.Options()
        options.environment = ["AUTH_HASH_CONCURRENCY": "1", "AUTH_HASH_QUEUE": "0", "AUTH_SCRYPT": "ln=15,r=8,p=3"]
        try Stack.with(options) { (stack: Stack) throws in
            _ = try stack.makeTenant("busy.test")
            try stack.makeUser("busy@busy.test", tenant: "busy.test")
            let login = try stack.postRequest("/api/v1/auth/login", json: ["email": "busy@busy.test", "password": GateFixture.password])
            let answers = try stack.client.parallel(Array(repeating: login, count: 8))
            let statuses = answers.map(\.status)
            let peak = peakOverlap(try stack.serverSpans("/api/v1/auth/login", count: 8))
            print("hashQueueFullIs503ThroughNginx: \(statuses), at most \(peak) logins held by nginx at once")
            #expect(statuses.allSatisfy { $0 == 200 || $0 == 503 }, "\(statuses)")
            #expect(statuses.contains(200) && statuses.contains(503), "\(statuses)")
            for busy in answers where busy.status == 503 {
                #expect(busy.errorCode == "unavailable", "\(busy.text)")
                #expect(busy.header("retry-after").flatMap { Int($0) }.map { $0 >= 1 } == true)
                #expect(busy.header("content-type") == "application/json")
            }
        }
    }
}
