import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 11 "Found in review", through real nginx: the verify micro-cache's place and contents,
/// policy-derived cache keys, rate limits on password change and logout, underscore header
/// spellings, and tenant_id spellings on every credential kind and on WebSocket upgrades.
@Suite("Gate hardening through nginx")
struct GateHardeningTests {
    /// Files under `dir` whose bytes contain `needle`.
    static func files(under dir: String, containing needle: String) -> [String] {
        guard let walk = FileManager.default.enumerator(atPath: dir) else { return [] }
        let n = Data(needle.utf8)
        return walk.compactMap { $0 as? String }.filter { rel in
            guard let d = FileManager.default.contents(atPath: dir + "/" + rel) else { return false }
            return d.range(of: n) != nil
        }
    }

    @Test(arguments: GateDoor.allCases) func cacheLivesInTheRunDirAndNeverHoldsKeys(door: GateDoor) throws {
        try Stack.with(door.options()) { stack in
            let w = try GateWorld(stack)
            let alice = try stack.tokens("alice@demo.local").access
            for _ in 0..<2 {
                #expect(try stack.get("/demo/echo", token: alice).status == 200)
                #expect(try stack.get("/demo/ingest", token: w.apiKey).status == 200)
                #expect(try stack.get("/demo/node", token: w.nodeKey).status == 200)
            }
            let http = try String(contentsOfFile: stack.dir + "/nginx/snippets/authgate-http.conf", encoding: .utf8)
            // The FastCGI door's cache, or the HTTP door's own (proxy_cache, "$CACHE_DIR-http").
            let (directive, name) = door == .http ? ("proxy_cache_path ", "verify-cache-http") : ("fastcgi_cache_path ", "verify-cache")
            let cachePath = http.split(separator: "\n").filter { $0.hasPrefix(directive) }
            #expect(cachePath.count == 1 && cachePath[0].hasPrefix("\(directive)\(stack.dir)/\(name) "), "\(cachePath)")
            let shm = (try? FileManager.default.contentsOfDirectory(atPath: "/dev/shm")) ?? []
            #expect(!shm.contains { $0.contains("authgate") && $0.contains("-\(stack.port)-") }, "\(shm)")

            let cache = stack.dir + "/" + name
            let attributes = try FileManager.default.attributesOfItem(atPath: cache)
            #expect((attributes[.posixPermissions] as? Int) == 0o700)
            if geteuid() == 0, let nginx = getpwnam("www-data") {
                #expect((attributes[.ownerAccountID] as? Int).map { uid_t($0) } == nginx.pointee.pw_uid)
            }
            // The session token is cached (so the scan works); the long-lived keys never are.
            try waitFor("the session token in a cache file", timeout: 5) { !Self.files(under: cache, containing: alice).isEmpty }
            #expect(Self.files(under: cache, containing: w.apiKey).isEmpty)
            #expect(Self.files(under: cache, containing: w.nodeKey).isEmpty)

            // A revoked key is denied on the very next request, not a cached second later.
            #expect(try stack.get("/demo/ingest", token: w.apiKey).status == 200)
            // (Another process revokes: the responder's state applies it within its 10 ms poll.)
            _ = try stack.cliOK(["apikey", "revoke", "--id", w.apiKeyID])
            try waitFor("the revoked API key to be denied", timeout: 0.5, every: 2_000) {
                try stack.get("/demo/ingest", token: w.apiKey).status == 401
            }
            #expect(try stack.get("/demo/node", token: w.nodeKey).status == 200)
            _ = try stack.cliOK(["node", "revoke", "--id", w.nodeID])
            try waitFor("the revoked node key to be denied", timeout: 0.5, every: 2_000) {
                try stack.get("/demo/node", token: w.nodeKey).status == 401
            }
        }
    }

    @Test(arguments: GateDoor.allCases) func policiesNeverShareACachedAllow(door: GateDoor) throws {
        try Stack.with(door.options()) { stack in
            let w = try GateWorld(stack)
            let alice = try stack.tokens("alice@demo.local").access
            let root = try stack.tokens("root@platform.local").access
            // Same credential, same URI shape, within the same second: each policy decides itself.
            for _ in 0..<3 {
                #expect(try stack.get("/demo/echo", token: alice).status == 200)
                #expect(try stack.get("/demo/admin", token: alice).status == 403)
                #expect(try stack.get("/demo/admin", token: root).status == 200)
                #expect(try stack.get("/demo/ingest", token: root).status == 403)
                #expect(try stack.get("/demo/node", token: root).status == 403)
            }
            #expect(try stack.get("/demo/ingest", token: w.apiKey).status == 200)
            // Nothing typed by hand: every verify location takes its key from the shared snippet,
            // and that key starts with the location ($uri) and the policy variables.
            let snippets = stack.dir + "/nginx/snippets/"
            let verify = try String(contentsOfFile: snippets + "authgate-verify.conf", encoding: .utf8)
            #expect(!verify.contains("fastcgi_cache_key") && !verify.contains("AUTH_ALLOW"))
            let blocks = verify.components(separatedBy: "location = /_authgate/verify/").dropFirst()
            // user, api_key, node, user-aal2 (issue 21), admin.
            #expect(blocks.count == 5 && blocks.allSatisfy { $0.contains("include snippets/authgate-verify-location.conf;") })
            let cache = try String(contentsOfFile: snippets + "authgate-verify-cache.conf", encoding: .utf8)
            // The required level (AUTH_REQUIRE_AAL) is part of the policy in the key too.
            #expect(cache.contains(#"fastcgi_cache_key "$uri|$authgate_allow|$authgate_roles|$authgate_require_aal|"#))
            // The HTTP door's locations and key the same way: user, api_key, node, user-aal2, admin,
            // browser, browser-aal2.
            let http = try String(contentsOfFile: snippets + "authgate-verify-http.conf", encoding: .utf8)
            let httpBlocks = http.components(separatedBy: "location = /_authgate/verify-http/").dropFirst()
            #expect(httpBlocks.count == 7 && httpBlocks.allSatisfy { $0.contains("include snippets/authgate-verify-http-location.conf;") })
            let httpCache = try String(contentsOfFile: snippets + "authgate-verify-http-cache.conf", encoding: .utf8)
            #expect(httpCache.contains(#"proxy_cache_key "$uri|$authgate_allow|$authgate_roles|$authgate_require_aal|"#))
        }
    }

    @Test func passwordChangeAndLogoutAreRateLimited() throws {
        var options = Stack.Options()
        options.environment["AUTH_LOGIN_RATE"] = "1r/s"
        options.environment["AUTH_LOGIN_BURST"] = "2"
        try Stack.with(options) { stack in
            _ = try GateWorld(stack)
            let alice = try stack.tokens("alice@demo.local").access
            func burst(_ send: () throws -> HTTPSResult) throws -> [HTTPSResult] { try (0..<6).map { _ in try send() } }
            let password = try burst {
                try stack.post("/api/v1/auth/me/password", json: ["current_password": "wrong wrong wrong",
                                                                 "new_password": "a brand new passphrase"], token: alice)
            }
            let limited = password.filter { $0.status == 429 }
            #expect(!limited.isEmpty, "\(password.map(\.status))")
            #expect(limited.allSatisfy { ($0.json["error"] as? [String: Any])?["code"] as? String == "rate_limited" })
            #expect(limited.allSatisfy { $0.header("retry-after") != nil })
            #expect(password.allSatisfy { $0.status == 401 || $0.status == 429 }, "\(password.map(\.status))")
            let logout = try burst { try stack.post("/api/v1/auth/logout", token: "garbage.garbage.garbage") }
            #expect(logout.contains { $0.status == 429 }, "\(logout.map(\.status))")
        }
    }

    @Test(arguments: GateDoor.allCases) func underscoreIdentityHeadersNeverReachApps(door: GateDoor) throws {
        try Stack.with(door.options()) { stack in
            let w = try GateWorld(stack)
            let alice = try stack.tokens("alice@demo.local").access
            let spoof = ["X_Auth_User_Id": "evil-user", "X_AUTH_ROLE": "platform_admin", "x_auth_tenant_id": "evil-tenant",
                         "X-Auth_Kind": "evil-kind"]
            let proxied = try stack.get("/demo/echo", token: alice, headers: spoof)
            #expect(proxied.status == 200)
            let h = proxied.echoedHeaders
            #expect(carriesNoSpoof(h) && !h.keys.contains { $0.contains("_") }, "\(h)")
            #expect(h["x-auth-user-id"] == w.alice && h["x-auth-role"] == "agent")
            let p = try stack.get("/demo/fcgi-echo", token: alice, headers: spoof).echoedParams
            #expect(carriesNoSpoof(p), "\(p)")
            #expect(p["HTTP_X_AUTH_USER_ID"] == w.alice && p["HTTP_X_AUTH_TENANT_ID"] == w.demo)
            // Nor do they sway the gate: no credential is still 401.
            #expect(try stack.client.get("/demo/echo", headers: spoof).status == 401)
        }
    }

    @Test(arguments: GateDoor.allCases) func disguisedTenantIDsAreRefusedForEveryKindAndOnWebSockets(door: GateDoor) throws {
        try Stack.with(door.options()) { stack in
            let w = try GateWorld(stack)
            let alice = try stack.tokens("alice@demo.local").access
            let disguised = ["%20tenant_id", "+tenant_id", "%2Btenant_id", "tenant_id%00", "tenant_id%00x", "TENANT_ID",
                             "%2574enant_id", "tenant_id%5B%5D", "tenant-id", "tenant_%C4%B0d"]
            for raw in disguised {
                #expect(try stack.get("/demo/echo?\(raw)=\(w.other)", token: alice).status == 403, "user ?\(raw)")
                #expect(try stack.get("/demo/fcgi-echo?\(raw)=\(w.other)", token: alice).status == 403, "fcgi ?\(raw)")
                #expect(try stack.get("/demo/ingest?\(raw)=\(w.other)", token: w.apiKey).status == 403, "key ?\(raw)")
                #expect(try stack.get("/demo/node?\(raw)=\(w.other)", token: w.nodeKey).status == 403, "node ?\(raw)")
            }
            #expect(try stack.get("/demo/node?tenant_id=\(w.other)", token: w.nodeKey).status == 403)
            #expect(try stack.get("/demo/node?tenant_id=\(w.demo)", token: w.nodeKey).status == 200)

            try waitFor("the companion to accept", timeout: 10) { UnixSocket.canConnect(stack.wsSocketPath) }
            func upgrade(_ query: String) throws -> Int {
                let (c, proc) = try WSTestClient.tls(port: stack.port, caFile: stack.certPath)
                defer { proc.stop(grace: 1) }
                return try c.upgrade("/ws/agent?token=\(alice)&\(query)").status
            }
            #expect(try upgrade("room=1") == 101)
            #expect(try upgrade("tenant_id=\(w.demo)") == 101)
            for query in ["tenant_id=\(w.other)", "+tenant_id=\(w.other)", "tenant_id%00=\(w.other)", "Tenant.Id=\(w.other)"] {
                #expect(try upgrade(query) == 403, "ws ?\(query)")
            }
        }
    }
}
