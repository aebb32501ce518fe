import AuthCore
import AuthCrypto
import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Browser → TLS nginx (`/ws/` location) → authgate-ws → demo upstream, all real processes.
@Suite struct WebSocketNginxTests {
    /// An account in the stack's database (tenant `ws.test`), no password.
    static func account(_ stack: Stack, role: String) throws -> TestAccount {
        let db = try stack.database()
        try db.migrate()
        let tenant = try db.tenants.byDomain("ws.test") ?? db.tenants.create(name: "WS", domain: "ws.test", isPlatform: false, now: Time.now())
        return try TestAccount.make(db, tenantID: tenant.id, role: role)
    }

    @Test func echoRefusalsAndLogoutThroughNginx() throws {
        try Stack.with { (stack: Stack) throws in
            let agent = try Self.account(stack, role: "agent")
            let token = try stack.mintToken(for: agent)

            // Echo through TLS nginx.
            let (c, proc) = try WSTestClient.tls(port: stack.port, caFile: stack.certPath)
            defer { proc.stop(grace: 1) }
            #expect(try c.upgrade("/ws/agent?token=\(token)").status == 101)
            try c.sendText("via nginx")
            #expect(try c.receive()?.payload == Array("via nginx".utf8))
            try c.send(opcode: 9, [7])
            #expect(try c.receive() == .init(fin: true, opcode: 10, payload: [7]))

            // Refusals come back through nginx with the companion's JSON.
            let (bad, p2) = try WSTestClient.tls(port: stack.port, caFile: stack.certPath)
            defer { p2.stop(grace: 1) }
            let r401 = try bad.upgrade("/ws/agent?token=nope")
            #expect(r401.status == 401)
            #expect(r401.errorCode == "invalid_token")
            let (wrong, p3) = try WSTestClient.tls(port: stack.port, caFile: stack.certPath)
            defer { p3.stop(grace: 1) }
            let r403 = try wrong.upgrade("/ws/supervisor?token=\(token)")
            #expect(r403.status == 403)
            #expect(r403.errorCode == "forbidden")

            // Logout through the API closes the live socket with 4003 within 1 s.
            let logout = try stack.client.request("POST", "/api/v1/auth/logout", headers: ["Authorization": "Bearer \(token)"])
            let start = Date()
            #expect(logout.status == 200)
            let close = try c.awaitClose()
            #expect(close?.closeCode == 4003)
            #expect(Date().timeIntervalSince(start) <= 1.0)

            // The token never reaches nginx's access log: wait for the three /ws/agent lines
            // first (nginx writes a WebSocket's line when it ends), so an unwritten log cannot pass.
            var access = ""
            try waitFor("nginx's access log lines of the /ws/agent upgrades") {
                access = stack.log("nginx-access")
                return access.components(separatedBy: "/ws/agent").count - 1 >= 2 && access.contains("/ws/supervisor")
            }
            #expect(!access.contains(token))
            #expect(!access.contains("token="))
        }
    }

    /// The close comes at `exp`, not at `exp + leeway`: the leeway (5 s) is far larger than the
    /// tolerance (1.5 s), so a companion that applied it would fail.
    @Test func expiryThroughNginxCloses4001AtExpNotAtExpPlusLeeway() throws {
        var options = Stack.Options()
        options.environment = ["AUTH_CLOCK_LEEWAY_SECONDS": "5"]
        try Stack.with(options) { (stack: Stack) throws in
            let sup = try Self.account(stack, role: "supervisor")
            let exp = Time.now() + 8
            let token = try stack.mintToken(for: sup, exp: exp)
            let (c, proc) = try WSTestClient.tls(port: stack.port, caFile: stack.certPath, timeoutSeconds: 15)
            defer { proc.stop(grace: 1) }
            #expect(try c.upgrade("/ws/supervisor?token=\(token)").status == 101)
            let close = try c.awaitClose()
            let at = Date().timeIntervalSince1970
            #expect(close?.closeCode == 4001)
            #expect(at >= Double(exp) - 0.05 && at <= Double(exp) + 1.5, "closed \(at - Double(exp)) s after exp")
        }
    }
}
