import Foundation
import TestSupport
import Testing

/// Issue 13: a WebSocket upgrade authenticated by the access cookie (no token in the URL), and
/// the Origin check that keeps another site from riding on it (cross-site WebSocket hijacking).
@Suite("Browser: WebSocket upgrades by cookie")
struct BrowserWebSocketTests {
    @Test func cookieUpgradeNeedsTheSiteOrigin() throws {
        try Stack.with { stack in
            _ = try stack.makeTenant("demo.local")
            _ = try stack.makeUser("alice@demo.local", tenant: "demo.local")
            let login = try stack.client.request("POST", "/api/v1/auth/session", headers: [
                "Origin": stack.baseURL, "Content-Type": "application/json"],
                body: Array(#"{"email":"alice@demo.local","password":"\#(GateFixture.password)"}"#.utf8))
            let access = try #require(BrowserSessionTests.cookies(login)["__Host-authgate"])
            try waitFor("the companion and the demo upstream to accept", timeout: 10) {
                UnixSocket.canConnect(stack.wsSocketPath) && UnixSocket.canConnect(stack.upstreamSocketPath)
            }
            // WSTestClient sends `Host: localhost`: the site's origin is https://localhost.
            let cases: [([String], Int)] = [
                (["Cookie: __Host-authgate=\(access)", "Origin: https://localhost"], 101),
                (["Cookie: __Host-authgate=\(access)", "Origin: https://evil.example"], 403),
                (["Cookie: __Host-authgate=\(access)", "Origin: null"], 403),
                (["Cookie: __Host-authgate=\(access)"], 403),
                (["Cookie: __Host-authgate=garbage", "Origin: https://localhost"], 401),
                (["Origin: https://localhost"], 401),
            ]
            for (headers, status) in cases {
                let (c, proc) = try WSTestClient.tls(port: stack.port, caFile: stack.certPath)
                defer { proc.stop(grace: 1) }
                let reply = try c.upgrade("/ws/agent", extraHeaders: headers)
                #expect(reply.status == status, "\(headers): \(reply.status)")
                if status == 101 {
                    try c.sendText("by cookie")
                    #expect(try c.receive()?.payload == Array("by cookie".utf8))
                }
            }
        }
    }
}
