import Foundation
import TestSupport
import Testing

/// Issue 15: the gate cases of the nginx suites, behind real Apache httpd (mod_authnz_fcgi over
/// the loopback TCP port, 2signal profile) and real lighttpd (mod_fastcgi authorizer on the Unix
/// socket, get2dial profile), with a CGI echo app showing what the app receives.
@Suite("Gate: behind Apache httpd and lighttpd")
struct WebServerGateTests {
    static let kinds = WebServerKind.allCases.filter(WebServerFixture.available)

    /// The profile's error envelope: `error.code` and the profile's own shape.
    static func expectError(_ r: HTTPSResult, _ status: Int, _ code: String, profile: String,
                            _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == status, "\(what): \(r.status) \(r.text)", sourceLocation: sourceLocation)
        #expect(r.errorCode == code, "\(what): \(r.text)", sourceLocation: sourceLocation)
        if profile == "get2dial" {
            #expect(r.json["status"] as? String == "error", "\(what): \(r.text)", sourceLocation: sourceLocation)
        } else {
            #expect(r.json.keys.contains("data") && r.json["data"] is NSNull, "\(what): \(r.text)", sourceLocation: sourceLocation)
        }
        #expect(r.header("content-type")?.hasPrefix("application/json") == true, "\(what): \(r.headerList)",
                sourceLocation: sourceLocation)
    }

    @Test(arguments: kinds)
    func kindsRolesAndIdentity(_ kind: WebServerKind) throws {
        let profile = kind == .apache ? "2signal" : "get2dial"
        try WebServerFixture.with(kind, profile: profile) { f in
            let w = try GateWorld(f.stack)
            try f.stack.cliOK(["user", "create", "--tenant", "demo.local", "--email", "pat@demo.local", "--role", "agent",
                               "--password-stdin", "--must-change-password"], stdin: GateFixture.password + "\n")
            let alice = try f.tokens("alice@demo.local").access
            let admin = try f.tokens("admin@demo.local").access
            let root = try f.tokens("root@platform.local").access

            // 401: none / garbage, with WWW-Authenticate and the profile's JSON body.
            let none = try f.get("/u/echo.sh")
            Self.expectError(none, 401, "invalid_token", profile: profile, "no credential")
            #expect(none.header("www-authenticate") == "Bearer")
            let bad = try f.get("/u/echo.sh", token: "eyJhbGciOiJIUzI1NiJ9.e30.bad")
            Self.expectError(bad, 401, "invalid_token", profile: profile, "garbage token")
            #expect(bad.header("www-authenticate")?.contains("invalid_token") == true)

            // User token: the app receives the identity from the authorizer's Variable-AUTH_*.
            let ok = try f.get("/u/echo.sh", token: alice)
            #expect(ok.status == 200, "\(ok.status) \(ok.text)")
            let e = ok.echoed
            #expect(e["AUTH_KIND"] == "user" && e["AUTH_USER_ID"] == w.alice && e["AUTH_TENANT_ID"] == w.demo, "\(e)")
            #expect(e["AUTH_ROLE"] == "agent" && e["AUTH_EMAIL"] == "alice@demo.local" && e["AUTH_SESSION_ID"] != nil, "\(e)")
            let file = try f.get("/gated/plain.txt", token: alice)
            #expect(file.status == 200 && file.text.contains("plain static file"))

            // Kinds per location.
            Self.expectError(try f.get("/u/echo.sh", token: w.apiKey), 403, "forbidden", profile: profile, "api key on /u/")
            let key = try f.get("/k/echo.sh", token: w.apiKey)
            #expect(key.status == 200 && key.echoed["AUTH_KIND"] == "api_key" && key.echoed["AUTH_PROJECT_ID"] == w.project
                    && key.echoed["AUTH_TENANT_ID"] == w.demo && key.echoed["AUTH_USER_ID"] == nil, "\(key.text)")
            Self.expectError(try f.get("/k/echo.sh", token: alice), 403, "forbidden", profile: profile, "user on /k/")
            let node = try f.get("/n/echo.sh", token: w.nodeKey)
            #expect(node.status == 200 && node.echoed["AUTH_KIND"] == "node" && node.echoed["AUTH_NODE_ID"] == w.nodeID
                    && node.echoed["AUTH_TENANT_ID"] == w.demo, "\(node.text)")
            Self.expectError(try f.get("/n/echo.sh", token: w.apiKey), 403, "forbidden", profile: profile, "api key on /n/")
            for token in [alice, w.apiKey, w.nodeKey] {
                #expect(try f.get("/all/echo.sh", token: token).status == 200)
            }
            Self.expectError(try f.get("/k/echo.sh", token: "2s_live_unknownunknownunknownunknown"), 401, "invalid_token",
                             profile: profile, "unknown api key")

            // Roles.
            Self.expectError(try f.get("/a/echo.sh", token: alice), 403, "forbidden", profile: profile, "agent on /a/")
            #expect(try f.get("/a/echo.sh", token: admin).echoed["AUTH_ROLE"] == "admin")
            #expect(try f.get("/a/echo.sh", token: root).echoed["AUTH_ROLE"] == "platform_admin")
            let pat = try f.tokens("pat@demo.local").access
            Self.expectError(try f.get("/u/echo.sh", token: pat), 403, "password_change_required", profile: profile, "pending change")

            // Spoofed identity headers never reach the app (Apache overwrites X-Auth-* with the
            // verified values, lighttpd removes them); underscore spellings are refused.
            let spoof = try f.get("/u/echo.sh", token: alice, headers: spoofedHeaders)
            #expect(spoof.status == 200 && carriesNoSpoof(spoof.echoed), "\(spoof.text)")
            #expect(spoof.echoed["AUTH_ROLE"] == "agent" && (spoof.echoed["HTTP_X_AUTH_ROLE"] ?? "agent") == "agent")
            #expect(spoof.echoed["HTTP_X_ORIGINAL_URI"] == nil && spoof.echoed["HTTP_X_ORIGINAL_METHOD"] == nil)
            for name in ["X_Auth_Role", "X-Auth_Tenant-Id", "x_auth_user_id", "X_Original_URI"] {
                let r = try f.get("/u/echo.sh", token: alice, headers: [name: "platform_admin-evil"])
                #expect(r.status == 403 || (r.status == 200 && carriesNoSpoof(r.echoed)), "\(name): \(r.status) \(r.text)")
            }
            // Nothing identity-like without a gate either (a client cannot plant AUTH_* variables).
            let unprotected = try f.get("/plain.txt", headers: ["Auth-Kind": "user"])
            #expect(unprotected.status == 200)
        }
    }

    @Test(arguments: kinds)
    func tenantRulesRevocationAndRefresh(_ kind: WebServerKind) throws {
        let profile = kind == .apache ? "get2dial" : "2signal"
        try WebServerFixture.with(kind, profile: profile) { f in
            let w = try GateWorld(f.stack)
            let alice = try f.tokens("alice@demo.local").access
            let root = try f.tokens("root@platform.local").access

            // ?tenant_id= exactly as behind nginx (read from REQUEST_URI by the responder).
            let own = try f.get("/u/echo.sh?tenant_id=\(w.demo)", token: alice)
            #expect(own.status == 200 && own.echoed["AUTH_TENANT_ID"] == w.demo && own.echoed["AUTH_HOME_TENANT_ID"] == nil)
            for query in ["tenant_id=\(w.other)", "a=1&tenant_id=\(w.other)", "tenant_id=\(w.demo)&tenant_id=\(w.demo)",
                          "tenant%5Fid=\(w.other)", "%74enant_id=\(w.other)", "tenant_id="] {
                Self.expectError(try f.get("/u/echo.sh?\(query)", token: alice), 403, "forbidden", profile: profile, "alice ?\(query)")
            }
            let cross = try f.get("/u/echo.sh?tenant_id=\(w.other)", token: root)
            #expect(cross.status == 200 && cross.echoed["AUTH_TENANT_ID"] == w.other
                    && cross.echoed["AUTH_HOME_TENANT_ID"] == w.platform, "\(cross.text)")
            #expect(try f.get("/k/echo.sh?tenant_id=\(w.other)", token: w.apiKey).status == 403)
            #expect(try f.get("/n/echo.sh?tenant_id=\(w.other)", token: w.nodeKey).status == 403)

            // Login and refresh through the server; the refreshed token passes the gate.
            let sam = try f.tokens("sam@demo.local")
            let refreshed = try f.post("/api/v1/auth/refresh", json: ["refresh_token": sam.refresh])
            #expect(refreshed.status == 200, "\(refreshed.text)")
            let samAccess = refreshed.data[f.accessField] as? String ?? ""
            #expect(try f.get("/u/echo.sh", token: samAccess).echoed["AUTH_USER_ID"] == w.sam)
            Self.expectError(try f.get("/api/v1/auth/me"), 401, "invalid_token", profile: profile, "API me without token")

            // Revocation: a logout through the server is denied on the very next request; a CLI
            // revocation (another process) within the verify state's refresh bound.
            #expect(try f.post("/api/v1/auth/logout", token: samAccess).status == 200)
            Self.expectError(try f.get("/u/echo.sh", token: samAccess), 401, "invalid_token", profile: profile, "after logout")
            #expect(try f.get("/u/echo.sh", token: alice).status == 200)
            try f.stack.cliOK(["session", "revoke", "--user", w.alice])
            try waitFor("alice's revoked session to be denied through \(kind)", timeout: 1) {
                try f.get("/u/echo.sh", token: alice).status == 401
            }
            let key = try f.stack.cliOK(["apikey", "create", "--project", w.project, "--name", "short-lived"])
            // A key made by another process is known to the gate once its verify state has read
            // the change (within the refresh bound), as a revocation is.
            try waitFor("the new API key to pass through \(kind)", timeout: 2) {
                try f.get("/k/echo.sh", token: key.last ?? "").status == 200
            }
            try f.stack.cliOK(["apikey", "revoke", "--id", key.first ?? ""])
            try waitFor("the revoked API key to be denied through \(kind)", timeout: 1) {
                try f.get("/k/echo.sh", token: key.last ?? "").status == 401
            }
        }
    }
}
