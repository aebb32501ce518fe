import Foundation
import Testing
@testable import AuthCrypto

/// RFC test vectors, kept as files under Vectors/.
enum VectorFiles {
    static func lines(_ name: String) throws -> [String] {
        let dir = try #require(Bundle.module.url(forResource: "Vectors", withExtension: nil))
        let text = try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
        return text.split(separator: "\n").map(String.init).filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }

    static func unhex(_ s: String) -> [UInt8] {
        if s == "-" { return [] }
        var out: [UInt8] = []
        var it = s.utf8.makeIterator()
        while let h = it.next(), let l = it.next() {
            out.append(UInt8(String(decoding: [h, l], as: UTF8.self), radix: 16)!)
        }
        return out
    }
}

@Suite struct CryptoVectorTests {
    @Test func rfc4231HMACSHA256() throws {
        let lines = try VectorFiles.lines("rfc4231-hmac-sha256.txt")
        #expect(lines.count == 7)
        var cases: [String] = []
        for line in lines {
            let f = line.split(separator: " ").map(String.init)
            let mac = Crypto.hmacSHA256(key: VectorFiles.unhex(f[1]), data: VectorFiles.unhex(f[2]))
            let expected = VectorFiles.unhex(f[3])
            #expect(Array(mac.prefix(expected.count)) == expected, "RFC 4231 case \(f[0])")
            cases.append(f[0])
        }
        for required in ["1", "2", "3", "4", "6", "7"] { #expect(cases.contains(required)) }
    }

    @Test func rfc4231ThroughSigningKeyTemplate() throws {
        // The pre-keyed path (used by JWT) must agree with the vectors too, and be reusable.
        for line in try VectorFiles.lines("rfc4231-hmac-sha256.txt") {
            let f = line.split(separator: " ").map(String.init)
            let key = try #require(HMACSHA256Key(VectorFiles.unhex(f[1])))
            let expected = VectorFiles.unhex(f[3])
            for _ in 0..<3 {
                #expect(Array(key.authenticate(VectorFiles.unhex(f[2])).prefix(expected.count)) == expected)
            }
        }
    }

    @Test func rfc7914Scrypt() throws {
        let lines = try VectorFiles.lines("rfc7914-scrypt.txt")
        #expect(lines.count >= 2)
        for line in lines {
            let f = line.split(separator: " ").map(String.init)
            let expected = VectorFiles.unhex(f[5])
            let out = try PasswordHash.scrypt(password: VectorFiles.unhex(f[0]), salt: VectorFiles.unhex(f[1]),
                                              n: UInt64(f[2])!, r: UInt64(f[3])!, p: UInt64(f[4])!, length: expected.count)
            #expect(out == expected, "scrypt N=\(f[2]) r=\(f[3]) p=\(f[4])")
        }
    }

    @Test func rfc7515AppendixA1() throws {
        var fields: [String: String] = [:]
        for line in try VectorFiles.lines("rfc7515-a1-hs256.txt") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            fields[parts[0]] = parts[1]
        }
        let k = try #require(fields["k"])
        let key = try #require(Base64URL.decode(k))
        let jws = try #require(fields["jws"])
        let segments = jws.split(separator: ".", omittingEmptySubsequences: false)
        #expect(segments.count == 3)
        let signingInput = Array("\(segments[0]).\(segments[1])".utf8)
        let signature = try #require(Base64URL.decode(segments[2]))
        #expect(Crypto.hmacSHA256(key: key, data: signingInput) == signature)
        #expect(Base64URL.encode(signature) == String(segments[2]))
        let header = try #require(Base64URL.decode(segments[0]))
        #expect(header == Array("{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}".utf8))
        let payloadBytes = try #require(Base64URL.decode(segments[1]))
        let payload = try #require(JSONParser.parse(payloadBytes))
        #expect(payload["iss"] == .string("joe"))
        #expect(payload["exp"] == .int(1_300_819_380))
        #expect(payload["http://example.com/is_root"] == .bool(true))
        // A tampered signing input no longer matches.
        var tampered = signingInput
        tampered[tampered.count - 1] ^= 1
        #expect(!Crypto.constantTimeEqual(Crypto.hmacSHA256(key: key, data: tampered), signature))
    }

    @Test func precomputedHMACMatchesOpenSSLOneShot() {
        var rng = SystemRandomNumberGenerator()
        for keyLength in [0, 1, 31, 32, 63, 64, 65, 128, 200] {
            for dataLength in [0, 1, 55, 56, 63, 64, 65, 1000] {
                let key = (0..<keyLength).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let data = (0..<dataLength).map { _ in UInt8.random(in: 0...255, using: &rng) }
                #expect(Crypto.hmacSHA256(key: key, data: data) == Crypto.hmacSHA256OneShot(key: key, data: data))
            }
        }
    }

    @Test func digests() {
        #expect(Crypto.hex(Crypto.sha256(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Crypto.hex(Crypto.sha1(Array("abc".utf8))) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(Crypto.sha256([]).count == 32)
        #expect(Crypto.hmacSHA256(key: [], data: []).count == 32)
    }
}
