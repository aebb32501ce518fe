@testable import AuthCrypto
import Foundation
import Testing
@testable import AuthCore
@testable import AuthWS

/// Issue 11 "Found in review": the shared query parser and tenant rule, the companion's header
/// forwarding, and the socket-group audit, in process.
@Suite struct QueryRuleTests {
    /// Spellings PHP and other frameworks read as `tenant_id` (each refused by rule).
    static let disguised = [
        "%20tenant_id", "+tenant_id", "++tenant_id", "%2Btenant_id", "%09tenant_id", "%0Atenant_id",
        "tenant_id%00", "tenant_id%00junk", "tenant_id%20", "TENANT_ID", "Tenant_Id", "tenant%5Fid",
        "%74enant_id", "%2574enant_id", "tenant.id", "tenant+id", "tenant%20id", "tenant[id", "tenant-id",
        "tenant_id[]", "tenant_id[x]", "tenant_id%5B%5D", "tenant_%C4%B0d", "tenant_%C4%B1d",
    ]

    @Test func frameworkNames() {
        for raw in Self.disguised {
            #expect(Query.frameworkName(Substring(raw)) == "tenant_id", "\(raw) -> \(Query.frameworkName(Substring(raw)))")
        }
        for raw in ["tenants", "tenant_idx", "my_tenant_id", "tenant", "x", "tenant_i_d", "%zz"] {
            #expect(Query.frameworkName(Substring(raw)) != "tenant_id", "\(raw)")
        }
    }

    @Test func tenantRule() {
        #expect(Query.tenant("") == .success(nil))
        #expect(Query.tenant("a=1&tenant_id=t1") == .success("t1"))
        #expect(Query.tenant("tenants=1&my_tenant_id=2&x=tenant_id") == .success(nil))
        for raw in Self.disguised {
            #expect(Query.tenant("\(raw)=t2") == .failure(.disguised), "\(raw)")
            #expect(Query.tenant("tenant_id=t1&\(raw)=t2") == .failure(.disguised), "\(raw) after")
            #expect(Query.tenant("\(raw)") == .failure(.disguised), "\(raw) without value")
        }
        #expect(Query.tenant("tenant_id=t1;tenant_id=t1") == .failure(.repeated))
        #expect(Query.tenant("tenant_id=t1&tenant_id=t2") == .failure(.repeated))
        for bad in ["tenant_id=", "tenant_id", "tenant_id=t%31", "tenant_id=t+1"] {
            #expect(Query.tenant(bad) == .failure(.malformedValue), "\(bad)")
        }
    }

    /// The verify path's pre-filter (`Query.mayNameTenant`: `%` or "tenant" in any case) never
    /// skips a name the full rule reads as tenant_id: every disguised spelling, overlapping
    /// partial matches, and 20,000 random names built from the pieces disguises are made of.
    @Test func tenantPrefilterNeverSkipsADisguise() {
        for raw in Self.disguised + ["tenant_id", "ttenant_id", "tetenant_id", "tenatenant", "TeNaNt", "x=1&tEnAnT_iD=2"] {
            #expect(Query.mayNameTenant(Substring(raw)), "\(raw)")
        }
        for raw in ["page=2", "tenan=1", "t_enant=1", "tenan_t", "ten ant", ""] {
            #expect(!Query.mayNameTenant(Substring(raw)), "\(raw)")
            #expect(Query.tenant(raw) == .success(nil))
        }
        // Mutations of "tenant_id" of the kinds the disguise table holds: letter case, %-escapes
        // (single and double), the separator swapped, Turkish i, padding and array suffixes.
        var rng = SplitMix(state: 12)
        var hits = 0
        for _ in 0..<20_000 {
            var name = ""
            for c in "tenant_id" {
                let r = rng.next() % 10
                switch (c, r) {
                case ("_", 0): name += "."
                case ("_", 1): name += "-"
                case ("_", 2): name += "%5F"
                case ("i", 0): name += "ı"
                case ("i", 1): name += "%C4%B0"
                case (_, 3): name += String(c).uppercased()
                case (_, 4): name += String(format: "%%%02X", Int(c.asciiValue ?? 0))
                case (_, 5): name += String(format: "%%25%02X", Int(c.asciiValue ?? 0))
                default: name.append(c)
                }
            }
            switch rng.next() % 6 {
            case 0: name = "+" + name
            case 1: name = "%20" + name
            case 2: name += "%00junk"
            case 3: name += "[]"
            default: break
            }
            guard Query.frameworkName(Substring(name)) == "tenant_id" else { continue }
            hits += 1
            #expect(Query.mayNameTenant(Substring(name)), "\(name) reads as tenant_id but was skipped")
            #expect(Query.tenant(Substring(name + "=t2")) == .failure(.disguised) || name == "tenant_id", "\(name)")
        }
        #expect(hits > 5_000, "the generator must produce names the rule reads as tenant_id (\(hits))")
    }

    @Test func oneDecoder() {
        #expect(Query.decode("a%2Eb") == "a.b")
        #expect(Query.decode("a+b") == "a b")
        #expect(Query.decode("a%2") == nil && Query.decode("a%zz") == nil && Query.decode("%ff") == nil)
        #expect(Query.decode("a%2", lenient: true) == "a%2")
        #expect(Query.parameters("a=1;b&&c=") .map { "\($0.name)|\($0.value ?? "nil")" } == ["a|1", "b|nil", "c|"])
    }

    @Test func gateRefusesDisguisedTenantForEveryKind() throws {
        let h = try APIHarness()
        let t = try h.tenant("acme.test")
        let other = try h.tenant("other.test")
        try h.user("admin@acme.test", tenant: t, role: "admin")
        let (admin, _) = h.login("admin@acme.test")
        let pid = try #require(h.call("POST", "/api/v1/projects", json: #"{"name":"p"}"#, bearer: admin).json?.data?["id"]?.stringValue)
        let key = try #require(h.call("POST", "/api/v1/projects/\(pid)/api-keys", json: "{}", bearer: admin).json?.data?["key"]?.stringValue)
        let node = try #require(h.call("POST", "/api/v1/admin/nodes", json: #"{"name":"n"}"#, bearer: admin).json?.data?["key"]?.stringValue)
        let cases: [(String, GatePolicy)] = [(admin, GatePolicy()),
                                              (key, GatePolicy(kinds: .apiKey)),
                                              (node, GatePolicy(kinds: .node))]
        for (credential, policy) in cases {
            #expect(h.call("GET", "/x?tenant_id=\(t.id)", bearer: credential, verify: policy).status == 204)
            #expect(h.call("GET", "/x?tenant_id=\(other.id)", bearer: credential, verify: policy).status == 403)
            for raw in Self.disguised {
                let r = h.call("GET", "/x?\(raw)=\(other.id)", bearer: credential, verify: policy)
                #expect(r.status == 403 && r.response.header("X-Auth-Error") == "forbidden", "\(policy) ?\(raw)")
            }
        }
    }
}

@Suite struct CompanionForwardingTests {
    static func head(_ text: String) -> HTTPHead? {
        var p = HTTPUpgradeParser()
        guard case let .complete(head, _) = p.feed(Array(text.utf8)) else { return nil }
        return head
    }

    @Test func hopByHopBodyAndUnderscoreIdentityHeadersAreDropped() throws {
        let text = "GET /ws/agent?token=a.b.c HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade, X-Secret\r\n"
            + "X-Secret: s1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nTrailer: X-T\r\nProxy-Authorization: Basic eA==\r\n"
            + "Proxy-Connection: keep-alive\r\nContent-Length: 0\r\nX_Auth_Role: platform_admin\r\nx_auth_user_id: evil\r\n"
            + "X-AUTH_TENANT-ID: evil-tenant\r\nX-Keep: yes\r\n\r\n"
        let head = try #require(Self.head(text))
        let id = WSIdentity(userID: "u1", tenantID: "t1", role: "agent", email: "a@b.c", sessionID: "s1", iat: 0, exp: 0)
        let out = String(decoding: Companion.forwardedRequest(head, path: "/ws/agent", query: "", identity: id), as: UTF8.self)
        let names = out.split(separator: "\r\n").dropFirst().compactMap { $0.split(separator: ":").first?.lowercased() }
        for gone in ["x-secret", "keep-alive", "te", "trailer", "proxy-authorization", "proxy-connection", "content-length",
                     "x_auth_role", "x_auth_user_id", "x-auth_tenant-id"] {
            #expect(!names.contains(gone), "\(gone) forwarded")
        }
        #expect(!out.contains("platform_admin") && !out.contains("evil") && !out.contains("s1\r\nKeep"))
        #expect(names.filter { $0 == "upgrade" }.count == 1 && names.filter { $0 == "connection" }.count == 1)
        #expect(out.contains("Upgrade: websocket\r\nConnection: Upgrade\r\n") && out.contains("X-Keep: yes\r\n"))
        #expect(out.contains("X-Auth-Role: agent\r\n") && out.contains("X-Auth-Tenant-Id: t1\r\n"))
    }

    @Test func bodiesOnAnUpgradeAreRefused() throws {
        let base = "GET /ws/agent HTTP/1.1\r\nHost: x\r\n"
        #expect(Companion.carriesBody(try #require(Self.head(base + "Transfer-Encoding: chunked\r\n\r\n"))))
        #expect(Companion.carriesBody(try #require(Self.head(base + "Content-Length: 5\r\n\r\n"))))
        #expect(!Companion.carriesBody(try #require(Self.head(base + "Content-Length: 0\r\n\r\n"))))
        #expect(!Companion.carriesBody(try #require(Self.head(base + "\r\n"))))
    }

    @Test func tokenAndTenantThroughTheSharedParser() {
        #expect(Companion.splitToken("token=a.b.c;room=1") == ("a.b.c", "room=1"))
        #expect(Companion.splitToken("%74oken=x.y.z&token=a.b.c") == (nil, ""))
        #expect(Companion.splitToken("token=a%zz") == (nil, ""))
        let id = WSIdentity(userID: "u1", tenantID: "t1", role: "agent", email: "a@b.c", sessionID: "s1", iat: 0, exp: 0)
        #expect(Companion.tenantRefusal("room=1", identity: id) == nil)
        #expect(Companion.tenantRefusal("tenant_id=t1", identity: id) == nil)
        #expect(Companion.tenantRefusal("tenant_id=t2", identity: id)?.status == 403)
        for raw in QueryRuleTests.disguised {
            #expect(Companion.tenantRefusal(Substring("\(raw)=t1"), identity: id)?.status == 403, "\(raw)")
        }
    }
}

@Suite struct SocketGroupAuditTests {
    let group = "root:x:0:\nwww-data:x:33:\nauthgate-nginx:x:990:www-data\nweb:x:991:www-data, deploy\n"
    let passwd = "root:x:0:0::/root:/bin/bash\nwww-data:x:33:33::/var/www:/usr/sbin/nologin\n"
        + "php:x:1001:33::/home/php:/bin/sh\nweb:x:1002:991::/home/web:/bin/sh\n"

    @Test func othersInTheSocketGroupAreNamed() {
        #expect(SocketGroupAudit.otherUsers(group: "www-data", nginxUser: "www-data", groupFile: group, passwdFile: passwd) == ["php"])
        #expect(SocketGroupAudit.otherUsers(group: "web", nginxUser: "www-data", groupFile: group, passwdFile: passwd) == ["deploy", "web"])
        #expect(SocketGroupAudit.otherUsers(group: "authgate-nginx", nginxUser: "www-data", groupFile: group, passwdFile: passwd).isEmpty)
        #expect(SocketGroupAudit.warning(group: "authgate-nginx", nginxUser: "www-data", groupFile: group, passwdFile: passwd) == nil)
        let w = SocketGroupAudit.warning(group: "www-data", nginxUser: "www-data", groupFile: group, passwdFile: passwd)
        #expect(w?.contains("php") == true && w?.contains("dedicated group") == true)
    }
}
