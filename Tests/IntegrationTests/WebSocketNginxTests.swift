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
    struct Account { var userID, tenantID, sessionID, email, role: String }

    static func account(_ stack: Stack, role: String) throws -> Account {
        let db = try Database(path: stack.dbPath)
        try db.migrate()
        let tenant = try db.tenants.byDomain("ws.test") ?? db.tenants.create(name: "WS", domain: "ws.test", isPlatform: false, now: Time.now())
        let email = "\(role)-\(UUIDs.random().prefix(8))@ws.test"
        let user = try db.users.create(tenantID: tenant.id, email: email, passwordHash: "x", role: role, now: Time.now())
        let session = try db.sessions.create(userID: user.id, now: Time.now())
        return Account(userID: user.id, tenantID: tenant.id, sessionID: session.id, email: email, role: role)
    }

    static func token(_ stack: Stack, _ a: Account, ttl: Int64 = 600) throws -> String {
        try stack.mintToken(sub: a.userID, tid: a.tenantID, email: a.email, role: a.role, sid: a.sessionID, ttl: ttl)
    }

    static func ready(_ stack: Stack) -> Bool {
        (try? waitFor("the companion and the demo upstream to accept", timeout: 10) {
            UnixSocket.canConnect(stack.wsSocketPath) && UnixSocket.canConnect(stack.upstreamSocketPath)
        }) != nil
    }

    @Test func echoRefusalsAndLogoutThroughNginx() throws {
        try Stack.with { (stack: Stack) throws in
            #expect(Self.ready(stack))
            let agent = try Self.account(stack, role: "agent")
            let token = try Self.token(stack, agent)

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
            let start = Date()
            let logout = try stack.client.request("POST", "/api/v1/auth/logout", headers: ["Authorization": "Bearer \(token)"])
            #expect(logout.status == 200)
            let close = try c.awaitClose()
            #expect(close?.closeCode == 4003)
            #expect(Date().timeIntervalSince(start) <= 1.5)

            // The token never reaches nginx's access log.
            let access = (try? String(contentsOfFile: stack.accessLogPath, encoding: .utf8)) ?? ""
            #expect(!access.contains(token))
        }
    }

    @Test func expiryThroughNginxCloses4001() throws {
        var options = Stack.Options()
        options.environment = ["AUTH_CLOCK_LEEWAY_SECONDS": "1"]
        try Stack.with(options) { (stack: Stack) throws in
            #expect(Self.ready(stack))
            let sup = try Self.account(stack, role: "supervisor")
            let token = try Self.token(stack, sup, ttl: 3)
            let exp = Time.now() + 3
            let (c, proc) = try WSTestClient.tls(port: stack.port, caFile: stack.certPath)
            defer { proc.stop(grace: 1) }
            #expect(try c.upgrade("/ws/supervisor?token=\(token)").status == 101)
            let close = try c.awaitClose()
            #expect(close?.closeCode == 4001)
            #expect(Date().timeIntervalSince1970 <= Double(exp) + 1.0)
        }
    }
}
