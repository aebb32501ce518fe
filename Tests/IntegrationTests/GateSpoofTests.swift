import Foundation
import Testing

/// Issue 4: spoofed X-Auth-* / X-Original-* request headers never reach a proxy_pass or a
/// FastCGI upstream and never sway a decision; large POSTs and DELETEs pass the gate.
@Suite("Gate: spoofing, bodies and methods through nginx")
struct GateSpoofTests {
    @Test(arguments: GateDoor.allCases) func spoofedHeadersNeverReachOrSway(door: GateDoor) throws {
        try Stack.with(door.options()) { stack in
            let w = try GateWorld(stack)
            let alice = try stack.tokens("alice@demo.local")

            // proxy_pass upstream: every X-Auth-* is Authgate's; empty ones are removed.
            let proxied = try stack.get("/demo/echo", token: alice.access, headers: spoofedHeaders)
            #expect(proxied.status == 200, "\(proxied.text)")
            let h = proxied.echoedHeaders
            #expect(carriesNoSpoof(h), "\(h)")
            #expect(h["x-auth-user-id"] == w.alice && h["x-auth-tenant-id"] == w.demo && h["x-auth-role"] == "agent")
            #expect(h["x-auth-kind"] == "user" && h["x-auth-email"] == "alice@demo.local")
            for gone in ["x-auth-home-tenant-id", "x-auth-project-id", "x-auth-node-id", "x-original-uri", "x-original-method"] {
                #expect(h[gone] == nil, "\(gone) reached the upstream: \(h[gone] ?? "")")
            }
            #expect(proxied.json["uri"] as? String == "/demo/echo")

            // FastCGI upstream: HTTP_X_AUTH_* params are Authgate's, the client's copies are gone.
            let fcgi = try stack.get("/demo/fcgi-echo", token: alice.access, headers: spoofedHeaders)
            #expect(fcgi.status == 200, "\(fcgi.text)")
            let p = fcgi.echoedParams
            #expect(carriesNoSpoof(p), "\(p)")
            #expect(p["HTTP_X_AUTH_USER_ID"] == w.alice && p["HTTP_X_AUTH_TENANT_ID"] == w.demo && p["HTTP_X_AUTH_ROLE"] == "agent")
            #expect(p["HTTP_X_AUTH_KIND"] == "user" && p["HTTP_X_AUTH_SESSION_ID"]?.count == 36)
            for empty in ["HTTP_X_AUTH_HOME_TENANT_ID", "HTTP_X_AUTH_PROJECT_ID", "HTTP_X_AUTH_NODE_ID",
                          "HTTP_X_ORIGINAL_URI", "HTTP_X_ORIGINAL_METHOD"] {
                #expect((p[empty] ?? "").isEmpty, "\(empty) = \(p[empty] ?? "")")
            }
            #expect(p["REQUEST_URI"] == "/demo/fcgi-echo")

            // API key and node key upstreams too.
            let ingest = try stack.get("/demo/ingest", token: w.apiKey, headers: spoofedHeaders).echoedHeaders
            #expect(carriesNoSpoof(ingest) && ingest["x-auth-project-id"] == w.project && ingest["x-auth-user-id"] == nil)
            let node = try stack.get("/demo/node", token: w.nodeKey, headers: spoofedHeaders).echoedHeaders
            #expect(carriesNoSpoof(node) && node["x-auth-node-id"] == w.nodeID && node["x-auth-tenant-id"] == w.demo)

            // Nothing the client claims sways a decision.
            for location in ["/demo/echo", "/demo/fcgi-echo", "/demo/admin", "/demo/ingest", "/demo/node", "/demo/gated"] {
                #expect(try stack.client.get(location, headers: spoofedHeaders).status == 401, "\(location)")
            }
            var asAdmin = spoofedHeaders
            asAdmin["X-Auth-Role"] = "admin"
            asAdmin["X-Original-URI"] = "/demo/echo"
            #expect(try stack.get("/demo/admin", token: alice.access, headers: asAdmin).status == 403)
            var asKey = spoofedHeaders
            asKey["X-Auth-Kind"] = "api_key"
            asKey["X-Original-URI"] = "/demo/ingest"
            #expect(try stack.get("/demo/ingest", token: alice.access, headers: asKey).status == 403)
            #expect(try stack.get("/demo/echo", token: w.apiKey, headers: ["X-Original-URI": "/demo/ingest"]).status == 403)
            // The original URI is REQUEST_URI: an X-Original-URI without tenant_id does not hide one.
            let other = try stack.get("/demo/echo?tenant_id=\(w.other)", token: alice.access,
                                      headers: ["X-Original-URI": "/demo/echo", "X-Original-Method": "GET"])
            #expect(other.status == 403)
            // ...and one naming another tenant does not make a plain request cross-tenant.
            let plain = try stack.get("/demo/echo", token: alice.access,
                                      headers: ["X-Original-URI": "/demo/echo?tenant_id=\(w.other)"])
            #expect(plain.status == 200 && plain.echoedHeaders["x-auth-tenant-id"] == w.demo)
        }
    }

    @Test(arguments: GateDoor.allCases) func largePostsAndDeletesPassTheGate(door: GateDoor) throws {
        try Stack.with(door.options()) { stack in
            let w = try GateWorld(stack)
            let alice = try stack.tokens("alice@demo.local")
            let auth = ["Authorization": "Bearer \(alice.access)", "Content-Type": "application/octet-stream"]
            let mebibyte = [UInt8](repeating: UInt8(ascii: "x"), count: 1 << 20)

            let post = try stack.client.request("POST", "/demo/echo", headers: auth, body: mebibyte)
            #expect(post.status == 200, "\(post.status) \(post.text.prefix(200))")
            #expect(post.json["method"] as? String == "POST")
            #expect(post.echoedHeaders["content-length"] == String(1 << 20))
            #expect(post.echoedHeaders["x-auth-user-id"] == w.alice)

            let fcgiPost = try stack.client.request("POST", "/demo/fcgi-echo", headers: auth, body: mebibyte)
            #expect(fcgiPost.status == 200, "\(fcgiPost.status) \(fcgiPost.text.prefix(200))")
            #expect(fcgiPost.json["body_length"] as? Int == 1 << 20)
            #expect(fcgiPost.echoedParams["HTTP_X_AUTH_USER_ID"] == w.alice)

            let ingest = try stack.client.request("POST", "/demo/ingest",
                                                  headers: ["Authorization": "Bearer \(w.apiKey)"], body: mebibyte)
            #expect(ingest.status == 200 && ingest.echoedHeaders["x-auth-project-id"] == w.project)

            for method in ["DELETE", "PUT", "PATCH"] {
                for location in ["/demo/echo", "/demo/fcgi-echo"] {
                    let r = try stack.client.request(method, location, headers: ["Authorization": "Bearer \(alice.access)"])
                    #expect(r.status == 200, "\(method) \(location): \(r.status) \(r.text)")
                    #expect(r.json["method"] as? String == method)
                }
            }
            let small = try stack.client.request("DELETE", "/demo/echo", headers: auth, body: Array("{}".utf8))
            #expect(small.status == 200 && small.json["method"] as? String == "DELETE")

            // Refusals with a body are still 401/403, never 500 or 413.
            let anonymous = try stack.client.request("POST", "/demo/echo", body: mebibyte)
            #expect(anonymous.status == 401)
            let wrongKind = try stack.client.request("POST", "/demo/ingest", headers: auth, body: mebibyte)
            #expect(wrongKind.status == 403)
            let deleteAnonymous = try stack.client.request("DELETE", "/demo/fcgi-echo")
            #expect(deleteAnonymous.status == 401)
            // Over nginx's client_max_body_size (1 MiB): nginx's own JSON 413, not a 500.
            let tooBig = try stack.client.request("POST", "/demo/echo", headers: auth, body: mebibyte + [0x78])
            #expect(tooBig.status == 413 && tooBig.errorCode == "payload_too_large")
        }
    }
}
