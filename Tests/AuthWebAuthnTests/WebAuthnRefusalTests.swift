import AuthCrypto
import AuthWebAuthn
import Testing
import WebAuthnTestSupport

/// Registration and assertion through the software authenticator: the happy path for each
/// algorithm, then one test per refusal of WebAuthn §7.1/§7.2 (each changes one thing only).
@Suite struct WebAuthnRefusalTests {
    static let rp = try! WebAuthnRelyingParty(rpID: "example.com", origins: ["https://login.example.com"])
    static let origin = "https://login.example.com"

    func register(_ auth: SoftwareAuthenticator, _ options: SoftwareAuthenticator.Options = .init(),
                  challenge: [UInt8] = Crypto.randomBytes(32), expected: [UInt8]? = nil,
                  origin: String = origin, requireUV: Bool = false) throws(WebAuthnError) -> RegisteredCredential {
        let r = auth.makeRegistration(challenge: challenge, origin: origin, rpID: "example.com", options: options)
        return try WebAuthn.verifyRegistration(clientDataJSON: r.clientDataJSON, attestationObject: r.attestationObject,
                                               expectedChallenge: expected ?? challenge, rp: Self.rp, requireUserVerification: requireUV)
    }

    func assert(_ auth: SoftwareAuthenticator, _ cred: RegisteredCredential, _ options: SoftwareAuthenticator.Options = .init(),
                stored: UInt32 = 0, requireUV: Bool = false,
                tamper: (inout SoftwareAuthenticator.Assertion) -> Void = { _ in }) throws(WebAuthnError) -> AssertionResult {
        let challenge = Crypto.randomBytes(32)
        var a = auth.makeAssertion(challenge: challenge, origin: Self.origin, rpID: "example.com", options: options)
        tamper(&a)
        return try WebAuthn.verifyAssertion(clientDataJSON: a.clientDataJSON, authenticatorData: a.authenticatorData,
                                            signature: a.signature, expectedChallenge: challenge, rp: Self.rp,
                                            cosePublicKey: cred.cosePublicKey, storedSignCount: stored, requireUserVerification: requireUV)
    }

    @Test(arguments: COSEAlgorithm.allCases)
    func happyPath(_ alg: COSEAlgorithm) throws {
        let auth = SoftwareAuthenticator(algorithm: alg)
        let cred = try register(auth, requireUV: true)
        #expect(cred.credentialID == auth.credentialID)
        #expect(cred.algorithm == alg.rawValue)
        #expect(cred.attestationFormat == "none")
        #expect(cred.flags == WebAuthnFlags(userPresent: true, userVerified: true, backupEligible: false, backupState: false))
        #expect(cred.aaguid == Array(repeating: 0, count: 16))
        let first = try assert(auth, cred, stored: cred.signCount, requireUV: true)
        #expect(first.newSignCount == 1 && !first.signCountRegressed)
        let second = try assert(auth, cred, stored: first.newSignCount)
        #expect(second.newSignCount == 2)
    }

    @Test(arguments: COSEAlgorithm.allCases)
    func packedSelfAttestation(_ alg: COSEAlgorithm) throws {
        var o = SoftwareAuthenticator.Options()
        o.attestationFormat = "packed"
        let cred = try register(SoftwareAuthenticator(algorithm: alg), o)
        #expect(cred.attestationFormat == "packed")
    }

    @Test func wrongType() {
        var o = SoftwareAuthenticator.Options()
        o.type = "webauthn.get"
        #expect(throws: WebAuthnError.wrongType) { try register(SoftwareAuthenticator(), o) }
        let auth = SoftwareAuthenticator()
        let cred = try! register(auth)
        o.type = "webauthn.create"
        #expect(throws: WebAuthnError.wrongType) { try assert(auth, cred, o) }
    }

    @Test func wrongChallenge() {
        #expect(throws: WebAuthnError.challengeMismatch) {
            try register(SoftwareAuthenticator(), challenge: Crypto.randomBytes(32), expected: Crypto.randomBytes(32))
        }
        #expect(throws: WebAuthnError.challengeMismatch) { try register(SoftwareAuthenticator(), challenge: [1, 2, 3], expected: [1, 2]) }
        #expect(throws: WebAuthnError.challengeMismatch) { try register(SoftwareAuthenticator(), challenge: [], expected: []) }
    }

    @Test func wrongOrigin() {
        for origin in ["https://evil.example", "https://login.example.com:8443", "http://login.example.com",
                       "https://example.com", "https://login.example.com/"] {
            #expect(throws: WebAuthnError.originNotAllowed, "\(origin)") { try register(SoftwareAuthenticator(), origin: origin) }
        }
    }

    @Test func crossOrigin() throws {
        var o = SoftwareAuthenticator.Options()
        o.crossOrigin = true
        #expect(throws: WebAuthnError.crossOriginNotAllowed) { try register(SoftwareAuthenticator(), o) }
        o.crossOrigin = nil
        _ = try register(SoftwareAuthenticator(), o)
    }

    @Test func otherRPIDHash() {
        var o = SoftwareAuthenticator.Options()
        o.rpIDForHash = "login.example.com"
        #expect(throws: WebAuthnError.rpIDHashMismatch) { try register(SoftwareAuthenticator(), o) }
        let auth = SoftwareAuthenticator()
        let cred = try! register(auth)
        o.rpIDForHash = "example.org"
        #expect(throws: WebAuthnError.rpIDHashMismatch) { try assert(auth, cred, o) }
    }

    @Test func userPresenceAndVerification() throws {
        var o = SoftwareAuthenticator.Options()
        o.userPresent = false
        #expect(throws: WebAuthnError.userNotPresent) { try register(SoftwareAuthenticator(), o) }
        o.userPresent = true
        o.userVerified = false
        #expect(throws: WebAuthnError.userNotVerified) { try register(SoftwareAuthenticator(), o, requireUV: true) }
        let auth = SoftwareAuthenticator()
        let cred = try register(auth, o)
        #expect(!cred.flags.userVerified)
        #expect(throws: WebAuthnError.userNotVerified) { try assert(auth, cred, o, requireUV: true) }
        #expect(try assert(auth, cred, o).flags.userVerified == false)
        o.userPresent = false
        #expect(throws: WebAuthnError.userNotPresent) { try assert(auth, cred, o) }
    }

    @Test func badSignature() throws {
        let auth = SoftwareAuthenticator()
        let cred = try register(auth)
        #expect(throws: WebAuthnError.badSignature) {
            try assert(auth, cred) { a in a = .init(copying: a, signature: SoftwareAuthenticator().sign(a.authenticatorData)) }
        }
        // Every single bit of the signed authenticator data matters (the flags byte's UP/UV bits
        // are refused earlier or change the signed bytes; the rpIdHash bits are refused as such).
        for bit in [32 * 8 + 3, 33 * 8, 36 * 8 + 7] {
            #expect(throws: WebAuthnError.badSignature, "bit \(bit)") {
                try assert(auth, cred) { a in
                    var data = a.authenticatorData
                    data[bit / 8] ^= UInt8(1 << (bit % 8))
                    a = .init(copying: a, authenticatorData: data)
                }
            }
        }
        #expect(throws: WebAuthnError.rpIDHashMismatch) {
            try assert(auth, cred) { a in
                var data = a.authenticatorData
                data[0] ^= 1
                a = .init(copying: a, authenticatorData: data)
            }
        }
        // The assertion of another credential, checked against this one's key.
        let other = SoftwareAuthenticator()
        #expect(throws: WebAuthnError.badSignature) { try assert(other, cred) }
    }

    @Test func signCountRegression() throws {
        let auth = SoftwareAuthenticator(signCount: 10)
        let cred = try register(auth)
        #expect(cred.signCount == 10)
        #expect(try assert(auth, cred, stored: 10).newSignCount == 11)
        #expect(throws: WebAuthnError.signCountRegressed) { try assert(auth, cred, stored: 12) }
        var o = SoftwareAuthenticator.Options()
        o.signCount = 12
        #expect(throws: WebAuthnError.signCountRegressed) { try assert(auth, cred, o, stored: 12) }
        // A counter of 0 (synced passkeys) is never a regression, and the stored count is kept.
        o.signCount = 0
        #expect(try assert(auth, cred, o, stored: 12).newSignCount == 12)
        o.signCount = 5
        #expect(try assert(auth, cred, o, stored: 0).newSignCount == 5)
        // A synced passkey never counts: 0 after 0, again and again.
        let synced = SoftwareAuthenticator(counting: false)
        let syncedCred = try register(synced)
        for _ in 0..<3 { #expect(try assert(synced, syncedCred, stored: 0).newSignCount == 0) }
    }

    @Test func unsupportedAlgorithmAndFormat() {
        var o = SoftwareAuthenticator.Options()
        o.coseAlgorithm = -35 // ES384
        #expect(throws: WebAuthnError.unsupportedAlgorithm) { try register(SoftwareAuthenticator(), o) }
        o.coseAlgorithm = -257 // an EC2 key claiming RS256
        #expect(throws: WebAuthnError.malformed("COSE key type 2 does not fit algorithm -257")) { try register(SoftwareAuthenticator(), o) }
        o.coseAlgorithm = nil
        o.attestationFormat = "tpm"
        #expect(throws: WebAuthnError.attestationUnsupported) { try register(SoftwareAuthenticator(), o) }
        #expect(throws: WebAuthnError.unsupportedAlgorithm) { try register(SoftwareAuthenticator(algorithm: .rs256, rsaBits: 1024)) }
        // Over 4096 bits (a modulus need not be a real key to be refused for its size).
        let big = CBOR.map([(.int(1), .int(3)), (.int(3), .int(-257)), (.int(-1), .bytes([0xC1] + Crypto.randomBytes(519))),
                            (.int(-2), .bytes([1, 0, 1]))])
        #expect(throws: WebAuthnError.unsupportedAlgorithm) { try COSEKey(big) }
    }
}

extension SoftwareAuthenticator.Assertion {
    init(copying a: Self, authenticatorData: [UInt8]? = nil, signature: [UInt8]? = nil) {
        self = SoftwareAuthenticator.Assertion(clientDataJSON: a.clientDataJSON, authenticatorData: authenticatorData ?? a.authenticatorData,
                                               signature: signature ?? a.signature, userHandle: a.userHandle, json: a.json)
    }
}
