import AuthCrypto
@testable import AuthWebAuthn
import Testing
import WebAuthnTestSupport

/// Bytes that do not parse are refused as malformed, never a crash: truncated and extended CBOR,
/// authenticator data cut or padded, a COSE key with a bad point, clientDataJSON that is not one.
@Suite struct WebAuthnMalformedTests {
    static let rp = WebAuthnRefusalTests.rp
    static let origin = WebAuthnRefusalTests.origin

    func verify(_ r: SoftwareAuthenticator.Registration, clientData: [UInt8]? = nil, object: [UInt8]? = nil,
                challenge: [UInt8]) throws(WebAuthnError) -> RegisteredCredential {
        try WebAuthn.verifyRegistration(clientDataJSON: clientData ?? r.clientDataJSON, attestationObject: object ?? r.attestationObject,
                                        expectedChallenge: challenge, rp: Self.rp, requireUserVerification: false)
    }

    func isMalformed(_ body: () throws -> Void) -> Bool {
        do { try body() } catch { if case .malformed? = error as? WebAuthnError { return true } }
        return false
    }

    @Test func truncatedAndExtendedAttestationObject() throws {
        let challenge = Crypto.randomBytes(32)
        let r = SoftwareAuthenticator().makeRegistration(challenge: challenge, origin: Self.origin, rpID: "example.com")
        _ = try verify(r, challenge: challenge)
        for cut in 1..<r.attestationObject.count {
            #expect(isMalformed { _ = try verify(r, object: Array(r.attestationObject.dropLast(cut)), challenge: challenge) }, "cut \(cut)")
        }
        #expect(isMalformed { _ = try verify(r, object: r.attestationObject + [0], challenge: challenge) })
        // The same object with bytes after the COSE key inside authData (no ED flag).
        let longer = CBOR.map([(.text("fmt"), .text("none")), (.text("attStmt"), .map([])),
                               (.text("authData"), .bytes(r.authenticatorData + [0xA0]))]).encoded()
        #expect(throws: WebAuthnError.malformed("1 bytes after the authenticator data")) { _ = try verify(r, object: longer, challenge: challenge) }
        // A duplicate key, an indefinite-length map, a non-shortest integer.
        var dup = r.attestationObject
        dup[0] = 0xA4
        dup += CBOR.text("fmt").encoded() + CBOR.text("none").encoded()
        #expect(isMalformed { _ = try verify(r, object: dup, challenge: challenge) })
        var indefinite = r.attestationObject
        indefinite[0] = 0xBF
        #expect(isMalformed { _ = try verify(r, object: indefinite + [0xFF], challenge: challenge) })
        let none = [UInt8](r.attestationObject[1...])
        #expect(isMalformed { _ = try verify(r, object: [0xB8, 3] + none, challenge: challenge) })
    }

    @Test func authenticatorDataCutOrPadded() throws {
        let auth = SoftwareAuthenticator()
        let challenge = Crypto.randomBytes(32)
        let cred = try verify(auth.makeRegistration(challenge: challenge, origin: Self.origin, rpID: "example.com"), challenge: challenge)
        let a = auth.makeAssertion(challenge: challenge, origin: Self.origin, rpID: "example.com")
        for data in [Array(a.authenticatorData.dropLast()), a.authenticatorData + [0], [], Array(a.authenticatorData.prefix(32))] {
            #expect(isMalformed {
                _ = try WebAuthn.verifyAssertion(clientDataJSON: a.clientDataJSON, authenticatorData: data, signature: a.signature,
                                                 expectedChallenge: challenge, rp: Self.rp, cosePublicKey: cred.cosePublicKey,
                                                 storedSignCount: 0, requireUserVerification: false)
            }, "\(data.count) bytes")
        }
        // A stored key with trailing bytes is refused too (it would never have been stored).
        #expect(isMalformed {
            _ = try WebAuthn.verifyAssertion(clientDataJSON: a.clientDataJSON, authenticatorData: a.authenticatorData, signature: a.signature,
                                             expectedChallenge: challenge, rp: Self.rp, cosePublicKey: cred.cosePublicKey + [0],
                                             storedSignCount: 0, requireUserVerification: false)
        })
    }

    @Test func clientDataNotJSON() {
        let challenge = Crypto.randomBytes(32)
        let r = SoftwareAuthenticator().makeRegistration(challenge: challenge, origin: Self.origin, rpID: "example.com")
        for bad in ["", "[]", "{", #"{"type":"webauthn.create","type":"webauthn.create"}"#,
                    #"{"type":"webauthn.create","challenge":"a+b/","origin":"https://login.example.com"}"#,
                    #"{"type":"webauthn.create","challenge":"\#(Base64URL.encode(challenge))","origin":"https://login.example.com","crossOrigin":"no"}"#] {
            #expect(isMalformed { _ = try verify(r, clientData: Array(bad.utf8), challenge: challenge) }, "\(bad)")
        }
    }

    @Test func pointOffTheCurve() {
        var x = [UInt8](repeating: 1, count: 32), y = [UInt8](repeating: 2, count: 32)
        x[0] = 7
        y[0] = 9
        let key = CBOR.map([(.int(1), .int(2)), (.int(3), .int(-7)), (.int(-1), .int(1)), (.int(-2), .bytes(x)), (.int(-3), .bytes(y))])
        #expect(throws: WebAuthnError.malformed("the credential public key is not a valid key")) { try COSEKey(key) }
    }

    @Test func cborDecoderRefusals() throws {
        let refused: [[UInt8]] = [
            [0x18, 0x05],             // 5 in two bytes
            [0x19, 0x00, 0x10],       // 16 in three bytes
            [0x5F, 0xFF],             // indefinite byte string
            [0x9F, 0xFF],             // indefinite array
            [0xC1, 0x00],             // a tag
            [0xF9, 0x3C, 0x00],       // a half float
            [0xF7],                   // undefined
            [0x1C],                   // reserved additional information
            [0x62, 0xC3, 0x28],       // text that is not UTF-8
            [0xA2, 0x01, 0x00, 0x01, 0x00], // duplicate key
            [0xA1, 0x80, 0x00],       // an array as a key
            [0x5A, 0xFF, 0xFF, 0xFF, 0xFF], // a length beyond the input
            [0x1B, 0x80, 0, 0, 0, 0, 0, 0, 0], // beyond Int64
            [0x00, 0x00],             // trailing byte
            Array(repeating: 0x81, count: 17) + [0x00], // nested 18 deep
        ]
        for bytes in refused {
            #expect(throws: CBORError.self, "\(bytes)") { try CBORDecoder.decode(bytes) }
        }
        #expect(try CBORDecoder.decode([0x3B, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]) == .int(Int64.min))
        #expect(try CBORDecoder.decode([0xA2, 0x01, 0x02, 0x20, 0xF6]) == .map([(.int(1), .int(2)), (.int(-1), .null)]))
    }
}
