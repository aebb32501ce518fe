import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// AUTH_SECRETS_FILE (issue 21): refused unless private, created by `init`, and rotated without
/// losing a factor: `secrets rotate` (new seeds sealed under the new key, old ones still open),
/// `secrets rewrap` (every seed re-sealed), `secrets retire` (refused while a seed needs the key).
/// The CLI's `user mfa list|reset` as well. Through the real responder and nginx.
@Suite("Second factor: the secrets file and the CLI")
struct MFASecretsTests {
    static func enrol(_ stack: Stack, _ email: String) throws -> (secret: String, used: String) {
        let access = try stack.tokens(email).access
        let e = try stack.post("/api/v1/auth/mfa/totp", token: access)
        let secret = try #require(e.data["secret"] as? String, "\(e.text)")
        let factor = try #require(e.data["factor_id"] as? String)
        let used = try PyTOTP.code(secret: secret)
        let c = try stack.post("/api/v1/auth/mfa/totp/confirm", json: ["factor_id": factor, "code": used], token: access)
        #expect(c.status == 200, "\(c.text)")
        return (secret, used)
    }

    /// Password step then a code not used yet; true when it gave a level-2 session.
    static func signIn(_ stack: Stack, _ email: String, _ secret: String, notIn used: Set<String>) throws -> Bool {
        let login = try stack.login(email)
        let token = try #require(login.data["mfa_token"] as? String, "\(login.text)")
        let code = try PyTOTP.fresh(secret: secret, notIn: used)
        guard !used.contains(code) else { return true }   // no unused code within reach right now: nothing to prove
        let r = try stack.post("/api/v1/auth/mfa/verify", json: ["mfa_token": token, "code": code])
        return r.status == 200
    }

    @Test func rotationRewrapRetireKeepsEveryFactorWorking() throws {
        try Stack.with { stack in
            _ = try stack.makeTenant("demo.local")
            try stack.makeUser("old@demo.local", tenant: "demo.local")
            try stack.makeUser("new@demo.local", tenant: "demo.local")
            let old = try Self.enrol(stack, "old@demo.local")
            let firstKid = try #require(try stack.cliOK(["secrets", "list"]).dropFirst().first?.split(separator: " ").first.map(String.init))
            let secondKid = try stack.cliLines(["secrets", "rotate"])[0]
            let modeAfter = try FileManager.default.attributesOfItem(atPath: stack.secretsPath)[.posixPermissions] as? Int
            #expect(modeAfter == 0o600)
            // The responder re-reads the file (at most once a second): a new seed is sealed under the new key.
            let newcomer = try stack.tokens("new@demo.local").access
            try waitFor("the responder to seal a new (pending) factor under the new key", timeout: 10, every: 300_000) {
                _ = try? stack.post("/api/v1/auth/mfa/totp", token: newcomer)
                return (try? stack.database().mfa.sealingKids().contains(secondKid)) ?? false
            }
            // The old key still in use: retiring it is refused; after a rewrap it is allowed.
            let refused = try stack.cli(["secrets", "retire", firstKid])
            #expect(refused.status != 0 && refused.stderr.contains("rewrap"), "\(refused.stderr)")
            let rewrap = try stack.cliOK(["secrets", "rewrap"]).joined()
            #expect(rewrap.contains("re-sealed under \(secondKid)"), "\(rewrap)")
            #expect(try stack.database().mfa.sealingKids() == [secondKid])
            try stack.cliOK(["secrets", "retire", firstKid])
            // The old user's factor, re-sealed, still signs in once the responder has the one-key file.
            try waitFor("a sign-in with the re-sealed factor", timeout: 10, every: 300_000) {
                (try? Self.signIn(stack, "old@demo.local", old.secret, notIn: [old.used])) == true
            }
            #expect(try stack.cliOK(["audit", "--limit", "100"]).joined(separator: "\n").contains("secrets_rewrapped"))
        }
    }

    @Test func aSecretsFileOthersCanReadIsRefusedAtStart() throws {
        try Stack.with { stack in
            chmod(stack.secretsPath, 0o644)
            var env = stack.environment
            env["AUTH_SOCKET"] = stack.dir + "/second.sock"
            env.removeValue(forKey: "AUTH_LISTEN_TCP")
            env.removeValue(forKey: "AUTH_VERIFY_HTTP_SOCKET")   // the stack's door socket is taken by the first responder
            let r = try Child.run(try Binaries.require("authgate-fcgi"), [], environment: env, timeout: 20)
            #expect(r.status != 0)
            #expect(r.stderr.contains("secrets file") && r.stderr.contains("0644"), "\(r.stderr)")
        }
    }

    @Test func initCreatesThePrivateSecretsFile() throws {
        let dir = try TempDir("authgate-mfa-init")
        var env = ProcessInfo.processInfo.environment
        env["AUTH_DB_PATH"] = dir.path + "/db"
        env["AUTH_KEYS_FILE"] = dir.path + "/keys"
        env.removeValue(forKey: "AUTH_SECRETS_FILE")
        let r = try Child.run(try Binaries.require("authgate"), ["init"], environment: env)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("secrets file \(dir.path)/secrets"), "\(r.stdout)")
        let mode = try FileManager.default.attributesOfItem(atPath: dir.path + "/secrets")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let again = try Child.run(try Binaries.require("authgate"), ["init"], environment: env)
        #expect(again.status == 0 && again.stdout.contains("already initialized"), "\(again.stdout)")
    }

    @Test func cliListAndReset() throws {
        try Stack.with { stack in
            _ = try stack.makeTenant("demo.local")
            try stack.makeUser("eve@demo.local", tenant: "demo.local")
            let f = try Self.enrol(stack, "eve@demo.local")
            let list = try stack.cliOK(["user", "mfa", "list", "--tenant", "demo.local", "--email", "eve@demo.local", "--json"])
            let json = try JSONSerialization.jsonObject(with: Data(list.joined().utf8)) as? [String: Any]
            let factors = json?["factors"] as? [[String: Any]]
            #expect(factors?.count == 1 && factors?[0]["status"] as? String == "active" && factors?[0]["kind"] as? String == "totp")
            #expect(json?["recovery_codes_remaining"] as? Int == 10)
            #expect(!list.joined().contains(f.secret))
            // A live level-2 session, then the reset: it is revoked, and the password alone signs in.
            let login = try stack.login("eve@demo.local")
            let token = try #require(login.data["mfa_token"] as? String)
            let code = try PyTOTP.fresh(secret: f.secret, notIn: [f.used])
            try #require(code != f.used)
            let level2 = try #require(try stack.post("/api/v1/auth/mfa/verify", json: ["mfa_token": token, "code": code])
                .data[stack.accessField] as? String)
            #expect(try stack.get("/demo/mfa", token: level2).status == 200)
            let reset = try stack.cliOK(["user", "mfa", "reset", "--tenant", "demo.local", "--email", "eve@demo.local", "--json"])
            let out = try JSONSerialization.jsonObject(with: Data(reset.joined().utf8)) as? [String: Any]
            #expect(out?["factors_removed"] as? Int == 1 && (out?["sessions_revoked"] as? Int ?? 0) >= 1)
            // (/demo/mfa is a browser location: a page load would be redirected, the API client gets 401.)
            try waitFor("the reset's revocation at the gate", timeout: 3) {
                (try? stack.get("/demo/mfa", token: level2, headers: ["Accept": "application/json"]).status) == 401
            }
            #expect(try stack.login("eve@demo.local").data[stack.accessField] is String)
        }
    }
}
