import Testing
@testable import AuthCrypto

@Suite struct CryptoPrimitiveTests {
    @Test func randomAndCompare() {
        let a = Crypto.randomBytes(32)
        let b = Crypto.randomBytes(32)
        #expect(a.count == 32 && a != b)
        #expect(Crypto.randomBytes(0).isEmpty)
        #expect(Crypto.constantTimeEqual(a, a))
        #expect(!Crypto.constantTimeEqual(a, b))
        #expect(!Crypto.constantTimeEqual(a, Array(a.dropLast())))
        #expect(Crypto.constantTimeEqual([], []))
        #expect(Crypto.hex([0x00, 0x0f, 0xa0, 0xff]) == "000fa0ff")
    }

    @Test func base64URLRoundTripAndCanonical() {
        for n in 0..<70 {
            let bytes = Crypto.randomBytes(n)
            let s = Base64URL.encode(bytes)
            #expect(!s.contains("=") && !s.contains("+") && !s.contains("/"))
            #expect(Base64URL.decode(s) == bytes)
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
        #expect(Base64URL.encode(Array("f".utf8)) == "Zg")
        #expect(Base64URL.encode([0xfb, 0xff]) == "-_8")
        #expect(Base64URL.decode("Zg") == Array("f".utf8))
        #expect(Base64URL.decode("Zh") == nil)        // non-zero trailing bits: not canonical
        #expect(Base64URL.decode("Zg==") == nil)      // padding refused
        #expect(Base64URL.decode("Z") == nil)         // impossible length
        #expect(Base64URL.decode("Zg+") == nil)       // standard alphabet refused
        #expect(Base64URL.decode("Z g") == nil)
        #expect(Base64URL.decode("") == [])
        #expect(Base64.encode(Array("foobar".utf8)) == "Zm9vYmFy")
        #expect(Base64.encode(Array("fo".utf8)) == "Zm8=")
        #expect(Base64.decode("Zm8=") == Array("fo".utf8))
        #expect(Base64.decode("Zm8") == nil)          // padding required
        #expect(Base64.decode("Zm9=") == nil)         // non-canonical
        #expect(Base64.decode("Zg=A") == nil)
        #expect(Base64.decode("====") == nil)
    }

    @Test func uuids() throws {
        let id = UUIDs.random()
        #expect(id.count == 36)
        #expect(id == id.lowercased())
        let chars = Array(id)
        #expect(chars[14] == "4")
        #expect("89ab".contains(chars[19]))
        #expect(UUIDs.random() != id)
        let bytes = try #require(UUIDs.bytes(id))
        #expect(UUIDs.format(bytes) == id)
        #expect(UUIDs.bytes("not-a-uuid") == nil)
    }

    @Test func credentialKinds() {
        #expect(CredentialKind(credential: "2s_live_abc") == .apiKey)
        #expect(CredentialKind(credential: "node_abc") == .node)
        #expect(CredentialKind(credential: "aaa.bbb.ccc") == .jwt)
        #expect(CredentialKind(credential: "aaa.bbb") == .unknown)
        #expect(CredentialKind(credential: "a.b.c.d") == .unknown)
        #expect(CredentialKind(credential: "a..c") == .unknown)
        #expect(CredentialKind(credential: "") == .unknown)
        #expect(CredentialKind(credential: "v1.abc") == .unknown)
        #expect(CredentialKind(credential: "Bearer"[...]) == .unknown)
    }

    @Test func credentialKeys() {
        let api = CredentialKeys.newAPIKey()
        #expect(api.raw.hasPrefix("2s_live_"))
        #expect(api.raw.count == 8 + 43)
        #expect(api.prefix == String(api.raw.prefix(12)))
        #expect(api.digest == Crypto.hex(Crypto.sha256(Array(api.raw.utf8))))
        #expect(api.digest == CredentialKeys.digest(api.raw))
        #expect(CredentialKind(credential: api.raw) == .apiKey)
        let node = CredentialKeys.newNodeKey()
        #expect(node.raw.hasPrefix("node_"))
        #expect(node.digest == CredentialKeys.digest(node.raw[...]))
        #expect(CredentialKind(credential: node.raw) == .node)
        #expect(CredentialKeys.newAPIKey().raw != api.raw)
    }

    @Test func timeRFC3339() {
        #expect(Time.rfc3339(0) == "1970-01-01T00:00:00Z")
        #expect(Time.rfc3339(-1) == "1969-12-31T23:59:59Z")
        #expect(Time.rfc3339(951_782_400) == "2000-02-29T00:00:00Z")
        #expect(Time.rfc3339(1_234_567_890) == "2009-02-13T23:31:30Z")
        #expect(Time.rfc3339(1_700_000_000) == "2023-11-14T22:13:20Z")
        #expect(Time.rfc3339(1_782_907_200) == "2026-07-01T12:00:00Z")
        #expect(Time.rfc3339(4_107_542_400) == "2100-03-01T00:00:00Z")
        #expect(Time.rfc3339(253_402_300_799) == "9999-12-31T23:59:59Z")
        #expect(Time.now() > 1_700_000_000)
    }

    @Test func refreshTokenRoundTrip() throws {
        let ring = try KeyRing.parse("a:\(Base64URL.encode(Crypto.randomBytes(32)))")
        let sid = UUIDs.random()
        let token = RefreshToken.make(sessionID: sid, counter: 7, ring: ring)
        #expect(token.hasPrefix("v1."))
        let parsed = try #require(RefreshToken.parse(token, ring: ring))
        #expect(parsed.sessionID == sid && parsed.counter == 7)
        // Upper-case input ids come back lowercased.
        let upper = try #require(RefreshToken.parse(RefreshToken.make(sessionID: sid.uppercased(), counter: .max, ring: ring), ring: ring))
        #expect(upper.sessionID == sid && upper.counter == .max)
        #expect(RefreshToken.make(sessionID: sid, counter: 8, ring: ring) != token)
    }

    @Test func refreshTokenTamperAndOtherKey() throws {
        let ring = try KeyRing.parse("a:\(Base64URL.encode(Crypto.randomBytes(32)))")
        let other = try KeyRing.parse("a:\(Base64URL.encode(Crypto.randomBytes(32)))")
        let token = RefreshToken.make(sessionID: UUIDs.random(), counter: 1, ring: ring)
        #expect(RefreshToken.parse(token, ring: other) == nil)
        var raw = try #require(Base64URL.decode(token.dropFirst(3)))
        raw[20] ^= 1   // bump the counter
        #expect(RefreshToken.parse("v1." + Base64URL.encode(raw), ring: ring) == nil)
        #expect(RefreshToken.parse("v2." + token.dropFirst(3), ring: ring) == nil)
        #expect(RefreshToken.parse(token + "A", ring: ring) == nil)
        #expect(RefreshToken.parse("", ring: ring) == nil)
        // Rotation: a token from the old signing key still parses once a new key is appended.
        let rotated = KeyRing(keys: ring.keys + other.keys.map { SigningKey(kid: "b", secret: $0.secret) })
        #expect(RefreshToken.parse(token, ring: rotated) != nil)
        let fresh = RefreshToken.make(sessionID: UUIDs.random(), counter: 1, ring: rotated)
        #expect(RefreshToken.parse(fresh, ring: ring) == nil)
        #expect(RefreshToken.parse(fresh, ring: rotated) != nil)
    }
}
