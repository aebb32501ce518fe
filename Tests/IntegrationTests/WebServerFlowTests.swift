import Foundation
import TestSupport
import Testing

/// Issue 15: the seeds' own clients, unchanged, against Apache httpd (the API through
/// mod_proxy_fcgi) and against the responder in plain CGI mode under mod_cgi (/auth-cgi), plus
/// the CGI mode's verify decision and key routes.
@Suite("API flows behind Apache httpd and in CGI mode")
struct WebServerFlowTests {
    static let apache = WebServerFixture.available(.apache)

    static func runScript(_ program: String, _ args: [String], base: String,
                          environment: [String: String]) throws -> (Int32, String) {
        var env = ProcessInfo.processInfo.environment
        env["BASE"] = base
        for (k, v) in environment { env[k] = v }
        let r = try Child.run(program, args, environment: env, timeout: 120)
        return (r.status, r.stdout + r.stderr)
    }

    @Test(.enabled(if: apache))
    func twoSignalSeedThroughApacheAndCGI() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/python3"))
        // The seed's password is "password123" (11 characters): allow it for this stack.
        try WebServerFixture.with(.apache, profile: "2signal", environment: ["AUTH_MIN_PASSWORD_LENGTH": "8"]) { f in
            _ = try f.stack.makeTenant("company.com")
            try f.stack.makeUser("alice@company.com", tenant: "company.com", password: "password123")
            for base in [f.baseURL, f.baseURL + "/auth-cgi"] {
                let (status, output) = try Self.runScript("/usr/bin/python3", [Stack.repositoryRoot + "/scripts/seed-2signal.py"],
                                                          base: base, environment: [:])
                #expect(status == 0, "\(base): \(output) \(f.log().suffix(1500))")
                #expect(output.contains("2signal seed flow: ok"), "\(base): \(output)")
            }
        }
    }

    @Test(.enabled(if: apache))
    func get2dialSeedThroughApacheAndCGI() throws {
        try WebServerFixture.with(.apache, profile: "get2dial") { f in
            _ = try f.stack.makeTenant("acme.get2dial.com")
            try f.stack.makeUser("admin@acme.get2dial.com", tenant: "acme.get2dial.com", role: "admin",
                                 password: "first password, long enough")
            // The script changes the password: the CGI run starts from the one the first run set.
            let runs = [(f.baseURL, "first password, long enough", "second password, longer still"),
                        (f.baseURL + "/auth-cgi", "second password, longer still", "third password, longest yet")]
            for (base, password, newPassword) in runs {
                let (status, output) = try Self.runScript("/bin/bash", [Stack.repositoryRoot + "/scripts/seed-get2dial.sh"],
                                                          base: base, environment: ["PASSWORD": password, "NEW_PASSWORD": newPassword])
                #expect(status == 0, "\(base): \(output) \(f.log().suffix(1500))")
                #expect(output.contains("get2dial seed flow: ok"), "\(base): \(output)")
            }
        }
    }

    /// login -> me -> refresh -> logout under mod_cgi (one process per request), the admin key
    /// routes, and the verify decision of a CGI run (AUTH_VERIFY=1 in its environment).
    @Test(.enabled(if: apache))
    func cgiModeUnderModCGI() throws {
        try WebServerFixture.with(.apache, profile: "2signal") { f in
            let w = try GateWorld(f.stack)
            let cgi = "/auth-cgi"
            let health = try f.get(cgi + "/api/v1/health")
            #expect(health.status == 200 && health.data["database"] as? Bool == true, "\(health.text) \(f.log().suffix(1500))")
            let login = try f.tokens("alice@demo.local", prefix: cgi)
            let me = try f.get(cgi + "/api/v1/auth/me", token: login.access)
            #expect(me.status == 200 && me.data["id"] as? String == w.alice, "\(me.text)")
            let refreshed = try f.post(cgi + "/api/v1/auth/refresh", json: ["refresh_token": login.refresh])
            #expect(refreshed.status == 200, "\(refreshed.text)")
            let access = refreshed.data["access_token"] as? String ?? ""
            // The gate (the daemon behind mod_authnz_fcgi) accepts what the CGI mode issued.
            #expect(try f.get("/u/echo.sh", token: access).echoed["AUTH_USER_ID"] == w.alice)
            #expect(try f.post(cgi + "/api/v1/auth/logout", token: access).status == 200)
            WebServerGateTests.expectError(try f.get(cgi + "/api/v1/auth/me", token: access), 401, "invalid_token",
                                           profile: "2signal", "me after logout")
            #expect(try f.post(cgi + "/api/v1/auth/refresh", json: ["refresh_token": refreshed.data["refresh_token"] as? String ?? ""]).status == 401)
            #expect(try f.get("/u/echo.sh", token: access).status == 401)

            // Keys: an admin creates a project and an API key through CGI; the gate accepts the key.
            let admin = try f.tokens("admin@demo.local", prefix: cgi).access
            let project = try f.post(cgi + "/api/v1/projects", json: ["name": "cgi"], token: admin)
            #expect(project.status == 201, "\(project.text)")
            let key = try f.post(cgi + "/api/v1/projects/\(project.data["id"] as? String ?? "")/api-keys", json: [:], token: admin)
            #expect(key.status == 201, "\(key.text)")
            #expect(try f.get("/k/echo.sh", token: key.data["key"] as? String ?? "").echoed["AUTH_PROJECT_ID"] == project.data["id"] as? String)

            // The verify decision of one CGI run, as nginx + fcgiwrap would ask it: in an
            // auth_request subrequest QUERY_STRING is empty, the query is only in REQUEST_URI
            // (CGIVerifyTests has every tenant spelling).
            let fresh = try f.tokens("sam@demo.local").access
            let verify = { (token: String?, allow: String, tenant: String) throws -> ChildOutput in
                var env = f.stack.environment
                env.removeValue(forKey: "AUTH_LISTEN_TCP")
                env["GATEWAY_INTERFACE"] = "CGI/1.1"
                env["REQUEST_METHOD"] = "GET"
                env["REQUEST_URI"] = "/app/page?tenant_id=\(tenant)"
                env["DOCUMENT_URI"] = "/_authgate/verify/user"
                env["QUERY_STRING"] = ""
                env["AUTH_VERIFY"] = "1"
                env["AUTH_ALLOW"] = allow
                if let token { env["HTTP_AUTHORIZATION"] = "Bearer \(token)" }
                return try Child.run(f.root + "/bin/authgate-fcgi", [], environment: env, timeout: 30)
            }
            let allowed = try verify(fresh, "user", w.demo)
            #expect(allowed.status == 0 && allowed.stdout.hasPrefix("Status: 204"), "\(allowed.stdout) \(allowed.stderr)")
            #expect(allowed.stdout.contains("X-Auth-User-Id: \(w.sam)\r\n") && allowed.stdout.contains("X-Auth-Tenant-Id: \(w.demo)\r\n"))
            #expect(try verify(fresh, "user", w.other).stdout.hasPrefix("Status: 403"))
            #expect(try verify(nil, "user", w.demo).stdout.hasPrefix("Status: 401"))
            #expect(try verify(w.apiKey, "user", w.demo).stdout.hasPrefix("Status: 403"))
            #expect(try verify(w.apiKey, "api_key", w.demo).stdout.hasPrefix("Status: 204"))
        }
    }
}

/// AUTH_LISTEN_TCP is loopback only: any other address stops the responder at start.
@Suite("Responder: loopback TCP listener")
struct ResponderTCPListenerTests {
    @Test func nonLoopbackAddressesAreRefused() throws {
        let bin = try Binaries.require("authgate-fcgi")
        let dir = try TempDir("authgate-tcp")
        for spec in ["0.0.0.0:9100", "192.0.2.1:9100", "[::]:9100", "localhost:9100", "127.0.0.1:0"] {
            var env = ProcessInfo.processInfo.environment
            env["AUTH_SOCKET"] = dir.path + "/authgate.sock"
            env["AUTH_DB_PATH"] = dir.path + "/authgate.db"
            env["AUTH_KEYS_FILE"] = dir.path + "/keys"
            env["AUTH_LISTEN_TCP"] = spec
            env.removeValue(forKey: "GATEWAY_INTERFACE")
            let r = try Child.run(bin, [], environment: env, timeout: 30)
            #expect(r.status != 0, "\(spec) was accepted")
            #expect(r.stderr.contains("AUTH_LISTEN_TCP"), "\(spec): \(r.stderr)")
        }
    }
}
