import AuthCrypto
import Foundation
import TestSupport
import Testing
import WebAuthnTestSupport

/// Passkeys through real nginx and the responder (issue 22), both stores (test.sh runs it on
/// PostgreSQL too), with the software authenticator of WebAuthnTestSupport: registration, the
/// passkey as second factor, passwordless, management, the gate's aal/amr, and the refusals
/// (replayed assertion, another RP ID, another origin, sign count backwards, disabled user).
@Suite("Passkeys through nginx")
struct PasskeyGateTests {
    @Test(arguments: ["2signal", "get2dial"])
    func registerSecondFactorPasswordlessAndGate(profile: String) throws {
        try Stack.with(PasskeyFixture.options(profile: profile)) { stack in
            _ = try stack.makeTenant("demo.local")
            try stack.makeUser("ann@demo.local", tenant: "demo.local")
            let first = try stack.tokens("ann@demo.local").access
            let key = SoftwareAuthenticator()

            // Options: a random user handle (not the email), nothing to exclude yet, preferred rk/uv.
            let pk = try stack.passkeyOptions("/api/v1/auth/mfa/webauthn/register/options", token: first)
            let user = try #require(pk["user"] as? [String: Any])
            #expect(Base64URL.decode(user["id"] as? String ?? "")?.count == 32 && user["name"] as? String == "ann@demo.local")
            #expect((pk["excludeCredentials"] as? [Any])?.isEmpty == true)
            let selection = pk["authenticatorSelection"] as? [String: Any]
            #expect(selection?["residentKey"] as? String == "preferred" && selection?["userVerification"] as? String == "preferred")
            #expect((pk["rp"] as? [String: Any])?["id"] as? String == "localhost")

            // Registration (the first factor): recovery codes, a level-2 pair, the old session revoked.
            let (reg, handle) = try stack.registerPasskey(key, token: first, name: "Laptop")
            #expect(reg.status == 201, "\(reg.text)")
            #expect((reg.data["recovery_codes"] as? [String])?.count == 10, "\(reg.text)")
            let level2 = try #require(reg.data[stack.accessField] as? String, "\(reg.text)")
            let passkey = try #require(reg.data["passkey"] as? [String: Any])
            let id = try #require(passkey["id"] as? String)
            #expect(passkey["name"] as? String == "Laptop" && passkey["kind"] as? String == "webauthn")
            #expect(try stack.get("/api/v1/auth/me", token: first).status == 401)
            let echo = try stack.get("/demo/mfa", token: level2)
            #expect(echo.status == 200 && echo.text.lowercased().contains("\"x-auth-amr\":\"pwd hwk\""), "\(echo.text)")
            // The same authenticator again: excluded in the options, refused if sent anyway.
            let pk2 = try stack.passkeyOptions("/api/v1/auth/mfa/webauthn/register/options", token: level2)
            #expect((pk2["excludeCredentials"] as? [[String: Any]])?.first?["id"] as? String == Base64URL.encode(key.credentialID))
            let again = try stack.registerPasskey(key, token: level2).0
            #expect(again.status == 409 && again.errorCode == "already_registered", "\(again.text)")

            // Second factor: the password step offers webauthn; the passkey step gives level 2.
            let login = try stack.login("ann@demo.local")
            #expect(login.data["factors"] as? [String] == ["webauthn", "recovery_code"], "\(login.text)")
            let token = try #require(login.data["mfa_token"] as? String)
            let mfaPK = try stack.passkeyOptions("/api/v1/auth/mfa/webauthn/options", json: ["mfa_token": token])
            #expect((mfaPK["allowCredentials"] as? [[String: Any]])?.count == 1)
            let assertion = key.makeAssertion(challenge: try Stack.challenge(mfaPK), origin: PasskeyFixture.origin, rpID: "localhost")
            let ok = try stack.post("/api/v1/auth/mfa/verify",
                                    json: ["mfa_token": token, "webauthn": PasskeyFixture.object(assertion.json)])
            #expect(ok.status == 200, "\(ok.text)")
            let access = try #require(ok.data[stack.accessField] as? String)
            #expect(try stack.get("/demo/mfa", token: access).status == 200)

            // The same assertion (same challenge) again, with a fresh password step: refused.
            let token2 = try #require(try stack.login("ann@demo.local").data["mfa_token"] as? String)
            let replay = try stack.post("/api/v1/auth/mfa/verify",
                                        json: ["mfa_token": token2, "webauthn": PasskeyFixture.object(assertion.json)])
            #expect(replay.status == 401 && replay.errorCode == "invalid_credentials", "\(replay.text)")

            // Passwordless with user verification: level 2, amr "hwk mfa".
            var uv = SoftwareAuthenticator.Options()
            uv.userHandle = handle
            let pwless = try stack.passkeyLogin { key.makeAssertion(challenge: $0, origin: PasskeyFixture.origin, rpID: "localhost", options: uv) }
            #expect(pwless.status == 200, "\(pwless.text)")
            let pwAccess = try #require(pwless.data[stack.accessField] as? String)
            let pwEcho = try stack.get("/demo/mfa", token: pwAccess)
            #expect(pwEcho.status == 200 && pwEcho.text.lowercased().contains("\"x-auth-amr\":\"hwk mfa\""), "\(pwEcho.text)")
            // Without user verification: level 1 (passes /demo/echo, not /demo/mfa).
            var up = SoftwareAuthenticator.Options()
            up.userVerified = false
            let l1 = try stack.passkeyLogin { key.makeAssertion(challenge: $0, origin: PasskeyFixture.origin, rpID: "localhost", options: up) }
            let l1Access = try #require(l1.data[stack.accessField] as? String, "\(l1.text)")
            #expect(try stack.get("/demo/echo", token: l1Access).status == 200)
            let denied = try stack.get("/demo/mfa", token: l1Access, headers: ["Accept": "application/json"])
            #expect(denied.status == 401 && denied.errorCode == "mfa_required", "\(denied.status) \(denied.text)")

            // Another RP ID, another origin, a wrong user handle: refused.
            var otherRP = SoftwareAuthenticator.Options()
            otherRP.rpIDForHash = "evil.example"
            let r1 = try stack.passkeyLogin { key.makeAssertion(challenge: $0, origin: PasskeyFixture.origin, rpID: "localhost", options: otherRP) }
            #expect(r1.status == 401 && r1.errorCode == "invalid_credentials", "\(r1.text)")
            let r2 = try stack.passkeyLogin { key.makeAssertion(challenge: $0, origin: "https://localhost:9999", rpID: "localhost") }
            #expect(r2.status == 401, "\(r2.text)")
            var wrongHandle = SoftwareAuthenticator.Options()
            wrongHandle.userHandle = Crypto.randomBytes(32)
            let r3 = try stack.passkeyLogin { key.makeAssertion(challenge: $0, origin: PasskeyFixture.origin, rpID: "localhost", options: wrongHandle) }
            #expect(r3.status == 401, "\(r3.text)")
            let reasons = try stack.auditEvents().compactMap { $0["detail"] as? String }.joined(separator: "\n")
            #expect(reasons.contains("webauthn_rp_id_mismatch") && reasons.contains("webauthn_origin_not_allowed"), "\(reasons)")

            // Management: listed, renamed, the last factor's deletion asks first.
            let list = try stack.get("/api/v1/auth/mfa", token: access)
            #expect((list.data["factors"] as? [[String: Any]])?.first?["kind"] as? String == "webauthn", "\(list.text)")
            let renamed = try stack.client.request("PATCH", "/api/v1/auth/mfa/webauthn/\(id)",
                                                   headers: ["Authorization": "Bearer \(access)", "Content-Type": "application/json"],
                                                   body: Array(#"{"name":"Work laptop"}"#.utf8))
            #expect(renamed.status == 200 && renamed.data["name"] as? String == "Work laptop", "\(renamed.text)")
            let got = try stack.get("/api/v1/auth/mfa/webauthn/\(id)", token: access)
            #expect(got.data["name"] as? String == "Work laptop", "\(got.text)")
            let level1Delete = try stack.client.request("DELETE", "/api/v1/auth/mfa/webauthn/\(id)",
                                                        headers: ["Authorization": "Bearer \(l1Access)"])
            #expect(level1Delete.status == 401 && level1Delete.errorCode == "mfa_required", "\(level1Delete.text)")
            let last = try stack.client.request("DELETE", "/api/v1/auth/mfa/webauthn/\(id)", headers: ["Authorization": "Bearer \(access)"])
            #expect(last.status == 409 && last.errorCode == "last_factor", "\(last.text)")
            let gone = try stack.client.request("DELETE", "/api/v1/auth/mfa/webauthn/\(id)?confirm_last=1",
                                                headers: ["Authorization": "Bearer \(access)"])
            #expect(gone.status == 200, "\(gone.text)")
            // The password alone logs in again.
            #expect(try stack.login("ann@demo.local").data[stack.accessField] is String)
        }
    }

    /// A sign count that goes backwards (a cloned authenticator) is refused and audited; a
    /// counter of 0 (synced passkeys) is accepted every time.
    @Test func signCountBackwardsRefusedAndAudited() throws {
        try Stack.with(PasskeyFixture.options()) { stack in
            _ = try stack.makeTenant("demo.local")
            try stack.makeUser("bo@demo.local", tenant: "demo.local")
            let key = SoftwareAuthenticator(signCount: 10)
            let (reg, _) = try stack.registerPasskey(key, token: try stack.tokens("bo@demo.local").access)
            #expect(reg.status == 201, "\(reg.text)")
            #expect(try stack.passkeySecondFactor("bo@demo.local", key).status == 200)   // count 11
            #expect(try stack.passkeySecondFactor("bo@demo.local", key).status == 200)   // count 12
            var clone = SoftwareAuthenticator.Options()
            clone.signCount = 5
            let refused = try stack.passkeySecondFactor("bo@demo.local", key, options: clone)
            #expect(refused.status == 401 && refused.errorCode == "invalid_credentials", "\(refused.text)")
            let events = try stack.auditEvents()
            let regressions = events.filter { $0["event"] as? String == "webauthn_sign_count_regressed" }
            #expect(regressions.count == 1, "\(events.prefix(5))")
            #expect((regressions.first?["detail"] as? String)?.contains("stored 12") == true, "\(regressions)")
            // The genuine authenticator still works (the refusal moved nothing).
            #expect(try stack.passkeySecondFactor("bo@demo.local", key).status == 200)

            // A synced passkey (counter always 0, backup eligible): swk, accepted again and again.
            let synced = SoftwareAuthenticator(counting: false)
            var be = SoftwareAuthenticator.Options()
            be.backupEligible = true
            be.backupState = true
            let access = try #require(try stack.passkeySecondFactor("bo@demo.local", key).data[stack.accessField] as? String)
            #expect(try stack.registerPasskey(synced, token: access, options: be).0.status == 201)
            for _ in 0..<2 {
                let r = try stack.passkeySecondFactor("bo@demo.local", synced, options: be)
                let t = try #require(r.data[stack.accessField] as? String, "\(r.text)")
                #expect(try stack.get("/demo/mfa", token: t).text.lowercased().contains("\"x-auth-amr\":\"pwd swk\""))
            }
        }
    }

    /// 8 concurrent uses of one challenge (passwordless, through nginx at once): one success.
    @Test func eightConcurrentUsesOfOneChallenge() throws {
        try Stack.with(PasskeyFixture.options()) { stack in
            _ = try stack.makeTenant("demo.local")
            try stack.makeUser("cy@demo.local", tenant: "demo.local")
            let key = SoftwareAuthenticator(counting: false)
            #expect(try stack.registerPasskey(key, token: try stack.tokens("cy@demo.local").access).0.status == 201)
            let challenge = try Stack.challenge(try stack.passkeyOptions("/api/v1/auth/passkey/options"))
            let requests = try (0..<8).map { _ in
                let a = key.makeAssertion(challenge: challenge, origin: PasskeyFixture.origin, rpID: "localhost")
                return try stack.postRequest("/api/v1/auth/passkey/login", json: ["credential": PasskeyFixture.object(a.json)])
            }
            let statuses = try stack.client.parallel(requests).map(\.status)
            print("8 concurrent uses of one passkey challenge: \(statuses)")
            #expect(statuses.filter { $0 == 200 }.count == 1, "\(statuses)")
            #expect(statuses.filter { $0 == 401 }.count == 7, "\(statuses)")
            // Each of them again, one after another (a counter of 0 never regresses: only the
            // challenge's single use refuses a replay here).
            let replays = try requests.map { try stack.client.request("POST", $0.path, headers: $0.headers, body: $0.body).status }
            #expect(replays.allSatisfy { $0 == 401 }, "\(replays)")
        }
    }

    /// Passwordless is refused for a disabled account, a locked one, and (403) one that must
    /// change its password; the CLI lists the passkey and its reset removes it.
    @Test func refusedAccountsAndTheCLI() throws {
        try Stack.with(PasskeyFixture.options(threshold: 3)) { stack in
            _ = try stack.makeTenant("demo.local")
            try stack.makeUser("di@demo.local", tenant: "demo.local")
            let key = SoftwareAuthenticator(counting: false)
            #expect(try stack.registerPasskey(key, token: try stack.tokens("di@demo.local").access, name: "Phone").0.status == 201)
            func login() throws -> HTTPSResult {
                try stack.passkeyLogin { key.makeAssertion(challenge: $0, origin: PasskeyFixture.origin, rpID: "localhost") }
            }
            #expect(try login().status == 200)
            let who = ["--tenant", "demo.local", "--email", "di@demo.local"]
            try stack.cliOK(["user", "disable"] + who)
            #expect(try login().status == 401)
            try stack.cliOK(["user", "enable"] + who)
            for _ in 0..<4 { _ = try stack.login("di@demo.local", password: "wrong password here") }
            #expect(try login().status == 401)
            try stack.cliOK(["user", "unlock"] + who)
            #expect(try login().status == 200)
            try stack.cliOK(["user", "set-password", "--password-stdin", "--must-change-password"] + who,
                            stdin: "another long password 1\n")
            let change = try login()
            #expect(change.status == 403 && change.errorCode == "password_change_required", "\(change.text)")

            let listed = try stack.cliOK(["user", "mfa", "list"] + who).joined(separator: "\n")
            #expect(listed.contains("webauthn") && listed.contains("Phone"), "\(listed)")
            let reset = try stack.cliOK(["user", "mfa", "reset"] + who).joined(separator: "\n")
            #expect(reset.contains("1 factor(s) removed"), "\(reset)")
            #expect(!(try stack.cliOK(["user", "mfa", "list"] + who).joined(separator: "\n").contains("webauthn")))
            #expect(try login().status == 401)
        }
    }

    /// Passkeys off (no AUTH_WEBAUTHN_RP_ID): a stable 404; an RP ID that does not fit the
    /// origins: the responder refuses to start and says why.
    @Test func notConfiguredAndRefusedAtStart() throws {
        var o = Stack.Options()
        o.companion = false
        try Stack.with(o) { stack in
            let r = try stack.post("/api/v1/auth/passkey/options", json: [:])
            #expect(r.status == 404 && r.errorCode == "webauthn_not_configured", "\(r.text)")
            let page = try stack.get("/auth/login", token: nil)
            #expect(!page.text.contains("passkey-signin"))
            var env = stack.environment
            env["AUTH_WEBAUTHN_RP_ID"] = "calhost"
            env["AUTH_WEBAUTHN_ORIGINS"] = "https://localhost"
            env["AUTH_SOCKET"] = stack.dir + "/second.sock"
            let run = try Child.run(try Binaries.require("authgate-fcgi"), [], environment: env, timeout: 20)
            #expect(run.status != 0)
            #expect((run.stdout + run.stderr).contains("AUTH_WEBAUTHN_RP_ID 'calhost'"), "\(run.stdout) \(run.stderr)")
            env["AUTH_WEBAUTHN_RP_ID"] = "localhost"
            env["AUTH_WEBAUTHN_ORIGINS"] = ""
            env["AUTH_SITE_ORIGIN"] = ""
            let none = try Child.run(try Binaries.require("authgate-fcgi"), [], environment: env, timeout: 20)
            #expect(none.status != 0 && (none.stdout + none.stderr).contains("no origin is"), "\(none.stderr)")
            let doctor = try stack.cli(["doctor", "--no-nginx"])
            #expect(doctor.stdout.contains("passkeys off"), "\(doctor.stdout)")
        }
    }
}
