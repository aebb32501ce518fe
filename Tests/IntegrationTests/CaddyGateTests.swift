import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 20: a real Caddy (Debian's package, never its service) in front of the same responder,
/// gating through the HTTP door with caddy/authgate.caddy (forward_auth). The responder reads
/// the gateway convention (AUTH_VERIFY_HTTP_URI=forwarded).
@Suite("Gate: behind Caddy (forward_auth to the HTTP door)")
struct CaddyGateTests {
    static let caddy = "/usr/bin/caddy"

    @Test func forwardAuthThroughTheHTTPDoor() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.caddy) else {
            Issue.record("caddy is not installed (make deps installs Debian's caddy package)")
            return
        }
        var options = Stack.Options()
        options.verifyCacheSeconds = 0
        options.environment["AUTH_VERIFY_HTTP_URI"] = "forwarded"
        try Stack.with(options) { stack in
            let w = try GateWorld(stack)
            let alice = try stack.tokens("alice@demo.local").access
            let admin = try stack.tokens("admin@demo.local").access
            let caddy = try CaddyFixture(stack)
            defer { caddy.stop() }

            // No token: the door's 401 (Caddy passes the denial through).
            let none = try caddy.get("/app/x")
            #expect(none.status == 401, "\(none.status) \(none.text)")
            // A user token: 200, the identity copied to the app; a client's forged identity gone.
            var forged = spoofedHeaders.map { ($0.key, $0.value) }
            forged.append(("Authorization", "Bearer \(alice)"))
            let ok = try caddy.get("/app/x", headers: forged)
            #expect(ok.status == 200, "\(ok.status) \(ok.text)")
            let seen = (ok.json["headers"] as? [String: String]) ?? [:]
            #expect(seen["x-auth-kind"] == "user" && seen["x-auth-user-id"] == w.alice && seen["x-auth-tenant-id"] == w.demo)
            #expect(seen["x-auth-role"] == "agent" && seen["x-auth-email"] == "alice@demo.local")
            #expect(carriesNoSpoof(seen.filter { $0.key.hasPrefix("x-auth-") }), "\(seen)")
            // An identity field the answer lacks is empty or absent (copy_headers sets it from the
            // answer, empty when the answer has none), never the client's (an API key has no role).
            let apiKeyForged = try caddy.get("/ingest/x", headers: [("Authorization", "Bearer \(w.apiKey)"),
                                                                    ("X-Auth-Role", "platform_admin"), ("X-Auth-User-Id", "evil-user")])
            #expect(apiKeyForged.status == 200, "\(apiKeyForged.status) \(apiKeyForged.text)")
            let keySeen = (apiKeyForged.json["headers"] as? [String: String]) ?? [:]
            #expect(keySeen["x-auth-kind"] == "api_key" && keySeen["x-auth-project-id"] == w.project, "\(keySeen)")
            #expect((keySeen["x-auth-role"] ?? "").isEmpty && (keySeen["x-auth-user-id"] ?? "").isEmpty, "\(keySeen.filter { $0.key.hasPrefix("x-auth") })")
            // The policy is the snippet's: a client's X-Authgate-Allow does not let an API key in.
            #expect(try caddy.get("/app/x", headers: [("Authorization", "Bearer \(w.apiKey)"), ("X-Authgate-Allow", "api_key")]).status == 403)
            #expect(try caddy.get("/admin/x", headers: [("Authorization", "Bearer \(alice)"), ("X-Authgate-Roles", "")]).status == 403)
            #expect(try caddy.get("/admin/x", headers: [("Authorization", "Bearer \(admin)")]).status == 200)
            // A client-sent X-Original-URI passed through Caddy does not hide ?tenant_id=.
            let hidden = try caddy.get("/app/x?tenant_id=\(w.other)", headers: [("Authorization", "Bearer \(alice)"),
                                                                              ("X-Original-URI", "/app/x"), ("X-Original-Method", "GET")])
            #expect(hidden.status == 403, "\(hidden.status)")
            // A POST with a body: the auth request carries none (the door would refuse one).
            let post = try PlainHTTP.request(port: caddy.port, "POST", "/app/x", headers: [("Authorization", "Bearer \(alice)")],
                                             body: Array("{\"a\":1}".utf8))
            #expect(post.status == 200, "\(post.status) \(post.text)")
            // A browser page load without a session: redirected to the login page.
            let page = try caddy.get("/browser/page?x=1", headers: [("Accept", "text/html"), ("Sec-Fetch-Mode", "navigate")])
            #expect(page.status == 302, "\(page.status) \(page.text)")
            let location = page.headers.first { $0.0.lowercased() == "location" }?.1 ?? ""
            #expect(location.hasPrefix("/auth/login?return_to="), "\(location)")
            // ...and a fetch() keeps the 401.
            #expect(try caddy.get("/browser/page", headers: [("Accept", "application/json")]).status == 401)
            #expect(stack.responder?.isRunning == true)
        }
    }
}

/// A Caddy process on a free loopback port with a Caddyfile that imports caddy/authgate.caddy
/// for a few locations, proxying to the stack's demo upstream (which echoes the headers it got).
final class CaddyFixture {
    let port: Int
    let process: Child
    let stack: Stack

    init(_ stack: Stack) throws {
        self.stack = stack
        port = try Stack.freePort()
        let home = stack.dir + "/caddy"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        let snippet = Stack.repositoryRoot + "/caddy/authgate.caddy"
        let door = stack.verifyHTTPSocketPath
        func gated(_ prefix: String, _ allow: String, _ roles: String) -> String {
            """
                handle \(prefix)/* {
                    import \(snippet) \(door) "\(allow)" "\(roles)"
                    reverse_proxy unix/\(stack.upstreamSocketPath)
                }
            """
        }
        let config = """
        {
            admin off
            auto_https off
        }
        http://:\(port) {
            bind 127.0.0.1
        \(gated("/app", "user", ""))
        \(gated("/ingest", "api_key", ""))
        \(gated("/admin", "user", "admin platform_admin"))
        \(gated("/browser", "user browser", ""))
        }
        """
        let file = home + "/Caddyfile"
        try config.write(toFile: file, atomically: true, encoding: .utf8)
        var env = ProcessInfo.processInfo.environment
        env["HOME"] = home
        env["XDG_DATA_HOME"] = home
        env["XDG_CONFIG_HOME"] = home
        let log = stack.logDir + "/caddy.log"
        process = try Child.spawn(CaddyGateTests.caddy, ["run", "--config", file, "--adapter", "caddyfile"],
                                  environment: env, stdout: log, stderr: log)
        let p = process, port = port
        do {
            try waitFor("caddy on 127.0.0.1:\(port) to answer", timeout: 20) {
                guard p.isRunning else { return true }
                // Any answer at all (an unmatched path is Caddy's empty 200).
                return (try? PlainHTTP.request(port: port, "GET", "/nothing-here", timeout: 2)) != nil
            }
        } catch {
            stop()
            throw error
        }
        guard p.isRunning else {
            throw StackError("caddy exited: \(stack.log("caddy").suffix(2000))")
        }
    }

    func get(_ target: String, headers: [(String, String)] = []) throws -> PlainHTTP.Reply {
        try PlainHTTP.request(port: port, "GET", target, headers: headers)
    }

    func stop() {
        process.signal(SIGTERM)
        _ = process.stop(grace: 3)
    }
}
