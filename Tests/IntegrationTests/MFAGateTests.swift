import Foundation
import TestSupport
import Testing

/// The second factor through real nginx and the responder (issue 21), both stores (test.sh runs it
/// on PostgreSQL too). Codes come from python3's hmac (PyTOTP), never from Authgate's code.
@Suite("Second factor through nginx")
struct MFAGateTests {
    static let wsRoutes = "/ws/agent=|agent,supervisor,admin,platform_admin;/ws/mfa=||aal2"

    /// 17: the 15 losers of the race below (each a refused code: counted) leave the account open.
    static let threshold = 17

    static func options(profile: String = "2signal") -> Stack.Options {
        var o = Stack.Options()
        o.profile = profile
        o.verifyCacheSeconds = 1
        o.environment["AUTH_LOCKOUT_THRESHOLD"] = String(threshold)
        o.environment["AUTH_WS_ROUTES"] = wsRoutes
        return o
    }

    /// Enrols and confirms through nginx; returns (base32 secret, level-2 access token, recovery codes, used code).
    static func enrol(_ stack: Stack, _ access: String) throws -> (String, String, [String], String) {
        let e = try stack.post("/api/v1/auth/mfa/totp", token: access)
        #expect(e.status == 201, "\(e.text)")
        let secret = try #require(e.data["secret"] as? String)
        let factor = try #require(e.data["factor_id"] as? String)
        #expect((e.data["otpauth_uri"] as? String)?.hasPrefix("otpauth://totp/localhost:") == true, "\(e.text)")
        let code = try PyTOTP.code(secret: secret)
        let c = try stack.post("/api/v1/auth/mfa/totp/confirm", json: ["factor_id": factor, "code": code], token: access)
        #expect(c.status == 200, "\(c.text)")
        let level2 = try #require(c.data[stack.accessField] as? String)
        return (secret, level2, c.data["recovery_codes"] as? [String] ?? [], code)
    }

    static func mfaToken(_ stack: Stack, _ email: String) throws -> String {
        let r = try stack.login(email)
        #expect(r.status == 200 && r.data["mfa_required"] as? Bool == true, "\(r.text)")
        #expect(r.data[stack.accessField] == nil && r.data["refresh_token"] == nil)
        return try #require(r.data["mfa_token"] as? String)
    }

    static func verify(_ stack: Stack, _ token: String, code: String) throws -> HTTPSResult {
        try stack.post("/api/v1/auth/mfa/verify", json: ["mfa_token": token, "code": code])
    }

    static func upgrade(_ stack: Stack, _ path: String) throws -> Int {
        let (c, proc) = try WSTestClient.tls(port: stack.port, caFile: stack.certPath)
        defer { proc.stop(grace: 1) }
        return try c.upgrade(path).status
    }

    @Test(arguments: ["2signal", "get2dial"])
    func enrolLoginCodeOnceLevelTwoLocationAndWebSocket(profile: String) throws {
        try Stack.with(Self.options(profile: profile)) { stack in
            _ = try stack.makeTenant("demo.local")
            try stack.makeUser("ann@demo.local", tenant: "demo.local")
            try stack.makeUser("bob@demo.local", tenant: "demo.local")
            let bob = try stack.tokens("bob@demo.local").access      // level 1, no factor
            // A level-1 token: /demo/echo yes (and its allow is cached), /demo/mfa no, cache on.
            #expect(try stack.get("/demo/echo", token: bob).status == 200)
            for _ in 0..<3 {
                let r = try stack.get("/demo/mfa", token: bob, headers: ["Accept": "application/json"])
                #expect(r.status == 401 && r.errorCode == "mfa_required", "\(r.status) \(r.text)")
                #expect(r.header("WWW-Authenticate")?.contains("insufficient_user_authentication") == true)
            }
            // A page load of a level-1 browser session would be sent to /auth/mfa; bearer: JSON.
            #expect(try Self.upgrade(stack, "/ws/mfa?token=\(bob)") == 401)
            #expect(try Self.upgrade(stack, "/ws/agent?token=\(bob)") == 101)

            let (first, _) = try stack.tokens("ann@demo.local")
            let (secret, level2, recovery, used) = try Self.enrol(stack, first)
            #expect(recovery.count == 10)
            #expect(try stack.get("/api/v1/auth/me", token: first).status == 401)    // revoked by the confirmation
            let echo = try stack.get("/demo/mfa", token: level2)
            #expect(echo.status == 200, "\(echo.text)")
            #expect(echo.text.lowercased().contains("\"x-auth-aal\":\"2\""), "\(echo.text)")
            #expect(try Self.upgrade(stack, "/ws/mfa?token=\(level2)") == 101)

            // Password only: nothing that passes /auth/me or the gate.
            let token = try Self.mfaToken(stack, "ann@demo.local")
            #expect(try stack.get("/api/v1/auth/me", token: token).status == 401)
            #expect(try stack.get("/demo/echo", token: token).status == 401)
            let code = try PyTOTP.fresh(secret: secret, notIn: [used])
            guard code != used else { return }   // the confirmation used both steps within reach: nothing left to try now
            let ok = try Self.verify(stack, token, code: code)
            #expect(ok.status == 200, "\(ok.text)")
            let access = try #require(ok.data[stack.accessField] as? String)
            #expect(try stack.get("/demo/mfa", token: access).status == 200)
            // The same code again, with a new password step: refused.
            let again = try Self.verify(stack, try Self.mfaToken(stack, "ann@demo.local"), code: code)
            #expect(again.status == 401 && again.errorCode == "invalid_credentials")
        }
    }

    @Test func sixteenConcurrentSubmissionsLockoutAndRecovery() throws {
        try Stack.with(Self.options()) { stack in
            _ = try stack.makeTenant("demo.local")
            try stack.makeUser("cy@demo.local", tenant: "demo.local")
            let (first, _) = try stack.tokens("cy@demo.local")
            let (secret, _, recovery, used) = try Self.enrol(stack, first)
            let tokens = try (0..<16).map { _ in try Self.mfaToken(stack, "cy@demo.local") }
            let code = try PyTOTP.fresh(secret: secret, notIn: [used])
            try #require(code != used)
            let requests = try tokens.map { try stack.postRequest("/api/v1/auth/mfa/verify", json: ["mfa_token": $0, "code": code]) }
            let statuses = try stack.client.parallel(requests).map(\.status)
            print("16 concurrent verifications of one code through nginx:", statuses)
            #expect(statuses.filter { $0 == 200 }.count == 1)
            #expect(statuses.filter { $0 == 401 }.count == 15)

            // A recovery code works once (and resets the failure count the 15 losers left).
            let rec = try stack.post("/api/v1/auth/mfa/verify", json: ["mfa_token": try Self.mfaToken(stack, "cy@demo.local"),
                                                                      "recovery_code": recovery[0]])
            #expect(rec.status == 200, "\(rec.text)")
            let rec2 = try stack.post("/api/v1/auth/mfa/verify", json: ["mfa_token": try Self.mfaToken(stack, "cy@demo.local"),
                                                                       "recovery_code": recovery[0]])
            #expect(rec2.status == 401 && rec2.errorCode == "invalid_credentials")

            // Wrong codes count toward the lockout (the success above reset the count; the refused
            // recovery code was one), each a fresh password step, all with the generic error.
            let fresh = try PyTOTP.fresh(secret: secret, notIn: [used, code])
            let wrong = fresh == "000000" ? "000001" : "000000"
            for _ in 0..<(Self.threshold - 1) {
                let r = try Self.verify(stack, try Self.mfaToken(stack, "cy@demo.local"), code: wrong)
                #expect(r.status == 401 && r.errorCode == "invalid_credentials")
            }
            let locked = try stack.login("cy@demo.local")
            #expect(locked.status == 401 && locked.errorCode == "invalid_credentials", "\(locked.text)")
            // The CLI reset: factors gone, sessions revoked, audited; then the password alone logs in (after unlock).
            let reset = try stack.cliOK(["user", "mfa", "reset", "--tenant", "demo.local", "--email", "cy@demo.local"])
            #expect(reset.joined().contains("1 factor(s) removed"))
            try stack.cliOK(["user", "unlock", "--tenant", "demo.local", "--email", "cy@demo.local"])
            #expect(try stack.login("cy@demo.local").data[stack.accessField] is String)
            #expect(try stack.cliOK(["audit", "--limit", "50"]).joined(separator: "\n").contains("mfa_reset"))
        }
    }
}
