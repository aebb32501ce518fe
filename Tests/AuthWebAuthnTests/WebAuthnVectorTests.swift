import AuthCrypto
import AuthWebAuthn
import Foundation
import Testing

/// Known answers: registrations and assertions made by real authenticators and browsers, kept
/// as files under Fixtures/webauthn (sources in its README). Each file is `key=value` lines, byte
/// fields in base64url; `expect_*` lines are the answer, `expect_error` a refusal's code.
@Suite struct WebAuthnVectorTests {
    struct Vector {
        let name: String
        let fields: [String: String]
        func bytes(_ key: String) throws -> [UInt8] {
            try #require(fields[key].flatMap { Base64URL.decode($0) }, "\(name): \(key)")
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
}
