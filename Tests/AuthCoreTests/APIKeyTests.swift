import AuthCrypto
import Foundation
import Testing
@testable import AuthCore

@Suite struct APIKeyAndVerifyTests {
    let user = GatePolicy()
    let keys = GatePolicy(kinds: .apiKey)
    let nodes = GatePolicy(kinds: .node)
    let admins = GatePolicy(roles: ["admin", "platform_admin"])

    @Test func projectsKeysNodesAndTheGate() throws {
        let h = try APIHarness()
        let t = try h.tenant("acme.test")
        try h.user("admin@acme.test", tenant: t, role: "admin")
        try h.user("agent@acme.test", tenant: t, role: "agent")
        let (admin, _) = h.login("admin@acme.test")
        let (agent, _) = h.login("agent@acme.test")
        #expect(h.call("POST", "/api/v1/projects", json: #"{"name":"p"}"#, bearer: agent).status == 403)
        #expect(h.call("POST", "/api/v1/projects", json: #"{"name":"bad\u0001"}"#, bearer: admin).status == 400)
        let proj = h.call("POST", "/api/v1/projects", json: #"{"name":"ingest"}"#, bearer: admin)
        #expect(proj.status == 201)
        let pid = try #require(proj.json?.data?["id"]?.stringValue)
        let made = h.call("POST", "/api/v1/projects/\(pid)/api-keys", json: #"{"name":"sdk"}"#, bearer: admin)
        #expect(made.status == 201)
        let key = try #require(made.json?.data?["key"]?.stringValue)
        #expect(key.hasPrefix("2s_live_"))
        let listed = h.call("GET", "/api/v1/projects/\(pid)/api-keys", bearer: admin)
        #expect(listed.status == 200 && !String(decoding: listed.response.body, as: UTF8.self).contains(key))
        let node = h.call("POST", "/api/v1/admin/nodes", json: #"{"name":"edge-1"}"#, bearer: admin)
        let nodeKey = try #require(node.json?.data?["key"]?.stringValue)
        let nodeID = try #require(node.json?.data?["id"]?.stringValue)
        #expect(nodeKey.hasPrefix("node_"))

        // Gate: each kind where allowed, refused elsewhere.
        // X-Accel-Expires is exactly the current Unix second (so nginx drops the entry at the
        // next boundary): "@" + the second the verify ran in, taken before and after the call.
        let secondBefore = Time.now()
        let ok = h.call("GET", "/x", bearer: agent, verify: user)
        let secondAfter = Time.now()
        #expect(ok.status == 204 && ok.response.header("X-Auth-Kind") == "user")
        let expires = try #require(ok.response.header("X-Accel-Expires"))
        #expect(expires == "@\(secondBefore)" || expires == "@\(secondAfter)", "X-Accel-Expires: \(expires)")
        #expect(ok.response.headers.filter { $0.0.lowercased() == "x-accel-expires" }.count == 1)
        for allowed in [h.call("POST", "/x", bearer: key, verify: keys), h.call("GET", "/x", bearer: nodeKey, verify: nodes)] {
            let value = try #require(allowed.response.header("X-Accel-Expires"))
            #expect(value == "@\(Time.now())" || value == "@\(Time.now() - 1)", "X-Accel-Expires: \(value)")
        }
        // Refusals are never cacheable: no X-Accel-Expires on a 401 or 403.
        #expect(h.call("GET", "/x", bearer: key, verify: user).response.header("X-Accel-Expires") == nil)
        #expect(h.call("GET", "/x", bearer: "2s_live_nope", verify: user).response.header("X-Accel-Expires") == nil)
        #expect(h.call("GET", "/x", bearer: key, verify: user).status == 403)
        let k = h.call("POST", "/x", bearer: key, verify: keys)
        #expect(k.status == 204 && k.response.header("X-Auth-Project-Id") == pid && k.response.header("X-Auth-Tenant-Id") == t.id)
        #expect(h.call("GET", "/x", bearer: agent, verify: keys).status == 403)
        // Node keys: identity forced from the key; naming another tenant is refused (issue 11).
        #expect(h.call("GET", "/x?tenant_id=someone-else", bearer: nodeKey, verify: nodes).status == 403)
        let n = h.call("GET", "/x?tenant_id=\(t.id)", bearer: nodeKey, verify: nodes)
        #expect(n.status == 204 && n.response.header("X-Auth-Node-Id") == nodeID && n.response.header("X-Auth-Tenant-Id") == t.id)
        #expect(h.call("GET", "/x", bearer: agent, verify: admins).status == 403)
        #expect(h.call("GET", "/x", bearer: admin, verify: admins).status == 204)
        #expect(h.call("GET", "/api/v1/nodes/me", bearer: nodeKey).json?.data?["node_id"]?.stringValue == nodeID)
        #expect(h.call("GET", "/api/v1/nodes/me", bearer: key).status == 403)
        #expect(h.call("GET", "/api/v1/projects", bearer: key).status == 403)
        #expect(h.call("GET", "/api/v1/projects", bearer: nodeKey).status == 403)

        // Unknown, garbled and oversized credentials: 401, never anything else.
        for bad in ["2s_live_nope", "node_nope", "a.b.c", "eyJ" + String(repeating: "A", count: 9000), "\u{1}"] {
            let r = h.call("GET", "/x", bearer: bad, verify: user)
            #expect(r.status == 401, "\(bad.prefix(20))")
            #expect(r.response.header("WWW-Authenticate") == "Bearer error=\"invalid_token\"")
        }
        #expect(h.call("GET", "/x", verify: user).response.header("WWW-Authenticate") == "Bearer")

        // Revocations are seen on the next verify.
        let kid = try #require(made.json?.data?["id"]?.stringValue)
        #expect(h.call("DELETE", "/api/v1/projects/\(pid)/api-keys/\(kid)", bearer: admin).status == 200)
        #expect(h.call("GET", "/x", bearer: key, verify: keys).status == 401)
        #expect(h.call("DELETE", "/api/v1/admin/nodes/\(nodeID)", bearer: admin).status == 200)
        #expect(h.call("GET", "/x", bearer: nodeKey, verify: nodes).status == 401)
        #expect(h.call("POST", "/api/v1/auth/logout", bearer: agent).status == 200)
        #expect(h.call("GET", "/x", bearer: agent, verify: user).status == 401)
    }

    @Test func tenantIDRules() throws {
        let h = try APIHarness()
        let platform = try h.tenant("platform.local", platform: true)
        let a = try h.tenant("a.test")
        let b = try h.tenant("b.test")
        try h.user("root@platform.local", tenant: platform, role: "platform_admin")
        try h.user("u@a.test", tenant: a, role: "admin")
        let (root, _) = h.login("root@platform.local")
        let (ua, _) = h.login("u@a.test")
        let cross = h.call("GET", "/x?tenant_id=\(b.id)", bearer: root, verify: user)
        #expect(cross.status == 204)
        #expect(cross.response.header("X-Auth-Tenant-Id") == b.id)
        #expect(cross.response.header("X-Auth-Home-Tenant-Id") == platform.id)
        #expect(h.call("GET", "/x?tenant_id=nonexistent", bearer: root, verify: user).status == 403)
        #expect(h.call("GET", "/x?tenant_id=\(b.id)", bearer: ua, verify: user).status == 403)
        #expect(h.call("GET", "/x?tenant_id=\(a.id)", bearer: ua, verify: user).status == 204)
        #expect(h.call("GET", "/x?tenant_id=\(a.id)&tenant_id=\(a.id)", bearer: ua, verify: user).status == 403)
        #expect(h.call("GET", "/x?tenant%5Fid=\(b.id)", bearer: ua, verify: user).status == 403)
        #expect(h.call("GET", "/x?tenant_id=%61", bearer: root, verify: user).status == 403)
        // Spellings a lenient framework (PHP, case-insensitive parsers, `;` splitting) reads as tenant_id.
        for q in ["tenant.id=\(b.id)", "tenant+id=\(b.id)", "tenant%20id=\(b.id)", "tenant[id=\(b.id)",
                  "tenant_id[]=\(b.id)", "Tenant_Id=\(b.id)", "a=1;tenant_id=\(b.id)", "tenant_id[x]=\(b.id)"] {
            #expect(h.call("GET", "/x?\(q)", bearer: ua, verify: user).status == 403, "\(q)")
        }
        #expect(h.call("GET", "/x?tenantid=1&tenant=2", bearer: ua, verify: user).status == 204)
        // Admin routes honour a platform_admin's tenant_id.
        let p = h.call("POST", "/api/v1/projects?tenant_id=\(b.id)", json: #"{"name":"for b"}"#, bearer: root)
        #expect(p.json?.data?["tenant_id"]?.stringValue == b.id)
        #expect(h.call("GET", "/api/v1/projects?tenant_id=\(b.id)", bearer: ua).status == 403)
    }

    @Test func verifyIgnoresSpoofedOriginalHeaders() throws {
        let h = try APIHarness()
        let t = try h.tenant("a.test")
        try h.user("u@a.test", tenant: t, role: "agent")
        let (tok, _) = h.login("u@a.test")
        let r = h.call("GET", "/x", bearer: tok, headers: ["x-original-uri": "/x?tenant_id=other", "x-auth-role": "admin"],
                       verify: admins)
        #expect(r.status == 403)
    }
}
