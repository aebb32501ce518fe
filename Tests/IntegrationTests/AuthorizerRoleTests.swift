import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Review finding 12: the Authorizer role (Apache's mod_authnz_fcgi over the loopback TCP port)
/// takes SIGHUP-reloaded settings, counts its decisions in the verify metrics, and refuses a
/// `browser` policy (it cannot set the renewed cookies) with 403 and a log line.
@Suite("Authorizer role: reload, metrics, browser policy")
struct AuthorizerRoleTests {
    static let allowed = "authgate_verify_decisions_total{kind=\"user\",outcome=\"allow\"}"

    @Test func reloadedMetricsSettingAppliesAndDecisionsAreCounted() throws {
        guard WebServerFixture.available(.apache) else { return }
        let config = try TempDir("authgate-authorizer-config")
        let path = config.path + "/authgate.conf"
        try "AUTH_METRICS=off\n".write(toFile: path, atomically: false, encoding: .utf8)
        try WebServerFixture.with(.apache, environment: ["AUTH_CONFIG": path, "AUTH_METRICS": ""]) { f in
            _ = try GateWorld(f.stack)
            let alice = try f.tokens("alice@demo.local").access
            for _ in 0..<3 { #expect(try f.get("/gated/plain.txt", token: alice).status == 200) }
            #expect(try SlowClients.metric(f.stack.socketPath, Self.allowed) == 0, "counted with AUTH_METRICS=off")
            try "AUTH_METRICS=on\n".write(toFile: path, atomically: false, encoding: .utf8)
            f.stack.responder?.signal(SIGHUP)
            try waitFor("the responder's reload line", timeout: 20) { f.stack.log("authgate-fcgi").contains("SIGHUP: applied") }
            for _ in 0..<4 { #expect(try f.get("/gated/plain.txt", token: alice).status == 200) }
            let counted = try SlowClients.metric(f.stack.socketPath, Self.allowed)
            print("reloadedMetricsSettingAppliesAndDecisionsAreCounted: \(counted.map(String.init) ?? "none") allows counted after 4 Apache-gated requests")
            #expect(counted == 4, "Apache's gate decisions after SIGHUP AUTH_METRICS=on")
        }
    }

    @Test func browserPolicyIsRefusedInTheAuthorizerRole() throws {
        guard WebServerFixture.available(.apache) else { return }
        try WebServerFixture.with(.apache) { f in
            _ = try GateWorld(f.stack)
            let alice = try f.tokens("alice@demo.local").access
            let port = try #require(Int(f.stack.options.environment["AUTH_LISTEN_TCP"]?.split(separator: ":").last ?? ""))
            func ask(_ allow: String) throws -> String {
                let held = HeldTCP(fd: try PlainHTTP.connect(port: port, timeout: 10))
                try PlainHTTP.sendAll(held.fd, SlowClients.authorizerRequest(uri: "/app/page", authorization: "Bearer \(alice)",
                                                                             extra: [("AUTH_ALLOW", allow)]))
                return FastCGIWire.stdout(of: try PlainHTTP.readAll(held.fd))
            }
            #expect(try ask("user").hasPrefix("Status: 200"))
            let browser = try ask("user,browser")
            #expect(browser.hasPrefix("Status: 403") && browser.contains("forbidden"), "\(browser.prefix(200))")
            #expect(!browser.contains("Variable-"), "\(browser.prefix(200))")
            #expect(f.stack.log("authgate-fcgi").contains("names browser, which the Authorizer role cannot serve"))
        }
    }

    /// Issue 21: `AUTH_REQUIRE_AAL 2` in the Authorizer's environment (Apache `SetEnvIf`, lighttpd
    /// `setenv.add-environment`) refuses a level-1 token with 401 mfa_required and lets a level-2
    /// one through with `Variable-AUTH_AAL: 2`.
    @Test func requiredLevelTwoIsHonoured() throws {
        guard WebServerFixture.available(.apache) else { return }
        try WebServerFixture.with(.apache) { f in
            _ = try GateWorld(f.stack)
            let alice = try f.tokens("alice@demo.local").access
            let bob = try f.tokens("admin@demo.local").access
            let port = try #require(Int(f.stack.options.environment["AUTH_LISTEN_TCP"]?.split(separator: ":").last ?? ""))
            func ask(_ token: String, _ extra: [(String, String)]) throws -> String {
                let held = HeldTCP(fd: try PlainHTTP.connect(port: port, timeout: 10))
                try PlainHTTP.sendAll(held.fd, SlowClients.authorizerRequest(uri: "/app/page", authorization: "Bearer \(token)",
                                                                             extra: extra))
                return FastCGIWire.stdout(of: try PlainHTTP.readAll(held.fd))
            }
            let levelOne = try ask(alice, [("AUTH_REQUIRE_AAL", "2")])
            #expect(levelOne.hasPrefix("Status: 401") && levelOne.contains("mfa_required"), "\(levelOne.prefix(300))")
            #expect(try ask(alice, []).hasPrefix("Status: 200"))
            // A level-2 session: enrol and confirm (code from python3).
            let e = try f.post("/api/v1/auth/mfa/totp", token: bob)
            let secret = try #require(e.data["secret"] as? String, "\(e.status) \(e.text)")
            let factor = try #require(e.data["factor_id"] as? String)
            let c = try f.post("/api/v1/auth/mfa/totp/confirm", json: ["factor_id": factor, "code": try PyTOTP.code(secret: secret)],
                               token: bob)
            let level2 = try #require(c.data["access_token"] as? String ?? c.data["token"] as? String, "\(c.text)")
            let ok = try ask(level2, [("AUTH_REQUIRE_AAL", "2")])
            #expect(ok.hasPrefix("Status: 200") && ok.contains("Variable-AUTH_AAL: 2"), "\(ok.prefix(400))")
        }
    }
}
