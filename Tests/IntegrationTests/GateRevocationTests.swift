import Foundation
import Testing

/// Issue 4: every revocation is honoured on every responder worker within 1 s with the verify
/// micro-cache on (threads >= 4, each verify a new connection, so different workers answer).
@Suite("Gate: revocation within 1 s through nginx")
struct GateRevocationTests {
    /// The promise: no request started 1 s or more after the revocation is let through
    /// (`secondsUntil` measures to the start of the last allowed request, so curl's own latency
    /// needs no slack).
    static let bound = 1.0

    static func options() -> Stack.Options {
        var o = Stack.Options()
        o.threads = 4
        o.verifyCacheSeconds = 1
        return o
    }

    /// Warms the cache and several workers, revokes, then measures until `path` answers 401.
    static func expectRevoked(_ stack: Stack, _ what: String, path: String = "/demo/echo", token: String,
                              revoke: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) throws {
        for _ in 0..<4 { #expect(try stack.get(path, token: token).status == 200, "\(what): before", sourceLocation: sourceLocation) }
        try revoke()
        let took = try stack.secondsUntil(path, token: token, answers: 401)
        #expect(took != nil && took! < bound, "\(what): allowed until \(took.map { String($0) } ?? "forever") s after",
                sourceLocation: sourceLocation)
    }

    @Test(arguments: GateDoor.allCases) func userRevocations(door: GateDoor) throws {
        try Stack.with(door.options(Self.options())) { stack in
            _ = try stack.makeTenant("demo.local")
            for name in ["u1", "u2", "u3", "u4", "u5", "u6", "u7"] {
                try stack.makeUser("\(name)@demo.local", tenant: "demo.local", role: "admin")
            }
            let u1 = try stack.tokens("u1@demo.local")
            try Self.expectRevoked(stack, "logout", token: u1.access) {
                let r = try stack.post("/api/v1/auth/logout", token: u1.access)
                #expect(r.status == 200)
            }
            let u2a = try stack.tokens("u2@demo.local"), u2b = try stack.tokens("u2@demo.local")
            try Self.expectRevoked(stack, "password change", token: u2b.access) {
                let r = try stack.post("/api/v1/auth/me/password", json: ["current_password": GateFixture.password,
                                                                          "new_password": "another fine passphrase"],
                                       token: u2a.access)
                #expect(r.status == 200)
            }
            let u3 = try stack.tokens("u3@demo.local")
            let sid = try #require(try stack.get("/demo/echo", token: u3.access).echoedHeaders["x-auth-session-id"])
            try Self.expectRevoked(stack, "CLI session revoke --session", path: "/demo/admin", token: u3.access) {
                try stack.cliOK(["session", "revoke", "--session", sid])
            }
            let u4 = try stack.tokens("u4@demo.local")
            let u4id = try #require(try stack.get("/demo/echo", token: u4.access).echoedHeaders["x-auth-user-id"])
            try Self.expectRevoked(stack, "CLI session revoke --user", path: "/demo/fcgi-echo", token: u4.access) {
                try stack.cliOK(["session", "revoke", "--user", u4id])
            }
            let u5 = try stack.tokens("u5@demo.local")
            try Self.expectRevoked(stack, "CLI user disable", token: u5.access) {
                try stack.cliOK(["user", "disable", "--tenant", "demo.local", "--email", "u5@demo.local"])
            }
            #expect(try stack.login("u5@demo.local").status == 401)
            let u6 = try stack.tokens("u6@demo.local")
            try Self.expectRevoked(stack, "CLI user set-role", path: "/demo/admin", token: u6.access) {
                try stack.cliOK(["user", "set-role", "--tenant", "demo.local", "--email", "u6@demo.local", "--role", "agent"])
            }
            // A fresh login carries the new role: the admin location now refuses it.
            #expect(try stack.get("/demo/admin", token: try stack.tokens("u6@demo.local").access).status == 403)
            let u7 = try stack.tokens("u7@demo.local")
            try Self.expectRevoked(stack, "CLI session revoke --all", token: u7.access) {
                try stack.cliOK(["session", "revoke", "--all"])
            }
        }
    }

    @Test(arguments: GateDoor.allCases) func keyAndNodeRevocations(door: GateDoor) throws {
        try Stack.with(door.options(Self.options())) { stack in
            let w = try GateWorld(stack)
            let admin = try stack.tokens("admin@demo.local").access
            try Self.expectRevoked(stack, "CLI apikey revoke", path: "/demo/ingest", token: w.apiKey) {
                try stack.cliOK(["apikey", "revoke", "--id", w.apiKeyID])
            }
            let made = try stack.post("/api/v1/projects/\(w.project)/api-keys", json: ["name": "api"], token: admin)
            let key = try #require(made.data["key"] as? String), keyID = try #require(made.data["id"] as? String)
            try Self.expectRevoked(stack, "API apikey revoke", path: "/demo/ingest", token: key) {
                let r = try stack.client.request("DELETE", "/api/v1/projects/\(w.project)/api-keys/\(keyID)",
                                                 headers: ["Authorization": "Bearer \(admin)"])
                #expect(r.status == 200)
            }
            try Self.expectRevoked(stack, "CLI node revoke", path: "/demo/node", token: w.nodeKey) {
                try stack.cliOK(["node", "revoke", "--id", w.nodeID])
            }
            #expect(try stack.get("/api/v1/nodes/me", token: w.nodeKey).status == 401)
            let node = try stack.post("/api/v1/admin/nodes", json: ["name": "edge-2"], token: admin)
            let nodeKey = try #require(node.data["key"] as? String), nodeID = try #require(node.data["id"] as? String)
            try Self.expectRevoked(stack, "API node revoke", path: "/demo/node", token: nodeKey) {
                let r = try stack.client.request("DELETE", "/api/v1/admin/nodes/\(nodeID)",
                                                 headers: ["Authorization": "Bearer \(admin)"])
                #expect(r.status == 200)
            }
        }
    }
}
