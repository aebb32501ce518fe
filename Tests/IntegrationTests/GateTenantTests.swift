import Foundation
import Testing

/// Issue 4: `?tenant_id=` rules (cross-tenant platform_admin, confinement, repeated and
/// %-encoded forms) and node identity forcing, through nginx with the micro-cache on.
@Suite("Gate: tenant rules through nginx")
struct GateTenantTests {
    @Test(arguments: GateDoor.allCases) func tenantIDRules(door: GateDoor) throws {
        try Stack.with(door.options()) { stack in
            let w = try GateWorld(stack)
            let alice = try stack.tokens("alice@demo.local").access
            let root = try stack.tokens("root@platform.local").access

            // Warm the cache with a plain allow: it must never serve a tenant_id request.
            #expect(try stack.get("/demo/echo", token: alice).status == 200)
            let own = try stack.get("/demo/echo?tenant_id=\(w.demo)", token: alice)
            #expect(own.status == 200 && own.echoedHeaders["x-auth-tenant-id"] == w.demo)
            #expect(own.echoedHeaders["x-auth-home-tenant-id"] == nil)
            let refusedForAlice = [
                "tenant_id=\(w.other)", "a=1&tenant_id=\(w.other)", "tenant_id=\(w.demo)&tenant_id=\(w.demo)",
                "tenant_id=\(w.demo)&tenant_id=\(w.other)", "tenant%5Fid=\(w.other)", "tenant%5fid=\(w.demo)",
                "%74enant_id=\(w.other)", "tenant_id=%\(String(format: "%02x", w.other.utf8.first!))\(w.other.dropFirst())",
                "tenant_id=", "tenant_id",
            ]
            for query in refusedForAlice {
                let r = try stack.get("/demo/echo?\(query)", token: alice)
                #expect(r.status == 403, "alice ?\(query): \(r.status)")
                #expect(try stack.get("/demo/fcgi-echo?\(query)", token: alice).status == 403, "fcgi ?\(query)")
            }

            // platform_admin: any existing tenant, audited; never a repeated/encoded/unknown one.
            let cross = try stack.get("/demo/echo?tenant_id=\(w.other)", token: root)
            #expect(cross.status == 200)
            #expect(cross.echoedHeaders["x-auth-tenant-id"] == w.other && cross.echoedHeaders["x-auth-home-tenant-id"] == w.platform)
            let crossFCGI = try stack.get("/demo/fcgi-echo?tenant_id=\(w.other)", token: root, headers: spoofedHeaders).echoedParams
            #expect(crossFCGI["HTTP_X_AUTH_TENANT_ID"] == w.other && crossFCGI["HTTP_X_AUTH_HOME_TENANT_ID"] == w.platform)
            let home = try stack.get("/demo/admin", token: root)
            #expect(home.status == 200 && home.echoedHeaders["x-auth-tenant-id"] == w.platform)
            for query in ["tenant_id=\(w.other)&tenant_id=\(w.other)", "tenant%5Fid=\(w.other)",
                          "tenant_id=00000000-0000-4000-8000-000000000000", "tenant_id=\(w.other.uppercased())%00"] {
                #expect(try stack.get("/demo/echo?\(query)", token: root).status == 403, "root ?\(query)")
            }
            #expect(try stack.cliOK(["audit", "--json"]).joined().contains("cross_tenant_access"))

            // API keys: their own tenant only.
            #expect(try stack.get("/demo/ingest?tenant_id=\(w.demo)", token: w.apiKey).status == 200)
            #expect(try stack.get("/demo/ingest?tenant_id=\(w.other)", token: w.apiKey).status == 403)
            #expect(try stack.get("/demo/ingest?tenant_id=\(w.demo)&tenant_id=\(w.demo)", token: w.apiKey).status == 403)
            #expect(try stack.get("/demo/ingest?tenant_id=\(w.demo)", token: w.otherAPIKey).status == 403)
            let otherKey = try stack.get("/demo/ingest", token: w.otherAPIKey).echoedHeaders
            #expect(otherKey["x-auth-tenant-id"] == w.other && otherKey["x-auth-project-id"] == w.otherProject)

            // Node keys: identity forced from the key; another tenant's tenant_id is refused (issue 11).
            #expect(try stack.get("/demo/node?tenant_id=\(w.other)", token: w.nodeKey).status == 403)
            for query in ["", "?tenant_id=\(w.demo)", "?node_id=evil&tenant_id=\(w.demo)"] {
                let r = try stack.get("/demo/node\(query)", token: w.nodeKey, headers: spoofedHeaders)
                #expect(r.status == 200, "node \(query): \(r.status)")
                let h = r.echoedHeaders
                #expect(h["x-auth-tenant-id"] == w.demo && h["x-auth-node-id"] == w.nodeID && h["x-auth-kind"] == "node")
                #expect(h["x-auth-home-tenant-id"] == nil && h["x-auth-user-id"] == nil && carriesNoSpoof(h))
            }
            #expect(try stack.get("/demo/node?tenant_id=\(w.demo)&tenant_id=\(w.other)", token: w.nodeKey).status == 403)
        }
    }
}
