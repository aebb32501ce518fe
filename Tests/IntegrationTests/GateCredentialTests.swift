import AuthCrypto
import Foundation
import Testing

/// Issue 4: each credential kind on allowed and refused demo locations; unknown, garbled and
/// oversized credentials are 401s, never 5xx.
@Suite("Gate: credentials through nginx")
struct GateCredentialTests {
    static let locations = ["/demo/gated", "/demo/echo", "/demo/ingest", "/demo/admin", "/demo/node", "/demo/fcgi-echo"]

    @Test(arguments: GateDoor.allCases) func eachCredentialKindOnAllowedAndRefusedLocations(door: GateDoor) throws {
        try Stack.with(door.options()) { stack in
            let w = try GateWorld(stack)
            let alice = try stack.tokens("alice@demo.local"), sam = try stack.tokens("sam@demo.local")
            let admin = try stack.tokens("admin@demo.local"), root = try stack.tokens("root@platform.local")

            // An API key and a node key made through the API by the admin.
            let project = try stack.post("/api/v1/projects", json: ["name": "Via API"], token: admin.access)
            #expect(project.status == 201, "\(project.text)")
            let projectID = try #require(project.data["id"] as? String)
            let made = try stack.post("/api/v1/projects/\(projectID)/api-keys", json: ["name": "sdk"], token: admin.access)
            #expect(made.status == 201, "\(made.text)")
            let apiKeyViaAPI = try #require(made.data["key"] as? String)
            #expect(apiKeyViaAPI.hasPrefix("2s_live_"))
            let node = try stack.post("/api/v1/admin/nodes", json: ["name": "edge-api"], token: admin.access)
            #expect(node.status == 201, "\(node.text)")
            let nodeKeyViaAPI = try #require(node.data["key"] as? String)
            let nodeIDViaAPI = try #require(node.data["id"] as? String)

            // credential -> the locations that let it in (every other one answers 403).
            let allowed: [(String, String, Set<String>)] = [
                ("alice agent", alice.access, ["/demo/gated", "/demo/echo", "/demo/fcgi-echo"]),
                ("sam supervisor", sam.access, ["/demo/gated", "/demo/echo", "/demo/fcgi-echo"]),
                ("admin", admin.access, ["/demo/gated", "/demo/echo", "/demo/admin", "/demo/fcgi-echo"]),
                ("root platform_admin", root.access, ["/demo/gated", "/demo/echo", "/demo/admin", "/demo/fcgi-echo"]),
                ("api key (CLI)", w.apiKey, ["/demo/ingest"]),
                ("api key (API)", apiKeyViaAPI, ["/demo/ingest"]),
                ("node key (CLI)", w.nodeKey, ["/demo/node"]),
                ("node key (API)", nodeKeyViaAPI, ["/demo/node"]),
            ]
            for (name, credential, ok) in allowed {
                for location in Self.locations {
                    let r = try stack.get(location, token: credential)
                    if ok.contains(location) {
                        #expect(r.status == 200, "\(name) at \(location): \(r.status) \(r.text)")
                    } else {
                        #expect(r.status == 403, "\(name) at \(location): \(r.status) \(r.text)")
                        #expect(r.errorCode == "forbidden", "\(name) at \(location)")
                    }
                }
            }

            // The identity each kind hands upstream.
            let user = try stack.get("/demo/echo", token: alice.access).echoedHeaders
            #expect(user["x-auth-kind"] == "user" && user["x-auth-user-id"] == w.alice && user["x-auth-tenant-id"] == w.demo)
            #expect(user["x-auth-role"] == "agent" && user["x-auth-email"] == "alice@demo.local")
            #expect(user["x-auth-session-id"]?.count == 36 && user["x-auth-project-id"] == nil && user["x-auth-node-id"] == nil)
            let ingest = try stack.get("/demo/ingest", token: w.apiKey).echoedHeaders
            #expect(ingest["x-auth-kind"] == "api_key" && ingest["x-auth-project-id"] == w.project)
            #expect(ingest["x-auth-tenant-id"] == w.demo && ingest["x-auth-user-id"] == nil)
            let viaAPI = try stack.get("/demo/ingest", token: apiKeyViaAPI).echoedHeaders
            #expect(viaAPI["x-auth-project-id"] == projectID && viaAPI["x-auth-tenant-id"] == w.demo)
            let edge = try stack.get("/demo/node", token: nodeKeyViaAPI).echoedHeaders
            #expect(edge["x-auth-kind"] == "node" && edge["x-auth-node-id"] == nodeIDViaAPI && edge["x-auth-tenant-id"] == w.demo)
            let fcgi = try stack.get("/demo/fcgi-echo", token: admin.access).echoedParams
            #expect(fcgi["HTTP_X_AUTH_KIND"] == "user" && fcgi["HTTP_X_AUTH_USER_ID"] == w.admin)
            #expect(fcgi["HTTP_X_AUTH_ROLE"] == "admin" && fcgi["HTTP_X_AUTH_PROJECT_ID"] == "")

            // The responder's own routes: node keys at /nodes/me only, admin routes for sessions only.
            let me = try stack.get("/api/v1/nodes/me", token: w.nodeKey)
            #expect(me.status == 200 && me.data["node_id"] as? String == w.nodeID && me.data["tenant_id"] as? String == w.demo)
            #expect(try stack.get("/api/v1/nodes/me", token: alice.access).status == 403)
            #expect(try stack.get("/api/v1/projects", token: w.apiKey).status == 403)
            #expect(try stack.get("/api/v1/admin/nodes", token: w.nodeKey).status == 403)
            #expect(try stack.get("/api/v1/projects", token: alice.access).status == 403)
            #expect(try stack.get("/api/v1/projects", token: admin.access).status == 200)
        }
    }

    @Test(arguments: GateDoor.allCases) func unknownGarbledAndOversizedCredentialsAre401(door: GateDoor) throws {
        try Stack.with(door.options()) { stack in
            let w = try GateWorld(stack)
            let alice = try stack.tokens("alice@demo.local")
            let parts = alice.access.split(separator: ".").map(String.init)
            let tampered = parts[0] + "." + parts[1] + "." + String(parts[2].reversed())
            let noneAlg = Base64URL.encode(Array(#"{"alg":"none","typ":"JWT"}"#.utf8)) + "." + parts[1] + "."
            let expired = try stack.mintToken(sub: w.alice, tid: w.demo, sid: UUIDs.random(), ttl: -120)
            let wrongAudience = try stack.mintToken(sub: w.alice, tid: w.demo, sid: UUIDs.random(), audience: "someone-else")
            let otherKey = mintAccessToken(key: SigningKey(kid: "nope", secret: Crypto.randomBytes(32)), sub: w.alice,
                                           tid: w.demo, email: "alice@demo.local", role: "admin", sid: UUIDs.random())
            let nineKiB = String(repeating: "A", count: 9 * 1024)
            // RFC 6750 §3.1: `error="invalid_token"` when a bearer credential was sent, plain
            // `Bearer` when none was (no Authorization, another scheme, an empty Bearer).
            let noBearer: Set<String> = ["Basic YWxpY2U6cGFzc3dvcmQ=", "Bearer"]
            let bad: [String] = [
                "Bearer 2s_live_" + Base64URL.encode(Crypto.randomBytes(32)),
                "Bearer node_" + Base64URL.encode(Crypto.randomBytes(32)),
                "Bearer " + tampered, "Bearer " + noneAlg, "Bearer " + expired, "Bearer " + wrongAudience,
                "Bearer " + otherKey, "Bearer a.b.c", "Bearer ....", "Bearer eyJ%%%.e30.x", "Bearer \u{00e9}t\u{00e9}",
                "Bearer " + nineKiB, "Bearer eyJ" + nineKiB + ".eyJ" + nineKiB.prefix(64) + ".sig",
                "Bearer 2s_live_" + nineKiB, "Bearer node_" + nineKiB,
                "Basic YWxpY2U6cGFzc3dvcmQ=", "Bearer", "Bearer  " + alice.access + " extra",
            ]
            for location in GateCredentialTests.locations {
                for header in bad {
                    let r = try stack.client.get(location, headers: ["Authorization": header])
                    #expect(r.status == 401, "\(location) \(header.prefix(40)): \(r.status) \(r.text)")
                    #expect(r.errorCode == "invalid_token", "\(location) \(header.prefix(40))")
                    let expected = noBearer.contains(header) ? "Bearer" : #"Bearer error="invalid_token""#
                    #expect(r.headers("www-authenticate") == [expected], "\(location) \(header.prefix(40))")
                }
                let none = try stack.client.get(location)
                #expect(none.status == 401 && none.header("www-authenticate") == "Bearer", "\(location)")
            }
            let sent = try stack.client.get("/demo/echo", headers: ["Authorization": "Bearer " + tampered])
            #expect(sent.header("www-authenticate") == #"Bearer error="invalid_token""#)
            // Nothing crashed: the same token still works, health is fine.
            #expect(try stack.get("/demo/echo", token: alice.access).status == 200)
            #expect(try stack.client.get("/api/v1/health").status == 200)
            #expect(stack.responder?.isRunning == true)
        }
    }
}
