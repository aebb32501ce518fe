import AuthCrypto
import AuthWebAuthn
import Foundation
import Testing

/// Known answers, kept as files under Fixtures/webauthn (sources in its README): the W3C WebAuthn
/// Level 3 test vectors (registration then authentication with the same credential, `w3c-*`) and
/// registrations and assertions made by real authenticators and browsers (py_webauthn's). Each
/// file is `key=value` lines, byte fields in base64url or CDDL hex; `expect_*` lines are the
/// answer, `expect_error` a refusal's code.
@Suite struct WebAuthnVectorTests {
    struct Vector {
        let name: String
        let fields: [String: String]
        /// base64url, or CDDL hex `h'…'` (the spec's own notation).
        func bytes(_ key: String) throws -> [UInt8] {
            let text = try #require(fields[key], "\(name): no \(key)")
            if text.hasPrefix("h'") && text.hasSuffix("'") { return try #require(Self.hex(text.dropFirst(2).dropLast()), "\(name): \(key)") }
            return try #require(Base64URL.decode(text), "\(name): \(key)")
        }
        static func hex(_ s: Substring) -> [UInt8]? {
            let digits = Array(s.utf8)
            guard digits.count % 2 == 0 else { return nil }
            var out: [UInt8] = []
            for i in stride(from: 0, to: digits.count, by: 2) {
                guard let b = UInt8(String(decoding: digits[i..<i + 2], as: UTF8.self), radix: 16) else { return nil }
                out.append(b)
            }
            return out
        }
        func rp() throws -> WebAuthnRelyingParty {
            try WebAuthnRelyingParty(rpID: fields["rp_id"]!, origins: fields["origin"]!.split(separator: " ").map(String.init))
        }
        var requireUV: Bool { fields["require_user_verification"] == "true" }
    }

    static func vectors(_ kind: String) throws -> [Vector] {
        let dir = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil)).appendingPathComponent("webauthn")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".txt") }.sorted()
        return try names.compactMap { name in
            let text = try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
            var fields: [String: String] = [:]
            for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
                guard let eq = line.firstIndex(of: "=") else { continue }
                fields[String(line[..<eq])] = String(line[line.index(after: eq)...])
            }
            return fields["kind"] == kind ? Vector(name: name, fields: fields) : nil
        }
    }

    @Test func registrations() throws {
        let all = try Self.vectors("registration")
        #expect(all.count >= 3)
        for v in all {
            let cred = try WebAuthn.verifyRegistration(clientDataJSON: v.bytes("client_data_json"), attestationObject: v.bytes("attestation_object"),
                                                       expectedChallenge: v.bytes("challenge"), rp: v.rp(), requireUserVerification: v.requireUV)
            #expect(cred.attestationFormat == v.fields["expect_format"], "\(v.name)")
            #expect(String(cred.algorithm) == v.fields["expect_algorithm"], "\(v.name)")
            #expect(cred.credentialID == (try v.bytes("expect_credential_id")), "\(v.name)")
            #expect(String(cred.signCount) == v.fields["expect_sign_count"], "\(v.name)")
            if v.fields["expect_public_key"] != nil { #expect(cred.cosePublicKey == (try v.bytes("expect_public_key")), "\(v.name)") }
            if v.fields["expect_aaguid"] != nil { #expect(cred.aaguid == (try v.bytes("expect_aaguid")), "\(v.name)") }
            // The same bytes under another challenge, origin or RP ID are refused.
            #expect(throws: WebAuthnError.challengeMismatch, "\(v.name)") {
                try WebAuthn.verifyRegistration(clientDataJSON: v.bytes("client_data_json"), attestationObject: v.bytes("attestation_object"),
                                                expectedChallenge: Crypto.randomBytes(32), rp: v.rp(), requireUserVerification: false)
            }
            #expect(throws: WebAuthnError.originNotAllowed, "\(v.name)") {
                try WebAuthn.verifyRegistration(clientDataJSON: v.bytes("client_data_json"), attestationObject: v.bytes("attestation_object"),
                                                expectedChallenge: v.bytes("challenge"),
                                                rp: WebAuthnRelyingParty(rpID: "localhost", origins: ["http://localhost:5001"]),
                                                requireUserVerification: false)
            }
        }
    }

    @Test func assertions() throws {
        let all = try Self.vectors("assertion")
        #expect(all.count >= 5)
        for v in all {
            let stored = UInt32(v.fields["stored_sign_count"] ?? "0")!
            func run(_ signature: [UInt8]? = nil, stored: UInt32 = stored) throws -> AssertionResult {
                try WebAuthn.verifyAssertion(clientDataJSON: v.bytes("client_data_json"), authenticatorData: v.bytes("authenticator_data"),
                                             signature: signature ?? v.bytes("signature"), expectedChallenge: v.bytes("challenge"), rp: v.rp(),
                                             cosePublicKey: v.bytes("public_key"), storedSignCount: stored, requireUserVerification: v.requireUV)
            }
            if let code = v.fields["expect_error"] {
                do {
                    _ = try run()
                    Issue.record("\(v.name): accepted")
                } catch let error as WebAuthnError {
                    #expect(error.code == code, "\(v.name)")
                }
                continue
            }
            let result = try run()
            #expect(String(result.newSignCount) == v.fields["expect_sign_count"], "\(v.name)")
            #expect(String(result.flags.userVerified) == v.fields["expect_user_verified"], "\(v.name)")
            // One flipped bit in the signature, and a stored count at the new one, are refused.
            var sig = try v.bytes("signature")
            sig[sig.count / 2] ^= 0x01
            #expect(throws: WebAuthnError.badSignature, "\(v.name)") { try run(sig) }
            #expect(throws: WebAuthnError.signCountRegressed, "\(v.name)") { try run(stored: result.newSignCount) }
        }
    }

    static func code(_ body: () throws -> Void) -> String {
        do { try body() } catch let error as WebAuthnError { return error.code } catch { return "\(error)" }
        return "ok"
    }

    /// The spec's pairs: the registration's answer, then the assertion checked with the key the
    /// registration gave (for a refused registration, the key read from its authenticator data).
    @Test func w3cCeremonies() throws {
        let all = try Self.vectors("ceremony")
        #expect(all.count >= 14)
        var passed = 0
        for v in all {
            var key: [UInt8]?
            var stored: UInt32 = 0
            let reg = Self.code {
                let cred = try WebAuthn.verifyRegistration(clientDataJSON: v.bytes("client_data_json"), attestationObject: v.bytes("attestation_object"),
                                                           expectedChallenge: v.bytes("challenge"), rp: v.rp(), requireUserVerification: false)
                key = cred.cosePublicKey
                stored = cred.signCount
            }
            #expect(reg == v.fields["expect_registration"], "\(v.name)")
            guard v.fields["expect_assertion"] != "skip" else { continue }
            if key == nil {
                let object = try CBORDecoder.decode(v.bytes("attestation_object"))
                key = try AuthenticatorData(#require(object["authData"]?.bytesValue)).attested?.cosePublicKey
            }
            let publicKey = try #require(key, "\(v.name)")
            let auth = Self.code {
                _ = try WebAuthn.verifyAssertion(clientDataJSON: v.bytes("auth_client_data_json"), authenticatorData: v.bytes("authenticator_data"),
                                                 signature: v.bytes("signature"), expectedChallenge: v.bytes("auth_challenge"), rp: v.rp(),
                                                 cosePublicKey: publicKey, storedSignCount: stored, requireUserVerification: false)
            }
            #expect(auth == v.fields["expect_assertion"], "\(v.name)")
            if reg == "ok" && auth == "ok" { passed += 1 }
        }
        print("W3C test vectors: \(all.count) ceremonies, \(passed) registered and asserted")
    }
}
