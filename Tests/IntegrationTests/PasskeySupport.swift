import AuthCrypto
import Foundation
import Testing
import WebAuthnTestSupport

/// Passkeys through real nginx (issue 22): the stack's relying party (`localhost`, one allowed
/// origin that need not be the stack's port: the software authenticator writes the origin into
/// clientDataJSON as a browser would) and the ceremonies driven with `SoftwareAuthenticator`.
enum PasskeyFixture {
    static let rpID = "localhost"
    static let origin = "https://localhost:8443"

    static func options(profile: String = "2signal", threshold: Int = 40) -> Stack.Options {
        var o = Stack.Options()
        o.profile = profile
        o.environment["AUTH_WEBAUTHN_RP_ID"] = rpID
        o.environment["AUTH_WEBAUTHN_ORIGINS"] = origin
        o.environment["AUTH_LOCKOUT_THRESHOLD"] = String(threshold)
        return o
    }

    static func object(_ json: String) -> Any {
        (try? JSONSerialization.jsonObject(with: Data(json.utf8))) ?? [:]
    }
}

extension Stack {
    /// The `publicKey` of an options answer, requiring 200.
    func passkeyOptions(_ path: String, json: [String: Any]? = nil, token: String? = nil,
                        sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let r = try post(path, json: json ?? [:], token: token)
        guard r.status == 200, let pk = r.data["publicKey"] as? [String: Any] else {
            Issue.record("\(path): \(r.status) \(r.text)", sourceLocation: sourceLocation)
            throw StackError("\(path) failed")
        }
        return pk
    }

    static func challenge(_ publicKey: [String: Any]) throws -> [UInt8] {
        guard let c = publicKey["challenge"] as? String, let b = Base64URL.decode(c), b.count == 32 else {
            throw StackError("no 32-byte challenge in \(publicKey)")
        }
        return b
    }

    /// Registers `auth` for the bearer of `token`; returns the answer and the user handle.
    func registerPasskey(_ auth: SoftwareAuthenticator, token: String, name: String = "Test key",
                         options o: SoftwareAuthenticator.Options = .init(), origin: String = PasskeyFixture.origin)
        throws -> (HTTPSResult, handle: [UInt8]) {
        let pk = try passkeyOptions("/api/v1/auth/mfa/webauthn/register/options", token: token)
        let handle = Base64URL.decode((pk["user"] as? [String: Any])?["id"] as? String ?? "") ?? []
        let reg = auth.makeRegistration(challenge: try Self.challenge(pk), origin: origin, rpID: PasskeyFixture.rpID, options: o)
        let r = try post("/api/v1/auth/mfa/webauthn/register",
                         json: ["credential": PasskeyFixture.object(reg.json), "name": name], token: token)
        return (r, handle)
    }

    /// The password step and the passkey step; the final answer.
    func passkeySecondFactor(_ email: String, _ auth: SoftwareAuthenticator,
                             options o: SoftwareAuthenticator.Options = .init()) throws -> HTTPSResult {
        let login = try self.login(email)
        guard let token = login.data["mfa_token"] as? String else { throw StackError("no mfa_token: \(login.text)") }
        let pk = try passkeyOptions("/api/v1/auth/mfa/webauthn/options", json: ["mfa_token": token])
        let a = auth.makeAssertion(challenge: try Self.challenge(pk), origin: PasskeyFixture.origin, rpID: PasskeyFixture.rpID, options: o)
        return try post("/api/v1/auth/mfa/verify", json: ["mfa_token": token, "webauthn": PasskeyFixture.object(a.json)])
    }

    /// Passwordless: a fresh challenge, then the assertion made by `make` from it.
    func passkeyLogin(_ make: ([UInt8]) -> SoftwareAuthenticator.Assertion) throws -> HTTPSResult {
        let pk = try passkeyOptions("/api/v1/auth/passkey/options")
        let a = make(try Self.challenge(pk))
        return try post("/api/v1/auth/passkey/login", json: ["credential": PasskeyFixture.object(a.json)])
    }

    /// The audit rows' events (the CLI, newest first).
    func auditEvents(limit: Int = 500) throws -> [[String: Any]] {
        let out = try cliOK(["audit", "--json", "--limit", String(limit)]).joined(separator: "\n")
        return (try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [[String: Any]]) ?? []
    }
}
