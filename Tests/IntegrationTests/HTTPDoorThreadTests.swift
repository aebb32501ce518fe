import AuthCore
import AuthCrypto
import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The HTTP door's own threads (AUTH_VERIFY_HTTP_THREADS; ConnectionReader+Door): a verify is
/// answered on the thread that read it, a browser policy's by the worker pool, and either way the
/// answers leave in request order, also when the client does not read them for a while (the rest
/// of an answer waits for EPOLLOUT and the requests after it wait unread). The level a location
/// requires comes from X-Authgate-Require-AAL, or from the door's fixed policy.
@Suite("HTTP verify door threads")
struct HTTPDoorThreadTests {
    static func options(_ environment: [String: String] = [:]) -> Stack.Options {
        var options = Stack.Options()   // nginx for the logins; the door is spoken to directly
        options.companion = false
        options.environment = environment
        return options
    }

    /// 3,000 requests in one stream that the client reads only once it has written them all (the
    /// door's answers fill the socket long before): every answer, in order, each its own; requests
    /// of a browser policy (the pool) between the ones answered on the door's thread.
    @Test func pipelinedStreamAnsweredInOrderWhenTheClientReadsLate() throws {
        try Stack.with(Self.options(["AUTH_VERIFY_HTTP_THREADS": "3", "AUTH_VERIFY_HTTP_MAX_REQUESTS": "100000"])) { stack in
            let w = try GateWorld(stack)
            let alice = try stack.tokens("alice@demo.local").access
            let door = try DoorClient(stack.verifyHTTPSocketPath, receiveTimeout: 30)
            let count = 3000
            var stream: [UInt8] = []
            var expected: [(Int, String?)] = []
            for i in 0..<count {
                switch i % 4 {
                case 0: stream += DoorClient.request(token: alice); expected.append((204, "user"))
                case 1: stream += DoorClient.request(); expected.append((401, nil))
                case 2: stream += DoorClient.request(token: alice, allow: "user browser"); expected.append((204, "user"))
                default: stream += DoorClient.request(token: w.apiKey, allow: "api_key"); expected.append((204, "api_key"))
                }
            }
            print("pipelinedStreamAnsweredInOrderWhenTheClientReadsLate: \(stream.count) bytes of requests in one stream")
            let written = DispatchSemaphore(value: 0)
            nonisolated(unsafe) var sendError: Error?
            nonisolated(unsafe) let writer = door   // the writer thread only sends, this one only reads
            let bytes = stream
            Thread.detachNewThread {
                do { try writer.send(bytes) } catch { sendError = error }
                written.signal()
            }
            // The writer blocks until the door reads on, which it does only as answers leave: wait
            // until it is stuck (or done), then read everything.
            _ = written.wait(timeout: .now() + 1)
            var mismatches: [String] = []
            for i in 0..<count {
                guard let a = try door.answer() else { mismatches.append("\(i): no answer"); break }
                let (status, kind) = expected[i]
                if a.status != status || a.header("x-auth-kind") != kind || a.header("content-length") != "0" {
                    mismatches.append("\(i): \(a.status) \(a.header("x-auth-kind") ?? "-")")
                }
            }
            #expect(written.wait(timeout: .now() + 30) == .success, "the writer finished")
            #expect(sendError == nil, "\(String(describing: sendError))")
            #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
            // The connection still serves.
            #expect(try door.ask(DoorClient.request(token: alice)).status == 204)
        }
    }

    /// A door verify is answered on the door's own thread: it never queues behind the worker pool.
    /// With one worker thread (AUTH_THREADS=1) held by a browser renewal that waits for the
    /// database's write lock (this test holds it; on PostgreSQL the session's row), bearer verifies on other door connections are
    /// answered while the renewal is still unanswered. (Handed to the pool, as before issue 20's
    /// last step, they waited behind it until the lock went or the 5 s busy handler gave up.)
    @Test func doorVerifiesDoNotWaitBehindABusyWorkerPool() throws {
        try Stack.with(Self.options(["AUTH_THREADS": "1"])) { stack in
            _ = try stack.makeTenant("demo.local")
            _ = try stack.makeUser("alice@demo.local", tenant: "demo.local")
            let alice = try stack.tokens("alice@demo.local").access
            let refresh = try #require(try GateBrowserHardeningTests().signIn(stack, "alice@demo.local")["__Host-authgate-refresh"])
            let signedIn = Date()
            try waitFor("the renewal throttle (1 s) to pass since the sign-in", timeout: 5) { Date().timeIntervalSince(signedIn) > 1.2 }
            let session = try #require(RefreshToken.parse(refresh, ring: try stack.keyRing())?.sessionID)
            let db = try stack.database()
            let renewal = try DoorClient(stack.verifyHTTPSocketPath, receiveTimeout: 30)
            var statuses: [Int] = []
            var renewalWaiting = false
            try db.transaction(immediate: true) {
                // SQLite: the write lock; PostgreSQL: the session's row, which the renewal locks first.
                _ = try db.sessions.byIDForUpdate(session)
                try renewal.send(DoorClient.request(uri: "/demo/dashboard/", allow: "user browser",
                                                    extra: [("Cookie", "__Host-authgate-refresh=\(refresh)")]))
                for _ in 0..<3 {
                    let door = try DoorClient(stack.verifyHTTPSocketPath, receiveTimeout: 10)
                    for _ in 0..<5 { statuses.append(try door.ask(DoorClient.request(token: alice)).status) }
                }
                // The lock is still ours: the renewal cannot have been answered yet.
                var poll = pollfd(fd: renewal.socket.fd, events: Int16(POLLIN), revents: 0)
                renewalWaiting = Glibc.poll(&poll, 1, 0) == 0
            }
            print("doorVerifiesDoNotWaitBehindABusyWorkerPool: bearer verifies answered while the renewal waited: \(statuses)")
            #expect(statuses == Array(repeating: 204, count: 15), "\(statuses)")
            #expect(renewalWaiting, "the renewal was answered while the test held the write lock")
            let renewed = try #require(try renewal.answer(), "the renewal's answer once the lock is released")
            #expect(renewed.status == 204 && renewed.header("x-auth-set-cookie") != nil, "\(renewed.status) \(renewed.headers)")
        }
    }

    /// X-Authgate-Require-AAL 2 (the snippet's `set $authgate_require_aal 2`) and a fixed policy's
    /// AUTH_VERIFY_HTTP_REQUIRE_AAL: a level-1 session token gets 401 mfa_required.
    @Test func requiredLevelFromTheHeaderOrTheFixedPolicy() throws {
        try Stack.with(Self.options()) { stack in
            _ = try GateWorld(stack)
            let alice = try stack.tokens("alice@demo.local").access   // level 1
            let door = try DoorClient(stack.verifyHTTPSocketPath)
            let two = try door.ask(DoorClient.request(token: alice, extra: [("X-Authgate-Require-AAL", "2")]))
            #expect(two.status == 401 && two.header("x-auth-error") == "mfa_required", "\(two.status) \(two.headers)")
            #expect(two.header("www-authenticate")?.contains("insufficient_user_authentication") == true)
            #expect(try door.ask(DoorClient.request(token: alice, extra: [("X-Authgate-Require-AAL", "1")])).status == 204)
            #expect(try door.ask(DoorClient.request(token: alice)).status == 204)
            let twice = try DoorClient(stack.verifyHTTPSocketPath)
                .ask(DoorClient.request(token: alice, extra: [("X-Authgate-Require-AAL", "1"), ("X-Authgate-Require-AAL", "1")]))
            #expect(twice.status == 400 && twice.header("x-auth-error") == "duplicate_header")
        }
        try Stack.with(Self.options(["AUTH_VERIFY_HTTP_ALLOW": "user", "AUTH_VERIFY_HTTP_REQUIRE_AAL": "2"])) { stack in
            _ = try GateWorld(stack)
            let alice = try stack.tokens("alice@demo.local").access
            let door = try DoorClient(stack.verifyHTTPSocketPath)
            // The fixed policy stands whatever the request says.
            let fixed = try door.ask(DoorClient.request(token: alice, extra: [("X-Authgate-Require-AAL", "1")]))
            #expect(fixed.status == 401 && fixed.header("x-auth-error") == "mfa_required", "\(fixed.status) \(fixed.headers)")
        }
    }
}
