import AuthCrypto
import Foundation
import TestSupport
import Testing

/// The companion inside a whole stack (responder, CLI, nginx): what other processes change
/// reaches it: a rotated key, a password change, `user disable`; and the `/ws/` error log.
@Suite struct WebSocketStackTests {
    static func kid(_ token: String) -> String? { GateKeyRotationTests.kid(token) }

    /// Upgrades on the companion's own socket; the status of the answer.
    static func upgradeStatus(_ stack: Stack, _ token: String) throws -> Int {
        try WSTestClient(socketPath: stack.wsSocketPath).upgrade("/ws/agent?token=\(token)").status
    }

    @Test func companionAcceptsATokenSignedWithARotatedKey() throws {
        try Stack.with { stack in
            _ = try stack.makeTenant("rot.test")
            try stack.makeUser("rot@rot.test", tenant: "rot.test")
            let before = try stack.tokens("rot@rot.test").access
            let oldKid = try #require(Self.kid(before))
            #expect(try Self.upgradeStatus(stack, before) == 101)
            let session = try #require(try stack.get("/demo/echo", token: before).echoedHeaders)
            let newKid = try #require(try stack.cliOK(["keys", "rotate"]).first?.split(separator: " ").last.map(String.init))
            #expect(newKid != oldKid)
            // A token for the same live session, signed with the new key (the ring's last line).
            let fresh = try stack.mintToken(sub: try #require(session["x-auth-user-id"]), tid: try #require(session["x-auth-tenant-id"]),
                                            email: "rot@rot.test", sid: try #require(session["x-auth-session-id"]))
            #expect(Self.kid(fresh) == newKid)
            try waitFor("the companion to accept a token signed with the new kid \(newKid)", timeout: 5, every: 50_000) {
                try Self.upgradeStatus(stack, fresh) == 101
            }
            // Tokens signed before the rotation still work.
            #expect(try Self.upgradeStatus(stack, before) == 101)
        }
    }

    @Test func closes4003OnPasswordChangeAndOnUserDisable() throws {
        try Stack.with { stack in
            _ = try stack.makeTenant("demo.local")
            try stack.makeUser("bob@demo.local", tenant: "demo.local")
            try stack.makeUser("carol@demo.local", tenant: "demo.local")

            // Password change through the API (another session of bob's): the socket, through
            // TLS nginx, is closed 4003 within 1 s.
            let changer = try stack.tokens("bob@demo.local"), watched = try stack.tokens("bob@demo.local")
            let (c, proc) = try WSTestClient.tls(port: stack.port, caFile: stack.certPath)
            defer { proc.stop(grace: 1) }
            #expect(try c.upgrade("/ws/agent?token=\(watched.access)").status == 101)
            let change = try stack.post("/api/v1/auth/me/password", json: ["current_password": GateFixture.password,
                                                                          "new_password": "another fine passphrase"],
                                        token: changer.access)
            let changed = Date()
            #expect(change.status == 200, "\(change.text)")
            let close = try c.awaitClose()
            #expect(close?.closeCode == 4003)
            #expect(Date().timeIntervalSince(changed) <= 1.0)

            // `authgate user disable` (the CLI, another process): 4003 within 1 s.
            let carol = try stack.tokens("carol@demo.local")
            let d = try WSTestClient(socketPath: stack.wsSocketPath)
            #expect(try d.upgrade("/ws/agent?token=\(carol.access)").status == 101)
            try stack.cliOK(["user", "disable", "--tenant", "demo.local", "--email", "carol@demo.local"])
            let disabled = Date()
            let closed = try d.awaitClose()
            #expect(closed?.closeCode == 4003)
            #expect(Date().timeIntervalSince(disabled) <= 1.0)
            #expect(try Self.upgradeStatus(stack, carol.access) == 401)
        }
    }

    /// nginx writes the request line (`GET /ws/agent?token=…`) into error-log lines; the `/ws/`
    /// location's error log is kept at `emerg`. With the companion down an upgrade is an
    /// error-level event; the control (a gated location with its upstream down) shows such
    /// events do land in the error log with their query, and are written by then.
    @Test func wsErrorLogNeverHoldsAToken() throws {
        var options = Stack.Options()
        options.companion = false
        options.upstream = false
        try Stack.with(options) { stack in
            _ = try stack.makeTenant("demo.local")
            try stack.makeUser("ann@demo.local", tenant: "demo.local")
            let token = try stack.tokens("ann@demo.local").access
            let (c, proc) = try WSTestClient.tls(port: stack.port, caFile: stack.certPath)
            defer { proc.stop(grace: 1) }
            #expect(try c.upgrade("/ws/agent?token=\(token)").status == 502)
            let marker = "marker-\(UUIDs.random())"
            #expect(try stack.get("/demo/echo?\(marker)", token: token).status == 502)
            try waitFor("the control's error line in nginx's error log") { stack.log("nginx-error").contains(marker) }
            for name in ["nginx-error", "nginx-ws-error", "nginx-access"] {
                #expect(!stack.log(name).contains(token), "\(name) holds the token")
                #expect(!stack.log(name).contains("token="), "\(name) holds a token query")
            }
        }
    }
}
