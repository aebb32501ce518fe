import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 20: the HTTP door behind nginx (authgate-verify-http.conf): the policy and the original
/// URI come only from the snippet, the connection is kept, and idle or slow clients on the door's
/// socket cost descriptors, never the gate (issue 19 item 2, as on the FastCGI socket).
@Suite("HTTP verify door through nginx")
struct HTTPDoorNginxTests {
    @Test func policyAndOriginalURIOnlyFromTheSnippet() throws {
        var options = Stack.Options()
        options.verifyCacheSeconds = 0
        try Stack.with(options) { stack in
            let w = try GateWorld(stack)
            let alice = try stack.tokens("alice@demo.local").access
            // A client's X-Authgate-Allow never widens /demo/gated-http (users only) to API keys...
            for allow in ["api_key", "user api_key node browser"] {
                let r = try stack.get("/demo/gated-http", token: w.apiKey, headers: ["X-Authgate-Allow": allow])
                #expect(r.status == 403, "X-Authgate-Allow: \(allow): \(r.status)")
            }
            // ...nor does its X-Authgate-Roles narrow it (an empty policy value sends no header).
            #expect(try stack.get("/demo/echo-http", token: alice, headers: ["X-Authgate-Roles": "admin"]).status == 200)
            // A client's X-Original-URI never hides ?tenant_id= from the tenant rule.
            let spoofURI = try stack.get("/demo/echo-http?tenant_id=\(w.other)", token: alice,
                                         headers: ["X-Original-URI": "/demo/echo-http", "X-Forwarded-Uri": "/demo/echo-http"])
            #expect(spoofURI.status == 403)
            // Forged identity headers never reach the app; the verified ones do.
            let echo = try stack.get("/demo/echo-http", token: alice, headers: spoofedHeaders)
            #expect(echo.status == 200 && carriesNoSpoof(echo.echoedHeaders))
            #expect(echo.echoedHeaders["x-auth-user-id"] == w.alice && echo.echoedHeaders["x-auth-role"] == "agent")
            #expect(try stack.get("/demo/gated-http", token: nil).status == 401)
            // The door answered these over kept connections: far fewer accepts than verifies.
            for _ in 0..<20 { #expect(try stack.get("/demo/gated-http", token: alice).status == 200) }
            let log = stack.log("nginx-error")
            #expect(!log.contains("upstream prematurely closed"), "\(log.suffix(2000))")
        }
    }

    /// 200 connections on the door's socket (100 silent, 100 that sent one byte) while gated
    /// requests through nginx, on both doors, keep answering.
    @Test func idleConnectionsOnTheDoorDoNotStopTheGate() throws {
        var options = Stack.Options()
        options.verifyCacheSeconds = 0
        options.environment["AUTH_READ_TIMEOUT_SECONDS"] = "60"
        try Stack.with(options) { (stack: Stack) throws in
            _ = try stack.makeTenant("slow.test")
            try stack.makeUser("slow@slow.test", tenant: "slow.test")
            let token = try stack.tokens("slow@slow.test").access
            let silent = try SlowClients.holdUnix(stack.verifyHTTPSocketPath, count: 100, first: [])
            let oneByte = try SlowClients.holdUnix(stack.verifyHTTPSocketPath, count: 100, first: Array("G".utf8))
            var statuses: [Int] = []
            let times = try SlowClients.timed(20) { i in
                let path = i % 2 == 0 ? "/demo/gated-http" : "/demo/gated"
                statuses.append(try stack.client.request("GET", path, headers: ["Authorization": "Bearer \(token)"], timeout: 5).status)
            }
            print("idleConnectionsOnTheDoorDoNotStopTheGate: 200 held door connections, gated requests through nginx: \(SlowClients.summary(times))")
            #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses)")
            #expect(times.allSatisfy { $0 < 2 }, "\(SlowClients.summary(times))")
            #expect(!SlowClients.closedByServer(oneByte[0].fd, timeout: 0.1))
            #expect(try SlowClients.metric(stack.socketPath, "authgate_connections_waiting").map { $0 >= 200 } == true)
            _ = silent
        }
    }
}
