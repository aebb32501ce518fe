import Testing
@testable import AuthCrypto

enum JWTFixture {
    static let now: Int64 = 1_782_907_200
    static let leeway: Int64 = 30
    static let secretA = Crypto.randomBytes(32)
    static let secretB = Crypto.randomBytes(32)
    static let ring = KeyRing(keys: [SigningKey(kid: "ka", secret: secretA)])

    static func claims(iat: Int64 = now, exp: Int64 = now + 3600) -> AccessClaims {
        AccessClaims(iss: "authgate", aud: "2signal", sub: UUIDs.random(), tid: UUIDs.random(), email: "ann@example.com",
                     role: "agent", sid: UUIDs.random(), jti: UUIDs.random(), iat: iat, exp: exp)
    }

    static func verify(_ token: String, ring: KeyRing = ring, now: Int64 = now) -> Result<AccessClaims, JWTError> {
        JWT.verify(token, ring: ring, issuer: "authgate", audience: "2signal", now: now, leeway: leeway)
    }

    /// Signs arbitrary header and payload text with HS256, the way an attacker holding the key
    /// (or a sloppy issuer) could.
    static func forge(header: String, payload: String, secret: [UInt8] = secretA) -> String {
        let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(payload.utf8))
        return input + "." + Base64URL.encode(Crypto.hmacSHA256(key: secret, data: Array(input.utf8)))
    }

    static let goodHeader = #"{"alg":"HS256","typ":"JWT","kid":"ka"}"#

    static func payload(dropping: String? = nil, replacing: (String, String)? = nil) -> String {
        var fields: [(String, String)] = [
            ("iss", #""authgate""#), ("aud", #""2signal""#), ("sub", #""u1""#), ("tid", #""t1""#),
            ("email", #""ann@example.com""#), ("role", #""agent""#), ("sid", #""s1""#),
            ("iat", "\(now)"), ("exp", "\(now + 60)"), ("jti", #""j1""#),
        ]
        if let dropping { fields.removeAll { $0.0 == dropping } }
        if let (name, value) = replacing, let i = fields.firstIndex(where: { $0.0 == name }) { fields[i].1 = value }
        return "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }
}

@Suite struct JWTTests {
    typealias F = JWTFixture

    @Test func signVerifyRoundTrip() throws {
        let claims = F.claims()
        let token = JWT.sign(claims, key: F.ring.signing)
        #expect(token.split(separator: ".").count == 3)
        let headerBytes = try #require(Base64URL.decode(token.split(separator: ".")[0]))
        let header = try #require(JSONParser.parse(headerBytes))
        #expect(header == .object([("alg", .string("HS256")), ("typ", .string("JWT")), ("kid", .string("ka"))]))
        #expect(F.verify(token) == .success(claims))
        #expect(CredentialKind(credential: token) == .jwt)
    }

    @Test func forgedButValidPayloadVerifies() {
        // Sanity check of the fixture: the hand-written payload is accepted.
        #expect((try? F.verify(F.forge(header: F.goodHeader, payload: F.payload())).get())?.sub == "u1")
        #expect((try? F.verify(F.forge(header: #"{"kid":"ka","alg":"HS256"}"#, payload: F.payload())).get()) != nil)
    }

    @Test func rejectsOtherAlgorithms() {
        for alg in [#""none""#, #""HS512""#, #""RS256""#, #""hs256""#, #""HS256 ""#, "null", "256", #"["HS256"]"#] {
            let token = F.forge(header: #"{"alg":\#(alg),"typ":"JWT","kid":"ka"}"#, payload: F.payload())
            #expect(F.verify(token) == .failure(.unsupportedAlgorithm), "alg \(alg)")
        }
        #expect(F.verify(F.forge(header: #"{"typ":"JWT","kid":"ka"}"#, payload: F.payload())) == .failure(.unsupportedAlgorithm))
        // alg none with an empty signature.
        let none = Base64URL.encode(Array(#"{"alg":"none","kid":"ka"}"#.utf8)) + "." + Base64URL.encode(Array(F.payload().utf8)) + "."
        #expect(F.verify(none) == .failure(.unsupportedAlgorithm))
    }

    @Test func rejectsMissingOrUnknownKid() {
        #expect(F.verify(F.forge(header: #"{"alg":"HS256","typ":"JWT"}"#, payload: F.payload())) == .failure(.unknownKey))
        #expect(F.verify(F.forge(header: #"{"alg":"HS256","kid":"kb"}"#, payload: F.payload())) == .failure(.unknownKey))
        #expect(F.verify(F.forge(header: #"{"alg":"HS256","kid":1}"#, payload: F.payload())) == .failure(.unknownKey))
    }

    @Test func rejectsBadHeaders() {
        for header in [#"{"alg":"HS256","kid":"ka","crit":["exp"]}"#, #"{"alg":"HS256","kid":"ka","typ":"JOSE+JSON"}"#,
                       #"{"alg":"HS256","kid":"ka","kid":"ka"}"#, #"["HS256"]"#, "", "{", "null"] {
            #expect(F.verify(F.forge(header: header, payload: F.payload())) == .failure(.malformed), "\(header)")
        }
    }

    @Test func rejectsBadEncodingAndShape() {
        let token = JWT.sign(F.claims(), key: F.ring.signing)
        let parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        #expect(F.verify(parts[0] + "." + parts[1]) == .failure(.malformed))
        #expect(F.verify(token + "." + parts[2]) == .failure(.malformed))
        #expect(F.verify(token + ".") == .failure(.malformed))
        #expect(F.verify("") == .failure(.malformed))
        #expect(F.verify("..") == .failure(.malformed))
        #expect(F.verify(parts[0] + "=." + parts[1] + "." + parts[2]) == .failure(.malformed))
        #expect(F.verify(parts[0] + "." + parts[1] + "." + parts[2] + "=") == .failure(.malformed))
        #expect(F.verify(parts[0] + "." + parts[1] + " ." + parts[2]) == .failure(.malformed))
        #expect(F.verify(" " + token) == .failure(.malformed))
        // Non-canonical signature: change the last character's unused low bits (32 bytes = 43 chars, 2 spare bits).
        var sig = Array(parts[2].utf8)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        let value = alphabet.firstIndex(of: sig[sig.count - 1])!
        sig[sig.count - 1] = alphabet[value ^ 1]
        #expect(F.verify(parts[0] + "." + parts[1] + "." + String(decoding: sig, as: UTF8.self)) == .failure(.malformed))
    }

    /// Standard-alphabet characters are refused. Every run checks it: a signature holding `-` or
    /// `_` (about 3 tokens in 4) is minted first, so the check is never skipped.
    @Test func rejectsStandardBase64Signatures() throws {
        var found: [String]?
        for _ in 0..<200 where found == nil {
            let parts = JWT.sign(F.claims(), key: F.ring.signing).split(separator: ".").map(String.init)
            if parts[2].contains("-") || parts[2].contains("_") { found = parts }
        }
        let parts = try #require(found, "no signature with - or _ in 200 tokens")
        #expect(F.verify(parts.joined(separator: ".")).isSuccess)
        let std = parts[2].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        #expect(std != parts[2])
        #expect(F.verify(parts[0] + "." + parts[1] + "." + std) == .failure(.malformed))
    }

    @Test func rejectsOversizedTokens() {
        let big = F.forge(header: F.goodHeader, payload: F.payload(replacing: ("role", "\"" + String(repeating: "a", count: 7000) + "\"")))
        #expect(big.utf8.count > 8192)
        #expect(F.verify(big) == .failure(.tooLarge))
        #expect(F.verify(String(repeating: "a", count: 9000)) == .failure(.tooLarge))
    }

    @Test func rejectsWrongIssuerAndAudience() {
        #expect(F.verify(F.forge(header: F.goodHeader, payload: F.payload(replacing: ("iss", #""evil""#)))) == .failure(.wrongIssuer))
        #expect(F.verify(F.forge(header: F.goodHeader, payload: F.payload(replacing: ("aud", #""get2dial""#)))) == .failure(.wrongAudience))
        #expect(F.verify(F.forge(header: F.goodHeader, payload: F.payload(replacing: ("aud", #"["2signal"]"#)))) == .failure(.malformed))
    }

    @Test func timeRules() {
        let key = F.ring.signing
        // exp must be > now - leeway.
        #expect(F.verify(JWT.sign(F.claims(iat: F.now - 100, exp: F.now - 29), key: key)).isSuccess)
        #expect(F.verify(JWT.sign(F.claims(iat: F.now - 100, exp: F.now - 30), key: key)) == .failure(.expired))
        #expect(F.verify(JWT.sign(F.claims(iat: F.now - 100, exp: F.now - 3600), key: key)) == .failure(.expired))
        // iat must be <= now + leeway.
        #expect(F.verify(JWT.sign(F.claims(iat: F.now + 30, exp: F.now + 3600), key: key)).isSuccess)
        #expect(F.verify(JWT.sign(F.claims(iat: F.now + 31, exp: F.now + 3600), key: key)) == .failure(.notYetValid))
        // Extreme values do not overflow.
        #expect(F.verify(JWT.sign(F.claims(iat: .min, exp: .max), key: key)).isSuccess)
        #expect(JWT.verify(JWT.sign(F.claims(iat: 0, exp: 1), key: key), ring: F.ring, issuer: "authgate", audience: "2signal",
                           now: .max, leeway: .max).isSuccess)
    }

    @Test func requiresEveryClaimWithItsType() {
        for claim in ["iss", "aud", "sub", "tid", "email", "role", "sid", "iat", "exp", "jti"] {
            let token = F.forge(header: F.goodHeader, payload: F.payload(dropping: claim))
            #expect(F.verify(token) == .failure(.malformed), "missing \(claim)")
        }
        let wrongTypes: [(String, String)] = [
            ("sub", "1"), ("tid", "null"), ("email", "true"), ("role", #"["agent"]"#), ("sid", "{}"), ("jti", "2"),
            ("iss", "1"), ("iat", #""1782907200""#), ("exp", "1782907260.5"), ("exp", "1.7829072e9"), ("iat", "null"),
            ("exp", "99999999999999999999"),
        ]
        for (claim, value) in wrongTypes {
            let token = F.forge(header: F.goodHeader, payload: F.payload(replacing: (claim, value)))
            #expect(F.verify(token) == .failure(.malformed), "\(claim)=\(value)")
        }
        #expect(F.verify(F.forge(header: F.goodHeader, payload: "[]")) == .failure(.malformed))
        #expect(F.verify(F.forge(header: F.goodHeader, payload: "{")) == .failure(.malformed))
        // Duplicate claims are refused rather than resolved.
        let dup = F.payload().dropLast() + #","sub":"admin"}"#
        #expect(F.verify(F.forge(header: F.goodHeader, payload: String(dup))) == .failure(.malformed))
    }

    @Test func refusesControlCharactersInClaims() {
        for value in [#""ann@example.com\r\nX-Auth-Role: admin""#, #""a\u0000b""#, #""a\tb""#, #""a\u007fb""#, #""a\u0085b""#] {
            let token = F.forge(header: F.goodHeader, payload: F.payload(replacing: ("email", value)))
            #expect(F.verify(token) == .failure(.malformed), "\(value)")
        }
        #expect(F.verify(F.forge(header: F.goodHeader, payload: F.payload(replacing: ("email", #""zoë@example.com""#)))).isSuccess)
    }

    @Test func unknownClaimsAreIgnored() {
        let payload = String(F.payload().dropLast()) + #","amr":["pwd"],"nested":{"a":[1,2.5,null]}}"#
        #expect(F.verify(F.forge(header: F.goodHeader, payload: payload)).isSuccess)
    }

    @Test func rejectsTamperingAndOtherKeys() {
        let token = JWT.sign(F.claims(), key: F.ring.signing)
        let parts = token.split(separator: ".").map(String.init)
        var payload = Array(Base64URL.decode(parts[1])!)
        let roleRange = String(decoding: payload, as: UTF8.self).range(of: "agent")!
        let offset = String(decoding: payload, as: UTF8.self).utf8.distance(from: String(decoding: payload, as: UTF8.self).startIndex, to: roleRange.lowerBound)
        payload.replaceSubrange(offset..<offset + 5, with: Array("admin".utf8))
        let tampered = parts[0] + "." + Base64URL.encode(payload) + "." + parts[2]
        #expect(F.verify(tampered) == .failure(.badSignature))
        // Same kid, another secret.
        let other = JWT.sign(F.claims(), key: SigningKey(kid: "ka", secret: F.secretB))
        #expect(F.verify(other) == .failure(.badSignature))
        // Signature swapped from another valid token.
        let second = JWT.sign(F.claims(), key: F.ring.signing).split(separator: ".")
        #expect(F.verify(parts[0] + "." + parts[1] + "." + second[2]) == .failure(.badSignature))
        // Truncated signature.
        #expect(F.verify(parts[0] + "." + parts[1] + "." + parts[2].dropLast(3)) == .failure(.badSignature))
    }

    @Test func keyRotation() throws {
        let old = KeyRing(keys: [SigningKey(kid: "k1", secret: F.secretA)])
        let rotated = KeyRing(keys: [SigningKey(kid: "k1", secret: F.secretA), SigningKey(kid: "k2", secret: F.secretB)])
        #expect(rotated.signing.kid == "k2")
        let oldToken = JWT.sign(F.claims(), key: old.signing)
        let newToken = JWT.sign(F.claims(), key: rotated.signing)
        #expect(F.verify(oldToken, ring: rotated).isSuccess)
        #expect(F.verify(newToken, ring: rotated).isSuccess)
        #expect(F.verify(newToken, ring: old) == .failure(.unknownKey))
        // Retiring the old key stops its tokens.
        let retired = KeyRing(keys: [SigningKey(kid: "k2", secret: F.secretB)])
        #expect(F.verify(oldToken, ring: retired) == .failure(.unknownKey))
        // A kid reused with a different secret does not verify old tokens.
        var reused = SigningKey(kid: "k1", secret: F.secretA)
        reused.secret = F.secretB
        #expect(F.verify(oldToken, ring: KeyRing(keys: [reused])) == .failure(.badSignature))
    }
}

extension Result {
    var isSuccess: Bool { if case .success = self { true } else { false } }
}
