import AuthCrypto
import AuthWebAuthn
import Testing
import WebAuthnTestSupport

/// The attestation statement: "none" must be empty; "packed" self attestation must be signed by
/// the credential key with its own algorithm; x5c must hold a certificate whose key signed; every
/// other format, and ECDAA, is refused as unsupported.
@Suite struct WebAuthnAttestationTests {
    static let origin = WebAuthnRefusalTests.origin

    /// A registration whose attestation object's statement (and format) `edit` rewrites.
    func register(_ alg: COSEAlgorithm = .es256, format: String = "packed",
                  edit: ([(CBOR, CBOR)]) -> [(CBOR, CBOR)]) throws -> RegisteredCredential {
        var o = SoftwareAuthenticator.Options()
        o.attestationFormat = format
        let challenge = Crypto.randomBytes(32)
        let r = SoftwareAuthenticator(algorithm: alg).makeRegistration(challenge: challenge, origin: Self.origin, rpID: "example.com", options: o)
        let object = try CBORDecoder.decode(r.attestationObject)
        let statement = try #require(object["attStmt"]?.mapValue)
        let edited = CBOR.map([(.text("fmt"), .text(format)), (.text("attStmt"), .map(edit(statement))),
                               (.text("authData"), .bytes(r.authenticatorData))]).encoded()
        return try WebAuthn.verifyRegistration(clientDataJSON: r.clientDataJSON, attestationObject: edited, expectedChallenge: challenge,
                                               rp: WebAuthnRefusalTests.rp, requireUserVerification: false)
    }

    static func replacing(_ key: String, with value: CBOR?) -> ([(CBOR, CBOR)]) -> [(CBOR, CBOR)] {
        { pairs in
            var out = pairs.filter { $0.0 != .text(key) }
            if let value { out.append((.text(key), value)) }
            return out
        }
    }

    @Test(arguments: COSEAlgorithm.allCases)
    func packedSelfSignatureMustVerify(_ alg: COSEAlgorithm) throws {
        #expect(try register(alg) { $0 }.attestationFormat == "packed")
        #expect(throws: WebAuthnError.attestationInvalid) {
            try register(alg) { pairs in
                pairs.map { k, v in
                    guard k == .text("sig"), var sig = v.bytesValue else { return (k, v) }
                    sig[sig.count - 1] ^= 0x01
                    return (k, .bytes(sig))
                }
            }
        }
        // The statement's algorithm must be the credential's.
        let other: Int64 = alg == .es256 ? -257 : -7
        #expect(throws: WebAuthnError.attestationInvalid) { try register(alg, edit: Self.replacing("alg", with: .int(other))) }
    }

    @Test func packedStatementShapes() {
        #expect(throws: WebAuthnError.malformed("packed attStmt without alg or sig")) { try register(edit: Self.replacing("sig", with: nil)) }
        #expect(throws: WebAuthnError.attestationUnsupported) { try register(edit: Self.replacing("alg", with: .int(-35))) }
        #expect(throws: WebAuthnError.attestationUnsupported) { try register(edit: Self.replacing("ecdaaKeyId", with: .bytes([1]))) }
        // x5c: not a certificate, an empty chain, a chain of text.
        #expect(throws: WebAuthnError.attestationInvalid) { try register(edit: Self.replacing("x5c", with: .array([.bytes([0x30, 0x03, 0x02, 0x01, 0x01])]))) }
        #expect(throws: WebAuthnError.malformed("packed x5c is not an array of certificates")) { try register(edit: Self.replacing("x5c", with: .array([]))) }
        #expect(throws: WebAuthnError.malformed("packed x5c is not an array of certificates")) { try register(edit: Self.replacing("x5c", with: .array([.text("cert")]))) }
    }

    @Test func noneMustBeEmptyAndOtherFormatsAreRefused() {
        #expect(throws: WebAuthnError.malformed("attStmt of format none is not empty")) {
            try register(format: "none", edit: Self.replacing("sig", with: .bytes([1])))
        }
        for format in ["tpm", "android-key", "android-safetynet", "fido-u2f", "apple", "", "NONE"] {
            #expect(throws: WebAuthnError.attestationUnsupported, "\(format)") { try register(format: format) { $0 } }
        }
    }
}
