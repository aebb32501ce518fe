import Foundation
import TestSupport
import Testing
@testable import AuthCrypto

/// TOTP/HOTP against RFC 6238 and RFC 4226, AES-256-GCM against the GCM paper, base32, and the
/// sealing of TOTP seeds (SecretBox) including a key rotation of the secrets file.
@Suite struct TOTPVectorTests {
    let rfcSecret = Array("12345678901234567890".utf8)

    @Test func rfc6238SHA1() throws {
        let lines = try VectorFiles.lines("rfc6238-totp-sha1.txt")
        #expect(lines.count == 6)
        for line in lines {
            let f = line.split(separator: " ").map(String.init)
            let t = Int64(f[0])!
            #expect(TOTP.step(at: t) == Int64(f[1], radix: 16)!, "step at \(t)")
            #expect(TOTP.code(secret: rfcSecret, counter: TOTP.step(at: t), digits: 8) == f[2], "RFC 6238 at \(t)")
        }
    }

    @Test func rfc4226HOTP() throws {
        let lines = try VectorFiles.lines("rfc4226-hotp.txt")
        #expect(lines.count == 10)
        for line in lines {
            let f = line.split(separator: " ").map(String.init)
            #expect(TOTP.code(secret: rfcSecret, counter: Int64(f[0])!) == f[1], "RFC 4226 counter \(f[0])")
        }
    }

    @Test func agreesWithPythonAndAcceptsOneStepEitherSideOnce() throws {
        let secret = Crypto.randomBytes(20)
        let b32 = Base32.encode(secret)
        #expect(Base32.decode(b32) == secret)
        #expect(Base32.decode(b32.lowercased()) == secret)
        let now: Int64 = 1_800_000_015
        let py = try PyTOTP.codes(secret: b32, at: [now - 60, now - 30, now, now + 30, now + 60])
        for (i, t) in [now - 60, now - 30, now, now + 30, now + 60].enumerated() {
            #expect(TOTP.code(secret: secret, counter: TOTP.step(at: t)) == py[i])
        }
        let step = TOTP.step(at: now)
        #expect(TOTP.matchingStep(secret: secret, code: py[0], now: now, after: -1) == nil)    // two steps back
        #expect(TOTP.matchingStep(secret: secret, code: py[1], now: now, after: -1) == step - 1)
        #expect(TOTP.matchingStep(secret: secret, code: py[2], now: now, after: -1) == step)
        #expect(TOTP.matchingStep(secret: secret, code: py[3], now: now, after: -1) == step + 1)
        #expect(TOTP.matchingStep(secret: secret, code: py[4], now: now, after: -1) == nil)
        // Once a step is consumed, it and every earlier step are refused.
        #expect(TOTP.matchingStep(secret: secret, code: py[2], now: now, after: step) == nil)
        #expect(TOTP.matchingStep(secret: secret, code: py[1], now: now, after: step) == nil)
        #expect(TOTP.matchingStep(secret: secret, code: py[3], now: now, after: step) == step + 1)
        for bad in ["", "12345", "1234567", "12345a", " 12345"] {
            #expect(TOTP.matchingStep(secret: secret, code: bad, now: now, after: -1) == nil)
        }
    }

    @Test func otpauthURI() {
        let uri = TOTP.uri(secret: rfcSecret, issuer: "Acme Admin", account: "alice@acme.test")
        #expect(uri == "otpauth://totp/Acme%20Admin:alice%40acme.test?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
                + "&issuer=Acme%20Admin&algorithm=SHA1&digits=6&period=30")
    }

    @Test func gcmVectors() throws {
        let lines = try VectorFiles.lines("gcm-aes256.txt")
        #expect(lines.count == 4)
        for line in lines {
            let f = line.split(separator: " ").map { VectorFiles.unhex(String($0)) }
            var out = [UInt8](repeating: 0, count: f[2].count)
            var tag = [UInt8](repeating: 0, count: 16)
            #expect(SecretBox.run(encrypt: true, key: f[0], nonce: f[1], aad: f[3], input: f[2], output: &out, tag: &tag))
            #expect(out == f[4])
            #expect(tag == f[5])
            var back = [UInt8](repeating: 0, count: f[4].count)
            var t = f[5]
            #expect(SecretBox.run(encrypt: false, key: f[0], nonce: f[1], aad: f[3], input: f[4], output: &back, tag: &t))
            #expect(back == f[2])
            t[0] ^= 1
            #expect(!SecretBox.run(encrypt: false, key: f[0], nonce: f[1], aad: f[3], input: f[4], output: &back, tag: &t))
        }
    }

    @Test func sealedSeedsOpenOnlyWithTheirKeyAndRow() throws {
        let dir = try TempDir("authgate-secretbox")
        let path = dir.path + "/secrets"
        let first = try KeyRing.rotate(path: path)
        let ring1 = try KeyRing.load(path: path)
        let seed = Crypto.randomBytes(20)
        let sealed = SecretBox.seal(seed, context: "factor-a", ring: ring1)
        #expect(sealed.hasPrefix("v1.\(first)."))
        #expect(!sealed.contains(Base32.encode(seed)))
        #expect(try SecretBox.open(sealed, context: "factor-a", ring: ring1) == seed)
        // Another row's context, an altered byte, or a ring without the key: refused.
        #expect(throws: SecretBox.Failure.self) { try SecretBox.open(sealed, context: "factor-b", ring: ring1) }
        var bytes = Array(sealed.utf8)
        bytes[bytes.count - 3] = bytes[bytes.count - 3] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(throws: SecretBox.Failure.self) { try SecretBox.open(String(decoding: bytes, as: UTF8.self), context: "factor-a", ring: ring1) }
        // Rotation: a second key seals new values; the old value still opens; after the old key
        // is retired it does not, and a value re-sealed under the new key does.
        let second = try KeyRing.rotate(path: path)
        let ring2 = try KeyRing.load(path: path)
        #expect(try SecretBox.open(sealed, context: "factor-a", ring: ring2) == seed)
        let resealed = SecretBox.seal(try SecretBox.open(sealed, context: "factor-a", ring: ring2), context: "factor-a", ring: ring2)
        #expect(SecretBox.kid(of: resealed) == second)
        try KeyRing.retire(path: path, kid: first)
        let ring3 = try KeyRing.load(path: path)
        #expect(throws: SecretBox.Failure.self) { try SecretBox.open(sealed, context: "factor-a", ring: ring3) }
        #expect(try SecretBox.open(resealed, context: "factor-a", ring: ring3) == seed)
    }
}
