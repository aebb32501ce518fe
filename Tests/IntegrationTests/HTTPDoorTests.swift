import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 20: the keep-alive HTTP verify door (AUTH_VERIFY_HTTP_SOCKET), spoken to directly as
/// nginx's upstream keep-alive does, and through nginx (/demo/gated-http, /demo/echo-http).
@Suite("HTTP verify door")
struct HTTPDoorTests {
    /// Kept connections, answers that are only 204/401/403 with Content-Length: 0 and the error
    /// code in X-Auth-Error, pipelined requests answered in order one by one.
    @Test func keepAliveAnswersAndPipelining() throws {
        var options = Stack.Options()
        options.verifyCacheSeconds = 0
        try Stack.with(options) { stack in
            let w = try GateWorld(stack)
            let alice = try stack.tokens("alice@demo.local").access
            let door = try DoorClient(stack.verifyHTTPSocketPath)
            let none = try door.ask(DoorClient.request())
            #expect(none.status == 401 && none.header("content-length") == "0" && none.header("connection") == nil)
            #expect(none.header("x-auth-error") == "invalid_token" && none.header("www-authenticate") == "Bearer")
            let allowed = try door.ask(DoorClient.request(token: alice))
            #expect(allowed.status == 204 && allowed.header("content-length") == "0")
            #expect(allowed.header("x-auth-user-id") == w.alice && allowed.header("x-auth-tenant-id") == w.demo)
            let refused = try door.ask(DoorClient.request(token: w.apiKey))
            #expect(refused.status == 403 && refused.header("x-auth-error") == "forbidden")
            let tenant = try door.ask(DoorClient.request(uri: "/demo/echo?tenant_id=\(w.other)", token: alice))
            #expect(tenant.status == 403, "the tenant rule reads X-Original-URI")
            let head = try door.ask(DoorClient.request(token: alice, requestMethod: "HEAD"))
            #expect(head.status == 204)

            // Three requests in one write: three answers, in order, each its own.
            try door.send(DoorClient.request(token: alice) + DoorClient.request() + DoorClient.request(token: w.apiKey, allow: "api_key"))
            let a1 = try #require(try door.answer()), a2 = try #require(try door.answer()), a3 = try #require(try door.answer())
            #expect(a1.status == 204 && a1.header("x-auth-kind") == "user" && a1.header("x-auth-user-id") == w.alice)
            #expect(a2.status == 401 && a2.header("x-auth-kind") == nil)
            #expect(a3.status == 204 && a3.header("x-auth-kind") == "api_key" && a3.header("x-auth-project-id") == w.project)
            // The same connection still serves, and a client's `Connection: close` is honoured.
            let last = try door.ask(DoorClient.request(token: alice, extra: [("Connection", "close")]))
            #expect(last.status == 204 && last.header("connection") == "close")
            #expect(door.closedByDoor(timeout: 5))
            // A client-sent policy header IS what the door reads (so nginx must never pass one:
            // policyAndOriginalURIOnlyFromTheSnippet) and the responder logged no error.
            #expect(try DoorClient(stack.verifyHTTPSocketPath).ask(DoorClient.request(token: w.apiKey, allow: "api_key")).status == 204)
        }
    }

    /// Everything outside the strict subset: answered with a stable code and closed.
    @Test func outsideTheSubsetIsRefusedAndClosed() throws {
        var options = Stack.Options()
        options.nginx = false
        options.companion = false
        options.upstream = false
        try Stack.with(options) { stack in
            let base = String(decoding: DoorClient.request(), as: UTF8.self).dropLast(1)   // without the final CRLF (one Character)
            let manyHeaders = (0..<70).map { "X-Filler-\($0): x\r\n" }.joined()
            let cases: [(String, String, Int, String)] = [
                ("a body", base + "Content-Length: 5\r\n\r\nhello", 400, "body_not_allowed"),
                ("chunked", base + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "body_not_allowed"),
                ("POST", "POST /verify HTTP/1.1\r\nHost: x\r\nX-Original-URI: /\r\nX-Original-Method: GET\r\n\r\n", 405, "method_not_allowed"),
                ("another path", "GET /verify/x HTTP/1.1\r\nHost: x\r\nX-Original-URI: /\r\nX-Original-Method: GET\r\n\r\n", 404, "not_found"),
                ("HTTP/1.0", "GET /verify HTTP/1.0\r\nX-Original-URI: /\r\nX-Original-Method: GET\r\n\r\n", 400, "bad_request"),
                ("70 headers", base + manyHeaders + "\r\n", 400, "header_too_large"),
                ("17 KiB head", base + "X-Big: " + String(repeating: "a", count: 17 * 1024) + "\r\n\r\n", 400, "header_too_large"),
                ("no X-Original-URI", "GET /verify HTTP/1.1\r\nHost: x\r\nX-Original-Method: GET\r\n\r\n", 400, "missing_original_uri"),
                ("only the gateway convention", String(decoding: DoorClient.request(forwarded: true), as: UTF8.self), 400, "missing_original_uri"),
                ("two X-Authgate-Allow", base + "X-Authgate-Allow: api_key\r\n\r\n", 400, "duplicate_header"),
                ("two X-Original-URI", base + "X-Original-URI: /other\r\n\r\n", 400, "duplicate_header"),
                ("bare LF", "GET /verify HTTP/1.1\nHost: x\n\n", 400, "bad_request"),
            ]
            for (name, request, status, code) in cases {
                let door = try DoorClient(stack.verifyHTTPSocketPath)
                try door.send(Array(request.utf8))
                let a = try #require(try door.answer(), "\(name): no answer")
                #expect(a.status == status && a.header("x-auth-error") == code, "\(name): \(a.status) \(a.header("x-auth-error") ?? "-")")
                #expect(a.header("connection") == "close" && a.header("content-length") == "0", "\(name)")
                #expect(door.closedByDoor(timeout: 5), "\(name): still open")
            }
            let dropped = try SlowClients.metric(stack.socketPath, #"authgate_connections_dropped_total{reason="protocol"}"#)
            #expect((dropped ?? 0) >= cases.count, "each refusal is a counted protocol drop: \(String(describing: dropped))")
            #expect(stack.responder?.isRunning == true)
        }
    }

    /// AUTH_VERIFY_HTTP_MAX_REQUESTS, AUTH_VERIFY_HTTP_IDLE_SECONDS, and a head that never
    /// completes (dropped at AUTH_READ_TIMEOUT_SECONDS like a FastCGI one).
    @Test func requestLimitIdleTimeoutAndReadDeadline() throws {
        var options = Stack.Options()
        options.nginx = false
        options.companion = false
        options.upstream = false
        options.environment = ["AUTH_VERIFY_HTTP_MAX_REQUESTS": "3", "AUTH_VERIFY_HTTP_IDLE_SECONDS": "1",
                               "AUTH_READ_TIMEOUT_SECONDS": "1"]
        try Stack.with(options) { stack in
            let door = try DoorClient(stack.verifyHTTPSocketPath)
            for i in 1...3 {
                let a = try door.ask(DoorClient.request())
                #expect(a.status == 401 && (a.header("connection") == "close") == (i == 3), "request \(i)")
            }
            #expect(door.closedByDoor(timeout: 5), "closed after the third request")

            let idle = try DoorClient(stack.verifyHTTPSocketPath)
            #expect(try idle.ask(DoorClient.request()).status == 401)
            let start = Date()
            #expect(idle.closedByDoor(timeout: 10), "an idle kept connection is closed")
            print("requestLimitIdleTimeoutAndReadDeadline: idle kept connection closed after \(String(format: "%.2f", Date().timeIntervalSince(start))) s (AUTH_VERIFY_HTTP_IDLE_SECONDS=1)")

            let partial = try DoorClient(stack.verifyHTTPSocketPath)
            try partial.send(Array("GET /verify HTTP/1.1\r\nHost: x\r\n".utf8))
            #expect(partial.closedByDoor(timeout: 10), "a head never completed is dropped at the read deadline")
            let deadline = try SlowClients.metric(stack.socketPath, #"authgate_connections_dropped_total{reason="deadline"}"#)
            #expect((deadline ?? 0) >= 1, "counted: \(String(describing: deadline))")
        }
    }

    /// `--hold-socket` holds the door's socket too: a verify sent while the responder is down
    /// (killed) waits in the backlog and is answered by the next one; the socket file is the same.
    @Test func holdSocketKeepsTheDoorAcrossACrash() throws {
        var options = Stack.Options()
        options.nginx = false
        options.companion = false
        options.upstream = false
        options.responderArguments = ["--hold-socket"]
        try Stack.with(options) { stack in
            try UnixSocket.waitUntilAccepting(stack.verifyHTTPSocketPath, served: stack.responder)
            var before = stat()
            #expect(stat(stack.verifyHTTPSocketPath, &before) == 0)
            #expect(try DoorClient(stack.verifyHTTPSocketPath).ask(DoorClient.request()).status == 401)
            let holder = try #require(stack.responder?.pid)
            let old = try #require(TCPTakeoverTests.child(of: holder), "a responder child under the holder")
            kill(old, SIGKILL)
            try waitFor("the killed responder to be gone", timeout: 10) { TCPTakeoverTests.child(of: holder) != old }
            // Connected and sent while there may be no responder at all: answered by the next one.
            let door = try DoorClient(stack.verifyHTTPSocketPath, receiveTimeout: 20)
            let answer = try door.ask(DoorClient.request())
            #expect(answer.status == 401 && answer.header("x-auth-error") == "invalid_token")
            let now = try #require(TCPTakeoverTests.child(of: holder))
            #expect(now != old)
            var after = stat()
            #expect(stat(stack.verifyHTTPSocketPath, &after) == 0 && after.st_ino == before.st_ino, "the same socket file")
        }
    }
}
